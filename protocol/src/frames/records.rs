//! The records frames carry: who is talking, events and their authors,
//! attachments, conversation and visitor summaries, widget settings.

use crate::ids::*;
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
    /// Assigned to an agent (`to`), or unassigned (`to` absent). Every
    /// routing decision is one of these, with its `reason`; `by` is the
    /// agent who acted, or `side: system, id: "routing"` for the relay's
    /// own decisions. `team`: the conversation's team after the change.
    Assigned {
        by: Author,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Author>,
        /// Absent on events stored before routing existed (manual).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<AssignReason>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<TeamId>,
    },
    /// A private note: agents only. Never sent to the visitor, on any
    /// transport, in any replay or API answer.
    Note {
        from: Author,
        cid: Cid,
        text: String,
    },
    /// A label added (`on`) to the conversation or removed; agents only.
    Labeled {
        by: Author,
        label: String,
        on: bool,
    },
    /// The visitor rated the conversation (`rate` frame): a score the
    /// site's [`RatingScale`](crate::offline::RatingScale) allows, 1–5
    /// (thumbs: 1 or 5). A later rating of the same conversation replaces
    /// the earlier one in stats.
    Rated {
        by: Author,
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// The site's automatic answer outside business hours. Not a message
    /// from an agent: it takes no conversation and is no first response.
    AutoReply {
        text: String,
    },
    /// The visitor filled in the offline or the pre-chat form; what they
    /// gave is on their profile (the event says only which form, so the
    /// history shows when).
    Contacted {
        form: crate::offline::FormKind,
    },
}

impl EventBody {
    /// Events only agents ever see: a visitor's replay skips them (its seqs
    /// then have gaps, which its cursor treats like any other advance).
    pub fn agents_only(&self) -> bool {
        matches!(self, EventBody::Note { .. } | EventBody::Labeled { .. })
    }
}

/// Why a conversation changed hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignReason {
    /// An agent assigned or unassigned it in the console or the API.
    Manual,
    /// Transferred to another agent or to a team.
    Transfer,
    /// An agent replied to (or invited) an unassigned conversation.
    Reply,
    /// Auto-assignment: the available agent with the fewest open
    /// conversations, under their capacity.
    Auto,
    /// The assigned agent left a visitor message unanswered longer than
    /// the site allows.
    NoAnswer,
    /// The assigned agent went away or offline with the visitor waiting.
    Away,
}

impl AssignReason {
    /// How the console reads it: "assigned to Ada by auto-assignment".
    pub fn phrase(self) -> &'static str {
        match self {
            AssignReason::Manual => "by hand",
            AssignReason::Transfer => "by transfer",
            AssignReason::Reply => "by replying",
            AssignReason::Auto => "by auto-assignment",
            AssignReason::NoAnswer => "after no answer",
            AssignReason::Away => "as the agent went away",
        }
    }
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

/// Where a visitor talks from. Agents see it in the inbox and profile;
/// replies go back the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The widget (or `fallback.js`) on the site's own pages.
    #[default]
    Web,
    /// The hosted chat page `/chat/{site}` (app WebViews, menu links, QR
    /// codes, email links).
    Page,
    /// A WeChat Official Account follower, through the bridge.
    Wechat,
}

impl Channel {
    pub fn is_web(&self) -> bool {
        *self == Channel::Web
    }
}

/// A WeChat conversation's reply window: WeChat takes customer-service
/// replies only within [`WECHAT_WINDOW_MS`](crate::limits::WECHAT_WINDOW_MS)
/// of the follower's last message, at most
/// [`WECHAT_REPLIES_PER_WINDOW`](crate::limits::WECHAT_REPLIES_PER_WINDOW)
/// of them; the relay refuses a reply the window does not admit (instead
/// of queueing one that can never go out) and agents see how long is left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatWindow {
    /// When the follower last wrote (ms); the window closes 48 h later.
    pub last_in: u64,
    /// Replies taken since then.
    #[serde(default)]
    pub replies: u32,
    /// WeChat said the window is closed (errcode 45015 or 45047) before
    /// the relay's own count did; the follower must write first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
}

impl WechatWindow {
    /// Why a reply at `now` (ms) would be refused, if it would.
    pub fn refusal(&self, now: u64) -> Option<&'static str> {
        use crate::limits::{WECHAT_REPLIES_PER_WINDOW, WECHAT_WINDOW_MS};
        if self.closed || now >= self.last_in.saturating_add(WECHAT_WINDOW_MS) {
            Some("WeChat window closed: the follower must write first (replies are taken only within 48 h of their last message)")
        } else if self.replies >= WECHAT_REPLIES_PER_WINDOW {
            Some("WeChat window closed: 5 replies already sent since the follower's last message; the follower must write first")
        } else {
            None
        }
    }

    /// When the window closes (ms).
    pub fn closes_at(&self) -> u64 {
        self.last_in.saturating_add(crate::limits::WECHAT_WINDOW_MS)
    }
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
    /// The team it is routed within (absent: the whole site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Waiting in the site's queue since (ms): no agent had a free slot.
    /// The queue is served oldest first, so this orders it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<u64>,
    /// Where the visitor talks from (absent: the widget on the site).
    #[serde(default, skip_serializing_if = "Channel::is_web")]
    pub channel: Channel,
    /// WeChat conversations: the reply window (absent until the follower
    /// first writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatWindow>,
}

/// An agent viewing a conversation (`viewers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: AgentId,
    pub name: String,
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
    /// Page views in this visit (a repeat of the last page is not one).
    pub pages: u32,
    /// Where this visit came from: the first referrer of the visit that is
    /// not on the site itself (absent: typed in, a bookmark, or unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
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

/// What the widget does when an agent's message (or a proactive
/// invitation) arrives while its panel is closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnAgentMessage {
    /// A card with the agent's name and text beside the launcher.
    #[default]
    Preview,
    /// The panel opens.
    Open,
}

/// A site's own words in one widget language (`widget.texts["zh-CN"]`).
/// Each one left empty falls back to the field of the same name outside
/// `texts`, then to the widget's built-in text for the language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteTexts {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub greeting: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub offline_message: String,
    /// The pre-chat and offline forms' own labels in this language: a
    /// custom field's key → its label, `consent` → the consent checkbox's
    /// text (the built-in fields' labels are the widget's own).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
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
    /// An agent's message while the panel is closed: a preview card
    /// (default) or the panel opens. Absent in older stores: preview.
    #[serde(default)]
    pub on_agent_message: OnAgentMessage,
    /// The pre-chat form (off by default).
    #[serde(default, skip_serializing_if = "crate::offline::PrechatForm::is_off")]
    pub prechat: crate::offline::PrechatForm,
    /// How the widget asks for a rating after an agent closes the chat.
    #[serde(default)]
    pub rating: crate::offline::RatingScale,
    /// The greeting, offline text and form labels per language (`en`,
    /// `zh-CN`), for sites whose visitors get either: a visitor reads the
    /// ones of the language the widget resolved for them
    /// ([`WidgetSettings::for_visitor`]); the fields above stand in for any
    /// left empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub texts: BTreeMap<String, SiteTexts>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            color: crate::api::DEFAULT_COLOR.into(),
            position: Position::Right,
            greeting: String::new(),
            offline_message: String::new(),
            language: None,
            draft_preview: false,
            file_types: None,
            on_agent_message: OnAgentMessage::Preview,
            prechat: crate::offline::PrechatForm::default(),
            rating: crate::offline::RatingScale::Five,
            texts: BTreeMap::new(),
        }
    }
}
