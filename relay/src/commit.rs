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
//! The Web Push jobs a group's events cause ([`Pusher::jobs_for`]) are
//! staged into the same batch: a push is durable exactly when its event is.

use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::push::Pusher;
use crate::store::{encode, encode_cid_hit, keys, ConvRecord, Store, StoreError};
use protocol::{Attachment, Author, Cid, ConvId, Event, EventBody, Side, SiteId, VisitorId};
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
    /// The visitor's most recent open conversation, or a new one.
    Visitor { site: SiteId, visitor: VisitorId },
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
    /// Assign to an agent (`to`: id and display), or unassign; an event.
    Assign {
        conv: ConvId,
        to: Option<(protocol::AgentId, String)>,
        by: Author,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
    Reopen {
        conv: ConvId,
        by: Author,
        reply: oneshot::Sender<Result<Committed, CommitError>>,
    },
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
        }
    }
}

/// What the commit thread works with besides its queue.
pub struct Parts {
    pub store: Arc<Store>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub push: Arc<Pusher>,
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
            push,
        } = parts;
        let handle = std::thread::Builder::new()
            .name("kefu-commit".into())
            .spawn(move || {
                CommitLoop {
                    store,
                    hub,
                    metrics,
                    push,
                    durable,
                    convs: HashMap::new(),
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

    pub async fn assign(
        &self,
        conv: ConvId,
        to: Option<(protocol::AgentId, String)>,
        by: Author,
    ) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Assign {
            conv,
            to,
            by,
            reply,
        })
        .await
    }

    pub async fn reopen(&self, conv: ConvId, by: Author) -> Result<Committed, CommitError> {
        self.submit(|reply| Write::Reopen { conv, by, reply }).await
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

/// Cut a message to a one-line preview for inbox lists.
fn preview(text: &str) -> String {
    const MAX: usize = 140;
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.len() <= MAX {
        return one_line;
    }
    let mut end = MAX;
    while !one_line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &one_line[..end])
}

struct CommitLoop {
    store: Arc<Store>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    push: Arc<Pusher>,
    durable: bool,
    /// Authoritative cache of conversations touched since start.
    convs: HashMap<ConvId, ConvRecord>,
}

/// What to do once the group is durable.
enum Done {
    Reply(
        oneshot::Sender<Result<Committed, CommitError>>,
        Result<Committed, CommitError>,
    ),
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
}

impl CommitLoop {
    fn run(mut self, mut rx: mpsc::Receiver<Write>) {
        while let Some(first) = rx.blocking_recv() {
            let mut writes = vec![first];
            while writes.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(w) => writes.push(w),
                    Err(_) => break,
                }
            }
            self.commit(writes);
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
        let pushes = self.stage_pushes(&mut g);
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
        self.push.enqueued(pushes);
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
        for Done::Reply(tx, r) in g.done {
            let _ = tx.send(r);
        }
    }

    /// Stages the Web Push jobs of the group's events into its batch;
    /// returns how many. Free while no agent has a device.
    fn stage_pushes(&mut self, g: &mut Group) -> usize {
        if !self.push.wanted() {
            return 0;
        }
        let mut n = 0;
        for (conv, ev) in &g.events {
            let Some(rec) = self.convs.get(conv) else {
                continue;
            };
            for job in self.push.jobs_for(rec, ev, &self.store) {
                match Store::push_job_entry(&job) {
                    Ok((k, v)) => {
                        g.batch.insert(k, v);
                        n += 1;
                    }
                    Err(e) => tracing::error!(error = %e, "commit: push not queued"),
                }
            }
        }
        n
    }

    /// Nothing in `g` may be acked: drop the cache (it may hold staged
    /// changes) and tell every writer.
    fn fail(&mut self, g: Group) {
        self.convs.clear();
        for Done::Reply(tx, r) in g.done {
            let r = match r {
                Ok(_) => Err(CommitError::Storage),
                Err(e) => Err(e),
            };
            let _ = tx.send(r);
        }
    }

    fn stage(&mut self, g: &mut Group, w: Write) -> Result<(), StoreError> {
        match w {
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
                    |c| c.open = false,
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
                by,
                reply,
            } => {
                let assignee = to.as_ref().map(|t| t.0.clone());
                let to = to.map(|(id, name)| Author {
                    side: Side::Agent,
                    id: id.to_string(),
                    name: Some(name),
                });
                let same = assignee.clone();
                let r = self.change(
                    g,
                    conv,
                    |c| c.assignee == same,
                    EventBody::Assigned { by, to },
                    |c| c.assignee = assignee,
                )?;
                g.done.push(Done::Reply(reply, r));
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
        // Idempotency: this group first, then the store.
        let key = (scope, cid.as_str().to_string());
        if let Some((conv, seq)) = g.cids.get(&key) {
            return Ok(Ok(Committed {
                conv: conv.clone(),
                seq: *seq,
                duplicate: true,
            }));
        }
        if let Some(hit) = self.store.cid(&key.0, &key.1)? {
            self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            // Make sure the conversation is cached so republish can route it.
            let _ = self.conv(&hit.conv)?;
            g.republish.push((hit.conv.clone(), hit.seq));
            return Ok(Ok(Committed {
                conv: hit.conv,
                seq: hit.seq,
                duplicate: true,
            }));
        }
        let conv = match target {
            Target::Conv(id) => {
                let Some(rec) = self.conv(&id)? else {
                    return Ok(Err(CommitError::UnknownConversation));
                };
                if !rec.open {
                    self.append(g, &id, EventBody::Reopened { by: from.clone() }, |rec| {
                        rec.open = true
                    })?;
                }
                id
            }
            Target::Visitor { site, visitor } => self.open_conv_of(g, &site, &visitor)?,
        };
        let pv = match &file {
            Some(f) if text.trim().is_empty() => preview(&format!("📎 {}", f.name)),
            _ => preview(&text),
        };
        if let Some(f) = &file {
            // Readers of the conversation may now read the file.
            g.batch.insert(keys::file_conv(&f.id, &conv), &[][..]);
        }
        let body = EventBody::Message {
            from,
            cid: cid.clone(),
            text,
            file,
        };
        let seq = self.append(g, &conv, body, |rec| rec.preview = Some(pv))?;
        g.batch
            .insert(keys::cid(&key.0, &key.1), encode_cid_hit(&conv, seq));
        g.cids.insert(key, (conv.clone(), seq));
        Ok(Ok(Committed {
            conv,
            seq,
            duplicate: false,
        }))
    }

    /// The visitor's newest open conversation, or a new one (staged).
    fn open_conv_of(
        &mut self,
        g: &mut Group,
        site: &SiteId,
        visitor: &VisitorId,
    ) -> Result<ConvId, StoreError> {
        // Conversations created earlier in this group are only in the cache.
        let staged = self
            .convs
            .values()
            .filter(|c| c.open && &c.site == site && &c.visitor == visitor)
            .max_by(|a, b| a.id.cmp(&b.id))
            .map(|c| c.id.clone());
        if let Some(id) = staged {
            return Ok(id);
        }
        let stored = self.store.visitor_convs(site, visitor)?;
        if let Some(c) = stored.into_iter().rev().find(|c| c.open) {
            let id = c.id.clone();
            self.convs.entry(id.clone()).or_insert(c);
            return Ok(id);
        }
        let now = now_ms();
        let id = ConvId::new(ulid::Ulid::new().to_string())
            .unwrap_or_else(|_| unreachable!("a ULID is a valid id"));
        let rec = ConvRecord {
            id: id.clone(),
            site: site.clone(),
            visitor: visitor.clone(),
            open: true,
            last_seq: 0,
            created: now,
            updated: now,
            visitor_read: 0,
            agent_read: 0,
            preview: None,
            assignee: None,
        };
        g.batch.insert(keys::site_conv(site, &id), &[][..]);
        g.batch
            .insert(keys::visitor_conv(site, visitor, &id), &[][..]);
        g.batch.insert(keys::conv(&id), encode(&rec)?);
        self.convs.insert(id.clone(), rec);
        Ok(id)
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
        rec.last_seq += 1;
        rec.updated = now;
        update(rec);
        let ev = Event {
            conv: conv.clone(),
            seq: rec.last_seq,
            ts: now,
            body,
        };
        g.batch.insert(keys::event(conv, ev.seq), encode(&ev)?);
        g.batch.insert(keys::conv(conv), encode(&*rec)?);
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
        let push = Pusher::open(&store, "mailto:a@b.c".into(), metrics.clone())?;
        let parts = Parts {
            store: store.clone(),
            hub,
            metrics: metrics.clone(),
            push,
        };
        let (c, _t) = Committer::start(parts, true);
        let site = SiteId::new("s")?;
        let visitor = VisitorId::new("v1")?;
        let target = Target::Visitor { site, visitor };
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
}
