//! What the relay remembers of visitors: their records and page views.

use super::{decode, encode, join, Result, Store};
use protocol::{Channel, PageInfo, SiteId, UserInfo, VisitorId};
use serde::{Deserialize, Serialize};

/// What the relay remembers of a visitor between visits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorRecord {
    pub id: VisitorId,
    pub site: SiteId,
    pub first_seen: u64,
    pub last_seen: u64,
    pub visits: u32,
    #[serde(default)]
    pub user: Option<UserInfo>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// When the current visit started (ms); 0 on records from before it was
    /// kept (their next hello starts a visit).
    #[serde(default)]
    pub visit_start: u64,
    /// Page views recorded in the current visit.
    #[serde(default)]
    pub visit_pages: u32,
    /// The current visit's external referrer (see `VisitorInfo::referrer`).
    #[serde(default)]
    pub referrer: Option<String>,
    /// Where the visitor talks from (the widget, the hosted page, WeChat).
    #[serde(default, skip_serializing_if = "Channel::is_web")]
    pub channel: Channel,
}

/// One stored page view.
pub type PageRecord = PageInfo;

impl Store {
    pub(super) fn visitor_key(site: &SiteId, visitor: &VisitorId) -> Vec<u8> {
        join(&[site.as_str().as_bytes(), visitor.as_str().as_bytes()])
    }

    pub fn visitor(&self, site: &SiteId, visitor: &VisitorId) -> Result<Option<VisitorRecord>> {
        Self::get(&self.visitors, &Self::visitor_key(site, visitor))
    }

    pub fn put_visitor(&self, v: &VisitorRecord) -> Result<()> {
        self.visitors
            .insert(Self::visitor_key(&v.site, &v.id), encode(v)?)?;
        Ok(())
    }

    /// Changes a stored visitor record in place: `f` gets the latest and
    /// says whether it changed it; the write happens only if nobody wrote
    /// the record meanwhile (else `f` runs again on theirs), so writers of
    /// different fields (a form, a page view, an agent's edit) never undo
    /// each other. `None`: no such visitor.
    pub fn update_visitor(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        mut f: impl FnMut(&mut VisitorRecord) -> bool,
    ) -> Result<Option<VisitorRecord>> {
        let key = Self::visitor_key(site, visitor);
        loop {
            let Some(old) = self.visitors.get(&key)? else {
                return Ok(None);
            };
            let mut rec: VisitorRecord = decode(&key, &old)?;
            if !f(&mut rec) {
                return Ok(Some(rec));
            }
            let new = encode(&rec)?;
            if self
                .visitors
                .compare_and_swap(&key, Some(&old), Some(new))?
                .is_ok()
            {
                return Ok(Some(rec));
            }
        }
    }

    /// Records a page view (not part of the delivery promise: flushed by
    /// sled's background flusher or the next group commit).
    pub fn record_page(&self, site: &SiteId, visitor: &VisitorId, page: &PageRecord) -> Result<()> {
        let key = [
            Self::visitor_key(site, visitor).as_slice(),
            b"\0",
            &page.at.to_be_bytes(),
        ]
        .concat();
        self.pages.insert(key, encode(page)?)?;
        Ok(())
    }

    /// The visitor's page views, oldest first, at most `limit` (the newest).
    pub fn pages(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        limit: usize,
    ) -> Result<Vec<PageRecord>> {
        let prefix = [Self::visitor_key(site, visitor).as_slice(), b"\0"].concat();
        let mut out = Vec::new();
        for item in self.pages.scan_prefix(&prefix).rev().take(limit) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        out.reverse();
        Ok(out)
    }

    /// Every visitor record of a site (profiles, stats).
    pub fn site_visitors(&self, site: &SiteId) -> Result<Vec<VisitorRecord>> {
        Self::all(&self.visitors, &[site.as_str().as_bytes(), b"\0"].concat())
    }
}
