//! Timer firings on the game loop. A firing is a unit of work like an input: the module's
//! `at-timer` runs in a checkpoint of its own (same deadline, memory cap and quotas; undone
//! completely if it fails), and its effects commit in the same transaction as the timer's advance
//! (its next due time, or a one-shot's removal), so a firing whose effects committed never fires
//! again after a crash and one that did not commit fires again.
//!
//! Fairness: at most `timer_firings_per_round` firings run per round of the loop, then the
//! players' ready inputs get their batch, so a module scheduling thousands of timers cannot
//! starve players. Timers wait until the portal has handed the sessions back (`SyncAll`), so a
//! firing due during a restart reaches the players it is meant for.
//!
//! Policies: a failed firing still counts as fired (a one-shot is gone, a repeating timer fires
//! at its next tick), so a callback that always traps cannot spin. A repeating timer late by one
//! or more ticks (server down, loop busy) fires once, then at its next tick after now on the
//! original schedule (`store::next_tick`). A firing for a module that is not loaded waits: it is
//! retried every [`RETRY_UNLOADED`] in memory, the stored due time untouched.

use std::time::Duration;

use super::game_loop::GameLoop;
use super::imports::convert::timer_info;
use crate::store::next_tick;

/// How long a firing for a module that is not loaded waits before it is tried again.
const RETRY_UNLOADED: Duration = Duration::from_secs(1);

/// The loop's timer state.
#[derive(Default)]
pub struct TimerState {
    /// The sessions have been handed back: firings may run.
    pub synced: bool,
}

impl GameLoop {
    /// How long until the next timer is due (at least 1 ms); None when there is no timer or
    /// firings wait for the sessions.
    pub(super) fn timer_wait(&mut self) -> Option<Duration> {
        if !self.timers.synced {
            return None;
        }
        let due = self.game().world.timer_next_due()?;
        // At least 1 ms: the clock has millisecond steps, and a wake-up in the same millisecond
        // would find nothing due and spin until the next one.
        Some(Duration::from_millis(due.saturating_sub(super::now_ms()).max(1)))
    }

    /// Run the due firings, at most `timer_firings_per_round`, in one transaction (each firing in
    /// its own checkpoint). Returns whether any ran.
    pub(super) fn run_timers(&mut self) -> bool {
        if !self.timers.synced {
            return false;
        }
        let now = super::now_ms();
        if self.game().world.timer_next_due().is_none_or(|d| d > now) {
            return false;
        }
        let max = self.game().cfg.timer_firings_per_round;
        let due = self.game().world.timers_due(now, max);
        self.begin();
        for id in due {
            self.fire(id, now);
        }
        self.commit_and_send(None);
        true
    }

    /// One firing: advance the timer, then call the module (a failure undoes only the call).
    fn fire(&mut self, id: u64, now: u64) {
        // Gone if an earlier firing of this round cancelled it.
        let Some(timer) = self.game().world.timer(id).cloned() else { return };
        let Some(module) = self.plugins.get(&timer.module).cloned() else {
            let retry = now + RETRY_UNLOADED.as_millis() as u64;
            if let Err(e) = self.game().world.timer_set_due(id, retry, false) {
                super::game_loop::fatal(&format!("cannot reschedule a timer: {e}"));
            }
            return;
        };
        let advanced = match timer.interval_ms {
            Some(interval) => {
                self.game().world.timer_set_due(id, next_tick(timer.due_ms, interval, now), true)
            }
            None => self.game().world.timer_remove(id).map(|_| ()),
        };
        if let Err(e) = advanced {
            super::game_loop::fatal(&format!("cannot advance a timer: {e}"));
        }
        if let Some(kind) = super::failpoint::for_timer(&timer.payload) {
            self.arm_failpoint(kind);
        }
        let info = timer_info(&timer);
        let game = self.take_game();
        let (game, result) = {
            let _span = tracing::debug_span!("guest", module = %module.name, timer = id).entered();
            self.run_guest_timer(&module, game, &info)
        };
        self.put_game(game);
        match result {
            Some(Ok(())) => {}
            Some(Err(e)) => tracing::error!(
                module = %module.name,
                timer = id,
                payload = %crate::logline::clip(&timer.payload, 80),
                cause = %e,
                "timer firing failed and was undone"
            ),
            None => tracing::warn!(
                module = %module.name,
                timer = id,
                "the module cannot receive timer firings (built against an older WIT)"
            ),
        }
        self.end_unit();
    }
}
