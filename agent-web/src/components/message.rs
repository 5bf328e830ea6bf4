//! One event of a conversation: a message bubble (with its attachment and
//! "Seen"; the sender's name and time only at the start of a run from one
//! sender), a private note (yellow, tagged, grouped the same way), or a
//! line saying who closed, reopened, assigned or labelled it.

use super::AttachmentView;
use crate::format::{assignment, clock, full_time, local_offset_minutes, message_time};
use protocol::{Author, Event, EventBody, Side};
use yew::prelude::*;

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
}

fn name_of(a: &Author) -> String {
    a.name.clone().unwrap_or_else(|| a.id.clone())
}

/// The "Private note" head of a run of notes: the tag, who, when.
fn note_meta(who: String, ts: u64, now: f64) -> Html {
    let tz = local_offset_minutes(ts);
    html! {
        <div class="meta">
            <span class="note-tag">{"Private note"}</span>{" "}
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
    let state = failed.map_or_else(|| "Sending…".into(), |f| format!("Not sent: {f}"));
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
                            <span class="who">{ who }</span>{" · "}
                            <time class="when" datetime={full}>{ message_time(e.ts, p.now as u64, tz) }</time>
                        </div>
                    }
                    <div class="bubble">
                        if let Some((file, token)) = file { <AttachmentView {file} {token} /> }
                        if !text.is_empty() { <span>{ text.clone() }</span> }
                    </div>
                    if seen { <div class="seen">{"Seen"}</div> }
                </li>
            }
        }
        EventBody::Closed { by } => {
            html! { <li class="sys">{ format!("Closed by {} · {}", name_of(by), clock(e.ts)) }</li> }
        }
        EventBody::Reopened { by } => {
            html! { <li class="sys">{ format!("Reopened by {} · {}", name_of(by), clock(e.ts)) }</li> }
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
            let did = if *on { "added" } else { "removed" };
            html! { <li class="sys labeled">{ format!("{} {did} label {label}", name_of(by)) }</li> }
        }
        EventBody::Rated { score, comment, .. } => {
            let stars =
                "★".repeat(usize::from(*score)) + &"☆".repeat(5 - usize::from((*score).min(5)));
            html! {
                <li class="sys rated">
                    { format!("Rated {stars} ({score}/5) · {}", clock(e.ts)) }
                    if let Some(c) = comment { <q class="comment">{ c.clone() }</q> }
                </li>
            }
        }
        EventBody::AutoReply { text } => {
            html! { <li class="sys auto-reply" title={full_time(e.ts, local_offset_minutes(e.ts))}>{ format!("Auto-reply: {text}") }</li> }
        }
        EventBody::Contacted { form } => {
            let which = match form {
                protocol::offline::FormKind::Offline => "the offline form",
                protocol::offline::FormKind::Prechat => "the pre-chat form",
            };
            html! { <li class="sys contacted">{ format!("The visitor filled in {which} · {}", clock(e.ts)) }</li> }
        }
    }
}
