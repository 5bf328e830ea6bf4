//! Any bytes as a WebSocket text frame: `ClientFrame::parse` never panics,
//! and what it accepts is within the limits and survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::limits::*;
use protocol::ClientFrame;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(frame) = ClientFrame::parse(text) else {
        return;
    };
    assert!(text.len() <= MAX_FRAME_BYTES);
    if let ClientFrame::Send { text, .. } = &frame {
        assert!(text.len() <= MAX_TEXT_BYTES && !text.contains('\0'));
    }
    if let ClientFrame::Hello(h) = &frame {
        assert!(h.cursors.len() <= MAX_CURSORS);
    }
    // Accepted frames mean the same after serialising and parsing again.
    let again = serde_json::to_string(&frame).expect("a parsed frame serialises");
    let reparsed = ClientFrame::parse(&again).expect("a serialised frame parses");
    assert_eq!(frame, reparsed);
});
