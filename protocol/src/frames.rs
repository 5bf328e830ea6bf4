//! The frames. Every frame is one JSON object with a `type` field; the same
//! frames travel over WebSocket (one per text message) and long-poll (arrays
//! in HTTP bodies).
//!
//! Client → relay: [`ClientFrame`]. Relay → client: [`ServerFrame`].
//! [`ClientFrame::parse`] is the only way the relay reads client input: it
//! bounds the size, parses, and validates every field against `limits`.

use crate::error::ErrorCode;
use crate::ids::*;
use crate::limits::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who is talking: a visitor on a site, or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visitor,
    Agent,
}

/// Which side of a conversation an event or notice comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Visitor,
    Agent,
    System,
}

/// Identity the host page passes through the widget (`kefu('identify', …)`).
/// With `user_hash = HMAC-SHA256(site_secret, id)` the relay marks it verified.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Custom attributes: string, number or boolean values only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Only on the way in; the relay never echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
}

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
    /// Heartbeat; answered with `pong`.
    Ping,
    /// Answer to a relay `ping`.
    Pong,
}

/// One stored event of a conversation. `seq` is per conversation, starts at
/// 1, and has no gaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub conv: ConvId,
    pub seq: u64,
    /// Milliseconds since the Unix epoch, relay clock.
    pub ts: u64,
    #[serde(flatten)]
    pub body: EventBody,
}

/// Who wrote something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub side: Side,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    Message {
        from: Author,
        cid: Cid,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<Attachment>,
    },
    Closed {
        by: Author,
    },
    Reopened {
        by: Author,
    },
    /// Assigned to an agent (`to`), or unassigned (`to` absent).
    Assigned {
        by: Author,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Author>,
    },
}

/// The kinds of file a site accepts; the type is sniffed from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileClass {
    /// PNG, JPEG, GIF, WebP (shown inline) and SVG (a download only).
    Image,
    Pdf,
    /// Word, Excel, PowerPoint (OOXML and legacy), OpenDocument, RTF.
    Office,
    /// UTF-8 text (also CSV, logs, …); always a download.
    Text,
}

impl FileClass {
    pub const ALL: [FileClass; 4] = [
        FileClass::Image,
        FileClass::Pdf,
        FileClass::Office,
        FileClass::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileClass::Image => "image",
            FileClass::Pdf => "pdf",
            FileClass::Office => "office",
            FileClass::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<FileClass> {
        FileClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A stored upload as messages carry it. The bytes are at
/// `GET /v1/files/{id}` and, when `thumb` is set, a small preview at
/// `GET /v1/files/{id}/thumb` (both need the reader's credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: FileId,
    /// The uploader's file name, cleaned (no path, no control characters).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Sniffed from the content, never the client's claim.
    pub mime: String,
    pub class: FileClass,
    /// Shown inline: a raster image with a server-made thumbnail.
    #[serde(default)]
    pub thumb: bool,
    /// Pixel size of an inline image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// What a client needs to list a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvSummary {
    pub id: ConvId,
    pub site: SiteId,
    pub visitor: VisitorId,
    pub open: bool,
    pub last_seq: u64,
    pub created: u64,
    pub updated: u64,
    /// Highest seq the visitor / the agents have marked read.
    pub visitor_read: u64,
    pub agent_read: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// The agent handling the conversation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AgentId>,
}

/// Where a visitor is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    pub url: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// When they arrived on it (ms since epoch).
    pub at: u64,
}

/// A visitor as agents see them in the live list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorInfo {
    pub id: VisitorId,
    pub site: SiteId,
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageInfo>,
    /// Page views in this visit.
    pub pages: u32,
    /// When this visit started (ms since epoch).
    pub since: u64,
    /// Visits so far (1 on the first).
    pub visits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Where the launcher sits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Left,
    #[default]
    Right,
}

/// A site's widget appearance and texts, set by its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WidgetSettings {
    /// Accent colour, `#rrggbb`.
    pub color: String,
    pub position: Position,
    /// First bubble a visitor sees. Empty: the built-in text for the language.
    #[serde(default)]
    pub greeting: String,
    /// Shown while no agent is online. Empty: the built-in text.
    #[serde(default)]
    pub offline_message: String,
    /// `en` or `zh-CN`; absent: from the visitor's browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Agents see what a visitor is typing before it is sent. Off by
    /// default: the widget sends no draft text unless this is on.
    #[serde(default)]
    pub draft_preview: bool,
    /// File kinds visitors and agents may attach. Absent: the relay's
    /// default (`--file-types`); empty: attachments off for the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_types: Option<Vec<FileClass>>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            color: "#0b6e4f".into(),
            position: Position::Right,
            greeting: String::new(),
            offline_message: String::new(),
            language: None,
            draft_preview: false,
            file_types: None,
        }
    }
}

/// The relay's answer to a good `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub v: u32,
    pub role: Role,
    /// How often the client should `ping` (ms).
    pub heartbeat_ms: u64,
    /// Visitor: its id and the token to present next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<VisitorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Visitor: its conversations. Agent: empty (see `conversations`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub convs: Vec<ConvSummary>,
    /// Agent: who they are and the sites they may subscribe to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteId>,
    /// Whether any agent is online for the visitor's site right now.
    #[serde(default)]
    pub agents_online: bool,
    /// Visitor: the site's widget settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<WidgetSettings>,
}

/// Frames the relay sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome(Welcome),
    /// The message with this cid is durable as `seq` in `conv`.
    Ack {
        cid: Cid,
        conv: ConvId,
        seq: u64,
    },
    /// A stored conversation event (live or replayed).
    Event(Event),
    /// A replay of `conv` has been sent up to `seq`; `more` asks the client
    /// to `sync` again from there.
    Synced {
        conv: ConvId,
        seq: u64,
        more: bool,
    },
    Typing {
        conv: ConvId,
        side: Side,
        on: bool,
        /// Agents only: the visitor's draft, when the site allows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    Read {
        conv: ConvId,
        side: Side,
        seq: u64,
    },
    /// Agent: a site's live visitors and conversations (answer to subscribe).
    Snapshot {
        site: SiteId,
        visitors: Vec<VisitorInfo>,
        convs: Vec<ConvSummary>,
    },
    /// Agent: a visitor came online or changed page.
    Presence {
        visitor: VisitorInfo,
    },
    /// Agent: a visitor went offline (after the grace period).
    Offline {
        site: SiteId,
        visitor: VisitorId,
    },
    /// Agent: a new conversation exists (or its summary changed).
    Conv {
        conv: ConvSummary,
    },
    /// Visitor: whether any agent is online for its site.
    Agents {
        online: bool,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<Cid>,
    },
    Ping,
    Pong,
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            cid: None,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain data types cannot fail (string keys only).
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"encode"}"#.to_string()
        })
    }
}

/// A refused client frame: the code and a message that names the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

impl FrameError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

fn too_long(field: &str, len: usize, max: usize) -> Result<(), FrameError> {
    if len > max {
        Err(FrameError::new(
            ErrorCode::TooLarge,
            format!("{field} is {len} bytes, at most {max} allowed"),
        ))
    } else {
        Ok(())
    }
}

fn bad(message: impl Into<String>) -> FrameError {
    FrameError::new(ErrorCode::BadFrame, message)
}

/// Message text: non-empty after trimming, bounded, no NUL.
pub fn validate_text(text: &str) -> Result<(), FrameError> {
    too_long("text", text.len(), MAX_TEXT_BYTES)?;
    if text.trim().is_empty() {
        return Err(bad("text is empty"));
    }
    if text.contains('\0') {
        return Err(bad("text holds a NUL character"));
    }
    Ok(())
}

fn validate_url(field: &str, url: &str) -> Result<(), FrameError> {
    too_long(field, url.len(), MAX_URL_BYTES)?;
    if url.contains(char::is_control) {
        return Err(bad(format!("{field} holds control characters")));
    }
    Ok(())
}

/// Bounds on host-supplied identity.
pub fn validate_user(user: &UserInfo) -> Result<(), FrameError> {
    if let Some(id) = &user.id {
        too_long("user.id", id.len(), MAX_ID_BYTES * 2)?;
        if id.is_empty() || id.contains(char::is_control) {
            return Err(bad("user.id is empty or holds control characters"));
        }
    }
    if let Some(name) = &user.name {
        too_long("user.name", name.len(), MAX_NAME_BYTES)?;
    }
    if let Some(email) = &user.email {
        too_long("user.email", email.len(), MAX_EMAIL_BYTES)?;
    }
    if let Some(hash) = &user.user_hash {
        too_long("user.user_hash", hash.len(), 128)?;
    }
    if user.attributes.len() > MAX_ATTRIBUTES {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!(
                "user.attributes has {} entries, at most {MAX_ATTRIBUTES} allowed",
                user.attributes.len()
            ),
        ));
    }
    for (k, v) in &user.attributes {
        too_long("attribute key", k.len(), MAX_ATTR_KEY_BYTES)?;
        match v {
            serde_json::Value::String(s) => {
                too_long("attribute value", s.len(), MAX_ATTR_VALUE_BYTES)?
            }
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
            }
            _ => {
                return Err(bad(format!(
                    "attribute {k:?} must be a string, number or boolean"
                )))
            }
        }
    }
    Ok(())
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
            ClientFrame::Send { text, .. } | ClientFrame::Invite { text, .. } => {
                validate_text(text)
            }
            ClientFrame::Typing { text: Some(t), .. } => {
                too_long("text", t.len(), MAX_TEXT_BYTES)?;
                if t.contains('\0') {
                    return Err(bad("text holds a NUL character"));
                }
                Ok(())
            }
            ClientFrame::Typing { text: None, .. }
            | ClientFrame::Status { .. }
            | ClientFrame::Read { .. }
            | ClientFrame::Sync { .. }
            | ClientFrame::Subscribe { .. }
            | ClientFrame::Close { .. }
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
    "ping",
    "pong",
];

#[cfg(test)]
mod tests {
    use super::*;

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
    fn user_attributes_are_bounded() {
        let mut u = UserInfo::default();
        for i in 0..=MAX_ATTRIBUTES {
            u.attributes.insert(format!("k{i}"), serde_json::json!(i));
        }
        assert_eq!(
            validate_user(&u).expect_err("must be refused").code,
            ErrorCode::TooLarge
        );
        let mut u = UserInfo::default();
        u.attributes
            .insert("k".into(), serde_json::json!({"nested": 1}));
        assert_eq!(
            validate_user(&u).expect_err("must be refused").code,
            ErrorCode::BadFrame
        );
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

    #[test]
    fn server_frames_round_trip() {
        let ev = ServerFrame::Event(Event {
            conv: ConvId::new("c1").expect("id"),
            seq: 7,
            ts: 1,
            body: EventBody::Message {
                from: Author {
                    side: Side::Visitor,
                    id: "v1".into(),
                    name: None,
                },
                cid: Cid::new("m1").expect("id"),
                text: "<b>hi</b>".into(),
                file: None,
            },
        });
        let json = ev.to_json();
        assert!(json.contains(r#""type":"event""#) && json.contains(r#""kind":"message""#));
        let back: ServerFrame = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, ev);
    }
}
