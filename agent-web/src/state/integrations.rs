//! The reducer's integrations settings (owners): the site's webhook
//! endpoints (add, pause and resume, delete, each one's delivery log and
//! redelivery) and its API keys (create, revoke). A webhook's signing
//! secret and a new key's text come back once, in the answer that created
//! them: they are shown until dismissed and never fetched again. Deleting
//! an endpoint and revoking a key ask "Really?" first.

use super::{Effect, State};
use crate::i18n::{tr, trf};
use crate::services::api::{Answer, Fetch};
use protocol::api::integrations::{
    check_api_key_name, check_webhook_url, ApiKeyView, DeliveryView, HookEvent, NewApiKey,
    NewWebhook, WebhookPatch, WebhookView,
};

/// A line under a section's heading: what just happened, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    /// A refusal (shown as an error).
    pub bad: bool,
}

impl Note {
    pub(super) fn ok(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            text: text.into(),
            bad: false,
        })
    }

    pub(super) fn bad(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            text: text.into(),
            bad: true,
        })
    }
}

/// What a second click would destroy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    DeleteHook(String),
    RevokeKey(String),
}

/// A secret shown once: the webhook's signing secret or a new API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownOnce {
    /// The webhook's or the key's id.
    pub id: String,
    pub text: String,
}

/// An endpoint's delivery log, open under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLog {
    pub hook: String,
    /// Newest first; none while loading.
    pub list: Option<Vec<DeliveryView>>,
}

/// The integrations section's own state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrationsState {
    /// The site's endpoints; none until loaded.
    pub hooks: Option<Vec<WebhookView>>,
    pub keys: Option<Vec<ApiKeyView>>,
    /// The "add webhook" form.
    pub new_url: String,
    pub new_events: Vec<HookEvent>,
    /// The "create API key" form: the bot's name.
    pub new_key_name: String,
    pub secret: Option<ShownOnce>,
    pub new_key: Option<ShownOnce>,
    pub log: Option<DeliveryLog>,
    pub confirming: Option<Confirm>,
    pub hooks_note: Option<Note>,
    pub keys_note: Option<Note>,
    /// A webhook is being added (the button waits for the answer).
    pub adding: bool,
}

/// What the integrations section does.
#[derive(Debug)]
pub enum IntegrationsAction {
    Url(String),
    Event(HookEvent, bool),
    AddHook,
    /// Pauses (true) or resumes an endpoint.
    Pause(String, bool),
    /// Asks "Really?" before a delete or a revoke.
    Ask(Confirm),
    Cancel,
    /// The "Really?" answered yes.
    Confirmed,
    /// Opens an endpoint's delivery log (or closes it when open).
    Deliveries(String),
    RefreshDeliveries,
    Redeliver {
        hook: String,
        delivery: String,
    },
    KeyName(String),
    AddKey,
    CopySecret,
    CopyKey,
    /// Hides the secret or key shown once (it cannot be shown again).
    DismissSecret,
    DismissKey,
}

impl State {
    /// Fetches the site's endpoints and keys (owners).
    pub(super) fn load_integrations(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        fx.push(Effect::Fetch(Fetch::Webhooks(site.clone())));
        fx.push(Effect::Fetch(Fetch::ApiKeys(site)));
    }

    pub(super) fn reduce_integrations(
        &mut self,
        a: IntegrationsAction,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let Some(site) = self.model.site.clone() else {
            return false;
        };
        let st = &mut self.settings.integrations;
        match a {
            IntegrationsAction::Url(v) => {
                st.new_url = v;
                return false;
            }
            IntegrationsAction::KeyName(v) => {
                st.new_key_name = v;
                return false;
            }
            IntegrationsAction::Event(e, on) => {
                st.new_events.retain(|x| *x != e);
                if on {
                    st.new_events.push(e);
                    st.new_events.sort();
                }
            }
            IntegrationsAction::AddHook => {
                // The relay's own URL rules (it alone knows whether plain
                // http:// is allowed, and where the host resolves).
                let url = st.new_url.trim().to_string();
                if let Err(e) = check_webhook_url(&url, true) {
                    st.hooks_note = Note::bad(trf("Not added: {}", &[&e.message]));
                } else if st.new_events.is_empty() {
                    st.hooks_note = Note::bad(tr("Not added: pick at least one event"));
                } else if !st.adding {
                    st.adding = true;
                    st.hooks_note = Note::ok(tr("Adding…"));
                    let body = NewWebhook {
                        url,
                        events: st.new_events.clone(),
                    };
                    fx.push(Effect::Fetch(Fetch::AddWebhook(site, body)));
                }
            }
            IntegrationsAction::Pause(hook, paused) => {
                let body = WebhookPatch {
                    paused: Some(paused),
                    ..Default::default()
                };
                fx.push(Effect::Fetch(Fetch::PatchWebhook(site, hook, body)));
            }
            IntegrationsAction::Ask(c) => st.confirming = Some(c),
            IntegrationsAction::Cancel => st.confirming = None,
            IntegrationsAction::Confirmed => match st.confirming.take() {
                Some(Confirm::DeleteHook(hook)) => {
                    fx.push(Effect::Fetch(Fetch::DeleteWebhook(site, hook)))
                }
                Some(Confirm::RevokeKey(key)) => {
                    fx.push(Effect::Fetch(Fetch::DeleteApiKey(site, key)))
                }
                None => return false,
            },
            IntegrationsAction::Deliveries(hook) => {
                if st.log.as_ref().is_some_and(|l| l.hook == hook) {
                    st.log = None;
                } else {
                    st.log = Some(DeliveryLog {
                        hook: hook.clone(),
                        list: None,
                    });
                    fx.push(Effect::Fetch(Fetch::Deliveries(site, hook)));
                }
            }
            IntegrationsAction::RefreshDeliveries => {
                let Some(log) = &st.log else {
                    return false;
                };
                fx.push(Effect::Fetch(Fetch::Deliveries(site, log.hook.clone())));
                return false;
            }
            IntegrationsAction::Redeliver { hook, delivery } => {
                fx.push(Effect::Fetch(Fetch::Redeliver(site, hook, delivery)));
            }
            IntegrationsAction::AddKey => {
                let name = st.new_key_name.trim().to_string();
                match check_api_key_name(&name) {
                    Ok(()) => {
                        st.keys_note = Note::ok(tr("Creating…"));
                        fx.push(Effect::Fetch(Fetch::AddApiKey(site, NewApiKey { name })));
                    }
                    Err(e) => st.keys_note = Note::bad(trf("Not created: {}", &[&e.message])),
                }
            }
            IntegrationsAction::CopySecret | IntegrationsAction::CopyKey => {
                let (shown, note, what) = if matches!(a, IntegrationsAction::CopySecret) {
                    (&st.secret, &mut st.hooks_note, tr("Secret copied."))
                } else {
                    (&st.new_key, &mut st.keys_note, tr("Key copied."))
                };
                let Some(s) = shown else {
                    return false;
                };
                fx.push(Effect::CopyToClipboard(s.text.clone()));
                *note = Note::ok(what);
            }
            IntegrationsAction::DismissSecret => st.secret = None,
            IntegrationsAction::DismissKey => st.new_key = None,
        }
        true
    }

    /// The integrations section's answers; false for any other.
    pub(super) fn integrations_answered(&mut self, answer: Answer, fx: &mut Vec<Effect>) -> bool {
        let st = &mut self.settings.integrations;
        match answer {
            Answer::Webhooks(Ok(list)) => st.hooks = Some(list),
            Answer::Webhooks(Err(e)) => st.hooks_note = Note::bad(e),
            Answer::WebhookAdded(r) => {
                st.adding = false;
                match r {
                    Ok(mut h) => {
                        st.hooks_note = Note::ok(trf("Added {}.", &[&h.url]));
                        st.new_url.clear();
                        st.new_events.clear();
                        if let Some(text) = h.secret.take() {
                            st.secret = Some(ShownOnce {
                                id: h.id.clone(),
                                text,
                            });
                        }
                        st.hooks.get_or_insert_with(Vec::new).push(h);
                    }
                    Err(e) => st.hooks_note = Note::bad(trf("Not added: {}", &[&e])),
                }
            }
            Answer::WebhookPatched(Ok(h)) => {
                st.hooks_note = Note::ok(if h.paused {
                    trf("Paused {}.", &[&h.url])
                } else {
                    trf("Resumed {}: events are delivered again.", &[&h.url])
                });
                for x in st.hooks.iter_mut().flatten().filter(|x| x.id == h.id) {
                    *x = h.clone();
                }
            }
            Answer::WebhookPatched(Err(e)) => {
                st.hooks_note = Note::bad(trf("Not changed: {}", &[&e]))
            }
            Answer::WebhookDeleted(hook, Ok(())) => {
                st.hooks_note = Note::ok(tr("Webhook deleted."));
                if let Some(list) = &mut st.hooks {
                    list.retain(|h| h.id != hook);
                }
                if st.log.as_ref().is_some_and(|l| l.hook == hook) {
                    st.log = None;
                }
                if st.secret.as_ref().is_some_and(|s| s.id == hook) {
                    st.secret = None;
                }
            }
            Answer::WebhookDeleted(_, Err(e)) => {
                st.hooks_note = Note::bad(trf("Not deleted: {}", &[&e]))
            }
            Answer::Deliveries(hook, r) => {
                let Some(log) = st.log.as_mut().filter(|l| l.hook == hook) else {
                    return true;
                };
                match r {
                    Ok(page) => log.list = Some(page.deliveries),
                    Err(e) => {
                        log.list.get_or_insert_with(Vec::new);
                        st.hooks_note = Note::bad(e);
                    }
                }
            }
            Answer::Redelivered(hook, r) => match r {
                Ok(()) => {
                    st.hooks_note = Note::ok(tr(
                        "Queued again with the same event id: “Refresh” shows the attempt.",
                    ));
                    if let Some(site) = self.model.site.clone() {
                        fx.push(Effect::Fetch(Fetch::Deliveries(site, hook)));
                    }
                }
                Err(e) => st.hooks_note = Note::bad(trf("Not redelivered: {}", &[&e])),
            },
            Answer::ApiKeys(Ok(list)) => st.keys = Some(list),
            Answer::ApiKeys(Err(e)) => st.keys_note = Note::bad(e),
            Answer::ApiKeyAdded(Ok(mut k)) => {
                st.keys_note = Note::ok(trf("Created a key for {}.", &[&k.name]));
                st.new_key_name.clear();
                if let Some(text) = k.key.take() {
                    st.new_key = Some(ShownOnce {
                        id: k.id.clone(),
                        text,
                    });
                }
                st.keys.get_or_insert_with(Vec::new).push(k);
            }
            Answer::ApiKeyAdded(Err(e)) => st.keys_note = Note::bad(trf("Not created: {}", &[&e])),
            Answer::ApiKeyRevoked(key, Ok(())) => {
                st.keys_note = Note::ok(tr("Key revoked: it stopped working."));
                if let Some(list) = &mut st.keys {
                    list.retain(|k| k.id != key);
                }
                if st.new_key.as_ref().is_some_and(|k| k.id == key) {
                    st.new_key = None;
                }
            }
            Answer::ApiKeyRevoked(_, Err(e)) => {
                st.keys_note = Note::bad(trf("Not revoked: {}", &[&e]))
            }
            _ => return false,
        }
        true
    }
}
