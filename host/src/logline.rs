//! Log lines about untrusted input: quoted text is clipped, and a flood of the same kind of line
//! is reduced to one detailed line plus one summary line per interval, so a client cannot turn
//! its bytes into the host's disk usage.

use std::time::{Duration, Instant};

/// `text` cut to at most `max_chars` characters, with a note of how much was cut.
pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… [{} more bytes]", &text[..end], text.len() - end),
    }
}

/// Allows one line per interval and counts the rest.
#[derive(Debug)]
pub struct LogLimiter {
    window: Option<Instant>,
    suppressed: u64,
}

/// What the caller should log now.
#[derive(Debug, PartialEq, Eq)]
pub enum LogVerdict {
    /// Log the line in full; first say that `suppressed` similar lines were dropped (if any).
    Log { suppressed: u64 },
    /// Drop the line (it is counted for the next summary).
    Suppress,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new()
    }
}

impl LogLimiter {
    /// A limiter that has logged nothing yet.
    pub const fn new() -> LogLimiter {
        LogLimiter { window: None, suppressed: 0 }
    }

    /// Decide about one line, with `interval` between detailed lines.
    pub fn check(&mut self, interval: Duration) -> LogVerdict {
        self.check_at(Instant::now(), interval)
    }

    fn check_at(&mut self, now: Instant, interval: Duration) -> LogVerdict {
        match self.window {
            Some(start) if now.duration_since(start) < interval => {
                self.suppressed += 1;
                LogVerdict::Suppress
            }
            _ => {
                self.window = Some(now);
                LogVerdict::Log { suppressed: std::mem::take(&mut self.suppressed) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 2), "éé… [6 more bytes]");
        assert_eq!(clip(&"x".repeat(1_000_000), 5).len(), "xxxxx… [999995 more bytes]".len());
    }

    #[test]
    fn one_line_per_interval_then_a_summary() {
        let mut l = LogLimiter::new();
        let t0 = Instant::now();
        let i = Duration::from_secs(10);
        assert_eq!(l.check_at(t0, i), LogVerdict::Log { suppressed: 0 });
        for k in 1..=100 {
            assert_eq!(l.check_at(t0 + Duration::from_millis(k), i), LogVerdict::Suppress);
        }
        assert_eq!(l.check_at(t0 + i, i), LogVerdict::Log { suppressed: 100 });
    }
}
