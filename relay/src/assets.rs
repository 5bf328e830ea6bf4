//! Static files: the demo host page at `/` and the widget/console bundles.
//!
//! `www/` is embedded in the binary at build time. The wasm bundles under
//! `www/widget/` and `www/console/` exist only after `make wasm`; until then
//! their URLs answer 404 with a JSON error saying so, and the relay still
//! builds and runs (host-only tests never need the wasm toolchain).

use bytes::Bytes;
use protocol::{ApiError, ErrorCode};
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection, Reply};

/// The demo host page (the [widget] issue installs the snippet in it).
const INDEX_HTML: &str = include_str!("../../www/index.html");

/// GET / and GET /widget/…, /console/…
pub fn routes() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let index = warp::path::end().and(warp::get()).map(|| {
        Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Bytes::from_static(INDEX_HTML.as_bytes()))
            .unwrap_or_default()
    });
    let bundles = warp::path("widget")
        .or(warp::path("console"))
        .unify()
        .and(warp::get())
        .map(|| {
            let e = ApiError::new(
                ErrorCode::NotFound,
                "bundle not built: run `make wasm` and rebuild the relay",
            );
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Bytes::from(serde_json::to_string(&e).unwrap_or_default()))
                .unwrap_or_default()
        });
    index.or(bundles)
}
