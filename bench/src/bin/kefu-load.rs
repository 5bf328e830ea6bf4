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
//! - `lp-chat`: like `chat`, the visitors on long-poll (`--base http://…`).
//! - `mqtt-idle`, `mqtt-chat`: the same workloads as MQTT 3.1.1 over
//!   WebSocket, for the mosquitto peer (visitor = client subscribed to its
//!   conversation topic, page view = a QoS 0 publish, message = QoS 1).
//! - `redis-chat`: the chat workload on Redis streams (`--url redis://…`),
//!   the durable peer; see `kefu_bench::redis_chat`.

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use kefu_bench::lat::Lat;
use kefu_bench::text::Chat;
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

/// What a desktop Chrome sends when a host page opens the widget's
/// socket: the relay keeps some of it per visitor (the User-Agent, the
/// page's referrer and title), so idle memory is measured with it.
const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
    (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const BROWSER_ORIGIN: &str = "https://shop.example";

/// A WebSocket upgrade request with a browser's headers.
fn browser_request(
    url: &str,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request()?;
    let h = req.headers_mut();
    h.insert("user-agent", BROWSER_UA.parse()?);
    h.insert("origin", BROWSER_ORIGIN.parse()?);
    h.insert("accept-language", "en-US,en;q=0.9,zh-CN;q=0.8".parse()?);
    h.insert("accept-encoding", "gzip, deflate, br, zstd".parse()?);
    h.insert("cache-control", "no-cache".parse()?);
    h.insert("pragma", "no-cache".parse()?);
    Ok(req)
}

/// The page view a widget sends on load: URL, title and the referrer the
/// visit came from, as long as real ones.
fn page_view(i: usize) -> String {
    json!({
        "type": "page",
        "url": format!("{BROWSER_ORIGIN}/collections/running-shoes/products/trail-runner-{i}?variant=4211{i}"),
        "title": format!("Trail Runner {i} – Lightweight running shoe | Shop Example"),
        "referrer": format!("https://www.google.com/search?q=trail+runner+{i}&source=hp&ei=Zk9xY2"),
    })
    .to_string()
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
        "lp-chat" => {
            let token = arg(&args, "--token", String::new());
            lp_chat(
                &arg(&args, "--base", "http://127.0.0.1:8080".to_string()),
                &url,
                &token,
                arg(&args, "--convs", 500usize),
                arg(&args, "--interval-ms", 1000u64),
                arg(&args, "--secs", 20u64),
            )
            .await
        }
        "mqtt-idle" => {
            mqtt_idle(
                &url,
                arg(&args, "--n", 10_000usize),
                arg(&args, "--hold", 3600u64),
            )
            .await
        }
        "mqtt-chat" => {
            mqtt_chat(
                &url,
                arg(&args, "--convs", 200usize),
                arg(&args, "--interval-ms", 1000u64),
                arg(&args, "--secs", 20u64),
            )
            .await
        }
        "redis-chat" => {
            kefu_bench::redis_chat::run(kefu_bench::redis_chat::Plan {
                url,
                run: format!("{:x}", rand_u64()),
                convs: arg(&args, "--convs", 200usize),
                interval: Duration::from_millis(arg(&args, "--interval-ms", 1000u64)),
                secs: arg(&args, "--secs", 20u64),
            })
            .await
        }
        _ => bail!(
            "usage: kefu-load idle|chat|burst|lp-chat|mqtt-idle|mqtt-chat|redis-chat [--url ws://…] [options]"
        ),
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
            let req = browser_request(&url)?;
            let (mut ws, _) = tokio_tungstenite::connect_async(req)
                .await
                .context("connect")?;
            if stage == 0 {
                ready.fetch_add(1, Ordering::Relaxed);
            } else {
                ws.send(Message::Text(hello(&format!("idle-{run}-{i}")).into()))
                    .await?;
            }
            if stage >= 2 {
                ws.send(Message::Text(page_view(i).into())).await?;
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
    hold_when_ready(&ready, n, hold).await
}

/// Waits until `n` connections are ready (2 minutes at most), prints
/// `ready N`, then holds them until stdin closes or `hold` seconds pass.
async fn hold_when_ready(ready: &AtomicUsize, n: usize, hold: u64) -> Result<()> {
    let start = Instant::now();
    while ready.load(Ordering::Relaxed) < n {
        if start.elapsed() > Duration::from_secs(120) {
            bail!("only {} of {n} ready", ready.load(Ordering::Relaxed));
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

/// The agent side of the kefu chat modes: receives every visitor message,
/// answers each with a 200-byte reply into the same conversation.
async fn kefu_agent(url: &str, token: &str, lat: Arc<Lat>) -> Result<tokio::task::JoinHandle<()>> {
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
    let text = "z".repeat(200);
    Ok(tokio::spawn(async move {
        while let Some(Ok(msg)) = agent.next().await {
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
            if v["type"] == "event" && v["kind"] == "message" && v["from"]["side"] == "visitor" {
                let cid = v["cid"].as_str().unwrap_or_default().to_string();
                if lat.delivered(&cid) {
                    let rid = format!("r{cid}");
                    lat.send(&rid);
                    let f = json!({"type":"send","conv":v["conv"],"cid":rid,"text":text});
                    let _ = agent.send(Message::Text(f.to_string().into())).await;
                }
            } else if v["type"] == "ack" {
                lat.acked(v["cid"].as_str().unwrap_or_default());
            } else if v["type"] == "ping" {
                let _ = agent.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
            }
        }
    }))
}

/// A visitor frame seen by a visitor connection: acks and agent replies.
fn visitor_saw(lat: &Lat, v: &Value) {
    if v["type"] == "ack" {
        lat.acked(v["cid"].as_str().unwrap_or_default());
    } else if v["type"] == "event" && v["kind"] == "message" && v["from"]["side"] == "agent" {
        lat.delivered(v["cid"].as_str().unwrap_or_default());
    }
}

async fn chat(url: &str, token: &str, convs: usize, interval_ms: u64, secs: u64) -> Result<()> {
    let lat = Arc::new(Lat::default());
    let agent_task = kefu_agent(url, token, lat.clone()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = format!("{:x}", rand_u64());
    let text = "x".repeat(200);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..convs {
        let (url, run, text, lat) = (url.to_string(), run.clone(), text.clone(), lat.clone());
        tasks.push(tokio::spawn(async move {
            let (ws, _) = tokio_tungstenite::connect_async(url).await?;
            let (mut tx, mut rx) = ws.split();
            tx.send(Message::Text(hello(&format!("chat-{run}-{c}")).into())).await?;
            let reader_lat = lat.clone();
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let reader = tokio::spawn(async move {
                while let Some(Ok(Message::Text(t))) = rx.next().await {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "ping" {
                        let _ = pong_tx.send(());
                    }
                    visitor_saw(&reader_lat, &v);
                }
            });
            // Spread the senders over the interval.
            tokio::time::sleep(Duration::from_millis(interval_ms * c as u64 / convs.max(1) as u64)).await;
            let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
            let mut i = 0u64;
            while Instant::now() < deadline {
                tokio::select! {
                    _ = tick.tick() => {
                        let cid = format!("{run}-{c}-{i}");
                        i += 1;
                        lat.send(&cid);
                        tx.send(Message::Text(json!({"type":"send","cid":cid,"text":text}).to_string().into())).await?;
                    }
                    Some(()) = pong_rx.recv() => {
                        tx.send(Message::Text(r#"{"type":"pong"}"#.into())).await?;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
            reader.abort();
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    agent_task.abort();
    lat.report("chat", convs, interval_ms, secs);
    Ok(())
}

/// Long-poll visitors (POST /v1/send, GET /v1/poll) and a WebSocket agent.
async fn lp_chat(
    base: &str,
    url: &str,
    token: &str,
    convs: usize,
    interval_ms: u64,
    secs: u64,
) -> Result<()> {
    let lat = Arc::new(Lat::default());
    let agent_task = kefu_agent(url, token, lat.clone()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = format!("{:x}", rand_u64());
    let text = "x".repeat(200);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4 * convs)
        .build()?;
    let mut tasks = Vec::new();
    for c in 0..convs {
        let (base, run, text, lat, http) = (
            base.to_string(),
            run.clone(),
            text.clone(),
            lat.clone(),
            http.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r: Value = http
                .post(format!("{base}/v1/send"))
                .body(hello(&format!("lp-{run}-{c}")))
                .send()
                .await?
                .json()
                .await?;
            let sid = r["sid"].as_str().context("no sid")?.to_string();
            let poller = {
                let (http, base, sid, lat) = (http.clone(), base.clone(), sid.clone(), lat.clone());
                tokio::spawn(async move {
                    let mut ack = 0u64;
                    loop {
                        let Ok(r) = http
                            .get(format!("{base}/v1/poll?sid={sid}&ack={ack}"))
                            .send()
                            .await
                        else {
                            break;
                        };
                        let Ok(v) = r.json::<Value>().await else {
                            break;
                        };
                        if let Some(n) = v["next"].as_u64() {
                            ack = n;
                        }
                        for f in v["frames"].as_array().into_iter().flatten() {
                            visitor_saw(&lat, f);
                        }
                    }
                })
            };
            tokio::time::sleep(Duration::from_millis(
                interval_ms * c as u64 / convs.max(1) as u64,
            ))
            .await;
            let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
            let mut i = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                let cid = format!("{run}-{c}-{i}");
                i += 1;
                lat.send(&cid);
                let r: Value = http
                    .post(format!("{base}/v1/send?sid={sid}"))
                    .body(json!({"type":"send","cid":cid,"text":text}).to_string())
                    .send()
                    .await?
                    .json()
                    .await?;
                for f in r["frames"].as_array().into_iter().flatten() {
                    visitor_saw(&lat, f);
                }
            }
            tokio::time::sleep(Duration::from_millis(1500)).await;
            poller.abort();
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    agent_task.abort();
    lat.report("lp-chat", convs, interval_ms, secs);
    Ok(())
}

type MqttWs =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn mqtt_connect(url: &str, client_id: &str, clean: bool) -> Result<MqttWs> {
    let mut req = browser_request(url)?;
    req.headers_mut()
        .insert("sec-websocket-protocol", "mqtt".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::Binary(
        kefu_bench::mqtt::connect(client_id, clean, 60).into(),
    ))
    .await?;
    Ok(ws)
}

/// N MQTT clients, each subscribed to its conversation topic and having
/// published one page view; held like `idle`.
async fn mqtt_idle(url: &str, n: usize, hold: u64) -> Result<()> {
    let ready = Arc::new(AtomicUsize::new(0));
    let run = format!("{:x}", rand_u64());
    for i in 0..n {
        let (url, ready, run) = (url.to_string(), ready.clone(), run.clone());
        tokio::spawn(async move {
            let mut ws = mqtt_connect(&url, &format!("idle-{run}-{i}"), true).await?;
            ws.send(Message::Binary(
                kefu_bench::mqtt::subscribe(1, &format!("c/{run}-{i}/a"), 1).into(),
            ))
            .await?;
            let page = page_view(i);
            ws.send(Message::Binary(
                kefu_bench::mqtt::publish(&format!("p/{run}-{i}"), 0, 0, page.as_bytes()).into(),
            ))
            .await?;
            let mut dec = kefu_bench::mqtt::Decoder::default();
            let mut ping = tokio::time::interval(Duration::from_secs(50));
            loop {
                tokio::select! {
                    m = ws.next() => {
                        let Some(Ok(m)) = m else { break };
                        if let Message::Binary(b) = m {
                            for p in dec.push(&b) {
                                if p.kind == 9 {
                                    ready.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                    _ = ping.tick() => { ws.send(Message::Binary(kefu_bench::mqtt::pingreq().into())).await?; }
                }
            }
            Ok::<_, anyhow::Error>(())
        });
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    hold_when_ready(&ready, n, hold).await
}

/// The chat workload over MQTT QoS 1: visitor i publishes to c/i/v and is
/// subscribed to c/i/a; the agent is subscribed to c/+/v and answers each
/// message on c/i/a. Ack = PUBACK; deliver = the PUBLISH arriving.
async fn mqtt_chat(url: &str, convs: usize, interval_ms: u64, secs: u64) -> Result<()> {
    let lat = Arc::new(Lat::default());
    let run = format!("{:x}", rand_u64());
    let mut agent = mqtt_connect(url, &format!("agent-{run}"), false).await?;
    agent
        .send(Message::Binary(
            kefu_bench::mqtt::subscribe(1, &format!("c/{run}/+/v"), 1).into(),
        ))
        .await?;
    let agent_task = tokio::spawn(mqtt_agent(agent, lat.clone(), run.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..convs {
        let v = MqttVisitor {
            url: url.to_string(),
            run: run.clone(),
            conv: c,
            lat: lat.clone(),
            start_delay: Duration::from_millis(interval_ms * c as u64 / convs.max(1) as u64),
            interval: Duration::from_millis(interval_ms),
            deadline,
        };
        tasks.push(tokio::spawn(mqtt_visitor(v)));
    }
    for t in tasks {
        t.await??;
    }
    agent_task.abort();
    lat.report("mqtt-chat", convs, interval_ms, secs);
    Ok(())
}

/// The MQTT agent: PUBACKs every visitor message and answers it on the
/// conversation's agent topic, timing its own PUBACKs.
async fn mqtt_agent(agent: MqttWs, lat: Arc<Lat>, run: String) {
    let (mut atx, mut arx) = agent.split();
    let mut dec = kefu_bench::mqtt::Decoder::default();
    let reply = vec![b'z'; 200];
    let mut next_id: u16 = 1;
    let mut pending: HashMap<u16, String> = HashMap::new();
    while let Some(Ok(m)) = arx.next().await {
        let Message::Binary(b) = m else { continue };
        for p in dec.push(&b) {
            if let Some((topic, id, payload)) = kefu_bench::mqtt::parse_publish(&p) {
                if let Some(id) = id {
                    let _ = atx
                        .send(Message::Binary(kefu_bench::mqtt::puback(id).into()))
                        .await;
                }
                let key = payload_key(&payload);
                if lat.delivered(&key) {
                    // c/<run>/<conv>/v → c/<run>/<conv>/a
                    let conv = topic.split('/').nth(2).unwrap_or_default().to_string();
                    let rid = format!("r{key}");
                    let mut body = rid.clone().into_bytes();
                    body.push(b'|');
                    body.extend_from_slice(&reply);
                    next_id = next_id.wrapping_add(1).max(1);
                    pending.insert(next_id, rid.clone());
                    lat.send(&rid);
                    let topic = format!("c/{run}/{conv}/a");
                    let frame = kefu_bench::mqtt::publish(&topic, 1, next_id, &body);
                    let _ = atx.send(Message::Binary(frame.into())).await;
                }
            } else if let Some(id) = puback_id(&p) {
                if let Some(rid) = pending.remove(&id) {
                    lat.acked(&rid);
                }
            }
        }
    }
}

/// The key before `|` in a chat payload.
fn payload_key(payload: &[u8]) -> String {
    String::from_utf8_lossy(payload.split(|&c| c == b'|').next().unwrap_or_default()).to_string()
}

/// The packet id of a PUBACK.
fn puback_id(p: &kefu_bench::mqtt::Packet) -> Option<u16> {
    (p.kind == 4 && p.body.len() == 2).then(|| u16::from_be_bytes([p.body[0], p.body[1]]))
}

/// One MQTT visitor's part of the workload.
struct MqttVisitor {
    url: String,
    run: String,
    conv: usize,
    lat: Arc<Lat>,
    /// Spreads the visitors' sends over one interval.
    start_delay: Duration,
    interval: Duration,
    deadline: Instant,
}

/// Publishes a 200-byte message every interval until the deadline, PUBACKs
/// the agent's answers, and times both.
async fn mqtt_visitor(v: MqttVisitor) -> Result<()> {
    let c = v.conv;
    let mut ws = mqtt_connect(&v.url, &format!("v-{}-{c}", v.run), false).await?;
    let sub = kefu_bench::mqtt::subscribe(1, &format!("c/{}/{c}/a", v.run), 1);
    ws.send(Message::Binary(sub.into())).await?;
    let (mut tx, mut rx) = ws.split();
    let pending: Arc<Mutex<HashMap<u16, String>>> = Arc::default();
    let (rlat, rpending) = (v.lat.clone(), pending.clone());
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<u16>();
    let reader = tokio::spawn(async move {
        let mut dec = kefu_bench::mqtt::Decoder::default();
        while let Some(Ok(m)) = rx.next().await {
            let Message::Binary(b) = m else { continue };
            for p in dec.push(&b) {
                if let Some((_, id, payload)) = kefu_bench::mqtt::parse_publish(&p) {
                    if let Some(id) = id {
                        let _ = ack_tx.send(id);
                    }
                    rlat.delivered(&payload_key(&payload));
                } else if let Some(id) = puback_id(&p) {
                    if let Some(k) = rpending.lock().ok().and_then(|mut m| m.remove(&id)) {
                        rlat.acked(&k);
                    }
                }
            }
        }
    });
    let text = vec![b'x'; 200];
    tokio::time::sleep(v.start_delay).await;
    let mut tick = tokio::time::interval(v.interval);
    let mut i: u64 = 0;
    while Instant::now() < v.deadline {
        tokio::select! {
            _ = tick.tick() => {
                i += 1;
                let id = (i % 65_535 + 1) as u16;
                let key = format!("{c}-{i}");
                let mut body = key.clone().into_bytes();
                body.push(b'|');
                body.extend_from_slice(&text);
                if let Ok(mut m) = pending.lock() {
                    m.insert(id, key.clone());
                }
                v.lat.send(&key);
                let frame = kefu_bench::mqtt::publish(&format!("c/{}/{c}/v", v.run), 1, id, &body);
                tx.send(Message::Binary(frame.into())).await?;
            }
            Some(id) = ack_rx.recv() => {
                tx.send(Message::Binary(kefu_bench::mqtt::puback(id).into())).await?;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    reader.abort();
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
            // Chat-like text, different per visitor (a repeated character
            // would compress to nothing).
            let mut chat = Chat::new(v as u64 + 1);
            // Keep up to 8 sends in flight per connection.
            let (mut sent, mut acked) = (0usize, 0usize);
            while acked < msgs {
                while sent < msgs && sent - acked < 8 {
                    ws.send(Message::Text(
                        json!({"type":"send","cid":format!("b{sent}"),"text":chat.message()})
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
