//! kefu's visitor widget: Rust compiled to wasm, no UI framework (size
//! matters on other people's pages). `www/boot.js` loads it, replays the
//! snippet's queued `kefu(...)` calls into [`command`], and reports SPA
//! navigation.
//!
//! # Layout
//! - `lib.rs`: the widget's state and behaviour — connection (WebSocket,
//!   heartbeats, reconnect with backoff + jitter), outbox, cursors, the JS API.
//! - [`view`]: the DOM inside a shadow root; text only, never markup.
//! - [`storage`]: localStorage per site, cookie fallback.
//! - [`js`]: small helpers over js_sys (frames via the browser's JSON).

pub mod js;
pub mod storage;
pub mod view;

use js::*;
use protocol::texts::{self as i18n, Texts};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// Messages kept in the local log (and so re-rendered after a reload).
const LOG_KEEP: usize = 200;
/// Reconnect backoff: first delay and cap (ms); full jitter on top.
const BACKOFF_MIN_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 30_000.0;
/// A typing notice is withdrawn after this much input silence (ms).
const TYPING_IDLE_MS: i32 = 3_000;
/// With the site's draft preview on, the unsent text goes to agents at
/// most this often (ms; the relay allows 120 typing frames a minute).
const DRAFT_EVERY_MS: f64 = 800.0;
/// While the visitor keeps typing, "on" is repeated this often, so agents
/// can expire a notice whose "off" never comes (a closed tab).
const TYPING_REPEAT_MS: f64 = 4_000.0;
/// The agent's typing indicator hides by itself after this (ms).
const AGENT_TYPING_MS: i32 = 6_000;

thread_local! {
    static W: RefCell<Option<Widget>> = const { RefCell::new(None) };
}

/// Runs `f` on the widget, if booted. Never re-entered: host callbacks are
/// called later (`js::call_later`).
fn with(f: impl FnOnce(&mut Widget)) {
    W.with(|w| {
        if let Ok(mut w) = w.try_borrow_mut() {
            if let Some(w) = w.as_mut() {
                f(w)
            }
        }
    })
}

/// A message as the widget shows it.
struct Msg {
    conv: String,
    /// 0 until acked.
    seq: u64,
    cid: String,
    mine: bool,
    name: String,
    text: String,
    /// The attachment (the event's `file` object); `null` while uploading.
    file: JsValue,
    /// A local notice (an upload that failed), never stored.
    sys: bool,
}

impl Msg {
    /// The visitor's own message before its ack: `file` is the attachment,
    /// `null` while it uploads, undefined for text.
    fn mine(cid: String, text: String, file: JsValue) -> Msg {
        Msg {
            conv: String::new(),
            seq: 0,
            cid,
            mine: true,
            name: String::new(),
            text,
            file,
            sys: false,
        }
    }
}

/// An unacked send: cid, text, attachment (or undefined).
type Out = (String, String, JsValue);

/// Upload attempts on network errors before giving up (same bytes, same
/// file id: a retry is stored once).
const UPLOAD_TRIES: u32 = 5;

struct Widget {
    site: String,
    /// `http(s)://relay` for uploads and file links.
    base: String,
    ws_url: String,
    t: &'static Texts,
    store: storage::Storage,
    view: view::View,
    vid: String,
    token: Option<String>,
    user: JsValue,
    sock: Option<WebSocket>,
    /// Bumped per socket: callbacks of an old socket are ignored.
    gen: u32,
    connected: bool,
    attempts: u32,
    heartbeat_ms: f64,
    last_rx: f64,
    last_ping: f64,
    conv: Option<String>,
    cursors: Vec<(String, u64)>,
    msgs: Vec<Msg>,
    /// Unacked sends, in order. Persisted.
    outbox: Vec<Out>,
    agent_read: u64,
    agents_online: bool,
    open: bool,
    unread: u64,
    greeting: String,
    offline_text: String,
    typing_timer: Option<i32>,
    agent_typing_timer: Option<i32>,
    /// The owner enabled the draft preview: typing notices carry the text.
    draft_preview: bool,
    draft_sent_at: f64,
    /// The trailing draft update after a throttled keystroke.
    draft_timer: Option<i32>,
    ready: bool,
    handlers: Vec<(String, js_sys::Function)>,
    /// Kept alive as long as the widget.
    _listeners: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

/// The JS API entry: `kefu(name, a, b)` from boot.js.
#[wasm_bindgen]
pub fn command(name: &str, a: JsValue, b: JsValue) {
    match name {
        "boot" => boot(&a),
        "open" => with(|w| w.set_open(true)),
        "close" => with(|w| w.set_open(false)),
        "toggle" => with(|w| w.set_open(!w.open)),
        "send" => {
            if let Some(text) = a.as_string() {
                with(|w| w.send(text));
            }
        }
        "identify" => with(|w| w.identify(a)),
        "on" => {
            if let (Some(ev), Ok(f)) = (a.as_string(), b.dyn_into::<js_sys::Function>()) {
                with(|w| w.on(ev, f));
            }
        }
        "page" => with(|w| w.page()),
        _ => {}
    }
}

fn boot(cfg: &JsValue) {
    if W.with(|w| w.borrow().is_some()) {
        return;
    }
    let Some(site) = get_str(cfg, "site").filter(|s| !s.is_empty()) else {
        return;
    };
    let base = get_str(cfg, "base").unwrap_or_default();
    let ws_url = if let Some(rest) = base.strip_prefix("https://") {
        ["wss://", rest, "/v1/ws"].concat()
    } else if let Some(rest) = base.strip_prefix("http://") {
        ["ws://", rest, "/v1/ws"].concat()
    } else {
        return;
    };
    let lang = get_str(cfg, "lang")
        .or_else(|| window().navigator().language())
        .unwrap_or_default();
    let t = i18n::pick(&lang);
    let Some(view) = view::View::mount(t) else {
        return;
    };
    view.style("#0b6e4f", false);
    let store = storage::Storage::new(&site);
    let vid = store.get("vid").unwrap_or_else(|| {
        let v = new_id("v");
        store.set("vid", &v);
        v
    });
    let mut w = Widget {
        site,
        base,
        ws_url,
        t,
        token: store.get("tok"),
        vid,
        store,
        view,
        user: JsValue::UNDEFINED,
        sock: None,
        gen: 0,
        connected: false,
        attempts: 0,
        heartbeat_ms: protocol::limits::HEARTBEAT_INTERVAL_MS as f64,
        last_rx: now(),
        last_ping: now(),
        conv: None,
        cursors: Vec::new(),
        msgs: Vec::new(),
        outbox: Vec::new(),
        agent_read: 0,
        agents_online: false,
        open: false,
        unread: 0,
        greeting: String::new(),
        offline_text: String::new(),
        typing_timer: None,
        agent_typing_timer: None,
        draft_preview: false,
        draft_sent_at: 0.0,
        draft_timer: None,
        ready: false,
        handlers: Vec::new(),
        _listeners: Vec::new(),
    };
    w.load();
    w.listen();
    w.render();
    W.with(|cell| *cell.borrow_mut() = Some(w));
    with(|w| w.connect());
    // One timer drives heartbeats and dead-socket detection.
    let tick = Closure::<dyn FnMut()>::new(|| with(|w| w.tick()));
    let _ = window().set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        1_000,
    );
    tick.forget();
}

impl Widget {
    // --- persistence ------------------------------------------------------

    fn load(&mut self) {
        if let Some(out) = self
            .store
            .get("out")
            .and_then(|s| js_sys::JSON::parse(&s).ok())
        {
            for item in array(&out) {
                if let (Some(c), Some(t)) = (get_str(&item, "cid"), get_str(&item, "text")) {
                    self.outbox.push((c, t, get(&item, "file")));
                }
            }
        }
        if let Some(log) = self
            .store
            .get("log")
            .and_then(|s| js_sys::JSON::parse(&s).ok())
        {
            for m in array(&log) {
                self.msgs.push(Msg {
                    conv: get_str(&m, "conv").unwrap_or_default(),
                    seq: get_u64(&m, "seq"),
                    cid: get_str(&m, "cid").unwrap_or_default(),
                    mine: get_bool(&m, "mine"),
                    name: get_str(&m, "name").unwrap_or_default(),
                    text: get_str(&m, "text").unwrap_or_default(),
                    file: get(&m, "file"),
                    sys: false,
                });
            }
        }
        if let Some(cur) = self.store.get("cur").and_then(|s| parse(&s)) {
            for k in js_sys::Reflect::own_keys(&cur)
                .map(|a| a.iter().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                if let Some(k) = k.as_string() {
                    let seq = get_u64(&cur, &k);
                    self.cursors.push((k, seq));
                }
            }
        }
        self.conv = self.store.get("conv");
        // Unacked messages from before the reload show as "sending".
        for (cid, text, file) in self.outbox.clone() {
            if !self.msgs.iter().any(|m| m.cid == cid) {
                self.msgs.push(Msg::mine(cid, text, file));
            }
        }
    }

    fn save(&self) {
        let out = js_sys::Array::new();
        for (cid, text, file) in &self.outbox {
            let o = obj();
            set(&o, "cid", cid.as_str());
            set(&o, "text", text.as_str());
            set(&o, "file", file.clone());
            out.push(&o);
        }
        self.store.set("out", &stringify(&out));
        let log = js_sys::Array::new();
        let start = self.msgs.len().saturating_sub(LOG_KEEP);
        for m in self.msgs[start..].iter().filter(|m| m.seq > 0) {
            let o = obj();
            set(&o, "conv", m.conv.as_str());
            set(&o, "seq", m.seq as f64);
            set(&o, "cid", m.cid.as_str());
            set(&o, "mine", m.mine);
            set(&o, "name", m.name.as_str());
            set(&o, "text", m.text.as_str());
            set(&o, "file", m.file.clone());
            log.push(&o);
        }
        self.store.set("log", &stringify(&log));
        let cur = obj();
        for (c, s) in &self.cursors {
            set(&cur, c, *s as f64);
        }
        self.store.set("cur", &stringify(&cur));
        if let Some(c) = &self.conv {
            self.store.set("conv", c);
        }
    }

    fn cursor(&self, conv: &str) -> u64 {
        self.cursors
            .iter()
            .find(|(c, _)| c == conv)
            .map_or(0, |(_, s)| *s)
    }

    fn set_cursor(&mut self, conv: &str, seq: u64) {
        match self.cursors.iter_mut().find(|(c, _)| c == conv) {
            Some(e) => e.1 = seq,
            None => self.cursors.push((conv.to_string(), seq)),
        }
    }

    // --- DOM events -------------------------------------------------------

    fn listen(&mut self) {
        let mut add =
            |target: &web_sys::EventTarget, ev: &str, f: fn(&mut Widget, web_sys::Event)| {
                let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                    with(|w| f(w, e))
                });
                let _ = target.add_event_listener_with_callback(ev, cb.as_ref().unchecked_ref());
                self._listeners.push(cb);
            };
        add(&self.view.launcher.clone().into(), "click", |w, _| {
            w.set_open(!w.open)
        });
        add(&self.view.close.clone().into(), "click", |w, _| {
            w.set_open(false)
        });
        add(&self.view.form.clone().into(), "submit", |w, e| {
            e.prevent_default();
            let text = w.view.input.value();
            if !text.trim().is_empty() {
                w.view.input.set_value("");
                w.send(text);
            }
        });
        add(&self.view.input.clone().into(), "keydown", |w, e| {
            let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
                e.prevent_default();
                let text = w.view.input.value();
                if !text.trim().is_empty() {
                    w.view.input.set_value("");
                    w.send(text);
                }
            } else if k.key() == "Escape" {
                w.set_open(false);
                let _ = w.view.launcher.focus();
            }
        });
        add(&self.view.input.clone().into(), "input", |w, _| w.typing());
        // Attachments: the paperclip, drag-and-drop, a pasted image.
        add(&self.view.clip.clone().into(), "click", |w, _| {
            w.view.picker.click()
        });
        // Files are read through plain property access (`files`,
        // `dataTransfer`, `clipboardData`): typed bindings for each cost
        // the widget's size budget more than they give.
        add(&self.view.picker.clone().into(), "change", |w, _| {
            let picker: JsValue = w.view.picker.clone().into();
            w.attach_all(&get(&picker, "files"));
            w.view.picker.set_value("");
        });
        add(&self.view.panel.clone().into(), "dragover", |_, e| {
            e.prevent_default()
        });
        add(&self.view.panel.clone().into(), "drop", |w, e| {
            e.prevent_default();
            w.attach_all(&get(&get(&e, "dataTransfer"), "files"));
        });
        add(&self.view.input.clone().into(), "paste", |w, e| {
            let files = get(&get(&e, "clipboardData"), "files");
            if get_u64(&files, "length") > 0 {
                e.prevent_default();
                w.attach_all(&files);
            }
        });
        let win: web_sys::EventTarget = window().into();
        // Reconnect at once when the network or the tab comes back (iOS
        // Safari drops sockets of background tabs).
        add(&win, "online", |w, _| w.reconnect_now());
        add(&win, "focus", |w, _| w.reconnect_now());
        add(&win, "offline", |w, _| w.drop_socket());
        if let Some(doc) = window().document() {
            add(&doc.into(), "visibilitychange", |w, _| w.reconnect_now());
        }
    }

    // --- connection -------------------------------------------------------

    fn connect(&mut self) {
        if self.sock.is_some() {
            return;
        }
        if !window().navigator().on_line() {
            return self.render();
        }
        let Ok(ws) = WebSocket::new(&self.ws_url) else {
            return self.schedule_reconnect();
        };
        self.gen = self.gen.wrapping_add(1);
        let gen = self.gen;
        let onopen = Closure::<dyn FnMut()>::new(move || {
            with(|w| {
                if w.gen == gen {
                    w.on_open()
                }
            })
        });
        let onmsg = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(s) = e.data().as_string() {
                with(|w| {
                    if w.gen == gen {
                        w.on_frame(&s)
                    }
                });
            }
        });
        let onclose = Closure::<dyn FnMut()>::new(move || {
            with(|w| {
                if w.gen == gen {
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
        self.last_rx = now();
    }

    fn on_open(&mut self) {
        let h = obj();
        set(&h, "type", "hello");
        set(&h, "v", protocol::PROTOCOL_VERSION);
        set(&h, "role", "visitor");
        set(&h, "site", self.site.as_str());
        set(&h, "visitor", self.vid.as_str());
        if let Some(t) = &self.token {
            set(&h, "token", t.as_str());
        }
        if self.user.is_object() {
            set(&h, "user", self.user.clone());
        }
        let cur = obj();
        for (c, s) in &self.cursors {
            set(&cur, c, *s as f64);
        }
        set(&h, "cursors", cur);
        self.raw_send(&h);
    }

    fn raw_send(&self, frame: &JsValue) -> bool {
        match &self.sock {
            Some(s) if s.ready_state() == WebSocket::OPEN => {
                s.send_with_str(&stringify(frame)).is_ok()
            }
            _ => false,
        }
    }

    /// Forgets the socket (closing it) and marks the widget offline.
    fn drop_socket(&mut self) {
        self.gen = self.gen.wrapping_add(1);
        if let Some(s) = self.sock.take() {
            let _ = s.close();
        }
        self.connected = false;
        self.render();
    }

    fn on_close(&mut self) {
        self.sock = None;
        self.connected = false;
        self.render();
        self.schedule_reconnect();
    }

    fn schedule_reconnect(&mut self) {
        // Exponential backoff with full jitter.
        let cap = (BACKOFF_MIN_MS * 2f64.powi(self.attempts.min(16) as i32)).min(BACKOFF_MAX_MS);
        let delay = (cap * js_sys::Math::random()).max(100.0);
        self.attempts += 1;
        let gen = self.gen;
        timeout(delay as i32, move || {
            with(|w| {
                if w.gen == gen && w.sock.is_none() {
                    w.connect()
                }
            })
        });
    }

    fn reconnect_now(&mut self) {
        let visible = window().document().is_none_or(|d| !d.hidden());
        if self.sock.is_none() && visible {
            self.attempts = 0;
            self.connect();
        }
    }

    fn tick(&mut self) {
        let t = now();
        if !self.connected {
            // A socket that opened but never said welcome (a proxy that
            // accepts and forwards nothing): give up on it and retry.
            if self.sock.is_some() && t - self.last_rx > protocol::limits::HELLO_TIMEOUT_MS as f64 {
                self.drop_socket();
                self.schedule_reconnect();
            }
            return;
        }
        if t - self.last_rx > self.heartbeat_ms * 2.4 {
            // Dead: nothing heard for two heartbeats and more.
            self.drop_socket();
            self.schedule_reconnect();
        } else if t - self.last_ping > self.heartbeat_ms {
            self.last_ping = t;
            let p = obj();
            set(&p, "type", "ping");
            self.raw_send(&p);
        }
    }

    fn on_frame(&mut self, text: &str) {
        self.last_rx = now();
        let Some(f) = parse(text) else { return };
        match get_str(&f, "type").as_deref() {
            Some("welcome") => self.on_welcome(&f),
            Some("ack") => self.on_ack(&f),
            Some("event") => self.on_event(&f),
            Some("typing") => self.on_typing(&f),
            Some("read") if get_str(&f, "side").as_deref() == Some("agent") => {
                self.agent_read = self.agent_read.max(get_u64(&f, "seq"));
                self.render();
            }
            Some("agents") => {
                self.agents_online = get_bool(&f, "online");
                self.render();
            }
            Some("ping") => {
                let p = obj();
                set(&p, "type", "pong");
                self.raw_send(&p);
            }
            Some("error") => self.on_error(&f),
            _ => {}
        }
    }

    fn on_welcome(&mut self, f: &JsValue) {
        self.connected = true;
        self.attempts = 0;
        if let Some(t) = get_str(f, "token") {
            self.store.set("tok", &t);
            self.token = Some(t);
        }
        self.heartbeat_ms = (get_u64(f, "heartbeat_ms") as f64).max(1_000.0);
        self.agents_online = get_bool(f, "agents_online");
        let s = get(f, "settings");
        if s.is_object() {
            let color = get_str(&s, "color").unwrap_or_default();
            self.view
                .style(&color, get_str(&s, "position").as_deref() == Some("left"));
            if let Some(lang) = get_str(&s, "language").filter(|l| !l.is_empty()) {
                self.t = i18n::pick(&lang);
            }
            self.greeting = get_str(&s, "greeting").unwrap_or_default();
            self.offline_text = get_str(&s, "offline_message").unwrap_or_default();
            self.draft_preview = get_bool(&s, "draft_preview");
            self.file_types(&get(&s, "file_types"));
        }
        // The newest open conversation is the one shown.
        let mut latest = None;
        for c in array(&get(f, "convs")) {
            let id = get_str(&c, "id");
            if get_bool(&c, "open") || latest.is_none() {
                latest = id.or(latest);
            }
            self.agent_read = self.agent_read.max(get_u64(&c, "agent_read"));
        }
        if latest.is_some() {
            self.conv = latest;
        }
        // Everything unacked goes (again): the relay stores each cid once.
        for (cid, text, file) in self.outbox.clone() {
            self.send_frame(&cid, &text, &file);
        }
        self.page();
        self.render();
        if !self.ready {
            self.ready = true;
            self.emit("ready", JsValue::UNDEFINED);
        }
    }

    fn on_error(&mut self, f: &JsValue) {
        match get_str(f, "code").as_deref() {
            // Our id is bound to a token we lost: start afresh as a new visitor.
            Some("token_required") | Some("bad_token") => {
                self.vid = new_id("v");
                self.token = None;
                self.store.set("vid", &self.vid);
                self.store.set("tok", "");
                self.cursors.clear();
                self.drop_socket();
                self.connect();
            }
            // A send the relay refused for good: drop it from the outbox so
            // it is not retried forever (rate limits and storage errors are
            // retried on the next reconnect).
            Some("too_large")
            | Some("bad_frame")
            | Some("unknown_conversation")
            | Some("not_found") => {
                if let Some(cid) = get_str(f, "cid") {
                    self.outbox.retain(|(c, _, _)| *c != cid);
                    self.msgs.retain(|m| m.cid != cid || m.seq > 0);
                    self.save();
                    self.render();
                }
            }
            _ => {}
        }
    }

    fn on_ack(&mut self, f: &JsValue) {
        let (Some(cid), Some(conv)) = (get_str(f, "cid"), get_str(f, "conv")) else {
            return;
        };
        let seq = get_u64(f, "seq");
        self.outbox.retain(|(c, _, _)| *c != cid);
        if let Some(m) = self.msgs.iter_mut().find(|m| m.cid == cid) {
            m.seq = seq;
            m.conv = conv.clone();
        }
        self.conv = Some(conv);
        self.save();
        self.render();
    }

    fn on_event(&mut self, f: &JsValue) {
        let (Some(conv), seq) = (get_str(f, "conv"), get_u64(f, "seq")) else {
            return;
        };
        if seq <= self.cursor(&conv) {
            return; // applied already
        }
        self.set_cursor(&conv, seq);
        if get_str(f, "kind").as_deref() != Some("message") {
            self.save();
            return;
        }
        let from = get(f, "from");
        let mine = get_str(&from, "side").as_deref() == Some("visitor");
        let cid = get_str(f, "cid").unwrap_or_default();
        let text = get_str(f, "text").unwrap_or_default();
        self.conv = Some(conv.clone());
        match self.msgs.iter_mut().find(|m| mine && m.cid == cid) {
            Some(m) => {
                m.seq = seq;
                m.conv = conv;
                self.outbox.retain(|(c, _, _)| *c != cid);
            }
            None => {
                let name = get_str(&from, "name").unwrap_or_default();
                if !mine {
                    let e = obj();
                    set(&e, "text", text.as_str());
                    set(&e, "from", name.as_str());
                    set(&e, "seq", seq as f64);
                    self.emit("message", e);
                    self.view.set_typing(None, self.t);
                    if self.open && self.visible() {
                        self.mark_read(seq);
                    } else {
                        self.unread += 1;
                        self.view.set_badge(self.unread);
                        self.emit("unread", JsValue::from_f64(self.unread as f64));
                    }
                }
                self.msgs.push(Msg {
                    conv,
                    seq,
                    cid,
                    mine,
                    name,
                    text,
                    file: get(f, "file"),
                    sys: false,
                });
            }
        }
        self.save();
        self.render();
    }

    fn on_typing(&mut self, f: &JsValue) {
        if get_str(f, "side").as_deref() != Some("agent") {
            return;
        }
        if let Some(id) = self.agent_typing_timer.take() {
            clear_timeout(id);
        }
        if get_bool(f, "on") {
            let name = self
                .msgs
                .iter()
                .rev()
                .find(|m| !m.mine && !m.name.is_empty())
                .map(|m| m.name.clone());
            self.view
                .set_typing(Some(name.as_deref().unwrap_or(self.t.agent)), self.t);
            self.agent_typing_timer = Some(timeout(AGENT_TYPING_MS, || {
                with(|w| w.view.set_typing(None, w.t))
            }));
        } else {
            self.view.set_typing(None, self.t);
        }
    }

    // --- actions ----------------------------------------------------------

    fn send(&mut self, text: String) {
        let text = text.trim().to_string();
        if text.is_empty() || text.len() > protocol::limits::MAX_TEXT_BYTES {
            return;
        }
        let cid = new_id("w");
        self.msgs
            .push(Msg::mine(cid.clone(), text.clone(), JsValue::UNDEFINED));
        self.queue(cid, text, JsValue::UNDEFINED);
        self.stop_typing();
        self.render();
    }

    /// Into the persisted outbox, and out now if connected; resent after
    /// every welcome until acked.
    fn queue(&mut self, cid: String, text: String, file: JsValue) {
        self.outbox.push((cid.clone(), text.clone(), file.clone()));
        self.save();
        self.send_frame(&cid, &text, &file);
    }

    fn send_frame(&self, cid: &str, text: &str, file: &JsValue) {
        let f = obj();
        set(&f, "type", "send");
        set(&f, "cid", cid);
        set(&f, "text", text);
        if let Some(id) = get_str(file, "id") {
            set(&f, "file", id);
        }
        if let Some(c) = &self.conv {
            set(&f, "conv", c.as_str());
        }
        if self.connected {
            self.raw_send(&f);
        }
    }

    // --- attachments --------------------------------------------------------

    /// No paperclip when the site turned attachments off (`welcome`); what
    /// it accepts is checked by the relay, from the bytes.
    fn file_types(&self, types: &JsValue) {
        view::show(&self.view.clip, !array(types).is_empty());
    }

    fn attach_all(&mut self, files: &JsValue) {
        for f in array(files) {
            self.attach(f.unchecked_into());
        }
    }

    /// Shows the file as uploading, uploads it, then sends the message.
    #[inline(never)]
    fn attach(&mut self, file: web_sys::File) {
        let cid = new_id("w");
        let name = file.name();
        if file.size() > protocol::limits::MAX_FILE_BYTES as f64 {
            return self.notice(&name, self.t.too_big);
        }
        self.msgs.push(Msg::mine(cid.clone(), name, JsValue::NULL));
        self.render();
        self.upload(cid, file, 1);
    }

    fn creds(&self) -> String {
        let mut q = String::from("?site=");
        q.push_str(&enc(&self.site));
        q.push_str("&visitor=");
        q.push_str(&enc(&self.vid));
        q.push_str("&token=");
        q.push_str(&enc(self.token.as_deref().unwrap_or("")));
        q
    }

    #[inline(never)]
    fn upload(&self, cid: String, file: web_sys::File, attempt: u32) {
        let Ok(x) = web_sys::XmlHttpRequest::new() else {
            return;
        };
        let url = [
            self.base.as_str(),
            "/v1/files",
            &self.creds(),
            "&name=",
            &enc(&file.name()),
        ]
        .concat();
        let xhr = x.clone();
        let blob: web_sys::Blob = file.clone().into();
        let done = Closure::<dyn FnMut()>::new(move || {
            let status = xhr.status().unwrap_or(0);
            let body = xhr
                .response_text()
                .ok()
                .flatten()
                .and_then(|t| parse(&t))
                .unwrap_or(JsValue::NULL);
            let (cid, file) = (cid.clone(), file.clone());
            with(|w| w.uploaded(cid, file, attempt, status, body));
        });
        x.set_onloadend(Some(done.as_ref().unchecked_ref()));
        done.forget();
        if x.open("POST", &url).is_ok() {
            let _ = x.send_with_opt_blob(Some(&blob));
        }
    }

    #[inline(never)]
    fn uploaded(
        &mut self,
        cid: String,
        file: web_sys::File,
        attempt: u32,
        status: u16,
        body: JsValue,
    ) {
        if status == 200 || status == 201 {
            if let Some(m) = self.msgs.iter_mut().find(|m| m.cid == cid) {
                m.text = String::new();
                m.file = body.clone();
            }
            self.queue(cid, String::new(), body);
            return self.render();
        }
        // Network trouble, a restart, a rate limit: the same bytes again
        // later are the same file.
        // 401: a first visit pasting before the relay's welcome brought
        // the visitor token.
        if (status == 0 || status == 401 || status == 429 || status >= 500)
            && attempt < UPLOAD_TRIES
        {
            let wait =
                (1_000.0 * 2f64.powi(attempt as i32) * (0.5 + js_sys::Math::random())) as i32;
            timeout(wait, move || with(|w| w.upload(cid, file, attempt + 1)));
            return;
        }
        self.msgs.retain(|m| m.cid != cid);
        let why = match get_str(&body, "code").as_deref() {
            Some("too_large") => self.t.too_big,
            Some("unsupported_type") => self.t.bad_type,
            _ => self.t.up_failed,
        };
        self.notice(&file.name(), why);
    }

    /// A local line: "name why".
    #[inline(never)]
    fn notice(&mut self, name: &str, why: &str) {
        let mut text = String::from(name);
        text.push(' ');
        text.push_str(why);
        self.msgs.push(Msg {
            conv: String::new(),
            seq: 0,
            cid: String::new(),
            mine: false,
            name: String::new(),
            text,
            file: JsValue::UNDEFINED,
            sys: true,
        });
        self.render();
    }

    /// A file as a row shows it: thumbnail or card, linking to the file.
    fn file_row(&self, f: &JsValue) -> Option<view::FileRow> {
        if !f.is_object() {
            return None;
        }
        let id = get_str(f, "id")?;
        let mut href = [self.base.as_str(), "/v1/files/", &enc(&id)].concat();
        let creds = self.creds();
        let name = get_str(f, "name").unwrap_or_default();
        let thumb = get_bool(f, "thumb").then(|| {
            let (w, h) = (get_u64(f, "width").max(1), get_u64(f, "height").max(1));
            let side = protocol::limits::THUMB_MAX_SIDE as u64;
            let big = w.max(h);
            let (w, h) = if big > side {
                (w * side / big, h * side / big)
            } else {
                (w, h)
            };
            (
                [href.as_str(), "/thumb", &creds].concat(),
                w.max(1),
                h.max(1),
            )
        });
        href.push_str(&creds);
        let size = get_u64(f, "size");
        let mut meta = if size >= 1024 * 1024 {
            let tenths = size * 10 / (1024 * 1024);
            let mut m = itoa(tenths / 10);
            m.push('.');
            m.push_str(&itoa(tenths % 10));
            m.push_str(" MB");
            m
        } else {
            let mut m = itoa(size.div_ceil(1024));
            m.push_str(" KB");
            m
        };
        if let Some(ext) = name
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| e.len() <= 5)
        {
            meta.push_str(" · ");
            meta.push_str(&ext.to_ascii_uppercase());
        }
        Some(view::FileRow {
            href,
            thumb,
            name,
            meta,
        })
    }

    fn typing(&mut self) {
        let now = js_sys::Date::now();
        let every = if self.draft_preview {
            DRAFT_EVERY_MS
        } else {
            TYPING_REPEAT_MS
        };
        if self.typing_timer.is_none() || now - self.draft_sent_at >= every {
            self.draft_sent_at = now;
            self.typing_frame(true);
        } else if self.draft_preview && self.draft_timer.is_none() {
            // Throttled: the latest text still goes, once the gap is over.
            let wait = (every - (now - self.draft_sent_at)).max(0.0) as i32;
            self.draft_timer = Some(timeout(wait, || {
                with(|w| {
                    w.draft_timer = None;
                    if w.typing_timer.is_some() {
                        w.draft_sent_at = js_sys::Date::now();
                        w.typing_frame(true);
                    }
                })
            }));
        }
        if let Some(id) = self.typing_timer.take() {
            clear_timeout(id);
        }
        self.typing_timer = Some(timeout(TYPING_IDLE_MS, || with(|w| w.stop_typing())));
    }

    fn stop_typing(&mut self) {
        if let Some(id) = self.typing_timer.take() {
            clear_timeout(id);
            self.typing_frame(false);
        }
    }

    fn typing_frame(&self, on: bool) {
        if self.conv.is_none() || !self.connected {
            return;
        }
        let f = obj();
        set(&f, "type", "typing");
        set(&f, "on", on);
        if let Some(c) = &self.conv {
            set(&f, "conv", c.as_str());
        }
        if on && self.draft_preview {
            let text = self.view.input.value();
            let mut end = text.len().min(protocol::limits::MAX_TEXT_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            set(&f, "text", &text[..end]);
        }
        self.raw_send(&f);
    }

    fn mark_read(&self, seq: u64) {
        let Some(conv) = &self.conv else { return };
        let f = obj();
        set(&f, "type", "read");
        set(&f, "conv", conv.as_str());
        set(&f, "seq", seq as f64);
        self.raw_send(&f);
    }

    fn visible(&self) -> bool {
        window().document().is_none_or(|d| !d.hidden())
    }

    fn set_open(&mut self, open: bool) {
        if self.open == open {
            return;
        }
        self.open = open;
        self.view.set_open(open, self.t);
        if open {
            self.unread = 0;
            self.view.set_badge(0);
            if let Some(seq) = self.msgs.iter().filter(|m| !m.mine).map(|m| m.seq).max() {
                self.mark_read(seq);
            }
            self.emit("unread", JsValue::from_f64(0.0));
        }
        self.emit(if open { "open" } else { "close" }, JsValue::UNDEFINED);
    }

    fn identify(&mut self, user: JsValue) {
        if !user.is_object() {
            return;
        }
        self.user = user;
        // Identity travels in hello: reconnect to present it.
        if self.sock.is_some() {
            self.drop_socket();
            self.connect();
        }
    }

    fn on(&mut self, ev: String, f: js_sys::Function) {
        if ev == "ready" && self.ready {
            call_later(&f, JsValue::UNDEFINED);
        }
        self.handlers.push((ev, f));
    }

    fn emit(&self, ev: &str, arg: JsValue) {
        for (e, f) in &self.handlers {
            if e == ev {
                call_later(f, arg.clone());
            }
        }
    }

    /// Reports the current page (on connect and on SPA navigation).
    fn page(&self) {
        let Some(doc) = window().document() else {
            return;
        };
        let f = obj();
        set(&f, "type", "page");
        set(&f, "url", window().location().href().unwrap_or_default());
        set(
            &f,
            "title",
            doc.title().chars().take(500).collect::<String>(),
        );
        let r = doc.referrer();
        if !r.is_empty() {
            set(&f, "referrer", r);
        }
        self.raw_send(&f);
    }

    // --- rendering --------------------------------------------------------

    fn render(&self) {
        let t = self.t;
        let status = if !self.connected {
            t.reconnecting
        } else if self.agents_online {
            t.online
        } else {
            t.away
        };
        self.view.status.set_text_content(Some(status));
        let mut rows = Vec::with_capacity(self.msgs.len() + 2);
        let greet = if self.greeting.is_empty() {
            t.greeting
        } else {
            &self.greeting
        };
        rows.push(view::Row {
            class: "m",
            name: String::new(),
            text: greet.to_string(),
            state: "",
            cid: String::new(),
            file: None,
        });
        if !self.agents_online {
            let off = if self.offline_text.is_empty() {
                t.offline
            } else {
                &self.offline_text
            };
            rows.push(view::Row {
                class: "m sys",
                name: String::new(),
                text: off.to_string(),
                state: "",
                cid: String::new(),
                file: None,
            });
        }
        for m in &self.msgs {
            if m.sys {
                rows.push(view::Row {
                    class: "m sys",
                    name: String::new(),
                    text: m.text.clone(),
                    state: "",
                    cid: String::new(),
                    file: None,
                });
                continue;
            }
            let state = match (m.mine, m.seq) {
                (false, _) => "",
                (true, 0) if m.file.is_null() => t.uploading,
                (true, 0) => t.sending,
                (true, s) if s <= self.agent_read => t.read,
                (true, _) => t.sent,
            };
            let name = if m.mine {
                String::new()
            } else if m.name.is_empty() {
                t.agent.to_string()
            } else {
                m.name.clone()
            };
            rows.push(view::Row {
                class: if m.mine { "m me" } else { "m" },
                name,
                text: m.text.clone(),
                state,
                cid: m.cid.clone(),
                file: self.file_row(&m.file),
            });
        }
        self.view.render(&rows);
        self.view.set_badge(self.unread);
    }
}
