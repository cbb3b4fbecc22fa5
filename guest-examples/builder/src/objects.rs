//! Things: `create`, `desc`, `name`, `destroy` and `teleport` (Evennia's `tel`).

use mudhost_sdk::args::split_eq;
use mudhost_sdk::host;
use mudhost_sdk::{CmdResult, Command, Invocation, Obj};

use crate::search::{me, search, search_global, search_place};
use crate::shared::{add_aliases, announce, objdefs, paren, shown};
use crate::{CATEGORY, LOCK};

// --- create -------------------------------------------------------------------------------------

/// `create[/drop] pebble;peb[:kind], ...`.
pub(crate) struct Create;
impl Command for Create {
    const KEY: &'static str = "create";
    const ALIASES: &'static [&'static str] = &["@create"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "create new objects\n\nUsage:\n  create[/drop] <objname>[;alias;alias...][:kind], <objname>...\n\nswitch:\n   drop - automatically drop the new object into your current\n          location (this is not echoed).\n\nCreates one or more new objects, in your inventory (or, with /drop, in\nyour location). A kind other than 'thing' may be given after a colon:\n\n   create/drop button;red : machine";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let defs = objdefs(rest);
        if defs.is_empty() {
            return Err("Usage: create[/drop] <newname>[;alias;alias...] [:typeclass.path]".into());
        }
        let drop = sw.iter().any(|s| s == "drop");
        // One answer for the whole list: a long list must not run into the per-command message
        // quota, and the first refusal (the object quota included) ends it.
        let mut lines = vec![];
        for def in defs {
            let kind = def.option.clone().unwrap_or_else(|| "thing".into());
            let obj = match host::build_object(&def.name, &kind, Some(me.id())) {
                Ok(id) => Obj(id),
                Err(e) => {
                    lines.push(e.to_string());
                    break;
                }
            };
            add_aliases(obj, &def.aliases)?;
            if drop {
                if let Some(room) = me.location() {
                    obj.move_to(Some(room))?;
                }
            }
            lines.push(if def.aliases.is_empty() {
                format!("You create a new {kind}: {}.", obj.name())
            } else {
                format!(
                    "You create a new {kind}: {} (aliases: {}).",
                    obj.name(),
                    def.aliases.join(", ")
                )
            });
        }
        inv.msg(lines.join("\n"));
        Ok(())
    }
}

// --- desc ---------------------------------------------------------------------------------------

/// `desc [<obj> =] <description>`.
pub(crate) struct Desc;
impl Command for Desc {
    const KEY: &'static str = "desc";
    const ALIASES: &'static [&'static str] = &["@desc"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "describe an object or the current room.\n\nUsage:\n  desc [<obj> =] <description>\n\nSets the \"desc\" attribute on an object. If an object is not given,\ndescribe the current room.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let args = inv.args_trimmed();
        if args.is_empty() {
            return Err("Usage: desc [<obj> =] <description>".into());
        }
        let (obj, desc) = match split_eq(args) {
            (lhs, Some(rhs)) => (search(me, lhs)?, rhs),
            (_, None) => (me.location().ok_or("|rYou don't have a location to describe.|n")?, args),
        };
        obj.set_attr("desc", desc)?;
        inv.msg(format!("The description was set on {}.", shown(obj)));
        Ok(())
    }
}

// --- name ---------------------------------------------------------------------------------------

/// `name <obj> = <newname>[;alias;...]`.
pub(crate) struct Name;
impl Command for Name {
    const KEY: &'static str = "name";
    const ALIASES: &'static [&'static str] = &["@name", "rename", "@rename"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "change the name and/or aliases of an object\n\nUsage:\n  name <obj> = <newname>;alias1;alias2\n\nRename an object to something new.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (lhs, rhs) = split_eq(inv.args_trimmed());
        if lhs.is_empty() {
            return Err("Usage: name <obj> = <newname>[;alias;alias;...]".into());
        }
        let obj = search(me, lhs)?;
        let def = objdefs(rhs.unwrap_or_default()).into_iter().next();
        let (newname, aliases) = match def {
            Some(d) => (d.name, d.aliases),
            None => (String::new(), vec![]),
        };
        if newname.is_empty() && aliases.is_empty() {
            return Err("No names or aliases defined!".into());
        }
        if !newname.is_empty() {
            obj.set_key(&newname)?;
        }
        add_aliases(obj, &aliases)?;
        inv.msg(format!("Object's name changed to '{newname}'{}.", paren(&aliases)));
        Ok(())
    }
}

// --- destroy ------------------------------------------------------------------------------------

/// `destroy[/override] obj, obj2, #12`.
pub(crate) struct Destroy;
impl Command for Destroy {
    const KEY: &'static str = "destroy";
    const ALIASES: &'static [&'static str] = &["@destroy", "delete", "@delete", "del", "@del"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "permanently delete objects\n\nUsage:\n   destroy[/switches] [obj, obj2, obj3, ...]\n\nSwitches:\n   override - The destroy command will usually avoid accidentally\n              destroying account objects. This switch overrides this safety.\n\nExamples:\n   destroy house, roof, door, #44\n\nDestroys one or many objects. A room's exits go with it, and so do the\nexits of the rooms they lead to that lead back to it. Limbo, and rooms\nwith players in them, cannot be destroyed.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let names: Vec<&str> = rest.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
        if names.is_empty() {
            return Err("Usage: destroy[/switches] [obj, obj2, obj3, [dbref-dbref],...]".into());
        }
        let mut objs = vec![];
        let mut text = String::new();
        for name in names {
            match search(me, name) {
                Ok(o) if !objs.contains(&o) => objs.push(o),
                Ok(_) => {}
                Err(e) => {
                    text += &format!("\n{e}\n (Objects to destroy must either be local or specified with a unique #dbref.)");
                }
            }
        }
        let override_ = sw.iter().any(|s| s == "override");
        text.extend(objs.into_iter().map(|o| destroy(me, o, override_)));
        inv.msg(text.trim_start_matches('\n'));
        Ok(())
    }
}

/// Destroy one object (Evennia's `delobj`), or say why not.
fn destroy(me: Obj, obj: Obj, override_: bool) -> String {
    let name = obj.name();
    if obj == me || (!obj.sessions().is_empty() && !override_) {
        return format!(
            "\nObject {name} is controlled by an active account. Use /override to delete anyway."
        );
    }
    if obj == Obj::start_location() {
        return format!(
            "\nYou are trying to delete |c{name}|n, which is set as DEFAULT_HOME. It is where new characters start and cannot be destroyed."
        );
    }
    let contents = obj.contents();
    let players: Vec<String> =
        contents.iter().filter(|o| !o.sessions().is_empty()).map(|o| o.name()).collect();
    if !players.is_empty() {
        return format!(
            "\n{name} has players in it ({}). They must leave before it can be destroyed.",
            players.join(", ")
        );
    }
    let (exits, things): (Vec<Obj>, Vec<Obj>) = contents.into_iter().partition(|o| o.is("exit"));
    let mut removed = vec![];
    for exit in &exits {
        // The exits back: in the rooms this one's exits lead to, those leading here.
        if let Some(there) = exit.attr_obj("destination").filter(|d| *d != obj) {
            for back in there.contents().into_iter().filter(|o| o.is("exit")) {
                if back.attr_obj("destination") == Some(obj) {
                    removed.push(back);
                }
            }
        }
        removed.push(*exit);
    }
    for exit in removed.iter().filter(|e| e.exists()) {
        if let Err(e) = exit.delete() {
            return format!("\nERROR: {name} not deleted: {e}");
        }
    }
    // Things in a room go to Limbo (the host would leave them nowhere); in anything else, to
    // where it is.
    let to = obj.location().unwrap_or_else(Obj::start_location);
    for thing in &things {
        if let Err(e) = thing.move_to(Some(to)) {
            return format!("\nERROR: {name} not deleted: {e}");
        }
    }
    if let Err(e) = obj.delete() {
        return format!("\nERROR: {name} not deleted: {e}");
    }
    let mut text = format!("\n{name} was destroyed.");
    if !exits.is_empty() {
        text += &format!(" Exits to and from {name} were destroyed as well.");
    }
    if !things.is_empty() {
        text += &format!(" Objects inside {name} were moved to {}.", to.name());
    }
    text
}

// --- teleport -----------------------------------------------------------------------------------

/// `tel[/switches] [<object> to||=] <target location>`.
pub(crate) struct Teleport;
impl Command for Teleport {
    const KEY: &'static str = "teleport";
    const ALIASES: &'static [&'static str] = &["tel", "@tel", "@teleport"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "teleport object to another location\n\nUsage:\n  tel/switch [<object> to||=] <target location>\n\nExamples:\n  tel Limbo\n  tel/quiet box = Limbo\n  tel/tonone box\n\nSwitches:\n  quiet  - don't echo leave/arrive messages to the source/target\n           locations for the move.\n  intoexit - if target is an exit, teleport INTO\n             the exit object instead of to its destination\n  tonone - if set, teleport the object to a None-location. If this\n           switch is set, <target location> is ignored.\n           Note that the only way to retrieve\n           an object from a None location is by direct #dbref\n           reference. A puppeted object cannot be moved to None.\n  loc - teleport object to the target's location instead of its contents\n\nTeleports an object somewhere. If no object is given, you yourself are\nteleported to the target location.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let has = |s: &str| sw.iter().any(|x| x == s);
        let rest = rest.trim();
        let (lhs, rhs) = match split_eq(rest) {
            (l, Some(r)) => (l, Some(r)),
            _ => match rest.split_once(" to ") {
                Some((l, r)) => (l.trim(), Some(r.trim())),
                None => (rest, None),
            },
        };
        let (mut obj, destination) = match rhs {
            Some(rhs) => {
                let obj = search_global(me, lhs)
                    .map_err(|e| format!("{e}\nDid not find object to teleport."))?;
                (obj, Some(search_place(me, rhs)?))
            }
            None if !lhs.is_empty() && has("tonone") => (me, Some(search_global(me, lhs)?)),
            None if !lhs.is_empty() => (me, Some(search_place(me, lhs)?)),
            None => (me, None),
        };
        if has("tonone") {
            if let Some(d) = destination.filter(|_| rhs.is_none()) {
                obj = d;
            }
            if let Some(s) = obj.sessions().first() {
                let account = s.account_name.clone().unwrap_or_default();
                return Err(format!(
                    "Cannot teleport a puppeted object ({}, puppeted by {account}) to a None-location.",
                    obj.name()
                ));
            }
            let from = obj.location();
            obj.move_to(None)?;
            inv.msg(format!("Teleported {} -> None-location.", obj.name()));
            if let Some(from) = from.filter(|_| !has("quiet")) {
                from.msg_contents(
                    format!("{} teleported {} into nothingness.", me.name(), obj.name()),
                    &[me],
                );
            }
            return Ok(());
        }
        let Some(mut destination) = destination else {
            return Err("Usage: teleport[/switches] [<obj> =] <target or (X,Y,Z)>||home".into());
        };
        if has("loc") {
            destination = destination.location().ok_or("Destination has no location.")?;
        }
        if destination.is("exit") && !has("intoexit") {
            destination =
                destination.attr_obj("destination").filter(|d| d.exists()).unwrap_or(destination);
        }
        if obj == destination {
            return Err("You can't teleport an object inside of itself!".into());
        }
        if destination.location() == Some(obj) {
            return Err("You can't teleport an object inside something it holds!".into());
        }
        let from = obj.location();
        if from == Some(destination) {
            return Err(format!("{} is already at {}.", obj.name(), destination.name()));
        }
        obj.move_to(Some(destination)).map_err(|_| "Teleportation failed.".to_string())?;
        if !has("quiet") {
            announce(obj, from, destination);
        }
        match from {
            None => inv.msg(format!("Teleported {} None -> {}", obj.name(), destination.name())),
            Some(_) if obj == me => inv.msg(format!("Teleported to {}.", destination.name())),
            Some(_) => inv.msg(format!("Teleported {} -> {}.", obj.name(), destination.name())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::limbo;

    #[test]
    fn destroy_refuses_the_caller_and_limbo() {
        let host = limbo();
        host.call::<Destroy>("me", "Object Anna is controlled by an active account.");
        host.call::<Destroy>(
            "here",
            "You are trying to delete Limbo, which is set as DEFAULT_HOME.",
        );
        host.call::<Create>("pebble", "You create a new thing: pebble.");
        host.call::<Destroy>("pebble", "pebble was destroyed.");
        assert!(Obj::search("pebble", None).is_empty());
    }
}
