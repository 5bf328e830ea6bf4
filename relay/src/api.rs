//! The HTTP API under `/v1/api/` (JSON): login, agents, sites, settings,
//! conversations, canned replies, visitor profiles, stats, OpenAPI.
//!
//! Every handler authenticates with `Authorization: Bearer <token>` and
//! checks membership: an agent reaches only the sites it belongs to, and
//! resources of other sites answer exactly like missing ones (404), so ids
//! cannot be probed. Owners additionally manage agents, sites and settings.

use crate::http::Problem;
use crate::store::{AgentRecord, AgentRole, CannedRecord, ConvRecord, SiteRecord, StoreError};
use crate::{auth, App};
use bytes::Bytes;
use protocol::api::{valid_email, valid_origin};
use protocol::limits::*;
use protocol::{
    AgentId, Author, ConvId, ErrorCode, Side, SiteId, UserInfo, VisitorId, WidgetSettings,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

type Reply = Response<Bytes>;

/// Every route of the API: (method, path template). The OpenAPI test checks
/// each is described in `openapi.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/api/login"),
    ("POST", "/v1/api/logout"),
    ("GET", "/v1/api/me"),
    ("POST", "/v1/api/me/password"),
    ("GET", "/v1/api/agents"),
    ("POST", "/v1/api/agents"),
    ("DELETE", "/v1/api/agents/{agent}"),
    ("GET", "/v1/api/sites"),
    ("POST", "/v1/api/sites"),
    ("GET", "/v1/api/sites/{site}"),
    ("PATCH", "/v1/api/sites/{site}"),
    ("POST", "/v1/api/sites/{site}/rotate-secret"),
    ("GET", "/v1/api/sites/{site}/snippet"),
    ("GET", "/v1/api/sites/{site}/conversations"),
    ("GET", "/v1/api/sites/{site}/canned"),
    ("POST", "/v1/api/sites/{site}/canned"),
    ("DELETE", "/v1/api/sites/{site}/canned/{id}"),
    ("GET", "/v1/api/sites/{site}/visitors/{visitor}"),
    ("GET", "/v1/api/sites/{site}/agents"),
    ("GET", "/v1/api/sites/{site}/stats"),
    ("GET", "/v1/api/conversations/{conv}/events"),
    ("POST", "/v1/api/conversations/{conv}/assign"),
    ("POST", "/v1/api/conversations/{conv}/transfer"),
    ("POST", "/v1/api/conversations/{conv}/close"),
    ("POST", "/v1/api/conversations/{conv}/reopen"),
    ("GET", "/v1/api/openapi.json"),
    ("POST", "/v1/files"),
    ("GET", "/v1/files/{file}"),
    ("GET", "/v1/files/{file}/thumb"),
];

/// The OpenAPI 3 description of every route the relay serves.
pub const OPENAPI: &str = include_str!("openapi.json");

pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
        .unwrap_or_default()
}

fn no_content() -> Reply {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Bytes::new())
        .unwrap_or_default()
}

fn internal(e: StoreError) -> Rejection {
    tracing::error!(error = %e, "store error in API");
    Problem::reject(ErrorCode::Internal, "internal error")
}

fn bad(msg: impl Into<String>) -> Rejection {
    Problem::reject(ErrorCode::BadRequest, msg)
}

fn not_found(what: &str) -> Rejection {
    Problem::reject(ErrorCode::NotFound, format!("no such {what}"))
}

fn forbidden(msg: &str) -> Rejection {
    Problem::reject(ErrorCode::Forbidden, msg)
}

/// A JSON body, bounded and parsed with a clear error.
fn body<T: DeserializeOwned + Send>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::body::bytes())
        .and_then(|b: Bytes| async move {
            serde_json::from_slice::<T>(&b)
                .map_err(|e| Problem::reject(ErrorCode::BadJson, format!("body: {e}")))
        })
}

/// The authenticated agent and its token.
#[derive(Clone)]
struct Me {
    agent: AgentRecord,
    token: String,
}

impl Me {
    fn member(&self, site: &SiteId) -> bool {
        self.agent.sites.contains(site)
    }
    fn owner(&self) -> Result<(), Rejection> {
        match self.agent.role {
            AgentRole::Owner => Ok(()),
            AgentRole::Agent => Err(forbidden("owners only")),
        }
    }
    fn author(&self) -> Author {
        Author {
            side: Side::Agent,
            id: self.agent.id.to_string(),
            name: Some(self.agent.name.clone()),
        }
    }
}

fn authed(app: Arc<App>) -> impl Filter<Extract = (Arc<App>, Me), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and_then(move |h: Option<String>| {
            let app = app.clone();
            async move {
                let token = auth::bearer(h.as_deref())
                    .ok_or_else(|| {
                        Problem::reject(
                            ErrorCode::Unauthorized,
                            "Authorization: Bearer <token> required",
                        )
                    })?
                    .to_string();
                match auth::agent_for_token(&app.store, &token).map_err(internal)? {
                    Some(agent) => Ok((app, Me { agent, token })),
                    None => Err(Problem::reject(
                        ErrorCode::Unauthorized,
                        "unknown, expired or revoked token",
                    )),
                }
            }
        })
        .untuple_one()
}

/// A site the agent is a member of; other sites look missing.
fn member_site(app: &App, me: &Me, site: &str) -> Result<SiteRecord, Rejection> {
    let id = SiteId::new(site).map_err(|_| not_found("site"))?;
    if !me.member(&id) {
        return Err(not_found("site"));
    }
    app.store
        .site(&id)
        .map_err(internal)?
        .ok_or_else(|| not_found("site"))
}

/// A conversation on one of the agent's sites; others look missing.
fn member_conv(app: &App, me: &Me, conv: &str) -> Result<ConvRecord, Rejection> {
    let id = ConvId::new(conv).map_err(|_| not_found("conversation"))?;
    match app.store.conv(&id).map_err(internal)? {
        Some(c) if me.member(&c.site) => Ok(c),
        _ => Err(not_found("conversation")),
    }
}

// --- views ---------------------------------------------------------------

#[derive(Serialize)]
struct AgentView {
    id: AgentId,
    name: String,
    email: Option<String>,
    role: AgentRole,
    sites: Vec<SiteId>,
}

impl From<&AgentRecord> for AgentView {
    fn from(a: &AgentRecord) -> Self {
        AgentView {
            id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            role: a.role,
            sites: a.sites.clone(),
        }
    }
}

#[derive(Serialize)]
struct SiteView {
    id: SiteId,
    name: String,
    created: u64,
    allowed_origins: Vec<String>,
    widget: WidgetSettings,
    /// Owners only: the secret for `user_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn site_view(app: &App, s: &SiteRecord, me: &Me) -> SiteView {
    let widget = s
        .widget
        .clone()
        .with_effective_file_types(&app.config.file_types);
    SiteView {
        id: s.id.clone(),
        name: s.name.clone(),
        created: s.created,
        allowed_origins: s.allowed_origins.clone(),
        widget,
        secret: (me.agent.role == AgentRole::Owner).then(|| s.secret.clone()),
    }
}

// --- routes --------------------------------------------------------------

pub fn routes(app: Arc<App>) -> BoxedFilter<(Reply,)> {
    let a = || authed(app.clone());
    let api = || warp::path("v1").and(warp::path("api"));

    let login = api()
        .and(warp::path!("login"))
        .and(warp::post())
        .and(warp::addr::remote())
        .and(body::<Login>())
        .and(warp::any().map({
            let app = app.clone();
            move || app.clone()
        }))
        .and_then(login);
    let logout = api()
        .and(warp::path!("logout"))
        .and(warp::post())
        .and(a())
        .and_then(|app: Arc<App>, me: Me| async move {
            app.store
                .delete_token(&auth::token_hash(&me.token))
                .map_err(internal)?;
            Ok::<_, Rejection>(no_content())
        });
    let me_get = api()
        .and(warp::path!("me"))
        .and(warp::get())
        .and(a())
        .map(|_app: Arc<App>, me: Me| json(StatusCode::OK, &AgentView::from(&me.agent)));
    let password = api()
        .and(warp::path!("me" / "password"))
        .and(warp::post())
        .and(a())
        .and(body::<Password>())
        .and_then(password);
    let agents_list = api()
        .and(warp::path!("agents"))
        .and(warp::get())
        .and(a())
        .and_then(agents_list);
    let agents_add = api()
        .and(warp::path!("agents"))
        .and(warp::post())
        .and(a())
        .and(body::<NewAgent>())
        .and_then(agents_add);
    let agents_del = api()
        .and(warp::path!("agents" / String))
        .and(warp::delete())
        .and(a())
        .and_then(agents_delete);
    let sites_list = api()
        .and(warp::path!("sites"))
        .and(warp::get())
        .and(a())
        .and_then(sites_list);
    let sites_add = api()
        .and(warp::path!("sites"))
        .and(warp::post())
        .and(a())
        .and(body::<NewSite>())
        .and_then(sites_add);
    let site_get = api()
        .and(warp::path!("sites" / String))
        .and(warp::get())
        .and(a())
        .and_then(|site: String, app: Arc<App>, me: Me| async move {
            let s = member_site(&app, &me, &site)?;
            Ok::<_, Rejection>(json(StatusCode::OK, &site_view(&app, &s, &me)))
        });
    let site_patch = api()
        .and(warp::path!("sites" / String))
        .and(warp::patch())
        .and(a())
        .and(body::<SitePatch>())
        .and_then(site_patch);
    let rotate = api()
        .and(warp::path!("sites" / String / "rotate-secret"))
        .and(warp::post())
        .and(a())
        .and_then(|site: String, app: Arc<App>, me: Me| async move {
            me.owner()?;
            let mut s = member_site(&app, &me, &site)?;
            s.secret = auth::new_secret();
            app.store.put_site(&s).map_err(internal)?;
            app.store.sync().map_err(internal)?;
            Ok::<_, Rejection>(json(
                StatusCode::OK,
                &serde_json::json!({ "secret": s.secret }),
            ))
        });
    let snippet = api()
        .and(warp::path!("sites" / String / "snippet"))
        .and(warp::get())
        .and(warp::header::optional::<String>("host"))
        .and(a())
        .and_then(
            |site: String, host: Option<String>, app: Arc<App>, me: Me| async move {
                let s = member_site(&app, &me, &site)?;
                let host = host.filter(|h| {
                    !h.is_empty() && h.len() < 256 && !h.contains(['"', '<', '>', ' '])
                });
                let base = format!(
                    "http://{}",
                    host.unwrap_or_else(|| app.config.listen.to_string())
                );
                Ok::<_, Rejection>(json(
                    StatusCode::OK,
                    &serde_json::json!({ "site": s.id, "html": crate::snippet(&base, &s.id) }),
                ))
            },
        );
    let convs = api()
        .and(warp::path!("sites" / String / "conversations"))
        .and(warp::get())
        .and(warp::query::<ConvQuery>())
        .and(a())
        .and_then(convs_list);
    let canned_list = api()
        .and(warp::path!("sites" / String / "canned"))
        .and(warp::get())
        .and(a())
        .and_then(|site: String, app: Arc<App>, me: Me| async move {
            let s = member_site(&app, &me, &site)?;
            Ok::<_, Rejection>(json(
                StatusCode::OK,
                &app.store.canned(&s.id).map_err(internal)?,
            ))
        });
    let canned_add = api()
        .and(warp::path!("sites" / String / "canned"))
        .and(warp::post())
        .and(a())
        .and(body::<NewCanned>())
        .and_then(canned_add);
    let canned_del = api()
        .and(warp::path!("sites" / String / "canned" / String))
        .and(warp::delete())
        .and(a())
        .and_then(
            |site: String, id: String, app: Arc<App>, me: Me| async move {
                let s = member_site(&app, &me, &site)?;
                if app.store.delete_canned(&s.id, &id).map_err(internal)? {
                    Ok::<_, Rejection>(no_content())
                } else {
                    Err(not_found("canned reply"))
                }
            },
        );
    let visitor = api()
        .and(warp::path!("sites" / String / "visitors" / String))
        .and(warp::get())
        .and(a())
        .and_then(visitor_profile);
    let site_agents = api()
        .and(warp::path!("sites" / String / "agents"))
        .and(warp::get())
        .and(a())
        .and_then(|site: String, app: Arc<App>, me: Me| async move {
            let s = member_site(&app, &me, &site)?;
            let team: Vec<serde_json::Value> = app
                .store
                .agents()
                .map_err(internal)?
                .iter()
                .filter(|a| a.sites.contains(&s.id))
                .map(|a| serde_json::json!({ "id": a.id, "name": a.name, "role": a.role }))
                .collect();
            Ok::<_, Rejection>(json(StatusCode::OK, &team))
        });
    let stats = api()
        .and(warp::path!("sites" / String / "stats"))
        .and(warp::get())
        .and(warp::query::<StatsQuery>())
        .and(a())
        .and_then(stats);
    let events = api()
        .and(warp::path!("conversations" / String / "events"))
        .and(warp::get())
        .and(warp::query::<EventsQuery>())
        .and(a())
        .and_then(
            |conv: String, q: EventsQuery, app: Arc<App>, me: Me| async move {
                let c = member_conv(&app, &me, &conv)?;
                let limit = q.limit.unwrap_or(100).clamp(1, MAX_REPLAY_EVENTS);
                let (evs, more) = match (q.after, q.before) {
                    (Some(_), Some(_)) => return Err(bad("give after or before, not both")),
                    (None, Some(before)) => {
                        let mut evs = app
                            .store
                            .events_before(&c.id, before, limit + 1)
                            .map_err(internal)?;
                        // `more`: older events exist before this page.
                        let more = evs.len() > limit;
                        if more {
                            evs.remove(0);
                        }
                        (evs, more)
                    }
                    (after, None) => {
                        let mut evs = app
                            .store
                            .events_after(&c.id, after.unwrap_or(0), limit + 1)
                            .map_err(internal)?;
                        let more = evs.len() > limit;
                        evs.truncate(limit);
                        (evs, more)
                    }
                };
                Ok::<_, Rejection>(json(
                    StatusCode::OK,
                    &serde_json::json!({ "events": evs, "more": more }),
                ))
            },
        );
    let assign_r = api()
        .and(warp::path!("conversations" / String / "assign"))
        .and(warp::post())
        .and(a())
        .and(body::<Assign>())
        .and_then(|conv: String, app: Arc<App>, me: Me, b: Assign| assign(conv, app, me, b.agent));
    let transfer = api()
        .and(warp::path!("conversations" / String / "transfer"))
        .and(warp::post())
        .and(a())
        .and(body::<Transfer>())
        .and_then(|conv: String, app: Arc<App>, me: Me, b: Transfer| {
            assign(conv, app, me, Some(b.agent))
        });
    let close = api()
        .and(warp::path!("conversations" / String / "close"))
        .and(warp::post())
        .and(a())
        .and_then(|conv: String, app: Arc<App>, me: Me| async move {
            let c = member_conv(&app, &me, &conv)?;
            app.commit
                .close(c.id.clone(), me.author())
                .await
                .map_err(commit_err)?;
            conv_reply(&app, &c.id)
        });
    let reopen = api()
        .and(warp::path!("conversations" / String / "reopen"))
        .and(warp::post())
        .and(a())
        .and_then(|conv: String, app: Arc<App>, me: Me| async move {
            let c = member_conv(&app, &me, &conv)?;
            app.commit
                .reopen(c.id.clone(), me.author())
                .await
                .map_err(commit_err)?;
            conv_reply(&app, &c.id)
        });
    let openapi = api()
        .and(warp::path!("openapi.json"))
        .and(warp::get())
        .map(|| {
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Bytes::from_static(OPENAPI.as_bytes()))
                .unwrap_or_default()
        });

    // Boxed one by one and combined into a boxed chain at every step:
    // nesting 25 `Or` types unboxed costs many minutes of compile time.
    let all: Vec<BoxedFilter<(Reply,)>> = vec![
        logout.boxed(),
        me_get.boxed(),
        password.boxed(),
        agents_list.boxed(),
        agents_add.boxed(),
        agents_del.boxed(),
        sites_list.boxed(),
        site_agents.boxed(),
        sites_add.boxed(),
        site_get.boxed(),
        site_patch.boxed(),
        rotate.boxed(),
        snippet.boxed(),
        convs.boxed(),
        canned_list.boxed(),
        canned_add.boxed(),
        canned_del.boxed(),
        visitor.boxed(),
        stats.boxed(),
        events.boxed(),
        assign_r.boxed(),
        transfer.boxed(),
        close.boxed(),
        reopen.boxed(),
        openapi.boxed(),
    ];
    all.into_iter()
        .fold(login.boxed(), |acc, f| acc.or(f).unify().boxed())
}

fn commit_err(e: crate::commit::CommitError) -> Rejection {
    let (code, message) = e.code_and_message();
    Problem::reject(code, message)
}

fn conv_reply(app: &App, id: &ConvId) -> Result<Reply, Rejection> {
    let c = app
        .store
        .conv(id)
        .map_err(internal)?
        .ok_or_else(|| not_found("conversation"))?;
    Ok(json(StatusCode::OK, &c.summary()))
}

// --- handlers --------------------------------------------------------------

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

async fn login(addr: Option<SocketAddr>, b: Login, app: Arc<App>) -> Result<Reply, Rejection> {
    if b.email.len() > MAX_EMAIL_BYTES || b.password.len() > auth::MAX_PASSWORD_BYTES {
        return Err(Problem::reject(
            ErrorCode::TooLarge,
            "e-mail or password too long",
        ));
    }
    let email = b.email.trim().to_ascii_lowercase();
    let ip = addr.map(|a| a.ip().to_string()).unwrap_or_default();
    let limited = app
        .limiter
        .hit(&format!("login-ip:{ip}"), MAX_LOGINS_PER_IP_PER_MINUTE)
        .and_then(|()| {
            app.limiter
                .hit(&format!("login:{email}"), MAX_LOGINS_PER_ACCOUNT_PER_MINUTE)
        });
    if let Err(wait) = limited {
        return Err(Problem::reject(
            ErrorCode::RateLimited,
            format!("too many login attempts; retry in {wait} s"),
        ));
    }
    // argon2 is deliberately slow: keep it off the async workers.
    let store = app.store.clone();
    let pw = b.password;
    let r = tokio::task::spawn_blocking(move || auth::login(&store, &email, &pw))
        .await
        .map_err(|_| Problem::reject(ErrorCode::Internal, "internal error"))?
        .map_err(internal)?;
    match r {
        Some((agent, token)) => Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "token": token, "agent": AgentView::from(&agent) }),
        )),
        None => Err(Problem::reject(
            ErrorCode::Unauthorized,
            "wrong e-mail or password",
        )),
    }
}

#[derive(Deserialize)]
struct Password {
    current: String,
    new: String,
}

async fn password(app: Arc<App>, me: Me, b: Password) -> Result<Reply, Rejection> {
    auth::check_new_password(&b.new).map_err(bad)?;
    let ok = me
        .agent
        .password
        .as_deref()
        .is_some_and(|h| auth::verify_password(h, &b.current));
    if !ok {
        return Err(Problem::reject(
            ErrorCode::Unauthorized,
            "current password is wrong",
        ));
    }
    let mut a = me.agent;
    a.password = Some(auth::hash_password(&b.new));
    app.store.put_agent(&a).map_err(internal)?;
    app.store.sync().map_err(internal)?;
    Ok(no_content())
}

/// Agents sharing a site with the owner.
async fn agents_list(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    me.owner()?;
    let all = app.store.agents().map_err(internal)?;
    let mine: Vec<AgentView> = all
        .iter()
        .filter(|a| a.sites.iter().any(|s| me.member(s)))
        .map(AgentView::from)
        .collect();
    Ok(json(StatusCode::OK, &mine))
}

#[derive(Deserialize)]
struct NewAgent {
    name: String,
    email: String,
    password: String,
    #[serde(default)]
    role: AgentRole,
    sites: Vec<String>,
}

async fn agents_add(app: Arc<App>, me: Me, b: NewAgent) -> Result<Reply, Rejection> {
    me.owner()?;
    let name = b.name.trim().to_string();
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(bad("name must be 1–128 bytes"));
    }
    let email = b.email.trim().to_ascii_lowercase();
    if !valid_email(&email) {
        return Err(bad("email is not an e-mail address"));
    }
    auth::check_new_password(&b.password).map_err(bad)?;
    if b.sites.is_empty() {
        return Err(bad("an agent needs at least one site"));
    }
    let mut sites = Vec::new();
    for s in &b.sites {
        sites.push(member_site(&app, &me, s)?.id);
    }
    if app
        .store
        .agent_by_email(&email)
        .map_err(internal)?
        .is_some()
    {
        return Err(Problem::reject(
            ErrorCode::Conflict,
            "an agent with this e-mail exists",
        ));
    }
    let new = auth::NewAgent {
        name,
        sites,
        email: Some(email),
        password: Some(b.password),
        role: b.role,
    };
    let store = app.store.clone();
    let (agent, _) = tokio::task::spawn_blocking(move || auth::create_agent(&store, new, None))
        .await
        .map_err(|_| Problem::reject(ErrorCode::Internal, "internal error"))?
        .map_err(internal)?;
    Ok(json(StatusCode::CREATED, &AgentView::from(&agent)))
}

async fn agents_delete(id: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    me.owner()?;
    let id = AgentId::new(id).map_err(|_| not_found("agent"))?;
    if id == me.agent.id {
        return Err(Problem::reject(
            ErrorCode::Conflict,
            "you cannot remove yourself",
        ));
    }
    match app.store.agent(&id).map_err(internal)? {
        Some(a) if a.sites.iter().any(|s| me.member(s)) => {
            app.store.delete_agent(&a.id).map_err(internal)?;
            app.store.sync().map_err(internal)?;
            Ok(no_content())
        }
        _ => Err(not_found("agent")),
    }
}

async fn sites_list(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let mut out = Vec::new();
    for id in &me.agent.sites {
        if let Some(s) = app.store.site(id).map_err(internal)? {
            out.push(site_view(&app, &s, &me));
        }
    }
    Ok(json(StatusCode::OK, &out))
}

#[derive(Deserialize)]
struct NewSite {
    id: String,
    name: String,
}

async fn sites_add(app: Arc<App>, me: Me, b: NewSite) -> Result<Reply, Rejection> {
    me.owner()?;
    let id = SiteId::new(b.id).map_err(|e| bad(format!("id: {e}")))?;
    let name = b.name.trim();
    if name.is_empty() || name.len() > MAX_LABEL_BYTES {
        return Err(bad("name must be 1–128 bytes"));
    }
    if app.store.site(&id).map_err(internal)?.is_some() {
        return Err(Problem::reject(
            ErrorCode::Conflict,
            "a site with this id exists",
        ));
    }
    let site = auth::create_site(&app.store, id.clone(), name).map_err(internal)?;
    let mut a = me.agent.clone();
    a.sites.push(id);
    app.store.put_agent(&a).map_err(internal)?;
    app.store.sync().map_err(internal)?;
    Ok(json(
        StatusCode::CREATED,
        &site_view(
            &app,
            &site,
            &Me {
                agent: a,
                token: me.token,
            },
        ),
    ))
}

#[derive(Deserialize)]
struct SitePatch {
    name: Option<String>,
    allowed_origins: Option<Vec<String>>,
    widget: Option<WidgetSettings>,
}

async fn site_patch(site: String, app: Arc<App>, me: Me, b: SitePatch) -> Result<Reply, Rejection> {
    me.owner()?;
    let mut s = member_site(&app, &me, &site)?;
    if let Some(name) = b.name {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > MAX_LABEL_BYTES {
            return Err(bad("name must be 1–128 bytes"));
        }
        s.name = name;
    }
    if let Some(origins) = b.allowed_origins {
        if origins.len() > MAX_ORIGINS {
            return Err(Problem::reject(
                ErrorCode::TooLarge,
                format!("at most {MAX_ORIGINS} origins"),
            ));
        }
        if let Some(o) = origins.iter().find(|o| !valid_origin(o)) {
            return Err(bad(format!(
                "{o:?} is not an origin like https://shop.example.com"
            )));
        }
        s.allowed_origins = origins;
    }
    if let Some(w) = b.widget {
        w.validate().map_err(Problem::from)?;
        s.widget = w;
    }
    app.store.put_site(&s).map_err(internal)?;
    app.store.sync().map_err(internal)?;
    Ok(json(StatusCode::OK, &site_view(&app, &s, &me)))
}

#[derive(Deserialize)]
struct ConvQuery {
    /// open (default) | closed | mine | unassigned | all
    status: Option<String>,
    limit: Option<usize>,
    /// Only conversations updated before this (ms): the next page.
    before: Option<u64>,
}

/// Conversations scanned per list request (newest first) before filtering.
const CONV_SCAN: usize = 5000;

async fn convs_list(site: String, q: ConvQuery, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let status = q.status.as_deref().unwrap_or("open");
    let keep = |c: &ConvRecord| match status {
        "open" => c.open,
        "closed" => !c.open,
        "mine" => c.open && c.assignee.as_ref() == Some(&me.agent.id),
        "unassigned" => c.open && c.assignee.is_none(),
        _ => true,
    };
    if !matches!(status, "open" | "closed" | "mine" | "unassigned" | "all") {
        return Err(bad("status must be open, closed, mine, unassigned or all"));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let mut convs: Vec<ConvRecord> = app
        .store
        .site_convs(&s.id, CONV_SCAN)
        .map_err(internal)?
        .into_iter()
        .filter(|c| keep(c) && q.before.is_none_or(|b| c.updated < b))
        .collect();
    convs.sort_by_key(|c| std::cmp::Reverse(c.updated));
    let more = convs.len() > limit;
    convs.truncate(limit);
    let next = if more {
        convs.last().map(|c| c.updated)
    } else {
        None
    };
    let list: Vec<_> = convs.iter().map(ConvRecord::summary).collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "convs": list, "next_before": next }),
    ))
}

#[derive(Deserialize)]
struct EventsQuery {
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct Assign {
    agent: Option<String>,
}

#[derive(Deserialize)]
struct Transfer {
    agent: String,
}

async fn assign(
    conv: String,
    app: Arc<App>,
    me: Me,
    to: Option<String>,
) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    let to = match to {
        None => None,
        Some(id) => {
            let id = AgentId::new(id).map_err(|_| not_found("agent"))?;
            match app.store.agent(&id).map_err(internal)? {
                // Only to an agent of the conversation's site.
                Some(a) if a.sites.contains(&c.site) => Some((a.id, a.name)),
                _ => return Err(not_found("agent")),
            }
        }
    };
    app.commit
        .assign(c.id.clone(), to, me.author())
        .await
        .map_err(commit_err)?;
    conv_reply(&app, &c.id)
}

#[derive(Deserialize)]
struct NewCanned {
    shortcut: String,
    text: String,
}

async fn canned_add(site: String, app: Arc<App>, me: Me, b: NewCanned) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let shortcut = b.shortcut.trim().trim_start_matches('/').to_string();
    if shortcut.is_empty()
        || shortcut.len() > MAX_LABEL_BYTES
        || shortcut.contains(char::is_whitespace)
    {
        return Err(bad("shortcut must be one word of at most 128 bytes"));
    }
    protocol::validate_text(&b.text).map_err(|e| Problem::reject(e.code, e.message))?;
    let existing = app.store.canned(&s.id).map_err(internal)?;
    if existing.len() >= MAX_CANNED_PER_SITE {
        return Err(Problem::reject(
            ErrorCode::TooLarge,
            "too many canned replies",
        ));
    }
    if existing.iter().any(|c| c.shortcut == shortcut) {
        return Err(Problem::reject(ErrorCode::Conflict, "this shortcut exists"));
    }
    let c = CannedRecord {
        id: ulid::Ulid::new().to_string(),
        site: s.id,
        shortcut,
        text: b.text,
    };
    app.store.put_canned(&c).map_err(internal)?;
    app.store.sync().map_err(internal)?;
    Ok(json(StatusCode::CREATED, &c))
}

async fn visitor_profile(
    site: String,
    visitor: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let vid = VisitorId::new(visitor).map_err(|_| not_found("visitor"))?;
    let v = app
        .store
        .visitor(&s.id, &vid)
        .map_err(internal)?
        .ok_or_else(|| not_found("visitor"))?;
    let pages = app.store.pages(&s.id, &vid, 50).map_err(internal)?;
    let convs: Vec<_> = app
        .store
        .visitor_convs(&s.id, &vid)
        .map_err(internal)?
        .iter()
        .map(ConvRecord::summary)
        .collect();
    let online = app.hub.visitors(&s.id).into_iter().find(|i| i.id == vid);
    #[derive(Serialize)]
    struct Profile<'a> {
        id: &'a VisitorId,
        site: &'a SiteId,
        first_seen: u64,
        last_seen: u64,
        visits: u32,
        user: &'a Option<UserInfo>,
        verified: bool,
        user_agent: &'a Option<String>,
        online: bool,
        current: Option<protocol::VisitorInfo>,
        pages: Vec<protocol::PageInfo>,
        conversations: Vec<protocol::ConvSummary>,
    }
    Ok(json(
        StatusCode::OK,
        &Profile {
            id: &v.id,
            site: &v.site,
            first_seen: v.first_seen,
            last_seen: v.last_seen,
            visits: v.visits,
            user: &v.user,
            verified: v.verified,
            user_agent: &v.user_agent,
            online: online.is_some(),
            current: online,
            pages,
            conversations: convs,
        },
    ))
}

#[derive(Deserialize)]
struct StatsQuery {
    days: Option<u64>,
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (civil-from-days).
pub fn date_of(day: u64) -> String {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

const DAY_MS: u64 = 86_400_000;

async fn stats(site: String, q: StatsQuery, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let days = q.days.unwrap_or(7).clamp(1, MAX_STATS_DAYS);
    let today = crate::now_ms() / DAY_MS;
    let first = today + 1 - days;
    let mut per_day: BTreeMap<u64, (u64, u64, u64)> =
        (first..=today).map(|d| (d, (0, 0, 0))).collect();
    let mut first_response = Vec::new();
    for c in app.store.site_convs(&s.id, CONV_SCAN).map_err(internal)? {
        if let Some(e) = per_day.get_mut(&(c.created / DAY_MS)) {
            e.1 += 1;
        }
        if c.updated / DAY_MS < first {
            continue;
        }
        let mut after = 0;
        let mut first_visitor: Option<u64> = None;
        let mut answered = false;
        loop {
            let evs = app
                .store
                .events_after(&c.id, after, MAX_REPLAY_EVENTS)
                .map_err(internal)?;
            let Some(last) = evs.last() else { break };
            after = last.seq;
            for ev in &evs {
                if let protocol::EventBody::Message { from, .. } = &ev.body {
                    if let Some(e) = per_day.get_mut(&(ev.ts / DAY_MS)) {
                        e.0 += 1;
                    }
                    match (from.side, first_visitor, answered) {
                        (Side::Visitor, None, _) => first_visitor = Some(ev.ts),
                        (Side::Agent, Some(t), false) => {
                            answered = true;
                            if ev.ts / DAY_MS >= first {
                                first_response.push(ev.ts.saturating_sub(t));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for v in app.store.site_visitors(&s.id).map_err(internal)? {
        if let Some(e) = per_day.get_mut(&(v.last_seen / DAY_MS)) {
            e.2 += 1;
        }
    }
    first_response.sort_unstable();
    let median = first_response.get(first_response.len() / 2).copied();
    let mean = (!first_response.is_empty())
        .then(|| first_response.iter().sum::<u64>() / first_response.len() as u64);
    let rows: Vec<_> = per_day
        .iter()
        .map(|(d, (m, c, v))| serde_json::json!({ "date": date_of(*d), "messages": m, "conversations": c, "visitors": v }))
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "site": s.id,
            "days": rows,
            "first_response_ms": { "median": median, "mean": mean, "count": first_response.len() },
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_day_numbers() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(19_723), "2024-01-01");
        assert_eq!(date_of(20_784), "2026-11-27");
    }

    #[test]
    fn origins_and_emails_are_validated() {
        assert!(valid_origin("https://shop.example.com"));
        assert!(valid_origin("http://127.0.0.1:8080"));
        assert!(!valid_origin("shop.example.com"));
        assert!(!valid_origin("https://shop.example.com/path"));
        assert!(!valid_origin("javascript://x"));
        assert!(valid_email("ada@example.com"));
        assert!(!valid_email("ada@example"));
        assert!(!valid_email("a da@example.com"));
    }
}
