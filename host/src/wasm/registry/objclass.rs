//! Calling object-class hooks (Evennia's typeclass hooks) from inside a unit of work.
//!
//! A hook is usually called from a host import that a guest is running (`object-move`,
//! `msg-contents`, ...): the game is taken out of the caller's store, handed to the class
//! module's instance for the hook, and put back. The hook runs on the class module's kept
//! instance, or on a fresh one when that is busy (the caller is the same module, or a hook of
//! the same class is already running further up): an instance is never re-entered.
//!
//! [`ClassRunner`] is a snapshot of the loaded object-class modules with what a call needs (the
//! engine, limits, quotas), handed to the game ([`HostData::set_class_runner`]) and replaced
//! whenever modules change.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{Engine, Store};

use super::{LoadedModule, PluginRegistry};
use crate::link::Sessid;
use crate::wasm::bindings;
use crate::wasm::{
    classify, escape_line, GuestError, GuestLimits, GuestQuotas, HostCtx, HostData, LiveInstance,
};

/// An object class's hooks, loaded from its instance for one call.
pub type ObjectClassGuest = bindings::object_class::Guest;

/// The loaded object-class modules and what calling them needs.
pub struct ClassRunner<D: 'static> {
    engine: Engine,
    limits: GuestLimits,
    quotas: GuestQuotas,
    modules: HashMap<Arc<str>, Arc<LoadedModule<D>>>,
}

impl<D: HostData> ClassRunner<D> {
    /// Whether `name` is a loaded object-class module.
    pub fn has(&self, name: &str) -> bool {
        self.modules.contains_key(name)
    }

    /// Call one hook of the class module `name` with `game`, as no session (hooks have no
    /// caller). None when no such class is loaded (the object then has no behaviour). The call
    /// is not a checkpoint of its own: the caller undoes the unit it belongs to if it fails
    /// (see the embedder's object-class hook points).
    pub fn call<R>(
        &self,
        name: &str,
        game: D,
        budget: std::time::Duration,
        f: impl FnOnce(&ObjectClassGuest, &mut Store<HostCtx<D>>) -> wasmtime::Result<R>,
    ) -> (D, Option<Result<R, GuestError>>) {
        let Some(module) = self.modules.get(name) else { return (game, None) };
        let Some(ix) = module.exports.objclass.clone() else { return (game, None) };
        // The hooks one host call runs share one deadline (the embedder gives the budget left).
        let limits = GuestLimits { deadline: budget.min(self.limits.deadline), ..self.limits };
        let kept = module.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut inst = match kept {
            Some(mut inst) => {
                inst.enter(game, Sessid::new(0), limits, self.quotas);
                inst
            }
            None => match LiveInstance::new(
                &self.engine,
                &module.exports.pre,
                limits,
                self.quotas,
                game,
                Sessid::new(0),
                module.name.clone(),
            ) {
                Ok(inst) => inst,
                Err(failed) => {
                    let (game, e) = *failed;
                    return (game, Some(Err(classify(e, limits, self.quotas, ""))));
                }
            },
        };
        let result = inst.call(|i, store| {
            let guest = ix.load(&mut *store, i)?;
            f(&guest, store)
        });
        let err_text = inst.stderr();
        if !err_text.is_empty() {
            let flat = err_text.trim_end().replace('\n', " | ");
            let flat = escape_line(&flat, self.quotas.log_line_bytes);
            tracing::warn!(module = %module.name, "guest stderr (object class hook): {flat}");
        }
        let result = result.map_err(|e| classify(e, limits, self.quotas, &err_text));
        let game = inst.leave();
        if result.is_ok() && err_text.is_empty() {
            *module.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(inst);
        }
        (game, Some(result))
    }
}

impl<D: HostData> PluginRegistry<D> {
    /// A snapshot of the loaded object-class modules, for the game (see [`ClassRunner`]);
    /// `extra` is a module about to be installed, so its `at-load` can bind objects to it.
    pub fn class_runner(&self, extra: Option<&Arc<LoadedModule<D>>>) -> Arc<ClassRunner<D>> {
        let modules = self
            .modules
            .values()
            .chain(extra)
            .filter(|m| m.exports.objclass.is_some())
            .map(|m| (m.name.clone(), m.clone()))
            .collect();
        Arc::new(ClassRunner {
            engine: self.loader.engine.clone(),
            limits: self.limits,
            quotas: self.quotas,
            modules,
        })
    }
}
