//! Fixed one-minute windows for abuse limits: [`Limiter`] keyed by string and
//! shared relay-wide (logins, sends and uploads per IP; with
//! [`Limiter::take`], longer windows: mail budgets per site, visitor and
//! IP), [`Rate`] owned by one connection (its sends, page views, typing).
//! One counting rule for all.

use std::collections::HashMap;
use std::sync::Mutex;

/// The window every limit counts in.
pub const WINDOW_MS: u64 = 60_000;

/// One window: when it started and how many hits it has seen. Cheap and
/// bounded; a burst at a window edge may reach twice the rate, which is fine
/// for abuse limits.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    count: u32,
    /// How long it lasts: [`WINDOW_MS`] unless [`Limiter::take`] says.
    len_ms: u64,
}

impl Window {
    fn new(now_ms: u64) -> Window {
        Window::lasting(now_ms, WINDOW_MS)
    }

    fn lasting(now_ms: u64, len_ms: u64) -> Window {
        Window {
            start_ms: now_ms,
            count: 0,
            len_ms,
        }
    }

    fn expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.start_ms) >= self.len_ms
    }

    /// Counts one hit; Err(seconds until the window ends) when over the limit.
    fn hit(&mut self, now_ms: u64, per_minute: u32) -> Result<(), u64> {
        if self.expired(now_ms) {
            *self = Window::lasting(now_ms, self.len_ms);
        }
        self.count = self.count.saturating_add(1);
        if self.count > per_minute {
            let left = self
                .len_ms
                .saturating_sub(now_ms.saturating_sub(self.start_ms));
            Err(left.div_ceil(1000).max(1))
        } else {
            Ok(())
        }
    }

    /// Takes `n` hits at once if they all fit under `limit`; else none.
    fn take(&mut self, now_ms: u64, n: u32, limit: u32) -> bool {
        if self.expired(now_ms) {
            *self = Window::lasting(now_ms, self.len_ms);
        }
        if self.count.saturating_add(n) > limit {
            return false;
        }
        self.count += n;
        true
    }
}

/// Windows keyed by string, bounded in memory: past `max_keys` entries,
/// expired windows are swept; if all are live, the map is cleared (a burst
/// of distinct keys costs memory, never unbounded).
pub struct Limiter {
    windows: Mutex<HashMap<String, Window>>,
    max_keys: usize,
}

impl Limiter {
    pub fn new(max_keys: usize) -> Limiter {
        Limiter {
            windows: Mutex::new(HashMap::new()),
            max_keys,
        }
    }

    /// Counts one hit on `key`; Err(seconds to wait) when over `per_minute`.
    pub fn hit(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        self.hit_at(crate::now_ms(), key, per_minute)
    }

    /// Counts one hit of `kind` from `ip` (an unknown address is never
    /// limited here); false when over `per_minute`.
    pub fn allows_ip(&self, kind: &str, ip: Option<std::net::IpAddr>, per_minute: u32) -> bool {
        ip.is_none_or(|ip| self.hit(&format!("{kind}-ip:{ip}"), per_minute).is_ok())
    }

    fn hit_at(&self, now: u64, key: &str, per_minute: u32) -> Result<(), u64> {
        self.window(now, key, WINDOW_MS, |w| w.hit(now, per_minute))
    }

    /// Takes `n` hits on `key` in windows of `window_ms` if all `n` fit
    /// under `limit` (then true), else takes none: a budget (the mail a
    /// site may send an hour). Keys of one limiter should use one window
    /// length.
    pub fn take(&self, key: &str, n: u32, limit: u32, window_ms: u64) -> bool {
        self.take_at(crate::now_ms(), key, n, limit, window_ms)
    }

    fn take_at(&self, now: u64, key: &str, n: u32, limit: u32, window_ms: u64) -> bool {
        self.window(now, key, window_ms, |w| w.take(now, n, limit))
    }

    fn window<T>(&self, now: u64, key: &str, len_ms: u64, f: impl FnOnce(&mut Window) -> T) -> T {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() >= self.max_keys && !w.contains_key(key) {
            w.retain(|_, win| !win.expired(now));
            if w.len() >= self.max_keys {
                w.clear();
            }
        }
        f(w.entry(key.to_string())
            .or_insert_with(|| Window::lasting(now, len_ms)))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.windows.lock().map(|w| w.len()).unwrap_or(usize::MAX)
    }
}

/// One connection's own window (no lock, no key).
#[derive(Debug)]
pub struct Rate(Window);

impl Rate {
    pub fn new() -> Rate {
        Rate(Window::new(crate::now_ms()))
    }

    /// Counts one hit; false when over `per_minute` in this window.
    pub fn allow(&mut self, per_minute: u32) -> bool {
        self.0.hit(crate::now_ms(), per_minute).is_ok()
    }
}

impl Default for Rate {
    fn default() -> Rate {
        Rate::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_key_and_stays_bounded() {
        let l = Limiter::new(4);
        for _ in 0..3 {
            assert!(l.hit("a", 3).is_ok());
        }
        assert!(l.hit("a", 3).is_err());
        assert!(l.hit("b", 3).is_ok());
        for i in 0..100 {
            let _ = l.hit(&format!("k{i}"), 3);
        }
        assert!(l.len() <= 4);
    }

    #[test]
    fn windows_end_and_say_how_long_to_wait() {
        let l = Limiter::new(4);
        assert!(l.hit_at(1_000, "a", 1).is_ok());
        assert_eq!(l.hit_at(31_000, "a", 1), Err(30));
        assert!(l.hit_at(61_000, "a", 1).is_ok());
    }

    /// A budget takes all of a batch or none of it, and renews after its
    /// own window (an hour), not a minute.
    #[test]
    fn budgets_take_all_or_nothing_per_window() {
        let l = Limiter::new(4);
        let hour = 3_600_000;
        assert!(l.take_at(0, "s", 3, 4, hour));
        assert!(!l.take_at(10, "s", 2, 4, hour));
        assert!(l.take_at(20, "s", 1, 4, hour));
        assert!(!l.take_at(WINDOW_MS + 1, "s", 1, 4, hour));
        assert!(l.take_at(10, "t", 4, 4, hour));
        assert!(l.take_at(hour, "s", 4, 4, hour));
    }

    #[test]
    fn a_connection_rate_refuses_past_its_limit() {
        let mut r = Rate::new();
        assert!(r.allow(2));
        assert!(r.allow(2));
        assert!(!r.allow(2));
    }
}
