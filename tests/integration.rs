//! The integration tests, built as one binary (one link of the host and its runtime instead of
//! one per file). Each module starts the real host (portal and server processes) on free ports
//! with a temporary game folder and talks to it over real connections; `support` has the shared
//! helpers. Run one file's tests with `cargo test -p mudhost --test integration <module>::`.

mod support;

mod authoring;
// Building: the builder commands and prototypes.
mod building;
mod capacity;
mod cmdsets;
mod crash;
mod crash_state;
mod hooks;
mod hostile;
mod house;
mod limits;
mod multisession;
// Object classes
mod objclass;
mod output_safety;
// Python guests (componentize-py).
mod python;
mod reload;
mod restart;
mod sandbox;
mod session;
mod session_class;
mod startup;
mod subprotocols;
mod telnet;
mod timers;
mod tintin;
mod tour;
mod webclient;

// Live config and the module report.
mod live_config;
mod modules;

// Channels, help, execute
mod comms;
mod help;

// World model
mod world;
