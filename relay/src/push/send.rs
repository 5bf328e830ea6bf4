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
use crate::outbox::{self, OutJob, Outcome, Policy};
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

/// What a push service's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
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

/// Why a gone device's push was dropped (not counted as a dropped push).
const GONE: &str = "the device is gone (404/410)";

/// Delivers queued pushes.
pub struct Courier {
    push: Arc<Pusher>,
    client: PushClient,
}

impl Courier {
    pub fn new(push: Arc<Pusher>) -> anyhow::Result<Courier> {
        Ok(Courier {
            push,
            client: client()?,
        })
    }

    fn store(&self) -> &Store {
        self.push.queue().store()
    }

    /// One POST of `job` to its device.
    async fn answer(&self, job: &PushJob, created: u64) -> Answer {
        let sub = match ready(self.store(), job) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Answer::Drop {
                    why: "the device or the agent's membership is gone".into(),
                }
            }
            Err(e) => {
                return Answer::Retry {
                    after_ms: None,
                    why: format!("store: {e}"),
                }
            }
        };
        let req = match request(&self.push, &sub, job, created, crate::now_ms()) {
            Ok(r) => r,
            Err(why) => return Answer::Drop { why },
        };
        match tokio::time::timeout(PUSH_ATTEMPT_TIMEOUT, self.client.request(req)).await {
            Err(_) => Answer::Retry {
                after_ms: None,
                why: "timed out".into(),
            },
            Ok(Err(e)) => Answer::Retry {
                after_ms: None,
                why: format!("network: {e}"),
            },
            Ok(Ok(resp)) => classify(resp.status(), resp.headers()),
        }
    }
}

impl outbox::Courier for Courier {
    fn policy(&self) -> Policy {
        Policy {
            first_ms: PUSH_RETRY_FIRST_MS,
            max_ms: PUSH_RETRY_MAX_MS,
            max_age_ms: PUSH_MAX_AGE_MS,
            in_flight: PUSH_IN_FLIGHT,
            timeout: PUSH_ATTEMPT_TIMEOUT + Duration::from_secs(5),
        }
    }

    async fn attempt(&self, job: &OutJob) -> Outcome {
        let push: PushJob = match serde_json::from_value(job.body.clone()) {
            Ok(p) => p,
            Err(e) => {
                return Outcome::Drop {
                    why: format!("unreadable job: {e}"),
                }
            }
        };
        match self.answer(&push, job.created).await {
            Answer::Delivered => Outcome::Delivered {
                detail: "taken by the push service".into(),
            },
            Answer::Gone => {
                tracing::info!(agent = %push.agent, "web push: subscription gone (404/410); removed");
                self.push
                    .metrics
                    .push_devices_gone
                    .fetch_add(1, Ordering::Relaxed);
                if let Err(e) = self.store().delete_push_sub(&push.agent, &push.device) {
                    tracing::error!(error = %e, "web push: gone device not removed");
                }
                self.push.device_removed(&push.agent, &push.device);
                Outcome::Drop { why: GONE.into() }
            }
            Answer::Retry { after_ms, why } => Outcome::Retry { after_ms, why },
            Answer::Drop { why } => Outcome::Drop { why },
        }
    }

    fn settled(&self, job: &OutJob, outcome: &Outcome, final_: bool) {
        let m = &self.push.metrics;
        match (outcome, final_) {
            (Outcome::Delivered { .. }, _) => {
                m.pushes_delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(job = %job.id, "web push delivered");
            }
            (Outcome::Retry { .. }, false) => {
                m.push_retries.fetch_add(1, Ordering::Relaxed);
            }
            (Outcome::Drop { why }, _) if why == GONE => {}
            _ => {
                m.pushes_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
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
pub fn classify(status: StatusCode, headers: &hyper::HeaderMap) -> Answer {
    match status.as_u16() {
        200..=299 => Answer::Delivered,
        404 | 410 => Answer::Gone,
        429 | 500..=599 => Answer::Retry {
            after_ms: headers
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| s.saturating_mul(1000)),
            why: format!("push service answered {status}"),
        },
        _ => Answer::Drop {
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
    created: u64,
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
    let age_secs = now_ms.saturating_sub(created) / 1000;
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
    use crate::outbox::{settle, Courier as _, Kind};

    fn courier() -> anyhow::Result<(tempfile::TempDir, Courier)> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open(dir.path())?);
        let push = Pusher::open(&store, "mailto:a@b.c".into(), Arc::default())?;
        Ok((dir, Courier::new(push)?))
    }

    /// The retry schedule: 2 s, doubling, capped at 5 min.
    #[test]
    fn backoff_doubles_to_its_cap() -> anyhow::Result<()> {
        let (_d, c) = courier()?;
        let p = c.policy();
        let s: Vec<u64> = (1..=10).map(|n| p.delay_ms(n)).collect();
        assert_eq!(
            s,
            [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]
        );
        assert_eq!(p.delay_ms(u32::MAX), PUSH_RETRY_MAX_MS);
        Ok(())
    }

    #[test]
    fn answers_are_classified() {
        let h = hyper::HeaderMap::new();
        assert_eq!(classify(StatusCode::CREATED, &h), Answer::Delivered);
        assert_eq!(classify(StatusCode::GONE, &h), Answer::Gone);
        assert_eq!(classify(StatusCode::NOT_FOUND, &h), Answer::Gone);
        assert!(matches!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, &h),
            Answer::Retry { after_ms: None, .. }
        ));
        let mut h2 = hyper::HeaderMap::new();
        h2.insert(hyper::header::RETRY_AFTER, "30".parse().expect("value"));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h2),
            Answer::Retry {
                after_ms: Some(30_000),
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &h),
            Answer::Drop { .. }
        ));
    }

    fn job(created: u64) -> anyhow::Result<OutJob> {
        let mut j = OutJob::new(
            Kind::Push,
            "device",
            serde_json::to_value(crate::store::sample_job())?,
        );
        j.created = created;
        Ok(j)
    }

    /// A failed attempt stays queued on disk with its next time pushed out
    /// by the schedule (and survives a reopen); past the maximum age it is
    /// dropped; a delivered one is gone for good; the queue's gauge follows.
    #[test]
    fn settling_updates_the_stored_queue() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let retry = || Outcome::Retry {
            after_ms: None,
            why: "500".into(),
        };
        let open = || -> anyhow::Result<Courier> {
            let store = Arc::new(Store::open(dir.path())?);
            Courier::new(Pusher::open(&store, "mailto:a@b.c".into(), Arc::default())?)
        };
        {
            let c = open()?;
            let q = c.push.queue().clone();
            let j = job(1_000)?;
            assert!(q.enqueue(&j)?);
            assert_eq!(c.push.metrics.push_queue.load(Ordering::Relaxed), 1);
            let at = settle(&q, &c, j, retry(), 5_000)?;
            assert_eq!(at, Some(7_000));
            let stored = c.store().out_jobs(Kind::Push)?;
            assert_eq!((stored[0].attempts, stored[0].next_at), (1, 7_000));
            let at = settle(&q, &c, stored[0].clone(), retry(), 7_000)?;
            assert_eq!(at, Some(11_000));
            c.store().sync()?;
        }
        let c = open()?;
        let q = c.push.queue().clone();
        assert_eq!(q.len(), 1);
        let stored = c.store().out_jobs(Kind::Push)?;
        assert_eq!((stored[0].attempts, stored[0].next_at), (2, 11_000));
        let late = 1_000 + PUSH_MAX_AGE_MS;
        assert_eq!(settle(&q, &c, stored[0].clone(), retry(), late)?, None);
        assert!(c.store().out_jobs(Kind::Push)?.is_empty());
        assert_eq!(c.push.metrics.pushes_dropped.load(Ordering::Relaxed), 1);
        let j = job(1_000)?;
        assert!(q.enqueue(&j)?);
        let done = Outcome::Delivered {
            detail: "201".into(),
        };
        assert_eq!(settle(&q, &c, j, done, 2_000)?, None);
        assert!(c.store().out_jobs(Kind::Push)?.is_empty());
        assert_eq!(c.push.metrics.push_queue.load(Ordering::Relaxed), 0);
        assert_eq!(c.push.metrics.pushes_delivered.load(Ordering::Relaxed), 1);
        Ok(())
    }
}
