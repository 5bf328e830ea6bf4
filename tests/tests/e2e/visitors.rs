//! What agents learn about visitors and about each other: page views (only
//! web pages, no repeat on reconnect, the visit's external referrer),
//! origins refused for the widget (logged once, listed with a count, kept
//! over a restart, gone once allowed), and collision notices (who views,
//! who types in a conversation).

use crate::BIN;
use anyhow::Result;
use serde_json::{json, Value};
use tests::frames::*;
use tests::{api, Relay, Ws, DEMO_TOKEN};

fn page_from(url: &str, title: &str, referrer: &str) -> Value {
    json!({"type": "page", "url": url, "title": title, "referrer": referrer})
}

/// Sends a ping and waits for its pong: everything sent before it was
/// handled.
async fn settle(ws: &mut Ws) -> Result<()> {
    ws.send(json!({"type": "ping"})).await?;
    ws.until_type("pong").await?;
    Ok(())
}

/// A `javascript:` page is refused and nothing is stored; a reconnect that
/// re-announces the page it is on is not a page view; a real navigation
/// back is; the visit's referrer is the external one it landed with, not
/// the previous page on the site.
#[tokio::test]
async fn page_views_are_web_pages_once_with_the_external_referrer() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut agent = Ws::connect(&relay).await?;
    agent.hello(agent_hello(DEMO_TOKEN)).await?;
    agent.send(subscribe("demo")).await?;
    agent.until_type("snapshot").await?;

    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "pv-visitor", None)).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    v.send(page("javascript:alert(document.cookie)", "x"))
        .await?;
    let e = v.until_type("error").await?;
    assert_eq!(e["code"], "bad_frame");
    assert!(e["message"].as_str().unwrap_or("").contains("http"), "{e}");
    v.send(page_from(
        "data:text/html,<b>x</b>",
        "x",
        "https://t.example/",
    ))
    .await?;
    assert_eq!(v.until_type("error").await?["code"], "bad_frame");
    let profile = "/v1/api/sites/demo/visitors/pv-visitor";
    let (_, p) = api(&relay, DEMO_TOKEN, "GET", profile, None).await?;
    assert_eq!(p["pages"], json!([]), "nothing stored: {p}");

    v.send(page_from(
        "https://shop.example/",
        "Home",
        "https://www.search.example/?q=shoes",
    ))
    .await?;
    v.send(page_from(
        "https://shop.example/shoes",
        "Shoes",
        "https://shop.example/",
    ))
    .await?;
    settle(&mut v).await?;
    // Offline and back: the widget says hello and announces its page again.
    v.close().await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "pv-visitor", Some(&token)))
        .await?;
    v.send(page_from(
        "https://shop.example/shoes",
        "Shoes",
        "https://shop.example/",
    ))
    .await?;
    settle(&mut v).await?;
    // A real navigation back to an earlier page is a page view.
    v.send(page_from(
        "https://shop.example/",
        "Home",
        "https://shop.example/shoes",
    ))
    .await?;
    settle(&mut v).await?;

    let (_, p) = api(&relay, DEMO_TOKEN, "GET", profile, None).await?;
    let urls: Vec<&str> = p["pages"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["url"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        urls,
        [
            "https://shop.example/",
            "https://shop.example/shoes",
            "https://shop.example/"
        ],
        "{p}"
    );
    assert_eq!(p["referrer"], "https://www.search.example/?q=shoes", "{p}");
    assert!(
        p["pages"][1].get("referrer").is_none(),
        "a same-site referrer is not kept: {p}"
    );
    assert_eq!(p["current"]["pages"], 3, "{p}");
    assert_eq!(
        p["current"]["referrer"],
        "https://www.search.example/?q=shoes"
    );
    // The agents' live record agrees.
    let pres = agent
        .until(|f| {
            f["type"] == "presence"
                && f["visitor"]["id"] == "pv-visitor"
                && f["visitor"]["pages"] == 3
        })
        .await?;
    assert_eq!(
        pres["visitor"]["referrer"],
        "https://www.search.example/?q=shoes"
    );
    assert_eq!(pres["visitor"]["page"]["url"], "https://shop.example/");
    Ok(())
}

/// A visitor hello over WebSocket or long-poll from an origin the site does
/// not allow: one log line, one listed origin with the count, kept over a
/// restart; allowing it (the site PATCH) takes it off the list.
#[tokio::test]
async fn refused_origins_are_logged_once_listed_kept_and_allowed() -> Result<()> {
    let mut relay = Relay::start_logged(BIN, "warn", &[]).await?;
    let patch = json!({"allowed_origins": ["https://shop.example.com"]});
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(patch),
    )
    .await?;
    assert_eq!(s, 200);
    for i in 0..3 {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = relay.ws_url().into_client_request()?;
        req.headers_mut()
            .insert("origin", "https://wrong.example".parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
        let hello = visitor_hello("demo", &format!("ro-{i}"), None);
        ws.send(hello.to_string().into()).await?;
        let msg = ws.next().await.ok_or_else(|| anyhow::anyhow!("closed"))??;
        let f: Value = serde_json::from_str(msg.to_text()?)?;
        assert_eq!(f["code"], "origin_not_allowed");
    }
    let r: Value = reqwest::Client::new()
        .post(relay.http("/v1/send"))
        .header("origin", "https://wrong.example")
        .body(visitor_hello("demo", "ro-lp", None).to_string())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(r["frames"][0]["code"], "origin_not_allowed");

    let path = "/v1/api/sites/demo/refused-origins";
    let (s, list) = api(&relay, DEMO_TOKEN, "GET", path, None).await?;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["origin"], "https://wrong.example");
    assert_eq!(list[0]["count"], 4);
    let log = relay.log_text();
    let lines = log.matches("refused a page origin").count();
    assert_eq!(lines, 1, "rate-limited to one line a minute:\n{log}");
    assert!(log.contains("https://wrong.example"), "{log}");
    // Non-members see nothing of it.
    let (s, _) = api(&relay, "not-a-token", "GET", path, None).await?;
    assert_eq!(s, 401);

    relay.terminate().await?;
    relay.restart().await?;
    let (_, list) = api(&relay, DEMO_TOKEN, "GET", path, None).await?;
    assert_eq!(list[0]["origin"], "https://wrong.example", "kept: {list}");
    assert_eq!(list[0]["count"], 4);

    let patch = json!({"allowed_origins": ["https://shop.example.com", "https://wrong.example"]});
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(patch),
    )
    .await?;
    assert_eq!(s, 200);
    let (_, list) = api(&relay, DEMO_TOKEN, "GET", path, None).await?;
    assert_eq!(list, json!([]), "allowed now, so no longer listed");
    Ok(())
}

/// Two agents of one site: B learns that A opened a conversation (with A's
/// name), A's typing reaches B with A's id (and the visitor), never A
/// itself, and A's leaving (a `viewing` of nothing, or a disconnect)
/// empties the list.
#[tokio::test]
async fn agents_see_who_views_and_types_in_a_conversation() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let body = json!({"name": "Bea", "email": "bea@example.com", "password": "bea-password", "sites": ["demo"]});
    let (s, _) = api(&relay, DEMO_TOKEN, "POST", "/v1/api/agents", Some(body)).await?;
    assert_eq!(s, 201);
    let bea = relay.login("bea@example.com", "bea-password").await?;

    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "col-visitor", None)).await?;
    v.send(send("c1", "hello?")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let mut a = Ws::connect(&relay).await?;
    let wa = a.hello(agent_hello(DEMO_TOKEN)).await?;
    let a_id = wa["agent"].clone();
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    let mut b = Ws::connect(&relay).await?;
    b.hello(agent_hello(&bea)).await?;
    b.send(subscribe("demo")).await?;
    b.until_type("snapshot").await?;

    a.send(json!({"type": "viewing", "conv": conv})).await?;
    let f = b.until_type("viewers").await?;
    assert_eq!(f["conv"], conv.as_str());
    assert_eq!(f["agents"], json!([{"id": a_id, "name": "Demo Agent"}]));
    // A late subscriber learns it with its snapshot.
    let mut b2 = Ws::connect(&relay).await?;
    b2.hello(agent_hello(&bea)).await?;
    b2.send(subscribe("demo")).await?;
    let f = b2.until_type("viewers").await?;
    assert_eq!(f["agents"][0]["id"], a_id);

    a.send(json!({"type": "typing", "conv": conv, "on": true}))
        .await?;
    let t = b.until_type("typing").await?;
    assert_eq!(
        (t["side"].clone(), t["agent"].clone(), t["on"].clone()),
        (json!("agent"), a_id.clone(), json!(true))
    );
    let tv = v.until_type("typing").await?;
    assert_eq!(tv["side"], "agent");
    settle(&mut a).await?;
    assert!(
        a.seen.iter().all(|f| f["type"] != "typing"),
        "an agent is not told of its own typing: {:?}",
        a.seen
    );

    a.send(json!({"type": "viewing"})).await?;
    let f = b.until_type("viewers").await?;
    assert_eq!(f["agents"], json!([]));
    a.send(json!({"type": "viewing", "conv": conv})).await?;
    assert_eq!(b.until_type("viewers").await?["agents"][0]["id"], a_id);
    a.close().await?;
    let f = b.until_type("viewers").await?;
    assert_eq!(f["agents"], json!([]), "gone with the connection");
    // A visitor may not claim to view anything.
    v.send(json!({"type": "viewing", "conv": conv})).await?;
    assert_eq!(v.until_type("error").await?["code"], "forbidden");
    Ok(())
}
