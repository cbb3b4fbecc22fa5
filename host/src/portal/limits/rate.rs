//! Command rates: Evennia's per-session window of inbound messages, and the same per address
//! (every session of the address sharing one).

use std::time::{Duration, Instant};

use super::ConnectionGuard;

/// The per-address command rate of a connection admitted with `guard` (every session of the
/// address shares it): like [`CommandRate::check`].
pub fn check_address_rate(guard: &ConnectionGuard) -> RateVerdict {
    let mut t = guard.slot.table.lock().unwrap_or_else(|e| e.into_inner());
    match t.addresses.get_mut(&guard.slot.ip) {
        Some(a) => a.commands.check(),
        None => RateVerdict::Pass,
    }
}

/// A session's command rate and its address's together: a message passes only if both allow
/// it (the per-session count is taken first, so a session over its own rate does not use up
/// its address's).
pub fn check_rates(rate: &mut CommandRate, guard: &ConnectionGuard) -> RateVerdict {
    match rate.check() {
        RateVerdict::Pass => check_address_rate(guard),
        other => other,
    }
}

/// Evennia's command rate: at most `rate` inbound messages per one-second window, the window
/// restarting when more than a second has passed since it began.
#[derive(Debug)]
pub struct CommandRate {
    rate: u32,
    window: Instant,
    count: u32,
}

/// What to do with one inbound message.
#[derive(Debug, PartialEq, Eq)]
pub enum RateVerdict {
    /// Pass it on.
    Pass,
    /// Drop it and tell the player (the first drop of a window).
    DropAndWarn,
    /// Drop it silently (already warned in this window).
    Drop,
}

impl CommandRate {
    /// `rate` messages per second; 0 = unlimited.
    pub fn new(rate: u32) -> CommandRate {
        CommandRate { rate, window: Instant::now(), count: 0 }
    }

    /// Count one inbound message.
    pub fn check(&mut self) -> RateVerdict {
        self.check_at(Instant::now())
    }

    fn check_at(&mut self, now: Instant) -> RateVerdict {
        if self.rate == 0 {
            return RateVerdict::Pass;
        }
        if now.duration_since(self.window) > Duration::from_secs(1) {
            self.window = now;
            self.count = 0;
        }
        self.count += 1;
        if self.count <= self.rate {
            RateVerdict::Pass
        } else if self.count == self.rate + 1 {
            RateVerdict::DropAndWarn
        } else {
            RateVerdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_rate_drops_the_excess_and_warns_once_per_window() {
        let mut r = CommandRate::new(3);
        let t0 = Instant::now();
        let v: Vec<_> = (0..5).map(|_| r.check_at(t0)).collect();
        assert_eq!(
            v,
            [
                RateVerdict::Pass,
                RateVerdict::Pass,
                RateVerdict::Pass,
                RateVerdict::DropAndWarn,
                RateVerdict::Drop
            ]
        );
        assert_eq!(r.check_at(t0 + Duration::from_millis(1001)), RateVerdict::Pass);
        assert_eq!(CommandRate::new(0).check_at(t0), RateVerdict::Pass);
    }
}
