//! One fetched mail (RFC 5322 + MIME, parsed by `mail-parser`) → what
//! kefu needs of it: who sent it, to which addresses, what it answers, the
//! reply text (quoted history stripped) and its attachments.

use super::quote;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use protocol::limits::MAX_INBOUND_MAIL_BYTES;
use sha2::{Digest, Sha256};

/// A mail, as far as kefu reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The `Message-ID` without angle brackets; a mail without one gets
    /// `sha256:<hex of its bytes>` (the same bytes again are the same mail).
    pub message_id: String,
    /// The `From` address, lower-cased.
    pub from: String,
    /// The `From` display name, if any.
    pub from_name: Option<String>,
    /// `To`, `Cc`, `Delivered-To` and `X-Original-To` addresses, in that order.
    pub recipients: Vec<String>,
    /// `In-Reply-To` then `References` message ids, without brackets.
    pub answers: Vec<String>,
    /// Sent by a program (out-of-office, bounce, list): never stored.
    pub automatic: Option<String>,
    /// The reply text: `text/plain` (else the HTML as text), quoted
    /// history and signature stripped.
    pub text: String,
    pub attachments: Vec<Part>,
}

/// An attached file.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Why a mail is refused before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("the mail is {0} bytes; at most {MAX_INBOUND_MAIL_BYTES} are read")]
    TooLarge(usize),
    #[error("not a mail: no header block")]
    NoHeaders,
    #[error("the MIME structure cannot be read")]
    Unreadable,
    #[error("no From address")]
    NoFrom,
    #[error("a multipart body without its boundary")]
    NoBoundary,
}

/// Reads `raw`; malformed mail is refused.
pub fn parse(raw: &[u8]) -> Result<Inbound, Malformed> {
    if raw.len() > MAX_INBOUND_MAIL_BYTES {
        return Err(Malformed::TooLarge(raw.len()));
    }
    if !has_header_block(raw) {
        return Err(Malformed::NoHeaders);
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(Malformed::Unreadable)?;
    let from_addr = msg.from().and_then(|a| a.first());
    let from = from_addr
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'))
        .ok_or(Malformed::NoFrom)?;
    let from_name = from_addr
        .and_then(|a| a.name())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    check_multiparts(&msg, raw)?;

    let message_id = match msg.message_id().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => m.trim_matches(|c| c == '<' || c == '>').to_string(),
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let mut recipients = Vec::new();
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        for a in list.iter() {
            if let Some(addr) = a.address() {
                recipients.push(addr.trim().to_ascii_lowercase());
            }
        }
    }
    for name in ["Delivered-To", "X-Original-To"] {
        for v in msg.header_values(name) {
            if let Some(t) = text_of(v) {
                let t = t.trim().trim_matches(|c| c == '<' || c == '>');
                if t.contains('@') {
                    recipients.push(t.to_ascii_lowercase());
                }
            }
        }
    }
    let mut answers = Vec::new();
    for v in [msg.in_reply_to(), msg.references()] {
        match v {
            HeaderValue::Text(t) => answers.push(t.to_string()),
            HeaderValue::TextList(l) => answers.extend(l.iter().map(|t| t.to_string())),
            _ => {}
        }
    }
    let answers = answers
        .into_iter()
        .map(|a| a.trim().trim_matches(|c| c == '<' || c == '>').to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let automatic = automatic(
        header("Auto-Submitted").as_deref(),
        header("Precedence").as_deref(),
        header("X-Autoreply").is_some() || header("X-Autorespond").is_some(),
        header("Return-Path").as_deref(),
    );

    let body = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let text = quote::strip(&body);
    let mut attachments = Vec::new();
    for part in msg.attachments() {
        // Images embedded in an HTML body (logos in signatures) are part
        // of the layout, not files the sender attached.
        let inline = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
        if part.content_id().is_some() && (inline || part.content_disposition().is_none()) {
            continue;
        }
        if part.is_message() || part.contents().is_empty() {
            continue;
        }
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| "attachment".into());
        attachments.push(Part {
            name,
            bytes: part.contents().to_vec(),
        });
    }
    Ok(Inbound {
        message_id,
        from,
        from_name,
        recipients,
        answers,
        automatic,
        text,
        attachments,
    })
}

fn text_of<'a>(v: &'a HeaderValue<'_>) -> Option<&'a str> {
    match v {
        HeaderValue::Text(t) => Some(t),
        HeaderValue::TextList(l) => l.first().map(|t| t.as_ref()),
        HeaderValue::Address(a) => a.first().and_then(|a| a.address()),
        _ => None,
    }
}

/// Why a mail counts as sent by a program (RFC 3834 `Auto-Submitted`,
/// the `Precedence` and `X-Autoreply` conventions, a bounce's null
/// return path), if it does.
fn automatic(
    auto_submitted: Option<&str>,
    precedence: Option<&str>,
    x_autoreply: bool,
    return_path: Option<&str>,
) -> Option<String> {
    if let Some(a) = auto_submitted.filter(|a| !a.starts_with("no")) {
        return Some(format!("Auto-Submitted: {a}"));
    }
    if let Some(p) = precedence.filter(|p| matches!(*p, "bulk" | "auto_reply" | "junk" | "list")) {
        return Some(format!("Precedence: {p}"));
    }
    if x_autoreply {
        return Some("X-Autoreply".into());
    }
    if return_path.is_some_and(|r| r == "<>") {
        return Some("a null Return-Path (a bounce)".into());
    }
    None
}

/// A mail starts with header lines (`Name: value`) and has a blank line
/// before its body (or no body at all).
fn has_header_block(raw: &[u8]) -> bool {
    let first = raw.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let Some(colon) = first.iter().position(|b| *b == b':') else {
        return false;
    };
    colon > 0
        && first[..colon]
            .iter()
            .all(|b| b.is_ascii_graphic() && *b != b':')
}

/// Every multipart part names a boundary that its body has.
fn check_multiparts(msg: &mail_parser::Message<'_>, raw: &[u8]) -> Result<(), Malformed> {
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        if !ct.ctype().eq_ignore_ascii_case("multipart") {
            continue;
        }
        let Some(boundary) = ct.attribute("boundary").filter(|b| !b.is_empty()) else {
            return Err(Malformed::NoBoundary);
        };
        let delimiter = format!("--{boundary}");
        if !contains(raw, delimiter.as_bytes()) {
            return Err(Malformed::NoBoundary);
        }
    }
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "From: Ann <Ann@Example.COM>\r\n\
To: Kefu <support+tok@kefu.example>\r\n\
Cc: other@example.com\r\n\
Delivered-To: support+tok@kefu.example\r\n\
Message-ID: <abc.123@mail.example.com>\r\n\
In-Reply-To: <kefu.c1.j1@kefu.example>\r\n\
References: <kefu.c1.j0@kefu.example> <kefu.c1.j1@kefu.example>\r\n\
Subject: Re: your chat\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Thanks!\r\n\
\r\n\
On Thu, Dec 3, 2026 at 9:14 AM Kefu wrote:\r\n\
> Hello\r\n";

    /// The fields kefu reads, with the quote stripped.
    #[test]
    fn a_plain_reply() {
        let m = parse(REPLY.as_bytes()).expect("parses");
        assert_eq!(m.message_id, "abc.123@mail.example.com");
        assert_eq!(m.from, "ann@example.com");
        assert_eq!(m.from_name.as_deref(), Some("Ann"));
        assert_eq!(
            m.recipients,
            [
                "support+tok@kefu.example",
                "other@example.com",
                "support+tok@kefu.example"
            ]
        );
        assert_eq!(
            m.answers,
            [
                "kefu.c1.j1@kefu.example",
                "kefu.c1.j0@kefu.example",
                "kefu.c1.j1@kefu.example"
            ]
        );
        assert_eq!(m.automatic, None);
        assert_eq!(m.text, "Thanks!");
        assert!(m.attachments.is_empty());
    }

    /// HTML only: read as text; quoted-printable and base64 decoded; an
    /// attachment kept with its name, an inline image not.
    #[test]
    fn html_and_attachments() {
        let mail = "From: a@example.com\r\n\
To: s+t@k.example\r\n\
Message-ID: <m2@example.com>\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: multipart/related; boundary=\"YY\"\r\n\
\r\n\
--YY\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><body><p>Caf=C3=A9 <b>ok</b></p><img src=3D\"cid:logo\"></body></html>\r\n\
--YY\r\n\
Content-Type: image/png\r\n\
Content-ID: <logo>\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
iVBORw0KGgo=\r\n\
--YY--\r\n\
--XX\r\n\
Content-Type: text/plain; name=\"notes.txt\"\r\n\
Content-Disposition: attachment; filename=\"notes.txt\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
aGVsbG8gZmlsZQ==\r\n\
--XX--\r\n";
        let m = parse(mail.as_bytes()).expect("parses");
        assert!(m.text.contains("Café"), "{:?}", m.text);
        assert!(m.text.contains("ok"), "{:?}", m.text);
        assert!(!m.text.contains('<'), "no markup: {:?}", m.text);
        assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
        assert_eq!(m.attachments[0].name, "notes.txt");
        assert_eq!(m.attachments[0].bytes, b"hello file");
    }

    /// Out-of-office and bounces are recognised.
    #[test]
    fn automatic_mail() {
        let with = |h: &str| format!("{h}\r\n{REPLY}");
        for h in [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "Precedence: auto_reply",
            "X-Autoreply: yes",
            "Return-Path: <>",
        ] {
            let m = parse(with(h).as_bytes()).expect("parses");
            assert!(m.automatic.is_some(), "{h}");
        }
        let m = parse(with("Auto-Submitted: no").as_bytes()).expect("parses");
        assert_eq!(m.automatic, None);
    }

    /// Malformed mail is refused: no headers, no From, a multipart body
    /// without its boundary, too large.
    #[test]
    fn malformed_mail() {
        assert_eq!(
            parse(b"just some bytes\n\nhello"),
            Err(Malformed::NoHeaders)
        );
        assert_eq!(parse(b""), Err(Malformed::NoHeaders));
        assert_eq!(
            parse(b"Subject: hi\r\nTo: a@b.example\r\n\r\nbody"),
            Err(Malformed::NoFrom)
        );
        let no_boundary = "From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nbody";
        assert_eq!(parse(no_boundary.as_bytes()), Err(Malformed::NoBoundary));
        let wrong = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n--QQ\r\n\r\nx\r\n--QQ--";
        assert_eq!(parse(wrong.as_bytes()), Err(Malformed::NoBoundary));
        let big = vec![b'a'; MAX_INBOUND_MAIL_BYTES + 1];
        assert!(matches!(parse(&big), Err(Malformed::TooLarge(_))));
    }

    /// Without a Message-ID the same bytes get the same id.
    #[test]
    fn message_id_fallback() {
        let mail = "From: a@example.com\r\n\r\nhi";
        let a = parse(mail.as_bytes()).expect("parses");
        let b = parse(mail.as_bytes()).expect("parses");
        assert!(a.message_id.starts_with("sha256:"));
        assert_eq!(a.message_id, b.message_id);
    }
}
