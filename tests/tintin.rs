//! A real MUD client end to end: tintin++ (Debian package `tintin++`, installed by
//! `scripts/test-deps.sh`) connects over telnet, creates an account, logs in, plays `look` and
//! `say`, and quits, driven by a tintin script whose actions answer what the game shows.

use crate::support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Host, GAME, WAIT};

/// The tintin++ binary: on PATH, or where Debian puts it.
fn tintin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("tt++")).find(|p| p.is_file()))
        .unwrap_or_default();
    on_path.or_else(|| Some(PathBuf::from("/usr/games/tt++")).filter(|p| p.is_file())).expect(
        "tintin++ is not installed: run `bash scripts/test-deps.sh` (cargo xtask test does)",
    )
}

#[test]
fn tintin_creates_an_account_logs_in_looks_says_and_quits() {
    // A generous guest deadline: the deadline is tests/hostile.rs's subject, and a loaded CI
    // machine must not fail tintin's `look`.
    let host = Host::start(GAME, "command_rate = 0\nguest_deadline_ms = 2000\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0");
    let addr = host.telnet.expect("telnet is on");
    let log = host.dir.path().join("tintin.log");
    let script = host.dir.path().join("play.tin");
    // Each action answers one screen; the session ends when the game disconnects us.
    std::fs::write(
        &script,
        format!(
            "#config {{log}} {{plain}}\n\
             #event {{SESSION CONNECTED}} {{#log {{overwrite}} {{{log}}}}}\n\
             #event {{SESSION DISCONNECTED}} {{#end}}\n\
             #action {{look will re-show this screen}} {{create Tintin secret123}}\n\
             #action {{was created}} {{connect Tintin secret123}}\n\
             #action {{You become Tintin}} {{look;say hello from tintin}}\n\
             #action {{You say, \"hello from tintin\"}} {{quit}}\n\
             #session mud {ip} {port}\n",
            log = log.display(),
            ip = addr.ip(),
            port = addr.port(),
        ),
    )
    .unwrap();
    // tintin++ needs a terminal with a size (it stops without one, and crashes on a 0x0 one):
    // `script` (util-linux) gives it a pseudo-terminal, sized first. Its stdin stays open
    // (piped, held below) so no end-of-input reaches tintin++.
    let inner =
        format!("stty rows 24 cols 100; exec {} -G {}", tintin().display(), script.display());
    let mut child = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .current_dir(host.dir.path())
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tintin++");
    let _stdin = child.stdin.take();
    let deadline = Instant::now() + WAIT * 2;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.is_some(),
        "tintin++ did not finish; it saw:\n{seen}\nhost log:\n{}",
        host.log()
    );
    for needle in [
        "Welcome to mudhost",
        "was created",
        "You become Tintin",
        "You say, \"hello from tintin\"",
        "Quitting. Hope to see you again, soon.",
    ] {
        assert!(seen.contains(needle), "tintin++ never saw {needle:?}; it saw:\n{seen}");
    }
    // The room is shown when the character is puppeted and again for `look`.
    assert!(seen.matches("Limbo").count() >= 2, "`look` showed no room; tintin++ saw:\n{seen}");
    // Nothing in the host failed along the way.
    let log = host.log();
    assert!(!log.contains("panicked"), "host log:\n{log}");
}
