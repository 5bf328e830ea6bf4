//! kefu's agents' console: a Yew single-page app served at `/console/`.
//!
//! # Layout
//! - `app`: the stateful root component — session, the WebSocket policy
//!   (hello, subscribe, resend, backoff, heartbeats) and frame dispatch;
//!   `app/view.rs`, `app/rows.rs`, `app/settings.rs` draw it.
//! - `model`: the console's state without UI (visitors, conversations keyed
//!   by seq, unread counts, the outbox).
//! - `api`: the relay's HTTP API. `conn`: the browser WebSocket.
//! - `notify`: title, chime, desktop notifications. `storage`:
//!   localStorage. `ua`: browser and OS from a user agent.
//!
//! Visitor text is only ever put in the page as text nodes (Yew's `{text}`);
//! nothing a visitor sends is parsed as markup.

mod api;
mod app;
mod conn;
mod model;
mod notify;
mod storage;
mod ua;

/// Mounts the console into `<body>`.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
