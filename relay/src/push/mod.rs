//! Web Push to agents (RFC 8030 delivery, RFC 8291 encryption, RFC 8292
//! VAPID): who is pushed, when, and the durable outbound queue's sender.
//!
//! [`Pusher`] owns the in-memory side: the VAPID key pair, how many of each
//! agent's live connections are visible, and an index of the agents that
//! have devices. The commit thread asks it, for every durable event, which
//! pushes the event causes (it is an [`outbox::Stage`]) and stages them in
//! the same batch as jobs of the outbound queue (kind `push`, each in a
//! lane of its own: a push service that hangs holds up only its own push),
//! so a push is on disk exactly when its event is; while no agent
//! has a device that costs one atomic load. [`send::Courier`] delivers
//! them.
//!
//! An agent is pushed, on each device, for
//! - a new conversation a visitor started on one of their sites,
//! - a visitor message in a conversation that is theirs or unassigned,
//! - a conversation transferred (assigned) to them by someone else,
//!
//! and only while none of their connections is visible: each connection
//! counts as visible from hello until it says `visible {visible: false}`
//! (the console's tab went to the background) and again after
//! `visible {visible: true}`; a closed connection counts no more.
//!
//! # Layout
//! - [`check`]: what a subscription must be to be stored.
//! - [`vapid`]: the key pair and the `Authorization` header.
//! - [`send`]: the HTTP client, one attempt, retries, the queue's task.

pub mod check;
pub mod send;
pub mod vapid;

use crate::metrics::Metrics;
use crate::outbox::{self, Kind, OutJob, Queue};
use crate::store::{AgentRecord, ConvRecord, PushJob, Store, StoreError};
use protocol::api::{PushKind, PushPayload};
use protocol::limits::MAX_PUSH_BODY_CHARS;
use protocol::{AgentId, Author, Event, EventBody, Side, SiteId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use vapid::Vapid;

/// Most pushes queued at once. Past it new pushes are dropped (and
/// logged): a push service that is down for long must not grow the store
/// without bound. At a few hundred bytes each this is a few MB at most.
pub const MAX_PUSH_QUEUE: usize = 10_000;

pub struct Pusher {
    vapid: Vapid,
    /// The JWT's `sub`: whom the push service may contact (`--vapid-subject`).
    subject: String,
    live: Mutex<Live>,
    /// Agents with at least one device: the commit thread's fast exit.
    with_devices: AtomicUsize,
    /// Counters for `/metrics`; `push_queue` is the number of queued jobs
    /// (bounded by [`MAX_PUSH_QUEUE`]).
    pub(crate) metrics: Arc<Metrics>,
    /// The queued pushes.
    queue: Arc<Queue>,
}

#[derive(Default)]
struct Live {
    /// Visible connections per agent; absent means none.
    visible: HashMap<AgentId, u32>,
    /// Agents with devices: their sites and device ids.
    agents: HashMap<AgentId, Devices>,
}

struct Devices {
    sites: Vec<SiteId>,
    devices: Vec<String>,
}

impl Pusher {
    /// The relay's key pair (made on first run), the device index and the
    /// queue's length, from the store.
    pub fn open(
        store: &Arc<Store>,
        subject: String,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Arc<Pusher>> {
        let vapid = Vapid::from_secret(&store.vapid_secret(Vapid::generate)?)?;
        let mut agents: HashMap<AgentId, Devices> = HashMap::new();
        for s in store.all_push_subs()? {
            let device = s.device();
            if let Some(d) = agents.get_mut(&s.agent) {
                d.devices.push(device);
                continue;
            }
            let Some(agent) = store.agent(&s.agent)? else {
                continue;
            };
            agents.insert(
                s.agent,
                Devices {
                    sites: agent.sites,
                    devices: vec![device],
                },
            );
        }
        let moved = store.migrate_push_queue()?;
        if moved > 0 {
            tracing::info!(
                moved,
                "web push: queued pushes moved into the outbound queue"
            );
        }
        let m = metrics.clone();
        let gauge = Box::new(move |n: usize| m.push_queue.store(n as u64, Ordering::Relaxed));
        let queue = Queue::with_gauge(store.clone(), Kind::Push, Some(gauge))?;
        Ok(Arc::new(Pusher {
            vapid,
            subject,
            with_devices: AtomicUsize::new(agents.len()),
            live: Mutex::new(Live {
                visible: HashMap::new(),
                agents,
            }),
            metrics,
            queue,
        }))
    }

    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The VAPID public key, base64url (`GET /v1/api/push/key`).
    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    pub(crate) fn vapid(&self) -> &Vapid {
        &self.vapid
    }

    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    // --- visibility ---------------------------------------------------------

    /// One of the agent's connections became visible (or connected).
    pub fn shown(&self, agent: &AgentId) {
        *self.lock().visible.entry(agent.clone()).or_default() += 1;
    }

    /// One of the agent's visible connections was hidden or closed.
    pub fn hidden(&self, agent: &AgentId) {
        let mut live = self.lock();
        if let Some(n) = live.visible.get_mut(agent) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                live.visible.remove(agent);
            }
        }
    }

    // --- the device index ----------------------------------------------------

    fn recount(&self, live: &Live) {
        self.with_devices
            .store(live.agents.len(), Ordering::Relaxed);
    }

    /// A device was stored for `agent` (new or replaced).
    pub fn device_added(&self, agent: &AgentRecord, device: String) {
        let mut live = self.lock();
        let d = live.agents.entry(agent.id.clone()).or_insert(Devices {
            sites: Vec::new(),
            devices: Vec::new(),
        });
        d.sites = agent.sites.clone();
        if !d.devices.contains(&device) {
            d.devices.push(device);
        }
        self.recount(&live);
    }

    /// A device was forgotten (unsubscribed, or 404/410 from its service).
    pub fn device_removed(&self, agent: &AgentId, device: &str) {
        let mut live = self.lock();
        if let Some(d) = live.agents.get_mut(agent) {
            d.devices.retain(|x| x != device);
            if d.devices.is_empty() {
                live.agents.remove(agent);
            }
        }
        self.recount(&live);
    }

    /// The agent was deleted: no pushes to it any more.
    pub fn agent_removed(&self, agent: &AgentId) {
        let mut live = self.lock();
        live.agents.remove(agent);
        live.visible.remove(agent);
        self.recount(&live);
    }

    /// The agent's record changed (its sites): keep the index current.
    pub fn agent_changed(&self, agent: &AgentRecord) {
        if let Some(d) = self.lock().agents.get_mut(&agent.id) {
            d.sites = agent.sites.clone();
        }
    }

    // --- the queue ------------------------------------------------------------

    /// Whether any agent has a device (else no event causes a push).
    pub fn wanted(&self) -> bool {
        self.with_devices.load(Ordering::Relaxed) > 0
    }

    /// The pushes `ev` (durable now, in `conv`) causes: one job per device
    /// of every agent it concerns who has no visible connection.
    pub fn jobs_for(&self, conv: &ConvRecord, ev: &Event, store: &Store) -> Vec<OutJob> {
        if !self.wanted() {
            return Vec::new();
        }
        let (kind, targets, author) = {
            let live = self.lock();
            let pushed = |a: &AgentId, d: &Devices| {
                d.sites.contains(&conv.site) && !live.visible.contains_key(a)
            };
            match &ev.body {
                EventBody::Message { from, .. } if from.side == Side::Visitor => {
                    let kind = if ev.seq == 1 {
                        PushKind::NewConversation
                    } else {
                        PushKind::Message
                    };
                    let targets: Vec<(AgentId, Vec<String>)> = live
                        .agents
                        .iter()
                        .filter(|(a, d)| {
                            pushed(a, d) && conv.assignee.as_ref().is_none_or(|x| x == *a)
                        })
                        .map(|(a, d)| (a.clone(), d.devices.clone()))
                        .collect();
                    (kind, targets, from)
                }
                EventBody::Assigned {
                    by, to: Some(to), ..
                } if to.id != by.id => {
                    let targets = AgentId::new(to.id.as_str())
                        .ok()
                        .and_then(|a| {
                            live.agents
                                .get(&a)
                                .filter(|d| pushed(&a, d))
                                .map(|d| (a, d.devices.clone()))
                        })
                        .into_iter()
                        .collect();
                    (PushKind::Transfer, targets, by)
                }
                _ => return Vec::new(),
            }
        };
        if targets.is_empty() {
            return Vec::new();
        }
        let payload = payload(conv, ev, kind, author, store);
        let mut jobs = Vec::new();
        for (agent, devices) in targets {
            for device in devices {
                if self.queue.len() + jobs.len() >= MAX_PUSH_QUEUE {
                    self.metrics.pushes_dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(agent = %agent, "push queue full; dropping a push");
                    return jobs;
                }
                let job = PushJob {
                    agent: agent.clone(),
                    device: device.clone(),
                    payload: payload.clone(),
                };
                match serde_json::to_value(&job) {
                    Ok(body) => jobs.push(OutJob::solo(Kind::Push, body)),
                    Err(e) => tracing::error!(error = %e, "push not encodable"),
                }
            }
        }
        jobs
    }
}

impl outbox::Stage for Pusher {
    fn jobs_for(&self, rec: &ConvRecord, ev: &Event) -> Vec<OutJob> {
        Pusher::jobs_for(self, rec, ev, self.queue.store())
    }

    fn queue(&self) -> &Queue {
        &self.queue
    }
}

/// What a notification says: the visitor's name as its title; the text
/// (or the file's name), or who transferred the conversation, as its body.
fn payload(
    conv: &ConvRecord,
    ev: &Event,
    kind: PushKind,
    author: &Author,
    store: &Store,
) -> PushPayload {
    let body = match &ev.body {
        EventBody::Message { text, file, .. } => match file {
            Some(f) if text.trim().is_empty() => format!("📎 {}", f.name),
            _ => text.clone(),
        },
        _ => format!(
            "{} transferred this conversation to you",
            author.name.as_deref().unwrap_or("An agent")
        ),
    };
    let named = match kind {
        PushKind::Transfer => None,
        _ => author.name.clone(),
    };
    let title = named
        .or_else(|| visitor_name(store, conv).ok().flatten())
        .unwrap_or_else(|| default_name(store, conv));
    PushPayload {
        kind,
        site: conv.site.clone(),
        conv: conv.id.clone(),
        title: cut(&title),
        body: cut(&body),
    }
}

/// The name (or e-mail) the host page gave for the conversation's visitor.
fn visitor_name(store: &Store, conv: &ConvRecord) -> Result<Option<String>, StoreError> {
    Ok(store
        .visitor(&conv.site, &conv.visitor)?
        .and_then(|v| v.user)
        .and_then(|u| u.name.or(u.email)))
}

/// The name the console shows for an unnamed visitor. The relay does not
/// know the agent's language, so the site's widget language stands in for
/// it (a site set to 简体中文 is answered by agents who read it).
fn default_name(store: &Store, conv: &ConvRecord) -> String {
    let lang = store
        .site(&conv.site)
        .ok()
        .flatten()
        .and_then(|s| s.widget.language)
        .unwrap_or_default();
    protocol::names::default_visitor_name(conv.visitor.as_str(), &lang)
}

/// One line of at most [`MAX_PUSH_BODY_CHARS`] characters, `…` when cut.
pub fn cut(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_PUSH_BODY_CHARS {
        return line;
    }
    let mut s: String = line.chars().take(MAX_PUSH_BODY_CHARS - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PushSubRecord;
    use protocol::{Cid, ConvId, VisitorId};

    fn conv(assignee: Option<&str>) -> ConvRecord {
        ConvRecord {
            last_seq: 1,
            assignee: assignee.map(|a| AgentId::new(a).expect("id")),
            ..ConvRecord::new(
                ConvId::new("01HZZZZZZZZZZZZZZZZZZZZZZZ").expect("id"),
                SiteId::new("s").expect("id"),
                VisitorId::new("visitor1").expect("id"),
                0,
            )
        }
    }

    fn message(seq: u64, side: Side, text: &str) -> Event {
        Event {
            conv: conv(None).id,
            seq,
            ts: 0,
            body: EventBody::Message {
                from: Author {
                    side,
                    id: "visitor1".into(),
                    name: None,
                },
                cid: Cid::new("c1").expect("cid"),
                text: text.into(),
                file: None,
            },
        }
    }

    fn agent(id: &str) -> AgentRecord {
        AgentRecord {
            id: AgentId::new(id).expect("id"),
            name: id.into(),
            sites: vec![SiteId::new("s").expect("id")],
            mail: Default::default(),
            email: None,
            password: None,
            role: crate::store::AgentRole::Agent,
            created: 0,
            capacity: 5,
            bot: false,
            avatar: None,
            named: false,
        }
    }

    fn setup() -> anyhow::Result<(tempfile::TempDir, Arc<Store>, Arc<Pusher>)> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(Store::open(dir.path())?);
        for a in ["ada", "bob"] {
            store.put_agent(&agent(a))?;
            store.put_push_sub(&PushSubRecord {
                agent: AgentId::new(a)?,
                endpoint: format!("https://push.example/{a}"),
                p256dh: String::new(),
                auth: String::new(),
                created: 0,
            })?;
        }
        let push = Pusher::open(&store, vapid::DEFAULT_VAPID_SUBJECT.into(), Arc::default())?;
        Ok((dir, store, push))
    }

    /// The pushes `ev` causes, as their queued bodies.
    fn jobs(push: &Pusher, conv: &ConvRecord, ev: &Event, store: &Store) -> Vec<PushJob> {
        push.jobs_for(conv, ev, store)
            .into_iter()
            .map(|j| serde_json::from_value(j.body).expect("a push job"))
            .collect()
    }

    fn targets(jobs: &[PushJob]) -> Vec<String> {
        let mut t: Vec<String> = jobs.iter().map(|j| j.agent.to_string()).collect();
        t.sort();
        t
    }

    /// The relay's auto-reply, a rating and a form answer push nobody (an
    /// auto-reply is no agent's message; the others are no new message).
    #[test]
    fn auto_replies_ratings_and_forms_push_nobody() -> anyhow::Result<()> {
        let (_d, store, push) = setup()?;
        let visitor = Author {
            side: Side::Visitor,
            id: "visitor1".into(),
            name: None,
        };
        for body in [
            EventBody::AutoReply {
                text: "We're closed".into(),
            },
            EventBody::Rated {
                by: visitor,
                score: 1,
                comment: Some("slow".into()),
            },
            EventBody::Contacted {
                form: protocol::offline::FormKind::Offline,
            },
        ] {
            let ev = Event {
                conv: conv(None).id,
                seq: 2,
                ts: 0,
                body,
            };
            assert!(jobs(&push, &conv(None), &ev, &store).is_empty(), "{ev:?}");
        }
        Ok(())
    }

    /// Visitor messages reach every agent with a device who is not
    /// looking, only the assignee once assigned; agents' own messages and
    /// visible agents are never pushed.
    #[test]
    fn who_is_pushed_for_a_visitor_message() -> anyhow::Result<()> {
        let (_d, store, push) = setup()?;
        let first = jobs(&push, &conv(None), &message(1, Side::Visitor, "hi"), &store);
        assert_eq!(targets(&first), ["ada", "bob"]);
        assert!(first
            .iter()
            .all(|j| j.payload.kind == PushKind::NewConversation));
        // Unnamed: the console's default name for that visitor id (the
        // test site has no widget language: English).
        let c = conv(None);
        let expected = protocol::names::default_visitor_name(c.visitor.as_str(), "");
        assert_eq!(first[0].payload.title, expected);
        let later = jobs(
            &push,
            &conv(Some("bob")),
            &message(2, Side::Visitor, "x"),
            &store,
        );
        assert_eq!(targets(&later), ["bob"]);
        assert_eq!(later[0].payload.kind, PushKind::Message);
        let agents_own = jobs(&push, &conv(None), &message(2, Side::Agent, "x"), &store);
        assert!(agents_own.is_empty());
        let ada = AgentId::new("ada")?;
        push.shown(&ada);
        push.shown(&ada);
        push.hidden(&ada);
        let seen = jobs(&push, &conv(None), &message(3, Side::Visitor, "x"), &store);
        assert_eq!(targets(&seen), ["bob"]);
        push.hidden(&ada);
        push.agent_removed(&AgentId::new("bob")?);
        let now = jobs(&push, &conv(None), &message(4, Side::Visitor, "x"), &store);
        assert_eq!(targets(&now), ["ada"]);
        Ok(())
    }

    /// A transfer pushes its target only, unless they assigned it to
    /// themselves.
    #[test]
    fn transfers_push_their_target() -> anyhow::Result<()> {
        let (_d, store, push) = setup()?;
        let author = |id: &str| Author {
            side: Side::Agent,
            id: id.into(),
            name: Some(format!("Agent {id}")),
        };
        let ev = |by: &str, to: &str| Event {
            conv: conv(None).id,
            seq: 5,
            ts: 0,
            body: EventBody::Assigned {
                by: author(by),
                to: Some(author(to)),
                reason: Some(protocol::AssignReason::Transfer),
                team: None,
            },
        };
        let sent = jobs(&push, &conv(Some("ada")), &ev("bob", "ada"), &store);
        assert_eq!(targets(&sent), ["ada"]);
        assert_eq!(sent[0].payload.kind, PushKind::Transfer);
        assert_eq!(
            sent[0].payload.body,
            "Agent bob transferred this conversation to you"
        );
        assert!(jobs(&push, &conv(Some("ada")), &ev("ada", "ada"), &store).is_empty());
        Ok(())
    }

    #[test]
    fn bodies_are_one_short_line() {
        assert_eq!(cut("a\n  b"), "a b");
        let long = cut(&"é".repeat(MAX_PUSH_BODY_CHARS + 5));
        assert_eq!(long.chars().count(), MAX_PUSH_BODY_CHARS);
        assert!(long.ends_with('…'));
    }
}
