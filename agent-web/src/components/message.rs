//! One event of a conversation: a message bubble (with its attachment and
//! "Seen"; the sender's name and time only at the start of a run from one
//! sender), or a line saying who closed, reopened or assigned it.

use super::AttachmentView;
use crate::format::{clock, full_time, local_offset_minutes, message_time};
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
}

fn name_of(a: &Author) -> String {
    a.name.clone().unwrap_or_else(|| a.id.clone())
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
        EventBody::Assigned { by, to } => {
            let by = by.name.clone().unwrap_or_default();
            let line = match to {
                Some(t) => format!("{by} assigned this to {}", name_of(t)),
                None => format!("{by} unassigned this"),
            };
            html! { <li class="sys">{ line }</li> }
        }
    }
}
