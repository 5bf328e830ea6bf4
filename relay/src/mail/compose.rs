//! Composing mail: what each kind says (the text part and a simple HTML
//! one, in the site's language), to whom, from whom and with which
//! reply address — everything a send job carries.

use super::texts::MailTexts;
use super::{display_name, MailKind, Mailer, OutMail, Recipient};
use crate::outbox::OutJob;
use crate::store::{ConvRecord, MailMarks, SiteRecord, StoreError, VisitorRecord};
use protocol::limits::*;
use protocol::offline::{MailPref, RatingScale};
use protocol::{Event, EventBody, Side};

impl Mailer {
    /// The visitor's name as the console shows it.
    pub(super) fn visitor_name(
        visitor: Option<&VisitorRecord>,
        rec: &ConvRecord,
        lang: Option<&str>,
    ) -> String {
        let named = visitor
            .and_then(|v| v.user.as_ref())
            .and_then(|u| u.name.as_deref())
            .map(display_name)
            .filter(|n| !n.is_empty());
        named.unwrap_or_else(|| {
            display_name(&protocol::names::default_visitor_name(
                rec.visitor.as_str(),
                lang.unwrap_or("en"),
            ))
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn notify(
        &self,
        job: &OutJob,
        rec: &ConvRecord,
        site: &SiteRecord,
        visitor: Option<&VisitorRecord>,
        t: &MailTexts,
        seq: u64,
        marks: &mut MailMarks,
    ) -> Result<Vec<OutJob>, StoreError> {
        let now = crate::now_ms();
        if now.saturating_sub(marks.agents_at) < AGENT_MAIL_INTERVAL_MS {
            return Ok(Vec::new());
        }
        let text = match self
            .store()
            .events_after(&rec.id, seq.saturating_sub(1), 1)?
            .pop()
        {
            Some(Event {
                body: EventBody::Message { text, file, .. },
                ..
            }) => match file {
                Some(f) if text.is_empty() => format!("[{}]", f.name),
                _ => text,
            },
            _ => return Ok(Vec::new()),
        };
        let name = Self::visitor_name(visitor, rec, site.widget.language.as_deref());
        let site_name = display_name(&site.name);
        let body = format!(
            "{}\n\n{}\n\n{} {}\n\n{}\n",
            fill(t.notice_intro, &[("name", &name), ("site", &site_name)]),
            quote(&text),
            t.open_conversation,
            self.console_link(&rec.site, &rec.id),
            t.reply_to_answer,
        );
        let html = format!(
            "<p>{}</p><blockquote style=\"white-space:pre-wrap\">{}</blockquote>\
             <p><a href=\"{link}\">{}</a> {link}</p><p>{}</p>",
            esc(&fill(
                t.notice_intro,
                &[("name", &name), ("site", &site_name)]
            )),
            esc(&text),
            esc(t.open_conversation),
            esc(t.reply_to_answer),
            link = esc(&self.console_link(&rec.site, &rec.id)),
        );
        let mut out = Vec::new();
        let mut agents = self.store().agents()?;
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        for a in agents {
            let wants = match a.mail {
                MailPref::All => true,
                MailPref::Mine => rec.assignee.as_ref().is_none_or(|x| *x == a.id),
                MailPref::None => false,
            };
            let Some(email) = a.email.as_deref().filter(|_| wants) else {
                continue;
            };
            if a.bot || crate::store::is_bot(a.id.as_str()) || !a.sites.contains(&rec.site) {
                continue;
            }
            let mail = OutMail {
                site: rec.site.clone(),
                conv: rec.id.clone(),
                kind: MailKind::Agent,
                to: email.to_string(),
                to_name: Some(display_name(&a.name)),
                from_name: format!("{name} · {site_name}"),
                reply_to: self.key.reply_address(
                    self.from.email.as_ref(),
                    &rec.id,
                    &Recipient::Agent(a.id.clone()),
                ),
                subject: fill(t.notice_subject, &[("site", &site_name)]),
                text: body.clone(),
                html: Some(html.clone()),
                unsubscribe: None,
            };
            out.extend(self.send_job(format!("{}-{}", job.id, a.id), mail));
        }
        if !out.is_empty() {
            marks.agents_at = now;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn continuity(
        &self,
        job: &OutJob,
        rec: &ConvRecord,
        site: &SiteRecord,
        visitor: &VisitorRecord,
        t: &MailTexts,
        seq: u64,
        marks: &mut MailMarks,
    ) -> Result<Vec<OutJob>, StoreError> {
        let floor = marks.visitor_seq.max(rec.visitor_read);
        if floor >= seq {
            return Ok(Vec::new());
        }
        let Some(email) = visitor_email(visitor) else {
            return Ok(Vec::new());
        };
        if self.store().unsubscribed(&rec.site, &email)? {
            return Ok(Vec::new());
        }
        let mut lines = Vec::new();
        let mut last = floor;
        for ev in self.store().events_after(&rec.id, floor, MAX_MAIL_EVENTS)? {
            if let EventBody::Message {
                from, text, file, ..
            } = &ev.body
            {
                if from.side == Side::Agent {
                    let who = from
                        .name
                        .as_deref()
                        .map(display_name)
                        .unwrap_or_else(|| t.agent.to_string());
                    lines.push((who, message_text(text, file.as_ref()), ev.ts));
                    last = ev.seq;
                }
            }
        }
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let site_name = display_name(&site.name);
        let link = self.chat_link(site, visitor);
        let unsub = self.unsubscribe_link(&rec.site, &email);
        let mut text = format!("{}\n\n", t.continuity_intro);
        let mut html = format!("<p>{}</p>", esc(t.continuity_intro));
        for (who, said, ts) in &lines {
            text.push_str(&format!("{who} ({}):\n{}\n\n", utc_time(*ts), quote(said)));
            html.push_str(&format!(
                "<p><b>{}</b> <small>{}</small></p><blockquote style=\"white-space:pre-wrap\">{}</blockquote>",
                esc(who),
                utc_time(*ts),
                esc(said)
            ));
        }
        text.push_str(&format!(
            "{} {link}\n\n-- \n{} {unsub}\n",
            t.continue_chat, t.unsubscribe
        ));
        html.push_str(&format!(
            "<p><a href=\"{l}\">{}</a></p><hr><p><small><a href=\"{u}\">{}</a></small></p>",
            esc(t.continue_chat),
            esc(t.unsubscribe),
            l = esc(&link),
            u = esc(&unsub),
        ));
        let subject = fill(t.continuity_subject, &[("site", &site_name)]);
        let mail = self
            .to_visitor(
                rec,
                visitor,
                MailKind::Continuity,
                email,
                site_name,
                subject,
            )
            .with_body(text, html, unsub);
        // Marked mailed only when it is queued.
        let Some(send) = self.send_job(format!("{}-v", job.id), mail) else {
            return Ok(Vec::new());
        };
        marks.visitor_seq = last;
        Ok(vec![send])
    }

    /// The transcript of `rec` for its visitor: every event after `after`
    /// the visitor sees that says something (messages, auto-replies) —
    /// never notes or labels. `None` without an address, when it
    /// unsubscribed, or when nothing was said after `after` (> 0).
    pub(super) fn transcript_mail(
        &self,
        rec: &ConvRecord,
        site: &SiteRecord,
        visitor: &VisitorRecord,
        t: &MailTexts,
        after: u64,
    ) -> Result<Option<OutMail>, StoreError> {
        let Some(email) = visitor_email(visitor) else {
            return Ok(None);
        };
        if self.store().unsubscribed(&rec.site, &email)? {
            return Ok(None);
        }
        let lang = site.widget.language.as_deref();
        let vname = Self::visitor_name(Some(visitor), rec, lang);
        let site_name = display_name(&site.name);
        let mut text = format!("{}\n\n", t.transcript_intro);
        let mut html = format!("<p>{}</p>", esc(t.transcript_intro));
        let mut said_any = false;
        for ev in self.store().events_after(&rec.id, after, MAX_MAIL_EVENTS)? {
            if ev.body.agents_only() {
                continue;
            }
            let (who, said) = match &ev.body {
                EventBody::Message {
                    from, text, file, ..
                } => {
                    let who = match from.side {
                        Side::Visitor => vname.clone(),
                        _ => from
                            .name
                            .as_deref()
                            .map(display_name)
                            .unwrap_or_else(|| t.agent.to_string()),
                    };
                    (who, message_text(text, file.as_ref()))
                }
                EventBody::AutoReply { text } => (site_name.clone(), text.clone()),
                _ => continue,
            };
            said_any = true;
            text.push_str(&format!(
                "{who} ({}):\n{}\n\n",
                utc_time(ev.ts),
                quote(&said)
            ));
            html.push_str(&format!(
                "<p><b>{}</b> <small>{}</small></p><blockquote style=\"white-space:pre-wrap\">{}</blockquote>",
                esc(&who),
                utc_time(ev.ts),
                esc(&said)
            ));
        }
        if after > 0 && !said_any {
            return Ok(None);
        }
        if !rec.open {
            self.rating_question(rec, site.widget.rating, t, &mut text, &mut html);
        }
        let unsub = self.unsubscribe_link(&rec.site, &email);
        text.push_str(&format!("-- \n{} {unsub}\n", t.unsubscribe));
        html.push_str(&format!(
            "<hr><p><small><a href=\"{u}\">{}</a></small></p>",
            esc(t.unsubscribe),
            u = esc(&unsub)
        ));
        let subject = fill(t.transcript_subject, &[("site", &site_name)]);
        Ok(Some(
            self.to_visitor(
                rec,
                visitor,
                MailKind::Transcript,
                email,
                site_name,
                subject,
            )
            .with_body(text, html, unsub),
        ))
    }
}

impl Mailer {
    /// "How was this chat?" with one signed link per score of the site's
    /// scale (1–5, or 👍 5 / 👎 1; nothing when ratings are off). Only a
    /// closed conversation's transcript asks (the close transcript, or one
    /// asked after the close): an open chat cannot be rated yet.
    fn rating_question(
        &self,
        rec: &ConvRecord,
        scale: RatingScale,
        t: &MailTexts,
        text: &mut String,
        html: &mut String,
    ) {
        let scores: Vec<(u8, String)> = match scale {
            RatingScale::Off => return,
            RatingScale::Thumbs => vec![
                (5, format!("👍 {}", t.rate_good)),
                (1, format!("👎 {}", t.rate_bad)),
            ],
            RatingScale::Five => (1..=5u8)
                .rev()
                .map(|s| (s, format!("{s} {}", "★".repeat(s.into()))))
                .collect(),
        };
        text.push_str(&format!("{}\n", t.rate_ask));
        html.push_str(&format!("<p>{}</p><p>", esc(t.rate_ask)));
        for (score, label) in scores {
            let link = self.rating_link(rec, score);
            text.push_str(&format!("{label}: {link}\n"));
            html.push_str(&format!(
                "<a href=\"{}\" style=\"margin-right:12px\">{}</a>",
                esc(&link),
                esc(&label)
            ));
        }
        text.push('\n');
        html.push_str("</p>");
    }
}

/// `{key}` slots of a phrase filled.
pub(super) fn fill(phrase: &str, slots: &[(&str, &str)]) -> String {
    let mut out = phrase.to_string();
    for (k, v) in slots {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` of a time in ms (the day as the stats name it).
pub fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    format!(
        "{} {h:02}:{m:02} UTC",
        crate::api::stats::date_of(secs / 86_400)
    )
}

pub(super) fn visitor_email(v: &VisitorRecord) -> Option<String> {
    v.user
        .as_ref()
        .and_then(|u| u.email.clone())
        .filter(|e| protocol::api::valid_email(e) && !e.chars().any(char::is_control))
}

impl Mailer {
    /// A mail to the conversation's visitor at `to`, from the site, its
    /// replies coming back into the conversation (body still empty).
    fn to_visitor(
        &self,
        rec: &ConvRecord,
        visitor: &VisitorRecord,
        kind: MailKind,
        to: String,
        site_name: String,
        subject: String,
    ) -> OutMail {
        OutMail {
            site: rec.site.clone(),
            conv: rec.id.clone(),
            kind,
            to_name: visitor_to_name(visitor),
            to,
            from_name: site_name,
            reply_to: self.key.reply_address(
                self.from.email.as_ref(),
                &rec.id,
                &Recipient::Visitor,
            ),
            subject,
            text: String::new(),
            html: None,
            unsubscribe: None,
        }
    }
}

impl OutMail {
    /// The visitor mail's text, HTML and unsubscribe link.
    fn with_body(mut self, text: String, html: String, unsubscribe: String) -> OutMail {
        self.text = text;
        self.html = Some(html);
        self.unsubscribe = Some(unsubscribe);
        self
    }
}

pub(super) fn visitor_to_name(v: &VisitorRecord) -> Option<String> {
    v.user
        .as_ref()
        .and_then(|u| u.name.as_deref())
        .map(display_name)
        .filter(|n| !n.is_empty())
}

pub(super) fn message_text(text: &str, file: Option<&protocol::Attachment>) -> String {
    match file {
        Some(f) if text.is_empty() => format!("[{}]", f.name),
        Some(f) => format!("{text}\n[{}]", f.name),
        None => text.to_string(),
    }
}

/// Text quoted as mail quotes it.
pub(super) fn quote(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn esc(s: &str) -> String {
    crate::assets::html_escape(s)
}
