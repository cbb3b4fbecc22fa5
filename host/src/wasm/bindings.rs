//! Rust bindings of the WIT: the current package (`mudhost:game@0.4.0`, all plugin kinds) and the
//! previous ones, so old modules keep working: `mudhost:game@0.3.0` (all four plugin kinds),
//! `mudhost:game@0.2.1` (three plugin kinds; wasmtime matches a 0.2.0 module's imports and
//! exports to these by semver) and `mudhost:game@0.1.0` (cmdset modules only).
//!
//! Imports are trappable: a host function returns `wasmtime::Result<T>`, and an `Err` (a quota
//! the guest went over, see [`super::QuotaExceeded`], or a failure of the host itself) ends the
//! guest call instead of being squeezed into a return value the WIT signature does not have. A
//! refusal the guest should handle is a [`types::HostError`] in the import's own result.
//!
//! The current package is bound through one host-side world that imports `host` and exports all
//! four plugin interfaces; a module exports only some of them, so the registry finds each export
//! by name (`GuestIndices::new` on the module's pre-instance) rather than through a per-world
//! struct. The old bindings share the current `types` (the records they use are unchanged), and
//! their `host` traits are implemented by delegating to the current one ([`super::compat`]).
//! 0.3.0's exports are 0.4.0's under other names: [`cmdset`], [`input_hook`], [`session_class`] and
//! [`object_class`] serve both (`bindings/plugin_exports.rs`).

wasmtime::component::bindgen!({
    path: "../wit",
    inline: "
        package mudhost:host-side;
        world plugins {
            import mudhost:game/host@0.4.0;
            export mudhost:game/cmdset@0.4.0;
            export mudhost:game/input-hook@0.4.0;
            export mudhost:game/session-class@0.4.0;
            export mudhost:game/object-class@0.4.0;
        }
    ",
    world: "plugins",
    imports: { default: trappable },
});

mod host_error;
mod plugin_exports;
pub use self::mudhost::game::types;
pub use host_error::{
    answer, refuse_or_fail, store_failure, store_refusal, Answer, HostFailure, Refusal,
};
pub use plugin_exports::{cmdset, input_hook, object_class, session_class};

/// Bindings of `mudhost:game@0.1.0` (kept in `wit/compat/0.1.0/`).
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/compat/0.1.0",
        world: "cmdset-module",
        imports: { default: trappable },
        with: { "mudhost:game/types@0.1.0": crate::wasm::bindings::types },
    });
}

/// Bindings of `mudhost:game@0.2.1` (kept in `wit/compat/0.2.1/`): one host-side world, as for
/// the current version, so a 0.2.x module of any kind finds its exports by their 0.2 names.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../wit/compat/0.2.1",
        inline: "
            package mudhost:host-side-v0-2;
            world plugins {
                import mudhost:game/host@0.2.1;
                export mudhost:game/cmdset@0.2.1;
                export mudhost:game/input-hook@0.2.1;
                export mudhost:game/session-class@0.2.1;
            }
        ",
        world: "plugins",
        imports: { default: trappable },
        with: { "mudhost:game/types@0.2.1": crate::wasm::bindings::types },
    });

    pub use self::exports::mudhost::game::{cmdset, input_hook, session_class};
}

/// Bindings of `mudhost:game@0.3.0` (kept in `wit/compat/0.3.0/`): the same four exports as the
/// current version (served through [`cmdset`] and its siblings) and a `host` whose refusals are
/// texts ([`super::compat`]).
pub mod v0_3 {
    wasmtime::component::bindgen!({
        path: "../wit/compat/0.3.0",
        inline: "
            package mudhost:host-side-v0-3;
            world plugins {
                import mudhost:game/host@0.3.0;
                export mudhost:game/cmdset@0.3.0;
                export mudhost:game/input-hook@0.3.0;
                export mudhost:game/session-class@0.3.0;
                export mudhost:game/object-class@0.3.0;
            }
        ",
        world: "plugins",
        imports: { default: trappable },
        with: { "mudhost:game/types@0.3.0": crate::wasm::bindings::types },
    });

    pub use self::exports::mudhost::game::{cmdset, input_hook, object_class, session_class};
}
