//! `GET` and `POST /v1/mail/unsubscribe?site=…&email=…&sig=…`: the link
//! in every visitor mail (and its `List-Unsubscribe` header).
//!
//! GET shows a page with one button (link scanners fetch GET: it changes
//! nothing); POST — the button, or a mail client's RFC 8058 one-click
//! `List-Unsubscribe=One-Click` — unsubscribes the address from the
//! site's visitor mail, durably. A wrong signature is a 403 page.
//!
//! `GET` and `POST /v1/mail/rate?site=…&conv=…&visitor=…&score=…&exp=…&sig=…`:
//! the rating links of a closed conversation's transcript. GET shows the
//! score and a button (it stores nothing); POST stores the rating as the
//! visitor's `rate` frame does — the same commit, the site's scale checked,
//! only on a closed conversation — with a cid derived from the signature,
//! so a second click stores nothing more. A forged, altered or expired
//! link is a 403 page.

use crate::assets::html_escape;
use crate::commit::{CommitError, NewRating};
use crate::reply::{with_app, Reply};
use crate::App;
use bytes::Bytes;
use protocol::limits::{MAX_LINK_QUERY_BYTES, MAX_UNSUBSCRIBE_BODY};
use protocol::offline::RatingScale;
use protocol::{Author, Cid, ConvId, Side, SiteId, VisitorId};
use std::sync::Arc;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

/// GET, POST /v1/mail/unsubscribe and /v1/mail/rate
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
        .and(with_app(app.clone()))
        .map(|q: String, _body: Bytes, app: Arc<App>| page(&app, &q, true));
    let rate_get = warp::path!("v1" / "mail" / "rate")
        .and(warp::get())
        .and(query)
        .and(with_app(app.clone()))
        .map(|q: String, app: Arc<App>| rate_page(&app, &q));
    // The form posts nothing: the query is the link; no body is read.
    let rate_post = warp::path!("v1" / "mail" / "rate")
        .and(warp::post())
        .and(query)
        .and(with_app(app))
        .then(|q: String, app: Arc<App>| async move { rate(&app, &q).await });
    get.or(post)
        .unify()
        .or(rate_get)
        .unify()
        .or(rate_post)
        .unify()
}

/// What a rating link names, its signature and expiry checked.
struct RateLink {
    site: SiteId,
    conv: ConvId,
    visitor: VisitorId,
    score: u8,
    sig: String,
}

fn rate_checked(app: &App, query: &str) -> Option<RateLink> {
    let mailer = app.mail.as_ref()?;
    if query.len() > MAX_LINK_QUERY_BYTES {
        return None;
    }
    let mut f: [Option<String>; 6] = Default::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let i = match k.as_ref() {
            "site" => 0,
            "conv" => 1,
            "visitor" => 2,
            "score" => 3,
            "exp" => 4,
            "sig" => 5,
            _ => continue,
        };
        if f[i].is_some() {
            return None;
        }
        f[i] = Some(v.into_owned());
    }
    let [site, conv, visitor, score, exp, sig] = f;
    let site = SiteId::new(site?).ok()?;
    let conv = ConvId::new(conv?).ok()?;
    let visitor = VisitorId::new(visitor?).ok()?;
    let score: u8 = score?.parse().ok()?;
    let exp: u64 = exp?.parse().ok()?;
    let sig = sig?;
    let now_s = crate::now_ms() / 1000;
    if !mailer
        .key()
        .check_rating(&site, &conv, &visitor, score, exp, &sig, now_s)
    {
        return None;
    }
    Some(RateLink {
        site,
        conv,
        visitor,
        score,
        sig: sig.to_ascii_lowercase(),
    })
}

fn rate_texts(app: &App, site: &SiteId) -> &'static super::texts::MailTexts {
    let lang = app
        .store
        .site(site)
        .ok()
        .flatten()
        .and_then(|s| s.widget.language);
    super::texts::for_language(lang.as_deref())
}

fn rate_invalid() -> Reply {
    html(
        StatusCode::FORBIDDEN,
        "Rating",
        "<p>This rating link is not valid or has expired.</p><p>此评价链接无效或已过期。</p>",
    )
}

fn score_label(score: u8, scale: RatingScale) -> String {
    match scale {
        RatingScale::Thumbs if score >= 5 => "👍".into(),
        RatingScale::Thumbs => "👎".into(),
        _ => format!("{score}/5 {}", "★".repeat(score.into())),
    }
}

/// GET: the score and a button; nothing is stored.
fn rate_page(app: &App, query: &str) -> Reply {
    let Some(link) = rate_checked(app, query) else {
        return rate_invalid();
    };
    let t = rate_texts(app, &link.site);
    let scale = app
        .store
        .site(&link.site)
        .ok()
        .flatten()
        .map(|s| s.widget.rating)
        .unwrap_or(RatingScale::Off);
    if !scale.allows(link.score) {
        return html(
            StatusCode::FORBIDDEN,
            t.rate_title,
            &format!("<p>{}</p>", html_escape(t.rate_invalid)),
        );
    }
    let body = format!(
        "<p>{}</p><form method=\"post\"><button type=\"submit\">{}</button></form>",
        html_escape(&super::compose::fill(
            t.rate_confirm,
            &[("score", &score_label(link.score, scale))]
        )),
        html_escape(t.rate_button),
    );
    html(StatusCode::OK, t.rate_title, &body)
}

/// POST: the rating stored as the visitor's `rate` frame stores it.
async fn rate(app: &App, query: &str) -> Reply {
    let Some(link) = rate_checked(app, query) else {
        return rate_invalid();
    };
    let t = rate_texts(app, &link.site);
    let msg = |status, text: &str| {
        html(
            status,
            t.rate_title,
            &format!("<p>{}</p>", html_escape(text)),
        )
    };
    let site = app.store.site(&link.site).ok().flatten();
    let conv = app.store.conv(&link.conv).ok().flatten();
    let (Some(site), Some(conv)) = (site, conv) else {
        return msg(StatusCode::FORBIDDEN, t.rate_invalid);
    };
    if conv.site != link.site
        || conv.visitor != link.visitor
        || !site.widget.rating.allows(link.score)
    {
        return msg(StatusCode::FORBIDDEN, t.rate_invalid);
    }
    if app
        .blocks
        .blocked(&app.store, &link.site, &link.visitor, None)
    {
        return msg(StatusCode::FORBIDDEN, crate::privacy::BLOCKED_MESSAGE);
    }
    let name = app
        .store
        .visitor(&link.site, &link.visitor)
        .ok()
        .flatten()
        .and_then(|v| v.user)
        .and_then(|u| u.name);
    // The cid names the link: a second click (or a retry) is the same
    // rating; another score is another link, a later rating.
    let Ok(cid) = Cid::new(format!("mail-rate-{}", &link.sig[..link.sig.len().min(32)])) else {
        return rate_invalid();
    };
    let rating = NewRating {
        scope: format!("v:{}:{}", link.site, link.visitor),
        cid,
        conv: link.conv.clone(),
        by: Author {
            side: Side::Visitor,
            id: link.visitor.to_string(),
            name,
        },
        score: link.score,
        comment: None,
    };
    let result = match app.commit.rate_queued(rating).await {
        Ok(rx) => rx.await.unwrap_or(Err(CommitError::ShuttingDown)),
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => {
            if !c.duplicate {
                tracing::info!(site = %link.site, conv = %link.conv, score = link.score,
                    "mail: a rating from a transcript's link");
            }
            msg(StatusCode::OK, t.rate_done)
        }
        Err(CommitError::NotClosed) => msg(StatusCode::CONFLICT, t.rate_open),
        Err(e @ (CommitError::Storage | CommitError::ShuttingDown)) => {
            tracing::error!(error = %e, "mail: rating not stored");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                t.rate_title,
                "<p>Please try again in a moment.</p>",
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "mail: rating refused");
            msg(StatusCode::FORBIDDEN, t.rate_invalid)
        }
    }
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

pub(super) fn html(status: StatusCode, title: &str, body: &str) -> Reply {
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
