//! The connection banner: connecting, reconnecting in N s (with "Retry
//! now"), or offline, and how many replies wait in the outbox.

use crate::i18n::{tr, trf};
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
    let kept = match pending {
        0 => String::new(),
        1 => tr(" 1 unsent reply kept; sent on reconnect.").to_string(),
        n => trf(" {} unsent replies kept; sent on reconnect.", &[&n]),
    };
    let (class, text, retry) = match &p.conn {
        ConnState::Online | ConnState::Idle => return html! {},
        ConnState::Connecting => ("connecting", tr("Connecting…").to_string(), false),
        ConnState::Retrying { at, attempt } => (
            "retrying",
            trf(
                "Connection lost. Reconnecting in {} s (attempt {}).",
                &[&((at - p.now) / 1000.0).ceil().max(0.0), attempt],
            ) + &kept,
            true,
        ),
        ConnState::Offline => ("offline", tr("You are offline.").to_string() + &kept, false),
    };
    html! {
        <div class={classes!("banner", class)} role="status" data-conn={class}>
            <span>{ text }</span>
            if retry { <button onclick={p.onretry.clone()}>{tr("Retry now")}</button> }
        </div>
    }
}
