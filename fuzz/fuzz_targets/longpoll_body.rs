//! Any bytes as a long-poll POST body: splitting never panics, never yields
//! more frames than allowed, and every frame goes through the same parser
//! as WebSocket messages without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::limits::MAX_FRAMES_PER_POST;
use protocol::{split_post_body, ClientFrame};

fuzz_target!(|data: &[u8]| {
    let Ok(frames) = split_post_body(data) else {
        return;
    };
    assert!(frames.len() <= MAX_FRAMES_PER_POST.max(1));
    for f in &frames {
        let _ = ClientFrame::parse(f);
    }
});
