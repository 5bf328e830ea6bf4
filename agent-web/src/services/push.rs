//! The browser's side of Web Push: registering the console's service
//! worker (`sw.js`), hearing which conversation a notification's click
//! opens, and this device's push subscription — permission,
//! `pushManager.subscribe` with the relay's VAPID key, and telling the
//! relay ([`Api`]) — for the reducer's [`PushOp`]s.

use crate::i18n::{tr, trf};
use crate::services::api::Api;
use crate::state::{ConvLink, PushOp, PushOutcome, PushStatus};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use js_sys::{Promise, Reflect};
use protocol::api::PushSubscription as SubscriptionBody;
use protocol::{ConvId, SiteId};
use serde::Deserialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, NotificationPermission, PushSubscription, PushSubscriptionOptionsInit,
    ServiceWorkerContainer, ServiceWorkerRegistration,
};
use yew::Callback;

/// The worker's script, beside the console's page (its scope is the
/// console's directory).
const WORKER_URL: &str = "sw.js";

/// What the service worker posts a console window.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WorkerMessage {
    /// A notification was clicked: open this conversation.
    OpenConversation { site: String, conv: String },
}

fn has(target: &JsValue, name: &str) -> bool {
    Reflect::has(target, &JsValue::from_str(name)).unwrap_or(false)
}

/// The page's service worker container, if this browser and page have one
/// (only secure contexts do: https, or localhost).
fn container() -> Option<ServiceWorkerContainer> {
    let nav = web_sys::window()?.navigator();
    has(&nav, "serviceWorker").then(|| nav.service_worker())
}

/// Why this page cannot receive Web Push, if it cannot.
fn unsupported() -> Option<String> {
    let Some(w) = web_sys::window() else {
        return Some(tr("no browser window").into());
    };
    if !w.is_secure_context() {
        return Some(tr("the console must be opened over HTTPS (or on localhost)").into());
    }
    if container().is_none() || !has(&w, "PushManager") || !has(&w, "Notification") {
        return Some(tr("this browser has no Web Push").into());
    }
    None
}

/// A JS error as text: a DOMException's name and message.
fn js_error(e: &JsValue) -> String {
    let get = |k: &str| {
        Reflect::get(e, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (get("name"), get("message")) {
        (Some(n), Some(m)) if !m.is_empty() => format!("{n}: {m}"),
        (_, Some(m)) if !m.is_empty() => m,
        _ => e.as_string().unwrap_or_else(|| tr("unknown error").into()),
    }
}

async fn wait(p: Result<Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(p.map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| js_error(&e))
}

/// Registers the console's service worker and forwards the conversations
/// its notifications open to `open`. The returned closure must live as
/// long as the app.
pub fn start(open: Callback<ConvLink>) -> Option<Closure<dyn FnMut(MessageEvent)>> {
    let sw = container()?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Ok(WorkerMessage::OpenConversation { site, conv }) = from_js_json(&e.data()) else {
            return;
        };
        if let (Ok(site), Ok(conv)) = (SiteId::new(site), ConvId::new(conv)) {
            open.emit(ConvLink { site, conv });
        }
    });
    sw.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let registering = sw.register(WORKER_URL);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = JsFuture::from(registering).await {
            web_sys::console::warn_1(
                &format!(
                    "kefu: the service worker did not register: {}",
                    js_error(&e)
                )
                .into(),
            );
        }
    });
    Some(on_message)
}

/// A structured-clone message read as JSON into `T`.
fn from_js_json<T: for<'de> Deserialize<'de>>(v: &JsValue) -> Result<T, String> {
    let text = js_sys::JSON::stringify(v)
        .map_err(|e| js_error(&e))?
        .as_string()
        .ok_or(tr("not JSON"))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The console's service worker registration, once its worker is active
/// (a subscription needs one).
async fn active_registration() -> Result<ServiceWorkerRegistration, String> {
    let sw = container().ok_or(tr("this browser has no service workers"))?;
    let reg: ServiceWorkerRegistration = wait(Ok(sw.register(WORKER_URL)))
        .await
        .map_err(|e| trf("The console's service worker did not register: {}", &[&e]))?
        .unchecked_into();
    if reg.active().is_some() {
        return Ok(reg);
    }
    Ok(wait(sw.ready()).await?.unchecked_into())
}

/// The registration there is now, if any (without waiting for one).
async fn current_registration() -> Option<ServiceWorkerRegistration> {
    let reg = JsFuture::from(container()?.get_registration()).await.ok()?;
    reg.dyn_into().ok()
}

/// This device's push subscription, if it has one.
async fn subscription(reg: &ServiceWorkerRegistration) -> Result<Option<PushSubscription>, String> {
    let pm = reg.push_manager().map_err(|e| js_error(&e))?;
    let sub = wait(pm.get_subscription()).await?;
    Ok(sub.dyn_into::<PushSubscription>().ok())
}

/// The `applicationServerKey` a subscription was made with.
fn server_key(sub: &PushSubscription) -> Option<Vec<u8>> {
    let opts = Reflect::get(sub, &JsValue::from_str("options")).ok()?;
    let key = Reflect::get(&opts, &JsValue::from_str("applicationServerKey")).ok()?;
    let buf = key.dyn_into::<js_sys::ArrayBuffer>().ok()?;
    Some(js_sys::Uint8Array::new(&buf).to_vec())
}

/// A new subscription for the relay's key (only visible notifications:
/// what browsers allow).
async fn subscribe(
    reg: &ServiceWorkerRegistration,
    key: &[u8],
) -> Result<PushSubscription, String> {
    let opts = PushSubscriptionOptionsInit::new();
    opts.set_user_visible_only(true);
    opts.set_application_server_key(&js_sys::Uint8Array::from(key));
    let pm = reg.push_manager().map_err(|e| js_error(&e))?;
    wait(pm.subscribe_with_options(&opts))
        .await
        .map_err(|e| trf("The browser's push service refused: {}", &[&e]))?
        .dyn_into::<PushSubscription>()
        .map_err(|_| tr("The browser gave no subscription.").to_string())
}

/// A subscription as the relay takes it (`toJSON()`).
fn body(sub: &PushSubscription) -> Result<SubscriptionBody, String> {
    from_js_json(sub).map_err(|e| trf("the browser's subscription is unreadable: {}", &[&e]))
}

fn outcome(status: PushStatus, error: Option<String>) -> PushOutcome {
    PushOutcome { status, error }
}

/// Runs one [`PushOp`] for the agent whose session `api` holds.
pub async fn run(op: PushOp, api: Api) -> PushOutcome {
    if let Some(why) = unsupported() {
        return outcome(PushStatus::Unsupported(why), None);
    }
    if web_sys::Notification::permission() == NotificationPermission::Denied {
        return outcome(PushStatus::Blocked, None);
    }
    match op {
        PushOp::Check => check(&api).await,
        PushOp::Enable => match enable(&api).await {
            Ok(()) => outcome(PushStatus::On, None),
            Err(e) if web_sys::Notification::permission() == NotificationPermission::Denied => {
                outcome(PushStatus::Blocked, Some(e))
            }
            Err(e) => outcome(PushStatus::Off, Some(e)),
        },
        PushOp::Disable => match disable(&api).await {
            Ok(()) => outcome(PushStatus::Off, None),
            Err(e) => outcome(PushStatus::Off, Some(e)),
        },
    }
}

/// On only if this device holds a subscription the relay lists for this
/// agent (another agent may have turned it on on a shared computer).
async fn check(api: &Api) -> PushOutcome {
    if web_sys::Notification::permission() != NotificationPermission::Granted {
        return outcome(PushStatus::Off, None);
    }
    let Some(reg) = current_registration().await else {
        return outcome(PushStatus::Off, None);
    };
    let sub = match subscription(&reg).await {
        Ok(Some(sub)) => sub,
        Ok(None) => return outcome(PushStatus::Off, None),
        Err(e) => return outcome(PushStatus::Off, Some(e)),
    };
    match api.push_endpoints().await {
        Ok(list) if list.contains(&sub.endpoint()) => outcome(PushStatus::On, None),
        Ok(_) => outcome(PushStatus::Off, None),
        Err(e) => outcome(
            PushStatus::Off,
            Some(trf(
                "The relay's list of devices could not be read: {}",
                &[&e],
            )),
        ),
    }
}

/// Permission, the relay's key, a subscription, and the relay told of it.
async fn enable(api: &Api) -> Result<(), String> {
    let answer = wait(web_sys::Notification::request_permission()).await?;
    if answer.as_string().as_deref() != Some("granted") {
        return Err(tr("Notifications were not allowed in the browser.").into());
    }
    let key = api
        .push_key()
        .await
        .map_err(|e| trf("This relay does not offer Web Push: {}", &[&e]))?;
    let key = URL_SAFE_NO_PAD
        .decode(key.public_key.trim_end_matches('='))
        .map_err(|_| tr("The relay's push key is not base64url.").to_string())?;
    let reg = active_registration().await?;
    let sub = match subscription(&reg).await? {
        Some(sub) if server_key(&sub).as_deref() == Some(&key[..]) => sub,
        other => {
            // One made for another key (the relay's store was replaced)
            // would never be delivered: start again.
            if let Some(old) = other {
                wait(old.unsubscribe()).await?;
            }
            subscribe(&reg, &key).await?
        }
    };
    let saved = match body(&sub) {
        Ok(b) => api.push_subscribe(&b).await,
        Err(e) => Err(e),
    };
    if let Err(e) = saved {
        // A subscription the relay does not know would only go stale.
        let _ = wait(sub.unsubscribe()).await;
        return Err(trf("The relay did not save this device: {}", &[&e]));
    }
    Ok(())
}

/// Unsubscribes this device, and tells the relay (which would also learn
/// it from the push service, on its next push).
async fn disable(api: &Api) -> Result<(), String> {
    let Some(reg) = current_registration().await else {
        return Ok(());
    };
    let Some(sub) = subscription(&reg).await? else {
        return Ok(());
    };
    let told = api.push_unsubscribe(&sub.endpoint()).await;
    wait(sub.unsubscribe()).await?;
    told.map_err(|e| trf("Turned off here, but the relay was not told: {}", &[&e]))
}

/// The console tab's own notification of a visitor's message, shown by
/// the service worker when it runs: the same tag and data as a push's, so
/// one replaces the other and a click opens the conversation either way.
/// Without a worker, a plain page notification.
pub fn notify(title: &str, body: &str, site: Option<&SiteId>, conv: &ConvId) {
    let plain = || crate::notify::desktop(title, body, conv.as_str());
    let (Some(site), Some(sw)) = (site, container()) else {
        return plain();
    };
    if sw.controller().is_none()
        || web_sys::Notification::permission() != NotificationPermission::Granted
    {
        return plain();
    }
    let (title, body, site, conv) = (
        title.to_string(),
        body.to_string(),
        site.clone(),
        conv.clone(),
    );
    wasm_bindgen_futures::spawn_local(async move {
        let Some(reg) = current_registration().await else {
            return crate::notify::desktop(&title, &body, conv.as_str());
        };
        let data = js_sys::Object::new();
        let url = format!("{}#/inbox/{site}/{conv}", reg.scope());
        for (k, v) in [
            ("kind", "message"),
            ("site", site.as_str()),
            ("conv", conv.as_str()),
            ("url", &url),
        ] {
            let _ = Reflect::set(&data, &JsValue::from_str(k), &JsValue::from_str(v));
        }
        let opts = web_sys::NotificationOptions::new();
        opts.set_body(&body);
        opts.set_tag(conv.as_str());
        opts.set_icon("icon-192.png");
        opts.set_data(&data);
        if wait(reg.show_notification_with_options(&title, &opts))
            .await
            .is_err()
        {
            crate::notify::desktop(&title, &body, conv.as_str());
        }
    });
}

/// Signing out: this device stops receiving pushes (best effort; nothing
/// to show, the session is ending).
pub async fn forget_device(api: &Api) {
    if unsupported().is_some() {
        return;
    }
    let Some(reg) = current_registration().await else {
        return;
    };
    if let Ok(Some(sub)) = subscription(&reg).await {
        let _ = api.push_unsubscribe(&sub.endpoint()).await;
        let _ = wait(sub.unsubscribe()).await;
    }
}
