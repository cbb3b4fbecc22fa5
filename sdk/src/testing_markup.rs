//! The test host's markup stripper: what [`super::TestHost::call`] compares is the text a
//! player would read, Evennia's colour codes removed.

/// Evennia's `strip_ansi` for the markup modules write: colour codes (`|w`, `|n`, `|[r`,
/// `|500`, `|=a`, `|#ff0000`) removed, `||` kept as `|`, `|/` a line break, `|-` a tab, `|_` a
/// space. What [`TestHost::call`](super::TestHost::call) compares.
pub fn strip_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '|' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('|') => out.push('|'),
            Some('/') => out.push('\n'),
            Some('-') => out.push('\t'),
            Some('_') => out.push(' '),
            // A background colour: the same codes after `|[`.
            Some('[') => {
                if let Some(first) = chars.next() {
                    skip_colour(first, &mut chars);
                }
            }
            Some(first @ ('0'..='9' | '=' | '#')) => skip_colour(first, &mut chars),
            Some(c) if c.is_ascii_alphabetic() || "*^>".contains(c) => {}
            Some(other) => {
                out.push('|');
                out.push(other);
            }
            None => out.push('|'),
        }
    }
    out
}

/// The rest of a colour code whose first character is `first`: a letter alone, three digits
/// (`500`), `=x` or `#rrggbb`.
fn skip_colour(first: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match first {
        d if d.is_ascii_digit() => {
            for _ in 0..2 {
                chars.next_if(char::is_ascii_digit);
            }
        }
        '=' => {
            chars.next_if(char::is_ascii_lowercase);
        }
        '#' => {
            for _ in 0..6 {
                chars.next_if(char::is_ascii_hexdigit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_stripped_as_evennia_does() {
        assert_eq!(strip_markup("|wHi|n ||x|/|[rred|500z|#ff0000a"), "Hi |x\nredza");
    }
}
