//! The live connection to the relay (`/v1/ws`) and its policy: `hello`
//! with the session token, then on `welcome` the away status, whether the
//! tab is visible, `subscribe` and the resend of the outbox (replies,
//! notes and invitations under their own cids);
//! `visible` again whenever that changes; heartbeats both ways;
//! reconnect with backoff and full jitter ([`protocol::timing`]). The
//! browser's socket is wired to callbacks by [`Socket`], closed for good
//! when dropped.

use crate::model::Pending;
use gloo_timers::callback::{Interval, Timeout};
use protocol::timing::reconnect_delay_ms;
use protocol::{ClientFrame, ErrorCode, Hello, Role, ServerFrame, SiteId, Welcome};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use yew::Callback;

/// What the browser's socket reports.
pub enum SocketEvent {
    Open,
    Text(String),
    Closed { code: u16 },
}

/// One browser WebSocket with its callbacks.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// `ws://` or `wss://` + this page's host + `/v1/ws`.
fn url() -> Option<String> {
    let loc = web_sys::window()?.location();
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/v1/ws", loc.host().ok()?))
}

impl Socket {
    pub fn open(on_event: Callback<SocketEvent>) -> Option<Socket> {
        let ws = WebSocket::new(&url()?).ok()?;
        let cb = on_event.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || cb.emit(SocketEvent::Open));
        let cb = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(t) = e.data().as_string() {
                cb.emit(SocketEvent::Text(t));
            }
        });
        let cb = on_event;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            cb.emit(SocketEvent::Closed { code: e.code() })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends one frame; false if the socket cannot take it now.
    pub fn send(&self, text: &str) -> bool {
        self.ws.ready_state() == WebSocket::OPEN && self.ws.send_with_str(text).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Detach first: a closing socket must not call back into an app
        // that has moved on to a new one.
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Shortest heartbeat the console keeps, whatever `welcome` says (ms).
const MIN_HEARTBEAT_MS: u64 = 1_000;
/// Silence tolerated on an open socket: two heartbeats plus this (ms).
const SILENCE_MARGIN_MS: u64 = 5_000;

#[derive(Clone, Debug, PartialEq)]
pub enum ConnState {
    /// No session yet (login screen).
    Idle,
    Connecting,
    Online,
    /// Waiting to retry at this time (ms since epoch).
    Retrying {
        at: f64,
        attempt: u32,
    },
    /// The browser says there is no network.
    Offline,
}

/// What the connection's own socket and timers report back to it (through
/// the app, which owns the component link).
pub enum ConnMsg {
    Socket(SocketEvent),
    Reconnect,
    Heartbeat,
}

/// What the connection tells the app. Each is moved once, into the app's
/// update: a box around the frame would cost more than its size.
#[allow(clippy::large_enum_variant)]
pub enum ConnEvent {
    /// The relay said `welcome`: call [`Conn::resume`].
    Online,
    /// A frame for the console's state.
    Frame(ServerFrame),
    /// The state changed (banner): draw.
    Changed,
    /// The relay refused the session token: sign out.
    SessionEnded,
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn browser_offline() -> bool {
    web_sys::window().is_some_and(|w| !w.navigator().on_line())
}

fn log(s: &str) {
    web_sys::console::log_1(&s.into());
}

/// The agent's one live connection.
pub struct Conn {
    /// Where the socket's events and the timers go (back into [`Conn::handle`]).
    on_msg: Callback<ConnMsg>,
    /// The session token `hello` presents; none while signed out.
    token: Option<String>,
    socket: Option<Socket>,
    state: ConnState,
    /// Failed attempts since the last `welcome`: the backoff's exponent.
    attempt: u32,
    retry: Option<Timeout>,
    heartbeat: Option<Interval>,
    heartbeat_ms: u64,
    /// When the relay was last heard from: a silent socket is dead.
    last_rx: f64,
    /// Whether the agent can see this tab: the relay pushes their other
    /// devices only while none of their tabs is visible.
    visible: bool,
}

impl Conn {
    pub fn new(on_msg: Callback<ConnMsg>) -> Conn {
        Conn {
            on_msg,
            token: None,
            socket: None,
            state: ConnState::Idle,
            attempt: 0,
            retry: None,
            heartbeat: None,
            heartbeat_ms: protocol::limits::HEARTBEAT_INTERVAL_MS,
            last_rx: now_ms(),
            visible: crate::notify::tab_visible(),
        }
    }

    pub fn state(&self) -> &ConnState {
        &self.state
    }

    pub fn is_online(&self) -> bool {
        self.state == ConnState::Online
    }

    /// Connects (again) with this session token.
    pub fn start(&mut self, token: String) {
        self.token = Some(token);
        self.connect();
    }

    /// Signed out: no socket, no retries.
    pub fn stop(&mut self) {
        self.token = None;
        self.drop_socket();
        self.retry = None;
        self.state = ConnState::Idle;
    }

    /// Sends one frame if online; false otherwise (the outbox resends
    /// whatever must not be lost).
    pub fn send(&self, frame: &ClientFrame) -> bool {
        match &self.socket {
            Some(s) if self.is_online() => serde_json::to_string(frame).is_ok_and(|t| s.send(&t)),
            _ => false,
        }
    }

    /// After `welcome`: the agent's availability, whether they see this
    /// tab, the site's live feed, and every unacked reply or invitation
    /// again under its own cid (the relay stores each once whatever
    /// happened before).
    pub fn resume(&mut self, away: bool, site: Option<&SiteId>, outbox: &[Pending]) {
        if away {
            self.send(&ClientFrame::Status { away: true });
        }
        self.visible = crate::notify::tab_visible();
        self.send(&ClientFrame::Visible {
            visible: self.visible,
        });
        if let Some(site) = site {
            self.send(&ClientFrame::Subscribe { site: site.clone() });
        }
        for f in outbox
            .iter()
            .filter(|p| p.failed.is_none())
            .filter_map(Pending::frame)
        {
            self.send(&f);
        }
    }

    /// The tab was shown or hidden: tells the relay when that changed (a
    /// new connection hears it in [`Conn::resume`]).
    pub fn set_visible(&mut self, visible: bool) {
        if visible != self.visible {
            self.visible = visible;
            self.send(&ClientFrame::Visible { visible });
        }
    }

    /// The browser is back on the network: reconnect now.
    pub fn net_online(&mut self) {
        if matches!(self.state, ConnState::Offline | ConnState::Retrying { .. }) {
            self.attempt = 0;
            self.connect();
        }
    }

    /// The browser lost the network: wait for it to come back.
    pub fn net_offline(&mut self) {
        if self.token.is_some() {
            self.drop_socket();
            self.state = ConnState::Offline;
        }
    }

    /// "Retry now", or the tab came back: skip the remaining wait.
    pub fn retry_now(&mut self) {
        if matches!(self.state, ConnState::Retrying { .. }) {
            self.connect();
        }
    }

    /// A socket event or timer of this connection's.
    pub fn handle(&mut self, msg: ConnMsg) -> Option<ConnEvent> {
        match msg {
            ConnMsg::Reconnect => {
                self.connect();
                Some(ConnEvent::Changed)
            }
            ConnMsg::Heartbeat => self.heartbeat(),
            ConnMsg::Socket(SocketEvent::Open) => {
                self.hello();
                None
            }
            ConnMsg::Socket(SocketEvent::Closed { code }) => {
                if self.socket.is_some() {
                    log(&format!("socket closed ({code}); reconnecting"));
                    self.connection_lost();
                }
                Some(ConnEvent::Changed)
            }
            ConnMsg::Socket(SocketEvent::Text(t)) => {
                self.last_rx = now_ms();
                let frame = serde_json::from_str::<ServerFrame>(&t).ok()?;
                self.on_frame(frame)
            }
        }
    }

    fn hello(&mut self) {
        let hello = ClientFrame::Hello(Hello {
            v: protocol::PROTOCOL_VERSION,
            role: Role::Agent,
            site: None,
            visitor: None,
            token: self.token.clone(),
            user: None,
            cursors: Default::default(),
            team: None,
            channel: None,
            lang: None,
        });
        if let (Some(s), Ok(text)) = (&self.socket, serde_json::to_string(&hello)) {
            s.send(&text);
        }
        self.last_rx = now_ms();
    }

    fn on_frame(&mut self, frame: ServerFrame) -> Option<ConnEvent> {
        match frame {
            ServerFrame::Welcome(w) => {
                self.welcome(&w);
                Some(ConnEvent::Online)
            }
            ServerFrame::Error { code, .. } if code == ErrorCode::BadToken && !self.is_online() => {
                Some(ConnEvent::SessionEnded)
            }
            ServerFrame::Ping => {
                self.send(&ClientFrame::Pong);
                None
            }
            ServerFrame::Pong => None,
            other => Some(ConnEvent::Frame(other)),
        }
    }

    fn welcome(&mut self, w: &Welcome) {
        self.state = ConnState::Online;
        self.attempt = 0;
        self.heartbeat_ms = w.heartbeat_ms.max(MIN_HEARTBEAT_MS);
        let cb = self.on_msg.clone();
        self.heartbeat = Some(Interval::new(self.heartbeat_ms as u32, move || {
            cb.emit(ConnMsg::Heartbeat)
        }));
    }

    fn heartbeat(&mut self) -> Option<ConnEvent> {
        let limit = (self.heartbeat_ms * 2 + SILENCE_MARGIN_MS) as f64;
        if self.is_online() && now_ms() - self.last_rx > limit {
            // Silent too long: the socket is dead even if the browser has
            // not noticed.
            self.connection_lost();
            return Some(ConnEvent::Changed);
        }
        self.send(&ClientFrame::Ping);
        None
    }

    fn connect(&mut self) {
        if self.token.is_none() {
            return;
        }
        self.drop_socket();
        self.retry = None;
        let cb = self.on_msg.clone();
        match Socket::open(Callback::from(move |e| cb.emit(ConnMsg::Socket(e)))) {
            Some(s) => {
                self.socket = Some(s);
                self.state = ConnState::Connecting;
            }
            None => self.schedule_retry(),
        }
    }

    fn drop_socket(&mut self) {
        self.socket = None;
        self.heartbeat = None;
    }

    fn connection_lost(&mut self) {
        self.drop_socket();
        if browser_offline() {
            self.state = ConnState::Offline;
        } else {
            self.schedule_retry();
        }
    }

    fn schedule_retry(&mut self) {
        let delay = reconnect_delay_ms(self.attempt, js_sys::Math::random());
        self.attempt += 1;
        self.state = ConnState::Retrying {
            at: now_ms() + f64::from(delay),
            attempt: self.attempt,
        };
        let cb = self.on_msg.clone();
        self.retry = Some(Timeout::new(delay, move || cb.emit(ConnMsg::Reconnect)));
    }
}
