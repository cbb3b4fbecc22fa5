//! The garden gate of the example game: an exit from the garden to the Orchard that starts
//! closed, opens with `open gate` and closes itself ten seconds later (Evennia's `utils.delay`,
//! here a persistent timer, so a reload or crash in between does not leave it open).
//!
//! The gate is an exit with a `door` attribute; the character module's exit command refuses to
//! move anyone through a door without an `open` attribute ("The gate is closed."). The gate lends
//! this module's cmdset (its `open` command) to whoever stands in the garden.

use std::time::Duration;

use mudhost_sdk::host::{self, Persistence, Timer};
use mudhost_sdk::{cmdset, CmdResult, CmdsetHolder, Command, HostError, Invocation, LogLevel, Obj};

const ORCHARD_DESC: &str = "Old apple trees stand in rows, their branches heavy with fruit. The \
|wgarden|n lies back through the gate.";

/// How long the gate stays open.
const OPEN_FOR: Duration = Duration::from_secs(10);
/// The payload of the timer that closes it.
const CLOSE: &str = "close gate";

fn check(result: Result<(), HostError>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;
    use mudhost_sdk::{Guest, Sessid};

    /// The garden (as the character module builds it) with the gate built, and Anna standing
    /// in it; her `open` runs as the gate's lent command.
    fn garden() -> (TestHost, Obj, Obj, Sessid) {
        let host = TestHost::new();
        host.timer_handler(<CmdSet as Guest>::at_timer);
        let garden = host.room("The Garden", "Roses.");
        build();
        let gate = Obj::search("gate", Some(garden)).into_iter().next().expect("the gate");
        let anna = host.player("Anna", garden);
        (host, garden, gate, anna)
    }

    /// `open gate` as typed near the gate: the command comes from the gate.
    fn open(host: &TestHost, who: Sessid, gate: Obj, expected: &str) -> String {
        let mut inv = host.invocation::<Open>(who, "gate");
        inv.matches = vec![format!("#{}", gate.id())];
        host.run::<Open>(inv, expected)
    }

    #[test]
    fn the_gate_is_built_closed_and_lends_its_command() {
        let (host, _, gate, _) = garden();
        assert_eq!(gate.attr("door").as_deref(), Some("gate"));
        assert_eq!(gate.attr("open"), None);
        assert_eq!(host.cmdsets(CmdsetHolder::Object(gate.id())), ["gate"]);
        let orchard = gate.attr("destination").and_then(|d| Obj::parse(&format!("#{d}")));
        assert_eq!(orchard.map(|o| o.name()).as_deref(), Some("The Orchard"));
        build();
        assert_eq!(Obj::search("gate", None).len(), 1, "building again adds no second gate");
    }

    #[test]
    fn the_gate_closes_ten_seconds_after_opening() {
        let (host, garden, gate, anna) = garden();
        let bob = host.player("Bob", garden);
        open(&host, anna, gate, "You open the gate.");
        assert_eq!(gate.attr("open").as_deref(), Some("yes"));
        assert_eq!(host.output(bob), ["Anna opens the gate."]);
        let timers = host.timers();
        assert_eq!(timers.len(), 1);
        assert_eq!(timers[0].obj, Some(gate.id()));
        assert!(timers[0].persistent, "a reload must not leave the gate open");

        host.advance(9_999);
        assert_eq!(gate.attr("open").as_deref(), Some("yes"), "still open at 9.999 s");
        host.advance(1);
        assert_eq!(gate.attr("open"), None, "closed at 10 s");
        assert_eq!(host.take_output(bob).last().map(String::as_str), Some("The gate swings shut."));
        assert_eq!(host.output(anna).last().map(String::as_str), Some("The gate swings shut."));
        assert!(host.timers().is_empty(), "a one-shot timer is gone once fired");
    }

    #[test]
    fn an_open_gate_cannot_be_opened_again_and_only_one_timer_runs() {
        let (host, _, gate, anna) = garden();
        open(&host, anna, gate, "You open the gate.");
        host.advance(5_000);
        open(&host, anna, gate, "The gate is already open.");
        assert_eq!(host.timers().len(), 1);
        host.advance(5_000);
        assert_eq!(gate.attr("open"), None, "closed ten seconds after the first opening");
        open(&host, anna, gate, "You open the gate.");
    }

    #[test]
    fn a_deleted_gate_takes_its_timer_with_it() {
        let (host, _, gate, anna) = garden();
        open(&host, anna, gate, "You open the gate.");
        host.as_session(anna, || gate.delete()).unwrap();
        assert!(host.timers().is_empty());
        host.advance(20_000);
    }

    #[test]
    fn open_needs_a_character_and_a_gate() {
        let (host, _, gate, anna) = garden();
        let mut inv = host.invocation::<Open>(anna, "gate");
        inv.matches = vec![];
        host.run::<Open>(inv, "You don't see a gate here.");
        let stranger = host.session();
        open(&host, stranger, gate, "You are not puppeting a character.");
        assert!(host.timers().is_empty());
    }
}
