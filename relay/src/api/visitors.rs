//! Visitor profiles: everything known of one visitor, live or not.

use super::auth::{member_site, Me};
use crate::reply::{json, not_found, Reply};
use crate::store::ConvRecord;
use crate::App;
use protocol::api::{VisitorProfile, PROFILE_PAGES};
use protocol::VisitorId;
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
    let pages = app.store.pages(&s.id, &vid, PROFILE_PAGES)?;
    let conversations = app
        .store
        .visitor_convs(&s.id, &vid)?
        .iter()
        .map(ConvRecord::summary)
        .collect();
    let current = app.hub.visitors(&s.id).into_iter().find(|i| i.id == vid);
    let profile = VisitorProfile {
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
    };
    Ok(json(StatusCode::OK, &profile))
}
