//! The HTTP API's bodies (`/v1/api/…`): what clients send, what the relay
//! answers, and the validation both sides share, so the console's forms and
//! previews refuse exactly what the relay refuses.

use crate::limits::{
    DEFAULT_CAPACITY, MAX_CAPACITY, MAX_CONV_LABEL_BYTES, MAX_EMAIL_BYTES, MAX_FORM_LABEL_BYTES,
    MAX_LABELS, MAX_ORIGIN_BYTES, MAX_REASSIGN_MINUTES, MAX_TEAMS, MAX_TEAM_NAME_BYTES,
    MAX_WIDGET_TEXT_BYTES, MIN_CAPACITY,
};
use crate::{
    AgentId, ApiError, ConvId, ConvSummary, ErrorCode, Event, FileClass, PageInfo, SiteId, TeamId,
    UserInfo, VisitorId, VisitorInfo, WidgetSettings,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod integrations;
pub mod privacy;

/// What an agent may administer. Owners add and remove agents and create
/// sites; every agent works the sites they are a member of, and only those.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    Owner,
    #[default]
    Agent,
}

/// An agent as the API shows it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: AgentId,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub role: AgentRole,
    pub sites: Vec<SiteId>,
    /// Open conversations auto-assignment gives this agent at most.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Which notification mails they get while nobody is available.
    #[serde(default)]
    pub mail: crate::offline::MailPref,
    /// Where their picture is (`/v1/avatars/{agent}?v=…`, the version
    /// changing with the picture); none: the console shows initials. A
    /// reader adds its credentials (`&token=` for an agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// `GET /v1/api/me` and login only: an owner whose own name or whose
    /// first site's name is still the first run's ("Demo Agent", "Demo
    /// site"), and who has not named themselves yet: the console asks for
    /// both once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub welcome: bool,
}

/// [`DEFAULT_CAPACITY`], for serde.
pub fn default_capacity() -> u32 {
    DEFAULT_CAPACITY
}

/// `PATCH /v1/api/agents/{agent}`: owners for anyone, an agent for
/// themselves; only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPatch {
    /// [`MIN_CAPACITY`]..=[`MAX_CAPACITY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// The agent's own choice (an owner may set it for anyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<crate::offline::MailPref>,
    /// The display name visitors and colleagues see ([`check_display_name`]);
    /// an agent renames themselves, an owner anyone on their sites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A display name (an agent's, a site's) fit to store, trimmed, or why
/// not: 1..=`max` bytes, no control characters (a name reaches mail
/// headers and one-line labels).
pub fn check_display_name(name: &str, max: usize) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > max {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("name must be 1–{max} bytes"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "name must not contain control characters (line breaks, tabs)",
        ));
    }
    Ok(name.to_string())
}

/// `POST /v1/api/password-reset`: mail a reset link to this address, if
/// an agent has it. The answer is the same whether one does or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRequest {
    pub email: String,
}

/// `POST /v1/api/password-reset/confirm`: the mailed link's token and the
/// new password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetConfirm {
    pub token: String,
    pub password: String,
}

/// `GET /v1/api/password-reset`: whether this relay can mail reset links
/// (SMTP configured); without, the console offers no "Forgot password?"
/// and the box's admin uses `kefu-relay password-reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetOptions {
    pub mail: bool,
}

/// Why a capacity would be refused, if it would.
pub fn check_capacity(c: u32) -> Result<(), ApiError> {
    if (MIN_CAPACITY..=MAX_CAPACITY).contains(&c) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("capacity must be {MIN_CAPACITY}–{MAX_CAPACITY} open conversations"),
        ))
    }
}

impl AgentView {
    pub fn is_owner(&self) -> bool {
        self.role == AgentRole::Owner
    }
}

/// `POST /v1/api/login`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The answer to a good login: a session token and who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginReply {
    pub token: String,
    pub agent: AgentView,
}

/// `POST /v1/api/me/password`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// `POST /v1/api/agents` (owners).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub role: AgentRole,
    pub sites: Vec<String>,
}

/// `GET /v1/api/sites/{site}/agents`: the people an agent may transfer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Teammate {
    pub id: AgentId,
    pub name: String,
    pub role: AgentRole,
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// As [`AgentView::avatar`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// How a site hands out new conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingMode {
    /// Conversations wait unassigned until an agent takes one (replying
    /// takes it).
    #[default]
    Manual,
    /// Each new conversation goes to an available agent with the fewest
    /// open conversations, under their capacity; with none free it queues.
    Auto,
}

/// A team of a site: the agents routing may give its conversations to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub members: Vec<AgentId>,
}

/// A label agents put on conversations (`#rrggbb` colour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    pub color: String,
}

/// A site's routing: mode, no-answer reassignment, teams and labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    #[serde(default)]
    pub mode: RoutingMode,
    /// Minutes an assigned agent may leave a visitor message unanswered
    /// before the conversation goes to the next available agent; 0: never.
    #[serde(default)]
    pub reassign_after_min: u32,
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub labels: Vec<Label>,
}

impl Routing {
    /// Why the relay would refuse these settings (members are checked
    /// against the site by the relay).
    pub fn validate(&self) -> Result<(), ApiError> {
        let bad = |m: String| Err(ApiError::new(ErrorCode::BadRequest, m));
        if self.reassign_after_min > MAX_REASSIGN_MINUTES {
            return bad(format!(
                "reassign_after_min is at most {MAX_REASSIGN_MINUTES} (0: off)"
            ));
        }
        if self.teams.len() > MAX_TEAMS {
            return bad(format!("at most {MAX_TEAMS} teams"));
        }
        for (i, t) in self.teams.iter().enumerate() {
            let name = t.name.trim();
            if name.is_empty() || name.len() > MAX_TEAM_NAME_BYTES {
                return bad(format!(
                    "team {}: a name of 1–{MAX_TEAM_NAME_BYTES} bytes",
                    t.id
                ));
            }
            if self.teams[..i].iter().any(|o| o.id == t.id) {
                return bad(format!("team {} is listed twice", t.id));
            }
        }
        if self.labels.len() > MAX_LABELS {
            return bad(format!("at most {MAX_LABELS} labels"));
        }
        for (i, l) in self.labels.iter().enumerate() {
            if !valid_label(&l.name) {
                return bad(format!(
                    "label {:?}: 1–{MAX_CONV_LABEL_BYTES} bytes, no control characters, not only spaces",
                    l.name
                ));
            }
            if !valid_color(&l.color) {
                return bad(format!(
                    "label {:?}: colour must be #rgb or #rrggbb",
                    l.name
                ));
            }
            if self.labels[..i].iter().any(|o| o.name == l.name) {
                return bad(format!("label {:?} is listed twice", l.name));
            }
        }
        Ok(())
    }

    pub fn team(&self, id: &TeamId) -> Option<&Team> {
        self.teams.iter().find(|t| &t.id == id)
    }

    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }
}

/// A label name: 1–[`MAX_CONV_LABEL_BYTES`] bytes, trimmed, no control
/// characters.
pub fn valid_label(name: &str) -> bool {
    !name.trim().is_empty()
        && name.trim() == name
        && name.len() <= MAX_CONV_LABEL_BYTES
        && !name.chars().any(char::is_control)
}

/// `POST /v1/api/sites` (owners).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSite {
    pub id: String,
    pub name: String,
}

/// A site as the API shows it. `widget.file_types` is always the effective
/// list (the site's own or the relay's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteView {
    pub id: SiteId,
    pub name: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    pub widget: WidgetSettings,
    #[serde(default)]
    pub routing: Routing,
    /// Owners only: the secret for `user_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Owners only: the WeChat Official Account bridge, its secrets masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatSettings>,
    /// Business hours, the auto-reply outside them, the continuity delay.
    #[serde(default)]
    pub offline: crate::offline::OfflineSettings,
}

/// `PATCH /v1/api/sites/{site}` (owners): only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SitePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget: Option<WidgetSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// The WeChat bridge. An empty `app_secret` or `encoding_aes_key` (or
    /// the masked value `GET` shows) keeps the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatSettings>,
    /// Only the fields present change (`{hours}` alone keeps the
    /// auto-reply and the continuity delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<crate::offline::OfflinePatch>,
}

/// How WeChat's message pushes reach the relay (公众号 admin → 开发 →
/// 基本配置 → 服务器配置 → 消息加解密方式).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatMode {
    /// 明文模式: XML in the clear, checked by `signature` only.
    #[default]
    Plain,
    /// 兼容模式: both the clear fields and `Encrypt`; the relay accepts
    /// either (and checks `msg_signature` when it decrypts).
    Compatible,
    /// 安全模式: only `Encrypt`, AES-256-CBC, `msg_signature` checked.
    Safe,
}

/// A site's WeChat Official Account (公众号): the bridge takes its
/// followers' messages in and sends agents' replies out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatSettings {
    /// Off: `/v1/wechat/{site}` answers 404 and nothing is sent.
    #[serde(default)]
    pub enabled: bool,
    /// 开发者ID (AppID): `wx` and 16 letters or digits.
    #[serde(default)]
    pub app_id: String,
    /// 开发者密码 (AppSecret): 32 letters or digits; masked when shown.
    #[serde(default)]
    pub app_secret: String,
    /// 令牌 (Token): 3–32 letters or digits, as pasted in the admin.
    #[serde(default)]
    pub token: String,
    /// 消息加解密密钥 (EncodingAESKey): 43 letters or digits (base64 of
    /// 32 bytes without its `=`); needed in compatible and safe modes;
    /// masked when shown.
    #[serde(default)]
    pub encoding_aes_key: String,
    #[serde(default)]
    pub mode: WechatMode,
}

/// How many characters of a secret stay visible when it is shown masked.
const WECHAT_MASK_KEEP: usize = 4;

/// `••••` and a secret's last four characters (empty stays empty).
pub fn mask_secret(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let tail: String = s
        .chars()
        .rev()
        .take(WECHAT_MASK_KEEP)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("••••{tail}")
}

impl WechatSettings {
    /// As the API shows them: AppSecret and EncodingAESKey masked.
    pub fn masked(&self) -> WechatSettings {
        WechatSettings {
            app_secret: mask_secret(&self.app_secret),
            encoding_aes_key: mask_secret(&self.encoding_aes_key),
            ..self.clone()
        }
    }

    /// A patch applied over the stored settings: an empty or masked
    /// secret keeps the stored one; everything else is trimmed.
    pub fn merged(&self, old: Option<&WechatSettings>) -> WechatSettings {
        let keep = |new: &str, old: Option<&str>| {
            let new = new.trim();
            if new.is_empty() || new.starts_with('•') {
                old.unwrap_or_default().to_string()
            } else {
                new.to_string()
            }
        };
        WechatSettings {
            enabled: self.enabled,
            app_id: self.app_id.trim().to_string(),
            app_secret: keep(&self.app_secret, old.map(|o| o.app_secret.as_str())),
            token: self.token.trim().to_string(),
            encoding_aes_key: keep(
                &self.encoding_aes_key,
                old.map(|o| o.encoding_aes_key.as_str()),
            ),
            mode: self.mode,
        }
    }

    /// Why the relay would refuse these settings. Disabled settings may be
    /// incomplete, but what is filled in must still be well-formed.
    pub fn validate(&self) -> Result<(), ApiError> {
        let bad = |m: &str| Err(ApiError::new(ErrorCode::BadRequest, m));
        let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
        // Each field: well-formed when given, and given when the bridge is on.
        let ok = |v: &str, needed: bool, form: bool| if v.is_empty() { !needed } else { form };
        let on = self.enabled;
        let id = &self.app_id;
        if !ok(id, on, id.len() == 18 && id.starts_with("wx") && alnum(id)) {
            return bad("wechat.app_id: the AppID (开发者ID) is \"wx\" and 16 letters or digits");
        }
        let secret = &self.app_secret;
        if !ok(secret, on, secret.len() == 32 && alnum(secret)) {
            return bad("wechat.app_secret: the AppSecret (开发者密码) is 32 letters or digits");
        }
        let token = &self.token;
        if !ok(token, on, (3..=32).contains(&token.len()) && alnum(token)) {
            return bad("wechat.token: the Token (令牌) is 3–32 letters or digits");
        }
        let key = &self.encoding_aes_key;
        if !ok(
            key,
            on && self.mode != WechatMode::Plain,
            valid_aes_key(key),
        ) {
            return bad(
                "wechat.encoding_aes_key: the EncodingAESKey (消息加解密密钥) is 43 letters or digits (needed in compatible and safe modes)",
            );
        }
        Ok(())
    }
}

/// 43 characters of base64's alphabet whose decoding (with the `=` WeChat
/// leaves off) is 32 bytes: WeChat's keys are letters and digits only.
fn valid_aes_key(k: &str) -> bool {
    k.len() == 43 && k.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `POST /v1/api/sites/{site}/rotate-secret`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretReply {
    pub secret: String,
}

/// `GET /v1/api/sites/{site}/snippet`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetReply {
    pub site: SiteId,
    pub html: String,
    /// The site's hosted chat page (`/chat/{site}`), at the same address;
    /// its QR codes are at `{chat_url}/qr.svg` and `/qr.png`.
    #[serde(default)]
    pub chat_url: String,
}

/// A canned reply an agent inserts with `/shortcut`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canned {
    pub id: String,
    pub shortcut: String,
    pub text: String,
}

/// `POST /v1/api/sites/{site}/canned`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCanned {
    pub shortcut: String,
    pub text: String,
}

/// `GET /v1/api/sites/{site}/conversations?status=&limit=&before=`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvQuery {
    /// open (default) | closed | mine | unassigned | queued | all.
    /// `queued` lists the queue in its order, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only conversations carrying this label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Only conversations of this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Only conversations updated before this (ms): the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
}

/// One page of conversations, newest activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvPage {
    pub convs: Vec<ConvSummary>,
    /// Pass as `before` for the next page; absent on the last one.
    #[serde(default)]
    pub next_before: Option<u64>,
}

/// `GET /v1/api/conversations/{conv}/events?after=&before=&limit=`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Events in seq order; `more` when the page was cut at its limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<Event>,
    pub more: bool,
}

/// `POST /v1/api/conversations/{conv}/assign`: absent agent = the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// `POST /v1/api/conversations/{conv}/transfer`: to an agent, to a team
/// (routed within it), or both (the agent must be a member).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// `POST /v1/api/conversations/{conv}/notes`: a private note. `cid` makes
/// a retry idempotent (absent: the relay mints one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNote {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// The answer to a stored note: where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub conv: ConvId,
    pub seq: u64,
}

/// `GET /v1/api/push/key`: the relay's VAPID public key (RFC 8292), the
/// `applicationServerKey` a console passes to `pushManager.subscribe`:
/// the uncompressed P-256 point, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKey {
    pub public_key: String,
}

/// `POST /v1/api/push/subscriptions`: exactly what a browser's
/// `PushSubscription.toJSON()` gives, for the signed-in agent on this
/// device. The same endpoint again replaces the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    pub endpoint: String,
    #[serde(
        default,
        rename = "expirationTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiration_time: Option<u64>,
    pub keys: PushSubscriptionKeys,
}

/// The subscription's keys (RFC 8291): the user agent's P-256 public key
/// and its 16-byte auth secret, both base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

/// `DELETE /v1/api/push/subscriptions`: forget this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushUnsubscribe {
    pub endpoint: String,
}

/// Why an agent is being pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// A visitor started a conversation on one of the agent's sites.
    NewConversation,
    /// A visitor wrote in a conversation that is the agent's or unassigned.
    Message,
    /// A conversation was transferred to the agent.
    Transfer,
}

/// The JSON a push message carries (encrypted on the wire, RFC 8291): what
/// the console's service worker shows, and which conversation a click opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    pub kind: PushKind,
    pub site: SiteId,
    pub conv: ConvId,
    /// The notification's title, e.g. the visitor's name.
    pub title: String,
    /// The message text (cut to [`crate::limits::MAX_PUSH_BODY_CHARS`]).
    pub body: String,
}

/// `GET /v1/api/push/subscriptions` lists these (and `POST` answers with
/// one): a device the signed-in agent opted in to Web Push on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushDevice {
    pub endpoint: String,
    /// When it was subscribed (ms since the epoch).
    pub created: u64,
}

/// `PATCH /v1/api/sites/{site}/visitors/{visitor}` (the site's agents):
/// the visitor's contact as an agent corrects it. Only the fields present
/// change; an empty string clears one. A verified identity's name and
/// email are the host page's and cannot be changed here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl VisitorPatch {
    /// Lengths, one-line values, a real address, a phone number's
    /// characters (the same bounds as a form's).
    pub fn validate(&self) -> Result<(), ApiError> {
        let c = crate::offline::Contact {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            ..Default::default()
        };
        crate::frames::validate_contact(&c).map_err(|e| ApiError::new(e.code, e.message))
    }
}

/// `GET /v1/api/sites/{site}/visitors/{visitor}`: everything known of a
/// visitor, live or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorProfile {
    pub id: VisitorId,
    pub site: SiteId,
    pub first_seen: u64,
    pub last_seen: u64,
    pub visits: u32,
    #[serde(default)]
    pub user: Option<UserInfo>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub online: bool,
    /// Where the visitor talks from.
    #[serde(default, skip_serializing_if = "crate::Channel::is_web")]
    pub channel: crate::Channel,
    /// Where the latest visit came from (see [`crate::VisitorInfo::referrer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// While online: the live record (current page, pages this visit…).
    #[serde(default)]
    pub current: Option<VisitorInfo>,
    /// Recent pages, newest last.
    #[serde(default)]
    pub pages: Vec<PageInfo>,
    #[serde(default)]
    pub conversations: Vec<ConvSummary>,
    /// The address of the visitor's latest connection (see `--trust-proxy`
    /// behind a reverse proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<String>,
    /// The site's blocks that refuse this visitor now (by its id or its
    /// latest address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<privacy::BlockView>,
}

/// One origin the relay refused recently for a site's widget
/// (`GET /v1/api/sites/{site}/refused-origins`, newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedOrigin {
    /// The page's `Origin` as sent (`null` for an opaque origin; empty
    /// when the request carried none).
    pub origin: String,
    /// The latest refusal (ms since epoch).
    pub last_seen: u64,
    /// Refusals counted since it was first listed.
    pub count: u64,
}

/// `GET /v1/api/sites/{site}/stats?from=&to=&team=` (or the older
/// `?days=`): which days, in the site's time zone, and whose conversations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsQuery {
    /// The last `days` days up to today (1–[`MAX_STATS_DAYS`](crate::limits::MAX_STATS_DAYS),
    /// clamped, as older clients expect). Not with `from`/`to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u64>,
    /// First day, `YYYY-MM-DD` in the site's time zone (default: six days
    /// before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (default: today in the site's zone).
    /// At most [`MAX_REPORT_DAYS`](crate::limits::MAX_REPORT_DAYS) days in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Only the conversations routing keeps within this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `csv`: the same figures as a CSV file (as `stats.csv` answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// One day of a site's figures (the site's local day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    /// `YYYY-MM-DD`
    pub date: String,
    pub messages: u64,
    pub conversations: u64,
    pub visitors: u64,
    /// Ratings given that day (each conversation's latest).
    #[serde(default)]
    pub ratings: Ratings,
    /// Conversations started that day that no agent has answered at all.
    #[serde(default)]
    pub missed: u64,
    /// First responses made that day.
    #[serde(default)]
    pub first_response_ms: Durations,
    /// Conversations closed that day: created → (latest) close.
    #[serde(default)]
    pub resolution_ms: Durations,
}

/// Ratings counted: each conversation's latest `rated` event only (a
/// later rating replaces the earlier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratings {
    pub count: u64,
    /// Of them, scores of at least
    /// [`CSAT_SATISFIED_MIN`](crate::offline::CSAT_SATISFIED_MIN).
    pub satisfied: u64,
    /// Their scores added up (for the average).
    pub score_sum: u64,
}

impl Ratings {
    pub fn add(&mut self, score: u8) {
        self.count += 1;
        self.score_sum += u64::from(score);
        if score >= crate::offline::CSAT_SATISFIED_MIN {
            self.satisfied += 1;
        }
    }

    /// Both counted together.
    pub fn merge(&mut self, other: &Ratings) {
        self.count += other.count;
        self.satisfied += other.satisfied;
        self.score_sum += other.score_sum;
    }

    /// CSAT: the share of ratings that are satisfied, 0–1 (none: `None`).
    pub fn csat(&self) -> Option<f64> {
        (self.count > 0).then(|| self.satisfied as f64 / self.count as f64)
    }

    /// The average score, 1–5.
    pub fn average(&self) -> Option<f64> {
        (self.count > 0).then(|| self.score_sum as f64 / self.count as f64)
    }
}

/// One agent's row: ratings of conversations assigned to them when they
/// were closed (unassigned ones: the agent who closed them); the
/// conversations they wrote in, their messages and first responses in
/// the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRatings {
    pub agent: AgentId,
    pub ratings: Ratings,
    /// Display name (empty for an agent since removed).
    #[serde(default)]
    pub name: String,
    /// Conversations they sent a message in during the period.
    #[serde(default)]
    pub conversations: u64,
    /// Messages they sent during the period.
    #[serde(default)]
    pub messages: u64,
    /// First responses they made (median over theirs).
    #[serde(default)]
    pub first_response_ms: Durations,
}

/// A set of durations (ms): median (the lower middle), 90th percentile
/// (nearest rank), mean, how many. None measured: `None`s and 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    pub median: Option<u64>,
    #[serde(default)]
    pub p90: Option<u64>,
    pub mean: Option<u64>,
    pub count: usize,
}

/// The first-response figures' older name.
pub type FirstResponse = Durations;

impl Durations {
    /// The figures of `ms` (in any order).
    pub fn of(mut ms: Vec<u64>) -> Durations {
        ms.sort_unstable();
        let n = ms.len();
        if n == 0 {
            return Durations::default();
        }
        // Nearest rank: the smallest value with at least 90% at or below it.
        let p90 = ms[(n * 9).div_ceil(10) - 1];
        Durations {
            median: Some(ms[(n - 1) / 2]),
            p90: Some(p90),
            mean: Some(ms.iter().sum::<u64>() / n as u64),
            count: n,
        }
    }
}

/// A site's figures over a range of its local days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub site: SiteId,
    pub days: Vec<DayStats>,
    pub first_response_ms: Durations,
    /// Ratings given in the period, all days together.
    #[serde(default)]
    pub ratings: Ratings,
    /// Per agent: those who wrote or were rated in the period, most
    /// conversations first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentRatings>,
    /// The first and last day (`YYYY-MM-DD`, inclusive).
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// The zone the days and hours are in (`UTC` unless the site's
    /// business hours name one).
    #[serde(default)]
    pub tz: String,
    /// The team the figures are limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// Conversations closed in the period: created → (latest) close.
    #[serde(default)]
    pub resolution_ms: Durations,
    /// Conversations started in the period no agent answered at all.
    #[serde(default)]
    pub missed: u64,
    /// Conversations started, by local weekday (Monday first) × hour.
    #[serde(default)]
    pub heatmap: Vec<Vec<u64>>,
}

/// Conversations in a list page when the request names no `limit`.
pub const DEFAULT_CONV_PAGE: usize = 50;
/// Events in a history page when the request names no `limit`.
pub const DEFAULT_EVENTS_PAGE: usize = 100;
/// Days of stats when the request names no `days`.
pub const DEFAULT_STATS_DAYS: u64 = 7;
/// Recent pages a visitor profile lists.
pub const PROFILE_PAGES: usize = 50;
/// The longest `Host` header the relay puts into a snippet; longer ones
/// (or ones with quotes, brackets or spaces) give the listen address.
pub const MAX_HOST_BYTES: usize = 255;

// --- validation shared by the relay and the console -----------------------

/// The widget's accent colour until a site chooses one.
pub const DEFAULT_COLOR: &str = "#0b6e4f";

/// `#rgb` or `#rrggbb`.
pub fn valid_color(c: &str) -> bool {
    let hex = c.strip_prefix('#').unwrap_or("");
    (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An origin: `scheme://host[:port]`, http or https, nothing after it.
pub fn valid_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && o.len() <= MAX_ORIGIN_BYTES
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// A plausible e-mail address (one `@`, a dotted domain, no spaces).
pub fn valid_email(e: &str) -> bool {
    e.len() <= MAX_EMAIL_BYTES
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !e.contains(char::is_whitespace)
}

/// Languages the widget speaks (`None`: from the visitor's browser).
pub const WIDGET_LANGUAGES: &[&str] = &["en", "zh-CN"];

/// The key of `widget.texts[lang].labels` that holds the consent
/// checkbox's text (the other keys are custom fields' keys).
pub const CONSENT_LABEL: &str = "consent";

/// The one language a visitor's widget speaks: the site's choice when it
/// made one, else the visitor's own (`zh…` → `zh-CN`, anything else or
/// nothing → `en`). Always one of [`WIDGET_LANGUAGES`].
pub fn resolve_language(site: Option<&str>, visitor: Option<&str>) -> &'static str {
    let tag = site.or(visitor).unwrap_or("en");
    if tag.trim().to_ascii_lowercase().starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    }
}

impl WidgetSettings {
    /// Why the relay would refuse these settings, if it would.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !valid_color(&self.color) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "widget.color must be #rgb or #rrggbb",
            ));
        }
        if self.greeting.len() > MAX_WIDGET_TEXT_BYTES
            || self.offline_message.len() > MAX_WIDGET_TEXT_BYTES
        {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!("widget texts are at most {MAX_WIDGET_TEXT_BYTES} bytes"),
            ));
        }
        self.prechat.validate()?;
        if let Some(l) = self.language.as_deref() {
            if !WIDGET_LANGUAGES.contains(&l) {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    "widget.language must be en, zh-CN or absent",
                ));
            }
        }
        self.validate_texts()
    }

    /// `texts`: known languages only, each text within the bounds of the
    /// field it stands for, labels only for the form's own fields.
    fn validate_texts(&self) -> Result<(), ApiError> {
        let bad = |m: String| ApiError::new(ErrorCode::BadRequest, m);
        for (lang, t) in &self.texts {
            if !WIDGET_LANGUAGES.contains(&lang.as_str()) {
                return Err(bad(format!(
                    "widget texts: language must be en or zh-CN (not {lang:?})"
                )));
            }
            if t.greeting.len() > MAX_WIDGET_TEXT_BYTES
                || t.offline_message.len() > MAX_WIDGET_TEXT_BYTES
            {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("widget texts ({lang}) are at most {MAX_WIDGET_TEXT_BYTES} bytes"),
                ));
            }
            for (key, label) in &t.labels {
                let max = if key == CONSENT_LABEL {
                    MAX_WIDGET_TEXT_BYTES
                } else if self.prechat.fields.iter().any(|f| f.key == *key) {
                    MAX_FORM_LABEL_BYTES
                } else {
                    return Err(bad(format!(
                        "widget texts ({lang}): label {key:?} names no custom field of the pre-chat form (nor consent)"
                    )));
                };
                if label.len() > max {
                    return Err(ApiError::new(
                        ErrorCode::TooLarge,
                        format!("widget texts ({lang}): label {key:?} is at most {max} bytes"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// These settings as one visitor's widget gets them (the visitor's
    /// `welcome`, the hosted chat page, mail previews): `language` the one
    /// resolved ([`resolve_language`], `visitor_lang` from their `hello`),
    /// the greeting, offline text and form labels of that language (each
    /// empty one falls back to the field outside `texts`), `texts` itself
    /// left out. The widget then has a single language to speak.
    pub fn for_visitor(&self, visitor_lang: Option<&str>) -> WidgetSettings {
        let lang = resolve_language(self.language.as_deref(), visitor_lang);
        let mut w = self.clone();
        w.language = Some(lang.to_string());
        w.texts = BTreeMap::new();
        let Some(t) = self.texts.get(lang) else {
            return w;
        };
        if !t.greeting.is_empty() {
            w.greeting = t.greeting.clone();
        }
        if !t.offline_message.is_empty() {
            w.offline_message = t.offline_message.clone();
        }
        for f in &mut w.prechat.fields {
            if let Some(l) = t.labels.get(&f.key).filter(|l| !l.is_empty()) {
                f.label = l.clone();
            }
        }
        if let Some(c) = t.labels.get(CONSENT_LABEL).filter(|c| !c.is_empty()) {
            if !w.prechat.consent.is_empty() {
                w.prechat.consent = c.clone();
            }
        }
        w
    }

    /// The file kinds that may be attached: the site's own list, or the
    /// relay's default when the site has none.
    pub fn effective_file_types(&self, relay_default: &[FileClass]) -> Vec<FileClass> {
        self.file_types
            .clone()
            .unwrap_or_else(|| relay_default.to_vec())
    }

    /// The same settings with `file_types` made explicit (what the API and
    /// the visitor's `welcome` show).
    pub fn with_effective_file_types(mut self, relay_default: &[FileClass]) -> WidgetSettings {
        self.file_types = Some(self.effective_file_types(relay_default));
        self
    }

    /// The colour as `#rrggbb` (CSS accepts `#rgb` too, but derived shades
    /// need six digits). Invalid colours give the default.
    pub fn color_rrggbb(&self) -> String {
        let hex = match self.color.strip_prefix('#') {
            Some(h) if valid_color(&self.color) => h,
            _ => return WidgetSettings::default().color,
        };
        if hex.len() == 3 {
            let mut s = String::with_capacity(7);
            s.push('#');
            for c in hex.chars() {
                s.push(c);
                s.push(c);
            }
            s
        } else {
            format!("#{hex}")
        }
    }

    /// The greeting shown to a visitor whose own language is `lang`: the
    /// site's own in the resolved language or the built-in text.
    pub fn greeting_or_default(&self, lang: &str) -> String {
        let w = self.for_visitor(Some(lang));
        if w.greeting.is_empty() {
            crate::texts::pick(w.language.as_deref().unwrap_or(lang))
                .greeting
                .to_string()
        } else {
            w.greeting
        }
    }

    /// The offline text shown, in `lang`: the site's own or the built-in.
    pub fn offline_or_default(&self, lang: &str) -> String {
        let w = self.for_visitor(Some(lang));
        if w.offline_message.is_empty() {
            crate::texts::pick(w.language.as_deref().unwrap_or(lang))
                .offline
                .to_string()
        } else {
            w.offline_message
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Median: the lower middle; p90: nearest rank (the smallest value
    /// with at least 90% of them at or below it).
    #[test]
    fn durations_median_and_p90() {
        assert_eq!(Durations::of(vec![]), Durations::default());
        let one = Durations::of(vec![7]);
        assert_eq!((one.median, one.p90, one.count), (Some(7), Some(7), 1));
        let d = Durations::of(vec![90, 30, 60, 45]);
        assert_eq!((d.median, d.p90, d.mean), (Some(45), Some(90), Some(56)));
        let ten = Durations::of((1..=10).collect());
        assert_eq!((ten.median, ten.p90), (Some(5), Some(9)));
        let eleven = Durations::of((1..=11).collect());
        assert_eq!((eleven.median, eleven.p90), (Some(6), Some(10)));
    }

    #[test]
    fn colours_origins_and_emails() {
        assert!(valid_color("#0b6e4f"));
        assert!(valid_color("#abc"));
        assert!(!valid_color("0b6e4f"));
        assert!(!valid_color("#0b6e4"));
        assert!(!valid_color("#ggg"));
        assert!(valid_origin("https://shop.example.com"));
        assert!(valid_origin("http://127.0.0.1:8080"));
        assert!(!valid_origin("shop.example.com"));
        assert!(!valid_origin("https://shop.example.com/path"));
        assert!(!valid_origin("javascript://x"));
        assert!(valid_email("ada@example.com"));
        assert!(!valid_email("ada@example"));
        assert!(!valid_email("a da@example.com"));
    }

    #[test]
    fn settings_validation_matches_the_relay() {
        let mut w = WidgetSettings::default();
        assert!(w.validate().is_ok());
        w.color = "#abc".into();
        assert!(w.validate().is_ok());
        assert_eq!(w.color_rrggbb(), "#aabbcc");
        w.language = Some("fr".into());
        assert_eq!(w.validate().map_err(|e| e.code), Err(ErrorCode::BadRequest));
        w.language = Some("zh-CN".into());
        w.greeting = "x".repeat(MAX_WIDGET_TEXT_BYTES + 1);
        assert_eq!(w.validate().map_err(|e| e.code), Err(ErrorCode::TooLarge));
    }

    /// `on_agent_message`: absent in an older store reads as preview; only
    /// the two known values are accepted.
    #[test]
    fn on_agent_message_defaults_to_preview_and_refuses_unknown_values() {
        let old = r##"{"color":"#0b6e4f","position":"right"}"##;
        let w: WidgetSettings = serde_json::from_str(old).expect("old settings");
        assert_eq!(w.on_agent_message, crate::OnAgentMessage::Preview);
        let open = r##"{"color":"#0b6e4f","position":"right","on_agent_message":"open"}"##;
        let w: WidgetSettings = serde_json::from_str(open).expect("open");
        assert_eq!(w.on_agent_message, crate::OnAgentMessage::Open);
        let bad = r##"{"color":"#0b6e4f","position":"right","on_agent_message":"popup"}"##;
        assert!(serde_json::from_str::<WidgetSettings>(bad).is_err());
        let json = serde_json::to_string(&WidgetSettings::default()).expect("json");
        assert!(json.contains(r#""on_agent_message":"preview""#), "{json}");
    }

    #[test]
    fn file_types_fall_back_to_the_relays_default() {
        let mut w = WidgetSettings::default();
        let relay = [FileClass::Image, FileClass::Pdf];
        assert_eq!(w.effective_file_types(&relay), relay.to_vec());
        w.file_types = Some(vec![]);
        assert!(w.effective_file_types(&relay).is_empty());
    }

    #[test]
    fn default_texts_follow_the_language() {
        let mut w = WidgetSettings::default();
        assert_eq!(w.greeting_or_default("en-US"), crate::texts::EN.greeting);
        w.language = Some("zh-CN".into());
        assert_eq!(w.greeting_or_default("en-US"), crate::texts::ZH.greeting);
        w.greeting = "Hello".into();
        assert_eq!(w.greeting_or_default("en"), "Hello");
    }

    #[test]
    fn wechat_settings_are_checked_masked_and_merged() {
        let good = WechatSettings {
            enabled: true,
            app_id: "wx5823bf96d3bd56c7".into(),
            app_secret: "0123456789abcdef0123456789abcdef".into(),
            token: "kefuToken".into(),
            encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
            mode: WechatMode::Safe,
        };
        assert_eq!(good.validate(), Ok(()));
        let shown = good.masked();
        assert_eq!(shown.app_secret, "••••cdef");
        assert_eq!(shown.encoding_aes_key, "••••DEFG");
        assert_eq!(shown.token, good.token);
        // Sent back masked, the stored secrets stay.
        assert_eq!(shown.merged(Some(&good)), good);
        let bad = |f: fn(&mut WechatSettings)| {
            let mut w = good.clone();
            f(&mut w);
            w.validate().is_err()
        };
        assert!(bad(|w| w.token = "ab".into()));
        assert!(bad(|w| w.token = "has space".into()));
        assert!(bad(|w| w.app_id = "gh_0123456789abcd".into()));
        assert!(bad(|w| w.encoding_aes_key.push('x')));
        assert!(bad(|w| w.app_secret.clear()));
        // A plain-mode bridge needs no key; a disabled one may be partial.
        assert!(!bad(|w| {
            w.mode = WechatMode::Plain;
            w.encoding_aes_key.clear()
        }));
        assert!(!bad(|w| {
            w.enabled = false;
            w.app_secret.clear()
        }));
    }

    #[test]
    fn the_wechat_window_admits_five_replies_in_48_hours() {
        let h = 3_600_000;
        let w = crate::WechatWindow {
            last_in: 10 * h,
            replies: 0,
            closed: false,
        };
        assert_eq!(w.refusal(10 * h + 47 * h), None);
        assert!(w.refusal(58 * h).is_some());
        let five = crate::WechatWindow { replies: 5, ..w };
        assert!(five
            .refusal(11 * h)
            .is_some_and(|m| m.contains("5 replies")));
        let shut = crate::WechatWindow { closed: true, ..w };
        assert!(shut.refusal(11 * h).is_some());
        assert_eq!(w.closes_at(), 58 * h);
    }

    fn texts(greeting: &str, offline: &str, labels: &[(&str, &str)]) -> crate::SiteTexts {
        crate::SiteTexts {
            greeting: greeting.into(),
            offline_message: offline.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// One language per visitor: the site's choice wins, else the
    /// visitor's (any Chinese tag is `zh-CN`, anything else English).
    #[test]
    fn one_language_is_resolved() {
        assert_eq!(resolve_language(Some("zh-CN"), Some("en-US")), "zh-CN");
        assert_eq!(resolve_language(Some("en"), Some("zh-TW")), "en");
        assert_eq!(resolve_language(None, Some("zh-Hans-SG")), "zh-CN");
        assert_eq!(resolve_language(None, Some("fr-FR")), "en");
        assert_eq!(resolve_language(None, None), "en");
    }

    /// A visitor gets the texts of their language, the plain fields where
    /// that language has none, and no `texts` table.
    #[test]
    fn a_visitor_gets_the_texts_of_their_language() {
        let mut w = WidgetSettings {
            greeting: "Hello".into(),
            ..Default::default()
        };
        w.prechat.enabled = true;
        w.prechat.consent = "I agree".into();
        w.prechat.fields.push(crate::offline::FormField {
            key: "order".into(),
            label: "Order number".into(),
            kind: Default::default(),
            options: vec![],
            required: false,
        });
        w.texts.insert(
            "zh-CN".into(),
            texts(
                "您好",
                "",
                &[("order", "订单号"), (CONSENT_LABEL, "我同意")],
            ),
        );
        assert!(w.validate().is_ok());
        let zh = w.for_visitor(Some("zh-CN"));
        assert_eq!(zh.language.as_deref(), Some("zh-CN"));
        assert_eq!(zh.greeting, "您好");
        assert_eq!(
            zh.offline_message, "",
            "no Chinese offline text: the plain one (empty)"
        );
        assert_eq!(zh.prechat.fields[0].label, "订单号");
        assert_eq!(zh.prechat.consent, "我同意");
        assert!(zh.texts.is_empty());
        let en = w.for_visitor(Some("en-GB"));
        assert_eq!(en.language.as_deref(), Some("en"));
        assert_eq!(en.greeting, "Hello");
        assert_eq!(en.prechat.fields[0].label, "Order number");
        // The site's own language decides over the visitor's.
        w.language = Some("en".into());
        assert_eq!(w.for_visitor(Some("zh-CN")).greeting, "Hello");
        assert_eq!(w.greeting_or_default("zh-CN"), "Hello");
        w.language = Some("zh-CN".into());
        assert_eq!(w.greeting_or_default("en"), "您好");
        assert_eq!(w.offline_or_default("en"), crate::texts::ZH.offline);
    }

    /// Unknown languages, oversized texts and labels of no field are
    /// refused with the reason.
    #[test]
    fn bad_texts_are_refused() {
        let mut w = WidgetSettings::default();
        w.texts.insert("fr".into(), texts("Bonjour", "", &[]));
        let e = w.validate().expect_err("fr");
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(
            e.message
                .contains("widget texts: language must be en or zh-CN"),
            "{}",
            e.message
        );
        let mut w = WidgetSettings::default();
        w.texts.insert(
            "en".into(),
            texts(&"x".repeat(MAX_WIDGET_TEXT_BYTES + 1), "", &[]),
        );
        assert_eq!(w.validate().expect_err("long").code, ErrorCode::TooLarge);
        let mut w = WidgetSettings::default();
        w.texts
            .insert("zh-CN".into(), texts("", "", &[("nope", "无")]));
        let e = w.validate().expect_err("no field");
        assert!(e.message.contains("names no custom field"), "{}", e.message);
        w.texts.insert(
            "zh-CN".into(),
            texts(
                "",
                "",
                &[(CONSENT_LABEL, &"x".repeat(MAX_WIDGET_TEXT_BYTES + 1))],
            ),
        );
        assert_eq!(
            w.validate().expect_err("long consent").code,
            ErrorCode::TooLarge
        );
    }
}
