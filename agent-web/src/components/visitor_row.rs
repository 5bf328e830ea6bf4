//! One row of the live visitor list.

use crate::format::{duration, path_of, visitor_label};
use crate::i18n::{tr, trf};
use crate::ua;
use protocol::{VisitorId, VisitorInfo};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct VisitorRowProps {
    pub v: Rc<VisitorInfo>,
    /// Minute-granular clock, so "time on site" refreshes once a minute.
    pub now_min: u64,
    pub selected: bool,
    pub chatting: bool,
    pub onselect: Callback<VisitorId>,
}

#[function_component]
pub fn VisitorRow(p: &VisitorRowProps) -> Html {
    let v = &p.v;
    let id = v.id.clone();
    let onclick = p.onselect.reform(move |_: MouseEvent| id.clone());
    let page = v.page.as_ref();
    let ua_text = v
        .user_agent
        .as_deref()
        .map(|u| format!("{} · {}", ua::browser(u), ua::os(u)))
        .unwrap_or_default();
    let referrer = page
        .and_then(|p| p.referrer.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| tr("direct").into());
    let on_site = duration((p.now_min * 60_000) as f64 - v.since as f64);
    let title = page
        .map(|p| p.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| tr("(untitled)").into());
    html! {
        <tr class={classes!("vrow", p.selected.then_some("selected"))} {onclick}
            data-visitor={v.id.to_string()}>
            <td class="who">
                <span class="name">{ visitor_label(v) }</span>
                if v.verified { <span class="badge verified" title={tr("Identity verified by the site")}>{tr("✓ verified")}</span> }
                if p.chatting { <span class="badge chatting">{tr("in chat")}</span> }
            </td>
            <td class="page">
                <div class="title">{ title }</div>
                <div class="url">{ page.map(|p| path_of(&p.url)).unwrap_or_default() }</div>
            </td>
            <td class="num">{ v.pages }</td>
            <td class="ref">{ referrer }</td>
            <td class="num">{ on_site }</td>
            <td class="ua">{ ua_text }</td>
            <td class="num">{ if v.visits > 1 { trf("returning · {}", &[&v.visits]) } else { tr("new").into() } }</td>
        </tr>
    }
}
