//! kefu-load: a load client for benchmarks (`make bench`).
//!
//! - `idle N`: open N visitor WebSockets (hello + one page view), answer
//!   heartbeats, print `ready` once all are welcomed, hold them until stdin
//!   closes or `--hold` seconds pass.
//! - `chat`: C conversations, each visitor sends a 200-byte message every
//!   `--interval-ms`, an agent connection receives them; prints throughput
//!   and p50/p99 send→ack and send→deliver latency.
//! - `burst`: V visitors pipeline M messages each as fast as acks come back;
//!   prints durable messages per second.

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hello(vid: &str) -> String {
    json!({"type": "hello", "v": 1, "role": "visitor", "site": "demo", "visitor": vid}).to_string()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_default();
    let url = arg(&args, "--url", "ws://127.0.0.1:8080/v1/ws".to_string());
    match mode.as_str() {
        "idle" => {
            let stage = arg(&args, "--stage", 2u8);
            idle(
                &url,
                arg(&args, "--n", 10_000usize),
                arg(&args, "--hold", 3600u64),
                stage,
            )
            .await
        }
        "chat" => {
            let token = arg(&args, "--token", String::new());
            chat(
                &url,
                &token,
                arg(&args, "--convs", 200usize),
                arg(&args, "--interval-ms", 1000u64),
                arg(&args, "--secs", 20u64),
            )
            .await
        }
        "burst" => {
            burst(
                &url,
                arg(&args, "--visitors", 64usize),
                arg(&args, "--msgs", 200usize),
            )
            .await
        }
        _ => bail!("usage: kefu-load idle|chat|burst [--url ws://…] [options]"),
    }
}

/// `stage`: 0 = bare WebSocket, 1 = + hello, 2 = + hello and a page view.
async fn idle(url: &str, n: usize, hold: u64, stage: u8) -> Result<()> {
    let ready = Arc::new(AtomicUsize::new(0));
    let run = format!("{:x}", rand_u64());
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (url, ready, run) = (url.to_string(), ready.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.context("connect")?;
            if stage == 0 {
                ready.fetch_add(1, Ordering::Relaxed);
            } else {
                ws.send(Message::Text(hello(&format!("idle-{run}-{i}")).into())).await?;
            }
            if stage >= 2 {
                let page = json!({"type": "page", "url": format!("https://shop.example/p/{i}"), "title": "Product"});
                ws.send(Message::Text(page.to_string().into())).await?;
            }
            while let Some(msg) = ws.next().await {
                let Message::Text(t) = msg? else { continue };
                if t.as_str().contains(r#""type":"welcome""#) {
                    ready.fetch_add(1, Ordering::Relaxed);
                } else if t.as_str().contains(r#""type":"ping""#) {
                    ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
        // Do not SYN-flood the listener's backlog.
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let start = Instant::now();
    while ready.load(Ordering::Relaxed) < n {
        if start.elapsed() > Duration::from_secs(120) {
            bail!("only {} of {n} welcomed", ready.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("ready {n}");
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        while std::io::stdin()
            .read_line(&mut s)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    });
    tokio::select! {
        _ = stdin_closed => {}
        _ = tokio::time::sleep(Duration::from_secs(hold)) => {}
    }
    Ok(())
}

fn rand_u64() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn chat(url: &str, token: &str, convs: usize, interval_ms: u64, secs: u64) -> Result<()> {
    // Agent first: it receives every delivered message.
    let (mut agent, _) = tokio_tungstenite::connect_async(url).await?;
    agent
        .send(Message::Text(
            json!({"type":"hello","v":1,"role":"agent","token":token})
                .to_string()
                .into(),
        ))
        .await?;
    agent
        .send(Message::Text(
            json!({"type":"subscribe","site":"demo"}).to_string().into(),
        ))
        .await?;
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let deliver_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
    let (sa, dm) = (sent_at.clone(), deliver_ms.clone());
    let agent_task = tokio::spawn(async move {
        while let Some(Ok(msg)) = agent.next().await {
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
            if v["type"] == "event" && v["kind"] == "message" {
                if let Some(t0) = v["cid"].as_str().and_then(|c| sa.lock().ok()?.remove(c)) {
                    if let Ok(mut d) = dm.lock() {
                        d.push(t0.elapsed().as_secs_f64() * 1e3);
                    }
                }
            } else if v["type"] == "ping" {
                let _ = agent.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ack_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
    let run = format!("{:x}", rand_u64());
    let text = "x".repeat(200);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..convs {
        let (url, run, text, sent_at, ack_ms) = (
            url.to_string(),
            run.clone(),
            text.clone(),
            sent_at.clone(),
            ack_ms.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
            ws.send(Message::Text(hello(&format!("chat-{run}-{c}")).into()))
                .await?;
            // Spread the senders over the interval.
            tokio::time::sleep(Duration::from_millis(
                interval_ms * c as u64 / convs.max(1) as u64,
            ))
            .await;
            let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
            let mut i = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                let cid = format!("{c}-{i}");
                i += 1;
                let t0 = Instant::now();
                if let Ok(mut s) = sent_at.lock() {
                    s.insert(cid.clone(), t0);
                }
                ws.send(Message::Text(
                    json!({"type":"send","cid":cid,"text":text})
                        .to_string()
                        .into(),
                ))
                .await?;
                loop {
                    let Some(msg) = ws.next().await else {
                        bail!("closed")
                    };
                    let Message::Text(t) = msg? else { continue };
                    let v: Value = serde_json::from_str(t.as_str())?;
                    if v["type"] == "ack" && v["cid"] == cid.as_str() {
                        if let Ok(mut a) = ack_ms.lock() {
                            a.push(t0.elapsed().as_secs_f64() * 1e3);
                        }
                        break;
                    }
                    if v["type"] == "error" {
                        bail!("error: {v}");
                    }
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    agent_task.abort();
    let mut acks = ack_ms.lock().map(|v| v.clone()).unwrap_or_default();
    let mut dels = deliver_ms.lock().map(|v| v.clone()).unwrap_or_default();
    let lost = sent_at.lock().map(|s| s.len()).unwrap_or(0);
    println!(
        "chat convs={convs} interval_ms={interval_ms} secs={secs} sent={} delivered={} undelivered={lost} msgs_per_s={:.0} ack_p50_ms={:.2} ack_p99_ms={:.2} deliver_p50_ms={:.2} deliver_p99_ms={:.2}",
        acks.len(),
        dels.len(),
        acks.len() as f64 / secs as f64,
        pct(&mut acks, 0.5),
        pct(&mut acks, 0.99),
        pct(&mut dels, 0.5),
        pct(&mut dels, 0.99),
    );
    Ok(())
}

async fn burst(url: &str, visitors: usize, msgs: usize) -> Result<()> {
    let run = format!("{:x}", rand_u64());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for v in 0..visitors {
        let (url, run) = (url.to_string(), run.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
            ws.send(Message::Text(hello(&format!("burst-{run}-{v}")).into()))
                .await?;
            let text = "y".repeat(200);
            // Keep up to 8 sends in flight per connection.
            let (mut sent, mut acked) = (0usize, 0usize);
            while acked < msgs {
                while sent < msgs && sent - acked < 8 {
                    ws.send(Message::Text(
                        json!({"type":"send","cid":format!("b{sent}"),"text":text})
                            .to_string()
                            .into(),
                    ))
                    .await?;
                    sent += 1;
                }
                let Some(msg) = ws.next().await else {
                    bail!("closed")
                };
                if let Message::Text(t) = msg? {
                    if t.as_str().contains(r#""type":"ack""#) {
                        acked += 1;
                    } else if t.as_str().contains(r#""type":"error""#) {
                        bail!("error: {t}");
                    }
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let total = visitors * msgs;
    println!(
        "burst visitors={visitors} msgs={total} secs={secs:.2} durable_msgs_per_s={:.0}",
        total as f64 / secs
    );
    Ok(())
}
