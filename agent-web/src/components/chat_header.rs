//! The open conversation's header: the visitor, open/closed, the assignee,
//! and the actions (assign to me, transfer, close, reopen); on a phone,
//! "← Back" to the list and "Visitor info".

use crate::services::api::ConvAction;
use crate::state::{Action, Pane};
use protocol::api::Teammate;
use protocol::ConvSummary;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ChatHeaderProps {
    pub summary: ConvSummary,
    pub name: String,
    /// The signed-in agent's id.
    pub me: String,
    pub team: Vec<Teammate>,
    pub dispatch: Callback<Action>,
}

#[function_component]
pub fn ChatHeader(p: &ChatHeaderProps) -> Html {
    let s = &p.summary;
    let d = &p.dispatch;
    let assignee = s.assignee.as_ref().map(|x| x.as_str());
    let mine = assignee == Some(p.me.as_str());
    let others: Vec<&Teammate> = p
        .team
        .iter()
        .filter(|t| t.id.as_str() != p.me && Some(t.id.as_str()) != assignee)
        .collect();
    let on_transfer = d.reform(|e: Event| {
        let v = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        Action::Conv(ConvAction::Transfer(v))
    });
    let assigned = match assignee {
        Some(x) => format!(
            "Assigned to {}",
            p.team
                .iter()
                .find(|t| t.id.as_str() == x)
                .map(|t| t.name.clone())
                .unwrap_or_else(|| x.to_string())
        ),
        None => "Unassigned".into(),
    };
    let me = p.me.clone();
    html! {
        <header>
            <button class="back" onclick={d.reform(|_| Action::ShowPane(Pane::List))}>{"← Back"}</button>
            <div class="who">
                <h2>{ &p.name }</h2>
                <span class={classes!("state", if s.open { "open" } else { "closed" })}>{ if s.open { "open" } else { "closed" } }</span>
                <span class="assignee">{ assigned }</span>
            </div>
            <div class="actions">
                <button class="to-profile" onclick={d.reform(|_| Action::ShowPane(Pane::Profile))}>{"Visitor info"}</button>
                if !mine && s.open {
                    <button data-action="assign-me" onclick={d.reform(move |_| Action::Conv(ConvAction::Assign(Some(me.clone()))))}>{"Assign to me"}</button>
                }
                if s.open && !others.is_empty() {
                    <select onchange={on_transfer} aria-label="Transfer to" data-action="transfer">
                        <option value="" selected=true disabled=true>{"Transfer to…"}</option>
                        { for others.iter().map(|t| html! { <option value={t.id.to_string()}>{ &t.name }</option> }) }
                    </select>
                }
                if s.open {
                    <button data-action="close" onclick={d.reform(|_| Action::Conv(ConvAction::Close))}>{"Close"}</button>
                } else {
                    <button data-action="reopen" onclick={d.reform(|_| Action::Conv(ConvAction::Reopen))}>{"Reopen"}</button>
                }
            </div>
        </header>
    }
}
