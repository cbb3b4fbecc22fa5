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
