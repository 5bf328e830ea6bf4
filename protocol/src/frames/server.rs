//! Frames the relay sends.

use super::records::*;
use crate::error::ErrorCode;
use crate::ids::*;
use serde::{Deserialize, Serialize};

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
    /// Whether an agent is available for the visitor's site right now:
    /// online, not away, and inside the site's business hours. While not,
    /// the widget shows the offline text and form.
    #[serde(default)]
    pub agents_online: bool,
    /// Visitor: the relay sends mail (SMTP configured): the offline form
    /// asks for an email and "Email me this chat" is offered. Without it
    /// the widget never mentions email.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mail: bool,
    /// Visitor: the contact it gave in a form or `identify` has a name or an
    /// email (the pre-chat form is skipped; the offline form is asked once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
    /// Visitor: the contact holds an email: the offline form is not asked
    /// (while none is known it asks for one, whatever `known` says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub email_known: bool,
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
        /// `side: agent`: which agent is typing (other agents of the site
        /// see "Ada is typing…"; an agent never gets its own).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
        /// Visitors only: the typing agent's name, as on their messages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
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
    /// Agent: who has `conv` open now (every agent of the site, the
    /// receiver included; empty: nobody). Sent when it changes and after
    /// `subscribe` for each conversation someone views.
    Viewers {
        conv: ConvId,
        agents: Vec<Viewer>,
    },
    /// Visitor: its `contact` with this cid is stored on its profile.
    Saved {
        cid: Cid,
    },
    /// Visitor: the transcript of `conv` it asked for is queued for its
    /// email.
    Mailed {
        conv: ConvId,
    },
    /// Visitor: whether an agent is available for its site (online, not
    /// away, inside business hours).
    Agents {
        online: bool,
    },
    /// Visitor: its conversation waits for a free agent; it is number
    /// `position` in line (1: next). `0`: no longer waiting (an agent has
    /// it, or it closed). Sent when the position changes and on `hello`.
    Queue {
        conv: ConvId,
        position: u32,
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

#[cfg(test)]
mod tests {
    use super::*;

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
