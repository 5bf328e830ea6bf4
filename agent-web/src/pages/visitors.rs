//! The live visitor list (paged) and the selected visitor's detail, from
//! which an agent starts a chat.

use crate::app::Handlers;
use crate::components::{VisitorFacts, VisitorRow};
use crate::format::visitor_label;
use crate::i18n::{tr, trf};
use crate::state::{Action, State, VISITORS_PER_PAGE};
use protocol::VisitorInfo;
use std::rc::Rc;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

pub fn view(s: &State, h: &Handlers) -> Html {
    let mut all: Vec<&Rc<VisitorInfo>> = s.model.visitors.values().collect();
    // Newest visits first; ties by id keep the order stable between renders.
    all.sort_by(|x, y| y.since.cmp(&x.since).then_with(|| x.id.cmp(&y.id)));
    let total = all.len();
    let pages = total.div_ceil(VISITORS_PER_PAGE).max(1);
    let page = s.visitor_page.min(pages - 1);
    let shown =
        &all[(page * VISITORS_PER_PAGE).min(total)..((page + 1) * VISITORS_PER_PAGE).min(total)];
    let now_min = (s.now / 60_000.0) as u64;
    let chatting = |v: &VisitorInfo| {
        s.model
            .conv_for_visitor(&v.id)
            .is_some_and(|c| c.summary.open)
    };
    let d = &h.dispatch;
    html! {
        <div class="visitors">
            <section class="list">
                <div class="list-head">
                    <h2>{ if total == 1 { tr("1 visitor online").to_string() } else { trf("{} visitors online", &[&total]) } }</h2>
                    if pages > 1 {
                        <div class="pager">
                            <button disabled={page == 0} onclick={d.reform(move |_| Action::VisitorPage(page.saturating_sub(1)))}>{"‹"}</button>
                            <span>{ trf("{}–{} of {}", &[&(page * VISITORS_PER_PAGE + 1), &(page * VISITORS_PER_PAGE + shown.len()), &total]) }</span>
                            <button disabled={page + 1 >= pages} onclick={d.reform(move |_| Action::VisitorPage(page + 1))}>{"›"}</button>
                        </div>
                    }
                </div>
                <table class="vtable">
                    <thead><tr>
                        <th>{tr("Visitor")}</th><th>{tr("Current page")}</th><th>{tr("Pages")}</th><th>{tr("Referrer")}</th>
                        <th>{tr("On site")}</th><th>{tr("Browser")}</th><th>{tr("Visits")}</th>
                    </tr></thead>
                    <tbody>
                        { for shown.iter().map(|v| html! {
                            <VisitorRow key={v.id.to_string()} v={(*v).clone()} {now_min}
                                selected={s.selected_visitor.as_ref() == Some(&v.id)}
                                chatting={chatting(v)}
                                onselect={h.select_visitor.clone()} />
                        }) }
                    </tbody>
                </table>
                if total == 0 { <p class="empty">{tr("Nobody is on the site right now.")}</p> }
            </section>
            { detail(s, h) }
        </div>
    }
}

fn detail(s: &State, h: &Handlers) -> Html {
    let Some(id) = s.selected_visitor.clone() else {
        return html! {};
    };
    let d = &h.dispatch;
    let live = s.model.visitors.get(&id).cloned();
    let profile = s
        .profile
        .as_ref()
        .filter(|(v, _)| *v == id)
        .map(|(_, p)| p.clone());
    let conv = s
        .model
        .conv_for_visitor(&id)
        .filter(|c| c.summary.open)
        .map(|c| c.summary.id.clone());
    let title = live
        .as_deref()
        .map(visitor_label)
        .unwrap_or_else(|| s.model.visitor_name(&id));
    let oninput = d.reform(|e: InputEvent| {
        Action::InviteInput(e.target_unchecked_into::<HtmlTextAreaElement>().value())
    });
    let onsubmit = d.reform(|e: SubmitEvent| {
        e.prevent_default();
        Action::Invite
    });
    let inviting = s
        .model
        .outbox
        .iter()
        .any(|p| p.invite.as_ref().is_some_and(|(_, v)| *v == id) && p.failed.is_none());
    html! {
        <aside class="detail" data-visitor={id.to_string()}>
            <header>
                <h3>{ title }</h3>
                <button class="link" onclick={d.reform(|_| Action::CloseVisitor)} aria-label={tr("Close")}>{"×"}</button>
            </header>
            { super::inbox::contact(s, &id, d) }
            <VisitorFacts {live} profile={profile.clone()} now={s.now} fields={s.form_fields()}
                onedit={super::inbox::edit_contact(s, &id, profile.is_some(), d)} />
            { super::inbox::privacy_actions(s, &id, profile.as_deref(), d) }
            if let Some(conv) = conv {
                <button class="primary" onclick={h.open_conv.reform(move |_| conv.clone())}>{tr("Open conversation")}</button>
            } else {
                <form class="invite" {onsubmit}>
                    <label>{tr("Start a chat")}
                        <textarea {oninput} value={s.invite_text.clone()} rows="3" placeholder={tr("Hi! Can I help you find something?")} /></label>
                    <button class="primary" type="submit" disabled={inviting}>{ if inviting { tr("Sending…") } else { tr("Start chat") } }</button>
                </form>
            }
        </aside>
    }
}
