//! The README's tour, run as written: `mudhost new` makes the module's crate in a folder of its
//! own, its unit test passes under `cargo test`, the running game names it in a cmdset slot
//! (`mudhost reload` applies the edit), `mudhost build` puts it in the game's `modules/`, and a
//! player plays its first command over a websocket without anyone reconnecting.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{fresh_loopback, mudhost_bin, Host, GAME, WAIT};

/// The guests' target folder of this checkout, shared so the tour compiles only the new crate
/// and the SDK copy, not their dependencies.
fn shared_target(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target").join(sub)
}

/// Run a command, failing the test with its output if it fails.
fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Wait until the host's log has a line with all of `needles` (the module watcher's report that
/// the new module is in).
fn wait_log(host: &Host, needles: &[&str]) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let log = host.log();
        if log.lines().any(|l| needles.iter().all(|n| l.contains(n))) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "log never said {needles:?}:\n{log}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn the_readme_tour_takes_a_new_module_from_nothing_to_a_played_command() {
    let host = Host::start(GAME, "");

    // 1. mudhost new greeter: a crate that builds outside any workspace, the SDK beside it.
    let work = tempfile::tempdir().unwrap();
    run(Command::new(mudhost_bin()).args(["new", "greeter", "--dir"]).arg(work.path()));
    let krate = work.path().join("greeter");
    assert!(work.path().join("mudhost-sdk/sdk/Cargo.toml").is_file());

    // 2. cargo test: its first unit test runs against the SDK's test host.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = run(Command::new(&cargo)
        .arg("test")
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", shared_target("tour-native")));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("test tests::the_command_says_hello ... ok"), "{report}");

    // A player is in the game while the module is built and installed.
    let mut anna = host.player_from("Anna", &fresh_loopback().to_string()).await;
    anna.send_text("greeter Bob").await;
    anna.expect_text("Command 'greeter Bob' is not available.").await;

    // The game names the module in its character slot before it exists (it is skipped until it
    // loads); `mudhost reload` applies the edit while Anna stays connected.
    let config = std::fs::read_to_string(host.config_path()).unwrap();
    let slot = "cmdset_character = [\"character\", \"greeter\"]";
    std::fs::write(host.config_path(), format!("{config}\n{slot}\n")).unwrap();
    assert_eq!(host.cli(&["reload"]), "reloading; config applied: cmdset_character");
    anna.expect_text("Server restarted").await;

    // 3. mudhost build: wasm32-wasip2, guest profile, into the game's modules/. The client keeps
    // reading meanwhile (answering the portal's pings, as a real client does).
    let mut build = Command::new(mudhost_bin());
    build.arg("build").arg(&krate).arg("--config").arg(host.config_path());
    build.env("CARGO_TARGET_DIR", shared_target("wasm"));
    let mut building = tokio::task::spawn_blocking(move || run(&mut build));
    let out = loop {
        tokio::select! {
            done = &mut building => break done.unwrap(),
            frame = futures_util::StreamExt::next(&mut anna.ws) => {
                assert!(matches!(frame, Some(Ok(_))), "the player was disconnected: {frame:?}");
            }
        }
    };
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("greeter.wasm"), "{said}");
    assert!(host.modules_dir().join("greeter.wasm").is_file());
    wait_log(&host, &["module loaded", "greeter"]);

    // 4. Play it, on the same connection.
    anna.send_text("greeter Bob").await;
    anna.expect_text("Hello, Bob! (from the greeter module)").await;
    anna.send_text("greeter").await;
    anna.expect_text("Hello, world!").await;
}

#[test]
fn building_a_crate_that_is_no_cdylib_says_so_and_installs_nothing() {
    let game = tempfile::tempdir().unwrap();
    run(Command::new(mudhost_bin()).arg("init").arg(game.path()));
    run(Command::new(mudhost_bin()).args(["new", "plain", "--dir"]).arg(game.path()));
    let krate = game.path().join("plain");
    // The mistake of the old tour: no `crate-type = ["cdylib"]`.
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace("crate-type = [\"cdylib\"]", "");
    std::fs::write(krate.join("Cargo.toml"), manifest).unwrap();
    let out = Command::new(mudhost_bin())
        .arg("build")
        .arg(&krate)
        .env("CARGO_TARGET_DIR", shared_target("wasm"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("but no .wasm: its Cargo.toml needs `[lib] crate-type = [\"cdylib\"]`"),
        "{stderr}"
    );
    let installed: Vec<_> = std::fs::read_dir(game.path().join("modules")).unwrap().collect();
    assert!(installed.is_empty(), "nothing installed");
}
