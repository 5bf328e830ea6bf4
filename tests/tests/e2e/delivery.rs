//! Delivery between visitors and agents over WebSocket, long-poll and a mix
//! of both; idempotent cids; cursor replay on reconnect.

use crate::BIN;
use anyhow::Result;
use serde_json::{json, Value};
use tests::frames::*;
use tests::{message_text, Lp, Relay, Ws, DEMO_TOKEN};

async fn agent(relay: &Relay) -> Result<Ws> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok(a)
}

/// Visitor → agent and agent → visitor over WebSocket, with presence,
/// acks carrying seqs, and the agent's reply reaching the visitor.
#[tokio::test]
async fn websocket_both_ways() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut a = agent(&relay).await?;

    let mut v = Ws::connect(&relay).await?;
    let welcome = v.hello(visitor_hello("demo", "vis-1", None)).await?;
    assert!(welcome["token"].is_string());
    assert_eq!(welcome["agents_online"], true);
    let p = a.until_type("presence").await?;
    assert_eq!(p["visitor"]["id"], "vis-1");

    v.send(page("https://shop.example/shoes", "Shoes")).await?;
    let p = a
        .until(|f| f["type"] == "presence" && f["visitor"]["page"]["url"].is_string())
        .await?;
    assert_eq!(p["visitor"]["page"]["title"], "Shoes");

    v.send(send("m1", "hello, is anyone there?")).await?;
    let ack = v.until_type("ack").await?;
    assert_eq!(ack["cid"], "m1");
    assert_eq!(ack["seq"], 1);
    let conv = ack["conv"].as_str().expect("conv").to_string();

    let ev = a.until(|f| message_text(f).is_some()).await?;
    assert_eq!(ev["text"], "hello, is anyone there?");
    assert_eq!(ev["from"]["side"], "visitor");
    assert_eq!(ev["conv"], conv);

    a.send(send_to(&conv, "r1", "Hi! How can I help?")).await?;
    let ack = a.until_type("ack").await?;
    assert_eq!(ack["seq"], 2);
    let ev = v
        .until(|f| message_text(f) == Some("Hi! How can I help?"))
        .await?;
    assert_eq!(ev["from"]["side"], "agent");
    assert_eq!(ev["from"]["name"], "Demo Agent");
    assert_eq!(ev["seq"], 2);
    Ok(())
}

/// Typing is relayed live to the other side and never stored.
#[tokio::test]
async fn typing_is_relayed_not_stored() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut a = agent(&relay).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "vis-t", None)).await?;
    v.send(send("m1", "hi")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    v.send(json!({"type": "typing", "conv": conv, "on": true}))
        .await?;
    let t = a.until_type("typing").await?;
    assert_eq!(
        (t["side"].clone(), t["on"].clone()),
        (json!("visitor"), json!(true))
    );
    a.send(json!({"type": "typing", "conv": conv, "on": true}))
        .await?;
    let t = v.until_type("typing").await?;
    assert_eq!(t["side"], "agent");
    // Visitors see who types ("Ada is typing…"), as on her messages.
    assert_eq!(t["name"], "Demo Agent");
    // Replay from 0 shows only the one message: typing left no event.
    a.send(json!({"type": "sync", "conv": conv, "after": 0}))
        .await?;
    let synced = a.until_type("synced").await?;
    assert_eq!(synced["seq"], 1);
    Ok(())
}

/// Both sides on long-poll: hello → sid, sends acked in the POST answer,
/// events arriving through numbered polls.
#[tokio::test]
async fn longpoll_both_ways() -> Result<()> {
    let relay = Relay::start(BIN, &["--longpoll-wait-ms", "2000"]).await?;
    let mut a = Lp::new(&relay);
    let r = a
        .send(vec![agent_hello(DEMO_TOKEN), subscribe("demo")])
        .await?;
    assert_eq!(r[0]["type"], "welcome");
    a.poll_until(|f| f["type"] == "snapshot").await?;

    let mut v = Lp::new(&relay);
    let r = v
        .send(vec![
            visitor_hello("demo", "lp-1", None),
            send("c1", "from long-poll"),
        ])
        .await?;
    assert_eq!(r[0]["type"], "welcome");
    assert_eq!(r[1]["type"], "ack");
    let conv = r[1]["conv"].as_str().expect("conv").to_string();

    let got = a.poll_until(|f| message_text(f).is_some()).await?;
    assert!(got
        .iter()
        .any(|f| message_text(f) == Some("from long-poll")));

    let r = a
        .send(vec![send_to(&conv, "a1", "reply via long-poll")])
        .await?;
    assert_eq!(r[0]["type"], "ack");
    let got = v
        .poll_until(|f| message_text(f) == Some("reply via long-poll"))
        .await?;
    // The visitor also got its own message back as an event, in order.
    let texts: Vec<&str> = got.iter().filter_map(message_text).collect();
    assert_eq!(texts, vec!["from long-poll", "reply via long-poll"]);
    Ok(())
}

/// An empty poll waits (about the configured time) and answers empty; a
/// poll answers at once when something is waiting.
#[tokio::test]
async fn longpoll_waits_then_answers_at_once_on_events() -> Result<()> {
    let relay = Relay::start(BIN, &["--longpoll-wait-ms", "1500"]).await?;
    let mut v = Lp::new(&relay);
    v.send(vec![visitor_hello("demo", "lp-w", None)]).await?;
    let t = std::time::Instant::now();
    let got = v.poll().await?;
    let waited = t.elapsed();
    assert!(got.is_empty(), "{got:?}");
    assert!(
        waited >= std::time::Duration::from_millis(1200),
        "answered after {waited:?}"
    );

    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(json!({"type": "invite", "site": "demo", "visitor": "lp-w", "cid": "i1", "text": "Need help?"})).await?;
    a.until_type("ack").await?;
    let got = v
        .poll_until(|f| message_text(f) == Some("Need help?"))
        .await?;
    assert!(!got.is_empty());
    Ok(())
}

/// A lost poll answer loses nothing: polling again with the old ack gets
/// the same frames again.
#[tokio::test]
async fn longpoll_resends_unacked_frames() -> Result<()> {
    let relay = Relay::start(BIN, &["--longpoll-wait-ms", "1000"]).await?;
    let mut v = Lp::new(&relay);
    v.send(vec![
        visitor_hello("demo", "lp-r", None),
        send("c1", "one"),
        send("c2", "two"),
    ])
    .await?;
    let first = v.poll_until(|f| message_text(f) == Some("two")).await?;
    v.ack = 0; // pretend that answer never arrived
    let again = v.poll().await?;
    let texts = |fs: &[Value]| {
        fs.iter()
            .filter_map(message_text)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&again), texts(&first));
    assert_eq!(texts(&again), vec!["one", "two"]);
    // Acked now: nothing more.
    assert!(texts(&v.poll().await?).is_empty());
    Ok(())
}

/// Visitor on long-poll, agent on WebSocket, many messages interleaved
/// from both sides concurrently: each side sees every message once, in
/// seq order.
#[tokio::test]
async fn mixed_transports_interleave_in_order() -> Result<()> {
    let relay = Relay::start(BIN, &["--longpoll-wait-ms", "1000"]).await?;
    let mut a = agent(&relay).await?;
    let mut v = Lp::new(&relay);
    let r = v
        .send(vec![
            visitor_hello("demo", "mix-1", None),
            send("v0", "visitor 0"),
        ])
        .await?;
    let conv = r[1]["conv"].as_str().expect("conv").to_string();
    a.until(|f| message_text(f) == Some("visitor 0")).await?;

    const N: usize = 20;
    let vconv = conv.clone();
    let visitor = tokio::spawn(async move {
        for i in 1..=N {
            let r = v
                .send(vec![send_to(
                    &vconv,
                    &format!("v{i}"),
                    &format!("visitor {i}"),
                )])
                .await?;
            anyhow::ensure!(r[0]["type"] == "ack", "{r:?}");
        }
        let mut seen: Vec<Value> = Vec::new();
        while seen.iter().filter(|f| message_text(f).is_some()).count() < 2 * N + 1 {
            seen.extend(v.poll().await?);
        }
        Ok::<_, anyhow::Error>(seen)
    });
    for i in 1..=N {
        a.send(send_to(&conv, &format!("a{i}"), &format!("agent {i}")))
            .await?;
    }
    let mut agent_seen = Vec::new();
    while agent_seen.len() < 2 * N {
        let f = a.until(|f| message_text(f).is_some()).await?;
        agent_seen.push(f);
    }
    let visitor_seen: Vec<Value> = visitor
        .await??
        .into_iter()
        .filter(|f| message_text(f).is_some())
        .collect();
    for seen in [&agent_seen, &visitor_seen] {
        let seqs: Vec<u64> = seen.iter().filter_map(|f| f["seq"].as_u64()).collect();
        let mut sorted = seqs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seqs, sorted, "in order, no duplicates");
    }
    let seqs: Vec<u64> = visitor_seen
        .iter()
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    // Every stored message, once (the agent's first reply also assigned
    // the conversation: that event sits between the messages).
    let history: Value = reqwest::Client::new()
        .get(relay.http(&format!("/v1/api/conversations/{conv}/events")))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let stored: Vec<u64> = history["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "message")
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert_eq!(stored.len(), 2 * N + 1);
    assert_eq!(seqs, stored, "visitor saw every message once");
    for i in 1..=N {
        for t in [format!("visitor {i}"), format!("agent {i}")] {
            assert!(
                agent_seen.iter().any(|f| message_text(f) == Some(&t)),
                "agent missed {t}"
            );
        }
    }
    Ok(())
}

/// The same cid sent twice (over both transports) is stored once and acked
/// with the same seq both times.
#[tokio::test]
async fn same_cid_twice_is_stored_once() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "dup-1", None)).await?;
    let token = w["token"].as_str().expect("token").to_string();
    v.send(send("same", "only once please")).await?;
    let a1 = v.until_type("ack").await?;
    v.send(send("same", "only once please")).await?;
    let a2 = v.until_type("ack").await?;
    assert_eq!(
        (a1["seq"].clone(), a1["conv"].clone()),
        (a2["seq"].clone(), a2["conv"].clone())
    );
    v.close().await?;

    // Again over long-poll, as the same visitor (token), after a reconnect.
    let mut lp = Lp::new(&relay);
    let r = lp
        .send(vec![
            visitor_hello("demo", "dup-1", Some(&token)),
            send("same", "only once please"),
        ])
        .await?;
    assert_eq!(r[1]["seq"], a1["seq"]);

    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(json!({"type": "sync", "conv": a1["conv"], "after": 0}))
        .await?;
    let synced = a.until_type("synced").await?;
    let events: Vec<&Value> = a
        .seen
        .iter()
        .filter(|f| message_text(f).is_some())
        .collect();
    assert_eq!(events.len(), 1, "{:?}", a.seen);
    assert_eq!(synced["seq"], 1);
    Ok(())
}

/// Reconnecting with a cursor replays exactly the missed events, in order,
/// then goes live — for an agent and for a visitor.
#[tokio::test]
async fn reconnect_with_cursor_replays_exactly_the_missed() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "cur-1", None)).await?;
    let token = w["token"].as_str().expect("token").to_string();
    let mut conv = String::new();
    for i in 1..=3 {
        v.send(send(&format!("m{i}"), &format!("msg {i}"))).await?;
        conv = v.until_type("ack").await?["conv"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }

    // Agent has applied up to seq 1; messages 2..3 plus 4..5 (sent while it
    // is away) must come, once, in order.
    for i in 4..=5 {
        v.send(send(&format!("m{i}"), &format!("msg {i}"))).await?;
        v.until_type("ack").await?;
    }
    let mut a = Ws::connect(&relay).await?;
    let mut hello = agent_hello(DEMO_TOKEN);
    hello["cursors"] = json!({ conv.clone(): 1 });
    a.hello(hello).await?;
    let synced = a.until_type("synced").await?;
    assert_eq!(synced["seq"], 5);
    let seqs: Vec<u64> = a
        .seen
        .iter()
        .filter(|f| f["type"] == "event")
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    assert_eq!(seqs, vec![2, 3, 4, 5]);
    // Then live, without repeating anything.
    a.send(subscribe("demo")).await?;
    v.send(send("m6", "msg 6")).await?;
    let ev = a.until(|f| f["type"] == "event").await?;
    assert_eq!(ev["seq"], 6);

    // The visitor reconnects having applied up to 4 (and the agent replies
    // meanwhile, which assigns the conversation to it: 8): it gets 5–8 only.
    a.send(send_to(&conv, "r1", "agent reply")).await?;
    a.until_type("ack").await?;
    v.close().await?;
    let mut v = Ws::connect(&relay).await?;
    let mut hello = visitor_hello("demo", "cur-1", Some(&token));
    hello["cursors"] = json!({ conv.clone(): 4 });
    v.hello(hello).await?;
    v.until_type("synced").await?;
    let seqs: Vec<u64> = v
        .seen
        .iter()
        .filter(|f| f["type"] == "event")
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    assert_eq!(seqs, vec![5, 6, 7, 8]);
    Ok(())
}

/// A visitor id already bound cannot be used without its token, and a
/// wrong token is refused: nobody reads another visitor's conversation.
#[tokio::test]
async fn visitor_ids_are_bound_to_their_token() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "bound-1", None)).await?;
    assert!(w["token"].is_string());
    v.send(send("m1", "private")).await?;
    v.until_type("ack").await?;

    let mut thief = Ws::connect(&relay).await?;
    thief.send(visitor_hello("demo", "bound-1", None)).await?;
    let e = thief.until_type("error").await?;
    assert_eq!(e["code"], "token_required");
    thief
        .send(visitor_hello("demo", "bound-1", Some("AAAA")))
        .await?;
    let e = thief.until_type("error").await?;
    assert_eq!(e["code"], "bad_token");
    // A token of another visitor does not open this one either.
    let mut other = Ws::connect(&relay).await?;
    let w2 = other.hello(visitor_hello("demo", "bound-2", None)).await?;
    thief
        .send(visitor_hello("demo", "bound-1", w2["token"].as_str()))
        .await?;
    assert_eq!(thief.until_type("error").await?["code"], "bad_token");
    assert!(
        thief.seen.iter().all(|f| message_text(f).is_none()),
        "{:?}",
        thief.seen
    );
    Ok(())
}

/// What IE8/9's XDomainRequest sends (the fallback's transport there): a
/// POST with no Content-Type and an Origin header. It must work, and the
/// answer must carry the CORS header XDomainRequest insists on.
#[tokio::test]
async fn longpoll_accepts_xdomainrequest_style_posts() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let http = reqwest::Client::new();
    let resp = http
        .post(relay.http("/v1/send"))
        .header("origin", "http://old-shop.example")
        .body(visitor_hello("demo", "xdr-1", None).to_string())
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let allow = resp
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    assert!(
        allow.as_deref() == Some("http://old-shop.example") || allow.as_deref() == Some("*"),
        "{allow:?}"
    );
    let body: Value = resp.json().await?;
    let sid = body["sid"].as_str().expect("sid").to_string();
    let resp = http
        .get(relay.http(&format!("/v1/poll?sid={sid}&ack=0")))
        .header("origin", "http://old-shop.example")
        .timeout(std::time::Duration::from_secs(40))
        .send();
    let mut v = Lp::new(&relay);
    v.sid = Some(sid);
    v.send(vec![send("x1", "via xdr")]).await?;
    let polled: Value = resp.await?.json().await?;
    assert!(
        polled["frames"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| message_text(f) == Some("via xdr"))),
        "{polled}"
    );
    Ok(())
}
