//! Agents' pictures: what an upload must be (a PNG, JPEG, GIF or WebP by
//! its bytes, within [`MAX_AVATAR_BYTES`] and [`MAX_AVATAR_PIXELS`]), the
//! relay's own re-encoding of it (a centred square of [`AVATAR_SIDE`]
//! pixels, PNG or JPEG: no metadata, no second format hidden in the bytes,
//! an animated GIF's first frame), and `GET /v1/avatars/{agent}`.
//!
//! Who may see one: a picture is not secret, but it is not the world's
//! either — the agent themselves, agents sharing a site with them, and
//! visitors of a site they work on (with the visitor credentials the
//! widget and the hosted chat page hold). Anyone else gets a 403, so a
//! stranger cannot collect a site's team from their ids.

use super::kind::{sha256_hex, sniff};
use super::routes::{who, Creds, Who};
use crate::reply::{internal, recover, refuse, with_app, Problem, Reply};
use crate::store::AgentRecord;
use crate::App;
use bytes::Bytes;
use protocol::limits::{AVATAR_SIDE, MAX_AVATAR_BYTES, MAX_AVATAR_PIXELS};
use protocol::{AgentId, ErrorCode};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

/// The re-encoded picture of an upload, and its type; or why it is
/// refused (nothing is stored then).
pub fn prepare(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), Problem> {
    if bytes.len() as u64 > MAX_AVATAR_BYTES {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            format!("a picture is at most {MAX_AVATAR_BYTES} bytes"),
        ));
    }
    let unsupported = || {
        Problem::new(
            ErrorCode::UnsupportedType,
            "a picture must be a PNG, JPEG, GIF or WebP image",
        )
    };
    match sniff(bytes) {
        Some(s) if s.inline => {}
        _ => return Err(unsupported()),
    }
    use image::{ImageFormat, ImageReader, Limits};
    use std::io::Cursor;
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>, Problem> {
        let mut r = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|_| unsupported())?;
        let mut limits = Limits::default();
        limits.max_alloc = Some(MAX_AVATAR_PIXELS.saturating_mul(4).saturating_add(16 << 20));
        r.limits(limits);
        Ok(r)
    };
    let (w, h) = reader()?.into_dimensions().map_err(|_| unsupported())?;
    if u64::from(w) * u64::from(h) > MAX_AVATAR_PIXELS {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            format!("a picture has at most {MAX_AVATAR_PIXELS} pixels ({w}×{h} given)"),
        ));
    }
    let img = reader()?.decode().map_err(|_| unsupported())?;
    let square = img.resize_to_fill(
        AVATAR_SIDE,
        AVATAR_SIDE,
        image::imageops::FilterType::Lanczos3,
    );
    let mut out = Cursor::new(Vec::new());
    let mime = if square.color().has_alpha() {
        square
            .write_to(&mut out, ImageFormat::Png)
            .map_err(|e| Problem::new(ErrorCode::Internal, e.to_string()))?;
        "image/png"
    } else {
        image::DynamicImage::ImageRgb8(square.to_rgb8())
            .write_to(&mut out, ImageFormat::Jpeg)
            .map_err(|e| Problem::new(ErrorCode::Internal, e.to_string()))?;
        "image/jpeg"
    };
    Ok((out.into_inner(), mime))
}

/// Stores `bytes` (re-encoded by [`prepare`]) as a blob: returns its name.
pub fn store_blob(app: &App, bytes: &[u8]) -> std::io::Result<String> {
    let sha = sha256_hex(bytes);
    app.files.put(&sha, false, bytes)?;
    Ok(sha)
}

/// Whether `who` may see `agent`'s picture (see the module's rule).
fn may_see(who: &Who, agent: &AgentRecord) -> bool {
    match who {
        Who::Agent(a) => a.id == agent.id || a.sites.iter().any(|s| agent.sites.contains(s)),
        Who::Visitor { site, .. } => agent.sites.contains(site),
    }
}

/// GET /v1/avatars/{agent}?token=… (an agent) or
/// ?site=&visitor=&token= (a visitor of one of the agent's sites).
pub fn routes(app: Arc<App>) -> BoxedFilter<(warp::reply::Response,)> {
    let serve = warp::path::param::<String>()
        .and(warp::path::end())
        .and(warp::get().or(warp::head()).unify())
        .and(warp::query::<Creds>())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("if-none-match"))
        .and(with_app(app))
        .and_then(serve);
    // The path first: errors are answered (as JSON) only under it.
    warp::path("v1")
        .and(warp::path("avatars"))
        .and(serve.recover(recover).unify())
        .map(warp::Reply::into_response)
        .boxed()
}

async fn serve(
    id: String,
    q: Creds,
    authorization: Option<String>,
    if_none_match: Option<String>,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    let who = who(&app, &q, authorization.as_deref())?;
    let none = || refuse(ErrorCode::NotFound, "this agent has no picture");
    let id = AgentId::new(id).map_err(|_| none())?;
    let agent = app.store.agent(&id).map_err(internal)?.ok_or_else(none)?;
    if !may_see(&who, &agent) {
        return Err(refuse(
            ErrorCode::Forbidden,
            "this agent works on none of your sites",
        ));
    }
    let avatar = agent.avatar.ok_or_else(none)?;
    let etag = format!("\"{}\"", avatar.sha256);
    let resp = Response::builder()
        .header(header::CONTENT_TYPE, avatar.mime.as_str())
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, super::FILE_CSP)
        // Access is checked on every request; the URL's `v=` changes
        // with the picture, so revalidating costs a 304 at most.
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::ETAG, &etag)
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::VARY, "authorization");
    if if_none_match.as_deref() == Some(etag.as_str()) {
        return resp
            .status(StatusCode::NOT_MODIFIED)
            .body(Bytes::new())
            .map_err(internal);
    }
    let bytes = tokio::fs::read(app.files.path(&avatar.sha256, false))
        .await
        .map_err(internal)?;
    resp.body(Bytes::from(bytes)).map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 40, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    }

    /// A picture becomes a square of AVATAR_SIDE; what is not an image by
    /// its bytes (whatever it claims) is refused.
    #[test]
    fn pictures_are_squared_and_non_images_refused() {
        let (bytes, mime) = prepare(&png(300, 200)).expect("a png");
        assert_eq!(mime, "image/jpeg");
        let back = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((back.width(), back.height()), (AVATAR_SIDE, AVATAR_SIDE));
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        assert_eq!(
            prepare(svg).map(|_| ()).map_err(|p| p.0.code),
            Err(ErrorCode::UnsupportedType)
        );
        assert!(prepare(b"GIF89a not really").is_err());
    }
}
