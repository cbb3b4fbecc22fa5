//! The ANSI renderer's output never carries a control character from a text run: every escape
//! it holds is an SGR colour sequence (`ESC [ digits ; m`) the renderer made, and no other C0
//! (but newline and tab), DEL or C1 character appears, under every combination of render
//! flags. The HTML and plain renderings hold no control character at all; client text passed
//! through the input cleaning holds none and forms no link.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::portal::markup::{self, is_unsafe_control, RenderFlags};

fuzz_target!(|data: &[u8]| {
    let Some((&bits, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let flags = RenderFlags {
        nocolor: bits & 1 != 0,
        raw: bits & 2 != 0,
        screenreader: bits & 4 != 0,
        ansi16: bits & 8 != 0,
    };
    let ansi = markup::to_ansi(&text, flags);
    let mut rest = ansi.as_str();
    while let Some(p) = rest.find('\x1b') {
        assert!(!rest[..p].chars().any(is_unsafe_control), "{ansi:?} from {text:?}");
        let seq = &rest[p + 1..];
        let end = seq.find('m').unwrap_or_else(|| panic!("unterminated escape: {ansi:?}"));
        assert!(
            seq.starts_with('[') && seq[1..end].bytes().all(|b| b.is_ascii_digit() || b == b';'),
            "not an SGR sequence: {ansi:?} from {text:?}"
        );
        rest = &seq[end + 1..];
    }
    assert!(!rest.chars().any(is_unsafe_control), "{ansi:?} from {text:?}");
    assert!(!markup::to_html(&text, flags).chars().any(is_unsafe_control), "{text:?}");
    assert!(!markup::strip(&text).chars().any(is_unsafe_control), "{text:?}");
    let clean = markup::neutralize_client_text(&text);
    assert!(!clean.chars().any(is_unsafe_control), "{text:?}");
    assert!(!markup::to_html(&clean, flags).contains("mxplink"), "{text:?} made a link");
});
