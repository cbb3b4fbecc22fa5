//! Object locks on the game: Evennia's `obj.access(accessor, access_type)`. An object's own locks
//! (`store/world.rs`) come first; an access type it has none of falls back to its kind's default
//! (`cmd::locks::default_lockstring`, Evennia's `basetype_setup`), so an object without locks
//! of its own costs nothing to keep and the common checks (`traverse:all()` on an exit) cost no
//! parse. The lock functions read the world through [`LockEnv`]; an accessor's account (for
//! `perm`, `pid`, the superuser bypass) is the account puppeting it, else the one owning it.

use crate::shared::ids::{AccountId, ObjectId};
use std::sync::OnceLock;

use super::Game;
use crate::cmd::locks::{default_lockstring, parse_lockstring, Lock, LockEnv, Side};
use crate::store::{tag, Account, OWNER_ATTR};

/// Who asks for access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accessor {
    /// An object (a character, an NPC, ...).
    Object(ObjectId),
    /// An account (puppeting: Evennia checks `puppet` with the account as accessor).
    Account(AccountId),
}

/// The parsed default locks of the kinds whose defaults name no ids.
fn kind_defaults(kind: &str) -> &'static [Lock] {
    static THING: OnceLock<Vec<Lock>> = OnceLock::new();
    static ROOM: OnceLock<Vec<Lock>> = OnceLock::new();
    static EXIT: OnceLock<Vec<Lock>> = OnceLock::new();
    let (cell, kind) = match kind {
        "room" => (&ROOM, "room"),
        "exit" => (&EXIT, "exit"),
        _ => (&THING, "thing"),
    };
    // The defaults are this file's constants: they parse (a unit test in `cmd/locks.rs`).
    cell.get_or_init(|| parse_lockstring(&default_lockstring(kind, 0, None)).unwrap_or_default())
}

impl Game {
    /// The account an object acts for: the one puppeting it, else the one owning it.
    fn lock_account_of(&self, obj: ObjectId) -> Option<&Account> {
        let uid = self
            .sessions
            .from_puppet(obj)
            .find_map(|s| s.data.uid)
            .or_else(|| self.world.object(obj)?.attrs.get(OWNER_ATTR)?.parse().ok())?;
        self.world.account(uid)
    }

    /// The lock `obj` applies for `access_type`: its own, else its kind's default.
    pub fn lock_for(&self, obj: ObjectId, access_type: &str) -> Option<Lock> {
        let o = self.world.object(obj)?;
        let access_type = access_type.trim().to_lowercase();
        if let Some(l) = self.world.locks(obj).iter().find(|l| l.access_type == access_type) {
            return Some(l.clone());
        }
        self.default_locks(o.id, &o.kind).into_iter().find(|l| l.access_type == access_type)
    }

    /// An object's kind's default locks.
    fn default_locks(&self, obj: ObjectId, kind: &str) -> Vec<Lock> {
        if kind == "character" {
            let owner = self.world.object(obj).and_then(|o| o.attrs.get(OWNER_ATTR)?.parse().ok());
            return parse_lockstring(&default_lockstring(kind, obj.get(), owner))
                .unwrap_or_default();
        }
        kind_defaults(kind).to_vec()
    }

    /// An object's locks as `type:expression`: its own, then its kind's defaults for the other
    /// access types.
    pub fn lockstrings(&self, obj: ObjectId) -> Vec<String> {
        let Some(o) = self.world.object(obj) else { return vec![] };
        let own = self.world.locks(obj);
        let mut out: Vec<String> = own.iter().map(Lock::to_lockstring).collect();
        for d in self.default_locks(obj, &o.kind) {
            if !own.iter().any(|l| l.access_type == d.access_type) {
                out.push(d.to_lockstring());
            }
        }
        out
    }

    /// Whether `accessor` passes `obj`'s lock of `access_type` (Evennia's `obj.access`). No lock
    /// of that type, own or default: it passes. A missing object passes nothing.
    pub fn access(&self, obj: ObjectId, accessor: Accessor, access_type: &str) -> bool {
        if self.world.object(obj).is_none() {
            return false;
        }
        // The cheap case first: an exit without a traverse lock of its own is `traverse:all()`.
        let Some(lock) = self.lock_for(obj, access_type) else { return true };
        let account = match accessor {
            Accessor::Object(a) => self.lock_account_of(a),
            Accessor::Account(a) => self.world.account(a),
        };
        let env = Env { game: self, obj, accessor, account };
        lock.expr.allows(&env)
    }
}

/// The world as the lock functions see it, for one check.
struct Env<'a> {
    game: &'a Game,
    obj: ObjectId,
    accessor: Accessor,
    account: Option<&'a Account>,
}

impl Env<'_> {
    /// The accessor as an object, if it is one.
    fn accessor_obj(&self) -> Option<ObjectId> {
        match self.accessor {
            Accessor::Object(o) => Some(o),
            Accessor::Account(_) => None,
        }
    }

    fn side(&self, side: Side) -> Option<ObjectId> {
        match side {
            Side::Accessor => self.accessor_obj(),
            Side::Locked => Some(self.obj),
        }
    }
}

impl LockEnv for Env<'_> {
    fn superuser(&self) -> bool {
        self.account.is_some_and(|a| a.is_superuser)
    }

    fn permission(&self) -> Option<&str> {
        self.account.map(|a| a.permission.as_str())
    }

    /// `id(N)` names objects (`pid(N)` accounts): object and account ids are counted apart, so
    /// an account asking matches no `id`.
    fn accessor_id(&self) -> Option<u64> {
        self.accessor_obj().map(ObjectId::get)
    }

    fn account_id(&self) -> Option<u64> {
        self.account.map(|a| a.id.get())
    }

    fn attr(&self, side: Side, name: &str) -> Option<String> {
        let world = &self.game.world;
        let id = match (side, self.accessor) {
            (Side::Accessor, Accessor::Account(a)) => {
                return world.account(a)?.attrs.get(name).cloned();
            }
            _ => self.side(side)?,
        };
        let o = world.object(id)?;
        o.attrs.get(name).cloned().or_else(|| world.typed_attr(id, "", name).map(str::to_string))
    }

    fn has_tag(&self, side: Side, key: &str, category: Option<&str>) -> bool {
        self.side(side).is_some_and(|id| self.game.world.has_tag(id, &tag(key, category)))
    }

    fn holds(&self, what: Option<&str>) -> bool {
        let world = &self.game.world;
        let Some(me) = self.accessor_obj() else { return false };
        let Some(what) = what else {
            return world.object(self.obj).is_some_and(|o| o.location == Some(me));
        };
        let Some(container) = world.object(me) else { return false };
        match what.trim_start_matches('#').parse::<ObjectId>() {
            Ok(id) => container.contents.contains(&id),
            Err(_) => !world.search(what, Some(me)).is_empty(),
        }
    }

    fn inside(&self) -> bool {
        self.accessor_obj()
            .and_then(|a| self.game.world.object(a))
            .is_some_and(|a| a.location == Some(self.obj))
    }

    fn has_account(&self) -> bool {
        self.accessor_obj().is_some_and(|a| self.game.sessions.from_puppet(a).next().is_some())
    }
}
