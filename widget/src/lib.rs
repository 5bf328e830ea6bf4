//! kefu's visitor widget: Rust compiled to wasm, no UI framework (size
//! matters on other people's pages). `www/boot.js` loads it, replays the
//! snippet's queued `kefu(...)` calls into [`api::command`], and reports
//! SPA navigation.
//!
//! # Layout
//! - `lib.rs`: boot, the [`Widget`] that holds the parts, DOM events →
//!   actions, rendering.
//! - [`connection`]: the WebSocket, `hello`, the wait for `welcome`,
//!   heartbeats, reconnect backoff ([`connection::Link`] decides, natively
//!   testable).
//! - [`frames`]: the relay's frames applied to the parts.
//! - [`state`]: the conversation: cursors, the seq-ordered log, read marks.
//! - [`attention`]: badge, preview card, beep, title flash, read marks out.
//! - [`when`]: message times in local time.
//! - [`outbox`]: unacked sends in localStorage, resent with the same cid.
//! - [`forms`]: the offline and pre-chat forms, the rating, "Email me
//!   this chat".
//! - [`upload`]: attachments: upload with retries, how a file shows.
//! - [`typing`]: typing notices both ways, the draft preview.
//! - [`api`]: the host page's JS API (`kefu(...)`) and its events.
//! - [`view`]: the DOM inside a shadow root; text only, never markup.
//! - [`storage`]: localStorage per site (the log, the outbox, whether the
//!   panel is open), cookie fallback.
//! - [`js`]: small helpers over js_sys (frames via the browser's JSON).
//!
//! Every part is a field of [`Widget`]; behaviour that reads several
//! parts is an `impl Widget` block in the module of the part it serves.

pub mod api;
pub mod attention;
pub mod connection;
pub mod forms;
pub mod frames;
pub mod js;
pub mod outbox;
pub mod state;
pub mod storage;
pub mod typing;
pub mod upload;
pub mod view;
pub mod when;

use connection::{Connection, Visitor};
use js::*;
use outbox::Outbox;
use protocol::texts::{self, Texts};
use state::{Chat, Msg};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// How often the connection's clock ticks (ms).
const TICK_MS: i32 = 1_000;

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

/// The widget: one field per part.
pub struct Widget {
    t: &'static Texts,
    store: storage::Storage,
    view: view::View,
    me: Visitor,
    conn: Connection,
    chat: Chat,
    outbox: Outbox<JsValue>,
    typing: typing::Typing,
    hooks: api::Hooks,
    /// `boot.js`'s browser effects: `beep()`, `flash(prefix, ms)`,
    /// `when(ts, lang, yesterday)`.
    fx: JsValue,
    /// The site's own greeting and away texts (empty: the built-in ones).
    greeting: String,
    offline_text: String,
    /// The site's `on_agent_message` is `open`: a message opens the panel.
    open_on_message: bool,
    attn: attention::Attention,
    forms: forms::Forms,
    /// The panel is open; kept per site, so it stays open across pages.
    open: bool,
    /// Kept alive as long as the widget.
    _listeners: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

/// `kefu('boot', {site, base, lang})`, once.
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
    let t = texts::pick(&lang);
    let fx = get(cfg, "fx");
    let Some(view) = view::View::mount(t, &fx) else {
        return;
    };
    view.style(protocol::api::DEFAULT_COLOR, false);
    let store = storage::Storage::new(&site);
    let id = store.get("vid").unwrap_or_else(|| {
        let v = new_id("v");
        store.set("vid", &v);
        v
    });
    let outbox = Outbox::load(&store);
    let mut chat = Chat::load(&store);
    // Unacked messages from before the reload show as "sending".
    for p in outbox.items().iter().filter(|p| !p.frame.is_object()) {
        if !chat.msgs.iter().any(|m| m.cid == p.cid) {
            let m = Msg::mine(p.cid.clone(), p.text.clone(), p.file.clone());
            chat.msgs.push(m);
        }
    }
    let mut w = Widget {
        t,
        me: Visitor {
            base,
            site,
            id,
            token: store.get("tok"),
            user: JsValue::UNDEFINED,
            team: JsValue::UNDEFINED,
            channel: get(cfg, "channel"),
            lang,
        },
        store,
        view,
        conn: Connection::new(ws_url),
        chat,
        outbox,
        typing: Default::default(),
        hooks: Default::default(),
        fx,
        greeting: String::new(),
        offline_text: String::new(),
        open_on_message: false,
        attn: Default::default(),
        forms: Default::default(),
        open: false,
        _listeners: Vec::new(),
    };
    w.attn.dismissed = w.store.get("pv").unwrap_or_default();
    w.listen();
    if w.store.get("open").as_deref() == Some("1") {
        w.set_open(true, false);
    }
    w.render();
    // The cell was empty (checked above): nothing to drop, and no drop
    // code for a widget that lives as long as the page.
    W.with(|cell| std::mem::forget(cell.replace(Some(w))));
    with(|w| w.connect());
    let tick = Closure::<dyn FnMut()>::new(|| with(|w| w.tick()));
    let _ = window().set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        TICK_MS,
    );
    tick.forget();
}

impl Widget {
    /// The outbox and the conversation, into localStorage.
    #[inline(never)]
    fn save(&self) {
        self.outbox.save(&self.store);
        self.chat.save(&self.store);
    }

    /// DOM events → actions.
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
            w.set_open(!w.open, true)
        });
        add(&self.view.close.clone().into(), "click", |w, _| {
            w.set_open(false, true)
        });
        add(&self.view.card_open.clone().into(), "click", |w, _| {
            w.set_open(true, true)
        });
        add(&self.view.card_close.clone().into(), "click", |w, _| {
            w.dismiss()
        });
        add(&self.view.form.clone().into(), "submit", |w, e| {
            e.prevent_default();
            w.submit();
        });
        add(&self.view.input.clone().into(), "keydown", |w, e| {
            let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
                e.prevent_default();
                w.submit();
            } else if k.key() == "Escape" {
                w.set_open(false, true);
                let _ = w.view.launcher.focus();
            }
        });
        add(&self.view.input.clone().into(), "input", |w, _| w.typing());
        add(&self.view.forms.clone().into(), "submit", |w, e| {
            e.prevent_default();
            w.form_submit();
        });
        add(&self.view.forms.clone().into(), "click", |w, e| {
            w.form_click(&e)
        });
        add(&self.view.mail.clone().into(), "click", |w, _| w.ask_mail());
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
        // Reconnect at once when the network or the tab comes back.
        add(&win, "online", |w, _| w.reconnect_now());
        add(&win, "focus", |w, _| w.reconnect_now());
        add(&win, "offline", |w, _| w.drop_socket());
        // A click or a key on the page: the beep may sound from now on.
        add(&win, "pointerdown", |w, _| w.attn.interacted = true);
        add(&win, "keydown", |w, _| w.attn.interacted = true);
        if let Some(doc) = window().document() {
            add(&doc.into(), "visibilitychange", |w, _| w.visibility());
        }
    }

    /// Enter or the send button: the input's text goes, unless blank.
    #[inline(never)]
    fn submit(&mut self) {
        let text = self.view.input.value();
        if !self.offline_form(&text) {
            return;
        }
        if self.send(text) {
            self.view.input.set_value("");
        }
    }

    /// `kefu('send', text)` or the input: shown as "sending", into the outbox.
    #[inline(never)]
    fn send(&mut self, text: String) -> bool {
        // The browser's trim: the same whitespace, without Rust's Unicode
        // tables in the bundle.
        let text: String = js_sys::JsString::from(text).trim().into();
        if text.is_empty() || text.len() > protocol::limits::MAX_TEXT_BYTES {
            return false;
        }
        let cid = new_id("w");
        self.chat
            .msgs
            .push(Msg::mine(cid.clone(), text.clone(), JsValue::UNDEFINED));
        self.queue(cid, text, JsValue::UNDEFINED);
        self.stop_typing();
        self.render();
        true
    }

    /// Opens or closes the panel (`focus`: the visitor did it, so the
    /// input takes the focus; not when a new page restores it).
    #[inline(never)]
    fn set_open(&mut self, open: bool, focus: bool) {
        if self.open == open {
            return;
        }
        self.open = open;
        self.store.set("open", if open { "1" } else { "" });
        self.view.set_open(open, focus, self.t);
        if open && visible() {
            self.read_now();
        }
        self.draw_attention();
        let ev = if open { "open" } else { "close" };
        self.hooks.emit(ev, JsValue::UNDEFINED);
    }

    #[inline(never)]
    fn render(&mut self) {
        let t = self.t;
        let refused = self.conn.refused > 0;
        let status = if refused {
            t.unavailable
        } else if !self.conn.link.live() {
            t.reconnecting
        } else if self.chat.agents_online {
            t.online
        } else {
            t.away
        };
        self.view.status.set_text_content(Some(status));
        let mut rows = self
            .chat
            .rows(t, &self.greeting, &self.offline_text, &self.me, &self.fx);
        if refused {
            rows.push(view::Row::line("m sys", t.unavailable.into()));
        }
        view::show(&self.view.form, !refused);
        self.view.render(&rows);
        self.sync_forms();
        self.draw_attention();
    }
}
