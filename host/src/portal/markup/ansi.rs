//! Markup → ANSI SGR escapes for terminals: xterm 256 colours, or the nearest of the 16 ANSI
//! ones for a terminal that has only those; the only escapes sent are these SGR codes.

use super::{strip, walk, without_controls, Event, RenderFlags, Style};

/// Evennia markup → ANSI escapes (xterm256), with a trailing reset if any colour was emitted.
///
/// Bright colours 8–15 use the aixterm codes 90–97 / 100–107 rather than `1;3x`,
/// so "bright" never drags bold along with it.
pub fn to_ansi(text: &str, flags: RenderFlags) -> String {
    if flags.raw {
        // Verbatim, but never a control character: RAW is the client's own flag to set.
        return without_controls(text).into_owned();
    }
    if flags.nocolor || flags.screenreader {
        return strip(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let (mut applied, mut pending, mut coloured) = (String::new(), Style::default(), false);
    walk(text, |event| match event {
        Event::Style(style) => pending = style,
        // Terminals get the link text only.
        Event::LinkStart { .. } | Event::LinkEnd => {}
        Event::Text(t) => {
            let want = sgr(if flags.ansi16 { pending.to_ansi16() } else { pending });
            if want != applied {
                // Every change starts with 0 so attributes switched off (underline) really go.
                out.push_str(&format!("\x1b[0{want}m"));
                applied = want;
                coloured = true;
            }
            out.push_str(t);
        }
    });
    if coloured && !out.ends_with(RESET) {
        out.push_str(RESET);
    }
    out
}

const RESET: &str = "\x1b[0m";

impl Style {
    /// The same style with xterm colours 16–255 replaced by the nearest of the 16 ANSI ones.
    fn to_ansi16(self) -> Style {
        let mut s = self;
        if let Some(n @ 16..) = self.fg {
            let near = nearest_ansi16(n);
            s.fg = Some(near % 8);
            s.hilite = near >= 8;
        }
        if let Some(n @ 16..) = self.bg {
            s.bg = Some(nearest_ansi16(n));
        }
        s
    }
}

/// RGB of an xterm colour index (the 16 standard colours as xterm draws them, the 6×6×6 cube,
/// the grey ramp).
fn xterm_rgb(n: u8) -> (i32, i32, i32) {
    const BASE: [(i32, i32, i32); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    const LEVEL: [i32; 6] = [0, 95, 135, 175, 215, 255];
    match n {
        0..=15 => BASE[n as usize],
        16..=231 => {
            let i = (n - 16) as usize;
            (LEVEL[i / 36], LEVEL[(i / 6) % 6], LEVEL[i % 6])
        }
        _ => {
            let g = 8 + 10 * (n as i32 - 232);
            (g, g, g)
        }
    }
}

/// The ANSI colour 0–15 closest (in RGB) to an xterm colour.
fn nearest_ansi16(n: u8) -> u8 {
    let (r, g, b) = xterm_rgb(n);
    (0..16u8)
        .min_by_key(|&c| {
            let (cr, cg, cb) = xterm_rgb(c);
            (r - cr).pow(2) + (g - cg).pow(2) + (b - cb).pow(2)
        })
        .unwrap_or(7)
}

/// SGR parameters for a style, each prefixed with `;` (empty for the default style).
fn sgr(style: Style) -> String {
    // `base` is 30 (fg) or 40 (bg): bright adds 60, anything past 15 uses 38;5 / 48;5.
    let param = |n: u8, base: u8| match n {
        0..=7 => format!(";{}", base + n),
        8..=15 => format!(";{}", base + 60 + n - 8),
        _ => format!(";{};5;{n}", base + 8),
    };
    // Only what differs from the terminal default is sent; inverse is the terminal's own.
    let fg = style.fg_index();
    let mut s = if style.fg.is_none() && fg == 7 { String::new() } else { param(fg, 30) };
    s += &style.bg.map_or_else(String::new, |n| param(n, 40));
    for (on, code) in [
        (style.italic, ";3"),
        (style.underline, ";4"),
        (style.blink, ";5"),
        (style.inverse, ";7"),
        (style.strike, ";9"),
    ] {
        if on {
            s += code;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::markup::tests::{ansi, NOCOLOR};

    #[test]
    fn ansi_uses_30s_for_dark_90s_for_bright_and_resets_at_the_end() {
        assert_eq!(ansi("|Ra|rb"), "\x1b[0;31ma\x1b[0;91mb\x1b[0m");
        assert_eq!(ansi("|[B|ux|n y"), "\x1b[0;44;4mx\x1b[0m y\x1b[0m");
        assert_eq!(ansi("|[ra"), "\x1b[0;48;5;196ma\x1b[0m");
    }

    #[test]
    fn ansi_uses_256_colour_codes_beyond_16() {
        assert_eq!(ansi("|500a|[=ab"), "\x1b[0;38;5;196ma\x1b[0;38;5;196;48;5;16mb\x1b[0m");
    }

    #[test]
    fn ansi16_sends_xterm_colours_as_the_nearest_ansi_colour() {
        let a16 = RenderFlags { ansi16: true, ..RenderFlags::default() };
        // |500 is pure red → bright red (91); |005 pure blue → blue (34: xterm draws it 0,0,238); |=a black → 30.
        assert_eq!(to_ansi("|500a", a16), "\x1b[0;91ma\x1b[0m");
        assert_eq!(to_ansi("|005a", a16), "\x1b[0;34ma\x1b[0m");
        assert_eq!(to_ansi("|=aa", a16), "\x1b[0;30ma\x1b[0m");
        assert_eq!(to_ansi("|[500a", a16), "\x1b[0;101ma\x1b[0m");
        // ANSI colours are unchanged, and no 38;5 / 48;5 code is ever sent.
        assert_eq!(to_ansi("|ra|Gb", a16), "\x1b[0;91ma\x1b[0;32mb\x1b[0m");
        for n in 16..=255u8 {
            let s = format!(
                "|{}x",
                match n {
                    232.. => format!("={}", (b'b' + (n - 232)) as char),
                    _ => {
                        let i = n - 16;
                        format!("{}{}{}", i / 36, (i / 6) % 6, i % 6)
                    }
                }
            );
            assert!(!to_ansi(&s, a16).contains(";5;"), "{s}");
        }
    }

    #[test]
    fn ansi_without_colour_has_no_escapes() {
        assert_eq!(ansi("plain|/text||"), "plain\ntext|");
        assert_eq!(to_ansi("|rx", NOCOLOR), "x");
    }
}
