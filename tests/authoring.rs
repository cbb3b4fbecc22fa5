//! A module author's mistakes are loud: two plugin kinds built in one cargo invocation fail the
//! build with the cause named (they used to build, the cmdset module silently exporting nothing),
//! and a component exporting nothing is refused with its likely cause in the admins' report.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{fresh_loopback, Host, GAME};

/// The workspace root (the tests' crate is `host/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The cargo that runs these tests.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

#[test]
fn building_two_plugin_kinds_in_one_cargo_invocation_fails_naming_the_cause() {
    // `box` is a cmdset module, `nick` an input hook: one `cargo build` unifies the SDK's kind
    // features. The guests' target folder is shared, so only the SDK is compiled for this.
    let out = cargo()
        .current_dir(root())
        .args(["build", "--profile", "guest", "--target", "wasm32-wasip2"])
        .args(["--target-dir", "target/wasm", "-p", "box", "-p", "nick"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build succeeded:\n{stderr}");
    assert!(
        stderr.contains("mudhost-sdk: more than one plugin kind enabled")
            && stderr.contains("build each kind in its own `cargo build`"),
        "{stderr}"
    );
}

/// The smallest valid component: the header alone, exporting nothing.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

#[tokio::test]
async fn a_component_exporting_nothing_is_refused_with_its_likely_cause_in_the_module_report() {
    let host = Host::start_prepared(GAME, "input_hooks = [\"character\"]", &[], |dir| {
        std::fs::write(dir.join("modules/empty.wasm"), EMPTY_COMPONENT).unwrap();
    });
    // The first account is the superuser, who may list the modules.
    let mut root = host.player_from("Root", &fresh_loopback().to_string()).await;
    root.send_text("modules").await;
    let report = root.expect_text("Modules:").await;
    let line = report.lines().find(|l| l.contains("empty")).unwrap_or_else(|| panic!("{report}"));
    assert!(line.starts_with("REJECTED"), "{line}");
    for part in [
        "does not export mudhost:game/cmdset@0.4.0 (exports: nothing)",
        "likely cause: its crate declares no cmdset (no `cmdset!`), or it was built in one cargo \
         invocation with a crate of another plugin kind",
        "build each module crate alone (`mudhost build DIR`)",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    // A module of the wrong kind for its role: the admin's warning says how the role is built.
    let log = host.log();
    assert!(
        log.contains(
            "not an input hook: it is skipped as a hook (an input hook is built with the SDK \
             feature `input-hook` and `input_hook!`)"
        ),
        "{log}"
    );
}
