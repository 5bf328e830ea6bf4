//! One conversation in the inbox list: who, when, the last message, its
//! labels, its place in the queue, its assignee, the visitor's rating.

use super::{ChannelBadge, LabelChip};
use crate::format::clock;
use crate::i18n::{tr, trf};
use protocol::api::Label;
use protocol::{ConvId, ConvSummary};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ConvRowProps {
    pub summary: ConvSummary,
    pub name: String,
    pub unread: u32,
    pub typing: bool,
    pub active: bool,
    pub assignee: Option<String>,
    /// Its labels, coloured.
    pub labels: Vec<Label>,
    /// Waiting in the queue: its position (1: next) and for how long.
    pub queue: Option<(usize, String)>,
    /// The visitor's rating, as the row shows it (`★4`, 👍).
    #[prop_or_default]
    pub rating: Option<String>,
    pub onopen: Callback<ConvId>,
}

#[function_component]
pub fn ConvRow(p: &ConvRowProps) -> Html {
    let id = p.summary.id.clone();
    let onclick = p.onopen.reform(move |_: MouseEvent| id.clone());
    html! {
        <li class={classes!("conv", p.active.then_some("active"), (p.unread > 0).then_some("has-unread"))}
            {onclick} data-conv={p.summary.id.to_string()}>
            <div class="line1">
                <span class="name">{ &p.name }</span>
                <ChannelBadge channel={p.summary.channel} />
                if let Some(r) = &p.rating { <span class="conv-rating" title={tr("Visitor's rating")}>{ r }</span> }
                <span class="time">{ clock(p.summary.updated) }</span>
            </div>
            <div class="line2">
                if p.typing {
                    <span class="typing">{tr("typing…")}</span>
                } else {
                    <span class="preview">{ p.summary.preview.clone().unwrap_or_default() }</span>
                }
                if p.unread > 0 { <span class="unread">{ p.unread }</span> }
            </div>
            if p.queue.is_some() || !p.labels.is_empty() {
                <div class="line3">
                    if let Some((n, waited)) = &p.queue {
                        <span class="queued" data-position={n.to_string()}>{ trf("#{} · waiting {}", &[n, waited]) }</span>
                    }
                    { for p.labels.iter().map(|l| html! { <LabelChip label={l.clone()} /> }) }
                </div>
            }
            if let Some(a) = &p.assignee { <div class="assignee">{ format!("→ {a}") }</div> }
        </li>
    }
}
