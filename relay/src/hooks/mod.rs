//! Webhooks: a site's events delivered, signed, to the owner's endpoints.
//!
//! [`Hooks`] keeps every site's endpoints in memory (the commit thread
//! asks it about each durable event, so it must not read the store) and
//! turns events into delivery jobs of the outbound queue
//! ([`crate::outbox`], kind `webhook`, one lane per endpoint): staged in
//! the event's own batch, so a delivery is queued exactly when its event is
//! stored. [`send::Courier`] delivers them.
//!
//! Each delivery is a POST of
//! `{"id", "type", "created", "site", "data"}` (JSON) with
//! - `Kefu-Event-Id`: the event's stable id — the same in every retry and
//!   redelivery, so a receiver deduplicates by it;
//! - `Kefu-Event-Type`: `message.created`, …;
//! - `Kefu-Timestamp`: Unix seconds of this attempt;
//! - `Kefu-Signature`: `v1=` hex HMAC-SHA256(secret, `{timestamp}.{body}`).
//!
//! Event ids: `{conv}.{seq}` for an event of a conversation (its
//! `conversation.created` is `{conv}.created`), `{visitor}.identified.{ms}`
//! for an identification.

pub mod send;

use crate::outbox::{Kind, OutJob, Queue, Stage};
use crate::store::{ConvRecord, Store, StoreError, WebhookRecord};
use protocol::api::integrations::HookEvent;
use protocol::limits::MAX_WEBHOOK_BODY_BYTES;
use protocol::{Event, EventBody, SiteId, UserInfo, VisitorId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What a delivery job carries (the job's `body`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub site: SiteId,
    pub hook: String,
    pub event: HookEvent,
    pub event_id: String,
    /// The exact bytes POSTed (and signed).
    pub body: String,
}

/// The JSON every delivery POSTs.
#[derive(Debug, Serialize)]
struct Envelope<'a, T: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    created: u64,
    site: &'a SiteId,
    data: T,
}

pub struct Hooks {
    queue: Arc<Queue>,
    /// Every endpoint per site (paused ones too: their deliveries wait).
    sites: RwLock<HashMap<SiteId, Vec<WebhookRecord>>>,
    pub allow_private: bool,
}

impl Hooks {
    /// The registry over the store's endpoints and the webhook queue.
    pub fn open(store: Arc<Store>, allow_private: bool) -> Result<Arc<Hooks>, StoreError> {
        let mut sites: HashMap<SiteId, Vec<WebhookRecord>> = HashMap::new();
        for h in store.all_webhooks()? {
            sites.entry(h.site.clone()).or_default().push(h);
        }
        Ok(Arc::new(Hooks {
            queue: Queue::open(store, Kind::Webhook)?,
            sites: RwLock::new(sites),
            allow_private,
        }))
    }

    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }

    /// Stores an endpoint (new or changed) and updates the registry.
    pub fn put(&self, h: &WebhookRecord) -> Result<(), StoreError> {
        self.queue.store().put_webhook(h)?;
        self.queue.store().sync()?;
        let mut sites = self.sites.write().unwrap_or_else(|p| p.into_inner());
        let list = sites.entry(h.site.clone()).or_default();
        list.retain(|x| x.id != h.id);
        list.push(h.clone());
        drop(sites);
        if !h.paused {
            self.queue.poke();
        }
        Ok(())
    }

    pub fn delete(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        let gone = self.queue.store().delete_webhook(site, id)?;
        self.queue.store().sync()?;
        let mut sites = self.sites.write().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = sites.get_mut(site) {
            list.retain(|x| x.id != id);
        }
        Ok(gone)
    }

    /// Applies an attempt's outcome to the endpoint as it is now (an owner
    /// may have changed, paused or deleted it during the attempt): only
    /// its failure count and pause, and nothing when it is gone. Returns
    /// the endpoint after the change.
    pub fn record_outcome(
        &self,
        site: &SiteId,
        id: &str,
        change: impl FnOnce(&mut WebhookRecord),
    ) -> Result<Option<WebhookRecord>, StoreError> {
        let mut sites = self.sites.write().unwrap_or_else(|p| p.into_inner());
        let Some(h) = sites
            .get_mut(site)
            .and_then(|l| l.iter_mut().find(|h| h.id == id))
        else {
            return Ok(None);
        };
        let before = (h.failures, h.paused);
        change(h);
        if (h.failures, h.paused) != before {
            // Written under the lock, so a concurrent owner's change cannot
            // interleave; made durable with the queue's next sync.
            self.queue.store().put_webhook(h)?;
        }
        Ok(Some(h.clone()))
    }

    /// Makes a resumed endpoint's held deliveries due now.
    pub fn resume(&self, id: &str) -> Result<(), StoreError> {
        let store = self.queue.store();
        for mut job in store.out_jobs(Kind::Webhook)? {
            if job.lane == id && job.next_at > 0 {
                job.next_at = 0;
                store.put_out_job(&job)?;
            }
        }
        store.sync()?;
        self.queue.poke();
        Ok(())
    }

    /// The endpoint as the registry has it (the courier's view).
    pub fn get(&self, site: &SiteId, id: &str) -> Option<WebhookRecord> {
        let sites = self.sites.read().unwrap_or_else(|p| p.into_inner());
        sites.get(site)?.iter().find(|h| h.id == id).cloned()
    }

    /// One job per active endpoint of `site` subscribed to `event`.
    fn jobs<T: Serialize>(
        &self,
        site: &SiteId,
        event: HookEvent,
        event_id: &str,
        data: impl FnOnce() -> T,
    ) -> Vec<OutJob> {
        let sites = self.sites.read().unwrap_or_else(|p| p.into_inner());
        let Some(list) = sites.get(site) else {
            return Vec::new();
        };
        // Paused endpoints still queue: their deliveries wait (up to the
        // queue's age limit) until an owner resumes them.
        let targets: Vec<&WebhookRecord> =
            list.iter().filter(|h| h.events.contains(&event)).collect();
        if targets.is_empty() {
            return Vec::new();
        }
        let envelope = Envelope {
            id: event_id,
            kind: event.name(),
            created: crate::now_ms(),
            site,
            data: data(),
        };
        let body = match serde_json::to_string(&envelope) {
            Ok(b) if b.len() <= MAX_WEBHOOK_BODY_BYTES => b,
            Ok(_) | Err(_) => {
                tracing::error!(
                    event = event.name(),
                    "webhook: event not encodable; skipped"
                );
                return Vec::new();
            }
        };
        targets
            .into_iter()
            .filter_map(|h| {
                let d = Delivery {
                    site: site.clone(),
                    hook: h.id.clone(),
                    event,
                    event_id: event_id.to_string(),
                    body: body.clone(),
                };
                let v = serde_json::to_value(&d).ok()?;
                Some(OutJob::new(Kind::Webhook, h.id.clone(), v))
            })
            .collect()
    }

    /// `visitor.identified`: queued (durably) by the session that received
    /// the identity.
    pub fn identified(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        user: &UserInfo,
        verified: bool,
    ) -> Result<(), StoreError> {
        #[derive(Serialize)]
        struct Data<'a> {
            visitor: &'a VisitorId,
            user: &'a UserInfo,
            verified: bool,
        }
        let id = format!("{visitor}.identified.{}", crate::now_ms());
        let mut user = user.clone();
        user.user_hash = None;
        for job in self.jobs(site, HookEvent::VisitorIdentified, &id, || Data {
            visitor,
            user: &user,
            verified,
        }) {
            self.queue.enqueue(&job)?;
        }
        Ok(())
    }
}

/// The webhook events a conversation event is.
fn hook_events(rec: &ConvRecord, ev: &Event) -> Vec<(HookEvent, String)> {
    let id = |s: &str| format!("{}.{s}", rec.id);
    let mut out = Vec::new();
    match &ev.body {
        EventBody::Message { .. } => {
            if ev.seq == 1 {
                out.push((HookEvent::ConversationCreated, id("created")));
            }
            out.push((HookEvent::MessageCreated, id(&ev.seq.to_string())));
        }
        EventBody::Assigned { .. } => {
            out.push((HookEvent::ConversationAssigned, id(&ev.seq.to_string())))
        }
        EventBody::Closed { .. } => {
            out.push((HookEvent::ConversationClosed, id(&ev.seq.to_string())))
        }
        // Reopening is a message's side effect; notes and labels are the
        // agents' own and never leave.
        EventBody::Reopened { .. }
        | EventBody::Note { .. }
        | EventBody::Labeled { .. }
        | EventBody::Rated { .. }
        | EventBody::AutoReply { .. }
        | EventBody::Contacted { .. } => {}
    }
    out
}

impl Stage for Hooks {
    fn jobs_for(&self, rec: &ConvRecord, ev: &Event) -> Vec<OutJob> {
        if ev.body.agents_only() {
            return Vec::new();
        }
        #[derive(Serialize)]
        struct Data<'a> {
            conversation: protocol::ConvSummary,
            event: &'a Event,
        }
        let mut out = Vec::new();
        for (event, id) in hook_events(rec, ev) {
            out.extend(self.jobs(&rec.site, event, &id, || Data {
                conversation: rec.summary(),
                event: ev,
            }));
        }
        out
    }

    fn queue(&self) -> &Queue {
        &self.queue
    }
}
