//! Rooms and exits: `dig` (a new room, exits both ways) and `open` (an exit, or re-pointing
//! one).

use mudhost_sdk::args::split_eq;
use mudhost_sdk::host;
use mudhost_sdk::{CmdResult, Command, Invocation, Obj};

use crate::search::{me, search_place};
use crate::shared::{add_aliases, announce, check_len, new_exit, objdefs, paren, shown, ObjDef};
use crate::{CATEGORY, LOCK};

// --- dig ----------------------------------------------------------------------------------------

const DIG_USAGE: &str = "Usage: dig[/teleport] <roomname>[;alias;alias...][:parent] [= <exit_there>[;alias;alias..][:parent]] [, <exit_back_here>[;alias;alias..][:parent]]";

/// `dig Orchard;orch = orchard;o, back;b`.
pub(crate) struct Dig;
impl Command for Dig {
    const KEY: &'static str = "dig";
    const ALIASES: &'static [&'static str] = &["@dig"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "build new rooms and connect them to the current location\n\nUsage:\n  dig[/switches] <roomname>[;alias;alias...][:kind]\n        [= <exit_to_there>[;alias][:kind]]\n           [, <exit_to_here>[;alias][:kind]]\n\nSwitches:\n   tel or teleport - move yourself to the new room\n\nExamples:\n   dig kitchen = north;n, south;s\n   dig sheer cliff;cliff;sheer = climb up, climb down\n\nThis command is a convenient way to build rooms quickly; it creates the\nnew room and you can optionally set up exits back and forth between your\ncurrent room and the new one. You can add as many aliases as you\nlike to the name of the room and the exits in question; an example\nwould be 'north;no;n'.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let (lhs, rhs) = split_eq(rest);
        let Some(def) = objdefs(lhs).into_iter().next() else {
            return Err(DIG_USAGE.into());
        };
        if def.name.is_empty() {
            return Err("You must supply a new room name.".into());
        }
        let kind = def.option.clone().unwrap_or_else(|| "room".into());
        let room = host::build_object(&def.name, &kind, None)
            .map(Obj)
            .map_err(|e| format!("|rError creating room:|n {e}"))?;
        add_aliases(room, &def.aliases)?;
        let mut text =
            format!("Created room {}{} of type {kind}.", shown(room), paren(&def.aliases));
        let location = me.location();
        let exits = objdefs(rhs.unwrap_or_default());
        if let Some(to) = exits.first() {
            text += &match location {
                _ if to.name.is_empty() => "\nNo exit created to new room.".to_string(),
                None => "\nYou cannot create an exit from a None-location.".to_string(),
                Some(here) => {
                    let exit = new_exit(to, here, room)?;
                    format!(
                        "\nCreated Exit from {} to {}: {}{}.",
                        here.name(),
                        room.name(),
                        shown(exit),
                        paren(&to.aliases)
                    )
                }
            };
        }
        if let Some(back) = exits.get(1) {
            text += &match location {
                _ if back.name.is_empty() => "\nNo back exit created.".to_string(),
                None => "\nYou cannot create an exit back to a None-location.".to_string(),
                Some(here) => {
                    let exit = new_exit(back, room, here)?;
                    format!(
                        "\nCreated Exit back from {} to {}: {}{}.",
                        room.name(),
                        here.name(),
                        shown(exit),
                        paren(&back.aliases)
                    )
                }
            };
        }
        inv.msg(text);
        if sw.iter().any(|s| s == "teleport" || s == "tel") {
            me.move_to(Some(room))?;
            announce(me, location, room);
            inv.msg(format!("Teleported to {}.", room.name()));
        }
        Ok(())
    }
}

// --- open ---------------------------------------------------------------------------------------

const OPEN_USAGE: &str =
    "Usage: open <new exit>[;alias...][:typeclass][,<return exit>[;alias..][:typeclass]]] = <destination>";

/// `open north;n = #12`, `open door, door back = Hall`.
pub(crate) struct Open;
impl Command for Open {
    const KEY: &'static str = "open";
    const ALIASES: &'static [&'static str] = &["@open"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    /// Only with a destination (`= ...`): `open box` and `open gate` stay the box's and the
    /// gate's, instead of the parser asking which `open` was meant.
    const ARG_REGEX: Option<&'static str> = Some(r"^\s.*=");
    const HELP: &'static str = "open a new exit from the current room\n\nUsage:\n  open <new exit>[;alias;alias..][:kind] [,<return exit>[;alias;..][:kind]]] = <destination>\n\nHandles the creation of exits. If a destination is given, the exit\nwill point there. The <return exit> argument sets up an exit at the\ndestination leading back to the current room. Destination name\ncan be given both as a #dbref and a name, if that name is globally\nunique.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (lhs, rhs) = split_eq(inv.args_trimmed());
        let (Some(rhs), false) = (rhs.filter(|r| !r.is_empty()), lhs.is_empty()) else {
            return Err(OPEN_USAGE.into());
        };
        let here = me.location().ok_or("You cannot create an exit from a None-location.")?;
        let destination = search_place(me, rhs)?;
        let defs = objdefs(lhs);
        let Some(first) = defs.first() else {
            return Err(OPEN_USAGE.into());
        };
        inv.msg(open_exit(first, here, destination)?);
        if let Some(back) = defs.get(1) {
            inv.msg(open_exit(back, destination, here)?);
        }
        Ok(())
    }
}

/// Create the exit, or re-point one of that name (Evennia's `create_exit`); the text says which.
fn open_exit(def: &ObjDef, location: Obj, destination: Obj) -> Result<String, String> {
    check_len(&def.name)?;
    let existing = Obj::search(&def.name, Some(location));
    match existing[..] {
        [] => {
            new_exit(def, location, destination)?;
            let aliases = if def.aliases.is_empty() {
                String::new()
            } else {
                format!(" (aliases: {})", def.aliases.join(", "))
            };
            Ok(format!(
                "Created new Exit '{}' from {} to {}{aliases}.",
                def.name,
                location.name(),
                destination.name()
            ))
        }
        [exit] => {
            let Some(old) = exit.attr_obj("destination") else {
                return Err(format!(
                    "'{}' already exists and is not an exit!\nIf you want to convert it to an exit, you must assign an object to the 'destination' property first.",
                    def.name
                ));
            };
            let mut text = format!("Exit {} already exists.", def.name);
            if old != destination {
                exit.set_attr("destination", destination.id().to_string())?;
                add_aliases(exit, &def.aliases)?;
                text += &format!(
                    " Rerouted its old destination '{}' to '{}' and changed aliases.",
                    old.name(),
                    destination.name()
                );
            } else {
                text += " It already points to the correct place.";
            }
            Ok(text)
        }
        ref many => Err(Obj::multimatch_text(&def.name, many)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::limbo;

    #[test]
    fn dig_makes_a_room_with_exits_both_ways() {
        let host = limbo();
        let text = host.call::<Dig>("Orchard = orchard;o, back;b", "Created room Orchard(#");
        assert!(text.contains("Created Exit back from Orchard to Limbo: back(#"), "{text}");
        let orchard = Obj::search("Orchard", None)[0];
        let to = Obj::search("orchard", Some(host.limbo()))[0];
        let back = Obj::search("back", Some(orchard))[0];
        assert_eq!(to.attr_obj("destination"), Some(orchard));
        assert_eq!(to.aliases(), ["o"]);
        assert_eq!(back.attr_obj("destination"), Some(host.limbo()));
        host.call::<Dig>("", "Usage: dig[/teleport]");
        host.call::<Dig>(";orch = north", "You must supply a new room name.");
    }
}
