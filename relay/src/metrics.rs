//! Counters for `/metrics` (Prometheus text format) and benchmarks.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide counters. Relaxed atomics: exactness across counters at one
/// instant does not matter for monitoring.
#[derive(Default)]
pub struct Metrics {
    /// Group commits that became durable.
    pub groups: AtomicU64,
    /// Writes (messages, closes, read marks) in those groups.
    pub writes: AtomicU64,
    /// Stored conversation events.
    pub events: AtomicU64,
    /// flush + fdatasync calls by the commit thread.
    pub fsyncs: AtomicU64,
    /// Groups refused because the store failed.
    pub storage_errors: AtomicU64,
    /// Sends whose cid was already stored (acked again, stored once).
    pub duplicates: AtomicU64,
    /// Live WebSocket connections.
    pub ws_connections: AtomicU64,
    /// Live long-poll sessions.
    pub longpoll_sessions: AtomicU64,
    /// Frames refused with an error frame.
    pub bad_frames: AtomicU64,
    /// Uploads stored (new files; retries of the same bytes not counted).
    pub uploads: AtomicU64,
    /// Bytes of those uploads.
    pub upload_bytes: AtomicU64,
    /// Uploads refused (size, type, pixels, quota, rate, access).
    pub uploads_refused: AtomicU64,
    /// Web Pushes a push service accepted (2xx).
    pub pushes_delivered: AtomicU64,
    /// Push attempts that failed and will be retried (network, 429, 5xx).
    pub push_retries: AtomicU64,
    /// Pushes given up: too old, refused by the service, queue full.
    pub pushes_dropped: AtomicU64,
    /// Devices forgotten after a 404/410 from their push service.
    pub push_devices_gone: AtomicU64,
    /// Pushes waiting in the outbound queue.
    pub push_queue: AtomicU64,
}

impl Metrics {
    pub fn render(&self, hub: (usize, usize, usize)) -> String {
        let mut out = String::new();
        let mut line = |name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP kefu_{name} {help}\n# TYPE kefu_{name} {kind}\nkefu_{name} {v}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        line(
            "commit_groups_total",
            "Durable group commits.",
            "counter",
            get(&self.groups),
        );
        line(
            "commit_writes_total",
            "Writes in durable group commits.",
            "counter",
            get(&self.writes),
        );
        line(
            "events_stored_total",
            "Conversation events stored.",
            "counter",
            get(&self.events),
        );
        line(
            "fsyncs_total",
            "flush+fdatasync calls.",
            "counter",
            get(&self.fsyncs),
        );
        line(
            "storage_errors_total",
            "Group commits refused by the store.",
            "counter",
            get(&self.storage_errors),
        );
        line(
            "duplicate_sends_total",
            "Sends deduplicated by cid.",
            "counter",
            get(&self.duplicates),
        );
        line(
            "uploads_total",
            "Files stored (retries of the same bytes not counted).",
            "counter",
            get(&self.uploads),
        );
        line(
            "upload_bytes_total",
            "Bytes of files stored.",
            "counter",
            get(&self.upload_bytes),
        );
        line(
            "uploads_refused_total",
            "Uploads refused (size, type, pixels, quota, rate, access).",
            "counter",
            get(&self.uploads_refused),
        );
        line(
            "web_pushes_delivered_total",
            "Web Pushes accepted by a push service.",
            "counter",
            get(&self.pushes_delivered),
        );
        line(
            "web_push_retries_total",
            "Web Push attempts that failed and are retried.",
            "counter",
            get(&self.push_retries),
        );
        line(
            "web_pushes_dropped_total",
            "Web Pushes given up (too old, refused, queue full).",
            "counter",
            get(&self.pushes_dropped),
        );
        line(
            "web_push_devices_gone_total",
            "Web Push devices removed after a 404/410.",
            "counter",
            get(&self.push_devices_gone),
        );
        line(
            "web_push_queue",
            "Web Pushes waiting to be sent.",
            "gauge",
            get(&self.push_queue),
        );
        line(
            "bad_frames_total",
            "Client frames refused.",
            "counter",
            get(&self.bad_frames),
        );
        line(
            "ws_connections",
            "Open WebSocket connections.",
            "gauge",
            get(&self.ws_connections),
        );
        line(
            "longpoll_sessions",
            "Live long-poll sessions.",
            "gauge",
            get(&self.longpoll_sessions),
        );
        line(
            "live_sites",
            "Sites with live connections.",
            "gauge",
            hub.0 as u64,
        );
        line("visitors_online", "Visitors online.", "gauge", hub.1 as u64);
        line(
            "agent_subscriptions",
            "Agent site subscriptions.",
            "gauge",
            hub.2 as u64,
        );
        out
    }
}
