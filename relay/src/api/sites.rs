//! Sites: list and create, settings (name, allowed origins, widget), the
//! secret and the snippet, canned replies, and the team of a site.

use super::auth::{member_site, Me};
use crate::reply::{bad, base_url, json, no_content, not_found, refuse, Problem, Reply};
use crate::store::{CannedRecord, SiteRecord};
use crate::{auth, App};
use protocol::api::{
    valid_origin, NewCanned, NewSite, SecretReply, SitePatch, SiteView, SnippetReply, Teammate,
};
use protocol::limits::*;
use protocol::{ErrorCode, SiteId};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

/// A site as `me` may see it: the effective file types, and the secret
/// for owners only.
fn site_view(app: &App, s: &SiteRecord, me: &Me) -> SiteView {
    SiteView {
        id: s.id.clone(),
        name: s.name.clone(),
        created: s.created,
        allowed_origins: s.allowed_origins.clone(),
        widget: s
            .widget
            .clone()
            .with_effective_file_types(&app.config.file_types),
        routing: s.routing.clone(),
        secret: me.is_owner().then(|| s.secret.clone()),
        wechat: s
            .wechat
            .as_ref()
            .filter(|_| me.is_owner())
            .map(|w| w.masked()),
        offline: s.offline.clone(),
    }
}

/// A site name: trimmed, 1–[`MAX_SITE_NAME_BYTES`] bytes, no control
/// characters.
fn site_name(name: &str) -> Result<String, Rejection> {
    protocol::api::check_display_name(name, MAX_SITE_NAME_BYTES)
        .map_err(|e| Problem::from(e).into())
}

/// GET /v1/api/sites
pub async fn list(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let mut out = Vec::new();
    for id in &me.agent.sites {
        if let Some(s) = app.store.site(id)? {
            out.push(site_view(&app, &s, &me));
        }
    }
    Ok(json(StatusCode::OK, &out))
}

/// POST /v1/api/sites
pub async fn add(app: Arc<App>, me: Me, b: NewSite) -> Result<Reply, Rejection> {
    me.owner()?;
    let id = SiteId::new(b.id).map_err(|e| bad(format!("id: {e}")))?;
    let name = site_name(&b.name)?;
    if app.store.site(&id)?.is_some() {
        return Err(refuse(ErrorCode::Conflict, "a site with this id exists"));
    }
    let site = auth::create_site(&app.store, id.clone(), &name)?;
    let mut agent = me.agent;
    agent.sites.push(id);
    app.store.put_agent(&agent)?;
    app.store.sync()?;
    app.push.agent_changed(&agent);
    let me = Me {
        agent,
        token: me.token,
    };
    Ok(json(StatusCode::CREATED, &site_view(&app, &site, &me)))
}

/// GET /v1/api/sites/{site}
pub async fn get(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    Ok(json(StatusCode::OK, &site_view(&app, &s, &me)))
}

/// GET /v1/api/sites/{site}/refused-origins — the origins refused recently
/// for the site's widget that its allowed origins still refuse, newest
/// first (site members).
pub async fn refused_origins(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    Ok(json(
        StatusCode::OK,
        &app.refused.list(&s.id, &s.allowed_origins),
    ))
}

/// PATCH /v1/api/sites/{site} — every field is checked before anything is
/// stored.
pub async fn patch(site: String, app: Arc<App>, me: Me, b: SitePatch) -> Result<Reply, Rejection> {
    me.owner()?;
    let mut s = member_site(&app, &me, &site)?;
    if let Some(name) = b.name {
        s.name = site_name(&name)?;
    }
    if let Some(origins) = b.allowed_origins {
        if origins.len() > MAX_ORIGINS {
            return Err(refuse(
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
    if let Some(r) = b.routing {
        r.validate().map_err(Problem::from)?;
        let agents = app.store.agents()?;
        for t in &r.teams {
            let stranger = t.members.iter().find(|m| {
                !agents
                    .iter()
                    .any(|a| &a.id == *m && a.sites.contains(&s.id))
            });
            if let Some(m) = stranger {
                return Err(refuse(
                    ErrorCode::NotFound,
                    format!("team {}: {m} is not an agent of this site", t.id),
                ));
            }
        }
        s.routing = r;
    }
    if let Some(w) = b.wechat {
        let w = w.merged(s.wechat.as_ref());
        w.validate().map_err(Problem::from)?;
        s.wechat = Some(w);
    }
    let hours_changed = b.offline.as_ref().is_some_and(|o| o.hours.is_some());
    if let Some(o) = b.offline {
        let o = o.applied_to(&s.offline);
        o.validate().map_err(Problem::from)?;
        if !o.hours.tz.is_empty() && crate::hours::zone(&o.hours.tz).is_none() {
            return Err(bad(format!(
                "hours.tz {:?} is not an IANA time zone this relay knows (such as Europe/Berlin)",
                o.hours.tz
            )));
        }
        s.offline = o;
    }
    app.store.put_site(&s)?;
    app.store.sync()?;
    // The mode, the teams or their members may have changed.
    app.commit.route(s.id.clone());
    if hours_changed {
        // Visitors learn at once if the site opened or closed by it.
        app.hub.set_hours(&s.id, &s.offline.hours, crate::now_ms());
    }
    Ok(json(StatusCode::OK, &site_view(&app, &s, &me)))
}

/// POST /v1/api/sites/{site}/rotate-secret
pub async fn rotate_secret(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    me.owner()?;
    let mut s = member_site(&app, &me, &site)?;
    s.secret = auth::new_secret();
    app.store.put_site(&s)?;
    app.store.sync()?;
    Ok(json(StatusCode::OK, &SecretReply { secret: s.secret }))
}

/// GET /v1/api/sites/{site}/snippet — with the address the caller reached
/// the relay at.
pub async fn snippet(
    site: String,
    host: Option<String>,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let base = base_url(host.as_deref(), app.config.listen);
    let html = crate::snippet(&base, &s.id);
    let chat_url = crate::chat_url(&base, &s.id);
    Ok(json(
        StatusCode::OK,
        &SnippetReply {
            site: s.id,
            html,
            chat_url,
        },
    ))
}

/// GET /v1/api/sites/{site}/agents — the people an agent may transfer to.
pub async fn team(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let team: Vec<Teammate> = app
        .store
        .agents()?
        .into_iter()
        .filter(|a| !a.bot && a.sites.contains(&s.id))
        .map(|a| Teammate {
            avatar: super::auth::avatar_url(&a),
            id: a.id,
            name: a.name,
            role: a.role,
            capacity: a.capacity,
        })
        .collect();
    Ok(json(StatusCode::OK, &team))
}

/// GET /v1/api/sites/{site}/canned
pub async fn canned_list(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    Ok(json(StatusCode::OK, &app.store.canned(&s.id)?))
}

/// POST /v1/api/sites/{site}/canned
pub async fn canned_add(
    site: String,
    app: Arc<App>,
    me: Me,
    b: NewCanned,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let shortcut = b.shortcut.trim().trim_start_matches('/').to_string();
    if shortcut.is_empty()
        || shortcut.len() > MAX_LABEL_BYTES
        || shortcut.contains(char::is_whitespace)
    {
        return Err(bad("shortcut must be one word of at most 128 bytes"));
    }
    protocol::validate_text(&b.text).map_err(|e| refuse(e.code, e.message))?;
    let existing = app.store.canned(&s.id)?;
    if existing.len() >= MAX_CANNED_PER_SITE {
        return Err(refuse(ErrorCode::TooLarge, "too many canned replies"));
    }
    if existing.iter().any(|c| c.shortcut == shortcut) {
        return Err(refuse(ErrorCode::Conflict, "this shortcut exists"));
    }
    let c = CannedRecord {
        id: ulid::Ulid::new().to_string(),
        site: s.id,
        shortcut,
        text: b.text,
    };
    app.store.put_canned(&c)?;
    app.store.sync()?;
    Ok(json(StatusCode::CREATED, &c))
}

/// DELETE /v1/api/sites/{site}/canned/{id}
pub async fn canned_delete(
    site: String,
    id: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    if app.store.delete_canned(&s.id, &id)? {
        Ok(no_content())
    } else {
        Err(not_found("canned reply"))
    }
}
