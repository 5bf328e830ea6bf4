//! What the console talks to: the relay's HTTP API ([`api`]) and the live
//! WebSocket connection with its policy ([`conn`]).

pub mod api;
pub mod conn;
