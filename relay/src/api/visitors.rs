//! Visitor profiles: everything known of one visitor, live or not, and
//! the contact agents correct on it.

use super::auth::{member_site, Me};
use crate::reply::{json, not_found, refuse, Problem, Reply};
use crate::store::{ConvRecord, StoreError, VisitorRecord, PHONE_ATTRIBUTE};
use crate::App;
use protocol::api::{VisitorPatch, VisitorProfile, PROFILE_PAGES};
use protocol::{ErrorCode, UserInfo, VisitorId};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

/// GET /v1/api/sites/{site}/visitors/{visitor}
pub async fn profile(
    site: String,
    visitor: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let vid = VisitorId::new(visitor).map_err(|_| not_found("visitor"))?;
    let v = app
        .store
        .visitor(&s.id, &vid)?
        .ok_or_else(|| not_found("visitor"))?;
    Ok(json(StatusCode::OK, &profile_of(&app, v)?))
}

/// PATCH /v1/api/sites/{site}/visitors/{visitor} — an agent corrects the
/// visitor's name, email or phone (checked like a form's; nothing stored
/// on bad input). A verified identity's name and email are the host
/// page's: refused (409).
pub async fn patch(
    site: String,
    visitor: String,
    app: Arc<App>,
    me: Me,
    b: VisitorPatch,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let vid = VisitorId::new(visitor).map_err(|_| not_found("visitor"))?;
    b.validate().map_err(Problem::from)?;
    let value = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let mut verified = false;
    let updated = app.store.update_visitor(&s.id, &vid, |v| {
        verified = v.verified && (b.name.is_some() || b.email.is_some());
        if verified {
            return false;
        }
        let user = v.user.get_or_insert_with(UserInfo::default);
        if let Some(n) = &b.name {
            user.name = value(n);
        }
        if let Some(e) = &b.email {
            user.email = value(e);
        }
        if let Some(p) = &b.phone {
            match value(p) {
                Some(p) => user.attributes.insert(PHONE_ATTRIBUTE.into(), p.into()),
                None => user.attributes.remove(PHONE_ATTRIBUTE),
            };
        }
        true
    })?;
    let v = updated.ok_or_else(|| not_found("visitor"))?;
    if verified {
        return Err(refuse(
            ErrorCode::Conflict,
            "this visitor's name and email come from the site's verified login (identify with user_hash); change them there",
        ));
    }
    app.store.sync()?;
    tracing::debug!(site = %s.id, visitor = %vid, agent = %me.agent.id, "contact edited");
    app.hub.visitor_user(&s.id, &vid, v.user.clone());
    app.search.touch_visitor(&s.id, &vid);
    Ok(json(StatusCode::OK, &profile_of(&app, v)?))
}

/// The profile of a stored visitor: its record, recent pages,
/// conversations and live presence.
pub(crate) fn profile_of(app: &App, v: VisitorRecord) -> Result<VisitorProfile, StoreError> {
    let pages = app.store.pages(&v.site, &v.id, PROFILE_PAGES)?;
    let conversations = app
        .store
        .visitor_convs(&v.site, &v.id)?
        .iter()
        .map(ConvRecord::summary)
        .collect();
    let current = app.hub.visitors(&v.site).into_iter().find(|i| i.id == v.id);
    let ip = v.last_ip.as_deref().and_then(|ip| ip.parse().ok());
    let blocks = app.blocks.matching(&app.store, &v.site, Some(&v.id), ip)?;
    Ok(VisitorProfile {
        id: v.id,
        site: v.site,
        first_seen: v.first_seen,
        last_seen: v.last_seen,
        visits: v.visits,
        user: v.user,
        verified: v.verified,
        user_agent: v.user_agent,
        referrer: v.referrer,
        channel: v.channel,
        online: current.is_some(),
        current,
        pages,
        conversations,
        last_ip: v.last_ip,
        blocks,
    })
}
