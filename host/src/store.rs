//! The world store: accounts, objects and their attributes, kept in memory for the game loop and
//! written through to SQLite (bundled, WAL). Each game event runs inside one transaction
//! ([`WorldStore::begin`] / [`WorldStore::commit`]), so the writes a command made are durable when
//! its effects leave the server.
//!
//! A guest call runs inside a savepoint ([`WorldStore::savepoint`]): if the call fails, both the
//! SQLite writes and the in-memory changes it made are undone ([`WorldStore::rollback_to`]), so a
//! failed command changes nothing. In-memory changes are undone from an undo log that is kept
//! only while a savepoint is open.
//!
//! A busy, full or failing database spoils the transaction it happens in (see [`Db`]): the
//! failed write changed nothing, but the event's other changes must not commit without it, and
//! after SQLite rolls a transaction back on its own (SQLITE_FULL, SQLITE_IOERR) no later write
//! may run outside a transaction and commit alone. [`WorldStore::commit`] then refuses, and the
//! game loop exits so that the portal replays the event on a fresh server.
//!
//! The store also holds the server's **outbox**: every effects frame is stored in the same
//! transaction as the world changes it reports, and deleted once the portal confirms it.
//!
//! This file keeps the store itself (opening and loading, transactions, savepoints and the undo
//! log); each part of the world lives in a file of its own below `store/`, as `impl WorldStore`
//! blocks over the same undo log.

mod accounts;
mod channels;
mod cmdsets;
mod db;
mod objclass;
mod objects;
mod outbox;
mod timers;
mod world;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use rustc_hash::FxHashMap;

use crate::shared::ids::{AccountId, ObjectId};

pub use accounts::{Account, OWNER_ATTR};
pub use channels::{Channel, PUBLIC_CHANNEL};
pub use cmdsets::{Holder, StackEntry};
pub use db::Db;
pub use objects::{Object, EXIT_ALIASES_ATTR};
pub use timers::{next_tick, Timer};
pub use world::{tag, Tag};

/// Database failures. The game loop logs them; a guest sees a short error value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The object does not exist.
    #[error("no object #{0}")]
    NoObject(ObjectId),
    /// The account does not exist.
    #[error("no account {0}")]
    NoAccount(AccountId),
    /// A move that would put an object inside itself.
    #[error("cannot move #{0} into itself or its own contents")]
    MoveLoop(ObjectId),
    /// The transaction was spoiled by a database failure and was rolled back.
    #[error("the transaction was rolled back: {0}")]
    Spoiled(String),
}
/// In-memory world backed by SQLite.
pub struct WorldStore {
    db: Db,
    objects: FxHashMap<ObjectId, Object>,
    accounts: FxHashMap<AccountId, Account>,
    account_by_name: HashMap<String, AccountId>,
    start_location: ObjectId,
    in_tx: bool,
    /// The connection's change counter when the current transaction began.
    changes_at_begin: u64,
    /// Inverse operations of the in-memory changes since the open savepoint (None: no savepoint).
    undo: Option<Vec<Undo>>,
    /// Cmdset stacks of accounts and objects (persistent entries are also in the `cmdsets` table).
    stacks: HashMap<Holder, Vec<StackEntry>>,
    /// Bumped whenever a cmdset stack changes or an object carrying one moves (see
    /// [`WorldStore::cmdset_generation`]).
    cmdset_gen: u64,
    /// Module timers (persistent ones are also in the `timers` table).
    timers: timers::Timers,
    /// Tags, aliases, locks, typed attributes and the search indexes.
    world: world::WorldModel,
    /// Object classes: the module each classed object is bound to (also in `objclasses`).
    classes: FxHashMap<ObjectId, std::sync::Arc<str>>,
}

/// One in-memory change, recorded so that it can be reverted.
enum Undo {
    AccountCreated(AccountId),
    AccountAttr {
        id: AccountId,
        key: String,
        old: Option<String>,
    },
    AccountPassword {
        id: AccountId,
        old: String,
    },
    ObjectCreated(ObjectId),
    ObjectKey {
        id: ObjectId,
        old: String,
    },
    /// The object was at `location`, at position `index` of its contents.
    ObjectMoved {
        id: ObjectId,
        location: Option<ObjectId>,
        index: usize,
    },
    ObjectDeleted(Box<Object>),
    ObjectAttr {
        id: ObjectId,
        key: String,
        old: Option<String>,
    },
    AccountPermission {
        id: AccountId,
        old: String,
    },
    /// A cmdset stack as it was before a change (None: there was none).
    Stack {
        holder: Holder,
        old: Option<Vec<StackEntry>>,
    },
    /// A timer change.
    Timer(timers::TimerUndo),
    /// Channel subscriptions changed (the rows come back with the savepoint; the generated
    /// channel commands must be rebuilt).
    Channels,
    /// A tag, alias, lock or typed attribute change.
    World(world::WorldUndo),
    /// An object's class as it was (None: it had none).
    Class {
        id: ObjectId,
        old: Option<std::sync::Arc<str>>,
    },
}

/// An open savepoint; pass it back to [`WorldStore::release`] or [`WorldStore::rollback_to`].
#[must_use]
pub struct Savepoint(());

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    is_superuser INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    location INTEGER
);
CREATE TABLE IF NOT EXISTS attributes (
    owner TEXT NOT NULL,       -- 'a' account, 'o' object
    id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (owner, id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, frame BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cmdsets (
    holder TEXT NOT NULL,      -- 'a' account, 'o' object
    id INTEGER NOT NULL,
    pos INTEGER NOT NULL,      -- place in the stack, bottom first
    module TEXT NOT NULL,
    PRIMARY KEY (holder, id, module)
) WITHOUT ROWID;
";

impl WorldStore {
    /// Open (creating if needed) the database and load the world into memory. A new database
    /// gets the starting room, "Limbo".
    pub fn open(path: &Path) -> Result<WorldStore, StoreError> {
        let db = Connection::open(path)?;
        // WAL + NORMAL: a commit survives a process crash (not a power cut) without an fsync per
        // command; the busy timeout covers a dying old server still holding the file.
        db.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;",
        )?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(SCHEMA)?;
        cmdsets::migrate(&db)?;
        timers::migrate(&db)?;
        channels::migrate(&db)?;
        world::migrate(&db)?;
        objclass::migrate(&db)?;
        let db = Db { conn: db, spoiled: RefCell::new(None), in_tx: Cell::new(false) };
        let mut store = WorldStore {
            db,
            objects: FxHashMap::default(),
            accounts: FxHashMap::default(),
            account_by_name: HashMap::new(),
            start_location: ObjectId::new(0),
            in_tx: false,
            changes_at_begin: 0,
            undo: None,
            stacks: HashMap::new(),
            cmdset_gen: 0,
            timers: Default::default(),
            world: Default::default(),
            classes: FxHashMap::default(),
        };
        store.load()?;
        store.load_stacks()?;
        store.load_timers()?;
        store.load_world_model()?;
        store.load_classes()?;
        Ok(store)
    }

    fn load(&mut self) -> Result<(), StoreError> {
        let mut objs: Vec<Object> = self
            .db
            .prepare("SELECT id, key, kind, location FROM objects ORDER BY id")?
            .query_map([], |r| {
                Ok(Object {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    kind: r.get(2)?,
                    location: r.get(3)?,
                    contents: vec![],
                    attrs: HashMap::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        for o in objs.drain(..) {
            self.objects.insert(o.id, o);
        }
        let ids: Vec<(ObjectId, ObjectId)> =
            self.objects.values().filter_map(|o| o.location.map(|l| (l, o.id))).collect();
        let mut ids = ids;
        ids.sort_unstable_by_key(|&(_, id)| id);
        for (loc, id) in ids {
            match self.objects.get_mut(&loc) {
                Some(l) => l.contents.push(id),
                // A dangling location (container deleted outside the game): treat as nowhere.
                None => self.objects.get_mut(&id).expect("id from the map").location = None,
            }
        }
        let accounts: Vec<Account> = self
            .db
            .prepare("SELECT id, name, password_hash, is_superuser, permission FROM accounts")?
            .query_map([], |r| {
                Ok(Account {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    password_hash: r.get(2)?,
                    is_superuser: r.get(3)?,
                    permission: r.get(4)?,
                    attrs: HashMap::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        for a in accounts {
            self.account_by_name.insert(a.name.to_lowercase(), a.id);
            self.accounts.insert(a.id, a);
        }
        let attrs: Vec<(String, u64, String, String)> = self
            .db
            .prepare("SELECT owner, id, key, value FROM attributes")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        for (owner, id, key, value) in attrs {
            let map = match owner.as_str() {
                "a" => self.accounts.get_mut(&AccountId::new(id)).map(|a| &mut a.attrs),
                _ => self.objects.get_mut(&ObjectId::new(id)).map(|o| &mut o.attrs),
            };
            if let Some(map) = map {
                map.insert(key, value);
            }
        }
        let start: Option<String> = self
            .db
            .query_row("SELECT value FROM meta WHERE key = 'start_location'", [], |r| r.get(0))
            .optional()?;
        match start.and_then(|s| s.parse().ok()).filter(|id| self.objects.contains_key(id)) {
            Some(id) => self.start_location = id,
            None => {
                let id = self.create_object("Limbo", "room", None)?;
                self.db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('start_location', ?1)",
                    params![id.to_string()],
                )?;
                self.start_location = id;
            }
        }
        Ok(())
    }

    /// Start the transaction of one game event.
    pub fn begin(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            self.db.execute_batch("BEGIN")?;
            self.in_tx = true;
            self.db.in_tx.set(true);
            self.db.spoiled.replace(None);
            self.changes_at_begin = self.db.total_changes();
        }
        Ok(())
    }

    /// How long a write waits for a lock another process holds before it fails (and spoils
    /// its event).
    pub fn set_busy_timeout(&mut self, wait: std::time::Duration) -> Result<(), StoreError> {
        self.db.conn.busy_timeout(wait)?;
        Ok(())
    }

    /// Whether the current transaction has written anything (rows inserted, updated or deleted,
    /// even if a rolled-back guest call undid them). Outside a transaction: true, the safe answer.
    pub fn written_in_transaction(&self) -> bool {
        !self.in_tx || self.db.total_changes() != self.changes_at_begin
    }

    /// Commit the current game event's writes; a spoiled transaction is rolled back instead
    /// and reported as [`StoreError::Spoiled`].
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            self.db.guard();
            self.in_tx = false;
            self.db.in_tx.set(false);
            if let Some(why) = self.db.spoiled.take() {
                if !self.db.conn.is_autocommit() {
                    let _ = self.db.conn.execute_batch("ROLLBACK");
                }
                return Err(StoreError::Spoiled(why));
            }
            self.db.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    /// Open a savepoint inside the current transaction (one at a time: guest calls do not nest).
    pub fn savepoint(&mut self) -> Result<Savepoint, StoreError> {
        debug_assert!(self.undo.is_none(), "savepoints do not nest");
        self.db.execute_cached("SAVEPOINT guest_call", [])?;
        self.undo = Some(Vec::new());
        Ok(Savepoint(()))
    }

    /// Keep everything done since the savepoint.
    pub fn release(&mut self, _sp: Savepoint) -> Result<(), StoreError> {
        self.undo = None;
        self.db.execute_cached("RELEASE guest_call", [])?;
        Ok(())
    }

    /// Undo everything done since the savepoint, in the database and then in memory. If the
    /// database cannot roll back, the transaction is spoiled (it will not commit), and memory
    /// is reverted all the same.
    pub fn rollback_to(&mut self, _sp: Savepoint) -> Result<(), StoreError> {
        let sql = self
            .db
            .execute_cached("ROLLBACK TO guest_call", [])
            .and_then(|_| self.db.execute_cached("RELEASE guest_call", []));
        if let Err(e) = &sql {
            self.db.spoil(format!("a failed call's writes cannot be rolled back: {e}"));
        }
        let undo = self.undo.take().unwrap_or_default();
        if !undo.is_empty() {
            // What was undone may have moved, renamed or removed a carrier or an exit.
            self.cmdset_gen += 1;
        }
        for u in undo.into_iter().rev() {
            self.revert(u);
        }
        sql?;
        Ok(())
    }

    fn record(&mut self, u: Undo) {
        if let Some(log) = self.undo.as_mut() {
            log.push(u);
        }
    }

    fn revert(&mut self, u: Undo) {
        match u {
            Undo::AccountCreated(id) => {
                if let Some(a) = self.accounts.remove(&id) {
                    self.account_by_name.remove(&a.name.to_lowercase());
                }
            }
            Undo::AccountAttr { id, key, old } => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    match old {
                        Some(v) => a.attrs.insert(key, v),
                        None => a.attrs.remove(&key),
                    };
                }
            }
            Undo::AccountPassword { id, old } => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.password_hash = old;
                }
            }
            Undo::ObjectCreated(id) => {
                self.unindex_object(id);
                if let Some(o) = self.objects.remove(&id) {
                    if let Some(l) = o.location.and_then(|l| self.objects.get_mut(&l)) {
                        l.contents.retain(|&c| c != id);
                    }
                }
            }
            Undo::ObjectKey { id, old } => {
                if let Some(o) = self.objects.get_mut(&id) {
                    let now = std::mem::replace(&mut o.key, old);
                    self.reindex_key(id, &now);
                }
            }
            Undo::ObjectMoved { id, location, index } => {
                let now = self.objects.get(&id).and_then(|o| o.location);
                if let Some(l) = now.and_then(|l| self.objects.get_mut(&l)) {
                    l.contents.retain(|&c| c != id);
                }
                if let Some(l) = location.and_then(|l| self.objects.get_mut(&l)) {
                    let at = index.min(l.contents.len());
                    l.contents.insert(at, id);
                }
                if let Some(o) = self.objects.get_mut(&id) {
                    o.location = location;
                }
            }
            Undo::ObjectDeleted(o) => {
                let id = o.id;
                self.objects.insert(id, *o);
                self.index_object(id);
            }
            Undo::ObjectAttr { id, key, old } => {
                if let Some(o) = self.objects.get_mut(&id) {
                    match old {
                        Some(v) => o.attrs.insert(key, v),
                        None => o.attrs.remove(&key),
                    };
                }
            }
            Undo::AccountPermission { id, old } => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.permission = old;
                }
            }
            Undo::Stack { holder, old } => {
                self.cmdset_gen += 1;
                match old {
                    Some(v) => self.stacks.insert(holder, v),
                    None => self.stacks.remove(&holder),
                };
            }
            Undo::Timer(u) => self.revert_timer(u),
            Undo::Channels => self.cmdset_gen += 1,
            Undo::World(u) => self.revert_world(u),
            Undo::Class { id, old } => self.revert_class(id, old),
        }
    }

    /// The database connection, for tables kept by other modules (the throttles); their writes
    /// share the current event's transaction.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The room new characters start in.
    pub fn start_location(&self) -> ObjectId {
        self.start_location
    }
}

/// Write (Some) or delete (None) one row of the `attributes` table, shared by accounts (`a`)
/// and objects (`o`).
fn write_attr(
    db: &Db,
    owner: &str,
    id: u64,
    key: &str,
    value: Option<&str>,
) -> Result<(), StoreError> {
    match value {
        Some(v) => db.execute(
            "INSERT OR REPLACE INTO attributes (owner, id, key, value) VALUES (?1, ?2, ?3, ?4)",
            params![owner, id as i64, key, v],
        )?,
        None => db.execute(
            "DELETE FROM attributes WHERE owner = ?1 AND id = ?2 AND key = ?3",
            params![owner, id as i64, key],
        )?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn temp_store() -> (tempfile::TempDir, WorldStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = WorldStore::open(&dir.path().join("w.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_transaction_knows_whether_it_wrote_even_if_a_savepoint_undid_it() {
        let (_d, mut s) = temp_store();
        s.begin().unwrap();
        let limbo = s.start_location();
        assert!(!s.written_in_transaction(), "reads write nothing");
        assert!(s.object(limbo).is_some());
        s.commit().unwrap();
        s.begin().unwrap();
        let sp = s.savepoint().unwrap();
        s.create_object("rock", "thing", Some(limbo)).unwrap();
        s.rollback_to(sp).unwrap();
        assert!(s.written_in_transaction(), "an undone write still counts: the safe answer");
        s.commit().unwrap();
        assert!(s.written_in_transaction(), "outside a transaction: the safe answer");
    }

    #[test]
    fn a_new_database_has_limbo_as_start_location() {
        let (_d, s) = temp_store();
        let limbo = s.object(s.start_location()).unwrap();
        assert_eq!((limbo.key.as_str(), limbo.kind.as_str()), ("Limbo", "room"));
    }

    #[test]
    fn objects_attributes_and_accounts_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let (room, ch, acct) = {
            let mut s = WorldStore::open(&path).unwrap();
            s.begin().unwrap();
            let room = s.create_object("Garden", "room", None).unwrap();
            let ch = s.create_object("Ann", "character", Some(room)).unwrap();
            s.set_object_attr(ch, "desc", Some("tall")).unwrap();
            let acct = s.create_account("Ann", "hash", true, 1).unwrap();
            s.set_account_attr(acct, "_last_puppet", Some(&ch.to_string())).unwrap();
            s.set_object_attr(ch, OWNER_ATTR, Some(&acct.to_string())).unwrap();
            s.commit().unwrap();
            (room, ch, acct)
        };
        let s = WorldStore::open(&path).unwrap();
        assert_eq!(s.object(room).unwrap().contents, vec![ch]);
        assert_eq!(s.object(ch).unwrap().attrs["desc"], "tall");
        assert_eq!(s.account_by_name("ANN").unwrap().id, acct);
        assert_eq!(s.account(acct).unwrap().attrs["_last_puppet"], ch.to_string());
        assert_eq!(s.account_characters(acct), vec![ch]);
    }

    #[test]
    fn a_rolled_back_savepoint_leaves_memory_and_database_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut s = WorldStore::open(&path).unwrap();
        s.begin().unwrap();
        let room = s.create_object("Hall", "room", None).unwrap();
        let a = s.create_object("a", "thing", Some(room)).unwrap();
        let b = s.create_object("b", "thing", Some(room)).unwrap();
        let c = s.create_object("c", "thing", Some(room)).unwrap();
        s.set_object_attr(a, "colour", Some("red")).unwrap();
        let acct = s.create_account("Ann", "hash", false, 1).unwrap();
        s.commit().unwrap();

        s.begin().unwrap();
        let sp = s.savepoint().unwrap();
        s.set_object_attr(a, "colour", Some("blue")).unwrap();
        s.set_object_attr(a, "size", Some("big")).unwrap();
        s.set_object_key(b, "renamed").unwrap();
        s.move_object(b, None).unwrap();
        s.delete_object(room).unwrap();
        let new = s.create_object("new", "thing", Some(c)).unwrap();
        s.create_account("Bob", "hash", false, 2).unwrap();
        s.set_account_attr(acct, "k", Some("v")).unwrap();
        s.rollback_to(sp).unwrap();
        s.commit().unwrap();

        let check = |s: &WorldStore| {
            assert_eq!(s.object(room).unwrap().contents, vec![a, b, c]);
            assert_eq!(s.object(a).unwrap().attrs.get("colour").map(String::as_str), Some("red"));
            assert!(!s.object(a).unwrap().attrs.contains_key("size"));
            assert_eq!(s.object(b).unwrap().key, "b");
            assert_eq!(s.object(b).unwrap().location, Some(room));
            assert!(s.object(new).is_none());
            assert!(s.object(c).unwrap().contents.is_empty());
            assert!(s.account_by_name("bob").is_none());
            assert!(!s.account(acct).unwrap().attrs.contains_key("k"));
        };
        check(&s);
        drop(s);
        check(&WorldStore::open(&path).unwrap());
    }
}
