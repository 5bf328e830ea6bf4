//! Mail: reply addresses and Message-IDs that lead a reply back to its
//! conversation ([`token`]), and mail in — replies fetched by IMAP become
//! messages ([`inbound`]).

pub mod inbound;
pub mod token;

pub use token::{conv_of_message_id, message_id, MailKey, Recipient};
