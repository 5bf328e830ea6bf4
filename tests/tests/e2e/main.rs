//! kefu end-to-end tests: one test binary, a real relay process per test
//! (127.0.0.1, temp data dir), real WebSocket and HTTP clients.

mod accounts;
mod bad_input;
mod chat_page;
mod console;
mod delivery;
mod disk_faults;
mod durability;
mod export;
mod files;
mod first_run;
mod hostile;
mod integrations;
mod languages;
mod liveness;
mod mail_in;
mod mail_out;
mod offline;
mod privacy;
mod reports;
mod routing;
mod search;
mod slow_consumer;
mod visitors;
mod wechat;

/// The relay binary built alongside these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_kefu-test-relay");
