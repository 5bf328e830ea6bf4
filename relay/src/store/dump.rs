//! A site's raw key-values, every tree and key kind that belongs to it,
//! for the site stream (the `export` module above): reading them in a stable order
//! while the relay runs, and writing them back on another store. Keeping
//! the entries as stored (not re-encoded records) is what makes an
//! imported site answer the API byte for byte as it did before.
//!
//! Which keys are a site's (see the module doc of [`super`] for the trees):
//! the site record; its canned replies, visitors, pages, webhooks and their
//! delivery logs, API keys and their tokens, upload records and quotas; in
//! `chat` its conversations (`c`), their events (`e`), mail marks (`m`),
//! index entries (`s`, `v`, `f`, `l`, `w`), cid index entries (`k`) that
//! point into them, and outbound jobs (`o`) whose body names the site; in
//! `meta` its refused origins and unsubscribed addresses; the agent records
//! of its members (merged on import, see [`super::AgentRecord`] and
//! docs/export-format.md). Relay-wide keys are not: the signing keys
//! (`server_key`, `mail_key`, `vapid_key`), people's session tokens, Web
//! Push devices (an agent's, not a site's), inbound mail bookkeeping.

use super::{decode, join, keys, AgentRecord, ApiKeyRecord, FileRecord, Result};
use super::{Store, StoreError, WebhookRecord};
use protocol::{ConvId, SiteId};
use std::collections::HashMap;
use std::path::Path;

/// The kinds of entries a site has; the code is the record kind byte of
/// the stream (never reuse a code: old streams must keep their meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    Site,
    Canned,
    Visitor,
    Page,
    Conv,
    Event,
    MailMarks,
    SiteConv,
    VisitorConv,
    FileConv,
    Load,
    Queue,
    Cid,
    OutJob,
    File,
    Quota,
    Webhook,
    HookLog,
    ApiKey,
    Token,
    Agent,
    Meta,
}

impl EntryKind {
    pub const ALL: [EntryKind; 22] = [
        EntryKind::Site,
        EntryKind::Canned,
        EntryKind::Visitor,
        EntryKind::Page,
        EntryKind::Conv,
        EntryKind::Event,
        EntryKind::MailMarks,
        EntryKind::SiteConv,
        EntryKind::VisitorConv,
        EntryKind::FileConv,
        EntryKind::Load,
        EntryKind::Queue,
        EntryKind::Cid,
        EntryKind::OutJob,
        EntryKind::File,
        EntryKind::Quota,
        EntryKind::Webhook,
        EntryKind::HookLog,
        EntryKind::ApiKey,
        EntryKind::Token,
        EntryKind::Agent,
        EntryKind::Meta,
    ];

    pub fn code(self) -> u8 {
        match self {
            EntryKind::Site => 1,
            EntryKind::Canned => 2,
            EntryKind::Visitor => 3,
            EntryKind::Page => 4,
            EntryKind::Conv => 5,
            EntryKind::Event => 6,
            EntryKind::MailMarks => 7,
            EntryKind::SiteConv => 8,
            EntryKind::VisitorConv => 9,
            EntryKind::FileConv => 10,
            EntryKind::Load => 11,
            EntryKind::Queue => 12,
            EntryKind::Cid => 13,
            EntryKind::OutJob => 14,
            EntryKind::File => 15,
            EntryKind::Quota => 16,
            EntryKind::Webhook => 17,
            EntryKind::HookLog => 18,
            EntryKind::ApiKey => 19,
            EntryKind::Token => 20,
            EntryKind::Agent => 21,
            EntryKind::Meta => 22,
        }
    }

    pub fn from_code(c: u8) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.code() == c)
    }

    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Site => "site",
            EntryKind::Canned => "canned",
            EntryKind::Visitor => "visitor",
            EntryKind::Page => "page",
            EntryKind::Conv => "conversation",
            EntryKind::Event => "event",
            EntryKind::MailMarks => "mail_marks",
            EntryKind::SiteConv => "site_conv_index",
            EntryKind::VisitorConv => "visitor_conv_index",
            EntryKind::FileConv => "file_conv_index",
            EntryKind::Load => "load_index",
            EntryKind::Queue => "queue_index",
            EntryKind::Cid => "cid_index",
            EntryKind::OutJob => "outbound_job",
            EntryKind::File => "file",
            EntryKind::Quota => "quota",
            EntryKind::Webhook => "webhook",
            EntryKind::HookLog => "webhook_delivery",
            EntryKind::ApiKey => "api_key",
            EntryKind::Token => "api_key_token",
            EntryKind::Agent => "agent",
            EntryKind::Meta => "meta",
        }
    }

    /// The first key byte of the `chat` tree's kinds (`None`: another tree).
    fn chat_tag(self) -> Option<u8> {
        Some(match self {
            EntryKind::Conv => b'c',
            EntryKind::Event => b'e',
            EntryKind::MailMarks => b'm',
            EntryKind::SiteConv => b's',
            EntryKind::VisitorConv => b'v',
            EntryKind::FileConv => b'f',
            EntryKind::Load => b'l',
            EntryKind::Queue => b'w',
            EntryKind::Cid => b'k',
            EntryKind::OutJob => b'o',
            _ => return None,
        })
    }
}

/// The `meta` keys that are a site's: `refused_origins` `\0` site, and
/// `unsubscribed` `\0` site `\0` email.
fn meta_prefixes(site: &SiteId) -> [Vec<u8>; 2] {
    [
        join(&[b"refused_origins", site.as_str().as_bytes()]),
        join(&[b"unsubscribed", site.as_str().as_bytes(), b""]),
    ]
}

fn site_prefix(site: &SiteId) -> Vec<u8> {
    [site.as_str().as_bytes(), b"\0"].concat()
}

/// The site an outbound job's body names: its `site` field, at the top or
/// one level down (`{"Notify": {"site": …}}`, `{"payload": {"site": …}}`).
pub fn job_site(body: &serde_json::Value) -> Option<&str> {
    fn find(v: &serde_json::Value, depth: u8) -> Option<&str> {
        let o = v.as_object()?;
        if let Some(s) = o.get("site").and_then(|s| s.as_str()) {
            return Some(s);
        }
        if depth == 0 {
            return None;
        }
        o.values().find_map(|v| find(v, depth - 1))
    }
    find(body, 2)
}

/// What [`Store::for_each_site_entry`] hands each entry to.
pub type EntryVisitor<'a> = dyn FnMut(EntryKind, &[u8], &[u8]) -> Result<()> + 'a;

/// One stored entry: tree name, key, value.
pub type RawEntry = (String, Vec<u8>, Vec<u8>);

/// What the site's conversations are, for the filters of the indexes
/// that are keyed by something else (cids, files, agents' load).
pub type ConvMarks = HashMap<ConvId, u64>;

impl Store {
    fn tree_of(&self, kind: EntryKind) -> &sled::Tree {
        match kind {
            EntryKind::Site => &self.sites,
            EntryKind::Canned => &self.canned,
            EntryKind::Visitor => &self.visitors,
            EntryKind::Page => &self.pages,
            EntryKind::File => &self.files,
            EntryKind::Quota => &self.quota,
            EntryKind::Webhook => &self.webhooks,
            EntryKind::HookLog => &self.hook_log,
            EntryKind::ApiKey => &self.api_keys,
            EntryKind::Token => &self.tokens,
            EntryKind::Agent => &self.agents,
            EntryKind::Meta => &self.meta,
            _ => &self.chat,
        }
    }

    /// Calls `f` with every entry of `site`, kind by kind in the order of
    /// [`EntryKind::ALL`] (conversations before their events), in key order
    /// within a kind. Reads as it goes (nothing but the site's conversation
    /// ids is held), so a site of any size streams in bounded memory.
    ///
    /// While the relay runs, each conversation is consistent: its record is
    /// read first, and only events (and cid entries) up to the last one
    /// stored when it was read are given (the commit thread writes an
    /// event and any record change it makes in one batch, and the record
    /// is followed to that event as [`Store::conv`] does).
    /// Anything written after the conversation's record was read is not in
    /// this pass; a move freezes the site first.
    pub fn for_each_site_entry(&self, site: &SiteId, f: &mut EntryVisitor<'_>) -> Result<()> {
        let sp = site_prefix(site);
        let sid = site.as_str().as_bytes();
        let Some(rec) = self.sites.get(sid)? else {
            return Ok(());
        };
        f(EntryKind::Site, sid, &rec)?;
        for kind in [EntryKind::Canned, EntryKind::Visitor, EntryKind::Page] {
            for item in self.tree_of(kind).scan_prefix(&sp) {
                let (k, v) = item?;
                f(kind, &k, &v)?;
            }
        }
        // Conversations, from the site's index; then their events.
        let mut convs: ConvMarks = HashMap::new();
        let mut order = Vec::new();
        for id in self.conv_ids_under(&keys::site_conv_prefix(site), false, usize::MAX)? {
            // The record as stored, with the events after it.
            let Some((v, c)) = self.conv_followed(&id)? else {
                continue;
            };
            if &c.site != site {
                continue;
            }
            f(EntryKind::Conv, &keys::conv(&id), &v)?;
            convs.insert(id.clone(), c.last_seq);
            order.push(id);
        }
        for id in &order {
            let last = convs.get(id).copied().unwrap_or(0);
            for item in self.chat.range(keys::event(id, 0)..=keys::event(id, last)) {
                let (k, v) = item?;
                f(EntryKind::Event, &k, &v)?;
            }
        }
        for id in &order {
            let key = [b"m", id.as_str().as_bytes()].concat();
            if let Some(v) = self.chat.get(&key)? {
                f(EntryKind::MailMarks, &key, &v)?;
            }
        }
        for (kind, prefix) in [
            (EntryKind::SiteConv, keys::site_conv_prefix(site)),
            (EntryKind::VisitorConv, [b"v", sp.as_slice()].concat()),
        ] {
            for item in self.chat.scan_prefix(&prefix) {
                let (k, v) = item?;
                if conv_after_nul(&k).is_some_and(|c| convs.contains_key(&c)) {
                    f(kind, &k, &v)?;
                }
            }
        }
        // Keyed by file or agent: the site's when the conversation is.
        for kind in [EntryKind::FileConv, EntryKind::Load] {
            let tag = [kind.chat_tag().unwrap_or(b'?')];
            for item in self.chat.scan_prefix(tag) {
                let (k, v) = item?;
                if conv_after_nul(&k).is_some_and(|c| convs.contains_key(&c)) {
                    f(kind, &k, &v)?;
                }
            }
        }
        for item in self.chat.scan_prefix(keys::queue_prefix(site)) {
            let (k, v) = item?;
            f(EntryKind::Queue, &k, &v)?;
        }
        // The cid index, whatever the scope: entries pointing into the
        // site's conversations (at most up to what was read of them).
        for item in self.chat.scan_prefix(b"k") {
            let (k, v) = item?;
            if let Ok(hit) = super::chat::decode_cid_hit(&k, &v) {
                if convs.get(&hit.conv).is_some_and(|last| hit.seq <= *last) {
                    f(EntryKind::Cid, &k, &v)?;
                }
            }
        }
        for item in self.chat.scan_prefix(b"o") {
            let (k, v) = item?;
            let job: super::OutJob = decode(&k, &v)?;
            if job_site(&job.body) == Some(site.as_str()) {
                f(EntryKind::OutJob, &k, &v)?;
            }
        }
        for item in self.files.iter() {
            let (k, v) = item?;
            let rec: FileRecord = decode(&k, &v)?;
            if &rec.site == site {
                f(EntryKind::File, &k, &v)?;
            }
        }
        for item in self.quota.scan_prefix(&sp) {
            let (k, v) = item?;
            f(EntryKind::Quota, &k, &v)?;
        }
        for item in self.webhooks.scan_prefix(&sp) {
            let (k, v) = item?;
            let hook: WebhookRecord = decode(&k, &v)?;
            f(EntryKind::Webhook, &k, &v)?;
            for item in self
                .hook_log
                .scan_prefix([hook.id.as_bytes(), b"\0"].concat())
            {
                let (k, v) = item?;
                f(EntryKind::HookLog, &k, &v)?;
            }
        }
        for item in self.api_keys.scan_prefix(&sp) {
            let (k, v) = item?;
            let key: ApiKeyRecord = decode(&k, &v)?;
            f(EntryKind::ApiKey, &k, &v)?;
            if let Some(t) = self.tokens.get(&key.hash)? {
                f(EntryKind::Token, &key.hash, &t)?;
            }
        }
        for item in self.agents.iter() {
            let (k, v) = item?;
            let a: AgentRecord = decode(&k, &v)?;
            if a.sites.contains(site) {
                f(EntryKind::Agent, &k, &v)?;
            }
        }
        for prefix in meta_prefixes(site) {
            for item in self.meta.scan_prefix(&prefix) {
                let (k, v) = item?;
                // `refused_origins\0site` exactly, not a longer site id.
                if prefix.starts_with(b"refused_origins") && k.len() != prefix.len() {
                    continue;
                }
                f(EntryKind::Meta, &k, &v)?;
            }
        }
        Ok(())
    }

    /// Whether `key` is one `kind` may carry for `site` (the import's check
    /// that a stream touches only the site it names). Conversation-keyed
    /// kinds are checked against the conversations seen before them.
    pub fn entry_belongs(
        kind: EntryKind,
        site: &SiteId,
        key: &[u8],
        value: &[u8],
        convs: &ConvMarks,
    ) -> std::result::Result<(), String> {
        let sp = site_prefix(site);
        let conv_known = |c: Option<ConvId>| match c {
            Some(c) if convs.contains_key(&c) => Ok(()),
            _ => Err("names a conversation not in the stream".to_string()),
        };
        let prefixed = |p: &[u8]| {
            if key.starts_with(p) && key.len() > p.len() {
                Ok(())
            } else {
                Err("its key is not the site's".to_string())
            }
        };
        let chat = |tag: u8| -> std::result::Result<&[u8], String> {
            match key.split_first() {
                Some((t, rest)) if *t == tag => Ok(rest),
                _ => Err("its key is not of its kind".to_string()),
            }
        };
        let json = |what: &str| -> std::result::Result<serde_json::Value, String> {
            serde_json::from_slice(value).map_err(|e| format!("its {what} does not decode: {e}"))
        };
        let site_field = |v: &serde_json::Value| {
            if v.get("site").and_then(|s| s.as_str()) == Some(site.as_str()) {
                Ok(())
            } else {
                Err("its record is another site's".to_string())
            }
        };
        match kind {
            EntryKind::Site => {
                if key != site.as_str().as_bytes() {
                    return Err("another site's record".into());
                }
                let v = json("record")?;
                match v.get("id").and_then(|s| s.as_str()) {
                    Some(id) if id == site.as_str() => Ok(()),
                    _ => Err("its record is another site's".into()),
                }
            }
            EntryKind::Canned | EntryKind::Visitor | EntryKind::Page | EntryKind::Quota => {
                prefixed(&sp)
            }
            EntryKind::Webhook | EntryKind::ApiKey => {
                prefixed(&sp)?;
                site_field(&json("record")?)
            }
            EntryKind::Conv => {
                let rest = chat(b'c')?;
                let v = json("record")?;
                site_field(&v)?;
                match v.get("id").and_then(|s| s.as_str()) {
                    Some(id) if id.as_bytes() == rest => Ok(()),
                    _ => Err("its key and record disagree".into()),
                }
            }
            EntryKind::Event => {
                let rest = chat(b'e')?;
                let conv = rest.iter().position(|&b| b == 0).and_then(|i| {
                    (rest.len() == i + 9)
                        .then(|| std::str::from_utf8(&rest[..i]).ok())
                        .flatten()
                        .and_then(|s| ConvId::new(s).ok())
                });
                conv_known(conv)?;
                json("event").map(|_| ())
            }
            EntryKind::MailMarks => {
                let rest = chat(b'm')?;
                conv_known(
                    std::str::from_utf8(rest)
                        .ok()
                        .and_then(|s| ConvId::new(s).ok()),
                )
            }
            EntryKind::SiteConv | EntryKind::VisitorConv | EntryKind::Queue => {
                let rest = chat(kind.chat_tag().unwrap_or(b'?'))?;
                if !rest.starts_with(&sp) {
                    return Err("its key is not the site's".into());
                }
                if kind == EntryKind::Queue {
                    return Ok(());
                }
                conv_known(conv_after_nul(key))
            }
            EntryKind::FileConv | EntryKind::Load => {
                chat(kind.chat_tag().unwrap_or(b'?'))?;
                conv_known(conv_after_nul(key))
            }
            EntryKind::Cid => {
                chat(b'k')?;
                let hit = super::chat::decode_cid_hit(key, value).map_err(|e| e.to_string())?;
                conv_known(Some(hit.conv))
            }
            EntryKind::OutJob => {
                chat(b'o')?;
                let v = json("job")?;
                let body = v.get("body").cloned().unwrap_or_default();
                if job_site(&body) == Some(site.as_str()) {
                    Ok(())
                } else {
                    Err("a job of another site".into())
                }
            }
            EntryKind::File => site_field(&json("record")?),
            EntryKind::HookLog => json("delivery").map(|_| ()),
            EntryKind::Token => {
                let v = json("token")?;
                match v.get("agent").and_then(|a| a.as_str()) {
                    Some(a) if super::is_bot(a) => Ok(()),
                    _ => Err("a person's session token (never exported)".into()),
                }
            }
            EntryKind::Agent => {
                let a: AgentRecord = serde_json::from_slice(value)
                    .map_err(|e| format!("its record does not decode: {e}"))?;
                if a.id.as_str().as_bytes() != key {
                    return Err("its key and record disagree".into());
                }
                if !a.sites.contains(site) {
                    return Err("not a member of the site".into());
                }
                Ok(())
            }
            EntryKind::Meta => {
                let [refused, unsub] = meta_prefixes(site);
                if key == refused.as_slice() || (key.starts_with(&unsub) && key.len() > unsub.len())
                {
                    Ok(())
                } else {
                    Err("a relay-wide key".into())
                }
            }
        }
    }

    /// Whether any key of `site` is stored (the site record, or leftovers
    /// of an import that did not finish).
    pub fn site_exists(&self, site: &SiteId) -> Result<bool> {
        Ok(self.sites.contains_key(site.as_str().as_bytes())?
            || self.meta.contains_key(import_mark(site))?)
    }

    /// Removes every entry of `site` (an import `--replace`): agents stay,
    /// only their membership of the site goes.
    pub fn remove_site(&self, site: &SiteId) -> Result<usize> {
        let mut doomed: Vec<(EntryKind, Vec<u8>)> = Vec::new();
        let mut agents = Vec::new();
        self.for_each_site_entry(site, &mut |kind, k, v| {
            if kind == EntryKind::Agent {
                agents.push(decode::<AgentRecord>(k, v)?);
            } else {
                doomed.push((kind, k.to_vec()));
            }
            Ok(())
        })?;
        let n = doomed.len();
        let mut w = RawWriter::new(self);
        for (kind, k) in doomed {
            w.remove(kind, k)?;
        }
        w.finish()?;
        for mut a in agents {
            a.sites.retain(|s| s != site);
            self.put_agent(&a)?;
        }
        Ok(n)
    }

    /// Marks an import of `site` as begun (kept until it is done): a crash
    /// in between leaves the mark, and the next import is told to replace.
    pub fn begin_import(&self, site: &SiteId) -> Result<()> {
        self.meta.insert(import_mark(site), &[1u8][..])?;
        self.sync()
    }

    pub fn end_import(&self, site: &SiteId) -> Result<()> {
        self.meta.remove(import_mark(site))?;
        self.sync()
    }

    /// Merges an exported agent record: an agent of the same id gains the
    /// site; a new one is stored with the sites of its record that exist
    /// here. Refused when another agent here has its e-mail.
    pub fn merge_agent(&self, a: &AgentRecord, site: &SiteId) -> Result<()> {
        if let Some(mut mine) = self.agent(&a.id)? {
            if !mine.sites.contains(site) {
                mine.sites.push(site.clone());
            }
            return self.put_agent(&mine);
        }
        let mut a = a.clone();
        let mut sites = Vec::new();
        for s in &a.sites {
            if s == site || self.site(s)?.is_some() {
                sites.push(s.clone());
            }
        }
        a.sites = sites;
        self.put_agent(&a)
    }

    /// Why an exported agent cannot be merged here, if it cannot: its
    /// e-mail belongs to another agent.
    pub fn agent_conflict(&self, a: &AgentRecord) -> Result<Option<String>> {
        let Some(email) = &a.email else {
            return Ok(None);
        };
        match self.agent_by_email(email)? {
            Some(other) if other.id != a.id => Ok(Some(format!(
                "agent {} has e-mail {email}, which agent {} has on this relay",
                a.id, other.id
            ))),
            _ => Ok(None),
        }
    }

    /// Every key-value of every tree (tests compare stores with it; an
    /// operator's diagnosis too). Not for large stores.
    pub fn dump_all(&self) -> Result<Vec<RawEntry>> {
        let mut out = Vec::new();
        let mut names = self.db.tree_names();
        names.sort();
        for name in names {
            let tree = self.db.open_tree(&name)?;
            let name = String::from_utf8_lossy(&name).into_owned();
            for item in tree.iter() {
                let (k, v) = item?;
                out.push((name.clone(), k.to_vec(), v.to_vec()));
            }
        }
        Ok(out)
    }
}

fn import_mark(site: &SiteId) -> Vec<u8> {
    join(&[b"import_incomplete", site.as_str().as_bytes()])
}

/// The conversation id after the last `\0` of an index key.
fn conv_after_nul(k: &[u8]) -> Option<ConvId> {
    let i = k.iter().rposition(|&b| b == 0)?;
    std::str::from_utf8(&k[i + 1..])
        .ok()
        .and_then(|s| ConvId::new(s).ok())
}

/// Most entries one batch of an import holds before it is applied (sled
/// keeps a batch in memory; a site of a million events is many batches).
pub const IMPORT_BATCH: usize = 10_000;

/// Raw writes into the trees, batched per tree (an import, a removal).
pub struct RawWriter<'a> {
    store: &'a Store,
    batches: HashMap<EntryKind, sled::Batch>,
    pending: usize,
}

impl<'a> RawWriter<'a> {
    pub fn new(store: &'a Store) -> RawWriter<'a> {
        RawWriter {
            store,
            batches: HashMap::new(),
            pending: 0,
        }
    }

    /// Agents are merged ([`Store::merge_agent`]), never written raw.
    pub fn put(&mut self, kind: EntryKind, k: &[u8], v: &[u8]) -> Result<()> {
        if kind == EntryKind::Agent {
            return Err(StoreError::Io(std::io::Error::other(
                "agents are merged, not written raw",
            )));
        }
        self.batch(kind).insert(k, v);
        self.bump()
    }

    fn remove(&mut self, kind: EntryKind, k: Vec<u8>) -> Result<()> {
        self.batch(kind).remove(k);
        self.bump()
    }

    fn batch(&mut self, kind: EntryKind) -> &mut sled::Batch {
        // One batch per tree: the chat kinds share one.
        let tree_kind = if kind.chat_tag().is_some() {
            EntryKind::Conv
        } else {
            kind
        };
        self.batches.entry(tree_kind).or_default()
    }

    fn bump(&mut self) -> Result<()> {
        self.pending += 1;
        if self.pending >= IMPORT_BATCH {
            self.apply()?;
        }
        Ok(())
    }

    fn apply(&mut self) -> Result<()> {
        for (kind, batch) in self.batches.drain() {
            self.store.tree_of(kind).apply_batch(batch)?;
        }
        self.pending = 0;
        Ok(())
    }

    /// Applies what is left and makes everything durable.
    pub fn finish(mut self) -> Result<()> {
        self.apply()?;
        self.store.sync()
    }
}

/// What a copy of every tree held: entries by tree name.
pub type TreeCounts = std::collections::BTreeMap<String, u64>;

/// Copies every tree of `src` into a fresh sled at `dest` and makes it
/// durable (flush, then fsync of its data file and directory).
fn copy_db(src: &sled::Db, dest: &Path) -> Result<TreeCounts> {
    let db = super::sled_config(dest).open()?;
    let mut counts = TreeCounts::new();
    for name in src.tree_names() {
        let from = src.open_tree(&name)?;
        let to = db.open_tree(&name)?;
        let mut batch = sled::Batch::default();
        let mut n = 0u64;
        for item in from.iter() {
            let (k, v) = item?;
            batch.insert(k, v);
            n += 1;
            if n.is_multiple_of(IMPORT_BATCH as u64) {
                to.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        to.apply_batch(batch)?;
        counts.insert(String::from_utf8_lossy(&name).into_owned(), n);
    }
    db.flush()?;
    std::fs::File::open(dest.join("db"))?.sync_all()?;
    std::fs::File::open(dest)?.sync_all()?;
    Ok(counts)
}

impl Store {
    /// Copies every tree into a fresh sled at `dest` (a backup). Consistent
    /// for the `chat` tree when the commit thread is paused meanwhile (see
    /// `Committer::barrier`); other trees are each as of some moment of
    /// the copy.
    pub fn copy_to(&self, dest: &Path) -> Result<TreeCounts> {
        copy_db(&self.db, dest)
    }

    /// Copies a backup's sled at `src` into a fresh sled at `dest` (a
    /// restore); the backup is only read.
    pub fn restore(src: &Path, dest: &Path) -> Result<TreeCounts> {
        if !src.join("db").exists() {
            return Err(StoreError::Io(std::io::Error::other(format!(
                "{} holds no sled database",
                src.display()
            ))));
        }
        let from = super::sled_config_as_written(src).open()?;
        copy_db(&from, dest)
    }
}
