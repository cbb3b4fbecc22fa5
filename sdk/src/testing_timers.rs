//! The test host's fake clock and timers: timers kept with the host's limits and refusal texts,
//! fired in due order through the module's handler when a test moves the clock
//! ([`TestHost::advance`]); the fakes of `now-ms` and the timer imports.

use super::{with, State, TestHost};
use crate::{HostError, ObjectId, TimerInfo};

/// The host's defaults for timers (`timer_max_per_module`, `timer_min_interval_ms`,
/// `guest_attr_value_bytes` for payloads); see [`TestHost::set_timer_limits`].
pub(super) const TIMER_MAX: usize = 10_000;
pub(super) const TIMER_MIN_INTERVAL_MS: u64 = 100;
const TIMER_PAYLOAD_BYTES: usize = 64 * 1024;

/// Firings one [`TestHost::advance`] runs at most: a repeating timer cannot make a test spin
/// forever (a year of 100 ms ticks is far more than any test means).
const MAX_FIRINGS_PER_ADVANCE: usize = 1_000_000;

impl State {
    fn timer_list(&self) -> Vec<TimerInfo> {
        let mut list: Vec<TimerInfo> = self.timers.values().cloned().collect();
        list.sort_by_key(|t| (t.due_ms, t.id));
        list
    }

    /// Schedule a timer with the host's checks and error texts (`host/src/server/imports/timers.rs`).
    fn timer_add(
        &mut self,
        delay_ms: u64,
        interval_ms: Option<u64>,
        payload: &str,
        obj: Option<ObjectId>,
        persistent: bool,
    ) -> Result<u64, HostError> {
        let (max, min_interval) = self.timer_limits;
        if interval_ms.is_some_and(|i| i < min_interval) {
            return Err(HostError::Invalid(format!(
                "a repeating timer's interval must be at least timer_min_interval_ms ({min_interval} ms)"
            )));
        }
        if payload.len() > TIMER_PAYLOAD_BYTES {
            return Err(HostError::Quota(format!(
                "the timer payload is over guest_attr_value_bytes ({TIMER_PAYLOAD_BYTES} bytes)"
            )));
        }
        if self.timers.len() >= max {
            return Err(HostError::Quota(format!(
                "this module already has timer_max_per_module ({max}) timers"
            )));
        }
        if obj.is_some_and(|o| !self.objects.contains_key(&o)) {
            return Err(HostError::NotFound(format!("no object #{}", obj.unwrap_or_default())));
        }
        let id = self.next_timer;
        self.next_timer += 1;
        let due_ms = self.now_ms.saturating_add(delay_ms);
        let payload = payload.to_string();
        self.timers.insert(id, TimerInfo { id, due_ms, interval_ms, payload, obj, persistent });
        Ok(id)
    }
}

impl TestHost {
    /// The fake clock, unix milliseconds (what `now-ms` answers).
    pub fn now_ms(&self) -> u64 {
        with(|s| s.now_ms)
    }

    /// Move the fake clock forward by `ms`, firing every timer that falls due on the way, in
    /// due order (ties by id), each with the clock at its due time and no caller, through the
    /// handler given to [`TestHost::timer_handler`] (a one-shot is gone before it runs, a
    /// repeating timer is due again one interval later). Due timers without a handler panic:
    /// the test would otherwise pass without the module's timer code ever running.
    #[track_caller]
    pub fn advance(&self, ms: u64) {
        let target = with(|s| s.now_ms.saturating_add(ms));
        for _ in 0..MAX_FIRINGS_PER_ADVANCE {
            let fire = with(|s| {
                let (&id, t) = s.timers.iter().min_by_key(|(id, t)| (t.due_ms, **id))?;
                if t.due_ms > target {
                    return None;
                }
                let fired = t.clone();
                s.now_ms = s.now_ms.max(fired.due_ms);
                match fired.interval_ms {
                    Some(every) => {
                        if let Some(t) = s.timers.get_mut(&id) {
                            t.due_ms = t.due_ms.saturating_add(every.max(1));
                        }
                    }
                    None => {
                        s.timers.remove(&id);
                    }
                }
                let handler = s.timer_handler.unwrap_or_else(|| {
                    panic!(
                        "timer {id} ({:?}) is due but the test host has no handler: call \
                         host.timer_handler(<CmdSet as mudhost_sdk::Guest>::at_timer) first",
                        fired.payload
                    )
                });
                Some((handler, fired))
            });
            let Some((handler, timer)) = fire else {
                with(|s| s.now_ms = s.now_ms.max(target));
                return;
            };
            let before = with(|s| (s.current.take(), std::mem::replace(&mut s.firing, true)));
            handler(timer);
            with(|s| (s.current, s.firing) = before);
        }
        panic!("more than {MAX_FIRINGS_PER_ADVANCE} timer firings in one advance({ms})");
    }

    /// The module's timer handler (`at_timer`), which [`TestHost::advance`] fires due timers
    /// through: `host.timer_handler(<CmdSet as mudhost_sdk::Guest>::at_timer)`.
    pub fn timer_handler(&self, handler: fn(TimerInfo)) {
        with(|s| s.timer_handler = Some(handler));
    }

    /// The module's timers, soonest first (what `host::timers` answers).
    pub fn timers(&self) -> Vec<TimerInfo> {
        with(|s| s.timer_list())
    }

    /// The game's `timer_max_per_module` and `timer_min_interval_ms` (host defaults: 10000 and
    /// 100), to test a module against other limits.
    pub fn set_timer_limits(&self, max_per_module: usize, min_interval_ms: u64) {
        with(|s| s.timer_limits = (max_per_module, min_interval_ms));
    }
}

pub fn now_ms() -> u64 {
    with(|s| s.now_ms)
}

pub fn timer_delay(
    delay_ms: u64,
    payload: &str,
    obj: Option<ObjectId>,
    persistent: bool,
) -> Result<u64, HostError> {
    with(|s| s.timer_add(delay_ms, None, payload, obj, persistent))
}

pub fn timer_repeat(
    interval_ms: u64,
    payload: &str,
    obj: Option<ObjectId>,
    persistent: bool,
) -> Result<u64, HostError> {
    with(|s| s.timer_add(interval_ms, Some(interval_ms), payload, obj, persistent))
}

pub fn timer_cancel(id: u64) -> bool {
    with(|s| s.timers.remove(&id).is_some())
}

pub fn timer_list() -> Vec<TimerInfo> {
    with(|s| s.timer_list())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::Obj;

    #[test]
    fn the_clock_ndb_and_moves_behave_as_the_host() {
        let host = TestHost::new();
        let s = host.session();
        let t0 = host.now_ms();
        host.advance(1500);
        host.as_session(s, || {
            assert_eq!(crate::host::now_ms(), t0 + 1500);
            crate::host::ndb_set("k", Some("v"));
            let bag = Obj::create("bag", "thing", None);
            let coin = Obj::create("coin", "thing", Some(bag));
            assert!(bag.move_to(Some(coin)).is_err(), "no cycles");
            bag.delete().unwrap();
            assert_eq!(coin.location(), None);
        });
        assert_eq!(host.ndb(s, "k").as_deref(), Some("v"));
    }

    thread_local! {
        static FIRED: RefCell<Vec<(u64, String, u64)>> = const { RefCell::new(Vec::new()) };
    }

    /// A timer handler recording (due, payload, clock) and writing to the caller (nobody).
    fn record(t: TimerInfo) {
        crate::host::msg_caller("nobody hears this");
        FIRED.with(|f| f.borrow_mut().push((t.due_ms, t.payload, crate::host::now_ms())));
    }

    fn fired() -> Vec<(u64, String, u64)> {
        FIRED.with(|f| std::mem::take(&mut *f.borrow_mut()))
    }

    #[test]
    fn timers_fire_in_due_order_on_the_fake_clock_and_repeat_on_schedule() {
        use crate::host::{self, Persistence::Memory};
        use std::time::Duration;
        let host = TestHost::new();
        host.timer_handler(record);
        let s = host.session();
        let t0 = host.now_ms();
        let tick = host
            .as_session(s, || host::repeat(Duration::from_millis(300), "tick", None, Memory))
            .unwrap();
        host.as_session(s, || host::delay(Duration::from_millis(500), "once", None, Memory))
            .unwrap();
        host.advance(299);
        assert!(fired().is_empty());
        host.advance(601);
        assert_eq!(
            fired(),
            [
                (t0 + 300, "tick".into(), t0 + 300),
                (t0 + 500, "once".into(), t0 + 500),
                (t0 + 600, "tick".into(), t0 + 600),
                (t0 + 900, "tick".into(), t0 + 900),
            ]
        );
        assert_eq!(host.now_ms(), t0 + 900);
        assert!(host.output(s).is_empty(), "a firing has no caller");
        assert_eq!(host.timers().len(), 1);
        assert!(host.as_session(s, || host::cancel(tick)));
        assert!(!host.as_session(s, || host::cancel(tick)));
        host.advance(10_000);
        assert!(fired().is_empty());
    }

    #[test]
    fn timers_are_refused_as_the_host_refuses_them() {
        use crate::host::{self, Persistence::Persistent};
        use std::time::Duration;
        let host = TestHost::new();
        host.set_timer_limits(1, 100);
        let err = host::repeat(Duration::from_millis(10), "x", None, Persistent).unwrap_err();
        assert_eq!(
            err,
            HostError::Invalid(
                "a repeating timer's interval must be at least timer_min_interval_ms (100 ms)"
                    .into()
            )
        );
        let err = host::delay(Duration::ZERO, "x", Some(Obj(999)), Persistent).unwrap_err();
        assert_eq!(err, HostError::NotFound("no object #999".into()));
        host::delay(Duration::ZERO, "x", None, Persistent).unwrap();
        let err = host::delay(Duration::ZERO, "y", None, Persistent).unwrap_err();
        assert_eq!(
            err,
            HostError::Quota("this module already has timer_max_per_module (1) timers".into())
        );
        assert_eq!(
            err.to_string(),
            "quota: this module already has timer_max_per_module (1) timers"
        );
        assert_eq!(host::timers().len(), 1);
    }

    #[test]
    #[should_panic(expected = "has no handler")]
    fn a_due_timer_without_a_handler_fails_the_test() {
        let host = TestHost::new();
        crate::host::delay(
            std::time::Duration::from_secs(1),
            "x",
            None,
            crate::host::Persistence::Memory,
        )
        .unwrap();
        host.advance(1000);
    }
}
