//! Mail: kefu's SMTP side — reply addresses and Message-IDs that lead a
//! reply back to its conversation ([`token`]).

pub mod token;

pub use token::{conv_of_message_id, message_id, MailKey, Recipient};
