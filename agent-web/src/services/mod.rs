//! What the console talks to: the relay's HTTP API ([`api`]), the live
//! WebSocket connection with its policy ([`conn`]), and the browser's
//! service worker and Web Push subscription ([`push`]).

pub mod api;
pub mod conn;
pub mod push;
