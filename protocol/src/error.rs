//! Machine-readable error codes, shared by error frames and HTTP error bodies.

use serde::{Deserialize, Serialize};

/// Why a frame or request was refused. Clients branch on the code; the
/// accompanying message is for humans and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body or frame is not JSON (or not UTF-8).
    BadJson,
    /// The frame's `type` is not one this relay knows.
    UnknownFrame,
    /// The frame is JSON of a known type but a field is missing or invalid.
    BadFrame,
    /// The frame, body or a field is over its limit (see `limits`).
    TooLarge,
    /// Only `hello` is accepted before the session is established.
    HelloRequired,
    /// `hello` was already accepted on this connection.
    AlreadyHello,
    /// `hello.v` is a protocol version this relay does not speak.
    UnsupportedVersion,
    /// The site id is not known to this relay.
    UnknownSite,
    /// The token is missing, malformed, expired or signed by someone else.
    BadToken,
    /// The visitor id is already bound: present its token (or use a new id).
    TokenRequired,
    /// `user_hash` does not match `HMAC-SHA256(site_secret, user.id)`.
    BadUserHash,
    /// Authenticated, but not allowed to do this (another site, wrong role).
    Forbidden,
    /// No such conversation (or not one this client may see).
    UnknownConversation,
    /// Too many requests; retry after the advertised delay.
    RateLimited,
    /// The store could not make the write durable; nothing was acked.
    /// Resend the same cid later.
    Storage,
    /// The relay is shutting down; reconnect (to it or a peer).
    ShuttingDown,
    /// The long-poll session id is unknown or expired: say `hello` again.
    UnknownSession,
    /// The request's Origin is not allowed for this site.
    OriginNotAllowed,
    /// No such resource (HTTP).
    NotFound,
    /// The HTTP method is not allowed on this path.
    MethodNotAllowed,
    /// Missing or bad credentials (HTTP).
    Unauthorized,
    /// The request is malformed in some other way (HTTP).
    BadRequest,
    /// The resource exists already / conflicts with current state.
    Conflict,
    /// Too many connections; try again later.
    Overloaded,
    /// The upload's content (sniffed from its bytes) is not a type this
    /// site accepts.
    UnsupportedType,
    /// The visitor's upload quota is used up.
    QuotaExceeded,
    /// WeChat takes no reply now (48 h since the follower's last message,
    /// or 5 replies sent since): the follower must write first.
    ReplyWindowClosed,
    /// An agent of the site blocked this visitor (by id, IP or IP range):
    /// the message, upload, form answer or rating was refused and nothing
    /// was stored. Final: resending the same cid is refused the same way.
    Blocked,
    /// The site lives on another relay (a cluster moved or sharded it):
    /// the error's `url` is the owner's base URL; ask it (or `GET
    /// /v1/route?site=` again) and retry there.
    Moved,
    /// Something went wrong inside the relay; details are in its log only.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that goes with this code on the HTTP API.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadJson | UnknownFrame | BadFrame | HelloRequired | AlreadyHello | BadRequest
            | UnsupportedVersion | BadUserHash => 400,
            BadToken | Unauthorized | TokenRequired => 401,
            Forbidden | OriginNotAllowed | Blocked => 403,
            UnknownSite | UnknownConversation | NotFound | UnknownSession => 404,
            MethodNotAllowed => 405,
            Conflict | ReplyWindowClosed => 409,
            Moved => 421,
            TooLarge | QuotaExceeded => 413,
            UnsupportedType => 415,
            RateLimited => 429,
            ShuttingDown | Overloaded | Storage => 503,
            Internal => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadJson => "bad_json",
            UnknownFrame => "unknown_frame",
            BadFrame => "bad_frame",
            TooLarge => "too_large",
            HelloRequired => "hello_required",
            AlreadyHello => "already_hello",
            UnsupportedVersion => "unsupported_version",
            UnknownSite => "unknown_site",
            BadToken => "bad_token",
            TokenRequired => "token_required",
            BadUserHash => "bad_user_hash",
            Forbidden => "forbidden",
            UnknownConversation => "unknown_conversation",
            RateLimited => "rate_limited",
            Storage => "storage",
            ShuttingDown => "shutting_down",
            UnknownSession => "unknown_session",
            OriginNotAllowed => "origin_not_allowed",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Unauthorized => "unauthorized",
            BadRequest => "bad_request",
            Conflict => "conflict",
            Overloaded => "overloaded",
            UnsupportedType => "unsupported_type",
            QuotaExceeded => "quota_exceeded",
            ReplyWindowClosed => "reply_window_closed",
            Blocked => "blocked",
            Moved => "moved",
            Internal => "internal",
        }
    }
}

/// The one JSON error shape of the HTTP API: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// With `moved`: the base URL of the relay that owns the site now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            url: None,
        }
    }

    /// `moved`, naming the owner's base URL.
    pub fn moved(site: &str, url: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Moved,
            message: format!("site {site} is served by another relay"),
            url: Some(url.into()),
        }
    }
}
