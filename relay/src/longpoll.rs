//! Long-poll transport: `POST /v1/send` and `GET /v1/poll`, for clients
//! without WebSocket. The same [`Session`] as the WebSocket transport runs
//! inside one task per long-poll session; HTTP requests talk to it.
//!
//! - `POST /v1/send[?sid=S]`, body: one frame or an array of frames (JSON,
//!   any content type, so browsers need no CORS preflight with
//!   `text/plain`). Without `sid` the first frame must be `hello`; the answer
//!   then carries the new `sid`. Answer: `{"sid"?, "frames": [...]}` with the
//!   direct replies (welcome, ack, error, pong).
//! - `GET /v1/poll?sid=S&ack=N`: everything else the session has for the
//!   client (events, replays, typing, presence…), each numbered. `ack` is the
//!   highest number the client has received; the relay forgets frames up to
//!   it and resends the rest, so a lost poll response loses nothing. Waits up
//!   to [`LONGPOLL_WAIT_MS`] when there is nothing; answers at once otherwise.
//!   Answer: `{"next": N, "frames": [...]}` (N: the number of the last frame).
//!
//! A session with no request for [`LONGPOLL_SESSION_TTL_MS`] ends; the
//! client says `hello` again with its cursors.

use crate::reply::Problem;
use crate::session::{Peer, Session};
use crate::App;
use protocol::limits::*;
use protocol::{ErrorCode, ServerFrame};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

/// Requests queued to one session task; a client has at most a send and a
/// poll in flight, so a few slots are plenty.
const SESSION_QUEUE: usize = 8;

/// How long an HTTP request waits for its session task to answer a send.
/// Sends wait for durability (a few ms); this only trips on a wedged disk.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

enum Req {
    Send {
        frames: Vec<String>,
        reply: oneshot::Sender<Vec<ServerFrame>>,
    },
    Poll {
        ack: u64,
        reply: oneshot::Sender<PollReply>,
    },
}

/// The frames of one poll answer, already JSON.
pub struct PollReply {
    pub next: u64,
    pub frames: Vec<Arc<str>>,
}

impl PollReply {
    pub fn to_json(&self) -> String {
        let mut s = format!("{{\"next\":{},\"frames\":[", self.next);
        for (i, f) in self.frames.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(f);
        }
        s.push_str("]}");
        s
    }
}

/// Live long-poll sessions by sid.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, mpsc::Sender<Req>>>,
}

impl Registry {
    fn get(&self, sid: &str) -> Option<mpsc::Sender<Req>> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sid)
            .cloned()
    }
    fn insert(&self, sid: String, tx: mpsc::Sender<Req>) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid, tx);
    }
    fn remove(&self, sid: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sid);
    }
}

/// Direct replies go back on the POST; all else waits for a poll.
fn is_reply(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::Welcome(_)
            | ServerFrame::Ack { .. }
            | ServerFrame::Error { .. }
            | ServerFrame::Pong
    )
}

/// Splits a body into frame texts (`protocol::split_post_body`, fuzzed).
fn frames_of(body: &[u8]) -> Result<Vec<String>, Problem> {
    protocol::split_post_body(body).map_err(|e| Problem::new(e.code, e.message))
}

/// POST /v1/send: returns (sid if new, reply frames).
pub async fn send(
    app: Arc<App>,
    sid: Option<String>,
    body: &[u8],
    peer: Peer,
) -> Result<(Option<String>, Vec<ServerFrame>), Problem> {
    if app.shutdown.is_cancelled() {
        return Err(Problem::new(ErrorCode::ShuttingDown, "shutting down"));
    }
    let frames = frames_of(body)?;
    let (tx, new_sid) = match sid {
        Some(sid) => match app.longpoll.get(&sid) {
            Some(tx) => (tx, None),
            None => {
                return Err(Problem::new(
                    ErrorCode::UnknownSession,
                    "unknown or expired sid: say hello again",
                ))
            }
        },
        None => {
            let Ok(permit) = app.connections.clone().try_acquire_owned() else {
                return Err(Problem::new(ErrorCode::Overloaded, "too many connections"));
            };
            let sid = new_sid();
            let (tx, rx) = mpsc::channel(SESSION_QUEUE);
            app.longpoll.insert(sid.clone(), tx.clone());
            app.metrics
                .longpoll_sessions
                .fetch_add(1, Ordering::Relaxed);
            let task_app = app.clone();
            let task_sid = sid.clone();
            app.tasks.spawn(async move {
                let _permit = permit;
                run(task_app.clone(), Session::new(task_app.clone(), peer), rx).await;
                task_app.longpoll.remove(&task_sid);
                task_app
                    .metrics
                    .longpoll_sessions
                    .fetch_sub(1, Ordering::Relaxed);
            });
            (tx, Some(sid))
        }
    };
    let (reply, rx) = oneshot::channel();
    if tx.send(Req::Send { frames, reply }).await.is_err() {
        return Err(Problem::new(
            ErrorCode::UnknownSession,
            "session ended: say hello again",
        ));
    }
    let replies = match tokio::time::timeout(SEND_TIMEOUT, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => {
            return Err(Problem::new(
                ErrorCode::UnknownSession,
                "session ended: say hello again",
            ))
        }
        Err(_) => return Err(Problem::new(ErrorCode::Overloaded, "timed out")),
    };
    // A new session whose hello failed is gone: do not hand out its sid.
    let welcomed = replies.iter().any(|f| matches!(f, ServerFrame::Welcome(_)));
    if let Some(sid) = &new_sid {
        if !welcomed {
            app.longpoll.remove(sid);
            return Ok((None, replies));
        }
    }
    Ok((new_sid, replies))
}

/// GET /v1/poll.
pub async fn poll(app: Arc<App>, sid: &str, ack: u64) -> Result<PollReply, Problem> {
    let Some(tx) = app.longpoll.get(sid) else {
        return Err(Problem::new(
            ErrorCode::UnknownSession,
            "unknown or expired sid: say hello again",
        ));
    };
    let (reply, rx) = oneshot::channel();
    if tx.send(Req::Poll { ack, reply }).await.is_err() {
        return Err(Problem::new(
            ErrorCode::UnknownSession,
            "session ended: say hello again",
        ));
    }
    // The session answers by its own deadline; the slack covers scheduling.
    let wait = app.config.longpoll_wait + Duration::from_secs(5);
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(r)) => Ok(r),
        _ => Ok(PollReply {
            next: ack,
            frames: Vec::new(),
        }),
    }
}

fn new_sid() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
}

/// Numbered frames waiting for the client's ack.
struct Outbox {
    frames: VecDeque<(u64, Arc<str>)>,
    next: u64,
}

impl Outbox {
    fn push(&mut self, f: &ServerFrame) {
        self.next += 1;
        self.frames.push_back((self.next, f.to_json().into()));
    }
    fn ack(&mut self, upto: u64) {
        while self.frames.front().is_some_and(|(n, _)| *n <= upto) {
            self.frames.pop_front();
        }
    }
    fn reply(&self) -> PollReply {
        PollReply {
            next: self.frames.back().map_or(self.next, |(n, _)| *n),
            frames: self.frames.iter().map(|(_, f)| f.clone()).collect(),
        }
    }
}

/// The session task.
async fn run(app: Arc<App>, mut session: Session, mut rx: mpsc::Receiver<Req>) {
    let mut outbox = Outbox {
        frames: VecDeque::new(),
        next: 0,
    };
    let mut parked: Option<(oneshot::Sender<PollReply>, Instant)> = None;
    let mut last_req = Instant::now();
    let ttl = Duration::from_millis(LONGPOLL_SESSION_TTL_MS);
    let wait = app.config.longpoll_wait;
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    loop {
        let mut out = Vec::new();
        let poll_deadline = parked.as_ref().map_or(far, |(_, d)| *d);
        let ttl_deadline = if parked.is_some() {
            far
        } else {
            last_req + ttl
        };
        tokio::select! {
            biased;
            _ = app.shutdown.cancelled() => {
                if let Some((p, _)) = parked.take() {
                    let _ = p.send(outbox.reply());
                }
                break;
            }
            req = rx.recv() => match req {
                None => break,
                Some(Req::Send { frames, reply }) => {
                    last_req = Instant::now();
                    for f in &frames {
                        session.handle_text(f, &mut out).await;
                    }
                    // The POST is answered with its acks: all of its sends
                    // were queued together and share group commits.
                    session.drain_acks(&mut out).await;
                    session.catch_up_if_lagged(&mut out);
                    let (replies, pushes): (Vec<_>, Vec<_>) = out.drain(..).partition(is_reply);
                    for p in &pushes {
                        outbox.push(p);
                    }
                    let _ = reply.send(replies);
                    if !session.is_established() {
                        // A failed hello leaves nothing to poll for.
                        break;
                    }
                }
                Some(Req::Poll { ack, reply }) => {
                    last_req = Instant::now();
                    outbox.ack(ack);
                    if let Some((old, _)) = parked.take() {
                        // A newer poll replaces an older one (client retried).
                        let _ = old.send(PollReply { next: ack, frames: Vec::new() });
                    }
                    if outbox.frames.is_empty() {
                        parked = Some((reply, Instant::now() + wait));
                    } else {
                        let _ = reply.send(outbox.reply());
                    }
                }
            },
            // Stop taking pushes while the outbox is full: the hub then marks
            // us lagged and we replay from the store once the client catches up.
            push = session.next_push(), if outbox.frames.len() < LONGPOLL_BUFFER_FRAMES => {
                session.handle_push(&push, &mut out);
                session.catch_up_if_lagged(&mut out);
                for p in &out {
                    outbox.push(p);
                }
            }
            _ = sleep_until(poll_deadline), if parked.is_some() => {
                if let Some((p, _)) = parked.take() {
                    let _ = p.send(outbox.reply());
                }
                last_req = Instant::now();
            }
            _ = sleep_until(ttl_deadline) => {
                tracing::debug!("long-poll session expired");
                break;
            }
        }
        if !outbox.frames.is_empty() {
            if let Some((p, _)) = parked.take() {
                let _ = p.send(outbox.reply());
            }
        }
    }
}
