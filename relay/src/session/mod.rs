//! One client's protocol state machine, shared by both transports so that
//! long-poll and WebSocket cannot drift apart: the shared core (acks,
//! replay, cursors, hub pushes, lag catch-up); [`visitor`] and [`agent`]
//! hold the two roles' hellos and frames.
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

mod agent;
mod visitor;

use crate::commit::{CommitError, Committed, NewMessage, PendingAck};
use crate::hub::{Push, SubHandle, Subscription};
use crate::store::StoreError;
use crate::App;
use agent::AgentState;
use protocol::limits::*;
use protocol::*;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use visitor::VisitorState;

/// What the transport learned about the client at connect time.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub ip: Option<IpAddr>,
    pub origin: Option<String>,
    pub user_agent: Option<String>,
    /// The Host the request came to: a page on the relay's own origin
    /// (the hosted chat page) is the relay's, whatever the allow-list.
    pub host: Option<String>,
}

/// An established connection's hub registration and replay position.
struct Live {
    sub: Subscription,
    handle: SubHandle,
    /// Last seq sent to the client, per conversation.
    cursors: HashMap<ConvId, u64>,
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

    /// `hello`: the protocol version, then the role's own checks.
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
        let said = match h.role {
            Role::Visitor => self.visitor_hello(h, out),
            Role::Agent => self.agent_hello(h, out),
        };
        if !matches!(self.state, State::New) {
            // Only a hello reads the request's texts, and a second one is
            // refused: an idle connection keeps none of them (~200 B each
            // with a browser's User-Agent).
            self.peer = Peer {
                ip: self.peer.ip,
                ..Peer::default()
            };
        }
        said
    }

    /// Sends stored events of `conv` after its cursor (at most a page), then
    /// `synced`. Advances the cursor.
    fn replay(&mut self, conv: &ConvId, out: &mut Vec<ServerFrame>) {
        self.replay_pages(conv, 1, out);
    }

    /// Replays `conv` after the client's cursor, at most `pages` pages of
    /// [`MAX_REPLAY_EVENTS`], then one `synced`. True when events remain.
    fn replay_pages(&mut self, conv: &ConvId, pages: usize, out: &mut Vec<ServerFrame>) -> bool {
        let store = self.app.store.clone();
        let visitor = matches!(self.state, State::Visitor(_));
        let Some(live) = self.live() else {
            return false;
        };
        let after = live.cursors.get(conv).copied().unwrap_or(0);
        let mut seq = after;
        let mut more = false;
        for _ in 0..pages.max(1) {
            let events = match store.events_after(conv, seq, MAX_REPLAY_EVENTS + 1) {
                Ok(e) => e,
                Err(e) => {
                    out.push(internal(e).into());
                    return false;
                }
            };
            more = events.len() > MAX_REPLAY_EVENTS;
            for ev in events.into_iter().take(MAX_REPLAY_EVENTS) {
                seq = ev.seq;
                // Agents-only events advance a visitor's cursor unseen.
                if !(visitor && ev.body.agents_only()) {
                    out.push(ServerFrame::Event(ev));
                }
            }
            if !more {
                break;
            }
        }
        live.cursors.insert(conv.clone(), seq);
        out.push(ServerFrame::Synced {
            conv: conv.clone(),
            seq,
            more,
        });
        more
    }

    /// `sync`: replays `conv` (already checked as the client's) from `after`.
    fn sync(&mut self, conv: &ConvId, after: u64, out: &mut Vec<ServerFrame>) {
        if let Some(live) = self.live() {
            live.cursors.insert(conv.clone(), after);
        }
        self.replay(conv, out);
    }

    /// A hub push → frames, applying the per-conversation cursor.
    pub fn handle_push(&mut self, push: &Push, out: &mut Vec<ServerFrame>) {
        let is_agent = matches!(self.state, State::Agent(_));
        match push {
            // The hub never sends these to visitors; a second lock here.
            Push::Event(ev) if !is_agent && ev.body.agents_only() => {}
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
                agent,
                name,
            } => {
                // An agent's own typing (from any of its tabs) is not news
                // to it.
                let own = matches!((&self.state, agent), (State::Agent(a), Some(id)) if &a.agent.id == id);
                if !own {
                    out.push(ServerFrame::Typing {
                        conv: conv.clone(),
                        side: *side,
                        on: *on,
                        text: if is_agent { text.clone() } else { None },
                        agent: if is_agent { agent.clone() } else { None },
                        name: if is_agent { None } else { name.clone() },
                    })
                }
            }
            Push::Viewers { conv, agents } if is_agent => out.push(ServerFrame::Viewers {
                conv: conv.clone(),
                agents: agents.clone(),
            }),
            Push::Viewers { .. } => {}
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
            Push::Queue { conv, position } if !is_agent => out.push(ServerFrame::Queue {
                conv: conv.clone(),
                position: *position,
            }),
            Push::Presence(_) | Push::Offline { .. } | Push::Agents { .. } | Push::Queue { .. } => {
            }
        }
    }

    /// If the hub dropped pushes for this connection (slow consumer), catch
    /// up from the store: replay every known conversation, re-send presence.
    /// A client that does not repair gaps itself still gets every event: the
    /// replay runs up to [`MAX_CATCH_UP_PAGES`] pages per conversation, and
    /// if events still remain the connection stays marked lagged, so the
    /// next wake (push or heartbeat) goes on from there.
    pub fn catch_up_if_lagged(&mut self, out: &mut Vec<ServerFrame>) {
        let Some(live) = self.live() else { return };
        if !live.sub.take_lagged() {
            return;
        }
        tracing::debug!("connection lagged; replaying from the store");
        let convs: Vec<ConvId> = match &self.state {
            State::Visitor(v) => match self.app.store.visitor_convs(&v.site, &v.visitor) {
                Ok(c) => c.into_iter().map(|c| c.id).collect(),
                Err(e) => return out.push(internal(e).into()),
            },
            State::Agent(a) => a.live.cursors.keys().cloned().collect(),
            State::New => return,
        };
        let mut behind = false;
        for c in convs {
            behind |= self.replay_pages(&c, MAX_CATCH_UP_PAGES, out);
        }
        match &self.state {
            State::Visitor(v) => {
                let online = self.app.hub.agents_online(&v.site);
                out.push(ServerFrame::Agents { online });
            }
            State::Agent(a) => {
                for site in a.subscribed.clone() {
                    self.snapshot(&site, out);
                }
            }
            State::New => {}
        }
        if behind {
            if let Some(live) = self.live() {
                live.sub.mark_lagged();
            }
        }
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
                if a.visible {
                    self.app.push.hidden(&a.agent.id);
                }
            }
            State::New => {}
        }
    }
}
