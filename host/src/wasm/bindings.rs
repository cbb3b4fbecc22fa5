//! Rust bindings for the `cmdset-module` world (the only `bindgen!` in the host).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cmdset-module",
});

pub use self::mudhost::game::types;
