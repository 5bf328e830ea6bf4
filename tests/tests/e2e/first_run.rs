//! The first run as README describes it: the relay on an empty data dir
//! with no demo flags prints a banner, and everything in it works as
//! printed — the agent token for the API and the agent hello, the login,
//! the site secret for `user_hash`, and the snippet's address. (The agent
//! token used to be a random one that was never stored.)

use crate::BIN;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Stdio;
use tests::frames::*;
use tests::WAIT;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

/// Flags and variables that would choose first-run credentials: none of
/// them may reach the relay, so it picks its own as on a new machine.
const DEMO_VARS: [&str; 4] = [
    "KEFU_DEMO_TOKEN",
    "KEFU_DEMO_EMAIL",
    "KEFU_DEMO_PASSWORD",
    "KEFU_NO_DEMO",
];

/// A relay started as `make run` starts it, and what it printed.
struct FirstRun {
    _child: Child,
    _dir: tempfile::TempDir,
    /// The address from `kefu: listening on http://…`.
    addr: String,
    /// The banner's `name : value` lines.
    banner: HashMap<String, String>,
}

impl FirstRun {
    async fn start() -> Result<FirstRun> {
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg("127.0.0.1:0");
        for var in DEMO_VARS {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .env("KEFU_LOG", "warn,warp::server=off")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawn relay")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = HashMap::new();
        let addr = tokio::time::timeout(WAIT, async {
            // The entry a line without a name continues (the snippet spans
            // two lines).
            let mut last: Option<String> = None;
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("kefu: listening on http://") {
                    return Ok::<_, anyhow::Error>(rest.trim().to_string());
                }
                let entry = line.strip_prefix("  ").and_then(|l| l.split_once(" : "));
                match (entry, &last) {
                    (Some((name, value)), _) => {
                        let name = name.trim().to_string();
                        banner.insert(name.clone(), value.trim().to_string());
                        last = Some(name);
                    }
                    (None, _) if line.starts_with("kefu:") => last = None,
                    (None, Some(name)) => {
                        if let Some(value) = banner.get_mut(name) {
                            value.push('\n');
                            value.push_str(line.trim());
                        }
                    }
                    (None, None) => {}
                }
            }
            bail!("relay exited before listening")
        })
        .await
        .context("relay did not start")??;
        // Keep draining stdout so the relay never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(FirstRun {
            _child: child,
            _dir: dir,
            addr,
            banner,
        })
    }

    fn get(&self, name: &str) -> Result<&str> {
        self.banner
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("no {name:?} in the banner: {:?}", self.banner))
    }

    fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// One hello on a new WebSocket; the relay's answer to it.
    async fn hello(&self, hello: Value) -> Result<Value> {
        let url = format!("ws://{}/v1/ws", self.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        ws.send(Message::Text(hello.to_string().into())).await?;
        loop {
            let msg = tokio::time::timeout(WAIT, ws.next())
                .await
                .map_err(|_| anyhow!("no answer to hello within {WAIT:?}"))?;
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str())?;
                    if v["type"] == "welcome" || v["type"] == "error" {
                        return Ok(v);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => bail!("websocket error: {e}"),
                None => bail!("websocket ended before an answer to hello"),
            }
        }
    }
}

/// The printed agent token is the demo owner's, for the API
/// (`Authorization: Bearer`) and for the agent hello.
#[tokio::test]
async fn the_printed_agent_token_works_for_the_api_and_the_agent_hello() -> Result<()> {
    let fr = FirstRun::start().await?;
    let token = fr.get("agent token")?;
    let http = reqwest::Client::new();
    let r = http
        .get(fr.http("/v1/api/me"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = r.status();
    let me: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "GET /v1/api/me with the printed token: {me}");
    assert_eq!(
        (&me["name"], &me["role"], &me["sites"]),
        (&json!("Demo Agent"), &json!("owner"), &json!(["demo"]))
    );
    let welcome = fr.hello(agent_hello(token)).await?;
    assert_eq!(welcome["type"], "welcome", "agent hello: {welcome}");
    assert_eq!(
        (&welcome["role"], &welcome["agent"], &welcome["sites"]),
        (&json!("agent"), &me["id"], &json!(["demo"]))
    );
    Ok(())
}

/// The printed login opens a console session for the same owner, and the
/// printed site secret signs `user_hash` as README tells site owners to.
#[tokio::test]
async fn the_printed_login_and_site_secret_work() -> Result<()> {
    let fr = FirstRun::start().await?;
    let login = fr.get("login")?;
    let (email, password) = login
        .split_once(" / ")
        .ok_or_else(|| anyhow!("login line is not `e-mail / password`: {login}"))?;
    assert_eq!(email, "owner@example.com");
    let r = reqwest::Client::new()
        .post(fr.http("/v1/api/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(
        status, 200,
        "POST /v1/api/login with the printed login: {body}"
    );
    assert_eq!(body["agent"]["name"], "Demo Agent");
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));

    let secret = fr.get("site secret")?;
    let mut hello = visitor_hello("demo", "first-run-visitor", None);
    hello["user"] = json!({
        "id": "user-1",
        "user_hash": relay::auth::user_hash(secret, "user-1"),
    });
    let welcome = fr.hello(hello).await?;
    assert_eq!(
        welcome["type"], "welcome",
        "signed visitor hello: {welcome}"
    );
    Ok(())
}

/// The printed snippet, console and demo page point at the address the
/// relay listens on, and the snippet's loader is served there.
#[tokio::test]
async fn the_printed_addresses_are_where_the_relay_listens() -> Result<()> {
    let fr = FirstRun::start().await?;
    let base = fr.http("");
    assert_eq!(fr.get("console")?, format!("{base}/console/"));
    assert_eq!(fr.get("demo page")?, format!("{base}/"));
    let snippet = fr.get("snippet")?;
    let loader = format!("{base}/widget/loader.js");
    assert!(
        snippet.contains(&format!(r#"src="{loader}""#)),
        "snippet does not load {loader}: {snippet}"
    );
    assert!(snippet.contains(r#"data-site="demo""#), "{snippet}");
    let r = reqwest::get(&loader).await?;
    assert_eq!(r.status(), 200, "GET {loader}");
    Ok(())
}
