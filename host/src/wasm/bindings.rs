//! Rust bindings for the `cmdset-module` world (the only `bindgen!` in the host).
//!
//! Imports are trappable: a host function returns `wasmtime::Result<T>`, and an `Err` (a quota
//! the guest went over, see [`super::QuotaExceeded`]) ends the guest call instead of being
//! squeezed into a return value the WIT signature does not have.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cmdset-module",
    imports: { default: trappable },
});

pub use self::mudhost::game::types;
