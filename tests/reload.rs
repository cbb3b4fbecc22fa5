//! Hot reload from the modules folder: replacing a module under load loses no command and answers
//! none twice; broken modules are rejected with one clear log line while the old version keeps
//! serving; deleting a module unloads it; a warm cache means no recompiles.

use crate::support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::{guest, Client, Host};

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
// The clients here send commands back to back, faster than a player can type: the command
// rate (a limit tested in tests/limits.rs) is off for them.
const CHARACTER_WITH_TROUBLE: &str =
    "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0";

/// Publish a module by writing it beside the folder and renaming it into place.
fn publish_by_rename(host: &Host, src: &Path, name: &str) {
    let tmp = host.dir.path().join(format!("{name}.wasm.part"));
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, host.modules_dir().join(format!("{name}.wasm"))).unwrap();
}

/// Overwrite a module file in place (truncate + write).
fn overwrite_in_place(host: &Host, src: &Path, name: &str) {
    std::fs::write(host.modules_dir().join(format!("{name}.wasm")), std::fs::read(src).unwrap())
        .unwrap();
}

/// One client's loop: send `echoback`, wait for its answer, record the version; stop when told.
/// Returns the versions seen, in order. Panics on any other answer or a disconnect.
async fn echo_loop(mut c: Client, name: String, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut versions = vec![];
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) || i < 5 {
        let tag = format!("{name}-{i}");
        c.send_text(&format!("echoback {tag}")).await;
        // Other players arriving in the room is chatter; anything else is a failed command.
        let answer = loop {
            let t = c.next_text().await.unwrap_or_else(|| panic!("{name} disconnected"));
            if !(t.ends_with("has entered the game.") || t.contains("has left the game")) {
                break t;
            }
        };
        let (version, got) = answer
            .strip_prefix("echoback ")
            .and_then(|r| r.split_once(": "))
            .unwrap_or_else(|| panic!("{name}: unexpected answer {answer:?}"));
        assert_eq!(got, tag, "{name}: answered once, in order");
        versions.push(version.to_string());
        i += 1;
    }
    versions
}

/// Run 20 clients while `swap` replaces the module; returns each client's version history.
async fn twenty_clients_through(
    host: &Host,
    swap: impl FnOnce(),
    wait_for: &str,
) -> Vec<Vec<String>> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for i in 0..20 {
        let c = host.player(&format!("Load{wait_for}{i}")).await;
        tasks.push(tokio::spawn(echo_loop(c, format!("L{i}"), stop.clone())));
    }
    swap();
    // Watch from a separate client until the new version answers, then let the others go on
    // a little and stop.
    let mut probe = host.player(&format!("Probe{wait_for}")).await;
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        let a = probe.ask("echoback probe").await;
        if a.starts_with(&format!("echoback {wait_for}:")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "new version never answered: {a}");
    }
    for _ in 0..5 {
        probe.ask("echoback probe").await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = vec![];
    for t in tasks {
        all.push(t.await.expect("client task"));
    }
    all
}

fn assert_switched(histories: &[Vec<String>], from: &str, to: &str) {
    for h in histories {
        assert_eq!(h.last().map(String::as_str), Some(to), "every client ends on {to}: {h:?}");
        let first_new = h.iter().position(|v| v == to).unwrap();
        assert!(h[..first_new].iter().all(|v| v == from), "only {from} before the switch: {h:?}");
        assert!(h[first_new..].iter().all(|v| v == to), "never back to {from}: {h:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_module_under_load_loses_and_repeats_nothing() {
    let host = Host::start(MODULES, CHARACTER_WITH_TROUBLE);
    let v2 = guest("trouble_v2");
    let histories =
        twenty_clients_through(&host, || overwrite_in_place(&host, &v2, "trouble"), "v2").await;
    assert_switched(&histories, "v1", "v2");

    let v1 = guest("trouble");
    let histories =
        twenty_clients_through(&host, || publish_by_rename(&host, &v1, "trouble"), "v1").await;
    assert_switched(&histories, "v2", "v1");
    assert!(!host.log().contains("module rejected"), "no half-written file was ever loaded");
    // The previous build's compiled code was kept: going back to it compiles nothing.
    let log = host.log();
    let back =
        log.lines().rfind(|l| l.contains("module loaded") && l.contains("module=trouble")).unwrap();
    assert!(back.contains("source=\"cache\""), "{back}");
}

/// Wait until the log contains `needle`.
fn wait_log(host: &Host, needle: &str) -> String {
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        let log = host.log();
        if let Some(line) = log.lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "log never said {needle:?}:\n{log}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn broken_modules_are_rejected_with_the_step_and_the_reason_and_the_old_version_serves() {
    let host = Host::start(MODULES, CHARACTER_WITH_TROUBLE);
    let mut c = host.player("Rita").await;

    // A truncated copy over the live module: rejected at compile, v1 keeps serving.
    let bytes = std::fs::read(guest("trouble")).unwrap();
    let tmp = host.dir.path().join("partial");
    std::fs::write(&tmp, &bytes[..bytes.len() / 3]).unwrap();
    std::fs::rename(&tmp, host.modules_dir().join("trouble.wasm")).unwrap();
    let line = wait_log(&host, "module rejected");
    assert!(line.contains("trouble.wasm") && line.contains("compile failed"), "{line}");
    assert!(line.contains("previous version keeps serving"), "{line}");
    assert_eq!(c.ask("echoback still").await, "echoback v1: still");

    for (module, step) in [
        ("wrong_world", "interface check failed"),
        ("load_panic", "metadata check failed: guest panicked: load-time panic"),
        ("wrong_version", "built against WIT mudhost:game@0.9.0, but this host implements mudhost:game@0.4.0 (and mudhost:game@0.3.0, mudhost:game@0.2.1, and mudhost:game@0.1.0 for cmdset modules)"),
    ] {
        publish_by_rename(&host, &guest(module), module);
        let line = wait_log(&host, &format!("{module}.wasm"));
        assert!(line.contains("module rejected") && line.contains(step), "{module}: {line}");
    }

    // Admins see what is loaded and what was refused.
    let report = c.ask("modules").await;
    assert!(report.contains("trouble") && report.contains("REJECTED"), "{report}");
    assert_eq!(c.ask("echoback after").await, "echoback v1: after");
}

#[tokio::test]
async fn deleting_a_module_unloads_it_and_the_login_slot_says_so_clearly() {
    let host = Host::start(MODULES, CHARACTER_WITH_TROUBLE);
    let mut c = host.player("Del").await;
    assert_eq!(c.ask("ok").await, "trouble ok");
    std::fs::remove_file(host.modules_dir().join("trouble.wasm")).unwrap();
    wait_log(&host, "module unloaded");
    let gone = c.ask("ok").await;
    assert!(gone.starts_with("Command 'ok' is not available."), "{gone}");
    assert!(c.ask("look").await.starts_with("Limbo"), "the rest still works");

    std::fs::remove_file(host.modules_dir().join("unloggedin.wasm")).unwrap();
    let deadline = std::time::Instant::now() + support::WAIT;
    while !host.log().lines().any(|l| l.contains("module unloaded") && l.contains("unloggedin")) {
        assert!(std::time::Instant::now() < deadline, "unloggedin was never unloaded");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut newcomer = Client::connect(&host.url).await;
    let text = newcomer.next_text().await.expect("a message, not a dead connection");
    assert!(text.contains("login screen is not available"), "{text}");

    // Putting it back brings the screen back without a restart.
    publish_by_rename(&host, &guest("unloggedin"), "unloggedin");
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        let t = newcomer.ask("look").await;
        if t.contains("connect <username> <password>") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{t}");
    }
}

#[tokio::test]
async fn a_restart_with_a_warm_cache_does_not_recompile() {
    let mut host = Host::start(MODULES, "");
    host.client().await;
    let first = host.log();
    assert_eq!(first.matches("source=\"compiled\"").count(), 4, "first start compiles:\n{first}");
    assert!(host.stop().success());
    host.launch();
    host.client().await;
    let log = host.log();
    let second = &log[first.len()..];
    assert_eq!(
        second.matches("source=\"cache\"").count(),
        4,
        "second start uses the cache:\n{second}"
    );
    assert_eq!(second.matches("source=\"compiled\"").count(), 0);
}
