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
    }
}
