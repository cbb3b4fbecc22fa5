//! Load generator: starts a real host (portal + server) from a release build and measures it
//! with many websocket clients. Run through `cargo xtask bench`, which builds everything first.
//!
//! Scenarios:
//! - `restart N`: N players logged in; the server is SIGKILLed and reloaded, twice each; reports
//!   the time until every player has an answer again, and the portal's and server's RSS.
//! - `hotreload N R`: N players send commands continuously while a module is replaced R times
//!   (atomic rename, alternating two builds); reports file-landed → first-new-answer latency.
//! - `throughput N SECS`: N players each send commands back to back; reports commands/s and
//!   latency percentiles.
//! - `fairness N R`: one player pipelines R runaway commands (each cut at the guest deadline)
//!   while N healthy players keep sending cheap ones; reports the healthy players' latency.
//! - `look N SECS [RATE]`, `echo …`, `say …`: clients against the host and against the bare
//!   websocket server in the same run, closed loop or (with RATE) open loop at RATE commands/s
//!   in all; reports commands/s, latency, CPU µs per command of each process, RSS, and the
//!   ratio (see `perf.rs`).
//! - `idle N`: N open connections; KiB per connection of the host and of the bare server.
//! - `roomsets K`: one player in a room holding 0, 10, 100, 1000 things that each carry a cmdset
//!   (the `box` module's); at each size, K commands one after another; reports the server's CPU
//!   µs and the wall time per command (the merged cmdset is cached per session until a provider
//!   changes, so the cost must stay flat), and the first command after the room changed (a merge).
//! - `hookcost K`: one player sends K commands one after another with no input hook, with
//!   `spamguard`, and with `spamguard` + `nick`; reports the server's CPU µs per command.
//! - `soak N R K`: N players each run R rounds of `say`, `ooc`, `ic`, `get`/`drop pebble` and
//!   `client_options` while the server is SIGKILLed K times at random moments; then every
//!   answer must have arrived exactly once, and each player's view (in character, carrying the
//!   pebble or not) must match the server's session table (`look`, `who`: no ghosts) and the
//!   database (`inventory`, the garden). Fails (non-zero exit) on any difference.
//! - `timers N [SECS]`: N persistent repeating timers (the `timertest` module's `bench`), spread
//!   evenly over a 10 s interval (N/10 firings a second), beside 50 players each sending `look`
//!   every 100 ms for SECS (default 20); reports the players' command latency percentiles and the
//!   firings' lateness (firing time minus due time, measured in the handler).
//! - `pycost K`: one player sends K commands one after another of a Rust command and of the
//!   Python `pyhello` (guest-examples/python); reports the server's CPU µs per command of each.
//! - `logins N`: N clients at once each create an account and log in, with the default argon2id
//!   cost; reports failures and the server's RSS (baseline, peak sampled from /proc, after).
//! - `addrflood SECS [CONNS]`: with the default limits, one address floods `look` lines as fast
//!   as its CONNS (4) telnet connections take them (reconnecting whenever it is disconnected),
//!   while a player from another address sends `echoback` ten times a second; reports that
//!   player's round trip p50/p99 alone and under the flood, and what became of the flood.
//!
//! Each scenario is a module of its own (`restart.rs` holds `restart` and `hotreload`,
//! `throughput.rs` `throughput` and `fairness`, `cost.rs` `roomsets`, `hookcost` and `pycost`,
//! `perf.rs` `look`, `echo`, `say` and `idle`); `harness.rs` holds what they share. This file
//! reads the arguments and runs the scenario named.

mod addrflood;
mod cost;
mod harness;
mod logins;
mod perf;
mod restart;
mod soak;
#[path = "../../tests/support.rs"]
mod support;
mod throughput;
mod timers;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("restart") => restart::restart(num(1, 1000) as usize).await,
        Some("hotreload") => restart::hotreload(num(1, 200) as usize, num(2, 20) as usize).await,
        Some("throughput") => throughput::throughput(num(1, 1000) as usize, num(2, 10)).await,
        Some("fairness") => throughput::fairness(num(1, 50) as usize, num(2, 200) as usize).await,
        Some(w @ ("look" | "echo" | "say")) => {
            let work = perf::Workload::parse(w).expect("matched above");
            let pacing = match num(3, 0) {
                0 => perf::Pacing::ClosedLoop,
                rate => perf::Pacing::Rate(rate as f64),
            };
            perf::compare(work, num(1, 50) as usize, num(2, 10) as f64, pacing).await
        }
        Some("idle") => perf::idle(num(1, 1000) as usize).await,
        Some("logins") => logins::logins(num(1, 200) as usize).await,
        Some("soak") => soak::soak(num(1, 100) as usize, num(2, 30) as usize, num(3, 10) as usize).await,
        Some("roomsets") => cost::roomsets(num(1, 2000) as usize).await,
        Some("hookcost") => cost::hookcost(num(1, 2000) as usize).await,
        Some("pycost") => cost::pycost(num(1, 2000) as usize).await,
        Some("addrflood") => addrflood::addrflood(num(1, 10), num(2, 4) as usize).await,
        Some("timers") => timers::timers(num(1, 10_000) as usize, num(2, 20)).await,
        _ => eprintln!("usage: mudhost-loadgen restart [N] | hotreload [N] [R] | throughput [N] [SECS] | fairness [N] [R] | look|echo|say [N] [SECS] [RATE] | idle [N] | logins [N] | roomsets [K] | hookcost [K] | pycost [K] | soak [N] [R] [K] | addrflood [SECS] [CONNS] | timers [N] [SECS]"),
    }
}
