//! The character cmdset: in-character commands of a puppeted character (Evennia's
//! CharacterCmdSet), and the example world, built at load time.

use mudhost_sdk::{
    cmdset, host, CmdResult, CmdsetHolder, Command, HostError, Invocation, LogLevel, Obj,
};

mod examine;
use examine::Examine;

// --- the world ----------------------------------------------------------------------------------

const LIMBO_DESC: &str = "Welcome to |wmudhost|n's example world! This grey, featureless place is \
Limbo, where every new character begins.\n\nA gravel path leads out to a |wgarden|n, and a narrow \
stair winds up into a |wtower|n.";
const GARDEN_DESC: &str = "Roses climb a crumbling wall and bees drone between the flower beds. \
The gravel path leads back to |wlimbo|n.";
const TOWER_DESC: &str =
    "A round room at the top of the tower. Through its narrow windows you see \
the garden far below. The stair leads |wdown|n.";

/// Build the example world once: Limbo (the start location) gets a description, two more rooms
/// and exits between them are added. Safe to run again, even after a half-finished run: every
/// step reuses what already exists, and `world_built` on Limbo skips it all.
fn build_world() {
    let limbo = Obj::start_location();
    if limbo.attr("world_built").is_none() {
        build_rooms(limbo);
    }
    place_box();
    place_statue();
}

const STATUE_DESC: &str = "A marble statue of a gardener leaning on a spade, green with moss.";

/// The statue in the garden cannot be picked up (its lock `get:false()`, checked by `get`); the
/// pebble can (`get:all()`). Locks are set on every load: setting one again changes nothing.
fn place_statue() {
    let Some(garden) = Obj::search("The Garden", None).into_iter().find(|o| o.is("room")) else {
        return;
    };
    let statue = Obj::search("statue", None).into_iter().find(|o| o.is("thing"));
    let statue = statue.unwrap_or_else(|| {
        let s = Obj::create("statue", "thing", Some(garden));
        check(s.set_attr("desc", STATUE_DESC));
        check(s.alias_add("marble statue"));
        check(s.tag_add("heavy", Some("weight")));
        s
    });
    check(statue.lock_add("get:false()"));
    for pebble in Obj::search("pebble", None).into_iter().filter(|o| o.is("thing")) {
        check(pebble.lock_add("get:all()"));
    }
}

/// The box in the garden carries the `box` module's cmdset (open box, close box, its own look):
/// commands that come with an object, for whoever stands near it. The cmdset is stored with the
/// box, so it stays after restarts; a game without the `box` module just has a plain box.
fn place_box() {
    if Obj::search("box", None).is_empty() {
        if let Some(garden) = Obj::search("The Garden", None).into_iter().find(|o| o.is("room")) {
            check(
                Obj::create("box", "thing", Some(garden))
                    .set_attr("desc", "A wooden box with a hinged lid."),
            );
        }
    }
    for b in Obj::search("box", None).into_iter().filter(|o| o.is("thing")) {
        check(host::cmdset_add(CmdsetHolder::Object(b.id()), "box", true));
    }
}

fn build_rooms(limbo: Obj) {
    check(limbo.set_attr("desc", LIMBO_DESC));
    let garden = room("The Garden", GARDEN_DESC);
    let tower = room("The Tower", TOWER_DESC);
    exit(limbo, "garden", &[], garden);
    exit(limbo, "tower", &["up", "u"], tower);
    exit(garden, "limbo", &[], limbo);
    exit(tower, "down", &["d"], limbo);
    thing("pebble", "A smooth grey pebble, still warm from the sun.", garden);
    thing("book", "A heavy book titled |wThe Art of Hot Reloading|n.", tower);
    check(limbo.set_attr("world_built", "1"));
    host::log(LogLevel::Info, "example world built");
}

fn check(result: Result<(), HostError>) {
    if let Err(e) = result {
        host::log(LogLevel::Warn, format!("building the world: {e}"));
    }
}

fn room(key: &str, desc: &str) -> Obj {
    let room = Obj::search(key, None).into_iter().find(|o| o.is("room"));
    let room = room.unwrap_or_else(|| Obj::create(key, "room", None));
    check(room.set_attr("desc", desc));
    room
}

/// An exit named `key` (typed alone, or as one of `aliases`, it moves you: the host gives every
/// exit a command, and its `aliases` attribute, `;`-separated, names more) from `from` to `to`.
fn exit(from: Obj, key: &str, aliases: &[&str], to: Obj) {
    let exit = Obj::search(key, Some(from)).into_iter().find(|o| o.is("exit"));
    let exit = exit.unwrap_or_else(|| Obj::create(key, "exit", Some(from)));
    check(exit.set_attr("destination", to.id().to_string()));
    if !aliases.is_empty() {
        check(exit.set_attr("aliases", aliases.join(";")));
    }
}

fn thing(key: &str, desc: &str, location: Obj) {
    // Anywhere: a player may have carried it off.
    if Obj::search(key, None).is_empty() {
        check(Obj::create(key, "thing", Some(location)).set_attr("desc", desc));
    }
}

// --- helpers ------------------------------------------------------------------------------------

/// The character this session puppets (the cmdset is only active while puppeting).
fn me(inv: &Invocation) -> Result<Obj, String> {
    inv.puppet().ok_or_else(|| "You are not puppeting a character.".to_string())
}

// --- commands -----------------------------------------------------------------------------------

/// Look at the room or at something.
struct Look;
impl Command for Look {
    const KEY: &'static str = "look";
    const ALIASES: &'static [&'static str] = &["l", "ls"];
    const HELP: &'static str = "Look at location or object.\n\nUsage:\n  look\n  look <obj>\n\nObserves your location or objects in your vicinity.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let room = me.location();
        let arg = inv.args_trimmed();
        let target = match (arg.to_lowercase().as_str(), room) {
            ("", Some(room)) | ("here", Some(room)) => room,
            ("" | "here", None) => return Err("You have no location to look at!".into()),
            ("me" | "self", _) => me,
            _ => Obj::find(arg, &room.into_iter().chain([me]).collect::<Vec<_>>())?,
        };
        // The target's class may show it its own way (`return_appearance`); else Evennia's default.
        inv.msg(target.appearance(me));
        Ok(())
    }
}

/// Speak as your character.
struct Say;
impl Command for Say {
    const KEY: &'static str = "say";
    const ALIASES: &'static [&'static str] = &["\"", "'"];
    const HELP: &'static str = "Speak as your character.\n\nUsage:\n  say <message>\n\nTalk to those in your current location.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let speech = inv.args_trimmed();
        if speech.is_empty() {
            return Err("Say what?".into());
        }
        me.msg(format!("You say, \"{speech}\""));
        if let Some(room) = me.location() {
            room.msg_contents(format!("{} says, \"{speech}\"", me.name()), &[me]);
        }
        Ok(())
    }
}

/// Strike a pose.
struct Pose;
impl Command for Pose {
    const KEY: &'static str = "pose";
    const ALIASES: &'static [&'static str] = &[":", "emote"];
    const HELP: &'static str = "Strike a pose.\n\nUsage:\n  pose <pose text>\n  pose's <pose text>\n\nExample:\n  pose is standing by the wall, smiling.\n   -> others will see:\n  Tom is standing by the wall, smiling.\n\nDescribe an action being taken. The pose text will\nautomatically begin with your name.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let pose = inv.args_trimmed();
        if pose.is_empty() {
            return Err("What do you want to do?".into());
        }
        let sep = if pose.starts_with(['\'', ',', ':']) { "" } else { " " };
        let text = format!("{}{sep}{pose}", me.name());
        match me.location() {
            Some(room) => room.msg_contents(text, &[]),
            None => me.msg(text),
        }
        Ok(())
    }
}

/// Move through an exit.
struct Go;
impl Command for Go {
    const KEY: &'static str = "go";
    const ALIASES: &'static [&'static str] = &["move"];
    const HELP: &'static str = "Move through an exit.\n\nUsage:\n  go <exit>\n\nThe exits of a room are listed when you look around.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let arg = inv.args_trimmed();
        if arg.is_empty() {
            return Err("Go where?".into());
        }
        let room = me.location().ok_or("You can't go that way.")?;
        let exit = Obj::search(arg, Some(room))
            .into_iter()
            .find(|o| o.is("exit"))
            .ok_or("You can't go that way.")?;
        traverse(inv, me, exit)
    }
}

/// What typing an exit's name does (the host gives every exit in the room a command named after
/// it, Evennia's ExitCmdSet, and runs this with the exit).
struct TraverseExit;
impl Command for TraverseExit {
    const KEY: &'static str = "__exit_command";
    const HELP: &'static str = "Move through the exit whose name you typed.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let exit = inv.obj().filter(|o| o.is("exit")).ok_or("You can't go that way.")?;
        traverse(inv, me, exit)
    }
}

/// Move `me` through `exit` (Evennia's `at_traverse` → `move_to`): the rooms are told, the
/// mover sees where they arrived.
fn traverse(inv: &Invocation, me: Obj, exit: Obj) -> CmdResult {
    let room = me.location().ok_or("You can't go that way.")?;
    // The exit's `traverse` lock (Evennia's ExitCommand): its `err_traverse`, else Evennia's text.
    if !exit.access(me, "traverse") {
        return Err(exit.attr("err_traverse").unwrap_or_else(|| "You cannot go there.".into()));
    }
    // A door (an exit with a `door` attribute, like the `gate` module's gate) lets you through
    // only while it has an `open` attribute.
    if exit.attr("door").is_some() && exit.attr("open").is_none() {
        return Err(format!("The {} is closed.", exit.name()));
    }
    let dest =
        exit.attr_obj("destination").filter(|d| d.exists()).ok_or("That exit leads nowhere.")?;
    // The host runs the exit's and the move's object-class hooks, which may refuse.
    me.traverse(exit)?;
    let (name, from, to) = (me.name(), room.name(), dest.name());
    room.msg_contents(format!("{name} is leaving {from}, heading for {to}."), &[me]);
    dest.msg_contents(format!("{name} arrives to {to} from {from}."), &[me]);
    inv.msg(dest.appearance(me));
    Ok(())
}

/// Pick something up.
struct Get;
impl Command for Get {
    const KEY: &'static str = "get";
    const ALIASES: &'static [&'static str] = &["grab"];
    const HELP: &'static str = "Pick up something.\n\nUsage:\n  get <obj>\n\nPicks up an object from your location and puts it in\nyour inventory.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let arg = inv.args_trimmed();
        if arg.is_empty() {
            return Err("Get what?".into());
        }
        let room = me.location().ok_or("You have nothing to pick up here.")?;
        let obj = Obj::find(arg, &[room])?;
        if obj == me {
            return Err("You can't get yourself.".into());
        }
        // The object's `get` lock (Evennia's `obj.access(caller, "get")`; characters, rooms and
        // exits default to `get:false()`), and never a character, room or exit, superusers
        // included.
        let kind = obj.kind();
        if matches!(kind.as_deref(), Some("character" | "exit" | "room")) || !obj.access(me, "get")
        {
            return Err(obj.attr("get_err_msg").unwrap_or_else(|| "You can't get that.".into()));
        }
        obj.move_to(Some(me)).map_err(|_| "This can't be picked up.")?;
        let name = obj.name();
        inv.msg(format!("You pick up {name}."));
        room.msg_contents(format!("{} picks up {name}.", me.name()), &[me]);
        Ok(())
    }
}

/// Drop something you carry.
struct Drop;
impl Command for Drop {
    const KEY: &'static str = "drop";
    const HELP: &'static str = "Drop something.\n\nUsage:\n  drop <obj>\n\nLets you drop an object from your inventory into the\nlocation you are currently in.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let arg = inv.args_trimmed();
        if arg.is_empty() {
            return Err("Drop what?".into());
        }
        let obj = match Obj::find_all(arg, &[me])[..] {
            [] => return Err(format!("You aren't carrying {arg}.")),
            [one] => one,
            ref many => return Err(Obj::multimatch_text(arg, many)),
        };
        let room = me.location().ok_or("You have nowhere to drop it.")?;
        obj.move_to(Some(room))?;
        let name = obj.name();
        inv.msg(format!("You drop {name}."));
        room.msg_contents(format!("{} drops {name}.", me.name()), &[me]);
        Ok(())
    }
}

/// List what you carry.
struct Inventory;
impl Command for Inventory {
    const KEY: &'static str = "inventory";
    const ALIASES: &'static [&'static str] = &["inv", "i"];
    const HELP: &'static str =
        "View inventory.\n\nUsage:\n  inventory\n  inv\n\nShows your inventory.";
    fn func(inv: &Invocation) -> CmdResult {
        let items = me(inv)?.contents();
        if items.is_empty() {
            return Err("You are not carrying anything.".into());
        }
        let lines: String = items.iter().map(|o| format!("\n {}", o.name())).collect();
        inv.msg(format!("|wYou are carrying:|n{lines}"));
        Ok(())
    }
}

cmdset! {
    key: "CharacterCmdSet", priority: 0, merge_type: Union,
    at_load: build_world,
    commands: [Look, Say, Pose, Go, TraverseExit, Get, Drop, Inventory, Examine],
}

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    /// The example world built, Anna in Limbo.
    fn world() -> TestHost {
        let host = TestHost::new();
        build_world();
        host.player("Anna", host.limbo());
        host
    }

    #[test]
    fn the_world_is_built_once_however_often_the_module_loads() {
        let host = world();
        let count = |key: &str| Obj::search(key, None).len();
        build_world();
        build_world();
        assert_eq!(
            (count("The Garden"), count("garden"), count("box"), count("pebble")),
            (1, 1, 1, 1)
        );
        let the_box = Obj::search("box", None)[0];
        assert_eq!(host.cmdsets(CmdsetHolder::Object(the_box.id())), ["box"]);
    }

    #[test]
    fn look_shows_the_room_its_exits_and_what_is_in_it() {
        let host = world();
        let text = host.call::<Look>("", "Limbo\nWelcome to mudhost's example world!");
        assert!(text.ends_with("Exits: garden and tower"), "{text}");
        host.call::<Look>("me", "Anna\nThis is a character.");
        host.call::<Look>("tower", "tower\nThis is an exit.");
        host.call::<Look>("dragon", "Could not find 'dragon'.");
    }

    #[test]
    fn going_through_an_exit_moves_and_tells_both_rooms() {
        let host = world();
        let limbo = host.limbo();
        let bob = host.player("Bob", limbo);
        host.call::<Go>("", "Go where?");
        host.call::<Go>("nowhere", "You can't go that way.");
        let arrived = host.call::<Go>("garden", "The Garden\nRoses climb a crumbling wall");
        assert!(arrived.contains("You see: box, pebble, and statue"), "{arrived}");
        assert_eq!(host.output(bob), ["Anna is leaving Limbo, heading for The Garden."]);
        // Typing the exit's name: the host runs `__exit_command` with the exit.
        let garden = Obj::search("The Garden", None)[0];
        let back = Obj::search("limbo", Some(garden))[0];
        let mut inv = host.invocation::<TraverseExit>(1, "");
        inv.matches = vec![back.to_string()];
        host.run::<TraverseExit>(inv, "Limbo");
        assert_eq!(host.output(bob).last().unwrap(), "Anna arrives to Limbo from The Garden.");
    }

    #[test]
    fn things_are_picked_up_carried_and_dropped() {
        let host = world();
        host.call::<Go>("garden", "The Garden");
        let bob = host.player("Bob", Obj::search("The Garden", None)[0]);
        host.call::<Inventory>("", "You are not carrying anything.");
        host.call::<Get>("pebble", "You pick up pebble.");
        assert_eq!(host.output(bob), ["Anna picks up pebble."]);
        host.call::<Get>("pebble", "Could not find 'pebble'.");
        host.call::<Get>("limbo", "You can't get that.");
        host.call::<Inventory>("", "You are carrying:\n pebble");
        host.call::<Drop>("book", "You aren't carrying book.");
        host.call::<Drop>("pebble", "You drop pebble.");
        host.call::<Inventory>("", "You are not carrying anything.");
    }

    #[test]
    fn the_statue_cannot_be_picked_up_and_the_pebble_can() {
        let host = world();
        host.call::<Go>("garden", "The Garden");
        host.call::<Get>("statue", "You can't get that.");
        host.call::<Get>("marble statue", "You can't get that.");
        host.call::<Get>("pebble", "You pick up pebble.");
        let statue = Obj::search("statue", None)[0];
        assert_eq!(statue.locks()[0], "get:false()");
    }

    #[test]
    fn examine_lists_key_aliases_locks_tags_and_attributes() {
        let host = world();
        host.call::<Go>("garden", "The Garden");
        let statue = Obj::search("statue", None)[0];
        statue.set_attr_json("weight", Some("stats"), &serde_json::json!(800)).unwrap();
        let text = host.call::<Examine>("statue", "-");
        for line in [
            &format!("Name/key: statue ({statue})"),
            "Aliases: marble statue",
            "Location: The Garden (#",
            "Locks: get:false()",
            "Tags: heavy[weight]",
            "Persistent Attributes: \n  desc=A marble statue",
            "weight[stats]=800 [type: int]",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
    }

    #[test]
    fn say_and_pose_reach_the_room() {
        let host = world();
        let bob = host.player("Bob", host.limbo());
        host.call::<Say>("", "Say what?");
        host.call::<Say>("hello there", "You say, \"hello there\"");
        host.call::<Pose>("waves.", "Anna waves.");
        host.call::<Pose>("'s hat is red.", "Anna's hat is red.");
        assert_eq!(
            host.output(bob),
            ["Anna says, \"hello there\"", "Anna waves.", "Anna's hat is red."]
        );
    }

    #[test]
    fn commands_need_a_puppet() {
        let host = TestHost::new();
        let s = host.session();
        host.call_as::<Look>(s, "", "You are not puppeting a character.");
    }
}
