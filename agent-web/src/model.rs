//! The console's state, apart from any UI: live visitors, conversations
//! with their loaded events, unread counts, and the outbox of unacked
//! replies. Frames from the relay are applied here; every event is keyed
//! by its `seq`, so a replay after a reconnect can never show one twice.

use protocol::{
    AgentId, Attachment, Author, Cid, ClientFrame, ConvId, ConvSummary, Event, EventBody,
    ServerFrame, Side, SiteId, Viewer, VisitorId, VisitorInfo,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// One conversation as the console knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub summary: ConvSummary,
    /// Events received so far (live, replayed or paged in), by seq.
    pub events: BTreeMap<u64, Event>,
    /// Whether older events exist below the lowest loaded one.
    pub more_before: bool,
    /// Whether history was fetched since the console started.
    pub loaded: bool,
    pub visitor_typing: bool,
    /// The visitor's unsent text (only when the site enables the preview).
    pub draft: Option<String>,
    /// Visitor messages the agents have not read.
    pub unread: u32,
    /// The highest seq that came live over the socket: a visitor message
    /// above it notifies once, even if a history fetch raced ahead of the
    /// live frame and stored it first.
    pub notified: u64,
}

impl Conv {
    /// The visitor's latest rating among the events loaded (a later one
    /// replaces an earlier one, as in stats).
    pub fn rating(&self) -> Option<u8> {
        self.events.values().rev().find_map(|e| match &e.body {
            EventBody::Rated { score, .. } => Some(*score),
            _ => None,
        })
    }

    fn new(summary: ConvSummary) -> Conv {
        let unread = summary.last_seq.saturating_sub(summary.agent_read).min(99) as u32;
        Conv {
            summary,
            events: BTreeMap::new(),
            more_before: false,
            loaded: false,
            visitor_typing: false,
            draft: None,
            unread,
            notified: 0,
        }
    }

    /// The highest seq up to which every event is held (from the lowest
    /// loaded one): a `sync` resumes after it.
    pub fn contiguous(&self) -> u64 {
        let mut it = self.events.keys();
        let Some(&first) = it.next() else { return 0 };
        let mut last = first;
        for &k in it {
            if k != last + 1 {
                break;
            }
            last = k;
        }
        last
    }

    pub fn last_seq(&self) -> u64 {
        self.summary
            .last_seq
            .max(self.events.keys().next_back().copied().unwrap_or(0))
    }

    fn recount_unread(&mut self) {
        if !self.loaded {
            return;
        }
        let read = self.summary.agent_read;
        self.unread = self
            .events
            .range(read + 1..)
            .filter(|(_, e)| is_visitor_message(e))
            .count() as u32;
    }
}

pub fn is_visitor_message(e: &Event) -> bool {
    matches!(&e.body, EventBody::Message { from, .. } if from.side == Side::Visitor)
}

/// A reply, private note or invitation not yet acked by the relay. Kept
/// in localStorage, resent after every reconnect until acked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub cid: Cid,
    pub text: String,
    /// A reply in an existing conversation…
    #[serde(default)]
    pub conv: Option<ConvId>,
    /// …or an invitation that starts one (proactive chat).
    #[serde(default)]
    pub invite: Option<(SiteId, VisitorId)>,
    /// Set when the relay refused it for good.
    #[serde(default)]
    pub failed: Option<String>,
    /// An uploaded file the reply carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Attachment>,
    /// A private note in `conv` (agents only), never a reply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub note: bool,
}

/// What a message says in one line (notifications, inbox previews): its
/// text, or the attachment's name.
pub fn message_line(text: &str, file: Option<&Attachment>) -> String {
    match file {
        Some(f) if text.trim().is_empty() => format!("📎 {}", f.name),
        _ => text.to_string(),
    }
}

impl Pending {
    /// The frame that sends it (the same cid every time). A note goes out
    /// as `note` and nothing else: one without a conversation (a damaged
    /// saved outbox) is never sent, as no other frame would keep it
    /// private.
    pub fn frame(&self) -> Option<ClientFrame> {
        Some(match (&self.conv, &self.invite, self.note) {
            (Some(conv), None, true) => ClientFrame::Note {
                cid: self.cid.clone(),
                conv: conv.clone(),
                text: self.text.clone(),
            },
            (_, _, true) => return None,
            (_, Some((site, visitor)), false) => ClientFrame::Invite {
                site: site.clone(),
                visitor: visitor.clone(),
                cid: self.cid.clone(),
                text: self.text.clone(),
            },
            (conv, None, false) => ClientFrame::Send {
                cid: self.cid.clone(),
                conv: conv.clone(),
                text: self.text.clone(),
                file: self.file.as_ref().map(|f| f.id.clone()),
            },
        })
    }
}

/// What applying a frame asks the UI to do beside re-rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A visitor wrote: notify unless the agent is looking at `conv`.
    VisitorMessage {
        conv: ConvId,
        who: String,
        text: String,
    },
    /// An acked invitation created or reused `conv`: open it.
    Invited { conv: ConvId },
    /// The relay replayed a page and has more: ask for the next one.
    SyncMore { conv: ConvId, after: u64 },
    /// A refusal to show.
    Error(String),
}

#[derive(Default)]
pub struct Model {
    pub site: Option<SiteId>,
    pub visitors: HashMap<VisitorId, Rc<VisitorInfo>>,
    pub convs: HashMap<ConvId, Conv>,
    pub outbox: Vec<Pending>,
    /// The conversation on screen (no notifications or unread for it while
    /// the tab is visible).
    pub viewing: Option<ConvId>,
    /// Agents with each conversation open (`viewers`; this agent included).
    pub viewers: HashMap<ConvId, Vec<Viewer>>,
    /// Agents typing in each conversation (never this agent: the relay
    /// does not echo one's own typing).
    pub agents_typing: HashMap<ConvId, Vec<AgentId>>,
}

impl Model {
    /// Forgets a site's live data (site switch).
    pub fn reset_site(&mut self, site: SiteId) {
        self.site = Some(site);
        self.visitors.clear();
        self.convs.clear();
        self.viewing = None;
        self.viewers.clear();
        self.agents_typing.clear();
    }

    /// The conversation on screen, if any.
    pub fn viewed(&self) -> Option<&Conv> {
        self.viewing.as_ref().and_then(|id| self.convs.get(id))
    }

    pub fn conv_for_visitor(&self, visitor: &VisitorId) -> Option<&Conv> {
        self.convs
            .values()
            .filter(|c| &c.summary.visitor == visitor)
            .max_by_key(|c| (c.summary.open, c.summary.updated))
    }

    pub fn visitor_name(&self, id: &VisitorId) -> String {
        self.visitors
            .get(id)
            .and_then(|v| v.user.as_ref())
            .and_then(|u| u.name.clone().or_else(|| u.email.clone()))
            .unwrap_or_else(|| crate::format::default_name(id))
    }

    pub fn total_unread(&self) -> u32 {
        self.convs
            .values()
            .filter(|c| c.summary.open)
            .map(|c| c.unread)
            .sum()
    }

    /// Merges a summary (snapshot, live `conv`, API answer).
    pub fn upsert_summary(&mut self, s: ConvSummary) {
        if Some(&s.site) != self.site.as_ref() {
            return;
        }
        match self.convs.get_mut(&s.id) {
            Some(c) => {
                c.summary = s;
                if c.loaded {
                    c.recount_unread();
                } else {
                    c.unread = c
                        .summary
                        .last_seq
                        .saturating_sub(c.summary.agent_read)
                        .min(99) as u32;
                }
                if Some(&c.summary.id) == self.viewing.as_ref() {
                    c.unread = 0;
                }
            }
            None => {
                self.convs.insert(s.id.clone(), Conv::new(s));
            }
        }
    }

    /// Adds paged-in history (older events) to a conversation.
    pub fn add_history(&mut self, conv: &ConvId, events: Vec<Event>, more: bool) {
        let Some(c) = self.convs.get_mut(conv) else {
            return;
        };
        for e in events {
            c.events.entry(e.seq).or_insert(e);
        }
        c.more_before = more;
        c.loaded = true;
        c.recount_unread();
    }

    /// Outbox entry by cid.
    fn take_pending(&mut self, cid: &Cid) -> Option<Pending> {
        let i = self.outbox.iter().position(|p| p.cid == *cid)?;
        Some(self.outbox.remove(i))
    }

    /// Applies one frame from the relay.
    pub fn apply(&mut self, frame: ServerFrame, tab_visible: bool) -> Vec<Effect> {
        let mut fx = Vec::new();
        match frame {
            ServerFrame::Snapshot {
                site,
                visitors,
                convs,
            } => {
                if Some(&site) != self.site.as_ref() {
                    return fx;
                }
                self.visitors = visitors
                    .into_iter()
                    .map(|v| (v.id.clone(), Rc::new(v)))
                    .collect();
                for s in convs {
                    self.upsert_summary(s);
                }
            }
            ServerFrame::Presence { visitor } => {
                if Some(&visitor.site) == self.site.as_ref() {
                    self.visitors.insert(visitor.id.clone(), Rc::new(visitor));
                }
            }
            ServerFrame::Offline { site, visitor } => {
                if Some(&site) == self.site.as_ref() {
                    self.visitors.remove(&visitor);
                }
            }
            ServerFrame::Conv { conv } => self.upsert_summary(conv),
            ServerFrame::Event(ev) => self.apply_event(ev, tab_visible, &mut fx),
            ServerFrame::Synced { conv, seq, more } => {
                if more {
                    fx.push(Effect::SyncMore { conv, after: seq });
                }
            }
            ServerFrame::Ack { cid, conv, seq: _ } => {
                if let Some(p) = self.take_pending(&cid) {
                    if p.invite.is_some() {
                        fx.push(Effect::Invited { conv });
                    }
                }
            }
            ServerFrame::Typing {
                conv,
                side: Side::Visitor,
                on,
                text,
                ..
            } => {
                if let Some(c) = self.convs.get_mut(&conv) {
                    c.visitor_typing = on;
                    c.draft = if on {
                        text.filter(|t| !t.trim().is_empty())
                    } else {
                        None
                    };
                }
            }
            ServerFrame::Typing {
                conv,
                side: Side::Agent,
                on,
                agent: Some(agent),
                ..
            } => {
                let list = self.agents_typing.entry(conv).or_default();
                list.retain(|a| a != &agent);
                if on {
                    list.push(agent);
                }
            }
            ServerFrame::Typing { .. } => {}
            ServerFrame::Viewers { conv, agents } => {
                // One who left no longer types there either.
                if let Some(t) = self.agents_typing.get_mut(&conv) {
                    t.retain(|a| agents.iter().any(|v| &v.id == a));
                }
                if agents.is_empty() {
                    self.viewers.remove(&conv);
                } else {
                    self.viewers.insert(conv, agents);
                }
            }
            ServerFrame::Read { conv, side, seq } => {
                if let Some(c) = self.convs.get_mut(&conv) {
                    match side {
                        Side::Visitor => c.summary.visitor_read = c.summary.visitor_read.max(seq),
                        _ => {
                            c.summary.agent_read = c.summary.agent_read.max(seq);
                            c.recount_unread();
                            if !c.loaded {
                                c.unread = c.summary.last_seq.saturating_sub(seq).min(99) as u32;
                            }
                        }
                    }
                }
            }
            ServerFrame::Error { code, message, cid } => {
                if let Some(cid) = cid {
                    // A refusal for a queued reply: it will never be stored.
                    if let Some(p) = self.outbox.iter_mut().find(|p| p.cid == cid) {
                        p.failed = Some(message.clone());
                    }
                }
                fx.push(Effect::Error(format!("{}: {message}", code.as_str())));
            }
            // `queue` tells a visitor its place; agents read `queued` on
            // the summaries.
            ServerFrame::Welcome(_)
            | ServerFrame::Agents { .. }
            | ServerFrame::Queue { .. }
            | ServerFrame::Mailed { .. }
            | ServerFrame::Saved { .. }
            | ServerFrame::Ping
            | ServerFrame::Pong => {}
        }
        fx
    }

    fn apply_event(&mut self, ev: Event, tab_visible: bool, fx: &mut Vec<Effect>) {
        let viewing = tab_visible && self.viewing.as_ref() == Some(&ev.conv);
        // The relay sends a conversation's `conv` summary before its first
        // event; an event without one belongs to another site.
        let Some(visitor) = self.convs.get(&ev.conv).map(|c| c.summary.visitor.clone()) else {
            return;
        };
        let name = self.visitor_name(&visitor);
        let Some(c) = self.convs.get_mut(&ev.conv) else {
            return;
        };
        let seq = ev.seq;
        let fresh = seq > c.notified;
        c.notified = c.notified.max(seq);
        if c.events.contains_key(&seq) {
            // Already shown (a replay, or history fetched first): only a
            // notification it never had is still due.
            if let EventBody::Message {
                from, text, file, ..
            } = &ev.body
            {
                if fresh && from.side == Side::Visitor && seq > c.summary.agent_read && !viewing {
                    fx.push(Effect::VisitorMessage {
                        conv: ev.conv.clone(),
                        who: name,
                        text: message_line(text, file.as_ref()),
                    });
                }
            }
            return;
        }
        c.summary.last_seq = c.summary.last_seq.max(seq);
        c.summary.updated = c.summary.updated.max(ev.ts);
        match &ev.body {
            EventBody::Message {
                from, text, file, ..
            } => {
                let line = message_line(text, file.as_ref());
                c.summary.preview = Some(line.chars().take(80).collect());
                if from.side == Side::Visitor {
                    c.visitor_typing = false;
                    c.draft = None;
                    if seq > c.summary.agent_read && !viewing {
                        fx.push(Effect::VisitorMessage {
                            conv: ev.conv.clone(),
                            who: name,
                            text: line,
                        });
                    }
                }
            }
            EventBody::Closed { .. } => {
                c.summary.open = false;
                c.summary.queued = None;
            }
            EventBody::Reopened { .. } => c.summary.open = true,
            EventBody::Assigned { to, team, .. } => {
                c.summary.assignee = to
                    .as_ref()
                    .and_then(|a: &Author| protocol::AgentId::new(a.id.clone()).ok());
                c.summary.team = team.clone();
                if c.summary.assignee.is_some() {
                    // An agent has it: it no longer waits in the queue.
                    c.summary.queued = None;
                }
            }
            EventBody::Labeled { label, on, .. } => {
                let labels = &mut c.summary.labels;
                labels.retain(|l| l != label);
                if *on {
                    labels.push(label.clone());
                }
            }
            // A note changes nothing a summary says (its preview stays the
            // last message, which the visitor saw too).
            // Nor does a rating, the automatic answer outside hours or a
            // form answer (the profile shows what was given).
            EventBody::Note { .. }
            | EventBody::Rated { .. }
            | EventBody::AutoReply { .. }
            | EventBody::Contacted { .. } => {}
        }
        c.events.insert(seq, ev);
        if viewing {
            c.unread = 0;
        } else {
            c.recount_unread();
        }
    }

    /// The site's queue as the console holds it: open conversations
    /// waiting for a free agent, oldest first (the order the relay serves
    /// them in); a conversation's position is its index + 1.
    pub fn queue(&self) -> Vec<&Conv> {
        let mut q: Vec<&Conv> = self
            .convs
            .values()
            .filter(|c| c.summary.open && c.summary.queued.is_some())
            .collect();
        q.sort_by(|a, b| (a.summary.queued, &a.summary.id).cmp(&(b.summary.queued, &b.summary.id)));
        q
    }

    /// Conversations whose history should be fetched now: open, with
    /// something unread, and nothing loaded yet (unread counts then become
    /// exact).
    pub fn to_load(&self) -> Vec<ConvId> {
        self.convs
            .values()
            .filter(|c| !c.loaded && c.summary.open && c.summary.agent_read < c.summary.last_seq)
            .map(|c| c.summary.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ErrorCode;

    fn id<T: TryFrom<String>>(s: &str) -> T
    where
        T::Error: std::fmt::Debug,
    {
        T::try_from(s.to_string()).expect("id")
    }

    /// A pending reply's frame as the relay receives it.
    fn wire(p: &Pending) -> serde_json::Value {
        serde_json::to_value(p.frame().expect("a frame")).expect("frame")
    }

    fn summary(last_seq: u64, agent_read: u64) -> ConvSummary {
        ConvSummary {
            id: id("c1"),
            site: id("demo"),
            visitor: id("v1"),
            open: true,
            last_seq,
            created: 0,
            updated: 0,
            visitor_read: 0,
            agent_read,
            preview: None,
            assignee: None,
            team: None,
            labels: Vec::new(),
            queued: None,
            channel: Default::default(),
            wechat: None,
        }
    }

    fn msg(seq: u64, side: Side, text: &str) -> ServerFrame {
        ServerFrame::Event(Event {
            conv: id("c1"),
            seq,
            ts: seq,
            body: EventBody::Message {
                from: Author {
                    side,
                    id: "x".into(),
                    name: None,
                },
                cid: id(&format!("cid{seq}")),
                text: text.into(),
                file: None,
            },
        })
    }

    fn model() -> Model {
        let mut m = Model::default();
        m.reset_site(id("demo"));
        m.upsert_summary(summary(0, 0));
        m.add_history(&id("c1"), Vec::new(), false);
        m
    }

    /// Replays after a reconnect repeat events the console holds: each is
    /// shown once, and notifies once.
    #[test]
    fn replayed_events_are_applied_once() {
        let mut m = model();
        let mut notes = 0;
        for seq in [1, 2, 1, 3, 2, 3] {
            let fx = m.apply(msg(seq, Side::Visitor, &format!("m{seq}")), true);
            notes += fx
                .iter()
                .filter(|f| matches!(f, Effect::VisitorMessage { .. }))
                .count();
        }
        let c = &m.convs[&id::<ConvId>("c1")];
        assert_eq!(c.events.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!((notes, c.unread, c.contiguous()), (3, 3, 3));
    }

    /// Unread counts only the visitor's messages after the agents' read
    /// mark, and nothing while the agent looks at the conversation.
    #[test]
    fn unread_counts_visitor_messages_after_the_read_mark() {
        let mut m = model();
        m.apply(msg(1, Side::Visitor, "a"), true);
        m.apply(msg(2, Side::Agent, "b"), true);
        m.apply(msg(3, Side::Visitor, "c"), true);
        assert_eq!(m.total_unread(), 2);
        m.apply(
            ServerFrame::Read {
                conv: id("c1"),
                side: Side::Agent,
                seq: 2,
            },
            true,
        );
        assert_eq!(m.total_unread(), 1);
        m.viewing = Some(id("c1"));
        let fx = m.apply(msg(4, Side::Visitor, "d"), true);
        assert!(fx.is_empty(), "no notification for the open conversation");
        assert_eq!(m.total_unread(), 0);
        // The same conversation in a hidden tab does notify.
        let fx = m.apply(msg(5, Side::Visitor, "e"), false);
        assert_eq!(fx.len(), 1);
    }

    /// A visitor message that a history fetch stored before its live frame
    /// arrived still notifies, once.
    #[test]
    fn history_racing_ahead_of_the_live_frame_still_notifies_once() {
        let mut m = model();
        let ServerFrame::Event(ev) = msg(1, Side::Visitor, "hi") else {
            unreachable!()
        };
        m.add_history(&id("c1"), vec![ev], false);
        let fx = m.apply(msg(1, Side::Visitor, "hi"), true);
        assert_eq!(fx.len(), 1, "the live frame notifies");
        let fx = m.apply(msg(1, Side::Visitor, "hi"), true);
        assert!(fx.is_empty(), "a replay does not notify again");
        assert_eq!(m.convs[&id::<ConvId>("c1")].events.len(), 1);
    }

    /// A reply with a file names it in the send frame; a file message
    /// without a caption previews (and notifies) as its name.
    #[test]
    fn attachments_travel_by_id_and_preview_by_name() {
        let att = Attachment {
            id: id("f00d"),
            name: "shot.png".into(),
            size: 10,
            mime: "image/png".into(),
            class: protocol::FileClass::Image,
            thumb: true,
            width: None,
            height: None,
        };
        let p = Pending {
            cid: id("r9"),
            text: String::new(),
            conv: Some(id("c1")),
            invite: None,
            failed: None,
            file: Some(att.clone()),
            note: false,
        };
        assert_eq!(wire(&p)["file"], "f00d");
        assert_eq!(message_line("", Some(&att)), "📎 shot.png");
        assert_eq!(message_line("see this", Some(&att)), "see this");
        let mut m = model();
        let mut ev = msg(1, Side::Visitor, "");
        if let ServerFrame::Event(Event {
            body: EventBody::Message { file, .. },
            ..
        }) = &mut ev
        {
            *file = Some(att);
        }
        let fx = m.apply(ev, true);
        assert_eq!(
            m.convs[&id::<ConvId>("c1")].summary.preview.as_deref(),
            Some("📎 shot.png")
        );
        assert!(
            matches!(&fx[..], [Effect::VisitorMessage { text, .. }] if text == "📎 shot.png"),
            "{fx:?}"
        );
    }

    /// A gap (events missed while disconnected) stops the contiguous
    /// prefix where it starts, so the sync asks for exactly what is missing.
    #[test]
    fn contiguous_stops_at_a_gap() {
        let mut m = model();
        for seq in [1, 2, 5] {
            m.apply(msg(seq, Side::Visitor, "x"), true);
        }
        assert_eq!(m.convs[&id::<ConvId>("c1")].contiguous(), 2);
    }

    /// The ack removes a reply from the outbox; an invitation's ack opens
    /// its conversation; a refusal marks the reply failed.
    #[test]
    fn outbox_follows_acks_and_refusals() {
        let mut m = model();
        let pending = |cid: &str, invite: bool| Pending {
            cid: id(cid),
            text: "hi".into(),
            conv: (!invite).then(|| id("c1")),
            invite: invite.then(|| (id("demo"), id("v1"))),
            failed: None,
            file: None,
            note: false,
        };
        m.outbox = vec![
            pending("r1", false),
            pending("i1", true),
            pending("r2", false),
        ];
        let ack = |cid: &str| ServerFrame::Ack {
            cid: id::<Cid>(cid),
            conv: id("c1"),
            seq: 1,
        };
        assert!(m.apply(ack("r1"), true).is_empty());
        assert_eq!(
            m.apply(ack("i1"), true),
            [Effect::Invited { conv: id("c1") }]
        );
        m.apply(
            ServerFrame::Error {
                code: ErrorCode::Forbidden,
                message: "no".into(),
                cid: Some(id("r2")),
            },
            true,
        );
        assert_eq!(m.outbox.len(), 1);
        assert_eq!(m.outbox[0].failed.as_deref(), Some("no"));
        assert_eq!(wire(&m.outbox[0])["type"], "send");
    }
}
