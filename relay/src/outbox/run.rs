//! One kind's runner: attempts what is due, one job per lane at a time,
//! applies each outcome to the queue and makes it durable.

use super::{Courier, OutJob, Outcome, Queue};
use crate::store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs `queue` through `courier` until `shutdown`. Attempts in flight
/// when it ends are dropped; their jobs stay queued for the next start.
pub async fn run<C: Courier>(queue: Arc<Queue>, courier: Arc<C>, shutdown: CancellationToken) {
    let mut flying = Flying::default();
    loop {
        let next = match dispatch(&queue, &courier, &mut flying) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(kind = queue.kind.name(), error = %e, "outbox: queue unreadable; retrying");
                Some(crate::now_ms() + 30_000)
            }
        };
        let sleep = match next {
            Some(at) => Duration::from_millis(at.saturating_sub(crate::now_ms())),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = queue.woken() => {}
            Some(done) = flying.tasks.join_next_with_id(), if !flying.tasks.is_empty() => {
                if let Err(e) = flying.landed(&queue, &courier, done).await {
                    tracing::error!(kind = queue.kind.name(), error = %e, "outbox: queue not updated");
                }
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Attempts in flight: their tasks and lanes.
#[derive(Default)]
struct Flying {
    tasks: tokio::task::JoinSet<(OutJob, Outcome)>,
    lanes: HashMap<tokio::task::Id, String>,
}

type Landed = Result<(tokio::task::Id, (OutJob, Outcome)), tokio::task::JoinError>;

impl Flying {
    fn busy(&self) -> HashSet<&str> {
        self.lanes.values().map(String::as_str).collect()
    }

    /// Settles one finished attempt and any others already finished, then
    /// makes the queue's changes durable with one sync.
    async fn landed<C: Courier>(
        &mut self,
        queue: &Arc<Queue>,
        courier: &Arc<C>,
        first: Landed,
    ) -> Result<(), StoreError> {
        let mut done = Some(first);
        while let Some(d) = done.take().or_else(|| self.tasks.try_join_next_with_id()) {
            match d {
                Ok((id, (job, outcome))) => {
                    self.lanes.remove(&id);
                    settle(queue, courier.as_ref(), job, outcome, crate::now_ms())?;
                }
                // A failed task leaves its job queued for the next pass.
                Err(e) => {
                    tracing::error!(kind = queue.kind.name(), error = %e, "outbox: attempt task failed");
                    self.lanes.remove(&e.id());
                }
            }
        }
        let s = queue.store.clone();
        match tokio::task::spawn_blocking(move || s.sync()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "outbox: sync task failed");
                Ok(())
            }
        }
    }
}

/// One look at the queue: too-old jobs given up, due ones started while
/// there is room and their lane is free and has nothing older waiting.
/// Returns when the next waiting job is due.
fn dispatch<C: Courier>(
    queue: &Arc<Queue>,
    courier: &Arc<C>,
    flying: &mut Flying,
) -> Result<Option<u64>, StoreError> {
    let policy = courier.policy();
    let now = crate::now_ms();
    let mut next: Option<u64> = None;
    // Lanes whose oldest job is in flight or waiting: later jobs wait too.
    let mut blocked: HashSet<String> = flying.busy().into_iter().map(str::to_string).collect();
    for job in queue.store.out_jobs(queue.kind)? {
        if blocked.contains(&job.lane) {
            continue;
        }
        blocked.insert(job.lane.clone());
        if now.saturating_sub(job.created) > policy.max_age_ms {
            let why = "given up: too old".to_string();
            settle(queue, courier.as_ref(), job, Outcome::Drop { why }, now)?;
        } else if job.next_at > now {
            next = Some(next.map_or(job.next_at, |n| n.min(job.next_at)));
        } else if flying.tasks.len() < policy.in_flight {
            let c = courier.clone();
            let lane = job.lane.clone();
            let handle = flying.tasks.spawn(async move {
                let outcome = match tokio::time::timeout(policy.timeout, c.attempt(&job)).await {
                    Ok(o) => o,
                    Err(_) => Outcome::Retry {
                        after_ms: None,
                        why: format!("no answer within {:?}", policy.timeout),
                    },
                };
                (job, outcome)
            });
            flying.lanes.insert(handle.id(), lane);
        }
    }
    Ok(next)
}

/// Applies an outcome to the queue (not yet durable): deleted, or kept for
/// a retry; the courier is told either way. Returns when the job is next
/// due, if it stays.
pub fn settle<C: Courier + ?Sized>(
    queue: &Queue,
    courier: &C,
    mut job: OutJob,
    outcome: Outcome,
    now: u64,
) -> Result<Option<u64>, StoreError> {
    let policy = courier.policy();
    let store: &Store = &queue.store;
    if let Outcome::Retry { after_ms, why } = &outcome {
        job.attempts = job.attempts.saturating_add(1);
        let wait = policy.delay_ms(job.attempts).max(after_ms.unwrap_or(0));
        job.next_at = now.saturating_add(wait);
        if job.next_at.saturating_sub(job.created) <= policy.max_age_ms {
            tracing::debug!(kind = queue.kind.name(), job = %job.id, %why, wait, "outbox: will retry");
            store.put_out_job(&job)?;
            courier.settled(&job, &outcome, false);
            return Ok(Some(job.next_at));
        }
        tracing::warn!(kind = queue.kind.name(), job = %job.id, %why, "outbox: given up after retries");
        store.delete_out_job(job.kind, &job.id)?;
        queue.removed();
        let gave_up = Outcome::Drop {
            why: format!("given up after {} attempts: {why}", job.attempts),
        };
        courier.settled(&job, &gave_up, true);
        return Ok(None);
    }
    match &outcome {
        Outcome::Delivered { .. } => {
            tracing::debug!(kind = queue.kind.name(), job = %job.id, "outbox: delivered")
        }
        Outcome::Drop { why } => {
            tracing::warn!(kind = queue.kind.name(), job = %job.id, %why, "outbox: dropped")
        }
        Outcome::Retry { .. } => {}
    }
    store.delete_out_job(job.kind, &job.id)?;
    queue.removed();
    courier.settled(&job, &outcome, true);
    Ok(None)
}
