//! Deliberately misbehaving commands for the host's sandbox tests: a panic, an infinite loop, a
//! memory bomb, a probe of what the sandbox lets through, and two well-behaved commands that show
//! the module still works after a trap and which version of it is loaded.

use std::hint::black_box;

use mudhost_sdk::{cmdset, CmdResult, Command, Invocation};

/// Which build of the module answers: the hot-reload tests swap a "v1" build for a "v2" one
/// (built with `--features v2`).
const VERSION: &str = if cfg!(feature = "v2") { "v2" } else { "v1" };

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
    const HELP: &'static str =
        "Try to read /etc/passwd and the environment; report what came back.";
    fn func(inv: &Invocation) -> CmdResult {
        let file = match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => format!("read {} bytes", text.len()),
            Err(e) => format!("error: {e}"),
        };
        let home = std::env::var("HOME").unwrap_or_else(|_| "none".into());
        let vars = std::env::vars().count();
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(u64::MAX);
        inv.msg(format!("file: {file}\nenv HOME: {home}\nenv vars: {vars}\nclock: {clock}"));
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

/// `ndbset <key> <value>`: store a value on the session's ndb.
struct NdbSet;
impl Command for NdbSet {
    const KEY: &'static str = "ndbset";
    const HELP: &'static str = "Store a value on this session's ndb.";
    fn func(inv: &Invocation) -> CmdResult {
        let (key, value) =
            inv.args_trimmed().split_once(' ').ok_or("Usage: ndbset <key> <value>")?;
        mudhost_sdk::host::ndb_set(key, Some(value));
        inv.msg(format!("ndb {key} = {value}"));
        Ok(())
    }
}

/// `ndbget <key>`: read a value from the session's ndb.
struct NdbGet;
impl Command for NdbGet {
    const KEY: &'static str = "ndbget";
    const HELP: &'static str = "Read a value from this session's ndb.";
    fn func(inv: &Invocation) -> CmdResult {
        let key = inv.args_trimmed();
        let value = mudhost_sdk::host::ndb_get(key).unwrap_or_else(|| "<unset>".into());
        inv.msg(format!("ndb {key} = {value}"));
        Ok(())
    }
}

/// `sessid`: the calling session's id.
struct Sessid;
impl Command for Sessid {
    const KEY: &'static str = "sessid";
    const HELP: &'static str = "Show this session's id.";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg(format!("sessid {}", mudhost_sdk::host::current_session().sessid));
        Ok(())
    }
}

/// `counter`: increments a guest-side static and reports it. The host keeps a module's instance
/// between successful calls, so it counts up; after a trap the instance is recreated and it
/// starts again at 1.
struct Counter;
impl Command for Counter {
    const KEY: &'static str = "counter";
    const HELP: &'static str =
        "Count calls in guest memory (reset when the instance is recreated).";
    fn func(inv: &Invocation) -> CmdResult {
        static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        inv.msg(format!("counter {n}"));
        Ok(())
    }
}

/// `counters`: the calling session's command counter (Evennia's cmd_total).
struct Counters;
impl Command for Counters {
    const KEY: &'static str = "counters";
    const HELP: &'static str = "Show this session's command counter.";
    fn func(inv: &Invocation) -> CmdResult {
        let s = mudhost_sdk::host::current_session();
        inv.msg(format!("cmd_total {}", s.cmd_total));
        Ok(())
    }
}

/// `marktrap <value>`: sets the `mark` attribute on the caller's character, creates an object
/// in its room, sets an ndb value, says so, then panics. A failed command must change nothing:
/// afterwards `mark` and the ndb value are as before, no object exists, and the text never arrives.
struct MarkTrap;
impl Command for MarkTrap {
    const KEY: &'static str = "marktrap";
    const HELP: &'static str = "Change the world and send text, then panic (nothing may stick).";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You have no character.")?;
        let value = inv.args_trimmed();
        me.set_attr("mark", value)?;
        mudhost_sdk::Obj::create("leftover", "thing", me.location());
        mudhost_sdk::host::ndb_set("mark", Some(value));
        inv.msg(format!("mark set to {value}"));
        mudhost_sdk::host::announce_all(format!("everyone: mark set to {value}"));
        panic!("deliberate panic after changing things")
    }
}

/// `markset <value>`: sets the `mark` attribute (the command that succeeds).
struct MarkSet;
impl Command for MarkSet {
    const KEY: &'static str = "markset";
    const HELP: &'static str = "Set the `mark` attribute on your character.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You have no character.")?;
        me.set_attr("mark", inv.args_trimmed())?;
        inv.msg(format!("mark set to {}", inv.args_trimmed()));
        Ok(())
    }
}

/// `markget`: the `mark` attribute, the ndb value and how many `leftover` objects exist.
struct MarkGet;
impl Command for MarkGet {
    const KEY: &'static str = "markget";
    const HELP: &'static str = "Show the `mark` attribute, ndb value and leftover objects.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You have no character.")?;
        let mark = me.attr("mark").unwrap_or_else(|| "<unset>".into());
        let ndb = mudhost_sdk::host::ndb_get("mark").unwrap_or_else(|| "<unset>".into());
        let leftovers = mudhost_sdk::Obj::search("leftover", None).len();
        inv.msg(format!("mark {mark}; ndb {ndb}; leftovers {leftovers}"));
        Ok(())
    }
}

/// `flood`: announces a 256 KiB text 300 times (75 MiB per session, more than a link frame can
/// carry to a few hundred players). The host's output quota must refuse it.
struct Flood;
impl Command for Flood {
    const KEY: &'static str = "flood";
    const HELP: &'static str = "Announce 300 texts of 256 KiB each.";
    fn func(_: &Invocation) -> CmdResult {
        let text = "x".repeat(256 * 1024);
        for _ in 0..300 {
            mudhost_sdk::host::announce_all(&text);
        }
        Ok(())
    }
}

/// `hoard`: stores 40 values of 1 MiB in the session's ndb (40 MiB that every restart would have
/// to hand over). The host's ndb quota must refuse it.
struct Hoard;
impl Command for Hoard {
    const KEY: &'static str = "hoard";
    const HELP: &'static str = "Store 40 MiB in this session's ndb.";
    fn func(inv: &Invocation) -> CmdResult {
        let value = "y".repeat(1024 * 1024);
        for i in 0..40 {
            mudhost_sdk::host::ndb_set(&format!("hoard{i}"), Some(&value));
        }
        inv.msg("hoarded");
        Ok(())
    }
}

/// `burst N`: sends the caller N numbered messages in one call (at most 500), so a connection
/// gets more output at once than one write batch.
struct Burst;
impl Command for Burst {
    const KEY: &'static str = "burst";
    const HELP: &'static str = "Send yourself N numbered messages at once.";
    fn func(inv: &Invocation) -> CmdResult {
        let n: u32 = inv.args_trimmed().parse().map_err(|_| "Usage: burst <n>")?;
        for i in 0..n.min(500) {
            inv.msg(format!("burst {i}"));
        }
        Ok(())
    }
}

/// `sessdata [sessid]`: everything the host keeps about a session, as JSON (host query
/// `session-data`), so tests can compare it field by field across a reload.
struct SessData;
impl Command for SessData {
    const KEY: &'static str = "sessdata";
    const HELP: &'static str = "Show a session's full host-side data as JSON.";
    fn func(inv: &Invocation) -> CmdResult {
        let id = inv.args_trimmed().parse().unwrap_or(inv.session.sessid);
        inv.msg(format!("sessdata {}", mudhost_sdk::host::session_data(id)?));
        Ok(())
    }
}

/// `kick <sessid>`: disconnect a session through the permission-checked host call.
struct Kick;
impl Command for Kick {
    const KEY: &'static str = "kick";
    const HELP: &'static str = "Disconnect a session (own account's, or any for a superuser).";
    fn func(inv: &Invocation) -> CmdResult {
        let id = inv.args_trimmed().parse().map_err(|_| "Usage: kick <sessid>")?;
        mudhost_sdk::host::disconnect_session(id, "kicked")?;
        inv.msg(format!("kicked {id}"));
        Ok(())
    }
}

/// `kickall`: disconnect everyone (superusers only).
struct KickAll;
impl Command for KickAll {
    const KEY: &'static str = "kickall";
    const HELP: &'static str = "Disconnect every session.";
    fn func(_: &Invocation) -> CmdResult {
        Ok(mudhost_sdk::host::disconnect_all("")?)
    }
}

/// `kickdups`: disconnect this account's other sessions.
struct KickDups;
impl Command for KickDups {
    const KEY: &'static str = "kickdups";
    const HELP: &'static str = "Disconnect this account's other sessions.";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg(format!("closed {}", mudhost_sdk::host::disconnect_duplicates("")));
        Ok(())
    }
}

/// `accounts`: names of the connected accounts, sorted.
struct Accounts;
impl Command for Accounts {
    const KEY: &'static str = "accounts";
    const HELP: &'static str = "List the connected accounts.";
    fn func(inv: &Invocation) -> CmdResult {
        let mut names: Vec<String> = mudhost_sdk::host::all_connected_accounts()
            .into_iter()
            .filter_map(mudhost_sdk::host::account_name)
            .collect();
        names.sort();
        inv.msg(format!("accounts {}", names.join(",")));
        Ok(())
    }
}

/// `csess <csessid>`: the sessions of one browser session.
struct Csess;
impl Command for Csess {
    const KEY: &'static str = "csess";
    const HELP: &'static str = "List the sessions of a browser session.";
    fn func(inv: &Invocation) -> CmdResult {
        let ids: Vec<String> = mudhost_sdk::host::sessions_from_csessid(inv.args_trimmed())
            .into_iter()
            .map(|s| s.sessid.to_string())
            .collect();
        inv.msg(format!("csessid sessions {}", ids.join(",")));
        Ok(())
    }
}

/// `announce <text>`: to every session, logged in or not.
struct Announce;
impl Command for Announce {
    const KEY: &'static str = "announce";
    const HELP: &'static str = "Send a text to every connected session.";
    fn func(inv: &Invocation) -> CmdResult {
        mudhost_sdk::host::announce_all(inv.args_trimmed());
        Ok(())
    }
}

/// `tellaccount <text>`: to every session of the caller's account.
struct TellAccount;
impl Command for TellAccount {
    const KEY: &'static str = "tellaccount";
    const HELP: &'static str = "Send a text to every session of your account.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = inv.account().ok_or("You are not logged in.")?;
        account.msg(inv.args_trimmed());
        Ok(())
    }
}

/// `sessadd <module>`: add a loaded module's cmdset to this session.
struct SessAdd;
impl Command for SessAdd {
    const KEY: &'static str = "sessadd";
    const HELP: &'static str = "Add a module's cmdset to this session.";
    fn func(inv: &Invocation) -> CmdResult {
        mudhost_sdk::host::session_cmdset_add(inv.args_trimmed())?;
        inv.msg(format!("session cmdset {}", inv.args_trimmed()));
        Ok(())
    }
}

/// `forgeowner`: try to make a character owned by the caller's account without the host's
/// `character-create` (which enforces the character limit); reports the host's answer.
struct ForgeOwner;
impl Command for ForgeOwner {
    const KEY: &'static str = "forgeowner";
    const HELP: &'static str = "Try to create an owned character behind the host's back.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = inv.account().ok_or("You are not logged in.")?;
        let ch = mudhost_sdk::Obj::create("Forged", "character", None);
        let result = ch.set_attr("owner_account", account.id().to_string());
        let _ = ch.delete();
        inv.msg(match result {
            Ok(()) => "forged".to_string(),
            Err(e) => format!("refused: {e}"),
        });
        Ok(())
    }
}

/// `cmdsetop add|addtemp|remove|list <target> [module]`: change or show a provider's cmdset
/// stack. Targets: `session`, `account`, `me` (the puppet), `here` (its location), `#<id>`, or
/// the name of an object in the room.
struct CmdsetOp;
impl Command for CmdsetOp {
    const KEY: &'static str = "cmdsetop";
    const HELP: &'static str = "Change or show a provider's cmdset stack.";
    fn func(inv: &Invocation) -> CmdResult {
        use mudhost_sdk::{host, CmdsetHolder, Obj};
        let words: Vec<&str> = inv.args_trimmed().split_whitespace().collect();
        let (op, target, module) = match words.as_slice() {
            [op, target] => (*op, *target, ""),
            [op, target, module] => (*op, *target, *module),
            _ => return Err("Usage: cmdsetop add|addtemp|remove|list <target> [module]".into()),
        };
        let me = inv.puppet();
        let holder = match target {
            "session" => CmdsetHolder::Session(inv.session.sessid),
            "account" => CmdsetHolder::Account(inv.account().ok_or("not logged in")?.id()),
            "me" => CmdsetHolder::Object(me.ok_or("no puppet")?.id()),
            "here" => {
                CmdsetHolder::Object(me.and_then(|m| m.location()).ok_or("no location")?.id())
            }
            t => {
                let obj = match Obj::parse(t) {
                    Some(o) => o,
                    None => Obj::find(
                        t,
                        &me.and_then(|m| m.location()).into_iter().collect::<Vec<_>>(),
                    )?,
                };
                CmdsetHolder::Object(obj.id())
            }
        };
        match op {
            "add" => host::cmdset_add(holder, module, true)?,
            "addtemp" => host::cmdset_add(holder, module, false)?,
            "remove" => host::cmdset_remove(holder, module)?,
            "list" => {
                inv.msg(format!("cmdsets on {target}: [{}]", host::cmdset_list(holder).join(", ")));
                return Ok(());
            }
            _ => return Err(format!("unknown op {op}")),
        }
        inv.msg(format!("cmdsetop {op} {target} {module}: ok"));
        Ok(())
    }
}

/// `spawnsets <n> <module>`: create n things in the room, each carrying the module's cmdset
/// (not persistent), for the merge-cost benchmark.
struct SpawnSets;
impl Command for SpawnSets {
    const KEY: &'static str = "spawnsets";
    const HELP: &'static str = "Create things carrying a module's cmdset.";
    fn func(inv: &Invocation) -> CmdResult {
        use mudhost_sdk::{host, CmdsetHolder, Obj};
        let (n, module) =
            inv.args_trimmed().split_once(' ').ok_or("Usage: spawnsets <n> <module>")?;
        let n: usize = n.parse().map_err(|_| "n must be a number")?;
        let room = inv.puppet().and_then(|p| p.location()).ok_or("no location")?;
        for i in 0..n {
            let thing = Obj::create(&format!("crate{i}"), "thing", Some(room));
            host::cmdset_add(CmdsetHolder::Object(thing.id()), module.trim(), false)?;
        }
        inv.msg(format!("spawned {n}"));
        Ok(())
    }
}

/// `mkexit <name> [fail]`: create an exit in the caller's room that leads back into it (for the
/// exit-command tests); with `fail`, panic afterwards so the creation is undone.
struct MkExit;
impl Command for MkExit {
    const KEY: &'static str = "mkexit";
    const HELP: &'static str = "Create an exit leading back into this room.";
    fn func(inv: &Invocation) -> CmdResult {
        use mudhost_sdk::Obj;
        let (name, fail) = match inv.args_trimmed().split_once(' ') {
            Some((name, flag)) => (name, flag.trim() == "fail"),
            None => (inv.args_trimmed(), false),
        };
        let room = inv.puppet().and_then(|p| p.location()).ok_or("no location")?;
        let exit = Obj::create(name, "exit", Some(room));
        exit.set_attr("destination", room.id().to_string())?;
        if fail {
            panic!("mkexit fails after creating the exit");
        }
        inv.msg(format!("exit {name} made"));
        Ok(())
    }
}

/// `buildertest`: only for Builders and above.
struct BuilderTest;
impl Command for BuilderTest {
    const KEY: &'static str = "buildertest";
    const HELP: &'static str = "A command locked to Builders and above.";
    const LOCKS: &'static str = "cmd:perm(Builder)";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg("builder ok");
        Ok(())
    }
}

/// `oob <cmdname> <json>`: send this session an out-of-band message; a JSON object becomes the
/// kwargs, anything else the args (a non-array wrapped in one).
struct Oob;
impl Command for Oob {
    const KEY: &'static str = "oob";
    const HELP: &'static str = "Send this session an out-of-band message: oob <cmdname> <json>.";
    fn func(inv: &Invocation) -> CmdResult {
        let args = inv.args_trimmed();
        let (cmd, json) = args.split_once(' ').unwrap_or((args, ""));
        let json = json.trim();
        let (a, k) = match json.chars().next() {
            None => ("[]".to_string(), "{}".to_string()),
            Some('{') => ("[]".to_string(), json.to_string()),
            Some('[') => (json.to_string(), "{}".to_string()),
            Some(_) => (format!("[{json}]"), "{}".to_string()),
        };
        Ok(mudhost_sdk::host::send_oob(inv.session.sessid, cmd, &a, &k)?)
    }
}

/// `links`: the game itself emits MXP links: a command link, and URL links with a
/// `javascript:`, a `data:` and an https target (only the last of those may become a link).
struct Links;
impl Command for Links {
    const KEY: &'static str = "links";
    const HELP: &'static str = "Show an MXP command link and URL links with several schemes.";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg(
            "links: |lclook|ltLook around|le \
             |lujavascript:alert(document.cookie)|ltjs|le \
             |ludata:text/html,<script>alert(1)</script>|ltdata|le \
             |luhttps://evennia.com|ltdocs|le",
        );
        Ok(())
    }
}

/// `rename <name>`: renames the caller's character (the host checks the name).
struct Rename;
impl Command for Rename {
    const KEY: &'static str = "rename";
    const HELP: &'static str = "Rename your character.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You have no character.")?;
        me.set_key(inv.args_trimmed())?;
        inv.msg(format!("renamed to {}", inv.args_trimmed()));
        Ok(())
    }
}

cmdset! {
    key: "TroubleCmdSet", priority: 1, merge_type: Union,
    commands: [
        Panic, Spin, Bomb, ReadFile, OkCmd, EchoBack, NdbSet, NdbGet, Sessid, Counter, Counters,
        MarkTrap, MarkSet, MarkGet, Flood, Hoard, Burst, SessData, Kick, KickAll, KickDups, Accounts,
        Csess, Announce, TellAccount, SessAdd, ForgeOwner, Oob, CmdsetOp, BuilderTest, SpawnSets,
        MkExit, Links, Rename,
    ],
}
