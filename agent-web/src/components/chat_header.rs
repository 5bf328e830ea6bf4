//! The open conversation's header: the visitor, open/closed, the assignee
//! and team, the labels (× to take one off, "Add label" for the site's
//! others), and the actions (assign to me, transfer to an agent or a team,
//! close, reopen); on a phone, "← Back" to the list and "Visitor info".

use super::LabelChip;
use crate::i18n::{tr, trf};
use crate::services::api::{ConvAction, TransferTo};
use crate::state::{Action, Pane};
use protocol::api::{Label, Teammate};
use protocol::ConvSummary;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ChatHeaderProps {
    pub summary: ConvSummary,
    pub name: String,
    /// The signed-in agent's id.
    pub me: String,
    pub team: Vec<Teammate>,
    /// The assignee's name (a teammate's, or a bot's from the events).
    pub assignee_name: Option<String>,
    /// The site's teams, `(id, name)`: transfer targets.
    pub teams: Vec<(String, String)>,
    /// The name of the team the conversation is routed within.
    pub team_name: Option<String>,
    /// Its labels, coloured.
    pub labels: Vec<Label>,
    /// The site's labels it does not carry.
    pub addable: Vec<Label>,
    pub dispatch: Callback<Action>,
}

/// A select that is a menu of actions: on a choice it asks `action` what
/// to do with the chosen value, then shows its placeholder again.
fn menu(d: &Callback<Action>, action: fn(String) -> Option<Action>) -> Callback<Event> {
    let d = d.clone();
    Callback::from(move |e: Event| {
        let el = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
        let chosen = action(el.value());
        el.set_selected_index(0);
        if let Some(a) = chosen {
            d.emit(a);
        }
    })
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
    let on_transfer = menu(d, |v| {
        TransferTo::from_option(&v).map(|to| Action::Conv(ConvAction::Transfer(to)))
    });
    let on_add_label = menu(d, |v| {
        (!v.is_empty()).then(|| Action::Conv(ConvAction::Label(v)))
    });
    let on_remove_label = d.reform(|l: String| Action::Conv(ConvAction::Unlabel(l)));
    let assigned = match assignee {
        Some(x) => trf(
            "Assigned to {}",
            &[&p.assignee_name.as_deref().unwrap_or(x)],
        ),
        None => tr("Unassigned").into(),
    };
    let state = if s.open { "open" } else { "closed" };
    let me = p.me.clone();
    let transfer = s.open && !(others.is_empty() && p.teams.is_empty());
    html! {
        <header>
            <button class="back" onclick={d.reform(|_| Action::ShowPane(Pane::List))}>{tr("← Back")}</button>
            <div class="who">
                <h2>{ &p.name }</h2>
                <span class={classes!("state", state)}>{ if s.open { tr("open") } else { tr("closed") } }</span>
                <span class="assignee">{ assigned }</span>
                if let Some(t) = &p.team_name { <span class="conv-team">{ trf("Team {}", &[t]) }</span> }
            </div>
            <div class="actions">
                <button class="to-profile" onclick={d.reform(|_| Action::ShowPane(Pane::Profile))}>{tr("Visitor info")}</button>
                if !mine && s.open {
                    <button data-action="assign-me" onclick={d.reform(move |_| Action::Conv(ConvAction::Assign(Some(me.clone()))))}>{tr("Assign to me")}</button>
                }
                if transfer {
                    <select onchange={on_transfer} aria-label={tr("Transfer to")} data-action="transfer">
                        <option value="" selected=true disabled=true>{tr("Transfer to…")}</option>
                        { for others.iter().map(|t| html! {
                            <option value={TransferTo::Agent(t.id.to_string()).option_value()}>{ &t.name }</option>
                        }) }
                        { for p.teams.iter().map(|(id, name)| html! {
                            <option value={TransferTo::Team(id.clone()).option_value()}>{ trf("Team: {}", &[name]) }</option>
                        }) }
                    </select>
                }
                if s.open {
                    <button data-action="close" onclick={d.reform(|_| Action::Conv(ConvAction::Close))}>{tr("Close")}</button>
                } else {
                    <button data-action="reopen" onclick={d.reform(|_| Action::Conv(ConvAction::Reopen))}>{tr("Reopen")}</button>
                }
            </div>
            if !p.labels.is_empty() || !p.addable.is_empty() {
                <div class="labels">
                    { for p.labels.iter().map(|l| html! {
                        <LabelChip label={l.clone()} onremove={on_remove_label.clone()} />
                    }) }
                    if !p.addable.is_empty() {
                        <select class="add-label" aria-label={tr("Add label")} data-action="add-label" onchange={on_add_label}>
                            <option value="" selected=true disabled=true>{tr("Add label")}</option>
                            { for p.addable.iter().map(|l| html! { <option value={l.name.clone()}>{ &l.name }</option> }) }
                        </select>
                    }
                </div>
            }
        </header>
    }
}
