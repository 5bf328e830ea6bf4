//! Webhooks and the bot API over a real relay: deliveries signed as
//! README documents (checked here with an HMAC of the test's own), retried
//! after failures and delivered once per event id, queued deliveries that
//! survive `kill -9`, private addresses refused, and API keys whose sends
//! are idempotent by cid.

use crate::BIN;
use anyhow::{ensure, Context, Result};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tests::frames::*;
use tests::{api, Relay, Ws, DEMO_TOKEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the receiver took.
#[derive(Debug, Clone)]
struct Got {
    event_id: String,
    kind: String,
    body: String,
    signed: bool,
    answered: u16,
}

/// A webhook endpoint: plain HTTP/1.1 on loopback, answering 500 to the
/// first `fail` requests and 200 after, checking each signature.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(secret: Arc<Mutex<String>>, fail: usize) -> Result<Receiver> {
        Receiver::on(TcpListener::bind("127.0.0.1:0").await?, secret, fail)
    }

    fn on(listener: TcpListener, secret: Arc<Mutex<String>>, fail: usize) -> Result<Receiver> {
        let url = format!("http://{}/hook", listener.local_addr()?);
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (g, secret) = (g.clone(), secret.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, g, secret, fail).await;
                });
            }
        });
        Ok(Receiver { url, got, task })
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Event ids answered 200, with how often.
    fn delivered(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for g in self.got().into_iter().filter(|g| g.answered == 200) {
            *m.entry(g.event_id).or_insert(0) += 1;
        }
        m
    }

    async fn until(&self, what: &str, ok: impl Fn(&Receiver) -> bool) -> Result<()> {
        for _ in 0..200 {
            if ok(self) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("{what}: not within 10 s; got {:?}", self.got())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut sock: TcpStream,
    got: Arc<Mutex<Vec<Got>>>,
    secret: Arc<Mutex<String>>,
    fail: usize,
) -> Result<()> {
    loop {
        let mut buf = Vec::new();
        let head_end = loop {
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let len: usize = header("content-length").parse().unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
        // README's scheme: v1= hex HMAC-SHA256(secret, "{timestamp}.{body}").
        let key = secret.lock().map(|s| s.clone()).unwrap_or_default();
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())?;
        mac.update(format!("{}.{body}", header("kefu-timestamp")).as_bytes());
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let signed = header("kefu-signature") == format!("v1={want}");
        let answered = {
            let mut g = got.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let answered = if g.len() < fail { 500 } else { 200 };
            g.push(Got {
                event_id: header("kefu-event-id"),
                kind: header("kefu-event-type"),
                body,
                signed,
                answered,
            });
            answered
        };
        let reply = format!(
            "HTTP/1.1 {answered} {}\r\ncontent-length: 2\r\n\r\nok",
            if answered == 200 { "OK" } else { "Oops" }
        );
        sock.write_all(reply.as_bytes()).await?;
    }
}

async fn add_hook(relay: &Relay, url: &str, events: &[&str]) -> Result<Value> {
    let (s, v) = api(
        relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/webhooks",
        Some(json!({"url": url, "events": events})),
    )
    .await?;
    ensure!(s == 201, "add webhook: {s} {v}");
    ensure!(
        v["secret"].as_str().is_some_and(|s| s.len() > 20),
        "secret: {v}"
    );
    Ok(v)
}

/// A visitor of `demo` who sends `texts`; returns the conversation.
async fn visitor_sends(relay: &Relay, id: &str, texts: &[&str]) -> Result<(Ws, String)> {
    let mut v = Ws::connect(relay).await?;
    v.hello(visitor_hello("demo", id, None)).await?;
    let mut conv = String::new();
    for (i, t) in texts.iter().enumerate() {
        v.send(send(&format!("{id}-{i}"), t)).await?;
        let ack = v.until_type("ack").await?;
        conv = ack["conv"].as_str().unwrap_or_default().to_string();
    }
    Ok((v, conv))
}

const FLAGS: &[&str] = &["--webhooks-allow-private", "--webhook-retry-ms", "100"];

/// Deliveries carry a valid signature; the endpoint's first failures are
/// retried; each event id is answered 200 exactly once; the log shows
/// both; a redelivery sends the same id and body again.
#[tokio::test]
async fn webhooks_are_signed_retried_and_delivered_once_per_event() -> Result<()> {
    let relay = Relay::start(BIN, FLAGS).await?;
    let secret = Arc::new(Mutex::new(String::new()));
    let rx = Receiver::start(secret.clone(), 2).await?;
    let hook = add_hook(
        &relay,
        &rx.url,
        &["conversation.created", "message.created"],
    )
    .await?;
    *secret.lock().map_err(|_| anyhow::anyhow!("poisoned"))? =
        hook["secret"].as_str().unwrap_or_default().to_string();
    let hook_id = hook["id"].as_str().unwrap_or_default().to_string();

    let (_v, conv) = visitor_sends(&relay, "hv1", &["one", "two", "three"]).await?;
    let want: Vec<String> = vec![
        format!("{conv}.created"),
        format!("{conv}.1"),
        format!("{conv}.2"),
        format!("{conv}.3"),
    ];
    rx.until("four events delivered", |r| r.delivered().len() == 4)
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = rx.delivered();
    ensure!(
        delivered.keys().cloned().collect::<Vec<_>>() == {
            let mut w = want.clone();
            w.sort();
            w
        },
        "ids: {delivered:?}"
    );
    ensure!(
        delivered.values().all(|n| *n == 1),
        "once each: {delivered:?}"
    );
    let got = rx.got();
    ensure!(got.len() == 6, "2 failures + 4 deliveries: {got:?}");
    ensure!(
        got.iter().all(|g| g.signed),
        "every signature valid: {got:?}"
    );
    // Per endpoint, in order: the conversation's events arrive as stored.
    let order: Vec<&str> = got
        .iter()
        .filter(|g| g.answered == 200)
        .map(|g| g.event_id.as_str())
        .collect();
    ensure!(
        order == want.iter().map(String::as_str).collect::<Vec<_>>(),
        "order: {order:?}"
    );
    let m = got
        .iter()
        .find(|g| g.event_id == format!("{conv}.2") && g.answered == 200)
        .context("message 2")?;
    let body: Value = serde_json::from_str(&m.body)?;
    ensure!(
        m.kind == "message.created" && body["type"] == "message.created",
        "{body}"
    );
    ensure!(body["data"]["event"]["text"] == "two", "{body}");
    ensure!(body["data"]["event"]["from"]["side"] == "visitor", "{body}");
    ensure!(
        body["data"]["conversation"]["id"] == conv.as_str(),
        "{body}"
    );

    let (s, log) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/sites/demo/webhooks/{hook_id}/deliveries"),
        None,
    )
    .await?;
    ensure!(s == 200, "log: {s}");
    let log = log["deliveries"].as_array().cloned().unwrap_or_default();
    ensure!(log.len() == 6, "six attempts logged: {log:?}");
    ensure!(
        log.iter()
            .filter(|d| d["ok"] == false && d["status"] == 500)
            .count()
            == 2,
        "{log:?}"
    );
    let first = log.last().context("oldest")?;
    ensure!(first["attempt"] == 1 && first["ok"] == false, "{first}");
    // Redeliver message 2: same id, same body.
    let ok2 = log
        .iter()
        .find(|d| d["event_id"] == format!("{conv}.2").as_str() && d["ok"] == true)
        .context("delivery of 2")?;
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!(
            "/v1/api/sites/demo/webhooks/{hook_id}/deliveries/{}/redeliver",
            ok2["id"].as_str().unwrap_or_default()
        ),
        None,
    )
    .await?;
    ensure!(s == 202, "redeliver: {s}");
    rx.until("redelivered", |r| r.got().len() == 7).await?;
    let again = rx.got().pop().context("last")?;
    ensure!(
        again.event_id == format!("{conv}.2") && again.body == m.body && again.signed,
        "{again:?}"
    );

    // Pausing stops deliveries; a private note never leaves by a webhook.
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        &format!("/v1/api/sites/demo/webhooks/{hook_id}"),
        Some(json!({"paused": true})),
    )
    .await?;
    ensure!(s == 200, "pause: {s}");
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{conv}/notes"),
        Some(json!({"text": "private"})),
    )
    .await?;
    ensure!(s == 201, "note: {s}");
    visitor_sends(&relay, "hv2", &["while paused"]).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    ensure!(rx.got().len() == 7, "nothing while paused: {:?}", rx.got());
    ensure!(
        rx.got().iter().all(|g| !g.body.contains("private")),
        "notes never leave"
    );
    Ok(())
}

/// Deliveries queued while the endpoint is down survive `kill -9` of the
/// relay and are each delivered once after the restart.
#[tokio::test]
async fn queued_deliveries_survive_kill9() -> Result<()> {
    let mut relay = Relay::start(BIN, FLAGS).await?;
    // A port that refuses connections until the receiver binds it.
    let hold = TcpListener::bind("127.0.0.1:0").await?;
    let addr = hold.local_addr()?;
    drop(hold);
    let hook = add_hook(&relay, &format!("http://{addr}/hook"), &["message.created"]).await?;
    let secret = Arc::new(Mutex::new(
        hook["secret"].as_str().unwrap_or_default().to_string(),
    ));
    let (v, conv) = visitor_sends(&relay, "kv1", &["a", "b", "c"]).await?;
    drop(v);
    // Let the first attempts fail (connection refused) so the jobs wait.
    tokio::time::sleep(Duration::from_millis(600)).await;
    relay.kill9().await?;
    let rx = Receiver::on(TcpListener::bind(addr).await?, secret, 0)?;
    relay.restart().await?;
    rx.until("three delivered", |r| r.delivered().len() == 3)
        .await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let d = rx.delivered();
    let want: BTreeMap<String, usize> = (1..=3).map(|s| (format!("{conv}.{s}"), 1)).collect();
    ensure!(d == want, "each once after restart: {d:?}");
    ensure!(rx.got().iter().all(|g| g.signed), "signed");
    Ok(())
}

/// Without `--webhooks-allow-private`, endpoints on loopback, private or
/// link-local addresses, `localhost` and plain http are refused, and
/// nothing is stored.
#[tokio::test]
async fn private_endpoints_are_refused_without_the_flag() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    for url in [
        "http://127.0.0.1:9/x",
        "https://127.0.0.1/x",
        "https://10.0.0.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://localhost/x",
        "ftp://example.com/x",
        "not a url",
    ] {
        let (s, v) = api(
            &relay,
            DEMO_TOKEN,
            "POST",
            "/v1/api/sites/demo/webhooks",
            Some(json!({"url": url, "events": ["message.created"]})),
        )
        .await?;
        ensure!(s == 400, "{url}: {s} {v}");
        ensure!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    let (s, v) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/webhooks",
        Some(json!({"url": "https://hooks.example.com/x", "events": []})),
    )
    .await?;
    ensure!(s == 400, "no events: {s} {v}");
    let (s, list) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/webhooks",
        None,
    )
    .await?;
    ensure!(
        s == 200 && list.as_array().is_some_and(|l| l.is_empty()),
        "{list}"
    );
    Ok(())
}

/// An owner's API key acts as a named bot: its send is idempotent by cid,
/// the visitor receives it once under the bot's name, it can close the
/// conversation and read history; it reaches no other site, does not show
/// among the agents, and stops working when revoked.
#[tokio::test]
async fn bot_keys_send_idempotently_and_can_be_revoked() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (s, k) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/keys",
        Some(json!({"name": "Order bot"})),
    )
    .await?;
    ensure!(s == 201, "key: {s} {k}");
    let key = k["key"].as_str().context("key shown once")?.to_string();
    let key_id = k["id"].as_str().unwrap_or_default().to_string();
    let (s, list) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo/keys", None).await?;
    ensure!(s == 200, "{s}");
    let listed = &list[0];
    ensure!(
        listed["key"].is_null() && key.starts_with(listed["prefix"].as_str().unwrap_or("-")),
        "{list}"
    );

    let (mut v, conv) = visitor_sends(&relay, "bv1", &["where is my order?"]).await?;
    let path = format!("/v1/api/conversations/{conv}/messages");
    let body = json!({"cid": "order-42", "text": "It ships today."});
    let (s1, a) = api(&relay, &key, "POST", &path, Some(body.clone())).await?;
    let (s2, b) = api(&relay, &key, "POST", &path, Some(body)).await?;
    ensure!(
        s1 == 201 && s2 == 200 && a == b,
        "idempotent: {s1} {a} / {s2} {b}"
    );
    let ev = v
        .until(|f| f["type"] == "event" && f["text"] == "It ships today.")
        .await?;
    ensure!(ev["from"]["name"] == "Order bot", "{ev}");
    // A bot's reply does not take the conversation: it stays for people.
    let (_, page) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=unassigned",
        None,
    )
    .await?;
    ensure!(page.to_string().contains(&conv), "still unassigned: {page}");
    let (s, hist) = api(
        &relay,
        &key,
        "GET",
        &format!("/v1/api/conversations/{conv}/events"),
        None,
    )
    .await?;
    ensure!(s == 200, "history: {s}");
    let n = hist["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["text"] == "It ships today.")
        .count();
    ensure!(n == 1, "stored once: {hist}");

    // Not an agent in the lists; no owner powers; no other site.
    let (_, team) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo/agents", None).await?;
    ensure!(!team.to_string().contains("Order bot"), "{team}");
    let (s, _) = api(
        &relay,
        &key,
        "POST",
        "/v1/api/sites/demo/keys",
        Some(json!({"name": "x"})),
    )
    .await?;
    ensure!(s == 403, "a bot makes no keys: {s}");
    let (s, _) = api(
        &relay,
        &key,
        "GET",
        "/v1/api/sites/other/conversations",
        None,
    )
    .await?;
    ensure!(s == 404, "other site: {s}");
    let (s, _) = api(
        &relay,
        &key,
        "POST",
        &format!("/v1/api/conversations/{conv}/close"),
        None,
    )
    .await?;
    ensure!(s == 200, "close: {s}");
    // Bad input changes nothing.
    let (s, _) = api(
        &relay,
        &key,
        "POST",
        &path,
        Some(json!({"cid": "", "text": "x"})),
    )
    .await?;
    ensure!(s == 400, "empty cid: {s}");
    let (s, _) = api(
        &relay,
        &key,
        "POST",
        &path,
        Some(json!({"cid": "c2", "text": " "})),
    )
    .await?;
    ensure!(s == 400, "empty text: {s}");
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/keys",
        Some(json!({"name": ""})),
    )
    .await?;
    ensure!(s == 400, "empty name: {s}");

    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "DELETE",
        &format!("/v1/api/sites/demo/keys/{key_id}"),
        None,
    )
    .await?;
    ensure!(s == 204, "revoke: {s}");
    let (s, _) = api(
        &relay,
        &key,
        "POST",
        &path,
        Some(json!({"cid": "c3", "text": "late"})),
    )
    .await?;
    ensure!(s == 401, "revoked key: {s}");
    Ok(())
}
