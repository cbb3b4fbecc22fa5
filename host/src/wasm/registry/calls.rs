//! Guest calls on a loaded module: commands, input hooks, session-class hooks and timer firings,
//! each on the module's kept instance (or a fresh one), atomic or inside the caller's unit.

use std::sync::Arc;

use wasmtime::component::{Instance, InstancePre};
use wasmtime::Store;

use super::exports::{ClassExport, CmdsetExport, HookExport, SessionClassGuest};
use super::{LoadedModule, PluginRegistry};
use crate::link::Sessid;
use crate::wasm::bindings::types as wit;
use crate::wasm::{classify, escape_line, GuestError, HostCtx, HostData, LiveInstance};

impl<D: HostData> PluginRegistry<D> {
    /// (trap, deadline, memory, quota), everything it changed is undone and its output dropped.
    pub fn execute(
        &self,
        module: &LoadedModule<D>,
        game: D,
        caller: Sessid,
        inv: &wit::Invocation,
    ) -> (D, Result<(), GuestError>) {
        let ex = &module.exports;
        self.call_atomic(module, game, caller, |inst, store| ex.execute(inst, store, inv))
    }

    /// Run one command with no checkpoint of its own: a command line `execute-cmd` runs inside
    /// the checkpoint of the command that asked for it, or that command itself with its lines
    /// (`server/game_loop/execute.rs`), whose caller keeps or undoes the whole unit.
    pub fn execute_in_unit(
        &self,
        module: &LoadedModule<D>,
        game: D,
        caller: Sessid,
        inv: &wit::Invocation,
    ) -> (D, Result<(), GuestError>) {
        let ex = &module.exports;
        self.call_kept(module, game, caller, |inst, store| ex.execute(inst, store, inv))
    }

    /// An input hook's `data-in` (same sandbox, quotas and atomicity as a command). None when the
    /// module is not an input hook.
    /// `check` validates the answer inside the call, so an unusable answer undoes the call too.
    pub fn hook_data_in<T>(
        &self,
        module: &LoadedModule<D>,
        game: D,
        caller: Sessid,
        msg: &wit::Message,
        session: &wit::SessionInfo,
        check: impl FnOnce(wit::HookResult) -> Result<T, String>,
    ) -> (D, Option<Result<T, GuestError>>) {
        let Some(ix) = module.exports.hook.clone() else { return (game, None) };
        let (game, r) = self.call_atomic(module, game, caller, |inst, store| {
            let r = match &ix {
                HookExport::Current(ix) => {
                    ix.load(&mut *store, inst)?.call_data_in(&mut *store, msg, session)?
                }
                HookExport::V0_2(ix) => {
                    ix.load(&mut *store, inst)?.call_data_in(&mut *store, msg, session)?
                }
            };
            check(r).map_err(|e| wasmtime::Error::new(crate::wasm::QuotaExceeded(e)))
        });
        (game, Some(r))
    }

    /// One call of a session class's hook (same sandbox, quotas and atomicity as a command).
    /// None when the module is not a session class.
    pub fn class_call<R>(
        &self,
        module: &LoadedModule<D>,
        game: D,
        caller: Sessid,
        f: impl FnOnce(&SessionClassGuest, &mut Store<HostCtx<D>>) -> wasmtime::Result<R>,
    ) -> (D, Option<Result<R, GuestError>>) {
        let Some(ix) = module.exports.class.clone() else { return (game, None) };
        let (game, r) = self.call_atomic(module, game, caller, |inst, store| {
            let guest = match &ix {
                ClassExport::Current(ix) => SessionClassGuest::Current(ix.load(&mut *store, inst)?),
                ClassExport::V0_2(ix) => SessionClassGuest::V0_2(ix.load(&mut *store, inst)?),
            };
            f(&guest, store)
        });
        (game, Some(r))
    }

    /// One firing of a module's timer: its `at-timer` (same sandbox and quotas as a command, no
    /// calling session), with no checkpoint of its own: its caller (`server/game_loop/execute.rs`)
    /// keeps or undoes it together with the command lines it executes, as one unit. None when the
    /// module cannot receive firings (built against a WIT before 0.3.0, which had no timers).
    pub fn timer_fire_in_unit(
        &self,
        module: &LoadedModule<D>,
        game: D,
        timer: &wit::TimerInfo,
    ) -> (D, Option<Result<(), GuestError>>) {
        let CmdsetExport::Current(ix) = module.exports.cmdset.clone() else { return (game, None) };
        let (game, r) = self.call_kept(module, game, Sessid::new(0), |inst, store| {
            ix.load(&mut *store, inst)?.call_at_timer(&mut *store, timer)
        });
        (game, Some(r))
    }

    /// A guest call inside a checkpoint: kept if it succeeds, undone entirely if it fails.
    fn call_atomic<R>(
        &self,
        module: &LoadedModule<D>,
        mut game: D,
        caller: Sessid,
        f: impl FnOnce(&Instance, &mut Store<HostCtx<D>>) -> wasmtime::Result<R>,
    ) -> (D, Result<R, GuestError>) {
        let cp = game.checkpoint();
        let (mut game, result) = self.call_kept(module, game, caller, f);
        match &result {
            Ok(_) => game.keep(cp),
            Err(_) => game.undo(cp),
        }
        (game, result)
    }

    /// Instantiate in a fresh store, call `f`, log guest stderr, and hand the game back (the
    /// instance is dropped: for load-time calls, before the module is installed).
    pub(super) fn call_pre<R>(
        &self,
        pre: &InstancePre<HostCtx<D>>,
        module: &Arc<str>,
        game: D,
        caller: Sessid,
        f: impl FnOnce(&Instance, &mut Store<HostCtx<D>>) -> wasmtime::Result<R>,
    ) -> (D, Result<R, GuestError>) {
        let mut inst = match self.instantiate(pre, module, game, caller) {
            Ok(inst) => inst,
            Err(failed) => return (failed.0, Err(failed.1)),
        };
        let result = inst.call(f);
        let (game, result, _) = self.finish(&mut inst, module, caller, result);
        (game, result)
    }

    /// Call `f` on the module's kept instance, or on a new one; keep the instance for the next
    /// call only if this one succeeded without writing to stderr (a trap, deadline, memory or
    /// quota failure discards it: the next call gets a fresh one).
    fn call_kept<R>(
        &self,
        module: &LoadedModule<D>,
        game: D,
        caller: Sessid,
        f: impl FnOnce(&Instance, &mut Store<HostCtx<D>>) -> wasmtime::Result<R>,
    ) -> (D, Result<R, GuestError>) {
        let kept = module.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut inst = match kept {
            Some(mut inst) => {
                inst.enter(game, caller, self.limits_for(&module.name), self.quotas);
                inst
            }
            None => match self.instantiate(&module.exports.pre, &module.name, game, caller) {
                Ok(inst) => inst,
                Err(failed) => return (failed.0, Err(failed.1)),
            },
        };
        let result = inst.call(f);
        let (game, result, clean) = self.finish(&mut inst, &module.name, caller, result);
        if result.is_ok() && clean {
            *module.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(inst);
        }
        (game, result)
    }

    /// A new instance of `pre` holding the game. If the instance pool (`guest_instance_pool`) is
    /// full of kept instances — a game with more modules than the pool — they are let go and the
    /// instantiation tried once more.
    fn instantiate(
        &self,
        pre: &InstancePre<HostCtx<D>>,
        module: &Arc<str>,
        game: D,
        caller: Sessid,
    ) -> Result<LiveInstance<D>, Box<(D, GuestError)>> {
        let make = |game| {
            LiveInstance::new(
                &self.loader.engine,
                pre,
                self.limits_for(module),
                self.quotas,
                game,
                caller,
                module.clone(),
            )
        };
        let pool_full =
            |e: &wasmtime::Error| e.chain().any(|c| c.is::<wasmtime::PoolConcurrencyLimitError>());
        let retried = match make(game) {
            Ok(inst) => return Ok(inst),
            Err(failed) if pool_full(&failed.1) && self.release_kept_instances() > 0 => {
                tracing::debug!(module = %module, "instance pool full; kept instances let go");
                make(failed.0)
            }
            Err(failed) => Err(failed),
        };
        retried.map_err(|failed| {
            let (game, e) = *failed;
            Box::new((game, classify(e, self.limits_for(module), self.quotas, "")))
        })
    }

    /// Drop every module's kept instance (their pool slots free up; the next call of each module
    /// makes a fresh one); returns how many.
    pub fn release_kept_instances(&self) -> usize {
        self.modules
            .values()
            .filter(|m| m.idle.lock().unwrap_or_else(|p| p.into_inner()).take().is_some())
            .count()
    }

    /// After a call: log what the guest wrote to stderr (one line), classify a failure, and take
    /// the game back. The flag says whether stderr stayed empty.
    fn finish<R>(
        &self,
        inst: &mut LiveInstance<D>,
        module: &Arc<str>,
        caller: Sessid,
        result: wasmtime::Result<R>,
    ) -> (D, Result<R, GuestError>, bool) {
        let err_text = inst.stderr();
        if !err_text.is_empty() {
            // One log line per call: the guest's own line breaks become " | ", and anything else
            // that could end or fake a log line is escaped.
            let flat = err_text.trim_end().replace('\n', " | ");
            let flat = escape_line(&flat, self.quotas.log_line_bytes);
            tracing::warn!(module = %module, sessid = %caller, "guest stderr: {flat}");
        }
        let limits = self.limits_for(module);
        let result = result.map_err(|e| classify(e, limits, self.quotas, &err_text));
        (inst.leave(), result, err_text.is_empty())
    }
}
