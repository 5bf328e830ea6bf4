//! Soak-test clients: visitors over WebSocket and long-poll, and agents,
//! each implementing the delivery protocol the way a real client must
//! (outbox resent with the same cids, cursors, `sync` on gaps, heartbeats,
//! reconnect with backoff) and logging everything it sends, gets acked and
//! has delivered into a shared [`Ledger`], which the soak test checks
//! against the relay's store once the run quiesces.

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

/// A client with no frame for this long reconnects (the relay pings every
/// second in the soak).
const SILENCE: Duration = Duration::from_secs(3);
/// Unacked messages are sent again this often on a live connection.
const RESEND_EVERY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Sent {
    pub sender: String,
    pub text: String,
    /// Order of creation at its sender.
    pub n: u64,
}

/// Everything every client did, keyed for the checks.
#[derive(Default)]
pub struct Ledger {
    /// cid → what was sent.
    pub sent: HashMap<String, Sent>,
    /// cid → (conv, seq) from the relay's ack (the same every time).
    pub acked: HashMap<String, (String, u64)>,
    /// An ack for a cid that disagreed with an earlier ack.
    pub ack_conflicts: Vec<String>,
    /// client → conv → seq → cid (message events; `None` for other kinds).
    pub delivered: HashMap<String, HashMap<String, BTreeMap<u64, Option<String>>>>,
    /// Events received again that the client had already applied.
    pub duplicates_suppressed: u64,
    /// Refusals the relay sent for a cid (code, message).
    pub refusals: Vec<(String, String)>,
    pub reconnects: u64,
    /// client → why its connections ended, with counts (for reports).
    pub ends: HashMap<String, BTreeMap<&'static str, u64>>,
}

impl Ledger {
    fn end(&mut self, client: &str, why: &'static str) {
        *self
            .ends
            .entry(client.to_string())
            .or_default()
            .entry(why)
            .or_default() += 1;
    }
}

pub type Shared = Arc<Mutex<Ledger>>;

fn lock(l: &Shared) -> std::sync::MutexGuard<'_, Ledger> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shared switches: `generate` (make new messages), `stop` (end tasks).
#[derive(Clone, Default)]
pub struct Control {
    pub generate: Arc<AtomicBool>,
    pub stop: Arc<AtomicBool>,
}

/// The per-client protocol state both transports share.
struct Core {
    name: String,
    outbox: VecDeque<(String, Value)>,
    cursors: HashMap<String, u64>,
    made: u64,
    ledger: Shared,
    rng: rand::rngs::StdRng,
    next_at: Instant,
    every: (u64, u64),
}

impl Core {
    fn new(name: &str, ledger: Shared, seed: u64, every: (u64, u64)) -> Core {
        Core {
            name: name.to_string(),
            outbox: VecDeque::new(),
            cursors: HashMap::new(),
            made: 0,
            ledger,
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            next_at: Instant::now(),
            every,
        }
    }

    /// A new message if it is time; `frame` builds it from (cid, text).
    fn maybe_new(
        &mut self,
        ctl: &Control,
        frame: impl Fn(&str, &str) -> Option<Value>,
    ) -> Option<Value> {
        if !ctl.generate.load(Ordering::Relaxed) || Instant::now() < self.next_at {
            return None;
        }
        let (lo, hi) = self.every;
        self.next_at = Instant::now() + Duration::from_millis(self.rng.gen_range(lo..hi));
        self.made += 1;
        let cid = format!("{}-{}", self.name, self.made);
        let text = format!(
            "{} says #{} ({})",
            self.name,
            self.made,
            self.rng.gen::<u32>()
        );
        let f = frame(&cid, &text)?;
        lock(&self.ledger).sent.insert(
            cid.clone(),
            Sent {
                sender: self.name.clone(),
                text,
                n: self.made,
            },
        );
        self.outbox.push_back((cid, f.clone()));
        Some(f)
    }

    /// Applies one relay frame. Returns frames to send back (a `sync` on a
    /// gap, a `pong`).
    fn on_frame(&mut self, f: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        match f["type"].as_str() {
            Some("ack") => {
                let cid = f["cid"].as_str().unwrap_or_default().to_string();
                let at = (
                    f["conv"].as_str().unwrap_or_default().to_string(),
                    f["seq"].as_u64().unwrap_or(0),
                );
                self.outbox.retain(|(c, _)| *c != cid);
                let mut l = lock(&self.ledger);
                match l.acked.get(&cid) {
                    Some(prev) if *prev != at => l.ack_conflicts.push(cid),
                    _ => {
                        l.acked.insert(cid, at);
                    }
                }
            }
            Some("event") => {
                let conv = f["conv"].as_str().unwrap_or_default().to_string();
                let seq = f["seq"].as_u64().unwrap_or(0);
                let cur = self.cursors.get(&conv).copied().unwrap_or(0);
                if seq <= cur {
                    lock(&self.ledger).duplicates_suppressed += 1;
                } else if seq == cur + 1 {
                    self.cursors.insert(conv.clone(), seq);
                    let cid = (f["kind"] == "message")
                        .then(|| f["cid"].as_str().unwrap_or_default().to_string());
                    lock(&self.ledger)
                        .delivered
                        .entry(self.name.clone())
                        .or_default()
                        .entry(conv)
                        .or_default()
                        .insert(seq, cid);
                } else {
                    // Missed something (a lagged live push): ask for it.
                    out.push(json!({"type": "sync", "conv": conv, "after": cur}));
                }
            }
            Some("synced") if f["more"] == true => {
                out.push(json!({"type": "sync", "conv": f["conv"], "after": f["seq"]}));
            }
            Some("snapshot") => {
                // An agent back after a disconnect: conversations it is
                // behind on (or has never seen) are synced.
                for c in f["convs"].as_array().into_iter().flatten() {
                    let conv = c["id"].as_str().unwrap_or_default().to_string();
                    let last = c["last_seq"].as_u64().unwrap_or(0);
                    let cur = self.cursors.get(&conv).copied().unwrap_or(0);
                    if last > cur {
                        out.push(json!({"type": "sync", "conv": conv, "after": cur}));
                    }
                }
            }
            Some("conv") => {
                let conv = f["conv"]["id"].as_str().unwrap_or_default().to_string();
                self.cursors.entry(conv).or_insert(0);
            }
            Some("error") => {
                if let Some(cid) = f["cid"].as_str() {
                    let code = f["code"].as_str().unwrap_or_default().to_string();
                    lock(&self.ledger)
                        .refusals
                        .push((cid.to_string(), format!("{code}: {}", f["message"])));
                }
            }
            Some("ping") => out.push(json!({"type": "pong"})),
            _ => {}
        }
        out
    }

    fn cursor_list(&self) -> Value {
        let mut v: Vec<(&String, &u64)> = self.cursors.iter().collect();
        v.sort();
        let m: serde_json::Map<String, Value> = v
            .into_iter()
            .take(protocol::limits::MAX_CURSORS)
            .map(|(k, s)| (k.clone(), json!(s)))
            .collect();
        Value::Object(m)
    }
}

async fn backoff(attempt: &mut u32) {
    let cap = 100u64 << (*attempt).min(4);
    *attempt += 1;
    let ms = rand::thread_rng().gen_range(cap / 2..=cap);
    sleep(Duration::from_millis(ms)).await;
}

/// What a WebSocket client is.
pub enum WsRole {
    Visitor { site: String, visitor: String },
    Agent { token: String, site: String },
}

/// A WebSocket client (visitor or agent) through `url`, until `ctl.stop`.
pub async fn ws_client(
    name: String,
    url: String,
    role: WsRole,
    ctl: Control,
    ledger: Shared,
    seed: u64,
) {
    let every = match role {
        WsRole::Visitor { .. } => (1_500, 2_500),
        WsRole::Agent { .. } => (700, 1_300),
    };
    let mut core = Core::new(&name, ledger.clone(), seed, every);
    let mut token: Option<String> = None;
    let mut attempt = 0;
    let mut first = true;
    while !ctl.stop.load(Ordering::Relaxed) {
        if !first {
            lock(&ledger).reconnects += 1;
            backoff(&mut attempt).await;
        }
        first = false;
        let Ok(Ok((mut ws, _))) = timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(&url),
        )
        .await
        else {
            lock(&ledger).end(&name, "connect failed");
            continue;
        };
        let hello = match &role {
            WsRole::Visitor { site, visitor } => {
                let mut h = json!({"type": "hello", "v": 1, "role": "visitor", "site": site,
                    "visitor": visitor, "cursors": core.cursor_list()});
                if let Some(t) = &token {
                    h["token"] = json!(t);
                }
                h
            }
            WsRole::Agent { token, .. } => json!({"type": "hello", "v": 1, "role": "agent",
                "token": token, "cursors": core.cursor_list()}),
        };
        if ws.send(Message::text(hello.to_string())).await.is_err() {
            continue;
        }
        let mut welcomed = false;
        let mut last_resend = Instant::now();
        let mut last_ping = Instant::now();
        let mut last_rx = Instant::now();
        'conn: loop {
            if ctl.stop.load(Ordering::Relaxed) {
                let _ = ws.close(None).await;
                return;
            }
            let mut out: Vec<Value> = Vec::new();
            match timeout(Duration::from_millis(100), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    last_rx = Instant::now();
                    let Ok(f) = serde_json::from_str::<Value>(t.as_str()) else {
                        continue;
                    };
                    if f["type"] == "welcome" {
                        welcomed = true;
                        attempt = 0;
                        if let Some(t) = f["token"].as_str() {
                            token = Some(t.to_string());
                        }
                        if let WsRole::Agent { site, .. } = &role {
                            out.push(json!({"type": "subscribe", "site": site}));
                        }
                        // Everything unacked goes again, same cids.
                        out.extend(core.outbox.iter().map(|(_, f)| f.clone()));
                        last_resend = Instant::now();
                    } else if f["type"] == "error" && f["cid"].is_null() && !welcomed {
                        lock(&ledger).end(&name, "refused hello");
                        break 'conn;
                    } else {
                        out.extend(core.on_frame(&f));
                    }
                }
                Ok(Some(Ok(_))) => last_rx = Instant::now(),
                Ok(Some(Err(_))) | Ok(None) => {
                    lock(&ledger).end(&name, "closed");
                    break 'conn;
                }
                Err(_) => {}
            }
            if last_rx.elapsed() > SILENCE {
                lock(&ledger).end(&name, "silent");
                break 'conn; // dead or one-way: reconnect
            }
            if welcomed {
                let mk = |cid: &str, text: &str| -> Option<Value> {
                    match &role {
                        WsRole::Visitor { .. } => {
                            Some(json!({"type": "send", "cid": cid, "text": text}))
                        }
                        WsRole::Agent { .. } => None,
                    }
                };
                let f = match &role {
                    WsRole::Visitor { .. } => core.maybe_new(&ctl, mk),
                    WsRole::Agent { .. } => {
                        // Reply into a random conversation it knows.
                        let convs: Vec<String> = core.cursors.keys().cloned().collect();
                        if convs.is_empty() {
                            None
                        } else {
                            let pick = convs[core.rng.gen_range(0..convs.len())].clone();
                            core.maybe_new(&ctl, move |cid, text| {
                                Some(
                                    json!({"type": "send", "conv": pick, "cid": cid, "text": text}),
                                )
                            })
                        }
                    }
                };
                out.extend(f);
                if last_resend.elapsed() > RESEND_EVERY && !core.outbox.is_empty() {
                    out.extend(core.outbox.iter().map(|(_, f)| f.clone()));
                    last_resend = Instant::now();
                }
                if last_ping.elapsed() > Duration::from_secs(1) {
                    out.push(json!({"type": "ping"}));
                    last_ping = Instant::now();
                }
            }
            for f in out {
                let send = timeout(
                    Duration::from_secs(2),
                    ws.send(Message::text(f.to_string())),
                );
                if !matches!(send.await, Ok(Ok(()))) {
                    lock(&ledger).end(&name, "send failed");
                    break 'conn;
                }
            }
        }
    }
}

/// A long-poll visitor through `base` (http://proxy).
pub async fn lp_visitor(
    name: String,
    base: String,
    site: String,
    visitor: String,
    ctl: Control,
    ledger: Shared,
    seed: u64,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(4))
        .pool_max_idle_per_host(1)
        .build()
        .unwrap_or_default();
    let mut core = Core::new(&name, ledger.clone(), seed, (1_500, 2_500));
    let mut token: Option<String> = None;
    let mut sid: Option<String> = None;
    let mut ack = 0u64;
    let mut attempt = 0;
    let mut last_resend = Instant::now();
    // POST frames; the answer's frames are applied. Err: session gone or
    // network trouble (the caller starts over).
    async fn post(http: &reqwest::Client, url: String, frames: Vec<Value>) -> Result<Value, bool> {
        let r = http
            .post(url)
            .header("content-type", "text/plain")
            .body(Value::Array(frames).to_string())
            .send()
            .await
            .map_err(|_| false)?;
        let gone = r.status().as_u16() == 404;
        let body: Value = r.json().await.map_err(|_| false)?;
        if gone {
            return Err(true);
        }
        Ok(body)
    }
    while !ctl.stop.load(Ordering::Relaxed) {
        let Some(s) = sid.clone() else {
            let mut h = json!({"type": "hello", "v": 1, "role": "visitor", "site": site,
                "visitor": visitor, "cursors": core.cursor_list()});
            if let Some(t) = &token {
                h["token"] = json!(t);
            }
            match post(&http, format!("{base}/v1/send"), vec![h]).await {
                Ok(body) => {
                    let frames = body["frames"].as_array().cloned().unwrap_or_default();
                    if let (Some(s), Some(w)) = (
                        body["sid"].as_str(),
                        frames.iter().find(|f| f["type"] == "welcome"),
                    ) {
                        sid = Some(s.to_string());
                        ack = 0;
                        attempt = 0;
                        if let Some(t) = w["token"].as_str() {
                            token = Some(t.to_string());
                        }
                        // Resend the outbox at once.
                        last_resend = Instant::now() - RESEND_EVERY * 2;
                    }
                }
                Err(_) => {
                    lock(&ledger).reconnects += 1;
                    backoff(&mut attempt).await;
                }
            }
            continue;
        };
        // Send what is due: a new message goes with the whole outbox before
        // it (a POST lost on the way must not let a later message overtake
        // an earlier one: each sender's order is checked), and the outbox
        // goes again now and then. A failed chunk stops the rest.
        let new = core
            .maybe_new(&ctl, |cid, text| {
                Some(json!({"type": "send", "cid": cid, "text": text}))
            })
            .is_some();
        if (new || last_resend.elapsed() > RESEND_EVERY) && !core.outbox.is_empty() {
            let frames: Vec<Value> = core.outbox.iter().map(|(_, f)| f.clone()).collect();
            last_resend = Instant::now();
            for chunk in frames.chunks(protocol::limits::MAX_FRAMES_PER_POST) {
                match post(&http, format!("{base}/v1/send?sid={s}"), chunk.to_vec()).await {
                    Ok(body) => {
                        for f in body["frames"].as_array().into_iter().flatten() {
                            let _ = core.on_frame(f);
                        }
                    }
                    Err(gone) => {
                        if gone {
                            sid = None;
                        }
                        break;
                    }
                }
            }
            if sid.is_none() {
                continue;
            }
        }
        // One poll (the relay answers within its long-poll wait).
        let url = format!("{base}/v1/poll?sid={s}&ack={ack}");
        match http.get(url).send().await {
            Ok(r) if r.status().as_u16() == 404 => sid = None,
            Ok(r) => {
                if let Ok(body) = r.json::<Value>().await {
                    if let Some(n) = body["next"].as_u64() {
                        ack = n;
                    }
                    let mut back = Vec::new();
                    for f in body["frames"].as_array().into_iter().flatten() {
                        back.extend(core.on_frame(f).into_iter().filter(|f| f["type"] != "pong"));
                    }
                    if !back.is_empty() {
                        if let Err(true) =
                            post(&http, format!("{base}/v1/send?sid={s}"), back).await
                        {
                            sid = None;
                        }
                    }
                }
            }
            Err(_) => {
                lock(&ledger).reconnects += 1;
                backoff(&mut attempt).await;
            }
        }
    }
}

/// Messages a [`probe`] sends right before each kill -9.
pub const PROBE_MSGS: u64 = 8;

/// A visitor straight to the relay (no proxy, so no fault delays it) that
/// sends [`PROBE_MSGS`] pipelined messages and returns as soon as every one
/// is acked, logging them in the ledger like any client's. The soak kills
/// the relay the moment this returns: these are the freshest acks the relay
/// gave, within a millisecond or so of the kill. A relay that acks only
/// after flush + fdatasync keeps them; one that acks before flushing
/// (`--no-fsync`: sled writes its log lazily, every 500 ms) loses them
/// unless its background flush happened to fall in that millisecond.
/// Returns the probe's conversation.
pub async fn probe(url: &str, site: &str, name: &str, ledger: &Shared) -> anyhow::Result<String> {
    use anyhow::bail;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = json!({"type": "hello", "v": 1, "role": "visitor", "site": site, "visitor": name});
    ws.send(Message::text(hello.to_string())).await?;
    loop {
        let f = next_json(&mut ws, name).await?;
        match f["type"].as_str() {
            Some("welcome") => break,
            Some("error") => bail!("probe {name} refused: {f}"),
            _ => {}
        }
    }
    for n in 1..=PROBE_MSGS {
        let cid = format!("{name}-{n}");
        let text = format!("{name} says #{n}");
        let frame = json!({"type": "send", "cid": cid, "text": text});
        let sent = Sent {
            sender: name.to_string(),
            text,
            n,
        };
        lock(ledger).sent.insert(cid, sent);
        ws.send(Message::text(frame.to_string())).await?;
    }
    let (mut acked, mut conv) = (0, String::new());
    while acked < PROBE_MSGS {
        let f = next_json(&mut ws, name).await?;
        match f["type"].as_str() {
            Some("ack") => {
                acked += 1;
                let at = (
                    f["conv"].as_str().unwrap_or_default().to_string(),
                    f["seq"].as_u64().unwrap_or(0),
                );
                let cid = f["cid"].as_str().unwrap_or_default().to_string();
                conv.clone_from(&at.0);
                lock(ledger).acked.insert(cid, at);
            }
            Some("error") => bail!("probe {name}: send refused: {f}"),
            _ => {}
        }
    }
    Ok(conv)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON text frame, or an error after 10 s.
async fn next_json(ws: &mut Socket, who: &str) -> anyhow::Result<Value> {
    loop {
        let msg = timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| anyhow::anyhow!("{who}: no frame within 10 s"))?
            .ok_or_else(|| anyhow::anyhow!("{who}: connection ended"))??;
        if let Message::Text(t) = msg {
            return Ok(serde_json::from_str(t.as_str())?);
        }
    }
}

/// The client's cursors, for the quiesce check (who has caught up).
pub fn caught_up(
    ledger: &Ledger,
    client: &str,
    truth: &HashMap<String, u64>,
    convs: &[String],
) -> bool {
    let d = ledger.delivered.get(client);
    convs.iter().all(|c| {
        let want = truth.get(c).copied().unwrap_or(0);
        let have = d
            .and_then(|m| m.get(c))
            .and_then(|s| s.keys().next_back().copied())
            .unwrap_or(0);
        have >= want
    })
}
