//! kefu's benchmark clients (`make bench`, scripts/bench.sh): the
//! `kefu-load` load generator and the minimal MQTT client it uses against
//! the mosquitto peer. Not part of the test harness.
//!
//! # Layout
//! - [`lat`]: send/ack/deliver latency samples and the report line.
//! - [`mqtt`]: MQTT 3.1.1 packets over WebSocket (encode, stream-decode).
//! - [`redis_chat`]: the chat workload done on Redis streams (the durable
//!   peer: `appendfsync always`).
//! - [`text`]: chat-like message text for the benchmarks that store it.
//! - `src/bin/kefu-load.rs`: the load generator (idle, chat, burst,
//!   long-poll and MQTT workloads).
//! - `peers/`: the other servers the bench runs (mosquitto config, a Node
//!   `ws` relay, a Socket.IO server and load client).

pub mod lat;
pub mod mqtt;
pub mod redis_chat;
pub mod text;
