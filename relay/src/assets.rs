//! Static files: the demo host page at `/`, the loader, and the built
//! widget bundles under `/widget/`.
//!
//! `www/` is embedded in the release binary (rust-embed; debug builds read
//! it from disk). The wasm bundles under `www/widget/` exist only after
//! `make wasm`; until then their URLs answer 404 with a JSON error saying
//! so, and the relay still builds and runs (host-only tests never need the
//! wasm toolchain).

use bytes::Bytes;
use protocol::{ApiError, ErrorCode};
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection, Reply};

#[derive(rust_embed::Embed)]
#[folder = "../www/"]
struct Www;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn not_built(path: &str) -> Response<Bytes> {
    let e = ApiError::new(
        ErrorCode::NotFound,
        format!("{path} is not built: run `make wasm`, then rebuild the relay"),
    );
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(serde_json::to_string(&e).unwrap_or_default()))
        .unwrap_or_default()
}

/// One embedded file, with headers fit for other sites' pages loading it.
fn serve(file: &str) -> Option<Response<Bytes>> {
    let f = Www::get(file)?;
    Response::builder()
        .header(header::CONTENT_TYPE, content_type(file))
        // The widget loads on other origins, as a module (CORS mode).
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Bytes::from(f.data.into_owned()))
        .ok()
}

/// The console runs on the relay's own origin with agents' tokens: no
/// script but its own files (wasm needs 'wasm-unsafe-eval'), no framing, no
/// referrer leaking conversation URLs. Visitor text is rendered as text
/// anyway; this is the second wall.
const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn console_headers(mut r: Response<Bytes>) -> Response<Bytes> {
    let h = r.headers_mut();
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CONSOLE_CSP),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    r
}

/// GET /, /widget/…, /demo/…, /console/…
pub fn routes() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let index = warp::path::end()
        .and(warp::get())
        .map(|| serve("index.html").unwrap_or_else(|| not_built("index.html")));
    let widget = warp::path("widget")
        .and(warp::path::tail())
        .and(warp::get())
        .map(|tail: warp::path::Tail| {
            let name = tail.as_str();
            let file = match name {
                // Sources that live at the top of www/.
                "loader.js" | "fallback.js" => name.to_string(),
                _ => format!("widget/{name}"),
            };
            if name.is_empty() || name.contains("..") {
                return not_built("widget/");
            }
            serve(&file).unwrap_or_else(|| not_built(&format!("/widget/{name}")))
        });
    let demo = warp::path("demo")
        .and(warp::path::tail())
        .and(warp::get())
        .and_then(|tail: warp::path::Tail| async move {
            let file = format!("demo/{}", tail.as_str());
            serve(&file).ok_or_else(warp::reject::not_found)
        });
    // `/console` → `/console/`, so the bundle's relative URLs resolve
    // (warp's path matching ignores a trailing slash; the full path does not).
    let console = warp::path("console")
        .and(warp::path::full())
        .and(warp::path::tail())
        .and(warp::get())
        .map(|full: warp::path::FullPath, tail: warp::path::Tail| {
            if full.as_str() == "/console" {
                return Response::builder()
                    .status(StatusCode::MOVED_PERMANENTLY)
                    .header(header::LOCATION, "/console/")
                    .body(Bytes::new())
                    .unwrap_or_default();
            }
            let name = match tail.as_str() {
                "" => "index.html",
                n => n,
            };
            if name.contains("..") {
                return not_built("/console/");
            }
            match serve(&format!("console/{name}")) {
                Some(r) => console_headers(r),
                None => not_built(&format!("/console/{name}")),
            }
        });
    index.or(widget).or(demo).or(console)
}
