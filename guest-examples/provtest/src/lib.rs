//! Test cmdset for the provider merge rules. The default build (`provtest`) says `no_objs`: with
//! it on a session, objects near the puppet lend no commands. The `noexits` build
//! (`provtest_noexits`) says `no_exits`: exits lend none, other objects still do. The
//! `keymerge` build (`provtest_keymerge`) is a Union set whose `key_mergetypes` make it
//! Replace the `CharacterCmdSet` it merges onto.

use mudhost_sdk::{cmdset, CmdResult, Command, Invocation};

/// `provmark`: shows which build is merged in.
struct Mark;
impl Command for Mark {
    const KEY: &'static str = "provmark";
    const HELP: &'static str = "Say which provtest build is merged.";
    fn func(inv: &Invocation) -> CmdResult {
        inv.msg(if cfg!(feature = "noexits") {
            "provmark noexits"
        } else if cfg!(feature = "keymerge") {
            "provmark keymerge"
        } else {
            "provmark noobjs"
        });
        Ok(())
    }
}

#[cfg(not(any(feature = "noexits", feature = "keymerge")))]
cmdset! { key: "NoObjsCmdSet", priority: 0, merge_type: Union, no_objs: true, commands: [Mark] }

#[cfg(feature = "keymerge")]
cmdset! {
    key: "KeyMergeCmdSet", priority: 0, merge_type: Union,
    key_mergetypes: [("CharacterCmdSet", Replace)],
    commands: [Mark],
}

#[cfg(feature = "noexits")]
cmdset! { key: "NoExitsCmdSet", priority: 0, merge_type: Union, no_exits: true, commands: [Mark] }
