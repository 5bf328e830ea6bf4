//! Group commit: the single writer of conversation data.
//!
//! Sessions submit [`Write`]s over a bounded channel. One dedicated thread
//! takes whatever is queued (up to [`MAX_GROUP`]), assigns per-conversation
//! seqs, applies them as one atomic sled batch, makes it durable with one
//! [`Store::sync`] (flush + fdatasync), and only then acks each writer and
//! publishes the events to the hub. While it syncs, new writes queue up and
//! form the next group, so under load many messages share one fsync.
//!
//! Because this thread is the only writer of conversations, its cache of
//! [`ConvRecord`]s is authoritative; after a failed write the cache is
//! dropped and re-read from the store.
//!
//! The outbound jobs a group's events cause (Web Push, webhooks, WeChat
//! replies: [`Outlets`]) are staged into the same batch: a job is durable
//! exactly when its event is.
//!
//! Routing ([`crate::routing`]) is decided here too, while the group is
//! staged: reply-assigns, auto-assignment of new conversations, the queue
//! and its service, the no-answer and away deadlines (`tick`). Each
//! decision is an `assigned` event in the same batch.

use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::outbox::Outlets;
use crate::routing::{Routed, Router};
use crate::store::{
    encode, encode_cid_hit, encode_event, keys, ContactUndo, ConvRecord, Store, StoreError,
    CONV_RECORD_EVERY,
};
use protocol::api::privacy::ERASED_TEXT;
use protocol::api::RoutingMode;
use protocol::limits::BACKUP_PAUSE_MAX_MS;
use protocol::offline::Contact;
use protocol::{
    AgentId, AssignReason, Attachment, Author, Channel, Cid, ConvId, Event, EventBody, FileId,
    Side, SiteId, TeamId, UserInfo, VisitorId,
};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most writes in one group: bounds the batch and the latency of its first
/// writer. At ~1–3 ms per fsync this is far above what one group collects
/// at the loads kefu is measured at.
pub const MAX_GROUP: usize = 512;

/// Writes waiting for the commit thread. Senders wait (async) when full: a
/// backlog here means the disk is the bottleneck, and waiting is the honest
/// back-pressure.
pub const QUEUE: usize = 4096;

/// Where a message goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing conversation (access already checked by the session).
    Conv(ConvId),
    /// The visitor's most recent open conversation, or a new one (routed
    /// within `team` when it is one of the site's).
    Visitor {
        site: SiteId,
        visitor: VisitorId,
        team: Option<TeamId>,
        /// Where the visitor talks from (kept on a new conversation).
        channel: Channel,
    },
}

/// A message to store, as a session hands it over.
#[derive(Debug)]
pub struct NewMessage {
    /// Whose cid namespace: `v:<site>:<visitor>` or `a:<agent>`.
    pub scope: String,
    pub cid: Cid,
    pub target: Target,
    pub from: Author,
    pub text: String,
    /// An upload (already checked to be the sender's) to attach.
    pub file: Option<Attachment>,
}

#[derive(Debug)]
pub enum Write {
    Message {
        msg: NewMessage,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    Close {
        conv: ConvId,
        by: Author,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    Read {
        conv: ConvId,
        side: Side,
        seq: u64,
    },
    /// Assign to an agent (`to`: id and display), or unassign; with
    /// `team: Some`, also move it to that team (or the whole site). An
    /// event; under auto-assignment an unassigned result is routed again.
    Assign {
        conv: ConvId,
        to: Option<(AgentId, String)>,
        team: Option<Option<TeamId>>,
        by: Author,
        reason: AssignReason,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    /// A private note (agents only), deduplicated by cid like a message.
    Note {
        scope: String,
        cid: Cid,
        conv: ConvId,
        from: Author,
        text: String,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    /// Add (`on`) or remove a label.
    Label {
        conv: ConvId,
        label: String,
        on: bool,
        by: Author,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    /// Who is available on `site` changed (an agent came, went away or
    /// back, a capacity or the site's routing changed): serve its queue.
    Route {
        site: SiteId,
    },
    /// The routing clock: serve the queues, apply the no-answer and away
    /// deadlines as of `now` (ms).
    Tick {
        now: u64,
    },
    Reopen {
        conv: ConvId,
        by: Author,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    /// WeChat refused a reply because the window is closed (errcode 45015
    /// or 45047): agents see it closed until the follower writes again.
    WechatClosed {
        conv: ConvId,
    },
    /// A visitor's form answer: kept on its record (which remembers the
    /// cid, so a repeat is answered the same and stored once), and a
    /// `contacted` event in its open conversation (`conv` when open, else
    /// its newest open one) so agents see when.
    Contact {
        answer: NewContact,
        reply: oneshot::Sender<Result<Saved, CommitError>>,
    },
    /// A visitor rates a closed conversation: a `rated` event,
    /// deduplicated by cid like a message.
    Rate {
        rating: NewRating,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    /// Erase a visitor's conversations ([`crate::privacy::erase_visitor`]
    /// does the rest): every text in them replaced in place by
    /// [`ERASED_TEXT`] (events keep their seqs: cursors stay valid),
    /// attachments taken off their messages, the visitor's name off its
    /// events, previews erased, and the outbound jobs that mention them
    /// (mail, webhooks, WeChat, push) cancelled — one atomic batch, so a
    /// crash leaves all of it or none. Here because this thread is the
    /// only writer of conversations (its cache holds previews).
    Erase {
        site: SiteId,
        visitor: VisitorId,
        reply: oneshot::Sender<Result<Erased, CommitError>>,
    },
    /// A backup's point in time: every write queued before it is committed
    /// (and acked) first, then the thread says so on `paused` and waits
    /// until `resume` ends (its sender dropped) or
    /// [`BACKUP_PAUSE_MAX_MS`] passes. Writes queued meanwhile wait.
    Barrier {
        paused: oneshot::Sender<()>,
        resume: std::sync::mpsc::Receiver<()>,
    },
}

/// What an erase changed in the conversations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub conversations: u64,
    /// Events whose text or names changed.
    pub events: u64,
    /// Outbound jobs cancelled.
    pub jobs: u64,
    /// Files that were attached in the conversations (their records and
    /// bytes are the caller's to delete).
    pub files: Vec<FileId>,
}

/// Holds the commit thread paused (see [`Write::Barrier`]); dropping it
/// resumes writes.
#[must_use = "the commit thread resumes when this is dropped"]
pub struct Paused {
    _resume: std::sync::mpsc::Sender<()>,
}

/// A visitor's form answer, as its session hands it over.
#[derive(Debug)]
pub struct NewContact {
    pub site: SiteId,
    pub visitor: VisitorId,
    pub cid: Cid,
    /// The conversation the widget names (the session checked it is the
    /// visitor's); else its newest open one.
    pub conv: Option<ConvId>,
    pub contact: Contact,
}

/// A visitor's rating, as its session hands it over (the score checked
/// against the site's scale).
#[derive(Debug)]
pub struct NewRating {
    /// The visitor's cid namespace, shared with its messages.
    pub scope: String,
    pub cid: Cid,
    pub conv: ConvId,
    pub by: Author,
    pub score: u8,
    pub comment: Option<String>,
}

/// A durable form answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The visitor's identity as it is now (for its live presence).
    pub user: Option<UserInfo>,
    /// The cid was saved before: nothing changed.
    pub duplicate: bool,
}

/// A durable write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub conv: ConvId,
    pub seq: u64,
    /// The cid was stored before; this is the original seq.
    pub duplicate: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CommitError {
    #[error("the write could not be made durable")]
    Storage,
    #[error("no such conversation")]
    UnknownConversation,
    #[error("the relay is shutting down")]
    ShuttingDown,
    /// A reply into a WeChat conversation the window does not admit (see
    /// [`protocol::WechatWindow::refusal`]).
    #[error("{0}")]
    ReplyWindowClosed(&'static str),
    /// An attachment WeChat's customer-service messages cannot carry.
    #[error("WeChat followers receive text and images only")]
    NotForWechat,
    /// A rating of a conversation that is still open.
    #[error("only a closed conversation can be rated")]
    NotClosed,
    /// A form answer from a visitor the store does not know.
    #[error("no such visitor")]
    UnknownVisitor,
}

impl CommitError {
    /// The wire code and the words a client sees for this refusal, the same
    /// on every path (error frames and HTTP bodies).
    pub fn code_and_message(&self) -> (protocol::ErrorCode, &'static str) {
        use protocol::ErrorCode;
        match self {
            CommitError::Storage => (
                ErrorCode::Storage,
                "not stored: the relay's disk failed; resend later",
            ),
            CommitError::UnknownConversation => {
                (ErrorCode::UnknownConversation, "no such conversation")
            }
            CommitError::ShuttingDown => (
                ErrorCode::ShuttingDown,
                "the relay is shutting down; resend after reconnecting",
            ),
            CommitError::ReplyWindowClosed(why) => (ErrorCode::ReplyWindowClosed, why),
            CommitError::NotForWechat => (
                ErrorCode::UnsupportedType,
                "WeChat followers receive text and images only: send the file as an image or a link",
            ),
            CommitError::NotClosed => (
                ErrorCode::Conflict,
                "only a closed conversation can be rated",
            ),
            CommitError::UnknownVisitor => (ErrorCode::NotFound, "no such visitor"),
        }
    }
}

/// What the commit thread works with besides its queue.
pub struct Parts {
    pub store: Arc<Store>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    /// The outbound queues (webhooks, WeChat) events stage jobs for.
    pub outlets: Outlets,
    /// The search index's feed: offered each durable event, never waited on.
    pub search: Option<crate::search::Feed>,
}

/// The handle sessions use.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Write>,
}

impl Committer {
    /// Starts the commit thread. It ends when every `Committer` is dropped.
    /// `durable: false` skips the flush+fdatasync (benchmark ceiling only).
    pub fn start(parts: Parts, durable: bool) -> (Committer, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let Parts {
            store,
            hub,
            metrics,
            outlets,
            search,
        } = parts;
        let handle = std::thread::Builder::new()
            .name("kefu-commit".into())
            .spawn(move || {
                CommitLoop {
                    store,
                    hub,
                    metrics,
                    outlets,
                    search,
                    durable,
                    convs: HashMap::new(),
                    router: Router::default(),
                }
                .run(rx)
            })
            .unwrap_or_else(|e| panic!("cannot start the commit thread: {e}"));
        (Committer { tx }, handle)
    }

    async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, CommitError>>) -> Write,
    ) -> Result<T, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| CommitError::ShuttingDown)?;
        rx.await.unwrap_or(Err(CommitError::ShuttingDown))
    }

    pub async fn message(&self, msg: NewMessage) -> Result<Committed, CommitError> {
        match self.message_queued(msg).await {
            Ok(rx) => rx.await.unwrap_or(Err(CommitError::ShuttingDown)),
            Err(e) => Err(e),
        }
    }

    /// Queues a message for the commit thread without waiting for it to be
    /// durable: the answer arrives on the returned receiver. Writes are
    /// committed in the order they are queued, so a connection can keep
    /// several sends in flight (they then share group commits) and still
    /// get its acks in order.
    pub async fn message_queued(&self, msg: NewMessage) -> Result<PendingAck, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Write::Message { msg, reply })
            .await
            .map_err(|_| CommitError::ShuttingDown)?;
        Ok(rx)
    }

    pub async fn close(&self, conv: ConvId, by: Author) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Close { conv, by, reply }).await
    }

    /// Assigns (or unassigns, `to: None`) by hand or by transfer; `team:
    /// Some` also moves the conversation to a team (`Some(None)`: the site).
    pub async fn assign(
        &self,
        conv: ConvId,
        to: Option<(AgentId, String)>,
        team: Option<Option<TeamId>>,
        by: Author,
        reason: AssignReason,
    ) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Assign {
            conv,
            to,
            team,
            by,
            reason,
            reply,
        })
        .await
    }

    pub async fn note(
        &self,
        scope: String,
        cid: Cid,
        conv: ConvId,
        from: Author,
        text: String,
    ) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Note {
            scope,
            cid,
            conv,
            from,
            text,
            reply,
        })
        .await
    }

    pub async fn label(
        &self,
        conv: ConvId,
        label: String,
        on: bool,
        by: Author,
    ) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Label {
            conv,
            label,
            on,
            by,
            reply,
        })
        .await
    }

    /// Availability on `site` changed: serve its queue (fire-and-forget;
    /// a dropped one is made up by the next tick).
    pub fn route(&self, site: SiteId) {
        if self.tx.try_send(Write::Route { site }).is_err() {
            tracing::debug!("commit queue full; routing waits for the next tick");
        }
    }

    /// The routing clock (see [`Write::Tick`]).
    pub fn tick(&self, now: u64) {
        let _ = self.tx.try_send(Write::Tick { now });
    }

    pub async fn reopen(&self, conv: ConvId, by: Author) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Reopen { conv, by, reply }).await
    }

    /// Stores a visitor's form answer (see [`Write::Contact`]); answers
    /// once it is durable.
    pub async fn contact(&self, answer: NewContact) -> Result<Saved, CommitError> {
        self.submit(|reply| Write::Contact { answer, reply }).await
    }

    /// Queues a rating (see [`Write::Rate`]); its ack arrives on the
    /// receiver, in order with the connection's sends.
    pub async fn rate_queued(&self, rating: NewRating) -> Result<PendingAck, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Write::Rate { rating, reply })
            .await
            .map_err(|_| CommitError::ShuttingDown)?;
        Ok(rx)
    }

    /// Erases a visitor's conversations (see [`Write::Erase`]); answers
    /// once durable.
    pub async fn erase(&self, site: SiteId, visitor: VisitorId) -> Result<Erased, CommitError> {
        self.submit(|reply| Write::Erase {
            site,
            visitor,
            reply,
        })
        .await
    }

    /// Pauses the commit thread at a barrier: once this returns, every
    /// write acked before the call is in the store, and nothing more is
    /// written to the `chat` tree until the [`Paused`] is dropped.
    pub async fn barrier(&self) -> Result<Paused, CommitError> {
        let (paused, paused_rx) = oneshot::channel();
        let (resume_tx, resume) = std::sync::mpsc::channel();
        self.tx
            .send(Write::Barrier { paused, resume })
            .await
            .map_err(|_| CommitError::ShuttingDown)?;
        paused_rx.await.map_err(|_| CommitError::ShuttingDown)?;
        Ok(Paused { _resume: resume_tx })
    }

    /// WeChat said the conversation's reply window is closed (best effort:
    /// the relay's own count closes it too).
    pub async fn wechat_closed(&self, conv: ConvId) {
        let _ = self.tx.send(Write::WechatClosed { conv }).await;
    }

    /// Read marks are fire-and-forget: durable with the next group.
    pub fn read(&self, conv: ConvId, side: Side, seq: u64) {
        if self.tx.try_send(Write::Read { conv, side, seq }).is_err() {
            tracing::debug!("commit queue full; dropping a read mark");
        }
    }
}

fn now_ms() -> u64 {
    crate::now_ms()
}

fn rec_queued(c: Option<&ConvRecord>) -> bool {
    c.is_some_and(|c| c.queued.is_some())
}

/// The author of the relay's own routing decisions.
pub fn routing_author() -> Author {
    Author {
        side: Side::System,
        id: "routing".into(),
        name: None,
    }
}

/// Whether WeChat would take an agent's reply into `rec` at `now`: inside
/// the follower's window, and text or an image.
fn wechat_admits(rec: &ConvRecord, file: Option<&Attachment>, now: u64) -> Result<(), CommitError> {
    let window = rec.wechat.unwrap_or_default();
    if let Some(why) = window.refusal(now) {
        return Err(CommitError::ReplyWindowClosed(why));
    }
    if file.is_some_and(|f| f.class != protocol::FileClass::Image) {
        return Err(CommitError::NotForWechat);
    }
    Ok(())
}

/// A message in a WeChat conversation: the follower's opens a new window,
/// an agent's counts against it.
fn wechat_count(rec: &mut ConvRecord, agent: bool, now: u64) {
    match (agent, rec.wechat.as_mut()) {
        (true, Some(w)) => w.replies += 1,
        (true, None) => {}
        (false, _) => {
            rec.wechat = Some(protocol::WechatWindow {
                last_in: now,
                replies: 0,
                closed: false,
            })
        }
    }
}

/// Replaces every text of an event by [`ERASED_TEXT`], takes a visitor's
/// name off it and an attachment off a message; returns the attachment's
/// id.
fn scrub(body: &mut EventBody) -> Option<FileId> {
    fn author(a: &mut Author) {
        if a.side == Side::Visitor {
            a.name = None;
        }
    }
    match body {
        EventBody::Message {
            from, text, file, ..
        } => {
            author(from);
            ERASED_TEXT.clone_into(text);
            file.take().map(|f| f.id)
        }
        EventBody::Note { from, text, .. } => {
            author(from);
            ERASED_TEXT.clone_into(text);
            None
        }
        EventBody::AutoReply { text } => {
            ERASED_TEXT.clone_into(text);
            None
        }
        EventBody::Rated { by, comment, .. } => {
            author(by);
            if comment.is_some() {
                *comment = Some(ERASED_TEXT.to_string());
            }
            None
        }
        EventBody::Closed { by } | EventBody::Reopened { by } | EventBody::Labeled { by, .. } => {
            author(by);
            None
        }
        EventBody::Assigned { by, .. } => {
            author(by);
            None
        }
        EventBody::Contacted { .. } => None,
    }
}

/// Whether a job's body names one of `convs` (anywhere in a string: ULIDs
/// do not occur by chance), the visitor (a whole string) or its address.
fn mentions(
    v: &serde_json::Value,
    convs: &[ConvId],
    visitor: &VisitorId,
    email: Option<&str>,
) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            s == visitor.as_str()
                || email.is_some_and(|e| s.eq_ignore_ascii_case(e) || s.contains(e))
                || convs.iter().any(|c| s.contains(c.as_str()))
        }
        Value::Array(a) => a.iter().any(|x| mentions(x, convs, visitor, email)),
        Value::Object(o) => o.values().any(|x| mentions(x, convs, visitor, email)),
        _ => false,
    }
}

struct CommitLoop {
    store: Arc<Store>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    outlets: Outlets,
    search: Option<crate::search::Feed>,
    durable: bool,
    /// Authoritative cache of conversations touched since start.
    convs: HashMap<ConvId, ConvRecord>,
    router: Router,
}

/// What to do once the group is durable.
enum Done {
    Reply(
        oneshot::Sender<Result<Committed, CommitError>>,
        Result<Committed, CommitError>,
    ),
    Saved(
        oneshot::Sender<Result<Saved, CommitError>>,
        Result<Saved, CommitError>,
    ),
    Erased(oneshot::Sender<Result<Erased, CommitError>>, Erased),
}

/// The answer to a queued message: durable (`Committed`) or refused.
pub type PendingAck = oneshot::Receiver<Result<Committed, CommitError>>;

/// Exit status when the database stays failed after the disk recovered
/// (EX_SOFTWARE); a supervisor restarts the relay.
pub const EXIT_STORAGE_FAILED: i32 = 70;

/// The group being built: one batch, plus what it changes in memory.
#[derive(Default)]
struct Group {
    batch: sled::Batch,
    /// cids stored earlier in this same group.
    cids: HashMap<(String, String), (ConvId, u64)>,
    events: Vec<(ConvId, Event)>,
    changed: Vec<ConvId>,
    reads: Vec<(ConvId, Side, u64)>,
    done: Vec<Done>,
    /// Duplicates whose stored event is re-published (in case the first
    /// publication never happened: a failed sync after apply).
    republish: Vec<(ConvId, u64)>,
    /// Form answers written to visitor records for this group: taken back
    /// if the group fails, so a refused answer leaves nothing stored.
    contacts: Vec<(SiteId, VisitorId, ContactUndo)>,
}

impl Group {
    /// The cid index entry of a new message or note, in the batch and for
    /// the rest of the group.
    fn index_cid(&mut self, key: (String, String), conv: &ConvId, seq: u64) {
        self.batch
            .insert(keys::cid(&key.0, &key.1), encode_cid_hit(conv, seq));
        self.cids.insert(key, (conv.clone(), seq));
    }
}

impl CommitLoop {
    fn run(mut self, mut rx: mpsc::Receiver<Write>) {
        // Routing's indexes, and the queues as they were: visitors learn
        // their places again.
        if let Err(e) = self
            .store
            .build_load_index()
            .and_then(|_| self.router.load_queues(&self.store))
            .and_then(|_| self.router.awaiting(&self.store).map(|_| ()))
        {
            tracing::error!(error = %e, "routing: cannot read the queues");
        }
        self.publish_queues();
        while let Some(first) = rx.blocking_recv() {
            let mut writes = vec![first];
            while writes.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(w) => writes.push(w),
                    Err(_) => break,
                }
            }
            // A barrier ends a group: what came before it is committed,
            // then the thread waits; what came after is the next group.
            let mut group = Vec::with_capacity(writes.len());
            for w in writes {
                match w {
                    Write::Barrier { paused, resume } => {
                        if !group.is_empty() {
                            self.commit(std::mem::take(&mut group));
                        }
                        if paused.send(()).is_ok() {
                            let max = std::time::Duration::from_millis(BACKUP_PAUSE_MAX_MS);
                            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                                resume.recv_timeout(max)
                            {
                                tracing::error!("backup: paused too long; writes resume");
                            }
                        }
                    }
                    w => group.push(w),
                }
            }
            if !group.is_empty() {
                self.commit(group);
            }
        }
        tracing::debug!("commit thread done");
    }

    fn conv(&mut self, id: &ConvId) -> Result<Option<&mut ConvRecord>, StoreError> {
        if !self.convs.contains_key(id) {
            match self.store.conv(id)? {
                Some(c) => {
                    self.convs.insert(id.clone(), c);
                }
                None => return Ok(None),
            }
        }
        Ok(self.convs.get_mut(id))
    }

    fn commit(&mut self, writes: Vec<Write>) {
        let mut g = Group::default();
        let n = writes.len();
        for w in writes {
            if let Err(e) = self.stage(&mut g, w) {
                // A read failed mid-group: fail the whole group, nothing applied.
                tracing::error!(error = %e, "commit: store read failed");
                return self.fail(g);
            }
        }
        if let Err(e) = self.serve_queues(&mut g) {
            tracing::error!(error = %e, "commit: routing read failed");
            return self.fail(g);
        }
        let out = self.stage_outbox(&mut g);
        let staged = std::mem::take(&mut g.batch);
        // This thread writes sled's log itself (no IO-thread round trip per
        // group; docs/sled-patch.md), after the batch released sled's lock.
        let result = sled::with_inline_io(|| {
            self.store.apply_chat(staged)?;
            if self.durable {
                self.metrics.fsyncs.fetch_add(1, Ordering::Relaxed);
                self.store.sync()
            } else {
                Ok(())
            }
        });
        if let Err(e) = result {
            tracing::error!(error = %e, writes = n, "commit: write not durable; refusing to ack");
            self.metrics.storage_errors.fetch_add(1, Ordering::Relaxed);
            self.fail(g);
            if self.durable && self.store.disk_healthy() {
                // The disk takes writes again but the database still fails:
                // sled keeps a failed write's error for good. Only a fresh
                // start on what is durable recovers; exit for the
                // supervisor (systemd Restart=on-failure, a container
                // restart policy) to restart the relay. Nothing unacked
                // was promised; clients resend.
                tracing::error!(
                    "storage: the disk works again but the database stays failed; \
                     exiting (code {EXIT_STORAGE_FAILED}) so the relay restarts on what is durable"
                );
                std::process::exit(EXIT_STORAGE_FAILED);
            }
            return;
        }
        self.metrics.groups.fetch_add(1, Ordering::Relaxed);
        self.metrics.writes.fetch_add(n as u64, Ordering::Relaxed);
        self.outlets.staged(&out);
        // Durable: publish, then ack. Summaries go first, so an agent knows
        // a new conversation (its site, its visitor) before its first event.
        g.changed.dedup();
        for conv in g.changed {
            if let Some(rec) = self.convs.get(&conv) {
                self.hub.publish_conv(rec);
            }
        }
        for (conv, ev) in g.events {
            self.metrics.events.fetch_add(1, Ordering::Relaxed);
            if let Some(rec) = self.convs.get(&conv) {
                if let Some(s) = &self.search {
                    s.offer(rec, &ev);
                }
                self.hub.publish_event(rec, ev);
            }
        }
        for (conv, seq) in g.republish {
            if let (Some(rec), Ok(evs)) = (
                self.convs.get(&conv),
                self.store.events_after(&conv, seq - 1, 1),
            ) {
                for ev in evs {
                    self.hub.publish_event(rec, ev);
                }
            }
        }
        for (conv, side, seq) in g.reads {
            if let Some(rec) = self.convs.get(&conv) {
                self.hub.publish_read(rec, side, seq);
            }
        }
        self.publish_queues();
        for d in g.done {
            match d {
                Done::Reply(tx, r) => {
                    let _ = tx.send(r);
                }
                Done::Saved(tx, r) => {
                    let _ = tx.send(r);
                }
                Done::Erased(tx, r) => {
                    let _ = tx.send(Ok(r));
                }
            }
        }
    }

    /// Stages the outbound jobs (Web Push, webhooks, WeChat replies) of the group's
    /// events into its batch; returns the lanes of those that went to
    /// each outlet.
    fn stage_outbox(&mut self, g: &mut Group) -> Vec<Vec<String>> {
        let mut lanes = vec![Vec::new(); self.outlets.len()];
        if self.outlets.is_empty() {
            return lanes;
        }
        for (conv, ev) in &g.events {
            let Some(rec) = self.convs.get(conv) else {
                continue;
            };
            for (i, job) in self.outlets.jobs_for(rec, ev) {
                if !self.outlets.has_room(i, &job.lane) {
                    tracing::warn!(kind = job.kind.name(), lane = %job.lane, "commit: outbox full; job dropped");
                    continue;
                }
                match Store::out_job_entry(&job) {
                    Ok((k, v)) => {
                        g.batch.insert(k, v);
                        lanes[i].push(job.lane);
                    }
                    Err(e) => tracing::error!(error = %e, "commit: outbound job not queued"),
                }
            }
        }
        lanes
    }

    /// Nothing in `g` may be acked: drop the cache (it may hold staged
    /// changes) and tell every writer.
    fn fail(&mut self, g: Group) {
        for (site, visitor, undo) in &g.contacts {
            let undone = self.store.update_visitor(site, visitor, |r| {
                r.undo_contact(undo);
                true
            });
            if let Err(e) = undone {
                tracing::error!(error = %e, "commit: a refused form answer stays on its visitor");
            }
        }
        self.convs.clear();
        self.router.clear();
        let reload = self
            .router
            .load_queues(&self.store)
            .and_then(|_| self.router.awaiting(&self.store).map(|_| ()));
        if let Err(e) = reload {
            tracing::error!(error = %e, "routing: cannot read the queues");
        }
        for d in g.done {
            match d {
                Done::Reply(tx, r) => {
                    let _ = tx.send(r.and(Err(CommitError::Storage)));
                }
                Done::Saved(tx, r) => {
                    let _ = tx.send(r.and(Err(CommitError::Storage)));
                }
                Done::Erased(tx, _) => {
                    let _ = tx.send(Err(CommitError::Storage));
                }
            }
        }
    }

    fn stage(&mut self, g: &mut Group, w: Write) -> Result<(), StoreError> {
        match w {
            Write::Erase {
                site,
                visitor,
                reply,
            } => {
                let r = self.stage_erase(g, &site, &visitor)?;
                g.done.push(Done::Erased(reply, r));
            }
            // Taken out of the group by `run`.
            Write::Barrier { .. } => {}
            Write::Message { msg, reply } => {
                let r = self.stage_message(g, msg)?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::Close { conv, by, reply } => {
                let r = self.change(
                    g,
                    conv,
                    |c| !c.open,
                    EventBody::Closed { by },
                    |c| {
                        c.open = false;
                        c.queued = None;
                        c.awaiting = None;
                    },
                )?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::Reopen { conv, by, reply } => {
                let r = self.change(
                    g,
                    conv,
                    |c| c.open,
                    EventBody::Reopened { by },
                    |c| c.open = true,
                )?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::Assign {
                conv,
                to,
                team,
                by,
                reason,
                reply,
            } => {
                let r = self.stage_assign(g, conv, to, team, by, reason)?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::Note {
                scope,
                cid,
                conv,
                from,
                text,
                reply,
            } => {
                let r = self.stage_note(g, scope, cid, conv, from, text)?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::Label {
                conv,
                label,
                on,
                by,
                reply,
            } => {
                let (l, l2) = (label.clone(), label.clone());
                let r = self.change(
                    g,
                    conv,
                    |c| c.labels.contains(&l) == on,
                    EventBody::Labeled { by, label, on },
                    |c| {
                        c.labels.retain(|x| x != &l2);
                        if on {
                            c.labels.push(l2);
                        }
                    },
                )?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::Route { site } => {
                self.router.freed = true;
                tracing::trace!(%site, "routing: availability changed");
            }
            Write::Tick { now } => self.tick(g, now)?,
            Write::Contact { answer, reply } => match self.stage_contact(g, answer) {
                Ok(r) => g.done.push(Done::Saved(reply, r)),
                Err(e) => {
                    // Answered by `fail`, after it took the answer back.
                    g.done.push(Done::Saved(reply, Err(CommitError::Storage)));
                    return Err(e);
                }
            },
            Write::Rate { rating, reply } => {
                let r = self.stage_rate(g, rating)?;
                g.done.push(Done::Reply(reply, r));
            }
            Write::WechatClosed { conv } => {
                if let Some(rec) = self.conv(&conv)? {
                    if let Some(w) = rec.wechat.as_mut().filter(|w| !w.closed) {
                        w.closed = true;
                        let bytes = encode(&*rec)?;
                        g.batch.insert(keys::conv(&conv), bytes);
                        g.changed.push(conv);
                    }
                }
            }
            Write::Read { conv, side, seq } => {
                if let Some(rec) = self.conv(&conv)? {
                    let mark = match side {
                        Side::Visitor => &mut rec.visitor_read,
                        _ => &mut rec.agent_read,
                    };
                    let seq = seq.min(rec.last_seq);
                    if seq > *mark {
                        *mark = seq;
                        let bytes = encode(&*rec)?;
                        g.batch.insert(keys::conv(&conv), bytes);
                        g.reads.push((conv.clone(), side, seq));
                        g.changed.push(conv);
                    }
                }
            }
        }
        Ok(())
    }

    /// A conversation state change that is also an event: unknown → error;
    /// already so (`done`) → acked with the current seq, nothing stored;
    /// otherwise one event and the record updated.
    /// See [`Write::Erase`].
    fn stage_erase(
        &mut self,
        g: &mut Group,
        site: &SiteId,
        visitor: &VisitorId,
    ) -> Result<Erased, StoreError> {
        let mut out = Erased::default();
        let mut ids: Vec<ConvId> = self
            .store
            .visitor_convs(site, visitor)?
            .into_iter()
            .map(|c| c.id)
            .collect();
        // A conversation opened earlier in this same group is not indexed yet.
        for (c, _) in &g.events {
            if !ids.contains(c)
                && self
                    .convs
                    .get(c)
                    .is_some_and(|r| &r.visitor == visitor && &r.site == site)
            {
                ids.push(c.clone());
            }
        }
        let email = self
            .store
            .visitor(site, visitor)?
            .and_then(|v| v.user)
            .and_then(|u| u.email);
        for id in &ids {
            let Some(rec) = self.conv(id)? else {
                continue;
            };
            if &rec.site != site || &rec.visitor != visitor {
                continue;
            }
            if rec.preview.is_some() {
                rec.preview = Some(ERASED_TEXT.to_string());
            }
            let rec_bytes = encode(&*rec)?;
            g.batch.insert(keys::conv(id), rec_bytes);
            g.changed.push(id.clone());
            out.conversations += 1;
            for mut ev in self.store.events_after(id, 0, usize::MAX)? {
                if let Some(f) = scrub(&mut ev.body) {
                    out.files.push(f);
                }
                g.batch.insert(keys::event(id, ev.seq), encode_event(&ev)?);
                out.events += 1;
            }
            // Events staged earlier in this group (not in the store yet).
            for (c, ev) in g.events.iter_mut().filter(|(c, _)| c == id) {
                if let Some(f) = scrub(&mut ev.body) {
                    out.files.push(f);
                }
                g.batch.insert(keys::event(c, ev.seq), encode_event(ev)?);
                out.events += 1;
            }
        }
        out.files.sort();
        out.files.dedup();
        // Jobs naming the conversations, the visitor or its address.
        for kind in [
            crate::store::Kind::Mail,
            crate::store::Kind::Webhook,
            crate::store::Kind::Wechat,
            crate::store::Kind::Push,
        ] {
            for job in self.store.out_jobs(kind)? {
                if mentions(&job.body, &ids, visitor, email.as_deref()) {
                    g.batch.remove(keys::out_job(kind.tag(), &job.id));
                    out.jobs += 1;
                }
            }
        }
        Ok(out)
    }

    fn change(
        &mut self,
        g: &mut Group,
        conv: ConvId,
        done: impl FnOnce(&ConvRecord) -> bool,
        body: EventBody,
        update: impl FnOnce(&mut ConvRecord),
    ) -> Result<Result<Committed, CommitError>, StoreError> {
        let Some(rec) = self.conv(&conv)? else {
            return Ok(Err(CommitError::UnknownConversation));
        };
        if done(rec) {
            let seq = rec.last_seq;
            return Ok(Ok(Committed {
                conv,
                seq,
                duplicate: true,
            }));
        }
        let seq = self.append(g, &conv, body, update)?;
        Ok(Ok(Committed {
            conv,
            seq,
            duplicate: false,
        }))
    }

    fn stage_message(
        &mut self,
        g: &mut Group,
        msg: NewMessage,
    ) -> Result<Result<Committed, CommitError>, StoreError> {
        let NewMessage {
            scope,
            cid,
            target,
            from,
            text,
            file,
        } = msg;
        let key = (scope, cid.as_str().to_string());
        if let Some(done) = self.stored_cid(g, &key)? {
            return Ok(Ok(done));
        }
        let now = now_ms();
        let (conv, created) = match self.message_target(g, target, &from, file.as_ref(), now)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(f) = &file {
            // Readers of the conversation may now read the file.
            g.batch.insert(keys::file_conv(&f.id, &conv), &[][..]);
        }
        let agent = (from.side == Side::Agent).then(|| from.clone());
        let body = EventBody::Message {
            from,
            cid: cid.clone(),
            text,
            file,
        };
        // Its preview and `awaiting`: ConvRecord::follow.
        let seq = self.append(g, &conv, body, |rec| {
            if rec.channel == Channel::Wechat {
                wechat_count(rec, agent.is_some(), now);
            }
        })?;
        g.index_cid(key, &conv, seq);
        let from_visitor = agent.is_none();
        match agent {
            // Replying to (or inviting into) an unassigned conversation
            // takes it — unless a bot replied: it stays for people.
            Some(me) if !crate::store::is_bot(&me.id) => {
                let unassigned = self.convs.get(&conv).is_some_and(|c| c.assignee.is_none());
                if let (true, Ok(id)) = (unassigned, AgentId::new(me.id.clone())) {
                    let team = self.convs.get(&conv).and_then(|c| c.team.clone());
                    let body = EventBody::Assigned {
                        by: me.clone(),
                        to: Some(me),
                        reason: Some(AssignReason::Reply),
                        team,
                    };
                    self.append(g, &conv, body, |c| {
                        c.assignee = Some(id);
                        c.queued = None;
                    })?;
                }
            }
            None if created => {
                self.route(g, &conv, AssignReason::Auto, None)?;
            }
            Some(_) | None => {}
        }
        if from_visitor {
            self.auto_reply(g, &conv, now)?;
        }
        Ok(Ok(Committed {
            conv,
            seq,
            duplicate: false,
        }))
    }

    /// After a visitor message: the site's auto-reply, when the site is
    /// outside business hours, has one, and has not sent it here since it
    /// was last open (once per conversation per closed spell). An event of
    /// its own kind: it takes nothing, answers nothing (`awaiting` stays),
    /// and no push or webhook follows it.
    fn auto_reply(&mut self, g: &mut Group, conv: &ConvId, now: u64) -> Result<(), StoreError> {
        let Some(rec) = self.convs.get(conv) else {
            return Ok(());
        };
        let site = rec.site.clone();
        if !self.hub.outside_hours(&site) {
            return Ok(());
        }
        if let Some(t) = rec.auto_replied {
            if !self.hub.opened_since(&site, t) {
                return Ok(());
            }
        }
        let Some(text) = self
            .store
            .site(&site)?
            .map(|s| s.offline.auto_reply)
            .filter(|t| !t.trim().is_empty())
        else {
            return Ok(());
        };
        self.append(g, conv, EventBody::AutoReply { text }, |c| {
            c.auto_replied = Some(now)
        })?;
        Ok(())
    }

    /// `contact`: see [`Write::Contact`]. The record is changed straight
    /// in the store (in place, see [`Store::update_visitor`]: another
    /// tree than the group's batch) and made durable by this group's sync,
    /// with the event; the answer waits for that sync like every ack. If
    /// the group fails the change is taken back ([`CommitLoop::fail`]):
    /// the client is refused and a retry is a new answer.
    fn stage_contact(
        &mut self,
        g: &mut Group,
        answer: NewContact,
    ) -> Result<Result<Saved, CommitError>, StoreError> {
        let NewContact {
            site,
            visitor,
            cid,
            conv,
            contact,
        } = answer;
        let now = now_ms();
        let mut duplicate = false;
        let mut undo = None;
        let updated = self.store.update_visitor(&site, &visitor, |rec| {
            duplicate = rec.contact_cids.iter().any(|c| c == cid.as_str());
            if !duplicate {
                undo = Some(rec.take_contact(&contact, cid.as_str(), now));
            }
            !duplicate
        })?;
        let Some(rec) = updated else {
            return Ok(Err(CommitError::UnknownVisitor));
        };
        if let Some(u) = undo.filter(|_| !duplicate) {
            g.contacts.push((site.clone(), visitor.clone(), u));
        }
        if duplicate {
            return Ok(Ok(Saved {
                user: rec.user,
                duplicate: true,
            }));
        }
        let open = match conv {
            Some(c) => self.conv(&c)?.filter(|r| r.open).map(|r| r.id.clone()),
            None => self.open_conv_only(&site, &visitor)?,
        };
        if let Some(c) = open {
            let body = EventBody::Contacted { form: contact.form };
            self.append(g, &c, body, |_| {})?;
        }
        Ok(Ok(Saved {
            user: rec.user,
            duplicate: false,
        }))
    }

    /// `rate`: a `rated` event in a closed conversation, once per cid.
    fn stage_rate(
        &mut self,
        g: &mut Group,
        rating: NewRating,
    ) -> Result<Result<Committed, CommitError>, StoreError> {
        let NewRating {
            scope,
            cid,
            conv,
            by,
            score,
            comment,
        } = rating;
        let key = (scope, cid.as_str().to_string());
        if let Some(done) = self.stored_cid(g, &key)? {
            return Ok(Ok(done));
        }
        let Some(rec) = self.conv(&conv)? else {
            return Ok(Err(CommitError::UnknownConversation));
        };
        if rec.open {
            return Ok(Err(CommitError::NotClosed));
        }
        let body = EventBody::Rated { by, score, comment };
        let seq = self.append(g, &conv, body, |_| {})?;
        g.index_cid(key, &conv, seq);
        Ok(Ok(Committed {
            conv,
            seq,
            duplicate: false,
        }))
    }

    /// Where a message goes: an existing conversation (reopened if
    /// closed), or the visitor's open one or a new one — for a reply to a
    /// WeChat follower only an open one whose window admits it.
    fn message_target(
        &mut self,
        g: &mut Group,
        target: Target,
        from: &Author,
        file: Option<&Attachment>,
        now: u64,
    ) -> Result<Result<(ConvId, bool), CommitError>, StoreError> {
        let to_wechat = |channel: Channel| channel == Channel::Wechat && from.side == Side::Agent;
        let target = match target {
            Target::Conv(id) => {
                let Some(rec) = self.conv(&id)? else {
                    return Ok(Err(CommitError::UnknownConversation));
                };
                if to_wechat(rec.channel) {
                    if let Err(e) = wechat_admits(rec, file, now) {
                        return Ok(Err(e));
                    }
                }
                let rec = self
                    .conv(&id)?
                    .unwrap_or_else(|| unreachable!("cached above"));
                if !rec.open {
                    self.append(g, &id, EventBody::Reopened { by: from.clone() }, |rec| {
                        rec.open = true
                    })?;
                }
                (id, false)
            }
            // WeChat takes replies only within a window the follower
            // opened: never into a new conversation.
            Target::Visitor {
                site,
                visitor,
                channel,
                ..
            } if to_wechat(channel) => {
                let Some(id) = self.open_conv_only(&site, &visitor)? else {
                    return Ok(Err(CommitError::ReplyWindowClosed(
                        protocol::WechatWindow::default()
                            .refusal(now)
                            .unwrap_or_default(),
                    )));
                };
                let rec = self
                    .conv(&id)?
                    .unwrap_or_else(|| unreachable!("cached above"));
                if let Err(e) = wechat_admits(rec, file, now) {
                    return Ok(Err(e));
                }
                (id, false)
            }
            Target::Visitor {
                site,
                visitor,
                team,
                channel,
            } => self.open_conv_of(g, &site, &visitor, team, channel)?,
        };
        Ok(Ok(target))
    }

    /// The visitor's newest open conversation (cached), if there is one.
    fn open_conv_only(
        &mut self,
        site: &SiteId,
        visitor: &VisitorId,
    ) -> Result<Option<ConvId>, StoreError> {
        let staged = self
            .convs
            .values()
            .filter(|c| c.open && &c.site == site && &c.visitor == visitor)
            .max_by(|a, b| a.id.cmp(&b.id))
            .map(|c| c.id.clone());
        if staged.is_some() {
            return Ok(staged);
        }
        let stored = self.store.visitor_convs(site, visitor)?;
        let Some(c) = stored.into_iter().rev().find(|c| c.open) else {
            return Ok(None);
        };
        let id = c.id.clone();
        self.convs.entry(id.clone()).or_insert(c);
        Ok(Some(id))
    }

    /// The visitor's newest open conversation, or a new one (staged; then
    /// `true`).
    fn open_conv_of(
        &mut self,
        g: &mut Group,
        site: &SiteId,
        visitor: &VisitorId,
        team: Option<TeamId>,
        channel: Channel,
    ) -> Result<(ConvId, bool), StoreError> {
        // Conversations created earlier in this group are only in the cache.
        if let Some(id) = self.open_conv_only(site, visitor)? {
            return Ok((id, false));
        }
        let now = now_ms();
        let id = ConvId::new(ulid::Ulid::new().to_string())
            .unwrap_or_else(|_| unreachable!("a ULID is a valid id"));
        let rec = ConvRecord {
            team,
            channel,
            ..ConvRecord::new(id.clone(), site.clone(), visitor.clone(), now)
        };
        g.batch.insert(keys::site_conv(site, &id), &[][..]);
        g.batch
            .insert(keys::visitor_conv(site, visitor, &id), &[][..]);
        g.batch.insert(keys::conv(&id), encode(&rec)?);
        self.convs.insert(id.clone(), rec);
        Ok((id, true))
    }

    /// `assign` / `transfer`: the new assignee and team as one event; an
    /// unassigned result is routed again (auto mode), not back to the
    /// agent who let it go.
    fn stage_assign(
        &mut self,
        g: &mut Group,
        conv: ConvId,
        to: Option<(AgentId, String)>,
        team: Option<Option<TeamId>>,
        by: Author,
        reason: AssignReason,
    ) -> Result<Result<Committed, CommitError>, StoreError> {
        let Some(rec) = self.conv(&conv)? else {
            return Ok(Err(CommitError::UnknownConversation));
        };
        let assignee = to.as_ref().map(|t| t.0.clone());
        let new_team = team.unwrap_or_else(|| rec.team.clone());
        if rec.assignee == assignee && rec.team == new_team {
            let seq = rec.last_seq;
            return Ok(Ok(Committed {
                conv,
                seq,
                duplicate: true,
            }));
        }
        let prev = rec.assignee.clone();
        let body = EventBody::Assigned {
            by,
            to: to.map(|(id, name)| Author {
                side: Side::Agent,
                id: id.to_string(),
                name: Some(name),
            }),
            reason: Some(reason),
            team: new_team.clone(),
        };
        let a = assignee.clone();
        let seq = self.append(g, &conv, body, |c| {
            c.queued = c.queued.filter(|_| a.is_none());
            c.assignee = a;
            c.team = new_team;
        })?;
        if assignee.is_none() {
            self.route(g, &conv, AssignReason::Auto, prev.as_ref())?;
        }
        Ok(Ok(Committed {
            conv,
            seq,
            duplicate: false,
        }))
    }

    /// Idempotency: where this (scope, cid) was stored — earlier in this
    /// group, else in the store (its event is published again, in case the
    /// first publication never happened: a failed sync after apply).
    fn stored_cid(
        &mut self,
        g: &mut Group,
        key: &(String, String),
    ) -> Result<Option<Committed>, StoreError> {
        if let Some((conv, seq)) = g.cids.get(key) {
            return Ok(Some(Committed {
                conv: conv.clone(),
                seq: *seq,
                duplicate: true,
            }));
        }
        let Some(hit) = self.store.cid(&key.0, &key.1)? else {
            return Ok(None);
        };
        self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
        // Make sure the conversation is cached so republish can route it.
        let _ = self.conv(&hit.conv)?;
        g.republish.push((hit.conv.clone(), hit.seq));
        Ok(Some(Committed {
            conv: hit.conv,
            seq: hit.seq,
            duplicate: true,
        }))
    }

    /// `note`: a private note, deduplicated by cid like a message.
    fn stage_note(
        &mut self,
        g: &mut Group,
        scope: String,
        cid: Cid,
        conv: ConvId,
        from: Author,
        text: String,
    ) -> Result<Result<Committed, CommitError>, StoreError> {
        let key = (scope, cid.as_str().to_string());
        if let Some(done) = self.stored_cid(g, &key)? {
            return Ok(Ok(done));
        }
        if self.conv(&conv)?.is_none() {
            return Ok(Err(CommitError::UnknownConversation));
        }
        let seq = self.append(g, &conv, EventBody::Note { from, cid, text }, |_| {})?;
        g.index_cid(key, &conv, seq);
        Ok(Ok(Committed {
            conv,
            seq,
            duplicate: false,
        }))
    }

    /// A site's routing settings (absent site: none).
    fn site_routing(&self, site: &SiteId) -> Result<Option<protocol::api::Routing>, StoreError> {
        Ok(self.store.site(site)?.map(|s| s.routing))
    }

    /// Under auto-assignment: gives the open, unassigned `conv` to the
    /// agent [`Router::pick`] chooses (an `assigned` event), or queues it.
    /// True when assigned.
    fn route(
        &mut self,
        g: &mut Group,
        conv: &ConvId,
        reason: AssignReason,
        exclude: Option<&AgentId>,
    ) -> Result<bool, StoreError> {
        let Some(rec) = self.conv(conv)? else {
            return Ok(false);
        };
        if !rec.open || rec.assignee.is_some() {
            return Ok(false);
        }
        let (site, team) = (rec.site.clone(), rec.team.clone());
        let Some(routing) = self.site_routing(&site)? else {
            return Ok(false);
        };
        if routing.mode != RoutingMode::Auto {
            return Ok(false);
        }
        match self.pick(&site, &routing, team.as_ref(), exclude)? {
            Some((id, to)) => {
                let body = EventBody::Assigned {
                    by: routing_author(),
                    to: Some(to),
                    reason: Some(reason),
                    team,
                };
                self.append(g, conv, body, |c| {
                    c.assignee = Some(id);
                    c.queued = None;
                })?;
                Ok(true)
            }
            None => {
                let queued = rec_queued(self.convs.get(conv));
                if !queued {
                    let stamp = self.router.stamp(now_ms());
                    self.touch(g, conv, |c| c.queued = Some(stamp))?;
                }
                Ok(false)
            }
        }
    }

    /// The agent (as an author) routing gives a conversation of `site` to.
    fn pick(
        &mut self,
        site: &SiteId,
        routing: &protocol::api::Routing,
        team: Option<&TeamId>,
        exclude: Option<&AgentId>,
    ) -> Result<Option<(AgentId, Author)>, StoreError> {
        let members = team
            .and_then(|t| routing.team(t))
            .map(|t| t.members.as_slice());
        let (router, store) = (&mut self.router, &self.store);
        let picked = self.hub.with_available(site, |available| {
            router.pick(store, site, available, members, exclude)
        });
        let Some(id) = picked? else {
            return Ok(None);
        };
        let name = self.store.agent(&id)?.map(|a| a.name);
        let author = Author {
            side: Side::Agent,
            id: id.to_string(),
            name: Some(name.unwrap_or_else(|| id.to_string())),
        };
        Ok(Some((id, author)))
    }

    /// A record change that is no event (joining the queue).
    fn touch(
        &mut self,
        g: &mut Group,
        conv: &ConvId,
        update: impl FnOnce(&mut ConvRecord),
    ) -> Result<(), StoreError> {
        let Some(rec) = self.convs.get_mut(conv) else {
            return Ok(());
        };
        let before = Routed::of(rec);
        update(rec);
        let after = Routed::of(rec);
        if before == after {
            return Ok(());
        }
        self.router
            .reindex(&self.store, &mut g.batch, conv, &rec.site, &before, &after)?;
        g.batch.insert(keys::conv(conv), encode(&*rec)?);
        g.changed.push(conv.clone());
        Ok(())
    }

    /// When a slot may have freed: each waiting site's queue, oldest
    /// first, to whoever is free now. A site back on manual routing lets
    /// its queue go (the conversations stay open and unassigned).
    fn serve_queues(&mut self, g: &mut Group) -> Result<(), StoreError> {
        if !std::mem::take(&mut self.router.freed) {
            return Ok(());
        }
        for site in self.router.waiting_sites() {
            let auto = self
                .site_routing(&site)?
                .is_some_and(|r| r.mode == RoutingMode::Auto);
            for conv in self.router.queue(&site) {
                if !auto {
                    self.touch(g, &conv, |c| c.queued = None)?;
                    continue;
                }
                if self.hub.with_available(&site, |a| a.next().is_none()) {
                    break;
                }
                if self.conv(&conv)?.is_none() {
                    continue;
                }
                self.route(g, &conv, AssignReason::Auto, None)?;
            }
        }
        self.router.freed = false;
        Ok(())
    }

    /// The routing clock: an agent unavailable (away or offline) for
    /// [`AWAY_RELEASE_GRACE_MS`] with a visitor waiting loses that
    /// conversation (auto mode); one who left a visitor message unanswered
    /// longer than the site's `reassign_after_min` loses it to the next
    /// available agent. Then the queues are served.
    ///
    /// [`AWAY_RELEASE_GRACE_MS`]: protocol::limits::AWAY_RELEASE_GRACE_MS
    fn tick(&mut self, g: &mut Group, now: u64) -> Result<(), StoreError> {
        use protocol::limits::AWAY_RELEASE_GRACE_MS;
        let mut settings: HashMap<SiteId, Option<protocol::api::Routing>> = HashMap::new();
        for (conv, site, agent, since) in self.router.awaiting(&self.store)? {
            if !settings.contains_key(&site) {
                let r = self.site_routing(&site)?;
                settings.insert(site.clone(), r);
            }
            let Some(Some(routing)) = settings.get(&site).cloned() else {
                continue;
            };
            let auto = routing.mode == RoutingMode::Auto;
            if auto
                && self
                    .router
                    .gone_for(&self.hub, &site, &agent, now, AWAY_RELEASE_GRACE_MS)
            {
                self.hand_over(g, &conv, &agent, &routing, AssignReason::Away, now)?;
                continue;
            }
            let limit = u64::from(routing.reassign_after_min) * 60_000;
            if limit > 0 && now.saturating_sub(since) >= limit {
                self.hand_over(g, &conv, &agent, &routing, AssignReason::NoAnswer, now)?;
            }
        }
        self.router.freed = true;
        Ok(())
    }

    /// Takes `conv` from `agent` for `reason`: to the next available agent
    /// (who gets the full answer time again), or — when the agent is gone
    /// (`Away`) and nobody is free — back to the queue. A no-answer with
    /// nobody free leaves it where it is.
    fn hand_over(
        &mut self,
        g: &mut Group,
        conv: &ConvId,
        agent: &AgentId,
        routing: &protocol::api::Routing,
        reason: AssignReason,
        now: u64,
    ) -> Result<(), StoreError> {
        let Some(rec) = self.conv(conv)? else {
            return Ok(());
        };
        let (site, team, waited) = (rec.site.clone(), rec.team.clone(), rec.awaiting);
        let next = self.pick(&site, routing, team.as_ref(), Some(agent))?;
        if next.is_none() && reason == AssignReason::NoAnswer {
            return Ok(());
        }
        let (id, to) = next.unzip();
        let body = EventBody::Assigned {
            by: routing_author(),
            to,
            reason: Some(reason),
            team,
        };
        // Back in line by how long the visitor has waited.
        let queued = id.is_none().then_some(waited.unwrap_or(now));
        self.append(g, conv, body, |c| {
            c.assignee = id;
            c.queued = queued;
            c.awaiting = c.awaiting.map(|_| now);
        })?;
        Ok(())
    }

    /// Tells visitors their places in the queues that changed.
    fn publish_queues(&mut self) {
        for site in std::mem::take(&mut self.router.dirty) {
            let mut order = Vec::new();
            for conv in self.router.queue(&site) {
                match self.conv(&conv) {
                    Ok(Some(c)) => order.push((conv, c.visitor.clone())),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "routing: queue entry unreadable"),
                }
            }
            self.hub.set_queue(&site, order);
        }
    }

    /// Appends one event to `conv` (which must be cached), returns its seq.
    fn append(
        &mut self,
        g: &mut Group,
        conv: &ConvId,
        body: EventBody,
        update: impl FnOnce(&mut ConvRecord),
    ) -> Result<u64, StoreError> {
        let now = now_ms();
        let Some(rec) = self.convs.get_mut(conv) else {
            unreachable!("append to an uncached conversation")
        };
        let ev = Event {
            conv: conv.clone(),
            seq: rec.last_seq + 1,
            ts: now,
            body,
        };
        let before = Routed::of(rec);
        rec.follow(&ev);
        // What a reader makes of the stored record and this event.
        let followed = rec.clone();
        update(rec);
        let after = Routed::of(rec);
        if before != after {
            self.router
                .reindex(&self.store, &mut g.batch, conv, &rec.site, &before, &after)?;
        }
        g.batch
            .insert(keys::event(conv, ev.seq), encode_event(&ev)?);
        // The record only when readers could not follow the events to it,
        // or every CONV_RECORD_EVERY events to bound what they read.
        if *rec != followed || ev.seq.is_multiple_of(CONV_RECORD_EVERY) {
            g.batch.insert(keys::conv(conv), encode(&*rec)?);
        }
        let seq = ev.seq;
        g.events.push((conv.clone(), ev));
        g.changed.push(conv.clone());
        Ok(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author() -> Author {
        Author {
            side: Side::Visitor,
            id: "v1".into(),
            name: None,
        }
    }

    fn text_message(cid: &str, target: Target, text: &str) -> anyhow::Result<NewMessage> {
        Ok(NewMessage {
            scope: "v:s:v1".into(),
            cid: Cid::new(cid)?,
            target,
            from: author(),
            text: text.into(),
            file: None,
        })
    }

    /// Concurrent writers share groups; seqs are gap-free; a repeated cid is
    /// stored once and acked with its first seq.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_assign_gap_free_seqs_and_dedup_cids() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open(dir.path())?);
        let hub = Hub::new(std::time::Duration::from_secs(1));
        let metrics = Arc::new(Metrics::default());
        let parts = Parts {
            store: store.clone(),
            hub,
            metrics: metrics.clone(),
            outlets: Default::default(),
            search: None,
        };
        let (c, _t) = Committer::start(parts, true);
        let site = SiteId::new("s")?;
        let visitor = VisitorId::new("v1")?;
        let target = Target::Visitor {
            site,
            visitor,
            team: None,
            channel: Channel::Web,
        };
        let first = c.message(text_message("m0", target.clone(), "hi")?).await?;
        let mut tasks = Vec::new();
        for i in 1..100 {
            let (c, t) = (c.clone(), target.clone());
            tasks.push(tokio::spawn(async move {
                c.message(text_message(&format!("m{i}"), t, &format!("msg {i}")).expect("cid"))
                    .await
            }));
        }
        let mut seqs = vec![first.seq];
        for t in tasks {
            let r = t.await??;
            assert_eq!(r.conv, first.conv);
            seqs.push(r.seq);
        }
        seqs.sort();
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
        let again = c.message(text_message("m0", target, "hi")?).await?;
        assert_eq!(
            again,
            Committed {
                conv: first.conv.clone(),
                seq: 1,
                duplicate: true
            }
        );
        assert_eq!(store.events_after(&first.conv, 0, 1000)?.len(), 100);
        assert_eq!(metrics.duplicates.load(Ordering::Relaxed), 1);
        Ok(())
    }

    /// Messages that change nothing but what they say themselves do not
    /// rewrite the conversation's record every time: readers follow the
    /// events after it to the commit thread's state (preview, awaiting,
    /// last seq), the record is at most CONV_RECORD_EVERY events behind,
    /// and a new commit thread over the same store goes on from the last
    /// event, not from the record's seq.
    #[tokio::test]
    async fn messages_are_followed_from_a_record_written_now_and_then() -> anyhow::Result<()> {
        use anyhow::Context;
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open(dir.path())?);
        let parts = || Parts {
            store: store.clone(),
            hub: Hub::new(std::time::Duration::from_secs(1)),
            metrics: Arc::new(Metrics::default()),
            outlets: Default::default(),
            search: None,
        };
        let target = Target::Visitor {
            site: SiteId::new("s")?,
            visitor: VisitorId::new("v1")?,
            team: None,
            channel: Channel::Web,
        };
        let (c, t) = Committer::start(parts(), true);
        let mut conv = None;
        for i in 1..=40 {
            let r = c
                .message(text_message(
                    &format!("m{i}"),
                    target.clone(),
                    &format!("message {i}"),
                )?)
                .await?;
            assert_eq!(r.seq, i);
            conv = Some(r.conv);
        }
        let conv = conv.context("conv")?;
        let evs = store.events_after(&conv, 0, 100)?;
        let stored = store.stored_conv_for_tests(&conv)?.context("stored")?;
        assert!(stored.last_seq < 40, "written with every message");
        assert!(
            40 - stored.last_seq < CONV_RECORD_EVERY,
            "{} behind",
            40 - stored.last_seq
        );
        let rec = store.conv(&conv)?.context("record")?;
        assert_eq!(rec.last_seq, 40);
        assert_eq!(rec.updated, evs[39].ts);
        assert_eq!(rec.preview.as_deref(), Some("message 40"));
        assert_eq!(
            rec.awaiting,
            Some(evs[0].ts),
            "waiting since the first message"
        );
        drop(c);
        t.join()
            .map_err(|_| anyhow::anyhow!("commit thread panicked"))?;

        // Restarted: the next message is seq 41, its preview followed too.
        let (c, _t) = Committer::start(parts(), true);
        let r = c
            .message(text_message("m41", target, "message 41")?)
            .await?;
        assert_eq!(
            (r.conv.clone(), r.seq, r.duplicate),
            (conv.clone(), 41, false)
        );
        assert_eq!(store.events_after(&conv, 0, 100)?.len(), 41);
        let rec = store.conv(&conv)?.context("record")?;
        assert_eq!(
            (rec.last_seq, rec.preview.as_deref()),
            (41, Some("message 41"))
        );
        Ok(())
    }

    /// A form answer whose group fails is refused and leaves nothing on
    /// the visitor's record (its cid included), so the retry is taken as
    /// a new answer, with its `contacted` event.
    #[tokio::test]
    async fn a_refused_form_answer_leaves_nothing_stored() -> anyhow::Result<()> {
        use crate::store::VisitorRecord;
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open(dir.path())?);
        let parts = Parts {
            store: store.clone(),
            hub: Hub::new(std::time::Duration::from_secs(1)),
            metrics: Arc::new(Metrics::default()),
            outlets: Default::default(),
            search: None,
        };
        let (c, _t) = Committer::start(parts, true);
        let (site, visitor) = (SiteId::new("s")?, VisitorId::new("v1")?);
        let target = Target::Visitor {
            site: site.clone(),
            visitor: visitor.clone(),
            team: None,
            channel: Channel::Web,
        };
        let conv = c.message(text_message("m0", target, "hi")?).await?.conv;
        let rec = VisitorRecord {
            visits: 1,
            ..VisitorRecord::new(&site, &visitor, 0)
        };
        store.put_visitor(&rec)?;
        let answer = |conv: Option<ConvId>| -> anyhow::Result<NewContact> {
            Ok(NewContact {
                site: site.clone(),
                visitor: visitor.clone(),
                cid: Cid::new("f1")?,
                conv,
                contact: Contact {
                    name: Some("Ada".into()),
                    email: Some("ada@example.com".into()),
                    ..Contact::default()
                },
            })
        };
        // The group fails: a record it reads does not decode.
        let broken = ConvId::new("c-broken")?;
        store.break_conv_for_tests(&broken)?;
        let refused = c.contact(answer(Some(broken))?).await;
        assert!(matches!(refused, Err(CommitError::Storage)), "{refused:?}");
        assert_eq!(store.visitor(&site, &visitor)?, Some(rec), "nothing kept");
        let saved = c.contact(answer(Some(conv.clone()))?).await?;
        assert!(!saved.duplicate, "the retry is a new answer");
        let stored = store.visitor(&site, &visitor)?.expect("record");
        assert_eq!(stored.contact_cids, ["f1"]);
        assert!(stored.known());
        let contacted = store
            .events_after(&conv, 0, 100)?
            .into_iter()
            .filter(|e| matches!(e.body, EventBody::Contacted { .. }))
            .count();
        assert_eq!(contacted, 1);
        assert!(c.contact(answer(Some(conv))?).await?.duplicate);
        Ok(())
    }

    // --- routing -------------------------------------------------------

    use crate::hub::{SubHandle, Subscription};
    use crate::store::SiteRecord;
    use protocol::api::{Routing, RoutingMode};

    /// A commit thread over a fresh store whose site `s` routes with
    /// `routing`, and agents subscribed to it with their capacities.
    struct Routed {
        c: Committer,
        store: Arc<Store>,
        hub: Arc<Hub>,
        site: SiteId,
        agents: Vec<(AgentId, Subscription, SubHandle)>,
        _dir: tempfile::TempDir,
    }

    fn routed(routing: Routing, agents: &[(&str, u32)]) -> anyhow::Result<Routed> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open(dir.path())?);
        let site = SiteId::new("s")?;
        store.put_site(&SiteRecord {
            id: site.clone(),
            name: "S".into(),
            secret: "x".into(),
            created: 0,
            allowed_origins: Vec::new(),
            widget: Default::default(),
            routing,
            wechat: None,
            offline: Default::default(),
        })?;
        let hub = Hub::new(std::time::Duration::from_secs(1));
        let mut subs = Vec::new();
        for (id, cap) in agents {
            let id = AgentId::new(*id)?;
            let (sub, h) = hub.subscription_with(8192);
            hub.agent_subscribe(&site, &h, false, (&id, *cap));
            subs.push((id, sub, h));
        }
        let metrics = Arc::new(Metrics::default());
        let parts = Parts {
            store: store.clone(),
            hub: hub.clone(),
            metrics,
            outlets: Default::default(),
            search: None,
        };
        let (c, _t) = Committer::start(parts, true);
        Ok(Routed {
            c,
            store,
            hub,
            site,
            agents: subs,
            _dir: dir,
        })
    }

    fn auto(reassign_after_min: u32) -> Routing {
        Routing {
            mode: RoutingMode::Auto,
            reassign_after_min,
            ..Routing::default()
        }
    }

    impl Routed {
        /// Visitor `v` starts (or continues) its conversation.
        async fn visitor_says(&self, v: &str, cid: &str) -> anyhow::Result<ConvId> {
            let target = Target::Visitor {
                site: self.site.clone(),
                visitor: VisitorId::new(v)?,
                team: None,
                channel: Channel::Web,
            };
            let msg = NewMessage {
                scope: format!("v:s:{v}"),
                cid: Cid::new(cid)?,
                target,
                from: Author {
                    side: Side::Visitor,
                    id: v.into(),
                    name: None,
                },
                text: "hello?".into(),
                file: None,
            };
            Ok(self.c.message(msg).await?.conv)
        }

        /// Waits until every write queued so far is done (writes are
        /// handled in order; reopening an open conversation stores nothing).
        async fn settle(&self, conv: &ConvId) -> anyhow::Result<ConvRecord> {
            self.c.reopen(conv.clone(), author()).await?;
            self.store
                .conv(conv)?
                .ok_or_else(|| anyhow::anyhow!("conversation gone"))
        }

        fn last_assigned(
            &self,
            conv: &ConvId,
        ) -> anyhow::Result<(Option<String>, Option<AssignReason>)> {
            let evs = self.store.events_after(conv, 0, 1000)?;
            let last = evs.iter().rev().find_map(|e| match &e.body {
                EventBody::Assigned { to, reason, .. } => {
                    Some((to.as_ref().map(|t| t.id.clone()), *reason))
                }
                _ => None,
            });
            last.ok_or_else(|| anyhow::anyhow!("no assigned event"))
        }
    }

    fn assignee(c: &ConvRecord) -> Option<&str> {
        c.assignee.as_ref().map(|a| a.as_str())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

        /// However many conversations start at once, each is assigned or
        /// queued (none dropped), no agent gets more than its capacity,
        /// every free slot is used, the load index agrees, and the queue's
        /// places are 1..=k.
        #[test]
        fn concurrent_starts_never_over_assign(
            caps in proptest::collection::vec(1u32..4, 1..5),
            n in 1usize..24,
        ) {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async {
                let names: Vec<String> = (0..caps.len()).map(|i| format!("agent{i}")).collect();
                let agents: Vec<(&str, u32)> =
                    names.iter().map(|s| s.as_str()).zip(caps.iter().copied()).collect();
                let r = std::sync::Arc::new(routed(auto(0), &agents)?);
                let mut tasks = Vec::new();
                for i in 0..n {
                    let r = r.clone();
                    tasks.push(tokio::spawn(async move {
                        r.visitor_says(&format!("v{i}"), "m1").await
                    }));
                }
                let mut convs = Vec::new();
                for t in tasks {
                    convs.push(t.await??);
                }
                let mut per: HashMap<String, u32> = HashMap::new();
                let mut queued = Vec::new();
                for id in &convs {
                    let c = r.store.conv(id)?.ok_or_else(|| anyhow::anyhow!("lost"))?;
                    match (assignee(&c), c.queued) {
                        (Some(a), None) => *per.entry(a.to_string()).or_default() += 1,
                        (None, Some(_)) => queued.push(id.clone()),
                        other => anyhow::bail!("neither or both: {other:?}"),
                    }
                }
                let total: u32 = caps.iter().sum();
                let assigned: u32 = per.values().sum();
                anyhow::ensure!(assigned as usize == n.min(total as usize), "{per:?}");
                anyhow::ensure!(queued.len() == n - assigned as usize);
                for ((name, cap), (id, _, _)) in agents.iter().zip(&r.agents) {
                    let got = per.get(*name).copied().unwrap_or(0);
                    anyhow::ensure!(got <= *cap, "{name}: {got} > {cap}");
                    anyhow::ensure!(r.store.load_count(id)? == got, "index of {name}");
                }
                let mut places: Vec<u32> =
                    queued.iter().map(|c| r.hub.queue_position(&r.site, c)).collect();
                places.sort();
                anyhow::ensure!(places == (1..=queued.len() as u32).collect::<Vec<_>>(), "{places:?}");
                Ok(())
            }).map_err(|e: anyhow::Error| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
        }
    }

    /// The no-answer deadline, by the routing clock (`tick` is given the
    /// time): before it nothing moves; after it the next available agent
    /// has the conversation (and the full time again); an answer stops it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_answer_reassigns_to_the_next_agent() -> anyhow::Result<()> {
        let r = routed(auto(3), &[("ada", 5), ("bob", 5)])?;
        let t0 = crate::now_ms();
        let conv = r.visitor_says("v1", "m1").await?;
        let c = r.settle(&conv).await?;
        assert_eq!(assignee(&c), Some("ada"));
        assert_eq!(
            r.last_assigned(&conv)?,
            (Some("ada".into()), Some(AssignReason::Auto))
        );
        r.c.tick(t0 + 2 * 60_000);
        assert_eq!(assignee(&r.settle(&conv).await?), Some("ada"), "not yet");
        r.c.tick(t0 + 3 * 60_000 + 1_000);
        assert_eq!(assignee(&r.settle(&conv).await?), Some("bob"));
        assert_eq!(
            r.last_assigned(&conv)?,
            (Some("bob".into()), Some(AssignReason::NoAnswer))
        );
        // Bob answers: no deadline any more.
        let reply = NewMessage {
            scope: "a:bob".into(),
            cid: Cid::new("b1")?,
            target: Target::Conv(conv.clone()),
            from: Author {
                side: Side::Agent,
                id: "bob".into(),
                name: Some("Bob".into()),
            },
            text: "Here!".into(),
            file: None,
        };
        r.c.message(reply).await?;
        r.c.tick(t0 + 60 * 60_000);
        assert_eq!(assignee(&r.settle(&conv).await?), Some("bob"));
        assert_eq!(r.store.load_count(&AgentId::new("bob")?)?, 1);
        assert_eq!(r.store.load_count(&AgentId::new("ada")?)?, 0);
        Ok(())
    }

    /// An agent away for the grace period with a visitor waiting loses
    /// the conversation to the next available one; with nobody available
    /// it goes back to the queue, and the first agent back takes it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn away_agents_release_waiting_conversations() -> anyhow::Result<()> {
        use protocol::limits::AWAY_RELEASE_GRACE_MS as GRACE;
        let r = routed(auto(0), &[("ada", 5), ("bob", 5)])?;
        let conv = r.visitor_says("v1", "m1").await?;
        assert_eq!(assignee(&r.settle(&conv).await?), Some("ada"));
        let sub = |i: usize| r.agents[i].2.id();
        r.hub
            .agent_away(std::slice::from_ref(&r.site), sub(0), true);
        let t = crate::now_ms();
        r.c.tick(t);
        assert_eq!(assignee(&r.settle(&conv).await?), Some("ada"), "grace");
        r.c.tick(t + GRACE);
        assert_eq!(assignee(&r.settle(&conv).await?), Some("bob"));
        assert_eq!(
            r.last_assigned(&conv)?,
            (Some("bob".into()), Some(AssignReason::Away))
        );
        r.hub
            .agent_away(std::slice::from_ref(&r.site), sub(1), true);
        r.c.tick(t + 2 * GRACE);
        r.c.tick(t + 3 * GRACE);
        let c = r.settle(&conv).await?;
        assert_eq!((assignee(&c), c.queued.is_some()), (None, true));
        assert_eq!(r.last_assigned(&conv)?, (None, Some(AssignReason::Away)));
        assert_eq!(r.hub.queue_position(&r.site, &conv), 1);
        r.hub
            .agent_away(std::slice::from_ref(&r.site), sub(1), false);
        r.c.route(r.site.clone());
        let c = r.settle(&conv).await?;
        assert_eq!((assignee(&c), c.queued), (Some("bob"), None));
        assert_eq!(r.hub.queue_position(&r.site, &conv), 0);
        Ok(())
    }

    /// An agent's reply takes an unassigned conversation (manual mode);
    /// a private note does not, and changes neither preview nor deadline.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replying_assigns_and_notes_do_not() -> anyhow::Result<()> {
        let r = routed(Routing::default(), &[("ada", 5)])?;
        let conv = r.visitor_says("v1", "m1").await?;
        let ada = Author {
            side: Side::Agent,
            id: "ada".into(),
            name: Some("Ada".into()),
        };
        r.c.note(
            "a:ada".into(),
            Cid::new("n1")?,
            conv.clone(),
            ada.clone(),
            "VIP".into(),
        )
        .await?;
        let c = r.settle(&conv).await?;
        assert_eq!((assignee(&c), c.preview.as_deref()), (None, Some("hello?")));
        assert!(c.awaiting.is_some());
        let again =
            r.c.note(
                "a:ada".into(),
                Cid::new("n1")?,
                conv.clone(),
                ada.clone(),
                "VIP".into(),
            )
            .await?;
        assert!(again.duplicate, "a note's cid is deduplicated");
        let reply = NewMessage {
            scope: "a:ada".into(),
            cid: Cid::new("a1")?,
            target: Target::Conv(conv.clone()),
            from: ada,
            text: "Hi".into(),
            file: None,
        };
        r.c.message(reply).await?;
        let c = r.settle(&conv).await?;
        assert_eq!((assignee(&c), c.awaiting), (Some("ada"), None));
        assert_eq!(
            r.last_assigned(&conv)?,
            (Some("ada".into()), Some(AssignReason::Reply))
        );
        let kinds: Vec<&str> = r
            .store
            .events_after(&conv, 0, 100)?
            .iter()
            .map(|e| match e.body {
                EventBody::Message { .. } => "message",
                EventBody::Note { .. } => "note",
                EventBody::Assigned { .. } => "assigned",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["message", "note", "message", "assigned"]);
        Ok(())
    }
}
