//! The live connection: the WebSocket, the visitor's `hello`, the wait for
//! `welcome`, heartbeats, and reconnecting with backoff and full jitter —
//! except after the relay refused the page's origin: one warning in the
//! page's console, one retry after [`REFUSED_RETRY_MS`], then no more.
//!
//! [`Link`] makes every timing decision from explicit `now_ms` inputs (no
//! socket, no clock), so `cargo test -p widget` checks it natively;
//! [`Connection`] owns the socket and acts on those decisions.

use crate::js::*;
use crate::{with, Widget};
use protocol::timing::{reconnect_delay_ms, REFUSED_RETRY_MS, WELCOME_TIMEOUT_MS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// A live socket that heard nothing for this many heartbeats is dead.
const DEAD_AFTER_HEARTBEATS: f64 = 2.4;
/// The shortest heartbeat the widget accepts from `welcome` (ms).
const MIN_HEARTBEAT_MS: f64 = 1_000.0;

/// Who the visitor is to the relay, and where the relay is.
pub struct Visitor {
    /// `http(s)://relay`, for uploads and file links.
    pub base: String,
    pub site: String,
    /// Random, kept per site; the relay binds it to `token`.
    pub id: String,
    pub token: Option<String>,
    /// The host page's `kefu('identify', user)`, presented in `hello`.
    pub user: JsValue,
    /// The host page's `kefu('set', {team})`, presented in `hello`: the
    /// team a new conversation is routed to (a valid id; null or
    /// undefined: the whole site, and `JSON.stringify` leaves undefined out).
    pub team: JsValue,
    /// The loader's `data-channel` (`page` on the hosted chat page;
    /// undefined elsewhere), presented in `hello`.
    pub channel: JsValue,
    /// The host page's `data-lang`, else the browser's language, presented
    /// in `hello`: the relay answers in the site's language or this one.
    pub lang: String,
}

impl Visitor {
    /// `?site=…&visitor=…&token=…`: the credentials of the file routes.
    pub fn creds(&self) -> String {
        let mut q = String::from("?site=");
        q.push_str(&enc(&self.site));
        q.push_str("&visitor=");
        q.push_str(&enc(&self.id));
        q.push_str("&token=");
        q.push_str(&enc(self.token.as_deref().unwrap_or("")));
        q
    }
}

/// Where the current socket is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// No socket.
    Idle,
    /// A socket exists; the relay has not said `welcome` on it yet.
    Opening,
    /// `welcome` arrived: frames flow, heartbeats run.
    Live,
}

/// What the connection's clock asks for at a tick.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Nothing to do.
    Wait,
    /// A heartbeat is due: send `ping`.
    Ping,
    /// The socket is given up (no `welcome` in time, or silent for too
    /// long): drop it and connect again after this many ms.
    Retry(u32),
}

/// The connection's decisions: backoff, the wait for `welcome`,
/// heartbeats. Times are ms on one clock (`Date.now()` in the browser).
pub struct Link {
    phase: Phase,
    /// Failed attempts since the last `welcome`: the backoff's exponent.
    attempts: u32,
    /// From `welcome`; the relay's default until then.
    heartbeat_ms: f64,
    /// The last frame heard, or when the socket was made.
    last_rx: f64,
    last_ping: f64,
}

impl Link {
    pub fn new(now_ms: f64) -> Link {
        Link {
            phase: Phase::Idle,
            attempts: 0,
            heartbeat_ms: protocol::limits::HEARTBEAT_INTERVAL_MS as f64,
            last_rx: now_ms,
            last_ping: now_ms,
        }
    }

    /// The relay said `welcome` on the current socket.
    pub fn live(&self) -> bool {
        self.phase == Phase::Live
    }

    /// A socket exists (waiting for `welcome`, or live).
    pub fn has_socket(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// A socket was made at `now_ms`: `welcome` is due within
    /// [`WELCOME_TIMEOUT_MS`].
    pub fn opening(&mut self, now_ms: f64) {
        self.phase = Phase::Opening;
        self.last_rx = now_ms;
    }

    /// A frame arrived at `now_ms`.
    pub fn heard(&mut self, now_ms: f64) {
        self.last_rx = now_ms;
    }

    /// `welcome`: live, with the relay's heartbeat; the backoff starts over.
    pub fn welcomed(&mut self, heartbeat_ms: f64) {
        self.phase = Phase::Live;
        self.attempts = 0;
        self.heartbeat_ms = heartbeat_ms.max(MIN_HEARTBEAT_MS);
    }

    /// The socket is gone (closed, dropped or given up).
    pub fn gone(&mut self) {
        self.phase = Phase::Idle;
    }

    /// An attempt failed: the wait before the next one (ms), given a
    /// uniform draw `r` in [0, 1). Each failure doubles the cap.
    pub fn failed(&mut self, r: f64) -> u32 {
        let wait = reconnect_delay_ms(self.attempts, r);
        self.attempts = self.attempts.saturating_add(1);
        wait
    }

    /// The network or the tab came back: the next attempt goes at once,
    /// and the backoff starts over.
    pub fn fresh(&mut self) {
        self.attempts = 0;
    }

    /// Called about once a second; `r` is a uniform draw for the jitter.
    pub fn tick(&mut self, now_ms: f64, r: f64) -> Step {
        let silent = now_ms - self.last_rx;
        let given_up = match self.phase {
            Phase::Idle => false,
            // A socket that opened but never said welcome (a proxy that
            // accepts and forwards nothing): give up on it and retry.
            Phase::Opening => silent > f64::from(WELCOME_TIMEOUT_MS),
            // Dead: nothing heard for two heartbeats and more.
            Phase::Live => silent > self.heartbeat_ms * DEAD_AFTER_HEARTBEATS,
        };
        if given_up {
            self.gone();
            return Step::Retry(self.failed(r));
        }
        if self.phase == Phase::Live && now_ms - self.last_ping > self.heartbeat_ms {
            self.last_ping = now_ms;
            return Step::Ping;
        }
        Step::Wait
    }
}

/// The WebSocket to the relay and its [`Link`].
pub struct Connection {
    url: String,
    sock: Option<WebSocket>,
    /// Bumped per socket: callbacks of an old socket are ignored.
    gen: u32,
    pub link: Link,
    /// How often the relay refused this page's origin since the last
    /// welcome: no reconnecting while it is above 0.
    pub refused: u32,
}

impl Connection {
    pub fn new(url: String) -> Connection {
        Connection {
            url,
            sock: None,
            gen: 0,
            link: Link::new(now()),
            refused: 0,
        }
    }

    /// Sends a frame if the socket is open (whether welcomed or not).
    pub fn send(&self, frame: &JsValue) {
        if let Some(s) = &self.sock {
            if s.ready_state() == WebSocket::OPEN {
                let _ = s.send_with_str(&stringify(frame));
            }
        }
    }

    /// Forgets the socket, closing it; its callbacks go inert.
    pub fn drop_socket(&mut self) {
        self.gen = self.gen.wrapping_add(1);
        if let Some(s) = self.sock.take() {
            let _ = s.close();
        }
        self.link.gone();
    }

    /// Connects again after `ms`, unless a socket exists by then or the
    /// current socket generation has moved on.
    pub fn retry_in(&self, ms: u32) {
        let gen = self.gen;
        timeout(ms as i32, move || {
            with(|w| {
                if w.conn.gen == gen && !w.conn.link.has_socket() {
                    w.connect()
                }
            })
        });
    }

    /// Makes a socket whose callbacks reach the widget while it is current.
    fn open(&mut self) -> bool {
        let Ok(ws) = WebSocket::new(&self.url) else {
            return false;
        };
        self.gen = self.gen.wrapping_add(1);
        let gen = self.gen;
        let onopen = Closure::<dyn FnMut()>::new(move || {
            with(|w| {
                if w.conn.gen == gen {
                    w.on_open()
                }
            })
        });
        let onmsg = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(s) = e.data().as_string() {
                with(|w| {
                    if w.conn.gen == gen {
                        w.on_frame(&s)
                    }
                });
            }
        });
        let onclose = Closure::<dyn FnMut()>::new(move || {
            with(|w| {
                if w.conn.gen == gen {
                    w.on_close()
                }
            })
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmsg.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        // The socket owns its handlers from here on; they are inert once
        // `gen` moves on.
        onopen.forget();
        onmsg.forget();
        onclose.forget();
        self.sock = Some(ws);
        self.link.opening(now());
        true
    }
}

impl Widget {
    #[inline(never)]
    pub(crate) fn connect(&mut self) {
        if self.conn.link.has_socket() {
            return;
        }
        if !window().navigator().on_line() {
            return self.render();
        }
        if !self.conn.open() {
            let wait = self.conn.link.failed(js_sys::Math::random());
            self.conn.retry_in(wait);
        }
    }

    /// The socket opened: say who we are and where each conversation's
    /// cursor stands, so the relay replays what we missed.
    #[inline(never)]
    fn on_open(&self) {
        let me = &self.me;
        let h = obj();
        set(&h, "type", "hello");
        set(&h, "v", protocol::PROTOCOL_VERSION);
        set(&h, "role", "visitor");
        set(&h, "site", me.site.as_str());
        set(&h, "visitor", me.id.as_str());
        if let Some(t) = &me.token {
            set(&h, "token", t.as_str());
        }
        if me.user.is_object() {
            set(&h, "user", me.user.clone());
        }
        set(&h, "team", me.team.clone());
        set(&h, "channel", me.channel.clone());
        set(&h, "lang", me.lang.as_str());
        set(&h, "cursors", self.chat.cursors_js());
        self.conn.send(&h);
    }

    #[inline(never)]
    fn on_close(&mut self) {
        self.conn.sock = None;
        self.conn.link.gone();
        self.render();
        if self.conn.refused > 0 {
            return;
        }
        let wait = self.conn.link.failed(js_sys::Math::random());
        self.conn.retry_in(wait);
    }

    /// Forgets the socket (closing it) and shows the widget offline.
    pub(crate) fn drop_socket(&mut self) {
        self.conn.drop_socket();
        self.render();
    }

    /// The network or the tab came back: connect at once (iOS Safari drops
    /// the sockets of background tabs).
    pub(crate) fn reconnect_now(&mut self) {
        if !self.conn.link.has_socket() && visible() && self.conn.refused == 0 {
            self.conn.link.fresh();
            self.connect();
        }
    }

    /// The relay refused this page's origin (`origin_not_allowed`): say so
    /// once in the page's console, show "Chat unavailable", and stop —
    /// but for one more try after [`REFUSED_RETRY_MS`], in case the owner
    /// allows the origin meanwhile.
    #[inline(never)]
    pub(crate) fn refused(&mut self) {
        if self.conn.refused == 0 {
            let origin = window().location().origin().unwrap_or_default();
            let msg = [
                "kefu: the chat is unavailable on this page: its origin ",
                &origin,
                " is not allowed for site \"",
                &self.me.site,
                "\". Add it under \"Allowed origins\" in the site's settings of the kefu console (",
                &self.me.base,
                "/console/).",
            ]
            .concat();
            web_sys::console::warn_1(&msg.into());
        }
        self.conn.refused += 1;
        self.conn.drop_socket();
        if self.conn.refused == 1 {
            self.conn.retry_in(REFUSED_RETRY_MS);
        }
        self.render();
    }

    /// One timer drives heartbeats and dead-socket detection.
    pub(crate) fn tick(&mut self) {
        match self.conn.link.tick(now(), js_sys::Math::random()) {
            Step::Wait => {}
            Step::Ping => {
                let p = obj();
                set(&p, "type", "ping");
                self.conn.send(&p);
            }
            Step::Retry(wait) => {
                self.drop_socket();
                self.conn.retry_in(wait);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::timing::{RECONNECT_FIRST_MS, RECONNECT_MAX_MS, RECONNECT_MIN_MS};

    /// A draw just below 1: the wait is (almost) the cap.
    const TOP: f64 = 0.999_999;

    /// The widget's reconnect waits: the cap doubles per failure from
    /// RECONNECT_FIRST_MS up to RECONNECT_MAX_MS, and the wait is drawn
    /// uniformly below the cap (full jitter), never under RECONNECT_MIN_MS.
    #[test]
    fn delays_double_with_full_jitter_up_to_the_cap() {
        let mut caps = Vec::new();
        let mut link = Link::new(0.0);
        for _ in 0..10 {
            caps.push(link.failed(TOP));
        }
        let first = RECONNECT_FIRST_MS;
        assert_eq!(
            caps[..6],
            [
                first,
                2 * first,
                4 * first,
                8 * first,
                16 * first,
                32 * first
            ]
            .map(|c| c.min(RECONNECT_MAX_MS) - 1)
        );
        assert!(
            caps[6..].iter().all(|&c| c == RECONNECT_MAX_MS - 1),
            "{caps:?}"
        );
        // Full jitter: the wait is the draw times the cap…
        let mut link = Link::new(0.0);
        for _ in 0..3 {
            link.failed(0.0);
        }
        assert_eq!(link.failed(0.5), 8 * first / 2);
        assert_eq!(link.failed(0.25), 16 * first / 4);
        // …with a floor, so a draw near zero does not hammer the relay.
        assert_eq!(link.failed(0.0), RECONNECT_MIN_MS);
    }

    /// After a welcome the next failure waits at most the first delay again.
    #[test]
    fn a_welcome_resets_the_attempt_count() {
        let mut link = Link::new(0.0);
        for _ in 0..8 {
            link.failed(TOP);
        }
        assert_eq!(link.failed(TOP), RECONNECT_MAX_MS - 1);
        link.opening(1_000.0);
        link.welcomed(25_000.0);
        assert!(link.live());
        assert_eq!(link.failed(TOP), RECONNECT_FIRST_MS - 1);
        assert_eq!(link.failed(TOP), 2 * RECONNECT_FIRST_MS - 1);
        // The network coming back starts over too.
        link.fresh();
        assert_eq!(link.failed(TOP), RECONNECT_FIRST_MS - 1);
    }

    /// A socket that opens but never says welcome is given up after
    /// WELCOME_TIMEOUT_MS, and that counts as a failed attempt.
    #[test]
    fn no_welcome_in_time_is_a_failed_attempt() {
        let t0 = 1_700_000_000_000.0;
        let timeout = f64::from(WELCOME_TIMEOUT_MS);
        let mut link = Link::new(t0);
        link.failed(TOP); // one failure before: the next cap is doubled
        link.opening(t0);
        assert_eq!(link.tick(t0 + 1_000.0, TOP), Step::Wait);
        assert_eq!(link.tick(t0 + timeout, TOP), Step::Wait);
        assert!(link.has_socket());
        assert_eq!(
            link.tick(t0 + timeout + 1.0, TOP),
            Step::Retry(2 * RECONNECT_FIRST_MS - 1)
        );
        assert!(!link.has_socket() && !link.live());
        // Counted: the attempt after it waits for a doubled cap again.
        assert_eq!(link.failed(TOP), 4 * RECONNECT_FIRST_MS - 1);
        // Idle: no socket, nothing to give up.
        assert_eq!(link.tick(t0 + 10.0 * timeout, TOP), Step::Wait);
    }

    /// A frame before welcome (an error) restarts the wait; a welcome ends it.
    #[test]
    fn a_welcome_in_time_keeps_the_socket() {
        let timeout = f64::from(WELCOME_TIMEOUT_MS);
        let mut link = Link::new(0.0);
        link.opening(0.0);
        link.heard(timeout - 1.0);
        assert_eq!(link.tick(timeout + 1.0, TOP), Step::Wait);
        link.welcomed(25_000.0);
        assert_eq!(link.tick(2.0 * timeout, TOP), Step::Wait);
        assert!(link.live());
    }

    /// Live: a ping per heartbeat; silence for 2.4 heartbeats is a failure.
    #[test]
    fn heartbeats_ping_and_silence_is_a_failure() {
        let mut link = Link::new(0.0);
        link.opening(0.0);
        link.welcomed(10_000.0);
        assert_eq!(link.tick(5_000.0, TOP), Step::Wait);
        assert_eq!(link.tick(10_001.0, TOP), Step::Ping);
        assert_eq!(link.tick(12_000.0, TOP), Step::Wait);
        link.heard(12_000.0);
        assert_eq!(link.tick(20_002.0, TOP), Step::Ping);
        assert_eq!(link.tick(36_000.0, TOP), Step::Ping);
        assert_eq!(
            link.tick(36_001.0, TOP),
            Step::Retry(RECONNECT_FIRST_MS - 1)
        );
        assert!(!link.has_socket());
        // A heartbeat below the floor is raised to it.
        link.opening(40_000.0);
        link.welcomed(10.0);
        assert_eq!(link.tick(40_500.0, TOP), Step::Ping);
        assert_eq!(link.tick(41_499.0, TOP), Step::Wait);
        assert_eq!(link.tick(41_501.0, TOP), Step::Ping);
    }
}
