//! The only module that touches sled.
//!
//! Trees and keys (ids never contain `\0`, so it separates key parts):
//! - `chat`: everything the delivery promise covers, so that one group
//!   commit is one atomic `apply_batch`:
//!   - `c` conv                     → [`ConvRecord`] JSON
//!   - `e` conv seq(u64 BE)         → [`Event`] JSON (ULID conv ids are 26 bytes)
//!   - `k` scope `\0` cid           → conv `\0` seq(u64 BE): the cid dedup index
//!   - `s` site `\0` conv           → (): a site's conversations, oldest first
//!   - `v` site `\0` visitor `\0` conv → (): a visitor's conversations
//!   - `f` file `\0` conv            → (): a conversation a file was sent in
//!     (written with the message, so access follows the message)
//! - `sites`: site id → [`SiteRecord`]
//! - `visitors`: site `\0` visitor → [`VisitorRecord`]
//! - `pages`: site `\0` visitor `\0` ts(u64 BE) → [`PageRecord`]
//! - `agents`: agent id → [`AgentRecord`]; `tokens`: sha256(token) → [`TokenRecord`]
//! - `meta`: `server_key` (visitor-token signing key)
//! - `files`: file id → [`FileRecord`] (the bytes live on disk, see `files`)
//! - `quota`: site `\0` visitor → bytes of uploads stored (u64 BE)
//!
//! Durability: [`Store::sync`] = sled `flush` (which on Linux ends in
//! `sync_file_range`, not a cache flush — sled issue #1452) followed by
//! `fdatasync` on sled's data file through a handle of our own.

use protocol::{
    AgentId, Attachment, ConvId, ConvSummary, Event, FileClass, FileId, PageInfo, Side, SiteId,
    UserInfo, VisitorId,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fs::File;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt record under {key}: {err}")]
    Corrupt { key: String, err: serde_json::Error },
    #[error("encode: {0}")]
    Encode(serde_json::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
}

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
}

/// One stored page view.
pub type PageRecord = PageInfo;

/// A conversation's state; the commit task is its only writer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvRecord {
    pub id: ConvId,
    pub site: SiteId,
    pub visitor: VisitorId,
    pub open: bool,
    pub last_seq: u64,
    pub created: u64,
    pub updated: u64,
    pub visitor_read: u64,
    pub agent_read: u64,
    #[serde(default)]
    pub preview: Option<String>,
    /// The agent handling it, if any.
    #[serde(default)]
    pub assignee: Option<AgentId>,
}

impl ConvRecord {
    pub fn summary(&self) -> ConvSummary {
        ConvSummary {
            id: self.id.clone(),
            site: self.site.clone(),
            visitor: self.visitor.clone(),
            open: self.open,
            last_seq: self.last_seq,
            created: self.created,
            updated: self.updated,
            visitor_read: self.visitor_read,
            agent_read: self.agent_read,
            preview: self.preview.clone(),
            assignee: self.assignee.clone(),
        }
    }
}

pub use protocol::api::AgentRole;

/// An agent account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    /// Sites this agent is a member of.
    pub sites: Vec<SiteId>,
    /// Login e-mail, lower-cased (absent for token-only agents from the CLI).
    #[serde(default)]
    pub email: Option<String>,
    /// argon2id PHC string; never leaves the store.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub role: AgentRole,
    #[serde(default)]
    pub created: u64,
}

/// An agent session token, stored as its SHA-256 only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub agent: AgentId,
    pub created: u64,
    /// ms since epoch after which the token is refused; 0: never (tokens
    /// minted by the admin CLI for integrations).
    #[serde(default)]
    pub expires: u64,
}

/// A canned reply an agent can insert with `/shortcut`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CannedRecord {
    pub id: String,
    pub site: SiteId,
    pub shortcut: String,
    pub text: String,
}

/// An upload: who sent it for which site, and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: FileId,
    /// Hex SHA-256 of the bytes: the blob's name on disk.
    pub sha256: String,
    pub site: SiteId,
    /// The uploader: a visitor of `site` or an agent.
    pub side: Side,
    pub owner: String,
    pub name: String,
    pub size: u64,
    pub mime: String,
    pub class: FileClass,
    /// MIME type of the thumbnail, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub created: u64,
}

impl FileRecord {
    /// What a message carries.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: self.id.clone(),
            name: self.name.clone(),
            size: self.size,
            mime: self.mime.clone(),
            class: self.class,
            thumb: self.thumb.is_some(),
            width: self.width,
            height: self.height,
        }
    }
}

/// What [`Store::add_file`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AddFile {
    New,
    /// Stored before (a retry, or a concurrent upload of the same bytes).
    Existing(Box<FileRecord>),
    /// Refused: the visitor has `used` bytes stored already.
    OverQuota {
        used: u64,
    },
}

/// Where a cid landed: the dedup index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidHit {
    pub conv: ConvId,
    pub seq: u64,
}

pub struct Store {
    db: sled::Db,
    /// Our own handle on sled's data file, for `fdatasync` after `flush`.
    data_file: File,
    /// A small file of our own beside sled's, to tell a failing disk from
    /// a database that stays failed after the disk recovered.
    probe: std::path::PathBuf,
    chat: sled::Tree,
    sites: sled::Tree,
    visitors: sled::Tree,
    pages: sled::Tree,
    agents: sled::Tree,
    emails: sled::Tree,
    tokens: sled::Tree,
    canned: sled::Tree,
    meta: sled::Tree,
    files: sled::Tree,
    quota: sled::Tree,
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|err| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        err,
    })
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(StoreError::Encode)
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if b.len() == 8 {
        a.copy_from_slice(b);
    }
    u64::from_be_bytes(a)
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        key.extend_from_slice(p);
    }
    key
}

/// Keys of the `chat` tree; the commit task builds batches with them.
pub mod keys {
    use super::join;
    use protocol::{ConvId, FileId, SiteId, VisitorId};

    pub fn conv(conv: &ConvId) -> Vec<u8> {
        [b"c", conv.as_str().as_bytes()].concat()
    }
    pub fn event_prefix(conv: &ConvId) -> Vec<u8> {
        // Conversation ids are fixed-length ULIDs, so no separator is
        // needed, but keep one anyway: ids from older data stay unambiguous.
        [b"e", conv.as_str().as_bytes(), b"\0"].concat()
    }
    pub fn event(conv: &ConvId, seq: u64) -> Vec<u8> {
        [event_prefix(conv).as_slice(), &seq.to_be_bytes()].concat()
    }
    pub fn cid(scope: &str, cid: &str) -> Vec<u8> {
        [b"k".as_slice(), &join(&[scope.as_bytes(), cid.as_bytes()])].concat()
    }
    pub fn site_conv(site: &SiteId, conv: &ConvId) -> Vec<u8> {
        [
            b"s".as_slice(),
            &join(&[site.as_str().as_bytes(), conv.as_str().as_bytes()]),
        ]
        .concat()
    }
    pub fn site_conv_prefix(site: &SiteId) -> Vec<u8> {
        [b"s".as_slice(), site.as_str().as_bytes(), b"\0"].concat()
    }
    pub fn visitor_conv(site: &SiteId, visitor: &VisitorId, conv: &ConvId) -> Vec<u8> {
        [
            b"v".as_slice(),
            &join(&[
                site.as_str().as_bytes(),
                visitor.as_str().as_bytes(),
                conv.as_str().as_bytes(),
            ]),
        ]
        .concat()
    }
    pub fn file_conv(file: &FileId, conv: &ConvId) -> Vec<u8> {
        [file_conv_prefix(file).as_slice(), conv.as_str().as_bytes()].concat()
    }
    pub fn file_conv_prefix(file: &FileId) -> Vec<u8> {
        [b"f", file.as_str().as_bytes(), b"\0"].concat()
    }
    pub fn visitor_conv_prefix(site: &SiteId, visitor: &VisitorId) -> Vec<u8> {
        [
            b"v".as_slice(),
            &join(&[site.as_str().as_bytes(), visitor.as_str().as_bytes()]),
            b"\0",
        ]
        .concat()
    }
}

impl Store {
    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        let data_file = File::open(dir.join("db"))?;
        Ok(Store {
            chat: db.open_tree("chat")?,
            sites: db.open_tree("sites")?,
            visitors: db.open_tree("visitors")?,
            pages: db.open_tree("pages")?,
            agents: db.open_tree("agents")?,
            emails: db.open_tree("emails")?,
            tokens: db.open_tree("tokens")?,
            canned: db.open_tree("canned")?,
            meta: db.open_tree("meta")?,
            files: db.open_tree("files")?,
            quota: db.open_tree("quota")?,
            data_file,
            probe: dir.join("disk-probe"),
            db,
        })
    }

    /// Whether the disk under the data dir takes a write and an fdatasync
    /// right now (independently of sled's state).
    pub fn disk_healthy(&self) -> bool {
        // Positioned writes, as sled's own.
        use std::os::unix::fs::FileExt;
        let probe = || -> std::io::Result<()> {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(false)
                .open(&self.probe)?;
            f.write_all_at(b"k", 0)?;
            f.sync_data()
        };
        probe().is_ok()
    }

    /// Makes every write so far durable: sled flush, then `fdatasync` of the
    /// data file (sled's flush alone leaves the drive's cache unflushed).
    pub fn sync(&self) -> Result<()> {
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }

    /// Applies a batch to the `chat` tree atomically (not yet durable).
    pub fn apply_chat(&self, batch: sled::Batch) -> Result<()> {
        self.chat.apply_batch(batch)?;
        Ok(())
    }

    /// Every record under `prefix` (empty: the whole tree), in key order.
    fn all<T: DeserializeOwned>(tree: &sled::Tree, prefix: &[u8]) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for item in tree.scan_prefix(prefix) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    fn get<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
        match tree.get(key)? {
            Some(bytes) => Ok(Some(decode(key, &bytes)?)),
            None => Ok(None),
        }
    }

    // --- meta -------------------------------------------------------------

    /// The key that signs visitor tokens, created on first use.
    pub fn server_key(&self) -> Result<Vec<u8>> {
        if let Some(k) = self.meta.get(b"server_key")? {
            return Ok(k.to_vec());
        }
        let key: [u8; 32] = rand::random();
        // compare_and_swap so two racing first starts agree on one key.
        let _ = self
            .meta
            .compare_and_swap(b"server_key", None as Option<&[u8]>, Some(&key[..]))?;
        let stored = self
            .meta
            .get(b"server_key")?
            .map(|k| k.to_vec())
            .unwrap_or(key.to_vec());
        self.sync()?;
        Ok(stored)
    }

    // --- files ------------------------------------------------------------

    pub fn file(&self, id: &FileId) -> Result<Option<FileRecord>> {
        Self::get(&self.files, id.as_str().as_bytes())
    }

    /// Stores a new upload's record and charges a visitor's quota, in one
    /// transaction that also decides the races: the same file stored
    /// meanwhile is answered with its record, a quota (`Some`, visitors)
    /// that would be exceeded with the bytes used. Not yet durable: call
    /// [`Store::sync`].
    pub fn add_file(&self, f: &FileRecord, quota: Option<u64>) -> Result<AddFile> {
        use sled::transaction::{abort, TransactionError};
        use sled::Transactional;
        /// Why the transaction stopped short of adding.
        enum Stop {
            Exists,
            OverQuota(u64),
        }
        let value = encode(f)?;
        let quota_key = join(&[f.site.as_str().as_bytes(), f.owner.as_bytes()]);
        let id = f.id.as_str().as_bytes();
        let r = (&self.files, &self.quota).transaction(|(files, quotas)| {
            if files.get(id)?.is_some() {
                return abort(Stop::Exists);
            }
            if let Some(max) = quota {
                let used = quotas.get(&quota_key)?.map(|v| be_u64(&v)).unwrap_or(0);
                if used + f.size > max {
                    return abort(Stop::OverQuota(used));
                }
                quotas.insert(quota_key.as_slice(), &(used + f.size).to_be_bytes()[..])?;
            }
            files.insert(id, value.as_slice())?;
            Ok(())
        });
        match r {
            Ok(()) => Ok(AddFile::New),
            Err(TransactionError::Abort(Stop::Exists)) => match self.file(&f.id)? {
                Some(old) => Ok(AddFile::Existing(Box::new(old))),
                None => Err(StoreError::Io(std::io::Error::other(
                    "a file record vanished while being added",
                ))),
            },
            Err(TransactionError::Abort(Stop::OverQuota(used))) => Ok(AddFile::OverQuota { used }),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
        }
    }

    /// Bytes of uploads a visitor has stored.
    pub fn quota_used(&self, site: &SiteId, visitor: &str) -> Result<u64> {
        let k = join(&[site.as_str().as_bytes(), visitor.as_bytes()]);
        Ok(self.quota.get(k)?.map(|v| be_u64(&v)).unwrap_or(0))
    }

    /// The conversations a file was sent in.
    pub fn file_convs(&self, id: &FileId) -> Result<Vec<ConvId>> {
        self.conv_ids_under(&keys::file_conv_prefix(id), false, usize::MAX)
    }

    // --- sites ------------------------------------------------------------

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

    // --- visitors ---------------------------------------------------------

    fn visitor_key(site: &SiteId, visitor: &VisitorId) -> Vec<u8> {
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

    // --- agents -----------------------------------------------------------

    pub fn agent(&self, id: &AgentId) -> Result<Option<AgentRecord>> {
        Self::get(&self.agents, id.as_str().as_bytes())
    }

    /// Stores an agent and keeps the e-mail index in step.
    pub fn put_agent(&self, a: &AgentRecord) -> Result<()> {
        if let Some(old) = self.agent(&a.id)? {
            if let Some(e) = old.email.filter(|e| Some(e) != a.email.as_ref()) {
                self.emails.remove(e.as_bytes())?;
            }
        }
        if let Some(e) = &a.email {
            self.emails.insert(e.as_bytes(), a.id.as_str().as_bytes())?;
        }
        self.agents.insert(a.id.as_str().as_bytes(), encode(a)?)?;
        Ok(())
    }

    pub fn agent_by_email(&self, email: &str) -> Result<Option<AgentRecord>> {
        let Some(id) = self.emails.get(email.as_bytes())? else {
            return Ok(None);
        };
        match std::str::from_utf8(&id)
            .ok()
            .and_then(|s| AgentId::new(s).ok())
        {
            Some(id) => self.agent(&id),
            None => Ok(None),
        }
    }

    pub fn agents(&self) -> Result<Vec<AgentRecord>> {
        Self::all(&self.agents, b"")
    }

    /// Removes an agent; its tokens stop working at once (they resolve to
    /// no agent).
    pub fn delete_agent(&self, id: &AgentId) -> Result<()> {
        if let Some(a) = self.agent(id)? {
            if let Some(e) = a.email {
                self.emails.remove(e.as_bytes())?;
            }
        }
        self.agents.remove(id.as_str().as_bytes())?;
        Ok(())
    }

    pub fn token(&self, hash: &[u8]) -> Result<Option<TokenRecord>> {
        Self::get(&self.tokens, hash)
    }

    pub fn put_token(&self, hash: &[u8], t: &TokenRecord) -> Result<()> {
        self.tokens.insert(hash, encode(t)?)?;
        Ok(())
    }

    pub fn delete_token(&self, hash: &[u8]) -> Result<()> {
        self.tokens.remove(hash)?;
        Ok(())
    }

    pub fn sites(&self) -> Result<Vec<SiteRecord>> {
        Self::all(&self.sites, b"")
    }

    // --- canned replies ---------------------------------------------------

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

    /// Every visitor record of a site (profiles, stats).
    pub fn site_visitors(&self, site: &SiteId) -> Result<Vec<VisitorRecord>> {
        Self::all(&self.visitors, &[site.as_str().as_bytes(), b"\0"].concat())
    }

    // --- conversations ----------------------------------------------------

    pub fn conv(&self, id: &ConvId) -> Result<Option<ConvRecord>> {
        Self::get(&self.chat, &keys::conv(id))
    }

    /// Events of `conv` with seq > `after`, in order, at most `limit`.
    pub fn events_after(&self, conv: &ConvId, after: u64, limit: usize) -> Result<Vec<Event>> {
        let start = keys::event(conv, after.saturating_add(1));
        let end = keys::event(conv, u64::MAX);
        let mut out = Vec::new();
        for item in self.chat.range(start..=end).take(limit) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    /// The last `limit` events of `conv` below seq `before`, oldest first
    /// (paging history backwards).
    pub fn events_before(&self, conv: &ConvId, before: u64, limit: usize) -> Result<Vec<Event>> {
        if before <= 1 {
            return Ok(Vec::new());
        }
        let start = keys::event(conv, 1);
        let end = keys::event(conv, before - 1);
        let mut out = Vec::new();
        for item in self.chat.range(start..=end).rev().take(limit) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        out.reverse();
        Ok(out)
    }

    /// Where `cid` from `scope` was stored, if it was.
    pub fn cid(&self, scope: &str, cid: &str) -> Result<Option<CidHit>> {
        let key = keys::cid(scope, cid);
        let Some(v) = self.chat.get(&key)? else {
            return Ok(None);
        };
        decode_cid_hit(&key, &v).map(Some)
    }

    fn conv_ids_under(
        &self,
        prefix: &[u8],
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<ConvId>> {
        let iter = self.chat.scan_prefix(prefix);
        let keys: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if newest_first
        {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let mut out = Vec::new();
        for item in keys.take(limit) {
            let (k, _) = item?;
            let id = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|s| ConvId::new(s).ok());
            match id {
                Some(id) => out.push(id),
                None => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), "skipping bad index key")
                }
            }
        }
        Ok(out)
    }

    /// A visitor's conversations, oldest first.
    pub fn visitor_convs(&self, site: &SiteId, visitor: &VisitorId) -> Result<Vec<ConvRecord>> {
        let ids =
            self.conv_ids_under(&keys::visitor_conv_prefix(site, visitor), false, usize::MAX)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.conv(&id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A site's most recent conversations, newest first, at most `limit`.
    pub fn site_convs(&self, site: &SiteId, limit: usize) -> Result<Vec<ConvRecord>> {
        let ids = self.conv_ids_under(&keys::site_conv_prefix(site), true, limit)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.conv(&id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Total stored events (for metrics and tests); walks the index.
    pub fn event_count(&self) -> usize {
        self.chat.scan_prefix(b"e").count()
    }
}

pub fn encode_cid_hit(conv: &ConvId, seq: u64) -> Vec<u8> {
    [conv.as_str().as_bytes(), b"\0", &seq.to_be_bytes()].concat()
}

fn decode_cid_hit(key: &[u8], v: &[u8]) -> Result<CidHit> {
    let corrupt = || StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        err: serde::de::Error::custom("bad cid index value"),
    };
    if v.len() < 10 {
        return Err(corrupt());
    }
    let (conv, rest) = v.split_at(v.len() - 9);
    let seq = u64::from_be_bytes(rest[1..].try_into().map_err(|_| corrupt())?);
    let conv = std::str::from_utf8(conv)
        .ok()
        .and_then(|s| ConvId::new(s).ok())
        .ok_or_else(corrupt)?;
    Ok(CidHit { conv, seq })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding a file is one decision: a second add of the same id answers
    /// with the first record and charges nothing; an add past the quota
    /// stores nothing.
    #[test]
    fn adding_a_file_decides_retries_and_quota_at_once() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let site = SiteId::new("s").expect("id");
        let file = |id: &str, size: u64| FileRecord {
            id: FileId::new(id).expect("id"),
            sha256: id.into(),
            site: site.clone(),
            side: Side::Visitor,
            owner: "v1".into(),
            name: "a.txt".into(),
            size,
            mime: "text/plain".into(),
            class: FileClass::Text,
            thumb: None,
            width: None,
            height: None,
            created: 1,
        };
        assert_eq!(store.add_file(&file("f1", 60), Some(100))?, AddFile::New);
        let again = FileRecord {
            name: "renamed.txt".into(),
            ..file("f1", 60)
        };
        assert_eq!(
            store.add_file(&again, Some(100))?,
            AddFile::Existing(Box::new(file("f1", 60)))
        );
        assert_eq!(
            store.add_file(&file("f2", 50), Some(100))?,
            AddFile::OverQuota { used: 60 }
        );
        assert_eq!(store.file(&FileId::new("f2").expect("id"))?, None);
        assert_eq!(store.quota_used(&site, "v1")?, 60);
        // Agents have no quota.
        assert_eq!(store.add_file(&file("f3", 500), None)?, AddFile::New);
        assert_eq!(store.quota_used(&site, "v1")?, 60);
        Ok(())
    }

    #[test]
    fn cid_hits_round_trip_and_events_range_by_conv() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let conv = ConvId::new("01HZZZZZZZZZZZZZZZZZZZZZZZ").expect("id");
        let other = ConvId::new("01HZZZZZZZZZZZZZZZZZZZZZZY").expect("id");
        let mut batch = sled::Batch::default();
        for (c, seq) in [(&conv, 1u64), (&conv, 2), (&other, 1), (&conv, 300)] {
            let ev = Event {
                conv: c.clone(),
                seq,
                ts: 0,
                body: protocol::EventBody::Closed {
                    by: protocol::Author {
                        side: protocol::Side::System,
                        id: "x".into(),
                        name: None,
                    },
                },
            };
            batch.insert(keys::event(c, seq), encode(&ev)?);
        }
        batch.insert(keys::cid("v:s:v", "m1"), encode_cid_hit(&conv, 300));
        store.apply_chat(batch)?;
        store.sync()?;
        let seqs: Vec<u64> = store
            .events_after(&conv, 1, 10)?
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![2, 300]);
        assert_eq!(store.cid("v:s:v", "m1")?, Some(CidHit { conv, seq: 300 }));
        assert_eq!(store.cid("v:s:v", "m2")?, None);
        Ok(())
    }
}
