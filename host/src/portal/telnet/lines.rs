//! Telnet input lines: bytes in, complete lines out. Every line ending clients send (`\r\n`,
//! `\n`, `\r`, `\n\r`, `\r\0`) ends one line; backspace and DEL erase the last character (for
//! clients in character mode); other control bytes are dropped (C1 controls, which arrive as
//! two-byte UTF-8, are removed with every client string in `portal/hub.rs`); invalid UTF-8
//! becomes U+FFFD; a line longer than the limit is discarded as it arrives (the buffer never
//! holds more than the limit) and reported once, at its end.

/// One finished input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line within the limit (without its line ending).
    Text(String),
    /// A line over the limit; its text was dropped.
    TooLong,
}

/// Assembles lines from a byte stream, holding at most `max_chars` characters' worth of bytes.
#[derive(Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    max_chars: usize,
    /// The current line went over the limit; the rest of it is skipped.
    discarding: bool,
    /// The last byte ended a line (`\r` or `\n`): the other one of the pair, or a NUL after
    /// `\r`, belongs to that same ending.
    last_end: Option<u8>,
}

impl LineBuffer {
    /// A buffer for lines of at most `max_chars` characters.
    pub fn new(max_chars: usize) -> LineBuffer {
        LineBuffer { buf: Vec::new(), max_chars, discarding: false, last_end: None }
    }

    /// Bytes a line may take: four per character (the longest UTF-8 encoding).
    fn max_bytes(&self) -> usize {
        self.max_chars.saturating_mul(4)
    }

    /// Bytes held for the unfinished line.
    pub fn held(&self) -> usize {
        self.buf.len()
    }

    /// Feed received bytes; finished lines are appended to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Line>) {
        for &b in data {
            let end = self.last_end.take();
            match b {
                b'\r' | b'\n' => {
                    if end.is_some_and(|e| e != b) {
                        continue; // the second half of `\r\n` or `\n\r`
                    }
                    self.last_end = Some(b);
                    out.push(self.finish());
                }
                0 if end == Some(b'\r') => {}
                // Backspace / DEL: erase one whole character (its continuation bytes too).
                0x08 | 0x7f => {
                    while let Some(c) = self.buf.pop() {
                        if c & 0xC0 != 0x80 {
                            break;
                        }
                    }
                }
                b'\t' => self.keep(b),
                0..=0x1f => {}
                _ => self.keep(b),
            }
        }
    }

    fn keep(&mut self, b: u8) {
        if self.discarding {
            return;
        }
        if self.buf.len() >= self.max_bytes() {
            self.discarding = true;
            self.buf = Vec::new();
            return;
        }
        self.buf.push(b);
    }

    fn finish(&mut self) -> Line {
        let bytes = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.discarding) {
            return Line::TooLong;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if text.chars().count() > self.max_chars {
            return Line::TooLong;
        }
        Line::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut lb = LineBuffer::new(max);
        let mut out = vec![];
        lb.push(input, &mut out);
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(s.into())
    }

    #[test]
    fn every_line_ending_variant_ends_exactly_one_line() {
        assert_eq!(
            lines(b"a\r\nb\nc\rd\n\re\r\0f\r\n", 100),
            [text("a"), text("b"), text("c"), text("d"), text("e"), text("f")]
        );
        // An empty line is still a line (Evennia's "no input" command).
        assert_eq!(lines(b"\r\n\r\n", 100), [text(""), text("")]);
    }

    #[test]
    fn a_line_ending_split_across_reads_is_one_ending() {
        let mut lb = LineBuffer::new(100);
        let mut out = vec![];
        lb.push(b"look\r", &mut out);
        lb.push(b"\nsay hi\r", &mut out);
        lb.push(b"\n", &mut out);
        assert_eq!(out, [text("look"), text("say hi")]);
    }

    #[test]
    fn backspace_and_del_erase_whole_characters() {
        assert_eq!(lines(b"lookx\x08\r\n", 100), [text("look")]);
        let mut input = "sayé".as_bytes().to_vec();
        input.extend(b"\x7f!\n");
        assert_eq!(lines(&input, 100), [text("say!")]);
        assert_eq!(lines(b"\x08\x08a\n", 100), [text("a")]);
    }

    #[test]
    fn control_bytes_are_dropped_and_invalid_utf8_is_replaced() {
        assert_eq!(lines(b"a\x01\x1bb\tc\n", 100), [text("ab\tc")]);
        assert_eq!(
            lines(b"caf\xc3\n\xff\xfe\n", 100),
            [text("caf\u{FFFD}"), text("\u{FFFD}\u{FFFD}")]
        );
    }

    #[test]
    fn an_over_long_line_is_reported_once_and_never_held_whole() {
        let mut lb = LineBuffer::new(10);
        let mut out = vec![];
        for _ in 0..10_000 {
            lb.push(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &mut out);
            assert!(lb.held() <= 40);
        }
        lb.push(b"\nok\n", &mut out);
        assert_eq!(out, [Line::TooLong, text("ok")]);
        // Exactly at the limit is fine; one more character is not.
        assert_eq!(lines(b"0123456789\n01234567890\n", 10), [text("0123456789"), Line::TooLong]);
        assert_eq!(lines("éééééééééé\n".as_bytes(), 10), [text("éééééééééé")]);
    }
}
