//! Site records, their canned replies, and the origins refused recently.

use super::{encode, join, Result, Store};
use protocol::api::RefusedOrigin;
use protocol::SiteId;
use serde::{Deserialize, Serialize};

/// A site: public id, private secret (for `user_hash`), allowed origins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRecord {
    pub id: SiteId,
    pub name: String,
    pub secret: String,
    pub created: u64,
    /// Origins (`https://example.com`) allowed on the visitor endpoints.
    /// Empty: any origin (the default for a new site, so the snippet works
    /// at once; owners narrow it).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub widget: protocol::WidgetSettings,
    /// Assignment mode, no-answer reassignment, teams, labels.
    #[serde(default)]
    pub routing: protocol::api::Routing,
    /// The WeChat Official Account bridge (absent: never set up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<protocol::api::WechatSettings>,
    /// Business hours, auto-reply, the continuity-mail delay.
    #[serde(default)]
    pub offline: protocol::offline::OfflineSettings,
}

/// A canned reply an agent can insert with `/shortcut`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CannedRecord {
    pub id: String,
    pub site: SiteId,
    pub shortcut: String,
    pub text: String,
}

impl Store {
    pub fn site(&self, id: &SiteId) -> Result<Option<SiteRecord>> {
        Self::get(&self.sites, id.as_str().as_bytes())
    }

    pub fn put_site(&self, site: &SiteRecord) -> Result<()> {
        self.sites
            .insert(site.id.as_str().as_bytes(), encode(site)?)?;
        Ok(())
    }

    pub fn site_count(&self) -> usize {
        self.sites.len()
    }

    pub fn sites(&self) -> Result<Vec<SiteRecord>> {
        Self::all(&self.sites, b"")
    }

    fn refused_key(site: &SiteId) -> Vec<u8> {
        join(&[b"refused_origins", site.as_str().as_bytes()])
    }

    /// The origins refused recently for a site's widget (newest first).
    pub fn refused_origins(&self, site: &SiteId) -> Result<Vec<RefusedOrigin>> {
        Ok(Self::get(&self.meta, &Self::refused_key(site))?.unwrap_or_default())
    }

    /// Replaces a site's refused-origin list (see `crate::refused`, which
    /// coalesces these writes).
    pub fn put_refused_origins(&self, site: &SiteId, list: &[RefusedOrigin]) -> Result<()> {
        self.meta.insert(Self::refused_key(site), encode(&list)?)?;
        Ok(())
    }

    pub fn canned(&self, site: &SiteId) -> Result<Vec<CannedRecord>> {
        Self::all(&self.canned, &[site.as_str().as_bytes(), b"\0"].concat())
    }

    pub fn put_canned(&self, c: &CannedRecord) -> Result<()> {
        self.canned.insert(
            join(&[c.site.as_str().as_bytes(), c.id.as_bytes()]),
            encode(c)?,
        )?;
        Ok(())
    }

    /// True if it existed.
    pub fn delete_canned(&self, site: &SiteId, id: &str) -> Result<bool> {
        Ok(self
            .canned
            .remove(join(&[site.as_str().as_bytes(), id.as_bytes()]))?
            .is_some())
    }
}
