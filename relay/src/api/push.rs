//! Web Push for the signed-in agent: the relay's VAPID key, and the
//! devices it opted in on (subscribe, list, unsubscribe). Each agent sees
//! and changes only its own devices.

use super::auth::Me;
use crate::push::check;
use crate::reply::{bad, json, no_content, refuse, Reply};
use crate::store::{device_id, PushSubRecord};
use crate::App;
use protocol::api::{PushDevice, PushKey, PushSubscription, PushUnsubscribe};
use protocol::limits::MAX_PUSH_SUBSCRIPTIONS_PER_AGENT;
use protocol::ErrorCode;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

fn device(s: &PushSubRecord) -> PushDevice {
    PushDevice {
        endpoint: s.endpoint.clone(),
        created: s.created,
    }
}

/// GET /v1/api/push/key
pub async fn key(app: Arc<App>, _me: Me) -> Result<Reply, Rejection> {
    let key = PushKey {
        public_key: app.push.public_key().to_string(),
    };
    Ok(json(StatusCode::OK, &key))
}

/// POST /v1/api/push/subscriptions — the same endpoint again replaces
/// its keys; a new one beyond the limit is refused (409).
pub async fn subscribe(app: Arc<App>, me: Me, b: PushSubscription) -> Result<Reply, Rejection> {
    if me.agent.bot {
        return Err(crate::reply::forbidden(
            "an API key has no devices to push to",
        ));
    }
    let c = check::subscription(&b).map_err(bad)?;
    let rec = PushSubRecord {
        agent: me.agent.id.clone(),
        p256dh: c.p256dh_b64(),
        auth: c.auth_b64(),
        endpoint: c.endpoint,
        created: crate::now_ms(),
    };
    let dev = rec.device();
    let existing = app.store.push_subs(&me.agent.id)?;
    let replaces = existing.iter().any(|s| s.device() == dev);
    if !replaces && existing.len() >= MAX_PUSH_SUBSCRIPTIONS_PER_AGENT {
        return Err(refuse(
            ErrorCode::Conflict,
            format!(
                "at most {MAX_PUSH_SUBSCRIPTIONS_PER_AGENT} devices per agent: \
                 turn notifications off on one first"
            ),
        ));
    }
    app.store.put_push_sub(&rec)?;
    app.store.sync()?;
    app.push.device_added(&me.agent, dev);
    Ok(json(StatusCode::CREATED, &device(&rec)))
}

/// GET /v1/api/push/subscriptions
pub async fn list(app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let devices: Vec<PushDevice> = app
        .store
        .push_subs(&me.agent.id)?
        .iter()
        .map(device)
        .collect();
    Ok(json(StatusCode::OK, &devices))
}

/// DELETE /v1/api/push/subscriptions — 204 whether or not the device was
/// subscribed (turning notifications off twice is not an error).
pub async fn unsubscribe(app: Arc<App>, me: Me, b: PushUnsubscribe) -> Result<Reply, Rejection> {
    let dev = device_id(&b.endpoint);
    if app.store.delete_push_sub(&me.agent.id, &dev)? {
        app.store.sync()?;
    }
    app.push.device_removed(&me.agent.id, &dev);
    Ok(no_content())
}
