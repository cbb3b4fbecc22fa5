//! Markup → HTML for the v1 webclient (Evennia's text2html): colour classes on spans that
//! never cross an anchor's edge, MXP links as anchors, the first bare URL linked, text escaped.

use super::{walk, without_controls, Event, RenderFlags, Style};

/// Evennia markup → HTML (v1 webclient).
pub fn to_html(text: &str, flags: RenderFlags) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    if flags.raw {
        // Like Evennia's `html.escape(text)`: markup and newlines stay as they are.
        escape_html(&without_controls(text), false, &mut out);
        return out;
    }
    let colour = !(flags.nocolor || flags.screenreader);
    let mut open: Option<String> = None; // classes of the span currently open
    let mut pending = Style::default();
    walk(text, |event| match event {
        Event::Style(style) => pending = style,
        // A lone `\r` renders as nothing; opening a span for it would leave it empty.
        Event::Text(t) if t.chars().all(|c| c == '\r') => {}
        Event::Text(t) => {
            let want = if colour { classes(pending) } else { None };
            if want != open {
                if open.is_some() {
                    out.push_str("</span>");
                }
                if let Some(c) = &want {
                    out.push_str(&format!("<span class=\"{c}\">"));
                }
                open = want;
            }
            escape_html(t, true, &mut out);
        }
        // A span never crosses an anchor's edge, so the HTML stays well nested.
        Event::LinkStart { url, target } => {
            if open.take().is_some() {
                out.push_str("</span>");
            }
            out.push_str(&link_open(url, target));
        }
        Event::LinkEnd => {
            if open.take().is_some() {
                out.push_str("</span>");
            }
            out.push_str("</a>");
        }
    });
    if open.is_some() {
        out.push_str("</span>");
    }
    linkify(out)
}

/// v1 webclient classes for a style (Evennia's text2html); default fg 7 / bg 0 need none.
fn classes(style: Style) -> Option<String> {
    let mut c = Vec::new();
    let (fg, bg) = style.shown();
    if fg != 7 {
        c.push(format!("color-{fg:03}"));
    }
    if bg != 0 {
        c.push(format!("bgcolor-{bg:03}"));
    }
    if style.underline {
        c.push("underline".to_owned());
    }
    if style.blink {
        c.push("blink".to_owned());
    }
    (!c.is_empty()).then(|| c.join(" "))
}

/// Escapes `&<>"`; with `layout`, also `\n` → `<br>`, tab → 4 spaces, `\r` dropped (so `\r\n` is one break).
fn escape_html(text: &str, layout: bool, out: &mut String) {
    // Copied in runs between the bytes that need escaping (all ASCII, so never inside a
    // multi-byte character): most text has none, and one copy beats a push per character.
    let mut run = 0;
    for (i, b) in text.bytes().enumerate() {
        let escaped = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\n' if layout => "<br>",
            b'\t' if layout => "    ",
            b'\r' if layout => "",
            _ => continue,
        };
        out.push_str(&text[run..i]);
        out.push_str(escaped);
        run = i + 1;
    }
    out.push_str(&text[run..]);
}

/// The opening anchor of an MXP link (Evennia's text2html): a command link sends
/// `["text", [cmd], {}]` through the webclient, a URL link opens a new tab.
fn link_open(url: bool, target: &str) -> String {
    let mut attr = String::new();
    escape_html(&without_controls(target), false, &mut attr);
    if url {
        format!("<a id=\"mxplink\" href=\"{attr}\" target=\"_blank\">")
    } else {
        // Inside a JS string inside an attribute: backslashes and quotes are escaped for JS.
        let js = attr.replace('\\', "\\\\").replace("&quot;", "\\&quot;");
        format!(
            "<a id=\"mxplink\" href=\"#\" onclick=\"Evennia.msg(&quot;text&quot;,[&quot;{js}&quot;],{{}});return false;\">"
        )
    }
}

/// Turns the first bare http(s) URL of already-escaped HTML into a link.
fn linkify(html: String) -> String {
    // Our tags never contain "http", and escaped text has no raw `<`, `>` or `"`, so
    // stopping there (or at an entity's `&`) keeps the URL inside one text run.
    let stop = |c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '&');
    for (start, _) in html.match_indices("http") {
        // Not an attribute value, nor text already inside an (MXP) anchor.
        let before = &html[..start];
        if before.ends_with("=\"") || before.matches("<a ").count() > before.matches("</a>").count()
        {
            continue;
        }
        let rest = &html[start..];
        let scheme = match () {
            _ if rest.starts_with("https://") => 8,
            _ if rest.starts_with("http://") => 7,
            _ => continue,
        };
        let end = rest.find(stop).unwrap_or(rest.len());
        // Sentence punctuation right after a URL is almost never part of it.
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        if url.len() > scheme {
            let tail = &html[start + url.len()..];
            return format!(
                "{}<a href=\"{url}\" target=\"_blank\">{url}</a>{tail}",
                &html[..start]
            );
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::markup::tests::{ansi, html, span, NOCOLOR, RAW, READER};
    use crate::portal::markup::{strip, to_ansi};

    #[test]
    fn plain_text_is_escaped_but_spaces_are_kept() {
        assert_eq!(html("a  <b> & \"c\""), "a  &lt;b&gt; &amp; &quot;c&quot;");
    }

    #[test]
    fn red_text_becomes_a_color_009_span() {
        assert_eq!(html("|rred|n plain"), span("color-009", "red") + " plain");
    }

    #[test]
    fn fg_bg_and_underline_share_one_span() {
        assert_eq!(html("|r|[B|ux"), span("color-009 bgcolor-004 underline", "x"));
    }

    #[test]
    fn an_unclosed_span_is_closed_at_the_end_and_no_empty_spans_appear() {
        assert_eq!(html("|gx|b|r"), span("color-010", "x"));
        assert_eq!(html("|r|n|b"), "");
    }

    #[test]
    fn newlines_become_br_and_tabs_four_spaces() {
        assert_eq!(html("a\nb\r\nc|/d\te|-f"), "a<br>b<br>c<br>d    e    f");
        assert_eq!(html("a|_b|>c"), "a b    c");
    }

    #[test]
    fn nocolor_strips_colour_but_still_escapes() {
        assert_eq!(to_html("|r<x>|n|/y", NOCOLOR), "&lt;x&gt;<br>y");
    }

    #[test]
    fn raw_only_escapes_and_keeps_markup() {
        assert_eq!(to_html("|r<x>|n\n", RAW), "|r&lt;x&gt;|n\n");
        assert_eq!(to_ansi("|r<x>|n", RAW), "|r<x>|n");
    }

    #[test]
    fn screenreader_strips_colour_like_nocolor() {
        assert_eq!(to_html("|rhi|n", READER), "hi");
        assert_eq!(to_ansi("|rhi|n", READER), "hi");
    }

    #[test]
    fn the_first_url_becomes_a_link() {
        let link = |u: &str| format!("<a href=\"{u}\" target=\"_blank\">{u}</a>");
        assert_eq!(
            html("see https://evennia.com/docs. or http://x.y"),
            format!("see {}. or http://x.y", link("https://evennia.com/docs"))
        );
        assert_eq!(
            html("|rgo http://a.b/c|n"),
            span("color-009", &format!("go {}", link("http://a.b/c")))
        );
        assert_eq!(html("http:// alone"), "http:// alone");
    }

    #[test]
    fn mxp_command_and_url_links_become_anchors_and_terminals_get_the_text() {
        let cmd = "<a id=\"mxplink\" href=\"#\" onclick=\"Evennia.msg(&quot;text&quot;,[&quot;look me&quot;],{});return false;\">";
        assert_eq!(
            html("see |lclook me|lt|rme|n|le now"),
            format!("see {cmd}{}</a> now", span("color-009", "me"))
        );
        assert_eq!(
            html("|lchttp://x.y/a|lthttp://x.y/a|le"),
            "<a id=\"mxplink\" href=\"#\" onclick=\"Evennia.msg(&quot;text&quot;,[&quot;http://x.y/a&quot;],{});return false;\">http://x.y/a</a>"
        );
        assert_eq!(
            html("|luhttps://evennia.com|ltdocs|le"),
            "<a id=\"mxplink\" href=\"https://evennia.com\" target=\"_blank\">docs</a>"
        );
        assert_eq!(html("|r|lcsay \"hi\"|ltx|le"), "<a id=\"mxplink\" href=\"#\" onclick=\"Evennia.msg(&quot;text&quot;,[&quot;say \\&quot;hi\\&quot;&quot;],{});return false;\">".to_owned() + &span("color-009", "x") + "</a>");
        assert_eq!(ansi("|lclook|lt|rme|n|le"), "\x1b[0;91mme\x1b[0m");
        assert_eq!(strip("a |lclook|ltb|le c"), "a b c");
        // Incomplete links stay literal.
        assert_eq!(html("|lclook|ltme"), "|lclook|ltme");
    }
}
