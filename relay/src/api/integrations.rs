//! Integrations (owners only): a site's webhook endpoints, their delivery
//! logs and redeliveries, and the API keys programs work the site with.

use super::auth::{member_site, Me};
use crate::hooks::{send::check_endpoint, Delivery};
use crate::outbox::{Kind, OutJob};
use crate::reply::{bad, internal, json, no_content, not_found, refuse, Reply};
use crate::store::{AgentRecord, AgentRole, ApiKeyRecord, WebhookRecord};
use crate::{auth, App};
use protocol::api::integrations::{
    check_api_key_name, check_webhook_url, ApiKeyView, DeliveryPage, HookEvent, NewApiKey,
    NewWebhook, WebhookPatch, WebhookView,
};
use protocol::limits::{MAX_API_KEYS_PER_SITE, MAX_WEBHOOKS_PER_SITE};
use protocol::{AgentId, ErrorCode, SiteId};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

/// The first characters of a key the console shows to tell keys apart.
const KEY_PREFIX_CHARS: usize = 12;

fn owner_site(app: &App, me: &Me, site: &str) -> Result<SiteId, Rejection> {
    let s = member_site(app, me, site)?;
    me.owner()?;
    Ok(s.id)
}

fn check_events(events: &[HookEvent]) -> Result<Vec<HookEvent>, Rejection> {
    let mut e = events.to_vec();
    e.sort();
    e.dedup();
    if e.is_empty() {
        return Err(bad(format!(
            "subscribe to at least one event: {}",
            HookEvent::ALL.map(HookEvent::name).join(", ")
        )));
    }
    Ok(e)
}

async fn check_url(app: &App, url: &str) -> Result<String, Rejection> {
    let url = url.trim().to_string();
    let private = app.hooks.allow_private;
    check_webhook_url(&url, private).map_err(|e| refuse(e.code, e.message))?;
    check_endpoint(&url, private).await.map_err(bad)?;
    Ok(url)
}

/// GET /v1/api/sites/{site}/webhooks
pub async fn hooks_list(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let list: Vec<WebhookView> = app
        .store
        .webhooks(&site)?
        .iter()
        .map(|h| h.view())
        .collect();
    Ok(json(StatusCode::OK, &list))
}

/// POST /v1/api/sites/{site}/webhooks — the answer carries the signing
/// secret, once.
pub async fn hooks_add(
    site: String,
    app: Arc<App>,
    me: Me,
    b: NewWebhook,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let url = check_url(&app, &b.url).await?;
    let events = check_events(&b.events)?;
    if app.store.webhooks(&site)?.len() >= MAX_WEBHOOKS_PER_SITE {
        return Err(bad(format!(
            "a site has at most {MAX_WEBHOOKS_PER_SITE} webhooks"
        )));
    }
    let h = WebhookRecord {
        id: ulid::Ulid::new().to_string(),
        site,
        url,
        events,
        secret: format!("whsec_{}", auth::random_b64(24)),
        created: crate::now_ms(),
        paused: false,
        paused_reason: None,
        failures: 0,
    };
    app.hooks.put(&h).map_err(internal)?;
    let mut view = h.view();
    view.secret = Some(h.secret.clone());
    Ok(json(StatusCode::CREATED, &view))
}

fn hook_of(app: &App, site: &SiteId, id: &str) -> Result<WebhookRecord, Rejection> {
    app.store
        .webhook(site, id)?
        .ok_or_else(|| not_found("webhook"))
}

/// PATCH /v1/api/sites/{site}/webhooks/{hook}
pub async fn hooks_patch(
    site: String,
    hook: String,
    app: Arc<App>,
    me: Me,
    b: WebhookPatch,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let mut h = hook_of(&app, &site, &hook)?;
    if let Some(url) = &b.url {
        h.url = check_url(&app, url).await?;
    }
    if let Some(events) = &b.events {
        h.events = check_events(events)?;
    }
    let resumed = b.paused == Some(false) && h.paused;
    if let Some(paused) = b.paused {
        h.paused = paused;
        if paused {
            h.paused_reason = Some("paused by an owner".into());
        } else {
            h.paused_reason = None;
            h.failures = 0;
        }
    }
    app.hooks.put(&h).map_err(internal)?;
    if resumed {
        app.hooks.resume(&h.id).map_err(internal)?;
    }
    Ok(json(StatusCode::OK, &h.view()))
}

/// DELETE /v1/api/sites/{site}/webhooks/{hook}
pub async fn hooks_delete(
    site: String,
    hook: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    if !app.hooks.delete(&site, &hook).map_err(internal)? {
        return Err(not_found("webhook"));
    }
    Ok(no_content())
}

/// GET /v1/api/sites/{site}/webhooks/{hook}/deliveries — newest first.
pub async fn deliveries(
    site: String,
    hook: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let h = hook_of(&app, &site, &hook)?;
    let deliveries = app
        .store
        .deliveries(&h.id)?
        .into_iter()
        .map(|d| d.view)
        .collect();
    Ok(json(StatusCode::OK, &DeliveryPage { deliveries }))
}

/// POST /v1/api/sites/{site}/webhooks/{hook}/deliveries/{delivery}/redeliver
/// — the same event (same id, same body) queued again for the endpoint.
pub async fn redeliver(
    site: String,
    hook: String,
    delivery: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let h = hook_of(&app, &site, &hook)?;
    let d = app
        .store
        .delivery(&h.id, &delivery)?
        .ok_or_else(|| not_found("delivery"))?;
    if h.paused {
        return Err(refuse(
            ErrorCode::Conflict,
            "the endpoint is paused: resume it first",
        ));
    }
    let job = Delivery {
        site: site.clone(),
        hook: h.id.clone(),
        event: d.view.event,
        event_id: d.view.event_id.clone(),
        body: d.body,
    };
    let body = serde_json::to_value(&job).map_err(internal)?;
    if !app
        .hooks
        .queue()
        .enqueue(&OutJob::new(Kind::Webhook, h.id.clone(), body))
        .map_err(internal)?
    {
        return Err(refuse(
            ErrorCode::RateLimited,
            "the delivery queue is full; try again later",
        ));
    }
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "queued": d.view.event_id }),
    ))
}

/// GET /v1/api/sites/{site}/keys
pub async fn keys_list(site: String, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let list: Vec<ApiKeyView> = app
        .store
        .api_keys(&site)?
        .iter()
        .map(|k| k.view())
        .collect();
    Ok(json(StatusCode::OK, &list))
}

/// POST /v1/api/sites/{site}/keys — a bot agent of the site and a key that
/// acts as it; the key is in this answer only (stored as its SHA-256).
pub async fn keys_add(
    site: String,
    app: Arc<App>,
    me: Me,
    b: NewApiKey,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    check_api_key_name(&b.name).map_err(|e| refuse(e.code, e.message))?;
    if app.store.api_keys(&site)?.len() >= MAX_API_KEYS_PER_SITE {
        return Err(bad(format!(
            "a site has at most {MAX_API_KEYS_PER_SITE} API keys"
        )));
    }
    let now = crate::now_ms();
    let id = ulid::Ulid::new().to_string();
    let bot = AgentRecord {
        id: AgentId::new(format!(
            "{}{}",
            crate::store::BOT_ID_PREFIX,
            id.to_ascii_lowercase()
        ))
        .map_err(internal)?,
        name: b.name.trim().to_string(),
        sites: vec![site.clone()],
        mail: protocol::offline::MailPref::None,
        email: None,
        password: None,
        role: AgentRole::Agent,
        created: now,
        capacity: protocol::limits::DEFAULT_CAPACITY,
        bot: true,
        avatar: None,
        named: true,
    };
    let key = format!("kefu_{}", auth::random_b64(32));
    let rec = ApiKeyRecord {
        id,
        site,
        name: bot.name.clone(),
        agent: bot.id.clone(),
        prefix: key.chars().take(KEY_PREFIX_CHARS).collect(),
        hash: auth::token_hash(&key),
        created: now,
    };
    app.store.put_agent(&bot)?;
    app.store.put_token(
        &rec.hash,
        &crate::store::TokenRecord {
            agent: bot.id.clone(),
            created: now,
            expires: 0,
        },
    )?;
    app.store.put_api_key(&rec)?;
    app.store.sync()?;
    let mut view = rec.view();
    view.key = Some(key);
    Ok(json(StatusCode::CREATED, &view))
}

/// DELETE /v1/api/sites/{site}/keys/{key} — the key stops working at once;
/// its bot's messages stay in the conversations.
pub async fn keys_delete(
    site: String,
    key: String,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let site = owner_site(&app, &me, &site)?;
    let rec = app
        .store
        .api_key(&site, &key)?
        .ok_or_else(|| not_found("key"))?;
    app.store.delete_token(&rec.hash)?;
    app.store.delete_api_key(&site, &rec.id)?;
    // The bot keeps its record (its name labels its old messages) but no
    // site: nothing can act as it any more.
    if let Some(mut bot) = app.store.agent(&rec.agent)? {
        bot.sites.clear();
        app.store.put_agent(&bot)?;
    }
    app.store.sync()?;
    Ok(no_content())
}
