//! The host page's JS API: `kefu(name, a, b)` calls (boot.js forwards them
//! to [`command`]) and the events the page subscribes to with `on`
//! (`ready`, `open`, `close`, `message`, `unread`).

use crate::js::*;
use crate::{boot, with, Widget};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The JS API entry: `kefu(name, a, b)` from boot.js.
#[wasm_bindgen]
pub fn command(name: &str, a: JsValue, b: JsValue) {
    match name {
        "boot" => boot(&a),
        "open" => with(|w| w.set_open(true, true)),
        "close" => with(|w| w.set_open(false, true)),
        "toggle" => with(|w| w.set_open(!w.open, true)),
        "send" => {
            if let Some(text) = a.as_string() {
                with(|w| {
                    w.send(text);
                });
            }
        }
        "identify" => with(|w| w.identify(a)),
        "on" => {
            if let (Some(ev), Ok(f)) = (a.as_string(), b.dyn_into::<js_sys::Function>()) {
                with(|w| w.hooks.on(ev, f));
            }
        }
        "page" => with(|w| w.page()),
        _ => {}
    }
}

/// The host page's event handlers.
#[derive(Default)]
pub struct Hooks {
    /// The first `welcome` came: `ready` fired (and fires at once for
    /// handlers added later).
    ready: bool,
    handlers: Vec<(String, js_sys::Function)>,
}

impl Hooks {
    pub fn on(&mut self, ev: String, f: js_sys::Function) {
        if ev == "ready" && self.ready {
            call_later(&f, JsValue::UNDEFINED);
        }
        self.handlers.push((ev, f));
    }

    /// Calls every handler of `ev`, later (see [`call_later`]).
    pub fn emit(&self, ev: &str, arg: JsValue) {
        for (e, f) in &self.handlers {
            if e == ev {
                call_later(f, arg.clone());
            }
        }
    }

    /// Fires `ready` once, on the first welcome.
    pub fn ready(&mut self) {
        if !self.ready {
            self.ready = true;
            self.emit("ready", JsValue::UNDEFINED);
        }
    }
}

impl Widget {
    /// `kefu('identify', user)`: identity travels in hello, so an open
    /// socket is replaced to present it.
    fn identify(&mut self, user: JsValue) {
        if !user.is_object() {
            return;
        }
        self.me.user = user;
        if self.conn.link.has_socket() {
            self.drop_socket();
            self.connect();
        }
    }

    /// Reports the current page (on welcome and on SPA navigation).
    pub(crate) fn page(&self) {
        let Some(doc) = window().document() else {
            return;
        };
        let f = obj();
        set(&f, "type", "page");
        set(&f, "url", window().location().href().unwrap_or_default());
        // Cut to the relay's limit in bytes, at a character's edge.
        let mut title = doc.title();
        let mut n = title.len().min(protocol::limits::MAX_TITLE_BYTES);
        while !title.is_char_boundary(n) {
            n -= 1;
        }
        title.truncate(n);
        set(&f, "title", title);
        let r = doc.referrer();
        if !r.is_empty() {
            set(&f, "referrer", r);
        }
        self.conn.send(&f);
    }
}
