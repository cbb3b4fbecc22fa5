//! What a Python module (componentize-py's `pyhello`) costs beside a Rust one: compile (cold),
//! load from the compile cache, instantiation, and a command on the kept instance and on a fresh
//! one. Prints medians; nothing is asserted.
//!
//! `cargo bench -p mudhost --bench python` after `cargo xtask guests` (with componentize-py
//! installed: `cargo xtask test` installs it); `cargo xtask bench` runs it with the other
//! benches. Without the Python module it says so and measures nothing.

mod common;

use std::time::{Duration, Instant};

use common::{module_path, Bench};
use mudhost::link::Sessid;
use mudhost::server::imports::convert::session_info;
use mudhost::wasm::bindings::types::Invocation;
use mudhost::wasm::GuestLimits;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if !module_path("pyhello").is_file() {
        println!("python bench: no pyhello.wasm (install componentize-py with `cargo xtask test`, then `cargo xtask guests`)");
        return;
    }
    // The deadline is generous here: this measures, the host's own deadline is a config key.
    let limits =
        GuestLimits { deadline: Duration::from_secs(5), memory_bytes: 128 << 20, instances: 16 };
    let Bench { dir: _dir, mut game, mut registry } = common::bench(limits);

    for (name, key) in [("trouble", "ok"), ("pyhello", "pyhello")] {
        let path = module_path(name);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask guests` first)", path.display()))
            .len();
        let t = Instant::now();
        let prepared = registry.loader().prepare(&path).unwrap();
        println!(
            "{name}.wasm ({:.1} MiB): compile (cold) {:.1?}",
            size as f64 / 1048576.0,
            t.elapsed()
        );
        let cached: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                let _p = registry.loader().prepare(&path).unwrap();
                t.elapsed()
            })
            .collect();
        println!("{name}: load from the compile cache {:.1?}", median(cached));
        let (g, ok) = registry.install(prepared, game);
        game = g;
        assert!(ok, "{name} installs");
        let module = registry.get(name).cloned().unwrap();
        let inv = Invocation {
            key: key.into(),
            cmdname: key.into(),
            args: "bench".into(),
            raw: key.into(),
            session: session_info(game.sessions.get(Sessid::new(1)).unwrap()),
            matches: vec![],
        };
        for fresh in [false, true] {
            let n = if fresh { 50 } else { 2000 };
            let mut rounds = vec![];
            for _ in 0..5 {
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
                rounds.push(t.elapsed() / n);
            }
            let how = if fresh { "fresh instance (instantiate + call)" } else { "kept instance" };
            println!("{name}: `{key}` on a {how}: median {:.1?} per command", median(rounds));
        }
    }
}
