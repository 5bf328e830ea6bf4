//! The conversation as the visitor has it: the conversation shown, one
//! cursor (last applied `seq`) per conversation, the message log in seq
//! order, the visitor's read marks and so the unread count (every agent
//! message above the mark). Persisted per site as `log`, `cur`, `rd` and
//! `conv`; turned into the rows the view draws.

use crate::connection::Visitor;
use crate::js::*;
use crate::storage::Storage;
use crate::upload::file_row;
use crate::view::Row;
use crate::when;
use protocol::texts::Texts;
use wasm_bindgen::JsValue;

/// Messages kept in the local log (and so re-rendered after a reload).
const LOG_KEEP: usize = 200;

/// A message as the widget shows it.
pub struct Msg {
    pub conv: String,
    /// 0 until acked.
    pub seq: u64,
    pub cid: String,
    pub mine: bool,
    pub name: String,
    pub text: String,
    /// The attachment (the event's `file` object); `null` while uploading.
    pub file: JsValue,
    /// A line from the site, not a person: a local notice (an upload
    /// that failed; seq 0, never stored) or the site's auto-reply (a
    /// stored event).
    pub sys: bool,
    /// The conversation was closed here (a stored event); `mine` is false
    /// when an agent closed it.
    pub closed: bool,
    /// When the relay stored it (ms since epoch); 0 until acked.
    pub ts: f64,
}

impl Msg {
    /// The visitor's own message before its ack: `file` is the attachment,
    /// `null` while it uploads, undefined for text.
    pub fn mine(cid: String, text: String, file: JsValue) -> Msg {
        Msg {
            conv: String::new(),
            seq: 0,
            cid,
            mine: true,
            name: String::new(),
            text,
            file,
            sys: false,
            closed: false,
            ts: 0.0,
        }
    }

    /// A local line (an upload that failed), never stored.
    pub fn notice(text: String) -> Msg {
        Msg {
            conv: String::new(),
            seq: 0,
            cid: String::new(),
            mine: false,
            name: String::new(),
            text,
            file: JsValue::UNDEFINED,
            sys: true,
            closed: false,
            ts: 0.0,
        }
    }

    /// An agent's message, the ones that count as unread.
    pub fn from_agent(&self) -> bool {
        !self.mine && !self.sys && !self.closed
    }
}

/// A number per conversation: cursors (the last applied `seq`) and the
/// visitor's read marks. Stored as `{conv: seq}`.
#[derive(Default)]
pub struct Marks(Vec<(String, u64)>);

impl Marks {
    pub fn get(&self, conv: &str) -> u64 {
        self.0
            .iter()
            .find(|(c, _)| c == conv)
            .map_or(0, |(_, s)| *s)
    }

    /// Raises the mark of `conv` to `seq`; false if it was there already.
    pub fn raise(&mut self, conv: &str, seq: u64) -> bool {
        if seq <= self.get(conv) {
            return false;
        }
        match self.0.iter_mut().find(|(c, _)| c == conv) {
            Some(e) => e.1 = seq,
            None => self.0.push((conv.to_string(), seq)),
        }
        true
    }

    fn load(store: &Storage, key: &str) -> Marks {
        let mut m = Marks::default();
        let o = store.get(key).and_then(|s| parse(&s)).unwrap_or_default();
        if let Ok(keys) = js_sys::Reflect::own_keys(&o) {
            for k in keys.iter().filter_map(|k| k.as_string()) {
                let seq = get_u64(&o, &k);
                m.0.push((k, seq));
            }
        }
        m
    }

    /// `{conv: seq}`, as `hello` and the store carry them.
    pub fn js(&self) -> JsValue {
        let o = obj();
        for (c, s) in &self.0 {
            set(&o, c, *s as f64);
        }
        o
    }
}

#[derive(Default)]
pub struct Chat {
    /// The conversation shown: the newest open one, or the one last written to.
    pub conv: Option<String>,
    /// The last applied `seq` per conversation, sent in `hello`.
    cursors: Marks,
    /// The highest agent message the visitor has read, per conversation
    /// (this page's, other tabs' and the relay's marks, whichever is higher).
    pub read: Marks,
    pub msgs: Vec<Msg>,
    /// The highest seq an agent has read (our messages up to it show "Read").
    pub agent_read: u64,
    pub agents_online: bool,
    /// The relay sends mail (`welcome`): only then is email mentioned.
    pub mail: bool,
    /// The address the visitor gave in a form (kept as `em`).
    pub email: String,
    /// The visitor's ratings, per conversation (kept as `rt`).
    pub rated: Marks,
    /// The conversation waiting for a free agent and its place in line
    /// (1: next; 0: not waiting), from the relay's `queue` frames.
    pub queue: (String, u64),
}

impl Chat {
    /// What a previous page saved for this site.
    pub fn load(store: &Storage) -> Chat {
        let mut chat = Chat::default();
        if let Some(log) = store.get("log").and_then(|s| js_sys::JSON::parse(&s).ok()) {
            for m in array(&log) {
                chat.msgs.push(Msg {
                    conv: get_str(&m, "conv").unwrap_or_default(),
                    seq: get_u64(&m, "seq"),
                    cid: get_str(&m, "cid").unwrap_or_default(),
                    mine: get_bool(&m, "mine"),
                    name: get_str(&m, "name").unwrap_or_default(),
                    text: get_str(&m, "text").unwrap_or_default(),
                    file: get(&m, "file"),
                    sys: get_bool(&m, "sys"),
                    closed: get_bool(&m, "closed"),
                    ts: get(&m, "ts").as_f64().unwrap_or(0.0),
                });
            }
        }
        chat.cursors = Marks::load(store, "cur");
        chat.read = Marks::load(store, "rd");
        chat.rated = Marks::load(store, "rt");
        chat.email = store.get("em").unwrap_or_default();
        chat.conv = store.get("conv");
        chat
    }

    /// The log (acked messages, the newest [`LOG_KEEP`]), cursors and the
    /// conversation shown.
    pub fn save(&self, store: &Storage) {
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
            if m.closed {
                set(&o, "closed", true);
            }
            if m.sys {
                set(&o, "sys", true);
            }
            set(&o, "ts", m.ts);
            log.push(&o);
        }
        store.set("log", &stringify(&log));
        store.set("cur", &stringify(&self.cursors.js()));
        store.set("rd", &stringify(&self.read.js()));
        store.set("rt", &stringify(&self.rated.js()));
        if let Some(c) = &self.conv {
            store.set("conv", c);
        }
    }

    /// `{conv: seq}`, as `hello` carries them.
    pub fn cursors_js(&self) -> JsValue {
        self.cursors.js()
    }

    /// An event at `seq`: false when it was applied already (a replay
    /// overlapping what we have); otherwise the cursor moves to it.
    pub fn advance(&mut self, conv: &str, seq: u64) -> bool {
        self.cursors.raise(conv, seq)
    }

    /// The place in line shown: the conversation on screen waits for an
    /// agent while agents are online (0: no line). When nobody is online
    /// the away notice says it instead.
    pub fn place(&self) -> u64 {
        let (conv, n) = &self.queue;
        if self.agents_online && self.conv.as_ref() == Some(conv) {
            *n
        } else {
            0
        }
    }

    /// The conversation shown, when an agent closed it last and the
    /// visitor has not rated it: the rating is asked for it.
    pub fn rating_due(&self) -> Option<&String> {
        let c = self.conv.as_ref()?;
        let last = self.msgs.iter().rev().find(|m| m.conv == *c && !m.sys)?;
        (last.closed && !last.mine && self.rated.get(c) == 0).then_some(c)
    }

    /// A new visitor id starts without history on the relay.
    pub fn forget_cursors(&mut self) {
        self.cursors = Marks::default();
        self.read = Marks::default();
    }

    /// The message `cid` (ours) is stored at `seq` in `conv` at `ts`: it
    /// moves to its seq place, since agent messages written while it waited
    /// (an offline visitor's replay) may hold lower seqs.
    pub fn stored(&mut self, cid: &str, conv: &str, seq: u64, ts: f64) -> bool {
        let Some(i) = self.msgs.iter().position(|m| m.cid == cid) else {
            return false;
        };
        let m = &mut self.msgs[i];
        m.seq = seq;
        m.conv = conv.to_string();
        if m.ts == 0.0 || ts > 0.0 {
            m.ts = ts;
        }
        self.settle(i);
        true
    }

    /// Into the log at its place: a conversation's stored messages in seq
    /// order (the order every screen shows), then the ones not yet stored
    /// (seq 0) in the order they were written.
    pub fn insert(&mut self, m: Msg) {
        self.msgs.push(m);
        self.settle(self.msgs.len() - 1);
    }

    /// Moves the stored message at `i` up past unsent ones and past its
    /// conversation's later seqs (swaps: the log is short and nearly sorted).
    fn settle(&mut self, mut i: usize) {
        while i > 0 {
            let (p, m) = (&self.msgs[i - 1], &self.msgs[i]);
            if m.seq == 0 || !(p.seq == 0 || (p.conv == m.conv && p.seq > m.seq)) {
                break;
            }
            self.msgs.swap(i - 1, i);
            i -= 1;
        }
    }

    /// The agent messages the visitor has not read, oldest first.
    pub fn unread_msgs(&self) -> impl Iterator<Item = &Msg> {
        self.msgs
            .iter()
            .filter(|m| m.from_agent() && m.seq > self.read.get(&m.conv))
    }

    /// How many agent messages are above the visitor's read marks.
    pub fn unread(&self) -> u64 {
        self.unread_msgs().count() as u64
    }

    /// Everything is read: the marks rise to the newest agent message of
    /// each conversation; the `(conv, seq)` whose marks moved.
    pub fn read_all(&mut self) -> Vec<(String, u64)> {
        let mut moved: Vec<(String, u64)> = Vec::new();
        for m in self.msgs.iter().filter(|m| m.from_agent()) {
            if m.seq > self.read.get(&m.conv) {
                match moved.iter_mut().find(|(c, _)| *c == m.conv) {
                    Some(e) => e.1 = e.1.max(m.seq),
                    None => moved.push((m.conv.clone(), m.seq)),
                }
            }
        }
        for (c, s) in &moved {
            self.read.raise(c, *s);
        }
        moved
    }

    /// What the view draws: the greeting, the away notice when nobody is
    /// online, the log, then the visitor's place in line. `greeting` and `offline` are the site's own
    /// texts, or empty for the built-in ones.
    pub fn rows(
        &self,
        t: &Texts,
        greeting: &str,
        offline: &str,
        me: &Visitor,
        fx: &JsValue,
    ) -> Vec<Row> {
        let mut rows = Vec::with_capacity(self.msgs.len() + 2);
        let or = |own: &str, builtin: &str| if own.is_empty() { builtin } else { own }.to_string();
        rows.push(Row::line("m", or(greeting, t.greeting)));
        if !self.agents_online {
            let builtin = if self.mail {
                t.offline
            } else {
                t.offline_nomail
            };
            rows.push(Row::line("m sys", or(offline, builtin)));
            if self.mail && !self.email.is_empty() {
                rows.push(Row::line("m sys", [t.will_email, &self.email].concat()));
            }
        }
        for (i, m) in self.msgs.iter().enumerate() {
            if m.sys || m.closed {
                let text = if m.closed { t.closed } else { &m.text };
                let mut r = Row::line("m sys", text.to_string());
                r.time = when::label(fx, m.ts, t);
                rows.push(r);
                // Thanks for a rating, after its conversation's last close.
                if m.closed
                    && self.rated.get(&m.conv) > 0
                    && !self.msgs[i + 1..]
                        .iter()
                        .any(|n| n.closed && n.conv == m.conv)
                {
                    rows.push(Row::line("m sys", t.thanks.into()));
                }
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
            } else {
                or(&m.name, t.agent)
            };
            rows.push(Row {
                class: if m.mine { "m me" } else { "m" },
                name,
                text: m.text.clone(),
                state,
                cid: m.cid.clone(),
                file: file_row(me, &m.file),
                time: when::label(fx, m.ts, t),
            });
        }
        let n = self.place();
        if n > 0 {
            let text = [t.queue_pre, &itoa(n), t.queue_post].concat();
            rows.push(Row::line("m sys", text));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(conv: &str, seq: u64, cid: &str, mine: bool) -> Msg {
        Msg {
            conv: conv.into(),
            seq,
            cid: cid.into(),
            mine,
            name: String::new(),
            text: cid.into(),
            file: JsValue::UNDEFINED,
            sys: false,
            closed: false,
            ts: 0.0,
        }
    }

    fn order(chat: &Chat) -> Vec<(&str, u64)> {
        chat.msgs.iter().map(|m| (m.cid.as_str(), m.seq)).collect()
    }

    /// Three messages written offline while an agent replied: on reconnect
    /// the agent's reply (seq 2) is replayed before the acks (3, 4, 5)
    /// arrive. The widget shows seq order, as the console and a sync do,
    /// not the order the frames happened to reach it.
    #[test]
    fn offline_messages_take_their_seq_place() {
        let mut chat = Chat::default();
        chat.insert(msg("c1", 1, "a0", false));
        for cid in ["w1", "w2", "w3"] {
            chat.insert(Msg::mine(cid.into(), cid.into(), JsValue::UNDEFINED));
        }
        chat.insert(msg("c1", 2, "a1", false));
        assert_eq!(
            order(&chat),
            [("a0", 1), ("a1", 2), ("w1", 0), ("w2", 0), ("w3", 0)],
            "stored messages above the unsent ones"
        );
        assert!(chat.stored("w1", "c1", 3, 0.0));
        assert!(chat.stored("w2", "c1", 4, 0.0));
        chat.insert(msg("c1", 6, "a2", false));
        assert!(chat.stored("w3", "c1", 5, 0.0));
        assert_eq!(
            order(&chat),
            [
                ("a0", 1),
                ("a1", 2),
                ("w1", 3),
                ("w2", 4),
                ("w3", 5),
                ("a2", 6)
            ]
        );
        chat.insert(msg("c2", 1, "b0", false));
        assert_eq!(
            order(&chat).last(),
            Some(&("b0", 1)),
            "a new conversation follows"
        );
    }

    /// Replays overlap what the widget has: an event at or below its
    /// conversation's cursor is dropped, so nothing shows twice.
    #[test]
    fn events_at_or_below_the_cursor_are_dropped() {
        let mut chat = Chat::default();
        assert!(chat.advance("c1", 1));
        assert!(!chat.advance("c1", 1));
        assert!(chat.advance("c1", 3));
        assert!(!chat.advance("c1", 2));
        assert!(chat.advance("c2", 1), "cursors are per conversation");
        assert_eq!((chat.cursors.get("c1"), chat.cursors.get("c2")), (3, 1));
        chat.forget_cursors();
        assert!(chat.advance("c1", 1));
    }

    /// The visitor's place in line is the last row for the conversation on
    /// screen while agents are online, in the visitor's language; it goes
    /// at 0, for another conversation, and while nobody is online (the
    /// away notice says so then).
    #[test]
    fn the_place_in_line_shows_for_the_conversation_on_screen() {
        use protocol::texts::{EN, ZH};
        let me = Visitor {
            base: String::new(),
            site: "demo".into(),
            id: "v1".into(),
            token: None,
            user: JsValue::UNDEFINED,
            team: JsValue::UNDEFINED,
            channel: JsValue::UNDEFINED,
            lang: String::new(),
        };
        let last = |chat: &Chat, t: &Texts| {
            let mut rows = chat.rows(t, "", "", &me, &JsValue::UNDEFINED);
            rows.pop().map(|r| (r.class, r.text))
        };
        let mut chat = Chat {
            conv: Some("c1".into()),
            agents_online: true,
            ..Chat::default()
        };
        assert_eq!(chat.place(), 0);
        chat.queue = ("c1".into(), 3);
        assert_eq!(
            last(&chat, &EN),
            Some(("m sys", "You are number 3 in line".into()))
        );
        assert_eq!(
            last(&chat, &ZH),
            Some(("m sys", "排队中：您是第 3 位".into()))
        );
        chat.queue.1 = 2;
        assert_eq!(
            last(&chat, &EN).map(|r| r.1).as_deref(),
            Some("You are number 2 in line")
        );
        chat.agents_online = false;
        assert_eq!(chat.place(), 0, "nobody online: the away notice instead");
        chat.agents_online = true;
        chat.conv = Some("c2".into());
        assert_eq!(chat.place(), 0, "another conversation on screen");
        chat.conv = Some("c1".into());
        chat.queue.1 = 0;
        assert_eq!(chat.place(), 0);
        assert_eq!(
            last(&chat, &EN).map(|r| r.1).as_deref(),
            Some(EN.greeting),
            "the greeting is last again"
        );
    }

    /// After an agent closes the conversation on screen the rating is
    /// due, until it is rated (then "Thanks" follows the closed line) or
    /// the visitor writes again; a close by the visitor asks nothing. With
    /// mail off the away notice never mentions email; with it, the address
    /// given is named.
    #[test]
    fn the_rating_is_due_after_an_agents_close_and_email_only_with_mail() {
        use protocol::texts::EN;
        let me = Visitor {
            base: String::new(),
            site: "demo".into(),
            id: "v1".into(),
            token: None,
            user: JsValue::UNDEFINED,
            team: JsValue::UNDEFINED,
            channel: JsValue::UNDEFINED,
            lang: String::new(),
        };
        let texts = |chat: &Chat| -> Vec<String> {
            let rows = chat.rows(&EN, "", "", &me, &JsValue::UNDEFINED);
            rows.into_iter().map(|r| r.text).collect()
        };
        let mut chat = Chat {
            conv: Some("c1".into()),
            ..Chat::default()
        };
        // Rows are drawn only for closed lines here: a message's row asks
        // the browser about its attachment.
        let mut closed = agent_msg("c1", 2);
        closed.closed = true;
        chat.insert(closed);
        assert_eq!(chat.rating_due().map(String::as_str), Some("c1"));
        assert!(texts(&chat).contains(&EN.offline_nomail.to_string()));
        assert!(
            !texts(&chat).iter().any(|t| t.contains("mail")),
            "no email without mail"
        );
        chat.mail = true;
        chat.email = "ada@example.com".into();
        assert!(texts(&chat).contains(&EN.offline.to_string()));
        assert!(texts(&chat).contains(&[EN.will_email, "ada@example.com"].concat()));
        chat.rated.raise("c1", 4);
        assert_eq!(chat.rating_due(), None);
        assert_eq!(texts(&chat).last().map(String::as_str), Some(EN.thanks));
        chat.rated = Marks::default();
        chat.insert(msg("c1", 3, "w1", true));
        assert_eq!(chat.rating_due(), None, "the visitor wrote again");
        let mut by_me = msg("c1", 4, "", true);
        by_me.closed = true;
        chat.insert(by_me);
        assert_eq!(chat.rating_due(), None, "closed by the visitor");
        chat.conv = Some("c2".into());
        chat.insert(agent_msg("c2", 1));
        assert_eq!(chat.rating_due(), None, "open");
    }

    fn agent_msg(conv: &str, seq: u64) -> Msg {
        let mut m = Msg::mine(String::new(), "hi".into(), JsValue::UNDEFINED);
        (m.mine, m.conv, m.seq) = (false, conv.into(), seq);
        m
    }

    /// The badge counts every agent message above the visitor's read mark
    /// (not only those that arrived on this page); reading moves the marks
    /// to the newest agent message of each conversation.
    #[test]
    fn unread_is_every_agent_message_above_the_read_mark() {
        let mut chat = Chat::default();
        chat.msgs.push(agent_msg("c1", 1));
        let mut mine = Msg::mine("w1".into(), "me".into(), JsValue::UNDEFINED);
        (mine.conv, mine.seq) = ("c1".into(), 2);
        chat.msgs.push(mine);
        chat.msgs.push(agent_msg("c1", 3));
        chat.msgs.push(agent_msg("c1", 4));
        let mut closed = agent_msg("c1", 5);
        closed.closed = true;
        chat.msgs.push(closed);
        assert_eq!(chat.unread(), 3);
        chat.read.raise("c1", 3);
        assert_eq!(chat.unread(), 1, "a mark from the relay or another tab");
        chat.msgs.push(agent_msg("c2", 1));
        assert_eq!(chat.unread(), 2);
        assert_eq!(
            chat.read_all(),
            [("c1".to_string(), 4), ("c2".to_string(), 1)]
        );
        assert_eq!(chat.unread(), 0);
        assert!(chat.read_all().is_empty(), "nothing new to mark");
        assert!(!chat.read.raise("c1", 2), "marks never go back");
    }
}
