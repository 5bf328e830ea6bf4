//! Accounts: login and logout, the caller's own record, name, picture and
//! password, the password reset by mail, and (owners) the agents sharing
//! their sites.
//!
//! Names: an agent renames themselves and an owner anyone on their sites
//! through one route, `PATCH /v1/api/agents/{agent}` (`{name}`; the
//! caller's own id for themselves). A name is stamped on each message when
//! it is sent, so visitors see a new name on every message after the
//! rename, and earlier messages keep the name they were sent under (a
//! transcript is a record of what was said, by whom as they were called).
//!
//! Passwords: a change (current password checked) or a reset (a mailed,
//! signed link, or `kefu-relay password-reset` on the box) ends the
//! agent's other sign-in sessions at once; the browser that made the
//! change stays signed in. Tokens the box's admin minted stay.

use super::auth::{agent_view, me_view, member_site, Me};
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
                agent: me_view(&app, &agent)?,
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
pub async fn me(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    Ok(json(StatusCode::OK, &me_view(&app, &me.agent)?))
}

/// POST /v1/api/me/password — the current password, then the new one;
/// every other sign-in session of the agent ends, this one stays. A wrong
/// current password is a 403 (not a 401: the session itself is fine).
pub async fn password(app: Arc<App>, me: Me, b: PasswordChange) -> Result<Reply, Rejection> {
    auth::check_new_password(&b.new).map_err(bad)?;
    if b.current.len() > auth::MAX_PASSWORD_BYTES {
        return Err(refuse(ErrorCode::Forbidden, "current password is wrong"));
    }
    let store = app.store.clone();
    let agent = me.agent.clone();
    let keep = auth::token_hash(&me.token);
    // argon2 twice (verify, hash): off the async workers.
    let r = tokio::task::spawn_blocking(move || {
        let ok = agent
            .password
            .as_deref()
            .is_some_and(|h| auth::verify_password(h, &b.current));
        if !ok {
            return Ok(None);
        }
        auth::set_password(&store, &agent.id, &b.new, Some(&keep))
    })
    .await
    .map_err(internal)??;
    match r {
        Some(ended) => {
            tracing::info!(agent = %me.agent.id, ended, "password changed; other sessions ended");
            Ok(no_content())
        }
        None => Err(refuse(ErrorCode::Forbidden, "current password is wrong")),
    }
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
    let name = protocol::api::check_display_name(&b.name, MAX_AGENT_NAME_BYTES)
        .map_err(crate::reply::Problem::from)?;
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

/// PATCH /v1/api/agents/{agent} — name, capacity and mail choice (owners
/// for anyone on their sites, an agent for themselves). Every field is
/// checked before anything is stored.
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
    if let Some(n) = &b.name {
        a.name = protocol::api::check_display_name(n, MAX_AGENT_NAME_BYTES)
            .map_err(crate::reply::Problem::from)?;
        if a.id == me.agent.id {
            // Their own choice: the first sign-in question is answered.
            a.named = true;
        }
    }
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

/// PUT /v1/api/me/avatar — the body is the picture's bytes (any
/// Content-Type: the type is read from the bytes). The relay stores its
/// own square re-encoding ([`crate::files::avatar::prepare`]); answers the
/// agent with its new `avatar` URL.
pub async fn avatar_put(app: Arc<App>, me: Me, body: bytes::Bytes) -> Result<Reply, Rejection> {
    let (bytes, mime) = tokio::task::spawn_blocking(move || crate::files::avatar::prepare(&body))
        .await
        .map_err(internal)??;
    let a2 = app.clone();
    let sha = tokio::task::spawn_blocking(move || crate::files::avatar::store_blob(&a2, &bytes))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    let mut a = me.agent;
    a.avatar = Some(crate::store::Avatar {
        sha256: sha,
        mime: mime.to_string(),
    });
    app.store.put_agent(&a)?;
    app.store.sync()?;
    Ok(json(StatusCode::OK, &me_view(&app, &a)?))
}

/// DELETE /v1/api/me/avatar — back to initials. (The blob stays: blobs
/// are shared by content and never deleted one by one.)
pub async fn avatar_delete(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let mut a = me.agent;
    a.avatar = None;
    app.store.put_agent(&a)?;
    app.store.sync()?;
    Ok(json(StatusCode::OK, &me_view(&app, &a)?))
}

/// GET /v1/api/password-reset — whether a reset link can be mailed here.
pub async fn reset_options(app: Arc<App>) -> Result<Reply, Rejection> {
    Ok(json(
        StatusCode::OK,
        &protocol::api::ResetOptions {
            mail: app.mail.is_some(),
        },
    ))
}

/// POST /v1/api/password-reset — `{email}`: if an agent signs in with it
/// (and the relay sends mail), a signed link to set a new password is
/// queued for it. The answer is the same 202 either way, and comes before
/// the account is even looked up (no timing oracle); the limits count
/// every request, per address and per IP, existing address or not.
pub async fn reset_request(
    addr: Option<SocketAddr>,
    b: protocol::api::ResetRequest,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    let Some(mailer) = app.mail.clone() else {
        return Err(refuse(
            ErrorCode::Forbidden,
            "this relay sends no mail: ask the administrator to run `kefu-relay password-reset`",
        ));
    };
    if b.email.len() > MAX_EMAIL_BYTES {
        return Err(refuse(ErrorCode::TooLarge, "e-mail too long"));
    }
    let email = b.email.trim().to_ascii_lowercase();
    if !valid_email(&email) {
        return Err(bad("email is not an e-mail address"));
    }
    let ip = addr.map(|a| a.ip());
    mailer
        .reset_limits(&email, ip)
        .map_err(|why| refuse(ErrorCode::RateLimited, why))?;
    tokio::task::spawn_blocking(move || {
        if let Err(e) = mailer.queue_reset(&email) {
            tracing::error!(error = %e, "password reset mail not queued");
        }
    });
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({
            "message": "if an agent signs in with this address, a link to set a new password is on its way"
        }),
    ))
}

/// POST /v1/api/password-reset/confirm — `{token, password}`: the mailed
/// link's token (signed, expiring, bound to the password it replaces, so
/// it works once) and the new password. Every sign-in session ends.
pub async fn reset_confirm(
    b: protocol::api::ResetConfirm,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    crate::mail::reset::confirm(&app, &b.token, &b.password)
        .await
        .map_err(|p| -> Rejection { p.into() })?;
    Ok(no_content())
}
