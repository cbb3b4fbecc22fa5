//! Guest SDK for mudhost: write game commands in Rust, build them for `wasm32-wasip2`, drop the
//! `.wasm` into the game's `modules/` folder.
//!
//! A module is one of four plugin kinds, each with a trait and one macro:
//!
//! - a **cmdset** (Evennia's command set): each command is a type implementing [`Command`];
//!   [`cmdset!`] declares the set and exports it;
//! - an **input hook** (Evennia's INPUT_HOOKS): a type implementing [`InputHook`], exported with
//!   [`input_hook!`] beside the module's cmdset (build with the SDK feature `input-hook`);
//! - a **session class** (Evennia's SERVER_SESSION_CLASS): a type implementing [`SessionClass`],
//!   exported with [`session_class!`] beside the module's cmdset, which is the per-session cmdset
//!   the class adds to sessions (build with the SDK feature `session-class`);
//! - an **object class** (Evennia's typeclass): a type implementing `ObjectClass` (module
//!   [`objclass`]), exported with `object_class!` beside the module's cmdset: hooks for the
//!   objects bound to it with [`Obj::set_class`] (build with the SDK feature `object-class`).
//!
//! A cmdset module:
//!
//! ```no_run
//! use mudhost_sdk::{cmdset, CmdResult, Command, Invocation};
//!
//! struct Hello;
//! impl Command for Hello {
//!     const KEY: &'static str = "hello";
//!     const ALIASES: &'static [&'static str] = &["hi"];
//!     const HELP: &'static str = "Greet someone.\n\nUsage:\n  hello <name>";
//!     fn func(inv: &Invocation) -> CmdResult {
//!         let who = inv.args_trimmed();
//!         if who.is_empty() { return Err("Hello whom?".into()); }
//!         inv.msg(format!("|wHello, {who}!|n"));
//!         Ok(())
//!     }
//! }
//!
//! cmdset! { key: "HelloCmdSet", priority: 0, merge_type: Union, commands: [Hello] }
//! # fn main() {}
//! ```
//!
//! `mudhost new NAME` makes such a crate (a `cdylib` with the `guest` profile and a first unit
//! test) and `mudhost build` builds it for `wasm32-wasip2` into the game's `modules/`; the module
//! name the host uses is the file stem of the `.wasm`. The plugin kind is an SDK feature, exactly
//! one of `cmdset` (the default), `input-hook`, `session-class`: a hook crate depends on the SDK
//! with `default-features = false`, and crates of different kinds are built in separate cargo
//! runs (cargo would unify the features, which is a compile error naming the cause).
//!
//! Commands are unit-tested natively with the feature `testing` (a dev-dependency): the module
//! `testing` then has `TestHost`, an in-memory fake of the host, with Evennia's
//! `call(cmd, args, expected)`.
//!
//! The host API is in [`host`] (one typed function per WIT import) and, more conveniently, on the
//! handles [`Obj`] and [`Account`] and on [`Invocation`] / [`SessionInfo`]. Pure helpers that game
//! code often needs are in [`args`] (argument splitting as Evennia does it) and [`text`]
//! (durations, lists, tables). The WIT contract is `wit/mudhost.wit`, version [`WIT_VERSION`].
//!
//! The host keeps a module's instance between calls while they succeed, so statics live on from
//! one call to the next (like a Python module's globals in Evennia); a call that fails (a panic, a
//! trap, the deadline, the memory cap, a quota) or a reload of the module starts a fresh instance.
//! Keep what must last in attributes (`Obj::set_attr`), which are saved with the world.

#![warn(missing_docs)]

pub mod args;
mod error;
pub mod host;
mod object;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;
pub mod text;
pub mod world;

pub use error::HostError;
pub use object::{Account, Obj};

/// The bindings generated from `wit/mudhost.wit` for this module's world (chosen by the SDK
/// features); guests never need them directly.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    // A module is exactly one plugin kind. Two kinds at once nearly always means cargo unified
    // the SDK's features over crates of different kinds built in one `cargo build`; before this
    // check that built, and the cmdset crate silently exported nothing.
    #[cfg(any(
        all(feature = "cmdset", feature = "input-hook"),
        all(feature = "cmdset", feature = "session-class"),
        all(feature = "input-hook", feature = "session-class"),
        all(feature = "object-class", feature = "cmdset"),
        all(feature = "object-class", feature = "input-hook"),
        all(feature = "object-class", feature = "session-class"),
    ))]
    compile_error!(
        "mudhost-sdk: more than one plugin kind enabled (features `cmdset`, `input-hook`, \
         `session-class`, `object-class`; a module is exactly one). Either crates of different kinds were built \
         in one cargo invocation, which unifies the SDK's features (build each kind in its own \
         `cargo build` / `mudhost build`), or a hook crate depends on the SDK without \
         `default-features = false` (the default feature is `cmdset`)."
    );

    #[cfg(not(any(
        feature = "cmdset",
        feature = "input-hook",
        feature = "session-class",
        feature = "object-class"
    )))]
    compile_error!(
        "mudhost-sdk: no plugin kind enabled: turn on one of the features `cmdset` (the \
         default), `input-hook`, `session-class` or `object-class`."
    );

    // One world is still generated when the kind is ambiguous, so the error above is the only one.
    #[cfg(not(any(feature = "input-hook", feature = "session-class", feature = "object-class")))]
    wit_bindgen::generate!({
        path: "../wit",
        world: "cmdset-module",
        pub_export_macro: true,
        export_macro_name: "__export_raw",
    });

    #[cfg(all(feature = "input-hook", not(feature = "session-class")))]
    #[cfg(not(feature = "object-class"))]
    wit_bindgen::generate!({
        path: "../wit",
        world: "input-hook-module",
        pub_export_macro: true,
        export_macro_name: "__export_raw",
    });

    #[cfg(all(feature = "session-class", not(feature = "object-class")))]
    wit_bindgen::generate!({
        path: "../wit",
        world: "session-class-module",
        pub_export_macro: true,
        export_macro_name: "__export_raw",
    });

    // Object classes
    #[cfg(feature = "object-class")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "object-class-module",
        pub_export_macro: true,
        export_macro_name: "__export_raw",
    });
}

mod hooks;
// Object classes
pub mod objclass;
#[cfg(feature = "object-class")]
pub use objclass::ObjectClass;

/// The raw `cmdset` export trait, for modules that do not use [`cmdset!`] (see [`export_cmdset!`]).
pub use bindings::exports::mudhost::game::cmdset::Guest;
/// The multisession settings the host applies (see [`host::get_multisession_policy`]).
pub use bindings::mudhost::game::host::MultisessionPolicy;
pub use bindings::mudhost::game::types::{
    AccountId, CmdsetHolder, CmdsetInfo, CommandInfo, HookResult, Invocation, LogLevel, MergeType,
    Message, ObjectId, Sessid, SessionInfo, TimerInfo,
};
#[cfg(all(feature = "input-hook", not(feature = "session-class")))]
pub use hooks::InputHook;
#[cfg(feature = "session-class")]
pub use hooks::SessionClass;

/// Version of the `mudhost:game` WIT package this SDK was built against. The host refuses modules
/// built against an incompatible version and names both versions.
pub const WIT_VERSION: &str = "0.4.0";
/// Version of this SDK crate.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a command returns: `Err(text)` is sent to the calling session as is (colour markup
/// allowed), like Evennia's `self.msg(...); return`.
pub type CmdResult = Result<(), String>;

/// One command, as Evennia's `Command` class: metadata in associated constants, logic in [`func`].
///
/// [`func`]: Command::func
pub trait Command {
    /// Main name, lower case (`"look"`). Keys starting with `__` are system commands.
    const KEY: &'static str;
    /// Other names (`&["l", "ls"]`).
    const ALIASES: &'static [&'static str] = &[];
    /// Help text; the first line is the summary shown in command lists.
    const HELP: &'static str;
    /// Lock string: `cmd:all()` (default), `cmd:superuser()`, `cmd:perm(Developer)`, `cmd:false()`.
    const LOCKS: &'static str = "cmd:all()";
    /// Regex the text after the command name must match; `None` = the host's default
    /// `^[ /]|\n|$` (so `lookhere` is not `look`).
    const ARG_REGEX: Option<&'static str> = None;
    /// Help category.
    const HELP_CATEGORY: &'static str = "general";

    /// Run the command. `Err(text)` is sent to the caller.
    fn func(inv: &Invocation) -> CmdResult;

    /// The metadata the host reads at load time.
    fn info() -> CommandInfo {
        CommandInfo {
            key: Self::KEY.into(),
            aliases: Self::ALIASES.iter().map(|a| a.to_string()).collect(),
            help: Self::HELP.into(),
            arg_regex: Self::ARG_REGEX.map(Into::into),
            locks: Self::LOCKS.into(),
            help_category: Self::HELP_CATEGORY.into(),
        }
    }

    /// Run [`func`](Command::func) and send an `Err` text to the caller.
    fn run(inv: &Invocation) {
        if let Err(text) = Self::func(inv) {
            host::msg_caller(text);
        }
    }
}

impl Invocation {
    /// The arguments with surrounding whitespace removed (`args` keeps Evennia's leading space).
    pub fn args_trimmed(&self) -> &str {
        self.args.trim()
    }

    /// Evennia's MuxCommand switches: `quit/all foo` → (`["all"]`, `"foo"`). See [`args::switches`].
    pub fn switches(&self) -> (Vec<String>, &str) {
        args::switches(&self.args)
    }

    /// Send text to the session that entered the command (Evennia's `self.msg`).
    pub fn msg(&self, text: impl AsRef<str>) {
        host::msg_caller(text);
    }

    /// The object the calling session puppets (the "caller" of an in-character command).
    pub fn puppet(&self) -> Option<Obj> {
        self.session.puppet_obj()
    }

    /// The calling session's account, if logged in.
    pub fn account(&self) -> Option<Account> {
        self.session.account_handle()
    }

    /// The object that lent this command (Evennia's `self.obj`): the thing, room or exit whose
    /// cmdset it comes from, or the exit being traversed in `__exit_command`. None for the
    /// caller's own commands.
    pub fn obj(&self) -> Option<Obj> {
        if self.key == "__nomatch_command" || self.key == "__multimatch_command" {
            return None;
        }
        match self.matches.as_slice() {
            [one] if one.starts_with('#') => Obj::parse(one),
            _ => None,
        }
    }
}

impl SessionInfo {
    /// The object this session puppets, as a handle.
    pub fn puppet_obj(&self) -> Option<Obj> {
        self.puppet.map(Obj)
    }

    /// The account this session is logged in to, as a handle.
    pub fn account_handle(&self) -> Option<Account> {
        self.account.map(Account)
    }
}

/// Export a type implementing [`Guest`] (and, for a hook module, the hook's export trait) as this
/// module. [`cmdset!`] (cmdset modules), [`input_hook!`] and [`session_class!`] do this for you;
/// use it directly only to hand-write the exports.
#[macro_export]
macro_rules! export_cmdset {
    ($ty:ident) => {
        $crate::bindings::__export_raw!($ty with_types_in $crate::bindings);
    };
}

/// Used by [`cmdset!`]: a cmdset module is exported with its cmdset; a hook module is exported
/// by its hook macro, which adds the hook's interface.
#[doc(hidden)]
#[cfg(not(any(feature = "input-hook", feature = "session-class", feature = "object-class")))]
#[macro_export]
macro_rules! __export_cmdset_module {
    ($ty:ident) => {
        $crate::export_cmdset!($ty);
    };
}

#[doc(hidden)]
#[cfg(any(feature = "input-hook", feature = "session-class", feature = "object-class"))]
#[macro_export]
macro_rules! __export_cmdset_module {
    ($ty:ident) => {};
}

/// Declare this module's cmdset and export it.
///
/// ```no_run
/// # use mudhost_sdk::{CmdResult, Command, Invocation};
/// # struct Look;
/// # impl Command for Look {
/// #     const KEY: &'static str = "look";
/// #     const HELP: &'static str = "Look around.";
/// #     fn func(_: &Invocation) -> CmdResult { Ok(()) }
/// # }
/// # type Say = Look; type Pose = Look;
/// fn build_world() { /* create rooms unless they exist */ }
/// fn on_timer(_timer: mudhost_sdk::TimerInfo) { /* see host::delay */ }
///
/// mudhost_sdk::cmdset! {
///     key: "CharacterCmdSet", priority: 0, merge_type: Union,
///     no_exits: false,               // optional, in this order: duplicates, no_exits, no_objs
///     at_load: build_world,          // optional: run after every load (must be idempotent)
///     at_timer: on_timer,            // optional: this module's timers fire here
///     commands: [Look, Say, Pose],
/// }
/// # fn main() { assert_eq!(CmdSet::info().no_exits, Some(false)); }
/// ```
///
/// It defines `pub struct CmdSet` with `CmdSet::info()` and `CmdSet::commands()` (handy for a
/// `help` command), implements the `cmdset` export by dispatching on the invocation's key, and
/// exports it. `merge_type` is one of `Union`, `Intersect`, `Replace`, `Remove`. An optional
/// `key_mergetypes: [("OtherCmdSet", Replace)]` (after `at_timer`) is Evennia's `key_mergetypes`.
/// `at_timer` receives the firings of the module's timers ([`host::delay`], [`host::repeat`]:
/// Evennia's `utils.delay` callback, a `Script`'s `at_repeat`); without it a firing is logged
/// as unhandled. A firing runs like a command with no caller: `msg_caller` reaches nobody.
#[macro_export]
macro_rules! cmdset {
    (
        key: $key:expr, priority: $priority:expr, merge_type: $merge:ident,
        $(duplicates: $dup:expr,)?
        $(no_exits: $no_exits:expr,)?
        $(no_objs: $no_objs:expr,)?
        $(at_load: $at_load:expr,)?
        $(at_timer: $at_timer:expr,)?
        $(key_mergetypes: [$(($kmkey:expr, $kmtype:ident)),* $(,)?],)?
        commands: [$($cmd:ty),* $(,)?] $(,)?
    ) => {
        /// This module's cmdset (generated by `mudhost_sdk::cmdset!`).
        pub struct CmdSet;

        impl CmdSet {
            /// The metadata of every command in this set.
            pub fn commands() -> ::std::vec::Vec<$crate::CommandInfo> {
                ::std::vec![$(<$cmd as $crate::Command>::info()),*]
            }

            /// The cmdset's metadata, as sent to the host.
            pub fn info() -> $crate::CmdsetInfo {
                $crate::CmdsetInfo {
                    key: ::std::string::String::from($key),
                    priority: $priority,
                    merge_type: $crate::MergeType::$merge,
                    duplicates: $crate::cmdset!(@opt $($dup)?),
                    no_exits: $crate::cmdset!(@opt $($no_exits)?),
                    no_objs: $crate::cmdset!(@opt $($no_objs)?),
                    commands: Self::commands(),
                }
            }
        }

        impl $crate::Guest for CmdSet {
            fn info() -> $crate::CmdsetInfo {
                CmdSet::info()
            }

            fn at_load() {
                $(($at_load)();)?
            }

            fn key_mergetypes() -> ::std::vec::Vec<(::std::string::String, $crate::MergeType)> {
                ::std::vec![$($((::std::string::String::from($kmkey), $crate::MergeType::$kmtype)),*)?]
            }

            fn execute(inv: $crate::Invocation) {
                $(
                    if inv.key == <$cmd as $crate::Command>::KEY {
                        return <$cmd as $crate::Command>::run(&inv);
                    }
                )*
                $crate::__unknown_command(&inv);
            }

            fn at_timer(timer: $crate::TimerInfo) {
                $crate::cmdset!(@timer timer $($at_timer)?);
            }
        }

        $crate::__export_cmdset_module!(CmdSet);
    };
    (@timer $t:ident) => { $crate::__unhandled_timer(&$t) };
    (@timer $t:ident $f:expr) => { ($f)($t) };
    (@opt) => { ::core::option::Option::None };
    (@opt $v:expr) => { ::core::option::Option::Some($v) };
}

/// Called by [`cmdset!`] when a timer fires in a module without an `at_timer` handler.
#[doc(hidden)]
pub fn __unhandled_timer(timer: &TimerInfo) {
    host::log(
        LogLevel::Warn,
        format!("timer {} fired but this module has no at_timer handler", timer.id),
    );
}

/// Called by [`cmdset!`] when the host asks for a key the set does not have (a host bug).
#[doc(hidden)]
pub fn __unknown_command(inv: &Invocation) {
    host::log(LogLevel::Error, format!("execute: no command with key {:?}", inv.key));
    host::msg_caller("An untrapped error occurred.");
}

#[cfg(test)]
mod tests {
    #[test]
    fn wit_version_matches_the_wit_package() {
        let wit = include_str!("../../wit/mudhost.wit");
        let expected = format!("package mudhost:game@{};", super::WIT_VERSION);
        assert!(wit.lines().any(|l| l.trim() == expected), "WIT_VERSION out of date");
    }
}
