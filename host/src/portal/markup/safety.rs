//! Output and input safety of markup: which characters never leave a text run, client text
//! neutralized so it cannot form links, and which `|lu` targets may become links.

use std::borrow::Cow;

/// Whether a character is removed from every text run: the C0 controls but newline and tab
/// (ESC, BEL, CR and the rest), DEL, and the C1 controls U+0080–U+009F (8-bit CSI and OSC,
/// which terminals honour like `ESC [` and `ESC ]`).
pub fn is_unsafe_control(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
}

/// `text` without the characters [`is_unsafe_control`] names (borrowed when it has none).
pub fn without_controls(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe_control) {
        Cow::Owned(text.chars().filter(|&c| !is_unsafe_control(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// A string a client sent, made safe to keep and to show others: control characters removed
/// (as on output, so a game that logs or stores input holds none either), and every `|`
/// that could start an MXP link (`|l`) or join one across a concatenation (a lone `|` at
/// the end) doubled into a literal bar. The text still reads the same when rendered (`|lx`
/// and a trailing `|` render literally anyway), but `|lc..|lt..|le` and `|lu..|lt..|le`
/// never become links: players cannot make others run commands or open pages by a click
/// (Evennia's MXP_OUTGOING_ONLY). Pairs already doubled (`||`) are kept as they are.
pub fn neutralize_client_text(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let risky = bytes.ends_with(b"|") || text.contains("|l") || text.chars().any(is_unsafe_control);
    if !risky {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if is_unsafe_control(c) => {}
            '|' => match chars.peek() {
                Some('|') => {
                    out.push_str("||");
                    chars.next();
                }
                Some('l') | None => out.push_str("||"),
                Some(_) => out.push('|'),
            },
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether a game-emitted `|lu` target may become a link: http or https only (no
/// `javascript:`, `data:` or other schemes), and only printable ASCII, so the address cannot
/// hide behind look-alike (non-Latin) letters, spaces or control characters.
pub fn is_safe_link_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\' | b'`'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::markup::tests::{ansi, html, span, NOCOLOR, RAW, READER};
    use crate::portal::markup::{strip, to_ansi, to_html, RenderFlags};

    #[test]
    fn control_characters_never_leave_a_text_run_and_the_hosts_colour_still_renders() {
        let evil = "a\x1b]0;PWNED\x07b\x1b]52;c;aGk=\x07\r\x1b[2K\x1b[2J\u{9b}31m\u{9d}0;x\u{7}\x7f\0|rred|n";
        assert_eq!(ansi(evil), "a]0;PWNEDb]52;c;aGk=[2K[2J31m0;x\x1b[0;91mred\x1b[0m");
        assert_eq!(strip(evil), "a]0;PWNEDb]52;c;aGk=[2K[2J31m0;xred");
        assert_eq!(
            html(evil),
            format!("a]0;PWNEDb]52;c;aGk=[2K[2J31m0;x{}", span("color-009", "red"))
        );
        for flags in [NOCOLOR, RAW, READER] {
            assert!(!to_ansi(evil, flags).chars().any(is_unsafe_control), "{flags:?}");
            assert!(!to_html(evil, flags).chars().any(is_unsafe_control), "{flags:?}");
        }
        // Newlines and tabs are text; a lone CR is not.
        assert_eq!(ansi("a\r\nb\tc\rd"), "a\nb\tcd");
        assert_eq!(without_controls("plain é"), "plain é");
    }

    #[test]
    fn client_text_is_neutralized_so_it_cannot_make_links_but_reads_the_same() {
        let n = |s: &str| neutralize_client_text(s).into_owned();
        assert_eq!(n("|lcquit|ltread the rules|le"), "||lcquit||ltread the rules||le");
        assert_eq!(html(&n("|lcquit|ltread the rules|le")), "|lcquit|ltread the rules|le");
        // (A bare URL is still linked as itself, as Evennia's text2html does.)
        assert!(!html(&n("|luhttps://x.y|ltdocs|le")).contains("mxplink"));
        // Doubled bars stay doubled; an odd run still has its last bar neutralized.
        assert_eq!(n("||lc"), "||lc");
        assert_eq!(n("|||lc"), "||||lc");
        assert_eq!(html(&n("|||lcx|ltx|le")), "||lcx|ltx|le");
        // A trailing bar cannot join a link with whatever the game appends.
        assert_eq!(n("ab|"), "ab||");
        assert_eq!(html(&(n("say |") + "lcquit|ltx|le")), "say |lcquit|ltx|le");
        // Colour codes are the player's to use; control characters are removed.
        assert_eq!(n("|rhi|n \x1b[2J\u{9b}x\ty\n"), "|rhi|n [2Jx\ty\n");
        assert!(matches!(neutralize_client_text("say hello |r there"), Cow::Borrowed(_)));
    }

    #[test]
    fn url_links_are_made_for_http_and_https_targets_only() {
        let docs = "<a id=\"mxplink\" href=\"https://evennia.com\" target=\"_blank\">docs</a>";
        assert_eq!(html("|luhttps://evennia.com|ltdocs|le"), docs);
        assert_eq!(
            html("|luHTTP://x.y/a?b=c|lt|rgo|n|le"),
            format!(
                "<a id=\"mxplink\" href=\"HTTP://x.y/a?b=c\" target=\"_blank\">{}</a>",
                span("color-009", "go")
            )
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>x</script>",
            "vbscript:x",
            "//evil.example",
            "https://",
            "https://pаypal.com",
            "https://a b",
            "https://x.y/\x1b",
            " javascript:x",
        ] {
            let out = html(&format!("a |lu{bad}|ltclick|le b"));
            assert!(!out.contains("<a"), "{bad:?} made {out}");
            assert_eq!(out, "a click b");
            assert_eq!(ansi(&format!("|lu{bad}|ltclick|le")), "click");
        }
    }

    #[test]
    fn random_markup_never_puts_a_control_character_into_any_output() {
        // The same property as the `markup_controls` fuzz target, over a fixed pseudo-random
        // sequence (so failures reproduce) under stable.
        let alphabet: Vec<char> =
            "|[]=!/-_>^*lcutelr0159azRhHn;mxé\u{9b}\u{9d}\u{85}\x1b\x07\r\n\t\0\x7f\u{7}"
                .chars()
                .collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut s = String::new();
        for _ in 0..20_000 {
            s.clear();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 40) {
                let r = seed.rotate_left(k as u32 * 5) as usize;
                s.push(alphabet[r % alphabet.len()]);
            }
            assert_ansi_is_safe(&s);
        }
    }

    /// Every escape in ANSI output is an SGR sequence the renderer made, and no other control
    /// character appears in any rendering of `s` under any flags.
    pub(super) fn assert_ansi_is_safe(s: &str) {
        for bits in 0..16u8 {
            let flags = RenderFlags {
                nocolor: bits & 1 != 0,
                raw: bits & 2 != 0,
                screenreader: bits & 4 != 0,
                ansi16: bits & 8 != 0,
            };
            let a = to_ansi(s, flags);
            let mut rest = a.as_str();
            while let Some(p) = rest.find('\x1b') {
                let seq = &rest[p + 1..];
                let end = seq
                    .find('m')
                    .unwrap_or_else(|| panic!("unterminated escape in {a:?} from {s:?}"));
                assert!(
                    seq.starts_with('[')
                        && seq[1..end].bytes().all(|b| b.is_ascii_digit() || b == b';'),
                    "{a:?} from {s:?}"
                );
                rest = &seq[end..];
            }
            assert!(!rest.chars().any(|c| is_unsafe_control(c) && c != '\x1b'));
            assert!(!a.chars().any(|c| is_unsafe_control(c) && c != '\x1b'), "{a:?} from {s:?}");
            assert!(!to_html(s, flags).chars().any(is_unsafe_control), "{s:?}");
        }
        assert!(!strip(s).chars().any(is_unsafe_control), "{s:?}");
    }
}
