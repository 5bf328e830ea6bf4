//! `GET /v1/wechat/{site}` (server verification) and `POST
//! /v1/wechat/{site}` (message push).
//!
//! Refusals: an unknown site or one without the bridge enabled → 404; a
//! wrong `signature` or `msg_signature`, a push in the clear to a site in
//! safe mode, or an encrypted one for another AppID → 403; a body over
//! [`MAX_WECHAT_PUSH_BYTES`] → 413; XML with a DTD or an entity, or
//! without the fields a push has → 400. Nothing is stored for any of them.

use super::client::MEDIA_FETCH_TIMEOUT;
use super::{crypto, visitor_id, xml};
use crate::commit::{NewMessage, Target};
use crate::reply::{bad, forbidden, internal, not_found, refuse, with_app, Reply};
use crate::store::{SiteRecord, VisitorRecord};
use crate::App;
use bytes::Bytes;
use protocol::api::{WechatMode, WechatSettings};
use protocol::limits::{MAX_TEXT_BYTES, MAX_WECHAT_MEDIA_BYTES, MAX_WECHAT_PUSH_BYTES};
use protocol::{Attachment, Author, Channel, Cid, ErrorCode, Side, UserInfo, VisitorId};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{header, Response, StatusCode};
use warp::{Filter, Rejection};

/// The query WeChat adds to every request (safe mode adds `encrypt_type`
/// and `msg_signature`; verification adds `echostr`).
#[derive(Debug, Default, Deserialize)]
pub struct Query {
    #[serde(default)]
    signature: String,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    echostr: Option<String>,
    #[serde(default)]
    encrypt_type: Option<String>,
    #[serde(default)]
    msg_signature: Option<String>,
}

/// Both routes.
pub fn routes(app: Arc<App>) -> BoxedFilter<(Reply,)> {
    let verify = warp::path!("v1" / "wechat" / String)
        .and(warp::get())
        .and(warp::query::<Query>())
        .and(with_app(app.clone()))
        .and_then(verify);
    let push = warp::path!("v1" / "wechat" / String)
        .and(warp::post())
        .and(warp::query::<Query>())
        .and(warp::header::optional::<u64>("content-length"))
        .and_then(|site: String, q: Query, len: Option<u64>| async move {
            if len.is_some_and(|l| l > MAX_WECHAT_PUSH_BYTES) {
                return Err(too_large());
            }
            Ok((site, q))
        })
        .untuple_one()
        .and(warp::body::content_length_limit(MAX_WECHAT_PUSH_BYTES))
        .and(warp::body::bytes())
        .and(with_app(app))
        .and_then(push);
    verify.or(push).unify().boxed()
}

fn too_large() -> Rejection {
    refuse(
        ErrorCode::TooLarge,
        format!("a WeChat push is at most {MAX_WECHAT_PUSH_BYTES} bytes"),
    )
}

fn text(body: impl Into<Bytes>) -> Reply {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into())
        .unwrap_or_default()
}

/// The site and its bridge settings, if the bridge is on.
fn bridged(app: &App, site: &str) -> Result<(SiteRecord, WechatSettings), Rejection> {
    let id = protocol::SiteId::new(site).map_err(|_| not_found("site"))?;
    let site = app.store.site(&id)?.ok_or_else(|| not_found("site"))?;
    let w = site
        .wechat
        .clone()
        .filter(|w| w.enabled)
        .ok_or_else(|| not_found("WeChat account on this site"))?;
    Ok((site, w))
}

/// GET /v1/wechat/{site} — WeChat checks the URL before saving it.
async fn verify(site: String, q: Query, app: Arc<App>) -> Result<Reply, Rejection> {
    let (_, w) = bridged(&app, &site)?;
    if !crypto::verify(&q.signature, &[&w.token, &q.timestamp, &q.nonce]) {
        return Err(forbidden("wrong signature"));
    }
    Ok(text(q.echostr.unwrap_or_default()))
}

/// POST /v1/wechat/{site} — one push: checked, stored durably, answered.
async fn push(site: String, q: Query, body: Bytes, app: Arc<App>) -> Result<Reply, Rejection> {
    let (site, w) = bridged(&app, &site)?;
    if !crypto::verify(&q.signature, &[&w.token, &q.timestamp, &q.nonce]) {
        return Err(forbidden("wrong signature"));
    }
    let body = std::str::from_utf8(&body).map_err(|_| bad("the push is not UTF-8"))?;
    let outer = xml::fields(body).map_err(|e| bad(format!("push refused: {e}")))?;
    let encrypted = q.encrypt_type.as_deref() == Some("aes") || outer.contains_key("Encrypt");
    let fields = match (w.mode, encrypted) {
        (WechatMode::Plain, true) => {
            return Err(bad(
                "an encrypted push, but the site's WeChat mode is plain",
            ))
        }
        (WechatMode::Safe, false) => {
            return Err(forbidden(
                "a push in the clear, but the site's WeChat mode is safe",
            ))
        }
        (_, false) => outer,
        (_, true) => decrypted(&w, &q, &outer)?,
    };
    let stored = store(&app, &site, &w, &fields).await?;
    tracing::debug!(site = %site.id, stored, "wechat push");
    Ok(text("success"))
}

/// Safe (and compatible) mode: `msg_signature` over the `Encrypt` field,
/// then the XML inside it, checked to be for this AppID.
fn decrypted(
    w: &WechatSettings,
    q: &Query,
    outer: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Rejection> {
    let enc = outer
        .get("Encrypt")
        .ok_or_else(|| bad("an encrypted push without Encrypt"))?;
    let sig = q.msg_signature.as_deref().unwrap_or("");
    if !crypto::verify(sig, &[&w.token, &q.timestamp, &q.nonce, enc]) {
        return Err(forbidden("wrong msg_signature"));
    }
    let key = crypto::aes_key(&w.encoding_aes_key)
        .ok_or_else(|| internal("the stored EncodingAESKey does not decode"))?;
    let inner = crypto::decrypt(&key, enc, &w.app_id).map_err(|e| match e {
        crypto::CryptoError::AppId => forbidden("the push is for another AppID"),
        e => bad(format!("push refused: {e}")),
    })?;
    xml::fields(&inner).map_err(|e| bad(format!("push refused: {e}")))
}

/// What a push means for kefu; true when a message was stored (false:
/// an event that stores no message, or one kefu ignores).
async fn store(
    app: &Arc<App>,
    site: &SiteRecord,
    w: &WechatSettings,
    f: &BTreeMap<String, String>,
) -> Result<bool, Rejection> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let openid = get("FromUserName");
    let visitor = visitor_id(openid).ok_or_else(|| bad("FromUserName is not an openid"))?;
    let msg_type = get("MsgType");
    let created = get("CreateTime");
    if created.is_empty() || created.parse::<u64>().is_err() {
        return Err(bad("CreateTime is missing"));
    }
    // Messages are deduplicated by MsgId, events by sender + CreateTime
    // (the sender is the cid's scope).
    let cid = if msg_type == "event" {
        format!("wx-ev-{created}")
    } else {
        let id = get("MsgId");
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("MsgId is missing"));
        }
        format!("wx-{id}")
    };
    let cid = Cid::new(cid).map_err(|e| bad(format!("cid: {e}")))?;
    let mut file = None;
    let text = match msg_type {
        "text" => get("Content").to_string(),
        "image" => {
            file = image(app, site, w, &visitor, get("PicUrl"), get("MediaId")).await;
            if file.is_some() {
                String::new()
            } else {
                "[image] (could not be fetched from WeChat)".into()
            }
        }
        "voice" => match get("Recognition") {
            "" => "[voice message]".into(),
            r => format!("[voice message] {r}"),
        },
        "video" | "shortvideo" => "[video]".into(),
        "location" => format!(
            "[location] {} ({}, {})",
            get("Label"),
            get("Location_X"),
            get("Location_Y")
        ),
        "link" => format!("[link] {} {}", get("Title"), get("Url")),
        "event" => match get("Event").to_ascii_lowercase().as_str() {
            "subscribe" => {
                follower(app, site, &visitor, openid, Some(true))?;
                return Ok(false);
            }
            "unsubscribe" => {
                follower(app, site, &visitor, openid, Some(false))?;
                return Ok(false);
            }
            "click" => format!("[menu] {}", get("EventKey")),
            // VIEW (a menu link), SCAN, LOCATION…: nothing to store.
            _ => return Ok(false),
        },
        other => format!("[{}]", other.chars().take(32).collect::<String>()),
    };
    follower(app, site, &visitor, openid, None)?;
    let text = clip(text);
    let msg = NewMessage {
        scope: format!("v:{}:{}", site.id, visitor),
        cid,
        target: Target::Visitor {
            site: site.id.clone(),
            visitor: visitor.clone(),
            team: None,
            channel: Channel::Wechat,
        },
        from: Author {
            side: Side::Visitor,
            id: visitor.to_string(),
            name: None,
        },
        text,
        file,
    };
    app.commit.message(msg).await?;
    Ok(true)
}

/// At most [`MAX_TEXT_BYTES`], cut on a character boundary.
fn clip(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The follower's visitor record, created on first contact; `subscribed`
/// notes a (un)subscribe in its attributes. Durable with the next sync
/// (the message's group commit, or here for events).
fn follower(
    app: &App,
    site: &SiteRecord,
    visitor: &VisitorId,
    openid: &str,
    subscribed: Option<bool>,
) -> Result<(), Rejection> {
    let now = crate::now_ms();
    let mut rec = app
        .store
        .visitor(&site.id, visitor)?
        .unwrap_or(VisitorRecord {
            last_seen: now,
            visits: 1,
            visit_start: now,
            channel: Channel::Wechat,
            ..VisitorRecord::new(&site.id, visitor, now)
        });
    rec.last_seen = now;
    let user = rec.user.get_or_insert_with(UserInfo::default);
    user.id = Some(openid.to_string());
    if let Some(on) = subscribed {
        user.attributes
            .insert("wechat_subscribed".into(), serde_json::Value::Bool(on));
        user.attributes.insert(
            if on {
                "wechat_subscribed_at"
            } else {
                "wechat_unsubscribed_at"
            }
            .into(),
            serde_json::Value::from(now),
        );
    }
    app.store.put_visitor(&rec)?;
    if subscribed.is_some() {
        app.store.sync()?;
    }
    Ok(())
}

/// A follower's image, fetched (its `PicUrl`, else the media API) and
/// stored as the follower's upload; `None` when that fails in time.
async fn image(
    app: &Arc<App>,
    site: &SiteRecord,
    w: &WechatSettings,
    visitor: &VisitorId,
    pic_url: &str,
    media_id: &str,
) -> Option<Attachment> {
    let max = MAX_WECHAT_MEDIA_BYTES as usize;
    let fetch = async {
        if pic_url.starts_with("http://") || pic_url.starts_with("https://") {
            if let Ok(b) = app.wechat.download(pic_url, max).await {
                return Some(b);
            }
        }
        if !media_id.is_empty() {
            return app.wechat.media(w, media_id, max).await.ok();
        }
        None
    };
    let bytes = match tokio::time::timeout(MEDIA_FETCH_TIMEOUT, fetch).await {
        Ok(Some(b)) => b,
        _ => {
            tracing::info!(site = %site.id, "wechat: a follower's image could not be fetched");
            return None;
        }
    };
    let (app2, site2, owner) = (app.clone(), site.clone(), visitor.to_string());
    let stored = tokio::task::spawn_blocking(move || {
        crate::files::routes::store_fetched(app2, &site2, &owner, "wechat-image", &bytes)
    })
    .await;
    match stored {
        Ok(Ok(rec)) => Some(rec.attachment()),
        _ => {
            tracing::info!(site = %site.id, "wechat: a follower's image was not stored");
            None
        }
    }
}
