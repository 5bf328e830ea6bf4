//! The visitor widget (Rust → wasm). Built by `make wasm`; the [widget]
//! issue fills it in. For now it only proves the protocol crate compiles for
//! `wasm32-unknown-unknown`.
//!
//! # Layout
//! - `lib.rs`: the protocol version the widget speaks.

/// The protocol version this widget speaks.
pub const PROTOCOL_VERSION: u32 = protocol::PROTOCOL_VERSION;
