//! Whole-relay backup and restore, and the operator's routes on the
//! metrics port that let the CLI ask a running relay for a backup or a
//! site export (the relay holds sled's lock while it runs, so nothing else
//! can open its store).
//!
//! A backup directory: `sled/` (a fresh sled holding a copy of every tree),
//! `files/` (the uploads' bytes), and `backup.json` (what it holds; written
//! last, so a directory without it is an unfinished backup). Consistency:
//! the commit thread is paused at a barrier while the trees are copied, so
//! every message acked before the backup started is in it and the `chat`
//! tree (conversations, events, indexes, the outbound queue) is one point
//! in time; records written outside the commit thread (visitor profiles,
//! pages, settings) are each as of some moment of the copy. Uploads are
//! copied after the trees: their bytes are written before their records
//! and never change (content-addressed), so every record copied has its
//! bytes.

use crate::files::Blobs;
use crate::reply::{json, json_body, refuse, with_app, Reply};
use crate::store::{AgentRole, Store, TreeCounts};
use crate::App;
use protocol::limits::BACKUP_PAUSE_MAX_MS;
use protocol::{ErrorCode, SiteId};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

/// The format of `backup.json` (and of the directory beside it).
pub const BACKUP_FORMAT: u32 = 1;
pub const MANIFEST: &str = "backup.json";

/// `backup.json`: what a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub relay_version: String,
    /// When the commit thread was paused (ms): the backup's point in time.
    pub taken_at: u64,
    /// Entries copied, by tree.
    pub trees: TreeCounts,
    pub blobs: u64,
    pub blob_bytes: u64,
    /// How long writes waited for the copy of the trees (ms).
    pub paused_ms: u64,
}

/// A directory a backup (or a restore) may write into: absent, or empty.
pub fn check_empty_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                anyhow::bail!("{} is not empty", dir.display());
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => anyhow::bail!("{}: {e}", dir.display()),
    }
}

/// Copies every blob under `from` (a `files/` dir) into `to`, fsyncing
/// each; returns (count, bytes). Temporary uploads (`tmp/`) are skipped.
pub fn copy_blobs(from: &Path, to: &Path) -> std::io::Result<(u64, u64)> {
    let mut n = 0;
    let mut bytes = 0;
    std::fs::create_dir_all(to)?;
    let Ok(dirs) = std::fs::read_dir(from) else {
        return Ok((0, 0));
    };
    for d in dirs {
        let d = d?;
        if !d.file_type()?.is_dir() || d.file_name() == "tmp" {
            continue;
        }
        let dest = to.join(d.file_name());
        std::fs::create_dir_all(&dest)?;
        for f in std::fs::read_dir(d.path())? {
            let f = f?;
            if !f.file_type()?.is_file() {
                continue;
            }
            let target = dest.join(f.file_name());
            bytes += std::fs::copy(f.path(), &target)?;
            std::fs::File::open(&target)?.sync_all()?;
            n += 1;
        }
        std::fs::File::open(&dest)?.sync_all()?;
    }
    std::fs::File::open(to)?.sync_all()?;
    Ok((n, bytes))
}

fn write_manifest(dir: &Path, m: &Manifest) -> anyhow::Result<()> {
    let path = dir.join(MANIFEST);
    std::fs::write(&path, serde_json::to_vec_pretty(m)?)?;
    std::fs::File::open(&path)?.sync_all()?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Takes a backup of the running relay into `dir` (absent or empty).
pub async fn backup(app: &Arc<App>, dir: PathBuf) -> anyhow::Result<Manifest> {
    check_empty_dir(&dir)?;
    std::fs::create_dir_all(&dir)?;
    let paused = app
        .commit
        .barrier()
        .await
        .map_err(|e| anyhow::anyhow!("the relay is shutting down: {e:?}"))?;
    let taken_at = crate::now_ms();
    let store = app.store.clone();
    let sled_dir = dir.join("sled");
    let trees = tokio::task::spawn_blocking(move || store.copy_to(&sled_dir)).await?;
    let paused_ms = crate::now_ms().saturating_sub(taken_at);
    drop(paused);
    let trees = trees?;
    if paused_ms >= BACKUP_PAUSE_MAX_MS {
        anyhow::bail!(
            "copying the trees took {paused_ms} ms, longer than writes may wait \
             ({BACKUP_PAUSE_MAX_MS} ms): the copy is not one point in time; delete {} \
             and back up to a faster disk",
            dir.display()
        );
    }
    let from = app.config.data_dir.join("files");
    let to = dir.join("files");
    let (blobs, blob_bytes) = tokio::task::spawn_blocking(move || copy_blobs(&from, &to)).await??;
    let m = Manifest {
        format: BACKUP_FORMAT,
        relay_version: env!("CARGO_PKG_VERSION").to_string(),
        taken_at,
        trees,
        blobs,
        blob_bytes,
        paused_ms,
    };
    write_manifest(&dir, &m)?;
    tracing::info!(dir = %dir.display(), paused_ms, blobs, "backup taken");
    Ok(m)
}

/// Restores the backup in `from` into the data dir `data_dir` (whose
/// `sled/` and `files/` must be absent or empty); the relay is stopped.
pub fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<Manifest> {
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(from.join(MANIFEST)).map_err(|e| {
            anyhow::anyhow!(
                "{}: no {MANIFEST} ({e}): not a finished backup",
                from.display()
            )
        })?)?;
    if m.format != BACKUP_FORMAT {
        anyhow::bail!(
            "backup format {} (this relay reads {BACKUP_FORMAT})",
            m.format
        );
    }
    let sled_dir = data_dir.join("sled");
    let files_dir = data_dir.join("files");
    check_empty_dir(&sled_dir)?;
    check_empty_dir(&files_dir)?;
    // An index left in the data dir knows another store: thrown away, the
    // relay rebuilds it from the restored one at start.
    crate::search::discard(&crate::search::dir_in(data_dir))?;
    let trees = Store::restore(&from.join("sled"), &sled_dir)?;
    if trees != m.trees {
        anyhow::bail!(
            "the backup's trees ({trees:?}) are not what {MANIFEST} says ({:?})",
            m.trees
        );
    }
    let (blobs, _) = copy_blobs(&from.join("files"), &files_dir)?;
    if blobs != m.blobs {
        anyhow::bail!(
            "the backup holds {blobs} uploads, {MANIFEST} says {}",
            m.blobs
        );
    }
    Ok(m)
}

/// Writes `site`'s stream to `to` (a new file) from a running relay.
pub fn export_to_file(
    store: &Store,
    blobs: &Blobs,
    site: &SiteId,
    to: &Path,
) -> anyhow::Result<crate::export::Totals> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| anyhow::anyhow!("{}: {e}", to.display()))?;
    let totals = crate::export::export_site(store, blobs, site, &f);
    match totals {
        Ok(t) => {
            f.sync_all()?;
            Ok(t)
        }
        Err(e) => {
            let _ = std::fs::remove_file(to);
            Err(e.into())
        }
    }
}

// --- the operator's routes (metrics port) ----------------------------------

#[derive(Deserialize)]
struct BackupBody {
    to: PathBuf,
}

#[derive(Deserialize)]
struct ExportBody {
    site: String,
    to: PathBuf,
}

/// An owner's bearer token, or a refusal.
fn owner(app: &App, authorization: Option<&str>) -> Result<(), Rejection> {
    let token = crate::auth::bearer(authorization).ok_or_else(|| {
        refuse(
            ErrorCode::Unauthorized,
            "Authorization: Bearer <owner token> required",
        )
    })?;
    match crate::auth::agent_for_token(&app.store, token).map_err(crate::reply::internal)? {
        Some(a) if a.role == AgentRole::Owner => Ok(()),
        Some(_) => Err(refuse(ErrorCode::Forbidden, "owners only")),
        None => Err(refuse(
            ErrorCode::Unauthorized,
            "unknown, expired or revoked token",
        )),
    }
}

fn absolute(p: &Path) -> Result<(), Rejection> {
    if p.is_absolute() {
        Ok(())
    } else {
        Err(refuse(
            ErrorCode::BadRequest,
            "`to` must be an absolute path on the relay's machine",
        ))
    }
}

/// POST /admin/backup and POST /admin/export (metrics port only).
pub fn admin_routes(app: Arc<App>) -> impl Filter<Extract = (Reply,), Error = Rejection> + Clone {
    let auth = || warp::header::optional::<String>("authorization");
    let backup = warp::path!("admin" / "backup")
        .and(warp::post())
        .and(auth())
        .and(json_body::<BackupBody>())
        .and(with_app(app.clone()))
        .and_then(backup_route);
    let export = warp::path!("admin" / "export")
        .and(warp::post())
        .and(auth())
        .and(json_body::<ExportBody>())
        .and(with_app(app))
        .and_then(export_route);
    backup.or(export).unify()
}

async fn backup_route(
    authorization: Option<String>,
    b: BackupBody,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    owner(&app, authorization.as_deref())?;
    absolute(&b.to)?;
    match backup(&app, b.to).await {
        Ok(m) => Ok(json(StatusCode::OK, &m)),
        Err(e) => Err(refuse(ErrorCode::Conflict, format!("backup: {e:#}"))),
    }
}

async fn export_route(
    authorization: Option<String>,
    b: ExportBody,
    app: Arc<App>,
) -> Result<Reply, Rejection> {
    owner(&app, authorization.as_deref())?;
    absolute(&b.to)?;
    let site =
        SiteId::new(&b.site).map_err(|e| refuse(ErrorCode::BadRequest, format!("site: {e}")))?;
    if app
        .store
        .site(&site)
        .map_err(crate::reply::internal)?
        .is_none()
    {
        return Err(refuse(
            ErrorCode::UnknownSite,
            format!("no site {site} on this relay"),
        ));
    }
    let a = app.clone();
    let to = b.to.clone();
    let s = site.clone();
    let r = tokio::task::spawn_blocking(move || export_to_file(&a.store, &a.files, &s, &to))
        .await
        .map_err(crate::reply::internal)?;
    match r {
        Ok(totals) => Ok(json(
            StatusCode::OK,
            &serde_json::json!({"site": site, "to": b.to, "totals": totals}),
        )),
        Err(e) => Err(refuse(ErrorCode::Conflict, format!("export: {e:#}"))),
    }
}
