//! A fault-injecting TCP proxy between clients and the relay (this machine
//! has no `tc netem`). Each accepted connection gets a fault plan drawn
//! from a seeded RNG, so a failing run can be replayed with its seed:
//!
//! - **reset**: after a random delay, both sides are closed with RST
//!   (SO_LINGER 0), mid-frame if bytes are flowing;
//! - **stall**: nothing moves either way for a while (a frozen Wi-Fi),
//!   then traffic resumes;
//! - **one-way loss**: from some moment, bytes in one direction are
//!   silently discarded while the other direction keeps working (what
//!   Rocket.Chat#36023 describes) — only heartbeats can detect it;
//! - **delay**: every chunk waits before being forwarded;
//! - **throttle**: a slow link, a few KB/s.
//!
//! Faults can be switched off (`set_faults(false)`) to let a run quiesce;
//! `reset_all()` cuts every live connection at once.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{sleep, Instant};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    Clean,
    Reset {
        after: Duration,
    },
    Stall {
        after: Duration,
        for_: Duration,
    },
    /// Drop client→relay (`up`) or relay→client bytes from `after` on.
    OneWay {
        after: Duration,
        up: bool,
    },
    Delay {
        per_chunk: Duration,
    },
    Throttle {
        bytes_per_sec: u32,
    },
}

/// Counts of plans handed out, and of faults actually injected (a plan
/// whose moment never comes injects nothing), for the run's report and
/// for the soak's check that each kind of fault happened.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub connections: AtomicU64,
    pub resets: AtomicU64,
    pub stalls: AtomicU64,
    pub one_way: AtomicU64,
    pub delays: AtomicU64,
    pub throttles: AtomicU64,
    /// Connections cut by their reset plan (not by `reset_all`).
    pub resets_fired: AtomicU64,
    /// Chunks held back by a stall.
    pub stalled_chunks: AtomicU64,
    /// Chunks discarded by one-way loss.
    pub dropped_chunks: AtomicU64,
    /// Chunks forwarded late by a delay plan.
    pub delayed_chunks: AtomicU64,
    /// Chunks slowed down by a throttle plan.
    pub throttled_chunks: AtomicU64,
}

impl FaultStats {
    /// Faults injected, per kind.
    pub fn injected(&self) -> [(&'static str, u64); 5] {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        [
            ("reset", g(&self.resets_fired)),
            ("stall", g(&self.stalled_chunks)),
            ("one-way loss", g(&self.dropped_chunks)),
            ("delay", g(&self.delayed_chunks)),
            ("throttle", g(&self.throttled_chunks)),
        ]
    }
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    faults: Arc<AtomicBool>,
    kill: watch::Sender<u64>,
    pub stats: Arc<FaultStats>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream`.
    pub async fn start(upstream: String, seed: u64) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(AtomicBool::new(true));
        let (kill, kill_rx) = watch::channel(0u64);
        let stats = Arc::new(FaultStats::default());
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let (f, s) = (faults.clone(), stats.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let plan = if f.load(Ordering::Relaxed) {
                    let mut r = rng.lock().unwrap_or_else(|e| e.into_inner());
                    draw(&mut r)
                } else {
                    Plan::Clean
                };
                count(&s, plan);
                let (up, kill_rx) = (upstream.clone(), kill_rx.clone());
                let (f, s) = (f.clone(), s.clone());
                tokio::spawn(async move {
                    let _ = serve(client, up, plan, f, s, kill_rx).await;
                });
            }
        });
        Ok(FaultProxy {
            addr,
            faults,
            kill,
            stats,
            task,
        })
    }

    /// Faults on (new connections draw a plan) or off (clean, and live
    /// connections stop injecting).
    pub fn set_faults(&self, on: bool) {
        self.faults.store(on, Ordering::Relaxed);
    }

    /// Cuts every live connection now.
    pub fn reset_all(&self) {
        self.kill.send_modify(|n| *n += 1);
    }

    pub fn report(&self) -> String {
        let s = &self.stats;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let injected: Vec<String> = s
            .injected()
            .iter()
            .map(|(kind, n)| format!("{kind}={n}"))
            .collect();
        format!(
            "connections={} plans: resets={} stalls={} one_way={} delays={} throttles={}; injected: {}",
            g(&s.connections),
            g(&s.resets),
            g(&s.stalls),
            g(&s.one_way),
            g(&s.delays),
            g(&s.throttles),
            injected.join(" ")
        )
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.reset_all();
    }
}

fn count(s: &FaultStats, plan: Plan) {
    s.connections.fetch_add(1, Ordering::Relaxed);
    let c = match plan {
        Plan::Clean => return,
        Plan::Reset { .. } => &s.resets,
        Plan::Stall { .. } => &s.stalls,
        Plan::OneWay { .. } => &s.one_way,
        Plan::Delay { .. } => &s.delays,
        Plan::Throttle { .. } => &s.throttles,
    };
    c.fetch_add(1, Ordering::Relaxed);
}

fn ms(r: &mut StdRng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(r.gen_range(lo..hi))
}

/// Roughly: 35% clean, the rest split across the fault kinds.
fn draw(r: &mut StdRng) -> Plan {
    match r.gen_range(0..100) {
        0..35 => Plan::Clean,
        35..55 => Plan::Reset {
            after: ms(r, 50, 4_000),
        },
        55..67 => Plan::Stall {
            after: ms(r, 0, 2_000),
            for_: ms(r, 500, 6_000),
        },
        67..79 => Plan::OneWay {
            after: ms(r, 0, 3_000),
            up: r.gen_bool(0.5),
        },
        79..90 => Plan::Delay {
            per_chunk: ms(r, 5, 300),
        },
        _ => Plan::Throttle {
            bytes_per_sec: r.gen_range(500..8_000),
        },
    }
}

/// RST instead of FIN: the peer sees "connection reset". (Deprecated in
/// tokio because a *non-zero* linger blocks on drop; zero never does.)
#[allow(deprecated)]
pub fn rst(s: &TcpStream) {
    let _ = s.set_linger(Some(Duration::ZERO));
}

async fn serve(
    client: TcpStream,
    upstream: String,
    plan: Plan,
    faults: Arc<AtomicBool>,
    stats: Arc<FaultStats>,
    mut kill: watch::Receiver<u64>,
) -> std::io::Result<()> {
    // Only resets from now on count for this connection.
    kill.borrow_and_update();
    let server = match TcpStream::connect(&upstream).await {
        Ok(s) => s,
        Err(e) => {
            // Relay down (restarting): the client sees a reset.
            rst(&client);
            return Err(e);
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // Whenever the proxy drops a connection (reset plan, reset_all, or
    // after a side closed), the kernel sends RST, not FIN.
    rst(&client);
    rst(&server);
    let start = Instant::now();
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, plan, true, start, faults.clone(), stats.clone());
    let down = pump(sr, cw, plan, false, start, faults, stats.clone());
    let reset_at = match plan {
        Plan::Reset { after } => Some(start + after),
        _ => None,
    };
    let reset = async {
        match reset_at {
            Some(t) => tokio::time::sleep_until(t).await,
            None => std::future::pending().await,
        }
    };
    let killed = kill.changed();
    tokio::select! {
        (a, b) = async { tokio::join!(up, down) } => {
            // Both halves ended; dropping closes the sockets.
            let _ = (a, b);
        }
        _ = reset => {
            stats.resets_fired.fetch_add(1, Ordering::Relaxed);
        }
        _ = killed => {}
    }
    // Leaving the select drops the pumps and with them both sockets.
    Ok(())
}

/// Forwards one direction under `plan`. Returns when either side closes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    plan: Plan,
    is_up: bool,
    start: Instant,
    faults: Arc<AtomicBool>,
    stats: Arc<FaultStats>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8 * 1024];
    let hit = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        let on = faults.load(Ordering::Relaxed);
        let elapsed = start.elapsed();
        match plan {
            _ if !on => {}
            Plan::Stall { after, for_ } if elapsed >= after && elapsed < after + for_ => {
                hit(&stats.stalled_chunks);
                sleep(after + for_ - elapsed).await;
            }
            Plan::OneWay { after, up } if up == is_up && elapsed >= after => {
                hit(&stats.dropped_chunks);
                continue; // silently lost
            }
            Plan::Delay { per_chunk } => {
                hit(&stats.delayed_chunks);
                sleep(per_chunk).await;
            }
            Plan::Throttle { bytes_per_sec } => {
                hit(&stats.throttled_chunks);
                sleep(Duration::from_secs_f64(n as f64 / bytes_per_sec as f64)).await;
            }
            _ => {}
        }
        to.write_all(&buf[..n]).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed draws the same plans: a failing soak run can be
    /// replayed.
    #[test]
    fn plans_are_reproducible_from_the_seed() {
        let a: Vec<Plan> = {
            let mut r = StdRng::seed_from_u64(7);
            (0..50).map(|_| draw(&mut r)).collect()
        };
        let mut r = StdRng::seed_from_u64(7);
        let b: Vec<Plan> = (0..50).map(|_| draw(&mut r)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|p| matches!(p, Plan::Reset { .. })));
        assert!(a.iter().any(|p| matches!(p, Plan::OneWay { .. })));
    }
}
