//! The timer imports (`timer-delay`, `timer-repeat`, `timer-cancel`, `timer-list`): checks and
//! quotas, then the world store's timers (`store/timers.rs`). A timer belongs to the module that
//! scheduled it: a module sees and cancels only its own.

use super::convert::timer_info;
use crate::server::game::Game;
use crate::shared::ids::ObjectId;
use crate::wasm::bindings::types::HostError;
use crate::wasm::bindings::types::TimerInfo;
use crate::wasm::bindings::{store_failure, Answer};
use crate::wasm::HostCtx;

impl HostCtx<Game> {
    /// Schedule a timer for the calling module: `delay_ms` from now, repeating every
    /// `interval_ms` if given. A refusal names the refused limit.
    pub(super) fn timer_schedule(
        &mut self,
        delay_ms: u64,
        interval_ms: Option<u64>,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Answer<u64> {
        let cfg = &self.game.cfg;
        let (max, min_interval) = (cfg.timer_max_per_module, cfg.timer_min_interval_ms);
        if interval_ms.is_some_and(|i| i < min_interval) {
            return Err(HostError::Invalid(format!(
                "a repeating timer's interval must be at least timer_min_interval_ms ({min_interval} ms)"
            ))
            .into());
        }
        if payload.len() > self.quotas.attr_value_bytes {
            return Err(HostError::Quota(format!(
                "the timer payload is over guest_attr_value_bytes ({} bytes)",
                self.quotas.attr_value_bytes
            ))
            .into());
        }
        if self.game.world.timer_count(&self.module) >= max {
            return Err(HostError::Quota(format!(
                "this module already has timer_max_per_module ({max}) timers"
            ))
            .into());
        }
        if obj.is_some_and(|o| self.game.world.object(ObjectId::new(o)).is_none()) {
            return Err(
                HostError::NotFound(format!("no object #{}", obj.unwrap_or_default())).into()
            );
        }
        let due = crate::shared::clock::now_ms().saturating_add(delay_ms);
        let module = self.module.clone();
        Ok(self.game.world.timer_add(
            &module,
            due,
            interval_ms,
            &payload,
            obj.map(ObjectId::new),
            persistent,
        )?)
    }

    /// Cancel one of the calling module's timers.
    pub(super) fn timer_cancel_own(&mut self, id: u64) -> wasmtime::Result<bool> {
        if self.game.world.timer(id).is_none_or(|t| t.module != self.module) {
            return Ok(false);
        }
        Ok(self.game.world.timer_remove(id).map_err(store_failure)?.is_some())
    }

    /// The calling module's timers, soonest first.
    pub(super) fn timer_list_own(&mut self) -> Vec<TimerInfo> {
        self.game.world.timers_of(&self.module).into_iter().map(timer_info).collect()
    }
}
