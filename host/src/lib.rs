//! mudhost: a MUD server host whose game logic is sandboxed WebAssembly components.
//!
//! Module map (see ARCHITECTURE.md for the path of one input and one output, and its Layers
//! section for which module may import which; `layers.rs` checks it):
//! - [`portal`]: the portal process — websocket listener, portal sessions and sessid allocation,
//!   the session mirror and input queue, supervision of the server process, the control socket.
//! - [`link`]: the portal ⇄ server protocol — typed messages and their framing.
//! - [`server`]: the server process — session handler, accounts, puppeting, input functions,
//!   command handler, the game loop and the host imports guests call.
//! - [`cmd`]: cmdset merging and command parsing (pure logic).
//! - [`wasm`]: the sandbox, generic over the data its calls carry — the wasmtime engine,
//!   bindings, plugin registry and reload watcher.
//! - [`store`]: the world store (SQLite).
//! - [`config`]: the TOML configuration.
//! - [`shared`]: leaves below both processes — the clock, the in-flight marker, input bounds.
//! - [`failpoint`]: fault injection for the crash tests, read by both processes.
//! - [`logline`]: clipped, rate-limited log lines about untrusted input.
//! - [`shutdown`]: the shutdown signal shared by the portal's tasks.
//! - [`lockfile`]: the exclusive locks that keep one portal per game and one server per database.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod cmd;
pub mod config;
pub mod failpoint;
pub mod link;
pub mod lockfile;
pub mod logline;
pub mod portal;
pub mod scaffold;
pub mod server;
pub mod shared;
pub mod shutdown;
pub mod store;
pub mod wasm;

// The layer check (a test over the source files, not code of the host).
#[cfg(test)]
mod layers;
