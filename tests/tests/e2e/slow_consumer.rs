//! A slow consumer loses nothing (README, the delivery promise, 4): a
//! visitor that stops reading while an agent writes far more than its
//! bounded queue holds has pushes dropped by the hub and is marked lagged;
//! the relay's own catch-up (`Session::catch_up_if_lagged`) then replays
//! from the store. The client here repairs nothing itself — it never sends
//! a cursor, a `sync` or a second hello — so every event it receives, in
//! order and once each, is the relay's doing.

use crate::BIN;
use anyhow::{anyhow, bail, ensure, Context, Result};
use futures_util::{SinkExt, StreamExt};
use protocol::limits::MAX_REPLAY_EVENTS;
use serde_json::{json, Value};
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN, WAIT};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Agent messages written while the visitor does not read: over what fits
/// in the visitor's queue ([`protocol::limits::SUBSCRIBER_QUEUE`]) plus the
/// socket buffers between the relay and the client (the relay's send
/// buffer grows past a megabyte on loopback, ~350 such events: 600 in all
/// did not overflow here, 1,000 did), yet leaving a tail behind the
/// visitor's cursor shorter than one replay ([`MAX_REPLAY_EVENTS`]; see
/// [`slow_consumer_far_behind_gets_every_event`]).
const EVENTS: usize = 1_000;
/// Big messages fill the socket buffers with few events.
const TEXT_BYTES: usize = 4_000;
/// Sends the agent keeps in flight (below `MAX_PIPELINED_SENDS`).
const IN_FLIGHT: usize = 50;
/// The client's receive buffer: small, so the relay's writes block soon.
const CLIENT_RCVBUF: u32 = 4 * 1024;
/// What the relay logs when its catch-up runs (relay/src/session.rs).
const LAGGED_LOG: &str = "connection lagged; replaying from the store";

type Raw = WebSocketStream<TcpStream>;

/// A WebSocket to the relay with a small receive buffer.
async fn slow_socket(relay: &Relay) -> Result<Raw> {
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(CLIENT_RCVBUF)?;
    let stream = socket.connect(relay.addr.parse()?).await?;
    let (ws, _) = tokio_tungstenite::client_async(relay.ws_url(), stream).await?;
    Ok(ws)
}

/// The next JSON frame (a relay ping is answered with a pong: liveness,
/// not repair).
async fn next(ws: &mut Raw) -> Result<Value> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .map_err(|_| anyhow!("no frame within {WAIT:?}"))?
            .ok_or_else(|| anyhow!("websocket ended"))??;
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(t.as_str())?;
        if v["type"] == "ping" {
            ws.send(Message::text(json!({"type": "pong"}).to_string()))
                .await?;
            continue;
        }
        return Ok(v);
    }
}

/// The agent writes `events` messages into `conv`, `IN_FLIGHT` at a time,
/// each acked before the function returns.
async fn agent_writes(relay: &Relay, conv: &str, events: usize) -> Result<()> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    let text = "x".repeat(TEXT_BYTES);
    let mut sent = 0;
    while sent < events {
        let batch = IN_FLIGHT.min(events - sent);
        for i in sent..sent + batch {
            a.send(send_to(conv, &format!("a{i}"), &format!("{i} {text}")))
                .await?;
        }
        for _ in 0..batch {
            let ack = a
                .until(|f| f["type"] == "ack" || f["type"] == "error")
                .await?;
            ensure!(ack["type"] == "ack", "agent send refused: {ack}");
        }
        a.seen.clear();
        sent += batch;
    }
    Ok(())
}

#[tokio::test]
async fn slow_consumer_gets_every_event_once_in_order() -> Result<()> {
    slow_consumer(EVENTS).await
}

/// The same, with the visitor so far behind that the events dropped for
/// it outnumber one replay page ([`MAX_REPLAY_EVENTS`]): the catch-up must
/// go on past its first page by itself (a repairing client would follow
/// `synced {more: true}` with a `sync`; this one never does).
#[tokio::test]
async fn slow_consumer_far_behind_gets_every_event() -> Result<()> {
    slow_consumer(EVENTS + 2 * MAX_REPLAY_EVENTS).await
}

async fn slow_consumer(events: usize) -> Result<()> {
    let relay = Relay::start_logged(BIN, "warn,relay::session=debug", &[]).await?;
    let mut v = slow_socket(&relay).await?;
    v.send(Message::text(
        visitor_hello("demo", "slow-v", None).to_string(),
    ))
    .await?;
    v.send(Message::text(send("v1", "hello").to_string()))
        .await?;
    // Welcome, the ack and the message's own event (seq 1).
    let (mut conv, mut seen_first) = (None, false);
    while conv.is_none() || !seen_first {
        let f = next(&mut v).await?;
        match f["type"].as_str() {
            Some("error") => bail!("visitor refused: {f}"),
            Some("ack") => conv = f["conv"].as_str().map(String::from),
            Some("event") if f["seq"] == 1 => seen_first = true,
            _ => {}
        }
    }
    let conv = conv.context("no conversation")?;

    // The visitor stops reading while the agent writes (the relay gives up
    // on a write after WRITE_TIMEOUT, 15 s: far longer than this takes).
    agent_writes(&relay, &conv, events).await?;

    // Reading again: every event 2..=EVENTS+2 (the agent's first reply
    // also assigns the conversation to it: one `assigned` event more), once
    // each, in order. No new push arrives after the last one, so the tail
    // dropped while the queue was full can only come from the relay's
    // catch-up.
    let last = events as u64 + 2;
    let mut seqs = Vec::new();
    while seqs.last() != Some(&last) {
        match next(&mut v).await {
            Ok(f) if f["type"] == "event" && f["conv"] == conv.as_str() => {
                seqs.push(f["seq"].as_u64().unwrap_or(0));
            }
            Ok(_) => {}
            Err(e) => bail!(
                "after {} events (last seq {:?}, want {last}): {e}",
                seqs.len(),
                seqs.last()
            ),
        }
    }
    let want: Vec<u64> = (2..=last).collect();
    ensure!(
        seqs == want,
        "events out of order or repeated: {} received, first differences at {:?}",
        seqs.len(),
        seqs.iter().zip(&want).position(|(a, b)| a != b)
    );
    // The queue really overflowed: the relay had to catch this client up.
    ensure!(
        relay.log_text().contains(LAGGED_LOG),
        "the visitor never lagged (raise EVENTS); relay log:\n{}",
        relay.log_text()
    );
    // Nothing is repeated after the last event, and the socket is live.
    v.send(Message::text(json!({"type": "ping"}).to_string()))
        .await?;
    loop {
        let f = next(&mut v).await?;
        ensure!(f["type"] != "event", "an event after the last one: {f}");
        if f["type"] == "pong" {
            return Ok(());
        }
    }
}
