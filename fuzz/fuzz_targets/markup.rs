//! Evennia markup → HTML, ANSI and plain text, under every combination of render flags.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::portal::markup::{self, RenderFlags};

fuzz_target!(|data: &[u8]| {
    let Some((&bits, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let flags = RenderFlags {
        nocolor: bits & 1 != 0,
        raw: bits & 2 != 0,
        screenreader: bits & 4 != 0,
        ansi16: bits & 8 != 0,
    };
    let _ = markup::to_html(text, flags);
    let _ = markup::to_ansi(text, flags);
    let _ = markup::strip(text);
});
