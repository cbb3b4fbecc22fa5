//! Websocket payloads: v1 JSON text frames and MessagePack binary frames, then re-encoding what
//! decoded (the portal echoes error texts and renders what it forwards).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::portal::wire;

/// The default `max_input_depth`.
const DEPTH: usize = 32;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(msg) = wire::decode_text(text, DEPTH) {
            let _ = wire::longest_string_arg(&msg);
            let _ = wire::encode_v1(&msg, Default::default());
        }
    }
    if let Ok(msg) = wire::decode_binary(data, DEPTH) {
        let _ = wire::longest_string_arg(&msg);
        let _ = wire::encode_v1(&msg, Default::default());
    }
});
