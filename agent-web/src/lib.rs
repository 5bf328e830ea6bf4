//! kefu's agents' console: a Yew single-page app served at `/console/`.
//!
//! # Layout
//! - `app`: the root component — the [`Route`](app::Route) and the page
//!   switch, the shell (top bar, banner, toast), and the runner of the
//!   reducer's effects.
//! - `state`: the UI state and its one reducer over an `Action` enum
//!   (`state/inbox.rs`, `state/settings.rs`); `model`: the conversation
//!   data it holds (visitors, events keyed by seq, unread, the outbox).
//! - `services`: `api`, the relay's HTTP API with `protocol::api` bodies;
//!   `conn`, the live WebSocket with its policy (hello, subscribe, resend,
//!   backoff, heartbeats).
//! - `pages`: one screen per file (login, inbox, visitors, settings).
//! - `components`: one component per file with its `XxxProps`.
//! - `i18n`: the console's languages (English, Simplified Chinese) and
//!   `tr`/`trf`, through which every string an agent reads passes.
//! - `notify`: title, chime, desktop notifications. `storage`:
//!   localStorage. `format`: how values read. `ua`: browser and OS from a
//!   user agent.
//!
//! Visitor text is only ever put in the page as text nodes (Yew's `{text}`);
//! nothing a visitor sends is parsed as markup.

mod app;
mod components;
mod format;
mod i18n;
mod model;
mod notify;
mod pages;
mod services;
mod state;
mod storage;
mod ua;

/// Mounts the console into `<body>`.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
