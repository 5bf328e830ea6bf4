//! Acked means durable: kill -9 the relay right after a burst of acks,
//! restart on the same data dir, and every acked message is there, once,
//! at its acked seq, in order; resending the unacked ones stores each once.

use crate::BIN;
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tests::frames::*;
use tests::{message_text, Relay, Ws, DEMO_TOKEN};

const VISITORS: usize = 12;
const PER_VISITOR: usize = 40;

/// cid → (conv, seq) for every ack a visitor got.
type Acked = Arc<Mutex<HashMap<String, (String, u64)>>>;

async fn burst(
    relay_ws: String,
    id: usize,
    token_out: Arc<Mutex<Vec<(String, String)>>>,
    acked: Acked,
) -> Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(relay_ws).await?;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let vid = format!("crash-{id}");
    ws.send(Message::Text(
        visitor_hello("demo", &vid, None).to_string().into(),
    ))
    .await?;
    // Pipeline every send at once; then read acks until the relay dies.
    let mut welcomed = false;
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(t.as_str())?;
        if v["type"] == "welcome" && !welcomed {
            welcomed = true;
            token_out.lock().expect("lock").push((
                vid.clone(),
                v["token"].as_str().unwrap_or_default().to_string(),
            ));
            for i in 0..PER_VISITOR {
                let f = send(&format!("{vid}-m{i}"), &format!("{vid} message {i}"));
                if ws.send(Message::Text(f.to_string().into())).await.is_err() {
                    return Ok(());
                }
            }
        }
        if v["type"] == "ack" {
            let conv = v["conv"].as_str().unwrap_or_default().to_string();
            acked.lock().expect("lock").insert(
                v["cid"].as_str().unwrap_or_default().to_string(),
                (conv, v["seq"].as_u64().unwrap_or(0)),
            );
        }
    }
    Ok(())
}

/// Every conversation's events from the agent's view, by conv id.
async fn all_events(relay: &Relay, convs: &[String]) -> Result<BTreeMap<String, Vec<Value>>> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    let mut out = BTreeMap::new();
    for c in convs {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            a.seen.clear();
            a.send(json!({"type": "sync", "conv": c, "after": after}))
                .await?;
            let synced = a
                .until(|f| f["type"] == "synced" && f["conv"] == c.as_str())
                .await?;
            events.extend(
                a.seen
                    .drain(..)
                    .filter(|f| f["type"] == "event" && f["conv"] == c.as_str()),
            );
            after = synced["seq"].as_u64().unwrap_or(0);
            if synced["more"] != true {
                break;
            }
        }
        out.insert(c.clone(), events);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_after_acks_loses_nothing_and_resend_stores_once() -> Result<()> {
    // Every simulated visitor shares 127.0.0.1: lift the per-IP budget.
    let mut relay = Relay::start(BIN, &["--sends-per-ip", "100000"]).await?;
    let acked: Acked = Arc::default();
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..VISITORS {
        tasks.push(tokio::spawn(burst(
            relay.ws_url(),
            i,
            tokens.clone(),
            acked.clone(),
        )));
    }
    // Kill as soon as a good part of the burst is acked, mid-stream.
    let target = VISITORS * PER_VISITOR / 2;
    let deadline = tokio::time::Instant::now() + tests::WAIT * 3;
    while acked.lock().expect("lock").len() < target {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "burst too slow");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    relay.kill9().await?;
    for t in tasks {
        let _ = t.await;
    }
    let acked_before: HashMap<String, (String, u64)> = acked.lock().expect("lock").clone();
    eprintln!(
        "acked before kill -9: {} of {}",
        acked_before.len(),
        VISITORS * PER_VISITOR
    );
    // Every ack named where the message went (the map's defaults would
    // otherwise hide a malformed one).
    assert!(
        acked_before
            .values()
            .all(|(conv, seq)| !conv.is_empty() && *seq >= 1),
        "malformed acks: {acked_before:?}"
    );

    relay.restart().await?;
    let mut convs: Vec<String> = acked_before.values().map(|(c, _)| c.clone()).collect();
    convs.sort();
    convs.dedup();
    let stored = all_events(&relay, &convs).await?;
    for (cid, (conv, seq)) in &acked_before {
        let evs = &stored[conv];
        let hits: Vec<&Value> = evs.iter().filter(|e| e["cid"] == cid.as_str()).collect();
        assert_eq!(hits.len(), 1, "acked {cid} must be stored exactly once");
        assert_eq!(
            hits[0]["seq"].as_u64(),
            Some(*seq),
            "{cid} at its acked seq"
        );
    }
    for (conv, evs) in &stored {
        let seqs: Vec<u64> = evs.iter().filter_map(|e| e["seq"].as_u64()).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "{conv}: gap-free and ordered"
        );
    }

    // Every visitor resends all its cids (as a client with an outbox would);
    // afterwards each message is stored exactly once.
    let tokens = tokens.lock().expect("lock").clone();
    for (vid, token) in &tokens {
        let mut v = Ws::connect(&relay).await?;
        v.hello(visitor_hello("demo", vid, Some(token))).await?;
        for i in 0..PER_VISITOR {
            v.send(send(&format!("{vid}-m{i}"), &format!("{vid} message {i}")))
                .await?;
            let ack = v.until_type("ack").await?;
            if let Some((_, seq)) = acked_before.get(&format!("{vid}-m{i}")) {
                assert_eq!(
                    ack["seq"].as_u64(),
                    Some(*seq),
                    "resend acked with the original seq"
                );
            }
        }
    }
    let mut all_convs = convs.clone();
    for (vid, token) in &tokens {
        let mut v = Ws::connect(&relay).await?;
        let w = v.hello(visitor_hello("demo", vid, Some(token))).await?;
        for c in w["convs"].as_array().cloned().unwrap_or_default() {
            all_convs.push(c["id"].as_str().unwrap_or_default().to_string());
        }
    }
    all_convs.sort();
    all_convs.dedup();
    let stored = all_events(&relay, &all_convs).await?;
    let mut count = HashMap::new();
    for evs in stored.values() {
        for e in evs {
            if message_text(e).is_some() {
                *count
                    .entry(e["cid"].as_str().unwrap_or_default().to_string())
                    .or_insert(0) += 1;
            }
        }
    }
    assert_eq!(
        count.len(),
        tokens.len() * PER_VISITOR,
        "every message stored"
    );
    assert!(count.values().all(|&n| n == 1), "no message stored twice");
    Ok(())
}

/// SIGTERM: WebSocket clients get a 1012 close, the process exits cleanly,
/// and what was acked is there after the restart.
#[tokio::test]
async fn graceful_shutdown_closes_sockets_and_keeps_data() -> Result<()> {
    let mut relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "term-1", None)).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    v.send(send("m1", "before shutdown")).await?;
    v.until_type("ack").await?;
    let status = relay.terminate().await?;
    assert!(status.success(), "{status:?}");
    // Drain what was in flight (the message's own event); then the close.
    let end = loop {
        match v.recv().await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(
        end.to_string().contains("Restart") || end.to_string().contains("1012"),
        "{end}"
    );
    relay.restart().await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "term-1", Some(&token)))
        .await?;
    let ev = v.until(|f| message_text(f).is_some()).await?;
    assert_eq!(ev["text"], "before shutdown");
    Ok(())
}
