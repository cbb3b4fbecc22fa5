//! The idle sweep: when each session last ran a visible command, on the monotonic clock, and
//! which sessions the `idle_timeout_secs` check closes (Evennia's maintenance-loop check with
//! its `noidletimeout` lock).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::link::Sessid;

use super::Game;

/// When each session last ran a visible command. Monotonic: idleness must not follow steps of
/// the wall clock (`cmd_last_visible` is wall time, for guests). Time is passed in, so tests
/// need no sleeps.
#[derive(Debug, Default)]
pub struct IdleClock {
    last_visible: HashMap<Sessid, Instant>,
}

impl IdleClock {
    /// A session ran a visible command (or connected) at `now`.
    pub fn seen(&mut self, sessid: Sessid, now: Instant) {
        self.last_visible.insert(sessid, now);
    }

    /// A session restored after a restart, idle for `idle` by the wall clock: counted as idle
    /// since then, but never longer than `timeout` (a clock step during the restart cannot make
    /// it longer than a session idle all along).
    pub fn restore(&mut self, sessid: Sessid, idle: Duration, timeout: Duration, now: Instant) {
        self.last_visible.insert(sessid, now.checked_sub(idle.min(timeout)).unwrap_or(now));
    }

    /// A session left.
    pub fn forget(&mut self, sessid: Sessid) {
        self.last_visible.remove(&sessid);
    }

    /// Whether a session's last visible command is more than `timeout` before `now` (a session
    /// never seen is not idle).
    pub fn idle_longer_than(&self, sessid: Sessid, timeout: Duration, now: Instant) -> bool {
        self.last_visible.get(&sessid).is_some_and(|t| now.saturating_duration_since(*t) > timeout)
    }
}

/// Evennia's reason for an idle-timeout disconnect.
pub const IDLE_TIMEOUT_REASON: &str = "idle timeout exceeded";

impl Game {
    /// Sessions, logged in or not, whose last visible command is older than
    /// `idle_timeout_secs` on the monotonic clock: the keepalive (`idle_command`) keeps a
    /// connection open through proxies but does not make a player active. Superusers and
    /// accounts holding Builder or above are exempt (Evennia's `noidletimeout` lock).
    pub fn idle_sessions(&self) -> Vec<Sessid> {
        let timeout = Duration::from_secs(self.cfg.idle_timeout_secs);
        if timeout.is_zero() {
            return vec![];
        }
        let now = Instant::now();
        self.sessions
            .all(true)
            .map(|s| s.sessid())
            .filter(|&id| self.idle.idle_longer_than(id, timeout, now))
            .filter(|&id| !self.exempt_from_idle_timeout(id))
            .collect()
    }

    /// Disconnect a session found idle by [`Game::idle_sessions`].
    pub fn idle_disconnect(&mut self, sessid: Sessid) {
        tracing::info!(%sessid, "idle timeout exceeded; disconnecting");
        self.disconnect(sessid, IDLE_TIMEOUT_REASON);
    }

    /// Evennia's default `noidletimeout` lock, `perm(Builder)`: superusers and accounts holding
    /// Builder or above never time out.
    fn exempt_from_idle_timeout(&self, sessid: Sessid) -> bool {
        let (superuser, permission) = self.lock_caller(sessid);
        let logged_in = self.sessions.get(sessid).is_some_and(|s| s.data.logged_in);
        logged_in
            && crate::cmd::CmdLock::parse("cmd:perm(Builder)")
                .allows(&crate::cmd::LockCaller { superuser, permission: permission.as_deref() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_session_is_idle_only_once_the_timeout_has_passed_since_it_was_seen() {
        let t0 = Instant::now();
        let mut clock = IdleClock::default();
        clock.seen(Sessid::new(1), t0);
        assert!(!clock.idle_longer_than(Sessid::new(1), MINUTE, t0 + MINUTE));
        assert!(clock.idle_longer_than(
            Sessid::new(1),
            MINUTE,
            t0 + MINUTE + Duration::from_millis(1)
        ));
        clock.seen(Sessid::new(1), t0 + MINUTE);
        assert!(!clock.idle_longer_than(
            Sessid::new(1),
            MINUTE,
            t0 + MINUTE + Duration::from_millis(1)
        ));
    }

    #[test]
    fn a_session_never_seen_or_forgotten_is_not_idle() {
        let t0 = Instant::now();
        let mut clock = IdleClock::default();
        assert!(!clock.idle_longer_than(Sessid::new(1), MINUTE, t0 + 10 * MINUTE));
        clock.seen(Sessid::new(1), t0);
        clock.forget(Sessid::new(1));
        assert!(!clock.idle_longer_than(Sessid::new(1), MINUTE, t0 + 10 * MINUTE));
    }

    #[test]
    fn a_restored_session_keeps_its_idleness_but_never_more_than_the_timeout() {
        let now = Instant::now() + 10 * MINUTE;
        let mut clock = IdleClock::default();
        clock.restore(Sessid::new(1), 30 * Duration::from_secs(1), MINUTE, now);
        assert!(!clock.idle_longer_than(Sessid::new(1), MINUTE, now + Duration::from_secs(30)));
        assert!(clock.idle_longer_than(Sessid::new(1), MINUTE, now + Duration::from_secs(31)));
        // Idle for days by a wall clock that stepped: idle for the timeout, not more.
        clock.restore(Sessid::new(2), 1000 * MINUTE, MINUTE, now);
        assert!(!clock.idle_longer_than(Sessid::new(2), MINUTE, now));
        assert!(clock.idle_longer_than(Sessid::new(2), MINUTE, now + Duration::from_millis(1)));
    }
}
