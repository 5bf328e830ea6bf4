//! Real mail servers for the mail tests, started on loopback ports in
//! temp dirs: [`smtp`] receives what the relay sends; [`imap`] (Dovecot)
//! holds the mailbox the relay fetches replies from.

pub mod imap;
pub mod smtp;
