//! Leaves below both processes: what the portal and the server both read and that depends on
//! nothing else in the crate (the layer check in `layers.rs` holds them to that), so neither
//! process has to import the other to reach it.
//!
//! - [`clock`]: the wall clock in milliseconds, with its test offset.
//! - [`files`]: names of files in the data folder one process writes and the other reads.
//! - [`ids`]: typed ids (`ObjectId`, `AccountId`, `Sessid`), the bare integers on the wire and
//!   in the database.
//! - [`inflight`]: the memory-mapped marker of the input the server is running (the server
//!   writes it, the portal reads it after a crash).
//! - [`limits`]: fixed bounds on client input that the config and the link both apply.

pub mod clock;
pub mod files;
pub mod ids;
pub mod inflight;
pub mod limits;
