//! Inbound budgets: bytes and frames per second a connection and its address may send,
//! charged as they are read; a connection over them pauses, one over them for long is a flood.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{ConnectionGuard, Table};
use crate::config::Config;

/// A token bucket of `rate` per second holding at most two seconds' worth; 0 = unlimited.
#[derive(Debug)]
pub(super) struct Bucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    pub(super) fn new(rate: u32, now: Instant) -> Bucket {
        Bucket { rate: rate as f64, tokens: 2.0 * rate as f64, refilled: now }
    }

    /// Take `n`; the time until the bucket is out of debt again (zero: not in debt).
    pub(super) fn charge(&mut self, n: u64, now: Instant) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(2.0 * self.rate);
        self.refilled = now;
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// One connection's inbound budget: its own bytes and frames per second and its address's,
/// charged as they are read.
#[derive(Debug)]
pub struct InboundBudget {
    table: Arc<Mutex<Table>>,
    group: IpAddr,
    bytes: Bucket,
    frames: Bucket,
    flood_after: Duration,
    /// Since when every read has found the budget in debt.
    over_since: Option<Instant>,
}

/// What to do after a read was charged.
#[derive(Debug, PartialEq, Eq)]
pub enum InboundVerdict {
    /// Within budget: read on.
    Pass,
    /// Over budget: read nothing more for this long.
    Pause(Duration),
    /// Over budget for longer than `inbound_flood_secs`: disconnect with
    /// [`INPUT_FLOOD_REASON`].
    Flood,
}

impl InboundBudget {
    /// The budget of a connection admitted with `guard`.
    pub fn new(cfg: &Config, guard: &ConnectionGuard) -> InboundBudget {
        let now = Instant::now();
        InboundBudget {
            table: guard.slot.table.clone(),
            group: guard.slot.ip,
            bytes: Bucket::new(cfg.inbound_bytes_per_sec, now),
            frames: Bucket::new(cfg.inbound_frames_per_sec, now),
            flood_after: Duration::from_secs(cfg.inbound_flood_secs.max(1)),
            over_since: None,
        }
    }

    /// Charge what was just read: `bytes` off the wire, `frames` frames (or telnet lines and
    /// negotiations).
    pub fn charge(&mut self, bytes: u64, frames: u64) -> InboundVerdict {
        self.charge_at(bytes, frames, Instant::now())
    }

    fn charge_at(&mut self, bytes: u64, frames: u64, now: Instant) -> InboundVerdict {
        if bytes == 0 && frames == 0 {
            return InboundVerdict::Pass;
        }
        let mut pause = self.bytes.charge(bytes, now).max(self.frames.charge(frames, now));
        {
            let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = t.addresses.get_mut(&self.group) {
                pause =
                    pause.max(a.inbound.0.charge(bytes, now)).max(a.inbound.1.charge(frames, now));
            }
        }
        if pause.is_zero() {
            self.over_since = None;
            return InboundVerdict::Pass;
        }
        // Over by more than the flood allowance in one go, or over for that long: a flood.
        let since = *self.over_since.get_or_insert(now);
        if pause >= self.flood_after || now.duration_since(since) >= self.flood_after {
            InboundVerdict::Flood
        } else {
            InboundVerdict::Pause(pause)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::limits::tests::cfg;
    use crate::portal::limits::{Admission, ConnectionLimits};

    #[test]
    fn inbound_budgets_pause_a_connection_over_them_and_call_a_sustained_excess_a_flood() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.inbound_frames_per_sec = 10;
            c.inbound_bytes_per_sec = 1000;
            c.inbound_frames_per_sec_per_ip = 15;
            c.inbound_flood_secs = 2;
            c.connection_rate_per_ip = 0;
        }));
        let guard = |ip: &str| match limits.admit(ip.parse().unwrap()) {
            Admission::Admitted { guard, .. } => guard,
            other => panic!("{other:?}"),
        };
        let (g, g2) = (guard("10.0.0.1"), guard("10.0.0.1"));
        let mut b = InboundBudget::new(&limits.cfg, &g);
        let mut b2 = InboundBudget::new(&limits.cfg, &g2);
        let t0 = Instant::now();
        // A burst of two seconds' worth passes; the next frame waits a tenth of a second.
        assert_eq!(b.charge_at(100, 20, t0), InboundVerdict::Pass);
        assert_eq!(b.charge_at(6, 1, t0), InboundVerdict::Pause(Duration::from_millis(100)));
        // Its address's budget (30 burst, 21 used) holds back the second connection too.
        assert_eq!(b2.charge_at(6, 9, t0), InboundVerdict::Pass);
        assert!(matches!(b2.charge_at(6, 1, t0), InboundVerdict::Pause(_)));
        // Still over two seconds later: a flood. Back within budget: forgiven.
        assert_eq!(b.charge_at(6, 40, t0 + Duration::from_secs(2)), InboundVerdict::Flood);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.charge_at(6, 1, later), InboundVerdict::Pass);
        // Bytes count as well as frames.
        assert!(matches!(b.charge_at(3000, 1, later), InboundVerdict::Pause(_)));
        // And a debt over the flood allowance in one read is a flood at once.
        assert_eq!(b.charge_at(5000, 1, later), InboundVerdict::Flood);
    }
}
