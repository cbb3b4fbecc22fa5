//! Per-command cost of the sandbox, for a command that makes one host call (`ok` → msg-caller)
//! and one with guest-side work too (`counter`): on the module's kept instance (what mudhost does
//! while calls succeed) and on a fresh `Store` + instance per call (what a call after a failure
//! gets). Prints the median of 7 rounds.
//!
//! Run with `cargo xtask bench` (builds the guest modules first) or
//! `cargo bench -p mudhost --bench sandbox` after `cargo xtask guests`.

mod common;

use std::time::{Duration, Instant};

use common::{module_path, Bench};
use mudhost::link::Sessid;
use mudhost::server::game::Game;
use mudhost::server::imports::convert::session_info;
use mudhost::wasm::bindings::types::Invocation;
use mudhost::wasm::GuestLimits;

fn main() {
    let limits =
        GuestLimits { deadline: Duration::from_millis(50), memory_bytes: 32 << 20, instances: 256 };
    let Bench { dir: _dir, mut game, mut registry } = common::bench(limits);

    let path = module_path("trouble");
    let t = Instant::now();
    let prepared = registry
        .loader()
        .prepare(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask guests` first)", path.display()));
    println!("compile trouble.wasm (cold): {:.1?}", t.elapsed());
    let t = Instant::now();
    let _again = registry.loader().prepare(&path).unwrap();
    println!("load trouble.wasm from the compile cache: {:.1?}", t.elapsed());
    let (g, ok) = registry.install(prepared, game);
    game = g;
    assert!(ok, "module installs");
    let module = registry.get("trouble").cloned().unwrap();

    for (key, fresh) in [("ok", false), ("counter", false), ("ok", true), ("counter", true)] {
        let inv = Invocation {
            key: key.into(),
            cmdname: key.into(),
            args: String::new(),
            raw: key.into(),
            session: session_info(game.sessions.get(Sessid::new(1)).unwrap()),
            matches: vec![],
        };
        let run = |n: usize, mut game: Game| -> (Game, Duration) {
            let t = Instant::now();
            for _ in 0..n {
                if fresh {
                    registry.release_kept_instances();
                }
                let (g, r) = registry.execute(&module, game, Sessid::new(1), &inv);
                r.expect("call succeeds");
                game = g;
                let _ = game.take_effects();
            }
            (game, t.elapsed() / n as u32)
        };
        let (g, _) = run(2_000, game);
        game = g;
        let mut rounds = vec![];
        for _ in 0..7 {
            let (g, per) = run(10_000, game);
            game = g;
            rounds.push(per);
        }
        rounds.sort();
        let how = if fresh { "fresh store + instantiate" } else { "kept instance" };
        println!(
            "{how} + `{key}` (1 host call): median {:.2?} per command ({:.0} commands/s on one core)",
            rounds[3],
            1.0 / rounds[3].as_secs_f64()
        );
    }
}
