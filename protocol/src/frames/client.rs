//! Frames a client sends, and [`ClientFrame::parse`]: the only way the
//! relay reads client input.

use super::records::*;
use super::validate::*;
use crate::error::ErrorCode;
use crate::ids::*;
use crate::limits::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `hello`: the first frame on every connection.
///
/// Visitor: `{"type":"hello","v":1,"role":"visitor","site":"demo","visitor":"v1",
/// "token":null,"cursors":{"<conv>":12}}`. Agent: `{"type":"hello","v":1,
/// "role":"agent","token":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub v: u32,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<VisitorId>,
    /// Visitor: the signed token from an earlier `welcome` (absent on first
    /// contact). Agent: the session token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
    /// The last `seq` the client applied, per conversation: the relay replays
    /// everything after it, then goes live.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cursors: BTreeMap<ConvId, u64>,
    /// Visitor: the team a new conversation goes to (`kefu('set', {team})`);
    /// one the site does not have is refused with an error frame and the
    /// visitor is routed site-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// Visitor: where the widget runs, `web` (absent: the site's pages) or
    /// `page` (the hosted chat page). The visitor's record keeps the latest
    /// hello's; `wechat` is the bridge's own and refused here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Visitor: the language the widget would speak on its own — the host
    /// page's `data-lang`, else the browser's (a BCP 47 tag). The relay
    /// resolves the one language of the visitor's texts from it and the
    /// site's `widget.language` ([`WidgetSettings::for_visitor`](crate::WidgetSettings::for_visitor)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// A page view (visitor only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello(Hello),
    /// Visitor: the page they are on now.
    Page(PageView),
    /// Send a message. Visitors may omit `conv` (their open conversation, or
    /// a new one); agents must name it. Acked with `ack {cid, conv, seq}`
    /// once durable; the same cid again gets the same ack.
    Send {
        cid: Cid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<ConvId>,
        /// May be empty when `file` is set (a caption is optional).
        #[serde(default)]
        text: String,
        /// An upload of the sender's (`POST /v1/files`) to attach.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<FileId>,
    },
    /// Typing started (`on: true`) or stopped. Never stored. A visitor's
    /// widget adds its unsent `text` (the draft preview) only when the
    /// site's `draft_preview` setting is on; the relay drops it otherwise.
    Typing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<ConvId>,
        on: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// The client has shown everything up to `seq` to its human.
    Read {
        conv: ConvId,
        seq: u64,
    },
    /// Replay `conv` after `after`, then stay live on it.
    Sync {
        conv: ConvId,
        after: u64,
    },
    /// Agent: receive a site's live visitors and conversation events.
    Subscribe {
        site: SiteId,
    },
    /// Agent: start a conversation with a visitor (proactive chat). The text
    /// is the first message; acked like `send`.
    Invite {
        site: SiteId,
        visitor: VisitorId,
        cid: Cid,
        text: String,
    },
    /// Agent: a private note in a conversation, seen by agents only;
    /// acked like `send` (same cid, same ack).
    Note {
        cid: Cid,
        conv: ConvId,
        text: String,
    },
    /// Visitor: the team its next conversation is routed to (`None`: the
    /// whole site), as the host page set it after `hello`.
    Team {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<TeamId>,
    },
    /// Agent: close a conversation (an event every side sees).
    Close {
        conv: ConvId,
    },
    /// Agent: own availability. `away: true` keeps the agent subscribed
    /// (it still sees everything) but visitors no longer count it as
    /// online; every connection starts available.
    Status {
        away: bool,
    },
    /// Agent: whether this console tab is visible to its human
    /// (`document.visibilityState`). Every connection starts visible; Web
    /// Push reaches an agent only while none of their connections is.
    Visible {
        visible: bool,
    },
    /// Agent: the conversation this console tab shows now (`None`: none).
    /// The site's other agents see who is viewing each conversation
    /// (`viewers`); the relay forgets it when the connection ends.
    Viewing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<ConvId>,
    },
    /// Visitor: its answer to the offline or pre-chat form. Stored on its
    /// profile (name, email, phone, fields as attributes), durably, then
    /// answered with `saved {cid}` (the same cid again: the same answer).
    /// When the visitor has an open conversation (`conv`, or its latest
    /// open one) a `contacted` event is appended there too, so agents see
    /// when it was given. A pre-chat form is usually answered before any
    /// conversation exists: then the profile alone holds it.
    Contact {
        cid: Cid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<ConvId>,
        #[serde(flatten)]
        contact: crate::offline::Contact,
    },
    /// Visitor: rates a conversation an agent closed; acked like `send`.
    Rate {
        cid: Cid,
        conv: ConvId,
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Visitor: "Email me this chat" — the transcript goes to its contact
    /// email (`email` sets it first). Answered with `mailed {conv}` once
    /// the mail is queued, or an error frame.
    Transcript {
        conv: ConvId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// Heartbeat; answered with `pong`.
    Ping,
    /// Answer to a relay `ping`.
    Pong,
}

/// A long-poll POST body → the texts of its frames: one JSON object, or an
/// array of at most [`MAX_FRAMES_PER_POST`] objects. Each text is then read
/// with [`ClientFrame::parse`], like a WebSocket message.
pub fn split_post_body(body: &[u8]) -> Result<Vec<String>, FrameError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| FrameError::new(ErrorCode::BadJson, "body is not UTF-8"))?;
    if !text.trim_start().starts_with('[') {
        return Ok(vec![text.to_string()]);
    }
    let raw: Vec<Box<serde_json::value::RawValue>> = serde_json::from_str(text).map_err(|e| {
        FrameError::new(
            ErrorCode::BadJson,
            format!("body is not a JSON array of frames: {e}"),
        )
    })?;
    if raw.len() > MAX_FRAMES_PER_POST {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!("at most {MAX_FRAMES_PER_POST} frames per request"),
        ));
    }
    Ok(raw.into_iter().map(|r| r.get().to_string()).collect())
}

impl ClientFrame {
    /// Reads one client frame from JSON text: size bound, parse, validate.
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        too_long("frame", text.len(), MAX_FRAME_BYTES)?;
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => return Err(classify(text, e)),
        };
        frame.validate()?;
        Ok(frame)
    }

    /// Checks every field against `limits`.
    pub fn validate(&self) -> Result<(), FrameError> {
        match self {
            ClientFrame::Hello(h) => {
                if h.cursors.len() > MAX_CURSORS {
                    return Err(FrameError::new(
                        ErrorCode::TooLarge,
                        format!("at most {MAX_CURSORS} cursors"),
                    ));
                }
                if let Some(t) = &h.token {
                    too_long("token", t.len(), 256)?;
                }
                if let Some(u) = &h.user {
                    validate_user(u)?;
                }
                // Only bounded: the tag picks a language and is neither
                // stored nor echoed, and a host page's odd `data-lang`
                // ("zh_CN") must not cost its visitors the chat.
                if let Some(l) = &h.lang {
                    too_long("lang", l.len(), MAX_LANGUAGE_TAG_BYTES)?;
                }
                if h.channel == Some(Channel::Wechat) {
                    return Err(FrameError::new(
                        ErrorCode::BadFrame,
                        "channel must be web or page",
                    ));
                }
                match h.role {
                    Role::Visitor if h.site.is_none() || h.visitor.is_none() => {
                        Err(bad("a visitor hello needs site and visitor"))
                    }
                    Role::Agent if h.token.is_none() => Err(bad("an agent hello needs token")),
                    _ => Ok(()),
                }
            }
            ClientFrame::Page(p) => {
                validate_url("url", &p.url)?;
                if p.url.is_empty() {
                    return Err(bad("url is empty"));
                }
                // Nothing but web pages is recorded; a referrer that is not
                // one (android-app://, about:) is dropped by the relay.
                if !is_web_url(&p.url) {
                    return Err(bad("url must be an http:// or https:// URL"));
                }
                too_long("title", p.title.len(), MAX_TITLE_BYTES)?;
                if let Some(r) = &p.referrer {
                    validate_url("referrer", r)?;
                }
                Ok(())
            }
            ClientFrame::Send {
                text,
                file: Some(_),
                ..
            } => {
                // A caption is optional next to a file.
                too_long("text", text.len(), MAX_TEXT_BYTES)?;
                if text.contains('\0') {
                    return Err(bad("text holds a NUL character"));
                }
                Ok(())
            }
            ClientFrame::Send { text, .. }
            | ClientFrame::Invite { text, .. }
            | ClientFrame::Note { text, .. } => validate_text(text),
            ClientFrame::Typing { text: Some(t), .. } => {
                too_long("text", t.len(), MAX_TEXT_BYTES)?;
                if t.contains('\0') {
                    return Err(bad("text holds a NUL character"));
                }
                Ok(())
            }
            ClientFrame::Contact { contact, .. } => validate_contact(contact),
            ClientFrame::Rate { score, comment, .. } => {
                if !(1..=5).contains(score) {
                    return Err(bad("score must be 1–5"));
                }
                if let Some(c) = comment {
                    too_long("comment", c.len(), MAX_RATING_COMMENT_BYTES)?;
                    if c.contains('\0') {
                        return Err(bad("comment holds a NUL character"));
                    }
                }
                Ok(())
            }
            ClientFrame::Transcript { email, .. } => match email {
                Some(e) if !crate::api::valid_email(e) || has_control(e) => {
                    Err(bad("email is not an address"))
                }
                _ => Ok(()),
            },
            ClientFrame::Typing { text: None, .. }
            | ClientFrame::Status { .. }
            | ClientFrame::Visible { .. }
            | ClientFrame::Viewing { .. }
            | ClientFrame::Read { .. }
            | ClientFrame::Sync { .. }
            | ClientFrame::Subscribe { .. }
            | ClientFrame::Close { .. }
            | ClientFrame::Team { .. }
            | ClientFrame::Ping
            | ClientFrame::Pong => Ok(()),
        }
    }
}

/// Turns a serde error into the right code: not JSON at all, an unknown
/// `type`, or a known type with bad fields.
fn classify(text: &str, err: serde_json::Error) -> FrameError {
    #[derive(Deserialize)]
    struct TypeOnly {
        #[serde(rename = "type")]
        ty: Option<serde_json::Value>,
    }
    match serde_json::from_str::<TypeOnly>(text) {
        Err(e) => FrameError::new(ErrorCode::BadJson, format!("not a JSON object: {e}")),
        Ok(TypeOnly { ty: None }) => bad("frame has no type"),
        Ok(TypeOnly {
            ty: Some(serde_json::Value::String(t)),
        }) if !KNOWN_TYPES.contains(&t.as_str()) => {
            let shown: String = t.chars().take(32).collect();
            FrameError::new(
                ErrorCode::UnknownFrame,
                format!("unknown frame type {shown:?}"),
            )
        }
        Ok(_) => bad(format!("invalid frame: {err}")),
    }
}

const KNOWN_TYPES: &[&str] = &[
    "hello",
    "page",
    "send",
    "status",
    "typing",
    "read",
    "sync",
    "subscribe",
    "invite",
    "close",
    "note",
    "team",
    "viewing",
    "visible",
    "contact",
    "rate",
    "transcript",
    "ping",
    "pong",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A visitor hello's channel: absent (the site's pages), `web` or
    /// `page`; `wechat` belongs to the bridge and is refused, as is
    /// anything else.
    #[test]
    fn a_hello_names_web_or_page_as_its_channel() {
        let hello = |extra: &str| {
            let text = [
                r#"{"type":"hello","v":1,"role":"visitor","site":"demo","visitor":"v1""#,
                extra,
                "}",
            ]
            .concat();
            match ClientFrame::parse(&text) {
                Ok(ClientFrame::Hello(h)) => Ok(h.channel),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.code),
            }
        };
        assert_eq!(hello(""), Ok(None));
        assert_eq!(hello(r#","channel":"web""#), Ok(Some(Channel::Web)));
        assert_eq!(hello(r#","channel":"page""#), Ok(Some(Channel::Page)));
        assert_eq!(hello(r#","channel":null"#), Ok(None));
        assert_eq!(hello(r#","channel":"wechat""#), Err(ErrorCode::BadFrame));
        assert!(hello(r#","channel":"sms""#).is_err());
    }

    /// Every frame type is known to the error classifier: a new variant
    /// fails to compile here until it is listed (the match has no `_`).
    #[test]
    fn every_frame_type_is_known() {
        let kind = |f: &ClientFrame| match f {
            ClientFrame::Hello(_) => "hello",
            ClientFrame::Page(_) => "page",
            ClientFrame::Send { .. } => "send",
            ClientFrame::Typing { .. } => "typing",
            ClientFrame::Read { .. } => "read",
            ClientFrame::Sync { .. } => "sync",
            ClientFrame::Subscribe { .. } => "subscribe",
            ClientFrame::Invite { .. } => "invite",
            ClientFrame::Close { .. } => "close",
            ClientFrame::Note { .. } => "note",
            ClientFrame::Team { .. } => "team",
            ClientFrame::Status { .. } => "status",
            ClientFrame::Visible { .. } => "visible",
            ClientFrame::Viewing { .. } => "viewing",
            ClientFrame::Contact { .. } => "contact",
            ClientFrame::Rate { .. } => "rate",
            ClientFrame::Transcript { .. } => "transcript",
            ClientFrame::Ping => "ping",
            ClientFrame::Pong => "pong",
        };
        let frames = [
            ClientFrame::Contact {
                cid: Cid::new("c1").expect("cid"),
                conv: None,
                contact: crate::offline::Contact::default(),
            },
            ClientFrame::Rate {
                cid: Cid::new("c2").expect("cid"),
                conv: ConvId::new("k1").expect("conv"),
                score: 5,
                comment: None,
            },
            ClientFrame::Transcript {
                conv: ConvId::new("k1").expect("conv"),
                email: None,
            },
            ClientFrame::Visible { visible: false },
            ClientFrame::Viewing { conv: None },
            ClientFrame::Status { away: true },
            ClientFrame::Team { team: None },
            ClientFrame::Ping,
            ClientFrame::Pong,
        ];
        for f in &frames {
            let json = serde_json::to_value(f).expect("serializes");
            assert_eq!(json["type"], kind(f));
            assert!(KNOWN_TYPES.contains(&kind(f)), "{} missing", kind(f));
        }
    }

    /// A form answer reads flat (`form`, `email` … beside `type` and
    /// `cid`); a bad address, a control character or a phone with letters
    /// is refused.
    #[test]
    fn a_contact_frame_reads_flat_and_refuses_bad_fields() {
        let f = ClientFrame::parse(
            r#"{"type":"contact","cid":"c1","form":"offline","email":"ada@example.com","name":"Ada","fields":{"plan":"pro"}}"#,
        )
        .expect("valid contact");
        let ClientFrame::Contact { contact, .. } = f else {
            panic!("not contact")
        };
        assert_eq!(contact.form, crate::offline::FormKind::Offline);
        assert_eq!(contact.email.as_deref(), Some("ada@example.com"));
        assert_eq!(contact.fields.get("plan").map(String::as_str), Some("pro"));
        for bad in [
            r#"{"type":"contact","cid":"c1","form":"offline","email":"not-an-address"}"#,
            r#"{"type":"contact","cid":"c1","form":"offline","email":"a@b.co\r\nBcc: x@y.z"}"#,
            r#"{"type":"contact","cid":"c1","form":"prechat","name":"Ada\nBcc"}"#,
            r#"{"type":"contact","cid":"c1","form":"prechat","phone":"call me"}"#,
            r#"{"type":"contact","cid":"c1","form":"prechat","fields":{"Bad Key":"x"}}"#,
            r#"{"type":"rate","cid":"c1","conv":"k1","score":6}"#,
            r#"{"type":"rate","cid":"c1","conv":"k1","score":0}"#,
            r#"{"type":"transcript","conv":"k1","email":"x"}"#,
        ] {
            assert!(ClientFrame::parse(bad).is_err(), "{bad}");
        }
        assert!(ClientFrame::parse(
            r#"{"type":"rate","cid":"c1","conv":"k1","score":4,"comment":"quick"}"#
        )
        .is_ok());
    }

    #[test]
    fn parses_a_visitor_hello_with_cursors() {
        let f = ClientFrame::parse(
            r#"{"type":"hello","v":1,"role":"visitor","site":"demo","visitor":"v1","cursors":{"01ABC":3}}"#,
        )
        .expect("valid hello");
        let ClientFrame::Hello(h) = f else {
            panic!("not hello")
        };
        assert_eq!(h.site.as_ref().map(|s| s.as_str()), Some("demo"));
        assert_eq!(h.cursors.values().copied().collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn classifies_bad_input() {
        assert_eq!(
            ClientFrame::parse("{nope")
                .expect_err("must be refused")
                .code,
            ErrorCode::BadJson
        );
        assert_eq!(
            ClientFrame::parse("[1]").expect_err("must be refused").code,
            ErrorCode::BadFrame
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"launch_missiles"}"#)
                .expect_err("must be refused")
                .code,
            ErrorCode::UnknownFrame
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"send","cid":"a b","text":"x"}"#)
                .expect_err("must be refused")
                .code,
            ErrorCode::BadFrame
        );
        let big = format!(
            r#"{{"type":"send","cid":"a","text":"{}"}}"#,
            "x".repeat(MAX_TEXT_BYTES + 1)
        );
        assert_eq!(
            ClientFrame::parse(&big).expect_err("must be refused").code,
            ErrorCode::TooLarge
        );
        let huge = "x".repeat(MAX_FRAME_BYTES + 1);
        assert_eq!(
            ClientFrame::parse(&huge).expect_err("must be refused").code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"send","cid":"a","text":"   "}"#)
                .expect_err("must be refused")
                .code,
            ErrorCode::BadFrame
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"hello","v":1,"role":"visitor"}"#)
                .expect_err("must be refused")
                .code,
            ErrorCode::BadFrame
        );
    }

    #[test]
    fn page_urls_must_be_web_urls() {
        let e = ClientFrame::parse(r#"{"type":"page","url":"javascript:alert(1)","title":"x"}"#)
            .expect_err("not a web page");
        assert_eq!(e.code, ErrorCode::BadFrame);
        assert!(e.message.contains("http"), "{}", e.message);
        let f = ClientFrame::parse(
            r#"{"type":"page","url":"https://a.example/","referrer":"android-app://x"}"#,
        );
        assert!(
            f.is_ok(),
            "a strange referrer is dropped later, not refused"
        );
        let v = ClientFrame::parse(r#"{"type":"viewing"}"#).expect("viewing none");
        assert_eq!(v, ClientFrame::Viewing { conv: None });
    }

    #[test]
    fn a_file_message_may_have_no_caption() {
        let f = ClientFrame::parse(r#"{"type":"send","cid":"m1","file":"0123abcd"}"#)
            .expect("a file alone is a message");
        assert!(matches!(f, ClientFrame::Send { file: Some(_), .. }));
        let e = ClientFrame::parse(r#"{"type":"send","cid":"m1","text":" "}"#)
            .expect_err("no text, no file");
        assert_eq!(e.code, ErrorCode::BadFrame);
        let e = ClientFrame::parse(r#"{"type":"send","cid":"m1","file":"../x"}"#)
            .expect_err("file ids are ids");
        assert_eq!(e.code, ErrorCode::BadFrame);
    }
}
