//! Origins refused for a site's widget: each refusal is logged (at most
//! once a minute per site and origin), counted in a short per-site list of
//! the origins refused recently, and that list is written to the store
//! coalesced — so a flood of refused hellos costs memory bounded per site
//! and one store write per [`REFUSED_ORIGIN_FLUSH_MS`], never one per
//! attempt.
//!
//! The list keeps the [`REFUSED_ORIGINS_PER_SITE`] origins refused most
//! recently (newest first). Only origins an owner could allow are kept
//! (`http(s)://host[:port]`), plus `null` (sandboxed frames, `file:` pages)
//! and the empty origin (no `Origin` header), which the console lists
//! without an "Allow" button. Anything else is logged, not remembered.

use crate::ratelimit::Limiter;
use crate::store::{Store, StoreError};
use protocol::api::{valid_origin, RefusedOrigin};
use protocol::limits::{
    REFUSED_ORIGINS_PER_SITE, REFUSED_ORIGIN_FLUSH_MS, REFUSED_ORIGIN_LOGS_PER_SITE_PER_MINUTE,
    REFUSED_ORIGIN_LOG_INTERVAL_MS,
};
use protocol::SiteId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// (site, origin) keys the log limiter tracks at most: past it, the limiter
/// sweeps expired windows (see [`Limiter`]), so memory stays bounded.
const LOG_KEYS: usize = 10_000;

// The log limiter counts in the rate limiter's one-minute windows.
const _: () = assert!(REFUSED_ORIGIN_LOG_INTERVAL_MS == crate::ratelimit::WINDOW_MS);

pub struct Refused {
    store: Arc<Store>,
    inner: Mutex<Inner>,
    /// One log line per (site, origin) per window.
    log: Limiter,
}

#[derive(Default)]
struct Inner {
    /// The lists of sites touched since start, loaded from the store on
    /// first touch; newest first. Keys are existing sites only (a hello
    /// for an unknown site is refused before its origin is looked at).
    sites: HashMap<SiteId, Vec<RefusedOrigin>>,
    /// Sites whose list changed since the last write.
    dirty: HashSet<SiteId>,
}

impl Refused {
    pub fn new(store: Arc<Store>) -> Refused {
        Refused {
            store,
            inner: Mutex::new(Inner::default()),
            log: Limiter::new(LOG_KEYS),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The loaded list of `site` (from the store on first use).
    fn list_mut<'a>(&self, inner: &'a mut Inner, site: &SiteId) -> &'a mut Vec<RefusedOrigin> {
        inner.sites.entry(site.clone()).or_insert_with(|| {
            self.store.refused_origins(site).unwrap_or_else(|e| {
                tracing::error!(error = %e, %site, "reading refused origins");
                Vec::new()
            })
        })
    }

    /// `origin` (absent: no `Origin` header) was refused for `site`'s
    /// widget on `via` (hello, upload): log it (rate-limited: once a
    /// minute per origin, [`REFUSED_ORIGIN_LOGS_PER_SITE_PER_MINUTE`] per
    /// site) and count it. True when it was logged.
    pub fn refuse(&self, site: &SiteId, origin: Option<&str>, via: &str) -> bool {
        let shown = origin.unwrap_or("");
        let keep = shown.is_empty() || shown == "null" || valid_origin(shown);
        let key = if keep { shown } else { "(invalid)" };
        // "*" is no origin that is kept, so it cannot collide with one.
        let logged = self.log.hit(&format!("{site}\0{key}"), 1).is_ok()
            && self
                .log
                .hit(
                    &format!("{site}\0*"),
                    REFUSED_ORIGIN_LOGS_PER_SITE_PER_MINUTE,
                )
                .is_ok();
        if logged {
            tracing::warn!(
                %site,
                origin = %shown.chars().take(64).collect::<String>(),
                via,
                "refused a page origin not in the site's allowed origins \
                 (allow it in the console: Settings → Allowed origins)"
            );
        }
        if !keep {
            return logged;
        }
        let now = crate::now_ms();
        let mut inner = self.lock();
        let list = self.list_mut(&mut inner, site);
        let mut entry = match list.iter().position(|r| r.origin == shown) {
            Some(i) => list.remove(i),
            None => RefusedOrigin {
                origin: shown.to_string(),
                last_seen: now,
                count: 0,
            },
        };
        entry.last_seen = now;
        entry.count = entry.count.saturating_add(1);
        list.insert(0, entry);
        list.truncate(REFUSED_ORIGINS_PER_SITE);
        inner.dirty.insert(site.clone());
        logged
    }

    /// The origins refused recently for `site` that `allowed` (its allowed
    /// origins now) still refuses, newest first. One allowed since is
    /// dropped from the list for good.
    pub fn list(&self, site: &SiteId, allowed: &[String]) -> Vec<RefusedOrigin> {
        let mut inner = self.lock();
        let list = self.list_mut(&mut inner, site);
        let before = list.len();
        list.retain(|r| {
            let origin = (!r.origin.is_empty()).then_some(r.origin.as_str());
            !crate::origin_allowed(allowed, origin)
        });
        let out = list.clone();
        if out.len() != before {
            inner.dirty.insert(site.clone());
        }
        out
    }

    /// Writes every changed list to the store.
    pub fn flush(&self) -> Result<(), StoreError> {
        let lists: Vec<(SiteId, Vec<RefusedOrigin>)> = {
            let mut inner = self.lock();
            let dirty: Vec<SiteId> = inner.dirty.drain().collect();
            dirty
                .into_iter()
                .filter_map(|s| inner.sites.get(&s).map(|l| (s, l.clone())))
                .collect()
        };
        for (site, list) in lists {
            self.store.put_refused_origins(&site, &list)?;
        }
        Ok(())
    }

    /// Flushes every [`REFUSED_ORIGIN_FLUSH_MS`] until `shutdown`, then
    /// once more (the store's final sync follows in `run`).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_millis(REFUSED_ORIGIN_FLUSH_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            if let Err(e) = self.flush() {
                tracing::error!(error = %e, "writing refused origins");
            }
        }
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "writing refused origins");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteId {
        SiteId::new("s1").expect("id")
    }

    /// Counted per origin, newest first, bounded, persisted only by flush.
    /// Once a minute per origin, and a bounded number per site however
    /// many distinct origins are forged.
    #[test]
    fn logging_is_rate_limited_per_origin_and_per_site() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = Refused::new(Arc::new(Store::open(dir.path()).expect("store")));
        let same = (0..50)
            .filter(|_| r.refuse(&site(), Some("https://a.example"), "hello"))
            .count();
        assert_eq!(same, 1);
        let distinct = (0..100)
            .filter(|i| r.refuse(&site(), Some(&format!("https://h{i}.example")), "hello"))
            .count();
        assert_eq!(distinct as u32, REFUSED_ORIGIN_LOGS_PER_SITE_PER_MINUTE - 1);
    }

    #[test]
    fn refusals_are_counted_bounded_and_written_on_flush() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Arc::new(Store::open(dir.path()).expect("store"));
        let r = Refused::new(store.clone());
        for _ in 0..1000 {
            r.refuse(&site(), Some("https://bad.example"), "hello");
        }
        r.refuse(&site(), Some("javascript:x"), "hello");
        assert!(store.refused_origins(&site()).expect("read").is_empty());
        let list = r.list(&site(), &["https://good.example".into()]);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].count, 1000);
        for i in 0..(REFUSED_ORIGINS_PER_SITE + 5) {
            r.refuse(&site(), Some(&format!("https://h{i}.example")), "hello");
        }
        r.flush().expect("flush");
        let stored = store.refused_origins(&site()).expect("read");
        assert_eq!(stored.len(), REFUSED_ORIGINS_PER_SITE);
        assert_eq!(
            stored[0].origin,
            format!("https://h{}.example", REFUSED_ORIGINS_PER_SITE + 4)
        );
        // Allowing one drops it from the list.
        let allowed = vec![stored[0].origin.clone(), "https://x.example".into()];
        let list = r.list(&site(), &allowed);
        assert_eq!(list.len(), REFUSED_ORIGINS_PER_SITE - 1);
        assert!(list.iter().all(|o| o.origin != allowed[0]));
    }
}
