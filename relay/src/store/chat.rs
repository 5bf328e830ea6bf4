//! The `chat` tree's records: conversations, their events, and the cid
//! dedup index.

use super::{decode, keys, Result, Store, StoreError};
use protocol::{
    AgentId, Channel, ConvId, ConvSummary, Event, EventBody, Side, SiteId, TeamId, VisitorId,
    WechatWindow,
};
use serde::{Deserialize, Serialize};

/// The commit thread writes a conversation's record at least once every
/// this many events (see [`ConvRecord::follow`]), so a reader derives the
/// rest from at most this many events after it.
pub const CONV_RECORD_EVERY: u64 = 16;

/// A conversation's state; the commit task is its only writer.
///
/// What an event says by itself about its conversation (its seq and time;
/// a message's preview, and whether a visitor now waits for an answer) is
/// not written with every event: the stored record may be up to
/// [`CONV_RECORD_EVERY`] events behind, and [`Store::conv`] brings it up
/// to date with [`ConvRecord::follow`]. Anything else that changes (an
/// assignment, a label, read marks, a WeChat window) writes the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvRecord {
    pub id: ConvId,
    pub site: SiteId,
    pub visitor: VisitorId,
    pub open: bool,
    pub last_seq: u64,
    pub created: u64,
    pub updated: u64,
    pub visitor_read: u64,
    pub agent_read: u64,
    #[serde(default)]
    pub preview: Option<String>,
    /// The agent handling it, if any.
    #[serde(default)]
    pub assignee: Option<AgentId>,
    /// The team routing keeps it within (absent: the whole site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// In the site's queue since (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<u64>,
    /// Since when a visitor message waits for an agent's answer (ms): set
    /// by the first unanswered visitor message, cleared by an agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<u64>,
    /// Where the visitor talks from (fixed when the conversation opens).
    #[serde(default, skip_serializing_if = "Channel::is_web")]
    pub channel: Channel,
    /// WeChat conversations: the reply window (set by the follower's
    /// messages, counted down by replies, closed on WeChat's word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatWindow>,
    /// When the site's auto-reply was last sent here (ms): not again until
    /// the site has been open since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_replied: Option<u64>,
}

impl ConvRecord {
    /// A conversation as it opens at `now`: open, empty, nobody's, from the
    /// site's pages (callers change what differs).
    pub fn new(id: ConvId, site: SiteId, visitor: VisitorId, now: u64) -> ConvRecord {
        ConvRecord {
            id,
            site,
            visitor,
            open: true,
            last_seq: 0,
            created: now,
            updated: now,
            visitor_read: 0,
            agent_read: 0,
            preview: None,
            assignee: None,
            team: None,
            labels: Vec::new(),
            queued: None,
            awaiting: None,
            channel: Channel::Web,
            wechat: None,
            auto_replied: None,
        }
    }

    /// What one more event changes in the record by itself: the last seq
    /// and update time, and for a message its preview and `awaiting` (set
    /// by the first visitor message after an agent's, cleared by an
    /// agent's). The commit thread applies exactly this to every event it
    /// appends, so a record it did not write since is followed by readers
    /// to the same state.
    pub fn follow(&mut self, ev: &Event) {
        self.last_seq = ev.seq;
        self.updated = ev.ts;
        if let EventBody::Message {
            from, text, file, ..
        } = &ev.body
        {
            self.preview = Some(match file {
                Some(f) if text.trim().is_empty() => preview(&format!("📎 {}", f.name)),
                _ => preview(text),
            });
            self.awaiting = match from.side {
                Side::Agent => None,
                _ => self.awaiting.or(Some(ev.ts)),
            };
        }
    }

    pub fn summary(&self) -> ConvSummary {
        ConvSummary {
            id: self.id.clone(),
            site: self.site.clone(),
            visitor: self.visitor.clone(),
            open: self.open,
            last_seq: self.last_seq,
            created: self.created,
            updated: self.updated,
            visitor_read: self.visitor_read,
            agent_read: self.agent_read,
            preview: self.preview.clone(),
            assignee: self.assignee.clone(),
            team: self.team.clone(),
            labels: self.labels.clone(),
            queued: self.queued,
            channel: self.channel,
            wechat: self.wechat,
        }
    }
}

/// Where a cid landed: the dedup index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidHit {
    pub conv: ConvId,
    pub seq: u64,
}

/// An event as stored: its conversation and seq are its key's, so the
/// value holds the rest (values written before this also hold both; they
/// read the same, the key's winning).
#[derive(Serialize)]
struct StoredEventOut<'a> {
    ts: u64,
    #[serde(flatten)]
    body: &'a EventBody,
}

#[derive(Deserialize)]
struct StoredEventIn {
    ts: u64,
    #[serde(flatten)]
    body: EventBody,
}

/// The value an event is stored as under [`keys::event`].
pub fn encode_event(ev: &Event) -> Result<Vec<u8>> {
    super::encode(&StoredEventOut {
        ts: ev.ts,
        body: &ev.body,
    })
}

/// An event from its `chat` entry (key [`keys::event`]).
pub(super) fn decode_event(key: &[u8], value: &[u8]) -> Result<Event> {
    let corrupt = |why: &str| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        err: serde::de::Error::custom(why),
    };
    // `e` conv `\0` seq(u64 BE)
    let (head, seq) = key
        .len()
        .checked_sub(8)
        .filter(|&n| n >= 3)
        .map(|n| key.split_at(n))
        .filter(|(head, _)| head[0] == b'e' && head[head.len() - 1] == 0)
        .ok_or_else(|| corrupt("not an event key"))?;
    let conv = std::str::from_utf8(&head[1..head.len() - 1])
        .ok()
        .and_then(|s| ConvId::new(s).ok())
        .ok_or_else(|| corrupt("no conversation in the event key"))?;
    let seq = u64::from_be_bytes(
        seq.try_into()
            .map_err(|_| corrupt("no seq in the event key"))?,
    );
    let e: StoredEventIn = decode(key, value)?;
    Ok(Event {
        conv,
        seq,
        ts: e.ts,
        body: e.body,
    })
}

/// Cut a message to a one-line preview for inbox lists.
fn preview(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.len() <= protocol::limits::PREVIEW_BYTES {
        return one_line;
    }
    let mut end = protocol::limits::PREVIEW_BYTES;
    while !one_line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &one_line[..end])
}

impl Store {
    /// A conversation's record, brought up to date with the events stored
    /// after it ([`ConvRecord::follow`]).
    pub fn conv(&self, id: &ConvId) -> Result<Option<ConvRecord>> {
        Ok(self.conv_followed(id)?.map(|(_, c)| c))
    }

    /// The stored record as it is, and as followed to the events after it
    /// (consistent: the same moment).
    pub(super) fn conv_followed(&self, id: &ConvId) -> Result<Option<(sled::IVec, ConvRecord)>> {
        let key = keys::conv(id);
        loop {
            let Some(raw) = self.chat.get(&key)? else {
                return Ok(None);
            };
            let mut c: ConvRecord = decode(&key, &raw)?;
            self.follow_events(&mut c)?;
            // A group that wrote the record while its events were read
            // may have changed more than they say: read again. (The commit
            // thread, the only writer, never races itself.)
            if self.chat.get(&key)?.as_ref() == Some(&raw) {
                return Ok(Some((raw, c)));
            }
        }
    }

    /// Applies the events after `c.last_seq` to `c`.
    fn follow_events(&self, c: &mut ConvRecord) -> Result<()> {
        let start = keys::event(&c.id, c.last_seq.saturating_add(1));
        let end = keys::event(&c.id, u64::MAX);
        for item in self.chat.range(start..=end) {
            let (k, v) = item?;
            c.follow(&decode_event(&k, &v)?);
        }
        Ok(())
    }

    /// For tests: the record as stored, not followed.
    #[cfg(test)]
    pub(crate) fn stored_conv_for_tests(&self, id: &ConvId) -> Result<Option<ConvRecord>> {
        Self::get(&self.chat, &keys::conv(id))
    }

    /// For tests of a failing group: a conversation record that does not
    /// decode, so reading it fails.
    #[cfg(test)]
    pub(crate) fn break_conv_for_tests(&self, id: &ConvId) -> Result<()> {
        self.chat.insert(keys::conv(id), &b"\xffnot a record"[..])?;
        Ok(())
    }

    /// Events of `conv` with seq > `after`, in order, at most `limit`.
    pub fn events_after(&self, conv: &ConvId, after: u64, limit: usize) -> Result<Vec<Event>> {
        let start = keys::event(conv, after.saturating_add(1));
        let end = keys::event(conv, u64::MAX);
        let mut out = Vec::new();
        for item in self.chat.range(start..=end).take(limit) {
            let (k, v) = item?;
            out.push(decode_event(&k, &v)?);
        }
        Ok(out)
    }

    /// The last `limit` events of `conv` below seq `before`, oldest first
    /// (paging history backwards).
    pub fn events_before(&self, conv: &ConvId, before: u64, limit: usize) -> Result<Vec<Event>> {
        if before <= 1 {
            return Ok(Vec::new());
        }
        let start = keys::event(conv, 1);
        let end = keys::event(conv, before - 1);
        let mut out = Vec::new();
        for item in self.chat.range(start..=end).rev().take(limit) {
            let (k, v) = item?;
            out.push(decode_event(&k, &v)?);
        }
        out.reverse();
        Ok(out)
    }

    /// Where `cid` from `scope` was stored, if it was.
    pub fn cid(&self, scope: &str, cid: &str) -> Result<Option<CidHit>> {
        let key = keys::cid(scope, cid);
        let Some(v) = self.chat.get(&key)? else {
            return Ok(None);
        };
        decode_cid_hit(&key, &v).map(Some)
    }

    pub(super) fn conv_ids_under(
        &self,
        prefix: &[u8],
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<ConvId>> {
        let iter = self.chat.scan_prefix(prefix);
        let keys: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if newest_first
        {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let mut out = Vec::new();
        for item in keys.take(limit) {
            let (k, _) = item?;
            let id = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|s| ConvId::new(s).ok());
            match id {
                Some(id) => out.push(id),
                None => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), "skipping bad index key")
                }
            }
        }
        Ok(out)
    }

    /// A visitor's conversations, oldest first.
    pub fn visitor_convs(&self, site: &SiteId, visitor: &VisitorId) -> Result<Vec<ConvRecord>> {
        let ids =
            self.conv_ids_under(&keys::visitor_conv_prefix(site, visitor), false, usize::MAX)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.conv(&id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A site's most recent conversations, newest first, at most `limit`.
    pub fn site_convs(&self, site: &SiteId, limit: usize) -> Result<Vec<ConvRecord>> {
        let ids = self.conv_ids_under(&keys::site_conv_prefix(site), true, limit)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.conv(&id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A site's conversations, newest first, each read only when the walk
    /// reaches it: a report over a long range walks them all (not just
    /// the newest [`site_convs`](Self::site_convs) would take) while
    /// holding one at a time.
    pub fn site_convs_newest(
        &self,
        site: &SiteId,
    ) -> impl Iterator<Item = Result<ConvRecord>> + '_ {
        let prefix = keys::site_conv_prefix(site);
        let skip = prefix.len();
        self.chat.scan_prefix(prefix).rev().filter_map(move |item| {
            let k = match item {
                Ok((k, _)) => k,
                Err(e) => return Some(Err(e.into())),
            };
            let id = std::str::from_utf8(&k[skip..])
                .ok()
                .and_then(|s| ConvId::new(s).ok());
            let Some(id) = id else {
                tracing::warn!(key = %String::from_utf8_lossy(&k), "skipping bad index key");
                return None;
            };
            self.conv(&id).transpose()
        })
    }

    /// Every conversation record of every site, in id order (the search
    /// index's rebuild and catch-up read history through it).
    pub fn all_convs(&self) -> Result<Vec<ConvRecord>> {
        let ids = self.conv_ids_under(b"c", false, usize::MAX)?;
        let mut out = Vec::with_capacity(ids.len());
        // Each as Store::conv reads it: followed, and re-read if a group
        // wrote it meanwhile.
        for id in ids {
            if let Some(c) = self.conv(&id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Open conversations assigned to `agent` (routing's load index).
    pub fn load_count(&self, agent: &AgentId) -> Result<u32> {
        Ok(self.chat.scan_prefix(keys::load_prefix(agent)).count() as u32)
    }

    /// Every site's queue: (site, since, conv), oldest first per site.
    pub fn queued_all(&self) -> Result<Vec<(SiteId, u64, ConvId)>> {
        let mut out = Vec::new();
        for item in self.chat.scan_prefix(keys::QUEUE_PREFIX) {
            let (k, _) = item?;
            let rest = &k[1..];
            let parsed = rest.iter().position(|&b| b == 0).and_then(|i| {
                let site = std::str::from_utf8(&rest[..i]).ok()?;
                let tail = rest.get(i + 1..)?;
                let since = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
                let conv = std::str::from_utf8(tail.get(8..)?).ok()?;
                Some((SiteId::new(site).ok()?, since, ConvId::new(conv).ok()?))
            });
            match parsed {
                Some(q) => out.push(q),
                None => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), "skipping bad queue key")
                }
            }
        }
        Ok(out)
    }

    /// Conversations in the load index (open and assigned), every agent.
    pub fn assigned_open(&self) -> Result<Vec<ConvRecord>> {
        let mut out = Vec::new();
        for item in self.chat.scan_prefix(keys::LOAD_PREFIX) {
            let (k, _) = item?;
            let conv = k
                .iter()
                .position(|&b| b == 0)
                .and_then(|i| std::str::from_utf8(&k[i + 1..]).ok())
                .and_then(|s| ConvId::new(s).ok());
            if let Some(c) = conv.map(|c| self.conv(&c)).transpose()?.flatten() {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Builds routing's load index from the conversation records, once per
    /// store (stores from before routing have none); later the commit
    /// thread keeps it with every change.
    pub fn build_load_index(&self) -> Result<()> {
        const DONE: &[u8] = b"routing_index_v1";
        if self.meta.get(DONE)?.is_some() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for item in self.chat.scan_prefix(b"c") {
            let (k, v) = item?;
            let c: ConvRecord = decode(&k, &v)?;
            if let (true, Some(a)) = (c.open, &c.assignee) {
                batch.insert(keys::load(a, &c.id), &[][..]);
                n += 1;
            }
        }
        self.chat.apply_batch(batch)?;
        self.meta.insert(DONE, &[1u8][..])?;
        self.sync()?;
        tracing::info!(assigned = n, "routing: load index built");
        Ok(())
    }

    /// Total stored events (for metrics and tests); walks the index.
    pub fn event_count(&self) -> usize {
        self.chat.scan_prefix(b"e").count()
    }
}

pub fn encode_cid_hit(conv: &ConvId, seq: u64) -> Vec<u8> {
    [conv.as_str().as_bytes(), b"\0", &seq.to_be_bytes()].concat()
}

pub(super) fn decode_cid_hit(key: &[u8], v: &[u8]) -> Result<CidHit> {
    let corrupt = || StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        err: serde::de::Error::custom("bad cid index value"),
    };
    if v.len() < 10 {
        return Err(corrupt());
    }
    let (conv, rest) = v.split_at(v.len() - 9);
    let seq = u64::from_be_bytes(rest[1..].try_into().map_err(|_| corrupt())?);
    let conv = std::str::from_utf8(conv)
        .ok()
        .and_then(|s| ConvId::new(s).ok())
        .ok_or_else(corrupt)?;
    Ok(CidHit { conv, seq })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encode;

    /// An event is stored without its conversation and seq (the key holds
    /// them) and read back whole; values that hold them (older stores)
    /// read the same; a key that is not an event's is refused as corrupt.
    #[test]
    fn events_are_stored_without_what_their_key_says() -> Result<()> {
        let conv = ConvId::new("01JCONVERSATION00000000000").expect("id");
        let ev = Event {
            conv: conv.clone(),
            seq: 7,
            ts: 1_700_000_000_000,
            body: EventBody::Message {
                from: protocol::Author {
                    side: Side::Visitor,
                    id: "v1".into(),
                    name: None,
                },
                cid: protocol::Cid::new("m1").expect("cid"),
                text: "请问可以开发票吗".into(),
                file: None,
            },
        };
        let key = keys::event(&conv, 7);
        let stored = encode_event(&ev)?;
        let text = String::from_utf8_lossy(&stored).into_owned();
        assert!(
            !text.contains("01JCONVERSATION") && !text.contains("\"seq\""),
            "{text}"
        );
        assert_eq!(decode_event(&key, &stored)?, ev);
        assert_eq!(
            decode_event(&key, &encode(&ev)?)?,
            ev,
            "the older, whole form"
        );
        for bad in [
            &b"e"[..],
            b"c01JCONVERSATION00000000000",
            b"e\0\0\0\0\0\0\0\0\x07",
        ] {
            assert!(matches!(
                decode_event(bad, &stored),
                Err(StoreError::Corrupt { .. })
            ));
        }
        assert!(decode_event(&key, b"{not json").is_err());
        Ok(())
    }

    #[test]
    fn cid_hits_round_trip_and_events_range_by_conv() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let conv = ConvId::new("01HZZZZZZZZZZZZZZZZZZZZZZZ").expect("id");
        let other = ConvId::new("01HZZZZZZZZZZZZZZZZZZZZZZY").expect("id");
        let mut batch = sled::Batch::default();
        for (c, seq) in [(&conv, 1u64), (&conv, 2), (&other, 1), (&conv, 300)] {
            let ev = Event {
                conv: c.clone(),
                seq,
                ts: 0,
                body: protocol::EventBody::Closed {
                    by: protocol::Author {
                        side: protocol::Side::System,
                        id: "x".into(),
                        name: None,
                    },
                },
            };
            batch.insert(keys::event(c, seq), encode(&ev)?);
        }
        batch.insert(keys::cid("v:s:v", "m1"), encode_cid_hit(&conv, 300));
        store.apply_chat(batch)?;
        store.sync()?;
        let seqs: Vec<u64> = store
            .events_after(&conv, 1, 10)?
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![2, 300]);
        assert_eq!(store.cid("v:s:v", "m1")?, Some(CidHit { conv, seq: 300 }));
        assert_eq!(store.cid("v:s:v", "m2")?, None);
        Ok(())
    }
}
