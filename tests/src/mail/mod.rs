//! Real mail servers for the mail tests, started on loopback in temp dirs.
//!
//! - [`imap`]: Dovecot holding the mailbox the relay fetches replies from.

pub mod imap;
