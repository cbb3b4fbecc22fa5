//! The builder commands (Evennia's building.py): `dig`, `open`, `create`, `desc`, `name`,
//! `destroy`, `teleport`, `set` and `spawn` (from the game's prototypes folder), each locked to
//! Builder and above, with Evennia's switches and texts.
//!
//! Aliases, tags and locks are kept in plain attributes (`aliases`, `;`-separated, which the host
//! already reads for exits; `tags`, `locks`) until the world model has them as such, and `set`
//! stores every value as text (a JSON value as its JSON text).

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

/// Add aliases to an object's `aliases` attribute (kept, `;`-separated; exits answer to them).
fn add_aliases(obj: Obj, aliases: &[String]) -> CmdResult {
    if aliases.is_empty() {
        return Ok(());
    }
    let mut all: Vec<String> = obj
        .attr("aliases")
        .map(|a| a.split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    for a in aliases {
        if !all.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            all.push(a.clone());
        }
    }
    obj.set_attr("aliases", all.join(";"))
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
                    lines.push(e);
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

/// `set obj/attr = value`, `set obj/attr`, `set/delete obj/attr` (or an empty value).
struct Set;
impl Command for Set {
    const KEY: &'static str = "set";
    const ALIASES: &'static [&'static str] = &["@set"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "set attribute on an object\n\nUsage:\n  set <obj>/<attr> = <value>\n  set <obj>/<attr> =\n  set/delete <obj>/<attr>\n  set <obj>/<attr>\n\nSets attributes on objects. The second example form clears a previously\nset attribute, as does the /delete switch; the last form shows it.\n\nThe value is read as JSON where it is JSON (numbers, true/false, \"quoted\nstrings\", [lists] and {objects}); anything else is kept as a string, with\na note. Examples:\n   set self/foo = \"bar\"\n   set box/hp = 10\n   set box/loot = [\"coin\", \"gem\"]";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let (lhs, rhs) = split_eq(rest);
        let Some((objname, attrs)) = lhs.split_once('/') else {
            return Err(SET_USAGE.into());
        };
        let obj = search(me, objname)?;
        let attrs: Vec<String> = attrs
            .split('/')
            .map(|a| a.split(':').next().unwrap_or_default().trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        if attrs.is_empty() {
            return Err(
                "No valid attributes were found. Usage: set obj/attr[:category] = value. Use empty value to clear."
                    .into(),
            );
        }
        for a in &attrs {
            check_len(a)?;
        }
        let name = obj.name();
        let mut out = String::new();
        let delete = sw.iter().any(|s| s == "delete") || rhs == Some("");
        for attr in &attrs {
            if delete {
                out += &if obj.attr(attr).is_some() {
                    obj.del_attr(attr)?;
                    format!("\nDeleted attribute {name}/|w{attr}|n [category:None].")
                } else {
                    format!(
                        "\nNo attribute {name}/|w{attr}|n [category: None] was found to delete."
                    )
                };
            } else if let Some(value) = rhs {
                let (stored, note) = typed(value);
                if let Some(note) = note {
                    inv.msg(note);
                }
                let verb = if obj.attr(attr).is_some() { "Modified" } else { "Created" };
                obj.set_attr(attr, &stored)?;
                out += &format!("\n{verb} attribute {name}/|w{attr}|n [category:None] = {value}");
            } else {
                out += &match obj.attr(attr) {
                    Some(v) => format!("\nAttribute {name}/|w{attr}|n [category:None] = {v}"),
                    None => {
                        format!("\nAttribute {name}/|w{attr}|n [category:None] does not exist.")
                    }
                };
            }
        }
        inv.msg(out.trim_start_matches('\n'));
        Ok(())
    }
}

/// What `set` stores for a typed value: a JSON string as its text, other JSON as its JSON text,
/// anything else as typed with Evennia's note.
fn typed(value: &str) -> (String, Option<String>) {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::String(s)) => (s, None),
        Ok(v) => (v.to_string(), None),
        Err(_) => (
            value.to_string(),
            Some(format!(
                "|RNote: name \"|r{value}|R\" was converted to a string. Make sure this is acceptable."
            )),
        ),
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
    const HELP: &'static str = "spawn objects from prototype\n\nUsage:\n  spawn[/noloc] <prototype_key>\n  spawn/list\n  spawn/show <prototype_key>\n\nSwitches:\n  noloc - allow location to be None if not specified explicitly. Otherwise,\n          location will default to caller's current location.\n  list - list available prototypes.\n  show, examine - inspect prototype by key, its parents applied.\n\nPrototypes are .toml or .json files in the game's prototypes folder, read\nagain when they change. Keys: prototype_key, prototype_parent (a key or a\nlist, inherited left to right), prototype_desc, prototype_tags, key,\naliases, desc, attrs (a table), tags, locks, typeclass; any other key is an\nattribute.";
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

/// Create an object from a resolved prototype. Everything is checked before the object is made,
/// so a bad prototype leaves nothing half-built.
fn spawn(proto: &Map<String, Value>, location: Option<Obj>) -> Result<Obj, String> {
    let limits = host::building_limits();
    let pkey = proto.get("prototype_key").map(text_of).unwrap_or_default();
    let key = proto.get("key").map(text_of).unwrap_or_else(|| pkey.clone());
    let kind = match proto.get("typeclass").and_then(Value::as_str) {
        Some(t) if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            t.to_lowercase()
        }
        _ => "thing".into(),
    };
    let mut attrs: Vec<(String, String)> = vec![("prototype_key".into(), pkey.clone())];
    if let Some(t) = proto.get("typeclass").filter(|_| kind == "thing") {
        attrs.push(("typeclass".into(), text_of(t)));
    }
    if let Some(d) = proto.get("desc") {
        attrs.push(("desc".into(), text_of(d)));
    }
    let aliases = list_of(proto.get("aliases"));
    if !aliases.is_empty() {
        attrs.push(("aliases".into(), aliases.join(";")));
    }
    let tags = list_of(proto.get("tags"));
    if !tags.is_empty() {
        attrs.push(("tags".into(), tags.join(",")));
    }
    if let Some(l) = proto.get("locks") {
        attrs.push(("locks".into(), text_of(l)));
    }
    if let Some(Value::Object(a)) = proto.get("attrs") {
        attrs.extend(a.iter().map(|(k, v)| (k.to_lowercase(), text_of(v))));
    }
    for (k, v) in proto {
        if !NOT_ATTRS.contains(&k.as_str()) && !k.starts_with("ndb_") {
            attrs.push((k.to_lowercase(), text_of(v)));
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
        if v.len() > limits.attr_value_bytes as usize {
            return Err(format!(
                "Prototype '{pkey}': the value of '{k}' is over {} bytes.",
                limits.attr_value_bytes
            ));
        }
    }
    let obj = Obj(host::build_object(&key, &kind, location.map(|l| l.id()))
        .map_err(|e| format!("Prototype '{pkey}': {e}"))?);
    for (k, v) in &attrs {
        obj.set_attr(k, v)?;
    }
    if let Some(d) = destination {
        obj.set_attr("destination", d.id().to_string())?;
    }
    Ok(obj)
}

cmdset! {
    key: "BuilderCmdSet", priority: 0, merge_type: Union,
    commands: [Dig, Open, Create, Desc, Name, Destroy, Teleport, Set, Spawn],
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
        assert_eq!(to.attr("aliases").as_deref(), Some("o"));
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
        assert_eq!(chief.attr("hp").as_deref(), Some("30"));
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
        assert_eq!(typed("\"bar\""), ("bar".into(), None));
        assert_eq!(typed("[1, \"a\"]"), ("[1,\"a\"]".into(), None));
        let (text, note) = typed("a red ball");
        assert_eq!(text, "a red ball");
        assert!(note.unwrap().contains("was converted to a string"));
    }
}
