//! Text helpers as Evennia's `utils`: durations, lists, tables. Pure functions.

/// Evennia's `time_format(seconds, style)`.
///
/// Style 0: `"01:05"` (hours:minutes) or `"2d 01:05"`; style 1 (and any other): only the
/// highest unit, `"3s"`, `"1m"`, `"2h"`, `"4d"`.
pub fn time_format(seconds: u64, style: u8) -> String {
    let (days, hours) = (seconds / 86_400, seconds / 3_600 % 24);
    let (minutes, secs) = (seconds / 60 % 60, seconds % 60);
    match style {
        0 if days > 0 => format!("{days}d {hours:02}:{minutes:02}"),
        0 => format!("{hours:02}:{minutes:02}"),
        _ if days > 0 => format!("{days}d"),
        _ if hours > 0 => format!("{hours}h"),
        _ if minutes > 0 => format!("{minutes}m"),
        _ => format!("{secs}s"),
    }
}

/// Evennia's `iter_to_str`: `"a"`, `"a and b"`, `"a, b, and c"`; empty for no items.
pub fn iter_to_str<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<S> = items.into_iter().collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [a, b] => format!("{} and {}", a.as_ref(), b.as_ref()),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{}, and {}", init.join(", "), last.as_ref())
        }
    }
}

/// `""` for one, `"s"` otherwise: `format!("{n} account{}", plural(n))`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Width of `text` as shown to the player: Evennia colour markup (`|w`, `|[r`, `|500`, `|=a`,
/// `|#ff0000`, ...) takes no room, `||` is one `|`. Counts characters, not grapheme widths.
pub fn display_width(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut width) = (0, 0);
    while i < chars.len() {
        if chars[i] != '|' || i + 1 == chars.len() {
            width += 1;
            i += 1;
            continue;
        }
        let mut j = i + 1;
        if chars[j] == '[' && j + 1 < chars.len() {
            j += 1; // background variant of the codes below
        }
        let c = chars[j];
        let code_len = if c == '|' || c == '/' || c == '-' || c == '_' {
            width += 1; // `||`, newline, tab, space: one visible character
            1
        } else if c.is_ascii_digit()
            && chars[j..].iter().take(3).filter(|c| ('0'..='5').contains(c)).count() == 3
        {
            3
        } else if c == '=' && chars.get(j + 1).is_some_and(|c| c.is_ascii_lowercase()) {
            2
        } else if c == '#'
            && chars[j + 1..].iter().take(6).filter(|c| c.is_ascii_hexdigit()).count() == 6
        {
            7
        } else if c.is_ascii_alphabetic() || c == '*' || c == '^' {
            1
        } else {
            width += 1; // a lone `|` is shown as is
            i += 1;
            continue;
        };
        i = j + code_len;
    }
    width
}

/// Pad `text` with spaces to `width` visible characters (markup-aware, see [`display_width`]).
pub fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(display_width(text));
    format!("{text}{}", " ".repeat(fill))
}

/// End a cell that uses colour markup with `|n`, so its colour stops at the cell's border.
fn reset(cell: String) -> String {
    if cell.contains('|') && !cell.ends_with("|n") {
        cell + "|n"
    } else {
        cell
    }
}

/// A plain-text table in the style of Evennia's EvTable: a header row under a `~` rule. A cell
/// with colour markup gets a closing `|n`.
///
/// ```
/// let mut t = mudhost_sdk::text::Table::new(["|wsessid", "|wprotocol"]);
/// t.row(["1", "websocket"]);
/// assert_eq!(t.to_string().lines().nth(1), Some("| |wsessid|n | |wprotocol|n  |"));
/// assert_eq!(t.to_string().lines().nth(3), Some("| 1      | websocket |"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers (markup allowed, e.g. `|w` for white headers).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(headers: I) -> Table {
        Table { rows: vec![headers.into_iter().map(Into::into).collect()] }
    }

    /// Add a row; missing cells are blank, extra cells are dropped.
    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) -> &mut Table {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ncols = self.rows[0].len();
        let cell = |row: &Vec<String>, c: usize| row.get(c).cloned().unwrap_or_default();
        let widths: Vec<usize> = (0..ncols)
            .map(|c| self.rows.iter().map(|r| display_width(&cell(r, c))).max().unwrap_or(0))
            .collect();
        let rule = |ch: &str| {
            let parts: Vec<String> = widths.iter().map(|w| ch.repeat(w + 2)).collect();
            format!("+{}+", parts.join("+"))
        };
        writeln!(f, "{}", rule("-"))?;
        for (i, row) in self.rows.iter().enumerate() {
            let cells: Vec<String> =
                (0..ncols).map(|c| pad(&reset(cell(row, c)), widths[c])).collect();
            writeln!(f, "| {} |", cells.join(" | "))?;
            if i == 0 {
                writeln!(f, "{}", rule("~"))?;
            }
        }
        write!(f, "{}", rule("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format_style_1_shows_the_highest_unit() {
        assert_eq!(time_format(0, 1), "0s");
        assert_eq!(time_format(3, 1), "3s");
        assert_eq!(time_format(60, 1), "1m");
        assert_eq!(time_format(119, 1), "1m");
        assert_eq!(time_format(2 * 3600 + 5, 1), "2h");
        assert_eq!(time_format(4 * 86_400 + 7200, 1), "4d");
    }

    #[test]
    fn time_format_style_0_shows_hours_and_minutes() {
        assert_eq!(time_format(59, 0), "00:00");
        assert_eq!(time_format(3_725, 0), "01:02");
        assert_eq!(time_format(2 * 86_400 + 3_660, 0), "2d 01:01");
    }

    #[test]
    fn iter_to_str_joins_as_evennia() {
        assert_eq!(iter_to_str(Vec::<String>::new()), "");
        assert_eq!(iter_to_str(["a"]), "a");
        assert_eq!(iter_to_str(["a", "b"]), "a and b");
        assert_eq!(iter_to_str(["a", "b", "c"]), "a, b, and c");
    }

    #[test]
    fn display_width_ignores_markup() {
        assert_eq!(display_width("|wsessid|n"), 6);
        assert_eq!(display_width("|[rred|n"), 3);
        assert_eq!(display_width("|500x|[123y|=az|#ff00ffw"), 4);
        assert_eq!(display_width("a||b"), 3);
        assert_eq!(display_width("a | b|"), 6);
        assert_eq!(display_width("héllo"), 5);
    }

    #[test]
    fn table_aligns_columns_under_coloured_headers() {
        let mut t = Table::new(["|wsessid|n", "|wprotocol|n"]);
        t.row(["1", "websocket"]).row(["12"]);
        let expected = "\
+--------+-----------+
| |wsessid|n | |wprotocol|n  |
+~~~~~~~~+~~~~~~~~~~~+
| 1      | websocket |
| 12     |           |
+--------+-----------+";
        assert_eq!(t.to_string(), expected);
    }
}
