//! Mail in: replies by email become messages in their conversation.
//!
//! `--imap-url` names one mailbox (the one the relay's reply addresses
//! `localpart+TOKEN@domain` are delivered to); a background task fetches
//! it and each mail goes into the conversation its reply token names.
//!
//! # Layout
//! - [`url`]: the `--imap-url` and its flags.
//! - [`fetch`]: the IMAP connection: rounds, IDLE or polling, `\Seen`,
//!   UID bookkeeping, reconnects.
//! - [`parse`]: one mail's MIME → sender, recipients, text, files.
//! - [`quote`]: quoted history and signatures cut from the text.
//! - [`deliver`]: token and sender checks, dedup by Message-ID, the
//!   messages committed.

pub mod deliver;
pub mod fetch;
pub mod parse;
pub mod quote;
pub mod url;

pub use url::ImapUrl;
