//! The composer: the "Reply / Note" switch, canned replies matching `/…`,
//! the paperclip (replies only), the text box (Enter sends, Shift+Enter
//! breaks the line, pasted files attach) and "Send" — in note mode a
//! yellow box whose text only agents ever see.

use crate::i18n::{en, tr};
use crate::state::{Action, Compose, PickedFile};
use protocol::api::Canned;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    pub text: String,
    /// Canned replies matching the text.
    pub matches: Vec<Canned>,
    pub mode: Compose,
    pub dispatch: Callback<Action>,
}

/// The files of a picker, a drop or a paste.
pub fn picked(list: Option<web_sys::FileList>) -> Vec<PickedFile> {
    list.map(|l| {
        (0..l.length())
            .filter_map(|i| l.get(i))
            .map(|file| PickedFile {
                name: file.name(),
                size: file.size(),
                file,
            })
            .collect()
    })
    .unwrap_or_default()
}

#[function_component]
pub fn Composer(p: &ComposerProps) -> Html {
    let d = &p.dispatch;
    let oninput = d.reform(|e: InputEvent| {
        Action::ComposerInput(e.target_unchecked_into::<HtmlTextAreaElement>().value())
    });
    let onkeydown = {
        let d = d.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
                e.prevent_default();
                d.emit(Action::ComposerEnter);
            }
        })
    };
    let onpick = d.reform(|e: Event| {
        let input = e.target_unchecked_into::<HtmlInputElement>();
        let files = picked(input.files());
        input.set_value("");
        Action::AttachFiles(files)
    });
    let onpaste = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let files = e
                .dyn_ref::<web_sys::ClipboardEvent>()
                .and_then(|c| c.clipboard_data())
                .and_then(|d| d.files())
                .filter(|f| f.length() > 0);
            // Only files are ours; pasted text goes into the composer as usual.
            if let Some(f) = files {
                e.prevent_default();
                d.emit(Action::AttachFiles(picked(Some(f))));
            }
        })
    };
    let note = p.mode == Compose::Note;
    // `label` is an English key: `data-compose` keeps it, the tab shows it.
    let tab = |mode: Compose, label: &'static str| {
        let on = p.mode == mode;
        html! {
            <button type="button" role="tab" aria-selected={on.to_string()} data-compose={label.to_lowercase()}
                class={classes!(on.then_some("active"))} onclick={d.reform(move |_| Action::SetCompose(mode))}>{ tr(label) }</button>
        }
    };
    let (placeholder, label, send) = if note {
        (
            tr("Private note: only agents see it (Enter adds it, / for canned replies)"),
            tr("Private note"),
            tr("Add note"),
        )
    } else {
        (
            tr("Reply… (Enter sends, Shift+Enter for a new line, / for canned replies)"),
            tr("Reply"),
            tr("Send"),
        )
    };
    html! {
        <>
            if !p.matches.is_empty() {
                <ul class="canned-pick" role="listbox">
                    { for p.matches.iter().map(|m| {
                        let text = m.text.clone();
                        html! {
                            <li role="option" onclick={d.reform(move |_| Action::PickCanned(text.clone()))}>
                                <b>{ format!("/{}", m.shortcut) }</b>{" "}{ m.text.clone() }
                            </li>
                        }
                    }) }
                </ul>
            }
            <div class="compose-mode" role="tablist" aria-label={tr("Write a")}>
                { tab(Compose::Reply, en("Reply")) }
                { tab(Compose::Note, en("Note")) }
            </div>
            <div class={classes!("composer", note.then_some("note"))}>
                if !note {
                    <label class="attach" title={tr("Attach files (or drop / paste them)")}>
                        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M9 13V6a3 3 0 0 1 6 0v10a5 5 0 0 1-10 0V8" fill="none" stroke="currentColor" stroke-width="2" /></svg>
                        <input type="file" multiple=true onchange={onpick} aria-label={tr("Attach files")} />
                    </label>
                }
                <textarea value={p.text.clone()} {oninput} {onkeydown} onpaste={onpaste} rows="3"
                    {placeholder} aria-label={label} />
                <button class="primary" onclick={d.reform(|_| Action::SendReply)}>{ send }</button>
            </div>
        </>
    }
}
