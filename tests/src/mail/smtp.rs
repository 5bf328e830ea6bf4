//! A real SMTP receiver for the mail tests: Python's `aiosmtpd` (Debian's
//! `python3-aiosmtpd`) on a loopback port, started and killed by the test.
//! Every message it accepts goes into a Maildir in a temp dir, and beside
//! it a JSON summary Python's own `email` parser makes (envelope
//! recipients, header names and decoded values, the text and HTML parts),
//! so a test reads what a mail client would show.
//!
//! Recipients whose address starts with `reject` are refused with a
//! permanent `550`; everything else is accepted. In hold mode
//! ([`Smtp::hold`]) each message is stored, and then the server's final
//! `250` waits until the hold is released: a message delivered whose
//! sender has not heard so.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SCRIPT: &str = r#"
import asyncio, json, mailbox, os, sys
from email import policy
from email.parser import BytesParser
from aiosmtpd.smtp import SMTP

root = sys.argv[1]
port = int(sys.argv[2])
md = mailbox.Maildir(os.path.join(root, "Maildir"), create=True)
parsed = os.path.join(root, "parsed")
os.makedirs(parsed, exist_ok=True)

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            with open(os.path.join(root, "refused.log"), "a") as f:
                f.write(address + "\n")
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        key = md.add(raw)
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        def part(kind):
            p = msg.get_body(preferencelist=(kind,))
            return p.get_content() if p is not None else None
        summary = {
            "rcpt": list(envelope.rcpt_tos),
            "mail_from": envelope.mail_from,
            "headers": [[k, str(v)] for k, v in msg.items()],
            "text": part("plain"),
            "html": part("html"),
            "raw": raw.decode("utf-8", "replace"),
        }
        tmp = os.path.join(parsed, key + ".tmp")
        with open(tmp, "w") as f:
            json.dump(summary, f)
        os.rename(tmp, os.path.join(parsed, key + ".json"))
        # Hold mode: the message is stored (delivered) but the final reply
        # waits while the hold file exists, so a sender killed meanwhile
        # never hears that it was accepted.
        while os.path.exists(os.path.join(root, "hold")):
            await asyncio.sleep(0.05)
        return "250 OK stored " + key

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), hostname="smtp.test"), "127.0.0.1", port)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// One message the receiver accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Envelope recipients (RCPT TO).
    pub rcpt: Vec<String>,
    /// Header (name, decoded value), in order.
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: Option<String>,
    /// The message as received.
    pub raw: String,
}

impl Mail {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many headers of that name the message has.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .count()
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID")
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Whether it went to `addr` (envelope).
    pub fn to(&self, addr: &str) -> bool {
        self.rcpt.iter().any(|r| r.eq_ignore_ascii_case(addr))
    }

    /// The first `http(s)://` URL in the text that contains `needle`.
    pub fn link(&self, needle: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(needle))
            .map(str::to_string)
    }

    fn read(path: &Path) -> Result<Mail> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let s = |k: &str| v[k].as_str().map(str::to_string);
        Ok(Mail {
            rcpt: v["rcpt"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            headers: v["headers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|h| {
                            Some((h[0].as_str()?.to_string(), h[1].as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            text: s("text").unwrap_or_default(),
            html: s("html"),
            raw: s("raw").unwrap_or_default(),
        })
    }
}

/// The receiver process and its mailbox.
pub struct Smtp {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Debian's interpreter (which has python3-aiosmtpd), else the first on PATH.
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl Smtp {
    /// Starts a receiver on a free loopback port with an empty mailbox.
    pub async fn start() -> Result<Smtp> {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("smtpd.py"), SCRIPT)?;
        let mut s = Smtp {
            child: None,
            port: 0,
            dir,
            _tmp: tmp,
        };
        s.spawn().await?;
        Ok(s)
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut child = Command::new(python())
            .arg(self.dir.join("smtpd.py"))
            .arg(&self.dir)
            .arg(self.port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("spawn the SMTP receiver (python3-aiosmtpd)")?;
        let out = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(out).lines();
        let port = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(l) = lines.next_line().await? {
                if let Some(p) = l.strip_prefix("listening ") {
                    return Ok::<u16, anyhow::Error>(p.trim().parse()?);
                }
            }
            bail!("the SMTP receiver exited before listening (is python3-aiosmtpd installed?)")
        })
        .await
        .context("SMTP receiver did not start")??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.port = port;
        self.child = Some(child);
        Ok(())
    }

    /// The `--smtp-url` of this receiver.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Kills the receiver (its port stops answering; the mailbox stays).
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.start_kill()?;
            c.wait().await?;
        }
        Ok(())
    }

    /// Starts it again on the same port, with the same mailbox.
    pub async fn resume(&mut self) -> Result<()> {
        self.stop().await?;
        self.spawn().await
    }

    /// Hold mode on or off: while on, every message is stored as it
    /// arrives but its `250` is held back until it is off.
    pub fn hold(&self, on: bool) -> Result<()> {
        let f = self.dir.join("hold");
        if on {
            std::fs::write(f, b"1")?;
        } else if f.exists() {
            std::fs::remove_file(f)?;
        }
        Ok(())
    }

    /// Every message received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> =
            std::fs::read_dir(self.dir.join("parsed"))
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "json"))
                        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
                        .collect()
                })
                .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|(_, p)| Mail::read(p).ok())
            .collect()
    }

    /// The messages to `addr`.
    pub fn mails_to(&self, addr: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|m| m.to(addr)).collect()
    }

    /// Waits up to `wait` until at least `n` messages went to `addr`.
    pub async fn wait_for(&self, addr: &str, n: usize, wait: Duration) -> Result<Vec<Mail>> {
        let end = tokio::time::Instant::now() + wait;
        loop {
            let got = self.mails_to(addr);
            if got.len() >= n {
                return Ok(got);
            }
            if tokio::time::Instant::now() > end {
                bail!(
                    "{} mails to {addr} after {wait:?}, wanted {n}; all: {:?}",
                    got.len(),
                    self.mails()
                        .iter()
                        .map(|m| m.rcpt.clone())
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every recipient refused so far (with `550`), one per attempt.
    pub fn refused(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("refused.log"))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Messages in the Maildir itself (new/ and cur/).
    pub fn maildir_count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|d| {
                std::fs::read_dir(self.dir.join("Maildir").join(d))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum()
    }
}
