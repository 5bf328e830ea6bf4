//! List rows as components with value-compared props: a presence update
//! for one visitor re-renders that row only, whatever the list's length.

use crate::model::short;
use crate::ua;
use protocol::{ConvId, ConvSummary, VisitorId, VisitorInfo};
use std::rc::Rc;
use yew::prelude::*;

/// "3 min", "1 h 05 min", "2 d".
pub fn duration(ms: f64) -> String {
    let min = (ms.max(0.0) / 60_000.0) as u64;
    match min {
        0 => "<1 min".into(),
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {:02} min", m / 60, m % 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

/// Clock time of a relay timestamp, in the agent's timezone.
pub fn clock(ts: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

pub fn visitor_label(v: &VisitorInfo) -> String {
    v.user
        .as_ref()
        .and_then(|u| u.name.clone().or_else(|| u.email.clone()))
        .unwrap_or_else(|| format!("Visitor {}", short(v.id.as_str())))
}

/// A URL's path (and query), for compact display.
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".into(),
    }
}

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
        .unwrap_or_else(|| "direct".into());
    let on_site = duration((p.now_min * 60_000) as f64 - v.since as f64);
    let title = page
        .map(|p| p.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "(untitled)".into());
    html! {
        <tr class={classes!("vrow", p.selected.then_some("selected"))} {onclick}
            data-visitor={v.id.to_string()}>
            <td class="who">
                <span class="name">{ visitor_label(v) }</span>
                if v.verified { <span class="badge verified" title="Identity verified by the site">{"✓ verified"}</span> }
                if p.chatting { <span class="badge chatting">{"in chat"}</span> }
            </td>
            <td class="page">
                <div class="title">{ title }</div>
                <div class="url">{ page.map(|p| path_of(&p.url)).unwrap_or_default() }</div>
            </td>
            <td class="num">{ v.pages }</td>
            <td class="ref">{ referrer }</td>
            <td class="num">{ on_site }</td>
            <td class="ua">{ ua_text }</td>
            <td class="num">{ if v.visits > 1 { format!("returning · {}", v.visits) } else { "new".into() } }</td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
pub struct ConvRowProps {
    pub summary: ConvSummary,
    pub name: String,
    pub unread: u32,
    pub typing: bool,
    pub active: bool,
    pub assignee: Option<String>,
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
                <span class="time">{ clock(p.summary.updated) }</span>
            </div>
            <div class="line2">
                if p.typing {
                    <span class="typing">{"typing…"}</span>
                } else {
                    <span class="preview">{ p.summary.preview.clone().unwrap_or_default() }</span>
                }
                if p.unread > 0 { <span class="unread">{ p.unread }</span> }
            </div>
            if let Some(a) = &p.assignee { <div class="assignee">{ format!("→ {a}") }</div> }
        </li>
    }
}
