//! Deliberately misbehaving commands for the host's sandbox tests: a panic, an infinite loop, a
//! memory bomb, a probe of what the sandbox lets through, and two well-behaved commands that show
//! the module still works after a trap and which version of it is loaded.

use std::hint::black_box;

use mudhost_sdk::{cmdset, CmdResult, Command, Invocation};

/// Changed by the hot-reload test to see which version of the module answers.
const VERSION: &str = "v1";

/// Panics (the guest traps; the caller sees "An untrapped error occurred.").
struct Panic;
impl Command for Panic {
    const KEY: &'static str = "panic";
    const HELP: &'static str = "Panic with \"deliberate panic\".";
    fn func(_: &Invocation) -> CmdResult {
        panic!("deliberate panic")
    }
}

/// Never returns: only the host's deadline can stop it.
struct Spin;
impl Command for Spin {
    const KEY: &'static str = "spin";
    const HELP: &'static str = "Loop forever.";
    fn func(_: &Invocation) -> CmdResult {
        let mut n: u64 = 0;
        loop {
            // black_box: the optimiser may not prove the loop does nothing and remove it.
            n = black_box(n.wrapping_add(1));
        }
    }
}

/// Allocates and touches 1 MiB blocks until memory runs out (trap or allocation failure).
struct Bomb;
impl Command for Bomb {
    const KEY: &'static str = "bomb";
    const HELP: &'static str = "Allocate memory until it runs out.";
    fn func(_: &Invocation) -> CmdResult {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(black_box(vec![0xA5; 1 << 20]));
            black_box(&hoard);
        }
    }
}

/// Reports what the sandbox lets through: files and environment (expected: nothing).
struct ReadFile;
impl Command for ReadFile {
    const KEY: &'static str = "readfile";
    const HELP: &'static str = "Try to read /etc/passwd and the environment; report what came back.";
    fn func(inv: &Invocation) -> CmdResult {
        let file = match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => format!("read {} bytes", text.len()),
            Err(e) => format!("error: {e}"),
        };
        let home = std::env::var("HOME").unwrap_or_else(|_| "none".into());
        let vars = std::env::vars().count();
        inv.msg(format!("file: {file}\nenv HOME: {home}\nenv vars: {vars}"));
        Ok(())
    }
}

/// Answers "trouble ok".
struct OkCmd;
impl Command for OkCmd {
    const KEY: &'static str = "ok";
    const HELP: &'static str = "Answer \"trouble ok\".";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg("trouble ok");
        Ok(())
    }
}

/// Echoes its argument with the module version: "echoback v1: {text}".
struct EchoBack;
impl Command for EchoBack {
    const KEY: &'static str = "echoback";
    const HELP: &'static str = "Echo the argument, tagged with this module's version.";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg(format!("echoback {VERSION}: {}", inv.args_trimmed()));
        Ok(())
    }
}

cmdset! {
    key: "TroubleCmdSet", priority: 1, merge_type: Union,
    commands: [Panic, Spin, Bomb, ReadFile, OkCmd, EchoBack],
}
