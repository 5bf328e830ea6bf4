//! A conversation label as a coloured chip, with a × to take it off where
//! that is offered.

use crate::format::chip_text_color;
use crate::i18n::trf;
use crate::state::NO_LABEL_COLOR;
use protocol::api::{valid_color, Label};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LabelChipProps {
    pub label: Label,
    /// Shows a × that calls this.
    #[prop_or_default]
    pub onremove: Option<Callback<String>>,
}

#[function_component]
pub fn LabelChip(p: &LabelChipProps) -> Html {
    let l = &p.label;
    // Only a colour goes into the style, whatever the relay sent.
    let color = if valid_color(&l.color) {
        l.color.as_str()
    } else {
        NO_LABEL_COLOR
    };
    let style = format!("background:{color};color:{}", chip_text_color(color));
    html! {
        <span class="chip" data-label={l.name.clone()} {style}>
            { &l.name }
            if let Some(cb) = &p.onremove {
                <button type="button" class="chip-x" aria-label={trf("Remove label {}", &[&l.name])}
                    onclick={ { let name = l.name.clone(); cb.reform(move |_: MouseEvent| name.clone()) } }>{"×"}</button>
            }
        </span>
    }
}
