//! The builder commands (Evennia's building.py): `dig`, `open`, `create`, `desc`, `name`,
//! `destroy`, `teleport`, `set`, `tag`, `lock`, `find` and `spawn` (from the game's prototypes
//! folder), each locked to Builder and above, with Evennia's switches and texts.
//!
//! They work on the host's world model: aliases are object aliases (found by every search, and
//! an exit's command answers to them), tags and locks are real tags and locks (a lock is
//! enforced where the game or the host checks it), `set` stores typed JSON attributes, and a
//! prototype's `typeclass` naming a loaded object class binds the spawned object to it.

use mudhost_sdk::args::split_eq;
use mudhost_sdk::host;
use mudhost_sdk::{cmdset, CmdResult, Command, Invocation, Obj};
use serde_json::{Map, Value};

/// Every builder command: Builder and above (superusers pass every lock).
const LOCK: &str = "cmd:perm(Builder)";
const CATEGORY: &str = "Building";

// --- helpers ------------------------------------------------------------------------------------

/// One `name;alias;alias:option` of an object list (Evennia's ObjManipCommand parse).
#[derive(Debug, Clone, PartialEq)]
struct ObjDef {
    name: String,
    aliases: Vec<String>,
    option: Option<String>,
}

/// The comma-separated object definitions of one side of `=`.
fn objdefs(side: &str) -> Vec<ObjDef> {
    if side.trim().is_empty() {
        return vec![];
    }
    side.split(',')
        .map(|def| {
            let (def, option) = match def.rsplit_once(':') {
                Some((d, o)) => (d, Some(o.trim().to_string()).filter(|o| !o.is_empty())),
                None => (def, None),
            };
            let mut parts = def.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default().to_string();
            let aliases = parts.filter(|a| !a.is_empty()).map(String::from).collect();
            ObjDef { name, aliases, option }
        })
        .collect()
}

/// The character running the command (the builder cmdset is a character's).
fn me(inv: &Invocation) -> Result<Obj, String> {
    inv.puppet().ok_or_else(|| "You are not puppeting a character.".to_string())
}

/// How a builder sees an object: its name and dbref (Evennia's `get_display_name` for someone
/// with build rights).
fn shown(obj: Obj) -> String {
    format!("{}({obj})", obj.name())
}

/// `" (a, b)"` for a list of aliases, or nothing.
fn paren(aliases: &[String]) -> String {
    if aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", aliases.join(", "))
    }
}

/// A name the host would refuse by size is refused here with a text, instead of ending the
/// command.
fn check_len(text: &str) -> CmdResult {
    let max = host::building_limits().name_bytes as usize;
    if text.len() > max {
        let start: String = text.chars().take(20).collect();
        return Err(format!("'{start}...' is too long for a name (at most {max} bytes)."));
    }
    Ok(())
}

/// Give an object aliases (the host's object aliases: every search finds it by them, and an
/// exit's command answers to them). `Err` is the host's refusal (too many, too long).
fn add_aliases(obj: Obj, aliases: &[String]) -> CmdResult {
    for a in aliases {
        obj.alias_add(a)?;
    }
    Ok(())
}

/// `me`, `self`, `here` and `#dbref`, which every search understands.
fn special(me: Obj, query: &str) -> Option<Result<Obj, String>> {
    match query.to_lowercase().as_str() {
        "me" | "self" => Some(Ok(me)),
        "here" => Some(me.location().ok_or_else(|| "You have no location.".to_string())),
        q if q.starts_with('#') => Some(
            Obj::parse(q)
                .filter(|o| o.exists())
                .ok_or_else(|| format!("Could not find '{query}'.")),
        ),
        _ => None,
    }
}

/// The candidates near `me` (Evennia's `caller.search`): its room, what is in the room and what
/// it carries.
fn search_near(me: Obj, query: &str) -> Vec<Obj> {
    let room = me.location();
    let places: Vec<Obj> = room.into_iter().chain([me]).collect();
    let mut found = Obj::find_all(query, &places);
    if let Some(room) = room.filter(|r| r.name().eq_ignore_ascii_case(query)) {
        if !found.contains(&room) {
            found.push(room);
        }
    }
    found
}

fn one(query: &str, found: Vec<Obj>) -> Result<Obj, String> {
    match found[..] {
        [] => Err(format!("Could not find '{query}'.")),
        [o] => Ok(o),
        ref many => Err(Obj::multimatch_text(query, many)),
    }
}

/// One object near `me`, by name, `me`, `here` or `#dbref`.
fn search(me: Obj, query: &str) -> Result<Obj, String> {
    let query = query.trim();
    check_len(query)?;
    if let Some(found) = special(me, query) {
        return found;
    }
    one(query, search_near(me, query))
}

/// One object anywhere (Evennia's `global_search`): near `me` first, then the whole world.
fn search_global(me: Obj, query: &str) -> Result<Obj, String> {
    let query = query.trim();
    check_len(query)?;
    if let Some(found) = special(me, query) {
        return found;
    }
    let near = search_near(me, query);
    if !near.is_empty() {
        return one(query, near);
    }
    one(query, Obj::search(query, None))
}

/// A destination (of `teleport`, `open`): as [`search_global`], but a name shared by one room
/// and other things (the room `Limbo` and the exit `limbo` leading to it) means the room.
fn search_place(me: Obj, query: &str) -> Result<Obj, String> {
    let q = query.trim();
    check_len(q)?;
    if special(me, q).is_none() {
        let rooms: Vec<Obj> = Obj::search(q, None).into_iter().filter(|o| o.is("room")).collect();
        if let [room] = rooms[..] {
            return Ok(room);
        }
    }
    search_global(me, q)
}

/// Create an exit named by `def` in `from`, leading to `to`.
fn new_exit(def: &ObjDef, from: Obj, to: Obj) -> Result<Obj, String> {
    let kind = def.option.as_deref().unwrap_or("exit");
    let exit = host::build_object(&def.name, kind, Some(from.id()))
        .map(Obj)
        .map_err(|e| format!("|rError creating exit:|n {e}"))?;
    exit.set_attr("destination", to.id().to_string())?;
    add_aliases(exit, &def.aliases)?;
    Ok(exit)
}

/// Tell the rooms about a move (Evennia's `announce_move_from` / `announce_move_to`).
fn announce(obj: Obj, from: Option<Obj>, to: Obj) {
    let name = obj.name();
    if let Some(from) = from {
        from.msg_contents(
            format!("{name} is leaving {}, heading for {}.", from.name(), to.name()),
            &[obj],
        );
        to.msg_contents(format!("{name} arrives to {} from {}.", to.name(), from.name()), &[obj]);
    } else {
        to.msg_contents(format!("{name} arrives to {}.", to.name()), &[obj]);
    }
}

// --- dig ----------------------------------------------------------------------------------------

const DIG_USAGE: &str = "Usage: dig[/teleport] <roomname>[;alias;alias...][:parent] [= <exit_there>[;alias;alias..][:parent]] [, <exit_back_here>[;alias;alias..][:parent]]";

/// `dig Orchard;orch = orchard;o, back;b`.
struct Dig;
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
struct Open;
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

// --- create -------------------------------------------------------------------------------------

/// `create[/drop] pebble;peb[:kind], ...`.
struct Create;
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
struct Desc;
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
struct Name;
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
struct Destroy;
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
struct Teleport;
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

// --- set ----------------------------------------------------------------------------------------

const SET_USAGE: &str = "Usage: set obj/attr[:category] = value. Use empty value to clear.";

/// `set obj/attr[:category] = value`, `set obj/attr`, `set/delete obj/attr` (or an empty
/// value), `set obj` (every attribute). Values are typed JSON attributes.
struct Set;
impl Command for Set {
    const KEY: &'static str = "set";
    const ALIASES: &'static [&'static str] = &["@set"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "set attribute on an object\n\nUsage:\n  set <obj>/<attr>[:category] = <value>\n  set <obj>/<attr>[:category] =\n  set/delete <obj>/<attr>[:category]\n  set <obj>/<attr>[:category]\n  set <obj>\n\nSets attributes on objects. The second example form clears a previously\nset attribute, as does the /delete switch; the fourth form shows it, the\nlast lists every attribute of the object.\n\nThe value is stored typed: JSON is kept as JSON (numbers, true/false,\n\"quoted strings\", [lists] and {objects}); anything else is kept as a\nstring, with a note. Examples:\n   set self/foo = \"bar\"\n   set box/hp = 10\n   set box/loot = [\"coin\", \"gem\"]\n   set box/hp:stats = 10";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let (lhs, rhs) = split_eq(rest);
        if lhs.is_empty() {
            return Err(SET_USAGE.into());
        }
        let Some((objname, attrs)) = lhs.split_once('/') else {
            // `set obj`: every attribute of the object.
            let obj = search(me, lhs)?;
            if rhs.is_some() {
                return Err(SET_USAGE.into());
            }
            return list_attrs(inv, obj);
        };
        let obj = search(me, objname)?;
        // `attr1/attr2:category`: one category for all (Evennia's ObjManipCommand option).
        let (attrs, category) = match attrs.rsplit_once(':') {
            Some((a, c)) => (a, Some(c.trim()).filter(|c| !c.is_empty())),
            None => (attrs, None),
        };
        let attrs: Vec<String> =
            attrs.split('/').map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()).collect();
        if attrs.is_empty() {
            return Err(
                "No valid attributes were found. Usage: set obj/attr[:category] = value. Use empty value to clear."
                    .into(),
            );
        }
        for a in attrs.iter().map(String::as_str).chain(category) {
            check_len(a)?;
        }
        let name = obj.name();
        let cat = category.unwrap_or("None");
        let mut out = String::new();
        let delete = sw.iter().any(|s| s == "delete") || rhs == Some("");
        for attr in &attrs {
            if delete {
                out += &if obj.attr_json(attr, category).is_some() {
                    obj.del_attr_json(attr, category)?;
                    format!("\nDeleted attribute {name}/|w{attr}|n [category:{cat}].")
                } else {
                    format!(
                        "\nNo attribute {name}/|w{attr}|n [category: {cat}] was found to delete."
                    )
                };
            } else if let Some(value) = rhs {
                let (json, note) = typed(value);
                if let Some(note) = note {
                    inv.msg(note);
                }
                let verb =
                    if obj.attr_json(attr, category).is_some() { "Modified" } else { "Created" };
                // The host checks size and nesting; a refusal keeps the old value.
                obj.set_attr_json_text(attr, category, &json)?;
                out += &format!("\n{verb} attribute {name}/|w{attr}|n [category:{cat}] = {value}");
            } else {
                out += &match obj.attr_json(attr, category) {
                    Some(v) => {
                        format!("\nAttribute {name}/|w{attr}|n [category:{cat}] = {}", text_of(&v))
                    }
                    None => {
                        format!("\nAttribute {name}/|w{attr}|n [category:{cat}] does not exist.")
                    }
                };
            }
        }
        inv.msg(out.trim_start_matches('\n'));
        Ok(())
    }
}

/// `set obj`: one line per attribute (every category), as `set obj/attr` shows one.
fn list_attrs(inv: &Invocation, obj: Obj) -> CmdResult {
    let name = obj.name();
    let lines: Vec<String> = obj
        .attrs()
        .into_iter()
        .map(|a| {
            let value = serde_json::from_str::<Value>(&a.value_json)
                .map(|v| text_of(&v))
                .unwrap_or(a.value_json);
            let cat = a.category.as_deref().unwrap_or("None");
            format!("Attribute {name}/|w{}|n [category:{cat}] = {value}", a.key)
        })
        .collect();
    if lines.is_empty() {
        return Err(
            "No valid attributes were found. Usage: set obj/attr[:category] = value. Use empty value to clear."
                .into(),
        );
    }
    inv.msg(lines.join("\n"));
    Ok(())
}

/// The JSON text `set` stores for a typed value: JSON as it is, anything else as a JSON string
/// with Evennia's note.
fn typed(value: &str) -> (String, Option<String>) {
    match serde_json::from_str::<Value>(value) {
        Ok(_) => (value.trim().to_string(), None),
        // JSON nested too deep to read here is JSON all the same: the host refuses it by its
        // `guest_json_depth`, instead of it being kept as a string.
        Err(e) if e.to_string().contains("recursion limit") => (value.trim().to_string(), None),
        Err(_) => (
            Value::String(value.to_string()).to_string(),
            Some(format!(
                "|RNote: name \"|r{value}|R\" was converted to a string. Make sure this is acceptable."
            )),
        ),
    }
}

// --- tag ----------------------------------------------------------------------------------------

const TAG_USAGE: &str = "Usage: tag[/switches] <obj> [= <tag>[:<category>]]";

/// `tag obj = key[:category]`, `tag obj`, `tag/del obj [= key[:category]]`, `tag/search key`.
struct Tag;
impl Command for Tag {
    const KEY: &'static str = "tag";
    const ALIASES: &'static [&'static str] = &["@tag", "tags", "@tags"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "handles the tags of an object\n\nUsage:\n  tag[/del] <obj> [= <tag>[:<category>]]\n  tag/search <tag>[:<category]\n\nSwitches:\n  search - return all objects with a given Tag\n  del - remove the given tag. If no tag is specified,\n        clear all tags on object.\n\nManipulates and lists tags on objects. Tags allow for quick\ngrouping of and searching for objects.  If only <obj> is given,\nlist all tags on the object.  If /search is used, list objects\nwith the given tag.\nThe category can be used for grouping tags themselves, but it\nshould be used with restrain - tags on their own are usually\nenough to for most grouping schemes.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(TAG_USAGE.into());
        }
        let has = |s: &str| sw.iter().any(|x| x == s);
        if has("search") {
            let (tag, category) = tag_and_category(rest);
            if tag.is_empty() {
                return Err(TAG_USAGE.into());
            }
            check_len(tag)?;
            let found = Obj::search_tag(tag, category, None);
            inv.msg(tag_search_text(tag, category, &found));
            return Ok(());
        }
        let (lhs, rhs) = split_eq(rest);
        let obj = search_global(me, lhs)?;
        let name = obj.name();
        let text = match rhs.filter(|r| !r.is_empty()) {
            Some(rhs) if has("del") => {
                let (tag, category) = tag_and_category(rhs);
                if obj.tag_remove(tag, category)? {
                    format!("Removed tag '{tag}'{} from {name}.", cat_note(category))
                } else {
                    format!("No tag '{tag}'{} to delete on {name}.", cat_note(category))
                }
            }
            None if has("del") => {
                let mut old: Vec<String> = obj
                    .tags()
                    .into_iter()
                    .map(|t| format!("{}{}", t.key, cat_note(t.category.as_deref())))
                    .collect();
                if old.is_empty() {
                    format!("No Tags to clear on {name}.")
                } else {
                    for t in obj.tags() {
                        obj.tag_remove(&t.key, t.category.as_deref())?;
                    }
                    old.sort();
                    format!("Cleared all tags from {name}: {}", old.join(", "))
                }
            }
            Some(rhs) => {
                let (tag, category) = tag_and_category(rhs);
                obj.tag_add(tag, category)?;
                format!("Added tag '{tag}'{} to {name}.", cat_note(category))
            }
            None => {
                let tags = obj.tags();
                let mut shown: Vec<String> = tags
                    .iter()
                    .map(|t| format!("'{}'{}", t.key, cat_note(t.category.as_deref())))
                    .collect();
                shown.sort();
                match shown.len() {
                    0 => format!("No tags attached to {name}."),
                    1 => format!("Tag on {name}: {}", shown[0]),
                    _ => format!("Tags on {name}: {}", shown.join(", ")),
                }
            }
        };
        inv.msg(text);
        Ok(())
    }
}

/// `key:category` (Evennia splits at the first colon).
fn tag_and_category(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((t, c)) => (t.trim(), Some(c.trim()).filter(|c| !c.is_empty())),
        None => (text.trim(), None),
    }
}

/// `" (category: c)"`, or nothing for an uncategorised tag.
fn cat_note(category: Option<&str>) -> String {
    category.map(|c| format!(" (category: {c})")).unwrap_or_default()
}

/// The `tag/search` answer (Evennia's texts).
fn tag_search_text(tag: &str, category: Option<&str>, found: &[Obj]) -> String {
    if found.is_empty() {
        return format!("No objects found with tag '{tag}{}'.", cat_note(category));
    }
    let catstr = match category {
        Some(c) => format!(" (category: '|w{c}|n')"),
        None if found.len() == 1 => String::new(),
        None => " (may have different tag categories)".into(),
    };
    let names: Vec<String> = found.iter().map(|o| shown(*o)).collect();
    format!(
        "Found |w{}|n object{} with tag '|w{tag}|n'{catstr}:\n {}",
        found.len(),
        if found.len() > 1 { "s" } else { "" },
        names.join(", ")
    )
}

// --- lock ---------------------------------------------------------------------------------------

const LOCK_USAGE: &str =
    "Usage: lock <object>[ = <lockstring>] or lock[/switch] <object>/<access_type>";

/// `lock obj = get:false()`, `lock obj`, `lock obj/get`, `lock/del obj/get`.
struct Lock;
impl Command for Lock {
    const KEY: &'static str = "lock";
    const ALIASES: &'static [&'static str] = &["@lock", "locks", "@locks"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "assign a lock definition to an object\n\nUsage:\n  lock <object>[ = <lockstring>]\n  or\n  lock[/switch] <object>/<access_type>\n\nSwitch:\n  del - delete given access type\n  view - view lock associated with given access type (default)\n\nIf no lockstring is given, shows all locks on\nobject.\n\nLockstring is of the form\n   access_type:[NOT] func1(args)[ AND|OR][ NOT] func2(args) ...]\nWhere func1, func2 ... valid lockfuncs with or without arguments.\nSeparator expressions need not be capitalized.\n\nFor example:\n   'get: id(25) or perm(Admin)'\nThe 'get' lock access_type is checked e.g. by the 'get' command.\nAn object locked with this example lock will only be possible to pick up\nby Admins or by an object with id=25.\n\nYou can add several access_types after one another by separating\nthem by ';', i.e:\n   'get:id(25); delete:perm(Builder)'";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(LOCK_USAGE.into());
        }
        let (lhs, rhs) = split_eq(rest);
        if let Some((objname, access_type)) = lhs.split_once('/') {
            let obj = search(me, objname)?;
            let access_type = access_type.trim();
            let prefix = format!("{}:", access_type.to_lowercase());
            let lockdef = obj.locks().into_iter().find(|l| l.to_lowercase().starts_with(&prefix));
            let text = match lockdef {
                None => format!("{} has no lock of access type '{access_type}'.", obj.name()),
                Some(l) if sw.iter().any(|s| s == "del") => {
                    if obj.lock_remove(access_type)? {
                        format!("deleted lock {l}")
                    } else {
                        // Only the kind's default is left: nothing of the object's own to delete.
                        format!(
                            "{} has only its default lock {l}, which cannot be deleted.",
                            obj.name()
                        )
                    }
                }
                Some(l) => l,
            };
            inv.msg(text);
            return Ok(());
        }
        if let Some(lockdef) = rhs.filter(|r| !r.is_empty()) {
            if !sw.is_empty() {
                return Err(format!(
                    "Switch(es) |w{}|n can not be used with a lock assignment. Use e.g. |wlock/del objname/locktype|n instead.",
                    sw.join(", ")
                ));
            }
            let obj = search(me, lhs)?;
            let lockdef = lockdef.replace(['\'', '"'], "");
            // The host reads the lock string and refuses it, with the reason, if it cannot.
            obj.lock_add(&lockdef)?;
            inv.msg(format!("Added lock '{lockdef}' to {}.", obj.name()));
            return Ok(());
        }
        let obj = search(me, lhs)?;
        inv.msg(obj.locks().join("\n"));
        Ok(())
    }
}

// --- find ---------------------------------------------------------------------------------------

const FIND_USAGE: &str = "Usage: find <string> [= low [-high]]";

/// `find[/room|/exit|/char|/loc|/exact] <name, alias or #dbref> [= low[-high]]`, `locate`.
struct Find;
impl Command for Find {
    const KEY: &'static str = "find";
    const ALIASES: &'static [&'static str] = &["@find", "search", "@search", "locate", "@locate"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "search the database for objects\n\nUsage:\n  find[/switches] <name or dbref> [= dbrefmin[-dbrefmax]]\n  locate - this is a shorthand for using the /loc switch.\n\nSwitches:\n  room       - only look for rooms\n  exit       - only look for exits\n  char       - only look for characters\n  exact      - only exact matches are returned (always the case here)\n  loc        - display object location if exists and match has one result\n\nSearches the whole world for objects whose name or alias is the given\nname (any case), or for an exact #dbref. The switches limit matches to\ncertain kinds of objects. Dbrefmin and dbrefmax limit matches to within\nthe given dbrefs range, or above if only one is given. To find objects\nby tag, use tag/search.";
    fn func(inv: &Invocation) -> CmdResult {
        me(inv)?;
        let (mut sw, rest) = inv.switches();
        if inv.cmdname.trim_start_matches('@').eq_ignore_ascii_case("locate") {
            sw.push("loc".into());
        }
        let (lhs, rhs) = split_eq(rest.trim());
        if lhs.is_empty() {
            return Err(FIND_USAGE.into());
        }
        check_len(lhs)?;
        let has = |s: &str| sw.iter().any(|x| x == s);
        let range = match rhs.filter(|r| !r.trim().is_empty()) {
            Some(r) => Some(dbref_range(r).ok_or("Invalid dbref range provided (not a number).")?),
            None => None,
        };
        let kinds: Vec<&str> = [("room", "room"), ("exit", "exit"), ("char", "character")]
            .into_iter()
            .filter(|(s, _)| has(s))
            .map(|(_, k)| k)
            .collect();
        let keep = |o: &Obj| {
            (kinds.is_empty() || kinds.iter().any(|k| o.is(k)))
                && range.is_none_or(|(lo, hi)| (lo..=hi).contains(&o.id()))
        };
        // Evennia's `(#low-#high, switches)`; the range only when one was given.
        let mut parts: Vec<String> = range
            .map(|(lo, hi)| match hi {
                u64::MAX => format!("#{lo}-"),
                hi => format!("#{lo}-#{hi}"),
            })
            .into_iter()
            .collect();
        parts.extend(sw.iter().cloned());
        let restrictions =
            if parts.is_empty() { String::new() } else { format!("({})", parts.join(", ")) };
        let line = |o: Obj| {
            let path = o.class().or_else(|| o.kind()).unwrap_or_default();
            format!("|g{} - {path}|n", shown(o))
        };
        let location = |o: Obj| {
            o.location().map(|l| format!(" (|wlocation|n: |g{}|n)", shown(l))).unwrap_or_default()
        };
        let text = if lhs.starts_with('#') {
            let mut text = format!("|wExact dbref match|n{restrictions}:");
            match Obj::parse(lhs).filter(|o| o.exists()) {
                Some(o) if keep(&o) => {
                    text += &format!("\n   {}", line(o));
                    if has("loc") {
                        text += &location(o);
                    }
                }
                _ => text += "\n   |RNo match found.|n",
            }
            text
        } else {
            let found: Vec<Obj> = Obj::search(lhs, None).into_iter().filter(keep).collect();
            match found[..] {
                [] => format!("|wNo Matches|n{restrictions}:\n   |RNo matches found for '{lhs}'|n"),
                [o] => {
                    let loc = if has("loc") { location(o) } else { String::new() };
                    format!("|wOne Match|n{restrictions}:\n   {}{loc}", line(o))
                }
                ref many => {
                    let lines: Vec<String> =
                        many.iter().map(|o| format!("\n   {}", line(*o))).collect();
                    format!("|w{} Matches|n{restrictions}:{}", many.len(), lines.concat())
                }
            }
        };
        inv.msg(text);
        Ok(())
    }
}

/// `#3-#10`, `3 10`, `#5` (from 5 up): the bounds of `find`'s dbref range.
fn dbref_range(text: &str) -> Option<(u64, u64)> {
    let mut bounds: Vec<u64> = text
        .split(|c: char| c == '-' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| p.trim_start_matches('#').parse().ok())
        .collect::<Option<_>>()?;
    bounds.sort_unstable();
    match bounds[..] {
        [lo] => Some((lo, u64::MAX)),
        [lo, .., hi] => Some((lo, hi)),
        [] => None,
    }
}

// --- spawn --------------------------------------------------------------------------------------

/// Prototype keys that are not attributes of the spawned object.
const NOT_ATTRS: &[&str] = &[
    "prototype_key",
    "prototype_parent",
    "prototype_desc",
    "prototype_tags",
    "prototype_locks",
    "key",
    "aliases",
    "desc",
    "attrs",
    "tags",
    "locks",
    "typeclass",
    "location",
    "home",
    "destination",
    "permissions",
    "exec",
];

/// `spawn KEY`, `spawn/list`, `spawn/show KEY`.
struct Spawn;
impl Command for Spawn {
    const KEY: &'static str = "spawn";
    const ALIASES: &'static [&'static str] = &["@spawn"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "spawn objects from prototype\n\nUsage:\n  spawn[/noloc] <prototype_key>\n  spawn/list\n  spawn/show <prototype_key>\n\nSwitches:\n  noloc - allow location to be None if not specified explicitly. Otherwise,\n          location will default to caller's current location.\n  list - list available prototypes.\n  show, examine - inspect prototype by key, its parents applied.\n\nPrototypes are .toml or .json files in the game's prototypes folder, read\nagain when they change. Keys: prototype_key, prototype_parent (a key or a\nlist, inherited left to right), prototype_desc, prototype_tags, key,\naliases, desc, attrs (a table), tags, locks, typeclass; any other key is an\nattribute. Tags (key or key:category) and locks become the object's own;\na typeclass naming a loaded object class binds the object to it.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let key = rest.trim();
        let has = |s: &str| sw.iter().any(|x| x == s);
        if has("list") || key.is_empty() {
            inv.msg(list_prototypes());
            return Ok(());
        }
        let proto: Map<String, Value> = match serde_json::from_str(&host::prototype_get(key)?) {
            Ok(Value::Object(m)) => m,
            _ => return Err(format!("Prototype '{key}' could not be read.")),
        };
        if has("show") || has("examine") {
            let text = serde_json::to_string_pretty(&proto).unwrap_or_default();
            inv.msg(text.replace('|', "||"));
            return Ok(());
        }
        // A prototype's own `location` (a #dbref) wins; else here, unless /noloc.
        let location = match proto.get("location").map(text_of) {
            Some(l) => Some(Obj::parse(&l).filter(|o| o.exists()).ok_or_else(|| {
                format!("Prototype '{key}': location '{l}' is not an object (#dbref).")
            })?),
            None if has("noloc") => None,
            None => me.location(),
        };
        let obj = spawn(&proto, location)?;
        inv.msg(format!("Spawned {}.", shown(obj)));
        Ok(())
    }
}

/// The `spawn/list` text: every prototype, then what could not be read.
fn list_prototypes() -> String {
    let catalog = host::prototype_list();
    let mut text = if catalog.entries.is_empty() {
        "No prototypes found.".to_string()
    } else {
        let mut table = mudhost_sdk::text::Table::new(["|wKey|n", "|wTags|n", "|wDesc|n"]);
        for e in &catalog.entries {
            table.row([e.key.clone(), e.tags.join(", "), e.desc.clone()]);
        }
        table.to_string()
    };
    if !catalog.problems.is_empty() {
        text += "\n|rPrototype files with problems:|n";
        for p in &catalog.problems {
            text += &format!("\n  {p}");
        }
    }
    text
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(text_of).collect(),
        Some(Value::String(s)) => {
            s.split([';', ',']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
        }
        _ => vec![],
    }
}

/// The kinds a prototype's `typeclass` names directly (no object class is looked for).
const KINDS: &[&str] = &["thing", "room", "exit"];

/// Create an object from a resolved prototype (Evennia's spawner: the object class first, so
/// its `at_object_creation` runs, then the prototype's aliases, tags, locks and attributes over
/// it). Sizes are checked before the object is made; a refusal of the host after that (a bad
/// lock string, too many tags, JSON nested too deep) deletes the object again, so a bad
/// prototype leaves nothing half-built.
fn spawn(proto: &Map<String, Value>, location: Option<Obj>) -> Result<Obj, String> {
    let limits = host::building_limits();
    let pkey = proto.get("prototype_key").map(text_of).unwrap_or_default();
    let key = proto.get("key").map(text_of).unwrap_or_else(|| pkey.clone());
    let typeclass = proto.get("typeclass").and_then(Value::as_str).map(str::trim);
    let mut attrs: Vec<(String, Value)> = vec![("prototype_key".into(), pkey.clone().into())];
    if let Some(d) = proto.get("desc") {
        attrs.push(("desc".into(), text_of(d).into()));
    }
    if let Some(Value::Object(a)) = proto.get("attrs") {
        attrs.extend(a.iter().map(|(k, v)| (k.to_lowercase(), v.clone())));
    }
    for (k, v) in proto {
        if !NOT_ATTRS.contains(&k.as_str()) && !k.starts_with("ndb_") {
            attrs.push((k.to_lowercase(), v.clone()));
        }
    }
    let destination = match proto.get("destination").map(text_of) {
        Some(d) => Some(Obj::parse(&d).filter(|o| o.exists()).ok_or_else(|| {
            format!("Prototype '{pkey}': destination '{d}' is not an object (#dbref).")
        })?),
        None => None,
    };
    for (k, v) in &attrs {
        if k.is_empty() || k.len() > limits.name_bytes as usize || k == "owner" {
            return Err(format!("Prototype '{pkey}': '{k}' cannot be an attribute name."));
        }
        if v.to_string().len() > limits.attr_value_bytes as usize {
            return Err(format!(
                "Prototype '{pkey}': the value of '{k}' is over {} bytes.",
                limits.attr_value_bytes
            ));
        }
    }
    let place = location.map(|l| l.id());
    let build = |kind: &str| {
        host::build_object(&key, kind, place)
            .map(Obj)
            .map_err(|e| format!("Prototype '{pkey}': {e}"))
    };
    // A loaded object class binds the object; else the typeclass names its kind (a word) or is
    // kept as an attribute, as before object classes.
    let obj = match typeclass.filter(|t| !t.is_empty()) {
        None => build("thing")?,
        Some(t) if KINDS.contains(&t.to_lowercase().as_str()) => build(&t.to_lowercase())?,
        Some(t) => {
            let obj = build("thing")?;
            match obj.set_class(Some(t)) {
                Ok(()) => obj,
                Err(_) if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    obj.delete()?;
                    build(&t.to_lowercase())?
                }
                Err(_) => {
                    attrs.push(("typeclass".into(), t.into()));
                    obj
                }
            }
        }
    };
    if let Err(e) = dress(obj, proto, &attrs, destination) {
        // Nothing half-built: the object goes again (its tags, locks and attributes with it).
        let _ = obj.delete();
        return Err(format!("Prototype '{pkey}': {e}"));
    }
    Ok(obj)
}

/// Give a spawned object the prototype's aliases, tags (`key` or `key:category`), locks and
/// attributes (typed: a number stays a number).
fn dress(
    obj: Obj,
    proto: &Map<String, Value>,
    attrs: &[(String, Value)],
    destination: Option<Obj>,
) -> CmdResult {
    add_aliases(obj, &list_of(proto.get("aliases")))?;
    for tag in list_of(proto.get("tags")) {
        let (key, category) = tag_and_category(&tag);
        obj.tag_add(key, category)?;
    }
    if let Some(l) = proto.get("locks").map(text_of).filter(|l| !l.trim().is_empty()) {
        obj.lock_add(&l)?;
    }
    for (k, v) in attrs {
        obj.set_attr_json(k, None, v)?;
    }
    if let Some(d) = destination {
        obj.set_attr("destination", d.id().to_string())?;
    }
    Ok(())
}

cmdset! {
    key: "BuilderCmdSet", priority: 0, merge_type: Union,
    commands: [Dig, Open, Create, Desc, Name, Destroy, Teleport, Set, Tag, Lock, Find, Spawn],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_definitions_split_as_evennia_parses_them() {
        let defs = objdefs(" orchard;o;orch , back;b:door,");
        assert_eq!(
            defs,
            [
                ObjDef {
                    name: "orchard".into(),
                    aliases: vec!["o".into(), "orch".into()],
                    option: None
                },
                ObjDef {
                    name: "back".into(),
                    aliases: vec!["b".into()],
                    option: Some("door".into())
                },
                ObjDef { name: "".into(), aliases: vec![], option: None },
            ]
        );
        assert!(objdefs("  ").is_empty());
    }

    use mudhost_sdk::testing::TestHost;

    /// Anna in Limbo.
    fn limbo() -> TestHost {
        let host = TestHost::new();
        host.player("Anna", host.limbo());
        host
    }

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

    #[test]
    fn spawn_applies_a_prototype_and_its_parent() {
        let host = limbo();
        host.prototype("goblin", r#"{"key": "goblin", "desc": "A goblin.", "attrs": {"hp": 10}}"#);
        host.prototype("chief", r#"{"prototype_parent": "goblin", "key": "chief", "attrs": {"hp": 30}, "mood": "grim"}"#);
        host.call::<Spawn>("chief", "Spawned chief(#");
        let chief = Obj::search("chief", Some(host.limbo()))[0];
        assert_eq!(chief.attr("desc").as_deref(), Some("A goblin."));
        assert_eq!(chief.attr_json("hp", None), Some(serde_json::json!(30)));
        assert_eq!(chief.attr("mood").as_deref(), Some("grim"));
        assert_eq!(chief.attr("prototype_key").as_deref(), Some("chief"));
        let vault = host.room("Vault", "");
        host.prototype("coin", &format!(r#"{{"key": "coin", "location": "{vault}"}}"#));
        host.call::<Spawn>("coin", "Spawned coin(#");
        assert_eq!(Obj::search("coin", Some(vault)).len(), 1);
        host.prototype("lost", r##"{"key": "lost", "location": "#999"}"##);
        host.call::<Spawn>("lost", "Prototype 'lost': location '#999' is not an object (#dbref).");
        host.call::<Spawn>("dragon", "No prototype named 'dragon' was found.");
        host.call::<Spawn>("/list", "+--");
    }

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

    #[test]
    fn set_keeps_json_as_json_and_notes_plain_text() {
        assert_eq!(typed("10"), ("10".into(), None));
        assert_eq!(typed("\"bar\""), ("\"bar\"".into(), None));
        assert_eq!(typed("[1, \"a\"]"), ("[1, \"a\"]".into(), None));
        let (text, note) = typed("a red ball");
        assert_eq!(text, "\"a red ball\"");
        assert!(note.unwrap().contains("was converted to a string"));
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(typed(&deep), (deep.clone(), None));
    }

    #[test]
    fn find_reads_evennias_dbref_ranges() {
        assert_eq!(dbref_range("#3-#10"), Some((3, 10)));
        assert_eq!(dbref_range("10 3"), Some((3, 10)));
        assert_eq!(dbref_range("#5"), Some((5, u64::MAX)));
        assert_eq!(dbref_range("#x"), None);
        assert_eq!(dbref_range("-"), None);
    }
}
