//! The connection banner: connecting, reconnecting in N s (with "Retry
//! now"), or offline, and how many replies wait in the outbox.

use crate::services::conn::ConnState;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct BannerProps {
    pub conn: ConnState,
    /// Unsent replies kept in the outbox.
    pub pending: usize,
    /// Now (ms), for the countdown.
    pub now: f64,
    pub onretry: Callback<MouseEvent>,
}

#[function_component]
pub fn Banner(p: &BannerProps) -> Html {
    let pending = p.pending;
    let kept = if pending > 0 {
        format!(
            " {pending} unsent repl{} kept; sent on reconnect.",
            if pending == 1 { "y" } else { "ies" }
        )
    } else {
        String::new()
    };
    let (class, text, retry) = match &p.conn {
        ConnState::Online | ConnState::Idle => return html! {},
        ConnState::Connecting => ("connecting", "Connecting…".to_string(), false),
        ConnState::Retrying { at, attempt } => (
            "retrying",
            format!(
                "Connection lost. Reconnecting in {} s (attempt {attempt}).{kept}",
                ((at - p.now) / 1000.0).ceil().max(0.0)
            ),
            true,
        ),
        ConnState::Offline => ("offline", format!("You are offline.{kept}"), false),
    };
    html! {
        <div class={classes!("banner", class)} role="status" data-conn={class}>
            <span>{ text }</span>
            if retry { <button onclick={p.onretry.clone()}>{"Retry now"}</button> }
        </div>
    }
}
