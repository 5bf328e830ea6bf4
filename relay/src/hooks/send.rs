//! Webhook deliveries: one signed POST per attempt, through a client that
//! refuses private addresses (SSRF), every attempt logged per endpoint.
//!
//! - 2xx: delivered.
//! - anything else, a network error or no answer within
//!   [`ATTEMPT_TIMEOUT`]: retried, backing off from `--webhook-retry-ms`
//!   (default [`RETRY_FIRST_MS`]) doubling to [`RETRY_MAX_MS`] (or the
//!   endpoint's `Retry-After`, if longer), for [`MAX_AGE_MS`].
//! - [`WEBHOOK_PAUSE_AFTER_FAILURES`] failed attempts in a row pause the
//!   endpoint: its deliveries (queued and new) wait, in order, until an
//!   owner resumes it or they reach the queue's age limit.

use super::{Delivery, Hooks};
use crate::outbox::{Courier as CourierTrait, OutJob, Outcome, Policy};
use crate::store::{DeliveryRecord, Store};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::{Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use protocol::api::integrations::DeliveryView;
use protocol::limits::WEBHOOK_PAUSE_AFTER_FAILURES;
use sha2::Sha256;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The first retry's delay (ms), unless `--webhook-retry-ms` says otherwise.
pub const RETRY_FIRST_MS: u64 = 5_000;
/// The longest wait between two attempts (ms).
pub const RETRY_MAX_MS: u64 = 3600 * 1000;
/// How long a delivery is retried before it is given up (ms): a day.
pub const MAX_AGE_MS: u64 = 24 * 3600 * 1000;
/// One attempt (connect, TLS, request, answer) may take this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries in flight at once (each endpoint has one at a time).
pub const IN_FLIGHT: usize = 16;
/// How often a paused endpoint's next delivery looks again (resuming
/// makes it due at once).
pub const PAUSED_RECHECK_MS: u64 = 10 * 60 * 1000;

type HookClient = Client<HttpsConnector<HttpConnector<Guarded>>, Full<Bytes>>;

/// Resolves names like the system does, then keeps only public addresses
/// (unless private ones are allowed): the client connects to what this
/// returned, so a name that resolves to 127.0.0.1 is refused even if it
/// resolved elsewhere when the webhook was saved.
#[derive(Clone)]
pub struct Guarded {
    allow_private: bool,
}

impl tower_service::Service<Name> for Guarded {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow = self.allow_private;
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| allow || is_public(a.ip()))
                .collect();
            if ok.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "the host resolves only to private addresses",
                ));
            }
            Ok(ok.into_iter())
        })
    }
}

/// Whether `ip` is a public unicast address (not loopback, private,
/// link-local, shared CGNAT, unspecified, multicast, documentation…).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let o = v6.octets();
            // IPv4 inside IPv6: compatible (::a.b.c.d), NAT64 (64:ff9b::/96),
            // 6to4 (2002:AABB:CCDD::/48) — judged by the IPv4 address.
            let embedded = if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                Some([o[12], o[13], o[14], o[15]])
            } else if s[0] == 0x2002 {
                Some([o[2], o[3], o[4], o[5]])
            } else {
                None
            };
            if let Some(v4) = embedded.filter(|_| !v6.is_loopback() && !v6.is_unspecified()) {
                return is_public(IpAddr::V4(v4.into()));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Whether the URL's host may be posted to: a name (checked again when
/// it resolves) or a public IP literal.
pub fn host_allowed(url: &str, allow_private: bool) -> Result<Uri, String> {
    let uri: Uri = url.parse().map_err(|_| "not a valid URL".to_string())?;
    let host = uri.host().ok_or("the URL has no host")?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        if !allow_private && !is_public(ip) {
            return Err(format!(
                "{ip} is a private address (start the relay with --webhooks-allow-private to allow it)"
            ));
        }
    } else if !allow_private && (host == "localhost" || host.ends_with(".localhost")) {
        return Err("localhost is not a public host".into());
    }
    Ok(uri)
}

/// The same check at save time, with the name resolved now.
pub async fn check_endpoint(url: &str, allow_private: bool) -> Result<(), String> {
    let uri = host_allowed(url, allow_private)?;
    let host = uri.host().unwrap_or("").to_string();
    if allow_private || host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
        return Ok(());
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} resolves to a private address (start the relay with --webhooks-allow-private to allow it)"
        ));
    }
    Ok(())
}

/// `v1=` hex HMAC-SHA256(secret, `{timestamp}.{body}`).
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct Courier {
    hooks: Arc<Hooks>,
    client: HookClient,
    first_ms: u64,
}

impl Courier {
    pub fn new(hooks: Arc<Hooks>, first_ms: u64) -> anyhow::Result<Courier> {
        let mut http = HttpConnector::new_with_resolver(Guarded {
            allow_private: hooks.allow_private,
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Courier {
            hooks,
            client,
            first_ms,
        })
    }

    fn store(&self) -> &Store {
        self.hooks.queue().store()
    }

    /// One POST; the outcome and the log's view of it.
    async fn post(&self, d: &Delivery, url: &str, secret: &str) -> (Outcome, Option<u16>) {
        let uri = match host_allowed(url, self.hooks.allow_private) {
            Ok(u) => u,
            Err(why) => return (Outcome::Drop { why }, None),
        };
        let ts = crate::now_ms() / 1000;
        let req = Request::post(uri)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("kefu-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("kefu-event-id", &d.event_id)
            .header("kefu-event-type", d.event.name())
            .header("kefu-timestamp", ts.to_string())
            .header("kefu-signature", signature(secret, ts, &d.body))
            .body(Full::new(Bytes::from(d.body.clone())));
        let req = match req {
            Ok(r) => r,
            Err(e) => return (Outcome::Drop { why: e.to_string() }, None),
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(req)).await {
            Err(_) => (
                Outcome::Retry {
                    after_ms: None,
                    why: format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
                },
                None,
            ),
            Ok(Err(e)) => {
                let mut why = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    why = format!("{why}: {s}");
                    src = s.source();
                }
                (
                    Outcome::Retry {
                        after_ms: None,
                        why,
                    },
                    None,
                )
            }
            Ok(Ok(res)) => {
                let status = res.status();
                let code = Some(status.as_u16());
                if status.is_success() {
                    return (
                        Outcome::Delivered {
                            detail: status.to_string(),
                        },
                        code,
                    );
                }
                let after_ms = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| s.min(RETRY_MAX_MS / 1000) * 1000);
                (
                    Outcome::Retry {
                        after_ms,
                        why: format!("the endpoint answered {status}"),
                    },
                    code,
                )
            }
        }
    }

    fn log(&self, job: &OutJob, d: &Delivery, status: Option<u16>, outcome: &Outcome, took: u64) {
        let (ok, error) = match outcome {
            Outcome::Delivered { .. } => (true, None),
            Outcome::Retry { why, .. } => (false, Some(format!("{why}; will retry"))),
            Outcome::Drop { why } => (false, Some(why.clone())),
        };
        let rec = DeliveryRecord {
            view: DeliveryView {
                id: ulid::Ulid::new().to_string(),
                event_id: d.event_id.clone(),
                event: d.event,
                at: crate::now_ms(),
                attempt: job.attempts.saturating_add(1),
                status,
                ok,
                error,
                duration_ms: took,
            },
            body: d.body.clone(),
        };
        if let Err(e) = self.store().log_delivery(&d.hook, &rec) {
            tracing::error!(error = %e, "webhook: delivery log not written");
        }
    }
}

impl CourierTrait for Courier {
    fn policy(&self) -> Policy {
        Policy {
            first_ms: self.first_ms,
            max_ms: RETRY_MAX_MS,
            max_age_ms: MAX_AGE_MS,
            in_flight: IN_FLIGHT,
            // The attempt bounds itself; this is the runner's backstop.
            timeout: ATTEMPT_TIMEOUT + Duration::from_secs(5),
        }
    }

    async fn attempt(&self, job: &OutJob) -> Outcome {
        let d: Delivery = match serde_json::from_value(job.body.clone()) {
            Ok(d) => d,
            Err(e) => {
                return Outcome::Drop {
                    why: format!("unreadable job: {e}"),
                }
            }
        };
        let Some(hook) = self.hooks.get(&d.site, &d.hook) else {
            return Outcome::Drop {
                why: "the endpoint was deleted".into(),
            };
        };
        if hook.paused {
            // Held, not sent: the lane waits until an owner resumes it
            // (which makes the job due at once).
            return Outcome::Retry {
                after_ms: Some(PAUSED_RECHECK_MS),
                why: "held: the endpoint is paused".into(),
            };
        }
        let started = std::time::Instant::now();
        let (outcome, status) = self.post(&d, &hook.url, &hook.secret).await;
        let took = started.elapsed().as_millis() as u64;
        self.log(job, &d, status, &outcome, took);
        let ok = matches!(outcome, Outcome::Delivered { .. });
        let why = match &outcome {
            Outcome::Retry { why, .. } | Outcome::Drop { why } => why.clone(),
            Outcome::Delivered { .. } => String::new(),
        };
        let changed = self.hooks.record_outcome(&d.site, &d.hook, |h| {
            if ok {
                h.failures = 0;
                return;
            }
            h.failures = h.failures.saturating_add(1);
            if h.failures >= WEBHOOK_PAUSE_AFTER_FAILURES && !h.paused {
                tracing::warn!(site = %d.site, hook = %h.id, url = %h.url, %why,
                    "webhook: paused after {} failed attempts in a row", h.failures);
                h.paused = true;
                h.paused_reason = Some(format!(
                    "paused by the relay after {} failed attempts in a row; last: {why}",
                    h.failures
                ));
            }
        });
        if let Err(e) = changed {
            tracing::error!(error = %e, "webhook: endpoint state not stored");
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    /// The resolver the client connects through drops private answers:
    /// `localhost` resolves (from /etc/hosts) only to loopback, so it
    /// fails; with private addresses allowed it resolves.
    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        use std::str::FromStr;
        use tower_service::Service;
        let name = || Name::from_str("localhost").expect("name");
        let refused = Guarded {
            allow_private: false,
        }
        .call(name())
        .await;
        assert!(refused.is_err(), "{refused:?}");
        let allowed = Guarded {
            allow_private: true,
        }
        .call(name())
        .await;
        assert!(allowed.is_ok_and(|mut a| a.next().is_some_and(|a| a.ip().is_loopback())));
    }

    #[test]
    fn literal_hosts_are_checked() {
        assert!(host_allowed("https://127.0.0.1/x", false).is_err());
        assert!(host_allowed("https://[::1]:8443/x", false).is_err());
        assert!(host_allowed("https://localhost/x", false).is_err());
        assert!(host_allowed("https://127.0.0.1/x", true).is_ok());
        assert!(host_allowed("https://hooks.example.com/x", false).is_ok());
    }

    /// The documented scheme, computed independently: HMAC-SHA256 of
    /// "1700000000.{}" under the key "s3cret" (as openssl computes it:
    /// `printf '1700000000.{}' | openssl dgst -sha256 -hmac s3cret`).
    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        assert_eq!(
            signature("s3cret", 1_700_000_000, "{}"),
            format!("v1={}", OPENSSL_DIGEST)
        );
    }
    const OPENSSL_DIGEST: &str = "97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf";
}
