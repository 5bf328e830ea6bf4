//! The frames. Every frame is one JSON object with a `type` field; the same
//! frames travel over WebSocket (one per text message) and long-poll (arrays
//! in HTTP bodies).
//!
//! Client → relay: [`ClientFrame`]. Relay → client: [`ServerFrame`].
//! [`ClientFrame::parse`] is the only way the relay reads client input: it
//! bounds the size, parses, and validates every field against `limits`.
//!
//! # Layout
//! - `records`: what frames carry (events, authors, attachments,
//!   conversation and visitor summaries, widget settings).
//! - `client`: [`Hello`], [`ClientFrame`] and its parsing.
//! - `server`: [`Welcome`], [`ServerFrame`].
//! - `validate`: [`FrameError`] and the field checks parsing applies.

mod client;
mod records;
mod server;
mod validate;

pub use client::*;
pub use records::*;
pub use server::*;
pub use validate::*;
