//! Relay features the agents' console relies on: availability (away),
//! the visitor draft preview (owner opt-in), history paged backwards, and
//! the site's team list for transfers.

use crate::BIN;
use anyhow::Result;
use serde_json::{json, Value};
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN};

async fn agent(relay: &Relay) -> Result<Ws> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok(a)
}

async fn api(relay: &Relay, method: &str, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
    tests::api(relay, DEMO_TOKEN, method, path, body).await
}

/// An agent that sets itself away stops counting as online for visitors,
/// while it keeps receiving everything; back → online again. A second
/// available agent keeps the site online whatever the first does.
#[tokio::test]
async fn away_agents_do_not_count_as_online() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut a = agent(&relay).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "away-v", None)).await?;
    assert_eq!(w["agents_online"], true);

    a.send(json!({"type": "status", "away": true})).await?;
    let f = v.until_type("agents").await?;
    assert_eq!(f["online"], false);
    // Still subscribed: the away agent sees the visitor's message.
    v.send(send("away-1", "anyone there?")).await?;
    let ev = a.until_type("event").await?;
    assert_eq!(ev["text"], "anyone there?");
    // A visitor arriving now is told nobody is available.
    let mut v2 = Ws::connect(&relay).await?;
    let w2 = v2.hello(visitor_hello("demo", "away-v2", None)).await?;
    assert_eq!(w2["agents_online"], false);

    a.send(json!({"type": "status", "away": false})).await?;
    assert_eq!(v.until_type("agents").await?["online"], true);
    assert_eq!(v2.until_type("agents").await?["online"], true);

    // Two agents: one away changes nothing for visitors. Ordered, not
    // timed: a's pong means its status was handled (the hub queues any
    // `agents` notice for v right then); v's own message event is queued
    // after it, so a notice would be among the frames v skips to reach it.
    let b = agent(&relay).await?;
    a.send(json!({"type": "status", "away": true})).await?;
    a.send(json!({"type": "ping"})).await?;
    a.until_type("pong").await?;
    v.seen.clear();
    v.send(send("away-2", "still there?")).await?;
    v.until(|f| f["type"] == "event" && f["cid"] == "away-2")
        .await?;
    assert!(
        v.seen.iter().all(|f| f["type"] != "agents"),
        "availability must not change while another agent is available: {:?}",
        v.seen
    );
    // The available one leaves: now nobody is.
    b.close().await?;
    assert_eq!(v.until_type("agents").await?["online"], false);
    Ok(())
}

/// The visitor's draft reaches agents only when the owner switched the
/// preview on; otherwise the typing notice arrives without text.
#[tokio::test]
async fn draft_preview_only_when_the_site_allows_it() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut a = agent(&relay).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "draft-v", None)).await?;
    v.send(send("draft-1", "hello")).await?;
    let conv = v.until_type("ack").await?["conv"].clone();
    a.until_type("event").await?;

    let typing = json!({"type": "typing", "conv": conv, "on": true, "text": "my order num"});
    v.send(typing.clone()).await?;
    let t = a.until_type("typing").await?;
    assert_eq!(t["on"], true);
    assert!(
        t.get("text").is_none(),
        "draft leaked with preview off: {t}"
    );

    let (s, site) = api(&relay, "GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(s, 200);
    let mut widget = site["widget"].clone();
    assert_eq!(widget["draft_preview"], false, "off by default");
    widget["draft_preview"] = json!(true);
    let (s, _) = api(
        &relay,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({"widget": widget})),
    )
    .await?;
    assert_eq!(s, 200);
    // The widget learns the setting in its welcome.
    let mut v2 = Ws::connect(&relay).await?;
    let w = v2.hello(visitor_hello("demo", "draft-v2", None)).await?;
    assert_eq!(w["settings"]["draft_preview"], true);

    v.send(typing).await?;
    let t = a.until_type("typing").await?;
    assert_eq!(t["text"], "my order num");
    // The visitor never gets its own draft back, and drafts are bounded.
    let big = "x".repeat(protocol::limits::MAX_TEXT_BYTES + 1);
    v.send(json!({"type": "typing", "conv": conv, "on": true, "text": big}))
        .await?;
    assert_eq!(v.until_type("error").await?["code"], "too_large");
    Ok(())
}

/// History pages backwards with `before`; the team list names the site's
/// agents for transfers; both refuse strangers.
#[tokio::test]
async fn history_pages_backwards_and_team_list() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "page-v", None)).await?;
    let mut conv = Value::Null;
    for i in 1..=7 {
        v.send(send(&format!("p{i}"), &format!("m{i}"))).await?;
        conv = v.until_type("ack").await?["conv"].clone();
    }
    let conv = conv.as_str().unwrap_or_default().to_string();
    let texts = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["text"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (s, last) = api(
        &relay,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?before=8&limit=3"),
        None,
    )
    .await?;
    assert_eq!(s, 200);
    assert_eq!(texts(&last), ["m5", "m6", "m7"]);
    assert_eq!(last["more"], true);
    let (_, older) = api(
        &relay,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?before=5&limit=3"),
        None,
    )
    .await?;
    assert_eq!(texts(&older), ["m2", "m3", "m4"]);
    let (_, oldest) = api(
        &relay,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?before=2&limit=3"),
        None,
    )
    .await?;
    assert_eq!(
        (texts(&oldest), oldest["more"].clone()),
        (vec!["m1".to_string()], json!(false))
    );
    let (s, _) = api(
        &relay,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?before=2&after=1"),
        None,
    )
    .await?;
    assert_eq!(s, 400);

    let (s, team) = api(&relay, "GET", "/v1/api/sites/demo/agents", None).await?;
    assert_eq!(s, 200);
    assert_eq!(team[0]["name"], "Demo Agent");
    let (s, _) = api(&relay, "GET", "/v1/api/sites/nope/agents", None).await?;
    assert_eq!(s, 404);
    let r = reqwest::Client::new()
        .get(relay.http("/v1/api/sites/demo/agents"))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    Ok(())
}

/// An agent subscribing to a busy site gets every visitor: a snapshot that
/// fits the socket's frame bound, then presence frames for the rest (a
/// single 300 KB snapshot once closed the agent's socket).
#[tokio::test]
async fn busy_site_snapshot_arrives_in_bounded_frames() -> Result<()> {
    let relay = Relay::start(
        BIN,
        &["--sends-per-ip", "100000", "--page-views-per-ip", "100000"],
    )
    .await?;
    const N: usize = 600;
    let mut visitors = Vec::new();
    for i in 0..N {
        let mut v = Ws::connect(&relay).await?;
        let mut hello = visitor_hello("demo", &format!("busy{i}"), None);
        // Identity with attributes makes each visitor record large.
        hello["user"] =
            json!({"name": format!("Visitor {i}"), "attributes": {"plan": "x".repeat(400)}});
        v.send(hello).await?;
        v.send(page(&format!("https://shop.example/p/{i}"), "Product"))
            .await?;
        visitors.push(v);
    }
    for v in visitors.iter_mut() {
        v.until_type("welcome").await?;
    }
    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    let snap = a.until_type("snapshot").await?;
    let mut seen: std::collections::HashSet<String> = snap["visitors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        snap.to_string().len() < 128 * 1024,
        "snapshot frame is bounded"
    );
    assert!(seen.len() < N, "the rest follows as presence frames");
    while seen.len() < N {
        let f = a.until_type("presence").await?;
        if let Some(id) = f["visitor"]["id"].as_str() {
            seen.insert(id.to_string());
        }
    }
    // The socket is still alive and answering.
    a.send(json!({"type": "ping"})).await?;
    a.until_type("pong").await?;
    Ok(())
}
