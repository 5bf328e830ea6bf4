//! The dismissable message at the top of the console (errors, refusals).

use crate::i18n::tr;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ToastProps {
    pub text: String,
    pub ondismiss: Callback<MouseEvent>,
}

#[function_component]
pub fn Toast(p: &ToastProps) -> Html {
    html! {
        <div class="toast" role="alert">
            <span>{ &p.text }</span>
            <button onclick={p.ondismiss.clone()} aria-label={tr("Dismiss")}>{"×"}</button>
        </div>
    }
}
