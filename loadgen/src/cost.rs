//! The server's CPU per command: `roomsets K` (rooms holding many cmdset providers),
//! `hookcost K` (input hooks), `pycost K` (a Rust command against the Python `pyhello`).

use std::time::Instant;

use crate::harness::{players, CONFIG, MODULES};
use crate::perf;
use crate::support::{self, Host};

/// `roomsets K`: see the scenario list in `main.rs`.
pub(crate) async fn roomsets(k: usize) {
    println!(
        "roomsets: one player, {k} commands per room size; things in the room each carry a cmdset"
    );
    let mut modules = MODULES.to_vec();
    modules.push("box");
    let host = Host::start(&modules, CONFIG);
    let mut c = players(&host.url, 1, "R").await.pop().expect("one player");
    let pid = host.server_pid();
    let mut spawned = 0;
    for size in [0usize, 10, 100, 1000] {
        while spawned < size {
            let n = (size - spawned).min(500);
            c.send_text(&format!("spawnsets {n} box")).await;
            c.expect_text("spawned").await;
            spawned += n;
        }
        // The first command after the room changed merges again (one object set per thing).
        let t0 = Instant::now();
        c.send_text("echoback first").await;
        c.expect_text("echoback").await;
        let first = t0.elapsed();
        let (cpu0, t0) = (perf::cpu_us(pid), Instant::now());
        for i in 0..k {
            c.send_text(&format!("echoback {i}")).await;
            c.expect_text("echoback").await;
        }
        let (cpu, wall) = (perf::cpu_us(pid) - cpu0, t0.elapsed());
        println!(
            "  {size:>5} cmdsets in the room: server CPU {:.1} µs/command, wall {:.1} µs/command; first command after the change {:.1?}",
            cpu / k as f64,
            wall.as_secs_f64() * 1e6 / k as f64,
            first
        );
    }
}

/// `hookcost K`: see the scenario list in `main.rs`.
pub(crate) async fn hookcost(k: usize) {
    println!("hookcost: one player, {k} commands per configuration");
    for hooks in [&[][..], &["spamguard"][..], &["spamguard", "nick"][..]] {
        let mut modules = MODULES.to_vec();
        modules.extend(hooks);
        let list: Vec<String> = hooks.iter().map(|h| format!("{h:?}")).collect();
        let host = Host::start(&modules, &format!("{CONFIG}\ninput_hooks = [{}]", list.join(", ")));
        let mut c = players(&host.url, 1, "H").await.pop().expect("one player");
        let pid = host.server_pid();
        for i in 0..100 {
            c.send_text(&format!("echoback warm{i}")).await;
            c.expect_text("echoback").await;
        }
        let (cpu0, t0) = (perf::cpu_us(pid), Instant::now());
        for i in 0..k {
            c.send_text(&format!("echoback {i}")).await;
            c.expect_text("echoback").await;
        }
        let (cpu, wall) = (perf::cpu_us(pid) - cpu0, t0.elapsed());
        println!(
            "  input_hooks = [{}]: server CPU {:.1} µs/command, wall {:.1} µs/command",
            list.join(", "),
            cpu / k as f64,
            wall.as_secs_f64() * 1e6 / k as f64
        );
    }
}

/// One player, K commands one after another of a Rust command (`echoback`, the `trouble`
/// module) and of the Python `pyhello`: the server's CPU per command of each, over websockets.
pub(crate) async fn pycost(k: usize) {
    println!("pycost: one player, {k} commands each of Rust `echoback` and Python `pyhello`");
    if !support::guest_dir().join("pyhello.wasm").is_file() {
        println!("  skipped: no pyhello.wasm (`cargo xtask test` installs componentize-py, then `cargo xtask guests` builds it)");
        return;
    }
    let mut modules = MODULES.to_vec();
    modules.push("pyhello");
    // The Python runtime needs more memory than the default cap; compiled at start (~1 min).
    let host = Host::start(
        &modules,
        &format!(
            "{CONFIG}\ncmdset_character = [\"character\", \"trouble\", \"pyhello\"]\n\
             guest_module_memory_mib = {{ pyhello = 128 }}\nguest_module_deadline_ms = {{ pyhello = 1000 }}\n\
             module_background_compile_bytes = 1000000000"
        )
        .replacen("cmdset_character = [\"character\", \"trouble\"]\n", "", 1),
    );
    let mut c = players(&host.url, 1, "P").await.pop().expect("one player");
    let pid = host.server_pid();
    for (line, answer) in [("echoback", "echoback"), ("pyhello", "from Python")] {
        for i in 0..100 {
            c.send_text(&format!("{line} warm{i}")).await;
            c.expect_text(answer).await;
        }
        let (cpu0, t0) = (perf::cpu_us(pid), Instant::now());
        for i in 0..k {
            c.send_text(&format!("{line} {i}")).await;
            c.expect_text(answer).await;
        }
        let (cpu, wall) = (perf::cpu_us(pid) - cpu0, t0.elapsed());
        println!(
            "  {line}: server CPU {:.1} µs/command, wall {:.1} µs/command",
            cpu / k as f64,
            wall.as_secs_f64() * 1e6 / k as f64
        );
    }
}
