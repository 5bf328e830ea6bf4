//! The HTTP edge's one error type and its answers: [`Problem`] (every
//! refusal any route makes), [`recover`] (every rejection → JSON
//! `{code, message}` with the code's status), the JSON reply helpers, and
//! the bounded JSON body filter. Used by every route (API, files, long-poll).
//!
//! Client mistakes are logged at debug only; internal errors are logged with
//! their detail where they happen and reach the client as a generic message.

use crate::commit::CommitError;
use crate::store::StoreError;
use crate::App;
use bytes::Bytes;
use protocol::api::MAX_HOST_BYTES;
use protocol::limits::MAX_BODY_BYTES;
use protocol::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::{Filter, Rejection};

/// Every answer a route builds.
pub type Reply = Response<Bytes>;

/// Every refusal the routes make: the wire error, carried as a warp
/// rejection until [`recover`] answers it.
#[derive(Debug)]
pub struct Problem(pub ApiError);

impl warp::reject::Reject for Problem {}

impl Problem {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Problem {
        Problem(ApiError::new(code, message))
    }
}

/// A rejection carrying `code` and `message`.
pub fn refuse(code: ErrorCode, message: impl Into<String>) -> Rejection {
    Problem::new(code, message).into()
}

/// 400: the request is malformed.
pub fn bad(message: impl Into<String>) -> Rejection {
    refuse(ErrorCode::BadRequest, message)
}

/// 404 "no such `what`" (also for things the caller may not see).
pub fn not_found(what: &str) -> Rejection {
    refuse(ErrorCode::NotFound, format!("no such {what}"))
}

/// 403: authenticated, but not allowed.
pub fn forbidden(message: impl Into<String>) -> Rejection {
    refuse(ErrorCode::Forbidden, message)
}

/// 500: logs `e` and answers only "internal error".
pub fn internal(e: impl std::fmt::Display) -> Rejection {
    Problem::from_internal(&e).into()
}

impl Problem {
    fn from_internal(e: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %e, "internal error");
        Problem::new(ErrorCode::Internal, "internal error")
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Problem {
        Problem(e)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        Problem::from_internal(&e)
    }
}

impl From<CommitError> for Problem {
    fn from(e: CommitError) -> Problem {
        let (code, message) = e.code_and_message();
        Problem::new(code, message)
    }
}

impl From<StoreError> for Rejection {
    fn from(e: StoreError) -> Rejection {
        Problem::from(e).into()
    }
}

impl From<CommitError> for Rejection {
    fn from(e: CommitError) -> Rejection {
        Problem::from(e).into()
    }
}

/// `v` as JSON with `status`; never cached.
pub fn json<T: Serialize>(status: StatusCode, v: &T) -> Reply {
    json_text(status, serde_json::to_vec(v).unwrap_or_default())
}

/// Bytes that already are JSON, with `status`; never cached.
pub fn json_text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into())
        .unwrap_or_default()
}

/// 204, no body.
pub fn no_content() -> Reply {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Bytes::new())
        .unwrap_or_default()
}

/// The shared state, for handlers.
pub fn with_app(app: Arc<App>) -> impl Filter<Extract = (Arc<App>,), Error = Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// A JSON body of at most [`MAX_BODY_BYTES`], parsed with a clear error.
pub fn json_body<T: DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::body::bytes())
        .and_then(|b: Bytes| async move {
            serde_json::from_slice::<T>(&b)
                .map_err(|e| refuse(ErrorCode::BadJson, format!("body: {e}")))
        })
}

/// The base URL the relay is reached at: `http://` and the request's Host
/// when it is a plausible host (nothing that could break out of an HTML
/// attribute), else the address it listens on.
pub fn base_url(host: Option<&str>, listen: SocketAddr) -> String {
    let host = host.filter(|h| {
        !h.is_empty() && h.len() <= MAX_HOST_BYTES && !h.contains(['"', '<', '>', ' ', '\'', '&'])
    });
    match host {
        Some(h) => format!("http://{h}"),
        None => format!("http://{listen}"),
    }
}

/// The error for a rejection that is not a [`Problem`] (warp's own).
fn warp_error(r: &Rejection) -> ApiError {
    if r.is_not_found() {
        ApiError::new(ErrorCode::NotFound, "no such path")
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
        ApiError::new(ErrorCode::BadRequest, "request body could not be read")
    } else {
        tracing::error!(rejection = ?r, "unhandled rejection");
        ApiError::new(ErrorCode::Internal, "internal error")
    }
}

/// Every rejection → `{code, message}` with the code's HTTP status (and
/// `Retry-After` on rate limits).
pub async fn recover(r: Rejection) -> Result<Reply, Infallible> {
    let err = match r.find::<Problem>() {
        Some(Problem(e)) => e.clone(),
        None => warp_error(&r),
    };
    if err.code != ErrorCode::Internal {
        tracing::debug!(code = err.code.as_str(), message = %err.message, "request refused");
    }
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json(status, &err);
    if err.code == ErrorCode::RateLimited {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    Ok(resp)
}
