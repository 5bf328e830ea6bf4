//! Full-text search over every site's messages, notes and visitor
//! profiles: one tantivy index under `<data-dir>/search/`, owned here.
//!
//! sled stays the truth; the index is derived from it and may always be
//! thrown away. Where it comes from:
//! - **Live**: the commit thread offers each durable message to a
//!   [`Feed`] (a bounded channel, never waited on: when it is full the
//!   index is marked stale and caught up from the store instead). The
//!   indexer thread commits at most [`COMMIT_EVERY`] after a change and
//!   reloads the reader, so a message is searchable well within 2 s.
//! - **Catch-up**: each commit carries a watermark (ms) in its payload:
//!   every event older than it is indexed. On start, and after an
//!   overflow, the conversations touched since the watermark (less
//!   [`CATCH_UP_SLACK_MS`]) are read back through the store and upserted.
//! - **Rebuild**: a missing, corrupt (checksums, unreadable metas), or
//!   half-built index is deleted and built again from the store in the
//!   background; meanwhile searches answer what is indexed so far, with
//!   `complete: false`.
//!
//! Documents: one per message or note (`e:{conv}:{seq}`) and one per
//! identified visitor's profile (`v:{site}:{visitor}`: name, email,
//! attributes, and the default names the console shows; anonymous
//! visitors have none, see [`identified`]). Status, assignee and labels
//! change too often to index: the API applies them to the conversation
//! records at query time.

pub mod query;
pub mod tokenize;

pub use query::{snippet, Found, Request};

use crate::store::{ConvRecord, Store, StoreError, VisitorRecord};
use protocol::{ConvId, Event, EventBody, SiteId, VisitorId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Longest a change waits in the writer before it is committed and
/// searchable: the "searchable within 2 s" promise, with room for the
/// commit itself. Shorter means more, smaller segments (merged later).
pub const COMMIT_EVERY: Duration = Duration::from_millis(400);

/// Events waiting for the indexer. The commit thread never waits on it:
/// past this many the index is marked stale and caught up from the store,
/// so a burst costs a catch-up, never an ack's latency. ~300 bytes each.
pub const FEED_QUEUE: usize = 16_384;

/// The index writer's memory (tantivy's floor is 15 MB): more means fewer
/// segments on a big rebuild, not faster live indexing.
pub const WRITER_BYTES: usize = 48 << 20;

/// How far before the watermark a catch-up re-reads: events are stamped
/// before their group's fsync and reach the feed after it, so an event
/// can be older than the watermark of a commit that did not hold it.
pub const CATCH_UP_SLACK_MS: u64 = 60_000;

/// A rebuild commits every this many documents, so searches see its
/// progress and the writer's memory stays bounded.
const REBUILD_COMMIT_DOCS: usize = 100_000;

/// Items the indexer takes from the feed between two looks at the clock.
const DRAIN: usize = 4096;

/// Bumped when the schema or the tokenizer changes: an index of another
/// version is rebuilt.
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("the index writer is unavailable (a panic while holding it)")]
    Poisoned,
    #[error("the indexer has stopped")]
    Stopped,
    /// The index could not be opened or created at start: the relay runs
    /// on, search answers 503 until a restart finds it usable.
    #[error("search unavailable")]
    Unavailable,
}

/// What each commit records (the commit payload, JSON).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Payload {
    v: u32,
    /// Every event stamped before this (ms) is indexed.
    mark: u64,
    /// False while a rebuild is under way: such an index is rebuilt.
    built: bool,
}

/// The index's fields.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    /// Unique per document, for upserts and the cursor's tie-break.
    key: Field,
    /// `{site}\x1f{visitor}`: what [`Search::forget_visitor`] deletes by.
    owner: Field,
    site: Field,
    /// `m`essage, `n`ote, `v`isitor.
    kind: Field,
    conv: Field,
    visitor: Field,
    seq: Field,
    /// Newest first, date ranges.
    ts: Field,
    /// The author (JSON), messages and notes.
    from: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenize::NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let f = Fields {
        key: b.add_text_field("key", STRING | STORED),
        owner: b.add_text_field("owner", STRING),
        site: b.add_text_field("site", STRING),
        kind: b.add_text_field("kind", STORED),
        conv: b.add_text_field("conv", STRING | STORED),
        visitor: b.add_text_field("visitor", STORED),
        seq: b.add_u64_field("seq", STORED),
        ts: b.add_u64_field("ts", INDEXED | FAST | STORED),
        from: b.add_text_field("from", STORED),
        text: b.add_text_field("text", text),
    };
    (b.build(), f)
}

fn owner(site: &SiteId, visitor: &VisitorId) -> String {
    format!("{site}\x1f{visitor}")
}

fn event_key(conv: &ConvId, seq: u64) -> String {
    format!("e:{conv}:{seq}")
}

fn visitor_key(site: &SiteId, visitor: &VisitorId) -> String {
    format!("v:{site}:{visitor}")
}

/// Whether a visitor's profile is indexed: only once someone said who
/// they are (the host page's name, email or attributes, a form's contact,
/// an agent's edit). An anonymous visitor has only a default name ("Brave
/// Panda"): indexing those would fill the index with bot traffic and
/// flood every search for a default-name word.
fn identified(v: &VisitorRecord) -> bool {
    !v.contact_cids.is_empty()
        || v.user.as_ref().is_some_and(|u| {
            u.name.as_deref().is_some_and(|n| !n.trim().is_empty())
                || u.email.as_deref().is_some_and(|e| !e.trim().is_empty())
                || !u.attributes.is_empty()
        })
}

/// What the feed carries to the indexer.
enum Item {
    /// A durable message or note.
    Event {
        site: SiteId,
        visitor: VisitorId,
        /// Boxed: an event is far larger than the other items.
        ev: Box<Event>,
    },
    /// A visitor's profile may have changed (`conv`: their latest, if known).
    Visitor {
        site: SiteId,
        visitor: VisitorId,
        conv: Option<ConvId>,
    },
    /// Commit what is pending, then answer.
    Flush(mpsc::Sender<()>),
    /// Stops the indexer as a bug would (tests of what notices).
    #[cfg(test)]
    Panic,
}

/// The state the handle, the feed and the indexer thread share.
struct Shared {
    /// For the indexer's checksum pass (off the start-up path).
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    store: Arc<Store>,
    /// The feed overflowed: events were dropped, catch up from the store.
    stale: AtomicBool,
    /// Everything in the store is in the index (no rebuild or catch-up
    /// under way, no overflow pending).
    complete: AtomicBool,
    /// The watermark the next commit records.
    mark: AtomicU64,
    built: AtomicBool,
    /// Visitors forgotten since start: events of theirs still in the
    /// feed are not indexed again.
    forgotten: Mutex<HashSet<String>>,
    /// The indexer thread is gone (a panic): nothing is indexed any more.
    dead: AtomicBool,
    /// The index's files passed their checksums (or it was emptied for a
    /// rebuild): until then searches read nothing, since a corrupt
    /// segment can make tantivy panic.
    checked: AtomicBool,
}

impl Shared {
    /// The indexer is gone: the index only falls behind from now on, so
    /// it says so (once in the log, always in `complete`).
    fn died(&self) {
        self.stale.store(true, Ordering::Relaxed);
        self.complete.store(false, Ordering::Relaxed);
        if !self.dead.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "search: the indexer has stopped; new messages are not searchable until a restart"
            );
        }
    }
}

/// Most forgotten visitors remembered in memory (the store no longer has
/// their data, so a catch-up will not bring them back either).
const FORGOTTEN_KEPT: usize = 10_000;

/// The search index: queries, and what other parts tell it.
pub struct Search {
    /// `None`: the index could not be opened or created
    /// ([`SearchError::Unavailable`]).
    live: Option<Live>,
    dir: PathBuf,
}

/// A working index and its indexer's feed.
struct Live {
    shared: Arc<Shared>,
    tx: SyncSender<Item>,
}

/// The commit thread's end of the feed: offering never blocks.
#[derive(Clone)]
pub struct Feed {
    tx: SyncSender<Item>,
    shared: Arc<Shared>,
}

impl Feed {
    /// Offers a durable event of `rec` for indexing (messages and notes;
    /// a form answer refreshes the visitor's profile).
    pub fn offer(&self, rec: &ConvRecord, ev: &Event) {
        let item = match &ev.body {
            EventBody::Message { .. } | EventBody::Note { .. } => Item::Event {
                site: rec.site.clone(),
                visitor: rec.visitor.clone(),
                ev: Box::new(ev.clone()),
            },
            EventBody::Contacted { .. } => Item::Visitor {
                site: rec.site.clone(),
                visitor: rec.visitor.clone(),
                conv: Some(rec.id.clone()),
            },
            _ => return,
        };
        self.send(item);
    }

    fn send(&self, item: Item) {
        match self.tx.try_send(item) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                // Never wait: the store has it; a catch-up reads it back.
                if !self.shared.stale.swap(true, Ordering::Relaxed) {
                    tracing::warn!("search: feed full, the index will catch up from the store");
                }
                self.shared.complete.store(false, Ordering::Relaxed);
            }
            Err(mpsc::TrySendError::Disconnected(_)) => self.shared.died(),
        }
    }
}

/// Why an index on disk is not used as it is (the cheap checks: the
/// checksums are the indexer's, see [`Indexer::validate`]).
fn check(index: &Index) -> Result<Payload, String> {
    let metas = index.load_metas().map_err(|e| e.to_string())?;
    let p: Payload = metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or("no watermark")?;
    if p.v != VERSION {
        return Err(format!("version {} (this relay writes {VERSION})", p.v));
    }
    if !p.built {
        return Err("a rebuild did not finish".into());
    }
    let (ours, _) = schema();
    if index.schema() != ours {
        return Err("another schema".into());
    }
    Ok(p)
}

/// The index in `dir` as it is, if it is whole; `None`: rebuild it.
fn open_existing(dir: &Path) -> Option<(Index, Payload)> {
    if !dir.join("meta.json").exists() {
        return None;
    }
    let index = match Index::open_in_dir(dir) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "search: index unreadable, rebuilding");
            return None;
        }
    };
    match check(&index) {
        Ok(p) => Some((index, p)),
        Err(why) => {
            tracing::warn!(%why, "search: index not usable, rebuilding");
            None
        }
    }
}

/// Where the index lives in a relay's data dir.
pub fn dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("search")
}

/// Throws away the index in `dir`, for a store changed behind its back
/// (an offline import or restore writes events older than the index's
/// watermark, which a catch-up would never read): the next start finds
/// no index and rebuilds it from the store. Its metadata goes first, so
/// a discard cut short still reads as no index.
pub fn discard(dir: &Path) -> std::io::Result<()> {
    fn gone(r: std::io::Result<()>) -> std::io::Result<()> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
    if !dir.is_dir() {
        return gone(std::fs::remove_file(dir));
    }
    gone(std::fs::remove_file(dir.join("meta.json")))?;
    gone(std::fs::remove_dir_all(dir))
}

fn fresh(dir: &Path) -> Result<Index, SearchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(Index::create_in_dir(dir, schema().0)?)
}

impl Search {
    /// Opens the index in `dir` (creating, or throwing away and
    /// rebuilding, as needed) and starts the indexer thread, which first
    /// checks the checksums, then rebuilds or catches up from `store`.
    /// Quick (reads only the index's metadata) and never fails: an index
    /// that can be neither opened nor created leaves search unavailable
    /// (503) rather than the relay down.
    pub fn open(dir: &Path, store: Arc<Store>) -> Arc<Search> {
        match Self::open_with(dir, store, WRITER_BYTES) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, dir = %dir.display(), "search: the index cannot be opened or created; search is unavailable");
                Arc::new(Search {
                    live: None,
                    dir: dir.to_path_buf(),
                })
            }
        }
    }

    /// [`Search::open`] with another writer budget (the benchmark's).
    pub fn open_with(
        dir: &Path,
        store: Arc<Store>,
        writer_bytes: usize,
    ) -> Result<Arc<Search>, SearchError> {
        let (index, payload) = match open_existing(dir) {
            Some((i, p)) => (i, Some(p)),
            None => (fresh(dir)?, None),
        };
        let (writer, reader, index, payload) = match Self::parts(index, writer_bytes) {
            Ok((w, r, i)) => (w, r, i, payload),
            Err(e) => {
                tracing::warn!(error = %e, "search: index cannot be opened, rebuilding");
                let (w, r, i) = Self::parts(fresh(dir)?, writer_bytes)?;
                (w, r, i, None)
            }
        };
        let f = schema().1;
        let shared = Arc::new(Shared {
            index,
            reader,
            writer: Mutex::new(writer),
            f,
            store,
            stale: AtomicBool::new(false),
            complete: AtomicBool::new(false),
            mark: AtomicU64::new(payload.map(|p| p.mark).unwrap_or(0)),
            built: AtomicBool::new(payload.is_some()),
            forgotten: Mutex::new(HashSet::new()),
            dead: AtomicBool::new(false),
            checked: AtomicBool::new(payload.is_none()),
        });
        let (tx, rx) = mpsc::sync_channel(FEED_QUEUE);
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("kefu-search".into())
            .spawn(move || {
                let start = match payload {
                    Some(p) => Start::CatchUp(p.mark),
                    None => Start::Rebuild,
                };
                let _watch = Watch(thread_shared.clone());
                Indexer {
                    s: thread_shared,
                    rx,
                }
                .run(start)
            })?;
        Ok(Arc::new(Search {
            live: Some(Live { shared, tx }),
            dir: dir.to_path_buf(),
        }))
    }

    fn parts(
        index: Index,
        writer_bytes: usize,
    ) -> Result<(IndexWriter, IndexReader, Index), SearchError> {
        index
            .tokenizers()
            .register(tokenize::NAME, tokenize::KefuTokenizer);
        let writer = index.writer_with_num_threads(1, writer_bytes)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok((writer, reader, index))
    }

    /// The commit thread's end (see [`Feed`]); `None` when search is
    /// unavailable.
    pub fn feed(&self) -> Option<Feed> {
        self.live.as_ref().map(|l| Feed {
            tx: l.tx.clone(),
            shared: l.shared.clone(),
        })
    }

    /// The working index, or [`SearchError::Unavailable`].
    fn live(&self) -> Result<&Live, SearchError> {
        self.live.as_ref().ok_or(SearchError::Unavailable)
    }

    fn shared(&self) -> Result<&Shared, SearchError> {
        Ok(&self.live()?.shared)
    }

    /// A visitor's profile changed outside the commit thread (an agent's
    /// edit, the host page's `identify`): refresh its document.
    pub fn touch_visitor(&self, site: &SiteId, visitor: &VisitorId) {
        if let Some(feed) = self.feed() {
            feed.send(Item::Visitor {
                site: site.clone(),
                visitor: visitor.clone(),
                conv: None,
            });
        }
    }

    /// Whether every stored message is indexed (no check, rebuild or
    /// catch-up under way, the indexer alive).
    pub fn complete(&self) -> bool {
        self.live.as_ref().is_some_and(|l| {
            l.shared.complete.load(Ordering::Relaxed) && !l.shared.dead.load(Ordering::Relaxed)
        })
    }

    /// Where the index lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes the index takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| match e.metadata() {
                            Ok(m) if m.is_dir() => walk(&e.path()),
                            Ok(m) => m.len(),
                            Err(_) => 0,
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&self.dir)
    }

    /// Documents searchable now.
    pub fn docs(&self) -> u64 {
        self.live
            .as_ref()
            .map_or(0, |l| l.shared.reader.searcher().num_docs())
    }

    /// Commits whatever is pending and waits, at most `wait`, until it is
    /// searchable (at shutdown: a rebuild under way does not hold it up).
    /// Blocking.
    pub fn flush(&self, wait: Duration) -> Result<(), SearchError> {
        let (tx, rx) = mpsc::channel();
        self.live()?
            .tx
            .try_send(Item::Flush(tx))
            .map_err(|_| SearchError::Stopped)?;
        rx.recv_timeout(wait).map_err(|_| SearchError::Stopped)
    }

    /// Deletes every document of `visitor` on `site` — their messages, the
    /// agents' replies and notes in their conversations, their profile —
    /// and commits, so none of it is found again. Blocking (a commit: call
    /// it from a blocking context). The store's data is the caller's to
    /// erase; events of theirs still on their way to the index are dropped.
    pub fn forget_visitor(&self, site: &SiteId, visitor: &VisitorId) -> Result<(), SearchError> {
        // No index, nothing to forget: one built later reads the store,
        // which no longer has them.
        let Some(live) = &self.live else {
            return Ok(());
        };
        let shared = &live.shared;
        let who = owner(site, visitor);
        {
            let mut gone = shared.forgotten.lock().map_err(|_| SearchError::Poisoned)?;
            if gone.len() >= FORGOTTEN_KEPT {
                gone.clear();
            }
            gone.insert(who.clone());
        }
        let mut w = shared.writer()?;
        w.delete_term(Term::from_field_text(shared.f.owner, &who));
        shared.commit(&mut w)?;
        tracing::info!(%site, %visitor, "search: visitor forgotten");
        Ok(())
    }
}

impl Shared {
    fn writer(&self) -> Result<MutexGuard<'_, IndexWriter>, SearchError> {
        self.writer.lock().map_err(|_| SearchError::Poisoned)
    }

    /// Commits with the current watermark and makes it searchable.
    fn commit(&self, w: &mut IndexWriter) -> Result<(), SearchError> {
        let p = Payload {
            v: VERSION,
            mark: self.mark.load(Ordering::Relaxed),
            built: self.built.load(Ordering::Relaxed),
        };
        let mut c = w.prepare_commit()?;
        c.set_payload(&serde_json::to_string(&p).unwrap_or_default());
        c.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn forgotten(&self, site: &SiteId, visitor: &VisitorId) -> bool {
        self.forgotten
            .lock()
            .map(|g| !g.is_empty() && g.contains(&owner(site, visitor)))
            .unwrap_or(false)
    }

    /// The document of a message or note; `None` for other events.
    fn event_doc(&self, site: &SiteId, visitor: &VisitorId, ev: &Event) -> Option<TantivyDocument> {
        let (kind, from, text) = match &ev.body {
            EventBody::Message {
                from, text, file, ..
            } => {
                // An attachment's name is findable too.
                let text = match file {
                    Some(f) if text.is_empty() => f.name.clone(),
                    Some(f) => format!("{text}\n{}", f.name),
                    None => text.clone(),
                };
                ("m", from, text)
            }
            EventBody::Note { from, text, .. } => ("n", from, text.clone()),
            _ => return None,
        };
        if text.is_empty() {
            return None;
        }
        let f = &self.f;
        let mut d = TantivyDocument::default();
        d.add_text(f.key, event_key(&ev.conv, ev.seq));
        d.add_text(f.owner, owner(site, visitor));
        d.add_text(f.site, site.as_str());
        d.add_text(f.kind, kind);
        d.add_text(f.conv, ev.conv.as_str());
        d.add_text(f.visitor, visitor.as_str());
        d.add_u64(f.seq, ev.seq);
        d.add_u64(f.ts, ev.ts);
        d.add_text(f.from, serde_json::to_string(from).unwrap_or_default());
        d.add_text(f.text, text);
        Some(d)
    }

    /// The document of a visitor's profile: the name, email and
    /// attributes, and the default names the console shows for them.
    fn visitor_doc(&self, v: &VisitorRecord, conv: Option<&ConvId>) -> TantivyDocument {
        let mut text = Vec::new();
        let user = v.user.as_ref();
        match user.and_then(|u| u.name.as_deref()) {
            Some(n) => text.push(n.to_string()),
            None => {
                text.push(protocol::names::default_visitor_name(v.id.as_str(), "en"));
                text.push(protocol::names::default_visitor_name(v.id.as_str(), "zh"));
            }
        }
        if let Some(e) = user.and_then(|u| u.email.as_deref()) {
            text.push(e.to_string());
        }
        for (k, val) in user.map(|u| &u.attributes).into_iter().flatten() {
            let val = match val {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text.push(format!("{k}: {val}"));
        }
        let f = &self.f;
        let mut d = TantivyDocument::default();
        d.add_text(f.key, visitor_key(&v.site, &v.id));
        d.add_text(f.owner, owner(&v.site, &v.id));
        d.add_text(f.site, v.site.as_str());
        d.add_text(f.kind, "v");
        if let Some(c) = conv {
            d.add_text(f.conv, c.as_str());
        }
        d.add_text(f.visitor, v.id.as_str());
        d.add_u64(f.ts, v.last_seen);
        d.add_text(f.text, text.join("\n"));
        d
    }

    /// Replaces (or adds) a message's document.
    fn upsert_event(
        &self,
        w: &IndexWriter,
        site: &SiteId,
        visitor: &VisitorId,
        ev: &Event,
    ) -> Result<bool, SearchError> {
        if self.forgotten(site, visitor) {
            return Ok(false);
        }
        let Some(doc) = self.event_doc(site, visitor, ev) else {
            return Ok(false);
        };
        w.delete_term(Term::from_field_text(
            self.f.key,
            &event_key(&ev.conv, ev.seq),
        ));
        w.add_document(doc)?;
        Ok(true)
    }

    /// Replaces a visitor's profile document from the store (`conv`: their
    /// latest conversation, if the caller knows it).
    fn refresh_visitor(
        &self,
        w: &IndexWriter,
        site: &SiteId,
        visitor: &VisitorId,
        conv: Option<ConvId>,
    ) -> Result<(), SearchError> {
        if self.forgotten(site, visitor) {
            return Ok(());
        }
        w.delete_term(Term::from_field_text(
            self.f.key,
            &visitor_key(site, visitor),
        ));
        let Some(v) = self.store.visitor(site, visitor)?.filter(identified) else {
            return Ok(());
        };
        let conv = match conv {
            Some(c) => Some(c),
            None => self.store.visitor_convs(site, visitor)?.pop().map(|c| c.id),
        };
        w.add_document(self.visitor_doc(&v, conv.as_ref()))?;
        Ok(())
    }
}

/// Marks the index as falling behind if the indexer thread panics.
struct Watch(Arc<Shared>);

impl Drop for Watch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.died();
        }
    }
}

/// What the indexer does first.
enum Start {
    Rebuild,
    CatchUp(u64),
}

/// The thread that owns the feed's receiving end.
struct Indexer {
    s: Arc<Shared>,
    rx: Receiver<Item>,
}

/// How long an idle indexer sleeps between looks at the stale flag.
const IDLE: Duration = Duration::from_secs(1);

impl Indexer {
    fn run(self, start: Start) {
        let began = Instant::now();
        let first = match start {
            Start::Rebuild => self.rebuild(),
            Start::CatchUp(mark) => match self.validate() {
                Ok(()) => self.catch_up(mark),
                Err(why) => {
                    tracing::warn!(%why, "search: index not usable, rebuilding");
                    self.rebuild()
                }
            },
        };
        match first {
            Ok(n) => tracing::info!(
                docs = n,
                ms = began.elapsed().as_millis() as u64,
                "search: index ready"
            ),
            Err(e) => {
                tracing::error!(error = %e, "search: could not build the index; will retry");
                self.s.stale.store(true, Ordering::Relaxed);
            }
        }
        if !self.s.stale.load(Ordering::Relaxed) {
            self.s.complete.store(true, Ordering::Relaxed);
        }
        self.live();
    }

    /// Takes the feed until every sender is gone.
    fn live(&self) {
        // Since when changes wait uncommitted.
        let mut dirty: Option<Instant> = None;
        let mut visitors: HashMap<(SiteId, VisitorId), Option<ConvId>> = HashMap::new();
        let mut flushes: Vec<mpsc::Sender<()>> = Vec::new();
        loop {
            let wait = match dirty {
                Some(t) => COMMIT_EVERY.saturating_sub(t.elapsed()),
                None => IDLE,
            };
            let mut items = Vec::new();
            let mut gone = false;
            match self.rx.recv_timeout(wait) {
                Ok(i) => items.push(i),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => gone = true,
            }
            // Stamped when the feed was seen empty: everything offered
            // before then is in `items`.
            let mut empty_at = None;
            while items.len() < DRAIN {
                match self.rx.try_recv() {
                    Ok(i) => items.push(i),
                    Err(TryRecvError::Empty) => {
                        empty_at = Some(crate::now_ms());
                        break;
                    }
                    Err(TryRecvError::Disconnected) => {
                        gone = true;
                        break;
                    }
                }
            }
            if let Err(e) = self.take(items, &mut visitors, &mut flushes, &mut dirty) {
                tracing::error!(error = %e, "search: indexing failed; catching up from the store");
                self.s.stale.store(true, Ordering::Relaxed);
                std::thread::sleep(IDLE);
            }
            if self.s.stale.swap(false, Ordering::Relaxed) {
                self.s.complete.store(false, Ordering::Relaxed);
                let since = self.s.mark.load(Ordering::Relaxed);
                match self.catch_up(since) {
                    Ok(n) => {
                        tracing::info!(docs = n, "search: caught up");
                        self.s.complete.store(true, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "search: catch-up failed; will retry");
                        self.s.stale.store(true, Ordering::Relaxed);
                        std::thread::sleep(IDLE);
                    }
                }
                empty_at = None;
            }
            let due = dirty.is_some_and(|t| t.elapsed() >= COMMIT_EVERY);
            if due || !flushes.is_empty() || gone {
                if dirty.is_some() {
                    if let (Some(t), false) = (empty_at, self.s.stale.load(Ordering::Relaxed)) {
                        self.s.mark.fetch_max(t, Ordering::Relaxed);
                    }
                    if let Err(e) = self.commit(&mut visitors) {
                        tracing::error!(error = %e, "search: commit failed; catching up from the store");
                        self.s.stale.store(true, Ordering::Relaxed);
                    }
                    dirty = None;
                }
                for f in flushes.drain(..) {
                    let _ = f.send(());
                }
            }
            if gone {
                return;
            }
        }
    }

    fn take(
        &self,
        items: Vec<Item>,
        visitors: &mut HashMap<(SiteId, VisitorId), Option<ConvId>>,
        flushes: &mut Vec<mpsc::Sender<()>>,
        dirty: &mut Option<Instant>,
    ) -> Result<(), SearchError> {
        if items.is_empty() {
            return Ok(());
        }
        let w = self.s.writer()?;
        for item in items {
            match item {
                Item::Event { site, visitor, ev } => {
                    if self.s.upsert_event(&w, &site, &visitor, &ev)? {
                        dirty.get_or_insert_with(Instant::now);
                    }
                    visitors.insert((site, visitor), Some(ev.conv));
                }
                Item::Visitor {
                    site,
                    visitor,
                    conv,
                } => {
                    dirty.get_or_insert_with(Instant::now);
                    let slot = visitors.entry((site, visitor)).or_default();
                    if conv.is_some() {
                        *slot = conv;
                    }
                }
                Item::Flush(tx) => flushes.push(tx),
                #[cfg(test)]
                Item::Panic => panic!("search: the indexer stops (test)"),
            }
        }
        Ok(())
    }

    /// Refreshes the profiles seen since the last commit, then commits.
    fn commit(
        &self,
        visitors: &mut HashMap<(SiteId, VisitorId), Option<ConvId>>,
    ) -> Result<(), SearchError> {
        let mut w = self.s.writer()?;
        for ((site, visitor), conv) in visitors.drain() {
            self.s.refresh_visitor(&w, &site, &visitor, conv)?;
        }
        self.s.commit(&mut w)
    }

    /// Checks every file of the index against its checksum: hundreds of
    /// MB on a big index, so here, off the start-up path, while searches
    /// answer `complete: false`. The writer is held so no merge moves
    /// files meanwhile.
    fn validate(&self) -> Result<(), String> {
        let _w = self.s.writer().map_err(|e| e.to_string())?;
        let bad = self
            .s
            .index
            .validate_checksum()
            .map_err(|e| e.to_string())?;
        if !bad.is_empty() {
            return Err(format!("corrupt files: {bad:?}"));
        }
        self.s.checked.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Builds the index from the whole store, replacing whatever it held
    /// (a corrupt index's segments too); returns the documents added.
    fn rebuild(&self) -> Result<u64, SearchError> {
        let start = crate::now_ms();
        let s = &self.s;
        s.built.store(false, Ordering::Relaxed);
        s.mark.store(0, Ordering::Relaxed);
        {
            let mut w = s.writer()?;
            w.delete_all_documents()?;
            s.commit(&mut w)?;
        }
        s.checked.store(true, Ordering::Relaxed);
        tracing::info!("search: building the index from the store");
        let mut n = 0u64;
        let mut since_commit = 0usize;
        // A visitor's latest conversation: ULIDs sort by creation.
        let mut latest: HashMap<(SiteId, VisitorId), ConvId> = HashMap::new();
        for conv in s.store.all_convs()? {
            // Erased meanwhile (its events may not all be gone yet).
            if s.forgotten(&conv.site, &conv.visitor) {
                continue;
            }
            let w = s.writer()?;
            let mut after = 0;
            loop {
                let evs = s.store.events_after(&conv.id, after, 1000)?;
                let Some(last) = evs.last() else { break };
                after = last.seq;
                for ev in &evs {
                    if let Some(doc) = s.event_doc(&conv.site, &conv.visitor, ev) {
                        w.add_document(doc)?;
                        n += 1;
                        since_commit += 1;
                    }
                }
            }
            drop(w);
            latest.insert((conv.site.clone(), conv.visitor.clone()), conv.id.clone());
            if since_commit >= REBUILD_COMMIT_DOCS {
                since_commit = 0;
                s.commit(&mut *s.writer()?)?;
            }
        }
        for site in s.store.sites()? {
            let visitors = s.store.site_visitors(&site.id)?;
            let w = s.writer()?;
            for v in visitors {
                if s.forgotten(&v.site, &v.id) || !identified(&v) {
                    continue;
                }
                let conv = latest.get(&(v.site.clone(), v.id.clone()));
                w.add_document(s.visitor_doc(&v, conv))?;
                n += 1;
            }
        }
        s.mark.store(start, Ordering::Relaxed);
        s.built.store(true, Ordering::Relaxed);
        s.commit(&mut *s.writer()?)?;
        Ok(n)
    }

    /// Upserts every message stamped since `mark` (less the slack) and the
    /// profiles of visitors seen since; returns the documents written.
    fn catch_up(&self, mark: u64) -> Result<u64, SearchError> {
        let start = crate::now_ms();
        let floor = mark.saturating_sub(CATCH_UP_SLACK_MS);
        let s = &self.s;
        let mut n = 0u64;
        let mut touched: HashMap<(SiteId, VisitorId), Option<ConvId>> = HashMap::new();
        for conv in s.store.all_convs()? {
            if conv.updated < floor {
                continue;
            }
            let w = s.writer()?;
            let mut before = conv.last_seq.saturating_add(1);
            'back: loop {
                let evs = s.store.events_before(&conv.id, before, 200)?;
                let Some(first) = evs.first() else { break };
                before = first.seq;
                for ev in evs.iter().rev() {
                    if ev.ts < floor {
                        break 'back;
                    }
                    if s.upsert_event(&w, &conv.site, &conv.visitor, ev)? {
                        n += 1;
                    }
                }
            }
            touched.insert(
                (conv.site.clone(), conv.visitor.clone()),
                Some(conv.id.clone()),
            );
        }
        for site in s.store.sites()? {
            for v in s.store.site_visitors(&site.id)? {
                if v.last_seen >= floor {
                    touched.entry((v.site, v.id)).or_default();
                }
            }
        }
        let mut w = s.writer()?;
        for ((site, visitor), conv) in touched {
            s.refresh_visitor(&w, &site, &visitor, conv)?;
            n += 1;
        }
        s.mark.fetch_max(start, Ordering::Relaxed);
        s.commit(&mut w)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::{NewMessage, Target};
    use protocol::{Author, Channel, Cid, Side, UserInfo};

    fn visitor(site: &SiteId, id: &str, name: &str) -> VisitorRecord {
        VisitorRecord {
            last_seen: crate::now_ms(),
            visits: 1,
            user: Some(UserInfo {
                name: Some(name.into()),
                email: Some(format!("{id}@example.com")),
                ..UserInfo::default()
            }),
            ..VisitorRecord::new(site, &VisitorId::new(id).expect("id"), 1)
        }
    }

    async fn say(app: &crate::App, site: &SiteId, v: &str, cid: &str, text: &str) -> ConvId {
        let msg = NewMessage {
            scope: format!("v:{site}:{v}"),
            cid: Cid::new(cid).expect("cid"),
            target: Target::Visitor {
                site: site.clone(),
                visitor: VisitorId::new(v).expect("id"),
                team: None,
                channel: Channel::Web,
            },
            from: Author {
                side: Side::Visitor,
                id: v.into(),
                name: None,
            },
            text: text.into(),
            file: None,
        };
        app.commit.message(msg).await.expect("stored").conv
    }

    fn find(app: &crate::App, site: &SiteId, q: &str) -> Vec<Found> {
        let req = Request {
            site: site.clone(),
            needles: tokenize::needles(q),
            from: None,
            to: None,
            cursor: None,
            limit: 50,
        };
        app.search.search(&req, |_| true).expect("search").0
    }

    /// Through the real commit path: Chinese by substring, English by word
    /// in any case, profiles by name and email; `forget_visitor` removes
    /// every document of that visitor and nobody else's; a reopened index
    /// keeps what it had.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_are_found_and_forgotten_visitors_are_not() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let app = crate::App::for_tests(dir.path(), &[]);
        let site = SiteId::new(crate::DEMO_SITE)?;
        app.store.put_visitor(&visitor(&site, "v1", "Wang Fang"))?;
        app.store.put_visitor(&visitor(&site, "v2", "Ada"))?;
        let anonymous = VisitorRecord {
            user: None,
            ..visitor(&site, "v3", "")
        };
        app.store.put_visitor(&anonymous)?;
        say(&app, &site, "v1", "c1", "请问可以开发票吗").await;
        say(&app, &site, "v1", "c2", "The INVOICE is late").await;
        say(&app, &site, "v2", "c3", "Where is my invoice?").await;
        say(&app, &site, "v3", "c4", "just looking").await;
        app.search.flush(Duration::from_secs(10))?;
        assert_eq!(find(&app, &site, "looking").len(), 1);
        for lang in ["en", "zh"] {
            let name = protocol::names::default_visitor_name("v3", lang);
            assert!(
                find(&app, &site, &name).is_empty(),
                "an anonymous visitor's default name {name:?} is not indexed"
            );
        }
        assert_eq!(find(&app, &site, "发票").len(), 1);
        assert_eq!(find(&app, &site, "开发票").len(), 1);
        assert_eq!(
            find(&app, &site, "票开").len(),
            0,
            "a phrase, not a bag of bigrams"
        );
        assert_eq!(find(&app, &site, "Invoice").len(), 2);
        assert_eq!(find(&app, &site, "wang").len(), 1, "the profile");
        assert_eq!(find(&app, &site, "v2@example.com").len(), 1);
        let other = SiteId::new("other")?;
        assert!(find(&app, &other, "invoice").is_empty());

        app.search.forget_visitor(&site, &VisitorId::new("v1")?)?;
        assert_eq!(find(&app, &site, "发票").len(), 0);
        let left = find(&app, &site, "invoice");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].visitor.as_str(), "v2");
        assert!(find(&app, &site, "wang").is_empty());
        Ok(())
    }

    fn wait_complete(search: &Search) {
        let t = Instant::now();
        while !search.complete() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "index never complete"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An index that can be neither opened nor created (its directory is
    /// a file) leaves the relay running: search says it is unavailable,
    /// erasing a visitor still works.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_that_cannot_be_made_leaves_search_unavailable() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("search"), b"not a directory")?;
        let app = crate::App::for_tests(dir.path(), &[]);
        let site = SiteId::new(crate::DEMO_SITE)?;
        say(&app, &site, "v1", "c1", "hello there").await;
        assert!(!app.search.complete());
        let req = Request {
            site: site.clone(),
            needles: tokenize::needles("hello"),
            from: None,
            to: None,
            cursor: None,
            limit: 5,
        };
        assert!(matches!(
            app.search.search(&req, |_| true),
            Err(SearchError::Unavailable)
        ));
        app.search.forget_visitor(&site, &VisitorId::new("v1")?)?;
        Ok(())
    }

    /// A dead indexer is noticed: the index says it is no longer
    /// complete, and offering more does not pretend otherwise.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_indexer_makes_the_index_incomplete() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let app = crate::App::for_tests(dir.path(), &[]);
        let site = SiteId::new(crate::DEMO_SITE)?;
        wait_complete(&app.search);
        let feed = app.search.feed().expect("an index");
        feed.send(Item::Panic);
        let t = Instant::now();
        while app.search.complete() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "a dead indexer not noticed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        say(&app, &site, "v1", "c1", "after the end").await;
        assert!(!app.search.complete());
        assert!(feed.shared.dead.load(Ordering::Relaxed));
        assert!(app.search.flush(Duration::from_secs(1)).is_err());
        Ok(())
    }
}
