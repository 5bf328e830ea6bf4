//! The hub: live presence and subscribers. The only module holding the
//! senders of live connections.
//!
//! Routing: a conversation belongs to one visitor of one site, so its events
//! go to that visitor's connections (every open tab) and to every agent
//! connection subscribed to the site. Per-site visitor presence (online,
//! current page) lives here too; it is rebuilt from connections after a
//! restart, never stored.
//!
//! Slow consumers: each connection has a bounded queue
//! ([`protocol::limits::SUBSCRIBER_QUEUE`]). The hub never waits on one: if a
//! queue is full the push is dropped *for that connection* and the
//! connection is marked lagged. Its session then replays stored events from
//! the store by cursor (so no stored event is lost) and re-reads presence;
//! only ephemeral notices (typing) are skipped. A connection that stays
//! stuck is closed by its transport's write timeout / heartbeat.

use crate::store::ConvRecord;
use protocol::offline::BusinessHours;
use protocol::{
    AgentId, ConvId, ConvSummary, Event, PageInfo, Side, SiteId, Viewer, VisitorId, VisitorInfo,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What the hub pushes to a connection; the session turns it into frames.
#[derive(Debug)]
pub enum Push {
    /// A durable conversation event.
    Event(Event),
    /// A conversation's summary changed (new, closed, read marks).
    Conv(ConvSummary),
    Typing {
        conv: ConvId,
        side: Side,
        on: bool,
        /// The visitor's draft (agents only; the session checked the site
        /// allows it).
        text: Option<String>,
        /// The typing agent (`side: agent`), so its colleagues see who.
        agent: Option<AgentId>,
        /// The typing agent's display name (visitors only).
        name: Option<String>,
    },
    /// Who has a conversation open now (to the site's agents).
    Viewers {
        conv: ConvId,
        agents: Vec<Viewer>,
    },
    Read {
        conv: ConvId,
        side: Side,
        seq: u64,
    },
    Presence(VisitorInfo),
    Offline {
        site: SiteId,
        visitor: VisitorId,
    },
    /// Whether an agent is available for the site (to visitors): one
    /// online and not away, inside the site's business hours.
    Agents {
        online: bool,
    },
    /// The visitor's place in the site's queue (0: no longer waiting).
    Queue {
        conv: ConvId,
        position: u32,
    },
}

/// One connection's bounded queue of pushes, with its lag flag. Lighter
/// than a tokio mpsc channel (which allocates a 32-slot block up front):
/// idle connections dominate memory, and most never receive a push.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    notify: tokio::sync::Notify,
}

#[derive(Default)]
struct QueueState {
    items: std::collections::VecDeque<Arc<Push>>,
    /// Set when a push was dropped because the queue was full.
    lagged: bool,
    /// Bound on `items`; 0 means [`protocol::limits::SUBSCRIBER_QUEUE`].
    cap: u32,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The receiving end a session owns.
pub struct Subscription {
    queue: Arc<Queue>,
    pub id: u64,
}

impl Subscription {
    /// The next push; waits while the queue is empty.
    pub async fn recv(&self) -> Arc<Push> {
        loop {
            if let Some(p) = self.queue.lock().items.pop_front() {
                return p;
            }
            // notify_one stores a permit when nobody waits, so a push between
            // the check above and this await is not missed.
            self.queue.notify.notified().await;
        }
    }

    /// A push without waiting (tests).
    pub fn try_recv(&self) -> Option<Arc<Push>> {
        self.queue.lock().items.pop_front()
    }

    /// True once after the hub dropped pushes for this connection.
    pub fn take_lagged(&self) -> bool {
        std::mem::take(&mut self.queue.lock().lagged)
    }

    /// Marks this connection lagged again: its catch-up stopped at its
    /// bound with events left, and goes on at the next wake.
    pub fn mark_lagged(&self) {
        self.queue.lock().lagged = true;
    }
}

#[derive(Clone)]
struct Sub {
    id: u64,
    queue: Arc<Queue>,
}

impl Sub {
    fn push(&self, p: &Arc<Push>) {
        {
            let mut q = self.queue.lock();
            let cap = match q.cap {
                0 => protocol::limits::SUBSCRIBER_QUEUE,
                n => n as usize,
            };
            if q.items.len() >= cap {
                // Slow consumer: see the module doc.
                q.lagged = true;
                return;
            }
            q.items.push_back(p.clone());
        }
        self.queue.notify.notify_one();
    }
}

struct LiveVisitor {
    conns: Vec<Sub>,
    info: VisitorInfo,
    /// Bumped on every connect; an offline timer only fires for the
    /// generation it was started in.
    gen: u64,
}

#[derive(Default)]
struct SiteLive {
    visitors: HashMap<VisitorId, LiveVisitor>,
    agents: Vec<Sub>,
    /// Who each agent subscription is, and their capacity (routing).
    who: Vec<(u64, AgentId, u32)>,
    /// Agent subscriptions that set themselves away: subscribed (they still
    /// see everything) but not counted as available to visitors.
    away: Vec<u64>,
    /// Which agent connection views which conversation (collision notices):
    /// at most one entry per subscribed connection, gone with it.
    viewing: Vec<(u64, ConvId, Viewer)>,
    /// Outside the site's business hours (a copy of its [`Schedule`]'s,
    /// set whenever this entry is made or the schedule flips).
    closed: bool,
}

/// A site's business hours as the hub applies them (sites with hours on).
struct Schedule {
    /// The schedule, read once; shared so the clock works it out without
    /// holding the hub's lock (a new one replaces it: see `tick_hours`).
    plan: Arc<crate::hours::Plan>,
    /// Inside the hours as of `checked`.
    open: bool,
    /// The next change after `checked` (`None`: it never changes): the
    /// site is looked at again only then.
    next: Option<u64>,
    /// When `open` and `next` were worked out (ms).
    checked: u64,
    /// When the site last went from open to closed (ms), as the hub saw it
    /// (for a site closed when the relay started: its schedule's last
    /// closing) — the start of the current closed spell. A change of the
    /// hours while closed keeps it: the spell goes on.
    closed_at: u64,
}

impl SiteLive {
    /// The agents viewing `conv`, one entry per agent (several tabs of one
    /// agent count once).
    fn viewers_of(&self, conv: &ConvId) -> Vec<Viewer> {
        let mut out: Vec<Viewer> = Vec::new();
        for (_, c, v) in &self.viewing {
            if c == conv && !out.iter().any(|o| o.id == v.id) {
                out.push(v.clone());
            }
        }
        out
    }

    /// Tells the site's agents who views `conv` now.
    fn announce_viewers(&self, conv: &ConvId) {
        let p = Arc::new(Push::Viewers {
            conv: conv.clone(),
            agents: self.viewers_of(conv),
        });
        for a in &self.agents {
            a.push(&p);
        }
    }

    /// Forgets what connection `sub_id` viewed; announces that conversation.
    fn stop_viewing(&mut self, sub_id: u64) {
        let before = self.viewing.len();
        let mut left = None;
        self.viewing.retain(|(id, c, _)| {
            let mine = *id == sub_id;
            if mine {
                left = Some(c.clone());
            }
            !mine
        });
        if let (Some(c), true) = (left, self.viewing.len() != before) {
            self.announce_viewers(&c);
        }
    }

    /// Whether visitors see an agent available: one subscribed and not
    /// away, inside business hours. (Routing looks at the agents alone:
    /// an agent online outside hours may still answer.)
    fn available(&self) -> bool {
        !self.closed && self.agents.iter().any(|a| !self.away.contains(&a.id))
    }

    /// Tells every visitor connection when availability changed.
    fn announce_if_changed(&self, before: bool) {
        let now = self.available();
        if now == before {
            return;
        }
        let p = Arc::new(Push::Agents { online: now });
        for v in self.visitors.values() {
            for c in &v.conns {
                c.push(&p);
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    sites: HashMap<SiteId, SiteLive>,
    /// Each site's queue as routing last published it: conv → (visitor,
    /// position from 1). Kept apart from `sites`, which comes and goes
    /// with connections.
    queues: HashMap<SiteId, HashMap<ConvId, (VisitorId, u32)>>,
    /// Business hours of the sites that have them on (from the store at
    /// start, then from each settings change).
    schedules: HashMap<SiteId, Schedule>,
}

impl Inner {
    /// The site's live entry, made with its hours' state when new.
    fn site_mut(&mut self, id: &SiteId) -> &mut SiteLive {
        let closed = self.schedules.get(id).is_some_and(|s| !s.open);
        self.sites.entry(id.clone()).or_insert_with(|| SiteLive {
            closed,
            ..SiteLive::default()
        })
    }

    /// The site opened or closed: its visitors learn when that changes
    /// whether anyone is available.
    fn apply_open(&mut self, id: &SiteId, open: bool) {
        if let Some(site) = self.sites.get_mut(id) {
            let before = site.available();
            site.closed = !open;
            site.announce_if_changed(before);
        }
    }
}

pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    /// How long a visitor without connections stays "online" to agents.
    grace: Duration,
    /// Woken when a site's business hours change: the hours clock
    /// ([`hours_clock`]) looks at its next change again.
    hours_changed: tokio::sync::Notify,
}

impl Hub {
    pub fn new(grace: Duration) -> Arc<Hub> {
        Arc::new(Hub {
            inner: Mutex::new(Inner::default()),
            next_id: AtomicU64::new(1),
            grace,
            hours_changed: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain maps behind; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh bounded queue for one connection.
    pub fn subscription(&self) -> (Subscription, SubHandle) {
        self.subscription_with(0)
    }

    /// A queue bounded to `cap` pushes (0: the default). Agents get a
    /// deeper one: a few connections carry a whole site's traffic, and a
    /// lag costs them a replay of every conversation they follow.
    pub fn subscription_with(&self, cap: u32) -> (Subscription, SubHandle) {
        let queue = Arc::new(Queue::default());
        queue.lock().cap = cap;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        (
            Subscription {
                queue: queue.clone(),
                id,
            },
            SubHandle(Sub { id, queue }),
        )
    }

    /// Registers a visitor connection; presence goes online (or stays).
    /// Returns whether an agent is available for the site (online, not
    /// away, inside business hours).
    pub fn visitor_connect(&self, info: VisitorInfo, sub: &SubHandle) -> bool {
        let mut inner = self.lock();
        let site = inner.site_mut(&info.site);
        let agents_online = site.available();
        let live = site
            .visitors
            .entry(info.id.clone())
            .or_insert_with(|| LiveVisitor {
                conns: Vec::new(),
                info: info.clone(),
                gen: 0,
            });
        let was_online = !live.conns.is_empty() || live.info.online;
        live.conns.push(sub.0.clone());
        live.gen += 1;
        if !was_online {
            live.info = info;
        } else {
            // Another tab, or back within the grace period: keep the visit.
            live.info.user = info.user;
            live.info.verified = info.verified;
        }
        live.info.online = true;
        let p = Arc::new(Push::Presence(live.info.clone()));
        for a in &site.agents {
            a.push(&p);
        }
        agents_online
    }

    /// A visitor connection went away. With no connection left, the visitor
    /// goes offline for agents after the grace period unless one returns.
    pub fn visitor_disconnect(self: &Arc<Self>, site: &SiteId, visitor: &VisitorId, sub_id: u64) {
        let gen = {
            let mut inner = self.lock();
            let Some(live) = inner
                .sites
                .get_mut(site)
                .and_then(|s| s.visitors.get_mut(visitor))
            else {
                return;
            };
            live.conns.retain(|c| c.id != sub_id);
            if !live.conns.is_empty() {
                return;
            }
            live.gen
        };
        let hub = self.clone();
        let (site, visitor) = (site.clone(), visitor.clone());
        let grace = self.grace;
        // Sessions drop inside the runtime; during runtime teardown there is
        // nobody left to tell, so no timer is needed.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                tokio::time::sleep(grace).await;
                hub.expire(&site, &visitor, gen);
            });
        }
    }

    fn expire(&self, site_id: &SiteId, visitor: &VisitorId, gen: u64) {
        let mut inner = self.lock();
        let Some(site) = inner.sites.get_mut(site_id) else {
            return;
        };
        let gone =
            matches!(site.visitors.get(visitor), Some(l) if l.conns.is_empty() && l.gen == gen);
        if !gone {
            return;
        }
        site.visitors.remove(visitor);
        let p = Arc::new(Push::Offline {
            site: site_id.clone(),
            visitor: visitor.clone(),
        });
        for a in &site.agents {
            a.push(&p);
        }
        if site.visitors.is_empty() && site.agents.is_empty() {
            inner.sites.remove(site_id);
        }
    }

    /// A visitor changed page: update presence (the page view counted
    /// unless `counted` is false — a repeat — and the visit's referrer),
    /// tell the site's agents.
    pub fn visitor_page(
        &self,
        site_id: &SiteId,
        visitor: &VisitorId,
        page: PageInfo,
        counted: bool,
        referrer: Option<String>,
    ) {
        let mut inner = self.lock();
        let Some(site) = inner.sites.get_mut(site_id) else {
            return;
        };
        let Some(live) = site.visitors.get_mut(visitor) else {
            return;
        };
        live.info.page = Some(page);
        if counted {
            live.info.pages = live.info.pages.saturating_add(1);
        }
        live.info.referrer = referrer;
        let p = Arc::new(Push::Presence(live.info.clone()));
        for a in &site.agents {
            a.push(&p);
        }
    }

    /// A visitor's contact changed (a form, an agent's edit): its live
    /// presence carries it, and the site's agents see it.
    pub fn visitor_user(
        &self,
        site_id: &SiteId,
        visitor: &VisitorId,
        user: Option<protocol::UserInfo>,
    ) {
        let mut inner = self.lock();
        let Some(site) = inner.sites.get_mut(site_id) else {
            return;
        };
        let Some(live) = site.visitors.get_mut(visitor) else {
            return;
        };
        live.info.user = user;
        let p = Arc::new(Push::Presence(live.info.clone()));
        for a in &site.agents {
            a.push(&p);
        }
    }

    /// An agent connection subscribes to a site: returns who is online now.
    /// `agent`: who it is and their capacity, for routing.
    pub fn agent_subscribe(
        &self,
        site_id: &SiteId,
        sub: &SubHandle,
        away: bool,
        agent: (&AgentId, u32),
    ) -> Vec<VisitorInfo> {
        let mut inner = self.lock();
        let site = inner.site_mut(site_id);
        if site.agents.iter().any(|a| a.id == sub.0.id) {
            return site.visitors.values().map(|l| l.info.clone()).collect();
        }
        let before = site.available();
        site.agents.push(sub.0.clone());
        site.who.push((sub.0.id, agent.0.clone(), agent.1));
        if away {
            site.away.push(sub.0.id);
        }
        site.announce_if_changed(before);
        site.visitors.values().map(|l| l.info.clone()).collect()
    }

    pub fn agent_unsubscribe(&self, site_id: &SiteId, sub_id: u64) {
        let mut inner = self.lock();
        let Some(site) = inner.sites.get_mut(site_id) else {
            return;
        };
        let before = site.available();
        site.agents.retain(|a| a.id != sub_id);
        site.who.retain(|w| w.0 != sub_id);
        site.away.retain(|&a| a != sub_id);
        site.stop_viewing(sub_id);
        site.announce_if_changed(before);
        if site.visitors.is_empty() && site.agents.is_empty() {
            inner.sites.remove(site_id);
        }
    }

    /// An agent connection sets itself away (or back) on the sites it is
    /// subscribed to; visitors see `agents {online}` when that changes
    /// whether anyone is available.
    pub fn agent_away(&self, sites: &[SiteId], sub_id: u64, away: bool) {
        let mut inner = self.lock();
        for site_id in sites {
            let Some(site) = inner.sites.get_mut(site_id) else {
                continue;
            };
            let before = site.available();
            site.away.retain(|&a| a != sub_id);
            if away {
                site.away.push(sub_id);
            }
            site.announce_if_changed(before);
        }
    }

    /// Agent connection `sub_id` (subscribed to `site_id`) now views `conv`
    /// (`None`: nothing on this site); the site's agents learn who views
    /// the conversation it left and the one it opened.
    pub fn agent_viewing(
        &self,
        site_id: &SiteId,
        sub_id: u64,
        viewer: Viewer,
        conv: Option<ConvId>,
    ) {
        let mut inner = self.lock();
        let Some(site) = inner.sites.get_mut(site_id) else {
            return;
        };
        if !site.agents.iter().any(|a| a.id == sub_id) {
            return;
        }
        let same = site
            .viewing
            .iter()
            .any(|(id, c, _)| *id == sub_id && Some(c) == conv.as_ref());
        if same {
            return;
        }
        site.stop_viewing(sub_id);
        if let Some(c) = conv {
            site.viewing.push((sub_id, c.clone(), viewer));
            site.announce_viewers(&c);
        }
    }

    /// Every conversation of a site someone views, with its viewers (sent
    /// after a subscribe's snapshot).
    pub fn viewers(&self, site_id: &SiteId) -> Vec<(ConvId, Vec<Viewer>)> {
        let inner = self.lock();
        let Some(site) = inner.sites.get(site_id) else {
            return Vec::new();
        };
        let mut convs: Vec<&ConvId> = site.viewing.iter().map(|(_, c, _)| c).collect();
        convs.sort();
        convs.dedup();
        convs
            .into_iter()
            .map(|c| (c.clone(), site.viewers_of(c)))
            .collect()
    }

    /// Live visitors of a site (agents' snapshot).
    pub fn visitors(&self, site_id: &SiteId) -> Vec<VisitorInfo> {
        let inner = self.lock();
        inner
            .sites
            .get(site_id)
            .map(|s| s.visitors.values().map(|l| l.info.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether an agent is available for the site, as its visitors see it:
    /// one online and not away, inside business hours (what the widget's
    /// offline form and the mail to agents go by).
    pub fn agents_online(&self, site_id: &SiteId) -> bool {
        self.lock()
            .sites
            .get(site_id)
            .is_some_and(SiteLive::available)
    }

    /// Calls `f` with the agents routing may give a conversation of the
    /// site to now — subscribed with a connection that is not away, with
    /// their capacities, unsorted (an agent with several tabs more than
    /// once) — without copying them: routing decides under the hub's lock.
    pub fn with_available<R>(
        &self,
        site_id: &SiteId,
        f: impl FnOnce(&mut dyn Iterator<Item = (&AgentId, u32)>) -> R,
    ) -> R {
        let inner = self.lock();
        match inner.sites.get(site_id) {
            Some(site) => f(&mut site
                .who
                .iter()
                .filter(|(sub, _, _)| !site.away.contains(sub))
                .map(|(_, a, c)| (a, *c))),
            None => f(&mut std::iter::empty()),
        }
    }

    /// A site's business hours as of `now` (ms): stored (hours on) or
    /// forgotten (off: always open); its visitors learn at once when that
    /// changes availability, and the hours clock looks again.
    pub fn set_hours(&self, site_id: &SiteId, hours: &BusinessHours, now: u64) {
        self.put_hours(site_id, hours, now, true);
    }

    /// A site's business hours as the store holds them at start: like
    /// [`Hub::set_hours`], but a site closed now has been since before
    /// the relay started (not since `now`).
    pub fn load_hours(&self, site_id: &SiteId, hours: &BusinessHours, now: u64) {
        self.put_hours(site_id, hours, now, false);
    }

    /// `changed`: the site was open (always) before these hours, unless
    /// a schedule says otherwise.
    fn put_hours(&self, site_id: &SiteId, hours: &BusinessHours, now: u64, changed: bool) {
        // Worked out before taking the lock: a year of days per schedule.
        let plan = crate::hours::Plan::new(hours).map(Arc::new);
        let open = plan.as_ref().is_none_or(|p| p.is_open(now));
        let next = plan.as_ref().and_then(|p| p.next_change(now));
        let last_close = match &plan {
            Some(p) if !changed && !open => p.last_close(now).unwrap_or(0),
            _ => 0,
        };
        {
            let mut inner = self.lock();
            if let Some(plan) = plan {
                // No schedule before: it was open (always).
                let (was_open, closed_at) = inner
                    .schedules
                    .get(site_id)
                    .map_or((changed, last_close), |s| (s.open, s.closed_at));
                let closed_at = if was_open && !open { now } else { closed_at };
                let s = Schedule {
                    plan,
                    open,
                    next,
                    checked: now,
                    closed_at,
                };
                inner.schedules.insert(site_id.clone(), s);
            } else {
                inner.schedules.remove(site_id);
            }
            inner.apply_open(site_id, open);
        }
        self.hours_changed.notify_one();
    }

    /// The hours clock's tick: every site whose hours opened or closed by
    /// `now` flips (its visitors are told); returns the next instant one
    /// changes, if any does. Only sites due (their next change has come,
    /// or the wall clock went back past their last look) are worked out
    /// again, outside the hub's lock.
    pub fn tick_hours(&self, now: u64) -> Option<u64> {
        let due: Vec<(SiteId, Arc<crate::hours::Plan>)> = self
            .lock()
            .schedules
            .iter()
            .filter(|(_, s)| now < s.checked || s.next.is_some_and(|n| n <= now))
            .map(|(id, s)| (id.clone(), s.plan.clone()))
            .collect();
        let looked: Vec<_> = due
            .into_iter()
            .map(|(id, plan)| {
                let (open, next) = (plan.is_open(now), plan.next_change(now));
                (id, plan, open, next)
            })
            .collect();
        let mut inner = self.lock();
        let mut flips = Vec::new();
        for (id, plan, open, next) in looked {
            // Hours changed meanwhile: `put_hours` worked the new ones out.
            let Some(s) = inner
                .schedules
                .get_mut(&id)
                .filter(|s| Arc::ptr_eq(&s.plan, &plan))
            else {
                continue;
            };
            if open != s.open {
                if !open {
                    // The spell began at the change, however late the tick.
                    s.closed_at = s.next.filter(|&n| n <= now).unwrap_or(now);
                }
                s.open = open;
                flips.push((id.clone(), open));
            }
            s.next = next;
            s.checked = now;
        }
        for (id, open) in flips {
            tracing::debug!(site = %id, open, "business hours");
            inner.apply_open(&id, open);
        }
        inner.schedules.values().filter_map(|s| s.next).min()
    }

    /// Waits until some site's business hours change (see
    /// [`Hub::set_hours`]).
    pub async fn hours_changed(&self) {
        self.hours_changed.notified().await;
    }

    /// Whether the site is outside its business hours now (as of the
    /// clock's last tick): what the auto-reply goes by.
    pub fn outside_hours(&self, site_id: &SiteId) -> bool {
        self.lock().schedules.get(site_id).is_some_and(|s| !s.open)
    }

    /// Whether the site has been inside its business hours at some time
    /// after `t` (ms): it is open, or its current closed spell began after
    /// `t` (as the hub saw it, never from a schedule edited since: an edit
    /// while closed continues the spell).
    pub fn opened_since(&self, site_id: &SiteId, t: u64) -> bool {
        let inner = self.lock();
        let Some(s) = inner.schedules.get(site_id) else {
            return true;
        };
        s.open || s.closed_at > t
    }

    /// An agent's capacity changed: their live subscriptions carry it.
    pub fn set_capacity(&self, agent: &AgentId, capacity: u32) {
        let mut inner = self.lock();
        for site in inner.sites.values_mut() {
            for w in site.who.iter_mut().filter(|w| &w.1 == agent) {
                w.2 = capacity;
            }
        }
    }

    /// Routing's new order of a site's queue (conv, visitor), oldest first:
    /// each visitor whose place changed learns it (`0`: out of the queue).
    pub fn set_queue(&self, site_id: &SiteId, order: Vec<(ConvId, VisitorId)>) {
        let mut inner = self.lock();
        let new: HashMap<ConvId, (VisitorId, u32)> = order
            .into_iter()
            .enumerate()
            .map(|(i, (c, v))| (c, (v, i as u32 + 1)))
            .collect();
        let old = inner.queues.remove(site_id).unwrap_or_default();
        let mut tell: Vec<(VisitorId, ConvId, u32)> = Vec::new();
        for (c, (v, p)) in &new {
            if old.get(c).map(|o| o.1) != Some(*p) {
                tell.push((v.clone(), c.clone(), *p));
            }
        }
        for (c, (v, _)) in &old {
            if !new.contains_key(c) {
                tell.push((v.clone(), c.clone(), 0));
            }
        }
        if !new.is_empty() {
            inner.queues.insert(site_id.clone(), new);
        }
        let Some(site) = inner.sites.get(site_id) else {
            return;
        };
        for (v, conv, position) in tell {
            if let Some(live) = site.visitors.get(&v) {
                let p = Arc::new(Push::Queue { conv, position });
                for c in &live.conns {
                    c.push(&p);
                }
            }
        }
    }

    /// A conversation's place in its site's queue (0: not waiting).
    pub fn queue_position(&self, site_id: &SiteId, conv: &ConvId) -> u32 {
        self.lock()
            .queues
            .get(site_id)
            .and_then(|q| q.get(conv))
            .map_or(0, |e| e.1)
    }

    /// Counts for `/metrics`: (sites, visitors online, agent subscriptions).
    pub fn counts(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        let visitors = inner.sites.values().map(|s| s.visitors.len()).sum();
        let agents = inner.sites.values().map(|s| s.agents.len()).sum();
        (inner.sites.len(), visitors, agents)
    }

    /// Sends `p` to everyone in `conv`: the visitor's connections and the
    /// site's agents. `to_visitor` false keeps agent-only notices (the
    /// visitor's own typing) away from the visitor.
    fn to_conv(&self, conv: &ConvRecord, p: Push, to_visitor: bool, to_agents: bool) {
        let p = Arc::new(p);
        let inner = self.lock();
        let Some(site) = inner.sites.get(&conv.site) else {
            return;
        };
        if to_visitor {
            if let Some(v) = site.visitors.get(&conv.visitor) {
                for c in &v.conns {
                    c.push(&p);
                }
            }
        }
        if to_agents {
            for a in &site.agents {
                a.push(&p);
            }
        }
    }

    /// A durable event (called by the commit task after the flush). An
    /// agents-only event (a note, a label) never reaches the visitor.
    pub fn publish_event(&self, conv: &ConvRecord, ev: Event) {
        let to_visitor = !ev.body.agents_only();
        self.to_conv(conv, Push::Event(ev), to_visitor, true);
    }

    /// A conversation's summary changed: agents keep their inbox current.
    pub fn publish_conv(&self, conv: &ConvRecord) {
        self.to_conv(conv, Push::Conv(conv.summary()), false, true);
    }

    pub fn publish_read(&self, conv: &ConvRecord, side: Side, seq: u64) {
        let p = Push::Read {
            conv: conv.id.clone(),
            side,
            seq,
        };
        // The reader's own side learns too (other tabs / other agents).
        self.to_conv(conv, p, true, true);
    }

    /// A typing notice: a visitor's to the site's agents; an agent's to the
    /// visitor and to the site's agents (its colleagues see who types; each
    /// session drops its own agent's notices).
    pub fn publish_typing(
        &self,
        conv: &ConvRecord,
        side: Side,
        on: bool,
        text: Option<String>,
        agent: Option<(AgentId, String)>,
    ) {
        let (agent, name) = agent.map_or((None, None), |(id, name)| (Some(id), Some(name)));
        let p = Push::Typing {
            conv: conv.id.clone(),
            side,
            on,
            text,
            agent,
            name,
        };
        self.to_conv(conv, p, side == Side::Agent, true);
    }
}

/// The longest the clock sleeps without looking again, whatever the next
/// change: the schedule works in wall-clock time and tokio sleeps in
/// monotonic time, so a clock stepped by NTP (or a suspended VM) is
/// noticed within this.
const CLOCK_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// The hours clock: flips each site's availability at its next opening or
/// closing (its visitors are told `agents {online}`), and looks again
/// whenever a site's hours change. Ends at shutdown.
pub async fn hours_clock(hub: Arc<Hub>, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        let now = crate::now_ms();
        let wait = match hub.tick_hours(now) {
            // A millisecond past the change: `is_open` then says the new.
            Some(at) => {
                std::time::Duration::from_millis(at.saturating_sub(now) + 1).min(CLOCK_RECHECK)
            }
            None => CLOCK_RECHECK,
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hub.hours_changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The sending half of one connection's queue, registered with the hub.
pub struct SubHandle(Sub);

impl SubHandle {
    pub fn id(&self) -> u64 {
        self.0.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(site: &str, v: &str) -> VisitorInfo {
        VisitorInfo {
            id: VisitorId::new(v).expect("id"),
            site: SiteId::new(site).expect("id"),
            online: true,
            page: None,
            pages: 0,
            referrer: None,
            since: 0,
            visits: 1,
            user: None,
            verified: false,
            user_agent: None,
        }
    }

    /// A full queue never blocks the hub: the push is dropped for that
    /// connection and it is marked lagged (its session then replays).
    #[tokio::test]
    async fn slow_consumer_is_marked_lagged_not_waited_on() {
        let hub = Hub::new(Duration::from_secs(1));
        let site = SiteId::new("s").expect("id");
        let (agent, agent_h) = hub.subscription();
        hub.agent_subscribe(&site, &agent_h, false, (&AgentId::new("a").expect("id"), 5));
        let (_v, vh) = hub.subscription();
        for i in 0..protocol::limits::SUBSCRIBER_QUEUE + 10 {
            let mut i2 = info("s", "v1");
            i2.pages = i as u32;
            hub.visitor_connect(i2, &vh);
        }
        assert!(agent.take_lagged());
        assert!(!agent.take_lagged());
        let mut n = 0;
        while agent.try_recv().is_some() {
            n += 1;
        }
        assert_eq!(n, protocol::limits::SUBSCRIBER_QUEUE);
    }

    /// Offline only after the grace period, and not if the visitor returns.
    #[tokio::test(start_paused = true)]
    async fn offline_after_grace_unless_back() {
        let hub = Hub::new(Duration::from_secs(30));
        let site = SiteId::new("s").expect("id");
        let (agent, agent_h) = hub.subscription();
        hub.agent_subscribe(&site, &agent_h, false, (&AgentId::new("a").expect("id"), 5));
        let (_v1, vh1) = hub.subscription();
        hub.visitor_connect(info("s", "v1"), &vh1);
        hub.visitor_disconnect(&site, &VisitorId::new("v1").expect("id"), vh1.id());
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (_v2, vh2) = hub.subscription();
        hub.visitor_connect(info("s", "v1"), &vh2);
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert_eq!(hub.visitors(&site).len(), 1, "came back within grace");
        hub.visitor_disconnect(&site, &VisitorId::new("v1").expect("id"), vh2.id());
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(hub.visitors(&site).is_empty());
        let mut saw_offline = false;
        while let Some(p) = agent.try_recv() {
            saw_offline |= matches!(&*p, Push::Offline { .. });
        }
        assert!(saw_offline);
    }

    /// Every day open 09:00–17:00 UTC.
    fn nine_to_five() -> BusinessHours {
        BusinessHours {
            enabled: true,
            tz: "UTC".into(),
            week: vec![
                vec![protocol::offline::Period {
                    from: "09:00".into(),
                    to: "17:00".into(),
                }];
                7
            ],
            holidays: Vec::new(),
        }
    }

    /// Outside business hours visitors see nobody available although an
    /// agent is online, while routing still sees the agent; the clock's
    /// tick flips it at the opening and tells the visitors, and gives the
    /// next change. Hours switched off: open again.
    #[test]
    fn hours_gate_what_visitors_see_not_routing() {
        const H: u64 = 3_600_000;
        let day = 20_000 * 24 * H; // a midnight, UTC
        let hub = Hub::new(Duration::from_secs(1));
        let site = SiteId::new("s").expect("id");
        hub.load_hours(&site, &nine_to_five(), day + 8 * H);
        let (_a, ah) = hub.subscription();
        hub.agent_subscribe(&site, &ah, false, (&AgentId::new("a").expect("id"), 5));
        let (v, vh) = hub.subscription();
        assert!(
            !hub.visitor_connect(info("s", "v1"), &vh),
            "closed at 08:00"
        );
        assert!(!hub.agents_online(&site));
        assert!(hub.outside_hours(&site));
        assert_eq!(
            hub.with_available(&site, |a| a.count()),
            1,
            "routing sees the agent"
        );
        assert_eq!(hub.tick_hours(day + 8 * H), Some(day + 9 * H));
        assert!(v.try_recv().is_none(), "nothing changed yet");
        assert_eq!(hub.tick_hours(day + 9 * H), Some(day + 17 * H));
        assert!(hub.agents_online(&site));
        assert!(matches!(
            v.try_recv().as_deref(),
            Some(Push::Agents { online: true })
        ));
        // Closed at 17:00; a spell that started then (not before).
        hub.tick_hours(day + 17 * H);
        assert!(matches!(
            v.try_recv().as_deref(),
            Some(Push::Agents { online: false })
        ));
        assert!(hub.opened_since(&site, day + 17 * H - 1));
        assert!(!hub.opened_since(&site, day + 17 * H));
        // Nothing is due before the next morning: the tick works out no
        // site and still gives the next change.
        assert_eq!(hub.tick_hours(day + 20 * H), Some(day + 33 * H));
        assert_eq!(hub.tick_hours(day + 33 * H), Some(day + 41 * H));
        assert!(hub.opened_since(&site, day + 17 * H), "next morning");
        // A late tick: the spell still starts at 17:00.
        hub.tick_hours(day + 41 * H + 5_000);
        assert!(hub.opened_since(&site, day + 41 * H - 1));
        assert!(!hub.opened_since(&site, day + 41 * H));
        while v.try_recv().is_some() {}
        hub.set_hours(&site, &BusinessHours::default(), day + 42 * H);
        assert!(hub.agents_online(&site) && !hub.outside_hours(&site));
        assert!(matches!(
            v.try_recv().as_deref(),
            Some(Push::Agents { online: true })
        ));
    }

    /// The closed spell is the one the hub saw: hours edited while closed
    /// (even to ones that would have opened since) continue it, so the
    /// auto-reply is not sent twice in it; a relay started while closed
    /// dates the spell from the schedule's last closing.
    #[test]
    fn an_edit_while_closed_continues_the_spell() {
        const H: u64 = 3_600_000;
        let day = 20_000 * 24 * H; // a midnight, UTC
        let hub = Hub::new(Duration::from_secs(1));
        let site = SiteId::new("s").expect("id");
        hub.load_hours(&site, &nine_to_five(), day + 20 * H);
        assert!(hub.outside_hours(&site));
        assert!(hub.opened_since(&site, day + 17 * H - 1), "closed at 17:00");
        assert!(!hub.opened_since(&site, day + 17 * H));
        // Replied at 20:00; at 22:00 the owner makes the hours 21:00–21:30
        // and 23:00–24:00 (past and future): still the same spell.
        let mut evening = nine_to_five();
        for d in &mut evening.week {
            *d = vec![
                protocol::offline::Period {
                    from: "21:00".into(),
                    to: "21:30".into(),
                },
                protocol::offline::Period {
                    from: "23:00".into(),
                    to: "24:00".into(),
                },
            ];
        }
        hub.set_hours(&site, &evening, day + 22 * H);
        assert!(hub.outside_hours(&site));
        assert!(
            !hub.opened_since(&site, day + 20 * H),
            "no second auto-reply"
        );
        assert_eq!(hub.tick_hours(day + 22 * H), Some(day + 23 * H));
        hub.tick_hours(day + 23 * H);
        hub.tick_hours(day + 24 * H);
        assert!(hub.outside_hours(&site));
        assert!(hub.opened_since(&site, day + 20 * H), "it opened at 23:00");
    }

    /// One agent in two tabs counts once among a conversation's viewers; a
    /// tab moving on or unsubscribing is announced to the site's agents.
    #[test]
    fn viewers_are_per_agent_and_leave_with_the_connection() {
        let hub = Hub::new(Duration::from_secs(1));
        let site = SiteId::new("s").expect("id");
        let conv = ConvId::new("c1").expect("id");
        let ada = Viewer {
            id: AgentId::new("ada").expect("id"),
            name: "Ada".into(),
        };
        let (watcher, wh) = hub.subscription();
        hub.agent_subscribe(&site, &wh, false, (&ada.id, 5));
        let (_t1, h1) = hub.subscription();
        let (_t2, h2) = hub.subscription();
        hub.agent_subscribe(&site, &h1, false, (&ada.id, 5));
        hub.agent_subscribe(&site, &h2, false, (&ada.id, 5));
        let last_viewers = || {
            let mut last = None;
            while let Some(p) = watcher.try_recv() {
                if let Push::Viewers { agents, .. } = &*p {
                    last = Some(agents.clone());
                }
            }
            last
        };
        hub.agent_viewing(&site, h1.id(), ada.clone(), Some(conv.clone()));
        hub.agent_viewing(&site, h2.id(), ada.clone(), Some(conv.clone()));
        assert_eq!(last_viewers(), Some(vec![ada.clone()]));
        assert_eq!(hub.viewers(&site), vec![(conv.clone(), vec![ada.clone()])]);
        hub.agent_viewing(&site, h1.id(), ada.clone(), None);
        assert_eq!(
            last_viewers(),
            Some(vec![ada.clone()]),
            "the other tab still views"
        );
        hub.agent_unsubscribe(&site, h2.id());
        assert_eq!(last_viewers(), Some(Vec::new()));
        assert!(hub.viewers(&site).is_empty());
        // A connection not subscribed to the site cannot claim to view.
        let (_t3, h3) = hub.subscription();
        hub.agent_viewing(&site, h3.id(), ada, Some(conv));
        assert!(hub.viewers(&site).is_empty());
    }
}
