//! kefu's benchmark clients (`make bench`, scripts/bench.sh): the
//! `kefu-load` load generator and the minimal MQTT client it uses against
//! the mosquitto peer. Not part of the test harness.
//!
//! # Layout
//! - [`mqtt`]: MQTT 3.1.1 packets over WebSocket (encode, stream-decode).
//! - `src/bin/kefu-load.rs`: the load generator (idle, chat, burst,
//!   long-poll and MQTT workloads).
//! - `peers/`: the other servers the bench runs (mosquitto config, a Node
//!   `ws` relay, a Socket.IO server and load client).

pub mod mqtt;
