//! Route-level tests of the API (and the rest of the public port's edge):
//! `warp::test::request()` against the real route table over a temp sled,
//! no process and no socket.
