//! The inbox's search: the box above the conversation list, and one
//! result row (who, when, the snippet with its matches marked). Snippets
//! come as parts from the relay; each becomes a text node or a `<mark>`
//! around one — visitor text is never parsed as markup.

use crate::format::clock;
use crate::i18n::tr;
use protocol::search::{HitKind, SnippetPart};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SearchBoxProps {
    pub value: String,
    /// Whether results show (the clear button then).
    pub active: bool,
    pub oninput: Callback<String>,
    pub onsubmit: Callback<()>,
    pub onclear: Callback<()>,
}

#[function_component]
pub fn SearchBox(p: &SearchBoxProps) -> Html {
    let oninput = p.oninput.reform(|e: InputEvent| {
        e.target_unchecked_into::<web_sys::HtmlInputElement>()
            .value()
    });
    let onsubmit = p.onsubmit.reform(|e: SubmitEvent| e.prevent_default());
    let clear = p.onclear.reform(|_: MouseEvent| ());
    let onkeydown = {
        let clear = p.onclear.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                clear.emit(());
            }
        })
    };
    html! {
        <form class="search-box" role="search" {onsubmit}>
            <input type="search" value={p.value.clone()} {oninput} {onkeydown}
                maxlength={protocol::limits::MAX_SEARCH_QUERY_BYTES.to_string()}
                placeholder={tr("Search messages and visitors")} aria-label={tr("Search messages and visitors")} />
            if p.active || !p.value.is_empty() {
                <button type="button" class="clear" onclick={clear} title={tr("Clear search")} aria-label={tr("Clear search")}>{"×"}</button>
            }
        </form>
    }
}

/// The snippet's parts as nodes: matches in `<mark>`.
pub fn snippet(parts: &[SnippetPart]) -> Html {
    parts
        .iter()
        .map(|p| {
            if p.hit {
                html! { <mark>{ p.text.clone() }</mark> }
            } else {
                html! { { p.text.clone() } }
            }
        })
        .collect()
}

#[derive(Properties, PartialEq)]
pub struct SearchHitRowProps {
    pub index: usize,
    pub name: String,
    pub kind: HitKind,
    pub ts: u64,
    /// Whether the conversation is closed (shown as a tag).
    pub closed: bool,
    pub snippet: Vec<SnippetPart>,
    pub onopen: Callback<usize>,
}

#[function_component]
pub fn SearchHitRow(p: &SearchHitRowProps) -> Html {
    let i = p.index;
    let onclick = p.onopen.reform(move |_: MouseEvent| i);
    let kind = match p.kind {
        HitKind::Message => None,
        HitKind::Note => Some(tr("Note")),
        HitKind::Visitor => Some(tr("Profile")),
    };
    html! {
        <li class="conv search-hit" {onclick} data-kind={format!("{:?}", p.kind).to_lowercase()}>
            <div class="line1">
                <span class="name">{ &p.name }</span>
                if let Some(k) = kind { <span class="hit-kind">{ k }</span> }
                if p.closed { <span class="hit-kind">{ tr("Closed") }</span> }
                <span class="time">{ clock(p.ts) }</span>
            </div>
            <div class="line2"><span class="snippet">{ snippet(&p.snippet) }</span></div>
        </li>
    }
}
