//! The relay's frames, applied to the widget's parts: `welcome` (token,
//! heartbeat, the site's settings, conversations), `ack`, `event`, read
//! marks, agents online, the visitor's place in line (`queue`), typing,
//! `ping` and `error`.

use crate::js::*;
use crate::Widget;
use protocol::texts;
use wasm_bindgen::JsValue;

impl Widget {
    pub(crate) fn on_frame(&mut self, text: &str) {
        self.conn.link.heard(now());
        let Some(f) = parse(text) else { return };
        match get_str(&f, "type").as_deref() {
            Some("welcome") => self.on_welcome(&f),
            Some("ack") => self.on_ack(&f),
            Some("event") => self.on_event(&f),
            Some("typing") => self.on_typing(&f),
            Some("read") => {
                let seq = get_u64(&f, "seq");
                if get_str(&f, "side").as_deref() == Some("agent") {
                    self.chat.agent_read = self.chat.agent_read.max(seq);
                } else if let Some(conv) = get_str(&f, "conv") {
                    // Read in another tab: the badge clears here too.
                    self.chat.read.raise(&conv, seq);
                    self.save();
                }
                self.render();
            }
            Some("saved") => {
                if let Some(cid) = get_str(&f, "cid") {
                    self.outbox.remove(&cid);
                    self.save();
                }
            }
            Some("mailed") => self.mailed(),
            Some("agents") => {
                self.chat.agents_online = get_bool(&f, "online");
                self.render();
            }
            Some("queue") => {
                let conv = get_str(&f, "conv").unwrap_or_default();
                self.chat.queue = (conv, get_u64(&f, "position"));
                self.render();
            }
            Some("ping") => {
                let p = obj();
                set(&p, "type", "pong");
                self.conn.send(&p);
            }
            Some("error") => self.on_error(&f),
            _ => {}
        }
    }

    #[inline(never)]
    fn on_welcome(&mut self, f: &JsValue) {
        self.conn.link.welcomed(get_u64(f, "heartbeat_ms") as f64);
        self.conn.refused = 0;
        if let Some(t) = get_str(f, "token") {
            self.store.set("tok", &t);
            self.me.token = Some(t);
        }
        self.chat.agents_online = get_bool(f, "agents_online");
        self.chat.mail = get_bool(f, "mail");
        self.forms.known = get_bool(f, "known");
        self.forms.email_known = get_bool(f, "email_known");
        // Still waiting or not, the relay says so right after welcome.
        self.chat.queue.1 = 0;
        let s = get(f, "settings");
        if s.is_object() {
            self.settings(&s);
        }
        // The newest open conversation is the one shown.
        let mut latest = None;
        for c in array(&get(f, "convs")) {
            let id = get_str(&c, "id");
            if get_bool(&c, "open") || latest.is_none() {
                latest = id.or(latest);
            }
            self.chat.agent_read = self.chat.agent_read.max(get_u64(&c, "agent_read"));
            // Read marks: the relay's (other devices) raise ours; ours
            // above the relay's (read while offline) go to it.
            if let Some(id) = get_str(&c, "id") {
                let theirs = get_u64(&c, "visitor_read");
                let mine = self.chat.read.get(&id);
                if mine > theirs {
                    self.send_read(&id, mine);
                }
                self.chat.read.raise(&id, theirs);
            }
        }
        if latest.is_some() {
            self.chat.conv = latest;
        }
        self.resend_all();
        self.page();
        self.render();
        self.hooks.ready();
    }

    /// The site's settings from `welcome`: look, language, own texts,
    /// draft preview, attachments.
    #[inline(never)]
    fn settings(&mut self, s: &JsValue) {
        let color = get_str(s, "color").unwrap_or_default();
        self.view
            .style(&color, get_str(s, "position").as_deref() == Some("left"));
        if let Some(lang) = get_str(s, "language").filter(|l| !l.is_empty()) {
            self.t = texts::pick(&lang);
            self.view.texts(self.t);
        }
        self.greeting = get_str(s, "greeting").unwrap_or_default();
        self.offline_text = get_str(s, "offline_message").unwrap_or_default();
        self.typing.draft = get_bool(s, "draft_preview");
        self.open_on_message = get_str(s, "on_agent_message").as_deref() == Some("open");
        self.file_types(&get(s, "file_types"));
        self.forms.prechat = get(s, "prechat");
        self.forms.rating = get_str(s, "rating").unwrap_or_default();
    }

    #[inline(never)]
    fn on_error(&mut self, f: &JsValue) {
        match get_str(f, "code").as_deref() {
            Some("origin_not_allowed") => self.refused(),
            // Our id is bound to a token we lost: start afresh as a new visitor.
            Some("token_required") | Some("bad_token") => {
                self.me.id = new_id("v");
                self.me.token = None;
                self.store.set("vid", &self.me.id);
                self.store.set("tok", "");
                self.chat.forget_cursors();
                self.drop_socket();
                self.connect();
            }
            // A send the relay refused for good: drop it from the outbox so
            // it is not retried forever (rate limits and storage errors are
            // retried on the next reconnect).
            Some("too_large")
            | Some("bad_frame")
            | Some("bad_request")
            | Some("forbidden")
            | Some("unknown_conversation")
            | Some("not_found")
            | Some("blocked") => {
                if let Some(cid) = get_str(f, "cid") {
                    self.outbox.remove(&cid);
                    self.chat.msgs.retain(|m| m.cid != cid || m.seq > 0);
                    self.save();
                    self.render();
                }
            }
            _ => {}
        }
    }

    #[inline(never)]
    fn on_ack(&mut self, f: &JsValue) {
        let (Some(cid), Some(conv)) = (get_str(f, "cid"), get_str(f, "conv")) else {
            return;
        };
        self.outbox.remove(&cid);
        self.chat.stored(&cid, &conv, get_u64(f, "seq"), now());
        self.chat.conv = Some(conv);
        self.save();
        self.render();
    }

    #[inline(never)]
    fn on_event(&mut self, f: &JsValue) {
        let (Some(conv), seq) = (get_str(f, "conv"), get_u64(f, "seq")) else {
            return;
        };
        if !self.chat.advance(&conv, seq) {
            return; // applied already
        }
        let ts = get(f, "ts").as_f64().unwrap_or(0.0);
        let kind = get_str(f, "kind");
        let closed = kind.as_deref() == Some("closed");
        let from = get(f, if closed { "by" } else { "from" });
        let side = get_str(&from, "side");
        match kind.as_deref() {
            Some("message") | Some("closed") => {}
            // The site's answer outside business hours: a line from the
            // site, not an agent's message.
            Some("auto_reply") => {
                let mut m = crate::state::Msg::notice(get_str(f, "text").unwrap_or_default());
                (m.conv, m.seq, m.ts) = (conv, seq, ts);
                self.chat.insert(m);
                self.save();
                return self.render();
            }
            // Rated here, in another tab or before a reload.
            Some("rated") => {
                self.chat.rated.raise(&conv, get_u64(f, "score"));
                self.save();
                return self.render();
            }
            _ => return self.save(),
        }
        // A close counts as the visitor's unless an agent closed it (only
        // then is a rating asked).
        let mine = if closed {
            side.as_deref() != Some("agent")
        } else {
            side.as_deref() == Some("visitor")
        };
        let cid = get_str(f, "cid").unwrap_or_default();
        if (closed || side.as_deref() == Some("agent")) && self.chat.queue.0 == conv {
            // An agent wrote, or the conversation closed: no longer waiting.
            self.chat.queue.1 = 0;
        }
        self.chat.conv = Some(conv.clone());
        if !closed && mine && self.chat.stored(&cid, &conv, seq, ts) {
            // Our own message, sent from this page: its ack may be later.
            self.outbox.remove(&cid);
        } else {
            let name = get_str(&from, "name").unwrap_or_default();
            let text = get_str(f, "text").unwrap_or_default();
            if !mine && !closed {
                let e = obj();
                set(&e, "text", text.as_str());
                set(&e, "from", name.as_str());
                set(&e, "seq", seq as f64);
                self.hooks.emit("message", e);
                self.view.set_typing(None, self.t);
            }
            self.chat.insert(crate::state::Msg {
                conv,
                seq,
                cid,
                mine,
                name,
                text,
                file: get(f, "file"),
                sys: false,
                closed,
                ts,
            });
            if !mine && !closed {
                self.arrived();
            }
        }
        self.save();
        self.render();
    }
}
