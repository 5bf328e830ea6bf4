//! The agents' console (Yew → wasm). Built by `make wasm`; the [console]
//! issue fills it in. For now it only proves the protocol crate compiles for
//! `wasm32-unknown-unknown`.
//!
//! # Layout
//! - `lib.rs`: the protocol version the console speaks.

/// The protocol version this console speaks.
pub const PROTOCOL_VERSION: u32 = protocol::PROTOCOL_VERSION;
