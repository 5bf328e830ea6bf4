//! The reducer's inbox and visitors half: frames from the relay, the
//! inbox's filters (tabs, the queue, labels), opening and reading
//! conversations, history paging, the composer (replies and private notes,
//! typing notices, canned replies, files) and proactive invitations.

use super::{Action, Compose, Effect, Env, Filter, Pane, State, Upload};
use crate::app::Route;
use crate::i18n::{tr, trf};
use crate::model::{Conv, Effect as ModelEffect, Pending};
use crate::services::api::{ApiResult, Fetch};
use protocol::api::{EventsPage, PROFILE_PAGES};
use protocol::limits::{MAX_FILE_BYTES, MAX_TEXT_BYTES};
use protocol::timing::{AGENT_TYPING_IDLE_MS, AGENT_TYPING_REFRESH_MS, VISITOR_TYPING_SHOWN_MS};
use protocol::{Attachment, Cid, ClientFrame, ConvId, ServerFrame, Side, VisitorInfo};
use std::rc::Rc;

/// While a visitor's typing line shows, it is checked this often (ms).
const TYPING_EXPIRE_CHECK_MS: u32 = 1_000;
/// A notice this close to its expiry (ms) counts as expired, so a timer
/// that fires a little early does not wait another round.
const TYPING_EXPIRE_SLACK_MS: f64 = 50.0;

/// A file the agent picked, dropped or pasted.
#[derive(Debug)]
pub struct PickedFile {
    pub name: String,
    /// Bytes.
    pub size: f64,
    pub file: web_sys::File,
}

impl State {
    /// Inbox, composer and visitors actions.
    pub(super) fn reduce_inbox(&mut self, action: Action, env: &Env, fx: &mut Vec<Effect>) -> bool {
        match action {
            Action::SetFilter(f) => {
                self.filter = f;
                // Closed ones are not in the live list; the queue is, but
                // its order is asked for afresh.
                let status = match f {
                    Filter::Closed => Some("closed"),
                    Filter::Queue => Some("queued"),
                    _ => None,
                };
                if let (Some(status), Some(site)) = (status, self.model.site.clone()) {
                    fx.push(Effect::Fetch(Fetch::Convs(site, status)));
                }
            }
            Action::SetLabelFilter(label) => self.label_filter = label,
            Action::SetCompose(mode) => {
                self.compose = mode;
                if mode == Compose::Note {
                    // What a note says is nobody's business on the
                    // visitor's side, not even that one is being typed.
                    self.stop_typing(fx);
                }
            }
            Action::OpenConv(conv) => self.open_conv(conv, env, fx),
            Action::ShowPane(pane) => self.pane = pane,
            Action::LoadEarlier => {
                if let Some(conv) = self.model.viewing.clone() {
                    let before = self
                        .model
                        .convs
                        .get(&conv)
                        .and_then(|c| c.events.keys().next().copied())
                        .unwrap_or(1);
                    fx.push(Effect::Fetch(Fetch::Events(conv, before)));
                }
                return false;
            }
            Action::ComposerInput(text) => {
                self.composer = text;
                if self.compose == Compose::Reply {
                    self.typing(env, fx);
                }
            }
            Action::ComposerEnter => {
                if let Some(c) = self.canned_matches().first() {
                    self.composer = c.text.clone();
                    return true;
                }
                return self.send_reply(env, fx);
            }
            Action::PickCanned(text) => self.composer = text,
            Action::SendReply => return self.send_reply(env, fx),
            Action::AttachFiles(files) => return self.attach(files, env, fx),
            Action::Conv(action) => {
                if let Some(conv) = self.model.viewing.clone() {
                    fx.push(Effect::Fetch(Fetch::Conv(conv, action)));
                }
                return false;
            }
            Action::SelectVisitor(v) => {
                self.selected_visitor = Some(v.clone());
                self.invite_text.clear();
                if let Some(site) = self.model.site.clone() {
                    fx.push(Effect::Fetch(Fetch::Profile(site, v)));
                }
            }
            Action::CloseVisitor => self.selected_visitor = None,
            Action::ReloadProfile(v) => {
                if let Some(site) = self.model.site.clone() {
                    fx.push(Effect::Fetch(Fetch::Profile(site, v)));
                }
                return false;
            }
            Action::VisitorPage(p) => self.visitor_page = p,
            Action::InviteInput(t) => {
                self.invite_text = t;
                return false;
            }
            Action::Invite => return self.invite(env, fx),
            Action::TypingIdle => {
                self.stop_typing(fx);
                return false;
            }
            Action::TypingExpire => return self.typing_expire(env, fx),
            // The rest is handled by `State::reduce` before it gets here.
            _ => return false,
        }
        true
    }

    /// Whether the inbox tab `f` lists `c`.
    pub fn in_filter(&self, f: Filter, c: &Conv) -> bool {
        let me = self.my_id();
        let c = &c.summary;
        match f {
            Filter::Queue => c.open && c.queued.is_some(),
            Filter::Unassigned => c.open && c.assignee.is_none(),
            Filter::Mine => c.open && c.assignee.as_ref().is_some_and(|x| x.as_str() == me),
            Filter::Open => c.open,
            Filter::Closed => !c.open,
        }
    }

    /// The inbox list: the chosen tab narrowed to the chosen label; the
    /// queue in its order (oldest first), any other tab newest first.
    pub fn inbox_list(&self) -> Vec<&Conv> {
        let label = self.label_filter.as_deref();
        let keep = |c: &&Conv| {
            self.in_filter(self.filter, c)
                && label.is_none_or(|l| c.summary.labels.iter().any(|x| x == l))
        };
        if self.filter == Filter::Queue {
            return self.model.queue().into_iter().filter(keep).collect();
        }
        let mut list: Vec<&Conv> = self.model.convs.values().filter(keep).collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.summary.updated));
        list
    }

    /// Applies a frame from the relay; draws later ([`Effect::RenderSoon`]).
    pub(super) fn on_frame(&mut self, frame: ServerFrame, env: &Env, fx: &mut Vec<Effect>) -> bool {
        if let ServerFrame::Typing {
            conv,
            side: Side::Visitor,
            on,
            ..
        } = &frame
        {
            if *on {
                self.visitor_typing.insert(conv.clone(), env.now);
                if !self.typing_expiring {
                    self.typing_expiring = true;
                    fx.push(Effect::TypingExpireIn(VISITOR_TYPING_SHOWN_MS));
                }
            } else {
                self.visitor_typing.remove(conv);
            }
        }
        if let ServerFrame::Presence { visitor } = &frame {
            self.profile_live(visitor);
        }
        let snapshot = matches!(frame, ServerFrame::Snapshot { .. });
        let ack = matches!(
            frame,
            ServerFrame::Ack { .. } | ServerFrame::Error { cid: Some(_), .. }
        );
        let effects = self.model.apply(frame, env.visible);
        if ack {
            fx.push(Effect::SaveOutbox);
        }
        for e in effects {
            match e {
                ModelEffect::VisitorMessage { conv, who, text } => {
                    fx.push(Effect::Notify { conv, who, text })
                }
                ModelEffect::Invited { conv } => {
                    self.route = Route::Inbox;
                    fx.push(Effect::SetHash(Route::Inbox));
                    self.open_conv(conv, env, fx);
                }
                ModelEffect::SyncMore { conv, after } => {
                    fx.push(Effect::Send(ClientFrame::Sync { conv, after }))
                }
                ModelEffect::Error(e) => self.toast = Some(e),
            }
        }
        if snapshot {
            // Back after a disconnect: whatever the open conversations
            // missed is replayed after what they hold.
            let convs: Vec<ConvId> = self.model.convs.keys().cloned().collect();
            for c in convs {
                self.sync_gaps(&c, fx);
            }
        }
        self.load_unread(fx);
        self.mark_read(env, fx);
        if !self.render_due {
            self.render_due = true;
            fx.push(Effect::RenderSoon);
        }
        false
    }

    /// Keeps an open profile live: a new page view of its visitor joins its
    /// page list (a repeat carries the same arrival time and does not), and
    /// its live record follows.
    fn profile_live(&mut self, v: &VisitorInfo) {
        let Some((id, p)) = &mut self.profile else {
            return;
        };
        if id != &v.id {
            return;
        }
        let p = Rc::make_mut(p);
        if let Some(page) = &v.page {
            let known = p.pages.iter().any(|x| x.at == page.at && x.url == page.url);
            if !known {
                p.pages.push(page.clone());
                let extra = p.pages.len().saturating_sub(PROFILE_PAGES);
                p.pages.drain(..extra);
            }
        }
        if v.referrer.is_some() {
            p.referrer = v.referrer.clone();
        }
        p.online = true;
        p.current = Some(v.clone());
    }

    /// A page of history came back.
    pub(super) fn history(
        &mut self,
        conv: ConvId,
        r: ApiResult<EventsPage>,
        env: &Env,
        fx: &mut Vec<Effect>,
    ) {
        self.loading.remove(&conv);
        match r {
            Ok(page) => {
                self.model.add_history(&conv, page.events, page.more);
                // Anything newer than the page that the socket has not
                // brought yet: ask for it.
                self.sync_gaps(&conv, fx);
                self.mark_read(env, fx);
                fx.push(Effect::Title(self.model.total_unread()));
            }
            Err(e) => self.toast = Some(e),
        }
    }

    /// An upload finished: its reply goes out like a text one.
    pub(super) fn uploaded(
        &mut self,
        cid: Cid,
        conv: ConvId,
        r: ApiResult<Attachment>,
        fx: &mut Vec<Effect>,
    ) {
        let name = self
            .uploads
            .iter()
            .find(|u| u.cid == cid)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        self.uploads.retain(|u| u.cid != cid);
        match r {
            Ok(file) => self.queue(
                Pending {
                    cid,
                    text: String::new(),
                    conv: Some(conv),
                    invite: None,
                    failed: None,
                    file: Some(file),
                    note: false,
                },
                fx,
            ),
            Err(e) => self.toast = Some(trf("{} was not sent: {}", &[&name, &e])),
        }
    }

    pub(super) fn open_conv(&mut self, conv: ConvId, env: &Env, fx: &mut Vec<Effect>) {
        self.route = Route::Inbox;
        self.pane = Pane::Chat;
        if self.model.viewing.as_ref() != Some(&conv) {
            self.composer.clear();
            self.stop_typing(fx);
        }
        if self.search.focus.as_ref().is_some_and(|f| f.0 != conv) {
            self.search.focus = None;
        }
        self.model.viewing = Some(conv.clone());
        let Some(c) = self.model.convs.get(&conv) else {
            return;
        };
        let visitor = c.summary.visitor.clone();
        if !c.loaded && self.loading.insert(conv.clone()) {
            fx.push(Effect::Fetch(Fetch::Events(conv, c.last_seq() + 1)));
        }
        if self.profile.as_ref().map(|p| &p.0) != Some(&visitor) {
            self.profile = None;
            self.contact_edit = None;
            if let Some(site) = self.model.site.clone() {
                fx.push(Effect::Fetch(Fetch::Profile(site, visitor)));
            }
        }
        self.mark_read(env, fx);
        fx.push(Effect::Title(self.model.total_unread()));
    }

    /// The open conversation is read up to its last event, if the agent
    /// can see it.
    pub(super) fn mark_read(&mut self, env: &Env, fx: &mut Vec<Effect>) {
        if self.route != Route::Inbox || !env.visible {
            return;
        }
        let Some(conv) = self.model.viewing.clone() else {
            return;
        };
        let Some(c) = self.model.convs.get_mut(&conv) else {
            return;
        };
        c.unread = 0;
        let last = c.events.keys().next_back().copied().unwrap_or(0);
        if last > c.summary.agent_read && env.online {
            c.summary.agent_read = last;
            fx.push(Effect::Send(ClientFrame::Read { conv, seq: last }));
        }
    }

    /// Asks the relay for what a loaded conversation lacks: the events
    /// between its contiguous prefix and the relay's last seq.
    fn sync_gaps(&self, conv: &ConvId, fx: &mut Vec<Effect>) {
        let Some(c) = self.model.convs.get(conv) else {
            return;
        };
        if !c.loaded {
            return;
        }
        let have = c.contiguous();
        if have < c.summary.last_seq {
            fx.push(Effect::Send(ClientFrame::Sync {
                conv: conv.clone(),
                after: have,
            }));
        }
    }

    /// Fetches history for open conversations with unread messages, so
    /// their counts are exact.
    pub(super) fn load_unread(&mut self, fx: &mut Vec<Effect>) {
        for conv in self.model.to_load() {
            if !self.loading.insert(conv.clone()) {
                continue;
            }
            let before = self
                .model
                .convs
                .get(&conv)
                .map(|c| c.last_seq() + 1)
                .unwrap_or(1);
            fx.push(Effect::Fetch(Fetch::Events(conv, before)));
        }
    }

    /// Sends the composer's text: a reply, or in note mode a private note
    /// (the `note` frame, through the same outbox).
    fn send_reply(&mut self, env: &Env, fx: &mut Vec<Effect>) -> bool {
        let text = self.composer.trim().to_string();
        let Some(conv) = self.model.viewing.clone() else {
            return false;
        };
        if text.is_empty() {
            return false;
        }
        if text.len() > MAX_TEXT_BYTES {
            self.toast = Some(trf("A message holds at most {} bytes.", &[&MAX_TEXT_BYTES]));
            return true;
        }
        self.composer.clear();
        self.stop_typing(fx);
        let p = Pending {
            cid: self.new_cid(env),
            text,
            conv: Some(conv),
            invite: None,
            failed: None,
            file: None,
            note: self.compose == Compose::Note,
        };
        self.queue(p, fx);
        true
    }

    fn attach(&mut self, files: Vec<PickedFile>, env: &Env, fx: &mut Vec<Effect>) -> bool {
        let (Some(conv), Some(site)) = (self.model.viewing.clone(), self.model.site.clone()) else {
            return false;
        };
        if self.token.is_none() {
            return false;
        }
        if self.compose == Compose::Note {
            // A file goes out as a message the visitor sees: never from
            // the note box.
            self.toast = Some(tr("Notes hold text only; switch to Reply to send a file.").into());
            return true;
        }
        for f in files {
            if f.size > MAX_FILE_BYTES as f64 {
                self.toast = Some(trf(
                    "{} is over {} MB; it was not sent.",
                    &[&f.name, &(MAX_FILE_BYTES / (1024 * 1024))],
                ));
                continue;
            }
            let cid = self.new_cid(env);
            self.uploads.push(Upload {
                cid: cid.clone(),
                conv: conv.clone(),
                name: f.name,
            });
            fx.push(Effect::Fetch(Fetch::Upload {
                site: site.clone(),
                conv: conv.clone(),
                cid,
                file: f.file,
            }));
        }
        true
    }

    fn invite(&mut self, env: &Env, fx: &mut Vec<Effect>) -> bool {
        let text = self.invite_text.trim().to_string();
        let (Some(site), Some(visitor)) = (self.model.site.clone(), self.selected_visitor.clone())
        else {
            return false;
        };
        if text.is_empty() || text.len() > MAX_TEXT_BYTES {
            return false;
        }
        self.invite_text.clear();
        let p = Pending {
            cid: self.new_cid(env),
            text,
            conv: None,
            invite: Some((site, visitor)),
            failed: None,
            file: None,
            note: false,
        };
        self.queue(p, fx);
        true
    }

    /// The composer changed: a typing notice (refreshed at most every
    /// [`AGENT_TYPING_REFRESH_MS`]), withdrawn after a quiet spell.
    fn typing(&mut self, env: &Env, fx: &mut Vec<Effect>) {
        let Some(conv) = self.model.viewing.clone() else {
            return;
        };
        if self.composer.trim().is_empty() || self.composer.starts_with('/') {
            self.stop_typing(fx);
            return;
        }
        let fresh = matches!(&self.typing_sent, Some((c, at))
            if *c == conv && env.now - at < f64::from(AGENT_TYPING_REFRESH_MS));
        if !fresh {
            fx.push(Effect::Send(ClientFrame::Typing {
                conv: Some(conv.clone()),
                on: true,
                text: None,
            }));
            self.typing_sent = Some((conv, env.now));
        }
        fx.push(Effect::TypingIdleIn(AGENT_TYPING_IDLE_MS));
    }

    fn stop_typing(&mut self, fx: &mut Vec<Effect>) {
        fx.push(Effect::CancelTypingIdle);
        if let Some((conv, _)) = self.typing_sent.take() {
            fx.push(Effect::Send(ClientFrame::Typing {
                conv: Some(conv),
                on: false,
                text: None,
            }));
        }
    }

    /// Hides typing lines whose visitor went quiet (a closed tab never
    /// sends "off").
    fn typing_expire(&mut self, env: &Env, fx: &mut Vec<Effect>) -> bool {
        self.typing_expiring = false;
        let shown = f64::from(VISITOR_TYPING_SHOWN_MS) - TYPING_EXPIRE_SLACK_MS;
        let stale: Vec<ConvId> = self
            .visitor_typing
            .iter()
            .filter(|(_, at)| env.now - **at >= shown)
            .map(|(c, _)| c.clone())
            .collect();
        for c in &stale {
            self.visitor_typing.remove(c);
            if let Some(conv) = self.model.convs.get_mut(c) {
                conv.visitor_typing = false;
                conv.draft = None;
            }
        }
        if !self.visitor_typing.is_empty() {
            self.typing_expiring = true;
            fx.push(Effect::TypingExpireIn(TYPING_EXPIRE_CHECK_MS));
        }
        !stale.is_empty()
    }
}
