//! The garden gate of the example game: an exit from the garden to the Orchard that starts
//! closed, opens with `open gate` and closes itself ten seconds later (Evennia's `utils.delay`,
//! here a persistent timer, so a reload or crash in between does not leave it open).
//!
//! The gate is an exit with a `door` attribute; the character module's exit command refuses to
//! move anyone through a door without an `open` attribute ("The gate is closed."). The gate lends
//! this module's cmdset (its `open` command) to whoever stands in the garden.

use std::time::Duration;

use mudhost_sdk::host::{self, Persistence, Timer};
use mudhost_sdk::{cmdset, CmdResult, CmdsetHolder, Command, Invocation, LogLevel, Obj};

const ORCHARD_DESC: &str = "Old apple trees stand in rows, their branches heavy with fruit. The \
|wgarden|n lies back through the gate.";

/// How long the gate stays open.
const OPEN_FOR: Duration = Duration::from_secs(10);
/// The payload of the timer that closes it.
const CLOSE: &str = "close gate";

fn check(result: Result<(), String>) {
    if let Err(e) = result {
        host::log(LogLevel::Warn, format!("building the gate: {e}"));
    }
}

/// Build the Orchard and the gate once (the character module has built the garden before: it
/// loads first), and lend the gate this module's cmdset. Safe to run again.
fn build() {
    let Some(garden) = Obj::search("The Garden", None).into_iter().find(|o| o.is("room")) else {
        host::log(LogLevel::Warn, "no garden: the gate is not built");
        return;
    };
    let gate = match Obj::search("gate", Some(garden)).into_iter().find(|o| o.is("exit")) {
        Some(g) => g,
        None => {
            let orchard = Obj::search("The Orchard", None).into_iter().find(|o| o.is("room"));
            let orchard = orchard.unwrap_or_else(|| Obj::create("The Orchard", "room", None));
            check(orchard.set_attr("desc", ORCHARD_DESC));
            let back = Obj::create("garden", "exit", Some(orchard));
            check(back.set_attr("destination", garden.id().to_string()));
            let gate = Obj::create("gate", "exit", Some(garden));
            check(gate.set_attr("destination", orchard.id().to_string()));
            check(gate.set_attr("desc", "A wrought-iron gate in the garden wall."));
            gate
        }
    };
    check(gate.set_attr("door", "gate"));
    check(host::cmdset_add(CmdsetHolder::Object(gate.id()), "gate", true));
}

/// `open gate`.
struct Open;
impl Command for Open {
    const KEY: &'static str = "open";
    const HELP: &'static str =
        "Open the gate.\n\nUsage:\n  open gate\n\nIt swings shut by itself after a while.";
    /// Only `open gate`: `open box` is the box's command.
    const ARG_REGEX: Option<&'static str> = Some(r"(?i)^\s+gate\s*$");
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You are not puppeting a character.")?;
        let gate = inv.obj().filter(|o| o.is("exit")).ok_or("You don't see a gate here.")?;
        let room = me.location().ok_or("You don't see a gate here.")?;
        if gate.attr("open").is_some() {
            return Err("The gate is already open.".into());
        }
        gate.set_attr("open", "yes")?;
        host::delay(OPEN_FOR, CLOSE, Some(gate), Persistence::Persistent)?;
        inv.msg("You open the gate.");
        room.msg_contents(format!("{} opens the gate.", me.name()), &[me]);
        Ok(())
    }
}

/// The timer: the gate swings shut, and everyone in the garden sees it.
fn at_timer(timer: Timer) {
    if timer.payload != CLOSE {
        host::log(LogLevel::Warn, format!("unknown timer payload {:?}", timer.payload));
        return;
    }
    let Some(gate) = timer.obj.map(Obj).filter(|g| g.exists()) else { return };
    if gate.attr("open").is_none() {
        return;
    }
    check(gate.del_attr("open"));
    if let Some(garden) = gate.location() {
        garden.msg_contents("The gate swings shut.", &[]);
    }
}

cmdset! {
    key: "GateCmdSet", priority: 0, merge_type: Union,
    at_load: build,
    at_timer: at_timer,
    commands: [Open],
}
