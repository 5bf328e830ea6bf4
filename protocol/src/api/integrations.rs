//! Integrations: webhooks (signed deliveries of a site's events to the
//! owner's HTTPS endpoints) and API keys (programs that work a site as a
//! named bot agent), and the message send every API client uses.

use crate::limits::{MAX_API_KEY_NAME_BYTES, MAX_WEBHOOK_URL_BYTES};
use crate::{AgentId, ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

/// What a webhook subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookEvent {
    /// A visitor (or an agent, proactively) started a conversation.
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// A message, from either side (`data.event.body.from.side`); private
    /// notes are not messages and never leave by a webhook.
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.closed")]
    ConversationClosed,
    /// The host page identified the visitor (`kefu('identify', …)`).
    #[serde(rename = "visitor.identified")]
    VisitorIdentified,
}

impl HookEvent {
    pub const ALL: [HookEvent; 5] = [
        HookEvent::ConversationCreated,
        HookEvent::MessageCreated,
        HookEvent::ConversationAssigned,
        HookEvent::ConversationClosed,
        HookEvent::VisitorIdentified,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HookEvent::ConversationCreated => "conversation.created",
            HookEvent::MessageCreated => "message.created",
            HookEvent::ConversationAssigned => "conversation.assigned",
            HookEvent::ConversationClosed => "conversation.closed",
            HookEvent::VisitorIdentified => "visitor.identified",
        }
    }
}

/// `POST /v1/api/sites/{site}/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<HookEvent>,
}

/// `PATCH /v1/api/sites/{site}/webhooks/{hook}`: each field optional;
/// `paused: false` resumes an endpoint the relay paused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<HookEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// A webhook as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<HookEvent>,
    pub created: u64,
    /// No deliveries while paused (by the owner, or by the relay after
    /// the endpoint kept failing: then `paused_reason` says why).
    pub paused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// Failed attempts in a row (reset by a delivery).
    pub failures: u32,
    /// The signing secret: only in the answer that created the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One attempt in an endpoint's delivery log (the last ones are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The delivery's id (`redeliver` takes it).
    pub id: String,
    /// The event's id: the same in every attempt and redelivery of it
    /// (the `Kefu-Event-Id` header) — a receiver deduplicates by it.
    pub event_id: String,
    pub event: HookEvent,
    /// When the attempt was made (ms).
    pub at: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The HTTP status the endpoint answered, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub ok: bool,
    /// What went wrong (network error, timeout, non-2xx), or "will retry".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// `GET …/webhooks/{hook}/deliveries`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
}

/// `POST /v1/api/sites/{site}/keys`: a new API key for a bot named `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
}

/// An API key as the API shows it: its bot agent and the first characters
/// of the key; the key itself only in the answer that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The bot agent messages sent with the key come from.
    pub agent: AgentId,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `POST /v1/api/conversations/{conv}/messages`: an agent's (or a bot's)
/// message. `cid` makes it idempotent: the same cid again answers the
/// first message's seq and stores nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessageBody {
    pub cid: String,
    pub text: String,
}

/// A webhook URL as it may be stored: absolute `https://` (or `http://`
/// where the relay allows private endpoints), with a host, bounded.
/// (Where it resolves to is the relay's check, at creation and at every
/// delivery.)
pub fn check_webhook_url(url: &str, allow_http: bool) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::new(ErrorCode::BadRequest, m.to_string()));
    if url.len() > MAX_WEBHOOK_URL_BYTES {
        return bad("the URL is too long");
    }
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://").filter(|_| allow_http) {
        r
    } else if allow_http {
        return bad("the URL must start with https:// or http://");
    } else {
        return bad("the URL must start with https://");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return bad("the URL needs a host (and no user:password@)");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("the URL may not contain spaces or control characters");
    }
    Ok(())
}

/// A bot's name: 1–64 bytes, no control characters.
pub fn check_api_key_name(name: &str) -> Result<(), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_API_KEY_NAME_BYTES {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("name must be 1–{MAX_API_KEY_NAME_BYTES} bytes"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "name may not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        assert!(check_webhook_url("https://hooks.example.com/kefu", false).is_ok());
        assert!(check_webhook_url("http://hooks.example.com/kefu", false).is_err());
        assert!(check_webhook_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_webhook_url("https://", false).is_err());
        assert!(check_webhook_url("https://u:p@h.example/", false).is_err());
        assert!(check_webhook_url("ftp://h.example/", true).is_err());
        assert!(check_webhook_url("https://h.example/a b", false).is_err());
        let long = format!("https://h.example/{}", "a".repeat(MAX_WEBHOOK_URL_BYTES));
        assert!(check_webhook_url(&long, false).is_err());
    }

    #[test]
    fn event_names_are_their_wire_names() {
        for e in HookEvent::ALL {
            let wire = serde_json::to_string(&e).expect("json");
            assert_eq!(wire, format!("\"{}\"", e.name()));
        }
    }
}
