//! Conversations: a site's list (by status, label or team, paged by
//! activity; the queue in its order), one conversation's history (paged by
//! seq), and assign / transfer / close / reopen / notes / labels, which go
//! through the commit thread like any other event.

use super::auth::{member_conv, member_site, Me};
use crate::reply::refuse;
use crate::reply::{bad, json, not_found, Reply};
use crate::store::ConvRecord;
use crate::App;
use protocol::api::{
    AssignRequest, ConvPage, ConvQuery, EventsPage, EventsQuery, NewNote, Stored, TransferRequest,
    DEFAULT_CONV_PAGE, DEFAULT_EVENTS_PAGE,
};
use protocol::limits::{MAX_LABELS_PER_CONV, MAX_PAGE, MAX_REPLAY_EVENTS};
use protocol::{AgentId, AssignReason, Cid, ConvId, ErrorCode, TeamId};
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
        "queued" => c.open && c.queued.is_some(),
        _ => true,
    };
    if !matches!(
        status,
        "open" | "closed" | "mine" | "unassigned" | "queued" | "all"
    ) {
        return Err(bad(
            "status must be open, closed, mine, unassigned, queued or all",
        ));
    }
    if let Some(l) = &q.label {
        if s.routing.label(l).is_none() {
            return Err(not_found("label"));
        }
    }
    let team = site_team(&s.routing, q.team.as_deref())?;
    let keep = |c: &ConvRecord| {
        keep(c)
            && q.label.as_ref().is_none_or(|l| c.labels.contains(l))
            && team.as_ref().is_none_or(|t| c.team.as_ref() == Some(t))
    };
    let limit = q.limit.unwrap_or(DEFAULT_CONV_PAGE).clamp(1, MAX_PAGE);
    let mut convs: Vec<ConvRecord> = app
        .store
        .site_convs(&s.id, CONV_SCAN)?
        .into_iter()
        .filter(|c| keep(c) && q.before.is_none_or(|b| c.updated < b))
        .collect();
    if status == "queued" {
        // The queue in its order: who is served next comes first.
        convs.sort_by_key(|c| (c.queued, c.id.clone()));
    } else {
        convs.sort_by_key(|c| std::cmp::Reverse(c.updated));
    }
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
    let c = member_conv(&app, &me, &conv)?;
    let to = match b.agent {
        Some(id) => Some(site_agent(&app, &c, &id)?),
        None => None,
    };
    app.commit
        .assign(c.id.clone(), to, None, me.author(), AssignReason::Manual)
        .await?;
    summary(&app, &c.id)
}

/// POST /v1/api/conversations/{conv}/transfer
pub async fn transfer(
    conv: String,
    app: Arc<App>,
    me: Me,
    b: TransferRequest,
) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    let site = app.store.site(&c.site)?.ok_or_else(|| not_found("site"))?;
    let team = site_team(&site.routing, b.team.as_deref())?;
    let to = match &b.agent {
        Some(id) => Some(site_agent(&app, &c, id)?),
        None if team.is_some() => None,
        None => return Err(bad("transfer to an agent, a team, or both")),
    };
    if let (Some((a, _)), Some(t)) = (&to, &team) {
        if site.routing.team(t).is_some_and(|t| !t.members.contains(a)) {
            return Err(bad(format!("{a} is not a member of team {t}")));
        }
    }
    let team = team.map(Some);
    app.commit
        .assign(c.id.clone(), to, team, me.author(), AssignReason::Transfer)
        .await?;
    summary(&app, &c.id)
}

/// A team a request names, which must be one of the site's (404 otherwise).
fn site_team(
    routing: &protocol::api::Routing,
    team: Option<&str>,
) -> Result<Option<TeamId>, Rejection> {
    let Some(t) = team else { return Ok(None) };
    TeamId::new(t)
        .ok()
        .filter(|t| routing.team(t).is_some())
        .map(Some)
        .ok_or_else(|| not_found("team"))
}

/// An agent of the conversation's site, as (id, name); others are missing.
fn site_agent(app: &App, c: &ConvRecord, id: &str) -> Result<(AgentId, String), Rejection> {
    let id = AgentId::new(id).map_err(|_| not_found("agent"))?;
    match app.store.agent(&id)? {
        Some(a) if a.sites.contains(&c.site) => Ok((a.id, a.name)),
        _ => Err(not_found("agent")),
    }
}

/// POST /v1/api/conversations/{conv}/notes — a private note (agents only;
/// never sent to the visitor).
pub async fn note(conv: String, app: Arc<App>, me: Me, b: NewNote) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    protocol::validate_text(&b.text).map_err(|e| refuse(e.code, e.message))?;
    let cid = match b.cid {
        Some(cid) => Cid::new(cid).map_err(|e| bad(format!("cid: {e}")))?,
        None => Cid::new(ulid::Ulid::new().to_string())
            .unwrap_or_else(|_| unreachable!("a ULID is a valid cid")),
    };
    let scope = format!("a:{}", me.agent.id);
    let done = app
        .commit
        .note(scope, cid, c.id.clone(), me.author(), b.text)
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &Stored {
            conv: done.conv,
            seq: done.seq,
        },
    ))
}

/// PUT /v1/api/conversations/{conv}/labels/{label} — one of the site's
/// labels onto the conversation.
pub async fn label_add(
    conv: String,
    label: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    label_set(conv, label, true, app, me).await
}

/// DELETE /v1/api/conversations/{conv}/labels/{label}
pub async fn label_remove(
    conv: String,
    label: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    label_set(conv, label, false, app, me).await
}

async fn label_set(
    conv: String,
    label: String,
    on: bool,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    // Path segments arrive percent-encoded ("Needs%20reply").
    let label = percent_encoding::percent_decode_str(&label)
        .decode_utf8()
        .map_err(|_| bad("label is not UTF-8"))?
        .into_owned();
    let site = app.store.site(&c.site)?.ok_or_else(|| not_found("site"))?;
    if site.routing.label(&label).is_none() {
        return Err(not_found("label"));
    }
    if on && !c.labels.contains(&label) && c.labels.len() >= MAX_LABELS_PER_CONV {
        return Err(refuse(
            ErrorCode::TooLarge,
            format!("at most {MAX_LABELS_PER_CONV} labels on a conversation"),
        ));
    }
    app.commit
        .label(c.id.clone(), label, on, me.author())
        .await?;
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

/// POST /v1/api/conversations/{conv}/messages — an agent's (or a bot's)
/// message, idempotent by `cid` in the agent's own cid namespace (the same
/// one its WebSocket sends use): the same cid again answers the first
/// message's seq, 200 instead of 201, and stores nothing.
pub async fn message(
    conv: String,
    app: Arc<App>,
    me: Me,
    b: protocol::api::integrations::NewMessageBody,
) -> Result<Reply, Rejection> {
    let c = member_conv(&app, &me, &conv)?;
    protocol::validate_text(&b.text).map_err(|e| refuse(e.code, e.message))?;
    if b.text.trim().is_empty() {
        return Err(bad("text is empty"));
    }
    let cid = Cid::new(b.cid).map_err(|e| bad(format!("cid: {e}")))?;
    let done = app
        .commit
        .message(crate::commit::NewMessage {
            scope: format!("a:{}", me.agent.id),
            cid,
            target: crate::commit::Target::Conv(c.id.clone()),
            from: me.author(),
            text: b.text,
            file: None,
        })
        .await?;
    let status = if done.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json(
        status,
        &Stored {
            conv: done.conv,
            seq: done.seq,
        },
    ))
}
