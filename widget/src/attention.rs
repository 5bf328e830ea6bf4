//! Getting an agent's message seen: the unread badge and read marks, the
//! preview card beside the launcher (or the panel opening, as the site
//! chose), a short beep once the page has had a user interaction, and the
//! tab title flashing while the tab is hidden. This module decides; the
//! beep and the flashing itself are `boot.js`'s `fx` (a few lines of JS
//! there, several KB of bindings here).

use crate::js::*;
use crate::Widget;
use protocol::timing::TITLE_FLASH_MS;
use wasm_bindgen::JsValue;

/// At most one beep this often (ms): a replay of several messages after a
/// reconnect beeps once.
const BEEP_EVERY_MS: f64 = 2_000.0;

#[derive(Default)]
pub struct Attention {
    /// The visitor clicked or typed on this page: browsers let it play sound.
    pub interacted: bool,
    last_beep: f64,
    /// The tab title flashes "(N) New message — " before it (0: not).
    flash: u64,
    /// The preview the visitor dismissed (`conv/seq`), kept per site.
    pub dismissed: String,
    /// The unread count the host page was last told.
    told: Option<u64>,
}

/// `conv/seq`: which message a preview shows.
fn key(conv: &str, seq: u64) -> String {
    [conv, "/", &itoa(seq)].concat()
}

impl Widget {
    /// Badge, preview card, the title's count and the host page's `unread`
    /// event, from the log.
    #[inline(never)]
    pub(crate) fn draw_attention(&mut self) {
        let unread = self.chat.unread();
        self.view.set_badge(unread);
        if self.attn.told != Some(unread) {
            if self.attn.told.is_some() || unread > 0 {
                self.hooks.emit("unread", JsValue::from_f64(unread as f64));
            }
            self.attn.told = Some(unread);
        }
        let card = self.chat.unread_msgs().last().filter(|m| {
            !self.open && self.conn.refused == 0 && key(&m.conv, m.seq) != self.attn.dismissed
        });
        match card {
            Some(m) => {
                let name = if m.name.is_empty() {
                    self.t.agent
                } else {
                    &m.name
                };
                // A file alone: its name.
                let file = get_str(&m.file, "name").unwrap_or_default();
                let text = if m.text.is_empty() { &file } else { &m.text };
                self.view.set_card(Some((name, text)));
            }
            None => self.view.set_card(None),
        }
        if self.attn.flash > 0 && self.attn.flash != unread {
            self.flash(unread);
        }
    }

    /// A new agent message arrived (live or replayed after a reconnect):
    /// read at once when the panel is open and visible; else a beep, the
    /// title flash if hidden, and the panel opens if the site says so.
    #[inline(never)]
    pub(crate) fn arrived(&mut self) {
        if self.open && visible() {
            return self.read_now();
        }
        let t0 = now();
        if self.attn.interacted && t0 - self.attn.last_beep >= BEEP_EVERY_MS {
            self.attn.last_beep = t0;
            call(&self.fx, "beep", &[]);
        }
        if !visible() {
            self.flash(self.chat.unread());
        }
        if !self.open && self.open_on_message {
            self.set_open(true, true);
        }
    }

    /// Every agent message shown counts as read: the marks go to the relay.
    #[inline(never)]
    pub(crate) fn read_now(&mut self) {
        for (conv, seq) in self.chat.read_all() {
            self.send_read(&conv, seq);
        }
        self.save();
    }

    /// `read {conv, seq}` to the relay (dropped when offline: the next
    /// welcome compares marks and sends it again).
    pub(crate) fn send_read(&self, conv: &str, seq: u64) {
        let f = obj();
        set(&f, "type", "read");
        set(&f, "conv", conv);
        set(&f, "seq", seq as f64);
        self.conn.send(&f);
    }

    /// The card's ×: this preview stays hidden (a newer message shows again).
    pub(crate) fn dismiss(&mut self) {
        if let Some(m) = self.chat.unread_msgs().last() {
            self.attn.dismissed = key(&m.conv, m.seq);
            self.store.set("pv", &self.attn.dismissed);
        }
        self.draw_attention();
    }

    /// The tab title flashes "(N) New message — title" (alternating with
    /// the page's own, until the tab is visible); `n` 0 restores it.
    #[inline(never)]
    pub(crate) fn flash(&mut self, n: u64) {
        self.attn.flash = n;
        let mut prefix = String::new();
        if n > 0 {
            prefix.push('(');
            prefix.push_str(&itoa(n));
            prefix.push_str(") ");
            prefix.push_str(self.t.new_message);
            prefix.push_str(" — ");
        }
        let ms = f64::from(TITLE_FLASH_MS);
        call(&self.fx, "flash", &[prefix.into(), ms.into()]);
    }

    /// The tab was shown or hidden.
    pub(crate) fn visibility(&mut self) {
        if visible() {
            self.flash(0);
            if self.open {
                self.read_now();
                self.render();
            }
        }
        self.reconnect_now();
    }
}
