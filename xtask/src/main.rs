//! Project task runner, so the README's two commands need nothing but rustup:
//!
//! - `cargo xtask run [-- mudhost start args]`: add the wasm32-wasip2 target, build the example
//!   modules, create `game/` if missing, copy the modules in, start the host on ws://127.0.0.1:4002.
//! - `cargo xtask test`: install the system packages tests drive when missing
//!   (`scripts/test-deps.sh`: tintin++, Chromium and its WebDriver), add the target, build the
//!   modules (including the misbehaving ones the tests load), then run every test: the host's,
//!   the SDK's, and the example modules' native unit tests (against the SDK's test host).
//! - `cargo xtask guests`: only build the modules.
//! - `cargo xtask deps`: only install the system packages the tests drive, when missing.
//! - `cargo xtask features`: only check that `cargo build` and `cargo test` give the host's
//!   dependencies the same features (so switching between run and test rebuilds nothing).
//! - `cargo xtask bench [scenario args]`: release builds, then the load generator's scenarios
//!   (restart, hot reload, throughput, logins, the crash soak) and `cargo bench`. Figures are printed, never asserted.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod python;

/// Guest crates built for every game (the example game): cmdset modules.
const GAME_MODULES: &[&str] = &[
    "unloggedin",
    "account",
    "character",
    "box",
    "gate",
    "builder",
    // Channels, help, execute
    "comms",
];
/// Example hook modules. Each plugin kind is built in its own cargo run, because the SDK picks the
/// module's WIT world by feature and cargo unifies features within one run.
const GAME_INPUT_HOOKS: &[&str] = &["nick", "spamguard"];
const GAME_SESSION_CLASSES: &[&str] = &["chargen"];
// Object classes
const GAME_OBJECT_CLASSES: &[&str] = &["gardener"];
/// Guest crates only the tests load, by plugin kind.
const TEST_MODULES: &[&str] = &[
    "trouble",
    "wrong-world",
    "load-panic",
    "wrong-version",
    "hostile",
    "provtest",
    "timertest",
    // World model
    "worldtest",
];
const TEST_INPUT_HOOKS: &[&str] = &["hooktest"];
const TEST_SESSION_CLASSES: &[&str] = &["classprobe"];
const TEST_OBJECT_CLASSES: &[&str] = &["objtest"];
/// The guest target.
const TARGET: &str = "wasm32-wasip2";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = args.split_first().map(|(t, r)| (t.as_str(), r)).unwrap_or(("help", &[]));
    let result = match task {
        "guests" => build_guests(true).and_then(|_| python_guests(false, true)),
        "deps" => test_packages(),
        "features" => same_features(),
        "run" => run(rest),
        "test" => test(rest),
        "bench" => bench(rest),
        _ => {
            eprintln!("usage: cargo xtask <run|test|guests|deps|features|bench> [args]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The checkout xtask acts on, found at run time (never compiled in: a copied or moved checkout
/// whose xtask binary is still fresh must act on itself, not on the checkout it was built in).
/// `cargo xtask` is `cargo run -p xtask`, which gives the running program the package's folder in
/// `CARGO_MANIFEST_DIR`; without it (the binary run directly), the workspace of the current
/// directory as `cargo locate-project --workspace` finds it.
fn root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| match find_root() {
        Ok(root) => root,
        Err(e) => {
            eprintln!("xtask: {e}");
            std::process::exit(2);
        }
    })
    .clone()
}

fn find_root() -> Result<PathBuf, String> {
    if let Some(root) = root_from_manifest_dir(std::env::var_os("CARGO_MANIFEST_DIR")) {
        return Ok(root);
    }
    let out = cargo()
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .map_err(|e| format!("cannot run cargo locate-project: {e}"))?;
    let manifest = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let root = Path::new(&manifest).parent().filter(|_| out.status.success());
    match root {
        Some(root) if root.join("xtask/Cargo.toml").is_file() => Ok(root.to_owned()),
        _ => Err("not inside the mudhost checkout (run `cargo xtask` from it)".into()),
    }
}

/// The checkout whose xtask package is in `dir` (cargo run's `CARGO_MANIFEST_DIR`), if it is one.
fn root_from_manifest_dir(dir: Option<std::ffi::OsString>) -> Option<PathBuf> {
    let root = Path::new(&dir?).parent()?.to_owned();
    root.join("xtask/Cargo.toml").is_file().then_some(root)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn status(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let st = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({st})"))
    }
}

/// The folder cargo builds guest `.wasm` files into.
fn cargo_out_dir() -> PathBuf {
    root().join("target/wasm").join(TARGET).join("guest")
}

/// The folder the finished modules are collected in (what the tests load).
fn modules_out_dir() -> PathBuf {
    root().join("target/wasm/modules")
}

fn cargo_build_guests(crates: &[&str], features: &[&str]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.current_dir(root()).args([
        "build",
        "--profile",
        "guest",
        "--target",
        TARGET,
        "--target-dir",
        "target/wasm",
    ]);
    for c in crates {
        cmd.args(["-p", c]);
    }
    for f in features {
        cmd.args(["--features", f]);
    }
    status(&mut cmd)
}

fn collect(krate: &str, as_name: &str) -> Result<(), String> {
    let from = cargo_out_dir().join(format!("{}.wasm", krate.replace('-', "_")));
    let to = modules_out_dir().join(format!("{as_name}.wasm"));
    std::fs::copy(&from, &to).map(|_| ()).map_err(|e| format!("copying {}: {e}", from.display()))
}

/// Install the target if missing, build the guests and collect them; returns the folder.
fn build_guests(with_test_modules: bool) -> Result<PathBuf, String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
        .unwrap_or(false);
    if !installed {
        status(Command::new("rustup").args(["target", "add", TARGET]))?;
    }
    std::fs::create_dir_all(modules_out_dir()).map_err(|e| e.to_string())?;
    let kinds: [(&[&str], &[&str]); 4] = [
        (GAME_MODULES, TEST_MODULES),
        (GAME_INPUT_HOOKS, TEST_INPUT_HOOKS),
        (GAME_SESSION_CLASSES, TEST_SESSION_CLASSES),
        (GAME_OBJECT_CLASSES, TEST_OBJECT_CLASSES),
    ];
    for (game, test) in kinds {
        let mut crates: Vec<&str> = game.to_vec();
        if with_test_modules {
            crates.extend(test);
        }
        cargo_build_guests(&crates, &[])?;
        for c in &crates {
            collect(c, &c.replace('-', "_"))?;
        }
    }
    if with_test_modules {
        cargo_build_guests(&["hooktest"], &["hooktest/b"])?;
        collect("hooktest", "hooktest_b")?;
        cargo_build_guests(&["hooktest"], &["hooktest/v2"])?;
        collect("hooktest", "hooktest_v2")?;
        cargo_build_guests(&["hooktest"], &[])?;
        cargo_build_guests(&["provtest"], &["provtest/noexits"])?;
        collect("provtest", "provtest_noexits")?;
        cargo_build_guests(&["provtest"], &["provtest/keymerge"])?;
        collect("provtest", "provtest_keymerge")?;
        cargo_build_guests(&["provtest"], &[])?;
        // A second build of `trouble` that answers "v2", for the hot-reload tests.
        cargo_build_guests(&["trouble"], &["trouble/v2"])?;
        collect("trouble", "trouble_v2")?;
        // Restore the v1 build in cargo's folder so the next incremental build is a no-op.
        cargo_build_guests(&["trouble"], &[])?;
        // Load-time attacks of the hostile module: a sleeping `at-load`, a huge alias list.
        cargo_build_guests(&["hostile"], &["hostile/sleepy-load"])?;
        collect("hostile", "hostile_sleepy_load")?;
        cargo_build_guests(&["hostile"], &["hostile/many-aliases"])?;
        collect("hostile", "hostile_aliases")?;
        cargo_build_guests(&["hostile"], &[])?;
    }
    Ok(modules_out_dir())
}

/// Build the Python modules (`guest-examples/python/`, `xtask/src/python.rs`): with `install`,
/// componentize-py is installed into the checkout's venv first; without, they are skipped (with
/// a note) when it is not installed.
fn python_guests(install: bool, with_test_modules: bool) -> Result<(), String> {
    let bin = if install {
        python::install(&root())?
    } else {
        match python::componentize_py(&root()) {
            Some(bin) => bin,
            None => {
                eprintln!("xtask: componentize-py is not installed (`cargo xtask test` installs it); Python modules skipped");
                return Ok(());
            }
        }
    };
    python::build(&root(), &modules_out_dir(), with_test_modules, &bin)
}

fn run(rest: &[String]) -> Result<(), String> {
    let out = build_guests(false)?;
    let game = root().join("game");
    if !game.join("mudhost.toml").exists() {
        status(
            cargo().current_dir(root()).args(["run", "-p", "mudhost", "--", "init"]).arg(&game),
        )?;
    }
    for m in GAME_MODULES
        .iter()
        .chain(GAME_INPUT_HOOKS)
        .chain(GAME_SESSION_CLASSES)
        .chain(GAME_OBJECT_CLASSES)
    {
        let from = out.join(format!("{m}.wasm"));
        let to = game.join("modules").join(format!("{m}.wasm"));
        // Copy beside, then rename: a running host sees only the complete file.
        let tmp = to.with_extension("wasm.tmp");
        std::fs::copy(&from, &tmp).map_err(|e| format!("copying {}: {e}", from.display()))?;
        std::fs::rename(&tmp, &to).map_err(|e| format!("installing {}: {e}", to.display()))?;
    }
    // The builder's example prototypes, once: afterwards the game's copies are the author's.
    let prototypes = game.join("prototypes");
    if !prototypes.exists() {
        std::fs::create_dir_all(&prototypes).map_err(|e| e.to_string())?;
        let examples = root().join("guest-examples/builder/prototypes");
        for e in std::fs::read_dir(&examples).map_err(|e| e.to_string())? {
            let from = e.map_err(|e| e.to_string())?.path();
            if let Some(name) = from.file_name() {
                std::fs::copy(&from, prototypes.join(name)).map_err(|e| e.to_string())?;
            }
        }
    }
    let mut cmd = cargo();
    cmd.current_dir(root()).args(["run", "-p", "mudhost", "--", "start", "--config"]);
    cmd.arg(game.join("mudhost.toml"));
    cmd.args(rest);
    status(&mut cmd)
}

/// Install the system packages the tests drive when missing (`scripts/test-deps.sh`: tintin++,
/// Chromium and its WebDriver); nothing to do when present.
fn test_packages() -> Result<(), String> {
    status(Command::new("bash").arg(root().join("scripts/test-deps.sh")))
}

fn test(rest: &[String]) -> Result<(), String> {
    test_packages()?;
    lint()?;
    let out = build_guests(true)?;
    python_guests(true, true)?;
    let mut cmd = cargo();
    // The host alone (unit and integration tests): the same package set as `cargo xtask run`'s
    // build, so the two resolve the same features and switching between them rebuilds nothing
    // (see `same_features`).
    cmd.current_dir(root()).env("MUDHOST_GUEST_DIR", &out).args(["test", "-p", "mudhost"]);
    cmd.args(rest);
    status(&mut cmd)?;
    guest_unit_tests()?;
    fuzz_briefly()
}

/// The SDK's and the task runner's own tests, then the example modules' native unit tests (their
/// commands run against the SDK's test host, feature `testing`). One cargo run per plugin kind,
/// as for the wasm builds: cargo would unify the SDK's kind features across crates of different
/// kinds.
fn guest_unit_tests() -> Result<(), String> {
    status(cargo().current_dir(root()).args([
        "test",
        "-p",
        "mudhost-sdk",
        "-p",
        "xtask",
        "--features",
        "mudhost-sdk/testing",
    ]))?;
    for crates in [GAME_MODULES, GAME_INPUT_HOOKS, GAME_SESSION_CLASSES, GAME_OBJECT_CLASSES] {
        let mut cmd = cargo();
        cmd.current_dir(root()).arg("test");
        for c in crates {
            cmd.args(["-p", c]);
        }
        status(&mut cmd)?;
    }
    Ok(())
}

/// The code is formatted and lint-free: `cargo fmt --check` over the workspace and `cargo clippy
/// --all-targets -D warnings` over the host, the SDK (with and without its test host), the task
/// runner and the load generator.
fn lint() -> Result<(), String> {
    same_features()?;
    status(cargo().current_dir(root()).args(["fmt", "--all", "--check"]))?;
    status(cargo().current_dir(root()).args([
        "clippy",
        "-p",
        "mudhost",
        "-p",
        "mudhost-sdk",
        "-p",
        "xtask",
        "-p",
        "mudhost-loadgen",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The SDK's native test host (feature `testing`) is code of its own that guests' unit tests
    // compile: linted too.
    status(cargo().current_dir(root()).args([
        "clippy",
        "-p",
        "mudhost-sdk",
        "--features",
        "testing",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The host's dependencies resolve the same features with and without its test-only
/// dependencies (what `cargo build` / `cargo run` and `cargo test` each see), so switching
/// between `cargo xtask run` and `cargo xtask test` rebuilds nothing. `host/Cargo.toml` turns on
/// what the test-only dependencies would add; this names any crate that drifted.
fn same_features() -> Result<(), String> {
    let tree = |edges: &str| -> Result<std::collections::BTreeMap<String, String>, String> {
        let out = cargo()
            .current_dir(root())
            .args(["tree", "-p", "mudhost", "-e", edges, "--prefix", "none", "-f", "{p}|{f}"])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo tree failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('|'))
            .map(|(p, f)| (p.replace(" (*)", ""), f.replace(" (*)", "").trim().to_string()))
            .collect())
    };
    let build = tree("normal,build")?;
    let test = tree("normal,build,dev")?;
    let drifted: Vec<String> = build
        .iter()
        .filter_map(|(p, f)| {
            let t = test.get(p)?;
            (t != f).then(|| format!("{p}: build [{f}], test [{t}]"))
        })
        .collect();
    if drifted.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the host's dependencies get other features under `cargo test` than under `cargo \
             build` (switching would rebuild them); turn these on in host/Cargo.toml:\n  {}",
            drifted.join("\n  ")
        ))
    }
}

/// Run each fuzz target for a short budget (MUDHOST_FUZZ_SECS, default 20; 0 skips) — only
/// where the fuzz toolchain (nightly + cargo-fuzz) is installed, so the suite never needs nightly.
/// Under CI (`CI` set) it runs only when MUDHOST_FUZZ_SECS asks for it: a cold fuzz build would
/// add minutes to CI's time budget.
fn fuzz_briefly() -> Result<(), String> {
    let asked = std::env::var("MUDHOST_FUZZ_SECS").ok();
    let under_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if asked.is_none() && under_ci {
        eprintln!("xtask: CI: fuzzing skipped (set MUDHOST_FUZZ_SECS to run it)");
        return Ok(());
    }
    let secs = asked.unwrap_or_else(|| "20".into());
    if secs == "0" {
        return Ok(());
    }
    let present = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        eprintln!("xtask: no nightly cargo-fuzz here; fuzzing skipped");
        return Ok(());
    }
    status(Command::new(root().join("scripts/fuzz.sh")).arg(&secs).current_dir(root()))
}

fn bench(rest: &[String]) -> Result<(), String> {
    let out = build_guests(true)?;
    python_guests(false, false)?;
    status(cargo().current_dir(root()).args([
        "build",
        "--release",
        "-p",
        "mudhost",
        "-p",
        "mudhost-loadgen",
    ]))?;
    let bin = root().join("target/release/mudhost");
    let loadgen = root().join("target/release/mudhost-loadgen");
    let scenarios: Vec<Vec<String>> = if rest.is_empty() {
        vec![
            vec!["restart".into(), "1000".into()],
            vec!["hotreload".into(), "200".into(), "20".into()],
            vec!["throughput".into(), "1000".into(), "10".into()],
            vec!["logins".into(), "200".into()],
            vec!["soak".into(), "100".into(), "30".into(), "10".into()],
            vec!["pycost".into(), "2000".into()],
        ]
    } else {
        vec![rest.to_vec()]
    };
    for s in scenarios {
        status(
            Command::new(&loadgen).args(&s).env("MUDHOST_BIN", &bin).env("MUDHOST_GUEST_DIR", &out),
        )?;
    }
    if rest.is_empty() {
        status(
            cargo()
                .current_dir(root())
                .env("MUDHOST_GUEST_DIR", &out)
                .args(["bench", "-p", "mudhost"]),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_checkout_acts_on_itself_not_where_xtask_was_built() {
        // A copy of the checkout elsewhere: `cargo run` there names its own xtask folder.
        let copy = std::env::temp_dir().join(format!("xtask-moved-{}", std::process::id()));
        std::fs::create_dir_all(copy.join("xtask")).unwrap();
        std::fs::write(copy.join("xtask/Cargo.toml"), "").unwrap();
        let found = root_from_manifest_dir(Some(copy.join("xtask").into_os_string()));
        std::fs::remove_dir_all(&copy).unwrap();
        assert_eq!(found, Some(copy));
        // Not a checkout: no root from it (the current directory's workspace is asked instead).
        assert_eq!(root_from_manifest_dir(Some(std::env::temp_dir().into_os_string())), None);
        assert_eq!(root_from_manifest_dir(None), None);
    }

    #[test]
    fn cargo_build_and_cargo_test_give_the_host_the_same_dependency_features() {
        same_features().unwrap();
    }
}
