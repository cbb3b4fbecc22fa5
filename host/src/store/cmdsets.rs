//! Cmdset stacks on accounts and objects (Evennia's `cmdset_storage` on a typeclassed entity), and
//! account permissions. Persistent entries are written to the `cmdsets` table in the current
//! transaction and come back after a restart; non-persistent ones live in memory until the server
//! stops. Every change is in the undo log, so a failed guest call leaves the stacks as they were.

use rusqlite::{params, Connection};

use super::{StoreError, Undo, WorldStore};
use crate::shared::ids::{AccountId, ObjectId};

/// Who carries a cmdset stack in the world store (sessions keep theirs in the session data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    /// An account: reaches every session of the account.
    Account(AccountId),
    /// An object: reaches its puppeteers and the characters near it.
    Object(ObjectId),
}

impl Holder {
    fn tag(self) -> (&'static str, u64) {
        match self {
            Holder::Account(id) => ("a", id.get()),
            Holder::Object(id) => ("o", id.get()),
        }
    }
}

/// One cmdset on a stack: the module providing it, and whether it survives a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEntry {
    /// Module name.
    pub module: String,
    /// Stored in the database.
    pub persistent: bool,
}

/// Bring an older database up to this schema: the account permission column.
pub(super) fn migrate(db: &Connection) -> Result<(), StoreError> {
    let has_permission = db
        .prepare("SELECT name FROM pragma_table_info('accounts')")?
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(Result::ok)
        .any(|c| c == "permission");
    if !has_permission {
        db.execute_batch(
            "ALTER TABLE accounts ADD COLUMN permission TEXT NOT NULL DEFAULT 'Player';
             UPDATE accounts SET permission = 'Developer' WHERE is_superuser = 1;",
        )?;
    }
    Ok(())
}

impl WorldStore {
    /// Read the persistent stacks (startup). Entries of deleted holders are dropped.
    pub(super) fn load_stacks(&mut self) -> Result<(), StoreError> {
        let rows: Vec<(String, u64, String)> = self
            .db
            .prepare("SELECT holder, id, module FROM cmdsets ORDER BY holder, id, pos")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (kind, id, module) in rows {
            let holder = match kind.as_str() {
                "a" if self.accounts.contains_key(&AccountId::new(id)) => {
                    Holder::Account(AccountId::new(id))
                }
                "o" if self.objects.contains_key(&ObjectId::new(id)) => {
                    Holder::Object(ObjectId::new(id))
                }
                _ => continue,
            };
            self.stacks.entry(holder).or_default().push(StackEntry { module, persistent: true });
        }
        Ok(())
    }

    /// A holder's stack, bottom first (empty if it has none).
    pub fn cmdset_stack(&self, holder: Holder) -> &[StackEntry] {
        self.stacks.get(&holder).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether an object carries any cmdset (cheap: one map lookup).
    pub fn carries_cmdsets(&self, obj: ObjectId) -> bool {
        self.stacks.contains_key(&Holder::Object(obj))
    }

    /// Changes whenever any account's or object's stack changes, or an object carrying a stack
    /// moves or is deleted: merged cmdsets computed at another generation may be stale.
    pub fn cmdset_generation(&self) -> u64 {
        self.cmdset_gen
    }

    /// Mark merged cmdsets stale (a session's stack changed).
    pub fn bump_cmdset_generation(&mut self) {
        self.cmdset_gen += 1;
    }

    fn holder_exists(&self, holder: Holder) -> Result<(), StoreError> {
        match holder {
            Holder::Account(id) if !self.accounts.contains_key(&id) => {
                Err(StoreError::NoAccount(id))
            }
            Holder::Object(id) if !self.objects.contains_key(&id) => Err(StoreError::NoObject(id)),
            _ => Ok(()),
        }
    }

    /// Put a module's cmdset on top of a holder's stack. Adding one that is there already changes
    /// only its persistence. Returns false if nothing changed.
    pub fn cmdset_add(
        &mut self,
        holder: Holder,
        module: &str,
        persistent: bool,
    ) -> Result<bool, StoreError> {
        self.holder_exists(holder)?;
        let old = self.stacks.get(&holder).cloned();
        let mut stack = old.clone().unwrap_or_default();
        match stack.iter_mut().find(|e| e.module == module) {
            Some(e) if e.persistent == persistent => return Ok(false),
            Some(e) => e.persistent = persistent,
            None => stack.push(StackEntry { module: module.to_string(), persistent }),
        }
        self.set_stack(holder, old, stack)?;
        Ok(true)
    }

    /// Take a module's cmdset off a holder's stack. Returns false if it was not there.
    pub fn cmdset_remove(&mut self, holder: Holder, module: &str) -> Result<bool, StoreError> {
        self.holder_exists(holder)?;
        let Some(old) = self.stacks.get(&holder).cloned() else { return Ok(false) };
        let stack: Vec<StackEntry> = old.iter().filter(|e| e.module != module).cloned().collect();
        if stack.len() == old.len() {
            return Ok(false);
        }
        self.set_stack(holder, Some(old), stack)?;
        Ok(true)
    }

    /// Forget a holder's stack (the holder is being deleted).
    pub(super) fn drop_stack(&mut self, holder: Holder) -> Result<(), StoreError> {
        if let Some(old) = self.stacks.get(&holder).cloned() {
            self.set_stack(holder, Some(old), vec![])?;
        }
        Ok(())
    }

    /// Replace a stack in memory and in the database (its persistent entries), recording the old
    /// one for undo.
    fn set_stack(
        &mut self,
        holder: Holder,
        old: Option<Vec<StackEntry>>,
        stack: Vec<StackEntry>,
    ) -> Result<(), StoreError> {
        let (kind, id) = holder.tag();
        let was_persistent = old.iter().flatten().any(|e| e.persistent);
        if was_persistent || stack.iter().any(|e| e.persistent) {
            self.db.execute_cached(
                "DELETE FROM cmdsets WHERE holder = ?1 AND id = ?2",
                params![kind, id as i64],
            )?;
            for (pos, e) in stack.iter().enumerate().filter(|(_, e)| e.persistent) {
                self.db.execute_cached(
                    "INSERT INTO cmdsets (holder, id, pos, module) VALUES (?1, ?2, ?3, ?4)",
                    params![kind, id as i64, pos as i64, e.module],
                )?;
            }
        }
        self.record(Undo::Stack { holder, old });
        if stack.is_empty() {
            self.stacks.remove(&holder);
        } else {
            self.stacks.insert(holder, stack);
        }
        self.cmdset_gen += 1;
        Ok(())
    }

    /// Set an account's permission (already validated against the hierarchy).
    pub fn set_account_permission(
        &mut self,
        id: AccountId,
        permission: &str,
    ) -> Result<(), StoreError> {
        let acct = self.accounts.get_mut(&id).ok_or(StoreError::NoAccount(id))?;
        self.db.execute(
            "UPDATE accounts SET permission = ?1 WHERE id = ?2",
            params![permission, id],
        )?;
        let old = std::mem::replace(&mut acct.permission, permission.into());
        self.record(Undo::AccountPermission { id, old });
        // Locks are checked per command, but a cached merge must not outlive the change either.
        self.cmdset_gen += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistent_stacks_survive_reopening_and_temporary_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let box_id;
        {
            let mut w = WorldStore::open(&path).unwrap();
            w.begin().unwrap();
            box_id = w.create_object("box", "thing", None).unwrap();
            assert!(w.cmdset_add(Holder::Object(box_id), "box", true).unwrap());
            assert!(w.cmdset_add(Holder::Object(box_id), "glow", false).unwrap());
            assert!(!w.cmdset_add(Holder::Object(box_id), "box", true).unwrap(), "already there");
            w.commit().unwrap();
            let names: Vec<&str> =
                w.cmdset_stack(Holder::Object(box_id)).iter().map(|e| e.module.as_str()).collect();
            assert_eq!(names, ["box", "glow"]);
        }
        let w = WorldStore::open(&path).unwrap();
        let names: Vec<&str> =
            w.cmdset_stack(Holder::Object(box_id)).iter().map(|e| e.module.as_str()).collect();
        assert_eq!(names, ["box"]);
    }

    #[test]
    fn a_rolled_back_call_restores_the_stack_and_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut w = WorldStore::open(&path).unwrap();
        w.begin().unwrap();
        let a = w.create_object("a", "thing", None).unwrap();
        w.cmdset_add(Holder::Object(a), "one", true).unwrap();
        w.commit().unwrap();
        w.begin().unwrap();
        let gen = w.cmdset_generation();
        let sp = w.savepoint().unwrap();
        w.cmdset_remove(Holder::Object(a), "one").unwrap();
        w.cmdset_add(Holder::Object(a), "two", true).unwrap();
        w.rollback_to(sp).unwrap();
        w.commit().unwrap();
        assert!(w.cmdset_generation() > gen, "merges computed during the call are stale");
        let names: Vec<&str> =
            w.cmdset_stack(Holder::Object(a)).iter().map(|e| e.module.as_str()).collect();
        assert_eq!(names, ["one"]);
        drop(w);
        let w = WorldStore::open(&path).unwrap();
        assert_eq!(w.cmdset_stack(Holder::Object(a)).len(), 1);
    }

    #[test]
    fn moving_a_carrier_changes_the_generation_and_moving_others_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WorldStore::open(&dir.path().join("w.db")).unwrap();
        w.begin().unwrap();
        let room = w.create_object("room", "room", None).unwrap();
        let plain = w.create_object("pebble", "thing", None).unwrap();
        let carrier = w.create_object("box", "thing", None).unwrap();
        w.cmdset_add(Holder::Object(carrier), "box", false).unwrap();
        let gen = w.cmdset_generation();
        w.move_object(plain, Some(room)).unwrap();
        assert_eq!(w.cmdset_generation(), gen);
        w.move_object(carrier, Some(room)).unwrap();
        assert_ne!(w.cmdset_generation(), gen);
    }

    #[test]
    fn an_exit_changes_the_generation_when_made_renamed_moved_or_given_aliases() {
        // An exit lends a generated command named after it (and its aliases).
        let dir = tempfile::tempdir().unwrap();
        let mut w = WorldStore::open(&dir.path().join("w.db")).unwrap();
        w.begin().unwrap();
        let (room, other) = (
            w.create_object("room", "room", None).unwrap(),
            w.create_object("hall", "room", None).unwrap(),
        );
        let mut gen = w.cmdset_generation();
        let mut changed = |w: &WorldStore| {
            let now = w.cmdset_generation();
            std::mem::replace(&mut gen, now) != now
        };
        let exit = w.create_object("north", "exit", Some(room)).unwrap();
        assert!(changed(&w), "made");
        w.set_object_key(exit, "northwest").unwrap();
        assert!(changed(&w), "renamed");
        w.set_object_attr(exit, crate::store::EXIT_ALIASES_ATTR, Some("nw")).unwrap();
        assert!(changed(&w), "given aliases");
        w.set_object_attr(exit, "desc", Some("A draughty arch.")).unwrap();
        assert!(!changed(&w), "another attribute changes no command");
        w.move_object(exit, Some(other)).unwrap();
        assert!(changed(&w), "moved");
        let thing = w.create_object("stone", "thing", Some(room)).unwrap();
        w.set_object_key(thing, "rock").unwrap();
        w.set_object_attr(thing, crate::store::EXIT_ALIASES_ATTR, Some("r")).unwrap();
        assert!(!changed(&w), "a plain thing lends nothing");
    }
}
