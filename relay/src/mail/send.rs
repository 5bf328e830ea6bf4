//! Sending: lettre's async SMTP transport (tokio, rustls), one message
//! per attempt, and what each outcome means for the job.
//!
//! - accepted by the server: delivered.
//! - a permanent (5xx) refusal: the address cannot take it; dropped.
//! - a transient (4xx) refusal, a connection, TLS or time-out error:
//!   retried, backing off from `--mail-retry-ms` (default
//!   [`RETRY_FIRST_MS`]) doubling to [`RETRY_MAX_MS`], for
//!   [`MAIL_RETRY_MAX_AGE_MS`].
//!
//! Visitor mail is checked against the site's unsubscribed addresses again
//! right before it is sent.

use super::{MailJob, Mailer, OutMail};
use crate::outbox::{Courier as CourierTrait, OutJob, Outcome, Policy};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use protocol::limits::{MAIL_RETRY_MAX_AGE_MS, MAX_REPLY_LOCAL_PART};
use std::sync::Arc;
use std::time::Duration;

/// The first retry's delay (ms), unless `--mail-retry-ms` says otherwise.
pub const RETRY_FIRST_MS: u64 = 60_000;
/// The longest wait between two attempts (ms).
pub const RETRY_MAX_MS: u64 = 3600 * 1000;
/// One attempt (connect, TLS, the SMTP dialogue) may take this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Mails in flight at once (each address has one at a time).
pub const IN_FLIGHT: usize = 8;

/// `List-Unsubscribe` (RFC 2369): the one-click URL in angle brackets.
#[derive(Debug, Clone, PartialEq)]
pub struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone, PartialEq)]
pub struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// Why a mail could not be built (it never can be: dropped).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("address {0:?} is not one mail can go to")]
    Address(String),
    #[error("{0}")]
    Message(#[from] lettre::error::Error),
}

/// The message of send job `job_id`, from `from` (its address; the
/// display name is the mail's own), every header typed.
pub fn build(
    mail: &OutMail,
    job_id: &str,
    from: &Mailbox,
    domain: &str,
) -> Result<Message, BuildError> {
    let reply_addr =
        reply_address(&mail.reply_to).ok_or_else(|| BuildError::Address(mail.reply_to.clone()))?;
    let to = recipient(&mail.to, mail.to_name.as_deref())?;
    let sender = Mailbox::new(shown_name(&mail.from_name), from.email.clone());
    let mut b = Message::builder()
        .from(sender)
        .reply_to(Mailbox::new(None, reply_addr))
        .to(to)
        .subject(super::display_name(&mail.subject))
        .message_id(Some(super::message_id(job_id, &mail.conv, domain)))
        .date_now();
    if let Some(u) = &mail.unsubscribe {
        b = b
            .header(ListUnsubscribe(u.clone()))
            .header(ListUnsubscribePost);
    }
    let m = match &mail.html {
        Some(h) => b.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            h.clone(),
        ))?,
        None => b.singlepart(SinglePart::plain(mail.text.clone()))?,
    };
    Ok(m)
}

/// The message of an account mail (a reset link): from the relay's own
/// address, no reply address (nothing comes back), Message-ID
/// `<kefu.account.{job}@{domain}>`.
pub fn build_account(
    mail: &super::reset::AccountMail,
    job_id: &str,
    from: &Mailbox,
    domain: &str,
) -> Result<Message, BuildError> {
    let to = recipient(&mail.to, mail.to_name.as_deref())?;
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(super::display_name(&mail.subject))
        .message_id(Some(format!("<kefu.account.{job_id}@{domain}>")))
        .date_now()
        .singlepart(SinglePart::plain(mail.text.clone()))?)
}

/// A display name as a header shows it, if anything is left of it.
fn shown_name(n: &str) -> Option<String> {
    Some(super::display_name(n)).filter(|n| !n.is_empty())
}

/// The `To:` mailbox: the address (refused when it is not one) and the
/// name, if any.
fn recipient(addr: &str, name: Option<&str>) -> Result<Mailbox, BuildError> {
    let a = addr
        .parse()
        .map_err(|_| BuildError::Address(addr.to_string()))?;
    Ok(Mailbox::new(name.and_then(shown_name), a))
}

/// A reply address the relay made ([`super::MailKey::reply_address`]):
/// the sender's local part, `+`, a base32 token, `@` the sender's domain,
/// its local part within RFC 5321's [`MAX_REPLY_LOCAL_PART`] octets.
fn reply_address(addr: &str) -> Option<lettre::Address> {
    let a: lettre::Address = addr.parse().ok()?;
    (a.user().len() <= MAX_REPLY_LOCAL_PART).then_some(a)
}

pub struct Courier {
    mailer: Arc<Mailer>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Courier {
    pub fn new(mailer: Arc<Mailer>) -> anyhow::Result<Courier> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&mailer.config().smtp_url)
            .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?
            .timeout(Some(ATTEMPT_TIMEOUT))
            .build();
        Ok(Courier { mailer, transport })
    }

    async fn send(&self, job: &OutJob, mail: &OutMail) -> Outcome {
        if mail.kind.to_visitor() {
            let store = self.mailer.queue().store().clone();
            let (site, to) = (mail.site.clone(), mail.to.clone());
            match tokio::task::spawn_blocking(move || store.unsubscribed(&site, &to)).await {
                Ok(Ok(false)) => {}
                Ok(Ok(true)) => {
                    return Outcome::Drop {
                        why: "the address unsubscribed".into(),
                    }
                }
                Ok(Err(e)) => {
                    return Outcome::Retry {
                        after_ms: None,
                        why: format!("store: {e}"),
                    }
                }
                Err(e) => {
                    return Outcome::Retry {
                        after_ms: None,
                        why: format!("check failed: {e}"),
                    }
                }
            }
        }
        let message = match build(mail, &job.id, self.mailer.from(), self.mailer.domain()) {
            Ok(m) => m,
            Err(e) => return Outcome::Drop { why: e.to_string() },
        };
        self.deliver(message).await
    }

    /// One SMTP attempt at a built message.
    async fn deliver(&self, message: Message) -> Outcome {
        match self.transport.send(message).await {
            Ok(r) => Outcome::Delivered {
                detail: r.message().collect::<Vec<_>>().join(" "),
            },
            Err(e) if e.is_permanent() => Outcome::Drop {
                why: format!("refused: {e}"),
            },
            Err(e) => Outcome::Retry {
                after_ms: None,
                why: e.to_string(),
            },
        }
    }
}

impl CourierTrait for Courier {
    fn policy(&self) -> Policy {
        Policy {
            first_ms: self.mailer.config().retry_ms,
            max_ms: RETRY_MAX_MS,
            max_age_ms: MAIL_RETRY_MAX_AGE_MS,
            in_flight: IN_FLIGHT,
            timeout: ATTEMPT_TIMEOUT + Duration::from_secs(5),
        }
    }

    async fn attempt(&self, job: &OutJob) -> Outcome {
        let what: MailJob = match serde_json::from_value(job.body.clone()) {
            Ok(w) => w,
            Err(e) => {
                return Outcome::Drop {
                    why: format!("not a mail job: {e}"),
                }
            }
        };
        if let MailJob::Send(mail) = &what {
            return self.send(job, mail).await;
        }
        if let MailJob::Account(mail) = &what {
            let message =
                match build_account(mail, &job.id, self.mailer.from(), self.mailer.domain()) {
                    Ok(m) => m,
                    Err(e) => return Outcome::Drop { why: e.to_string() },
                };
            return self.deliver(message).await;
        }
        let mailer = self.mailer.clone();
        let j = job.clone();
        match tokio::task::spawn_blocking(move || mailer.decide(&j, &what)).await {
            Ok(Ok(n)) => Outcome::Delivered {
                detail: format!("{n} mails queued"),
            },
            Ok(Err(e)) => Outcome::Retry {
                after_ms: None,
                why: format!("store: {e}"),
            },
            Err(e) => Outcome::Retry {
                after_ms: None,
                why: format!("decision failed: {e}"),
            },
        }
    }

    fn settled(&self, job: &OutJob, outcome: &Outcome, final_: bool) {
        if let (Outcome::Drop { why }, true) = (outcome, final_) {
            tracing::warn!(job = %job.id, lane = %job.lane, %why, "mail: given up");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::MailKind;
    use super::*;
    use protocol::{ConvId, SiteId};

    fn sample() -> OutMail {
        OutMail {
            site: SiteId::new("s").expect("id"),
            conv: ConvId::new("c1").expect("id"),
            kind: MailKind::Transcript,
            to: "ada@example.com".into(),
            to_name: Some("Eve\r\nBcc: victim@evil.example".into()),
            from_name: "Shop\nX-Injected: yes".into(),
            reply_to: "kefu+abc@example.com".into(),
            subject: "Hi\r\nBcc: victim@evil.example".into(),
            text: "hello\r\n.\r\nbody".into(),
            html: Some("<p>hello</p>".into()),
            unsubscribe: Some("http://relay.example/v1/mail/unsubscribe?x=1".into()),
        }
    }

    /// CR/LF in a display name or the subject adds no header: the message
    /// has exactly one To, no Bcc, no injected header, and carries its
    /// Message-ID and the one-click unsubscribe pair.
    #[test]
    fn names_cannot_add_headers() {
        let from: Mailbox = "Kefu <kefu@example.com>".parse().expect("mailbox");
        let m = build(&sample(), "J1", &from, "example.com").expect("builds");
        let raw = String::from_utf8(m.formatted()).expect("utf-8");
        let head = raw.split("\r\n\r\n").next().expect("head");
        let lines: Vec<&str> = head.split("\r\n").collect();
        let starts = |p: &str| {
            lines
                .iter()
                .filter(|l| l.to_ascii_lowercase().starts_with(&p.to_ascii_lowercase()))
                .count()
        };
        assert_eq!(starts("Bcc:"), 0, "{head}");
        assert_eq!(starts("X-Injected:"), 0, "{head}");
        assert_eq!(starts("To:"), 1, "{head}");
        assert_eq!(starts("Message-ID: <kefu.c1.J1@example.com>"), 1, "{head}");
        assert_eq!(
            starts("List-Unsubscribe: <http://relay.example/v1/mail/unsubscribe?x=1>"),
            1,
            "{head}"
        );
        assert_eq!(
            starts("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            1
        );
        // Every header line is a header or a folded continuation.
        for l in &lines {
            assert!(
                l.starts_with(' ') || l.starts_with('\t') || l.contains(':'),
                "{l:?} in {head}"
            );
        }
    }

    /// The relay's reply addresses are taken as they are; one over 64
    /// octets before the @, or with what needs quoting, is not.
    #[test]
    fn reply_addresses_fit_rfc_5321() {
        let key = super::super::MailKey::new([7; 32]);
        let conv = ConvId::new(ulid::Ulid::new().to_string()).expect("id");
        let agent = protocol::AgentId::new(ulid::Ulid::new().to_string()).expect("id");
        let ours = key.reply_address(
            "kefu@example.com",
            &conv,
            &super::super::Recipient::Agent(agent),
        );
        assert!(reply_address(&ours).is_some(), "{ours}");
        let long = format!("kefu+{}@example.com", "a".repeat(60));
        assert!(reply_address(&long).is_none());
        assert!(reply_address("kefu+a b@example.com").is_none());
        assert!(reply_address("kefu+a\r\nBcc: x@example.com").is_none());
    }

    /// An address that is not one is refused when the mail is built.
    #[test]
    fn bad_addresses_are_refused() {
        let from: Mailbox = "kefu@example.com".parse().expect("mailbox");
        let mut m = sample();
        m.to = "ada@example.com\r\nBcc: x@y.z".into();
        assert!(matches!(
            build(&m, "J1", &from, "example.com"),
            Err(BuildError::Address(_))
        ));
    }
}
