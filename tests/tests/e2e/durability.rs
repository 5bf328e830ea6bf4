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

/// Kill -9 rounds on one data dir: visitors and an agent keep writing in
/// the same conversations for a while (long enough for sled's background
/// flusher and segment cleaner to run), then the relay dies right after an ack.
const KILL_ROUNDS: usize = 8;
const ROUND_VISITORS: usize = 6;
/// Most sends per client in one round (they are paced, see `PACE_MS`).
const ROUND_MAX_SENDS: usize = 400;
const PACE_MS: u64 = 8;
/// A round's writing phase lasts up to this long before the kill.
const ROUND_MAX_MS: u64 = 2500;

/// One client's paced sends in a round: every ack lands in `acked`; ends
/// when the relay dies (or every send is acked).
async fn round_sender(
    relay_ws: String,
    hello: Value,
    frames: Vec<Value>,
    acked: Acked,
    token_out: Option<Arc<Mutex<HashMap<String, String>>>>,
) -> Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay_ws).await?;
    ws.send(Message::Text(hello.to_string().into())).await?;
    let mut pace = tokio::time::interval(std::time::Duration::from_millis(PACE_MS));
    let (mut next, mut left, mut welcomed) = (0, frames.len(), false);
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return Ok(()) };
                let Message::Text(t) = msg else { continue };
                let v: Value = serde_json::from_str(t.as_str())?;
                if v["type"] == "welcome" {
                    welcomed = true;
                    if let (Some(out), Some(tok)) = (&token_out, v["token"].as_str()) {
                        let vid = hello["visitor"].as_str().unwrap_or_default().to_string();
                        out.lock().expect("lock").insert(vid, tok.to_string());
                    }
                }
                if v["type"] == "ack" {
                    let conv = v["conv"].as_str().unwrap_or_default().to_string();
                    acked.lock().expect("lock").insert(
                        v["cid"].as_str().unwrap_or_default().to_string(),
                        (conv, v["seq"].as_u64().unwrap_or(0)),
                    );
                    left -= 1;
                    if left == 0 {
                        return Ok(());
                    }
                }
            }
            _ = pace.tick(), if welcomed && next < frames.len() => {
                if ws.send(Message::Text(frames[next].to_string().into())).await.is_err() {
                    return Ok(());
                }
                next += 1;
            }
        }
    }
}

/// The stored cid at each seq of `conv`, through the API.
async fn stored_cids(relay: &Relay, conv: &str) -> Result<BTreeMap<u64, String>> {
    let mut out = BTreeMap::new();
    let mut after = 0;
    loop {
        let page: Value = reqwest::Client::new()
            .get(relay.http(&format!(
                "/v1/api/conversations/{conv}/events?after={after}&limit=500"
            )))
            .bearer_auth(DEMO_TOKEN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for e in page["events"].as_array().into_iter().flatten() {
            let seq = e["seq"].as_u64().unwrap_or(0);
            after = seq;
            out.insert(seq, e["cid"].as_str().unwrap_or_default().to_string());
        }
        if page["more"] != true {
            return Ok(out);
        }
    }
}

/// Every message acked in any round so far is stored at its acked seq.
async fn check_acked(relay: &Relay, acked: &Acked, round: usize) -> Result<()> {
    let acked_now = acked.lock().expect("lock").clone();
    let mut by_conv: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for (cid, (conv, seq)) in acked_now {
        by_conv.entry(conv).or_default().push((seq, cid));
    }
    for (conv, want) in &by_conv {
        let stored = stored_cids(relay, conv).await?;
        for (seq, cid) in want {
            anyhow::ensure!(
                stored.get(seq) == Some(cid),
                "after kill -9 #{round}: acked {cid} at {conv}/{seq}, stored there: {:?} \
                 (last stored seq {:?})",
                stored.get(seq),
                stored.keys().next_back()
            );
        }
    }
    Ok(())
}

/// Many kill -9s on the same data dir, each within a millisecond or so of
/// an ack, after a while of visitor messages and agent replies in
/// long-lived conversations: after every restart, every message acked in
/// any round is stored at its acked seq. `KEFU_KILL_ROUNDS` sets the
/// number of kills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kill9_keeps_every_ack_of_every_round() -> Result<()> {
    let flags = [
        "--sends-per-ip",
        "1000000",
        "--sends-per-visitor",
        "1000000",
    ];
    let mut relay = Relay::start(BIN, &flags).await?;
    let acked: Acked = Arc::default();
    let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let rounds: usize = std::env::var("KEFU_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(KILL_ROUNDS);
    for round in 0..rounds {
        let mut convs: Vec<String> = acked
            .lock()
            .expect("lock")
            .values()
            .map(|(c, _)| c.clone())
            .collect();
        convs.sort();
        convs.dedup();
        let mut tasks = Vec::new();
        for v in 0..ROUND_VISITORS {
            let vid = format!("kill-{v}");
            let token = tokens.lock().expect("lock").get(&vid).cloned();
            let frames = (0..ROUND_MAX_SENDS)
                .map(|i| {
                    send(
                        &format!("{vid}-r{round}-m{i}"),
                        &format!("{vid} r{round} #{i}"),
                    )
                })
                .collect();
            let hello = visitor_hello("demo", &vid, token.as_deref());
            tasks.push(tokio::spawn(round_sender(
                relay.ws_url(),
                hello,
                frames,
                acked.clone(),
                Some(tokens.clone()),
            )));
        }
        let replies: Vec<Value> = (0..ROUND_MAX_SENDS)
            .filter_map(|i| {
                let c = convs.get(i % convs.len().max(1))?;
                Some(send_to(c, &format!("agent-r{round}-m{i}"), "a reply"))
            })
            .collect();
        tasks.push(tokio::spawn(round_sender(
            relay.ws_url(),
            agent_hello(DEMO_TOKEN),
            replies,
            acked.clone(),
            None,
        )));
        // Write for a while, then kill right after the next ack.
        let ms = 200 + rand::random::<u64>() % ROUND_MAX_MS;
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        let seen = acked.lock().expect("lock").len();
        let deadline = tokio::time::Instant::now() + tests::WAIT;
        while acked.lock().expect("lock").len() == seen {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no acks in round {round}"
            );
            tokio::task::yield_now().await;
        }
        relay.kill9().await?;
        for t in tasks {
            let _ = t.await;
        }
        relay.restart().await?;
        check_acked(&relay, &acked, round).await?;
    }
    Ok(())
}
