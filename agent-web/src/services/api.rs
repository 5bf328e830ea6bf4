//! The relay's HTTP API (`/v1/api/…`), as the console uses it: one typed
//! call per route with the bodies of [`protocol::api`], and [`Fetch`] /
//! [`Answer`], the requests the reducer asks for and what comes back.
//! Every call carries the session token; errors come back as the relay's
//! message.

use gloo_net::http::{Request, RequestBuilder, Response};
use protocol::api::integrations::{
    ApiKeyView, DeliveryPage, NewApiKey, NewWebhook, WebhookPatch, WebhookView,
};
use protocol::api::privacy::{BlockView, EraseRequest, ErasureView, NewBlock};
use protocol::api::{
    AgentPatch, AgentView, AssignRequest, Canned, ConvPage, EventsPage, LoginReply, LoginRequest,
    NewAgent, NewCanned, PasswordChange, PushKey, PushSubscription, PushUnsubscribe, RefusedOrigin,
    ResetOptions, ResetRequest, SitePatch, SiteView, SnippetReply, Stats, StatsQuery, Teammate,
    TransferRequest, VisitorPatch, VisitorProfile,
};
use protocol::offline::MailPref;
use protocol::search::SearchPage;
use protocol::{Attachment, Cid, ConvId, ConvSummary, SiteId, VisitorId};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

/// History fetched per page when opening or scrolling back.
pub const HISTORY_PAGE: u32 = 50;
/// Conversations fetched per list (open, or closed on demand).
const CONVS_PAGE: u32 = 200;
/// Search hits asked for per page ("More results" asks for the next).
const SEARCH_PAGE: usize = protocol::limits::DEFAULT_SEARCH_PAGE;

/// The part of the relay's error body (`{code, message}`) that is shown.
#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// An error the console shows: the relay's own message when it sent one.
pub type ApiResult<T> = Result<T, String>;

async fn read<T: DeserializeOwned>(r: Result<Response, gloo_net::Error>) -> ApiResult<T> {
    let r = r.map_err(|e| crate::i18n::trf("network error: {}", &[&e]))?;
    let status = r.status();
    let text = r
        .text()
        .await
        .map_err(|e| crate::i18n::trf("network error: {}", &[&e]))?;
    if !(200..300).contains(&status) {
        let msg = serde_json::from_str::<ErrorBody>(&text)
            .map(|e| e.message)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(if status == 401 {
            format!("unauthorized: {msg}")
        } else {
            msg
        });
    }
    let text = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(text).map_err(|e| crate::i18n::trf("unexpected answer: {}", &[&e]))
}

pub fn is_unauthorized(e: &str) -> bool {
    e.starts_with("unauthorized")
}

/// `encodeURIComponent` for ids in paths (ids are validated by the relay,
/// but a path must never be built from raw text).
fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// A stats query as `?from=…&to=…` (empty: the relay's default week).
pub fn stats_query(q: &StatsQuery) -> String {
    let mut parts = Vec::new();
    if let Some(d) = q.days {
        parts.push(format!("days={d}"));
    }
    for (k, v) in [("from", &q.from), ("to", &q.to), ("team", &q.team)] {
        if let Some(v) = v {
            parts.push(format!("{k}={}", enc(v)));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// `POST /v1/api/login`
pub async fn login(body: &LoginRequest) -> ApiResult<LoginReply> {
    match Request::post("/v1/api/login").json(body) {
        Ok(req) => read(req.send().await).await,
        Err(e) => Err(e.to_string()),
    }
}

/// A body-less action's body (`close`, `reopen`): `{}`.
#[derive(Serialize)]
struct Empty {}

/// What to do to a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvAction {
    /// To an agent, or (absent) to the caller.
    Assign(Option<String>),
    Transfer(TransferTo),
    Close,
    Reopen,
    /// Puts one of the site's labels on it.
    Label(String),
    /// Takes a label off it.
    Unlabel(String),
}

/// Where "Transfer to…" hands a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTo {
    Agent(String),
    /// Routed within the team by the relay.
    Team(String),
}

impl TransferTo {
    /// The value of its `<option>`: ids cannot hold `:`, so the kind
    /// prefix never clashes with an id.
    pub fn option_value(&self) -> String {
        match self {
            TransferTo::Agent(id) => format!("agent:{id}"),
            TransferTo::Team(id) => format!("team:{id}"),
        }
    }

    /// An `<option>`'s value back (none for the placeholder).
    pub fn from_option(v: &str) -> Option<TransferTo> {
        match v.split_once(':')? {
            ("agent", id) if !id.is_empty() => Some(TransferTo::Agent(id.into())),
            ("team", id) if !id.is_empty() => Some(TransferTo::Team(id.into())),
            _ => None,
        }
    }

    fn request(&self) -> TransferRequest {
        match self {
            TransferTo::Agent(id) => TransferRequest {
                agent: Some(id.clone()),
                team: None,
            },
            TransferTo::Team(id) => TransferRequest {
                agent: None,
                team: Some(id.clone()),
            },
        }
    }
}

/// An authenticated client.
#[derive(Clone, PartialEq)]
pub struct Api {
    pub token: String,
}

impl Api {
    fn auth(&self, b: RequestBuilder) -> RequestBuilder {
        b.header("Authorization", &format!("Bearer {}", self.token))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        read(self.auth(Request::get(path)).send().await).await
    }

    async fn with_body<T: DeserializeOwned>(
        &self,
        b: RequestBuilder,
        body: &impl Serialize,
    ) -> ApiResult<T> {
        match self.auth(b).json(body) {
            Ok(req) => read(req.send().await).await,
            Err(e) => Err(e.to_string()),
        }
    }

    /// A call whose answer body does not matter.
    async fn done(&self, b: RequestBuilder) -> ApiResult<()> {
        read::<IgnoredAny>(self.auth(b).send().await)
            .await
            .map(|_| ())
    }

    pub async fn me(&self) -> ApiResult<AgentView> {
        self.get("/v1/api/me").await
    }

    pub async fn logout(&self) -> ApiResult<()> {
        self.done(Request::post("/v1/api/logout")).await
    }

    pub async fn site(&self, site: &SiteId) -> ApiResult<SiteView> {
        self.get(&format!("/v1/api/sites/{}", enc(site.as_str())))
            .await
    }

    pub async fn sites(&self) -> ApiResult<Vec<SiteView>> {
        self.get("/v1/api/sites").await
    }

    pub async fn patch_site(&self, site: &SiteId, body: &SitePatch) -> ApiResult<SiteView> {
        let url = format!("/v1/api/sites/{}", enc(site.as_str()));
        self.with_body(Request::patch(&url), body).await
    }

    /// `GET /v1/api/sites/{site}/refused-origins`
    pub async fn refused_origins(&self, site: &SiteId) -> ApiResult<Vec<RefusedOrigin>> {
        self.get(&format!(
            "/v1/api/sites/{}/refused-origins",
            enc(site.as_str())
        ))
        .await
    }

    /// The snippet and the hosted chat page's address.
    pub async fn snippet(&self, site: &SiteId) -> ApiResult<SnippetReply> {
        self.get(&format!("/v1/api/sites/{}/snippet", enc(site.as_str())))
            .await
    }

    pub async fn team(&self, site: &SiteId) -> ApiResult<Vec<Teammate>> {
        self.get(&format!("/v1/api/sites/{}/agents", enc(site.as_str())))
            .await
    }

    /// `GET /v1/api/sites/{site}/stats?…`
    pub async fn stats(&self, site: &SiteId, q: &StatsQuery) -> ApiResult<Stats> {
        let url = format!(
            "/v1/api/sites/{}/stats{}",
            enc(site.as_str()),
            stats_query(q)
        );
        self.get(&url).await
    }

    /// `GET /v1/api/sites/{site}/stats.csv?…`: the file's name (from
    /// `Content-Disposition`) and its text.
    pub async fn stats_csv(&self, site: &SiteId, q: &StatsQuery) -> ApiResult<(String, String)> {
        let url = format!(
            "/v1/api/sites/{}/stats.csv{}",
            enc(site.as_str()),
            stats_query(q)
        );
        let r = self
            .auth(Request::get(&url))
            .send()
            .await
            .map_err(|e| crate::i18n::trf("network error: {}", &[&e]))?;
        let name = r
            .headers()
            .get("content-disposition")
            .and_then(|d| {
                d.split("filename=\"")
                    .nth(1)
                    .map(|n| n.trim_end_matches('"').to_string())
            })
            .unwrap_or_else(|| "kefu-stats.csv".into());
        if !(200..300).contains(&r.status()) {
            return read::<IgnoredAny>(Ok(r))
                .await
                .map(|_| (name, String::new()));
        }
        let text = r
            .text()
            .await
            .map_err(|e| crate::i18n::trf("network error: {}", &[&e]))?;
        Ok((name, text))
    }

    pub async fn agents(&self) -> ApiResult<Vec<AgentView>> {
        self.get("/v1/api/agents").await
    }

    pub async fn add_agent(&self, body: &NewAgent) -> ApiResult<AgentView> {
        self.with_body(Request::post("/v1/api/agents"), body).await
    }

    /// `PATCH /v1/api/agents/{agent}` (owners, or the agent itself).
    pub async fn patch_agent(&self, id: &str, body: &AgentPatch) -> ApiResult<()> {
        let url = format!("/v1/api/agents/{}", enc(id));
        self.with_body(Request::patch(&url), body)
            .await
            .map(|_: IgnoredAny| ())
    }

    pub async fn delete_agent(&self, id: &str) -> ApiResult<()> {
        self.done(Request::delete(&format!("/v1/api/agents/{}", enc(id))))
            .await
    }

    pub async fn canned(&self, site: &SiteId) -> ApiResult<Vec<Canned>> {
        self.get(&format!("/v1/api/sites/{}/canned", enc(site.as_str())))
            .await
    }

    pub async fn add_canned(&self, site: &SiteId, body: &NewCanned) -> ApiResult<Canned> {
        let url = format!("/v1/api/sites/{}/canned", enc(site.as_str()));
        self.with_body(Request::post(&url), body).await
    }

    pub async fn delete_canned(&self, site: &SiteId, id: &str) -> ApiResult<()> {
        let url = format!("/v1/api/sites/{}/canned/{}", enc(site.as_str()), enc(id));
        self.done(Request::delete(&url)).await
    }

    pub async fn convs(&self, site: &SiteId, status: &str) -> ApiResult<ConvPage> {
        self.get(&format!(
            "/v1/api/sites/{}/conversations?status={}&limit={CONVS_PAGE}",
            enc(site.as_str()),
            enc(status)
        ))
        .await
    }

    /// A page of the site's search hits for `q`, from `cursor` on.
    pub async fn search(
        &self,
        site: &SiteId,
        q: &str,
        cursor: Option<&str>,
    ) -> ApiResult<SearchPage> {
        let mut path = format!(
            "/v1/api/sites/{}/search?q={}&limit={SEARCH_PAGE}",
            enc(site.as_str()),
            enc(q)
        );
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={}", enc(c)));
        }
        self.get(&path).await
    }

    /// The latest [`HISTORY_PAGE`] events below `before`.
    pub async fn events_before(&self, conv: &ConvId, before: u64) -> ApiResult<EventsPage> {
        self.get(&format!(
            "/v1/api/conversations/{}/events?before={before}&limit={HISTORY_PAGE}",
            enc(conv.as_str())
        ))
        .await
    }

    /// `PATCH /v1/api/sites/{site}/visitors/{visitor}`: the profile as stored.
    pub async fn patch_visitor(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        body: &VisitorPatch,
    ) -> ApiResult<VisitorProfile> {
        let url = format!(
            "/v1/api/sites/{}/visitors/{}",
            enc(site.as_str()),
            enc(visitor.as_str())
        );
        self.with_body(Request::patch(&url), body).await
    }

    pub async fn visitor(&self, site: &SiteId, visitor: &VisitorId) -> ApiResult<VisitorProfile> {
        self.get(&format!(
            "/v1/api/sites/{}/visitors/{}",
            enc(site.as_str()),
            enc(visitor.as_str())
        ))
        .await
    }

    /// `GET /v1/api/sites/{site}/blocks`
    pub async fn blocks(&self, site: &SiteId) -> ApiResult<Vec<BlockView>> {
        self.get(&format!("/v1/api/sites/{}/blocks", enc(site.as_str())))
            .await
    }

    /// `POST /v1/api/sites/{site}/blocks`
    pub async fn add_block(&self, site: &SiteId, body: &NewBlock) -> ApiResult<BlockView> {
        let url = format!("/v1/api/sites/{}/blocks", enc(site.as_str()));
        self.with_body(Request::post(&url), body).await
    }

    /// `DELETE /v1/api/sites/{site}/blocks/{block}`
    pub async fn delete_block(&self, site: &SiteId, id: &str) -> ApiResult<()> {
        let url = format!("/v1/api/sites/{}/blocks/{}", enc(site.as_str()), enc(id));
        self.done(Request::delete(&url)).await
    }

    /// `GET /v1/api/sites/{site}/erasures` (owners)
    pub async fn erasures(&self, site: &SiteId) -> ApiResult<Vec<ErasureView>> {
        self.get(&format!("/v1/api/sites/{}/erasures", enc(site.as_str())))
            .await
    }

    /// `POST /v1/api/sites/{site}/visitors/{visitor}/erase`
    pub async fn erase(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        confirm: &str,
    ) -> ApiResult<ErasureView> {
        let url = format!(
            "/v1/api/sites/{}/visitors/{}/erase",
            enc(site.as_str()),
            enc(visitor.as_str())
        );
        let body = EraseRequest {
            confirm: confirm.to_string(),
        };
        self.with_body(Request::post(&url), &body).await
    }

    /// `GET /v1/api/sites/{site}/visitors/{visitor}/export`: the archive's
    /// bytes (the caller hands them to the browser as a download).
    pub async fn export(&self, site: &SiteId, visitor: &VisitorId) -> ApiResult<Vec<u8>> {
        let url = format!(
            "/v1/api/sites/{}/visitors/{}/export",
            enc(site.as_str()),
            enc(visitor.as_str())
        );
        let r = self
            .auth(Request::get(&url))
            .send()
            .await
            .map_err(|e| crate::i18n::trf("network error: {}", &[&e]))?;
        if !(200..300).contains(&r.status()) {
            return read::<IgnoredAny>(Ok(r)).await.map(|_| Vec::new());
        }
        r.binary()
            .await
            .map_err(|e| crate::i18n::trf("network error: {}", &[&e]))
    }

    /// Uploads a file for `site` (the relay sniffs its type); send it
    /// afterwards with `send {file: id}`.
    pub async fn upload(&self, site: &SiteId, file: web_sys::File) -> ApiResult<Attachment> {
        let url = format!(
            "/v1/files?site={}&name={}",
            enc(site.as_str()),
            enc(&file.name())
        );
        match self.auth(Request::post(&url)).body(file) {
            Ok(req) => read(req.send().await).await,
            Err(e) => Err(e.to_string()),
        }
    }

    /// `POST /v1/api/conversations/{conv}/{assign|transfer|close|reopen}`,
    /// `PUT` and `DELETE …/labels/{label}`: each answers the summary.
    pub async fn conv_action(&self, conv: &ConvId, action: &ConvAction) -> ApiResult<ConvSummary> {
        let url = |name: &str| format!("/v1/api/conversations/{}/{name}", enc(conv.as_str()));
        let label = |l: &str| url(&format!("labels/{}", enc(l)));
        match action {
            ConvAction::Assign(agent) => {
                let body = AssignRequest {
                    agent: agent.clone(),
                };
                self.with_body(Request::post(&url("assign")), &body).await
            }
            ConvAction::Transfer(to) => {
                self.with_body(Request::post(&url("transfer")), &to.request())
                    .await
            }
            ConvAction::Close => {
                self.with_body(Request::post(&url("close")), &Empty {})
                    .await
            }
            ConvAction::Reopen => {
                self.with_body(Request::post(&url("reopen")), &Empty {})
                    .await
            }
            ConvAction::Label(l) => self.with_body(Request::put(&label(l)), &Empty {}).await,
            ConvAction::Unlabel(l) => self.with_body(Request::delete(&label(l)), &Empty {}).await,
        }
    }
}

/// Accounts: names, the picture, the password.
impl Api {
    /// `PATCH /v1/api/agents/{agent}`, answering the agent.
    pub async fn patch_agent_view(&self, agent: &str, body: &AgentPatch) -> ApiResult<AgentView> {
        let url = format!("/v1/api/agents/{}", enc(agent));
        self.with_body(Request::patch(&url), body).await
    }

    /// `PUT /v1/api/me/avatar` with the file's bytes (the relay reads the
    /// type from them), or `DELETE` it.
    pub async fn avatar(&self, file: Option<web_sys::File>) -> ApiResult<AgentView> {
        let url = "/v1/api/me/avatar";
        match file {
            Some(f) => match self.auth(Request::put(url)).body(f) {
                Ok(req) => read(req.send().await).await,
                Err(e) => Err(e.to_string()),
            },
            None => read(self.auth(Request::delete(url)).send().await).await,
        }
    }

    /// `POST /v1/api/me/password`
    pub async fn password(&self, body: &PasswordChange) -> ApiResult<()> {
        match self.auth(Request::post("/v1/api/me/password")).json(body) {
            Ok(req) => read::<IgnoredAny>(req.send().await).await.map(|_| ()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Integrations (owners): `/v1/api/sites/{site}/webhooks…` and `…/keys…`.
impl Api {
    fn site_url(site: &SiteId, rest: &str) -> String {
        format!("/v1/api/sites/{}/{rest}", enc(site.as_str()))
    }

    pub async fn webhooks(&self, site: &SiteId) -> ApiResult<Vec<WebhookView>> {
        self.get(&Self::site_url(site, "webhooks")).await
    }

    /// The answer carries the signing secret (this once).
    pub async fn add_webhook(&self, site: &SiteId, body: &NewWebhook) -> ApiResult<WebhookView> {
        let url = Self::site_url(site, "webhooks");
        self.with_body(Request::post(&url), body).await
    }

    pub async fn patch_webhook(
        &self,
        site: &SiteId,
        hook: &str,
        body: &WebhookPatch,
    ) -> ApiResult<WebhookView> {
        let url = Self::site_url(site, &format!("webhooks/{}", enc(hook)));
        self.with_body(Request::patch(&url), body).await
    }

    pub async fn delete_webhook(&self, site: &SiteId, hook: &str) -> ApiResult<()> {
        let url = Self::site_url(site, &format!("webhooks/{}", enc(hook)));
        self.done(Request::delete(&url)).await
    }

    /// The endpoint's last attempts, newest first.
    pub async fn deliveries(&self, site: &SiteId, hook: &str) -> ApiResult<DeliveryPage> {
        let url = Self::site_url(site, &format!("webhooks/{}/deliveries", enc(hook)));
        self.get(&url).await
    }

    /// Queues the delivery's event again (202).
    pub async fn redeliver(&self, site: &SiteId, hook: &str, delivery: &str) -> ApiResult<()> {
        let url = Self::site_url(
            site,
            &format!(
                "webhooks/{}/deliveries/{}/redeliver",
                enc(hook),
                enc(delivery)
            ),
        );
        self.done(Request::post(&url)).await
    }

    pub async fn api_keys(&self, site: &SiteId) -> ApiResult<Vec<ApiKeyView>> {
        self.get(&Self::site_url(site, "keys")).await
    }

    /// The answer carries the key itself (this once).
    pub async fn add_api_key(&self, site: &SiteId, body: &NewApiKey) -> ApiResult<ApiKeyView> {
        let url = Self::site_url(site, "keys");
        self.with_body(Request::post(&url), body).await
    }

    pub async fn delete_api_key(&self, site: &SiteId, key: &str) -> ApiResult<()> {
        let url = Self::site_url(site, &format!("keys/{}", enc(key)));
        self.done(Request::delete(&url)).await
    }
}

/// One of the caller's devices that Web Push reaches, as
/// `GET /v1/api/push/subscriptions` lists it (the rest is not shown).
#[derive(Deserialize)]
struct PushDevice {
    endpoint: String,
}

/// Web Push (`/v1/api/push/…`): the relay's key and this agent's devices.
impl Api {
    /// The relay's VAPID public key: the `applicationServerKey`.
    pub async fn push_key(&self) -> ApiResult<PushKey> {
        self.get("/v1/api/push/key").await
    }

    /// The endpoints of the caller's devices.
    pub async fn push_endpoints(&self) -> ApiResult<Vec<String>> {
        let list: Vec<PushDevice> = self.get("/v1/api/push/subscriptions").await?;
        Ok(list.into_iter().map(|d| d.endpoint).collect())
    }

    pub async fn push_subscribe(&self, body: &PushSubscription) -> ApiResult<()> {
        self.with_body(Request::post("/v1/api/push/subscriptions"), body)
            .await
            .map(|_: IgnoredAny| ())
    }

    pub async fn push_unsubscribe(&self, endpoint: &str) -> ApiResult<()> {
        let body = PushUnsubscribe {
            endpoint: endpoint.to_string(),
        };
        self.with_body(Request::delete("/v1/api/push/subscriptions"), &body)
            .await
            .map(|_: IgnoredAny| ())
    }
}

/// Where a file (or its thumbnail) is read: the token rides in the query
/// because `<img src>` and links cannot send a header; the relay checks it
/// on every download.
pub fn file_url(token: &str, id: &str, thumb: bool) -> String {
    format!(
        "/v1/files/{}{}?token={}",
        enc(id),
        if thumb { "/thumb" } else { "" },
        enc(token)
    )
}

/// Which settings form a `PATCH` of the site saves (its answer is that
/// form's alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Business hours, the auto-reply, the continuity delay (`offline`).
    Hours,
    /// The pre-chat form and the rating scale (inside `widget`).
    Forms,
}

/// A request the reducer asks for; [`run`] performs it.
#[derive(Debug)]
pub enum Fetch {
    Login(LoginRequest),
    Me,
    /// Ends the session with this token (already forgotten here).
    Logout(String),
    Sites,
    Team(SiteId),
    Canned(SiteId),
    /// `open`, `closed` or `queued`.
    Convs(SiteId, &'static str),
    /// History below `before`.
    Events(ConvId, u64),
    Profile(SiteId, VisitorId),
    /// A search of the site: the query, and where the page starts.
    Search(SiteId, String, Option<String>),
    /// The visitor's contact as an agent corrected it.
    PatchVisitor(SiteId, VisitorId, VisitorPatch),
    Upload {
        site: SiteId,
        conv: ConvId,
        cid: Cid,
        file: web_sys::File,
    },
    Conv(ConvId, ConvAction),
    Site(SiteId),
    Snippet(SiteId),
    RefusedOrigins(SiteId),
    Agents,
    PatchSite(SiteId, Box<SitePatch>),
    /// A PATCH of the site by one settings form.
    SaveSection(SiteId, Section, Box<SitePatch>),
    AddAgent(NewAgent),
    /// An agent's capacity (`PATCH /v1/api/agents/{agent}`).
    Capacity(String, u32),
    /// An agent's notification mail choice (`PATCH /v1/api/agents/{agent}`).
    MailPref(String, MailPref),
    DeleteAgent(String),
    AddCanned(SiteId, NewCanned),
    DeleteCanned(SiteId, String),
    Webhooks(SiteId),
    AddWebhook(SiteId, NewWebhook),
    /// A webhook by id: paused or resumed.
    PatchWebhook(SiteId, String, WebhookPatch),
    DeleteWebhook(SiteId, String),
    /// A webhook's delivery log.
    Deliveries(SiteId, String),
    /// A webhook's delivery, queued again.
    Redeliver(SiteId, String, String),
    ApiKeys(SiteId),
    AddApiKey(SiteId, NewApiKey),
    /// Revokes a key by id.
    DeleteApiKey(SiteId, String),
    /// The Reports page's figures.
    Stats(SiteId, StatsQuery),
    /// The same as a CSV file to save.
    StatsCsv(SiteId, StatsQuery),
    /// The agent's own new name (`PATCH /v1/api/agents/{me}`).
    RenameMe(String, String),
    /// A new picture (`PUT /v1/api/me/avatar`), or none (`DELETE`).
    Avatar(Option<web_sys::File>),
    Password(PasswordChange),
    /// An owner renames an agent: id, name.
    RenameAgent(String, String),
    RenameSite(SiteId, String),
    /// The first sign-in question's answer: the site's name, then the
    /// owner's (which marks it answered).
    Welcome {
        agent: String,
        name: String,
        site: SiteId,
        site_name: String,
    },
    /// Whether "Forgot password?" can mail a link (no session needed).
    ResetOptions,
    /// Mails a reset link to this address (no session needed).
    ResetRequest(String),
}

/// What a [`Fetch`] brought back.
#[derive(Debug)]
pub enum Answer {
    LoggedIn(ApiResult<LoginReply>),
    Me(ApiResult<AgentView>),
    LoggedOut,
    Sites(ApiResult<Vec<SiteView>>),
    Team(ApiResult<Vec<Teammate>>),
    Canned(ApiResult<Vec<Canned>>),
    Convs(ApiResult<ConvPage>),
    Events(ConvId, ApiResult<EventsPage>),
    Profile(VisitorId, ApiResult<Box<VisitorProfile>>),
    /// A page of search hits for `q` (`more`: a next page).
    Search {
        site: SiteId,
        q: String,
        more: bool,
        result: ApiResult<SearchPage>,
    },
    ContactSaved(VisitorId, ApiResult<Box<VisitorProfile>>),
    Uploaded {
        cid: Cid,
        conv: ConvId,
        result: ApiResult<Attachment>,
    },
    Conv(ApiResult<ConvSummary>),
    /// Boxed: a site's view is the largest answer by far.
    Site(ApiResult<Box<SiteView>>),
    Snippet(ApiResult<SnippetReply>),
    RefusedOrigins(ApiResult<Vec<RefusedOrigin>>),
    Agents(ApiResult<Vec<AgentView>>),
    Saved(ApiResult<Box<SiteView>>),
    SectionSaved(Section, ApiResult<Box<SiteView>>),
    AgentAdded(ApiResult<AgentView>),
    Capacity {
        agent: String,
        capacity: u32,
        result: ApiResult<()>,
    },
    MailPref(MailPref, ApiResult<()>),
    AgentDeleted(ApiResult<()>),
    CannedDone(ApiResult<()>),
    Webhooks(ApiResult<Vec<WebhookView>>),
    WebhookAdded(ApiResult<WebhookView>),
    WebhookPatched(ApiResult<WebhookView>),
    /// The webhook's id.
    WebhookDeleted(String, ApiResult<()>),
    Deliveries(String, ApiResult<DeliveryPage>),
    Redelivered(String, ApiResult<()>),
    ApiKeys(ApiResult<Vec<ApiKeyView>>),
    ApiKeyAdded(ApiResult<ApiKeyView>),
    /// The key's id.
    ApiKeyRevoked(String, ApiResult<()>),
    /// The query asked, and its figures (boxed: they are large).
    Stats(StatsQuery, ApiResult<Box<Stats>>),
    /// A CSV file's name and text.
    StatsCsv(ApiResult<(String, String)>),
    ResetOptions(ApiResult<ResetOptions>),
    ResetRequested(ApiResult<()>),
    /// The agent renamed themselves or changed their picture.
    MeSaved(ApiResult<AgentView>),
    PasswordChanged(ApiResult<()>),
    AgentRenamed(ApiResult<AgentView>),
    SiteRenamed(ApiResult<Box<SiteView>>),
    Welcomed(ApiResult<(AgentView, Box<SiteView>)>),
}

/// Performs `fetch` with the session `token` (none: only a login, or the
/// logout that carries its own).
pub async fn run(token: Option<String>, fetch: Fetch) -> Option<Answer> {
    let fetch = match fetch {
        Fetch::Login(body) => return Some(Answer::LoggedIn(login(&body).await)),
        Fetch::ResetOptions => {
            let r = read(Request::get("/v1/api/password-reset").send().await).await;
            return Some(Answer::ResetOptions(r));
        }
        Fetch::ResetRequest(email) => {
            let body = ResetRequest { email };
            let r = match Request::post("/v1/api/password-reset").json(&body) {
                Ok(req) => read::<IgnoredAny>(req.send().await).await.map(|_| ()),
                Err(e) => Err(e.to_string()),
            };
            return Some(Answer::ResetRequested(r));
        }
        Fetch::Logout(token) => {
            let api = Api { token };
            // Signing out turns this device's notifications off first,
            // while the token still works.
            crate::services::push::forget_device(&api).await;
            let _ = api.logout().await;
            return Some(Answer::LoggedOut);
        }
        other => other,
    };
    let api = Api { token: token? };
    Some(match fetch {
        Fetch::Login(_) | Fetch::Logout(_) | Fetch::ResetOptions | Fetch::ResetRequest(_) => {
            return None
        }
        Fetch::RenameMe(id, name) => {
            let body = AgentPatch {
                name: Some(name),
                ..Default::default()
            };
            Answer::MeSaved(api.patch_agent_view(&id, &body).await)
        }
        Fetch::Avatar(file) => Answer::MeSaved(api.avatar(file).await),
        Fetch::Password(body) => Answer::PasswordChanged(api.password(&body).await),
        Fetch::RenameAgent(id, name) => {
            let body = AgentPatch {
                name: Some(name),
                ..Default::default()
            };
            Answer::AgentRenamed(api.patch_agent_view(&id, &body).await)
        }
        Fetch::RenameSite(site, name) => {
            let body = SitePatch {
                name: Some(name),
                ..Default::default()
            };
            Answer::SiteRenamed(api.patch_site(&site, &body).await.map(Box::new))
        }
        Fetch::Welcome {
            agent,
            name,
            site,
            site_name,
        } => {
            let patch = SitePatch {
                name: Some(site_name),
                ..Default::default()
            };
            let r = match api.patch_site(&site, &patch).await {
                Ok(view) => {
                    let body = AgentPatch {
                        name: Some(name),
                        ..Default::default()
                    };
                    api.patch_agent_view(&agent, &body)
                        .await
                        .map(|me| (me, Box::new(view)))
                }
                Err(e) => Err(e),
            };
            Answer::Welcomed(r)
        }
        Fetch::Me => Answer::Me(api.me().await),
        Fetch::Sites => Answer::Sites(api.sites().await),
        Fetch::Team(site) => Answer::Team(api.team(&site).await),
        Fetch::Canned(site) => Answer::Canned(api.canned(&site).await),
        Fetch::Convs(site, status) => Answer::Convs(api.convs(&site, status).await),
        Fetch::Events(conv, before) => {
            let r = api.events_before(&conv, before).await;
            Answer::Events(conv, r)
        }
        Fetch::Profile(site, visitor) => {
            let r = api.visitor(&site, &visitor).await.map(Box::new);
            Answer::Profile(visitor, r)
        }
        Fetch::Search(site, q, cursor) => {
            let result = api.search(&site, &q, cursor.as_deref()).await;
            Answer::Search {
                more: cursor.is_some(),
                site,
                q,
                result,
            }
        }
        Fetch::PatchVisitor(site, visitor, body) => {
            let r = api
                .patch_visitor(&site, &visitor, &body)
                .await
                .map(Box::new);
            Answer::ContactSaved(visitor, r)
        }
        Fetch::Upload {
            site,
            conv,
            cid,
            file,
        } => Answer::Uploaded {
            result: api.upload(&site, file).await,
            cid,
            conv,
        },
        Fetch::Conv(conv, action) => Answer::Conv(api.conv_action(&conv, &action).await),
        Fetch::Site(site) => Answer::Site(api.site(&site).await.map(Box::new)),
        Fetch::Snippet(site) => Answer::Snippet(api.snippet(&site).await),
        Fetch::Agents => Answer::Agents(api.agents().await),
        Fetch::RefusedOrigins(site) => Answer::RefusedOrigins(api.refused_origins(&site).await),
        Fetch::PatchSite(site, patch) => {
            Answer::Saved(api.patch_site(&site, &patch).await.map(Box::new))
        }
        Fetch::SaveSection(site, section, patch) => {
            Answer::SectionSaved(section, api.patch_site(&site, &patch).await.map(Box::new))
        }
        Fetch::AddAgent(body) => Answer::AgentAdded(api.add_agent(&body).await),
        Fetch::Capacity(agent, capacity) => {
            let body = AgentPatch {
                capacity: Some(capacity),
                ..Default::default()
            };
            let result = api.patch_agent(&agent, &body).await;
            Answer::Capacity {
                agent,
                capacity,
                result,
            }
        }
        Fetch::MailPref(agent, pref) => {
            let body = AgentPatch {
                mail: Some(pref),
                ..Default::default()
            };
            Answer::MailPref(pref, api.patch_agent(&agent, &body).await)
        }
        Fetch::DeleteAgent(id) => Answer::AgentDeleted(api.delete_agent(&id).await),
        Fetch::AddCanned(site, body) => {
            Answer::CannedDone(api.add_canned(&site, &body).await.map(|_| ()))
        }
        Fetch::DeleteCanned(site, id) => Answer::CannedDone(api.delete_canned(&site, &id).await),
        Fetch::Webhooks(site) => Answer::Webhooks(api.webhooks(&site).await),
        Fetch::AddWebhook(site, body) => Answer::WebhookAdded(api.add_webhook(&site, &body).await),
        Fetch::PatchWebhook(site, hook, body) => {
            Answer::WebhookPatched(api.patch_webhook(&site, &hook, &body).await)
        }
        Fetch::DeleteWebhook(site, hook) => {
            let r = api.delete_webhook(&site, &hook).await;
            Answer::WebhookDeleted(hook, r)
        }
        Fetch::Deliveries(site, hook) => {
            let r = api.deliveries(&site, &hook).await;
            Answer::Deliveries(hook, r)
        }
        Fetch::Redeliver(site, hook, delivery) => {
            let r = api.redeliver(&site, &hook, &delivery).await;
            Answer::Redelivered(hook, r)
        }
        Fetch::ApiKeys(site) => Answer::ApiKeys(api.api_keys(&site).await),
        Fetch::AddApiKey(site, body) => Answer::ApiKeyAdded(api.add_api_key(&site, &body).await),
        Fetch::Stats(site, q) => {
            let r = api.stats(&site, &q).await.map(Box::new);
            Answer::Stats(q, r)
        }
        Fetch::StatsCsv(site, q) => Answer::StatsCsv(api.stats_csv(&site, &q).await),
        Fetch::DeleteApiKey(site, key) => {
            let r = api.delete_api_key(&site, &key).await;
            Answer::ApiKeyRevoked(key, r)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "Transfer to…" option names its kind; the placeholder and
    /// anything else name nothing, and each kind asks the relay for it.
    #[test]
    fn transfer_options_round_trip() {
        for to in [
            TransferTo::Agent("ann".into()),
            TransferTo::Team("sales".into()),
        ] {
            assert_eq!(TransferTo::from_option(&to.option_value()), Some(to));
        }
        for v in ["", "ann", "team:", "group:x"] {
            assert_eq!(TransferTo::from_option(v), None, "{v}");
        }
        let body = |to: TransferTo| serde_json::to_value(to.request()).expect("json");
        assert_eq!(
            body(TransferTo::Team("sales".into())),
            serde_json::json!({"team": "sales"})
        );
        assert_eq!(
            body(TransferTo::Agent("ann".into())),
            serde_json::json!({"agent": "ann"})
        );
    }
}
