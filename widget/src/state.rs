//! The conversation as the visitor has it: the conversation shown, one
//! cursor (last applied `seq`) per conversation, the message log in seq
//! order, read marks and the unread count. Persisted per site as `log`,
//! `cur` and `conv`; turned into the rows the view draws.

use crate::connection::Visitor;
use crate::js::*;
use crate::storage::Storage;
use crate::upload::file_row;
use crate::view::Row;
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
    /// A local notice (an upload that failed), never stored.
    pub sys: bool,
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
        }
    }
}

#[derive(Default)]
pub struct Chat {
    /// The conversation shown: the newest open one, or the one last written to.
    pub conv: Option<String>,
    /// The last applied `seq` per conversation, sent in `hello`.
    cursors: Vec<(String, u64)>,
    pub msgs: Vec<Msg>,
    /// The highest seq an agent has read (our messages up to it show "Read").
    pub agent_read: u64,
    pub agents_online: bool,
    pub unread: u64,
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
                    sys: false,
                });
            }
        }
        if let Some(cur) = store.get("cur").and_then(|s| parse(&s)) {
            for k in js_sys::Reflect::own_keys(&cur)
                .map(|a| a.iter().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                if let Some(k) = k.as_string() {
                    let seq = get_u64(&cur, &k);
                    chat.cursors.push((k, seq));
                }
            }
        }
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
            log.push(&o);
        }
        store.set("log", &stringify(&log));
        store.set("cur", &stringify(&self.cursors_js()));
        if let Some(c) = &self.conv {
            store.set("conv", c);
        }
    }

    /// `{conv: seq}`, as `hello` and the saved `cur` carry them.
    pub fn cursors_js(&self) -> JsValue {
        let cur = obj();
        for (c, s) in &self.cursors {
            set(&cur, c, *s as f64);
        }
        cur
    }

    fn cursor(&self, conv: &str) -> u64 {
        self.cursors
            .iter()
            .find(|(c, _)| c == conv)
            .map_or(0, |(_, s)| *s)
    }

    /// An event at `seq`: false when it was applied already (a replay
    /// overlapping what we have); otherwise the cursor moves to it.
    pub fn advance(&mut self, conv: &str, seq: u64) -> bool {
        if seq <= self.cursor(conv) {
            return false;
        }
        match self.cursors.iter_mut().find(|(c, _)| c == conv) {
            Some(e) => e.1 = seq,
            None => self.cursors.push((conv.to_string(), seq)),
        }
        true
    }

    /// A new visitor id starts without history on the relay.
    pub fn forget_cursors(&mut self) {
        self.cursors.clear();
    }

    /// The message `cid` (ours) is stored at `seq` in `conv`: it moves to
    /// its seq place, since agent messages written while it waited (an
    /// offline visitor's replay) hold lower seqs.
    pub fn stored(&mut self, cid: &str, conv: &str, seq: u64) -> bool {
        let Some(i) = self.msgs.iter().position(|m| m.cid == cid) else {
            return false;
        };
        let mut m = self.msgs.remove(i);
        m.seq = seq;
        m.conv = conv.to_string();
        self.insert(m);
        true
    }

    /// Into the log at its place: a conversation's stored messages in seq
    /// order (the order every screen shows), then the ones not yet stored
    /// (seq 0) in the order they were written.
    pub fn insert(&mut self, m: Msg) {
        let at = if m.seq == 0 {
            self.msgs.len()
        } else {
            self.msgs
                .iter()
                .position(|x| x.seq == 0 || (x.conv == m.conv && x.seq > m.seq))
                .unwrap_or(self.msgs.len())
        };
        self.msgs.insert(at, m);
    }

    /// The name of the agent who wrote last, if any did.
    pub fn last_agent(&self) -> Option<&str> {
        self.msgs
            .iter()
            .rev()
            .find(|m| !m.mine && !m.name.is_empty())
            .map(|m| m.name.as_str())
    }

    /// What the view draws: the greeting, the away notice when nobody is
    /// online, then the log. `greeting` and `offline` are the site's own
    /// texts, or empty for the built-in ones.
    pub fn rows(&self, t: &Texts, greeting: &str, offline: &str, me: &Visitor) -> Vec<Row> {
        let mut rows = Vec::with_capacity(self.msgs.len() + 2);
        let or = |own: &str, builtin: &str| if own.is_empty() { builtin } else { own }.to_string();
        rows.push(Row::line("m", or(greeting, t.greeting)));
        if !self.agents_online {
            rows.push(Row::line("m sys", or(offline, t.offline)));
        }
        for m in &self.msgs {
            if m.sys {
                rows.push(Row::line("m sys", m.text.clone()));
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
            });
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
        assert!(chat.stored("w1", "c1", 3));
        assert!(chat.stored("w2", "c1", 4));
        chat.insert(msg("c1", 6, "a2", false));
        assert!(chat.stored("w3", "c1", 5));
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
        assert_eq!((chat.cursor("c1"), chat.cursor("c2")), (3, 1));
        chat.forget_cursors();
        assert!(chat.advance("c1", 1));
    }
}
