//! The hosted chat page: `GET /chat/{site}`, the widget as a whole page
//! (app WebViews, official-account menu links, QR codes, email links), and
//! its QR codes `GET /chat/{site}/qr.svg` and `…/qr.png`.
//!
//! The page is `www/chat.html` with the site's name and the loader filled
//! in; the loader picks the wasm widget or `fallback.js` as on any page,
//! and `www/page.js` turns either into a full page (opened at once, no
//! launcher, no close button) and says `channel: page` in the hello.
//!
//! A link may carry an identity signed by the site's backend: `uid`,
//! `name`, `email`, `ts` (Unix seconds) and `sig` = hex(HMAC-SHA256(site
//! secret, [`canonical`])). A valid one boots the widget with that user and
//! the `user_hash` the relay computes for the uid, so the visitor shows as
//! verified exactly as with `kefu('identify', …)`. A wrong signature, a
//! `ts` older than [`SIGNED_LINK_MAX_AGE_S`] or more than
//! [`SIGNED_LINK_MAX_AHEAD_S`] ahead, or a field over the user limits is
//! refused with a 403 page, and nothing is stored (the widget never starts).
//!
//! A link the relay mailed (`?resume=TOKEN`, [`crate::mail::MailKey`]'s
//! chat token) resumes the visitor it names: the page hands the widget
//! that visitor's id and token (what its welcome would give), so it says
//! hello as that visitor and finds its conversation. It carries no
//! identity: the visitor is as verified as its stored record. An altered
//! or expired one is a 403 page.

use crate::assets::{html_escape, Www};
use crate::auth;
use crate::reply::{base_url, not_found, with_app, Reply};
use crate::App;
use bytes::Bytes;
use protocol::limits::*;
use protocol::{SiteId, UserInfo};
use std::sync::Arc;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

/// The signed fields, in the order the canonical string lists them.
pub const SIGNED_FIELDS: [&str; 4] = ["uid", "name", "email", "ts"];

/// The string a link's `sig` signs: each signed field present in the link,
/// as `key=value` (the value percent-decoded, `+` read as a space, as
/// every form decoder does), in the order uid, name, email, ts, joined by
/// `\n`. `uid=42`, `name=Li Lei`, `ts=1764676800` →
/// `"uid=42\nname=Li Lei\nts=1764676800"`.
pub fn canonical(fields: &[(&str, &str)]) -> String {
    SIGNED_FIELDS
        .iter()
        .filter_map(|k| fields.iter().find(|(f, _)| f == k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A link's identity, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedUser {
    pub uid: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Why a link's identity is refused (the 403 page says it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is too long (at most {MAX_LINK_QUERY_BYTES} bytes of query)")]
    TooLong,
    #[error("{0} appears more than once in the link")]
    Repeated(&'static str),
    #[error("a signed link needs uid, ts and sig")]
    Incomplete,
    #[error("ts is not a Unix time in seconds")]
    BadTs,
    #[error("the link has expired (signed links last a day): ask for a new one")]
    Expired,
    #[error("the link's ts is in the future: check the signing server's clock")]
    Ahead,
    #[error("the signature does not match")]
    BadSig,
    #[error("{0}")]
    Field(String),
}

/// Reads a link's query: `Ok(None)` for a link with no signed field at
/// all (an anonymous visitor), `Ok(Some(user))` for a valid signed one.
/// Parameters other than the signed ones and `sig` are ignored (and not
/// signed): tracking tags, `kefu_fallback=1`.
pub fn verify_link(query: &str, secret: &str, now_s: u64) -> Result<Option<SignedUser>, LinkError> {
    if query.len() > MAX_LINK_QUERY_BYTES {
        return Err(LinkError::TooLong);
    }
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let Some(key) = SIGNED_FIELDS
            .iter()
            .chain(["sig"].iter())
            .find(|f| **f == k)
        else {
            continue;
        };
        if found.iter().any(|(f, _)| f == key) {
            return Err(LinkError::Repeated(key));
        }
        found.push((key, v.into_owned()));
    }
    if found.is_empty() {
        return Ok(None);
    }
    let get = |k: &str| found.iter().find(|(f, _)| *f == k).map(|(_, v)| v.clone());
    let (Some(uid), Some(ts), Some(sig)) = (get("uid"), get("ts"), get("sig")) else {
        return Err(LinkError::Incomplete);
    };
    let user = UserInfo {
        id: Some(uid.clone()),
        name: get("name"),
        email: get("email"),
        ..UserInfo::default()
    };
    protocol::frames::validate_user(&user).map_err(|e| LinkError::Field(e.message))?;
    let fields: Vec<(&str, &str)> = found
        .iter()
        .filter(|(k, _)| *k != "sig")
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    // The signature first: nothing about an unsigned link is worth telling.
    if !auth::check_link_sig(secret, &canonical(&fields), &sig) {
        return Err(LinkError::BadSig);
    }
    let ts: u64 = ts.parse().map_err(|_| LinkError::BadTs)?;
    if ts > now_s.saturating_add(SIGNED_LINK_MAX_AHEAD_S) {
        return Err(LinkError::Ahead);
    }
    if now_s.saturating_sub(ts) > SIGNED_LINK_MAX_AGE_S {
        return Err(LinkError::Expired);
    }
    Ok(Some(SignedUser {
        uid,
        name: user.name,
        email: user.email,
    }))
}

/// GET /chat/{site}, /chat/{site}/qr.svg, /chat/{site}/qr.png
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (Reply,), Error = Rejection> + Clone {
    let host = || warp::header::optional::<String>("host");
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let qr_svg = warp::path!("chat" / String / "qr.svg")
        .and(warp::get())
        .and(host())
        .and(with_app(app.clone()))
        .and_then(|site, host, app| qr(site, host, app, QrFormat::Svg));
    let qr_png = warp::path!("chat" / String / "qr.png")
        .and(warp::get())
        .and(host())
        .and(with_app(app.clone()))
        .and_then(|site, host, app| qr(site, host, app, QrFormat::Png));
    let page = warp::path!("chat" / String)
        .and(warp::get())
        .and(query)
        .and(host())
        .and(warp::header::optional::<String>("accept-language"))
        .and(with_app(app))
        .and_then(page);
    qr_svg.or(qr_png).unify().or(page).unify()
}

/// The page of `site`: 404 page for a site that does not exist, 403 page
/// for a refused identity.
async fn page(
    site: String,
    query: String,
    host: Option<String>,
    accept_language: Option<String>,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    let known = match SiteId::new(&site) {
        Ok(id) => app.store.site(&id)?,
        Err(_) => None,
    };
    let Some(rec) = known else {
        return Ok(notice(
            StatusCode::NOT_FOUND,
            "No such chat",
            "There is no chat at this address. Check the link you were given.",
            "此地址没有在线客服,请检查链接。",
        ));
    };
    let now_s = crate::now_ms() / 1000;
    let resumed = match resume(&app, &rec.id, &query, now_s) {
        Ok(r) => r,
        Err(why) => {
            tracing::debug!(site = %rec.id, %why, "hosted page mail link refused");
            return Ok(notice(
                StatusCode::FORBIDDEN,
                "This chat link is not valid",
                &format!("This link cannot open the chat: {why}."),
                "此聊天链接无效或已过期,请重新获取。",
            ));
        }
    };
    let user = match verify_link(&query, &rec.secret, now_s) {
        Ok(Some(_)) if resumed.is_some() => {
            return Ok(notice(
                StatusCode::FORBIDDEN,
                "This chat link is not valid",
                "This link cannot open the chat: it both resumes a chat and signs an identity.",
                "此聊天链接无效或已过期,请重新获取。",
            ));
        }
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(site = %rec.id, error = %e, "hosted page link refused");
            return Ok(notice(
                StatusCode::FORBIDDEN,
                "This chat link is not valid",
                &format!("This link cannot open the chat: {e}."),
                "此聊天链接无效或已过期,请重新获取。",
            ));
        }
    };
    let Some(template) = Www::get("chat.html") else {
        return Err(not_found("page"));
    };
    let base = base_url(host.as_deref(), app.config.listen);
    // Scheme-relative, so the page works behind a TLS proxy, and absolute
    // for old browsers that read a script's src as written.
    let loader = format!("{}/widget/loader.js", base.trim_start_matches("http:"));
    let mut identity = String::new();
    if let Some(u) = &user {
        let hash = auth::user_hash(&rec.secret, &u.uid);
        for (k, v) in [
            ("uid", Some(&u.uid)),
            ("name", u.name.as_ref()),
            ("email", u.email.as_ref()),
            ("hash", Some(&hash)),
        ] {
            if let Some(v) = v {
                identity.push_str(&format!(" data-{k}=\"{}\"", html_escape(v)));
            }
        }
    }
    if let Some(v) = &resumed {
        let token = app.auth.visitor_token(&rec.id, v);
        for (k, val) in [
            ("site", rec.id.as_str()),
            ("vid", v.as_str()),
            ("tok", &token),
        ] {
            identity.push_str(&format!(" data-{k}=\"{}\"", html_escape(val)));
        }
    }
    // The page's one language, as the widget's welcome will resolve it:
    // the site's, else the browser's first choice. The loader passes it on
    // (`data-lang`), so even the texts before the welcome agree.
    let lang = protocol::api::resolve_language(
        rec.widget.language.as_deref(),
        accept_language.as_deref().map(first_language),
    );
    let html = fill(
        &String::from_utf8_lossy(&template.data),
        &[
            ("LANG", lang),
            ("NAME", &html_escape(&rec.name)),
            ("SITE", rec.id.as_str()),
            ("LOADER", &html_escape(&loader)),
            ("IDENTITY", &identity),
        ],
    );
    Ok(html_reply(StatusCode::OK, html))
}

/// The first tag of an `Accept-Language` header (`zh-CN,zh;q=0.9,en;q=0.8`
/// → `zh-CN`): browsers list the visitor's own choice first.
fn first_language(header: &str) -> &str {
    header.split([',', ';']).next().unwrap_or_default().trim()
}

/// The visitor a mailed link's `resume` token names, if the link has one
/// and that visitor is still known (`Ok(None)`: no token, or a visitor
/// since gone — the page starts fresh). `Err`: why the token is refused.
fn resume(
    app: &App,
    site: &SiteId,
    query: &str,
    now_s: u64,
) -> Result<Option<protocol::VisitorId>, String> {
    if query.len() > MAX_LINK_QUERY_BYTES {
        return Err(LinkError::TooLong.to_string());
    }
    let mut tokens = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "resume")
        .map(|(_, v)| v.into_owned());
    let Some(token) = tokens.next() else {
        return Ok(None);
    };
    if tokens.next().is_some() {
        return Err(LinkError::Repeated("resume").to_string());
    }
    // The mail key is in the store whether or not mail is on now; a
    // relay that never made one mailed no link.
    let key = match &app.mail {
        Some(m) => m.key().clone(),
        None => match app.store.stored_mail_key() {
            Ok(Some(k)) => crate::mail::MailKey::new(k),
            Ok(None) => return Err(crate::mail::ChatTokenError::Bad.to_string()),
            Err(e) => {
                tracing::error!(error = %e, "mail key not read");
                return Err("the relay cannot check it now".to_string());
            }
        },
    };
    let visitor = key
        .read_chat_token(site, &token, now_s)
        .map_err(|e| e.to_string())?;
    match app.store.visitor(site, &visitor) {
        Ok(Some(_)) => Ok(Some(visitor)),
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::error!(error = %e, "visitor not read");
            Err("the relay cannot check it now".to_string())
        }
    }
}

/// `template` with each `{{KEY}}` replaced in one pass (a value is never
/// read again for slots).
fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}").and_then(|j| {
            let key = &after[..j];
            slots.iter().find(|(k, _)| *k == key).map(|(_, v)| (j, *v))
        }) {
            Some((j, v)) => {
                out.push_str(v);
                rest = &after[j + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The hosted page's scripts are the relay's own (wasm needs
/// 'wasm-unsafe-eval'); its URL may hold a signed identity, so no
/// referrer and no caching. Framing stays allowed: apps may embed it.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'none'";

fn html_reply(status: StatusCode, html: String) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CONTENT_SECURITY_POLICY, PAGE_CSP)
        .body(Bytes::from(html))
        .unwrap_or_default()
}

/// A small page that says what went wrong, in English and Chinese.
fn notice(status: StatusCode, title: &str, text: &str, zh: &str) -> Reply {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>body{{font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",\
         Roboto,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;color:#1f2933;background:#f5f7fa;\
         margin:0;padding:48px 20px}}main{{max-width:520px;margin:0 auto;background:#fff;\
         border-radius:12px;padding:24px;box-shadow:0 2px 10px rgba(0,0,0,.08)}}\
         h1{{font-size:20px;margin:0 0 8px}}p{{margin:8px 0;overflow-wrap:anywhere}}\
         small{{color:#52606d}}</style></head><body><main><h1>{t}</h1><p>{x}</p>\
         <p><small>{z}</small></p><p><small>{code}</small></p></main></body></html>\n",
        t = html_escape(title),
        x = html_escape(text),
        z = html_escape(zh),
        code = status.as_u16(),
    );
    html_reply(status, html)
}

#[derive(Clone, Copy)]
enum QrFormat {
    Svg,
    Png,
}

/// Pixels per QR module in the PNG: 8 px × (29 to 41 modules + the quiet
/// zone) is about 300–400 px, sharp in print and on screen.
const QR_PNG_SCALE: u32 = 8;

/// Modules of white around the code, as the QR standard asks.
const QR_QUIET: u32 = 4;

/// GET /chat/{site}/qr.svg and qr.png — the site's chat link as a QR code,
/// with the address the caller reached the relay at (like the snippet).
async fn qr(
    site: String,
    host: Option<String>,
    app: Arc<App>,
    format: QrFormat,
) -> Result<Reply, Rejection> {
    let id = SiteId::new(&site).map_err(|_| not_found("site"))?;
    if app.store.site(&id)?.is_none() {
        return Err(not_found("site"));
    }
    let url = crate::chat_url(&base_url(host.as_deref(), app.config.listen), &id);
    let (body, kind) = match format {
        QrFormat::Svg => (qr_svg(&url)?.into_bytes(), "image/svg+xml"),
        QrFormat::Png => (qr_png(&url)?, "image/png"),
    };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, kind)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Bytes::from(body))
        .unwrap_or_default())
}

fn qr_code(url: &str) -> Result<qrcode::QrCode, Rejection> {
    qrcode::QrCode::new(url.as_bytes()).map_err(crate::reply::internal)
}

/// The link as an SVG QR code (black on white, with its quiet zone).
pub fn qr_svg(url: &str) -> Result<String, Rejection> {
    Ok(qr_code(url)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The link as a PNG QR code, greyscale, [`QR_PNG_SCALE`] px per module.
pub fn qr_png(url: &str) -> Result<Vec<u8>, Rejection> {
    let code = qr_code(url)?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let side = (modules + 2 * QR_QUIET) * QR_PNG_SCALE;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / QR_PNG_SCALE, y / QR_PNG_SCALE);
        let dark = mx >= QR_QUIET
            && my >= QR_QUIET
            && mx < modules + QR_QUIET
            && my < modules + QR_QUIET
            && colors
                .get(((my - QR_QUIET) * modules + (mx - QR_QUIET)) as usize)
                .is_some_and(|c| *c == qrcode::Color::Dark);
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(crate::reply::internal)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret";
    const NOW: u64 = 1_764_676_800;

    fn signed(fields: &[(&str, &str)]) -> String {
        let sig = auth::link_sig(SECRET, &canonical(fields));
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            q.append_pair(k, v);
        }
        q.append_pair("sig", &sig);
        q.finish()
    }

    /// The canonical string is the documented one, whatever the order of
    /// the parameters in the URL.
    #[test]
    fn the_canonical_string_is_fixed_order_key_value_lines() {
        let c = canonical(&[("ts", "1"), ("name", "Li Lei"), ("uid", "42")]);
        assert_eq!(c, "uid=42\nname=Li Lei\nts=1");
        // README's worked example.
        let fields = [
            ("uid", "42"),
            ("name", "Li Lei"),
            ("email", "li@example.com"),
            ("ts", "1764676800"),
        ];
        assert_eq!(
            canonical(&fields),
            "uid=42\nname=Li Lei\nemail=li@example.com\nts=1764676800"
        );
        assert_eq!(
            auth::link_sig("demo-secret", &canonical(&fields)),
            "df1fab1ee909b83dff185046c867db602c5f38b513ecbc0cb4a9f0ac563ed0a3"
        );
    }

    #[test]
    fn a_signed_link_is_accepted_and_a_bare_one_is_anonymous() {
        let q = signed(&[("uid", "42"), ("name", "Li Lei"), ("ts", &NOW.to_string())]);
        let u = verify_link(&q, SECRET, NOW).expect("valid").expect("user");
        assert_eq!(u.uid, "42");
        assert_eq!(u.name.as_deref(), Some("Li Lei"));
        assert_eq!(u.email, None);
        assert_eq!(verify_link("", SECRET, NOW), Ok(None));
        assert_eq!(
            verify_link("utm_source=qr&kefu_fallback=1", SECRET, NOW),
            Ok(None)
        );
        // Untouched signed fields, plus an unsigned tracking tag: fine.
        assert!(verify_link(&format!("{q}&utm=mail"), SECRET, NOW).is_ok());
    }

    #[test]
    fn wrong_stale_future_tampered_and_oversized_links_are_refused() {
        let ts = NOW.to_string();
        let q = signed(&[("uid", "42"), ("email", "a@b.example"), ("ts", &ts)]);
        let check = |q: &str| verify_link(q, SECRET, NOW);
        assert_eq!(verify_link(&q, "other", NOW), Err(LinkError::BadSig));
        assert_eq!(
            check(&q.replace("uid=42", "uid=43")),
            Err(LinkError::BadSig)
        );
        assert_eq!(check(&format!("{q}&name=Eve")), Err(LinkError::BadSig));
        assert_eq!(
            check(&format!("{q}&uid=43")),
            Err(LinkError::Repeated("uid"))
        );
        assert_eq!(check("uid=42&sig=00"), Err(LinkError::Incomplete));
        let old = (NOW - SIGNED_LINK_MAX_AGE_S - 1).to_string();
        assert_eq!(
            check(&signed(&[("uid", "1"), ("ts", &old)])),
            Err(LinkError::Expired)
        );
        let edge = (NOW - SIGNED_LINK_MAX_AGE_S).to_string();
        assert!(check(&signed(&[("uid", "1"), ("ts", &edge)])).is_ok());
        let ahead = (NOW + SIGNED_LINK_MAX_AHEAD_S + 1).to_string();
        assert_eq!(
            check(&signed(&[("uid", "1"), ("ts", &ahead)])),
            Err(LinkError::Ahead)
        );
        assert_eq!(
            check(&signed(&[("uid", "1"), ("ts", "soon")])),
            Err(LinkError::BadTs)
        );
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        let too_long = signed(&[("uid", "1"), ("name", &long), ("ts", &ts)]);
        assert!(matches!(check(&too_long), Err(LinkError::Field(_))));
        let huge = format!("x={}", "y".repeat(MAX_LINK_QUERY_BYTES));
        assert_eq!(check(&huge), Err(LinkError::TooLong));
    }

    #[test]
    fn slots_are_filled_once() {
        let out = fill(
            "<t>{{NAME}}</t>{{X}}{{SITE}}",
            &[("NAME", "{{SITE}}"), ("SITE", "demo")],
        );
        assert_eq!(out, "<t>{{SITE}}</t>{{X}}demo");
    }
}
