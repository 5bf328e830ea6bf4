//! Bad input gets a clear error frame or 4xx, the connection and the relay
//! stay healthy, and nothing is stored.

use crate::BIN;
use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN};
use tokio_tungstenite::tungstenite::Message;

async fn expect_error(ws: &mut Ws, frame: String, code: &str) -> Result<Value> {
    ws.send_text(frame).await?;
    let e = ws.until_type("error").await?;
    assert_eq!(e["code"], code, "{e}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    // Still healthy.
    ws.send(json!({"type": "ping"})).await?;
    ws.until_type("pong").await?;
    Ok(e)
}

/// Nothing stored: the agent's snapshot lists no conversation.
async fn assert_no_conversations(relay: &Relay) -> Result<()> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    let snap = a.until_type("snapshot").await?;
    assert_eq!(snap["convs"], json!([]), "{snap}");
    Ok(())
}

#[tokio::test]
async fn websocket_bad_frames_get_error_frames_and_store_nothing() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut ws = Ws::connect(&relay).await?;
    expect_error(
        &mut ws,
        send("m1", "too early").to_string(),
        "hello_required",
    )
    .await?;
    expect_error(&mut ws, "{not json".into(), "bad_json").await?;
    expect_error(&mut ws, "\"just a string\"".into(), "bad_json").await?;
    expect_error(
        &mut ws,
        json!({"type": "launch"}).to_string(),
        "unknown_frame",
    )
    .await?;
    expect_error(
        &mut ws,
        json!({"type": "hello", "v": 99, "role": "visitor", "site": "demo", "visitor": "x"})
            .to_string(),
        "unsupported_version",
    )
    .await?;
    expect_error(
        &mut ws,
        visitor_hello("no-such-site", "x", None).to_string(),
        "unknown_site",
    )
    .await?;
    expect_error(
        &mut ws,
        visitor_hello("demo", "bad id!", None).to_string(),
        "bad_frame",
    )
    .await?;
    expect_error(&mut ws, agent_hello("wrong-token").to_string(), "bad_token").await?;

    ws.hello(visitor_hello("demo", "bad-1", None)).await?;
    expect_error(
        &mut ws,
        send("m1", &"x".repeat(protocol::limits::MAX_TEXT_BYTES + 1)).to_string(),
        "too_large",
    )
    .await?;
    // Bigger than a frame may be, but under the socket limit: error, not close.
    expect_error(
        &mut ws,
        send("m1", &"y".repeat(protocol::limits::MAX_FRAME_BYTES + 10)).to_string(),
        "too_large",
    )
    .await?;
    expect_error(&mut ws, send("m1", "   ").to_string(), "bad_frame").await?;
    expect_error(
        &mut ws,
        send("m1", "nul \u{0} inside").to_string(),
        "bad_frame",
    )
    .await?;
    expect_error(&mut ws, send("bad cid", "x").to_string(), "bad_frame").await?;
    expect_error(
        &mut ws,
        json!({"type": "send", "cid": "m1", "text": 5}).to_string(),
        "bad_frame",
    )
    .await?;
    expect_error(
        &mut ws,
        send_to("01ARZ3NDEKTSV4RRFFQ69G5FAV", "m1", "x").to_string(),
        "unknown_conversation",
    )
    .await?;
    expect_error(&mut ws, subscribe("demo").to_string(), "forbidden").await?;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    expect_error(&mut ws, deep, "too_large").await?;
    let nested = format!(
        "{{\"type\":\"send\",\"cid\":\"m\",\"text\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    expect_error(&mut ws, nested, "bad_frame").await?;
    let mut attrs = serde_json::Map::new();
    for i in 0..=protocol::limits::MAX_ATTRIBUTES {
        attrs.insert(format!("k{i}"), json!(i));
    }
    let mut v2 = Ws::connect(&relay).await?;
    let mut h = visitor_hello("demo", "bad-2", None);
    h["user"] = json!({"id": "u1", "attributes": attrs});
    expect_error(&mut v2, h.to_string(), "too_large").await?;
    assert_no_conversations(&relay).await
}

/// A frame beyond the socket's message limit closes that connection with
/// 1009; the relay keeps serving everyone else.
#[tokio::test]
async fn huge_frame_closes_only_that_connection() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut other = Ws::connect(&relay).await?;
    other
        .hello(visitor_hello("demo", "bystander", None))
        .await?;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url()).await?;
    let huge = "z".repeat(relay::ws::WS_MAX_MESSAGE_BYTES + 1);
    let _ = ws.send(Message::Text(huge.into())).await;
    let mut code = None;
    while let Ok(Some(msg)) = tokio::time::timeout(tests::WAIT, ws.next()).await {
        match msg {
            Ok(Message::Close(Some(f))) => code = Some(u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert_eq!(code, Some(1009));
    other.send(send("m1", "still here")).await?;
    assert_eq!(other.until_type("ack").await?["seq"], 1);
    Ok(())
}

/// `hex(HMAC-SHA256(site_secret, user.id))` as a site owner's backend
/// computes it (README, Identity) — here by openssl, not by kefu:
/// `printf %s "$id" | openssl dgst -sha256 -hmac "$secret"`.
fn openssl_user_hash(secret: &str, id: &str) -> Result<String> {
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            r#"printf %s "$1" | openssl dgst -sha256 -hmac "$2""#,
            "sh",
            id,
            secret,
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "openssl failed (make test installs it: scripts/setup.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "SHA2-256(stdin)= <hex>" (OpenSSL 3) or "(stdin)= <hex>" (1.1).
    let text = String::from_utf8(out.stdout)?;
    let hex = text.split_whitespace().last().unwrap_or_default();
    anyhow::ensure!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "openssl printed {text:?}"
    );
    Ok(hex.to_string())
}

/// The relay's function against a fixed vector computed with openssl:
/// `printf %s user-42 | openssl dgst -sha256 -hmac kefu-example-site-secret`.
#[test]
fn user_hash_matches_an_openssl_vector() {
    assert_eq!(
        relay::auth::user_hash("kefu-example-site-secret", "user-42"),
        "16d6dd24f2f0f173f46aaede452a0d709d583200c56abd81a252080893f9880e"
    );
}

/// `user_hash` must be HMAC-SHA256(site secret, user.id): a wrong one is
/// refused; one computed outside kefu (openssl, as a site's backend would)
/// marks the visitor verified for agents.
#[tokio::test]
async fn user_hash_is_checked() -> Result<()> {
    let mut relay = Relay::start(BIN, &[]).await?;
    relay.terminate().await?;
    let secret = relay.admin(&["site-add", "--id", "shop", "--name", "Shop"])?;
    let token = relay.admin(&["agent-add", "--name", "Shop Agent", "--site", "shop"])?;
    relay.restart().await?;

    let mut v = Ws::connect(&relay).await?;
    let mut h = visitor_hello("shop", "u-vis", None);
    h["user"] = json!({"id": "user-42", "name": "Ada", "user_hash": "00".repeat(32)});
    v.send(h.clone()).await?;
    assert_eq!(v.until_type("error").await?["code"], "bad_user_hash");

    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(&token)).await?;
    a.send(subscribe("shop")).await?;
    a.until_type("snapshot").await?;
    h["user"]["user_hash"] = json!(openssl_user_hash(&secret, "user-42")?);
    v.hello(h).await?;
    let p = a.until_type("presence").await?;
    assert_eq!(p["visitor"]["id"], "u-vis");
    assert_eq!(p["visitor"]["verified"], true, "{p}");
    assert_eq!(p["visitor"]["user"]["name"], "Ada");
    assert!(
        p["visitor"]["user"].get("user_hash").is_none(),
        "hash never echoed"
    );
    Ok(())
}

/// An agent sees only its own sites: subscribing, reading, writing or
/// inviting on another site is refused.
#[tokio::test]
async fn agents_are_confined_to_their_sites() -> Result<()> {
    let mut relay = Relay::start(BIN, &[]).await?;
    relay.terminate().await?;
    relay.admin(&["site-add", "--id", "other"])?;
    let other_token = relay.admin(&["agent-add", "--name", "Other", "--site", "other"])?;
    relay.restart().await?;

    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "iso-1", None)).await?;
    v.send(send("m1", "demo secret")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(&other_token)).await?;
    expect_error(&mut a, subscribe("demo").to_string(), "forbidden").await?;
    expect_error(
        &mut a,
        json!({"type": "sync", "conv": conv, "after": 0}).to_string(),
        "unknown_conversation",
    )
    .await?;
    expect_error(
        &mut a,
        send_to(&conv, "x1", "intrusion").to_string(),
        "unknown_conversation",
    )
    .await?;
    expect_error(
        &mut a,
        json!({"type": "close", "conv": conv}).to_string(),
        "unknown_conversation",
    )
    .await?;
    expect_error(
        &mut a,
        json!({"type": "invite", "site": "demo", "visitor": "iso-1", "cid": "i", "text": "hi"})
            .to_string(),
        "forbidden",
    )
    .await?;
    assert!(a.seen.iter().all(|f| f["type"] != "event"), "{:?}", a.seen);
    Ok(())
}

#[tokio::test]
async fn http_bad_requests_get_json_errors() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let http = reqwest::Client::new();
    let check = |resp: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(resp.status().as_u16(), status);
        let body: Value = resp.json().await?;
        assert_eq!(body["code"], code, "{body}");
        Ok::<_, anyhow::Error>(())
    };
    let big = "x".repeat(protocol::limits::MAX_BODY_BYTES as usize + 1);
    check(
        // Its own client: after a 413 the server closes the connection
        // without reading the body, so a pooled connection would be stale.
        reqwest::Client::new()
            .post(relay.http("/v1/send"))
            .body(big)
            .send()
            .await?,
        413,
        "too_large",
    )
    .await?;
    check(
        http.post(relay.http("/v1/send?sid=nope"))
            .body(json!({"type":"ping"}).to_string())
            .send()
            .await?,
        404,
        "unknown_session",
    )
    .await?;
    check(
        http.get(relay.http("/v1/poll?sid=nope")).send().await?,
        404,
        "unknown_session",
    )
    .await?;
    check(
        http.get(relay.http("/v1/poll")).send().await?,
        400,
        "bad_request",
    )
    .await?;
    check(
        http.get(relay.http("/v1/poll?sid=x&ack=-1")).send().await?,
        400,
        "bad_request",
    )
    .await?;
    let many = Value::Array(vec![
        json!({"type": "ping"});
        protocol::limits::MAX_FRAMES_PER_POST + 1
    ])
    .to_string();
    check(
        http.post(relay.http("/v1/send")).body(many).send().await?,
        413,
        "too_large",
    )
    .await?;
    check(
        http.post(relay.http("/v1/send"))
            .body(vec![0xff, 0xfe, b'{'])
            .send()
            .await?,
        400,
        "bad_json",
    )
    .await?;
    check(
        http.post(relay.http("/v1/send")).body("[1,").send().await?,
        400,
        "bad_json",
    )
    .await?;
    check(
        http.get(relay.http("/v1/ws")).send().await?,
        400,
        "bad_request",
    )
    .await?;
    check(
        http.get(relay.http("/no/such/path")).send().await?,
        404,
        "not_found",
    )
    .await?;
    // An unbuilt (or unknown) bundle says how to build it.
    let r = http
        .get(relay.http("/widget/not-built.wasm"))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await?;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("make wasm")),
        "{body}"
    );
    check(
        http.delete(relay.http("/v1/send")).send().await?,
        405,
        "method_not_allowed",
    )
    .await?;
    // A failed hello over long-poll hands out no session.
    let r: Value = http
        .post(relay.http("/v1/send"))
        .body(visitor_hello("nope", "v", None).to_string())
        .send()
        .await?
        .json()
        .await?;
    assert!(r.get("sid").is_none());
    assert_eq!(r["frames"][0]["code"], "unknown_site");
    assert_eq!(
        http.get(relay.http("/healthz"))
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    assert_no_conversations(&relay).await
}
