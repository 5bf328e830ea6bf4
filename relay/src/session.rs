//! One client's protocol state machine, shared by both transports so that
//! long-poll and WebSocket cannot drift apart.
//!
//! A transport feeds it client frames ([`Session::handle_text`]) and hub
//! pushes ([`Session::next_push`] → [`Session::handle_push`]) and writes out
//! whatever frames it produces. States: new (only `hello`), visitor, agent.
//!
//! Ordering: on hello (or subscribe) the session registers with the hub
//! *first*, then replays stored events after the client's cursors, then
//! handles live pushes. A per-conversation cursor drops what was already
//! sent and fills any gap from the store, so each conversation reaches the
//! client in seq order, without gaps or repeats, whatever the hub did.

use crate::commit::{CommitError, Committed, NewMessage, PendingAck, Target};
use crate::hub::{Push, SubHandle, Subscription};
use crate::ratelimit::Rate;
use crate::store::{AgentRecord, ConvRecord, StoreError, VisitorRecord};
use crate::App;
use protocol::limits::*;
use protocol::*;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// A new visit starts when a visitor returns after this long away.
const VISIT_GAP_MS: u64 = 30 * 60 * 1000;

/// What the transport learned about the client at connect time.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub ip: Option<IpAddr>,
    pub origin: Option<String>,
    pub user_agent: Option<String>,
}

struct Live {
    sub: Subscription,
    handle: SubHandle,
    /// Last seq sent to the client, per conversation.
    cursors: HashMap<ConvId, u64>,
}

struct VisitorState {
    site: SiteId,
    visitor: VisitorId,
    name: Option<String>,
    live: Live,
    sends: Rate,
    pages: Rate,
    typing: Rate,
}

struct AgentState {
    agent: AgentRecord,
    live: Live,
    subscribed: Vec<SiteId>,
    typing: Rate,
    /// Set by `status {away}`; applies to sites subscribed later too.
    away: bool,
}

enum State {
    New,
    Visitor(Box<VisitorState>),
    Agent(Box<AgentState>),
}

/// See [`Session::next_wake`].
pub enum Wake {
    Ack(Box<ServerFrame>),
    Push(Arc<Push>),
}

pub struct Session {
    app: Arc<App>,
    peer: Peer,
    state: State,
    /// Sends queued for the commit thread, oldest first: their acks go out
    /// in this order as each becomes durable. Keeping several in flight
    /// lets one busy connection (an agent answering many visitors) share
    /// group commits instead of waiting one flush per message.
    acks: VecDeque<(Cid, PendingAck)>,
}

/// A refused frame: becomes an `error` frame.
#[derive(Debug)]
struct Refuse {
    code: ErrorCode,
    message: String,
    cid: Option<Cid>,
}

impl From<Refuse> for ServerFrame {
    fn from(r: Refuse) -> ServerFrame {
        ServerFrame::Error {
            code: r.code,
            message: r.message,
            cid: r.cid,
        }
    }
}

fn err(code: ErrorCode, message: impl Into<String>) -> Refuse {
    Refuse {
        code,
        message: message.into(),
        cid: None,
    }
}

fn err_cid(code: ErrorCode, message: impl Into<String>, cid: &Cid) -> Refuse {
    Refuse {
        code,
        message: message.into(),
        cid: Some(cid.clone()),
    }
}

fn internal(e: StoreError) -> Refuse {
    tracing::error!(error = %e, "store error in session");
    err(ErrorCode::Internal, "internal error")
}

fn commit_error(e: CommitError, cid: Option<&Cid>) -> Refuse {
    let (code, message) = e.code_and_message();
    Refuse {
        code,
        message: message.into(),
        cid: cid.cloned(),
    }
}

impl Session {
    pub fn new(app: Arc<App>, peer: Peer) -> Session {
        Session {
            app,
            peer,
            state: State::New,
            acks: VecDeque::new(),
        }
    }

    /// Whether sends await their acks.
    pub fn has_pending_acks(&self) -> bool {
        !self.acks.is_empty()
    }

    /// The oldest pending send's ack (or refusal), once its group is
    /// durable. Cancel-safe: the pending send stays queued until answered.
    pub async fn next_ack(&mut self) -> ServerFrame {
        let Some((_, rx)) = self.acks.front_mut() else {
            return std::future::pending().await;
        };
        let r = rx.await.unwrap_or(Err(CommitError::ShuttingDown));
        match self.acks.pop_front() {
            Some((cid, _)) => ack(r, &cid),
            None => ServerFrame::Pong,
        }
    }

    /// What a WebSocket connection waits for besides its socket: the next
    /// durable ack of its own sends, or the next hub push.
    pub async fn next_wake(&mut self) -> Wake {
        let got = {
            let acks = &mut self.acks;
            let live = match &mut self.state {
                State::New => None,
                State::Visitor(v) => Some(&mut v.live),
                State::Agent(a) => Some(&mut a.live),
            };
            let ack = async {
                match acks.front_mut() {
                    Some((_, rx)) => rx.await.unwrap_or(Err(CommitError::ShuttingDown)),
                    None => std::future::pending().await,
                }
            };
            let push = async {
                match live {
                    Some(live) => live.sub.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                r = ack => Ok(r),
                p = push => Err(p),
            }
        };
        match got {
            Ok(r) => match self.acks.pop_front() {
                Some((cid, _)) => Wake::Ack(Box::new(ack(r, &cid))),
                None => Wake::Ack(Box::new(ServerFrame::Pong)),
            },
            Err(p) => Wake::Push(p),
        }
    }

    /// The frames a wake from [`Session::next_wake`] produces.
    pub fn apply_wake(&mut self, wake: Wake, out: &mut Vec<ServerFrame>) {
        match wake {
            Wake::Ack(frame) => out.push(*frame),
            Wake::Push(push) => {
                self.handle_push(&push, out);
                self.catch_up_if_lagged(out);
            }
        }
    }

    /// Every pending ack, in order (long-poll answers a POST with them).
    pub async fn drain_acks(&mut self, out: &mut Vec<ServerFrame>) {
        while self.has_pending_acks() {
            out.push(self.next_ack().await);
        }
    }

    /// Queues a message for the commit thread; its ack follows in order
    /// (or its refusal now, when the queue is gone).
    async fn submit(&mut self, msg: NewMessage, out: &mut Vec<ServerFrame>) {
        let cid = msg.cid.clone();
        match self.app.commit.message_queued(msg).await {
            Ok(rx) => self.acks.push_back((cid, rx)),
            Err(e) => out.push(ack(Err(e), &cid)),
        }
    }

    pub fn is_established(&self) -> bool {
        !matches!(self.state, State::New)
    }

    fn live(&mut self) -> Option<&mut Live> {
        match &mut self.state {
            State::New => None,
            State::Visitor(v) => Some(&mut v.live),
            State::Agent(a) => Some(&mut a.live),
        }
    }

    /// Waits for the next hub push (forever before hello).
    pub async fn next_push(&mut self) -> Arc<Push> {
        match self.live() {
            Some(live) => live.sub.recv().await,
            None => std::future::pending().await,
        }
    }

    /// One client frame as JSON text.
    pub async fn handle_text(&mut self, text: &str, out: &mut Vec<ServerFrame>) {
        match ClientFrame::parse(text) {
            Ok(frame) => self.handle(frame, out).await,
            Err(e) => {
                self.app
                    .metrics
                    .bad_frames
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                out.push(ServerFrame::error(e.code, e.message));
            }
        }
    }

    pub async fn handle(&mut self, frame: ClientFrame, out: &mut Vec<ServerFrame>) {
        // Backpressure: at most MAX_PIPELINED_SENDS in flight per connection.
        while self.acks.len() >= MAX_PIPELINED_SENDS {
            out.push(self.next_ack().await);
        }
        match (&self.state, frame) {
            (_, ClientFrame::Ping) => out.push(ServerFrame::Pong),
            (_, ClientFrame::Pong) => {}
            (State::New, ClientFrame::Hello(h)) => {
                if let Err(f) = self.hello(h, out) {
                    out.push(f.into());
                }
            }
            (_, ClientFrame::Hello(_)) => out.push(ServerFrame::error(
                ErrorCode::AlreadyHello,
                "hello was already accepted on this connection",
            )),
            (State::New, _) => out.push(ServerFrame::error(
                ErrorCode::HelloRequired,
                "say hello first",
            )),
            (State::Visitor(_), frame) => {
                if let Err(f) = self.visitor_frame(frame, out).await {
                    out.push(f.into());
                }
            }
            (State::Agent(_), frame) => {
                if let Err(f) = self.agent_frame(frame, out).await {
                    out.push(f.into());
                }
            }
        }
    }

    // --- hello ------------------------------------------------------------

    fn hello(&mut self, h: Hello, out: &mut Vec<ServerFrame>) -> Result<(), Refuse> {
        if h.v != PROTOCOL_VERSION {
            return Err(err(
                ErrorCode::UnsupportedVersion,
                format!(
                    "this relay speaks protocol v{PROTOCOL_VERSION}, not v{}",
                    h.v
                ),
            ));
        }
        match h.role {
            Role::Visitor => self.visitor_hello(h, out),
            Role::Agent => self.agent_hello(h, out),
        }
    }

    fn visitor_hello(&mut self, h: Hello, out: &mut Vec<ServerFrame>) -> Result<(), Refuse> {
        let app = self.app.clone();
        let (Some(site_id), Some(visitor)) = (h.site, h.visitor) else {
            return Err(err(
                ErrorCode::BadFrame,
                "a visitor hello needs site and visitor",
            ));
        };
        let site = app
            .store
            .site(&site_id)
            .map_err(internal)?
            .ok_or_else(|| err(ErrorCode::UnknownSite, format!("no site {site_id}")))?;
        if !crate::origin_allowed(&site.allowed_origins, self.peer.origin.as_deref()) {
            return Err(err(
                ErrorCode::OriginNotAllowed,
                "this page's origin is not allowed for the site",
            ));
        }
        let record = app.store.visitor(&site_id, &visitor).map_err(internal)?;
        match (&h.token, &record) {
            (Some(t), _) if !app.auth.check_visitor_token(&site_id, &visitor, t) => {
                return Err(err(
                    ErrorCode::BadToken,
                    "the visitor token does not match this visitor",
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    ErrorCode::TokenRequired,
                    "this visitor id is taken: present its token or use a new id",
                ));
            }
            _ => {}
        }
        let mut user = h.user;
        let mut verified = None;
        if let Some(u) = &mut user {
            if let Some(hash) = u.user_hash.take() {
                let id =
                    u.id.as_deref()
                        .ok_or_else(|| err(ErrorCode::BadUserHash, "user_hash needs user.id"))?;
                if !crate::auth::check_user_hash(&site.secret, id, &hash) {
                    return Err(err(
                        ErrorCode::BadUserHash,
                        "user_hash is not HMAC-SHA256(site secret, user.id)",
                    ));
                }
                verified = Some(true);
            } else {
                verified = Some(false);
            }
        }
        let now = crate::now_ms();
        let mut rec = record.unwrap_or(VisitorRecord {
            id: visitor.clone(),
            site: site_id.clone(),
            first_seen: now,
            last_seen: 0,
            visits: 0,
            user: None,
            verified: false,
            user_agent: None,
        });
        let new_visit = now.saturating_sub(rec.last_seen) > VISIT_GAP_MS;
        if new_visit {
            rec.visits = rec.visits.saturating_add(1);
        }
        rec.last_seen = now;
        if let Some(ua) = &self.peer.user_agent {
            rec.user_agent = Some(ua.chars().take(512).collect());
        }
        if let (Some(u), Some(v)) = (user, verified) {
            rec.user = Some(u);
            rec.verified = v;
        }
        app.store.put_visitor(&rec).map_err(internal)?;
        let convs = app
            .store
            .visitor_convs(&site_id, &visitor)
            .map_err(internal)?;

        let (sub, handle) = app.hub.subscription();
        let info = VisitorInfo {
            id: visitor.clone(),
            site: site_id.clone(),
            online: true,
            page: None,
            pages: 0,
            since: now,
            visits: rec.visits,
            user: rec.user.clone(),
            verified: rec.verified,
            user_agent: rec.user_agent.clone(),
        };
        let agents_online = app.hub.visitor_connect(info, &handle);
        let cursors = convs
            .iter()
            .map(|c| (c.id.clone(), h.cursors.get(&c.id).copied().unwrap_or(0)))
            .collect();
        out.push(ServerFrame::Welcome(Welcome {
            v: PROTOCOL_VERSION,
            role: Role::Visitor,
            heartbeat_ms: app.config.heartbeat.as_millis() as u64,
            visitor: Some(visitor.clone()),
            token: Some(app.auth.visitor_token(&site_id, &visitor)),
            convs: convs.iter().map(ConvRecord::summary).collect(),
            agent: None,
            name: None,
            sites: Vec::new(),
            agents_online,
            // What the widget may offer: the site's choice or the relay's.
            settings: Some(
                site.widget
                    .clone()
                    .with_effective_file_types(&self.app.config.file_types),
            ),
        }));
        let name = rec.user.as_ref().and_then(|u| u.name.clone());
        // Origin and User-Agent were only needed for hello; idle connections
        // should not carry them.
        self.peer = Peer {
            ip: self.peer.ip,
            ..Peer::default()
        };
        self.state = State::Visitor(Box::new(VisitorState {
            site: site_id,
            visitor,
            name,
            live: Live {
                sub,
                handle,
                cursors,
            },
            sends: Rate::new(),
            pages: Rate::new(),
            typing: Rate::new(),
        }));
        tracing::debug!("visitor hello");
        for c in convs {
            self.replay(&c.id, out);
        }
        Ok(())
    }

    fn agent_hello(&mut self, h: Hello, out: &mut Vec<ServerFrame>) -> Result<(), Refuse> {
        let app = self.app.clone();
        let token = h.token.as_deref().unwrap_or_default();
        let agent = crate::auth::agent_for_token(&app.store, token)
            .map_err(internal)?
            .ok_or_else(|| err(ErrorCode::BadToken, "unknown or revoked agent token"))?;
        let mut cursors = HashMap::new();
        for (conv, seq) in h.cursors {
            if let Some(c) = app.store.conv(&conv).map_err(internal)? {
                if agent.sites.contains(&c.site) {
                    cursors.insert(conv, seq);
                }
            }
        }
        let (sub, handle) = app.hub.subscription_with(AGENT_QUEUE as u32);
        out.push(ServerFrame::Welcome(Welcome {
            v: PROTOCOL_VERSION,
            role: Role::Agent,
            heartbeat_ms: app.config.heartbeat.as_millis() as u64,
            visitor: None,
            token: None,
            convs: Vec::new(),
            agent: Some(agent.id.clone()),
            name: Some(agent.name.clone()),
            sites: agent.sites.clone(),
            agents_online: false,
            settings: None,
        }));
        let convs: Vec<ConvId> = cursors.keys().cloned().collect();
        self.state = State::Agent(Box::new(AgentState {
            agent,
            live: Live {
                sub,
                handle,
                cursors,
            },
            subscribed: Vec::new(),
            typing: Rate::new(),
            away: false,
        }));
        for c in convs {
            self.replay(&c, out);
        }
        Ok(())
    }

    // --- replay -----------------------------------------------------------

    /// Sends stored events of `conv` after its cursor (at most a page), then
    /// `synced`. Advances the cursor.
    fn replay(&mut self, conv: &ConvId, out: &mut Vec<ServerFrame>) {
        let store = self.app.store.clone();
        let Some(live) = self.live() else { return };
        let after = live.cursors.get(conv).copied().unwrap_or(0);
        let events = match store.events_after(conv, after, MAX_REPLAY_EVENTS + 1) {
            Ok(e) => e,
            Err(e) => return out.push(internal(e).into()),
        };
        let more = events.len() > MAX_REPLAY_EVENTS;
        let mut seq = after;
        for ev in events.into_iter().take(MAX_REPLAY_EVENTS) {
            seq = ev.seq;
            out.push(ServerFrame::Event(ev));
        }
        live.cursors.insert(conv.clone(), seq);
        out.push(ServerFrame::Synced {
            conv: conv.clone(),
            seq,
            more,
        });
    }

    /// A hub push → frames, applying the per-conversation cursor.
    pub fn handle_push(&mut self, push: &Push, out: &mut Vec<ServerFrame>) {
        let is_agent = matches!(self.state, State::Agent(_));
        match push {
            Push::Event(ev) => {
                let Some(live) = self.live() else { return };
                match live.cursors.get(&ev.conv).copied() {
                    Some(c) if ev.seq <= c => {}
                    Some(c) if ev.seq == c + 1 => {
                        live.cursors.insert(ev.conv.clone(), ev.seq);
                        out.push(ServerFrame::Event(ev.clone()));
                    }
                    None if is_agent => {
                        // An agent sees live traffic of every conversation on
                        // its sites; history comes by `sync` when it opens one.
                        live.cursors.insert(ev.conv.clone(), ev.seq);
                        out.push(ServerFrame::Event(ev.clone()));
                    }
                    None if ev.seq == 1 => {
                        live.cursors.insert(ev.conv.clone(), 1);
                        out.push(ServerFrame::Event(ev.clone()));
                    }
                    _ => self.replay(&ev.conv, out),
                }
            }
            Push::Conv(s) if is_agent => out.push(ServerFrame::Conv { conv: s.clone() }),
            Push::Conv(_) => {}
            Push::Typing {
                conv,
                side,
                on,
                text,
            } => out.push(ServerFrame::Typing {
                conv: conv.clone(),
                side: *side,
                on: *on,
                text: if is_agent { text.clone() } else { None },
            }),
            Push::Read { conv, side, seq } => out.push(ServerFrame::Read {
                conv: conv.clone(),
                side: *side,
                seq: *seq,
            }),
            Push::Presence(v) if is_agent => out.push(ServerFrame::Presence { visitor: v.clone() }),
            Push::Offline { site, visitor } if is_agent => out.push(ServerFrame::Offline {
                site: site.clone(),
                visitor: visitor.clone(),
            }),
            Push::Agents { online } if !is_agent => {
                out.push(ServerFrame::Agents { online: *online })
            }
            Push::Presence(_) | Push::Offline { .. } | Push::Agents { .. } => {}
        }
    }

    /// If the hub dropped pushes for this connection (slow consumer), catch
    /// up from the store: replay every known conversation, re-send presence.
    pub fn catch_up_if_lagged(&mut self, out: &mut Vec<ServerFrame>) {
        let Some(live) = self.live() else { return };
        if !live.sub.take_lagged() {
            return;
        }
        tracing::debug!("connection lagged; replaying from the store");
        match &self.state {
            State::Visitor(v) => {
                let convs = match self.app.store.visitor_convs(&v.site, &v.visitor) {
                    Ok(c) => c,
                    Err(e) => return out.push(internal(e).into()),
                };
                for c in convs {
                    self.replay(&c.id, out);
                }
                let online = self.app.hub.agents_online(match &self.state {
                    State::Visitor(v) => &v.site,
                    _ => return,
                });
                out.push(ServerFrame::Agents { online });
            }
            State::Agent(a) => {
                let sites = a.subscribed.clone();
                let convs: Vec<ConvId> = a.live.cursors.keys().cloned().collect();
                for c in convs {
                    self.replay(&c, out);
                }
                for site in sites {
                    self.snapshot(&site, out);
                }
            }
            State::New => {}
        }
    }

    /// The site's live state for an agent: one `snapshot` with the
    /// conversations and as many visitors as fit [`SNAPSHOT_VISITOR_BYTES`],
    /// then one `presence` per remaining visitor — so no frame outgrows the
    /// socket's write bound however many visitors are online.
    fn snapshot(&mut self, site: &SiteId, out: &mut Vec<ServerFrame>) {
        let mut visitors = self.app.hub.visitors(site);
        let mut budget = SNAPSHOT_VISITOR_BYTES;
        let mut fit = 0;
        for v in &visitors {
            let n = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
            if n > budget {
                break;
            }
            budget -= n;
            fit += 1;
        }
        let rest = visitors.split_off(fit);
        match self.app.store.site_convs(site, SNAPSHOT_CONVS) {
            Ok(convs) => out.push(ServerFrame::Snapshot {
                site: site.clone(),
                visitors,
                convs: convs.iter().map(ConvRecord::summary).collect(),
            }),
            Err(e) => return out.push(internal(e).into()),
        }
        out.extend(
            rest.into_iter()
                .map(|visitor| ServerFrame::Presence { visitor }),
        );
    }

    // --- visitor frames ---------------------------------------------------

    /// A conversation this visitor may touch.
    fn own_conv(&self, conv: &ConvId) -> Result<ConvRecord, Refuse> {
        let State::Visitor(v) = &self.state else {
            return Err(err(ErrorCode::Forbidden, "visitors only"));
        };
        match self.app.store.conv(conv).map_err(internal)? {
            Some(c) if c.site == v.site && c.visitor == v.visitor => Ok(c),
            _ => Err(err(ErrorCode::UnknownConversation, "no such conversation")),
        }
    }

    async fn visitor_frame(
        &mut self,
        frame: ClientFrame,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let State::Visitor(v) = &mut self.state else {
            return Ok(());
        };
        match frame {
            ClientFrame::Page(p) => {
                let ip_ok = self.peer.ip.is_none_or(|ip| {
                    app.limiter
                        .hit(&format!("page-ip:{ip}"), app.config.page_views_per_ip)
                        .is_ok()
                });
                if !v.pages.allow(MAX_PAGE_VIEWS_PER_MINUTE) || !ip_ok {
                    return Err(err(
                        ErrorCode::RateLimited,
                        "too many page views; slow down",
                    ));
                }
                let page = PageInfo {
                    url: p.url,
                    title: p.title,
                    referrer: p.referrer,
                    at: crate::now_ms(),
                };
                app.store
                    .record_page(&v.site, &v.visitor, &page)
                    .map_err(internal)?;
                app.hub.visitor_page(&v.site, &v.visitor, page);
            }
            ClientFrame::Send {
                cid,
                conv,
                text,
                file,
            } => {
                let ip_ok = self.peer.ip.is_none_or(|ip| {
                    app.limiter
                        .hit(&format!("send-ip:{ip}"), app.config.sends_per_ip)
                        .is_ok()
                });
                if !v.sends.allow(app.config.sends_per_visitor) || !ip_ok {
                    return Err(err_cid(
                        ErrorCode::RateLimited,
                        "too many messages; resend in a minute",
                        &cid,
                    ));
                }
                let scope = format!("v:{}:{}", v.site, v.visitor);
                let from = Author {
                    side: Side::Visitor,
                    id: v.visitor.to_string(),
                    name: v.name.clone(),
                };
                let file = own_file(&app, file, &v.site, Side::Visitor, v.visitor.as_str(), &cid)?;
                let target = match conv {
                    Some(c) => Target::Conv(self.own_conv(&c).map_err(|e| with_cid(e, &cid))?.id),
                    None => Target::Visitor {
                        site: v.site.clone(),
                        visitor: v.visitor.clone(),
                    },
                };
                self.submit(
                    NewMessage {
                        scope,
                        cid,
                        target,
                        from,
                        text,
                        file,
                    },
                    out,
                )
                .await;
            }
            ClientFrame::Typing { conv, on, text } => {
                if !v.typing.allow(MAX_TYPING_PER_MINUTE) {
                    return Ok(());
                }
                let rec = match conv {
                    Some(c) => self.own_conv(&c)?,
                    None => {
                        let convs = app
                            .store
                            .visitor_convs(&v.site, &v.visitor)
                            .map_err(internal)?;
                        match convs.into_iter().rev().find(|c| c.open) {
                            Some(c) => c,
                            // Nobody to tell until a conversation exists.
                            None => return Ok(()),
                        }
                    }
                };
                // The draft travels only where the owner switched it on.
                let text = match text {
                    Some(t) if on => app
                        .store
                        .site(&rec.site)
                        .map_err(internal)?
                        .filter(|s| s.widget.draft_preview)
                        .map(|_| t),
                    _ => None,
                };
                app.hub.publish_typing(&rec, Side::Visitor, on, text);
            }
            ClientFrame::Read { conv, seq } => {
                let rec = self.own_conv(&conv)?;
                app.commit.read(rec.id, Side::Visitor, seq);
            }
            ClientFrame::Sync { conv, after } => {
                let rec = self.own_conv(&conv)?;
                if let Some(live) = self.live() {
                    live.cursors.insert(rec.id.clone(), after);
                }
                self.replay(&rec.id, out);
            }
            ClientFrame::Subscribe { .. }
            | ClientFrame::Invite { .. }
            | ClientFrame::Status { .. }
            | ClientFrame::Close { .. } => {
                return Err(err(ErrorCode::Forbidden, "agents only"));
            }
            ClientFrame::Hello(_) | ClientFrame::Ping | ClientFrame::Pong => {}
        }
        Ok(())
    }

    // --- agent frames -----------------------------------------------------

    /// A conversation on one of this agent's sites. Others look exactly like
    /// missing ones, so ids of other sites cannot be probed.
    fn agent_conv(&self, conv: &ConvId) -> Result<ConvRecord, Refuse> {
        let State::Agent(a) = &self.state else {
            return Err(err(ErrorCode::Forbidden, "agents only"));
        };
        match self.app.store.conv(conv).map_err(internal)? {
            Some(c) if a.agent.sites.contains(&c.site) => Ok(c),
            _ => Err(err(ErrorCode::UnknownConversation, "no such conversation")),
        }
    }

    async fn agent_frame(
        &mut self,
        frame: ClientFrame,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let State::Agent(a) = &mut self.state else {
            return Ok(());
        };
        let me = Author {
            side: Side::Agent,
            id: a.agent.id.to_string(),
            name: Some(a.agent.name.clone()),
        };
        let scope = format!("a:{}", a.agent.id);
        match frame {
            ClientFrame::Subscribe { site } => {
                if !a.agent.sites.contains(&site) {
                    return Err(err(
                        ErrorCode::Forbidden,
                        format!("not an agent of site {site}"),
                    ));
                }
                if app.store.site(&site).map_err(internal)?.is_none() {
                    return Err(err(ErrorCode::UnknownSite, format!("no site {site}")));
                }
                app.hub.agent_subscribe(&site, &a.live.handle, a.away);
                if !a.subscribed.contains(&site) {
                    a.subscribed.push(site.clone());
                }
                let mine: Vec<ConvId> = a.live.cursors.keys().cloned().collect();
                self.snapshot(&site, out);
                for c in mine {
                    if matches!(app.store.conv(&c), Ok(Some(r)) if r.site == site) {
                        self.replay(&c, out);
                    }
                }
            }
            ClientFrame::Send {
                cid,
                conv,
                text,
                file,
            } => {
                let Some(conv) = conv else {
                    return Err(err_cid(
                        ErrorCode::BadFrame,
                        "an agent send needs conv",
                        &cid,
                    ));
                };
                let rec = self.agent_conv(&conv).map_err(|e| with_cid(e, &cid))?;
                let file = own_file(&app, file, &rec.site, Side::Agent, &me.id, &cid)?;
                self.submit(
                    NewMessage {
                        scope,
                        cid,
                        target: Target::Conv(rec.id),
                        from: me,
                        text,
                        file,
                    },
                    out,
                )
                .await;
            }
            ClientFrame::Invite {
                site,
                visitor,
                cid,
                text,
            } => {
                if !a.agent.sites.contains(&site) {
                    return Err(err_cid(
                        ErrorCode::Forbidden,
                        format!("not an agent of site {site}"),
                        &cid,
                    ));
                }
                if app
                    .store
                    .visitor(&site, &visitor)
                    .map_err(internal)?
                    .is_none()
                {
                    return Err(err_cid(ErrorCode::NotFound, "no such visitor", &cid));
                }
                self.submit(
                    NewMessage {
                        scope,
                        cid,
                        target: Target::Visitor { site, visitor },
                        from: me,
                        text,
                        file: None,
                    },
                    out,
                )
                .await;
            }
            ClientFrame::Close { conv } => {
                let rec = self.agent_conv(&conv)?;
                if let Err(e) = app.commit.close(rec.id, me).await {
                    return Err(commit_error(e, None));
                }
            }
            ClientFrame::Typing { conv, on, .. } => {
                if !a.typing.allow(MAX_TYPING_PER_MINUTE) {
                    return Ok(());
                }
                let Some(conv) = conv else {
                    return Err(err(
                        ErrorCode::BadFrame,
                        "an agent typing notice needs conv",
                    ));
                };
                let rec = self.agent_conv(&conv)?;
                app.hub.publish_typing(&rec, Side::Agent, on, None);
            }
            ClientFrame::Read { conv, seq } => {
                let rec = self.agent_conv(&conv)?;
                app.commit.read(rec.id, Side::Agent, seq);
            }
            ClientFrame::Sync { conv, after } => {
                let rec = self.agent_conv(&conv)?;
                if let Some(live) = self.live() {
                    live.cursors.insert(rec.id.clone(), after);
                }
                self.replay(&rec.id, out);
            }
            ClientFrame::Status { away } => {
                let sites = a.subscribed.clone();
                a.away = away;
                app.hub.agent_away(&sites, a.live.handle.id(), away);
            }
            ClientFrame::Page(_) => return Err(err(ErrorCode::Forbidden, "visitors only")),
            ClientFrame::Hello(_) | ClientFrame::Ping | ClientFrame::Pong => {}
        }
        Ok(())
    }
}

/// The upload a send names, if any, as the message carries it: only one
/// the sender made for this site; anyone else's (or another site's) is
/// refused like a missing one.
fn own_file(
    app: &App,
    id: Option<FileId>,
    site: &SiteId,
    side: Side,
    owner: &str,
    cid: &Cid,
) -> Result<Option<Attachment>, Refuse> {
    let Some(id) = id else { return Ok(None) };
    match app.store.file(&id).map_err(internal)? {
        Some(f) if &f.site == site && f.side == side && f.owner == owner => {
            Ok(Some(f.attachment()))
        }
        _ => Err(err_cid(
            ErrorCode::NotFound,
            "no such file: upload it first (POST /v1/files)",
            cid,
        )),
    }
}

fn with_cid(mut r: Refuse, cid: &Cid) -> Refuse {
    r.cid = Some(cid.clone());
    r
}

fn ack(r: Result<Committed, CommitError>, cid: &Cid) -> ServerFrame {
    match r {
        Ok(c) => ServerFrame::Ack {
            cid: cid.clone(),
            conv: c.conv,
            seq: c.seq,
        },
        Err(e) => commit_error(e, Some(cid)).into(),
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        match &self.state {
            State::Visitor(v) => {
                self.app
                    .hub
                    .visitor_disconnect(&v.site, &v.visitor, v.live.handle.id())
            }
            State::Agent(a) => {
                for s in &a.subscribed {
                    self.app.hub.agent_unsubscribe(s, a.live.handle.id());
                }
            }
            State::New => {}
        }
    }
}
