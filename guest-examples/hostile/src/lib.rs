//! Commands a careless or hostile game author might write, one per attack on the host: blocking
//! (sleep), ambient randomness, exit, output and object floods, huge argument lists and values,
//! log forging and floods, bad out-of-band messages. The host's `tests/hostile.rs` checks that each
//! is cut off or refused and that other players are still answered promptly.
//!
//! Two other builds of this crate are load-time attacks: `--features sleepy-load` (an `at-load`
//! that sleeps) and `--features many-aliases` (a cmdset with 150,000 aliases).

use std::time::Duration;

use mudhost_sdk::host;
use mudhost_sdk::{CmdResult, Command, Invocation, LogLevel, Obj};

/// A direct import of `wasi:random`, as a module reaching around std would use it.
mod wasi_random {
    wit_bindgen::generate!({
        inline: "
            package wasi:random@0.2.3;
            interface random {
                get-random-u64: func() -> u64;
            }
            world direct-random {
                import random;
            }
        ",
        world: "direct-random",
    });
}

/// The first whitespace-separated argument as a number, or `default`.
fn number(inv: &Invocation, default: u64) -> u64 {
    inv.args_trimmed().split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// The n-th (0-based) argument as a number, or `default`.
fn nth(inv: &Invocation, n: usize, default: u64) -> u64 {
    inv.args_trimmed().split_whitespace().nth(n).and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// `sleep <seconds>`: `std::thread::sleep` (a clock subscription blocked on through wasi:io/poll).
struct Sleep;
impl Command for Sleep {
    const KEY: &'static str = "sleep";
    const HELP: &'static str = "Sleep for N seconds (default 10).";
    fn func(inv: &Invocation) -> CmdResult {
        std::thread::sleep(Duration::from_secs(number(inv, 10)));
        inv.msg("slept");
        Ok(())
    }
}

/// `random`: read wasi:random directly.
struct Random;
impl Command for Random {
    const KEY: &'static str = "random";
    const HELP: &'static str = "Read a random number from wasi:random.";
    fn func(inv: &Invocation) -> CmdResult {
        let n = wasi_random::wasi::random::random::get_random_u64();
        inv.msg(format!("random {n}"));
        Ok(())
    }
}

/// `hashseed`: what std's `HashMap` seeding gets (wasi:random/insecure-seed).
struct HashSeed;
impl Command for HashSeed {
    const KEY: &'static str = "hashseed";
    const HELP: &'static str = "Hash a fixed value with a fresh std RandomState.";
    fn func(inv: &Invocation) -> CmdResult {
        use std::hash::BuildHasher;
        let h = std::collections::hash_map::RandomState::new().hash_one("mudhost");
        inv.msg(format!("hashseed {h}"));
        Ok(())
    }
}

/// `exit <code>`: `std::process::exit`.
struct Exit;
impl Command for Exit {
    const KEY: &'static str = "exit";
    const HELP: &'static str = "Exit the guest with a status code (default 3).";
    fn func(inv: &Invocation) -> CmdResult {
        std::process::exit(number(inv, 3) as i32)
    }
}

/// `flood <count> <bytes>`: send `count` messages of `bytes` bytes to the caller.
struct Flood;
impl Command for Flood {
    const KEY: &'static str = "flood";
    const HELP: &'static str = "Send COUNT messages of BYTES bytes to yourself.";
    fn func(inv: &Invocation) -> CmdResult {
        let (count, bytes) = (nth(inv, 0, 100_000), nth(inv, 1, 10) as usize);
        let text = "x".repeat(bytes);
        for _ in 0..count {
            inv.msg(&text);
        }
        inv.msg("flood done");
        Ok(())
    }
}

/// `exclude <n>`: msg-contents of the caller's room with an exclusion list of n ids.
struct Exclude;
impl Command for Exclude {
    const KEY: &'static str = "exclude";
    const HELP: &'static str = "Message your room, excluding N made-up ids.";
    fn func(inv: &Invocation) -> CmdResult {
        let n = number(inv, 3_000_000);
        let room = inv.puppet().and_then(|p| p.location()).ok_or("You are nowhere.")?;
        let exclude: Vec<u64> = (1_000_000_000..1_000_000_000 + n).collect();
        host::msg_contents(room.0, "exclude: hello room", &exclude);
        inv.msg("exclude done");
        Ok(())
    }
}

/// `spawn <n>`: create n objects in the caller's room.
struct Spawn;
impl Command for Spawn {
    const KEY: &'static str = "spawn";
    const HELP: &'static str = "Create N objects in your room.";
    fn func(inv: &Invocation) -> CmdResult {
        let n = number(inv, 100_000);
        let room = inv.puppet().and_then(|p| p.location());
        for i in 0..n {
            Obj::create(&format!("pebble{i}"), "thing", room);
        }
        inv.msg(format!("spawned {n}"));
        Ok(())
    }
}

/// `bigattr <object|account> <bytes>`: store an attribute value of that size.
struct BigAttr;
impl Command for BigAttr {
    const KEY: &'static str = "bigattr";
    const HELP: &'static str = "Store an attribute of BYTES bytes on your character or account.";
    fn func(inv: &Invocation) -> CmdResult {
        let bytes = nth(inv, 1, 8 << 20) as usize;
        let value = "v".repeat(bytes);
        if inv.args_trimmed().starts_with("account") {
            let account = inv.account().ok_or("No account.")?;
            host::account_attr_set(account.0, "big", Some(&value))?;
            inv.msg("bigattr account stored");
        } else {
            let me = inv.puppet().ok_or("No character.")?;
            match host::object_attr_set(me.0, "big", Some(&value)) {
                Ok(()) => inv.msg("bigattr object stored"),
                Err(e) => inv.msg(format!("bigattr refused: {e}")),
            }
        }
        Ok(())
    }
}

/// `ndbfill <bytes>`: store one ndb value of that size.
struct NdbFill;
impl Command for NdbFill {
    const KEY: &'static str = "ndbfill";
    const HELP: &'static str = "Store an ndb value of BYTES bytes.";
    fn func(inv: &Invocation) -> CmdResult {
        let value = "n".repeat(number(inv, 1 << 20) as usize);
        host::ndb_set("fill", Some(&value));
        inv.msg("ndbfill stored");
        Ok(())
    }
}

/// `logforge`: a log message with line breaks and terminal escapes that mimic a host line.
struct LogForge;
impl Command for LogForge {
    const KEY: &'static str = "logforge";
    const HELP: &'static str = "Log a message that tries to forge a second log line.";
    fn func(inv: &Invocation) -> CmdResult {
        host::log(
            LogLevel::Info,
            "innocent\n2026-01-01T00:00:00Z ERROR mudhost::server: FORGED superuser granted\x1b[2K",
        );
        inv.msg("logforge done");
        Ok(())
    }
}

/// `logflood <lines> <bytes>`: write many long log lines.
struct LogFlood;
impl Command for LogFlood {
    const KEY: &'static str = "logflood";
    const HELP: &'static str = "Write LINES log lines of BYTES bytes.";
    fn func(inv: &Invocation) -> CmdResult {
        let (lines, bytes) = (nth(inv, 0, 10_000), nth(inv, 1, 65_536) as usize);
        let text = "L".repeat(bytes);
        for _ in 0..lines {
            host::log(LogLevel::Info, &text);
        }
        inv.msg("logflood done");
        Ok(())
    }
}

/// `stderrflood <bytes>`: print that much to stderr (where panic messages go).
struct StderrFlood;
impl Command for StderrFlood {
    const KEY: &'static str = "stderrflood";
    const HELP: &'static str = "Print BYTES bytes to stderr.";
    fn func(inv: &Invocation) -> CmdResult {
        use std::io::Write;
        let chunk = "E".repeat(4096);
        let mut err = std::io::stderr();
        for _ in 0..number(inv, 1 << 20) / 4096 {
            // Errors are ignored: only the host can stop this loop.
            let _ = err.write_all(chunk.as_bytes());
        }
        inv.msg("stderrflood done");
        Ok(())
    }
}

/// `oob <empty|deep|big>`: a bad out-of-band message; reports what the host answered.
struct Oob;
impl Command for Oob {
    const KEY: &'static str = "oob";
    const HELP: &'static str =
        "Send an out-of-band message with an empty name, deep JSON or huge JSON.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.session.sessid;
        let result = match inv.args_trimmed() {
            "empty" => host::send_oob(me, "", "[]", "{}"),
            "deep" => host::send_oob(
                me,
                "deep",
                &format!("[{}{}]", "[".repeat(100), "]".repeat(100)),
                "{}",
            ),
            "big" => host::send_oob(me, "big", &format!("[\"{}\"]", "b".repeat(4 << 20)), "{}"),
            _ => host::send_oob(me, "fine", "[1]", "{}"),
        };
        match result {
            Ok(()) => inv.msg("oob sent"),
            Err(e) => inv.msg(format!("oob refused: {e}")),
        }
        Ok(())
    }
}

/// `masscreate <n>`: ask for n accounts in one command (each would start a password hash).
struct MassCreate;
impl Command for MassCreate {
    const KEY: &'static str = "masscreate";
    const HELP: &'static str = "Request N account creations in one command.";
    fn func(inv: &Invocation) -> CmdResult {
        let (mut accepted, mut refusal) = (0, String::new());
        for i in 0..number(inv, 300) {
            match host::create_account(&format!("Mass{i}"), "password123") {
                Ok(()) => accepted += 1,
                Err(e) => refusal = e.to_string(),
            }
        }
        inv.msg(format!("masscreate accepted {accepted}; last refusal: {refusal}"));
        Ok(())
    }
}

/// `fine`: a cheap, well-behaved command.
struct Fine;
impl Command for Fine {
    const KEY: &'static str = "fine";
    const HELP: &'static str = "Answer \"hostile fine\".";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg("hostile fine");
        Ok(())
    }
}

// Channels, help, execute: execute-cmd attacks.

/// `execloop`: a command that makes its caller run itself again, forever (stopped by
/// `execute_cmd_max_depth`); says the refusal it gets.
struct ExecLoop;
impl Command for ExecLoop {
    const KEY: &'static str = "execloop";
    const HELP: &'static str = "Run execloop again through execute-cmd.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("not puppeting")?;
        inv.msg("execloop ran");
        host::execute_cmd(me, "execloop").map_err(|e| format!("execloop refused: {e}"))
    }
}

/// `execfan`: a command that runs itself twice, so the lines double at every depth (stopped by
/// `execute_cmd_max_per_unit` before the depth bound).
struct ExecFan;
impl Command for ExecFan {
    const KEY: &'static str = "execfan";
    const HELP: &'static str = "Run execfan twice through execute-cmd.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("not puppeting")?;
        for _ in 0..2 {
            host::execute_cmd(me, "execfan").map_err(|e| format!("execfan refused: {e}"))?;
        }
        Ok(())
    }
}

/// `execlater`: in a moment, a timer makes the caller's character say "tick" (execute-cmd from
/// `at-timer`).
struct ExecLater;
impl Command for ExecLater {
    const KEY: &'static str = "execlater";
    const HELP: &'static str = "Make your character say tick from a timer.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("not puppeting")?;
        host::delay(Duration::from_millis(200), "say tick", Some(me), host::Persistence::Memory)?;
        inv.msg("execlater scheduled");
        Ok(())
    }
}

/// A firing of `execlater`'s timer: the character runs the payload.
#[cfg(not(feature = "many-aliases"))]
fn at_timer(timer: mudhost_sdk::TimerInfo) {
    if let Some(me) = timer.obj.map(Obj) {
        if let Err(e) = host::execute_cmd(me, &timer.payload) {
            host::log(LogLevel::Warn, format!("execlater: {e}"));
        }
    }
}

/// `npc <name>`: a character no one puppets, in the caller's room (for `force`).
struct Npc;
impl Command for Npc {
    const KEY: &'static str = "npc";
    const HELP: &'static str = "Create an unpuppeted character in your room.";
    fn func(inv: &Invocation) -> CmdResult {
        let room = inv.puppet().and_then(|p| p.location());
        let name = inv.args_trimmed();
        Obj::create(name, "character", room);
        inv.msg(format!("npc {name} made"));
        Ok(())
    }
}

/// `execundo`: leave a `leftover` in the room, then make the caller run `exit` (which fails):
/// the executed line's failure must undo the leftover too.
struct ExecUndo;
impl Command for ExecUndo {
    const KEY: &'static str = "execundo";
    const HELP: &'static str = "Create a leftover, then execute a failing command.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("not puppeting")?;
        Obj::create("leftover", "thing", me.location());
        inv.msg("leftover made");
        Ok(host::execute_cmd(me, "exit 3")?)
    }
}

/// The `sleepy-load` build's load hook.
#[cfg(feature = "sleepy-load")]
fn sleepy_load() {
    std::thread::sleep(Duration::from_secs(3600));
}

#[cfg(feature = "sleepy-load")]
fn at_load() {
    sleepy_load()
}

#[cfg(not(feature = "sleepy-load"))]
fn at_load() {}

#[cfg(not(feature = "many-aliases"))]
mudhost_sdk::cmdset! {
    key: "HostileCmdSet", priority: 1, merge_type: Union,
    at_load: at_load,
    at_timer: at_timer,
    commands: [Sleep, Random, HashSeed, Exit, Flood, Exclude, Spawn, BigAttr, NdbFill, LogForge, LogFlood, StderrFlood, Oob, MassCreate, Fine,
        ExecLoop, ExecFan, ExecUndo, Npc, ExecLater],
}

/// The `many-aliases` build: one command declaring 150,000 aliases.
#[cfg(feature = "many-aliases")]
struct ManyAliases;

#[cfg(feature = "many-aliases")]
impl mudhost_sdk::Guest for ManyAliases {
    fn info() -> mudhost_sdk::CmdsetInfo {
        let mut fine = <Fine as Command>::info();
        fine.aliases = (0..150_000).map(|i| format!("alias{i}")).collect();
        mudhost_sdk::CmdsetInfo {
            key: "ManyAliasesCmdSet".into(),
            priority: 1,
            merge_type: mudhost_sdk::MergeType::Union,
            duplicates: None,
            no_exits: None,
            no_objs: None,
            commands: vec![fine],
        }
    }
    fn key_mergetypes() -> Vec<(String, mudhost_sdk::MergeType)> {
        vec![]
    }
    fn at_load() {
        at_load()
    }
    fn execute(inv: Invocation) {
        <Fine as Command>::run(&inv)
    }

    fn at_timer(_timer: mudhost_sdk::TimerInfo) {}
}

#[cfg(feature = "many-aliases")]
mudhost_sdk::export_cmdset!(ManyAliases);
