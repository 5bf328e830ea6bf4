//! The agent half of a session: its hello (token, cursors), site
//! subscriptions and snapshots, and the frames an agent may send.

use super::{
    commit_error, err, err_cid, internal, own_file, with_cid, Live, Refuse, Session, State,
};
use crate::commit::{NewMessage, Target};
use crate::ratelimit::Rate;
use crate::store::{AgentRecord, ConvRecord};
use protocol::limits::*;
use protocol::*;
use std::collections::HashMap;

pub(super) struct AgentState {
    pub(super) agent: AgentRecord,
    pub(super) live: Live,
    pub(super) subscribed: Vec<SiteId>,
    typing: Rate,
    /// Set by `status {away}`; applies to sites subscribed later too.
    away: bool,
    /// Whether this connection's tab is visible to its human (`visible`
    /// frames; true from hello). Counted by Web Push while true.
    pub(super) visible: bool,
}

impl Session {
    pub(super) fn agent_hello(
        &mut self,
        h: Hello,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let token = h.token.as_deref().unwrap_or_default();
        let agent = crate::auth::agent_for_token(&app.store, token)
            .map_err(internal)?
            .ok_or_else(|| err(ErrorCode::BadToken, "unknown or revoked agent token"))?;
        if agent.bot {
            // An API key works the HTTP API; a live session would make its
            // bot an online agent that routing assigns conversations to.
            return Err(err(
                ErrorCode::Forbidden,
                "an API key is for the HTTP API, not for a live agent session",
            ));
        }
        let mut cursors = HashMap::new();
        for (conv, seq) in h.cursors {
            if let Some(c) = app.store.conv(&conv).map_err(internal)? {
                if agent.sites.contains(&c.site) {
                    cursors.insert(conv, seq);
                }
            }
        }
        let (sub, handle) = app.hub.subscription_with(AGENT_QUEUE as u32);
        out.push(ServerFrame::Welcome(Welcome {
            v: PROTOCOL_VERSION,
            role: Role::Agent,
            heartbeat_ms: app.config.heartbeat.as_millis() as u64,
            visitor: None,
            token: None,
            convs: Vec::new(),
            agent: Some(agent.id.clone()),
            name: Some(agent.name.clone()),
            sites: agent.sites.clone(),
            agents_online: false,
            mail: false,
            known: false,
            email_known: false,
            settings: None,
        }));
        let convs: Vec<ConvId> = cursors.keys().cloned().collect();
        app.push.shown(&agent.id);
        self.state = State::Agent(Box::new(AgentState {
            agent,
            live: Live {
                sub,
                handle,
                cursors,
            },
            subscribed: Vec::new(),
            typing: Rate::new(),
            away: false,
            visible: true,
        }));
        for c in convs {
            self.replay(&c, out);
        }
        Ok(())
    }

    /// The site's live state for an agent: one `snapshot` with the
    /// conversations and as many visitors as fit [`SNAPSHOT_VISITOR_BYTES`],
    /// then one `presence` per remaining visitor — so no frame outgrows the
    /// socket's write bound however many visitors are online.
    pub(super) fn snapshot(&mut self, site: &SiteId, out: &mut Vec<ServerFrame>) {
        let mut visitors = self.app.hub.visitors(site);
        let mut budget = SNAPSHOT_VISITOR_BYTES;
        let mut fit = 0;
        for v in &visitors {
            let n = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
            if n > budget {
                break;
            }
            budget -= n;
            fit += 1;
        }
        let rest = visitors.split_off(fit);
        match self.app.store.site_convs(site, SNAPSHOT_CONVS) {
            Ok(convs) => out.push(ServerFrame::Snapshot {
                site: site.clone(),
                visitors,
                convs: convs.iter().map(ConvRecord::summary).collect(),
            }),
            Err(e) => return out.push(internal(e).into()),
        }
        out.extend(
            rest.into_iter()
                .map(|visitor| ServerFrame::Presence { visitor }),
        );
    }

    /// A conversation on one of this agent's sites. Others look exactly like
    /// missing ones, so ids of other sites cannot be probed.
    fn agent_conv(&self, conv: &ConvId) -> Result<ConvRecord, Refuse> {
        let State::Agent(a) = &self.state else {
            return Err(err(ErrorCode::Forbidden, "agents only"));
        };
        match self.app.store.conv(conv).map_err(internal)? {
            Some(c) if a.agent.sites.contains(&c.site) => Ok(c),
            _ => Err(err(ErrorCode::UnknownConversation, "no such conversation")),
        }
    }

    fn agent_mut(&mut self) -> Option<&mut AgentState> {
        match &mut self.state {
            State::Agent(a) => Some(a),
            _ => None,
        }
    }

    /// The agent's name as stored now: a rename reaches this session's
    /// next message, typing notice and "viewing" line without a reconnect
    /// (the session's copy is from its hello). The copy if the store
    /// cannot say.
    fn current_name(&self, agent: &crate::store::AgentRecord) -> String {
        match self.app.store.agent(&agent.id) {
            Ok(Some(a)) => a.name,
            _ => agent.name.clone(),
        }
    }

    /// This agent as a message's author, and the scope its cids are
    /// deduplicated in.
    fn me(&self) -> Option<(Author, String)> {
        let State::Agent(a) = &self.state else {
            return None;
        };
        let me = Author {
            side: Side::Agent,
            id: a.agent.id.to_string(),
            name: Some(self.current_name(&a.agent)),
        };
        Some((me, format!("a:{}", a.agent.id)))
    }

    pub(super) async fn agent_frame(
        &mut self,
        frame: ClientFrame,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        match frame {
            ClientFrame::Subscribe { site } => self.subscribe(site, out),
            ClientFrame::Send {
                cid,
                conv,
                text,
                file,
            } => self.agent_send(cid, conv, text, file, out).await,
            ClientFrame::Invite {
                site,
                visitor,
                cid,
                text,
            } => self.invite(site, visitor, cid, text, out).await,
            ClientFrame::Close { conv } => self.close(conv).await,
            ClientFrame::Note { cid, conv, text } => self.note(cid, conv, text, out).await,
            ClientFrame::Typing { conv, on, .. } => self.agent_typing(conv, on),
            ClientFrame::Read { conv, seq } => {
                let rec = self.agent_conv(&conv)?;
                self.app.commit.read(rec.id, Side::Agent, seq);
                Ok(())
            }
            ClientFrame::Sync { conv, after } => {
                let rec = self.agent_conv(&conv)?;
                self.sync(&rec.id, after, out);
                Ok(())
            }
            ClientFrame::Status { away } => {
                let app = self.app.clone();
                if let Some(a) = self.agent_mut() {
                    a.away = away;
                    app.hub.agent_away(&a.subscribed, a.live.handle.id(), away);
                    if !away {
                        for site in &a.subscribed {
                            app.commit.route(site.clone());
                        }
                    }
                }
                Ok(())
            }
            ClientFrame::Visible { visible } => {
                let app = self.app.clone();
                if let Some(a) = self.agent_mut().filter(|a| a.visible != visible) {
                    a.visible = visible;
                    if visible {
                        app.push.shown(&a.agent.id);
                    } else {
                        app.push.hidden(&a.agent.id);
                    }
                }
                Ok(())
            }
            ClientFrame::Viewing { conv } => self.viewing(conv),
            ClientFrame::Page(_)
            | ClientFrame::Team { .. }
            | ClientFrame::Contact { .. }
            | ClientFrame::Rate { .. }
            | ClientFrame::Transcript { .. } => Err(err(ErrorCode::Forbidden, "visitors only")),
            ClientFrame::Hello(_) | ClientFrame::Ping | ClientFrame::Pong => Ok(()),
        }
    }

    /// `subscribe`: live traffic of one of the agent's sites, its snapshot,
    /// and the replay of the agent's open conversations there.
    fn subscribe(&mut self, site: SiteId, out: &mut Vec<ServerFrame>) -> Result<(), Refuse> {
        let app = self.app.clone();
        let Some(a) = self.agent_mut() else {
            return Ok(());
        };
        if !a.agent.sites.contains(&site) {
            return Err(err(
                ErrorCode::Forbidden,
                format!("not an agent of site {site}"),
            ));
        }
        if app.store.site(&site).map_err(internal)?.is_none() {
            return Err(err(ErrorCode::UnknownSite, format!("no site {site}")));
        }
        let me = (&a.agent.id, a.agent.capacity);
        app.hub.agent_subscribe(&site, &a.live.handle, a.away, me);
        // A new available agent may take waiting conversations.
        app.commit.route(site.clone());
        if !a.subscribed.contains(&site) {
            a.subscribed.push(site.clone());
        }
        let mine: Vec<ConvId> = a.live.cursors.keys().cloned().collect();
        self.snapshot(&site, out);
        // Who views what now, so collision notices show at once.
        for (conv, agents) in app.hub.viewers(&site) {
            out.push(ServerFrame::Viewers { conv, agents });
        }
        for c in mine {
            if matches!(app.store.conv(&c), Ok(Some(r)) if r.site == site) {
                self.replay(&c, out);
            }
        }
        Ok(())
    }

    /// `send`: a reply into a conversation of the agent's sites.
    async fn agent_send(
        &mut self,
        cid: Cid,
        conv: Option<ConvId>,
        text: String,
        file: Option<FileId>,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let Some((me, scope)) = self.me() else {
            return Ok(());
        };
        let Some(conv) = conv else {
            return Err(err_cid(
                ErrorCode::BadFrame,
                "an agent send needs conv",
                &cid,
            ));
        };
        let rec = self.agent_conv(&conv).map_err(|e| with_cid(e, &cid))?;
        let file = own_file(&self.app, file, &rec.site, Side::Agent, &me.id, &cid)?;
        self.submit(
            NewMessage {
                scope,
                cid,
                target: Target::Conv(rec.id),
                from: me,
                text,
                file,
            },
            out,
        )
        .await;
        Ok(())
    }

    /// `invite`: the agent starts a conversation with a known visitor.
    async fn invite(
        &mut self,
        site: SiteId,
        visitor: VisitorId,
        cid: Cid,
        text: String,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let Some((me, scope)) = self.me() else {
            return Ok(());
        };
        let member = matches!(&self.state, State::Agent(a) if a.agent.sites.contains(&site));
        if !member {
            return Err(err_cid(
                ErrorCode::Forbidden,
                format!("not an agent of site {site}"),
                &cid,
            ));
        }
        let Some(known) = self.app.store.visitor(&site, &visitor).map_err(internal)? else {
            return Err(err_cid(ErrorCode::NotFound, "no such visitor", &cid));
        };
        self.submit(
            NewMessage {
                scope,
                cid,
                target: Target::Visitor {
                    site,
                    visitor,
                    team: None,
                    channel: known.channel,
                },
                from: me,
                text,
                file: None,
            },
            out,
        )
        .await;
        Ok(())
    }

    /// `note`: a private note into a conversation of the agent's sites;
    /// acked like a send once durable.
    async fn note(
        &mut self,
        cid: Cid,
        conv: ConvId,
        text: String,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let Some((me, scope)) = self.me() else {
            return Ok(());
        };
        let rec = self.agent_conv(&conv).map_err(|e| with_cid(e, &cid))?;
        let r = self
            .app
            .commit
            .note(scope, cid.clone(), rec.id, me, text)
            .await;
        out.push(super::ack(r, &cid));
        Ok(())
    }

    /// `close`: ends a conversation of the agent's sites, durably.
    async fn close(&mut self, conv: ConvId) -> Result<(), Refuse> {
        let Some((me, _)) = self.me() else {
            return Ok(());
        };
        let rec = self.agent_conv(&conv)?;
        if let Err(e) = self.app.commit.close(rec.id, me).await {
            return Err(commit_error(e, None));
        }
        Ok(())
    }

    /// `typing`: the agent's typing notice (never a draft) into one
    /// conversation of its sites.
    fn agent_typing(&mut self, conv: Option<ConvId>, on: bool) -> Result<(), Refuse> {
        let Some(a) = self.agent_mut() else {
            return Ok(());
        };
        if !a.typing.allow(MAX_TYPING_PER_MINUTE) {
            return Ok(());
        }
        let Some(conv) = conv else {
            return Err(err(
                ErrorCode::BadFrame,
                "an agent typing notice needs conv",
            ));
        };
        let rec = self.agent_conv(&conv)?;
        // Visitors see "Ada is typing…", colleagues who (by id).
        let me = match &self.state {
            State::Agent(a) => Some((a.agent.id.clone(), self.current_name(&a.agent))),
            _ => None,
        };
        self.app.hub.publish_typing(&rec, Side::Agent, on, None, me);
        Ok(())
    }

    /// `viewing`: the conversation this tab shows (on a subscribed site), or
    /// none; the site's agents learn who views what.
    fn viewing(&mut self, conv: Option<ConvId>) -> Result<(), Refuse> {
        let rec = match &conv {
            Some(c) => Some(self.agent_conv(c)?),
            None => None,
        };
        let app = self.app.clone();
        let name = match &self.state {
            State::Agent(a) => self.current_name(&a.agent),
            _ => return Ok(()),
        };
        let Some(a) = self.agent_mut() else {
            return Ok(());
        };
        let viewer = Viewer {
            id: a.agent.id.clone(),
            name,
        };
        if let Some(r) = &rec {
            if !a.subscribed.contains(&r.site) {
                return Err(err(
                    ErrorCode::Forbidden,
                    format!("subscribe to site {} first", r.site),
                ));
            }
        }
        let sub = a.live.handle.id();
        for site in &a.subscribed {
            let here = rec
                .as_ref()
                .filter(|r| &r.site == site)
                .map(|r| r.id.clone());
            app.hub.agent_viewing(site, sub, viewer.clone(), here);
        }
        Ok(())
    }
}
