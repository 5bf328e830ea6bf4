//! Blocking visitors and visitor data rights: a site's blocks (list, add,
//! lift), a visitor's export (one `.tar.gz`) and erasure, and the erasure
//! log.
//!
//! Who may do what: every agent of a site lists and adds blocks, exports a
//! visitor and erases one (confirmed with `ERASE` or the visitor's name —
//! answering a visitor's request for their data is everyday support work);
//! a block is lifted by the agent who made it or an owner; the erasure log
//! is for owners.

use super::auth::{member_site, Me};
use crate::reply::{bad, forbidden, internal, json, no_content, not_found, refuse, Problem, Reply};
use crate::App;
use bytes::Bytes;
use protocol::api::privacy::{BlockView, EraseRequest, ErasureView, NewBlock, ERASE_CONFIRMATION};
use protocol::limits::{MAX_BLOCKS_PER_SITE, MAX_ERASURES_LISTED};
use protocol::{ErrorCode, VisitorId};
use std::sync::Arc;
use warp::http::{header, Response, StatusCode};
use warp::Rejection;

/// GET /v1/api/sites/{site}/blocks
pub async fn blocks_list(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    Ok(json(StatusCode::OK, &app.store.blocks(&s.id)?))
}

/// POST /v1/api/sites/{site}/blocks — a visitor id, an IP or a CIDR range
/// (or a visitor with its range); at most [`MAX_BLOCKS_PER_SITE`].
pub async fn blocks_add(
    site: String,
    app: Arc<App>,
    me: Me,
    b: NewBlock,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let range = b.validate().map_err(Problem::from)?;
    let existing = app.store.blocks(&s.id)?;
    if existing.len() >= MAX_BLOCKS_PER_SITE {
        return Err(refuse(
            ErrorCode::TooLarge,
            format!("a site keeps at most {MAX_BLOCKS_PER_SITE} blocks; lift some first"),
        ));
    }
    let ip = range.map(|r| r.to_string());
    if let Some(same) = existing
        .iter()
        .find(|x| x.visitor == b.visitor && x.ip == ip)
    {
        return Ok(json(StatusCode::OK, same));
    }
    let reason = b
        .reason
        .as_deref()
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|r| !r.is_empty());
    let block = BlockView {
        id: ulid::Ulid::new().to_string(),
        visitor: b.visitor,
        ip,
        reason,
        by: me.agent.id.clone(),
        by_name: me.agent.name.clone(),
        at: crate::now_ms(),
    };
    app.store.put_block(&s.id, &block)?;
    app.store.sync()?;
    app.blocks.changed(&s.id);
    tracing::info!(site = %s.id, block = %block.id, agent = %me.agent.id, "block added");
    Ok(json(StatusCode::CREATED, &block))
}

/// DELETE /v1/api/sites/{site}/blocks/{block} — by its author or an owner.
pub async fn blocks_delete(
    site: String,
    id: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let Some(b) = app.store.blocks(&s.id)?.into_iter().find(|b| b.id == id) else {
        return Err(not_found("block"));
    };
    if b.by != me.agent.id && !me.is_owner() {
        return Err(forbidden(
            "a block is lifted by the agent who made it or an owner",
        ));
    }
    app.store.delete_block(&s.id, &id)?;
    app.store.sync()?;
    app.blocks.changed(&s.id);
    tracing::info!(site = %s.id, block = %id, agent = %me.agent.id, "block lifted");
    Ok(no_content())
}

/// The visitor of `site` the agent may reach; 404 for others' and
/// unknown ones alike.
fn visitor_of(
    app: &App,
    me: &Me,
    site: &str,
    visitor: String,
) -> Result<crate::store::VisitorRecord, Rejection> {
    let s = member_site(app, me, site)?;
    let vid = VisitorId::new(visitor).map_err(|_| not_found("visitor"))?;
    app.store
        .visitor(&s.id, &vid)?
        .ok_or_else(|| not_found("visitor"))
}

/// GET /v1/api/sites/{site}/visitors/{visitor}/export — everything stored
/// about the visitor as one `.tar.gz` (see [`crate::privacy::export`]).
pub async fn export(
    site: String,
    visitor: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let v = visitor_of(&app, &me, &site, visitor)?;
    let profile = super::visitors::profile_of(&app, v)?;
    let name = format!("kefu-{}-{}.tar.gz", profile.site, profile.id);
    let app2 = app.clone();
    let bytes = tokio::task::spawn_blocking(move || crate::privacy::export(&app2, &profile))
        .await
        .map_err(internal)?
        .map_err(|e| match e {
            crate::privacy::ExportError::TooLarge => refuse(
                ErrorCode::TooLarge,
                format!(
                    "the export is over {} MiB; ask the operator for it",
                    protocol::limits::MAX_EXPORT_BYTES >> 20
                ),
            ),
            e => internal(e),
        })?;
    tracing::info!(site = %site, agent = %me.agent.id, bytes = bytes.len(), "visitor exported");
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/gzip")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(Bytes::from(bytes))
        .unwrap_or_default())
}

/// POST /v1/api/sites/{site}/visitors/{visitor}/erase — `{"confirm":
/// "ERASE"}` (or the visitor's name); answers the log entry once every
/// step is durable.
pub async fn erase(
    site: String,
    visitor: String,
    app: Arc<App>,
    me: Me,
    b: EraseRequest,
) -> Result<Reply, Rejection> {
    let v = visitor_of(&app, &me, &site, visitor)?;
    let confirm = b.confirm.trim();
    let name = v
        .user
        .as_ref()
        .and_then(|u| u.name.as_deref())
        .map(str::trim);
    if confirm != ERASE_CONFIRMATION && (confirm.is_empty() || name != Some(confirm)) {
        return Err(bad(format!(
            "confirm the erase: \"confirm\" must be {ERASE_CONFIRMATION} or the visitor's name"
        )));
    }
    let view = ErasureView {
        id: ulid::Ulid::new().to_string(),
        visitor: Some(v.id.clone()),
        by: Some(me.agent.id.clone()),
        by_name: me.agent.name.clone(),
        at: crate::now_ms(),
        ..ErasureView::default()
    };
    let done = crate::privacy::erase_visitor(&app, &v.site, &v.id, view)
        .await
        .map_err(|e| match e {
            crate::privacy::EraseError::Commit(c) => Rejection::from(c),
            e => internal(e),
        })?;
    Ok(json(StatusCode::OK, &done))
}

/// GET /v1/api/sites/{site}/erasures — owners; newest first.
pub async fn erasures(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    me.owner()?;
    let list: Vec<ErasureView> = app.store.erasures(&s.id, MAX_ERASURES_LISTED)?;
    Ok(json(StatusCode::OK, &list))
}
