//! warp routes: one function per route, the handlers at their ends, one
//! error type ([`Problem`]) and one [`recover`] that turns every rejection
//! into the JSON error shape `{code, message}`.

use crate::longpoll::{self, Refused};
use crate::session::Peer;
use crate::ws;
use crate::App;
use bytes::Bytes;
use protocol::limits::MAX_BODY_BYTES;
use protocol::{ApiError, ErrorCode, ServerFrame};
use serde::Deserialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection, Reply};

/// Every refusal the routes make.
#[derive(Debug)]
pub struct Problem(pub ApiError);

impl warp::reject::Reject for Problem {}

impl Problem {
    /// A rejection carrying this problem.
    pub fn reject(code: ErrorCode, message: impl Into<String>) -> Rejection {
        warp::reject::custom(Problem(ApiError::new(code, message)))
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Problem {
        Problem(e)
    }
}

impl From<Refused> for Rejection {
    fn from(r: Refused) -> Rejection {
        Problem::reject(r.0, r.1)
    }
}

pub(crate) fn with_app(
    app: Arc<App>,
) -> impl Filter<Extract = (Arc<App>,), Error = Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// The client's address, Origin and User-Agent.
fn peer() -> impl Filter<Extract = (Peer,), Error = Rejection> + Clone {
    warp::addr::remote()
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("user-agent"))
        .map(|addr: Option<SocketAddr>, origin, user_agent| Peer {
            ip: addr.map(|a| a.ip()),
            origin,
            user_agent,
        })
}

fn json_response(status: StatusCode, body: String) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// All routes.
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let visitor_cors = warp::cors()
        .allow_any_origin()
        .allow_methods(["GET", "POST", "OPTIONS"])
        .allow_headers(["content-type"])
        .max_age(600);
    healthz()
        .or(metrics(app.clone()))
        .or(ws_route(app.clone()))
        .or(send(app.clone()).or(poll(app.clone())).with(visitor_cors))
        .or(crate::files::routes(app.clone()))
        .or(crate::api::routes(app.clone()))
        .or(crate::assets::routes())
        .recover(recover)
}

/// GET /healthz
fn healthz() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("healthz")
        .and(warp::get())
        .map(|| json_response(StatusCode::OK, r#"{"ok":true}"#.into()))
}

/// GET /metrics
fn metrics(app: Arc<App>) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(with_app(app))
        .map(|app: Arc<App>| {
            let body = app.metrics.render(app.hub.counts());
            Response::builder()
                .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
                .body(Bytes::from(body))
                .unwrap_or_default()
        })
}

/// GET /v1/ws
fn ws_route(app: Arc<App>) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "ws")
        .and(warp::get())
        .and(warp::header::optional::<String>("upgrade"))
        .and(warp::header::optional::<String>("sec-websocket-key"))
        .and(warp::header::optional::<String>("sec-websocket-version"))
        .and(warp::ext::optional::<hyper::upgrade::OnUpgrade>())
        .and(peer())
        .and(with_app(app))
        .map(|upgrade, key, version, on_upgrade, peer, app| {
            ws::accept(
                app,
                ws::Upgrade {
                    upgrade,
                    key,
                    version,
                    on_upgrade,
                },
                peer,
            )
        })
}

#[derive(Deserialize)]
struct SendQuery {
    sid: Option<String>,
}

/// POST /v1/send
fn send(app: Arc<App>) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "send")
        .and(warp::post())
        .and(warp::query::<SendQuery>())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(peer())
        .and(with_app(app))
        .and_then(
            |q: SendQuery, body: Bytes, peer: Peer, app: Arc<App>| async move {
                let (sid, frames) = longpoll::send(app, q.sid, &body, peer).await?;
                #[derive(serde::Serialize)]
                struct Body {
                    #[serde(skip_serializing_if = "Option::is_none")]
                    sid: Option<String>,
                    frames: Vec<ServerFrame>,
                }
                let body = serde_json::to_string(&Body { sid, frames })
                    .map_err(|_| Problem::reject(ErrorCode::Internal, "encode"))?;
                Ok::<_, Rejection>(json_response(StatusCode::OK, body))
            },
        )
}

#[derive(Deserialize)]
struct PollQuery {
    sid: String,
    #[serde(default)]
    ack: u64,
}

/// GET /v1/poll
fn poll(app: Arc<App>) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("v1" / "poll")
        .and(warp::get())
        .and(warp::query::<PollQuery>())
        .and(with_app(app))
        .and_then(|q: PollQuery, app: Arc<App>| async move {
            let r = longpoll::poll(app, &q.sid, q.ack).await?;
            Ok::<_, Rejection>(json_response(StatusCode::OK, r.to_json()))
        })
}

/// Every rejection → `{code, message}` with the matching status. Client
/// mistakes are logged at debug; internal errors reach the client only as a
/// generic message.
pub async fn recover(r: Rejection) -> Result<Response<Bytes>, Infallible> {
    let err = if r.is_not_found() {
        ApiError::new(ErrorCode::NotFound, "no such path")
    } else if let Some(Problem(e)) = r.find::<Problem>() {
        e.clone()
    } else if r.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "body too large: JSON bodies are at most {MAX_BODY_BYTES} bytes, \
                 files at most the relay's --max-file-bytes"
            ),
        )
    } else if r.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(ErrorCode::BadRequest, "Content-Length required")
    } else if let Some(e) = r.find::<warp::reject::InvalidQuery>() {
        ApiError::new(ErrorCode::BadRequest, format!("bad query string: {e}"))
    } else if let Some(e) = r.find::<warp::reject::MissingHeader>() {
        ApiError::new(ErrorCode::BadRequest, e.to_string())
    } else if let Some(e) = r.find::<warp::reject::InvalidHeader>() {
        ApiError::new(ErrorCode::BadRequest, e.to_string())
    } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this path",
        )
    } else if let Some(e) = r.find::<warp::filters::cors::CorsForbidden>() {
        ApiError::new(ErrorCode::OriginNotAllowed, e.to_string())
    } else if r.find::<warp::reject::UnsupportedMediaType>().is_some() {
        ApiError::new(ErrorCode::BadRequest, "unsupported content type")
    } else if format!("{r:?}").contains("BodyReadError") {
        // The client went away (or stalled) mid-body: its problem, not ours
        // (warp does not export the type to `find` it).
        tracing::debug!(rejection = ?r, "body read failed");
        ApiError::new(ErrorCode::BadRequest, "request body could not be read")
    } else {
        tracing::error!(rejection = ?r, "unhandled rejection");
        ApiError::new(ErrorCode::Internal, "internal error")
    };
    if err.code == ErrorCode::Internal {
        tracing::error!(message = %err.message, "internal error");
    } else {
        tracing::debug!(code = err.code.as_str(), message = %err.message, "request refused");
    }
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(status, serde_json::to_string(&err).unwrap_or_default());
    if err.code == ErrorCode::RateLimited {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    }
    Ok(resp)
}
