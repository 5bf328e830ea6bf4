//! Attachments: `POST /v1/files` (upload), `GET /v1/files/{id}` and
//! `GET /v1/files/{id}/thumb` (download).
//!
//! - Bytes are stored once per content under `<data_dir>/files/`, named by
//!   their SHA-256 ([`Blobs`]); the record (who, which site, name, sniffed
//!   type) lives in sled ([`FileRecord`]). The file id hashes site, uploader
//!   and content, so a retried upload of the same bytes is the same file.
//! - The type is sniffed from the bytes ([`sniff`]); the client's
//!   Content-Type and file name never decide it.
//! - Raster images get a thumbnail made here, after their header has been
//!   checked against the pixel limit, so a decompression bomb is refused
//!   before anything is decoded.
//! - Nothing is served in a way that can run script on the relay's origin:
//!   only PNG/JPEG/GIF/WebP are `inline`; everything else (SVG, text, PDF,
//!   office files) is `attachment`; every response carries
//!   `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
//!   default-src 'none'; sandbox`.
//! - Every download checks the reader: an agent of the file's site, or the
//!   visitor who uploaded it or whose conversation it was sent in.

use crate::http::Problem;
use crate::store::{AddFile, FileRecord, StoreError};
use crate::{auth, App};
use bytes::Bytes;
use protocol::limits::*;
use protocol::{ErrorCode, FileClass, FileId, Side, SiteId, VisitorId};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::{Filter, Rejection};

type Reply = Response<Bytes>;

/// The CSP on every file response: no script, no plugins, no same-origin
/// privileges even if a browser renders the bytes as a document.
pub const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// What the bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: &'static str,
    pub class: FileClass,
    /// A raster image shown inline (with a thumbnail).
    pub inline: bool,
}

const OFFICE: &[&str] = &[
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
];

/// The type of `bytes`, from their content only; `None`: not a kind kefu
/// stores (executables, archives, media, unknown binary).
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let kind = infer::get(bytes).map(|t| t.mime_type());
    let known = |mime: &'static str, class: FileClass, inline: bool| {
        Some(Sniffed {
            mime,
            class,
            inline,
        })
    };
    match kind {
        Some(m @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp")) => {
            known(m, FileClass::Image, true)
        }
        Some("application/pdf") => known("application/pdf", FileClass::Pdf, false),
        Some(m) if OFFICE.contains(&m) => {
            let m = OFFICE.iter().find(|o| **o == m).copied().unwrap_or(m);
            known(m, FileClass::Office, false)
        }
        // Markup and scripts are text to us; anything else infer knows
        // (zip, exe, mp4, …) is not a type we take.
        None | Some("text/html" | "text/xml" | "text/x-shellscript") => text(bytes),
        Some(_) => None,
    }
}

/// UTF-8 text without binary control characters: plain text, or SVG.
fn text(bytes: &[u8]) -> Option<Sniffed> {
    let s = std::str::from_utf8(bytes).ok()?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    if s.is_empty()
        || s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
    {
        return None;
    }
    let svg = s
        .get(..s.len().min(64 * 1024))
        .unwrap_or(s)
        .to_ascii_lowercase()
        .contains("<svg");
    Some(if svg {
        Sniffed {
            mime: "image/svg+xml",
            class: FileClass::Image,
            inline: false,
        }
    } else {
        Sniffed {
            mime: "text/plain; charset=utf-8",
            class: FileClass::Text,
            inline: false,
        }
    })
}

/// Why an image got no thumbnail.
#[derive(Debug, PartialEq, Eq)]
pub enum ThumbError {
    /// Declares more pixels than allowed (a decompression bomb, or simply
    /// too big).
    TooManyPixels { width: u32, height: u32 },
    /// Not a decodable image after all.
    Invalid(String),
}

/// A thumbnail of at most [`THUMB_MAX_SIDE`] per side (JPEG, or PNG when
/// the image has transparency) and the image's own size. The header is
/// read first: more than `max_pixels` is refused before decoding.
pub fn thumbnail(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(Vec<u8>, &'static str, u32, u32), ThumbError> {
    use image::{ImageFormat, ImageReader, Limits};
    use std::io::Cursor;
    let invalid = |e: image::ImageError| ThumbError::Invalid(e.to_string());
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>, ThumbError> {
        let mut r = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ThumbError::Invalid(e.to_string()))?;
        let mut limits = Limits::default();
        limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(16 << 20));
        r.limits(limits);
        Ok(r)
    };
    let (width, height) = reader()?.into_dimensions().map_err(invalid)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ThumbError::TooManyPixels { width, height });
    }
    let img = reader()?.decode().map_err(invalid)?;
    let thumb = img.thumbnail(THUMB_MAX_SIDE, THUMB_MAX_SIDE);
    let mut out = Cursor::new(Vec::new());
    let mime = if thumb.color().has_alpha() {
        thumb
            .write_to(&mut out, ImageFormat::Png)
            .map_err(invalid)?;
        "image/png"
    } else {
        image::DynamicImage::ImageRgb8(thumb.to_rgb8())
            .write_to(&mut out, ImageFormat::Jpeg)
            .map_err(invalid)?;
        "image/jpeg"
    };
    Ok((out.into_inner(), mime, width, height))
}

/// A file name safe to store and to put in a header: the last path
/// component, no control characters or quotes, at most
/// [`MAX_FILE_NAME_BYTES`] (cut before the extension).
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut s: String = base
        .chars()
        // Bidi overrides and isolates would let "invoice\u{202e}fdp.exe"
        // display as "invoiceexe.pdf".
        .filter(|c| {
            !c.is_control() && !matches!(c, '"' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    s = s.trim().trim_start_matches('.').trim().to_string();
    if s.len() > MAX_FILE_NAME_BYTES {
        let ext = s
            .rfind('.')
            .map(|i| s[i..].to_string())
            .filter(|e| e.len() <= 16)
            .unwrap_or_default();
        let mut end = MAX_FILE_NAME_BYTES - ext.len();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s = format!("{}{ext}", &s[..end]);
    }
    if s.is_empty() {
        "file".into()
    } else {
        s
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of `sha256` uploaded by `owner` (`side`) for `site`.
pub fn file_id(site: &SiteId, side: Side, owner: &str, sha256: &str) -> FileId {
    let side = match side {
        Side::Visitor => "v",
        _ => "a",
    };
    let mut h = Sha256::new();
    for part in [site.as_str(), side, owner, sha256] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let full = hex(&h.finalize());
    FileId::new(&full[..32]).unwrap_or_else(|_| unreachable!("hex is a valid id"))
}

/// Content-addressed blobs on disk: `<root>/<sha[..2]>/<sha>` and
/// `<sha>.thumb`, written to `<root>/tmp` first, fsynced, then renamed into
/// place, so a blob either is whole or is not there. Two uploads of the
/// same bytes at once both write it; the rename makes that harmless.
pub struct Blobs {
    root: PathBuf,
}

impl Blobs {
    pub fn open(root: &Path) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(root.join("tmp"))?;
        // Leftovers of uploads cut short by a crash.
        for e in std::fs::read_dir(root.join("tmp"))?.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
        Ok(Blobs {
            root: root.to_path_buf(),
        })
    }

    pub fn path(&self, sha256: &str, thumb: bool) -> PathBuf {
        let dir = self.root.join(sha256.get(..2).unwrap_or("00"));
        dir.join(if thumb {
            format!("{sha256}.thumb")
        } else {
            sha256.to_string()
        })
    }

    /// Writes `bytes` as the blob (or its thumbnail) unless it exists.
    fn put(&self, sha256: &str, thumb: bool, bytes: &[u8]) -> std::io::Result<()> {
        let dest = self.path(sha256, thumb);
        if dest.exists() {
            return Ok(());
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let tmp = self.root.join("tmp").join(ulid::Ulid::new().to_string());
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &dest)?;
        std::fs::File::open(&dir)?.sync_all()
    }
}

// --- HTTP ----------------------------------------------------------------

#[derive(Deserialize)]
struct Creds {
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
enum Who {
    Agent(crate::store::AgentRecord),
    Visitor { site: SiteId, visitor: VisitorId },
}

fn reject(code: ErrorCode, msg: impl Into<String>) -> Rejection {
    Problem::reject(code, msg)
}

fn internal(e: impl std::fmt::Display) -> Rejection {
    tracing::error!(error = %e, "files: internal error");
    reject(ErrorCode::Internal, "internal error")
}

fn who(app: &App, q: &Creds, authorization: Option<&str>) -> Result<Who, Rejection> {
    let token = q
        .token
        .as_deref()
        .or(auth::bearer(authorization))
        .ok_or_else(|| {
            reject(
            ErrorCode::Unauthorized,
            "credentials required: ?site=&visitor=&token= or Authorization: Bearer <agent token>",
        )
        })?;
    if let Some(visitor) = &q.visitor {
        let bad = || reject(ErrorCode::BadToken, "bad visitor token");
        let site = q
            .site
            .as_deref()
            .and_then(|s| SiteId::new(s).ok())
            .ok_or_else(|| reject(ErrorCode::BadRequest, "site is missing or not an id"))?;
        let visitor = VisitorId::new(visitor.as_str()).map_err(|_| bad())?;
        if !app.auth.check_visitor_token(&site, &visitor, token) {
            return Err(bad());
        }
        return Ok(Who::Visitor { site, visitor });
    }
    match auth::agent_for_token(&app.store, token).map_err(internal)? {
        Some(a) => Ok(Who::Agent(a)),
        None => Err(reject(
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

pub fn routes(app: Arc<App>) -> BoxedFilter<(warp::reply::Response,)> {
    let cors = warp::cors()
        .allow_any_origin()
        .allow_methods(["GET", "POST", "OPTIONS"])
        .allow_headers(["content-type", "authorization"])
        .max_age(600);
    let with_app = || crate::http::with_app(app.clone());
    let upload = warp::path::end()
        .and(warp::post())
        .and(warp::query::<Creds>())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::addr::remote())
        .map(|creds, authorization, origin, length, addr| UploadRequest {
            creds,
            authorization,
            origin,
            length,
            addr,
        })
        .and(with_app())
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
        .and(with_app())
        .and_then(download);
    // Errors are answered here, inside CORS, so a widget on another
    // origin can read why an upload was refused.
    warp::path("v1")
        .and(warp::path("files"))
        .and(
            upload
                .or(download)
                .unify()
                .recover(crate::http::recover)
                .unify(),
        )
        .with(cors)
        .map(warp::Reply::into_response)
        .boxed()
}

/// An upload's query and headers.
struct UploadRequest {
    creds: Creds,
    authorization: Option<String>,
    origin: Option<String>,
    /// The declared Content-Length.
    length: Option<u64>,
    addr: Option<SocketAddr>,
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
        addr,
        ..
    } = req;
    let who = who(&app, &q, authorization.as_deref())?;
    let (site, side, owner) = match &who {
        Who::Visitor { site, visitor } => {
            let over = app
                .limiter
                .hit(
                    &format!("upload:{site}:{visitor}"),
                    app.config.uploads_per_visitor,
                )
                .is_err()
                || addr.is_some_and(|a| {
                    app.limiter
                        .hit(&format!("upload-ip:{}", a.ip()), app.config.uploads_per_ip)
                        .is_err()
                });
            if over {
                return Err(reject(
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
                .ok_or_else(|| reject(ErrorCode::BadRequest, "site is missing or not an id"))?;
            if !a.sites.contains(&site) {
                return Err(reject(
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
        .ok_or_else(|| reject(ErrorCode::UnknownSite, format!("no site {site}")))?;
    if side == Side::Visitor && !crate::origin_allowed(&rec.allowed_origins, origin.as_deref()) {
        return Err(reject(
            ErrorCode::OriginNotAllowed,
            "this origin may not use the site's widget",
        ));
    }
    let allowed = rec.widget.effective_file_types(&app.config.file_types);
    if allowed.is_empty() {
        return Err(reject(
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
    reject(
        ErrorCode::TooLarge,
        format!("files are at most {max} bytes"),
    )
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
                reject(ErrorCode::BadRequest, "the upload was cut off")
            })?;
            total += chunk.remaining() as u64;
            if total > cap {
                return Err(reject(
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
        .map_err(|_| reject(ErrorCode::BadRequest, "the upload was too slow"))??;
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
        return Err(reject(ErrorCode::BadRequest, "the file is empty"));
    }
    let kind = sniff(&body).ok_or_else(|| {
        reject(
            ErrorCode::UnsupportedType,
            "this kind of file is not accepted (images, PDF, office documents and text are)",
        )
    })?;
    if !u.allowed.contains(&kind.class) {
        return Err(reject(
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
    Ok(crate::api::json(status, &rec.attachment()))
}

fn store_upload(
    u: &Uploader,
    body: &[u8],
    kind: Sniffed,
) -> Result<(StatusCode, FileRecord), Rejection> {
    let app = &u.app;
    let sha = hex(&Sha256::digest(body));
    let id = file_id(&u.site, u.side, &u.owner, &sha);
    if let Some(existing) = app.store.file(&id).map_err(internal)? {
        // The same bytes again (a retry): stored once, same answer.
        return Ok((StatusCode::OK, existing));
    }
    let quota = (u.side == Side::Visitor).then_some(app.config.visitor_upload_quota);
    let over_quota = |used: u64| {
        reject(
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
                return Err(reject(
                    ErrorCode::TooLarge,
                    format!(
                        "the image is {width}×{height} pixels; at most {} are accepted",
                        app.config.max_image_pixels
                    ),
                ))
            }
            Err(ThumbError::Invalid(e)) => {
                return Err(reject(
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
    let id = FileId::new(id).map_err(|_| reject(ErrorCode::NotFound, "no such file"))?;
    let rec = app
        .store
        .file(&id)
        .map_err(internal)?
        .ok_or_else(|| reject(ErrorCode::NotFound, "no such file"))?;
    if !may_read(&app, &who, &rec).map_err(internal)? {
        return Err(reject(
            ErrorCode::Forbidden,
            "this file belongs to a conversation you are not part of",
        ));
    }
    let (mime, inline) = match (&rec.thumb, thumb) {
        (Some(m), true) => (m.clone(), true),
        (None, true) => return Err(reject(ErrorCode::NotFound, "this file has no thumbnail")),
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

    #[test]
    fn sniffs_from_bytes_not_names() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png).map(|s| s.mime), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.4\n").map(|s| s.class), Some(FileClass::Pdf));
        assert_eq!(
            sniff(b"hello\nworld\n").map(|s| s.class),
            Some(FileClass::Text)
        );
        let svg = sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
        assert_eq!(svg.as_ref().map(|s| s.mime), Some("image/svg+xml"));
        assert_eq!(svg.map(|s| s.inline), Some(false));
        // An ELF binary, a zip archive, random binary: refused.
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\0\0"), None);
        assert_eq!(sniff(&[0u8, 1, 2, 3, 200, 201]), None);
    }

    #[test]
    fn names_lose_paths_controls_and_quotes() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\a\"b\n.pdf"), "ab.pdf");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name("..."), "file");
        assert_eq!(clean_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        let long = format!("{}.pdf", "é".repeat(300));
        let c = clean_name(&long);
        assert!(c.len() <= MAX_FILE_NAME_BYTES && c.ends_with(".pdf"), "{c}");
        assert_eq!(
            disposition(false, &clean_name("résumé \"x\".pdf")),
            "attachment; filename=\"r_sum_ x.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20x.pdf"
        );
    }

    #[test]
    fn ids_depend_on_site_uploader_and_content() {
        let s = SiteId::new("demo").expect("id");
        let a = file_id(&s, Side::Visitor, "v1", "aa");
        assert_eq!(a, file_id(&s, Side::Visitor, "v1", "aa"));
        assert_ne!(a, file_id(&s, Side::Visitor, "v2", "aa"));
        assert_ne!(a, file_id(&s, Side::Agent, "v1", "aa"));
        assert_ne!(
            a,
            file_id(&SiteId::new("x").expect("id"), Side::Visitor, "v1", "aa")
        );
    }

    #[test]
    fn thumbnails_refuse_bombs_from_the_header() {
        // A PNG header declaring 100000 × 100000 pixels (no data needed).
        let mut png = Vec::new();
        let mut enc = png::Encoder::new(&mut png, 100_000, 100_000);
        enc.set_color(png::ColorType::Grayscale);
        let mut writer = enc.write_header().expect("header");
        writer
            .write_chunk(png::chunk::IDAT, b"\x78\x9c\x03\x00\x00\x00\x00\x01")
            .expect("data");
        writer.finish().expect("end");
        assert_eq!(
            thumbnail(&png, MAX_IMAGE_PIXELS),
            Err(ThumbError::TooManyPixels {
                width: 100_000,
                height: 100_000
            })
        );
        // A real small image gets a thumbnail no bigger than the limit.
        let img = image::RgbImage::from_pixel(800, 400, image::Rgb([200, 10, 10]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, image::ImageFormat::Png)
            .expect("encode");
        let (t, mime, w, h) = thumbnail(bytes.get_ref(), MAX_IMAGE_PIXELS).expect("thumb");
        assert_eq!((mime, w, h), ("image/jpeg", 800, 400));
        let back = image::load_from_memory(&t).expect("decode thumb");
        assert_eq!(
            (back.width(), back.height()),
            (THUMB_MAX_SIDE, THUMB_MAX_SIDE / 2)
        );
    }
}
