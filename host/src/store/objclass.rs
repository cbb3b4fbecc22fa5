//! Object classes (Evennia's typeclasses): the module an object is bound to, in memory for the
//! hook points (one hash lookup decides that an unclassed object costs no guest call) and in the
//! `objclasses` table. Changes are in the undo log, so a class set by a failed call is not set.

use std::sync::Arc;

use rusqlite::{params, Connection};

use super::{StoreError, Undo, WorldStore};
use crate::shared::ids::ObjectId;

/// Create the `objclasses` table if it is missing.
pub(super) fn migrate(db: &Connection) -> Result<(), StoreError> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS objclasses (
            id INTEGER PRIMARY KEY,
            module TEXT NOT NULL
        );",
    )?;
    Ok(())
}

impl WorldStore {
    /// Load every object's class (rows of objects that no longer exist are skipped).
    pub(super) fn load_classes(&mut self) -> Result<(), StoreError> {
        let rows: Vec<(ObjectId, String)> = self
            .db
            .prepare("SELECT id, module FROM objclasses")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, module) in rows {
            if self.objects.contains_key(&id) {
                self.classes.insert(id, Arc::from(module));
            }
        }
        Ok(())
    }

    /// The module of an object's class, if it has one.
    pub fn object_class(&self, id: ObjectId) -> Option<&Arc<str>> {
        if self.classes.is_empty() {
            return None;
        }
        self.classes.get(&id)
    }

    /// Whether any object has a class (when none has, no hook point looks further).
    pub fn any_classes(&self) -> bool {
        !self.classes.is_empty()
    }

    /// Bind an object to a class module (Some) or unbind it (None).
    pub fn set_object_class(
        &mut self,
        id: ObjectId,
        module: Option<&str>,
    ) -> Result<(), StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NoObject(id));
        }
        match module {
            Some(m) => self.db.execute(
                "INSERT OR REPLACE INTO objclasses (id, module) VALUES (?1, ?2)",
                params![id, m],
            )?,
            None => self.db.execute("DELETE FROM objclasses WHERE id = ?1", params![id])?,
        };
        let old = match module {
            Some(m) => self.classes.insert(id, Arc::from(m)),
            None => self.classes.remove(&id),
        };
        self.record(Undo::Class { id, old });
        Ok(())
    }

    /// Forget a deleted object's class.
    pub(super) fn drop_class_of(&mut self, id: ObjectId) -> Result<(), StoreError> {
        if self.classes.contains_key(&id) {
            self.set_object_class(id, None)?;
        }
        Ok(())
    }

    /// Undo a class change.
    pub(super) fn revert_class(&mut self, id: ObjectId, old: Option<Arc<str>>) {
        match old {
            Some(m) => self.classes.insert(id, m),
            None => self.classes.remove(&id),
        };
    }
}
