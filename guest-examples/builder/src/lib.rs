//! The builder commands (Evennia's building.py): `dig`, `open`, `create`, `desc`, `name`,
//! `destroy`, `teleport`, `set`, `tag`, `lock`, `find` and `spawn` (from the game's prototypes
//! folder), each locked to Builder and above, with Evennia's switches and texts.
//!
//! They work on the host's world model: aliases are object aliases (found by every search, and
//! an exit's command answers to them), tags and locks are real tags and locks (a lock is
//! enforced where the game or the host checks it), `set` stores typed JSON attributes, and a
//! prototype's `typeclass` naming a loaded object class binds the spawned object to it.
//!
//! Where each command lives:
//!
//! | command | file |
//! |---|---|
//! | `dig`, `open` | `rooms.rs` |
//! | `create`, `desc`, `name`, `destroy`, `teleport` | `objects.rs` |
//! | `set`, `tag`, `lock` | `attributes.rs` |
//! | `find` | `find.rs` |
//! | `spawn` | `spawn.rs` |
//!
//! and what they share: `search.rs` (finding what a command names) and `shared.rs` (object
//! lists as builders type them, names as a builder sees them, exits, move messages).

mod attributes;
mod find;
mod objects;
mod rooms;
mod search;
mod shared;
mod spawn;

use attributes::{Lock, Set, Tag};
use find::Find;
use mudhost_sdk::cmdset;
use objects::{Create, Desc, Destroy, Name, Teleport};
use rooms::{Dig, Open};
use spawn::Spawn;

/// Every builder command: Builder and above (superusers pass every lock).
const LOCK: &str = "cmd:perm(Builder)";
/// The help category of every builder command.
const CATEGORY: &str = "Building";

cmdset! {
    key: "BuilderCmdSet", priority: 0, merge_type: Union,
    commands: [Dig, Open, Create, Desc, Name, Destroy, Teleport, Set, Tag, Lock, Find, Spawn],
}

#[cfg(test)]
mod tests {
    use mudhost_sdk::testing::TestHost;

    /// Anna in Limbo.
    pub(crate) fn limbo() -> TestHost {
        let host = TestHost::new();
        host.player("Anna", host.limbo());
        host
    }
}
