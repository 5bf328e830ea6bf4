//! The outbound queue's sender: one background task that POSTs each queued
//! push to its device's endpoint (RFC 8030 §5) and decides from the answer
//! whether it is done, to be retried, or the device is gone.
//!
//! - 2xx: delivered; the job is deleted (and never sent again).
//! - 404 / 410: the subscription expired or was revoked; the device and
//!   the job are deleted.
//! - 429, 5xx, a network error or a timeout: retried after
//!   [`retry_delay_ms`] (or the service's `Retry-After`, if longer), until
//!   the job is [`PUSH_MAX_AGE_MS`] old.
//! - any other answer (400, 401, 403, 413 …): the push cannot succeed as
//!   it is; logged and dropped.
//!
//! A job is deleted only after its answer, so a crash mid-attempt repeats
//! that one attempt at the next start (at-least-once; the `Topic` header
//! lets the push service replace an undelivered copy).

use super::Pusher;
use crate::store::{PushJob, PushSubRecord, Store, StoreError};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a push service keeps a message for a device that is offline
/// (the `TTL` header, seconds). A chat notification hours late is noise.
pub const PUSH_TTL_SECS: u64 = 4 * 3600;
/// How long the relay keeps retrying one push before giving up (ms).
pub const PUSH_MAX_AGE_MS: u64 = 3600 * 1000;
/// The first retry's delay (ms); each further failure doubles it…
pub const PUSH_RETRY_FIRST_MS: u64 = 2_000;
/// …up to this (ms).
pub const PUSH_RETRY_MAX_MS: u64 = 5 * 60 * 1000;
/// One attempt (connect, TLS, request, answer) may take this long.
pub const PUSH_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts in flight at once: a slow push service delays only its own.
pub const PUSH_IN_FLIGHT: usize = 16;

/// The client every push goes through: hyper's pool over rustls (ring),
/// with Mozilla's root certificates compiled in.
pub type PushClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub fn client() -> anyhow::Result<PushClient> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
        // Plain http:// only ever reaches loopback endpoints (push::check).
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(https))
}

/// The wait before the next attempt after `failures` failed ones (≥ 1).
pub fn retry_delay_ms(failures: u32) -> u64 {
    let doublings = failures.saturating_sub(1).min(20);
    PUSH_RETRY_FIRST_MS
        .saturating_mul(1 << doublings)
        .min(PUSH_RETRY_MAX_MS)
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 404 / 410: the device is gone.
    Gone,
    /// Worth another try, not before `after_ms` from now (the service's
    /// `Retry-After`, if it gave one).
    Retry {
        after_ms: Option<u64>,
        why: String,
    },
    /// It cannot succeed; drop it.
    Drop {
        why: String,
    },
}

/// Runs the queue until `shutdown`: attempts what is due (at most
/// [`PUSH_IN_FLIGHT`] at once, each in its own task, so a slow push
/// service holds up only its own pushes), settles each answer as it
/// comes, and otherwise sleeps until the next retry or new jobs.
pub async fn run(store: Arc<Store>, push: Arc<Pusher>, shutdown: CancellationToken) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "web push: no HTTPS client; pushes stay queued");
            return;
        }
    };
    let mut flying = Flying::default();
    loop {
        let next = match dispatch(&store, &push, &client, &mut flying) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "web push: queue unreadable; retrying");
                Some(crate::now_ms() + PUSH_RETRY_MAX_MS)
            }
        };
        let sleep = match next {
            Some(at) => Duration::from_millis(at.saturating_sub(crate::now_ms())),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            // Dropping `flying` aborts attempts in flight; their jobs stay
            // queued for the next start.
            _ = shutdown.cancelled() => return,
            _ = push.woken() => {}
            Some(done) = flying.tasks.join_next_with_id(), if !flying.tasks.is_empty() => {
                if let Err(e) = flying.landed(&store, &push, done).await {
                    tracing::error!(error = %e, "web push: queue not updated");
                }
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Attempts in flight: their tasks, and which job each is for.
#[derive(Default)]
struct Flying {
    tasks: tokio::task::JoinSet<(PushJob, Outcome)>,
    jobs: std::collections::HashMap<tokio::task::Id, String>,
}

type Landed = Result<(tokio::task::Id, (PushJob, Outcome)), tokio::task::JoinError>;

impl Flying {
    fn has(&self, job: &str) -> bool {
        self.jobs.values().any(|j| j == job)
    }

    /// Settles one finished attempt and any others already finished, then
    /// makes the queue's changes durable with one sync.
    async fn landed(
        &mut self,
        store: &Arc<Store>,
        push: &Pusher,
        first: Landed,
    ) -> Result<(), StoreError> {
        let mut done = Some(first);
        while let Some(d) = done.take().or_else(|| self.tasks.try_join_next_with_id()) {
            match d {
                Ok((id, (job, outcome))) => {
                    self.jobs.remove(&id);
                    settle(store, push, job, outcome, crate::now_ms())?;
                }
                // A failed task leaves its job queued for the next pass.
                Err(e) => {
                    tracing::error!(error = %e, "web push: attempt task failed");
                    self.jobs.remove(&e.id());
                }
            }
        }
        // Deletions durable, so a restart does not push them again.
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.sync()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "web push: sync task failed");
                Ok(())
            }
        }
    }
}

/// One look at the queue: expired jobs dropped, due ones started while
/// there is room. Returns when the next waiting job is due (jobs that are
/// due but found no room start when an attempt lands).
fn dispatch(
    store: &Arc<Store>,
    push: &Arc<Pusher>,
    client: &PushClient,
    flying: &mut Flying,
) -> Result<Option<u64>, StoreError> {
    let now = crate::now_ms();
    let mut next: Option<u64> = None;
    for job in store.push_jobs()? {
        if flying.has(&job.id) {
            continue;
        }
        if now.saturating_sub(job.created) > PUSH_MAX_AGE_MS {
            push.metrics.pushes_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(job = %job.id, "web push: given up (too old)");
            forget(store, push, &job)?;
        } else if job.next_at > now {
            next = Some(next.map_or(job.next_at, |n| n.min(job.next_at)));
        } else if flying.tasks.len() < PUSH_IN_FLIGHT {
            let (store, push, client) = (store.clone(), push.clone(), client.clone());
            let id = job.id.clone();
            let handle = flying.tasks.spawn(async move {
                let outcome = attempt(&store, &push, &client, &job).await;
                (job, outcome)
            });
            flying.jobs.insert(handle.id(), id);
        }
    }
    Ok(next)
}

fn forget(store: &Store, push: &Pusher, job: &PushJob) -> Result<(), StoreError> {
    store.delete_push_job(&job.id)?;
    push.dequeued();
    Ok(())
}

/// Applies an attempt's outcome to the queue (and the device, on 404/410).
/// Returns when the job is next due, if it stays queued.
pub fn settle(
    store: &Store,
    push: &Pusher,
    mut job: PushJob,
    outcome: Outcome,
    now: u64,
) -> Result<Option<u64>, StoreError> {
    let m = &push.metrics;
    match outcome {
        Outcome::Delivered => {
            m.pushes_delivered.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(job = %job.id, agent = %job.agent, "web push delivered");
        }
        Outcome::Gone => {
            tracing::info!(agent = %job.agent, "web push: subscription gone (404/410); removed");
            m.push_devices_gone.fetch_add(1, Ordering::Relaxed);
            store.delete_push_sub(&job.agent, &job.device)?;
            push.device_removed(&job.agent, &job.device);
        }
        Outcome::Drop { why } => {
            m.pushes_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(job = %job.id, agent = %job.agent, %why, "web push dropped");
        }
        Outcome::Retry { after_ms, why } => {
            job.attempts = job.attempts.saturating_add(1);
            let wait = retry_delay_ms(job.attempts).max(after_ms.unwrap_or(0));
            job.next_at = now.saturating_add(wait);
            if job.next_at.saturating_sub(job.created) <= PUSH_MAX_AGE_MS {
                m.push_retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(job = %job.id, %why, wait, "web push: will retry");
                store.put_push_job(&job)?;
                return Ok(Some(job.next_at));
            }
            m.pushes_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(job = %job.id, agent = %job.agent, %why, "web push: given up after retries");
        }
    }
    forget(store, push, &job)?;
    Ok(None)
}

/// One POST of `job` to its device.
async fn attempt(store: &Store, push: &Pusher, client: &PushClient, job: &PushJob) -> Outcome {
    let sub = match ready(store, job) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Outcome::Drop {
                why: "the device or the agent's membership is gone".into(),
            }
        }
        Err(e) => {
            return Outcome::Retry {
                after_ms: None,
                why: format!("store: {e}"),
            }
        }
    };
    let req = match request(push, &sub, job, crate::now_ms()) {
        Ok(r) => r,
        Err(why) => return Outcome::Drop { why },
    };
    match tokio::time::timeout(PUSH_ATTEMPT_TIMEOUT, client.request(req)).await {
        Err(_) => Outcome::Retry {
            after_ms: None,
            why: "timed out".into(),
        },
        Ok(Err(e)) => Outcome::Retry {
            after_ms: None,
            why: format!("network: {e}"),
        },
        Ok(Ok(resp)) => classify(resp.status(), resp.headers()),
    }
}

/// The job's device, if it still exists and its agent is still a member of
/// the conversation's site.
fn ready(store: &Store, job: &PushJob) -> Result<Option<PushSubRecord>, StoreError> {
    let Some(sub) = store.push_sub(&job.agent, &job.device)? else {
        return Ok(None);
    };
    let member = store
        .agent(&job.agent)?
        .is_some_and(|a| a.sites.contains(&job.payload.site));
    Ok(member.then_some(sub))
}

/// What the push service's answer means for the job.
pub fn classify(status: StatusCode, headers: &hyper::HeaderMap) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry {
            after_ms: headers
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| s.saturating_mul(1000)),
            why: format!("push service answered {status}"),
        },
        _ => Outcome::Drop {
            why: format!("push service answered {status}"),
        },
    }
}

/// The RFC 8030 request: the RFC 8291-encrypted payload, its headers, and
/// the RFC 8292 VAPID authorization.
pub fn request(
    push: &Pusher,
    sub: &PushSubRecord,
    job: &PushJob,
    now_ms: u64,
) -> Result<Request<Full<Bytes>>, String> {
    let uri: Uri = super::check::endpoint(&sub.endpoint)?;
    let ua_public = super::check::p256dh(&sub.p256dh)?;
    let auth = super::check::auth(&sub.auth)?;
    let plain = serde_json::to_vec(&job.payload).map_err(|e| e.to_string())?;
    let body = web_push_native::encrypt(
        plain,
        &ua_public,
        &web_push_native::Auth::clone_from_slice(&auth),
    )
    .map_err(|e| format!("encryption: {e}"))?;
    let authorization = push
        .vapid()
        .authorization(&uri, push.subject(), now_ms / 1000)
        .map_err(|e| e.to_string())?;
    let age_secs = now_ms.saturating_sub(job.created) / 1000;
    let mut req = Request::post(uri)
        .header("ttl", PUSH_TTL_SECS.saturating_sub(age_secs).to_string())
        .header(hyper::header::CONTENT_ENCODING, "aes128gcm")
        .header(hyper::header::CONTENT_TYPE, "application/octet-stream")
        .header("urgency", "high")
        .header(hyper::header::AUTHORIZATION, authorization);
    // RFC 8030 §5.4: a newer push of the same conversation replaces an
    // undelivered older one (conversation ids are ULIDs: 26 base64url
    // characters, within the 32 allowed).
    let conv = job.payload.conv.as_str();
    if conv.len() <= 32
        && conv
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        req = req.header("topic", conv);
    }
    req.body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The retry schedule: 2 s, doubling, capped at 5 min.
    #[test]
    fn backoff_doubles_to_its_cap() {
        let s: Vec<u64> = (1..=10).map(retry_delay_ms).collect();
        assert_eq!(
            s,
            [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]
        );
        assert_eq!(retry_delay_ms(u32::MAX), PUSH_RETRY_MAX_MS);
    }

    #[test]
    fn answers_are_classified() {
        let h = hyper::HeaderMap::new();
        assert_eq!(classify(StatusCode::CREATED, &h), Outcome::Delivered);
        assert_eq!(classify(StatusCode::GONE, &h), Outcome::Gone);
        assert_eq!(classify(StatusCode::NOT_FOUND, &h), Outcome::Gone);
        assert!(matches!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, &h),
            Outcome::Retry { after_ms: None, .. }
        ));
        let mut h2 = hyper::HeaderMap::new();
        h2.insert(hyper::header::RETRY_AFTER, "30".parse().expect("value"));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h2),
            Outcome::Retry {
                after_ms: Some(30_000),
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &h),
            Outcome::Drop { .. }
        ));
    }

    fn job(created: u64) -> PushJob {
        PushJob {
            created,
            ..crate::store::sample_job()
        }
    }

    /// A failed attempt stays queued on disk with its next time pushed out
    /// by the schedule (and survives a reopen); past the maximum age it is
    /// dropped; a delivered one is gone for good.
    #[test]
    fn settling_updates_the_stored_queue() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let retry = || Outcome::Retry {
            after_ms: None,
            why: "500".into(),
        };
        {
            let store = Store::open(dir.path())?;
            let push = Pusher::open(&store, "mailto:a@b.c".into(), Arc::default())?;
            store.put_push_job(&job(1_000))?;
            let at = settle(&store, &push, job(1_000), retry(), 5_000)?;
            assert_eq!(at, Some(7_000));
            let stored = store.push_jobs()?;
            assert_eq!((stored[0].attempts, stored[0].next_at), (1, 7_000));
            let at = settle(&store, &push, stored[0].clone(), retry(), 7_000)?;
            assert_eq!(at, Some(11_000));
            store.sync()?;
        }
        let store = Store::open(dir.path())?;
        let push = Pusher::open(&store, "mailto:a@b.c".into(), Arc::default())?;
        let stored = store.push_jobs()?;
        assert_eq!((stored[0].attempts, stored[0].next_at), (2, 11_000));
        let late = 1_000 + PUSH_MAX_AGE_MS;
        assert_eq!(
            settle(&store, &push, stored[0].clone(), retry(), late)?,
            None
        );
        assert!(store.push_jobs()?.is_empty());
        store.put_push_job(&job(1_000))?;
        assert_eq!(
            settle(&store, &push, job(1_000), Outcome::Delivered, 2_000)?,
            None
        );
        assert!(store.push_jobs()?.is_empty());
        Ok(())
    }
}
