//! The only module that touches sled: [`Store`] here, its records and
//! their methods one file per kind (sites, visitors, agents, files, chat).
//!
//! Trees and keys (ids never contain `\0`, so it separates key parts):
//! - `chat`: everything the delivery promise covers, so that one group
//!   commit is one atomic `apply_batch`:
//!   - `c` conv                     → [`ConvRecord`] JSON, written when
//!     what its events do not say changes, and every [`CONV_RECORD_EVERY`]
//!     events; [`Store::conv`] follows the events after it
//!   - `e` conv `\0` seq(u64 BE)    → [`Event`] JSON without its conv and seq
//!     (the key's; [`encode_event`]) (ULID conv ids are 26 bytes)
//!   - `k` scope `\0` cid           → conv `\0` seq(u64 BE): the cid dedup index
//!   - `s` site `\0` conv           → (): a site's conversations, oldest first
//!   - `v` site `\0` visitor `\0` conv → (): a visitor's conversations
//!   - `f` file `\0` conv            → (): a conversation a file was sent in
//!     (written with the message, so access follows the message)
//!   - `l` agent `\0` conv          → (): open conversations assigned to an
//!     agent (routing's load), built once from the records on first start
//!   - `w` site `\0` since(u64 BE) conv → (): the site's queue, oldest first
//!   - `m` conv                     → [`MailMarks`]: what mail it has had
//! - `sites`: site id → [`SiteRecord`]
//! - `visitors`: site `\0` visitor → [`VisitorRecord`]
//! - `pages`: site `\0` visitor `\0` ts(u64 BE) → [`PageRecord`]
//! - `agents`: agent id → [`AgentRecord`]; `tokens`: sha256(token) → [`TokenRecord`]
//! - `meta`: `server_key` (visitor-token signing key); `unsubscribed`
//!   `\0` site `\0` email → when that address left the site's visitor mail;
//!   `refused_origins` `\0` site → the origins refused recently (JSON list)
//! - `files`: file id → [`FileRecord`] (the bytes live on disk, see `files`)
//! - `quota`: site `\0` visitor → bytes of uploads stored (u64 BE)
//! - `push_subs`: agent `\0` device (hex SHA-256 of the endpoint) →
//!   [`PushSubRecord`]; queued pushes are outbound jobs (below) carrying a
//!   [`PushJob`]; `meta` also holds `vapid_key` and `mail_key` (signs
//!   reply addresses and the links in mail)
//! - `webhooks`: site `\0` hook → [`WebhookRecord`]; `hook_log`: hook `\0`
//!   delivery id (ULID) → [`DeliveryRecord`], the last attempts per endpoint
//! - `api_keys`: site `\0` key id → [`ApiKeyRecord`] (the key itself is a
//!   token in `tokens`, stored as its SHA-256 like every token)
//! - `mail_in`: `m` `\0` Message-ID → [`MailInRecord`] (inbound mail
//!   processed once); `u` `\0` mailbox → UIDVALIDITY, last UID (u32 BE each)
//! - `blocks`, `erasures`, `erasing`: blocked visitors and IP ranges, the
//!   erasure log, erasures under way (see `privacy`)
//! - the outbound queue (Web Push, webhooks, WeChat replies) is in `chat` too:
//!   `o` kind-tag job id → [`OutJob`], staged with the
//!   events that cause it
//! - `canned`: site `\0` id → [`CannedRecord`]; `emails`: e-mail → agent id
//!   (the login index, kept by [`Store::put_agent`]); `meta` also holds
//!   `import_incomplete` `\0` site while an import of the site runs
//!
//! Which of these are a site's (what a site export carries) is decided in
//! one place, `dump` ([`EntryKind`]): a new key kind goes there too, or the
//! export test that compares whole stores fails.
//!
//! sled compresses its log with zstd ([`sled_config`]; docs/storage.md).
//!
//! Durability: [`Store::sync`] = sled `flush` (which on Linux ends in
//! `sync_file_range`, not a cache flush — sled issue #1452) followed by
//! `fdatasync` on sled's data file through a handle of our own.

mod agents;
mod chat;
mod dump;
mod files;
mod hooks;
pub mod keys;
mod mail;
mod mail_in;
mod outbox;
mod privacy;
mod push;
mod sites;
mod visitors;

pub use agents::{is_bot, AgentRecord, AgentRole, Avatar, TokenRecord, BOT_ID_PREFIX};
pub use chat::{encode_cid_hit, encode_event, CidHit, ConvRecord, CONV_RECORD_EVERY};
pub use dump::{
    job_site, ConvMarks, EntryKind, EntryVisitor, RawEntry, RawWriter, TreeCounts, IMPORT_BATCH,
};
pub use files::{AddFile, FileRecord};
pub use hooks::{ApiKeyRecord, DeliveryRecord, WebhookRecord};
pub use mail::MailMarks;
pub use mail_in::MailInRecord;
pub use outbox::{Kind, OutJob};
pub use privacy::ErasingMark;
#[cfg(test)]
pub(crate) use push::sample_job;
pub use push::{device_id, PushJob, PushSubRecord};
pub use sites::{CannedRecord, SiteRecord};
pub use visitors::{ContactUndo, PageRecord, VisitorRecord, CONSENT_ATTRIBUTE, PHONE_ATTRIBUTE};

use serde::{de::DeserializeOwned, Serialize};
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
    push_subs: sled::Tree,
    webhooks: sled::Tree,
    hook_log: sled::Tree,
    api_keys: sled::Tree,
    mail_in: sled::Tree,
    blocks: sled::Tree,
    erasures: sled::Tree,
    erasing: sled::Tree,
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

/// zstd level of sled's log: its pages, blobs and snapshots are compressed
/// as they are written (1 is zstd's fastest; see docs/storage.md for what
/// each level costs and saves).
pub const STORE_ZSTD_LEVEL: i32 = 1;

/// sled as kefu writes a new database at `dir`: compressed.
pub fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .mode(sled::Mode::HighThroughput)
        .use_compression(true)
        .compression_factor(STORE_ZSTD_LEVEL)
}

/// sled for the database at `dir` as it was written: sled refuses to open
/// a database with the other compression setting, and stores written
/// before kefu compressed are read as they are until the rewrite at start
/// ([`crate::privacy::compact_if_pending`]) converts them.
pub fn sled_config_as_written(dir: &Path) -> sled::Config {
    sled_config(dir).use_compression(written_compressed(dir))
}

/// Whether the sled database at `dir` is compressed (a new one will be).
/// sled's `conf` file says so in a line `use_compression: true|false`.
pub fn written_compressed(dir: &Path) -> bool {
    match std::fs::read(dir.join("conf")) {
        Ok(conf) => !conf
            .split(|&b| b == b'\n')
            .any(|line| line == b"use_compression: false"),
        Err(_) => true,
    }
}

impl Store {
    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        let db = sled_config_as_written(dir).open()?;
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
            push_subs: db.open_tree("push_subs")?,
            webhooks: db.open_tree("webhooks")?,
            hook_log: db.open_tree("hook_log")?,
            api_keys: db.open_tree("api_keys")?,
            mail_in: db.open_tree("mail_in")?,
            blocks: db.open_tree("blocks")?,
            erasures: db.open_tree("erasures")?,
            erasing: db.open_tree("erasing")?,
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
}
