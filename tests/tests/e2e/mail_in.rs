//! Replies by email against a real relay and a real IMAP server (Dovecot
//! on loopback, tests/src/mail/imap.rs): mail is delivered into the
//! mailbox as a delivery agent does, the relay fetches it over IMAP
//! (IDLE, or polling), and what it stores is read back over the agents'
//! WebSocket and API. Reply addresses come from the relay itself
//! (`kefu-relay mail-reply-address`, or the Reply-To of the mail it sent
//! to a real SMTP receiver), never from a token made here.

use crate::BIN;
use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::Duration;
use tests::frames::*;
use tests::mail::imap::Dovecot;
use tests::mail::smtp::Smtp;
use tests::{api, message_text, Relay, Ws, DEMO_TOKEN};

/// How long the relay may take to fetch and process delivered mail.
const MAIL_WAIT: Duration = Duration::from_secs(20);

/// The relay's sender address the reply addresses are made from.
const FROM: &str = "kefu@kefu.test";

/// The demo owner's registered email (the test relay's first run).
const AGENT_EMAIL: &str = "owner@example.com";

/// A relay fetching from a fresh Dovecot mailbox, with one conversation
/// (a visitor's first message) and its reply addresses.
struct Setup {
    relay: Relay,
    imap: Dovecot,
    conv: String,
    visitor_addr: String,
    agent_addr: String,
}

impl Setup {
    /// The relay's and the server's logs, for a failure's message.
    fn diagnose(&self) -> String {
        format!(
            "relay log:\n{}\ndovecot log:\n{}\nmailbox: {:?}",
            self.relay.log_text(),
            self.imap.log(),
            self.imap.mails()
        )
    }
}

async fn setup(query: &str) -> Result<Setup> {
    let imap = Dovecot::start().await?;
    let url = imap.url(query);
    setup_with(imap, url, &[]).await
}

/// [`setup`] with a server and `--imap-url` of the test's choosing.
async fn setup_with(imap: Dovecot, url: String, extra: &[&str]) -> Result<Setup> {
    let mut flags = vec!["--imap-url", url.as_str()];
    flags.extend_from_slice(extra);
    let mut relay = Relay::start_logged(BIN, "warn,relay::mail=info", &flags).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "mail-visitor", None)).await?;
    v.send(send("first", "Where is my order?")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .context("ack has conv")?
        .to_string();
    v.close().await?;
    let (status, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    anyhow::ensure!(status == 200, "me: {status} {me}");
    let agent = me["id"].as_str().context("me has id")?.to_string();
    // The admin command works on a stopped relay's data dir.
    relay.terminate().await?;
    let visitor_addr = relay.admin(&[
        "mail-reply-address",
        "--conv",
        &conv,
        "--visitor",
        "--from",
        FROM,
    ])?;
    let agent_addr = relay.admin(&[
        "mail-reply-address",
        "--conv",
        &conv,
        "--agent",
        &agent,
        "--from",
        FROM,
    ])?;
    relay.restart().await?;
    Ok(Setup {
        relay,
        imap,
        conv,
        visitor_addr,
        agent_addr,
    })
}

/// A mail as a client sends it: headers (`extra` before the body's),
/// then a text/plain body.
fn mail(from: &str, to: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "Return-Path: <{from}>\r\n\
Delivered-To: {FROM}\r\n\
From: Someone <{from}>\r\n\
To: {to}\r\n\
Subject: Re: your conversation\r\n\
Message-ID: <{id}>\r\n\
Date: Thu, 03 Dec 2026 09:30:00 +0000\r\n\
{extra}\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
{body}"
    )
    .into_bytes()
}

/// The conversation's message events, read through the agents' API.
async fn messages(relay: &Relay, conv: &str) -> Result<Vec<Value>> {
    let path = format!("/v1/api/conversations/{conv}/events?limit=100");
    let (status, v) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    anyhow::ensure!(status == 200, "events: {status} {v}");
    Ok(v["events"]
        .as_array()
        .context("events")?
        .iter()
        .filter(|e| e["kind"] == "message")
        .cloned()
        .collect())
}

async fn agent(relay: &Relay) -> Result<Ws> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok(a)
}

/// A visitor's reply with quoted history becomes one visitor message in
/// the conversation, without the quote and signature, live for a
/// subscribed agent; the closed conversation is reopened; the same mail
/// delivered a second time is stored once; both copies end \Seen.
#[tokio::test]
async fn a_visitors_reply_by_mail_becomes_one_message() -> Result<()> {
    let mut s = setup("").await?;
    let (status, v) = api(
        &s.relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{}/close", s.conv),
        Some(json!({})),
    )
    .await?;
    anyhow::ensure!(status == 200, "close: {status} {v}");
    let mut a = agent(&s.relay).await?;
    let body = "It arrived today, thanks!\r\n\r\n-- \r\nAnn\r\n\r\n\
On Thu, Dec 3, 2026 at 9:14 AM Kefu <kefu@kefu.test> wrote:\r\n\
> We shipped your order.\r\n> Anything else?\r\n";
    let reply = mail(
        "ann@example.com",
        &s.visitor_addr,
        "reply-1@mail.example.com",
        "In-Reply-To: <kefu.x.y@kefu.test>\r\n",
        body,
    );
    s.imap.deliver(&reply)?;
    let ev = a
        .until(|f| message_text(f) == Some("It arrived today, thanks!"))
        .await
        .with_context(|| s.diagnose())?;
    assert_eq!(ev["from"]["side"], "visitor");
    assert_eq!(ev["conv"], s.conv.as_str());
    // The same mail again (a second copy in the mailbox).
    s.imap.deliver(&reply)?;
    s.imap.until_all_seen(2, MAIL_WAIT).await?;
    let msgs = messages(&s.relay, &s.conv).await?;
    let texts: Vec<_> = msgs.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(
        texts,
        [
            json!("Where is my order?"),
            json!("It arrived today, thanks!")
        ],
        "stored once, quote and signature stripped"
    );
    let (_, list) = api(
        &s.relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=all",
        None,
    )
    .await?;
    let open = list["convs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == s.conv.as_str())
        .map(|c| c["open"].clone());
    assert_eq!(open, Some(json!(true)), "reopened: {list}");
    Ok(())
}

/// Mail that must not become a message stores nothing and is still
/// marked processed: a forged token, an out-of-office, an oversize mail,
/// malformed MIME, and an agent's token used from another address. Each
/// is logged with its reason. Then a valid reply still gets through.
#[tokio::test]
async fn refused_and_ignored_mail_stores_nothing() -> Result<()> {
    let mut s = setup("").await?;
    // Forged: the visitor's token with one character changed.
    let (local, domain) = s.visitor_addr.rsplit_once('@').context("@")?;
    let mut forged: Vec<char> = local.chars().collect();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == '0' { '1' } else { '0' };
    let forged = format!("{}@{domain}", forged.into_iter().collect::<String>());
    s.imap.deliver(&mail(
        "mallory@example.com",
        &forged,
        "forged@example.com",
        "",
        "I am the visitor, honest",
    ))?;
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        "ooo@example.com",
        "Auto-Submitted: auto-replied\r\n",
        "I am out of the office until Monday.",
    ))?;
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        "ooo2@example.com",
        "Precedence: auto_reply\r\nX-Autoreply: yes\r\n",
        "Out of office.",
    ))?;
    let big = "a".repeat(protocol::limits::MAX_INBOUND_MAIL_BYTES + 1024);
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        "big@example.com",
        "",
        &big,
    ))?;
    let malformed = format!(
        "From: ann@example.com\r\nTo: {}\r\nMessage-ID: <bad@example.com>\r\n\
Content-Type: multipart/mixed\r\n\r\nno boundary anywhere\r\n",
        s.visitor_addr
    );
    s.imap.deliver(malformed.as_bytes())?;
    s.imap.deliver(&mail(
        "impostor@example.com",
        &s.agent_addr,
        "impostor@example.com",
        "",
        "Refund approved!",
    ))?;
    // A copy of the relay's own mail (its Message-ID) is no reply.
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        &format!("kefu.{}.job1@kefu.test", s.conv),
        "",
        "Your conversation has a new reply",
    ))?;
    s.imap.until_all_seen(7, MAIL_WAIT).await?;
    let msgs = messages(&s.relay, &s.conv).await?;
    assert_eq!(msgs.len(), 1, "only the visitor's first message: {msgs:?}");
    let log = s.relay.log_text();
    for (id, why) in [
        ("forged@example.com", "does not verify"),
        ("ooo@example.com", "ignored"),
        ("ooo2@example.com", "ignored"),
        ("bad@example.com", "malformed"),
        ("impostor@example.com", "not that agent's registered email"),
        ("job1@kefu.test", "the relay's own mail"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(id) && l.contains(why)),
            "{id}: {why} — log:\n{log}"
        );
    }
    assert!(log.contains("bytes; at most"), "oversize logged:\n{log}");
    // A valid reply after all that still arrives.
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        "ok@example.com",
        "",
        "Real reply",
    ))?;
    s.imap.until_all_seen(8, MAIL_WAIT).await?;
    let msgs = messages(&s.relay, &s.conv).await?;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[1]["text"], "Real reply");
    Ok(())
}

/// More replies a minute into one conversation than a person writes are
/// refused (a loop between two robots ends there).
#[tokio::test]
async fn a_flood_into_one_conversation_is_cut_off() -> Result<()> {
    let mut s = setup("").await?;
    let max = protocol::limits::MAX_INBOUND_MAILS_PER_CONV_PER_MINUTE as usize;
    for i in 0..max + 2 {
        s.imap.deliver(&mail(
            "ann@example.com",
            &s.visitor_addr,
            &format!("flood-{i}@example.com"),
            "",
            &format!("reply {i}"),
        ))?;
    }
    s.imap.until_all_seen(max + 2, MAIL_WAIT).await?;
    let msgs = messages(&s.relay, &s.conv).await?;
    assert_eq!(msgs.len(), 1 + max, "{msgs:?}");
    assert!(s.relay.log_text().contains("mails a minute"));
    Ok(())
}

/// An agent's reply from their registered address (in another case)
/// becomes an agent message from that agent.
#[tokio::test]
async fn an_agents_reply_from_the_registered_address_is_an_agent_message() -> Result<()> {
    let mut s = setup("").await?;
    let mut a = agent(&s.relay).await?;
    s.imap.deliver(&mail(
        &AGENT_EMAIL.to_uppercase(),
        &s.agent_addr,
        "agent-reply@example.com",
        "",
        "Your parcel leaves tomorrow.\n\nOn Thu, Dec 3, 2026, Ann wrote:\n> where is it",
    ))?;
    let ev = a
        .until(|f| message_text(f) == Some("Your parcel leaves tomorrow."))
        .await
        .with_context(|| s.diagnose())?;
    assert_eq!(ev["from"]["side"], "agent");
    let (_, me) = api(&s.relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    assert_eq!(ev["from"]["id"], me["id"]);
    Ok(())
}

/// A tiny PNG.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let img = image::RgbImage::from_pixel(3, 3, image::Rgb([10, 200, 30]));
    let _ = image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

/// Attachments become files: the first on the reply's message, the next
/// as a message of its own; a type the site does not take, and a file
/// over `--max-file-bytes`, are skipped and logged.
#[tokio::test]
async fn attachments_become_files_on_the_message() -> Result<()> {
    let imap = Dovecot::start().await?;
    let url = imap.url("");
    let mut s = setup_with(imap, url, &["--max-file-bytes", "2000"]).await?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let part = |name: &str, ctype: &str, bytes: &[u8]| {
        format!(
            "--BOUND\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
Content-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(bytes)
        )
    };
    let raw = format!(
        "From: Ann <ann@example.com>\r\nTo: {}\r\nSubject: photo\r\n\
Message-ID: <with-files@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\n\
--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the photo.\r\n\
{}{}{}{}--BOUND--\r\n",
        s.visitor_addr,
        part("parcel.png", "image/png", &png()),
        part("notes.txt", "text/plain", b"box was open\n"),
        part(
            "run.exe",
            "application/octet-stream",
            b"MZ\x90\x00\x03\x00\x00\x00"
        ),
        part("big.txt", "text/plain", &[b'x'; 3000]),
    );
    s.imap.deliver(raw.as_bytes())?;
    s.imap.until_all_seen(1, MAIL_WAIT).await?;
    let msgs = messages(&s.relay, &s.conv).await?;
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert_eq!(msgs[1]["text"], "Here is the photo.");
    assert_eq!(msgs[1]["file"]["name"], "parcel.png");
    assert_eq!(msgs[2]["file"]["name"], "notes.txt");
    let id = msgs[1]["file"]["id"].as_str().context("file id")?;
    let path = format!("/v1/files/{id}");
    let got = reqwest::Client::new()
        .get(s.relay.http(&path))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?;
    assert_eq!(got.status(), 200, "{path}");
    assert_eq!(got.bytes().await?.to_vec(), png());
    let log = s.relay.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("run.exe") && l.contains("not stored")),
        "the refused type is logged: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("big.txt") && l.contains("over the file size limit")),
        "the oversize file is logged: {log}"
    );
    Ok(())
}

/// Across a relay restart nothing is processed twice: the mailbox is read
/// on from the last UID (polling here, not IDLE), and the mails already
/// processed — stored, refused, or not kefu's and left unflagged — are
/// neither fetched again nor stored again.
#[tokio::test]
async fn nothing_is_processed_twice_across_a_restart() -> Result<()> {
    let mut s = setup("idle=no&poll_s=1").await?;
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        "before-restart@example.com",
        "",
        "One",
    ))?;
    s.imap.deliver(&mail(
        "mallory@example.com",
        "kefu+nottoken@kefu.test",
        "refused-before@example.com",
        "",
        "Two",
    ))?;
    // Not kefu's at all (no sub-address): processed, left unflagged.
    s.imap.deliver(&mail(
        "colleague@example.com",
        "kefu@kefu.test",
        "not-ours@example.com",
        "",
        "Lunch?",
    ))?;
    s.imap.until_seen(3, 2, MAIL_WAIT).await?;
    // Its turn came after the others: wait for its log line.
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    while !s.relay.log_text().contains("not-ours@example.com") {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not-ours not processed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.relay.terminate().await?;
    s.relay.restart().await?;
    s.imap.deliver(&mail(
        "ann@example.com",
        &s.visitor_addr,
        "after-restart@example.com",
        "",
        "Three",
    ))?;
    s.imap.until_seen(4, 3, MAIL_WAIT).await?;
    // Processed by now, and given a moment to show any repeat.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let msgs = messages(&s.relay, &s.conv).await?;
    let texts: Vec<_> = msgs.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(
        texts,
        [json!("Where is my order?"), json!("One"), json!("Three")]
    );
    let log = s.relay.log_text();
    for id in [
        "before-restart@example.com",
        "refused-before@example.com",
        "not-ours@example.com",
        "after-restart@example.com",
    ] {
        let n = log.lines().filter(|l| l.contains(id)).count();
        assert_eq!(n, 1, "{id} processed once:\n{log}");
    }
    assert!(
        !log.contains("already processed"),
        "nothing fetched again:\n{log}"
    );
    Ok(())
}

/// Over TLS: implicit TLS (`imaps://`) and STARTTLS required
/// (`imap://…?starttls=required`), each trusting the test's CA (`ca=`),
/// the relay logs in and fetches; without the CA the server's certificate
/// is refused, the relay keeps retrying, and nothing is fetched.
#[tokio::test]
async fn mail_is_fetched_over_tls_and_starttls() -> Result<()> {
    for (kind, trusted) in [("imaps", true), ("starttls", true), ("imaps", false)] {
        let imap = Dovecot::start_tls().await?;
        let url = match kind {
            "imaps" => imap.tls_url(),
            _ => format!(
                "{}&ca={}",
                imap.url("starttls=required"),
                imap.ca().display()
            ),
        };
        let url = if trusted {
            url
        } else {
            url.split('?').next().unwrap_or_default().to_string()
        };
        let mut s = setup_with(imap, url.clone(), &[]).await?;
        s.imap.deliver(&mail(
            "ann@example.com",
            &s.visitor_addr,
            "over-tls@example.com",
            "",
            "Sent over TLS",
        ))?;
        if !trusted {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let log = s.relay.log_text();
            assert!(
                log.contains("IMAP connection failed") && log.contains("certificate"),
                "{url}: {log}"
            );
            assert_eq!(messages(&s.relay, &s.conv).await?.len(), 1);
            assert!(s.imap.mails()?.iter().all(|(_, f)| !f.contains('S')));
            continue;
        }
        s.imap
            .until_all_seen(1, MAIL_WAIT)
            .await
            .with_context(|| format!("{url}: {}", s.diagnose()))?;
        let msgs = messages(&s.relay, &s.conv).await?;
        assert_eq!(msgs.len(), 2, "{url}: {msgs:?}");
        assert!(
            s.imap.log().contains("TLS"),
            "{url}: the login was secured: {}",
            s.imap.log()
        );
    }
    Ok(())
}

/// The whole way round, with a real SMTP receiver beside Dovecot: the
/// visitor left, an agent's reply goes unread, the relay mails it to them;
/// they answer that mail from their mail client (to its Reply-To, quoting
/// it, In-Reply-To its Message-ID), the answer is delivered into the
/// mailbox — and the console sees the visitor's message, once, without
/// the quoted part.
#[tokio::test]
async fn a_reply_to_the_relays_mail_comes_back_into_the_conversation() -> Result<()> {
    let smtp = Smtp::start().await?;
    let mut imap = Dovecot::start().await?;
    let relay = Relay::start_logged(
        BIN,
        "warn,relay::mail=info",
        &[
            "--smtp-url",
            &smtp.url(),
            "--mail-from",
            "Kefu Support <kefu@kefu.test>",
            // One minute of the continuity delay lasts 300 ms here.
            "--mail-minute-ms",
            "300",
            "--imap-url",
            &imap.url(""),
        ],
    )
    .await?;
    let ada = "ada@example.com";
    let mut v = Ws::connect(&relay).await?;
    let mut hello = visitor_hello("demo", "round-trip", None);
    hello["user"] = json!({"name": "Ada", "email": ada});
    v.hello(hello).await?;
    v.send(send("rt-1", "Do you ship to Lyon?")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .context("conv")?
        .to_string();
    v.close().await?;
    let mut a = agent(&relay).await?;
    a.send(send_to(&conv, "rt-a1", "Yes, we ship to Lyon."))
        .await?;
    a.until(|f| f["type"] == "ack" && f["cid"] == "rt-a1")
        .await?;
    let sent = smtp.wait_for(ada, 1, MAIL_WAIT).await?;
    let m = &sent[0];
    let reply_to = m.header("Reply-To").context("Reply-To")?;
    let reply_to = match (reply_to.rfind('<'), reply_to.rfind('>')) {
        (Some(i), Some(j)) if i < j => &reply_to[i + 1..j],
        _ => reply_to.trim(),
    };
    let quoted: Vec<String> = m.text.lines().map(|l| format!("> {l}")).collect();
    let raw = format!(
        "From: Ada <{ada}>\r\nTo: {reply_to}\r\nSubject: Re: {}\r\n\
Message-ID: <round-trip-reply@example.com>\r\nIn-Reply-To: {mid}\r\nReferences: {mid}\r\n\
Date: Thu, 03 Dec 2026 09:45:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
Great, I will order tonight.\r\n\r\n\
On Thu, 3 Dec 2026 at 09:40, Kefu Support <kefu@kefu.test> wrote:\r\n{}\r\n",
        m.header("Subject").unwrap_or_default(),
        quoted.join("\r\n"),
        mid = m.message_id(),
    );
    imap.deliver(raw.as_bytes())?;
    let ev = a
        .until(|f| message_text(f) == Some("Great, I will order tonight."))
        .await
        .with_context(|| relay.log_text())?;
    assert_eq!(ev["from"]["side"], "visitor");
    assert_eq!(ev["conv"], conv.as_str());
    imap.until_all_seen(1, MAIL_WAIT).await?;
    let texts: Vec<_> = messages(&relay, &conv)
        .await?
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [
            json!("Do you ship to Lyon?"),
            json!("Yes, we ship to Lyon."),
            json!("Great, I will order tonight.")
        ]
    );
    Ok(())
}

/// A reply to the plain sender address (a client that dropped the
/// Reply-To) still threads by its `In-Reply-To`, but only from the
/// visitor's stored address: the same mail from a stranger is refused and
/// stores nothing.
#[tokio::test]
async fn a_reply_without_token_threads_by_in_reply_to_from_the_visitors_address() -> Result<()> {
    let smtp = Smtp::start().await?;
    let mut imap = Dovecot::start().await?;
    let relay = Relay::start_logged(
        BIN,
        "warn,relay::mail=info",
        &[
            "--smtp-url",
            &smtp.url(),
            "--mail-from",
            "Kefu Support <kefu@kefu.test>",
            "--mail-minute-ms",
            "300",
            "--imap-url",
            &imap.url(""),
        ],
    )
    .await?;
    let ada = "ada@example.com";
    let mut v = Ws::connect(&relay).await?;
    let mut hello = visitor_hello("demo", "by-thread", None);
    hello["user"] = json!({"name": "Ada", "email": ada});
    v.hello(hello).await?;
    v.send(send("bt-1", "Do you ship to Lyon?")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .context("conv")?
        .to_string();
    v.close().await?;
    let mut a = agent(&relay).await?;
    a.send(send_to(&conv, "bt-a1", "Yes, we ship to Lyon."))
        .await?;
    a.until(|f| f["type"] == "ack" && f["cid"] == "bt-a1")
        .await?;
    let sent = smtp.wait_for(ada, 1, MAIL_WAIT).await?;
    let mid = sent[0].message_id();
    let thread = format!("In-Reply-To: {mid}\r\nReferences: {mid}\r\n");
    imap.deliver(&mail(
        "stranger@example.com",
        FROM,
        "bt-stranger@example.com",
        &thread,
        "Please send it to my address instead.",
    ))?;
    imap.deliver(&mail(
        ada,
        FROM,
        "bt-ada@example.com",
        &thread,
        "Great, I will order tonight.",
    ))?;
    let ev = a
        .until(|f| message_text(f) == Some("Great, I will order tonight."))
        .await
        .with_context(|| relay.log_text())?;
    assert_eq!(ev["from"]["side"], "visitor");
    assert_eq!(ev["conv"], conv.as_str());
    imap.until_all_seen(2, MAIL_WAIT).await?;
    let texts: Vec<_> = messages(&relay, &conv)
        .await?
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [
            json!("Do you ship to Lyon?"),
            json!("Yes, we ship to Lyon."),
            json!("Great, I will order tonight.")
        ]
    );
    let log = relay.log_text();
    assert!(
        log.lines().any(|l| l.contains("bt-stranger@example.com")
            && l.contains("neither the conversation's visitor")),
        "the stranger's mail is refused:\n{log}"
    );
    Ok(())
}
