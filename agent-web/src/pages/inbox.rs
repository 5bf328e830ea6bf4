//! The inbox: conversations by filter (the tabs, the queue, a label), the
//! open conversation with its notes and composer, and the visitor's
//! profile beside it (on a phone, one of the three at a time: [`Pane`]).

use crate::app::Handlers;
use crate::components::composer::picked;
use crate::components::message::{pending_note, rating_short};
use crate::components::{
    AttachmentView, ChatHeader, Composer, ContactForm, ConvRow, MessageItem, MessageList,
    PrivacyActions, SearchBox, SearchHitRow, VisitorFacts,
};
use crate::format::duration;
use crate::i18n::{en, tr, trf};
use crate::model::{Conv, Pending};
use crate::state::{Action, ContactAction, Filter, Pane, SearchAction, State};
use protocol::api::Label;
use protocol::{ConvId, Event, EventBody, Side, VisitorId};
use std::collections::HashMap;
use yew::prelude::*;

/// A message more than this long (ms) after the previous one from the
/// same sender starts a new run (its name and time show again).
const RUN_GAP_MS: u64 = 10 * 60_000;

/// The filter tabs: the English name is also the tab's `data-filter`.
const TABS: [(Filter, &str); 5] = [
    (Filter::Queue, en("Queue")),
    (Filter::Unassigned, en("Unassigned")),
    (Filter::Mine, en("Mine")),
    (Filter::Open, en("All open")),
    (Filter::Closed, en("Closed")),
];

/// A conversation's labels as chips, coloured as the site says.
fn chips(s: &State, c: &Conv) -> Vec<Label> {
    c.summary.labels.iter().map(|l| s.label(l)).collect()
}

/// The inbox's label select: every label of the site, or any.
fn label_filter(s: &State, d: &Callback<Action>) -> Html {
    let labels = s.routing().map(|r| r.labels.clone()).unwrap_or_default();
    if labels.is_empty() && s.label_filter.is_none() {
        return html! {};
    }
    let chosen = s.label_filter.clone();
    let onchange = d.reform(|e: web_sys::Event| {
        let v = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        Action::SetLabelFilter((!v.is_empty()).then_some(v))
    });
    html! {
        <select class="label-filter" aria-label={tr("Filter by label")} {onchange}>
            <option value="" selected={chosen.is_none()}>{tr("All labels")}</option>
            { for labels.iter().map(|l| html! {
                <option value={l.name.clone()} selected={chosen.as_deref() == Some(l.name.as_str())}>{ &l.name }</option>
            }) }
        </select>
    }
}

pub fn view(s: &State, h: &Handlers) -> Html {
    let list = s.inbox_list();
    let queue = s.model.queue();
    let positions: HashMap<&ConvId, usize> = queue
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.summary.id, i + 1))
        .collect();
    let d = &h.dispatch;
    // With no conversation open, a phone shows the list whatever was chosen.
    let pane = match (s.pane, s.model.viewed().is_some()) {
        (_, false) | (Pane::List, _) => "list",
        (Pane::Chat, true) => "chat",
        (Pane::Profile, true) => "profile",
    };
    let scale = s.rating_scale();
    html! {
        <div class="inbox" data-pane={pane}>
            <aside class="convs">
                { search_box(s, d) }
                if s.search.shown.is_some() {
                    { search_results(s, d) }
                } else {
                <>
                <div class="filters" role="tablist">
                    { for TABS.iter().map(|&(f, label)| {
                        let unread: u32 = if f == Filter::Closed { 0 } else {
                            s.model.convs.values().filter(|c| s.in_filter(f, c)).map(|c| c.unread).sum()
                        };
                        let text = match f {
                            Filter::Queue => format!("{} ({})", tr(label), queue.len()),
                            _ => tr(label).to_string(),
                        };
                        html! {
                            <button role="tab" class={classes!((s.filter == f).then_some("active"))}
                                onclick={d.reform(move |_| Action::SetFilter(f))} data-filter={label}>
                                { text }
                                if unread > 0 { <span class="unread">{ unread }</span> }
                            </button>
                        }
                    }) }
                    { label_filter(s, d) }
                </div>
                <ul class="conv-list">
                    { for list.iter().map(|c| {
                        // Where it waits and since when (the clock moves
                        // with the console's minute tick).
                        let queue = positions.get(&c.summary.id).map(|&n| {
                            let waited = c.summary.queued.map(|t| duration(s.now - t as f64)).unwrap_or_default();
                            (n, waited)
                        });
                        html! {
                            <ConvRow key={c.summary.id.to_string()}
                                summary={c.summary.clone()}
                                name={s.model.visitor_name(&c.summary.visitor)}
                                unread={c.unread}
                                typing={c.visitor_typing}
                                active={s.model.viewing.as_ref() == Some(&c.summary.id)}
                                assignee={c.summary.assignee.as_ref().and_then(|x| s.team_name(x.as_str()))}
                                labels={chips(s, c)}
                                rating={c.rating().map(|r| rating_short(r, scale))}
                                {queue}
                                onopen={h.open_conv.clone()} />
                        }
                    }) }
                    if list.is_empty() { <li class="empty">{tr("No conversations here.")}</li> }
                </ul>
                </>
                }
            </aside>
            { conversation(s, h) }
            { profile(s, h) }
        </div>
    }
}

/// The search box above the list.
fn search_box(s: &State, d: &Callback<Action>) -> Html {
    html! {
        <SearchBox value={s.search.input.clone()} active={s.search.shown.is_some()}
            oninput={d.reform(|t| Action::Search(SearchAction::Input(t)))}
            onsubmit={d.reform(|_| Action::Search(SearchAction::Submit))}
            onclear={d.reform(|_| Action::Search(SearchAction::Clear))} />
    }
}

/// The search results in place of the list: each hit, newest first, and
/// "More results" while the relay has more.
fn search_results(s: &State, d: &Callback<Action>) -> Html {
    let r = &s.search;
    let onopen = d.reform(|i| Action::Search(SearchAction::Open(i)));
    html! {
        <>
            <div class="search-status" role="status">
                if r.busy && r.hits.is_empty() {
                    { tr("Searching…") }
                } else if let Some(e) = &r.error {
                    { trf("Search failed: {}", &[e]) }
                } else {
                    { trf("Results: {}", &[&format!("{}{}", r.hits.len(), if r.next.is_some() { "+" } else { "" })]) }
                }
                if !r.complete && !r.busy && r.error.is_none() {
                    <span class="partial">{ tr("(the index is still being built: results may be missing)") }</span>
                }
            </div>
            <ul class="conv-list search-results">
                { for r.hits.iter().enumerate().map(|(i, h)| {
                    let name = h.visitor_name.clone().unwrap_or_else(|| s.model.visitor_name(&h.visitor));
                    html! {
                        <SearchHitRow key={format!("{i}")} index={i} {name} kind={h.kind} ts={h.ts}
                            closed={h.open == Some(false)} snippet={h.snippet.clone()} onopen={onopen.clone()} />
                    }
                }) }
                if r.hits.is_empty() && !r.busy && r.error.is_none() {
                    <li class="empty">{ tr("Nothing found.") }</li>
                }
                if r.next.is_some() {
                    <li class="more"><button disabled={r.busy} onclick={d.reform(|_| Action::Search(SearchAction::More))}>{ tr("More results") }</button></li>
                }
            </ul>
        </>
    }
}

/// Replies and notes of `c` in the outbox that the relay has not shown
/// back yet.
fn unsent<'a>(s: &'a State, c: &Conv) -> Vec<&'a Pending> {
    s.model
        .outbox
        .iter()
        .filter(|p| p.conv.as_ref() == Some(&c.summary.id))
        .filter(|p| {
            !c.events.values().any(|e| {
                matches!(&e.body, EventBody::Message { cid, .. } | EventBody::Note { cid, .. }
                    if *cid == p.cid)
            })
        })
        .collect()
}

fn conversation(s: &State, h: &Handlers) -> Html {
    let Some(c) = s.model.viewed() else {
        return html! { <section class="chat empty"><p>{tr("Pick a conversation, or start one from Visitors.")}</p></section> };
    };
    let d = &h.dispatch;
    let sum = &c.summary;
    let ondrop = d.reform(|e: DragEvent| {
        e.prevent_default();
        Action::AttachFiles(picked(e.data_transfer().and_then(|d| d.files())))
    });
    let ondragover = Callback::from(|e: DragEvent| e.prevent_default());
    let name = s.model.visitor_name(&sum.visitor);
    let token = s.token.clone();
    let unsent = unsent(s, c);
    let uploads: Vec<_> = s.uploads.iter().filter(|u| u.conv == sum.id).collect();
    let pending = unsent.len() + uploads.len();
    let routing = s.routing();
    let labels = chips(s, c);
    let addable: Vec<Label> = routing
        .map(|r| {
            r.labels
                .iter()
                .filter(|l| !sum.labels.contains(&l.name))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let teams: Vec<(String, String)> = routing
        .map(|r| {
            r.teams
                .iter()
                .map(|t| (t.id.to_string(), t.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let team_name = sum.team.as_ref().map(|t| s.team_label(t.as_str()));
    let assignee_name = sum
        .assignee
        .as_ref()
        .and_then(|a| s.agent_name(c, a.as_str()));
    let my_name = s.me.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let scale = s.rating_scale();
    html! {
        <section class="chat" data-conv={sum.id.to_string()} {ondrop} {ondragover}>
            <ChatHeader summary={sum.clone()} name={name.clone()} me={s.my_id().to_string()}
                team={s.team.clone()} {teams} {team_name} {assignee_name} {labels} {addable} dispatch={d.clone()} />
            <MessageList conv={sum.id.to_string()} seqs={message_seqs(c.events.values(), s.my_id())} {pending}
                found={s.search.focus.as_ref().filter(|f| f.0 == sum.id).map(|f| f.1)}>
                if c.more_before {
                    <li class="more"><button onclick={d.reform(|_| Action::LoadEarlier)}>{tr("Load earlier messages")}</button></li>
                }
                { for c.events.values().zip(runs(c.events.values())).map(|(e, first_of_run)| {
                    let team_name = match &e.body {
                        EventBody::Assigned { team: Some(t), .. } => Some(s.team_label(t.as_str())),
                        _ => None,
                    };
                    let avatar = match &e.body {
                        EventBody::Message { from, .. } if from.side == protocol::Side::Agent => s.avatar_of(&from.id),
                        _ => None,
                    };
                    html! {
                        <MessageItem key={e.seq.to_string()} event={e.clone()} visitor_name={name.clone()}
                            visitor_read={sum.visitor_read} token={token.clone()} {first_of_run} now={s.now} {team_name} {scale} {avatar} />
                    }
                }) }
                { for unsent.into_iter().map(|p| if p.note {
                    pending_note(p.cid.to_string(), my_name.clone(), p.text.clone(), p.failed.clone(), s.now)
                } else { html! {
                    <li key={p.cid.to_string()} class="msg agent pending">
                        <div class="bubble">
                            if let (Some(file), Some(token)) = (p.file.clone(), token.clone()) { <AttachmentView {file} {token} /> }
                            if !p.text.is_empty() { <span>{ p.text.clone() }</span> }
                        </div>
                        <div class="seen">{ p.failed.clone().map(|f| trf("Not sent: {}", &[&f])).unwrap_or_else(|| tr("Sending…").into()) }</div>
                    </li>
                } }) }
                { for uploads.into_iter().map(|u| html! {
                    <li key={u.cid.to_string()} class="msg agent pending uploading">
                        <div class="bubble">{ u.name.clone() }</div>
                        <div class="seen">{tr("Uploading…")}</div>
                    </li>
                }) }
            </MessageList>
            if c.visitor_typing {
                <div class="typing-line">
                    { trf("{} is typing…", &[&name]) }
                    if let Some(d) = &c.draft { <span class="draft" title={tr("What the visitor is typing (not sent yet)")}>{ d.clone() }</span> }
                </div>
            }
            if let Some(notice) = s.colleagues_notice() {
                <div class="colleagues" role="status">{ notice }</div>
            }
            if sum.channel == protocol::Channel::Wechat {
                <div class={classes!("wechat-window", sum.wechat.is_none_or(|w| w.refusal(s.now as u64).is_some()).then_some("closed"))} role="status">
                    { crate::format::wechat_window(sum.wechat.as_ref(), s.now as u64) }
                </div>
            }
            <Composer text={s.composer.clone()} matches={s.canned_matches().into_iter().cloned().collect::<Vec<_>>()}
                mode={s.compose} dispatch={d.clone()} />
        </section>
    }
}

/// The sender of a message or note (side, id, whether a note), if the
/// event is one.
fn sender(e: &Event) -> Option<(Side, &str, bool)> {
    match &e.body {
        EventBody::Message { from, .. } => Some((from.side, from.id.as_str(), false)),
        EventBody::Note { from, .. } => Some((from.side, from.id.as_str(), true)),
        _ => None,
    }
}

/// For each event in order: whether it starts a run of messages, or of
/// notes, from one sender (a system line always stands alone; a note
/// never continues a run of messages, nor a message one of notes).
fn runs<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<bool> {
    let mut prev: Option<&Event> = None;
    events
        .into_iter()
        .map(|e| {
            let same = prev.is_some_and(|p| {
                sender(p).is_some()
                    && sender(p) == sender(e)
                    && e.ts.saturating_sub(p.ts) <= RUN_GAP_MS
            });
            prev = Some(e);
            !same
        })
        .collect()
}

/// The messages and notes among `events`: `(seq, from someone other
/// than me)`.
fn message_seqs<'a>(events: impl IntoIterator<Item = &'a Event>, me: &str) -> Vec<(u64, bool)> {
    events
        .into_iter()
        .filter_map(|e| {
            let (side, id, _) = sender(e)?;
            Some((e.seq, !(side == Side::Agent && id == me)))
        })
        .collect()
}

/// The contact editor above a visitor's facts, while it is open.
pub fn contact(s: &State, visitor: &VisitorId, d: &Callback<Action>) -> Html {
    match s.contact_editor(visitor) {
        Some(edit) => html! { <ContactForm {edit} dispatch={d.clone()} /> },
        None => html! {},
    }
}

/// "Edit contact" for a stored visitor whose editor is closed.
pub fn edit_contact(
    s: &State,
    visitor: &VisitorId,
    stored: bool,
    d: &Callback<Action>,
) -> Option<Callback<MouseEvent>> {
    (stored && s.contact_editor(visitor).is_none())
        .then(|| d.reform(|_| Action::Contact(ContactAction::Edit)))
}

fn profile(s: &State, h: &Handlers) -> Html {
    let Some(c) = s.model.viewed() else {
        return html! {};
    };
    let visitor = &c.summary.visitor;
    let live = s.model.visitors.get(visitor).cloned();
    let profile = s
        .profile
        .as_ref()
        .filter(|(v, _)| v == visitor)
        .map(|(_, p)| p.clone());
    html! {
        <aside class="profile">
            <button class="back" onclick={h.dispatch.reform(|_| Action::ShowPane(Pane::Chat))}>{tr("← Back")}</button>
            <h3>{ s.model.visitor_name(visitor) }</h3>
            { contact(s, visitor, &h.dispatch) }
            <VisitorFacts {live} profile={profile.clone()} now={s.now} fields={s.form_fields()}
                onedit={edit_contact(s, visitor, profile.is_some(), &h.dispatch)} />
            { privacy_actions(s, visitor, profile.as_deref(), &h.dispatch) }
        </aside>
    }
}

/// Block, export and erase for a visitor whose profile is loaded.
pub fn privacy_actions(
    s: &State,
    visitor: &VisitorId,
    profile: Option<&protocol::api::VisitorProfile>,
    d: &Callback<Action>,
) -> Html {
    let (Some(p), Some(token), Some(site)) = (profile, s.token.clone(), s.model.site.clone())
    else {
        return html! {};
    };
    let name = p.user.as_ref().and_then(|u| u.name.clone());
    let v = visitor.clone();
    html! {
        <PrivacyActions {token} {site} visitor={visitor.clone()} {name}
            last_ip={p.last_ip.clone()} blocks={p.blocks.clone()}
            onchange={d.reform(move |_| Action::ReloadProfile(v.clone()))} />
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Author, Cid, ConvId};

    fn ev(seq: u64, ts: u64, side: Side, id: &str) -> Event {
        let from = Author {
            side,
            id: id.into(),
            name: None,
        };
        Event {
            conv: ConvId::new("c1".to_string()).expect("conv id"),
            seq,
            ts,
            body: EventBody::Message {
                from,
                cid: Cid::new(format!("m{seq}")).expect("cid"),
                text: "hi".into(),
                file: None,
            },
        }
    }

    /// A run is one sender's consecutive messages: another sender, a system
    /// line or a long pause starts a new one.
    #[test]
    fn runs_break_on_sender_system_lines_and_pauses() {
        let closed = Event {
            body: EventBody::Closed {
                by: Author {
                    side: Side::Agent,
                    id: "ann".into(),
                    name: None,
                },
            },
            ..ev(5, 4_000, Side::Agent, "ann")
        };
        let events = [
            ev(1, 0, Side::Visitor, "v1"),
            ev(2, 1_000, Side::Visitor, "v1"),
            ev(3, 2_000, Side::Agent, "ann"),
            ev(4, 3_000, Side::Agent, "bob"),
            closed,
            ev(6, 5_000, Side::Agent, "bob"),
            ev(7, 6_000, Side::Agent, "bob"),
            ev(8, 6_000 + RUN_GAP_MS + 1, Side::Agent, "bob"),
        ];
        assert_eq!(
            runs(events.iter()),
            [true, false, true, true, true, true, false, true]
        );
        // Only others' messages count as new for the pill.
        let seqs = message_seqs(events.iter(), "ann");
        assert_eq!(seqs.len(), 7, "the system line is no message");
        assert_eq!(seqs[2], (3, false));
        assert_eq!(seqs[3], (4, true));
    }

    /// Notes run like messages, but a note never continues a run of
    /// messages from the same agent (nor the other way round), and others'
    /// notes count as new for the pill.
    #[test]
    fn notes_run_apart_from_messages() {
        let note = |seq: u64, id: &str| Event {
            body: EventBody::Note {
                from: Author {
                    side: Side::Agent,
                    id: id.into(),
                    name: None,
                },
                cid: Cid::new(format!("n{seq}")).expect("cid"),
                text: "psst".into(),
            },
            ..ev(seq, seq * 1_000, Side::Agent, id)
        };
        let events = [
            ev(1, 1_000, Side::Agent, "ann"),
            note(2, "ann"),
            note(3, "ann"),
            note(4, "bob"),
            ev(5, 5_000, Side::Agent, "bob"),
        ];
        assert_eq!(runs(events.iter()), [true, true, false, true, true]);
        let seqs = message_seqs(events.iter(), "ann");
        assert_eq!(
            seqs,
            [(1, false), (2, false), (3, false), (4, true), (5, true)]
        );
    }
}
