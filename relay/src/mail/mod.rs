//! Mail out (and in, [`inbound`]): notices to agents while nobody is available, unread replies
//! to visitors (continuity), and transcripts — every mail a job of the
//! durable outbound queue (kind `mail`), sent over SMTP by [`send`].
//!
//! Off unless `--smtp-url` and `--mail-from` are given: then no event
//! causes mail and the widget is told (`welcome.mail` false) never to
//! mention email.
//!
//! Two kinds of jobs:
//! - *decisions* ([`MailJob::Notify`], [`MailJob::AgentReply`] and the
//!   [`MailJob::Continuity`] it schedules, [`MailJob::CloseTranscript`]),
//!   staged by the commit thread in the
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
//! Every site sends at most [`MAX_SITE_MAILS_PER_HOUR`] visitor mails and
//! [`MAX_SITE_AGENT_MAILS_PER_HOUR`] agents' notices an hour (two budgets,
//! so visitors cannot use up the agents'); mail over them is not queued
//! (and logged). Transcripts are also limited per conversation, visitor
//! and IP.
//!
//! The commit thread reads nothing from the store for mail (the Stage
//! contract): it stages decisions from the event and the conversation
//! record alone, and each decision reads what it needs when it runs.
//!
//! # Layout
//! - [`token`]: reply addresses, Message-IDs, unsubscribe signatures.
//! - [`texts`]: the words, English and Chinese; `compose`: what each
//!   mail says, to and from whom.
//! - [`send`]: the SMTP transport and one attempt.
//! - [`routes`]: `GET`/`POST /v1/mail/unsubscribe` and `/v1/mail/rate`.
//! - [`reset`]: the password-reset mail and the page its link opens.
//! - [`inbound`]: mail in — replies fetched by IMAP become messages.

mod compose;
pub mod inbound;
pub mod reset;
pub mod routes;
pub mod send;
pub mod texts;
pub mod token;

pub use compose::utc_time;
use compose::visitor_email;
pub use token::{conv_of_message_id, message_id, ChatTokenError, MailKey, Recipient};

use crate::hub::Hub;
use crate::outbox::{Kind, OutJob, Queue, Stage};
use crate::ratelimit::Limiter;
use crate::store::{ConvRecord, MailMarks, SiteRecord, Store, StoreError, VisitorRecord};
use lettre::message::Mailbox;
use protocol::limits::*;
use protocol::{AgentId, ConvId, Event, EventBody, Side, SiteId, UserInfo, VisitorId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
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
        let room = MAX_REPLY_LOCAL_PART - 1 - token::MAX_REPLY_TOKEN_CHARS;
        if mailbox.email.user().len() > room {
            return Err(format!(
                "--mail-from: the part before @ ({:?}) is longer than {room} characters: reply \
                 addresses add a token to it and must stay within {MAX_REPLY_LOCAL_PART}",
                mailbox.email.user()
            ));
        }
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
    /// An agent wrote (event `seq` at `ts`): if the visitor has an
    /// address and the site mails unread replies, schedule a
    /// [`MailJob::Continuity`] for when its delay is over.
    AgentReply {
        site: SiteId,
        conv: ConvId,
        seq: u64,
        ts: u64,
    },
    /// An agent's message (`seq`) is as old as the site's continuity
    /// delay: mail the visitor what they have not read, if anything.
    Continuity {
        site: SiteId,
        conv: ConvId,
        seq: u64,
    },
    /// The conversation closed: if its visitor asked for a transcript
    /// while it was open, one more, with what was said after it.
    CloseTranscript { site: SiteId, conv: ConvId },
    /// One finished mail to one address.
    Send(OutMail),
    /// A mail about an agent's account (the password-reset link).
    Account(reset::AccountMail),
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
    #[error(
        "this visitor's email comes from the site's verified identity and cannot be changed here"
    )]
    Verified,
    #[error("at most {MAX_TRANSCRIPTS_PER_CONV_PER_HOUR} transcripts of a conversation per hour")]
    TooMany,
    #[error("at most {MAX_TRANSCRIPTS_PER_VISITOR_PER_HOUR} transcripts per visitor and {MAX_TRANSCRIPTS_PER_IP_PER_HOUR} per address an hour")]
    VisitorLimit,
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

/// The agents of the site `conv` belongs to: who an agent's reply token
/// may name ([`MailKey::read_reply_address`]). Empty when the store cannot
/// say (logged): a reply then names nobody.
pub fn site_agents(store: &Store, conv: &ConvId) -> Vec<AgentId> {
    let read = || -> Result<Vec<AgentId>, StoreError> {
        let Some(rec) = store.conv(conv)? else {
            return Ok(Vec::new());
        };
        Ok(store
            .agents()?
            .into_iter()
            .filter(|a| a.sites.contains(&rec.site))
            .map(|a| a.id)
            .collect())
    };
    read().unwrap_or_else(|e| {
        tracing::error!(error = %e, "mail: agents not read");
        Vec::new()
    })
}

/// Which hourly budget a mail counts against.
#[derive(Clone, Copy)]
enum Budget {
    Agents,
    Visitors,
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
    /// The hourly budgets per site and kind, in fixed windows of
    /// [`MAIL_BUDGET_WINDOW_MS`]. In memory: a restart starts them anew.
    budgets: Limiter,
    /// The hourly transcript limits per visitor and per IP: a limiter of
    /// their own, so a flood of keys here never clears a site's budget.
    transcripts: Limiter,
    /// The hourly password-reset limits per address and per IP.
    resets: Limiter,
    /// Held while a decision reads and writes a conversation's marks, so
    /// two never interleave (never across a sync).
    deciding: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
            budgets: Limiter::new(crate::LIMITER_MAX_KEYS),
            transcripts: Limiter::new(crate::LIMITER_MAX_KEYS),
            resets: Limiter::new(crate::LIMITER_MAX_KEYS),
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

    /// The link into the hosted chat page that resumes `visitor`:
    /// `/chat/{site}?resume=TOKEN`, a token of the relay's mail key naming
    /// the site and the visitor, valid [`MAIL_LINK_MAX_AGE_S`]. It carries
    /// no identity: the page is as verified as the stored visitor is.
    pub fn chat_link(&self, site: &SiteRecord, visitor: &VisitorRecord) -> String {
        let expires = (crate::now_ms() / 1000).saturating_add(MAIL_LINK_MAX_AGE_S);
        let token = self.key.chat_token(&site.id, &visitor.id, expires);
        format!("{}?resume={token}", crate::chat_url(&self.base, &site.id))
    }

    /// The rating link of `score` for the closed conversation `rec`:
    /// `/v1/mail/rate?site=…&conv=…&visitor=…&score=…&exp=…&sig=…`, signed
    /// under the relay's mail key, valid [`MAIL_LINK_MAX_AGE_S`].
    pub fn rating_link(&self, rec: &ConvRecord, score: u8) -> String {
        let exp = (crate::now_ms() / 1000).saturating_add(MAIL_LINK_MAX_AGE_S);
        let sig = self
            .key
            .rating_sig(&rec.site, &rec.id, &rec.visitor, score, exp);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("site", rec.site.as_str())
            .append_pair("conv", rec.id.as_str())
            .append_pair("visitor", rec.visitor.as_str())
            .append_pair("score", &score.to_string())
            .append_pair("exp", &exp.to_string())
            .append_pair("sig", &sig);
        format!("{}/v1/mail/rate?{}", self.base, q.finish())
    }

    /// The one-click unsubscribe URL of `email` for `site`.
    pub fn unsubscribe_link(&self, site: &SiteId, email: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("site", site.as_str())
            .append_pair("email", email)
            .append_pair("sig", &self.key.unsubscribe_sig(site, email));
        format!("{}/v1/mail/unsubscribe?{}", self.base, q.finish())
    }

    /// Takes `n` mails from the site's hourly budget of that kind; logs a
    /// refusal.
    fn allow(&self, budget: Budget, site: &SiteId, n: u32) -> bool {
        let (key, limit) = match budget {
            Budget::Agents => (format!("agents\0{site}"), MAX_SITE_AGENT_MAILS_PER_HOUR),
            Budget::Visitors => (format!("visitors\0{site}"), MAX_SITE_MAILS_PER_HOUR),
        };
        let ok = self.budgets.take(&key, n, limit, MAIL_BUDGET_WINDOW_MS);
        if !ok {
            tracing::warn!(%site, "mail: the site's hourly limit is reached; mail not queued");
        }
        ok
    }

    /// Writes a decision's jobs with its marks in one batch (the caller
    /// holds `deciding`); returns their lanes for [`Mailer::settle`].
    fn write(
        &self,
        conv: &ConvId,
        jobs: &[OutJob],
        marks: &MailMarks,
    ) -> Result<Vec<String>, StoreError> {
        let mut batch = sled::Batch::default();
        let mut lanes = Vec::new();
        for job in jobs {
            let (k, v) = Store::out_job_entry(job)?;
            batch.insert(k, v);
            lanes.push(job.lane.clone());
        }
        let (k, v) = Store::mail_marks_entry(conv, marks)?;
        batch.insert(k, v);
        self.store().apply_chat(batch)?;
        Ok(lanes)
    }

    /// Makes written jobs durable and wakes the runner (outside
    /// `deciding`: a sync holds up no other decision).
    fn settle(&self, lanes: &[String]) -> Result<usize, StoreError> {
        if lanes.is_empty() {
            return Ok(0);
        }
        self.store().sync()?;
        self.queue.staged(lanes);
        Ok(lanes.len())
    }

    /// A job for `body` in `lane` (a solo lane when empty), if the queue
    /// has room for it: what is not queued is not marked done.
    fn job_with_room(&self, id: String, lane: String, body: &MailJob) -> Option<OutJob> {
        let body = serde_json::to_value(body).ok()?;
        let mut job = if lane.is_empty() {
            OutJob::solo(Kind::Mail, body)
        } else {
            OutJob::new(Kind::Mail, lane, body)
        };
        job.id = id;
        if !self.queue.has_room(&job.lane) {
            tracing::warn!(lane = %job.lane, "mail: queue full; mail not queued");
            return None;
        }
        Some(job)
    }

    fn send_job(&self, id: String, mail: OutMail) -> Option<OutJob> {
        let lane = mail.to.to_ascii_lowercase();
        self.job_with_room(id, lane, &MailJob::Send(mail))
    }

    /// Carries out a decision job (on a blocking thread): the sends it
    /// comes to are queued; returns how many jobs it queued.
    pub fn decide(&self, job: &OutJob, what: &MailJob) -> Result<usize, StoreError> {
        let conv = match what {
            MailJob::Notify { conv, .. }
            | MailJob::AgentReply { conv, .. }
            | MailJob::Continuity { conv, .. }
            | MailJob::CloseTranscript { conv, .. } => conv,
            MailJob::Send(_) | MailJob::Account(_) => return Ok(0),
        };
        let lanes = {
            let _one = lock(&self.deciding);
            let before = self.store().mail_marks(conv)?;
            if before.decided == job.id {
                // Applied before a crash; its jobs are queued (or done).
                return Ok(0);
            }
            let mut marks = before.clone();
            let Some(rec) = self.store().conv(conv)? else {
                return Ok(0);
            };
            let Some(site) = self.store().site(&rec.site)? else {
                return Ok(0);
            };
            let visitor = self.store().visitor(&rec.site, &rec.visitor)?;
            let t = texts::for_language(site.widget.language.as_deref());
            let (jobs, budget) = match what {
                MailJob::Notify { seq, .. } => (
                    self.notify(job, &rec, &site, visitor.as_ref(), t, *seq, &mut marks)?,
                    Budget::Agents,
                ),
                MailJob::AgentReply { seq, ts, .. } => (
                    self.schedule_continuity(job, &rec, &site, visitor.as_ref(), *seq, *ts)
                        .into_iter()
                        .collect(),
                    Budget::Visitors,
                ),
                MailJob::Continuity { seq, .. } => match &visitor {
                    Some(v) => (
                        self.continuity(job, &rec, &site, v, t, *seq, &mut marks)?,
                        Budget::Visitors,
                    ),
                    None => (Vec::new(), Budget::Visitors),
                },
                MailJob::CloseTranscript { .. } => match &visitor {
                    Some(v) if marks.transcript_at_close => {
                        let mail = self.transcript_mail(&rec, &site, v, t, marks.transcript_seq)?;
                        let sends: Vec<OutJob> = match mail {
                            // Nothing said since the transcript asked for.
                            None => Vec::new(),
                            Some(m) => match self.send_job(format!("{}-t", job.id), m) {
                                Some(j) => vec![j],
                                // Not queued: the marks stay as they are.
                                None => return Ok(0),
                            },
                        };
                        marks.transcript_at_close = false;
                        marks.transcript_seq = rec.last_seq;
                        (sends, Budget::Visitors)
                    }
                    _ => (Vec::new(), Budget::Visitors),
                },
                MailJob::Send(_) | MailJob::Account(_) => (Vec::new(), Budget::Visitors),
            };
            let sends = jobs
                .iter()
                .filter(|j| j.body.get("job").and_then(|v| v.as_str()) == Some("send"))
                .count() as u32;
            if sends > 0 && !self.allow(budget, &rec.site, sends) {
                return Ok(0);
            }
            if jobs.is_empty() && marks == before {
                // Nothing to do, nothing to remember: doing it again after
                // a crash does nothing again.
                return Ok(0);
            }
            marks.decided = job.id.clone();
            self.write(conv, &jobs, &marks)?
        };
        self.settle(&lanes)
    }

    /// An agent's message `seq` (sent at `ts`): the continuity decision
    /// for when the site's delay is over, if the visitor has an address
    /// and the site mails unread replies.
    fn schedule_continuity(
        &self,
        job: &OutJob,
        rec: &ConvRecord,
        site: &SiteRecord,
        visitor: Option<&VisitorRecord>,
        seq: u64,
        ts: u64,
    ) -> Option<OutJob> {
        let minutes = site.offline.continuity_minutes.min(MAX_CONTINUITY_MINUTES);
        if minutes == 0 || visitor.and_then(visitor_email).is_none() {
            return None;
        }
        let mut next = self.job_with_room(
            format!("{}-c", job.id),
            String::new(),
            &MailJob::Continuity {
                site: rec.site.clone(),
                conv: rec.id.clone(),
                seq,
            },
        )?;
        let due = ts.saturating_add(u64::from(minutes).saturating_mul(self.config.minute_ms));
        next.next_at = due;
        // A delayed job's age counts from when it is due.
        next.created = due;
        Some(next)
    }

    /// A visitor's address given for the first time by a form (on a
    /// blocking thread): agent replies in its open conversation that it
    /// has not read yet get the continuity decision they could not have
    /// when they were sent (no address then), due after the site's delay
    /// as if sent now. Returns how many jobs it queued. A transcript that
    /// sets the address needs none: it carries those replies itself.
    pub fn email_given(&self, site: &SiteId, visitor: &VisitorId) -> Result<usize, StoreError> {
        let store = self.store();
        let Some(rec) = store
            .visitor_convs(site, visitor)?
            .into_iter()
            .find(|c| c.open)
        else {
            return Ok(0);
        };
        let unread = store
            .events_after(&rec.id, rec.visitor_read, MAX_MAIL_EVENTS)?
            .iter()
            .any(|ev| matches!(&ev.body, EventBody::Message { from, .. } if from.side == Side::Agent));
        if !unread {
            return Ok(0);
        }
        let what = MailJob::AgentReply {
            site: rec.site.clone(),
            conv: rec.id.clone(),
            seq: rec.last_seq,
            ts: crate::now_ms(),
        };
        let Some(job) = self.decision(&what) else {
            return Ok(0);
        };
        let lanes = {
            let _one = lock(&self.deciding);
            let marks = store.mail_marks(&rec.id)?;
            self.write(&rec.id, &[job], &marks)?
        };
        self.settle(&lanes)
    }

    /// "Email me this chat" for `rec` (on a blocking thread): `email` the
    /// address the visitor gave (stored on its profile once every check
    /// passed; a verified identity's address is never replaced), `ip`
    /// where the frame came from. Queues the transcript durably.
    ///
    /// Asked while the conversation is open, one more transcript goes when
    /// it closes, holding what was said after this one (nothing more is
    /// sent when nothing was said since): what a visitor asking mid-chat
    /// expects to have in the end.
    ///
    /// Nothing is stored unless the transcript is queued.
    pub fn transcript(
        &self,
        rec: &ConvRecord,
        email: Option<String>,
        ip: Option<IpAddr>,
    ) -> Result<(), TranscriptError> {
        let lanes = {
            let _one = lock(&self.deciding);
            let store = self.store();
            let mut marks = store.mail_marks(&rec.id)?;
            let now = crate::now_ms();
            marks
                .transcripts
                .retain(|at| now.saturating_sub(*at) < MAIL_BUDGET_WINDOW_MS);
            if marks.transcripts.len() >= MAX_TRANSCRIPTS_PER_CONV_PER_HOUR as usize {
                return Err(TranscriptError::TooMany);
            }
            let mut visitor = store
                .visitor(&rec.site, &rec.visitor)?
                .ok_or(TranscriptError::NoEmail)?;
            let stored = visitor_email(&visitor);
            let new_email = match (&email, &stored) {
                (Some(e), Some(s)) if e.eq_ignore_ascii_case(s) => None,
                (Some(_), Some(_)) if visitor.verified => return Err(TranscriptError::Verified),
                (Some(e), _) => Some(e.clone()),
                (None, _) => None,
            };
            if let Some(e) = &new_email {
                visitor.user.get_or_insert_with(UserInfo::default).email = Some(e.clone());
            }
            let address = visitor_email(&visitor).ok_or(TranscriptError::NoEmail)?;
            if store.unsubscribed(&rec.site, &address)? {
                return Err(TranscriptError::Unsubscribed);
            }
            let Some(site) = store.site(&rec.site)? else {
                return Err(TranscriptError::NoEmail);
            };
            let t = texts::for_language(site.widget.language.as_deref());
            let mail = self
                .transcript_mail(rec, &site, &visitor, t, 0)?
                .ok_or(TranscriptError::NoEmail)?;
            let Some(job) = self.send_job(
                OutJob::new(Kind::Mail, "", serde_json::Value::Null).id,
                mail,
            ) else {
                return Err(TranscriptError::Full);
            };
            let visitor_key = format!("transcripts\0{}\0{}", rec.site, rec.visitor);
            let window = MAIL_BUDGET_WINDOW_MS;
            if !self.transcripts.take(
                &visitor_key,
                1,
                MAX_TRANSCRIPTS_PER_VISITOR_PER_HOUR,
                window,
            ) {
                return Err(TranscriptError::VisitorLimit);
            }
            if let Some(ip) = ip {
                let ip_key = format!("transcripts-ip\0{ip}");
                if !self
                    .transcripts
                    .take(&ip_key, 1, MAX_TRANSCRIPTS_PER_IP_PER_HOUR, window)
                {
                    return Err(TranscriptError::VisitorLimit);
                }
            }
            if !self.allow(Budget::Visitors, &rec.site, 1) {
                return Err(TranscriptError::SiteLimit);
            }
            if let Some(e) = new_email {
                // In place: a page view or a form answer written meanwhile
                // is kept, and a verified address is never replaced.
                store.update_visitor(&rec.site, &rec.visitor, |v| {
                    let u = v.user.get_or_insert_with(UserInfo::default);
                    if u.email.as_deref() == Some(e.as_str()) || (v.verified && u.email.is_some()) {
                        return false;
                    }
                    u.email = Some(e.clone());
                    true
                })?;
            }
            marks.transcripts.push(now);
            marks.transcript_at_close = rec.open;
            marks.transcript_seq = rec.last_seq;
            self.write(&rec.id, &[job], &marks)?
        };
        self.settle(&lanes)?;
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

impl Stage for Mailer {
    /// From the event and the conversation record alone (no store read on
    /// the commit thread): the decisions, which read the store when due.
    fn jobs_for(&self, rec: &ConvRecord, ev: &Event) -> Vec<OutJob> {
        if ev.body.agents_only() {
            return Vec::new();
        }
        let what = match &ev.body {
            EventBody::Message { from, .. } if from.side == Side::Visitor => {
                if !self.notice_due(rec, crate::now_ms()) {
                    return Vec::new();
                }
                MailJob::Notify {
                    site: rec.site.clone(),
                    conv: rec.id.clone(),
                    seq: ev.seq,
                }
            }
            EventBody::Message { from, .. } if from.side == Side::Agent => MailJob::AgentReply {
                site: rec.site.clone(),
                conv: rec.id.clone(),
                seq: ev.seq,
                ts: ev.ts,
            },
            EventBody::Closed { .. } => MailJob::CloseTranscript {
                site: rec.site.clone(),
                conv: rec.id.clone(),
            },
            _ => return Vec::new(),
        };
        self.decision(&what).into_iter().collect()
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
            // No room for a reply token within 64 octets.
            (
                "smtp://mail.example",
                "customer-support-notifications@example.com",
            ),
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
}
