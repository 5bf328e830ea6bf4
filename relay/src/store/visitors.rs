//! What the relay remembers of visitors: their records and page views.

use super::{decode, encode, join, Result, Store};
use protocol::offline::Contact;
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
    /// The latest form answers' cids (at most
    /// [`protocol::limits::CONTACT_CIDS_KEPT`]), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_cids: Vec<String>,
}

/// The attribute a form's phone number is kept under.
pub const PHONE_ATTRIBUTE: &str = "phone";
/// The attribute holding when consent was given (ms).
pub const CONSENT_ATTRIBUTE: &str = "consent";

impl VisitorRecord {
    /// Takes what the visitor gave in a form (already validated): name and
    /// email (never over a verified identity's own), the phone and custom
    /// fields as attributes, consent as the time it was given; remembers
    /// `cid`.
    pub fn take_contact(&mut self, c: &Contact, cid: &str, now: u64) {
        let verified = self.verified;
        let user = self.user.get_or_insert_with(UserInfo::default);
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(n) = given(&c.name) {
            if !verified || user.name.is_none() {
                user.name = Some(n);
            }
        }
        if let Some(e) = given(&c.email) {
            if !verified || user.email.is_none() {
                user.email = Some(e);
            }
        }
        let mut set = |k: &str, v: serde_json::Value| {
            user.attributes.insert(k.to_string(), v);
        };
        if let Some(p) = given(&c.phone) {
            set(PHONE_ATTRIBUTE, p.into());
        }
        for (k, v) in &c.fields {
            set(k, v.clone().into());
        }
        if c.consent {
            set(CONSENT_ATTRIBUTE, now.into());
        }
        self.contact_cids.push(cid.to_string());
        let over = self
            .contact_cids
            .len()
            .saturating_sub(protocol::limits::CONTACT_CIDS_KEPT);
        self.contact_cids.drain(..over);
    }

    /// Whether the visitor's contact has a name or an email (the pre-chat
    /// form is skipped, the offline form asked once).
    pub fn known(&self) -> bool {
        self.user.as_ref().is_some_and(|u| {
            u.name.as_deref().is_some_and(|n| !n.is_empty())
                || u.email.as_deref().is_some_and(|e| !e.is_empty())
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: Option<UserInfo>, verified: bool) -> VisitorRecord {
        VisitorRecord {
            id: VisitorId::new("v1").expect("id"),
            site: SiteId::new("s").expect("id"),
            first_seen: 0,
            last_seen: 0,
            visits: 1,
            user,
            verified,
            user_agent: None,
            visit_start: 0,
            visit_pages: 0,
            referrer: None,
            channel: Channel::Web,
            contact_cids: Vec::new(),
        }
    }

    fn contact(name: &str, email: &str) -> Contact {
        Contact {
            name: Some(name.into()),
            email: Some(email.into()),
            phone: Some("+1 555 0100".into()),
            fields: [("plan".to_string(), "pro".to_string())].into(),
            consent: true,
            ..Contact::default()
        }
    }

    /// A form fills the contact: name, email, phone, fields and consent's
    /// time; empty answers change nothing; cids are kept to their bound.
    #[test]
    fn a_form_fills_the_contact() {
        let mut r = record(None, false);
        r.take_contact(&contact("Ada", "ada@example.com"), "c1", 42);
        let u = r.user.clone().expect("user");
        assert_eq!(u.name.as_deref(), Some("Ada"));
        assert_eq!(u.email.as_deref(), Some("ada@example.com"));
        assert_eq!(u.attributes[PHONE_ATTRIBUTE], "+1 555 0100");
        assert_eq!(u.attributes["plan"], "pro");
        assert_eq!(u.attributes[CONSENT_ATTRIBUTE], 42);
        assert!(r.known());
        r.take_contact(&contact(" ", ""), "c2", 43);
        assert_eq!(r.user.as_ref().and_then(|u| u.name.as_deref()), Some("Ada"));
        for i in 0..40 {
            r.take_contact(&Contact::default(), &format!("x{i}"), 44);
        }
        assert_eq!(r.contact_cids.len(), protocol::limits::CONTACT_CIDS_KEPT);
        assert_eq!(r.contact_cids.last().map(String::as_str), Some("x39"));
    }

    /// A write between the read and the write of an update is not undone:
    /// the update runs again on it.
    #[test]
    fn updates_in_place_keep_a_concurrent_write() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let r = record(None, false);
        store.put_visitor(&r)?;
        let mut runs = 0;
        let out = store.update_visitor(&r.site, &r.id, |v| {
            runs += 1;
            if runs == 1 {
                // Someone else (a form) writes meanwhile.
                let mut other = v.clone();
                other.take_contact(&contact("Ada", "ada@example.com"), "c1", 1);
                store.put_visitor(&other).expect("put");
            }
            v.visit_pages += 1;
            true
        })?;
        assert_eq!(runs, 2);
        let stored = store.visitor(&r.site, &r.id)?.expect("stored");
        assert_eq!(Some(&stored), out.as_ref());
        assert_eq!(stored.visit_pages, 1);
        assert!(stored.known(), "the form's write stayed");
        let none = VisitorId::new("nobody")?;
        assert!(store.update_visitor(&r.site, &none, |_| true)?.is_none());
        Ok(())
    }

    /// A verified identity keeps its own name and email; a form only fills
    /// what it lacks (and the rest of the contact).
    #[test]
    fn a_verified_identity_is_not_overwritten() {
        let user = UserInfo {
            id: Some("u1".into()),
            email: Some("grace@example.com".into()),
            ..UserInfo::default()
        };
        let mut r = record(Some(user), true);
        r.take_contact(&contact("G", "eve@example.com"), "c1", 1);
        let u = r.user.expect("user");
        assert_eq!(u.email.as_deref(), Some("grace@example.com"));
        assert_eq!(u.name.as_deref(), Some("G"), "it had no name");
        assert_eq!(u.attributes[PHONE_ATTRIBUTE], "+1 555 0100");
    }
}
