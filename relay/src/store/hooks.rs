//! Integrations' records: webhook endpoints and their delivery logs, API keys.

use super::{encode, join, Result, Store};
use protocol::api::integrations::{ApiKeyView, DeliveryView, HookEvent, WebhookView};
use protocol::limits::WEBHOOK_LOG_KEEP;
use protocol::{AgentId, SiteId};
use serde::{Deserialize, Serialize};

/// A webhook endpoint of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRecord {
    pub id: String,
    pub site: SiteId,
    pub url: String,
    pub events: Vec<HookEvent>,
    /// HMAC-SHA256 key of the signatures (shown once, at creation).
    pub secret: String,
    pub created: u64,
    #[serde(default)]
    pub paused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// Failed attempts in a row.
    #[serde(default)]
    pub failures: u32,
}

impl WebhookRecord {
    pub fn view(&self) -> WebhookView {
        WebhookView {
            id: self.id.clone(),
            url: self.url.clone(),
            events: self.events.clone(),
            created: self.created,
            paused: self.paused,
            paused_reason: self.paused_reason.clone(),
            failures: self.failures,
            secret: None,
        }
    }
}

/// One attempt, as the delivery log keeps it; with the body, so an
/// owner can redeliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    #[serde(flatten)]
    pub view: DeliveryView,
    pub body: String,
}

/// An API key: its bot agent; the key is a token (`tokens`, hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub site: SiteId,
    pub name: String,
    pub agent: AgentId,
    pub prefix: String,
    /// SHA-256 of the key (the `tokens` entry's key).
    pub hash: Vec<u8>,
    pub created: u64,
}

impl ApiKeyRecord {
    pub fn view(&self) -> ApiKeyView {
        ApiKeyView {
            id: self.id.clone(),
            name: self.name.clone(),
            agent: self.agent.clone(),
            prefix: self.prefix.clone(),
            created: self.created,
            key: None,
        }
    }
}

fn site_prefix(site: &SiteId) -> Vec<u8> {
    [site.as_str().as_bytes(), b"\0"].concat()
}

impl Store {
    pub fn webhooks(&self, site: &SiteId) -> Result<Vec<WebhookRecord>> {
        Self::all(&self.webhooks, &site_prefix(site))
    }

    pub fn all_webhooks(&self) -> Result<Vec<WebhookRecord>> {
        Self::all(&self.webhooks, b"")
    }

    pub fn webhook(&self, site: &SiteId, id: &str) -> Result<Option<WebhookRecord>> {
        Self::get(
            &self.webhooks,
            &join(&[site.as_str().as_bytes(), id.as_bytes()]),
        )
    }

    /// Stores an endpoint, durably (settings are rare; an owner expects
    /// one saved to stay saved).
    pub fn put_webhook(&self, h: &WebhookRecord) -> Result<()> {
        let key = join(&[h.site.as_str().as_bytes(), h.id.as_bytes()]);
        self.webhooks.insert(key, encode(h)?)?;
        Ok(())
    }

    /// Removes an endpoint and its delivery log.
    pub fn delete_webhook(&self, site: &SiteId, id: &str) -> Result<bool> {
        let gone = self
            .webhooks
            .remove(join(&[site.as_str().as_bytes(), id.as_bytes()]))?
            .is_some();
        let mut batch = sled::Batch::default();
        for item in self.hook_log.scan_prefix([id.as_bytes(), b"\0"].concat()) {
            batch.remove(item?.0);
        }
        self.hook_log.apply_batch(batch)?;
        Ok(gone)
    }

    /// Appends an attempt to an endpoint's log, keeping the last
    /// [`WEBHOOK_LOG_KEEP`].
    pub fn log_delivery(&self, hook: &str, d: &DeliveryRecord) -> Result<()> {
        let prefix = [hook.as_bytes(), b"\0"].concat();
        self.hook_log.insert(
            [prefix.as_slice(), d.view.id.as_bytes()].concat(),
            encode(d)?,
        )?;
        let n = self.hook_log.scan_prefix(&prefix).count();
        if n > WEBHOOK_LOG_KEEP {
            let mut batch = sled::Batch::default();
            for item in self
                .hook_log
                .scan_prefix(&prefix)
                .take(n - WEBHOOK_LOG_KEEP)
            {
                batch.remove(item?.0);
            }
            self.hook_log.apply_batch(batch)?;
        }
        Ok(())
    }

    /// An endpoint's log, newest first.
    pub fn deliveries(&self, hook: &str) -> Result<Vec<DeliveryRecord>> {
        let mut out: Vec<DeliveryRecord> =
            Self::all(&self.hook_log, &[hook.as_bytes(), b"\0"].concat())?;
        out.reverse();
        Ok(out)
    }

    pub fn delivery(&self, hook: &str, id: &str) -> Result<Option<DeliveryRecord>> {
        Self::get(&self.hook_log, &join(&[hook.as_bytes(), id.as_bytes()]))
    }

    pub fn api_keys(&self, site: &SiteId) -> Result<Vec<ApiKeyRecord>> {
        Self::all(&self.api_keys, &site_prefix(site))
    }

    pub fn api_key(&self, site: &SiteId, id: &str) -> Result<Option<ApiKeyRecord>> {
        Self::get(
            &self.api_keys,
            &join(&[site.as_str().as_bytes(), id.as_bytes()]),
        )
    }

    pub fn put_api_key(&self, k: &ApiKeyRecord) -> Result<()> {
        let key = join(&[k.site.as_str().as_bytes(), k.id.as_bytes()]);
        self.api_keys.insert(key, encode(k)?)?;
        Ok(())
    }

    pub fn delete_api_key(&self, site: &SiteId, id: &str) -> Result<()> {
        self.api_keys
            .remove(join(&[site.as_str().as_bytes(), id.as_bytes()]))?;
        Ok(())
    }
}
