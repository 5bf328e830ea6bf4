//! Real mail servers for the mail tests, started on loopback ports in
//! temp dirs: [`smtp`] receives what the relay sends.

pub mod smtp;
