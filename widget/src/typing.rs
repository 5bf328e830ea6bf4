//! Typing notices both ways: the visitor's "on" (repeated while typing,
//! with the draft text when the site turned draft preview on) and "off"
//! after a pause; the agent's typing line, which hides by itself.

use crate::js::*;
use crate::{with, Widget};
use protocol::timing::{
    AGENT_TYPING_SHOWN_MS, DRAFT_EVERY_MS, VISITOR_TYPING_IDLE_MS, VISITOR_TYPING_REPEAT_MS,
};
use wasm_bindgen::JsValue;

#[derive(Default)]
pub struct Typing {
    /// Withdraws the notice after input silence; set while "on" stands.
    idle: Option<i32>,
    /// When "on" last went (ms).
    sent_at: f64,
    /// The trailing draft update after a throttled keystroke.
    trailing: Option<i32>,
    /// The owner enabled the draft preview: typing notices carry the text.
    pub draft: bool,
    /// Hides the agent's typing line.
    agent: Option<i32>,
}

impl Typing {
    /// The gap between two "on" notices while the visitor types (ms).
    fn every(&self) -> f64 {
        f64::from(if self.draft {
            DRAFT_EVERY_MS
        } else {
            VISITOR_TYPING_REPEAT_MS
        })
    }
}

impl Widget {
    /// A keystroke in the input.
    pub(crate) fn typing(&mut self) {
        let t = now();
        let every = self.typing.every();
        let since = t - self.typing.sent_at;
        if self.typing.idle.is_none() || since >= every {
            self.typing.sent_at = t;
            self.typing_frame(true);
        } else if self.typing.draft && self.typing.trailing.is_none() {
            // Throttled: the latest text still goes, once the gap is over.
            let wait = (every - since).max(0.0) as i32;
            self.typing.trailing = Some(timeout(wait, || {
                with(|w| {
                    w.typing.trailing = None;
                    if w.typing.idle.is_some() {
                        w.typing.sent_at = now();
                        w.typing_frame(true);
                    }
                })
            }));
        }
        if let Some(id) = self.typing.idle.take() {
            clear_timeout(id);
        }
        self.typing.idle = Some(timeout(VISITOR_TYPING_IDLE_MS as i32, || {
            with(|w| w.stop_typing())
        }));
    }

    /// "off", if "on" stands (a pause, or the message was sent).
    pub(crate) fn stop_typing(&mut self) {
        if let Some(id) = self.typing.idle.take() {
            clear_timeout(id);
            self.typing_frame(false);
        }
    }

    fn typing_frame(&self, on: bool) {
        let Some(conv) = &self.chat.conv else { return };
        if !self.conn.link.live() {
            return;
        }
        let f = obj();
        set(&f, "type", "typing");
        set(&f, "on", on);
        set(&f, "conv", conv.as_str());
        if on && self.typing.draft {
            let text = self.view.input.value();
            let mut end = text.len().min(protocol::limits::MAX_TEXT_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            set(&f, "text", &text[..end]);
        }
        self.conn.send(&f);
    }

    /// A `typing` frame: the agent's line shows ("Ada is typing…", named
    /// by the relay) until "off", a message, or [`AGENT_TYPING_SHOWN_MS`].
    pub(crate) fn on_typing(&mut self, f: &JsValue) {
        if get_str(f, "side").as_deref() != Some("agent") {
            return;
        }
        if let Some(id) = self.typing.agent.take() {
            clear_timeout(id);
        }
        if get_bool(f, "on") {
            // The relay names the typing agent as on their messages.
            let name = get_str(f, "name").filter(|n| !n.is_empty());
            let who = name.as_deref().unwrap_or(self.t.agent);
            self.view.set_typing(Some(who), self.t);
            self.typing.agent = Some(timeout(AGENT_TYPING_SHOWN_MS as i32, || {
                with(|w| w.view.set_typing(None, w.t))
            }));
        } else {
            self.view.set_typing(None, self.t);
        }
    }
}
