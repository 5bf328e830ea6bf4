//! Static files: the demo host page at `/` (only while the demo site
//! exists, with the snippet pointing at the address the relay is reached
//! at), the loader and the built widget bundles under `/widget/` (the only
//! files other origins may load: CORS on preflights and answers), the
//! console under `/console/`.
//!
//! `www/` is embedded in the release binary (rust-embed; debug builds read
//! it from disk). The wasm bundles under `www/widget/` exist only after
//! `make wasm`; until then their URLs answer 404 with a JSON error saying
//! so, and the relay still builds and runs (host-only tests never need the
//! wasm toolchain).

use crate::reply::{base_url, json, with_app, Reply};
use crate::App;
use bytes::Bytes;
use protocol::{ApiError, ErrorCode, SiteId};
use std::sync::Arc;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::{Filter, Rejection};

#[derive(rust_embed::Embed)]
#[folder = "../www/"]
pub(crate) struct Www;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// 404 in the API's error shape, saying how to build what is missing.
fn not_built(path: &str) -> Reply {
    let e = ApiError::new(
        ErrorCode::NotFound,
        format!("{path} is not built: run `make wasm`, then rebuild the relay"),
    );
    json(StatusCode::NOT_FOUND, &e)
}

/// One embedded file.
fn serve(file: &str) -> Option<Response<Bytes>> {
    let f = Www::get(file)?;
    Response::builder()
        .header(header::CONTENT_TYPE, content_type(file))
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
pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Rejection> + Clone {
    let index = warp::path::end()
        .and(warp::get())
        .and(warp::header::optional::<String>("host"))
        .and(with_app(app))
        .and_then(index);
    // The widget loads on other origins, as a module (CORS mode): its
    // preflight grants GET from any origin, as its answers do.
    let widget_cors = warp::cors()
        .allow_any_origin()
        .allow_methods(["GET"])
        .max_age(600);
    let widget = warp::path("widget").and(
        warp::path::tail()
            .and(warp::get())
            .map(widget)
            .with(widget_cors),
    );
    let demo = warp::path("demo")
        .and(warp::path::tail())
        .and(warp::get())
        .and_then(demo);
    let console = warp::path("console")
        .and(warp::path::full())
        .and(warp::path::tail())
        .and(warp::get())
        .map(console);
    index.or(widget).or(demo).or(console)
}

/// The string in `www/index.html` the snippet replaces.
const SNIPPET_SLOT: &str = "{{SNIPPET}}";

/// GET / — the demo host page, while the demo site exists.
async fn index(host: Option<String>, app: Arc<App>) -> Result<Reply, Rejection> {
    let site = SiteId::new(crate::DEMO_SITE).map_err(|_| warp::reject::not_found())?;
    if app.store.site(&site)?.is_none() {
        return Err(warp::reject::not_found());
    }
    let Some(page) = Www::get("index.html") else {
        return Ok(not_built("index.html"));
    };
    let base = base_url(host.as_deref(), app.config.listen);
    let snippet = html_escape(&crate::snippet(&base, &site));
    let html = String::from_utf8_lossy(&page.data).replace(SNIPPET_SLOT, &snippet);
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, content_type("index.html"))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Bytes::from(html))
        .unwrap_or_default())
}

/// `s` as HTML text.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// GET /widget/{file}
fn widget(tail: warp::path::Tail) -> Reply {
    let name = tail.as_str();
    let file = match name {
        // The fallback client as `make wasm` minified it, else its source.
        "fallback.js" if Www::get("widget/fallback.js").is_some() => "widget/fallback.js".into(),
        // Sources that live at the top of www/.
        "loader.js" | "fallback.js" | "page.js" => name.to_string(),
        _ => format!("widget/{name}"),
    };
    if name.is_empty() || name.contains("..") {
        return not_built("widget/");
    }
    let mut r = serve(&file).unwrap_or_else(|| not_built(&format!("/widget/{name}")));
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// GET /demo/{file}
async fn demo(tail: warp::path::Tail) -> Result<Reply, Rejection> {
    serve(&format!("demo/{}", tail.as_str())).ok_or_else(warp::reject::not_found)
}

/// GET /console/… — and `/console` → `/console/`, so the bundle's relative
/// URLs resolve (warp's path matching ignores a trailing slash; the full
/// path does not).
fn console(full: warp::path::FullPath, tail: warp::path::Tail) -> Reply {
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
}

#[cfg(test)]
mod tests {
    /// The console's web app files: browsers refuse a manifest or a service
    /// worker served under the wrong type.
    #[test]
    fn console_app_files_have_their_types() {
        use super::content_type;
        assert_eq!(
            content_type("console/manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(
            content_type("console/sw.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("console/icon-192.png"), "image/png");
    }
}
