//! Test object class for the object-class tests. What a bound object does is set by its
//! attributes:
//!
//! - `refuse_move` (on the mover): `at_pre_move` refuses with that text;
//! - `refuse_traverse` (on an exit): `at_pre_traverse` refuses with that text;
//! - `announce_leave` (on a room): `at_object_leave` tells the room `NAME leaves ROOM.`;
//! - `announce_traverse` (on an exit): `at_traverse` tells the destination
//!   `NAME came through EXIT.`;
//! - `trap_on_receive` / `spin_on_receive` (on a room): `at_object_receive` panics / never
//!   returns (the deadline ends it);
//! - `listen`: hearing a room message containing `ping`, it tells the room `KEY hears.` (leaving
//!   out every object of this class, so no chain starts);
//! - `echo` = N: it repeats a room message it hears to the room, leaving out only itself, while
//!   the message holds fewer than N echoes: two echoes in a room answer each other N times, each
//!   answer a hook nested one deeper.
//!
//! Commands: `objclassify TARGET=ATTR:VALUE` (TARGET `me`, `here` or an object's key anywhere)
//! sets the attribute and binds the object to this class; `objspawn KEY=ATTR:VALUE` creates a
//! thing in the caller's room first; `objmove KEY` moves a thing in the room into the caller.

use mudhost_sdk::{cmdset, object_class, CmdResult, Command, Invocation, Obj, ObjectClass};

const CLASS: &str = "objtest";

/// `TARGET=ATTR:VALUE`.
fn parse(args: &str) -> Result<(&str, &str, &str), String> {
    let (target, rest) = args.split_once('=').ok_or("Usage: TARGET=ATTR:VALUE")?;
    let (attr, value) = rest.split_once(':').ok_or("Usage: TARGET=ATTR:VALUE")?;
    Ok((target.trim(), attr.trim(), value.trim()))
}

fn bind(obj: Obj, attr: &str, value: &str) -> CmdResult {
    obj.set_attr(attr, value)?;
    Ok(obj.set_class(Some(CLASS))?)
}

struct Classify;
impl Command for Classify {
    const KEY: &'static str = "objclassify";
    const HELP: &'static str = "Bind an object to the test class.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("No puppet.")?;
        let (target, attr, value) = parse(inv.args_trimmed())?;
        let obj = match target {
            "me" => me,
            "here" => me.location().ok_or("Nowhere.")?,
            key => *Obj::search(key, None).first().ok_or(format!("No {key}."))?,
        };
        bind(obj, attr, value)?;
        inv.msg(format!("Classified {}.", obj.name()));
        Ok(())
    }
}

struct Spawn;
impl Command for Spawn {
    const KEY: &'static str = "objspawn";
    const HELP: &'static str = "Create a thing of the test class in your room.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("No puppet.")?;
        let (key, attr, value) = parse(inv.args_trimmed())?;
        let obj = Obj::create(key, "thing", me.location());
        bind(obj, attr, value)?;
        inv.msg(format!("Spawned {key}."));
        Ok(())
    }
}

struct Move;
impl Command for Move {
    const KEY: &'static str = "objmove";
    const HELP: &'static str = "Move a thing in your room into your inventory.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("No puppet.")?;
        let obj = Obj::find(inv.args_trimmed(), &[me.location().ok_or("Nowhere.")?])?;
        obj.move_to(Some(me))?;
        inv.msg(format!("Moved {}.", obj.name()));
        Ok(())
    }
}

struct Probe;
impl ObjectClass for Probe {
    fn at_pre_move(this: Obj, _destination: Option<Obj>) -> Result<(), String> {
        match this.attr("refuse_move") {
            Some(text) => Err(text),
            None => Ok(()),
        }
    }

    fn at_pre_traverse(this: Obj, _traverser: Obj) -> Result<(), String> {
        match this.attr("refuse_traverse") {
            Some(text) => Err(text),
            None => Ok(()),
        }
    }

    fn at_object_receive(this: Obj, _obj: Obj, _source: Option<Obj>) {
        if this.attr("trap_on_receive").is_some() {
            panic!("objtest: trap on receive");
        }
        if this.attr("spin_on_receive").is_some() {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
    }

    fn at_object_leave(this: Obj, obj: Obj, _destination: Option<Obj>) {
        if this.attr("announce_leave").is_some() {
            this.msg_contents(format!("{} leaves {}.", obj.name(), this.name()), &[]);
        }
    }

    fn at_traverse(this: Obj, traverser: Obj, destination: Obj) {
        if this.attr("announce_traverse").is_some() {
            let text = format!("{} came through {}.", traverser.name(), this.name());
            destination.msg_contents(text, &[]);
        }
    }

    fn at_msg_receive(this: Obj, text: &str, _from: Option<Obj>) {
        let Some(room) = this.location() else { return };
        if this.attr("listen").is_some() && text.contains("ping") {
            let ours: Vec<Obj> = room
                .contents()
                .into_iter()
                .filter(|o| o.class().as_deref() == Some(CLASS))
                .collect();
            room.msg_contents(format!("{} hears.", this.name()), &ours);
        }
        let max: usize = this.attr("echo").and_then(|n| n.parse().ok()).unwrap_or(0);
        if text.matches("echoes:").count() < max {
            room.msg_contents(format!("{} echoes: {text}", this.name()), &[this]);
        }
    }
}

cmdset! {
    key: "ObjTestCmdSet", priority: 0, merge_type: Union,
    commands: [Classify, Spawn, Move],
}
object_class!(Probe);
