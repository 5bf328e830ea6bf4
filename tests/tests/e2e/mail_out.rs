//! Mail out over a real SMTP receiver (aiosmtpd on loopback): agents
//! mailed while nobody is available (once per conversation per interval,
//! as each chose), visitors mailed the replies they did not read (once,
//! with a working chat link and one-click unsubscribe) and transcripts
//! (never a note), header injection refused or defused, and queued mail
//! that survives `kill -9` with the SMTP server down, delivered once.

use crate::BIN;
use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tests::frames::*;
use tests::mail::smtp::{Mail, Smtp};
use tests::{api, Relay, Ws, DEMO_TOKEN};

/// The demo owner's login, who is mailed (mail choice `all` by default).
const OWNER: &str = "owner@example.com";
/// One minute of a site's continuity delay (3 minutes by default) lasts
/// this long in these tests: 3 × 500 ms.
const MINUTE_MS: &str = "500";
const MAIL_WAIT: Duration = Duration::from_secs(15);

async fn relay_with(smtp: &Smtp) -> Result<Relay> {
    Relay::start(
        BIN,
        &[
            "--smtp-url",
            &smtp.url(),
            "--mail-from",
            "Kefu Support <kefu@kefu.test>",
            "--mail-retry-ms",
            "200",
            "--mail-minute-ms",
            MINUTE_MS,
        ],
    )
    .await
}

/// A visitor of the demo site with `user`, its first message sent:
/// (socket, conversation, seq of the message).
async fn visitor(relay: &Relay, id: &str, user: Value, text: &str) -> Result<(Ws, String)> {
    let mut v = Ws::connect(relay).await?;
    let mut hello = visitor_hello("demo", id, None);
    if !user.is_null() {
        hello["user"] = user;
    }
    let w = v.hello(hello).await?;
    ensure!(w["mail"] == true, "the widget is told mail is on: {w}");
    v.send(send(&format!("{id}-1"), text)).await?;
    let ack = v.until_type("ack").await?;
    Ok((v, ack["conv"].as_str().unwrap_or_default().to_string()))
}

async fn agent(relay: &Relay) -> Result<Ws> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    Ok(a)
}

/// The agent's message in `conv`, acked: its seq.
async fn reply(a: &mut Ws, conv: &str, cid: &str, text: &str) -> Result<u64> {
    a.send(send_to(conv, cid, text)).await?;
    let ack = a.until(|f| f["type"] == "ack" && f["cid"] == cid).await?;
    ack["seq"].as_u64().context("seq")
}

fn visitor_mails(smtp: &Smtp, addr: &str) -> Vec<Mail> {
    smtp.mails_to(addr)
}

/// The value of `data-{name}="…"` in a page.
fn attr(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!(" data-{name}=\""))? + name.len() + 8;
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// The transcripts (not the continuity mail) that went to `addr`.
fn transcripts_to(smtp: &Smtp, addr: &str) -> Vec<Mail> {
    smtp.mails_to(addr)
        .into_iter()
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.starts_with("Your chat with"))
        })
        .collect()
}

/// The visitor's profile as agents see it.
async fn profile(relay: &Relay, id: &str) -> Result<Value> {
    let (s, v) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/sites/demo/visitors/{id}"),
        None,
    )
    .await?;
    ensure!(s == 200, "{s} {v}");
    Ok(v)
}

/// A transcript frame's answer: `mailed` or the error.
async fn ask_transcript(v: &mut Ws, conv: &str, email: Option<&str>) -> Result<Value> {
    let mut f = json!({"type": "transcript", "conv": conv});
    if let Some(e) = email {
        f["email"] = json!(e);
    }
    v.send(f).await?;
    v.until(|f| f["type"] == "mailed" || f["type"] == "error")
        .await
}

/// Agents away: a visitor's message reaches the owner by mail with the
/// text, a console link to the conversation and a reply address; a second
/// message within the interval sends no second mail. With mail off the
/// widget is told so.
#[tokio::test]
async fn agents_away_are_mailed_once_per_conversation() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let (mut v, conv) = visitor(
        &relay,
        "mv1",
        json!({"name": "Ada"}),
        "Is my order 1234 shipped?",
    )
    .await?;
    let mails = smtp.wait_for(OWNER, 1, MAIL_WAIT).await?;
    let m = &mails[0];
    ensure!(m.text.contains("Is my order 1234 shipped?"), "{}", m.text);
    ensure!(m.text.contains("Ada"), "{}", m.text);
    let console = format!("/console/#/inbox/demo/{conv}");
    ensure!(m.link(&console).is_some(), "console link in {}", m.text);
    ensure!(
        m.message_id().starts_with(&format!("<kefu.{conv}.")),
        "{}",
        m.message_id()
    );
    let reply_to = m.header("Reply-To").unwrap_or_default();
    ensure!(
        reply_to.starts_with("kefu+") && reply_to.ends_with("@kefu.test"),
        "{reply_to}"
    );
    ensure!(
        m.count("List-Unsubscribe") == 0,
        "agents' notices are not list mail"
    );
    ensure!(m
        .header("From")
        .unwrap_or_default()
        .contains("kefu@kefu.test"));

    v.send(send("mv1-2", "Hello? Anyone?")).await?;
    v.until_type("ack").await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ensure!(
        smtp.mails_to(OWNER).len() == 1,
        "one mail per conversation per interval: {:?}",
        smtp.mails_to(OWNER)
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    );

    // Without --smtp-url the widget never mentions email.
    let plain = Relay::start(BIN, &[]).await?;
    let mut w = Ws::connect(&plain).await?;
    let welcome = w.hello(visitor_hello("demo", "mv1b", None)).await?;
    ensure!(welcome["mail"] != true, "{welcome}");
    w.send(send("mv1b-1", "hi")).await?;
    let ack = w.until_type("ack").await?;
    w.send(json!({"type": "transcript", "conv": ack["conv"], "email": "x@example.com"}))
        .await?;
    let e = w.until_type("error").await?;
    ensure!(e["code"] == "conflict", "no mail, no transcript: {e}");
    let (s, vis) = api(
        &plain,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/mv1b",
        None,
    )
    .await?;
    ensure!(
        s == 200 && !vis.to_string().contains("x@example.com"),
        "a refused transcript stores no address: {s} {vis}"
    );
    // A relay that never mailed refuses a mailed link's token.
    let page = reqwest::get(format!(
        "http://{}/chat/demo?resume=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        plain.addr
    ))
    .await?;
    ensure!(page.status() == 403, "{}", page.status());
    Ok(())
}

/// Each agent's mail choice: `none` gets nothing, `mine` gets an
/// unassigned conversation's notice; bots are never mailed.
#[tokio::test]
async fn agents_mail_choices_are_respected() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let (s, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    ensure!(s == 200, "{me}");
    let owner_id = me["id"].as_str().context("id")?.to_string();
    let (s, v) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        &format!("/v1/api/agents/{owner_id}"),
        Some(json!({"mail": "none"})),
    )
    .await?;
    ensure!(s == 200 && v["mail"] == "none", "{s} {v}");
    let (s, bob) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/agents",
        Some(json!({"name": "Bob", "email": "bob@example.com", "password": "correct horse 12", "sites": ["demo"]})),
    )
    .await?;
    ensure!(s == 201, "{s} {bob}");
    let bob_id = bob["id"].as_str().context("id")?;
    let (s, v) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        &format!("/v1/api/agents/{bob_id}"),
        Some(json!({"mail": "mine"})),
    )
    .await?;
    ensure!(s == 200 && v["mail"] == "mine", "{s} {v}");

    // An agent whose mailbox the server refuses for good (550).
    let (s, carl) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/agents",
        Some(json!({"name": "Carl", "email": "reject-carl@example.com", "password": "correct horse 12", "sites": ["demo"]})),
    )
    .await?;
    ensure!(s == 201, "{s} {carl}");

    let (_v, _conv) = visitor(&relay, "mv2", Value::Null, "Pricing question").await?;
    let got = smtp.wait_for("bob@example.com", 1, MAIL_WAIT).await?;
    ensure!(got[0].text.contains("Pricing question"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ensure!(smtp.mails_to(OWNER).is_empty(), "the owner chose none");
    // A permanent refusal drops the mail: tried once, not retried
    // (retries start 200 ms apart here).
    ensure!(
        smtp.refused() == vec!["reject-carl@example.com".to_string()],
        "{:?}",
        smtp.refused()
    );
    ensure!(
        smtp.mails().len() == 1,
        "only Bob: {:?}",
        smtp.mails()
            .iter()
            .map(|m| m.rcpt.clone())
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// `mine` is mailed about unassigned conversations and its own, never
/// about one assigned to another agent: a conversation handed to Carl
/// while the owner was online, then a visitor message with nobody there,
/// mails Dan (`all`) but not Bob (`mine`).
#[tokio::test]
async fn mine_gets_no_mail_for_another_agents_conversation() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let (s, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    ensure!(s == 200, "{me}");
    let owner_id = me["id"].as_str().context("id")?.to_string();
    let mut ids = Vec::new();
    for (name, email) in [
        ("Bob", "bob@example.com"),
        ("Carl", "carl@example.com"),
        ("Dan", "dan@example.com"),
    ] {
        let (s, a) = api(
            &relay,
            DEMO_TOKEN,
            "POST",
            "/v1/api/agents",
            Some(json!({"name": name, "email": email, "password": "correct horse 12", "sites": ["demo"]})),
        )
        .await?;
        ensure!(s == 201, "{s} {a}");
        ids.push(a["id"].as_str().context("id")?.to_string());
    }
    for (id, mail) in [
        (owner_id.as_str(), "none"),
        (ids[0].as_str(), "mine"),
        (ids[1].as_str(), "none"),
        (ids[2].as_str(), "all"),
    ] {
        let (s, v) = api(
            &relay,
            DEMO_TOKEN,
            "PATCH",
            &format!("/v1/api/agents/{id}"),
            Some(json!({ "mail": mail })),
        )
        .await?;
        ensure!(s == 200 && v["mail"] == mail, "{s} {v}");
    }
    // The owner is online while the conversation starts (no notice yet)
    // and hands it to Carl, then leaves.
    let mut owner = agent(&relay).await?;
    owner.send(subscribe("demo")).await?;
    owner.until_type("snapshot").await?;
    let (mut v, conv) = visitor(&relay, "mv-mine", Value::Null, "First question").await?;
    let (s, r) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{conv}/assign"),
        Some(json!({"agent": ids[1]})),
    )
    .await?;
    ensure!(s == 200, "assign to Carl: {s} {r}");
    owner.close().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    v.send(send("mv-mine-2", "Second question")).await?;
    v.until(|f| f["type"] == "ack" && f["cid"] == "mv-mine-2")
        .await?;
    // Nobody is there now: Dan (all) hears of it…
    let dan = smtp.wait_for("dan@example.com", 1, MAIL_WAIT).await?;
    ensure!(dan[0].text.contains("Second question"), "{}", dan[0].text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // …Bob (mine) does not: it is Carl's conversation.
    let bob = smtp.mails_to("bob@example.com");
    ensure!(
        bob.is_empty(),
        "Bob (mine) is not mailed about Carl's conversation: {:?}",
        bob.iter().map(|m| m.text.clone()).collect::<Vec<_>>()
    );
    ensure!(
        smtp.mails_to("carl@example.com").is_empty(),
        "Carl chose none"
    );
    Ok(())
}

/// The rating links in the `text` of a mail, in order.
fn rating_links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http") && w.contains("/v1/mail/rate?"))
        .map(str::to_string)
        .collect()
}

/// The conversation's `rated` events, read through the agents' API.
async fn rated_events(relay: &Relay, conv: &str) -> Result<Vec<Value>> {
    let path = format!("/v1/api/conversations/{conv}/events?limit=100");
    let (s, v) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    ensure!(s == 200, "events: {s} {v}");
    Ok(v["events"]
        .as_array()
        .context("events")?
        .iter()
        .filter(|e| e["kind"] == "rated")
        .cloned()
        .collect())
}

/// The close transcript asks "How was this chat?" with one signed link
/// per score (the transcript of the open chat has none). Its GET page
/// stores nothing; POST stores one `rated` event, counted in stats; a
/// second click stores nothing more; a tampered link is a 403 and stores
/// nothing; another score's link is a later rating that replaces it in
/// stats.
#[tokio::test]
async fn the_close_transcript_rates_the_chat_by_link() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let ada = "rate-ada@example.com";
    let (mut v, conv) = visitor(
        &relay,
        "mv-rate",
        json!({"name": "Ada", "email": ada}),
        "Can I change my order?",
    )
    .await?;
    let mut a = agent(&relay).await?;
    reply(&mut a, &conv, "r1", "Yes, until it ships.").await?;
    let ok = ask_transcript(&mut v, &conv, None).await?;
    ensure!(ok["type"] == "mailed", "{ok}");
    let first = smtp.wait_for(ada, 1, MAIL_WAIT).await?;
    ensure!(
        rating_links(&first[0].text).is_empty() && !first[0].text.contains("How was this chat?"),
        "an open chat's transcript asks no rating: {}",
        first[0].text
    );
    reply(&mut a, &conv, "r2", "Done, changed.").await?;
    a.send(json!({"type": "close", "conv": conv})).await?;
    let end = tokio::time::Instant::now() + MAIL_WAIT;
    while transcripts_to(&smtp, ada).len() < 2 && tokio::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ts = transcripts_to(&smtp, ada);
    ensure!(ts.len() == 2, "a transcript at close: {}", ts.len());
    let t = &ts[1];
    ensure!(t.text.contains("How was this chat?"), "{}", t.text);
    let links = rating_links(&t.text);
    ensure!(links.len() == 5, "one link per score 1–5: {links:?}");
    let four = links
        .iter()
        .find(|l| l.contains("score=4&"))
        .context("the link of 4")?
        .clone();
    let two = links
        .iter()
        .find(|l| l.contains("score=2&"))
        .context("the link of 2")?
        .clone();
    let http = reqwest::Client::new();

    // A mail scanner's GET: a page with a button, nothing stored.
    let page = http.get(&four).send().await?;
    ensure!(page.status() == 200, "{}", page.status());
    ensure!(page.text().await?.contains("<form method=\"post\">"));
    ensure!(
        rated_events(&relay, &conv).await?.is_empty(),
        "GET stores nothing"
    );

    // The button: one rated event, counted.
    let done = http.post(&four).send().await?;
    ensure!(done.status() == 200, "{}", done.status());
    let rated = rated_events(&relay, &conv).await?;
    ensure!(rated.len() == 1, "{rated:?}");
    ensure!(
        rated[0]["score"] == 4 && rated[0]["by"]["side"] == "visitor",
        "{rated:?}"
    );
    let (s, st) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo/stats", None).await?;
    ensure!(s == 200, "{s} {st}");
    ensure!(
        st["ratings"] == json!({"count": 1, "satisfied": 1, "score_sum": 4}),
        "{st}"
    );

    // A double click stores once.
    let again = http.post(&four).send().await?;
    ensure!(again.status() == 200, "{}", again.status());
    ensure!(rated_events(&relay, &conv).await?.len() == 1, "stored once");

    // Tampered (another score under 4's signature), or a broken
    // signature: refused, nothing stored.
    for bad in [
        four.replace("score=4&", "score=5&"),
        four.replace("sig=", "sig=00"),
    ] {
        let r = http.post(&bad).send().await?;
        ensure!(r.status() == 403, "{bad}: {}", r.status());
        let r = http.get(&bad).send().await?;
        ensure!(r.status() == 403, "{bad}: {}", r.status());
    }
    ensure!(
        rated_events(&relay, &conv).await?.len() == 1,
        "nothing more stored"
    );

    // Another score: a later rating, the one stats count.
    let r = http.post(&two).send().await?;
    ensure!(r.status() == 200, "{}", r.status());
    ensure!(rated_events(&relay, &conv).await?.len() == 2);
    let (_, st) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo/stats", None).await?;
    ensure!(
        st["ratings"] == json!({"count": 1, "satisfied": 0, "score_sum": 2}),
        "{st}"
    );
    Ok(())
}

/// An agent replies before the visitor gave an address: nothing can be
/// mailed then. When the visitor's form gives one, the unread reply is
/// mailed after the site's delay — once.
#[tokio::test]
async fn a_reply_sent_before_the_address_was_given_is_mailed_once_it_is() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let ada = "late-ada@example.com";
    let (mut v, conv) = visitor(&relay, "mv-late", Value::Null, "Is it in stock?").await?;
    let mut a = agent(&relay).await?;
    reply(&mut a, &conv, "l1", "Yes, 3 left.").await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ensure!(smtp.mails_to(ada).is_empty());
    v.send(json!({"type": "contact", "cid": "late-c1", "form": "offline", "email": ada}))
        .await?;
    let r = v
        .until(|f| f["type"] == "saved" || f["type"] == "error")
        .await?;
    ensure!(r["type"] == "saved", "{r}");
    let got = smtp.wait_for(ada, 1, MAIL_WAIT).await?;
    ensure!(got[0].text.contains("Yes, 3 left."), "{}", got[0].text);
    ensure!(
        got[0].message_id().starts_with(&format!("<kefu.{conv}.")),
        "{}",
        got[0].message_id()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ensure!(smtp.mails_to(ada).len() == 1, "one mail");
    Ok(())
}

/// Continuity: an agent replies twice, the visitor never reads → after
/// the site's delay exactly one mail with both replies, a Message-ID,
/// one-click List-Unsubscribe and a chat link that opens (200). The
/// unsubscribe link then stops every further visitor mail.
#[tokio::test]
async fn unread_replies_are_mailed_once_and_unsubscribe_stops_them() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let ada = "ada@example.com";
    let (_v, conv) = visitor(
        &relay,
        "mv3",
        json!({"name": "Ada", "email": ada}),
        "Do you ship to Lyon?",
    )
    .await?;
    let mut a = agent(&relay).await?;
    reply(&mut a, &conv, "a1", "Yes, we ship to Lyon.").await?;
    reply(&mut a, &conv, "a2", "Delivery takes 3 days.").await?;
    let got = smtp.wait_for(ada, 1, MAIL_WAIT).await?;
    // Both jobs came due (one per reply): still one mail.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let got_after = visitor_mails(&smtp, ada);
    ensure!(
        got_after.len() == 1,
        "exactly one continuity mail, got {}",
        got_after.len()
    );
    let m = &got[0];
    ensure!(
        m.text.contains("Yes, we ship to Lyon.") && m.text.contains("Delivery takes 3 days."),
        "{}",
        m.text
    );
    ensure!(
        !m.text.contains("Do you ship"),
        "only the agent's replies: {}",
        m.text
    );
    ensure!(
        m.message_id().starts_with(&format!("<kefu.{conv}.")),
        "{}",
        m.message_id()
    );
    let unsub = m
        .header("List-Unsubscribe")
        .context("List-Unsubscribe")?
        .trim()
        .to_string();
    ensure!(
        m.header("List-Unsubscribe-Post") == Some("List-Unsubscribe=One-Click"),
        "{:?}",
        m.header("List-Unsubscribe-Post")
    );
    let link = m.link("/chat/demo?").context("chat link")?;
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await?;
    ensure!(
        page.status() == 200,
        "the chat link opens: {} {link}",
        page.status()
    );
    let html = page.text().await?;
    ensure!(
        link.contains("resume=") && !link.contains("uid=") && !link.contains("sig="),
        "a mail-key token, no site-signed identity: {link}"
    );
    ensure!(
        attr(&html, "vid").as_deref() == Some("mv3"),
        "the page resumes the visitor: {html}"
    );

    // One-click unsubscribe (RFC 8058): POST to the header's URL.
    let url = unsub.trim_start_matches('<').trim_end_matches('>');
    let shown = http.get(url).send().await?;
    ensure!(shown.status() == 200, "GET shows the confirmation page");
    ensure!(visitor_mails(&smtp, ada).len() == 1);
    let done = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await?;
    ensure!(done.status() == 200, "{}", done.status());
    let forged = http
        .post(url.replace("sig=", "sig=00"))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await?;
    ensure!(
        forged.status() == 403,
        "a forged link is refused: {}",
        forged.status()
    );

    reply(&mut a, &conv, "a3", "Anything else?").await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ensure!(
        visitor_mails(&smtp, ada).len() == 1,
        "no visitor mail after unsubscribing"
    );
    Ok(())
}

/// A visitor who reads the reply before the delay gets no mail.
#[tokio::test]
async fn read_replies_are_not_mailed() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let bea = "bea@example.com";
    let (mut v, conv) = visitor(&relay, "mv4", json!({"email": bea}), "Hi there").await?;
    let mut a = agent(&relay).await?;
    let seq = reply(&mut a, &conv, "b1", "Hello Bea!").await?;
    v.until(|f| f["kind"] == "message" && f["text"] == "Hello Bea!")
        .await?;
    v.send(json!({"type": "read", "conv": conv, "seq": seq}))
        .await?;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    ensure!(
        visitor_mails(&smtp, bea).is_empty(),
        "read before the delay: no mail"
    );
    Ok(())
}

/// "Email me this chat": the address given is kept, the transcript holds
/// both sides' messages and never a note; without an address the frame
/// is refused; an address with CR/LF is refused, and a visitor name with
/// CR/LF adds no header to the agents' mail.
#[tokio::test]
async fn transcripts_carry_messages_never_notes_and_headers_cannot_be_injected() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let (mut v, conv) = visitor(
        &relay,
        "mv5",
        json!({"name": "Eve\r\nBcc: victim@evil.test\r\nX-Injected: 1"}),
        "Where is my parcel?",
    )
    .await?;
    // The agents' notice: the name defused, no Bcc, one recipient.
    let notice = smtp.wait_for(OWNER, 1, MAIL_WAIT).await?;
    let n = &notice[0];
    ensure!(
        n.count("Bcc") == 0 && n.count("X-Injected") == 0,
        "{}",
        n.raw
    );
    ensure!(n.rcpt == vec![OWNER.to_string()], "{:?}", n.rcpt);
    ensure!(smtp.mails_to("victim@evil.test").is_empty());

    let mut a = agent(&relay).await?;
    reply(&mut a, &conv, "c1", "It left the depot today.").await?;
    a.send(json!({"type": "note", "cid": "n1", "conv": conv, "text": "SECRET-NOTE customer is grumpy"}))
        .await?;
    a.until(|f| f["type"] == "ack" && f["cid"] == "n1").await?;

    // No address known yet.
    v.send(json!({"type": "transcript", "conv": conv})).await?;
    let e = v.until_type("error").await?;
    ensure!(e["code"] == "bad_request", "{e}");
    // An address that would add a header.
    v.send(json!({"type": "transcript", "conv": conv, "email": "eve@example.com\r\nBcc: victim@evil.test"}))
        .await?;
    let e = v.until_type("error").await?;
    ensure!(e["code"] == "bad_frame", "{e}");

    v.send(json!({"type": "transcript", "conv": conv, "email": "eve@example.com"}))
        .await?;
    let ok = v
        .until(|f| f["type"] == "mailed" || f["type"] == "error")
        .await?;
    ensure!(
        ok["type"] == "mailed" && ok["conv"] == conv.as_str(),
        "{ok}"
    );
    let got = smtp.wait_for("eve@example.com", 1, MAIL_WAIT).await?;
    let t = &got[0];
    ensure!(
        t.text.contains("Where is my parcel?") && t.text.contains("It left the depot today."),
        "{}",
        t.text
    );
    ensure!(
        !t.raw.contains("SECRET-NOTE") && !t.text.contains("SECRET-NOTE"),
        "no note in a transcript"
    );
    ensure!(t.count("List-Unsubscribe") == 1 && t.count("Bcc") == 0 && t.count("X-Injected") == 0);
    ensure!(smtp.mails_to("victim@evil.test").is_empty());
    // Asked while open: one more at close, with what was said after.
    reply(&mut a, &conv, "c2", "Anything else I can do?").await?;
    a.send(json!({"type": "close", "conv": conv})).await?;
    // (Eve has an address now: her unread replies are mailed too; only
    // transcripts are counted here.)
    let transcripts = || -> Vec<Mail> {
        smtp.mails_to("eve@example.com")
            .into_iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.starts_with("Your chat with"))
            })
            .collect()
    };
    let end = tokio::time::Instant::now() + MAIL_WAIT;
    while transcripts().len() < 2 && tokio::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = transcripts();
    ensure!(got.len() == 2, "a transcript at close: {}", got.len());
    ensure!(
        got[1].text.contains("Anything else I can do?"),
        "{}",
        got[1].text
    );
    ensure!(
        !got[1].text.contains("Where is my parcel?"),
        "the one at close holds only what came after: {}",
        got[1].text
    );
    ensure!(got[1].message_id() != got[0].message_id());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ensure!(transcripts().len() == 2, "one transcript at close");
    // The address is now the visitor's.
    let (s, vis) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/mv5",
        None,
    )
    .await?;
    ensure!(
        s == 200 && vis.to_string().contains("eve@example.com"),
        "{s} {vis}"
    );
    Ok(())
}

/// A site whose widget speaks Chinese mails its agents in Chinese.
#[tokio::test]
async fn chinese_sites_mail_in_chinese() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let (s, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    ensure!(s == 200, "{site}");
    let mut widget = site["widget"].clone();
    widget["language"] = json!("zh-CN");
    let (s, v) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({"widget": widget})),
    )
    .await?;
    ensure!(s == 200, "{s} {v}");
    visitor(&relay, "mv8", json!({"name": "李雷"}), "你好,在吗?").await?;
    let m = &smtp.wait_for(OWNER, 1, MAIL_WAIT).await?[0];
    ensure!(
        m.header("Subject").unwrap_or_default().contains("有新消息"),
        "{:?}",
        m.header("Subject")
    );
    ensure!(
        m.text.contains("打开会话") && m.text.contains("你好,在吗?") && m.text.contains("李雷"),
        "{}",
        m.text
    );
    Ok(())
}

/// `kill -9` with mail queued and the SMTP server down: after both come
/// back every mail arrives, none twice (counted by Message-ID).
#[tokio::test]
async fn queued_mail_survives_kill9_and_arrives_once() -> Result<()> {
    let mut smtp = Smtp::start().await?;
    let mut relay = relay_with(&smtp).await?;
    smtp.stop().await?;
    let (mut v, conv) = visitor(
        &relay,
        "mv6",
        json!({"name": "Kim", "email": "kim@example.com"}),
        "Server down test",
    )
    .await?;
    let (_v2, _conv2) = visitor(&relay, "mv7", Value::Null, "Second conversation").await?;
    v.send(json!({"type": "transcript", "conv": conv})).await?;
    let ok = v
        .until(|f| f["type"] == "mailed" || f["type"] == "error")
        .await?;
    ensure!(ok["type"] == "mailed", "{ok}");
    // Let a few attempts fail against the dead port.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    relay.kill9().await?;
    relay.restart().await?;
    smtp.resume().await?;
    smtp.wait_for(OWNER, 2, Duration::from_secs(30)).await?;
    smtp.wait_for("kim@example.com", 1, Duration::from_secs(30))
        .await?;
    // Time for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for m in smtp.mails() {
        *by_id.entry(m.message_id()).or_default() += 1;
    }
    ensure!(by_id.len() == 3, "three mails: {by_id:?}");
    ensure!(by_id.values().all(|n| *n == 1), "none twice: {by_id:?}");
    ensure!(smtp.maildir_count() == 3, "{}", smtp.maildir_count());
    Ok(())
}

/// The chat link of a continuity mail resumes the visitor it went to: the
/// page carries that visitor's id and token, a hello with them finds the
/// conversation and the agent's unread reply. It vouches for no identity:
/// a visitor who claimed `admin-42` without a `user_hash` opens the page
/// unverified (no `user_hash` on the page), and stays so. An altered
/// token is refused with a 403 page.
#[tokio::test]
async fn mailed_links_resume_the_visitor_and_vouch_for_no_identity() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let mal = "mal@example.com";
    let (_v, conv) = visitor(
        &relay,
        "mv9",
        json!({"id": "admin-42", "name": "Mallory", "email": mal}),
        "Where is my refund?",
    )
    .await?;
    let mut a = agent(&relay).await?;
    reply(&mut a, &conv, "r1", "Your refund is on its way.").await?;
    let m = smtp.wait_for(mal, 1, MAIL_WAIT).await?.remove(0);
    let link = m.link("/chat/demo?resume=").context("chat link")?;
    ensure!(
        !link.contains("uid=") && !link.contains("sig="),
        "no site-signed identity in a mailed link: {link}"
    );
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await?;
    ensure!(page.status() == 200, "{}", page.status());
    let html = page.text().await?;
    ensure!(
        !html.contains("data-hash") && !html.contains("data-uid"),
        "the page presents no verified identity: {html}"
    );
    let vid = attr(&html, "vid").context("data-vid")?;
    let tok = attr(&html, "tok").context("data-tok")?;
    ensure!(vid == "mv9", "{vid}");

    // The widget on the page says hello as that visitor.
    let mut w = Ws::connect(&relay).await?;
    let welcome = w.hello(visitor_hello("demo", &vid, Some(&tok))).await?;
    ensure!(
        welcome["convs"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["id"] == conv.as_str())),
        "its conversation: {welcome}"
    );
    w.until(|f| f["kind"] == "message" && f["text"] == "Your refund is on its way.")
        .await?;
    let p = profile(&relay, "mv9").await?;
    ensure!(p["verified"] != true, "never verified by a mail link: {p}");

    // An altered token opens nothing.
    let (head, token) = link.split_once("resume=").context("token")?;
    let flipped: String = token
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (3, 'A') => 'B',
            (3, _) => 'A',
            (_, c) => c,
        })
        .collect();
    let bad = http.get(format!("{head}resume={flipped}")).send().await?;
    ensure!(bad.status() == 403, "{}", bad.status());
    let bad = http.get(format!("{head}resume=nope")).send().await?;
    ensure!(bad.status() == 403, "{}", bad.status());
    Ok(())
}

/// A refused transcript changes nothing stored: over the conversation's
/// limit or to an unsubscribed address, the address given is not kept;
/// a verified visitor's address is never replaced (refused), and their
/// transcript goes to the verified one.
#[tokio::test]
async fn refused_transcripts_change_nothing_and_verified_addresses_stay() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let (s, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    ensure!(s == 200, "{site}");
    let secret = site["secret"].as_str().context("secret")?;

    // Verified: the host page's address stays.
    let ver = "ver@example.com";
    let hash = relay::auth::user_hash(secret, "u-10");
    let (mut v, conv) = visitor(
        &relay,
        "mv10",
        json!({"id": "u-10", "email": ver, "user_hash": hash}),
        "Verified hello",
    )
    .await?;
    let e = ask_transcript(&mut v, &conv, Some("other@example.com")).await?;
    ensure!(e["code"] == "forbidden", "{e}");
    let p = profile(&relay, "mv10").await?;
    ensure!(
        p.to_string().contains(ver) && !p.to_string().contains("other@example.com"),
        "{p}"
    );
    let ok = ask_transcript(&mut v, &conv, None).await?;
    ensure!(ok["type"] == "mailed", "{ok}");
    smtp.wait_for(ver, 1, MAIL_WAIT).await?;
    ensure!(smtp.mails_to("other@example.com").is_empty());

    // Over the conversation's limit: refused, the new address not kept.
    let (mut v, conv) = visitor(&relay, "mv11", Value::Null, "Limit test").await?;
    for _ in 0..3 {
        let ok = ask_transcript(&mut v, &conv, Some("a@example.com")).await?;
        ensure!(ok["type"] == "mailed", "{ok}");
    }
    let e = ask_transcript(&mut v, &conv, Some("b@example.com")).await?;
    ensure!(e["code"] == "rate_limited", "{e}");
    let p = profile(&relay, "mv11").await?;
    ensure!(
        p.to_string().contains("a@example.com") && !p.to_string().contains("b@example.com"),
        "{p}"
    );

    // Unsubscribed: refused, the address not stored on another visitor.
    let got = smtp.wait_for("a@example.com", 1, MAIL_WAIT).await?;
    let unsub = got[0].header("List-Unsubscribe").context("header")?;
    let url = unsub.trim().trim_start_matches('<').trim_end_matches('>');
    let done = reqwest::Client::new()
        .post(url)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await?;
    ensure!(done.status() == 200, "{}", done.status());
    let (mut v, conv) = visitor(&relay, "mv12", Value::Null, "Unsubscribed test").await?;
    let e = ask_transcript(&mut v, &conv, Some("a@example.com")).await?;
    ensure!(e["code"] == "conflict", "{e}");
    let p = profile(&relay, "mv12").await?;
    ensure!(!p.to_string().contains("a@example.com"), "{p}");
    Ok(())
}

/// A transcript asked while the conversation is open sends no second one
/// at close when nothing was said after it.
#[tokio::test]
async fn nothing_said_after_a_transcript_sends_none_at_close() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let kai = "kai@example.com";
    let (mut v, conv) = visitor(&relay, "mv13", Value::Null, "Just the one question").await?;
    let ok = ask_transcript(&mut v, &conv, Some(kai)).await?;
    ensure!(ok["type"] == "mailed", "{ok}");
    let mut a = agent(&relay).await?;
    a.send(json!({"type": "close", "conv": conv})).await?;
    v.until(|f| f["kind"] == "closed").await?;
    ensure!(transcripts_to(&smtp, kai).len() <= 1);
    smtp.wait_for(kai, 1, MAIL_WAIT).await?;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    ensure!(
        transcripts_to(&smtp, kai).len() == 1,
        "no transcript at close: {}",
        transcripts_to(&smtp, kai).len()
    );
    Ok(())
}

/// A mail the SMTP server stored but whose `250` the relay never heard
/// (killed with `kill -9` in between) is sent again after the restart
/// with the same Message-ID — a repeat a mail client shows once — and
/// only that one repeats: mail queued later arrives once.
#[tokio::test]
async fn a_mail_delivered_before_kill9_repeats_only_with_its_message_id() -> Result<()> {
    let smtp = Smtp::start().await?;
    let mut relay = relay_with(&smtp).await?;
    smtp.hold(true)?;
    visitor(&relay, "mv14", Value::Null, "In flight at the crash").await?;
    let first = smtp.wait_for(OWNER, 1, MAIL_WAIT).await?;
    let id = first[0].message_id();
    ensure!(id.starts_with("<kefu."), "{id}");
    relay.kill9().await?;
    smtp.hold(false)?;
    relay.restart().await?;
    let again = smtp.wait_for(OWNER, 2, Duration::from_secs(30)).await?;
    ensure!(
        again.iter().all(|m| m.message_id() == id),
        "the repeat carries the same Message-ID: {:?}",
        again.iter().map(Mail::message_id).collect::<Vec<_>>()
    );
    // Mail queued after the restart: once.
    visitor(&relay, "mv15", Value::Null, "After the restart").await?;
    smtp.wait_for(OWNER, 3, MAIL_WAIT).await?;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for m in smtp.mails() {
        *by_id.entry(m.message_id()).or_default() += 1;
    }
    ensure!(by_id.len() == 2, "two mails: {by_id:?}");
    ensure!(
        by_id.get(&id) == Some(&2),
        "the one in flight twice: {by_id:?}"
    );
    ensure!(
        by_id.iter().all(|(k, n)| k == &id || *n == 1),
        "every other once: {by_id:?}"
    );
    Ok(())
}

/// Transcripts are limited per visitor across its conversations (5 an
/// hour) and per IP address across visitors (10 an hour): past either,
/// refused as rate-limited, whatever conversation asks.
#[tokio::test]
async fn transcripts_are_limited_per_visitor_and_per_ip() -> Result<()> {
    let smtp = Smtp::start().await?;
    let relay = relay_with(&smtp).await?;
    let mut a = agent(&relay).await?;
    let (mut v, conv) = visitor(&relay, "mv16", Value::Null, "First chat").await?;
    for _ in 0..3 {
        let ok = ask_transcript(&mut v, &conv, Some("lin@example.com")).await?;
        ensure!(ok["type"] == "mailed", "{ok}");
    }
    a.send(json!({"type": "close", "conv": conv})).await?;
    v.until(|f| f["kind"] == "closed").await?;
    v.send(send("mv16-2", "Second chat")).await?;
    let ack = v
        .until(|f| f["type"] == "ack" && f["cid"] == "mv16-2")
        .await?;
    let conv2 = ack["conv"].as_str().context("conv")?.to_string();
    ensure!(conv2 != conv, "a new conversation");
    for _ in 0..2 {
        let ok = ask_transcript(&mut v, &conv2, None).await?;
        ensure!(ok["type"] == "mailed", "{ok}");
    }
    let e = ask_transcript(&mut v, &conv2, None).await?;
    ensure!(e["code"] == "rate_limited", "the visitor's sixth: {e}");

    // Same address (loopback): 5 so far; 5 more from others, then no more.
    for (id, n) in [("mv17", 3), ("mv18", 2)] {
        let (mut w, c) = visitor(&relay, id, Value::Null, "Another visitor").await?;
        for _ in 0..n {
            let ok = ask_transcript(&mut w, &c, Some(&format!("{id}@example.com"))).await?;
            ensure!(ok["type"] == "mailed", "{ok}");
        }
    }
    let (mut w, c) = visitor(&relay, "mv19", Value::Null, "One too many").await?;
    let e = ask_transcript(&mut w, &c, Some("mv19@example.com")).await?;
    ensure!(e["code"] == "rate_limited", "the address's eleventh: {e}");
    let p = profile(&relay, "mv19").await?;
    ensure!(!p.to_string().contains("mv19@example.com"), "{p}");
    Ok(())
}
