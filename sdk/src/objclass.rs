//! Object classes (Evennia's typeclasses): behaviour that comes with an object.
//!
//! A module built with the SDK feature `object-class` implements [`ObjectClass`] (every hook has
//! a default that does nothing) and exports it with [`object_class!`](crate::object_class) after
//! its [`cmdset!`](crate::cmdset). Objects are bound to it by module name with [`Obj::set_class`]
//! (any module may do it; the class's own `at_load` too). The host then calls the hooks of a
//! bound object:
//!
//! | hook | when (Evennia's name) |
//! |---|---|
//! | `at_object_creation` | the object was bound to the class |
//! | `at_pre_move` | the object is about to move (`Obj::move_to`); `Err(text)` refuses |
//! | `at_object_leave` / `at_object_receive` | something left / arrived in the object |
//! | `at_pre_traverse` / `at_traverse` | an exit is being / was traversed ([`Obj::traverse`]) |
//! | `return_appearance` | someone looks at it ([`Obj::appearance`], the look after `ic`) |
//! | `at_msg_receive` | text was sent to the room it stands in (`Obj::msg_contents`) |
//!
//! Hooks run inside the command (or timer firing) that caused them, with no calling session:
//! `host::msg_caller` reaches nobody, so speak to the room. A hook that panics or overruns fails
//! that whole command, which is undone (the player sees "An untrapped error occurred."): a move
//! is never half done. Hooks that cause hooks nest at most `objclass_max_depth` deep, and one
//! room message reaches at most `objclass_max_fanout` classed objects (game settings). Text a
//! class sends to its own room should exclude the object itself, or it hears itself.
//!
//! An NPC that greets arrivals and answers speech (the example game's gardener; the class is
//! bound to the room, whose `at_object_receive` sees arrivals, and to the NPC, which hears the
//! room):
//!
//! ```ignore
//! use mudhost_sdk::{cmdset, object_class, Obj, ObjectClass};
//!
//! struct Gardener;
//! impl ObjectClass for Gardener {
//!     fn at_object_receive(this: Obj, arrived: Obj, _source: Option<Obj>) {
//!         if this.is("room") && arrived.is("character") {
//!             this.msg_contents(format!("The gardener nods at {}.", arrived.name()), &[]);
//!         }
//!     }
//!     fn at_msg_receive(this: Obj, text: &str, from: Option<Obj>) {
//!         if let (Some(who), Some(room)) = (from, this.location()) {
//!             if text.to_lowercase().contains("hello") {
//!                 room.msg_contents(format!("The gardener says, \"Hello, {}.\"", who.name()), &[this]);
//!             }
//!         }
//!     }
//! }
//!
//! cmdset! { key: "GardenerCmdSet", priority: 0, merge_type: Union, commands: [] }
//! object_class!(Gardener);
//! ```
//!
//! In the test host (feature `testing`) the class functions work on its fake objects, but no
//! hook of another module runs: call a hook directly (`<Gardener as ObjectClass>::at_msg_receive`)
//! inside [`crate::testing::TestHost::as_hook`].

use crate::{host, HostError, Obj};

impl Obj {
    /// Bind this object to the object-class module `class` (its `at_object_creation` runs), or
    /// unbind it (`None`).
    pub fn set_class(self, class: Option<&str>) -> Result<(), HostError> {
        host::object_set_class(self.0, class)
    }

    /// The module name of this object's class.
    pub fn class(self) -> Option<String> {
        host::object_class(self.0)
    }

    /// What `looker` sees looking at this object (its class's `return_appearance`, or Evennia's
    /// default: name, description, exits, characters, things).
    pub fn appearance(self, looker: Obj) -> String {
        host::object_appearance(self.0, looker.0)
    }

    /// Move this object through `exit` (to its `destination`), with the exit's traverse hooks
    /// and the move's hooks; `Err` is a refusal to show.
    pub fn traverse(self, exit: Obj) -> Result<(), HostError> {
        host::object_traverse(self.0, exit.0)
    }
}

/// The hooks of an object class (Evennia's typeclass hooks). `this` is the bound object. Every
/// hook has a default: nothing happens, nothing is refused, the default appearance is shown.
#[cfg(feature = "object-class")]
pub trait ObjectClass {
    /// The object was bound to this class (Evennia's `at_object_creation`).
    fn at_object_creation(_this: Obj) {}
    /// `this` is about to move to `destination`; `Err(text)` refuses (the mover sees the text).
    fn at_pre_move(_this: Obj, _destination: Option<Obj>) -> Result<(), String> {
        Ok(())
    }
    /// `obj` arrived in `this` from `source`.
    fn at_object_receive(_this: Obj, _obj: Obj, _source: Option<Obj>) {}
    /// `obj` left `this` for `destination`.
    fn at_object_leave(_this: Obj, _obj: Obj, _destination: Option<Obj>) {}
    /// `traverser` is about to go through the exit `this`; `Err(text)` refuses.
    fn at_pre_traverse(_this: Obj, _traverser: Obj) -> Result<(), String> {
        Ok(())
    }
    /// `traverser` went through the exit `this` into `destination`.
    fn at_traverse(_this: Obj, _traverser: Obj, _destination: Obj) {}
    /// What `looker` sees looking at `this`; `default` is Evennia's default appearance.
    fn return_appearance(_this: Obj, _looker: Obj, default: String) -> String {
        default
    }
    /// Text was sent to the room `this` stands in; `from` is the character whose command sent
    /// it (none from a hook or a timer).
    fn at_msg_receive(_this: Obj, _text: &str, _from: Option<Obj>) {}
}

/// Export this module as an object class: `object_class!(Gardener)` with
/// `Gardener: ObjectClass`, after the module's [`cmdset!`](crate::cmdset). Build with the SDK
/// feature `object-class`.
#[cfg(feature = "object-class")]
#[macro_export]
macro_rules! object_class {
    ($class:ty) => {
        impl $crate::bindings::exports::mudhost::game::object_class::Guest for CmdSet {
            fn at_object_creation(this: $crate::ObjectId) {
                <$class as $crate::ObjectClass>::at_object_creation($crate::Obj(this))
            }
            fn at_pre_move(
                this: $crate::ObjectId,
                destination: ::core::option::Option<$crate::ObjectId>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                <$class as $crate::ObjectClass>::at_pre_move(
                    $crate::Obj(this),
                    destination.map($crate::Obj),
                )
            }
            fn at_object_receive(
                this: $crate::ObjectId,
                obj: $crate::ObjectId,
                source: ::core::option::Option<$crate::ObjectId>,
            ) {
                <$class as $crate::ObjectClass>::at_object_receive(
                    $crate::Obj(this),
                    $crate::Obj(obj),
                    source.map($crate::Obj),
                )
            }
            fn at_object_leave(
                this: $crate::ObjectId,
                obj: $crate::ObjectId,
                destination: ::core::option::Option<$crate::ObjectId>,
            ) {
                <$class as $crate::ObjectClass>::at_object_leave(
                    $crate::Obj(this),
                    $crate::Obj(obj),
                    destination.map($crate::Obj),
                )
            }
            fn at_pre_traverse(
                this: $crate::ObjectId,
                traverser: $crate::ObjectId,
            ) -> ::core::result::Result<(), ::std::string::String> {
                <$class as $crate::ObjectClass>::at_pre_traverse(
                    $crate::Obj(this),
                    $crate::Obj(traverser),
                )
            }
            fn at_traverse(
                this: $crate::ObjectId,
                traverser: $crate::ObjectId,
                destination: $crate::ObjectId,
            ) {
                <$class as $crate::ObjectClass>::at_traverse(
                    $crate::Obj(this),
                    $crate::Obj(traverser),
                    $crate::Obj(destination),
                )
            }
            fn return_appearance(
                this: $crate::ObjectId,
                looker: $crate::ObjectId,
                default: ::std::string::String,
            ) -> ::std::string::String {
                <$class as $crate::ObjectClass>::return_appearance(
                    $crate::Obj(this),
                    $crate::Obj(looker),
                    default,
                )
            }
            fn at_msg_receive(
                this: $crate::ObjectId,
                text: ::std::string::String,
                from: ::core::option::Option<$crate::ObjectId>,
            ) {
                <$class as $crate::ObjectClass>::at_msg_receive(
                    $crate::Obj(this),
                    &text,
                    from.map($crate::Obj),
                )
            }
        }
        $crate::export_cmdset!(CmdSet);
    };
}
