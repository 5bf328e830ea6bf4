//! Blocking visitors and visitor data rights: who a client is (its IP,
//! behind a trusted proxy too), the site's blocks ([`Blocks`]), a visitor's
//! export ([`export`]) and erasure ([`erase_visitor`]), and the database
//! rewrite that takes erased bytes out of sled's files ([`compact_if_pending`]).
//!
//! An erase is resumable: a durable mark comes first (`erasing` tree), each
//! step is idempotent, and the relay finishes every marked erase at start
//! ([`resume_erasures`]) before the mark is lifted and the log entry kept.

use crate::commit::CommitError;
use crate::store::{ErasingMark, FileRecord, Store, StoreError};
use crate::App;
use protocol::api::privacy::{BlockView, ErasureView, IpRange};
use protocol::limits::{MAX_EXPORT_BYTES, MAX_FORWARDED_HOPS};
use protocol::{ConvId, FileId, SiteId, VisitorId};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, RwLock};
use warp::Filter;

// --- who the client is --------------------------------------------------

/// The client's address: the socket's peer, or — when that peer is one of
/// `trusted` (`--trust-proxy`) — the address the proxy says it forwarded
/// for: the right-most entry of `Forwarded` (RFC 7239 `for=`) or else
/// `X-Forwarded-For` that is not itself a trusted proxy. Headers from any
/// other peer are ignored: anyone can send them.
pub fn client_ip(
    remote: Option<SocketAddr>,
    xff: Option<&str>,
    forwarded: Option<&str>,
    trusted: &[IpRange],
) -> Option<IpAddr> {
    let peer = remote?.ip();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> = match (forwarded, xff) {
        (Some(f), _) if !f.trim().is_empty() => f
            .split(',')
            .rev()
            .take(MAX_FORWARDED_HOPS)
            .filter_map(forwarded_for)
            .collect(),
        (_, Some(x)) => x
            .split(',')
            .rev()
            .take(MAX_FORWARDED_HOPS)
            .filter_map(|h| parse_hop(h.trim()))
            .collect(),
        _ => Vec::new(),
    };
    // Right to left: the first hop no trusted proxy of ours is the client.
    hops.iter()
        .copied()
        .find(|ip| !is_trusted(*ip))
        .or_else(|| hops.last().copied())
        .or(Some(peer))
}

/// `for=` of one `Forwarded` element (`for=192.0.2.1;proto=https`,
/// `for="[2001:db8::1]:443"`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        parse_hop(v.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: bare, `a.b.c.d:port`, `[v6]:port`.
fn parse_hop(h: &str) -> Option<IpAddr> {
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = h.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    h.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|ip| ip.parse().ok())
}

/// The client's address for a warp route (see [`client_ip`]).
pub fn client_addr(
    trusted: Arc<Vec<IpRange>>,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = warp::Rejection> + Clone {
    warp::addr::remote()
        .and(warp::header::optional::<String>("x-forwarded-for"))
        .and(warp::header::optional::<String>("forwarded"))
        .map(
            move |remote: Option<SocketAddr>, xff: Option<String>, fwd: Option<String>| {
                client_ip(remote, xff.as_deref(), fwd.as_deref(), &trusted)
            },
        )
}

/// An address as it is kept and shown (`::ffff:a.b.c.d` as `a.b.c.d`).
pub fn ip_text(ip: IpAddr) -> String {
    IpRange::around(ip, 128).to_string()
}

// --- blocks ---------------------------------------------------------------

/// The sites' blocks, read from the store once per site and kept until a
/// block is added or lifted: every visitor frame that stores something
/// asks, so the hot path is a read lock and a short scan.
#[derive(Default)]
pub struct Blocks {
    sites: RwLock<HashMap<SiteId, SiteBlocks>>,
}

/// One site's blocks, each with its range parsed once.
type SiteBlocks = Arc<Vec<(BlockView, Option<IpRange>)>>;

impl Blocks {
    fn of(&self, store: &Store, site: &SiteId) -> Result<SiteBlocks, StoreError> {
        if let Some(b) = self
            .sites
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(site)
        {
            return Ok(b.clone());
        }
        let list: Vec<_> = store
            .blocks(site)?
            .into_iter()
            .map(|b| {
                let r = b.ip.as_deref().and_then(|ip| IpRange::parse(ip).ok());
                (b, r)
            })
            .collect();
        let list = Arc::new(list);
        self.sites
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(site.clone(), list.clone());
        Ok(list)
    }

    /// The blocks of `site` that refuse this visitor (by its id) or this
    /// address (by IP or range).
    pub fn matching(
        &self,
        store: &Store,
        site: &SiteId,
        visitor: Option<&VisitorId>,
        ip: Option<IpAddr>,
    ) -> Result<Vec<BlockView>, StoreError> {
        Ok(self
            .of(store, site)?
            .iter()
            .filter(|(b, r)| {
                (visitor.is_some() && b.visitor.as_ref() == visitor)
                    || ip.is_some_and(|ip| r.is_some_and(|r| r.contains(ip)))
            })
            .map(|(b, _)| b.clone())
            .collect())
    }

    /// Whether the visitor (or its address) is blocked on `site`; a store
    /// error counts as not blocked (logged): blocks never stop a site's
    /// chat because a read failed.
    pub fn blocked(
        &self,
        store: &Store,
        site: &SiteId,
        visitor: &VisitorId,
        ip: Option<IpAddr>,
    ) -> bool {
        match self.matching(store, site, Some(visitor), ip) {
            Ok(b) => !b.is_empty(),
            Err(e) => {
                tracing::error!(error = %e, "blocks unreadable; not refusing");
                false
            }
        }
    }

    /// The site's blocks changed: read them again on next use.
    pub fn changed(&self, site: &SiteId) {
        self.sites
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(site);
    }
}

/// The words a blocked client reads (error frames and HTTP bodies).
pub const BLOCKED_MESSAGE: &str = "you cannot send messages to this site";

// --- erase ----------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
}

/// The files attached in `convs` (read-only: before the erase takes them
/// off their messages).
fn attached_files(store: &Store, convs: &[ConvId]) -> Result<Vec<FileId>, StoreError> {
    let mut out = Vec::new();
    for c in convs {
        for ev in store.events_after(c, 0, usize::MAX)? {
            if let protocol::EventBody::Message { file: Some(f), .. } = ev.body {
                out.push(f.id);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Starts an erase: the durable mark, then [`finish_erase`]. The one place
/// an erase happens (API and resume at start alike).
pub async fn erase_visitor(
    app: &Arc<App>,
    site: &SiteId,
    visitor: &VisitorId,
    view: ErasureView,
) -> Result<ErasureView, EraseError> {
    let convs: Vec<ConvId> = app
        .store
        .visitor_convs(site, visitor)?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let mark = ErasingMark {
        files: attached_files(&app.store, &convs)?,
        view,
    };
    app.store.put_erasing(site, visitor, &mark)?;
    app.store.sync()?;
    finish_erase(app, site, visitor, mark).await
}

/// Every step of an erase after its mark; each is idempotent, so running it
/// again after a crash anywhere finishes the same erase:
/// 1. the conversations' texts, attachments, names and outbound jobs (the
///    commit thread, one atomic batch);
/// 2. the files: the visitor's uploads, and those attached in its
///    conversations and nowhere else — bytes first, then records;
/// 3. the profile (name, email, attributes, contact, IPs), page views and
///    upload quota;
/// 4. the search index forgets them; the log entry, the mark lifted, all
///    made durable; the database is
///    rewritten at the next start ([`compact_if_pending`]);
/// 5. live state: agents see the visitor without its identity.
pub async fn finish_erase(
    app: &Arc<App>,
    site: &SiteId,
    visitor: &VisitorId,
    mark: ErasingMark,
) -> Result<ErasureView, EraseError> {
    let ErasingMark { mut view, files } = mark;
    let convs: Vec<ConvId> = app
        .store
        .visitor_convs(site, visitor)?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let erased = app.commit.erase(site.clone(), visitor.clone()).await?;
    view.conversations = view.conversations.max(erased.conversations);
    view.events = view.events.max(erased.events);
    view.jobs += erased.jobs;

    let mut doomed: Vec<FileRecord> = app.store.visitor_files(site, visitor)?;
    for id in files.iter().chain(erased.files.iter()) {
        if doomed.iter().any(|f| &f.id == id) {
            continue;
        }
        let Some(f) = app.store.file(id)? else {
            continue;
        };
        // An agent's file sent to other visitors too stays for them.
        let elsewhere = app.store.file_convs(id)?.iter().any(|c| !convs.contains(c));
        if &f.site == site && !elsewhere {
            doomed.push(f);
        }
    }
    for f in &doomed {
        let shared = app.store.remove_file(f)?;
        if !shared {
            for thumb in [false, true] {
                match std::fs::remove_file(app.files.path(&f.sha256, thumb)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        view.files += 1;
    }
    view.pages += app.store.remove_visitor(site, visitor)?;
    // The index forgets them before the mark is lifted, so a crash here
    // forgets again at the next start.
    let (search, s, v) = (app.search.clone(), site.clone(), visitor.clone());
    tokio::task::spawn_blocking(move || search.forget_visitor(&s, &v))
        .await
        .map_err(|e| std::io::Error::other(format!("search: {e}")))??;
    view.finished = crate::now_ms();
    // Before the mark is lifted: a crash between the two still rewrites.
    request_compaction(&app.config.data_dir)?;
    app.store.finish_erasure(site, visitor, &view)?;
    app.store.sync()?;
    app.hub.visitor_user(site, visitor, None);
    tracing::info!(
        site = %site, visitor = %visitor, by = %view.by_name,
        conversations = view.conversations, events = view.events, files = view.files,
        pages = view.pages, jobs = view.jobs, "visitor erased"
    );
    Ok(view)
}

/// Finishes the erases a crash or a restart interrupted.
pub async fn resume_erasures(app: Arc<App>) {
    let marks = match app.store.erasing_all() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "privacy: erases under way unreadable");
            return;
        }
    };
    for (site, visitor, mark) in marks {
        tracing::info!(site = %site, visitor = %visitor, "privacy: finishing an interrupted erase");
        if let Err(e) = finish_erase(&app, &site, &visitor, mark).await {
            tracing::error!(site = %site, visitor = %visitor, error = %e, "privacy: erase not finished; retried at next start");
        }
    }
}

// --- the database rewrite -------------------------------------------------

/// Beside `<data_dir>/sled`: an erase happened since the last rewrite.
const COMPACT_PENDING: &str = "sled-rewrite-pending";
/// The rewrite's copy while it is built; `DONE` inside once it is whole.
const COMPACT_DIR: &str = "sled.rewrite";
const COMPACT_DONE: &str = "DONE";
/// The old database while the copy takes its place.
const COMPACT_OLD: &str = "sled.old";

/// Asks for a rewrite at the next start (durably).
fn request_compaction(data_dir: &Path) -> std::io::Result<()> {
    let p = data_dir.join(COMPACT_PENDING);
    if p.exists() {
        return Ok(());
    }
    let f = std::fs::File::create(&p)?;
    f.sync_all()?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// sled keeps overwritten and removed values in its log segments until it
/// happens to rewrite them, so an erased text could still be read from the
/// data dir's bytes. After an erase, the next start rewrites the database
/// before opening it: every live key and value exported into a fresh sled
/// (which holds nothing else), then swapped in by two renames. Crash-safe:
/// a copy without `DONE` is rebuilt; a `DONE` copy with no `sled` beside
/// it is the one to rename in; a left-over `sled.old` is removed.
///
/// The same rewrite converts a store written before kefu compressed its
/// log ([`crate::store::sled_config`]) once, at the first start after the
/// upgrade.
pub fn compact_if_pending(data_dir: &Path) -> anyhow::Result<()> {
    let live = data_dir.join("sled");
    let copy = data_dir.join(COMPACT_DIR);
    let old = data_dir.join(COMPACT_OLD);
    let pending = data_dir.join(COMPACT_PENDING);
    if copy.join(COMPACT_DONE).exists() && !live.exists() {
        // Crashed between the two renames.
        std::fs::rename(&copy, &live)?;
        std::fs::File::open(data_dir)?.sync_all()?;
    }
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    let convert = !crate::store::written_compressed(&live);
    if !pending.exists() && !convert {
        return Ok(());
    }
    if copy.exists() {
        std::fs::remove_dir_all(&copy)?;
    }
    let started = std::time::Instant::now();
    {
        let from = crate::store::sled_config_as_written(&live).open()?;
        let to = crate::store::sled_config(&copy).open()?;
        to.import(from.export());
        to.flush()?;
        drop(to);
        drop(from);
    }
    let done = std::fs::File::create(copy.join(COMPACT_DONE))?;
    done.sync_all()?;
    std::fs::File::open(&copy)?.sync_all()?;
    std::fs::rename(&live, &old)?;
    std::fs::rename(&copy, &live)?;
    std::fs::File::open(data_dir)?.sync_all()?;
    let _ = std::fs::remove_file(live.join(COMPACT_DONE));
    std::fs::remove_dir_all(&old)?;
    match std::fs::remove_file(&pending) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    std::fs::File::open(data_dir)?.sync_all()?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        reason = if convert {
            "compressed format"
        } else {
            "erase"
        },
        "store rewritten"
    );
    Ok(())
}

// --- export ---------------------------------------------------------------

/// A tar archive being written (POSIX ustar, through the `tar` crate),
/// gzipped as it goes.
struct Tar {
    tar: tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    /// Bytes before gzip, bounded by [`MAX_EXPORT_BYTES`].
    raw: u64,
    mtime: u64,
}

impl Tar {
    fn new(mtime_ms: u64) -> Tar {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        Tar {
            tar: tar::Builder::new(gz),
            raw: 0,
            mtime: mtime_ms / 1000,
        }
    }

    fn add(&mut self, name: &str, data: &[u8]) -> Result<(), ExportError> {
        self.raw += 512 + (data.len() as u64).div_ceil(512) * 512;
        if self.raw > MAX_EXPORT_BYTES {
            return Err(ExportError::TooLarge);
        }
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        // Names are ours (ids and cleaned file names), short enough for a
        // ustar header.
        self.tar.append_data(&mut h, name, data)?;
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, ExportError> {
        Ok(self.tar.into_inner()?.finish()?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the export is over its limit")]
    TooLarge,
}

/// A file name safe in an archive: no path separators or control
/// characters, at most 60 bytes.
fn archive_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    while out.len() > 60 {
        out.pop();
    }
    if out.is_empty() || out == "." || out == ".." {
        out = "file".into();
    }
    out
}

/// Everything stored about a visitor as one `.tar.gz`: `profile.json` (the
/// profile as the API shows it), `pages.json` (every page view),
/// `conversations/<conv>.json` (the summary and every event, as the API
/// shows them) and `files/<file id>-<name>` (the visitor's uploads and the
/// files sent in its conversations).
pub fn export(app: &App, profile: &protocol::api::VisitorProfile) -> Result<Vec<u8>, ExportError> {
    let (site, visitor) = (&profile.site, &profile.id);
    let mut tar = Tar::new(crate::now_ms());
    tar.add("profile.json", &serde_json::to_vec_pretty(profile)?)?;
    let pages = app.store.all_pages(site, visitor)?;
    tar.add("pages.json", &serde_json::to_vec_pretty(&pages)?)?;
    let mut files: Vec<FileRecord> = app.store.visitor_files(site, visitor)?;
    for c in app.store.visitor_convs(site, visitor)? {
        let events = app.store.events_after(&c.id, 0, usize::MAX)?;
        for ev in &events {
            if let protocol::EventBody::Message { file: Some(f), .. } = &ev.body {
                if !files.iter().any(|x| x.id == f.id) {
                    if let Some(rec) = app.store.file(&f.id)? {
                        files.push(rec);
                    }
                }
            }
        }
        let doc = serde_json::json!({ "conversation": c.summary(), "events": events });
        tar.add(
            &format!("conversations/{}.json", c.id),
            &serde_json::to_vec_pretty(&doc)?,
        )?;
    }
    for f in files {
        match std::fs::read(app.files.path(&f.sha256, false)) {
            Ok(bytes) => tar.add(&format!("files/{}-{}", f.id, archive_name(&f.name)), &bytes)?,
            Err(e) => {
                tracing::warn!(file = %f.id, error = %e, "export: a file's bytes are missing")
            }
        }
    }
    tar.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> Option<SocketAddr> {
        s.parse().ok()
    }

    /// Forwarded headers count only from a trusted proxy, right to left,
    /// skipping the proxies of our own; anyone else's are ignored.
    #[test]
    fn the_client_ip_believes_only_trusted_proxies() {
        let trusted = vec![
            IpRange::parse("127.0.0.1").expect("r"),
            IpRange::parse("10.0.0.0/8").expect("r"),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        // Untrusted peer: headers ignored.
        assert_eq!(
            client_ip(sa("203.0.113.9:5000"), Some("1.2.3.4"), None, &trusted),
            ip("203.0.113.9")
        );
        // Trusted peer: the right-most untrusted hop.
        assert_eq!(
            client_ip(
                sa("127.0.0.1:5000"),
                Some("6.6.6.6, 198.51.100.7, 10.1.1.1"),
                None,
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(
                sa("127.0.0.1:5000"),
                Some("9.9.9.9"),
                Some(r#"for=192.0.2.60;proto=http, for="[2001:db8::7]:443""#),
                &trusted
            ),
            ip("2001:db8::7")
        );
        // Nothing forwarded: the peer.
        assert_eq!(
            client_ip(sa("127.0.0.1:1"), None, None, &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(sa("127.0.0.1:1"), Some("junk"), None, &trusted),
            ip("127.0.0.1")
        );
        // No proxies trusted: the peer, always.
        assert_eq!(
            client_ip(sa("127.0.0.1:1"), Some("1.2.3.4"), None, &[]),
            ip("127.0.0.1")
        );
    }

    /// The archive is a tar that standard readers take: ustar headers with
    /// valid checksums, data padded to 512, two zero blocks at the end.
    #[test]
    fn the_archive_is_a_valid_tar() -> anyhow::Result<()> {
        use std::io::Read as _;
        let mut t = Tar::new(1_700_000_000_000);
        t.add("a.json", b"{}")?;
        t.add("files/x-photo.png", &[7u8; 600])?;
        let gz = t.finish()?;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw)?;
        assert_eq!(raw.len(), 512 + 512 + 512 + 1024 + 1024);
        let h = &raw[..512];
        assert_eq!(&h[..6], b"a.json");
        assert_eq!(&h[257..262], b"ustar");
        let mut copy = h.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u64 = copy.iter().map(|&b| b as u64).sum();
        let field = std::str::from_utf8(&h[148..156])?;
        let stored = u64::from_str_radix(field.trim_matches(|c| c == '\0' || c == ' '), 8)?;
        assert_eq!(sum, stored);
        assert_eq!(&raw[512..514], b"{}");
        assert_eq!(&raw[1024..1041], b"files/x-photo.png");
        assert_eq!(archive_name("../a/b\\c"), ".._a_b_c");
        Ok(())
    }

    /// A store written before kefu compressed its log is converted once at
    /// start: every tree's entries kept, sled then opens it compressed, and
    /// the next start leaves it alone.
    #[test]
    fn an_uncompressed_store_is_converted_at_start() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let live = dir.path().join("sled");
        {
            let old = sled::Config::new().path(&live).open()?;
            old.open_tree("chat")?
                .insert(b"c1", &b"a conversation"[..])?;
            old.open_tree("visitors")?
                .insert(b"v1", &b"a visitor"[..])?;
            old.flush()?;
        }
        assert!(!crate::store::written_compressed(&live));
        compact_if_pending(dir.path())?;
        assert!(crate::store::written_compressed(&live));
        let db = crate::store::sled_config(&live).open()?;
        assert_eq!(
            db.open_tree("chat")?.get(b"c1")?.as_deref(),
            Some(&b"a conversation"[..])
        );
        assert_eq!(
            db.open_tree("visitors")?.get(b"v1")?.as_deref(),
            Some(&b"a visitor"[..])
        );
        drop(db);
        // A rewrite renames a fresh directory in.
        use std::os::unix::fs::MetadataExt;
        let before = std::fs::metadata(&live)?.ino();
        compact_if_pending(dir.path())?;
        assert_eq!(std::fs::metadata(&live)?.ino(), before, "rewritten again");
        assert!(!dir.path().join(COMPACT_OLD).exists());
        assert!(!dir.path().join(COMPACT_DIR).exists());
        Ok(())
    }
}
