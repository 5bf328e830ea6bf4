//! Conversations: a site's list (by status, paged by activity), one
//! conversation's history (paged by seq), and assign / transfer / close /
//! reopen, which go through the commit thread like any other event.

use super::auth::{member_conv, member_site, Me};
use crate::reply::{bad, json, not_found, Reply};
use crate::store::ConvRecord;
use crate::App;
use protocol::api::{
    AssignRequest, ConvPage, ConvQuery, EventsPage, EventsQuery, TransferRequest,
    DEFAULT_CONV_PAGE, DEFAULT_EVENTS_PAGE,
};
use protocol::limits::{MAX_PAGE, MAX_REPLAY_EVENTS};
use protocol::{AgentId, ConvId};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

/// Conversations scanned per list request (newest first) before filtering.
pub const CONV_SCAN: usize = 5000;

/// GET /v1/api/sites/{site}/conversations
pub async fn list(site: String, q: ConvQuery, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
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
    let limit = q.limit.unwrap_or(DEFAULT_CONV_PAGE).clamp(1, MAX_PAGE);
    let mut convs: Vec<ConvRecord> = app
        .store
        .site_convs(&s.id, CONV_SCAN)?
        .into_iter()
        .filter(|c| keep(c) && q.before.is_none_or(|b| c.updated < b))
        .collect();
    convs.sort_by_key(|c| std::cmp::Reverse(c.updated));
    let more = convs.len() > limit;
    convs.truncate(limit);
    let next_before = if more {
        convs.last().map(|c| c.updated)
    } else {
        None
    };
    let page = ConvPage {
        convs: convs.iter().map(ConvRecord::summary).collect(),
        next_before,
    };
    Ok(json(StatusCode::OK, &page))
}

/// GET /v1/api/conversations/{conv}/events
pub async fn events(
    conv: String,
    q: EventsQuery,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    let limit = q
        .limit
        .unwrap_or(DEFAULT_EVENTS_PAGE)
        .clamp(1, MAX_REPLAY_EVENTS);
    let (events, more) = match (q.after, q.before) {
        (Some(_), Some(_)) => return Err(bad("give after or before, not both")),
        (None, Some(before)) => {
            let mut evs = app.store.events_before(&c.id, before, limit + 1)?;
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
                .events_after(&c.id, after.unwrap_or(0), limit + 1)?;
            let more = evs.len() > limit;
            evs.truncate(limit);
            (evs, more)
        }
    };
    Ok(json(StatusCode::OK, &EventsPage { events, more }))
}

/// POST /v1/api/conversations/{conv}/assign
pub async fn assign(
    conv: String,
    app: Arc<App>,
    me: Me,
    b: AssignRequest,
) -> Result<Reply, Rejection> {
    assign_to(conv, app, me, b.agent).await
}

/// POST /v1/api/conversations/{conv}/transfer
pub async fn transfer(
    conv: String,
    app: Arc<App>,
    me: Me,
    b: TransferRequest,
) -> Result<Reply, Rejection> {
    assign_to(conv, app, me, Some(b.agent)).await
}

/// Assigns to `to` (an agent of the conversation's site) or unassigns.
async fn assign_to(
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
            match app.store.agent(&id)? {
                Some(a) if a.sites.contains(&c.site) => Some((a.id, a.name)),
                _ => return Err(not_found("agent")),
            }
        }
    };
    app.commit.assign(c.id.clone(), to, me.author()).await?;
    summary(&app, &c.id)
}

/// POST /v1/api/conversations/{conv}/close
pub async fn close(conv: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    app.commit.close(c.id.clone(), me.author()).await?;
    summary(&app, &c.id)
}

/// POST /v1/api/conversations/{conv}/reopen
pub async fn reopen(conv: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    app.commit.reopen(c.id.clone(), me.author()).await?;
    summary(&app, &c.id)
}

/// The conversation's summary as it is now.
fn summary(app: &App, id: &ConvId) -> Result<Reply, Rejection> {
    let c = app
        .store
        .conv(id)?
        .ok_or_else(|| not_found("conversation"))?;
    Ok(json(StatusCode::OK, &c.summary()))
}
