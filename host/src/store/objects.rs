//! Objects (rooms, characters, exits, things): key, kind, location, contents in arrival order
//! and string attributes, in memory and in the `objects` / `attributes` tables, undoable; moves
//! refuse containment loops, and a change that alters whose commands an object reaches bumps
//! the cmdset generation.

use std::collections::HashMap;

use rusqlite::params;

use super::{write_attr, Holder, StoreError, Undo, WorldStore, OWNER_ATTR};
use crate::shared::ids::ObjectId;

/// The attribute naming an exit's aliases, `;`-separated (Evennia's `@open north;n`): its
/// generated command answers to them too.
pub const EXIT_ALIASES_ATTR: &str = "aliases";

/// An object in the world (room, character, exit, thing).
#[derive(Debug, Clone)]
pub struct Object {
    /// Database id.
    pub id: ObjectId,
    /// Name.
    pub key: String,
    /// "room", "character", "exit" or any guest-chosen kind.
    pub kind: String,
    /// Container, if any.
    pub location: Option<ObjectId>,
    /// Objects inside, in arrival order.
    pub contents: Vec<ObjectId>,
    /// Persistent attributes.
    pub attrs: HashMap<String, String>,
}

impl WorldStore {
    /// Cold start (Evennia's at_server_cold_start cleanup): characters that were left in the world
    /// because both processes died move out of it, remembering where they were. Returns how many.
    pub fn remove_stranded_characters(&mut self) -> Result<usize, StoreError> {
        let stranded: Vec<(ObjectId, ObjectId)> = self
            .objects
            .values()
            .filter(|o| o.attrs.contains_key(OWNER_ATTR))
            .filter_map(|o| o.location.map(|l| (o.id, l)))
            .collect();
        for &(id, loc) in &stranded {
            self.set_object_attr(id, "prelogout_location", Some(&loc.to_string()))?;
            self.move_object(id, None)?;
        }
        Ok(stranded.len())
    }

    /// An object by id.
    pub fn object(&self, id: ObjectId) -> Option<&Object> {
        self.objects.get(&id)
    }

    /// The objects inside `container`, in its contents order.
    pub fn contents<'a>(&'a self, container: &'a Object) -> impl Iterator<Item = &'a Object> + 'a {
        container.contents.iter().filter_map(|&id| self.object(id))
    }

    /// Create an object, optionally inside `location`.
    pub fn create_object(
        &mut self,
        key: &str,
        kind: &str,
        location: Option<ObjectId>,
    ) -> Result<ObjectId, StoreError> {
        let location = location.filter(|l| self.objects.contains_key(l));
        self.db.execute(
            "INSERT INTO objects (key, kind, location) VALUES (?1, ?2, ?3)",
            params![key, kind, location],
        )?;
        let id = ObjectId::new(self.db.last_insert_rowid() as u64);
        self.record(Undo::ObjectCreated(id));
        self.objects.insert(
            id,
            Object {
                id,
                key: key.into(),
                kind: kind.into(),
                location,
                contents: vec![],
                attrs: HashMap::new(),
            },
        );
        self.index_object(id);
        if let Some(l) = location {
            self.objects.get_mut(&l).expect("checked above").contents.push(id);
            if self.lends_commands(id) {
                // A new exit in a room: its generated command joins the room's merged cmdsets.
                self.cmdset_gen += 1;
            }
        }
        Ok(id)
    }

    /// Rename an object.
    pub fn set_object_key(&mut self, id: ObjectId, key: &str) -> Result<(), StoreError> {
        let obj = self.objects.get_mut(&id).ok_or(StoreError::NoObject(id))?;
        self.db.execute("UPDATE objects SET key = ?1 WHERE id = ?2", params![key, id])?;
        let old = std::mem::replace(&mut obj.key, key.into());
        self.reindex_key(id, &old);
        self.record(Undo::ObjectKey { id, old });
        if self.lends_commands(id) {
            // An exit's command is named after it; a lent command shows its object's name.
            self.cmdset_gen += 1;
        }
        Ok(())
    }

    /// Whether an object puts commands in the merged cmdsets of characters near it: it carries
    /// a cmdset, or it is an exit (which gets a generated command).
    fn lends_commands(&self, id: ObjectId) -> bool {
        self.stacks.contains_key(&Holder::Object(id))
            || self.objects.get(&id).is_some_and(|o| o.kind == "exit")
    }

    /// Move an object into `dest` (None = nowhere).
    pub fn move_object(&mut self, id: ObjectId, dest: Option<ObjectId>) -> Result<(), StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NoObject(id));
        }
        if let Some(d) = dest {
            if !self.objects.contains_key(&d) {
                return Err(StoreError::NoObject(d));
            }
            // Walk up from the destination: reaching `id` would make a containment cycle.
            let mut cur = Some(d);
            while let Some(c) = cur {
                if c == id {
                    return Err(StoreError::MoveLoop(id));
                }
                cur = self.objects.get(&c).and_then(|o| o.location);
            }
        }
        self.db.execute("UPDATE objects SET location = ?1 WHERE id = ?2", params![dest, id])?;
        let old = self.objects.get(&id).and_then(|o| o.location);
        let mut index = 0;
        if let Some(o) = old.and_then(|o| self.objects.get_mut(&o)) {
            // Ids are unique in a contents list; searching from the end makes emptying a room
            // from its last object (see `delete_object`) linear instead of quadratic.
            if let Some(pos) = o.contents.iter().rposition(|&c| c == id) {
                o.contents.remove(pos);
                index = pos;
            }
        }
        self.record(Undo::ObjectMoved { id, location: old, index });
        if let Some(d) = dest {
            self.objects.get_mut(&d).expect("checked above").contents.push(id);
        }
        self.objects.get_mut(&id).expect("checked above").location = dest;
        if self.lends_commands(id) {
            // A cmdset carrier or an exit changed place: whose merged cmdsets it reaches changed.
            self.cmdset_gen += 1;
        }
        Ok(())
    }

    /// Delete an object; its contents move to its location.
    pub fn delete_object(&mut self, id: ObjectId) -> Result<(), StoreError> {
        let obj = self.objects.get(&id).ok_or(StoreError::NoObject(id))?.clone();
        // Last first: each move then removes the last entry of this object's contents, O(1).
        for c in obj.contents.iter().rev() {
            self.move_object(*c, obj.location)?;
        }
        self.move_object(id, None)?;
        self.db.execute("DELETE FROM objects WHERE id = ?1", params![id])?;
        self.db.execute("DELETE FROM attributes WHERE owner = 'o' AND id = ?1", params![id])?;
        self.drop_stack(Holder::Object(id))?;
        self.drop_timers_of(id)?;
        self.drop_world_model_of(id)?;
        self.unindex_object(id);
        self.drop_class_of(id)?;
        if let Some(o) = self.objects.remove(&id) {
            self.record(Undo::ObjectDeleted(Box::new(o)));
        }
        if id == self.start_location {
            tracing::warn!(%id, "the start location was deleted; new characters start nowhere");
        }
        Ok(())
    }

    /// Set (Some) or delete (None) an object attribute.
    pub fn set_object_attr(
        &mut self,
        id: ObjectId,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        let obj = self.objects.get_mut(&id).ok_or(StoreError::NoObject(id))?;
        write_attr(&self.db, "o", id.get(), key, value)?;
        let old = match value {
            Some(v) => obj.attrs.insert(key.into(), v.into()),
            None => obj.attrs.remove(key),
        };
        let exit_aliases = key == EXIT_ALIASES_ATTR && obj.kind == "exit";
        self.record(Undo::ObjectAttr { id, key: key.into(), old });
        if exit_aliases {
            // An exit's command answers to its aliases too.
            self.cmdset_gen += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::temp_store;
    use crate::store::StoreError;

    #[test]
    fn moving_an_object_into_its_own_contents_is_refused() {
        let (_d, mut s) = temp_store();
        let bag = s.create_object("bag", "thing", None).unwrap();
        let box_ = s.create_object("box", "thing", Some(bag)).unwrap();
        assert!(matches!(s.move_object(bag, Some(box_)), Err(StoreError::MoveLoop(_))));
    }

    #[test]
    fn deleting_a_room_moves_its_contents_out() {
        let (_d, mut s) = temp_store();
        let outer = s.create_object("outer", "room", None).unwrap();
        let inner = s.create_object("inner", "room", Some(outer)).unwrap();
        let thing = s.create_object("thing", "thing", Some(inner)).unwrap();
        s.delete_object(inner).unwrap();
        assert_eq!(s.object(thing).unwrap().location, Some(outer));
        assert!(s.object(inner).is_none());
    }
}
