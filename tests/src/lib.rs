//! Helpers for kefu's end-to-end tests: a real relay process on
//! 127.0.0.1 with a temp data dir, and real clients (tokio-tungstenite
//! WebSocket, reqwest long-poll) speaking JSON frames.
//!
//! # Layout
//! - [`Relay`]: spawn / kill -9 / restart the `kefu-test-relay` binary.
//! - [`Ws`]: a WebSocket client; [`Lp`]: a long-poll client.
//! - [`frames`]: small builders for client frames.
//! - [`proxy`]: the fault-injecting TCP proxy; [`soak`]: the soak clients.
//! - [`wechat`]: a WeChat API stand-in and the pushes WeChat sends.
//! - [`mail`]: real mail servers on loopback: an SMTP receiver, Dovecot for IMAP.

pub mod mail;
pub mod proxy;
pub mod soak;
pub mod wechat;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The demo agent's token every test relay is started with.
pub const DEMO_TOKEN: &str = "test-demo-agent-token";

/// How long a test waits for an expected frame before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A relay process under test.
pub struct Relay {
    child: Option<Child>,
    pub addr: String,
    /// Where the relay serves `/metrics` (never on `addr`).
    pub metrics_addr: String,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    extra: Vec<String>,
    bin: PathBuf,
    /// A program the relay runs under (e.g. `fiu-run -x`), if any.
    pub wrapper: Vec<String>,
    /// Where the relay's stderr (its log) goes, if not inherited.
    pub log: Option<PathBuf>,
    /// The relay's `KEFU_LOG` filter, if not the test process's own.
    log_filter: Option<String>,
}

impl Relay {
    /// Starts a relay on a fresh data dir with the demo site (`demo`) and
    /// agent ([`DEMO_TOKEN`]). `extra` are more flags.
    pub async fn start(bin: &str, extra: &[&str]) -> Result<Relay> {
        Relay::launch(bin, extra, &[], false, None).await
    }

    /// Like [`Relay::start`], run under `wrapper` (e.g. `["fiu-run", "-x"]`)
    /// with its log written to `<data dir>/relay.log`.
    pub async fn start_wrapped(bin: &str, wrapper: &[&str], extra: &[&str]) -> Result<Relay> {
        Relay::launch(bin, extra, wrapper, true, None).await
    }

    /// Like [`Relay::start`], logging with `filter` (a `KEFU_LOG` value,
    /// e.g. `"warn,relay::session=debug"`) to `<data dir>/relay.log`, for
    /// tests that check what the relay did inside ([`Relay::log_text`]).
    pub async fn start_logged(bin: &str, filter: &str, extra: &[&str]) -> Result<Relay> {
        Relay::launch(bin, extra, &[], true, Some(filter)).await
    }

    /// Starts a relay on an existing data dir `dir` (a restored backup, an
    /// imported site); the dir is the caller's and stays after the relay.
    pub async fn start_on(bin: &str, dir: &Path, extra: &[&str]) -> Result<Relay> {
        let mut r = Relay {
            child: None,
            addr: "127.0.0.1:0".into(),
            metrics_addr: "127.0.0.1:0".into(),
            log: None,
            dir: dir.to_path_buf(),
            _tmp: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            bin: PathBuf::from(bin),
            wrapper: Vec::new(),
            log_filter: None,
        };
        r.spawn().await?;
        Ok(r)
    }

    async fn launch(
        bin: &str,
        extra: &[&str],
        wrapper: &[&str],
        logged: bool,
        log_filter: Option<&str>,
    ) -> Result<Relay> {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().to_path_buf();
        let mut r = Relay {
            child: None,
            addr: "127.0.0.1:0".into(),
            metrics_addr: "127.0.0.1:0".into(),
            log: logged.then(|| dir.join("relay.log")),
            dir,
            _tmp: Some(tmp),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            bin: PathBuf::from(bin),
            wrapper: wrapper.iter().map(|s| s.to_string()).collect(),
            log_filter: log_filter.map(str::to_string),
        };
        r.spawn().await?;
        Ok(r)
    }

    /// The relay process id (a wrapper like fiu-run execs the relay, so
    /// this is the relay itself).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// What the relay logged so far (when started with a log file).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut cmd = match self.wrapper.split_first() {
            Some((prog, args)) => {
                let mut c = Command::new(prog);
                c.args(args).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let stderr = match &self.log {
            Some(p) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => Stdio::inherit(),
        };
        cmd.arg("--data-dir")
            .arg(&self.dir)
            .arg("--listen")
            .arg(&self.addr)
            .arg("--metrics-listen")
            .arg(&self.metrics_addr)
            .arg("--demo-token")
            .arg(DEMO_TOKEN)
            .args(&self.extra)
            .env(
                "KEFU_LOG",
                self.log_filter.clone().unwrap_or_else(|| {
                    std::env::var("KEFU_LOG").unwrap_or_else(|_| "warn,warp::server=off".into())
                }),
            )
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("spawn relay")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics = None;
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await? {
                // Printed before "listening on".
                if let Some(rest) = line.strip_prefix("kefu: metrics on http://") {
                    metrics = Some(rest.trim().to_string());
                }
                if let Some(rest) = line.strip_prefix("kefu: listening on http://") {
                    return Ok::<_, anyhow::Error>(rest.trim().to_string());
                }
            }
            bail!("relay exited before listening")
        })
        .await
        .context("relay did not start")??;
        if let Some(m) = metrics {
            self.metrics_addr = m;
        }
        // Keep draining stdout so the relay never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.addr = addr;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL: no shutdown code runs, like a crash or power cut of the process.
    pub async fn kill9(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.start_kill()?;
            c.wait().await?;
        }
        Ok(())
    }

    /// Starts again on the same data dir and port.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill9().await?;
        self.spawn().await
    }

    /// Waits up to `wait` for the relay to exit by itself.
    pub async fn wait_exit(&mut self, wait: Duration) -> Result<Option<std::process::ExitStatus>> {
        let Some(c) = self.child.as_mut() else {
            return Ok(None);
        };
        match tokio::time::timeout(wait, c.wait()).await {
            Ok(status) => {
                self.child = None;
                Ok(Some(status?))
            }
            Err(_) => Ok(None),
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub async fn terminate(&mut self) -> Result<std::process::ExitStatus> {
        let c = self.child.as_mut().ok_or_else(|| anyhow!("not running"))?;
        let pid = c.id().ok_or_else(|| anyhow!("no pid"))?;
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()?;
        let status = tokio::time::timeout(Duration::from_secs(15), c.wait()).await??;
        self.child = None;
        Ok(status)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The relay's `/metrics` (on its metrics address).
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics_addr)
    }

    /// Runs an admin subcommand on this relay's data dir (relay stopped).
    pub fn admin(&self, args: &[&str]) -> Result<String> {
        let out = std::process::Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "admin {:?} failed: {}",
                args,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    }

    /// Runs an admin subcommand on this relay's data dir, whether or not it
    /// succeeds: (success, stdout, stderr).
    pub fn admin_status(&self, args: &[&str]) -> Result<(bool, String, String)> {
        cli(&self.bin, &self.dir, args)
    }

    /// Adds site `site` with one agent of it (a password login) through
    /// the admin commands: the relay is stopped for them and started again.
    pub async fn add_site_with_agent(
        &mut self,
        site: &str,
        agent: &str,
        email: &str,
        password: &str,
        owner: bool,
    ) -> Result<()> {
        self.terminate().await?;
        let name = format!("Site {site}");
        self.admin(&["site-add", "--id", site, "--name", &name])?;
        let mut args = vec![
            "agent-add",
            "--name",
            agent,
            "--site",
            site,
            "--email",
            email,
            "--password",
            password,
        ];
        if owner {
            args.push("--owner");
        }
        self.admin(&args)?;
        self.restart().await
    }

    /// A session token from `POST /v1/api/login`.
    pub async fn login(&self, email: &str, password: &str) -> Result<String> {
        let r = reqwest::Client::new()
            .post(self.http("/v1/api/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        match v["token"].as_str() {
            Some(t) if status == 200 => Ok(t.to_string()),
            _ => bail!("login {email}: {status} {v}"),
        }
    }
}

/// Runs the relay binary `bin` with `--data-dir dir` and `args`:
/// (success, stdout, stderr).
pub fn cli(bin: &Path, dir: &Path, args: &[&str]) -> Result<(bool, String, String)> {
    let out = std::process::Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// One agents'-API call with `token`: (status, JSON body or null).
pub async fn api(
    relay: &Relay,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let m = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut req = reqwest::Client::new()
        .request(m, relay.http(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// A WebSocket client.
pub struct Ws {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while looking for another one.
    pub seen: Vec<Value>,
    /// Relay pings answered so far.
    pub pings: u64,
}

impl Ws {
    pub async fn connect(relay: &Relay) -> Result<Ws> {
        let (ws, _) = tokio_tungstenite::connect_async(relay.ws_url()).await?;
        Ok(Ws {
            ws,
            seen: Vec::new(),
            pings: 0,
        })
    }

    pub async fn send(&mut self, v: Value) -> Result<()> {
        self.send_text(v.to_string()).await
    }

    pub async fn send_text(&mut self, s: String) -> Result<()> {
        self.ws.send(Message::Text(s.into())).await?;
        Ok(())
    }

    /// The next frame (answering relay pings), or an error after `WAIT`.
    pub async fn recv(&mut self) -> Result<Value> {
        self.recv_within(WAIT).await
    }

    pub async fn recv_within(&mut self, wait: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| anyhow!("no frame within {wait:?}"))?;
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str())?;
                    if v["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await?;
                        self.pings += 1;
                        continue;
                    }
                    return Ok(v);
                }
                Some(Ok(Message::Close(f))) => bail!("closed by relay: {f:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("websocket error: {e}"),
                None => bail!("websocket ended"),
            }
        }
    }

    /// Reads until a frame matches; the others are kept in `seen`.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self
                .recv_within(left)
                .await
                .with_context(|| format!("seen: {:?}", self.seen))?;
            if pred(&v) {
                return Ok(v);
            }
            self.seen.push(v);
        }
    }

    /// Reads until `type == ty`.
    pub async fn until_type(&mut self, ty: &str) -> Result<Value> {
        self.until(|v| v["type"] == ty).await
    }

    /// Says hello and returns the welcome (fails on an error frame).
    pub async fn hello(&mut self, hello: Value) -> Result<Value> {
        self.send(hello).await?;
        let v = self
            .until(|v| v["type"] == "welcome" || v["type"] == "error")
            .await?;
        if v["type"] == "error" {
            bail!("hello refused: {v}");
        }
        Ok(v)
    }

    pub async fn close(mut self) -> Result<()> {
        self.ws.close(None).await?;
        Ok(())
    }
}

/// A long-poll client.
pub struct Lp {
    http: reqwest::Client,
    base: String,
    pub sid: Option<String>,
    pub ack: u64,
}

impl Lp {
    pub fn new(relay: &Relay) -> Lp {
        Lp {
            http: reqwest::Client::new(),
            base: relay.http(""),
            sid: None,
            ack: 0,
        }
    }

    /// A long-poll client whose every request carries `headers` (a reverse
    /// proxy's `X-Forwarded-For`, say).
    pub fn with_headers(relay: &Relay, headers: &[(&str, &str)]) -> Result<Lp> {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes())?,
                reqwest::header::HeaderValue::from_str(v)?,
            );
        }
        Ok(Lp {
            http: reqwest::Client::builder().default_headers(map).build()?,
            ..Lp::new(relay)
        })
    }

    /// POST /v1/send with these frames; returns the reply frames.
    pub async fn send(&mut self, frames: Vec<Value>) -> Result<Vec<Value>> {
        let url = match &self.sid {
            Some(s) => format!("{}/v1/send?sid={s}", self.base),
            None => format!("{}/v1/send", self.base),
        };
        let resp = self
            .http
            .post(url)
            .header("content-type", "text/plain")
            .body(Value::Array(frames).to_string())
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("send: {status} {body}");
        }
        if let Some(sid) = body["sid"].as_str() {
            self.sid = Some(sid.to_string());
            self.ack = 0;
        }
        Ok(body["frames"].as_array().cloned().unwrap_or_default())
    }

    /// GET /v1/poll once; returns the frames and acks them next time.
    pub async fn poll(&mut self) -> Result<Vec<Value>> {
        let sid = self.sid.clone().ok_or_else(|| anyhow!("no session"))?;
        let url = format!("{}/v1/poll?sid={sid}&ack={}", self.base, self.ack);
        let resp =
            tokio::time::timeout(Duration::from_secs(40), self.http.get(url).send()).await??;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("poll: {status} {body}");
        }
        if let Some(n) = body["next"].as_u64() {
            self.ack = n;
        }
        Ok(body["frames"].as_array().cloned().unwrap_or_default())
    }

    /// Polls until a frame matches; returns every frame polled on the way.
    pub async fn poll_until(&mut self, pred: impl Fn(&Value) -> bool) -> Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + WAIT * 3;
        let mut all = Vec::new();
        while tokio::time::Instant::now() < deadline {
            let got = self.poll().await?;
            let hit = got.iter().any(&pred);
            all.extend(got);
            if hit {
                return Ok(all);
            }
        }
        bail!("no matching frame; polled: {all:?}")
    }
}

/// Client frame builders.
pub mod frames {
    use serde_json::{json, Value};

    pub fn visitor_hello(site: &str, visitor: &str, token: Option<&str>) -> Value {
        let mut v =
            json!({"type": "hello", "v": 1, "role": "visitor", "site": site, "visitor": visitor});
        if let Some(t) = token {
            v["token"] = json!(t);
        }
        v
    }

    pub fn agent_hello(token: &str) -> Value {
        json!({"type": "hello", "v": 1, "role": "agent", "token": token})
    }

    pub fn send(cid: &str, text: &str) -> Value {
        json!({"type": "send", "cid": cid, "text": text})
    }

    pub fn send_to(conv: &str, cid: &str, text: &str) -> Value {
        json!({"type": "send", "cid": cid, "conv": conv, "text": text})
    }

    pub fn subscribe(site: &str) -> Value {
        json!({"type": "subscribe", "site": site})
    }

    pub fn page(url: &str, title: &str) -> Value {
        json!({"type": "page", "url": url, "title": title})
    }
}

/// The entries of a `.tar.gz` (an export): (name, bytes), in order.
pub fn untar_gz(gz: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        out.push((name, data));
    }
    Ok(out)
}

/// Every file under `dir` whose bytes contain `needle` (the data dir after
/// an erase: sled's files, blobs, everything), read as they are and
/// through every zstd frame in them: sled compresses its log, so a text
/// on disk may only be readable decompressed.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Result<Vec<PathBuf>> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if contains(&bytes, needle) || zstd_frames_contain(&bytes, needle) {
                    hits.push(p);
                }
            }
        }
    }
    Ok(hits)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether any zstd frame in `bytes` (found by its magic number,
/// RFC 8878 §3.1.1) decompresses to something holding `needle`.
fn zstd_frames_contain(bytes: &[u8], needle: &[u8]) -> bool {
    use std::io::Read;
    const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
    // A frame bigger than this is not one of sled's (its segments are
    // 512 KiB); it bounds what a false magic match could make us read.
    const MAX_FRAME: u64 = 16 << 20;
    bytes.windows(4).enumerate().any(|(i, w)| {
        if w != MAGIC {
            return false;
        }
        let Ok(d) = zstd::stream::read::Decoder::with_buffer(&bytes[i..]) else {
            return false;
        };
        let mut out = Vec::new();
        // A torn or false frame ends in an error: what came out before it
        // is still searched.
        let _ = d.single_frame().take(MAX_FRAME).read_to_end(&mut out);
        contains(&out, needle)
    })
}

/// The text of a message event (None for other frames).
pub fn message_text(v: &Value) -> Option<&str> {
    (v["type"] == "event" && v["kind"] == "message")
        .then(|| v["text"].as_str())
        .flatten()
}

/// The clock of a relay started with `--clock-file` ([`TestClock::flag`]):
/// the time it reads on every look, moved by the test, so a history can
/// be seeded with known timings across days.
pub struct TestClock {
    dir: tempfile::TempDir,
}

impl TestClock {
    /// A clock showing `ms` (since the epoch).
    pub fn new(ms: u64) -> Result<TestClock> {
        let c = TestClock {
            dir: tempfile::tempdir()?,
        };
        c.set(ms)?;
        Ok(c)
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("clock")
    }

    /// The relay flags that make it read this clock.
    pub fn flags(&self) -> [String; 2] {
        ["--clock-file".into(), self.path().display().to_string()]
    }

    /// Moves the clock to `ms`: written aside and renamed, so the relay
    /// never reads half a number (which would send it to the system clock).
    pub fn set(&self, ms: u64) -> Result<()> {
        let tmp = self.dir.path().join("clock.new");
        std::fs::write(&tmp, ms.to_string())?;
        std::fs::rename(&tmp, self.path())?;
        Ok(())
    }
}
