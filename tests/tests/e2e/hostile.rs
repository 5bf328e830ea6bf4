//! Hostile input over real sockets: invalid UTF-8, floods of page views,
//! thousands of idle half-open connections. The relay answers with clear
//! errors or closes only the offending connection, its memory stays
//! bounded, and everyone else keeps being served.

use crate::BIN;
use anyhow::{ensure, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

/// The relay's resident memory; an error (never 0) when /proc cannot say,
/// so a memory bound cannot pass on a missing reading.
fn rss_kb(relay: &Relay) -> Result<u64> {
    let pid = relay
        .pid()
        .ok_or_else(|| anyhow::anyhow!("relay not running"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))?;
    ensure!(kb > 0, "VmRSS of 0 kB");
    Ok(kb)
}

/// A visitor and an agent that must keep working through every attack.
async fn still_serving(relay: &Relay, tag: &str) -> Result<()> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    let mut v = Ws::connect(relay).await?;
    v.hello(visitor_hello("demo", &format!("ok-{tag}"), None))
        .await?;
    v.send(send(&format!("ok-{tag}"), "still here")).await?;
    ensure!(v.until_type("ack").await?["cid"] == format!("ok-{tag}"));
    a.until(|f| f["type"] == "event" && f["cid"] == format!("ok-{tag}"))
        .await?;
    Ok(())
}

#[tokio::test]
async fn invalid_utf8_is_refused_on_both_transports() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    // WebSocket: a text frame that is not UTF-8 is a protocol error; that
    // one connection closes (1007), the relay does not.
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url()).await?;
    let raw = Message::Frame(
        tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
            vec![b'{', 0xff, 0xfe, b'}'],
            tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
            ),
            true,
        ),
    );
    ws.send(raw).await?;
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(c))) => return c.map(|c| u16::from(c.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await?;
    ensure!(
        end.is_none_or(|c| c == 1007 || c == 1002),
        "closed with {end:?}"
    );
    // Long-poll: a 400 with a JSON error.
    let r = reqwest::Client::new()
        .post(relay.http("/v1/send"))
        .body(vec![b'[', 0xc3, 0x28, b']'])
        .send()
        .await?;
    ensure!(r.status() == 400, "status {}", r.status());
    let body: serde_json::Value = r.json().await?;
    ensure!(body["code"] == "bad_json", "{body}");
    still_serving(&relay, "utf8").await
}

#[tokio::test]
async fn page_view_floods_are_rate_limited_and_bounded() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "flood", None)).await?;
    let n = 2_000;
    for i in 0..n {
        v.send(page(&format!("https://shop.example/{i}"), "Flood"))
            .await?;
    }
    v.send(json!({"type": "ping"})).await?;
    // Every page view past the limit is refused, by name.
    let mut limited = 0;
    loop {
        let f = v.recv().await?;
        if f["type"] == "pong" {
            break;
        }
        if f["code"] == "rate_limited" {
            limited += 1;
        }
    }
    let allowed = protocol::limits::MAX_PAGE_VIEWS_PER_MINUTE as usize;
    ensure!(limited >= n - allowed - 1, "only {limited} of {n} refused");
    // The agent saw at most the allowed page views of that visitor.
    a.send(json!({"type": "ping"})).await?;
    a.until_type("pong").await?;
    let seen = a
        .seen
        .iter()
        .filter(|f| f["type"] == "presence" && f["visitor"]["id"] == "flood")
        .count();
    ensure!(seen <= allowed + 2, "agent got {seen} presence frames");
    still_serving(&relay, "flood").await
}

#[tokio::test]
async fn thousands_of_idle_half_open_connections_stay_cheap() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    still_serving(&relay, "before").await?;
    let before = rss_kb(&relay)?;
    let addr = relay.addr.clone();
    // 2,000 TCP connections: half say nothing at all, half stop in the
    // middle of an HTTP request; plus 300 WebSockets that never say hello.
    let mut idle = Vec::new();
    for i in 0..2_000 {
        let mut s = tokio::net::TcpStream::connect(&addr).await?;
        if i % 2 == 1 {
            s.write_all(b"POST /v1/send HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ty")
                .await?;
        }
        idle.push(s);
    }
    let mut silent = Vec::new();
    for _ in 0..300 {
        let (ws, _) = tokio_tungstenite::connect_async(relay.ws_url()).await?;
        silent.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = rss_kb(&relay)?;
    let per_conn = (during.saturating_sub(before)) * 1024 / 2_300;
    eprintln!(
        "hostile: RSS {before} kB → {during} kB with 2,300 idle connections ({per_conn} B each)"
    );
    ensure!(per_conn < 40 * 1024, "{per_conn} B per idle connection");
    still_serving(&relay, "during").await?;
    // WebSockets that never say hello are closed after the hello timeout.
    let closed = tokio::time::timeout(
        Duration::from_millis(protocol::limits::HELLO_TIMEOUT_MS + 5_000),
        async {
            let mut n = 0;
            for ws in silent.iter_mut() {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => continue,
                    }
                }
                n += 1;
            }
            n
        },
    )
    .await?;
    ensure!(closed == 300);
    drop(idle);
    Ok(())
}
