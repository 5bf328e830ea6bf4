//! The mail servers of the end-to-end tests, for the browser tests: an
//! SMTP receiver (aiosmtpd, a Maildir) and an IMAP server (Dovecot) on
//! loopback, the same ones `tests/src/mail` starts for the Rust tests.
//!
//! Prints one JSON line `{"smtp_url", "imap_url"}` once both listen, then
//! reads commands, one per line on stdin, each answered by one JSON line:
//! - `mails` → every message the SMTP receiver accepted
//!   (`[{rcpt, headers, text, raw}]`);
//! - `deliver <base64>` → the message is delivered into the IMAP mailbox
//!   (as a delivery agent does) → `{"ok":true}`;
//! - `seen` → `{"seen": n, "all": m}`: mails the relay has flagged \Seen.
//!
//! Both servers stop when stdin closes.

use anyhow::{anyhow, Result};
use base64::Engine;
use serde_json::json;
use tests::mail::{imap::Dovecot, smtp::Smtp};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<()> {
    let smtp = Smtp::start().await?;
    let mut imap = Dovecot::start().await?;
    println!(
        "{}",
        json!({"smtp_url": smtp.url(), "imap_url": imap.url("")})
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let answer = match cmd {
            "mails" => json!(smtp
                .mails()
                .iter()
                .map(|m| json!({
                    "rcpt": m.rcpt,
                    "headers": m.headers,
                    "text": m.text,
                    "raw": m.raw,
                }))
                .collect::<Vec<_>>()),
            "deliver" => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(arg.trim())
                    .map_err(|e| anyhow!("deliver: not base64: {e}"))?;
                imap.deliver(&raw)?;
                json!({"ok": true})
            }
            "seen" => {
                let mails = imap.mails()?;
                let seen = mails.iter().filter(|(_, f)| f.contains('S')).count();
                json!({"seen": seen, "all": mails.len()})
            }
            other => json!({"error": format!("unknown command {other:?}")}),
        };
        println!("{answer}");
    }
    Ok(())
}
