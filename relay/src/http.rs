//! The relay's two HTTP faces: [`routes`], everything on the public port
//! (the API, files, assets, and the two transports mounted), and
//! [`metrics_routes`], the operator's port (`/metrics`, `/healthz`). Every
//! rejection ends in [`crate::reply::recover`].
//!
//! CORS: only what host pages call from other origins grants it — the
//! long-poll endpoints here, uploads and downloads in [`crate::files`], the
//! widget's files in [`crate::assets`] — and each grants the same on its
//! preflight as on its answer. Everything else (the agents' API included)
//! is same-origin: a preflight there finds no route.

#[cfg(test)]
mod tests;

use crate::longpoll;
use crate::reply::{json_text, recover, with_app, Reply};
use crate::session::Peer;
use crate::ws;
use crate::App;
use bytes::Bytes;
use protocol::limits::MAX_BODY_BYTES;
use protocol::ServerFrame;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use warp::filters::cors::Builder as Cors;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

/// The client's address (behind a trusted proxy, the one it forwarded
/// for: [`crate::privacy::client_ip`]), Origin, User-Agent and Host.
fn peer(app: &App) -> impl Filter<Extract = (Peer,), Error = Rejection> + Clone {
    crate::privacy::client_addr(app.trusted_proxies.clone())
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("user-agent"))
        .and(warp::header::optional::<String>("host"))
        .map(|ip: Option<IpAddr>, origin, user_agent, host| Peer {
            ip,
            origin,
            user_agent,
            host,
        })
}

/// What host pages may send the long-poll endpoints from any origin:
/// `text/plain` POSTs and GETs (the site's allowed origins are checked by
/// the session, which answers with an error frame). Refusals are answered
/// inside CORS too, so the page can read them.
fn longpoll_cors() -> Cors {
    warp::cors()
        .allow_any_origin()
        .allow_methods(["GET", "POST"])
        .allow_headers(["content-type"])
        .max_age(600)
}

/// Every route on the public port.
pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    healthz()
        .or(ws_route(app.clone()))
        .or(send(app.clone()))
        .or(poll(app.clone()))
        .or(route(app.clone()))
        .or(crate::files::routes(app.clone()))
        .or(crate::files::avatar::routes(app.clone()))
        .or(crate::wechat::inbound::routes(app.clone()))
        .or(crate::api::routes(app.clone()))
        .or(crate::chat_page::routes(app.clone()))
        .or(crate::mail::routes::routes(app.clone()))
        .or(crate::mail::reset::routes(app.clone()))
        .or(crate::assets::routes(app))
        .recover(recover)
}

/// Every route on the metrics port: `/metrics` and `/healthz`.
pub fn metrics_routes(
    app: Arc<App>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    metrics(app.clone())
        .or(healthz())
        .or(crate::backup::admin_routes(app))
        .recover(recover)
}

#[derive(Deserialize)]
struct RouteQuery {
    site: String,
}

/// Which relay serves a site: `{site, url}`.
#[derive(Serialize)]
struct RouteAnswer<'a> {
    site: &'a str,
    url: String,
}

/// GET /v1/route?site=S — which relay owns S. A single box owns every site
/// it has and answers with itself (`--public-url`, or the request's Host
/// when the relay listens on every address); a cluster relay will answer
/// with the owner's URL. Asked by loaders on other origins: CORS for any.
fn route(app: Arc<App>) -> impl Filter<Extract = (impl warp::Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "route").and(
        warp::get()
            .and(warp::query::<RouteQuery>())
            .and(warp::header::optional::<String>("host"))
            .and(with_app(app))
            .and_then(route_answer)
            .recover(recover)
            .unify()
            .with(
                warp::cors()
                    .allow_any_origin()
                    .allow_methods(["GET"])
                    .max_age(600),
            ),
    )
}

async fn route_answer(
    q: RouteQuery,
    host: Option<String>,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    use protocol::ErrorCode;
    let site = protocol::SiteId::new(&q.site)
        .map_err(|e| crate::reply::refuse(ErrorCode::BadRequest, format!("site: {e}")))?;
    if app
        .store
        .site(&site)
        .map_err(crate::reply::internal)?
        .is_none()
    {
        return Err(crate::reply::refuse(
            ErrorCode::UnknownSite,
            format!("no site {site} on this relay"),
        ));
    }
    let unspecified = |u: &str| {
        url::Url::parse(u).ok().is_some_and(|u| match u.host() {
            Some(url::Host::Ipv4(a)) => a.is_unspecified(),
            Some(url::Host::Ipv6(a)) => a.is_unspecified(),
            _ => false,
        })
    };
    let url = match &app.config.public_url {
        Some(u) if !unspecified(u) => u.clone(),
        _ => crate::reply::base_url(host.as_deref(), app.config.listen),
    };
    let body = serde_json::to_vec(&RouteAnswer {
        site: site.as_str(),
        url,
    })
    .map_err(crate::reply::internal)?;
    let mut r = json_text(StatusCode::OK, body);
    if let Ok(v) =
        header::HeaderValue::from_str(&format!("max-age={}", protocol::limits::ROUTE_MAX_AGE_S))
    {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    // The CORS layer echoes the asking origin: a cache must not hand one
    // origin's answer to another.
    r.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("origin"));
    Ok(r)
}

/// GET /healthz
fn healthz() -> impl Filter<Extract = (Reply,), Error = Rejection> + Clone {
    warp::path!("healthz").and(warp::get()).map(healthy)
}

fn healthy() -> Reply {
    json_text(StatusCode::OK, r#"{"ok":true}"#)
}

/// GET /metrics (metrics port only)
fn metrics(app: Arc<App>) -> impl Filter<Extract = (Reply,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(with_app(app))
        .map(render_metrics)
}

fn render_metrics(app: Arc<App>) -> Reply {
    let body = app.metrics.render(app.hub.counts());
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// GET /v1/ws
fn ws_route(
    app: Arc<App>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "ws")
        .and(warp::get())
        .and(warp::header::optional::<String>("upgrade"))
        .and(warp::header::optional::<String>("sec-websocket-key"))
        .and(warp::header::optional::<String>("sec-websocket-version"))
        .and(warp::ext::optional::<hyper::upgrade::OnUpgrade>())
        .map(|upgrade, key, version, on_upgrade| ws::Upgrade {
            upgrade,
            key,
            version,
            on_upgrade,
        })
        .and(peer(&app))
        .and(with_app(app))
        .map(upgrade)
}

fn upgrade(up: ws::Upgrade, peer: Peer, app: Arc<App>) -> impl warp::Reply {
    ws::accept(app, up, peer)
}

#[derive(Deserialize)]
struct SendQuery {
    sid: Option<String>,
}

/// The answer to a send: the new session's id, and the direct replies.
#[derive(Serialize)]
struct SendReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    frames: Vec<ServerFrame>,
}

/// POST /v1/send
fn send(app: Arc<App>) -> impl Filter<Extract = (impl warp::Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "send").and(
        warp::post()
            .and(warp::query::<SendQuery>())
            .and(warp::body::content_length_limit(MAX_BODY_BYTES))
            .and(warp::body::bytes())
            .and(peer(&app))
            .and(with_app(app))
            .and_then(send_frames)
            .recover(recover)
            .unify()
            .with(longpoll_cors()),
    )
}

async fn send_frames(
    q: SendQuery,
    body: Bytes,
    peer: Peer,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    let (sid, frames) = longpoll::send(app, q.sid, &body, peer).await?;
    let body = serde_json::to_vec(&SendReply { sid, frames }).map_err(crate::reply::internal)?;
    Ok(json_text(StatusCode::OK, body))
}

#[derive(Deserialize)]
struct PollQuery {
    sid: String,
    #[serde(default)]
    ack: u64,
}

/// GET /v1/poll
fn poll(app: Arc<App>) -> impl Filter<Extract = (impl warp::Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "poll").and(
        warp::get()
            .and(warp::query::<PollQuery>())
            .and(with_app(app))
            .and_then(poll_frames)
            .recover(recover)
            .unify()
            .with(longpoll_cors()),
    )
}

async fn poll_frames(q: PollQuery, app: Arc<App>) -> Result<Reply, Rejection> {
    let r = longpoll::poll(app, &q.sid, q.ack).await?;
    Ok(json_text(StatusCode::OK, r.to_json()))
}
