//! An attachment in a bubble: a thumbnail that opens the full image in a
//! new tab, or a card (name, size, type) that downloads the file.

use crate::format::human_size;
use crate::services::api::file_url;
use protocol::limits::THUMB_MAX_SIDE;
use protocol::Attachment;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct AttachmentProps {
    pub file: Attachment,
    /// The session token the download links carry.
    pub token: String,
}

#[function_component]
pub fn AttachmentView(p: &AttachmentProps) -> Html {
    let f = &p.file;
    let href = file_url(&p.token, f.id.as_str(), false);
    if f.thumb {
        return html! {
            <a class="att-img" href={href} target="_blank" rel="noopener noreferrer" title={f.name.clone()}>
                <img src={file_url(&p.token, f.id.as_str(), true)} alt={f.name.clone()}
                    width={f.width.map(|w| w.min(THUMB_MAX_SIDE).to_string())} loading="lazy" />
            </a>
        };
    }
    let kind = f
        .name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_uppercase())
        .unwrap_or_else(|| f.mime.clone());
    html! {
        <a class="att-file" href={href} target="_blank" rel="noopener noreferrer" download={f.name.clone()}>
            <svg class="att-icon" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path d="M6 2h8l5 5v15H6z M14 2v5h5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round" /></svg>
            <span class="att-name">{ f.name.clone() }</span>
            <small>{ format!("{} · {}", human_size(f.size), kind) }</small>
        </a>
    }
}
