//! The example game's gardener: an object class (Evennia's typeclass). The class is bound to the
//! garden and to the gardener, an NPC standing in it, and does three things:
//!
//! - the garden's `at_object_receive`: when a character arrives, the room hears
//!   `The gardener nods at NAME.`;
//! - the gardener's `at_msg_receive`: when someone in the garden says something containing
//!   `hello`, the room hears `The gardener says, "Hello, NAME."`;
//! - the gardener's `return_appearance`: `look gardener` adds how he greets the looker.
//!
//! The gardener's description is set by `at_object_creation`, which runs when the object is
//! bound to the class. The garden itself is built by the character module, which loads first.

use mudhost_sdk::{cmdset, host, object_class, LogLevel, Obj, ObjectClass};

/// This module's name: the class objects are bound to.
const CLASS: &str = "gardener";
const DESC: &str = "A weathered old gardener in a straw hat, pruning the roses.";

/// Put the gardener in the garden and bind both to this class (once; safe to run again).
fn build() {
    let Some(garden) = Obj::search("The Garden", None).into_iter().find(|o| o.is("room")) else {
        host::log(LogLevel::Warn, "no garden: the gardener stays home");
        return;
    };
    let gardener = match gardener_in(garden) {
        Some(g) => g,
        None => Obj::create("gardener", "character", Some(garden)),
    };
    for obj in [garden, gardener] {
        if obj.class().as_deref() != Some(CLASS) {
            if let Err(e) = obj.set_class(Some(CLASS)) {
                host::log(LogLevel::Warn, format!("binding {} to the gardener class: {e}", obj));
            }
        }
    }
}

/// The gardener NPC in `room`, if he is there.
fn gardener_in(room: Obj) -> Option<Obj> {
    Obj::search("gardener", Some(room))
        .into_iter()
        .find(|o| o.is("character") && o.class().as_deref() == Some(CLASS))
}

/// Whether `obj` is the gardener himself (not the garden).
fn is_gardener(obj: Obj) -> bool {
    obj.is("character")
}

struct Gardener;
impl ObjectClass for Gardener {
    fn at_object_creation(this: Obj) {
        if is_gardener(this) {
            if let Err(e) = this.set_attr("desc", DESC) {
                host::log(LogLevel::Warn, format!("describing the gardener: {e}"));
            }
        }
    }

    /// The garden sees a character arrive: the gardener (if he is there) nods at them.
    fn at_object_receive(this: Obj, arrived: Obj, _source: Option<Obj>) {
        if is_gardener(this) || !arrived.is("character") {
            return;
        }
        let Some(gardener) = gardener_in(this) else { return };
        if arrived != gardener {
            this.msg_contents(format!("The gardener nods at {}.", arrived.name()), &[gardener]);
        }
    }

    /// The gardener hears the room: a `hello` from someone standing with him is answered.
    fn at_msg_receive(this: Obj, text: &str, from: Option<Obj>) {
        if !is_gardener(this) || !text.to_lowercase().contains("hello") {
            return;
        }
        let (Some(who), Some(room)) = (from, this.location()) else { return };
        if who != this && who.location() == Some(room) {
            // Not to himself: he would hear his own "Hello" and answer it again.
            room.msg_contents(format!("The gardener says, \"Hello, {}.\"", who.name()), &[this]);
        }
    }

    fn return_appearance(this: Obj, _looker: Obj, default: String) -> String {
        if !is_gardener(this) {
            return default;
        }
        format!("{default}\nHe looks up from the roses and smiles at you.")
    }
}

cmdset! {
    key: "GardenerCmdSet", priority: 0, merge_type: Union,
    at_load: build,
    commands: [],
}
object_class!(Gardener);

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    /// A garden with the gardener, Anna and Bob in it.
    fn garden() -> (TestHost, Obj, Obj, u64, u64) {
        let host = TestHost::new();
        let garden = host.room("The Garden", "Roses.");
        build();
        let gardener = gardener_in(garden).expect("the gardener is placed");
        let anna = host.player("Anna", garden);
        let bob = host.player("Bob", garden);
        (host, garden, gardener, anna, bob)
    }

    #[test]
    fn the_gardener_is_placed_once_and_bound_with_the_garden() {
        let (host, garden, gardener, ..) = garden();
        build();
        assert_eq!(Obj::search("gardener", Some(garden)).len(), 1);
        assert_eq!(garden.class().as_deref(), Some(CLASS));
        assert_eq!(gardener.class().as_deref(), Some(CLASS));
        // The fake host records the class; the creation hook is the class's to call.
        host.as_hook(|| Gardener::at_object_creation(gardener));
        assert_eq!(gardener.attr("desc").as_deref(), Some(DESC));
    }

    #[test]
    fn an_arriving_character_gets_a_nod_and_a_hello_gets_an_answer() {
        let (host, garden, gardener, anna, bob) = garden();
        let anna_obj = host.puppet_of(anna).unwrap();
        host.as_hook(|| Gardener::at_object_receive(garden, anna_obj, None));
        assert_eq!(host.output(bob), ["The gardener nods at Anna."]);
        host.as_hook(|| Gardener::at_msg_receive(gardener, "Anna says, \"hello\"", Some(anna_obj)));
        assert_eq!(host.output(anna).last().unwrap(), "The gardener says, \"Hello, Anna.\"");
        // Other talk, and the garden itself hearing, get nothing.
        host.as_hook(|| Gardener::at_msg_receive(gardener, "Anna says, \"bye\"", Some(anna_obj)));
        host.as_hook(|| Gardener::at_msg_receive(garden, "hello", Some(anna_obj)));
        assert_eq!(host.output(bob).len(), 2);
    }

    #[test]
    fn looking_at_the_gardener_adds_his_smile() {
        let (host, garden, gardener, ..) = garden();
        let text = host.as_hook(|| Gardener::return_appearance(gardener, garden, "X".into()));
        assert_eq!(text, "X\nHe looks up from the roses and smiles at you.");
        let room = host.as_hook(|| Gardener::return_appearance(garden, gardener, "Y".into()));
        assert_eq!(room, "Y");
    }
}
