//! The visitor half of a session: its hello (site, origin, token, verified
//! identity, visit record) and the frames a visitor may send.

use super::{err, err_cid, internal, own_file, with_cid, Live, Peer, Refuse, Session, State};
use crate::commit::{NewContact, NewMessage, NewRating, Target};
use crate::ratelimit::Rate;
use crate::store::{ConvRecord, SiteRecord, VisitorRecord};
use protocol::limits::*;
use protocol::*;

/// A new visit starts when a visitor returns after this long away.
const VISIT_GAP_MS: u64 = 30 * 60 * 1000;

/// Longest User-Agent kept on a visitor record, in characters.
const USER_AGENT_CHARS: usize = 512;

pub(super) struct VisitorState {
    pub(super) site: SiteId,
    pub(super) visitor: VisitorId,
    name: Option<String>,
    /// The team the host page chose (`kefu('set', {team})`), one of the
    /// site's: a new conversation is routed within it.
    team: Option<TeamId>,
    /// Where this visitor talks from (from their record).
    channel: Channel,
    pub(super) live: Live,
    sends: Rate,
    pages: Rate,
    typing: Rate,
}

impl VisitorState {
    /// Refuses a frame that would store something (`cid`: a message, a
    /// form answer, a rating) from a visitor the site blocked, by its id or
    /// the connection's address: nothing is stored, and the error names the
    /// cid, so the client drops it instead of resending it.
    fn not_blocked(
        &self,
        app: &crate::App,
        ip: Option<std::net::IpAddr>,
        cid: &Cid,
    ) -> Result<(), Refuse> {
        if app
            .blocks
            .blocked(&app.store, &self.site, &self.visitor, ip)
        {
            return Err(err_cid(
                ErrorCode::Blocked,
                crate::privacy::BLOCKED_MESSAGE,
                cid,
            ));
        }
        Ok(())
    }

    /// One of this connection's sends (`--sends-per-visitor` a minute), for
    /// a frame answered by `cid` (a form answer, a rating), unless the
    /// visitor is blocked.
    fn take_send(
        &mut self,
        app: &crate::App,
        ip: Option<std::net::IpAddr>,
        cid: &Cid,
    ) -> Result<(), Refuse> {
        self.not_blocked(app, ip, cid)?;
        if self.sends.allow(app.config.sends_per_visitor) {
            Ok(())
        } else {
            Err(err_cid(
                ErrorCode::RateLimited,
                "too many messages; resend in a minute",
                cid,
            ))
        }
    }
}

impl Session {
    pub(super) fn visitor_hello(
        &mut self,
        h: Hello,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let (Some(site_id), Some(visitor)) = (h.site, h.visitor) else {
            return Err(err(
                ErrorCode::BadFrame,
                "a visitor hello needs site and visitor",
            ));
        };
        // Followers talk through WeChat only: no page may pose as one.
        if visitor.as_str().starts_with(crate::wechat::VISITOR_PREFIX) {
            return Err(err(
                ErrorCode::Forbidden,
                "visitor ids starting with wx- belong to WeChat followers; use another id",
            ));
        }
        let site = self.hello_site(&site_id)?;
        // A team the site does not have: said once, routed site-wide.
        let team = match h.team {
            Some(t) if site.routing.team(&t).is_none() => {
                out.push(unknown_team(&t).into());
                None
            }
            t => t,
        };
        let record = app.store.visitor(&site_id, &visitor).map_err(internal)?;
        self.check_visitor_token(&site_id, &visitor, h.token.as_deref(), record.is_some())?;
        let (user, verified) = verified_user(&site, h.user)?;
        let now = crate::now_ms();
        let fresh = VisitorRecord::new(&site_id, &visitor, now);
        let before = record.as_ref().map(|r| (r.user.clone(), r.verified));
        let mut next = record.unwrap_or_else(|| fresh.clone());
        self.visit(&mut next, now, user.clone(), verified, h.channel);
        if let Some(u) = next
            .user
            .as_ref()
            .filter(|_| before != Some((next.user.clone(), next.verified)))
        {
            // A new or changed identity: `visitor.identified` webhooks,
            // queued before the record changes, so a failure here leaves
            // the change to be noticed (and queued) by the next hello.
            app.hooks
                .identified(&site_id, &visitor, u, next.verified)
                .map_err(internal)?;
        }
        // In place, on the latest record: a form answered from another tab
        // meanwhile stays.
        let rec = app
            .store
            .upsert_visitor(&site_id, &visitor, &fresh, |r| {
                self.visit(r, now, user.clone(), verified, h.channel);
            })
            .map_err(internal)?;
        if before
            .as_ref()
            .is_none_or(|b| *b != (rec.user.clone(), rec.verified))
        {
            // A new visitor, or a changed identity: searchable by it.
            app.search.touch_visitor(&site_id, &visitor);
        }
        let convs = app
            .store
            .visitor_convs(&site_id, &visitor)
            .map_err(internal)?;

        let (sub, handle) = app.hub.subscription();
        let info = VisitorInfo {
            id: visitor.clone(),
            site: site_id.clone(),
            online: true,
            page: None,
            pages: rec.visit_pages,
            referrer: rec.referrer.clone(),
            since: rec.visit_start,
            visits: rec.visits,
            user: rec.user.clone(),
            verified: rec.verified,
            user_agent: rec.user_agent.clone(),
        };
        let agents_online = app.hub.visitor_connect(info, &handle);
        let cursors = convs
            .iter()
            .map(|c| (c.id.clone(), h.cursors.get(&c.id).copied().unwrap_or(0)))
            .collect();
        out.push(self.visitor_welcome(
            &site,
            &visitor,
            &convs,
            agents_online,
            &rec,
            h.lang.as_deref(),
        ));
        let name = rec.user.as_ref().and_then(|u| u.name.clone());
        // Origin and User-Agent were only needed for hello; idle connections
        // should not carry them.
        self.peer = Peer {
            ip: self.peer.ip,
            ..Peer::default()
        };
        self.state = State::Visitor(Box::new(VisitorState {
            site: site_id,
            visitor,
            name,
            team,
            channel: rec.channel,
            live: Live {
                sub,
                handle,
                cursors,
            },
            sends: Rate::new(),
            pages: Rate::new(),
            typing: Rate::new(),
        }));
        tracing::debug!("visitor hello");
        for c in &convs {
            self.replay(&c.id, out);
        }
        for c in convs.iter().filter(|c| c.open) {
            let position = app.hub.queue_position(&c.site, &c.id);
            if position > 0 {
                out.push(ServerFrame::Queue {
                    conv: c.id.clone(),
                    position,
                });
            }
        }
        Ok(())
    }

    /// `team`: the team the visitor's next conversation goes to.
    fn visitor_team(&mut self, team: Option<TeamId>) -> Result<(), Refuse> {
        let app = self.app.clone();
        let Some(v) = self.visitor_mut() else {
            return Ok(());
        };
        if let Some(t) = &team {
            let site = app.store.site(&v.site).map_err(internal)?;
            if site.is_none_or(|s| s.routing.team(t).is_none()) {
                return Err(unknown_team(t));
            }
        }
        v.team = team;
        Ok(())
    }

    /// The site a visitor hello names, if it exists and this page's origin
    /// may embed it (the relay's own pages, the hosted chat page, always
    /// may).
    fn hello_site(&self, site_id: &SiteId) -> Result<SiteRecord, Refuse> {
        let site = self
            .app
            .store
            .site(site_id)
            .map_err(internal)?
            .ok_or_else(|| err(ErrorCode::UnknownSite, format!("no site {site_id}")))?;
        let origin = self.peer.origin.as_deref();
        if !crate::visitor_origin_allowed(&site.allowed_origins, origin, self.peer.host.as_deref())
        {
            self.app
                .refused
                .refuse(site_id, self.peer.origin.as_deref(), "hello");
            return Err(err(
                ErrorCode::OriginNotAllowed,
                "this page's origin is not allowed for the site",
            ));
        }
        Ok(site)
    }

    /// A presented token must be this visitor's; a known visitor id needs
    /// one, so guessing an id is not enough to read its conversations.
    fn check_visitor_token(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        token: Option<&str>,
        known: bool,
    ) -> Result<(), Refuse> {
        match token {
            Some(t) if !self.app.auth.check_visitor_token(site, visitor, t) => Err(err(
                ErrorCode::BadToken,
                "the visitor token does not match this visitor",
            )),
            None if known => Err(err(
                ErrorCode::TokenRequired,
                "this visitor id is taken: present its token or use a new id",
            )),
            _ => Ok(()),
        }
    }

    /// This hello on the visitor's record: a new visit counted after
    /// [`VISIT_GAP_MS`] away, the User-Agent, the channel, and the identity
    /// (when the hello brought one).
    fn visit(
        &self,
        rec: &mut VisitorRecord,
        now: u64,
        user: Option<UserInfo>,
        verified: Option<bool>,
        channel: Option<Channel>,
    ) {
        let new_visit = now.saturating_sub(rec.last_seen) > VISIT_GAP_MS;
        if new_visit {
            rec.visits = rec.visits.saturating_add(1);
        }
        if new_visit || rec.visit_start == 0 {
            rec.visit_start = now;
            rec.visit_pages = 0;
            rec.referrer = None;
        }
        rec.last_seen = rec.last_seen.max(now);
        if let Some(ip) = self.peer.ip {
            rec.last_ip = Some(crate::privacy::ip_text(ip));
        }
        if let Some(ua) = &self.peer.user_agent {
            rec.user_agent = Some(ua.chars().take(USER_AGENT_CHARS).collect());
        }
        if let (Some(u), Some(v)) = (user, verified) {
            rec.user = Some(merged_identity(rec.user.take(), rec.verified, u, v));
            rec.verified = v;
        }
        // The latest hello says where the visitor is now (web or the hosted
        // page); a WeChat follower stays one whatever a hello says.
        if rec.channel != Channel::Wechat {
            rec.channel = channel.unwrap_or(Channel::Web);
        }
    }

    fn visitor_welcome(
        &self,
        site: &SiteRecord,
        visitor: &VisitorId,
        convs: &[ConvRecord],
        agents_online: bool,
        rec: &VisitorRecord,
        lang: Option<&str>,
    ) -> ServerFrame {
        let app = &self.app;
        ServerFrame::Welcome(Welcome {
            v: PROTOCOL_VERSION,
            role: Role::Visitor,
            heartbeat_ms: app.config.heartbeat.as_millis() as u64,
            visitor: Some(visitor.clone()),
            token: Some(app.auth.visitor_token(&site.id, visitor)),
            convs: convs.iter().map(ConvRecord::summary).collect(),
            agent: None,
            name: None,
            sites: Vec::new(),
            agents_online,
            mail: app.mail_on(),
            known: rec.known(),
            email_known: rec
                .user
                .as_ref()
                .is_some_and(|u| u.email.as_deref().is_some_and(|e| !e.is_empty())),
            // What the widget may offer: the site's choice or the relay's;
            // in one language, the site's or the visitor's, with the
            // site's texts of that language picked here (the widget only
            // shows them).
            settings: Some(
                site.widget
                    .for_visitor(lang)
                    .with_effective_file_types(&app.config.file_types),
            ),
        })
    }

    /// A conversation this visitor may touch.
    fn own_conv(&self, conv: &ConvId) -> Result<ConvRecord, Refuse> {
        let State::Visitor(v) = &self.state else {
            return Err(err(ErrorCode::Forbidden, "visitors only"));
        };
        match self.app.store.conv(conv).map_err(internal)? {
            Some(c) if c.site == v.site && c.visitor == v.visitor => Ok(c),
            _ => Err(err(ErrorCode::UnknownConversation, "no such conversation")),
        }
    }

    fn visitor_mut(&mut self) -> Option<&mut VisitorState> {
        match &mut self.state {
            State::Visitor(v) => Some(v),
            _ => None,
        }
    }

    pub(super) async fn visitor_frame(
        &mut self,
        frame: ClientFrame,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        match frame {
            ClientFrame::Page(p) => self.page(p),
            ClientFrame::Send {
                cid,
                conv,
                text,
                file,
            } => self.visitor_send(cid, conv, text, file, out).await,
            ClientFrame::Typing { conv, on, text } => self.visitor_typing(conv, on, text),
            ClientFrame::Team { team } => self.visitor_team(team),
            ClientFrame::Read { conv, seq } => {
                let rec = self.own_conv(&conv)?;
                self.app.commit.read(rec.id, Side::Visitor, seq);
                Ok(())
            }
            ClientFrame::Sync { conv, after } => {
                let rec = self.own_conv(&conv)?;
                self.sync(&rec.id, after, out);
                Ok(())
            }
            ClientFrame::Subscribe { .. }
            | ClientFrame::Invite { .. }
            | ClientFrame::Status { .. }
            | ClientFrame::Visible { .. }
            | ClientFrame::Viewing { .. }
            | ClientFrame::Note { .. }
            | ClientFrame::Close { .. } => Err(err(ErrorCode::Forbidden, "agents only")),
            ClientFrame::Contact { cid, conv, contact } => {
                self.contact(cid, conv, contact, out).await
            }
            ClientFrame::Rate {
                cid,
                conv,
                score,
                comment,
            } => self.rate(cid, conv, score, comment, out).await,
            ClientFrame::Transcript { conv, email } => self.transcript(conv, email, out).await,
            ClientFrame::Hello(_) | ClientFrame::Ping | ClientFrame::Pong => Ok(()),
        }
    }

    /// `page`: shown to the site's agents and recorded, within the
    /// visitor's and the IP's page-view rates. The frame's URL is http(s)
    /// (checked by the parser); a referrer is kept only when it is an
    /// http(s) URL off the page's own site ([`external_referrer`]), and the
    /// visit's referrer is the first such one of the visit.
    ///
    /// A repeat is not a page view: the same URL as the visitor's last
    /// recorded page view, in the same visit — a reconnect (or a reload)
    /// re-announcing the page it is on. It updates the live presence (a
    /// title may change) but is neither stored nor counted. Going A → B → A
    /// records A twice: the last view was B.
    fn page(&mut self, p: PageView) -> Result<(), Refuse> {
        let app = self.app.clone();
        let ip = self.peer.ip;
        let Some(v) = self.visitor_mut() else {
            return Ok(());
        };
        let ip_ok = app
            .limiter
            .allows_ip("page", ip, app.config.page_views_per_ip);
        if !v.pages.allow(MAX_PAGE_VIEWS_PER_MINUTE) || !ip_ok {
            return Err(err(
                ErrorCode::RateLimited,
                "too many page views; slow down",
            ));
        }
        let (site, visitor) = (v.site.clone(), v.visitor.clone());
        let Some(mut rec) = app.store.visitor(&site, &visitor).map_err(internal)? else {
            return Ok(());
        };
        let last = app
            .store
            .pages(&site, &visitor, 1)
            .map_err(internal)?
            .pop()
            .filter(|l| l.url == p.url && l.at >= rec.visit_start);
        let referrer = p
            .referrer
            .as_deref()
            .and_then(|r| external_referrer(r, &p.url));
        let page = PageInfo {
            at: last.as_ref().map_or_else(crate::now_ms, |l| l.at),
            url: p.url,
            title: p.title,
            referrer: referrer.clone(),
        };
        let counted = last.is_none();
        if counted {
            app.store
                .record_page(&site, &visitor, &page)
                .map_err(internal)?;
        }
        let first_referrer = rec.referrer.is_none() && referrer.is_some();
        if counted || first_referrer {
            // In place: a form answered meanwhile stays.
            let updated = app
                .store
                .update_visitor(&site, &visitor, |r| {
                    if counted {
                        r.visit_pages = r.visit_pages.saturating_add(1);
                    }
                    if r.referrer.is_none() {
                        r.referrer.clone_from(&referrer);
                    }
                    true
                })
                .map_err(internal)?;
            if let Some(r) = updated {
                rec = r;
            }
        }
        app.hub
            .visitor_page(&site, &visitor, page, counted, rec.referrer.clone());
        Ok(())
    }

    /// `send`: to one of the visitor's conversations, or (without `conv`)
    /// to its open one or a new one; acked once durable.
    async fn visitor_send(
        &mut self,
        cid: Cid,
        conv: Option<ConvId>,
        text: String,
        file: Option<FileId>,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let ip = self.peer.ip;
        let Some(v) = self.visitor_mut() else {
            return Ok(());
        };
        v.not_blocked(&app, ip, &cid)?;
        let ip_ok = app.limiter.allows_ip("send", ip, app.config.sends_per_ip);
        if !v.sends.allow(app.config.sends_per_visitor) || !ip_ok {
            return Err(err_cid(
                ErrorCode::RateLimited,
                "too many messages; resend in a minute",
                &cid,
            ));
        }
        let scope = format!("v:{}:{}", v.site, v.visitor);
        let from = Author {
            side: Side::Visitor,
            id: v.visitor.to_string(),
            name: v.name.clone(),
        };
        let file = own_file(&app, file, &v.site, Side::Visitor, v.visitor.as_str(), &cid)?;
        let (site, visitor, team) = (v.site.clone(), v.visitor.clone(), v.team.clone());
        let channel = v.channel;
        let target = match conv {
            Some(c) => Target::Conv(self.own_conv(&c).map_err(|e| with_cid(e, &cid))?.id),
            None => Target::Visitor {
                site,
                visitor,
                team,
                channel,
            },
        };
        self.submit(
            NewMessage {
                scope,
                cid,
                target,
                from,
                text,
                file,
            },
            out,
        )
        .await;
        Ok(())
    }

    /// `contact`: the visitor's answer to the offline or the pre-chat form
    /// (see [`crate::commit::Write::Contact`]), checked against the site's
    /// form first; answered `saved {cid}` once durable. A refused answer
    /// stores nothing.
    async fn contact(
        &mut self,
        cid: Cid,
        conv: Option<ConvId>,
        contact: offline::Contact,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let ip = self.peer.ip;
        let Some(v) = self.visitor_mut() else {
            return Ok(());
        };
        v.take_send(&app, ip, &cid)?;
        let (site_id, visitor) = (v.site.clone(), v.visitor.clone());
        let site = app
            .store
            .site(&site_id)
            .map_err(internal)?
            .ok_or_else(|| err_cid(ErrorCode::UnknownSite, "no such site", &cid))?;
        check_form(&site, &contact, app.mail_on())
            .map_err(|m| err_cid(ErrorCode::BadRequest, m, &cid))?;
        let conv = match conv {
            Some(c) => Some(self.own_conv(&c).map_err(|e| with_cid(e, &cid))?.id),
            None => None,
        };
        let had_email = app
            .store
            .visitor(&site_id, &visitor)
            .map_err(internal)?
            .and_then(|r| r.user)
            .and_then(|u| u.email)
            .is_some();
        let saved = app
            .commit
            .contact(NewContact {
                site: site_id.clone(),
                visitor: visitor.clone(),
                cid: cid.clone(),
                conv,
                contact,
            })
            .await
            .map_err(|e| super::commit_error(e, Some(&cid)))?;
        if !saved.duplicate {
            if let Some(v) = self.visitor_mut() {
                v.name = saved.user.as_ref().and_then(|u| u.name.clone());
            }
            let gave_email = saved.user.as_ref().is_some_and(|u| u.email.is_some());
            app.hub.visitor_user(&site_id, &visitor, saved.user.clone());
            if let (Some(mailer), true) = (app.mail.clone(), gave_email && !had_email) {
                let (s, v) = (site_id.clone(), visitor.clone());
                // Best effort, after the answer is durable: the saved frame
                // does not wait on mail.
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = mailer.email_given(&s, &v) {
                        tracing::warn!(error = %e, "mail: unread replies not scheduled for a new address");
                    }
                });
            }
        }
        out.push(ServerFrame::Saved { cid });
        Ok(())
    }

    /// `rate`: the visitor rates one of its conversations once it is
    /// closed, with a score the site's scale gives; acked like `send`
    /// (the same cid again: the same ack, stored once).
    async fn rate(
        &mut self,
        cid: Cid,
        conv: ConvId,
        score: u8,
        comment: Option<String>,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let ip = self.peer.ip;
        let Some(v) = self.visitor_mut() else {
            return Ok(());
        };
        v.take_send(&app, ip, &cid)?;
        let scope = format!("v:{}:{}", v.site, v.visitor);
        let by = Author {
            side: Side::Visitor,
            id: v.visitor.to_string(),
            name: v.name.clone(),
        };
        let rec = self.own_conv(&conv).map_err(|e| with_cid(e, &cid))?;
        let scale = app
            .store
            .site(&rec.site)
            .map_err(internal)?
            .map(|s| s.widget.rating)
            .unwrap_or_default();
        if scale == offline::RatingScale::Off {
            return Err(err_cid(
                ErrorCode::Forbidden,
                "this site asks for no ratings",
                &cid,
            ));
        }
        if !scale.allows(score) {
            let why = match scale {
                offline::RatingScale::Thumbs => "this site rates 👍 (5) or 👎 (1)",
                _ => "score must be 1–5",
            };
            return Err(err_cid(ErrorCode::BadRequest, why, &cid));
        }
        let comment = comment
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        match app
            .commit
            .rate_queued(NewRating {
                scope,
                cid: cid.clone(),
                conv: rec.id,
                by,
                score,
                comment,
            })
            .await
        {
            Ok(rx) => self.acks.push_back((cid, rx)),
            Err(e) => out.push(super::ack(Err(e), &cid)),
        }
        Ok(())
    }

    /// `transcript`: "Email me this chat". Every check comes first — mail
    /// on, the visitor's send rate, its own conversation, then
    /// [`crate::mail::Mailer::transcript`]'s (limits, unsubscribed, a
    /// verified address never replaced) — and only then is an `email`
    /// given stored as the visitor's address and the transcript queued
    /// (which also says what happens at close); `mailed {conv}` answers.
    /// A refused frame changes nothing stored.
    async fn transcript(
        &mut self,
        conv: ConvId,
        email: Option<String>,
        out: &mut Vec<ServerFrame>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let Some(mailer) = app.mail.clone() else {
            return Err(err(ErrorCode::Conflict, "this relay sends no mail"));
        };
        let ip = self.peer.ip;
        if let State::Visitor(v) = &mut self.state {
            let ip_ok = app.limiter.allows_ip("send", ip, app.config.sends_per_ip);
            if !v.sends.allow(app.config.sends_per_visitor) || !ip_ok {
                return Err(err(
                    ErrorCode::RateLimited,
                    "too many messages; try again in a minute",
                ));
            }
        }
        let rec = self.own_conv(&conv)?;
        use crate::mail::TranscriptError as T;
        let done = tokio::task::spawn_blocking(move || {
            let r = mailer.transcript(&rec, email, ip);
            r.map(|()| rec.id)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "transcript task failed");
            err(ErrorCode::Internal, "internal error")
        })?;
        match done {
            Ok(conv) => {
                out.push(ServerFrame::Mailed { conv });
                Ok(())
            }
            Err(T::Store(e)) => Err(internal(e)),
            Err(e @ T::NoEmail) => Err(err(ErrorCode::BadRequest, e.to_string())),
            Err(e @ T::Verified) => Err(err(ErrorCode::Forbidden, e.to_string())),
            Err(e @ (T::TooMany | T::VisitorLimit | T::SiteLimit | T::Full)) => {
                Err(err(ErrorCode::RateLimited, e.to_string()))
            }
            Err(e @ T::Unsubscribed) => Err(err(ErrorCode::Conflict, e.to_string())),
        }
    }

    /// `typing`: to the named conversation or the visitor's open one; the
    /// draft only where the site switched draft previews on.
    fn visitor_typing(
        &mut self,
        conv: Option<ConvId>,
        on: bool,
        text: Option<String>,
    ) -> Result<(), Refuse> {
        let app = self.app.clone();
        let Some(v) = self.visitor_mut() else {
            return Ok(());
        };
        if !v.typing.allow(MAX_TYPING_PER_MINUTE) {
            return Ok(());
        }
        let (site, visitor) = (v.site.clone(), v.visitor.clone());
        let rec = match conv {
            Some(c) => self.own_conv(&c)?,
            None => {
                let convs = app.store.visitor_convs(&site, &visitor).map_err(internal)?;
                match convs.into_iter().rev().find(|c| c.open) {
                    Some(c) => c,
                    // Nobody to tell until a conversation exists.
                    None => return Ok(()),
                }
            }
        };
        // The draft travels only where the owner switched it on.
        let text = match text {
            Some(t) if on => app
                .store
                .site(&rec.site)
                .map_err(internal)?
                .filter(|s| s.widget.draft_preview)
                .map(|_| t),
            _ => None,
        };
        app.hub.publish_typing(&rec, Side::Visitor, on, text, None);
        Ok(())
    }
}

/// The identity a hello brings and whether it is verified: `Some(true)`
/// with a valid `user_hash`, `Some(false)` without one, `None` without a
/// user. A wrong or unusable hash refuses the hello.
fn verified_user(
    site: &SiteRecord,
    mut user: Option<UserInfo>,
) -> Result<(Option<UserInfo>, Option<bool>), Refuse> {
    let Some(u) = &mut user else {
        return Ok((None, None));
    };
    let Some(hash) = u.user_hash.take() else {
        return Ok((user, Some(false)));
    };
    let id =
        u.id.as_deref()
            .ok_or_else(|| err(ErrorCode::BadUserHash, "user_hash needs user.id"))?;
    if !crate::auth::check_user_hash(&site.secret, id, &hash) {
        return Err(err(
            ErrorCode::BadUserHash,
            "user_hash is not HMAC-SHA256(site secret, user.id)",
        ));
    }
    Ok((user, Some(true)))
}

/// The identity a hello brings (`new`, verified or not) over what the
/// record holds (`old`, verified or not): the same person (the same
/// `user.id`, or none either side) keeps what the page did not pass — a
/// name or email from a form, the phone, form fields — and the page's
/// values win where both have one. Another person replaces it.
///
/// An identity that becomes verified takes its name and email from the
/// host page alone: what the visitor typed (a form, an unverified hello)
/// is never shown as verified. Attributes the host did not pass (a form's
/// phone, fields, consent) stay.
fn merged_identity(
    old: Option<UserInfo>,
    old_verified: bool,
    new: UserInfo,
    new_verified: bool,
) -> UserInfo {
    let Some(mut old) = old.filter(|o| o.id == new.id) else {
        return new;
    };
    if new_verified && !old_verified {
        old.name = new.name;
        old.email = new.email;
    } else {
        old.name = new.name.or(old.name);
        old.email = new.email.or(old.email);
    }
    old.attributes.extend(new.attributes);
    old.user_hash = None;
    old
}

/// `referrer` as a page view keeps it: an http(s) URL whose host is not the
/// page's own (compared without case and without a leading `www.`, any
/// scheme or port), else `None` — a same-site referrer is only the previous
/// page, which the page list already shows.
fn external_referrer(referrer: &str, page: &str) -> Option<String> {
    if !is_web_url(referrer) {
        return None;
    }
    let r = url::Url::parse(referrer).ok()?;
    let host = |u: &url::Url| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
    };
    let same = url::Url::parse(page)
        .ok()
        .is_some_and(|p| host(&p).is_some() && host(&p) == host(&r));
    (!same).then(|| referrer.to_string())
}

/// Why `c` does not answer the site's form, if it does not. The pre-chat
/// form: the site's (it must be on) and its checks. The offline form: no
/// custom fields (it asks for none) and, when the relay sends mail
/// (`mail_on`, [`crate::App::mail_on`]), an email to answer to; else a
/// name or an email.
fn check_form(site: &SiteRecord, c: &offline::Contact, mail_on: bool) -> Result<(), String> {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    match c.form {
        offline::FormKind::Prechat => {
            let form = &site.widget.prechat;
            if !form.enabled {
                return Err("this site has no pre-chat form".into());
            }
            form.check(c)
        }
        offline::FormKind::Offline => {
            if !c.fields.is_empty() {
                return Err("the offline form has no custom fields".into());
            }
            if mail_on && !given(&c.email) {
                return Err("the offline form needs an email (replies are mailed)".into());
            }
            if !given(&c.name) && !given(&c.email) {
                return Err("the offline form needs an email or a name".into());
            }
            Ok(())
        }
    }
}

fn unknown_team(t: &TeamId) -> Refuse {
    err(
        ErrorCode::NotFound,
        format!("this site has no team {t}; routing site-wide"),
    )
}

#[cfg(test)]
mod tests {
    use super::{check_form, external_referrer, merged_identity};
    use crate::store::SiteRecord;
    use protocol::offline::{Contact, FormKind};
    use protocol::{SiteId, UserInfo};

    fn site() -> SiteRecord {
        SiteRecord {
            id: SiteId::new("s").expect("id"),
            name: "S".into(),
            secret: "x".into(),
            created: 0,
            allowed_origins: Vec::new(),
            widget: Default::default(),
            routing: Default::default(),
            wechat: None,
            offline: Default::default(),
        }
    }

    /// The offline form: a name or an email while the relay sends no mail;
    /// an email once it does (replies go there); never custom fields.
    #[test]
    fn the_offline_form_needs_an_email_when_mail_is_on() {
        let s = site();
        let named = Contact {
            form: FormKind::Offline,
            name: Some("Ada".into()),
            ..Contact::default()
        };
        let mailed = Contact {
            email: Some("ada@example.com".into()),
            ..named.clone()
        };
        let blank = Contact {
            email: Some("  ".into()),
            ..named.clone()
        };
        assert_eq!(check_form(&s, &named, false), Ok(()));
        assert_eq!(check_form(&s, &mailed, false), Ok(()));
        assert!(check_form(&s, &Contact::default(), false).is_err());
        let e = check_form(&s, &named, true).expect_err("no email");
        assert!(e.contains("email"), "{e}");
        assert!(check_form(&s, &blank, true).is_err(), "blank email");
        assert_eq!(check_form(&s, &mailed, true), Ok(()));
        let mut fields = mailed.clone();
        fields.fields.insert("plan".into(), "pro".into());
        assert!(check_form(&s, &fields, false).is_err());
        let pre = Contact {
            form: FormKind::Prechat,
            ..mailed
        };
        assert!(check_form(&s, &pre, true).is_err(), "no pre-chat form");
    }

    /// An identity that becomes verified takes its name and email from the
    /// host page only: a form's (or an unverified hello's) are not carried
    /// under the badge; the form's attributes stay where the host passed
    /// none, and the host's win.
    #[test]
    fn a_verified_hello_does_not_verify_what_was_typed() {
        let typed = UserInfo {
            id: Some("u-1".into()),
            name: Some("Typed".into()),
            email: Some("typed@example.com".into()),
            attributes: [
                ("phone".to_string(), "+1 555".into()),
                ("plan".to_string(), "free".into()),
            ]
            .into(),
            user_hash: None,
        };
        let host = UserInfo {
            id: Some("u-1".into()),
            email: Some("host@example.com".into()),
            attributes: [("plan".to_string(), "pro".into())].into(),
            ..UserInfo::default()
        };
        let m = merged_identity(Some(typed.clone()), false, host.clone(), true);
        assert_eq!(m.name, None, "the typed name is not verified");
        assert_eq!(m.email.as_deref(), Some("host@example.com"));
        assert_eq!(m.attributes["plan"], "pro", "the host's wins");
        assert_eq!(m.attributes["phone"], "+1 555", "the form's stays");
        // Already verified: what the host passed before stays.
        let bare = UserInfo {
            id: Some("u-1".into()),
            ..UserInfo::default()
        };
        let again = merged_identity(Some(m.clone()), true, bare, true);
        assert_eq!(again.email.as_deref(), Some("host@example.com"));
        // Unverified either side: as before, the page wins, the rest stays.
        let u = merged_identity(Some(typed), false, host, false);
        assert_eq!(u.name.as_deref(), Some("Typed"));
    }

    /// A hello's identity over the stored one: the same person keeps what
    /// the page did not pass (a form's email, its fields); another person
    /// starts afresh.
    #[test]
    fn a_hello_keeps_what_the_forms_gave() {
        let stored = UserInfo {
            id: None,
            name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
            attributes: [("phone".to_string(), "+1 555".into())].into(),
            user_hash: None,
        };
        let page = UserInfo {
            name: Some("Ada L.".into()),
            attributes: [("plan".to_string(), "pro".into())].into(),
            ..UserInfo::default()
        };
        let m = merged_identity(Some(stored.clone()), false, page, false);
        assert_eq!(m.name.as_deref(), Some("Ada L."), "the page wins");
        assert_eq!(
            m.email.as_deref(),
            Some("ada@example.com"),
            "the form's kept"
        );
        assert_eq!(m.attributes.len(), 2);
        let other = UserInfo {
            id: Some("u-9".into()),
            ..UserInfo::default()
        };
        assert_eq!(
            merged_identity(Some(stored), false, other.clone(), true),
            other
        );
    }

    #[test]
    fn only_off_site_web_referrers_are_kept() {
        let page = "https://shop.example/cart";
        assert_eq!(
            external_referrer("https://www.google.com/search?q=x", page).as_deref(),
            Some("https://www.google.com/search?q=x")
        );
        assert_eq!(external_referrer("https://shop.example/", page), None);
        assert_eq!(
            external_referrer("http://WWW.shop.example:8080/a", page),
            None
        );
        assert_eq!(external_referrer("javascript:alert(1)", page), None);
        assert_eq!(external_referrer("android-app://com.x", page), None);
    }
}
