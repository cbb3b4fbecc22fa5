//! The budget of output a session receives that other sessions' input causes.

use std::time::{Duration, Instant};

use crate::config::Config;

/// A session's allowance for output that other sessions' input causes (`others_output_*`): a
/// token bucket of bytes as sent (rendered), so however colourful or long what others say,
/// a player's connection is asked to carry no more than it can be expected to read.
#[derive(Debug)]
pub(super) struct OthersBudget {
    tokens: f64,
    refilled: Instant,
    /// When the player was last told output was dropped.
    told: Option<Instant>,
}

impl OthersBudget {
    pub(super) fn new(cfg: &Config) -> OthersBudget {
        OthersBudget { tokens: others_burst(cfg), refilled: Instant::now(), told: None }
    }

    /// Take `bytes` from the bucket; false (nothing taken) if it does not hold them.
    pub(super) fn take(&mut self, bytes: usize, cfg: &Config, now: Instant) -> bool {
        let rate = cfg.others_output_bytes_per_sec as f64;
        if rate == 0.0 {
            return true;
        }
        let burst = others_burst(cfg);
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.refilled = now;
        if self.tokens < bytes as f64 {
            return false;
        }
        self.tokens -= bytes as f64;
        true
    }

    /// Whether to tell the player about a drop now (at most once per [`DROP_NOTICE_EVERY`]).
    pub(super) fn tell(&mut self, now: Instant) -> bool {
        if self.told.is_some_and(|t| now.saturating_duration_since(t) < DROP_NOTICE_EVERY) {
            return false;
        }
        self.told = Some(now);
        true
    }
}

/// The burst of others' output a session may receive: the configured one, but never more than
/// half its outbox, so others' output alone cannot get a player disconnected as a slow client.
fn others_burst(cfg: &Config) -> f64 {
    cfg.others_output_burst_bytes.min(cfg.outbox_bytes / 2) as f64
}

/// Told to a player when output caused by others is dropped (`others_output_bytes_per_sec`).
pub const OTHERS_OUTPUT_DROPPED_TEXT: &str =
    "Some output was dropped: other players' messages arrived faster than your connection may receive them.";

/// Shortest time between two [`OTHERS_OUTPUT_DROPPED_TEXT`] notices to one session.
const DROP_NOTICE_EVERY: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn others_output_passes_within_the_burst_then_at_the_rate() {
        let cfg = Config {
            others_output_bytes_per_sec: 1000,
            others_output_burst_bytes: 4000,
            ..Config::default()
        };
        let mut b = OthersBudget::new(&cfg);
        let t0 = b.refilled;
        assert!(b.take(3000, &cfg, t0));
        assert!(!b.take(3000, &cfg, t0), "over the burst");
        assert!(b.take(1000, &cfg, t0));
        assert!(!b.take(500, &cfg, t0 + Duration::from_millis(400)));
        assert!(b.take(500, &cfg, t0 + Duration::from_millis(500)), "refilled at the rate");
        // Never more than the burst, however long the pause.
        assert!(!b.take(4001, &cfg, t0 + Duration::from_secs(100)));
        // Told at most once per interval.
        assert!(b.tell(t0) && !b.tell(t0 + Duration::from_secs(1)));
        assert!(b.tell(t0 + DROP_NOTICE_EVERY));
        // 0 = unlimited; the burst never exceeds half the outbox.
        let off = Config { others_output_bytes_per_sec: 0, ..cfg.clone() };
        assert!(OthersBudget::new(&off).take(usize::MAX, &off, t0));
        let small = Config { outbox_bytes: 2000, ..cfg };
        assert!(!OthersBudget::new(&small).take(1001, &small, t0));
    }
}
