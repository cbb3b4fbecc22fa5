//! The sandbox: a guest that loops, eats memory, panics or probes the machine fails only its own
//! call, within the deadline, and everyone else keeps being answered.

use crate::support;

use std::time::{Duration, Instant};

use support::Host;

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
/// The players here send back to back (closed loop, hundreds of commands a second), so the
/// per-session command rate (tested in limits.rs) is off.
const CONFIG: &str = r#"
cmdset_character = ["character", "trouble"]
command_rate = 0
command_rate_per_ip = 0
inbound_frames_per_sec = 0
inbound_frames_per_sec_per_ip = 0
guest_deadline_ms = 50
guest_memory_mib = 16
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_commands_fail_alone_and_within_the_deadline() {
    // A deadline the memory bomb cannot outlast on a loaded machine: it must reach the memory
    // cap (filling 1 MiB at a time) before the clock cuts it off, or it is reported as a
    // deadline instead.
    let host =
        Host::start(MODULES, &CONFIG.replace("guest_deadline_ms = 50", "guest_deadline_ms = 1000"));
    let mut bad = host.player("Mallory").await;
    let mut good = host.player("Grace").await;
    bad.expect_text("Grace has entered the game.").await;

    for cmd in ["spin", "bomb", "panic"] {
        let started = Instant::now();
        bad.send_text(cmd).await;
        good.send_text("say still here").await;
        // The two inputs come from different connections, so either may be handled first; the
        // bad client must see exactly its error and Grace's line.
        let mut got = vec![bad.next_text().await.unwrap(), bad.next_text().await.unwrap()];
        got.sort();
        assert_eq!(got, ["An untrapped error occurred.", "Grace says, \"still here\""], "{cmd}");
        // Generous bound: the deadline is 1 s; this only proves the call was cut off.
        assert!(started.elapsed() < Duration::from_secs(5), "{cmd} took {:?}", started.elapsed());
        assert_eq!(good.expect_text("You say").await, "You say, \"still here\"", "after {cmd}");
        // The module is still loaded and works.
        assert_eq!(bad.ask("ok").await, "trouble ok", "after {cmd}");
    }
    let log = host.log();
    assert!(log.contains("deadline"), "spin is reported as a deadline:\n{log}");
    assert!(log.contains("memory cap"), "bomb is reported as memory:\n{log}");
}

#[tokio::test]
async fn a_guest_sees_no_files_environment_or_clock() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = host.player("Probe").await;
    let report = c.ask("readfile").await;
    assert!(report.contains("file: error"), "{report}");
    assert!(report.contains("env HOME: none"), "{report}");
    assert!(report.contains("env vars: 0"), "{report}");
    assert!(report.contains("clock: 0"), "the wall clock is frozen at the epoch: {report}");
}

#[tokio::test]
async fn an_instance_lives_on_between_calls_until_one_fails_and_then_it_is_recreated() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = host.player("Counter").await;
    // Successful calls share the module's instance: its memory (a static) lives on.
    for n in 1..=3 {
        assert_eq!(c.ask("counter").await, format!("counter {n}"));
    }
    // A trap discards it (SPEC §9): the next call runs in a fresh instance, memory reset.
    assert!(c.ask("panic").await.starts_with("An untrapped error occurred."));
    assert_eq!(c.ask("counter").await, "counter 1");
    // So does an overrun: the deadline interrupts the guest wherever it was.
    assert_eq!(c.ask("counter").await, "counter 2");
    assert!(c.ask("spin").await.starts_with("An untrapped error occurred."));
    assert_eq!(c.ask("counter").await, "counter 1");
    // Another player's calls run in the same instance: its state is the game's, as module
    // globals are in Evennia.
    let mut d = host.player("Other").await;
    assert_eq!(d.ask("counter").await, "counter 2");
}

#[tokio::test]
async fn with_more_modules_than_the_instance_pool_kept_instances_are_let_go_and_every_call_is_served(
) {
    // Two instances for four modules: at most two are kept, so a call on a third module finds
    // the pool full; the kept ones are let go and made again when next needed.
    let host = Host::start(MODULES, &format!("{CONFIG}guest_instance_pool = 2\n"));
    let mut c = host.player("Pooled").await;
    assert_eq!(c.ask("counter").await, "counter 1");
    assert_eq!(c.ask("counter").await, "counter 2");
    for _ in 0..3 {
        // `look` (character) and `help` (account): at least one of them needs a new instance
        // while `trouble`'s is kept, so that one is let go.
        assert!(c.ask("look").await.contains("Limbo"));
        assert!(c.ask("help").await.contains("help"));
        assert_eq!(c.ask("counter").await, "counter 1", "trouble's instance was let go");
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_flood_of_traps_does_not_leak_memory() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = host.player("Flood").await;
    let pid = host.server_pid();
    // Warm up pools and caches before measuring.
    for _ in 0..50 {
        c.send_text("panic").await;
        c.expect_text("untrapped").await;
    }
    let before = rss_kib(pid);
    for _ in 0..500 {
        c.send_text("panic").await;
        c.expect_text("untrapped").await;
    }
    let after = rss_kib(pid);
    assert!(after < before + 16 * 1024, "RSS grew from {before} KiB to {after} KiB over 500 traps");
    assert_eq!(c.ask("ok").await, "trouble ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_runaway_commands_is_slowed_and_other_players_stay_responsive() {
    let host = Host::start(MODULES, CONFIG);
    let mut spammer = host.player("Flooder").await;
    let mut good = host.player("Patient").await;
    // 40 runaway commands queued at once: served one after another they would hold the game
    // loop for 40 × 50 ms = 2 s; served round-robin, another player waits for at most one.
    for _ in 0..40 {
        spammer.send_text("spin").await;
    }
    for i in 0..10 {
        let t0 = Instant::now();
        good.send_text(&format!("echoback {i}")).await;
        assert_eq!(good.expect_text("echoback").await, format!("echoback v1: {i}"));
        // Generous for a loaded CI machine; a queue served in arrival order takes ≥ 2 s.
        assert!(t0.elapsed() < Duration::from_millis(1000), "answer {i} took {:?}", t0.elapsed());
    }
    spammer.expect_text("your next commands are delayed").await;
}
