//! Latency bookkeeping shared by every chat workload (kefu's, the MQTT and
//! Redis peers'): when each message id was sent and awaited its ack, the
//! samples, and the one-line report scripts/bench.sh parses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The `p` quantile (0..=1) of `v`, NaN when empty.
pub fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Latency bookkeeping shared by the chat modes: when each id was sent
/// (for delivery) and awaiting its ack, and the samples.
#[derive(Default)]
pub struct Lat {
    sent: Mutex<HashMap<String, Instant>>,
    unacked: Mutex<HashMap<String, Instant>>,
    ack_ms: Mutex<Vec<f64>>,
    deliver_ms: Mutex<Vec<f64>>,
    sent_n: AtomicUsize,
}

impl Lat {
    pub fn send(&self, id: &str) {
        let now = Instant::now();
        if let Ok(mut m) = self.sent.lock() {
            m.insert(id.to_string(), now);
        }
        if let Ok(mut m) = self.unacked.lock() {
            m.insert(id.to_string(), now);
        }
        self.sent_n.fetch_add(1, Ordering::Relaxed);
    }
    pub fn acked(&self, id: &str) {
        if let Some(t0) = self.unacked.lock().ok().and_then(|mut m| m.remove(id)) {
            if let Ok(mut v) = self.ack_ms.lock() {
                v.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    /// Returns true the first time `id` is delivered.
    pub fn delivered(&self, id: &str) -> bool {
        match self.sent.lock().ok().and_then(|mut m| m.remove(id)) {
            Some(t0) => {
                if let Ok(mut v) = self.deliver_ms.lock() {
                    v.push(t0.elapsed().as_secs_f64() * 1e3);
                }
                true
            }
            None => false,
        }
    }
    pub fn report(&self, mode: &str, convs: usize, interval_ms: u64, secs: u64) {
        let mut acks = self.ack_ms.lock().map(|v| v.clone()).unwrap_or_default();
        let mut dels = self
            .deliver_ms
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        let undelivered = self.sent.lock().map(|s| s.len()).unwrap_or(0);
        println!(
            "{mode} convs={convs} interval_ms={interval_ms} secs={secs} sent={} acked={} delivered={} undelivered={undelivered} msgs_per_s={:.0} ack_p50_ms={:.2} ack_p99_ms={:.2} deliver_p50_ms={:.2} deliver_p99_ms={:.2}",
            self.sent_n.load(Ordering::Relaxed),
            acks.len(),
            dels.len(),
            dels.len() as f64 / secs as f64,
            pct(&mut acks, 0.5),
            pct(&mut acks, 0.99),
            pct(&mut dels, 0.5),
            pct(&mut dels, 0.99),
        );
    }
}
