//! The durable outbound queue: everything that leaves kefu later
//! (webhook deliveries, WeChat replies) is a job stored in sled before it
//! is attempted, retried with backoff, and deleted only once the far side
//! confirmed it, so a crash repeats at most the attempt that was in flight.
//!
//! - A job ([`OutJob`]) lives in the `chat` tree under `o` kind-tag id
//!   (ids are ULIDs, so each kind's queue is in creation order). Jobs an
//!   event causes are staged by the commit thread in the same atomic batch
//!   as the event ([`Stage`]): a job is durable exactly when its event is.
//!   Jobs with no event behind them (a redelivery, a visitor identified)
//!   go in through [`Queue::enqueue`], which syncs before it returns.
//! - One runner per kind ([`run`]) attempts what is due through its
//!   [`Courier`], at most one job per *lane* at a time and in order within
//!   a lane (a lane is a WeChat follower, a webhook endpoint …): a failing
//!   lane waits without holding up the others, and its jobs never overtake
//!   each other.
//! - The outcome decides: delivered or undeliverable → deleted (and the
//!   courier told, for its delivery log); worth another try → kept with
//!   `next_at` pushed out by [`Policy::delay_ms`] (or the far side's
//!   `Retry-After`), until the job is older than [`Policy::max_age_ms`].
//!
//! Four kinds use it: Web Push (`push`), webhooks (`hooks`), WeChat
//! replies and mail (`mail`).

mod run;

pub use run::{run, settle};

use crate::store::{ConvRecord, Store, StoreError};
use protocol::limits::{MAX_OUTBOX_JOBS, MAX_OUTBOX_JOBS_PER_LANE};
use protocol::Event;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use crate::store::{Kind, OutJob};

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The far side confirmed it: the job is deleted.
    Delivered { detail: String },
    /// Worth another try, not before `after_ms` from now if given.
    Retry { after_ms: Option<u64>, why: String },
    /// It cannot succeed as it is: the job is deleted.
    Drop { why: String },
}

/// How a kind retries.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The first retry's delay; each further failure doubles it …
    pub first_ms: u64,
    /// … up to this.
    pub max_ms: u64,
    /// A job older than this is given up.
    pub max_age_ms: u64,
    /// Attempts in flight at once (over all lanes).
    pub in_flight: usize,
    /// One attempt may take this long; past it, it counts as a failure.
    pub timeout: Duration,
}

impl Policy {
    /// The wait before the next attempt after `failures` failed ones (≥ 1).
    pub fn delay_ms(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(1).min(30);
        self.first_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_ms)
    }
}

/// A way out: one attempt at a job, and what to remember of its outcome.
pub trait Courier: Send + Sync + 'static {
    fn policy(&self) -> Policy;
    /// Sends `job` once. Runs in its own task; [`Policy::timeout`] bounds it.
    fn attempt(&self, job: &OutJob) -> impl Future<Output = Outcome> + Send;
    /// Called after the outcome was applied to the queue (and before it
    /// was made durable): delivery logs, pausing an endpoint, counters.
    /// `final_` is false for a retry that stays queued.
    fn settled(&self, _job: &OutJob, _outcome: &Outcome, _final_: bool) {}
}

/// What the commit thread asks each way out about every durable event.
pub trait Stage: Send + Sync {
    /// The jobs `ev` (just appended to `rec`) causes; staged in the event's
    /// batch. Called on the commit thread: cheap, no I/O beyond the cache.
    fn jobs_for(&self, rec: &ConvRecord, ev: &Event) -> Vec<OutJob>;
    /// The queue its jobs go to (woken once they are durable).
    fn queue(&self) -> &Queue;
}

/// One kind's queue: its length (in all and per lane) and the runner's
/// wake-up.
pub struct Queue {
    kind: Kind,
    store: Arc<Store>,
    counts: Mutex<Counts>,
    wake: tokio::sync::Notify,
    /// Told the length after every change (a `/metrics` gauge).
    gauge: Option<Box<dyn Fn(usize) + Send + Sync>>,
}

#[derive(Default)]
struct Counts {
    all: usize,
    lanes: HashMap<String, usize>,
}

impl Counts {
    fn of(jobs: &[OutJob]) -> Counts {
        let mut c = Counts::default();
        for j in jobs {
            c.add(&j.lane);
        }
        c
    }

    fn add(&mut self, lane: &str) {
        self.all += 1;
        *self.lanes.entry(lane.to_string()).or_default() += 1;
    }

    fn remove(&mut self, lane: &str) {
        self.all = self.all.saturating_sub(1);
        if let Some(n) = self.lanes.get_mut(lane) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.lanes.remove(lane);
            }
        }
    }
}

impl Queue {
    /// The queue of `kind` over `store`, its length read from it.
    pub fn open(store: Arc<Store>, kind: Kind) -> Result<Arc<Queue>, StoreError> {
        Queue::with_gauge(store, kind, None)
    }

    /// The same, telling `gauge` the length after every change.
    pub fn with_gauge(
        store: Arc<Store>,
        kind: Kind,
        gauge: Option<Box<dyn Fn(usize) + Send + Sync>>,
    ) -> Result<Arc<Queue>, StoreError> {
        let counts = Counts::of(&store.out_jobs(kind)?);
        let q = Arc::new(Queue {
            kind,
            store,
            counts: Mutex::new(counts),
            wake: tokio::sync::Notify::new(),
            gauge,
        });
        q.measured();
        Ok(q)
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn measured(&self) {
        if let Some(g) = &self.gauge {
            g(self.len());
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Jobs queued now.
    pub fn len(&self) -> usize {
        self.counts().all
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether one more job fits in `lane`: under [`MAX_OUTBOX_JOBS`] in
    /// all and [`MAX_OUTBOX_JOBS_PER_LANE`] in the lane, so a far side
    /// that is down for days cannot grow the store without bound, and one
    /// dead endpoint cannot crowd out every other site's.
    pub fn has_room(&self, lane: &str) -> bool {
        let c = self.counts();
        c.all < MAX_OUTBOX_JOBS
            && c.lanes.get(lane).copied().unwrap_or(0) < MAX_OUTBOX_JOBS_PER_LANE
    }

    /// Stores a job that no event stages, durably, and wakes the runner.
    /// Refused (false) when its lane or the queue is full.
    pub fn enqueue(&self, job: &OutJob) -> Result<bool, StoreError> {
        if !self.has_room(&job.lane) {
            tracing::warn!(kind = self.kind.name(), lane = %job.lane, "outbox full; job not queued");
            return Ok(false);
        }
        self.store.put_out_job(job)?;
        self.store.sync()?;
        self.staged(std::slice::from_ref(&job.lane));
        Ok(true)
    }

    /// Jobs in these lanes were made durable (by the commit thread or
    /// [`enqueue`]).
    ///
    /// [`enqueue`]: Queue::enqueue
    pub fn staged(&self, lanes: &[String]) {
        if lanes.is_empty() {
            return;
        }
        {
            let mut c = self.counts();
            for l in lanes {
                c.add(l);
            }
        }
        self.measured();
        self.wake.notify_one();
    }

    fn removed(&self, lane: &str) {
        self.counts().remove(lane);
        self.measured();
    }

    /// The runner read the whole queue: the counts become what it found
    /// (jobs applied but never synced by a failed group are counted here).
    fn recount(&self, jobs: &[OutJob]) {
        *self.counts() = Counts::of(jobs);
        self.measured();
    }

    /// Wakes the runner without a new job (a paused lane resumed …).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    async fn woken(&self) {
        self.wake.notified().await
    }
}

/// Every way out the commit thread stages jobs for.
#[derive(Default, Clone)]
pub struct Outlets {
    stages: Vec<Arc<dyn Stage>>,
}

impl Outlets {
    pub fn new(stages: Vec<Arc<dyn Stage>>) -> Outlets {
        Outlets { stages }
    }

    /// The jobs `ev` causes, each with the queue it goes to.
    pub fn jobs_for<'a>(
        &'a self,
        rec: &'a ConvRecord,
        ev: &'a Event,
    ) -> impl Iterator<Item = (usize, OutJob)> + 'a {
        self.stages
            .iter()
            .enumerate()
            .flat_map(move |(i, s)| s.jobs_for(rec, ev).into_iter().map(move |j| (i, j)))
    }

    /// Whether stage `i`'s queue has room for one more job in `lane`.
    pub fn has_room(&self, i: usize, lane: &str) -> bool {
        self.stages.get(i).is_some_and(|s| s.queue().has_room(lane))
    }

    /// After the batch was made durable: `lanes[i]` are the lanes of the
    /// jobs that went to stage i.
    pub fn staged(&self, lanes: &[Vec<String>]) {
        for (s, l) in self.stages.iter().zip(lanes) {
            s.queue().staged(l);
        }
    }

    pub fn len(&self) -> usize {
        self.stages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }
}
