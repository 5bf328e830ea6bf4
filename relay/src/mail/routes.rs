//! `GET` and `POST /v1/mail/unsubscribe?site=…&email=…&sig=…`: the link
//! in every visitor mail (and its `List-Unsubscribe` header).
//!
//! GET shows a page with one button (link scanners fetch GET: it changes
//! nothing); POST — the button, or a mail client's RFC 8058 one-click
//! `List-Unsubscribe=One-Click` — unsubscribes the address from the
//! site's visitor mail, durably. A wrong signature is a 403 page.

use crate::assets::html_escape;
use crate::reply::{with_app, Reply};
use crate::App;
use bytes::Bytes;
use protocol::limits::{MAX_LINK_QUERY_BYTES, MAX_UNSUBSCRIBE_BODY};
use protocol::SiteId;
use std::sync::Arc;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

/// GET, POST /v1/mail/unsubscribe
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (Reply,), Error = Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let get = warp::path!("v1" / "mail" / "unsubscribe")
        .and(warp::get())
        .and(query)
        .and(with_app(app.clone()))
        .map(|q: String, app: Arc<App>| page(&app, &q, false));
    let post = warp::path!("v1" / "mail" / "unsubscribe")
        .and(warp::post())
        .and(query)
        .and(warp::body::content_length_limit(MAX_UNSUBSCRIBE_BODY))
        .and(warp::body::bytes())
        .and(with_app(app))
        .map(|q: String, _body: Bytes, app: Arc<App>| page(&app, &q, true));
    get.or(post).unify()
}

/// The site and address a link names, if its signature holds.
fn checked(app: &App, query: &str) -> Option<(SiteId, String)> {
    let mailer = app.mail.as_ref()?;
    if query.len() > MAX_LINK_QUERY_BYTES {
        return None;
    }
    let (mut site, mut email, mut sig) = (None, None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "site" => &mut site,
            "email" => &mut email,
            "sig" => &mut sig,
            _ => continue,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(v.into_owned());
    }
    let site = SiteId::new(site?).ok()?;
    let (email, sig) = (email?, sig?);
    mailer
        .key()
        .check_unsubscribe(&site, &email, &sig)
        .then_some((site, email))
}

fn page(app: &App, query: &str, post: bool) -> Reply {
    let Some((site, email)) = checked(app, query) else {
        return html(
            StatusCode::FORBIDDEN,
            "Unsubscribe",
            "<p>This unsubscribe link is not valid.</p><p>此退订链接无效。</p>",
        );
    };
    let lang = app
        .store
        .site(&site)
        .ok()
        .flatten()
        .and_then(|s| s.widget.language);
    let t = super::texts::for_language(lang.as_deref());
    if !post {
        let body = format!(
            "<p>{}</p><p><b>{}</b></p><form method=\"post\"><button type=\"submit\">{}</button></form>",
            html_escape(t.unsub_ask),
            html_escape(&email),
            html_escape(t.unsub_button),
        );
        return html(StatusCode::OK, t.unsub_title, &body);
    }
    match app.store.unsubscribe(&site, &email) {
        Ok(()) => {
            tracing::info!(%site, "mail: an address unsubscribed");
            html(
                StatusCode::OK,
                t.unsub_title,
                &format!("<p>{}</p>", html_escape(t.unsub_done)),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "mail: unsubscribe not stored");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                t.unsub_title,
                "<p>Please try again in a moment.</p>",
            )
        }
    }
}

fn html(status: StatusCode, title: &str, body: &str) -> Reply {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>body{{font:16px/1.5 system-ui,sans-serif;color:#1f2933;\
         background:#f5f7fa;margin:0;padding:48px 20px}}main{{max-width:520px;margin:0 auto;\
         background:#fff;border-radius:12px;padding:24px}}button{{font:inherit;padding:8px 16px}}\
         </style></head><body><main><h1>{t}</h1>{body}</main></body></html>\n",
        t = html_escape(title),
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        )
        .body(Bytes::from(page))
        .unwrap_or_default()
}
