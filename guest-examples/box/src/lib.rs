//! Example cmdset carried by an object: the box in the garden (placed by the `character`
//! module's world). Whoever stands near the box (in the garden, or carrying it) gets these
//! commands merged into theirs; the box's `look` sits beside the character's, so a bare `look`
//! asks which one is meant (" look-2 (box)") and `look-2` picks the box's (Evennia's multimatch;
//! the player's own commands are numbered first).

use mudhost_sdk::{cmdset, CmdResult, Command, Invocation, Obj};

/// The box whose commands these are (Evennia's `self.obj`), else (the set lent by something
/// else, or added to a player) a box near the caller.
fn the_box(inv: &Invocation) -> Result<Obj, String> {
    if let Some(b) = inv.obj().filter(|o| o.is("thing")) {
        return Ok(b);
    }
    let me = inv.puppet().ok_or("You are not puppeting anything.")?;
    let places: Vec<Obj> = me.location().into_iter().chain([me]).collect();
    places
        .iter()
        .flat_map(|p| p.contents())
        .find(|o| o.is("thing") && o.name().eq_ignore_ascii_case("box"))
        .ok_or_else(|| "You don't see a box here.".to_string())
}

fn is_open(b: Obj) -> bool {
    b.attr("open").as_deref() == Some("yes")
}

/// `open box`.
struct Open;
impl Command for Open {
    const KEY: &'static str = "open";
    const HELP: &'static str = "Open the box.\n\nUsage:\n  open box";
    /// Only `open` alone or `open box`: other arguments (`open gate`) are left to other `open`
    /// commands instead of making the parser ask which one was meant.
    const ARG_REGEX: Option<&'static str> = Some(r"(?i)^\s*$|^\s+box\s*$");
    fn func(inv: &Invocation) -> CmdResult {
        let b = the_box(inv)?;
        if !inv.args_trimmed().eq_ignore_ascii_case("box") {
            return Err("Open what?".into());
        }
        if is_open(b) {
            return Err("The box is already open.".into());
        }
        b.set_attr("open", "yes")?;
        inv.msg("You open the box.");
        Ok(())
    }
}

/// `close box`.
struct Close;
impl Command for Close {
    const KEY: &'static str = "close";
    const HELP: &'static str = "Close the box.\n\nUsage:\n  close box";
    fn func(inv: &Invocation) -> CmdResult {
        let b = the_box(inv)?;
        if !inv.args_trimmed().eq_ignore_ascii_case("box") {
            return Err("Close what?".into());
        }
        if !is_open(b) {
            return Err("The box is already closed.".into());
        }
        b.set_attr("open", "no")?;
        inv.msg("You close the box.");
        Ok(())
    }
}

/// The box's own `look`: what is in it, when open.
struct Look;
impl Command for Look {
    const KEY: &'static str = "look";
    const HELP: &'static str = "Look into the box.\n\nUsage:\n  look";
    fn func(inv: &Invocation) -> CmdResult {
        let b = the_box(inv)?;
        inv.msg(if is_open(b) { "The box is open. It is empty." } else { "The box is closed." });
        Ok(())
    }
}

cmdset! { key: "BoxCmdSet", priority: 0, merge_type: Union, commands: [Open, Close, Look] }

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    /// A garden with the box, and a player standing in it.
    fn garden() -> (TestHost, Obj) {
        let host = TestHost::new();
        let garden = host.room("The Garden", "");
        let the_box = host.object("box", "thing", Some(garden));
        host.player("Anna", garden);
        (host, the_box)
    }

    #[test]
    fn the_box_opens_and_closes_once_each() {
        let (host, the_box) = garden();
        host.call::<Look>("", "The box is closed.");
        host.call::<Open>("box", "You open the box.");
        host.call::<Open>("box", "The box is already open.");
        assert_eq!(host.attr(the_box, "open").as_deref(), Some("yes"));
        host.call::<Look>("", "The box is open. It is empty.");
        host.call::<Close>("box", "You close the box.");
        host.call::<Close>("box", "The box is already closed.");
    }

    #[test]
    fn only_the_box_can_be_opened_and_only_near_it() {
        let (host, _) = garden();
        host.call::<Open>("chest", "Open what?");
        let tower = host.room("The Tower", "");
        let bob = host.player("Bob", tower);
        host.call_as::<Open>(bob, "box", "You don't see a box here.");
    }

    #[test]
    fn a_box_lending_its_commands_is_the_one_opened() {
        let (host, near) = garden();
        let tower = host.room("The Tower", "");
        let far = host.object("box", "thing", Some(tower));
        let caller = host.session_info(1).unwrap().sessid;
        let mut inv = host.invocation::<Open>(caller, "box");
        inv.matches = vec![far.to_string()];
        host.run::<Open>(inv, "You open the box.");
        assert_eq!(host.attr(far, "open").as_deref(), Some("yes"));
        assert_eq!(host.attr(near, "open"), None);
    }
}
