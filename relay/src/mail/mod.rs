//! Mail out: notices to agents while nobody is available, unread replies
//! to visitors (continuity), and transcripts — every mail a job of the
//! durable outbound queue (kind `mail`), sent over SMTP by [`send`].
//!
//! Off unless `--smtp-url` and `--mail-from` are given: then no event
//! causes mail and the widget is told (`welcome.mail` false) never to
//! mention email.
//!
//! Two kinds of jobs:
//! - *decisions* ([`MailJob::Notify`], [`MailJob::Continuity`],
//!   [`MailJob::CloseTranscript`]), staged by the commit thread in the
//!   same batch as the event that causes them ([`Stage`]), each in a lane
//!   of its own. When one comes due the courier reads the store — who the
//!   agents are and what they want, what the visitor has read, what was
//!   already mailed — and turns it into *sends*.
//! - *sends* ([`MailJob::Send`]): one finished mail to one address, in
//!   the lane of that address (mail to one person keeps its order). Their
//!   ids derive from their decision's (`{decision}-{who}`), and they are
//!   written in one batch with the conversation's [`MailMarks`] (which
//!   record the decision), so a decision repeated after a crash queues
//!   the same sends under the same ids, never new ones.
//!
//! A send's `Message-ID` is `<kefu.{conv}.{job}@{domain}>`: every attempt
//! of a job carries the same, so a crash between the SMTP server's
//! acceptance and the job's deletion repeats the mail at most with the
//! same Message-ID (mail clients show such a repeat once).
//!
//! No open relay: a mail goes only to an address of an agent of the site
//! or to the conversation's visitor's, chosen here from the store, never
//! from a frame. Headers come from lettre's typed builders; visitor text
//! reaches no header but a display name, stripped of control characters.
//! Every site sends at most [`MAX_SITE_MAILS_PER_HOUR`]; mail over it is
//! not queued (and logged).
//!
//! # Layout
//! - [`token`]: reply addresses, Message-IDs, unsubscribe signatures.
//! - [`texts`]: the words, English and Chinese; `compose`: what each
//!   mail says, to and from whom.
//! - [`send`]: the SMTP transport and one attempt.
//! - [`routes`]: `GET`/`POST /v1/mail/unsubscribe`.

mod compose;
pub mod routes;
pub mod send;
pub mod texts;
pub mod token;

pub use compose::utc_time;
use compose::visitor_email;
pub use token::{conv_of_message_id, message_id, MailKey, Recipient};

use crate::hub::Hub;
use crate::outbox::{Kind, OutJob, Queue, Stage};
use crate::store::{ConvRecord, MailMarks, SiteRecord, Store, StoreError, VisitorRecord};
use lettre::message::Mailbox;
use protocol::limits::*;
use protocol::{ConvId, Event, EventBody, Side, SiteId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The mail settings, validated (`--smtp-url`, `--mail-from` …).
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// A lettre connection URL (`?tls=starttls` already read as
    /// `?tls=required`).
    pub smtp_url: String,
    /// `Name <kefu@example.com>`: the sender, and the address reply
    /// addresses are made from.
    pub from: String,
    /// The first retry's delay (ms), doubling up to [`send::RETRY_MAX_MS`].
    pub retry_ms: u64,
    /// How long one minute of `continuity_minutes` lasts (ms): 60 000;
    /// only tests shorten it.
    pub minute_ms: u64,
}

impl MailConfig {
    /// Checks the flags: a URL lettre can use, a sender address.
    pub fn new(
        smtp_url: &str,
        from: &str,
        retry_ms: u64,
        minute_ms: u64,
    ) -> Result<MailConfig, String> {
        let mut url = url::Url::parse(smtp_url.trim())
            .map_err(|e| format!("--smtp-url {smtp_url:?}: {e}"))?;
        if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
            return Err(format!(
                "--smtp-url must be smtp://host[:port] or smtps://host[:port] (got {:?})",
                url.scheme()
            ));
        }
        let tls: Option<String> = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        match tls.as_deref() {
            None | Some("required") | Some("opportunistic") => {}
            Some("starttls") => {
                url.query_pairs_mut().clear().append_pair("tls", "required");
            }
            Some(t) => {
                return Err(format!(
                    "--smtp-url: tls={t:?} is not starttls, required or opportunistic"
                ))
            }
        }
        let mailbox: Mailbox = from
            .trim()
            .parse()
            .map_err(|e| format!("--mail-from {from:?} is not `Name <address>`: {e}"))?;
        Ok(MailConfig {
            smtp_url: url.to_string(),
            from: mailbox.to_string(),
            retry_ms: retry_ms.max(1),
            minute_ms: minute_ms.max(1),
        })
    }
}

/// A mail job as stored (the job's `body`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum MailJob {
    /// A visitor wrote (event `seq`) while no agent of the site was
    /// available: mail the agents who want it.
    Notify {
        site: SiteId,
        conv: ConvId,
        seq: u64,
    },
    /// An agent's message (`seq`) is as old as the site's continuity
    /// delay: mail the visitor what they have not read, if anything.
    Continuity {
        site: SiteId,
        conv: ConvId,
        seq: u64,
    },
    /// The conversation closed and its visitor had asked for a
    /// transcript while it was open: one more, with what came after.
    CloseTranscript { site: SiteId, conv: ConvId },
    /// One finished mail to one address.
    Send(OutMail),
}

/// Whom a finished mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// An agent's notice.
    Agent,
    /// The visitor's unread replies.
    Continuity,
    Transcript,
}

impl MailKind {
    pub fn to_visitor(self) -> bool {
        self != MailKind::Agent
    }
}

/// A mail ready to go: everything the courier needs, composed when its
/// decision was taken (what a repeat sends is what was decided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutMail {
    pub site: SiteId,
    pub conv: ConvId,
    pub kind: MailKind,
    /// The recipient's address (an agent's or the visitor's, from the
    /// store) and display name.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_name: Option<String>,
    /// The sender's display name (the address is `--mail-from`'s).
    pub from_name: String,
    pub reply_to: String,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Visitor mail: the one-click unsubscribe URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

/// Why a transcript was not queued (the visitor is told).
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    #[error("no email is known for this visitor: give one")]
    NoEmail,
    #[error("at most {MAX_TRANSCRIPTS_PER_CONV_PER_HOUR} transcripts of a conversation per hour")]
    TooMany,
    #[error("this address unsubscribed from this site's mail")]
    Unsubscribed,
    #[error("the site sends no more mail this hour")]
    SiteLimit,
    #[error("the mail queue is full; try later")]
    Full,
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Strips what could end a header line or confuse a mail client from a
/// display name: control characters (CR, LF, tabs …), and caps it.
pub fn display_name(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    clean.chars().take(MAX_NAME_CHARS_IN_MAIL).collect()
}

/// Longest display name put in a header, in characters.
const MAX_NAME_CHARS_IN_MAIL: usize = 64;

/// Counts mail per site in fixed one-hour windows.
#[derive(Default)]
struct SiteCounts {
    windows: HashMap<SiteId, (u64, u32)>,
}

impl SiteCounts {
    /// Takes `n` mails from the site's hour if they fit.
    fn take(&mut self, site: &SiteId, n: u32, now: u64) -> bool {
        let hour = now / 3_600_000;
        let w = self.windows.entry(site.clone()).or_insert((hour, 0));
        if w.0 != hour {
            *w = (hour, 0);
        }
        if w.1.saturating_add(n) > MAX_SITE_MAILS_PER_HOUR {
            return false;
        }
        w.1 += n;
        true
    }
}

pub struct Mailer {
    queue: Arc<Queue>,
    hub: Arc<Hub>,
    key: MailKey,
    from: Mailbox,
    /// The part of `from`'s address after `@`: Message-IDs' domain.
    domain: String,
    /// The relay's public base URL (`--public-url`), for links.
    base: String,
    config: MailConfig,
    /// When each conversation's agents were last sent a notice decision
    /// (the commit thread's cheap check; the decision checks the store).
    notices: Mutex<HashMap<ConvId, u64>>,
    sites: Mutex<SiteCounts>,
    /// Held while a decision reads and writes a conversation's marks, so
    /// two never interleave.
    deciding: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a decision queues: the jobs and the marks, in one batch.
struct Decided {
    jobs: Vec<OutJob>,
    marks: Option<MailMarks>,
}

impl Mailer {
    /// The mailer over the store's mail queue and key.
    pub fn open(
        store: Arc<Store>,
        hub: Arc<Hub>,
        config: MailConfig,
        base: String,
    ) -> anyhow::Result<Arc<Mailer>> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("--mail-from: {e}"))?;
        let domain = from.email.domain().to_string();
        let key = MailKey::new(store.mail_key()?);
        Ok(Arc::new(Mailer {
            queue: Queue::open(store, Kind::Mail)?,
            hub,
            key,
            from,
            domain,
            base: base.trim_end_matches('/').to_string(),
            config,
            notices: Mutex::new(HashMap::new()),
            sites: Mutex::new(SiteCounts::default()),
            deciding: Mutex::new(()),
        }))
    }

    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }

    pub fn key(&self) -> &MailKey {
        &self.key
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    fn store(&self) -> &Arc<Store> {
        self.queue.store()
    }

    fn decision(&self, body: &MailJob) -> Option<OutJob> {
        serde_json::to_value(body)
            .ok()
            .map(|v| OutJob::solo(Kind::Mail, v))
    }

    /// The console's page of a conversation.
    pub fn console_link(&self, site: &SiteId, conv: &ConvId) -> String {
        format!("{}/console/#/inbox/{site}/{conv}", self.base)
    }

    /// A signed link into the hosted chat page with the visitor's
    /// identity (the page's own signed-link scheme, signed with the
    /// site's secret, valid [`MAIL_LINK_MAX_AGE_S`]).
    pub fn chat_link(&self, site: &SiteRecord, visitor: &VisitorRecord) -> String {
        let user = visitor.user.clone().unwrap_or_default();
        let uid = user.id.unwrap_or_else(|| visitor.id.to_string());
        let ts = (crate::now_ms() / 1000).to_string();
        let mut fields: Vec<(&str, &str)> = vec![("uid", &uid)];
        if let Some(n) = &user.name {
            fields.push(("name", n));
        }
        if let Some(e) = &user.email {
            fields.push(("email", e));
        }
        fields.push(("ts", &ts));
        fields.push(("mail", "1"));
        let sig = crate::auth::link_sig(&site.secret, &crate::chat_page::canonical(&fields));
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &fields {
            q.append_pair(k, v);
        }
        q.append_pair("sig", &sig);
        format!("{}?{}", crate::chat_url(&self.base, &site.id), q.finish())
    }

    /// The one-click unsubscribe URL of `email` for `site`.
    pub fn unsubscribe_link(&self, site: &SiteId, email: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("site", site.as_str())
            .append_pair("email", email)
            .append_pair("sig", &self.key.unsubscribe_sig(site, email));
        format!("{}/v1/mail/unsubscribe?{}", self.base, q.finish())
    }

    /// Takes `n` mails from the site's hourly allowance; logs a refusal.
    fn allow(&self, site: &SiteId, n: u32) -> bool {
        let ok = lock(&self.sites).take(site, n, crate::now_ms());
        if !ok {
            tracing::warn!(%site, "mail: the site's hourly limit is reached; mail not queued");
        }
        ok
    }

    /// Writes a decision's jobs with its marks in one batch, durably, and
    /// wakes the runner. Jobs whose lane is full are left out (logged).
    fn apply(&self, conv: &ConvId, d: Decided) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut lanes = Vec::new();
        for job in &d.jobs {
            if !self.queue.has_room(&job.lane) {
                tracing::warn!(lane = %job.lane, "mail: queue full; mail not queued");
                continue;
            }
            let (k, v) = Store::out_job_entry(job)?;
            batch.insert(k, v);
            lanes.push(job.lane.clone());
        }
        if let Some(m) = &d.marks {
            let (k, v) = Store::mail_marks_entry(conv, m)?;
            batch.insert(k, v);
        }
        self.store().apply_chat(batch)?;
        self.store().sync()?;
        let n = lanes.len();
        self.queue.staged(&lanes);
        Ok(n)
    }

    fn send_job(&self, id: String, mail: OutMail) -> Option<OutJob> {
        let lane = mail.to.to_ascii_lowercase();
        let body = serde_json::to_value(MailJob::Send(mail)).ok()?;
        let mut job = OutJob::new(Kind::Mail, lane, body);
        job.id = id;
        Some(job)
    }

    /// Carries out a decision job (on a blocking thread): the sends it
    /// comes to are queued; returns how many.
    pub fn decide(&self, job: &OutJob, what: &MailJob) -> Result<usize, StoreError> {
        let _one = lock(&self.deciding);
        let conv = match what {
            MailJob::Notify { conv, .. }
            | MailJob::Continuity { conv, .. }
            | MailJob::CloseTranscript { conv, .. } => conv,
            MailJob::Send(_) => return Ok(0),
        };
        let mut marks = self.store().mail_marks(conv)?;
        if marks.decided == job.id {
            // Applied before a crash; its sends are queued (or sent).
            return Ok(0);
        }
        let Some(rec) = self.store().conv(conv)? else {
            return Ok(0);
        };
        let Some(site) = self.store().site(&rec.site)? else {
            return Ok(0);
        };
        let visitor = self.store().visitor(&rec.site, &rec.visitor)?;
        let t = texts::for_language(site.widget.language.as_deref());
        let jobs = match what {
            MailJob::Notify { seq, .. } => {
                self.notify(job, &rec, &site, visitor.as_ref(), t, *seq, &mut marks)?
            }
            MailJob::Continuity { seq, .. } => match &visitor {
                Some(v) => self.continuity(job, &rec, &site, v, t, *seq, &mut marks)?,
                None => Vec::new(),
            },
            MailJob::CloseTranscript { .. } => match &visitor {
                Some(v) if marks.transcript_at_close && rec.last_seq > marks.transcript_seq => {
                    marks.transcript_at_close = false;
                    marks.transcript_seq = rec.last_seq;
                    self.transcript_mail(&rec, &site, v, t)?
                        .and_then(|m| self.send_job(format!("{}-t", job.id), m))
                        .into_iter()
                        .collect()
                }
                _ => Vec::new(),
            },
            MailJob::Send(_) => Vec::new(),
        };
        let n = jobs.len() as u32;
        if n > 0 && !self.allow(&rec.site, n) {
            return Ok(0);
        }
        marks.decided = job.id.clone();
        self.apply(
            conv,
            Decided {
                jobs,
                marks: Some(marks),
            },
        )
    }

    /// "Email me this chat": queues the transcript of `rec` for its
    /// visitor now, durably.
    ///
    /// Asked while the conversation is open, one more transcript goes when
    /// it closes, holding everything said after this one (nothing more is
    /// sent when nothing was said since): what a visitor asking mid-chat
    /// expects to have in the end.
    pub fn transcript(&self, rec: &ConvRecord) -> Result<(), TranscriptError> {
        let _one = lock(&self.deciding);
        let store = self.store();
        let mut marks = store.mail_marks(&rec.id)?;
        let now = crate::now_ms();
        marks
            .transcripts
            .retain(|at| now.saturating_sub(*at) < 3_600_000);
        if marks.transcripts.len() >= MAX_TRANSCRIPTS_PER_CONV_PER_HOUR as usize {
            return Err(TranscriptError::TooMany);
        }
        let visitor = store
            .visitor(&rec.site, &rec.visitor)?
            .ok_or(TranscriptError::NoEmail)?;
        let email = visitor_email(&visitor).ok_or(TranscriptError::NoEmail)?;
        if store.unsubscribed(&rec.site, &email)? {
            return Err(TranscriptError::Unsubscribed);
        }
        let Some(site) = store.site(&rec.site)? else {
            return Err(TranscriptError::NoEmail);
        };
        let t = texts::for_language(site.widget.language.as_deref());
        let mail = self
            .transcript_mail(rec, &site, &visitor, t)?
            .ok_or(TranscriptError::NoEmail)?;
        let Some(job) = self.send_job(
            OutJob::new(Kind::Mail, "", serde_json::Value::Null).id,
            mail,
        ) else {
            return Err(TranscriptError::Full);
        };
        if !self.queue.has_room(&job.lane) {
            return Err(TranscriptError::Full);
        }
        if !self.allow(&rec.site, 1) {
            return Err(TranscriptError::SiteLimit);
        }
        marks.transcripts.push(now);
        marks.transcript_at_close = rec.open;
        marks.transcript_seq = rec.last_seq;
        self.apply(
            &rec.id,
            Decided {
                jobs: vec![job],
                marks: Some(marks),
            },
        )?;
        Ok(())
    }

    /// Whether the commit thread should stage a notice for a visitor's
    /// message in `conv` now: nobody available, and none staged for it
    /// within [`AGENT_MAIL_INTERVAL_MS`].
    fn notice_due(&self, rec: &ConvRecord, now: u64) -> bool {
        if self.hub.agents_online(&rec.site) {
            return false;
        }
        let mut n = lock(&self.notices);
        if n.len() > MAX_NOTICE_MEMORY {
            n.retain(|_, at| now.saturating_sub(*at) < AGENT_MAIL_INTERVAL_MS);
        }
        match n.get(&rec.id) {
            Some(at) if now.saturating_sub(*at) < AGENT_MAIL_INTERVAL_MS => false,
            _ => {
                n.insert(rec.id.clone(), now);
                true
            }
        }
    }
}

/// Conversations whose last notice time is kept in memory before old
/// ones are forgotten (the store's marks still hold them).
const MAX_NOTICE_MEMORY: usize = 10_000;

impl Stage for Mailer {
    fn jobs_for(&self, rec: &ConvRecord, ev: &Event) -> Vec<OutJob> {
        if ev.body.agents_only() {
            return Vec::new();
        }
        let store = self.store();
        match &ev.body {
            EventBody::Message { from, .. } if from.side == Side::Visitor => {
                if !self.notice_due(rec, crate::now_ms()) {
                    return Vec::new();
                }
                self.decision(&MailJob::Notify {
                    site: rec.site.clone(),
                    conv: rec.id.clone(),
                    seq: ev.seq,
                })
                .into_iter()
                .collect()
            }
            EventBody::Message { from, .. } if from.side == Side::Agent => {
                // Only for a visitor with an address, on a site that mails.
                let minutes = match store.site(&rec.site) {
                    Ok(Some(s)) => s.offline.continuity_minutes,
                    _ => 0,
                };
                let known = matches!(
                    store.visitor(&rec.site, &rec.visitor),
                    Ok(Some(v)) if visitor_email(&v).is_some()
                );
                if minutes == 0 || !known {
                    return Vec::new();
                }
                let minutes = minutes.min(MAX_CONTINUITY_MINUTES);
                let Some(mut job) = self.decision(&MailJob::Continuity {
                    site: rec.site.clone(),
                    conv: rec.id.clone(),
                    seq: ev.seq,
                }) else {
                    return Vec::new();
                };
                let due = ev
                    .ts
                    .saturating_add(u64::from(minutes).saturating_mul(self.config.minute_ms));
                job.next_at = due;
                // A delayed job's age counts from when it is due.
                job.created = due;
                vec![job]
            }
            EventBody::Closed { .. } => match store.mail_marks(&rec.id) {
                Ok(m) if m.transcript_at_close => self
                    .decision(&MailJob::CloseTranscript {
                        site: rec.site.clone(),
                        conv: rec.id.clone(),
                    })
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn queue(&self) -> &Queue {
        &self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A display name loses every control character: CR/LF cannot end the
    /// header it goes in.
    #[test]
    fn display_names_lose_control_characters() {
        assert_eq!(
            display_name("Eve\r\nBcc: x@evil.example"),
            "Eve Bcc: x@evil.example"
        );
        assert_eq!(display_name("\u{7}Li\tLei\u{0}"), "Li Lei");
        assert_eq!(display_name(&"a".repeat(500)).len(), MAX_NAME_CHARS_IN_MAIL);
    }

    /// The mail flags: starttls is lettre's required STARTTLS; bad
    /// schemes, tls values and senders are refused.
    #[test]
    fn mail_flags_are_checked() {
        let c = MailConfig::new(
            "smtp://u:p@mail.example:587?tls=starttls",
            "Kefu <kefu@example.com>",
            10,
            60_000,
        )
        .expect("ok");
        assert!(c.smtp_url.ends_with("?tls=required"), "{}", c.smtp_url);
        assert!(MailConfig::new("smtps://mail.example", "kefu@example.com", 1, 1).is_ok());
        for (url, from) in [
            ("http://mail.example", "kefu@example.com"),
            ("smtp://mail.example?tls=maybe", "kefu@example.com"),
            ("smtp://", "kefu@example.com"),
            ("smtp://mail.example", "not an address"),
        ] {
            assert!(MailConfig::new(url, from, 1, 1).is_err(), "{url} {from}");
        }
    }

    #[test]
    fn utc_times_read_as_calendar_dates() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_time(1_764_676_800_000), "2025-12-02 12:00 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    /// A site sends at most its hourly allowance; a new hour starts anew.
    #[test]
    fn sites_are_limited_per_hour() {
        let mut c = SiteCounts::default();
        let s = SiteId::new("s").expect("id");
        assert!(c.take(&s, MAX_SITE_MAILS_PER_HOUR, 0));
        assert!(!c.take(&s, 1, 10));
        assert!(c.take(&SiteId::new("t").expect("id"), 1, 10));
        assert!(c.take(&s, 1, 3_600_000));
    }
}
