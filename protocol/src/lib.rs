//! kefu's wire protocol: the JSON frames that the WebSocket and long-poll
//! transports carry, the ids they name, the error codes, and every limit.
//!
//! No I/O lives here, so the crate compiles for `wasm32-unknown-unknown` (the
//! widget and the console) and natively (the relay and the tests) alike.
//!
//! # Layout
//! - [`limits`]: every bound the relay enforces, one named constant each.
//! - [`ids`]: validated id newtypes (`SiteId`, `VisitorId`, `ConvId`, `Cid`, …).
//! - [`frames`]: [`ClientFrame`] (client → relay) and [`ServerFrame`]
//!   (relay → client), plus the records they carry.
//! - [`error`]: [`ErrorCode`], the machine-readable reason on every error
//!   frame and every 4xx/5xx body.
//! - [`api`]: the HTTP API's request and response bodies, and the validation
//!   the relay and the console share (colours, origins, widget settings, the
//!   effective file types, default texts).
//! - [`names`]: default visitor names (adjective + animal, English and
//!   Chinese), deterministic per visitor id.
//! - [`offline`]: the offline and pre-chat forms, business hours,
//!   ratings, agents' mail choice.
//! - [`search`]: full-text search's query, hits and snippets.
//! - [`texts`]: the visitor-facing built-in texts, English and Chinese.
//! - [`timing`]: client timing (reconnect backoff, welcome timeout, typing),
//!   used by the widget, the console and checked against `fallback.js`.

pub mod api;
pub mod error;
pub mod frames;
pub mod ids;
pub mod limits;
pub mod names;
pub mod offline;
pub mod search;
pub mod texts;
pub mod timing;

pub use error::{ApiError, ErrorCode};
pub use frames::*;
pub use ids::*;

/// The protocol version a client announces in `hello.v`. The relay refuses
/// versions it does not speak with `unsupported_version`, so an old cached
/// widget learns to reload instead of misbehaving.
pub const PROTOCOL_VERSION: u32 = 1;
