//! The HTTP side of attachments: credentials (a visitor's token or an
//! agent's), the upload route (checks before the body, the body read to its
//! end, then sniffed, thumbnailed and stored) and the download route (access
//! checked on every request). Visitors call both from host pages, so both
//! answer CORS — on preflights and on answers alike, errors included.

use super::kind::{clean_name, file_id, sha256_hex, sniff, Sniffed};
use super::thumb::{thumbnail, ThumbError};
use crate::reply::{internal, json, recover, refuse, with_app, Reply};
use crate::store::{AddFile, FileRecord, SiteRecord, StoreError};
use crate::{auth, App};
use bytes::Bytes;
use protocol::limits::*;
use protocol::{ErrorCode, FileClass, FileId, Side, SiteId, VisitorId};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::{Filter, Rejection};

/// The CSP on every file response: no script, no plugins, no same-origin
/// privileges even if a browser renders the bytes as a document.
pub const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

#[derive(Deserialize)]
pub(super) struct Creds {
    /// A visitor's site and id (with their token); absent: an agent.
    site: Option<String>,
    visitor: Option<String>,
    /// The visitor token, or an agent token where no header can be sent
    /// (`<img src>`, a download link).
    token: Option<String>,
    /// Upload only: the file's name.
    name: Option<String>,
}

/// Who is asking.
pub(super) enum Who {
    Agent(crate::store::AgentRecord),
    Visitor { site: SiteId, visitor: VisitorId },
}

pub(super) fn who(app: &App, q: &Creds, authorization: Option<&str>) -> Result<Who, Rejection> {
    let token = q
        .token
        .as_deref()
        .or(auth::bearer(authorization))
        .ok_or_else(|| {
            refuse(
            ErrorCode::Unauthorized,
            "credentials required: ?site=&visitor=&token= or Authorization: Bearer <agent token>",
        )
        })?;
    if let Some(visitor) = &q.visitor {
        let bad = || refuse(ErrorCode::BadToken, "bad visitor token");
        let site = q
            .site
            .as_deref()
            .and_then(|s| SiteId::new(s).ok())
            .ok_or_else(|| refuse(ErrorCode::BadRequest, "site is missing or not an id"))?;
        let visitor = VisitorId::new(visitor.as_str()).map_err(|_| bad())?;
        if !app.auth.check_visitor_token(&site, &visitor, token) {
            return Err(bad());
        }
        return Ok(Who::Visitor { site, visitor });
    }
    match auth::agent_for_token(&app.store, token).map_err(internal)? {
        Some(a) => Ok(Who::Agent(a)),
        None => Err(refuse(
            ErrorCode::Unauthorized,
            "unknown, expired or revoked token",
        )),
    }
}

/// Whether `who` may read `f`: agents of its site; the visitor who sent it
/// or in whose conversation it was sent.
fn may_read(app: &App, who: &Who, f: &FileRecord) -> Result<bool, StoreError> {
    match who {
        Who::Agent(a) => Ok(a.sites.contains(&f.site)),
        Who::Visitor { site, visitor } => {
            if site != &f.site {
                return Ok(false);
            }
            if f.side == Side::Visitor && f.owner == visitor.as_str() {
                return Ok(true);
            }
            for conv in app.store.file_convs(&f.id)? {
                if let Some(c) = app.store.conv(&conv)? {
                    if &c.site == site && &c.visitor == visitor {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        }
    }
}

/// POST /v1/files, GET /v1/files/{file}, GET /v1/files/{file}/thumb
///
/// CORS for any origin, on preflights and answers alike, for what a host
/// page's widget sends (a body with its own Content-Type; credentials in
/// the query, never in a header). Errors are answered inside CORS, so a
/// widget on another origin can read why an upload was refused.
pub fn routes(app: Arc<App>) -> BoxedFilter<(warp::reply::Response,)> {
    let cors = warp::cors()
        .allow_any_origin()
        .allow_methods(["GET", "POST"])
        .allow_headers(["content-type"])
        .max_age(600);
    let upload = warp::path::end()
        .and(warp::post())
        .and(upload_request(&app))
        .and(with_app(app.clone()))
        .and(warp::body::stream())
        .and_then(upload);
    let download = warp::path!(String)
        .map(|id| (id, false))
        .untuple_one()
        .or(warp::path!(String / "thumb")
            .map(|id| (id, true))
            .untuple_one())
        .unify()
        .and(warp::get().or(warp::head()).unify())
        .and(warp::query::<Creds>())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("if-none-match"))
        .and(with_app(app))
        .and_then(download);
    // The path first: only these paths answer preflights.
    warp::path("v1")
        .and(warp::path("files"))
        .and(
            upload
                .or(download)
                .unify()
                .recover(recover)
                .unify()
                .with(cors),
        )
        .map(warp::Reply::into_response)
        .boxed()
}

/// An upload's query and headers.
fn upload_request(app: &App) -> impl Filter<Extract = (UploadRequest,), Error = Rejection> + Clone {
    warp::query::<Creds>()
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(crate::privacy::client_addr(app.trusted_proxies.clone()))
        .and(warp::header::optional::<String>("host"))
        .map(
            |creds, authorization, origin, length, ip, host| UploadRequest {
                creds,
                authorization,
                origin,
                length,
                ip,
                host,
            },
        )
}

/// An upload's query and headers.
struct UploadRequest {
    creds: Creds,
    authorization: Option<String>,
    origin: Option<String>,
    /// The declared Content-Length.
    length: Option<u64>,
    /// The client's address (see [`crate::privacy::client_ip`]).
    ip: Option<std::net::IpAddr>,
    /// The relay's own origin (the hosted chat page) may always upload.
    host: Option<String>,
}

/// Everything checked before the body is read.
struct Uploader {
    app: Arc<App>,
    site: SiteId,
    side: Side,
    owner: String,
    name: String,
    allowed: Vec<FileClass>,
}

async fn check_upload(req: UploadRequest, app: Arc<App>) -> Result<Uploader, Rejection> {
    let UploadRequest {
        creds: q,
        authorization,
        origin,
        ip,
        host,
        ..
    } = req;
    let who = who(&app, &q, authorization.as_deref())?;
    let (site, side, owner) = match &who {
        Who::Visitor { site, visitor } => {
            // A blocked visitor's upload stores nothing (not even its bytes).
            if app.blocks.blocked(&app.store, site, visitor, ip) {
                return Err(refuse(ErrorCode::Blocked, crate::privacy::BLOCKED_MESSAGE));
            }
            let over = app
                .limiter
                .hit(
                    &format!("upload:{site}:{visitor}"),
                    app.config.uploads_per_visitor,
                )
                .is_err()
                || ip.is_some_and(|a| {
                    app.limiter
                        .hit(&format!("upload-ip:{a}"), app.config.uploads_per_ip)
                        .is_err()
                });
            if over {
                return Err(refuse(
                    ErrorCode::RateLimited,
                    "too many uploads; try again in a minute",
                ));
            }
            (site.clone(), Side::Visitor, visitor.to_string())
        }
        Who::Agent(a) => {
            let site = q
                .site
                .as_deref()
                .and_then(|s| SiteId::new(s).ok())
                .ok_or_else(|| refuse(ErrorCode::BadRequest, "site is missing or not an id"))?;
            if !a.sites.contains(&site) {
                return Err(refuse(
                    ErrorCode::Forbidden,
                    format!("not an agent of site {site}"),
                ));
            }
            (site, Side::Agent, a.id.to_string())
        }
    };
    let rec = app
        .store
        .site(&site)
        .map_err(internal)?
        .ok_or_else(|| refuse(ErrorCode::UnknownSite, format!("no site {site}")))?;
    let origin_ok =
        crate::visitor_origin_allowed(&rec.allowed_origins, origin.as_deref(), host.as_deref());
    if side == Side::Visitor && !origin_ok {
        app.refused.refuse(&site, origin.as_deref(), "upload");
        return Err(refuse(
            ErrorCode::OriginNotAllowed,
            "this origin may not use the site's widget",
        ));
    }
    let allowed = rec.widget.effective_file_types(&app.config.file_types);
    if allowed.is_empty() {
        return Err(refuse(
            ErrorCode::Forbidden,
            "attachments are turned off for this site",
        ));
    }
    let name = clean_name(q.name.as_deref().unwrap_or(""));
    Ok(Uploader {
        app,
        site,
        side,
        owner,
        name,
        allowed,
    })
}

fn too_large(max: u64) -> Rejection {
    refuse(
        ErrorCode::TooLarge,
        format!("files are at most {max} bytes"),
    )
}

/// An avatar upload's body (`PUT /v1/api/me/avatar`), read to its end
/// before a refusal as uploads are (see `read_body`), so a picture over
/// [`MAX_AVATAR_BYTES`](protocol::limits::MAX_AVATAR_BYTES) gets its 413
/// rather than a reset connection.
pub fn avatar_body() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::body::stream().and_then(|body| async move {
        let max = protocol::limits::MAX_AVATAR_BYTES;
        read_body(body, max, max.saturating_mul(2))
            .await?
            .ok_or_else(|| too_large(max))
    })
}

/// Reads an upload's body: `Some(bytes)` when it holds at most `keep`
/// bytes, `None` when it is bigger (read to its end and dropped, up to
/// `cap`). Reading to the end before answering matters: a server that
/// answers early and closes with unread data makes the kernel reset the
/// connection, and the client may never see the refusal.
async fn read_body<B: bytes::Buf>(
    body: impl futures_util::Stream<Item = Result<B, warp::Error>>,
    keep: u64,
    cap: u64,
) -> Result<Option<Bytes>, Rejection> {
    use bytes::BufMut;
    use futures_util::StreamExt;
    let mut body = std::pin::pin!(body);
    let mut buf = bytes::BytesMut::new();
    let mut total = 0u64;
    let read = async {
        while let Some(chunk) = body.next().await {
            let mut chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "upload body cut off");
                refuse(ErrorCode::BadRequest, "the upload was cut off")
            })?;
            total += chunk.remaining() as u64;
            if total > cap {
                return Err(refuse(
                    ErrorCode::TooLarge,
                    format!("the body is over {cap} bytes"),
                ));
            }
            if total <= keep {
                buf.put(&mut chunk);
            } else {
                buf = bytes::BytesMut::new();
                chunk.advance(chunk.remaining());
            }
        }
        Ok(())
    };
    tokio::time::timeout(std::time::Duration::from_millis(UPLOAD_TIMEOUT_MS), read)
        .await
        .map_err(|_| refuse(ErrorCode::BadRequest, "the upload was too slow"))??;
    Ok((total <= keep).then(|| buf.freeze()))
}

async fn upload<B: bytes::Buf>(
    req: UploadRequest,
    app: Arc<App>,
    body: impl futures_util::Stream<Item = Result<B, warp::Error>>,
) -> Result<Reply, Rejection> {
    let metrics = app.metrics.clone();
    let r = receive(req, app, body).await;
    if r.is_err() {
        metrics.uploads_refused.fetch_add(1, Ordering::Relaxed);
    }
    r
}

/// Every refusal waits for the body (see `read_body`); only a body that
/// passed the checks is kept.
async fn receive<B: bytes::Buf>(
    req: UploadRequest,
    app: Arc<App>,
    body: impl futures_util::Stream<Item = Result<B, warp::Error>>,
) -> Result<Reply, Rejection> {
    let max = app.config.max_file_bytes;
    // Past this, a body is not worth reading to its end to deliver the
    // refusal: answer at once.
    let cap = max.saturating_mul(2).max(max.saturating_add(1 << 20));
    if req.length.is_some_and(|l| l > cap) {
        return Err(too_large(max));
    }
    let checked = check_upload(req, app).await;
    let keep = if checked.is_ok() { max } else { 0 };
    let body = read_body(body, keep, cap).await;
    let u = checked?;
    let body = body?.ok_or_else(|| too_large(max))?;
    if body.is_empty() {
        return Err(refuse(ErrorCode::BadRequest, "the file is empty"));
    }
    let kind = sniff(&body).ok_or_else(|| {
        refuse(
            ErrorCode::UnsupportedType,
            "this kind of file is not accepted (images, PDF, office documents and text are)",
        )
    })?;
    if !u.allowed.contains(&kind.class) {
        return Err(refuse(
            ErrorCode::UnsupportedType,
            format!(
                "{} files are not accepted on this site (allowed: {})",
                kind.class.as_str(),
                u.allowed
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    // Hashing, decoding and fsyncs block: off the async workers.
    let (status, rec) = tokio::task::spawn_blocking(move || store_upload(&u, &body, kind))
        .await
        .map_err(internal)??;
    Ok(json(status, &rec.attachment()))
}

/// Stores bytes a bridge fetched for a visitor (a WeChat follower's
/// image) as that visitor's upload: sniffed, checked against the site's
/// file types and the visitor's quota, thumbnailed — as an upload is.
/// Blocking (hashing, decoding, fsync): call it off the async workers.
pub(crate) fn store_fetched(
    app: Arc<App>,
    site: &SiteRecord,
    visitor: &str,
    name: &str,
    body: &[u8],
) -> Result<FileRecord, Rejection> {
    let allowed = site.widget.effective_file_types(&app.config.file_types);
    let kind = sniff(body)
        .filter(|k| allowed.contains(&k.class))
        .ok_or_else(|| refuse(ErrorCode::UnsupportedType, "not a file this site accepts"))?;
    let u = Uploader {
        app,
        site: site.id.clone(),
        side: Side::Visitor,
        owner: visitor.to_string(),
        name: clean_name(name),
        allowed,
    };
    store_upload(&u, body, kind).map(|(_, rec)| rec)
}

/// Stores a file that came attached to a mail as the upload of its sender
/// (`side`, `owner`: the visitor or the agent the reply token names),
/// checked as an upload is: the size limit, the site's file types, the
/// visitor's quota; thumbnailed. Blocking: call it off the async workers.
/// The error says why a file was not stored.
pub(crate) fn store_mailed(
    app: Arc<App>,
    site: &SiteRecord,
    side: Side,
    owner: &str,
    name: &str,
    body: &[u8],
) -> Result<FileRecord, String> {
    if body.len() as u64 > app.config.max_file_bytes {
        return Err(format!(
            "{} bytes; files are at most {}",
            body.len(),
            app.config.max_file_bytes
        ));
    }
    let allowed = site.widget.effective_file_types(&app.config.file_types);
    let kind = sniff(body)
        .filter(|k| allowed.contains(&k.class))
        .ok_or_else(|| "not a file this site accepts".to_string())?;
    let u = Uploader {
        app,
        site: site.id.clone(),
        side,
        owner: owner.to_string(),
        name: clean_name(name),
        allowed,
    };
    store_upload(&u, body, kind)
        .map(|(_, rec)| rec)
        .map_err(|r| match r.find::<crate::reply::Problem>() {
            Some(p) => p.0.message.clone(),
            None => format!("{r:?}"),
        })
}

fn store_upload(
    u: &Uploader,
    body: &[u8],
    kind: Sniffed,
) -> Result<(StatusCode, FileRecord), Rejection> {
    let app = &u.app;
    let sha = sha256_hex(body);
    let id = file_id(&u.site, u.side, &u.owner, &sha);
    if let Some(existing) = app.store.file(&id).map_err(internal)? {
        // The same bytes again (a retry): stored once, same answer.
        return Ok((StatusCode::OK, existing));
    }
    let quota = (u.side == Side::Visitor).then_some(app.config.visitor_upload_quota);
    let over_quota = |used: u64| {
        refuse(
            ErrorCode::QuotaExceeded,
            format!(
                "upload quota used up ({used} of {} bytes)",
                app.config.visitor_upload_quota
            ),
        )
    };
    // Checked here to spare the work below, and again (atomically) when
    // the record is added.
    if let Some(max) = quota {
        let used = app.store.quota_used(&u.site, &u.owner).map_err(internal)?;
        if used + body.len() as u64 > max {
            return Err(over_quota(used));
        }
    }
    let (thumb, width, height) = if kind.inline {
        match thumbnail(body, app.config.max_image_pixels) {
            Ok((t, mime, w, h)) => (Some((t, mime)), Some(w), Some(h)),
            Err(ThumbError::TooManyPixels { width, height }) => {
                return Err(refuse(
                    ErrorCode::TooLarge,
                    format!(
                        "the image is {width}×{height} pixels; at most {} are accepted",
                        app.config.max_image_pixels
                    ),
                ))
            }
            Err(ThumbError::Invalid(e)) => {
                return Err(refuse(
                    ErrorCode::UnsupportedType,
                    format!("the image cannot be read: {e}"),
                ))
            }
        }
    } else {
        (None, None, None)
    };
    // Blobs first, idempotent (same name, same bytes): a record never
    // points at a missing file.
    app.files.put(&sha, false, body).map_err(internal)?;
    if let Some((t, _)) = &thumb {
        app.files.put(&sha, true, t).map_err(internal)?;
    }
    let rec = FileRecord {
        id,
        sha256: sha,
        site: u.site.clone(),
        side: u.side,
        owner: u.owner.clone(),
        name: u.name.clone(),
        size: body.len() as u64,
        mime: kind.mime.to_string(),
        class: kind.class,
        thumb: thumb.map(|(_, m)| m.to_string()),
        width,
        height,
        created: crate::now_ms(),
    };
    match app.store.add_file(&rec, quota).map_err(internal)? {
        AddFile::New => {}
        AddFile::Existing(existing) => return Ok((StatusCode::OK, *existing)),
        AddFile::OverQuota { used } => return Err(over_quota(used)),
    }
    app.store.sync().map_err(internal)?;
    app.metrics.uploads.fetch_add(1, Ordering::Relaxed);
    app.metrics
        .upload_bytes
        .fetch_add(rec.size, Ordering::Relaxed);
    tracing::debug!(file = %rec.id, size = rec.size, mime = %rec.mime, "upload stored");
    Ok((StatusCode::CREATED, rec))
}

/// `filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266).
fn disposition(inline: bool, name: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const ATTR: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        utf8_percent_encode(name, ATTR)
    )
}

async fn download(
    id: String,
    thumb: bool,
    q: Creds,
    authorization: Option<String>,
    if_none_match: Option<String>,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    let who = who(&app, &q, authorization.as_deref())?;
    let id = FileId::new(id).map_err(|_| refuse(ErrorCode::NotFound, "no such file"))?;
    let rec = app
        .store
        .file(&id)
        .map_err(internal)?
        .ok_or_else(|| refuse(ErrorCode::NotFound, "no such file"))?;
    if !may_read(&app, &who, &rec).map_err(internal)? {
        return Err(refuse(
            ErrorCode::Forbidden,
            "this file belongs to a conversation you are not part of",
        ));
    }
    let (mime, inline) = match (&rec.thumb, thumb) {
        (Some(m), true) => (m.clone(), true),
        (None, true) => return Err(refuse(ErrorCode::NotFound, "this file has no thumbnail")),
        (t, false) => (rec.mime.clone(), t.is_some()),
    };
    let etag = format!("\"{}{}\"", rec.sha256, if thumb { "-t" } else { "" });
    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CONTENT_DISPOSITION, disposition(inline, &rec.name))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, FILE_CSP)
        // The browser may keep it, but asks again each time: access is
        // checked on every download.
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::ETAG, &etag)
        .header(header::REFERRER_POLICY, "no-referrer")
        .header("cross-origin-resource-policy", "cross-origin");
    if if_none_match.as_deref() == Some(etag.as_str()) {
        resp = resp.status(StatusCode::NOT_MODIFIED);
        return resp.body(Bytes::new()).map_err(internal);
    }
    let bytes = tokio::fs::read(app.files.path(&rec.sha256, thumb))
        .await
        .map_err(internal)?;
    let mut r = resp.body(Bytes::from(bytes)).map_err(internal)?;
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("authorization"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::clean_name;

    #[test]
    fn dispositions_carry_ascii_and_utf8_names() {
        assert_eq!(
            disposition(false, &clean_name("résumé \"x\".pdf")),
            "attachment; filename=\"r_sum_ x.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20x.pdf"
        );
    }
}
