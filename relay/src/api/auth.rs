//! Who is calling the API: the [`authed`] filter (a bearer token → [`Me`])
//! and the membership checks that make other sites' resources look missing.

use crate::reply::{forbidden, internal, not_found, refuse};
use crate::store::{AgentRecord, AgentRole, ConvRecord, SiteRecord};
use crate::{auth, App};
use protocol::api::AgentView;
use protocol::{Author, ConvId, ErrorCode, Side, SiteId};
use std::sync::Arc;
use warp::{Filter, Rejection};

/// The authenticated agent and its token.
#[derive(Clone)]
pub struct Me {
    pub agent: AgentRecord,
    pub token: String,
}

impl Me {
    pub fn member(&self, site: &SiteId) -> bool {
        self.agent.sites.contains(site)
    }

    /// Ok for owners; 403 for everyone else.
    pub fn owner(&self) -> Result<(), Rejection> {
        match self.agent.role {
            AgentRole::Owner => Ok(()),
            AgentRole::Agent => Err(forbidden("owners only")),
        }
    }

    pub fn is_owner(&self) -> bool {
        self.agent.role == AgentRole::Owner
    }

    /// This agent as the author of an event.
    pub fn author(&self) -> Author {
        Author {
            side: Side::Agent,
            id: self.agent.id.to_string(),
            name: Some(self.agent.name.clone()),
        }
    }
}

/// `Authorization: Bearer <token>` → the app and the agent it belongs to;
/// 401 without one or with an unknown, expired or revoked token.
pub fn authed(app: Arc<App>) -> impl Filter<Extract = (Arc<App>, Me), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(crate::reply::with_app(app))
        .and_then(authenticate)
        .untuple_one()
}

async fn authenticate(h: Option<String>, app: Arc<App>) -> Result<(Arc<App>, Me), Rejection> {
    let token = auth::bearer(h.as_deref())
        .ok_or_else(|| {
            refuse(
                ErrorCode::Unauthorized,
                "Authorization: Bearer <token> required",
            )
        })?
        .to_string();
    match auth::agent_for_token(&app.store, &token).map_err(internal)? {
        Some(agent) => Ok((app, Me { agent, token })),
        None => Err(refuse(
            ErrorCode::Unauthorized,
            "unknown, expired or revoked token",
        )),
    }
}

/// A site the agent is a member of; other sites look missing.
pub fn member_site(app: &App, me: &Me, site: &str) -> Result<SiteRecord, Rejection> {
    let id = SiteId::new(site).map_err(|_| not_found("site"))?;
    if !me.member(&id) {
        return Err(not_found("site"));
    }
    app.store.site(&id)?.ok_or_else(|| not_found("site"))
}

/// A conversation on one of the agent's sites; others look missing.
pub fn member_conv(app: &App, me: &Me, conv: &str) -> Result<ConvRecord, Rejection> {
    let id = ConvId::new(conv).map_err(|_| not_found("conversation"))?;
    match app.store.conv(&id)? {
        Some(c) if me.member(&c.site) => Ok(c),
        _ => Err(not_found("conversation")),
    }
}

/// An agent as the API shows it (never its password hash).
pub fn agent_view(a: &AgentRecord) -> AgentView {
    AgentView {
        id: a.id.clone(),
        name: a.name.clone(),
        email: a.email.clone(),
        role: a.role,
        sites: a.sites.clone(),
        capacity: a.capacity,
        mail: a.mail,
        avatar: avatar_url(a),
        welcome: false,
    }
}

/// Where `a`'s picture is served, versioned by its content so a new one
/// is fetched at once and an unchanged one stays cached.
pub fn avatar_url(a: &AgentRecord) -> Option<String> {
    a.avatar.as_ref().map(|av| {
        format!(
            "/v1/avatars/{}?v={}",
            a.id,
            av.sha256.get(..12).unwrap_or(&av.sha256)
        )
    })
}

/// The agent as `GET /v1/api/me` and login show it: with
/// [`AgentView::welcome`] — an owner who has not named themselves while
/// their name or their first site's is still the first run's.
pub fn me_view(app: &App, a: &AgentRecord) -> Result<AgentView, Rejection> {
    let mut v = agent_view(a);
    if a.role == AgentRole::Owner && !a.named && !a.bot {
        let site_default = match a.sites.first() {
            Some(s) => app
                .store
                .site(s)
                .map_err(internal)?
                .is_some_and(|s| s.name == crate::DEMO_SITE_NAME),
            None => false,
        };
        v.welcome = a.name == crate::DEMO_AGENT_NAME || site_default;
    }
    Ok(v)
}
