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
    /// The address of the latest connection (`--trust-proxy` decides
    /// whether a proxy's forwarded address is taken), shown to agents and
    /// matched by IP blocks; removed by an erase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<String>,
}

/// The attribute a form's phone number is kept under.
pub const PHONE_ATTRIBUTE: &str = "phone";
/// The attribute holding when consent was given (ms).
pub const CONSENT_ATTRIBUTE: &str = "consent";

/// What one form answer changed on a record, to take it back when the
/// group that was to make it durable fails ([`VisitorRecord::undo_contact`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactUndo {
    pub cid: String,
    /// `(before, after)` of the name and the email, when the form set them.
    name: Option<(Option<String>, String)>,
    email: Option<(Option<String>, String)>,
    /// `(key, before, after)` of each attribute the form set.
    attributes: Vec<(String, Option<serde_json::Value>, serde_json::Value)>,
}

impl VisitorRecord {
    /// A visitor first seen at `now`, before their first hello is counted:
    /// no visit, no identity, on the site's pages.
    pub fn new(site: &SiteId, visitor: &VisitorId, now: u64) -> VisitorRecord {
        VisitorRecord {
            id: visitor.clone(),
            site: site.clone(),
            first_seen: now,
            last_seen: 0,
            visits: 0,
            user: None,
            verified: false,
            user_agent: None,
            visit_start: 0,
            visit_pages: 0,
            referrer: None,
            channel: Channel::Web,
            contact_cids: Vec::new(),
            last_ip: None,
        }
    }

    /// Takes what the visitor gave in a form (already validated) and
    /// remembers `cid`; returns what it changed.
    ///
    /// Not verified: the name and email, the phone and custom fields as
    /// attributes, consent as the time it was given — a later answer
    /// replaces an earlier one.
    ///
    /// Verified (everything in `user` came with the host page's valid
    /// `user_hash`): a form never writes the name or the email, so nothing
    /// a visitor typed shows under the verified badge; the phone, fields
    /// and consent only fill attributes the record does not have yet,
    /// never replacing what the host page set.
    pub fn take_contact(&mut self, c: &Contact, cid: &str, now: u64) -> ContactUndo {
        let verified = self.verified;
        let user = self.user.get_or_insert_with(UserInfo::default);
        let mut undo = ContactUndo {
            cid: cid.to_string(),
            ..ContactUndo::default()
        };
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if !verified {
            if let Some(n) = given(&c.name) {
                undo.name = Some((user.name.replace(n.clone()), n));
            }
            if let Some(e) = given(&c.email) {
                undo.email = Some((user.email.replace(e.clone()), e));
            }
        }
        let mut set = |k: &str, v: serde_json::Value| {
            if verified && user.attributes.contains_key(k) {
                return;
            }
            let before = user.attributes.insert(k.to_string(), v.clone());
            undo.attributes.push((k.to_string(), before, v));
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
        if !self.contact_cids.iter().any(|x| x == cid) {
            self.contact_cids.push(cid.to_string());
        }
        let over = self
            .contact_cids
            .len()
            .saturating_sub(protocol::limits::CONTACT_CIDS_KEPT);
        self.contact_cids.drain(..over);
        undo
    }

    /// Takes back what [`VisitorRecord::take_contact`] changed, where it
    /// still holds what the form wrote (a later writer's value stays), and
    /// forgets the cid: the answer was never saved.
    pub fn undo_contact(&mut self, u: &ContactUndo) {
        self.contact_cids.retain(|c| c != &u.cid);
        let Some(user) = self.user.as_mut() else {
            return;
        };
        let back = |field: &mut Option<String>, change: &Option<(Option<String>, String)>| {
            if let Some((before, after)) = change {
                if field.as_deref() == Some(after.as_str()) {
                    field.clone_from(before);
                }
            }
        };
        back(&mut user.name, &u.name);
        back(&mut user.email, &u.email);
        for (k, before, after) in u.attributes.iter().rev() {
            if user.attributes.get(k) == Some(after) {
                match before {
                    Some(b) => user.attributes.insert(k.clone(), b.clone()),
                    None => user.attributes.remove(k),
                };
            }
        }
        if *user == UserInfo::default() {
            self.user = None;
        }
    }

    /// Whether the visitor's contact has a name or an email, or the
    /// visitor answered a form (the pre-chat form is skipped, the offline
    /// form asked once) — a verified visitor's answer keeps no name.
    pub fn known(&self) -> bool {
        !self.contact_cids.is_empty()
            || self.user.as_ref().is_some_and(|u| {
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

    /// Like [`Store::update_visitor`], for a record that may not exist
    /// yet (a first hello): `f` changes the latest, or `fresh` when there
    /// is none; written only if nobody wrote (or created) it meanwhile,
    /// else `f` runs again on theirs.
    pub fn upsert_visitor(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        fresh: &VisitorRecord,
        mut f: impl FnMut(&mut VisitorRecord),
    ) -> Result<VisitorRecord> {
        let key = Self::visitor_key(site, visitor);
        loop {
            let old = self.visitors.get(&key)?;
            let mut rec = match &old {
                Some(bytes) => decode(&key, bytes)?,
                None => fresh.clone(),
            };
            f(&mut rec);
            let new = encode(&rec)?;
            if self
                .visitors
                .compare_and_swap(&key, old.as_ref(), Some(new))?
                .is_ok()
            {
                return Ok(rec);
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
            visits: 1,
            user,
            verified,
            ..VisitorRecord::new(
                &SiteId::new("s").expect("id"),
                &VisitorId::new("v1").expect("id"),
                0,
            )
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

    /// A hello's upsert creates a missing record, and like an update never
    /// undoes a write between its read and its write (a form answered in
    /// another tab): it runs again on the latest.
    #[test]
    fn upserts_create_and_keep_a_concurrent_write() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let fresh = record(None, false);
        let made = store.upsert_visitor(&fresh.site, &fresh.id, &fresh, |v| v.visits += 1)?;
        assert_eq!(made.visits, 2);
        assert_eq!(store.visitor(&fresh.site, &fresh.id)?, Some(made));
        let mut runs = 0;
        let out = store.upsert_visitor(&fresh.site, &fresh.id, &fresh, |v| {
            runs += 1;
            if runs == 1 {
                let mut other = v.clone();
                other.take_contact(&contact("Ada", "ada@example.com"), "c1", 1);
                store.put_visitor(&other).expect("put");
            }
            v.visits += 1;
        })?;
        assert_eq!(runs, 2);
        assert_eq!(out.visits, 3);
        assert!(out.known(), "the form's write stayed");
        assert_eq!(store.visitor(&fresh.site, &fresh.id)?, Some(out));
        // Created by someone else between the read and the write.
        let other = VisitorId::new("v2")?;
        let fresh2 = VisitorRecord {
            id: other.clone(),
            ..record(None, false)
        };
        let mut runs = 0;
        let out = store.upsert_visitor(&fresh2.site, &other, &fresh2, |v| {
            runs += 1;
            v.visits = 7;
            if runs == 1 {
                let mut theirs = fresh2.clone();
                theirs.take_contact(&contact("Bo", "bo@example.com"), "c2", 1);
                store.put_visitor(&theirs).expect("put");
            }
        })?;
        assert_eq!(runs, 2);
        assert!(out.known(), "their record, not a fresh one");
        assert_eq!(out.visits, 7);
        Ok(())
    }

    /// A verified identity keeps what the host page set: a form writes no
    /// name or email (not even missing ones: they would show as
    /// verified) and only adds attributes it lacks.
    #[test]
    fn a_verified_identity_is_not_overwritten() {
        let user = UserInfo {
            id: Some("u1".into()),
            email: Some("grace@example.com".into()),
            attributes: [("plan".to_string(), "enterprise".into())].into(),
            ..UserInfo::default()
        };
        let mut r = record(Some(user), true);
        r.take_contact(&contact("G", "eve@example.com"), "c1", 1);
        let u = r.user.clone().expect("user");
        assert_eq!(u.email.as_deref(), Some("grace@example.com"));
        assert_eq!(u.name, None, "a typed name is not presented as verified");
        assert_eq!(u.attributes["plan"], "enterprise", "the host's plan stays");
        assert_eq!(u.attributes[PHONE_ATTRIBUTE], "+1 555 0100", "added");
        assert!(r.known(), "answered a form: not asked again");
        let mut again = contact("G", "eve@example.com");
        again.phone = Some("+1 555 0199".into());
        r.take_contact(&again, "c2", 2);
        let u = r.user.expect("user");
        assert_eq!(u.attributes[PHONE_ATTRIBUTE], "+1 555 0100", "kept");
        assert_eq!(u.attributes[CONSENT_ATTRIBUTE], 1, "kept");
    }

    /// An answer taken back (its group failed) leaves the record as it
    /// was, except where someone wrote since; its cid is forgotten, so a
    /// retry is taken afresh.
    #[test]
    fn an_undone_answer_leaves_nothing_but_later_writes() {
        let user = UserInfo {
            name: Some("Old".into()),
            attributes: [("plan".to_string(), "free".into())].into(),
            ..UserInfo::default()
        };
        let mut r = record(Some(user), false);
        let before = r.clone();
        let undo = r.take_contact(&contact("Ada", "ada@example.com"), "c1", 42);
        assert!(r.contact_cids.contains(&"c1".to_string()));
        let mut plain = r.clone();
        plain.undo_contact(&undo);
        assert_eq!(plain, before);
        // An agent corrected the email meanwhile: that stays.
        r.user.as_mut().expect("user").email = Some("fixed@example.com".into());
        r.undo_contact(&undo);
        let u = r.user.clone().expect("user");
        assert_eq!(u.name.as_deref(), Some("Old"));
        assert_eq!(u.email.as_deref(), Some("fixed@example.com"));
        assert_eq!(u.attributes["plan"], "free");
        assert!(!u.attributes.contains_key(PHONE_ATTRIBUTE));
        assert!(r.contact_cids.is_empty());
        let mut fresh = record(None, false);
        let undo = fresh.take_contact(&contact("Ada", "a@example.com"), "c9", 1);
        fresh.undo_contact(&undo);
        assert_eq!(fresh, record(None, false));
    }
}
