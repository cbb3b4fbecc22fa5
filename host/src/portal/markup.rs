//! Evennia colour markup (`|r`, `|[b`, `|500`, `|=a`, ...) rendered as HTML for
//! the v1 webclient, as ANSI SGR escapes for terminals, or stripped to plain text.
//!
//! One parser (`walk`, here) turns markup into text runs and style changes. Renderers
//! (`html.rs`, `ansi.rs`, and [`strip`] here) apply a style lazily, just before the next
//! visible text, so codes that are overridden at once or trail at the end never produce empty
//! spans or escapes.
//!
//! Text runs never carry a control character (C0 but newline and tab, DEL, C1; see
//! [`is_unsafe_control`] in `safety.rs`): whatever a player managed to put into a text, no
//! renderer lets it reach another player's terminal as an escape sequence (a retitle, a
//! clipboard write, a cleared or overwritten line). The only escapes in ANSI output are the
//! renderer's own SGR codes. MXP URL links (`|lu`) become links only for http and https targets.
//!
//! [`neutralize_client_text`] is applied to every string a client sends (`portal/hub.rs`), so
//! markup that arrived as client input can never form a link, whatever a game concatenates it
//! with.

mod ansi;
mod html;
mod safety;

pub use ansi::to_ansi;
pub use html::to_html;
pub(crate) use safety::{is_safe_link_url, without_controls};
pub use safety::{is_unsafe_control, neutralize_client_text};

/// How outbound text is rendered for a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderFlags {
    /// Drop all colour but keep (and, for HTML, escape) the text.
    pub nocolor: bool,
    /// No markup conversion at all; HTML only escapes, ANSI sends verbatim. Wins over the others.
    pub raw: bool,
    /// Colour is noise to a screen reader, so it is dropped like `nocolor`.
    pub screenreader: bool,
    /// The terminal has only the 16 ANSI colours (telnet clients without XTERM256): xterm
    /// colours are sent as the nearest of those. HTML ignores it.
    pub ansi16: bool,
}

/// Evennia markup removed, plain text.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    walk(text, |event| {
        if let Event::Text(t) = event {
            out.push_str(t);
        }
    });
    out
}

/// Current text style, modelled as Evennia's ANSI state: `fg`/`bg` are an ANSI colour 0–7 or an
/// xterm index 16–255 (`None` is the client default), and `hilite` is separate, so `|!R` keeps
/// the brightness in force and `|h`/`|H` work on any ANSI colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    fg: Option<u8>,
    bg: Option<u8>,
    hilite: bool,
    underline: bool,
    blink: bool,
    inverse: bool,
    italic: bool,
    strike: bool,
}

impl Style {
    /// The foreground as an xterm index: ANSI colours are 0–7, or 8–15 when hilited.
    fn fg_index(self) -> u8 {
        match self.fg {
            Some(n) if n >= 16 => n,
            n => n.unwrap_or(7) + if self.hilite { 8 } else { 0 },
        }
    }

    /// The background as an xterm index (default black).
    fn bg_index(self) -> u8 {
        self.bg.unwrap_or(0)
    }

    /// Foreground and background after `|*` inverse (Evennia's webclient swaps the two).
    fn shown(self) -> (u8, u8) {
        let (fg, bg) = (self.fg_index(), self.bg_index());
        if self.inverse {
            (bg, fg)
        } else {
            (fg, bg)
        }
    }
}

/// What the parser reports: visible text, the full style from now on, or the edges of an MXP
/// link (`|lc cmd|lt text|le` runs a command when clicked, `|lu url|lt text|le` opens a page).
enum Event<'a> {
    Text(&'a str),
    Style(Style),
    LinkStart { url: bool, target: &'a str },
    LinkEnd,
}

/// One recognised `|` code.
enum Code {
    Lit(&'static str),
    /// An ANSI colour 0–7 with the brightness it sets (`|r` on, `|R` off, `|!R` unchanged).
    Ansi(u8, Option<bool>),
    /// An xterm colour 16–255.
    Xterm(u8),
    Bg(u8),
    Underline,
    Blink,
    Inverse,
    Italic,
    Strike,
    Hilite,
    Unhilite,
    Reset,
}

impl Style {
    fn apply(&mut self, code: Code) {
        match code {
            Code::Ansi(n, hilite) => {
                self.fg = Some(n);
                if let Some(h) = hilite {
                    self.hilite = h;
                }
            }
            Code::Xterm(n) => self.fg = Some(n),
            Code::Bg(n) => self.bg = Some(n),
            Code::Underline => self.underline = true,
            Code::Blink => self.blink = true,
            Code::Inverse => self.inverse = true,
            Code::Italic => self.italic = true,
            Code::Strike => self.strike = true,
            Code::Hilite => self.hilite = true,
            Code::Unhilite => self.hilite = false,
            Code::Reset => *self = Style::default(),
            Code::Lit(_) => {}
        }
    }
}

/// Emits `run` as text, split around the control characters it holds (which are dropped).
fn emit_text<'a>(run: &'a str, emit: &mut impl FnMut(Event<'a>)) {
    let mut start = 0;
    for (i, c) in run.char_indices() {
        if is_unsafe_control(c) {
            if start < i {
                emit(Event::Text(&run[start..i]));
            }
            start = i + c.len_utf8();
        }
    }
    if start < run.len() {
        emit(Event::Text(&run[start..]));
    }
}

/// The link being walked through: none, one shown as a link, or one whose target may not be
/// linked (shown as its text only).
#[derive(Clone, Copy, PartialEq, Eq)]
enum InLink {
    No,
    Shown,
    Hidden,
}

/// Splits `text` into text runs and style changes; unknown codes stay literal.
fn walk<'a>(text: &'a str, mut emit: impl FnMut(Event<'a>)) {
    let bytes = text.as_bytes();
    let mut style = Style::default();
    let (mut run, mut i) = (0, 0); // run: start of text not yet emitted
                                   // `|` and every byte a code consumes are ASCII, so all slice points are char boundaries.
    let mut in_link = InLink::No;
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'|') {
        let bar = i + off;
        i = bar + 1;
        // MXP links, only when complete (as Evennia's `\|lc(.*?)\|lt(.*?)\|le`); not nested.
        let link = match &bytes[i..] {
            [b'l', k @ (b'c' | b'u'), ..] if in_link == InLink::No => {
                text[i + 2..].find("|lt").and_then(|t| {
                    let lt = i + 2 + t;
                    text[lt + 3..].contains("|le").then_some((*k == b'u', &text[i + 2..lt], lt + 3))
                })
            }
            _ => None,
        };
        if let Some((url, target, after)) = link {
            if run < bar {
                emit_text(&text[run..bar], &mut emit);
            }
            in_link = if url && !is_safe_link_url(target) {
                InLink::Hidden
            } else {
                emit(Event::LinkStart { url, target });
                InLink::Shown
            };
            (i, run) = (after, after);
            continue;
        }
        if in_link != InLink::No && bytes[i..].starts_with(b"le") {
            if run < bar {
                emit_text(&text[run..bar], &mut emit);
            }
            if in_link == InLink::Shown {
                emit(Event::LinkEnd);
            }
            (i, run, in_link) = (i + 2, i + 2, InLink::No);
            continue;
        }
        let Some((len, code)) = code(&bytes[i..]) else {
            continue; // unknown code: the `|` stays part of the text run
        };
        if run < bar {
            emit_text(&text[run..bar], &mut emit);
        }
        i += len;
        run = i;
        match code {
            Code::Lit(s) => emit(Event::Text(s)),
            code => {
                style.apply(code);
                emit(Event::Style(style));
            }
        }
    }
    if run < text.len() {
        emit_text(&text[run..], &mut emit);
    }
}

/// Parses the code after a `|`, returning how many bytes it used.
fn code(rest: &[u8]) -> Option<(usize, Code)> {
    let one = |c| Some((1, c));
    match *rest.first()? {
        b'|' => one(Code::Lit("|")),
        b'/' => one(Code::Lit("\n")),
        b'-' => one(Code::Lit("\t")),
        b'_' => one(Code::Lit(" ")),
        b'>' => one(Code::Lit("    ")),
        b'n' => one(Code::Reset),
        b'u' => one(Code::Underline),
        b'h' => one(Code::Hilite),
        b'H' => one(Code::Unhilite),
        b'^' => one(Code::Blink),
        b'*' => one(Code::Inverse),
        // Italic and strikethrough have no v1 webclient class; terminals get them.
        b'i' => one(Code::Italic),
        b's' => one(Code::Strike),
        // `|!R`: the colour without touching the brightness in force.
        b'!' => ansi_letter(*rest.get(1)?, b"XRGYBMCW").map(|n| (2, Code::Ansi(n, None))),
        b'[' => background(&rest[1..]).map(|(n, c)| (n + 1, Code::Bg(c))),
        c => {
            if let Some(n) = ansi_letter(c, b"XRGYBMCW") {
                return one(Code::Ansi(n, Some(false)));
            }
            if let Some(n) = ansi_letter(c, b"xrgybmcw") {
                return one(Code::Ansi(n, Some(true)));
            }
            xterm(rest).map(|(n, c)| (n, Code::Xterm(c)))
        }
    }
}

/// The ANSI colour 0–7 a letter names in `set` (black, red, green, yellow, blue, magenta, cyan,
/// white).
fn ansi_letter(c: u8, set: &[u8; 8]) -> Option<u8> {
    set.iter().position(|&x| x == c).map(|p| p as u8)
}

/// Parses an xterm colour spec (`=a`..`=z` greyscale or `rgb` cube digits) to its index, as
/// Evennia's ansi.py: `=a` is black (16), `=b`..`=y` the 24 grey steps 232–255, `=z` white (231).
fn xterm(rest: &[u8]) -> Option<(usize, u8)> {
    match *rest {
        [b'=', b'a', ..] => Some((2, 16)),
        [b'=', b'z', ..] => Some((2, 231)),
        [b'=', g @ b'b'..=b'y', ..] => Some((2, 232 + (g - b'b'))),
        [r @ b'0'..=b'5', g @ b'0'..=b'5', b @ b'0'..=b'5', ..] => {
            Some((3, 16 + 36 * (r - b'0') + 6 * (g - b'0') + (b - b'0')))
        }
        _ => None,
    }
}

/// Parses a background spec after `|[`: uppercase letters are the ANSI backgrounds 0–7;
/// lowercase ("bright") ones have no ANSI code, so Evennia maps them to xterm colours
/// (`|[r` is `|[500`, `|[x` is `|[222`).
fn background(rest: &[u8]) -> Option<(usize, u8)> {
    let c = *rest.first()?;
    if let Some(n) = ansi_letter(c, b"XRGYBMCW") {
        return Some((1, n));
    }
    const BRIGHT: [u8; 8] = [102, 196, 46, 226, 21, 201, 51, 231]; // |[222 |[500 |[050 ... |[555
    if let Some(n) = ansi_letter(c, b"xrgybmcw") {
        return Some((1, BRIGHT[n as usize]));
    }
    xterm(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn html(s: &str) -> String {
        to_html(s, RenderFlags::default())
    }

    pub(super) fn ansi(s: &str) -> String {
        to_ansi(s, RenderFlags::default())
    }

    pub(super) fn span(class: &str, text: &str) -> String {
        format!("<span class=\"{class}\">{text}</span>")
    }

    const fn flags(nocolor: bool, raw: bool, screenreader: bool) -> RenderFlags {
        RenderFlags { nocolor, raw, screenreader, ansi16: false }
    }

    pub(super) const NOCOLOR: RenderFlags = flags(true, false, false);
    pub(super) const RAW: RenderFlags = flags(false, true, false);
    pub(super) const READER: RenderFlags = flags(false, false, true);

    #[test]
    fn double_pipe_is_a_literal_pipe() {
        assert_eq!(html("a||r b"), "a|r b");
        assert_eq!(strip("||n"), "|n");
    }

    #[test]
    fn uppercase_letters_are_the_dark_colours() {
        assert_eq!(html("|Rx"), span("color-001", "x"));
        assert_eq!(html("|Xx|xy"), span("color-000", "x") + &span("color-008", "y"));
        assert_eq!(html("|Ww|wb"), "w".to_owned() + &span("color-015", "b"));
    }

    #[test]
    fn backgrounds_become_bgcolor_classes() {
        // Bright backgrounds have no ANSI code: Evennia maps `|[b` to `|[005`.
        assert_eq!(html("|[bx"), span("bgcolor-021", "x"));
        assert_eq!(html("|[rx|[xy"), span("bgcolor-196", "x") + &span("bgcolor-102", "y"));
        assert_eq!(html("|[Bx|[Xy"), span("bgcolor-004", "x") + "y");
    }

    #[test]
    fn xterm_cube_codes_map_to_16_plus_36r_6g_b() {
        assert_eq!(html("|500x"), span("color-196", "x"));
        assert_eq!(html("|[005x"), span("bgcolor-021", "x"));
        assert_eq!(html("|560x"), "|560x");
    }

    #[test]
    fn greyscale_a_is_black_b_to_y_are_232_to_255_and_z_is_white() {
        assert_eq!(html("|=ax"), span("color-016", "x"));
        assert_eq!(html("|=bx|=yy"), span("color-232", "x") + &span("color-255", "y"));
        assert_eq!(html("|[=zx"), span("bgcolor-231", "x"));
        assert_eq!(html("|=Ax"), "|=Ax");
    }

    #[test]
    fn hilite_brightens_and_unhilite_darkens_the_foreground() {
        let expected = span("color-001", "x") + &span("color-009", "y") + &span("color-001", "z");
        assert_eq!(html("|Rx|hy|Hz"), expected);
        assert_eq!(html("|hx"), span("color-015", "x"));
    }

    #[test]
    fn bang_codes_set_the_colour_and_keep_the_brightness() {
        assert_eq!(html("|!Rx"), span("color-001", "x"));
        assert_eq!(html("|r|!Gx"), span("color-010", "x"));
        assert_eq!(html("|h|!Bx|H|!By"), span("color-012", "x") + &span("color-004", "y"));
        assert_eq!(html("|!rx"), "|!rx");
    }

    #[test]
    fn caret_blinks_and_star_inverts_foreground_and_background() {
        assert_eq!(html("|^x"), span("blink", "x"));
        assert_eq!(html("|*x"), span("color-000 bgcolor-007", "x"));
        assert_eq!(html("|r|[B|*x"), span("color-004 bgcolor-009", "x"));
        assert_eq!(html("|*|^|ux|ny"), span("color-000 bgcolor-007 underline blink", "x") + "y");
        assert_eq!(ansi("|^|*x"), "\x1b[0;5;7mx\x1b[0m");
    }

    #[test]
    fn unknown_codes_are_kept_literally() {
        assert_eq!(html("a|qb"), "a|qb");
        assert_eq!(html("|[q|5x"), "|[q|5x");
        assert_eq!(strip("|q"), "|q");
    }

    #[test]
    fn a_pipe_at_the_very_end_is_kept() {
        assert_eq!(html("end|"), "end|");
        assert_eq!(html("|"), "|");
        assert_eq!(ansi("x|["), "x|[");
    }

    #[test]
    fn non_ascii_text_passes_through() {
        assert_eq!(html("|ré漢字😀|n|é"), span("color-009", "é漢字😀") + "|é");
        assert_eq!(strip("|[=é|漢"), "|[=é|漢");
    }

    #[test]
    fn strip_removes_codes_and_expands_literals() {
        assert_eq!(strip("|r|[b|500|=a|u|h|H|i|s|*|^|!Rhi|n|/a|-b|_c|>d"), "hi\na\tb c    d");
    }

    #[test]
    fn odd_inputs_never_panic_and_keep_spans_balanced() {
        let pieces = [
            "|", "[", "=", "0", "5", "9", "a", "z", "r", "R", "h", "H", "n", "u", "/", "-", ">",
            "!", "^", "*", "lc", "lu", "lt", "le", "é", "漢", "😀", "\n", "\r", "<", "&", " ",
            "http://", "\u{0}",
        ];
        let check = |s: &str| {
            let h = html(s);
            assert_eq!(h.matches("<span").count(), h.matches("</span>").count(), "{s:?}");
            assert!(!h.contains("\"></span>"), "empty span for {s:?}");
            assert_eq!(h.matches("<a ").count(), h.matches("</a>").count(), "{s:?}");
            assert!(!strip(s).contains('\x1b'));
            let _ = ansi(s);
            for flags in [NOCOLOR, RAW, READER] {
                let _ = (to_html(s, flags), to_ansi(s, flags));
            }
        };
        let mut s = String::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    s.clear();
                    s.extend([a, b, c]);
                    check(&s);
                }
            }
        }
        // Longer pseudo-random mixes (fixed LCG seed, so failures reproduce).
        let mut seed: u32 = 0x9e37_79b9;
        for _ in 0..2000 {
            s.clear();
            for _ in 0..12 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                s.push_str(pieces[(seed >> 16) as usize % pieces.len()]);
            }
            check(&s);
        }
    }
}
