//! Accounts: login and logout, the caller's own record and password, and
//! (owners) the agents sharing their sites.

use super::auth::{agent_view, member_site, Me};
use crate::reply::{bad, internal, json, no_content, not_found, refuse, Reply};
use crate::{auth, App};
use protocol::api::{valid_email, AgentView, LoginReply, LoginRequest, NewAgent, PasswordChange};
use protocol::limits::*;
use protocol::{AgentId, ErrorCode};
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

/// POST /v1/api/login
pub async fn login(
    addr: Option<SocketAddr>,
    b: LoginRequest,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    if b.email.len() > MAX_EMAIL_BYTES || b.password.len() > auth::MAX_PASSWORD_BYTES {
        return Err(refuse(ErrorCode::TooLarge, "e-mail or password too long"));
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
        return Err(refuse(
            ErrorCode::RateLimited,
            format!("too many login attempts; retry in {wait} s"),
        ));
    }
    // argon2 is deliberately slow: keep it off the async workers.
    let store = app.store.clone();
    let pw = b.password;
    let r = tokio::task::spawn_blocking(move || auth::login(&store, &email, &pw))
        .await
        .map_err(internal)??;
    match r {
        Some((agent, token)) => Ok(json(
            StatusCode::OK,
            &LoginReply {
                token,
                agent: agent_view(&agent),
            },
        )),
        None => Err(refuse(ErrorCode::Unauthorized, "wrong e-mail or password")),
    }
}

/// POST /v1/api/logout
pub async fn logout(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    app.store.delete_token(&auth::token_hash(&me.token))?;
    Ok(no_content())
}

/// GET /v1/api/me
pub async fn me(_app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    Ok(json(StatusCode::OK, &agent_view(&me.agent)))
}

/// POST /v1/api/me/password
pub async fn password(app: Arc<App>, me: Me, b: PasswordChange) -> Result<Reply, Rejection> {
    auth::check_new_password(&b.new).map_err(bad)?;
    let ok = me
        .agent
        .password
        .as_deref()
        .is_some_and(|h| auth::verify_password(h, &b.current));
    if !ok {
        return Err(refuse(ErrorCode::Unauthorized, "current password is wrong"));
    }
    let mut a = me.agent;
    a.password = Some(auth::hash_password(&b.new));
    app.store.put_agent(&a)?;
    app.store.sync()?;
    Ok(no_content())
}

/// GET /v1/api/agents — the agents sharing a site with the owner.
pub async fn agents_list(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    me.owner()?;
    let mine: Vec<AgentView> = app
        .store
        .agents()?
        .iter()
        .filter(|a| !a.bot && a.sites.iter().any(|s| me.member(s)))
        .map(agent_view)
        .collect();
    Ok(json(StatusCode::OK, &mine))
}

/// POST /v1/api/agents
pub async fn agents_add(app: Arc<App>, me: Me, b: NewAgent) -> Result<Reply, Rejection> {
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
    if app.store.agent_by_email(&email)?.is_some() {
        return Err(refuse(
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
    let agent = tokio::task::spawn_blocking(move || auth::add_agent(&store, new))
        .await
        .map_err(internal)??;
    Ok(json(StatusCode::CREATED, &agent_view(&agent)))
}

/// PATCH /v1/api/agents/{agent} — capacity and mail choice (owners for anyone on their
/// sites, an agent for themselves).
pub async fn agents_patch(
    id: String,
    app: Arc<App>,
    me: Me,
    b: protocol::api::AgentPatch,
) -> Result<Reply, Rejection> {
    let id = AgentId::new(id).map_err(|_| not_found("agent"))?;
    if id != me.agent.id {
        me.owner()?;
    }
    let mut a = match app.store.agent(&id)? {
        Some(a) if a.id == me.agent.id || a.sites.iter().any(|s| me.member(s)) => a,
        _ => return Err(not_found("agent")),
    };
    if let Some(c) = b.capacity {
        protocol::api::check_capacity(c).map_err(crate::reply::Problem::from)?;
        a.capacity = c;
    }
    if let Some(m) = b.mail {
        if a.bot && m != protocol::offline::MailPref::None {
            return Err(bad("a bot gets no mail"));
        }
        a.mail = m;
    }
    app.store.put_agent(&a)?;
    app.store.sync()?;
    app.hub.set_capacity(&a.id, a.capacity);
    // More room may take waiting conversations.
    for s in &a.sites {
        app.commit.route(s.clone());
    }
    Ok(json(StatusCode::OK, &super::auth::agent_view(&a)))
}

/// DELETE /v1/api/agents/{agent}
pub async fn agents_delete(id: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    me.owner()?;
    let id = AgentId::new(id).map_err(|_| not_found("agent"))?;
    if id == me.agent.id {
        return Err(refuse(ErrorCode::Conflict, "you cannot remove yourself"));
    }
    match app.store.agent(&id)? {
        Some(a) if a.sites.iter().any(|s| me.member(s)) => {
            app.store.delete_agent(&a.id)?;
            app.store.sync()?;
            app.push.agent_removed(&a.id);
            Ok(no_content())
        }
        _ => Err(not_found("agent")),
    }
}
