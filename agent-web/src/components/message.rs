//! One event of a conversation: a message bubble (with its attachment and
//! "Seen"; the sender's name and time only at the start of a run from one
//! sender), a private note (yellow, tagged, grouped the same way), the
//! site's auto-reply outside business hours (a bubble of its own kind), or
//! a line saying who closed, reopened, assigned or labelled it, that the
//! visitor rated it (stars or 👍 / 👎, with the comment) or filled in a form.

use super::AttachmentView;
use crate::format::{assignment, clock, full_time, local_offset_minutes, message_time};
use crate::i18n::{tr, trf};
use protocol::offline::{FormKind, RatingScale};
use protocol::{Author, Event, EventBody, Side};
use yew::prelude::*;

/// What the lines of the newer events say, in one place (a translation
/// replaces this).
mod say {
    use crate::i18n::en;

    pub const RATED: &str = en("Visitor rated the chat");
    pub const OUT_OF_FIVE: &str = en("{} out of 5 stars");
    pub const THUMBS_UP: &str = en("thumbs up");
    pub const THUMBS_DOWN: &str = en("thumbs down");
    pub const AUTO_REPLY: &str = en("Auto-reply (outside business hours)");
    pub const OFFLINE_FORM: &str = en("📝 The visitor left their contact in the offline form");
    pub const PRECHAT_FORM: &str = en("📝 The visitor filled in the pre-chat form");
}

#[derive(Properties, PartialEq)]
pub struct MessageItemProps {
    pub event: Event,
    /// How the conversation's visitor is called.
    pub visitor_name: String,
    /// The visitor has read up to here.
    pub visitor_read: u64,
    /// For attachment links; none draws no attachment.
    pub token: Option<String>,
    /// The first of consecutive messages from one sender: it shows the
    /// name and time for the run.
    pub first_of_run: bool,
    /// The console's clock (ms), for "today" and "yesterday".
    pub now: f64,
    /// The name of the team an assignment event names (a transfer's).
    #[prop_or_default]
    pub team_name: Option<String>,
    /// The site's rating scale: a thumbs rating shows as 👍 / 👎.
    #[prop_or_default]
    pub scale: RatingScale,
    /// An agent's message: the sender's picture (none: initials).
    #[prop_or_default]
    pub avatar: Option<String>,
}

fn name_of(a: &Author) -> String {
    a.name.clone().unwrap_or_else(|| a.id.clone())
}

/// The "Private note" head of a run of notes: the tag, who, when.
fn note_meta(who: String, ts: u64, now: f64) -> Html {
    let tz = local_offset_minutes(ts);
    html! {
        <div class="meta">
            <span class="note-tag">{tr("Private note")}</span>{" "}
            <span class="who">{ who }</span>{" · "}
            <time class="when" datetime={full_time(ts, tz)}>{ message_time(ts, now as u64, tz) }</time>
        </div>
    }
}

/// A pending note of the agent's (not acked yet), drawn like a sent one.
pub fn pending_note(
    key: String,
    who: String,
    text: String,
    failed: Option<String>,
    now: f64,
) -> Html {
    let state = failed.map_or_else(|| tr("Sending…").into(), |f| trf("Not sent: {}", &[&f]));
    html! {
        <li {key} class="msg note first pending">
            { note_meta(who, now as u64, now) }
            <div class="bubble">{ text }</div>
            <div class="seen">{ state }</div>
        </li>
    }
}

#[function_component]
pub fn MessageItem(p: &MessageItemProps) -> Html {
    let e = &p.event;
    match &e.body {
        EventBody::Message {
            from, text, file, ..
        } => {
            let side = match from.side {
                Side::Visitor => "visitor",
                Side::Agent => "agent",
                Side::System => "system",
            };
            let who = match from.side {
                Side::Visitor => p.visitor_name.clone(),
                _ => name_of(from),
            };
            let seen = from.side == Side::Agent && p.visitor_read >= e.seq;
            let file = file.clone().zip(p.token.clone());
            let tz = local_offset_minutes(e.ts);
            let full = full_time(e.ts, tz);
            let run = if p.first_of_run { "first" } else { "cont" };
            html! {
                <li class={classes!("msg", side, run)} data-seq={e.seq.to_string()} title={full.clone()}>
                    if p.first_of_run {
                        <div class="meta">
                            if from.side == Side::Agent {
                                <super::Avatar name={who.clone()} url={p.avatar.clone()} token={p.token.clone()} />
                            }
                            <span class="who">{ who }</span>{" · "}
                            <time class="when" datetime={full}>{ message_time(e.ts, p.now as u64, tz) }</time>
                        </div>
                    }
                    <div class="bubble">
                        if let Some((file, token)) = file { <AttachmentView {file} {token} /> }
                        if !text.is_empty() { <span>{ text.clone() }</span> }
                    </div>
                    if seen { <div class="seen">{tr("Seen")}</div> }
                </li>
            }
        }
        EventBody::Closed { by } => {
            html! { <li class="sys">{ trf("Closed by {} · {}", &[&name_of(by), &clock(e.ts)]) }</li> }
        }
        EventBody::Reopened { by } => {
            html! { <li class="sys">{ trf("Reopened by {} · {}", &[&name_of(by), &clock(e.ts)]) }</li> }
        }
        EventBody::Note { from, text, .. } => {
            let full = full_time(e.ts, local_offset_minutes(e.ts));
            let run = if p.first_of_run { "first" } else { "cont" };
            html! {
                <li class={classes!("msg", "note", run)} data-seq={e.seq.to_string()} title={full}>
                    if p.first_of_run { { note_meta(name_of(from), e.ts, p.now) } }
                    <div class="bubble">{ text.clone() }</div>
                </li>
            }
        }
        EventBody::Assigned { by, to, reason, .. } => {
            // The relay's own decisions, and an agent taking it, name
            // no actor.
            let actor = by.side == Side::Agent && to.as_ref().is_none_or(|t| t.id != by.id);
            let by = actor.then(|| name_of(by));
            let to = to.as_ref().map(name_of);
            let line = assignment(
                by.as_deref(),
                to.as_deref(),
                *reason,
                p.team_name.as_deref(),
            );
            html! { <li class="sys assigned">{ format!("{line} · {}", clock(e.ts)) }</li> }
        }
        EventBody::Labeled { by, label, on } => {
            let who = name_of(by);
            let line = if *on {
                trf("{} added label {}", &[&who, label])
            } else {
                trf("{} removed label {}", &[&who, label])
            };
            html! { <li class="sys labeled">{ line }</li> }
        }
        EventBody::Rated { score, comment, .. } => {
            let (shown, spoken) = rating_text(*score, p.scale);
            html! {
                <li class="sys rated" data-score={score.to_string()}>
                    <span class="rated-head">
                        <span class="rated-label">{ tr(say::RATED) }</span>{" "}
                        <span class="score" role="img" aria-label={spoken}>{ shown }</span>
                        <span class="when">{ format!(" · {}", clock(e.ts)) }</span>
                    </span>
                    if let Some(c) = comment.as_deref().filter(|c| !c.is_empty()) {
                        <q class="comment">{ c.to_string() }</q>
                    }
                </li>
            }
        }
        EventBody::AutoReply { text } => {
            let tz = local_offset_minutes(e.ts);
            let full = full_time(e.ts, tz);
            html! {
                <li class="msg auto-reply first" data-seq={e.seq.to_string()} title={full.clone()}>
                    <div class="meta">
                        <span class="auto-tag">{ tr(say::AUTO_REPLY) }</span>{" · "}
                        <time class="when" datetime={full}>{ message_time(e.ts, p.now as u64, tz) }</time>
                    </div>
                    <div class="bubble">{ text.clone() }</div>
                </li>
            }
        }
        EventBody::Contacted { form } => {
            let which = match form {
                FormKind::Offline => tr(say::OFFLINE_FORM),
                FormKind::Prechat => tr(say::PRECHAT_FORM),
            };
            html! { <li class="sys contacted">{ format!("{which} · {}", clock(e.ts)) }</li> }
        }
    }
}

/// A rating in a conversation's row: `★4`, or 👍 / 👎 on a thumbs scale.
pub fn rating_short(score: u8, scale: RatingScale) -> String {
    match scale {
        RatingScale::Thumbs if score >= 5 => "👍".into(),
        RatingScale::Thumbs if score <= 1 => "👎".into(),
        _ => format!("★{}", score.clamp(1, 5)),
    }
}

/// A rating as shown — stars, or 👍 / 👎 on a thumbs scale — and as
/// read aloud.
pub fn rating_text(score: u8, scale: RatingScale) -> (String, String) {
    let n = usize::from(score.clamp(1, 5));
    match scale {
        RatingScale::Thumbs if score >= 5 => ("👍".into(), tr(say::THUMBS_UP).into()),
        RatingScale::Thumbs if score <= 1 => ("👎".into(), tr(say::THUMBS_DOWN).into()),
        _ => (
            "★".repeat(n) + &"☆".repeat(5 - n),
            trf(say::OUT_OF_FIVE, &[&n]),
        ),
    }
}
