//! The world model beyond keys and string attributes: tags with categories, object aliases,
//! object locks and typed (JSON) attributes with categories (Evennia's `obj.tags`,
//! `obj.aliases`, `obj.locks`, `obj.attributes.add(key, value, category=)`), and the indexes that
//! make searches by key, alias, kind and tag a lookup instead of a scan of every object.
//!
//! Each lives in memory (per object, plus an index from name to the set of objects) and in a
//! table of its own (`tags`, `aliases`, `locks`, `typed_attributes`; SQLite indexes on the tag and
//! alias names), written in the current transaction. Every change records the object's previous
//! entry in the undo log, so a failed guest call leaves them as they were. An object with none of
//! them costs nothing but its entries in the key and kind indexes.
//!
//! Tag keys and categories are kept lower case (Evennia's `TagHandler` does the same); aliases
//! keep their spelling and match without case, like keys.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{params, Connection};
use rustc_hash::FxHashMap;

use super::{StoreError, Undo, WorldStore};
use crate::cmd::locks::{parse_lockstring, Lock};
use crate::shared::ids::ObjectId;

/// A tag on an object: its key and category (empty: none), both lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    /// The tag's name.
    pub key: String,
    /// Its category; empty for an uncategorised tag.
    pub category: String,
}

/// The world model's state in memory.
#[derive(Default)]
pub(super) struct WorldModel {
    tags: FxHashMap<ObjectId, Vec<Tag>>,
    tag_index: HashMap<Tag, BTreeSet<ObjectId>>,
    aliases: FxHashMap<ObjectId, Vec<String>>,
    alias_index: HashMap<String, BTreeSet<ObjectId>>,
    key_index: HashMap<String, BTreeSet<ObjectId>>,
    kind_index: HashMap<String, BTreeSet<ObjectId>>,
    locks: FxHashMap<ObjectId, Vec<Lock>>,
    /// Typed attributes by (category, key): JSON text.
    typed: FxHashMap<ObjectId, BTreeMap<(String, String), String>>,
}

/// An undoable change: an object's previous entry (None: it had none).
pub(super) enum WorldUndo {
    Tags(ObjectId, Option<Vec<Tag>>),
    Aliases(ObjectId, Option<Vec<String>>),
    Locks(ObjectId, Option<Vec<Lock>>),
    Typed(ObjectId, Option<BTreeMap<(String, String), String>>),
}

fn index_add(index: &mut HashMap<String, BTreeSet<ObjectId>>, name: &str, id: ObjectId) {
    index.entry(name.to_lowercase()).or_default().insert(id);
}

fn index_remove(index: &mut HashMap<String, BTreeSet<ObjectId>>, name: &str, id: ObjectId) {
    let name = name.to_lowercase();
    if let Some(set) = index.get_mut(&name) {
        set.remove(&id);
        if set.is_empty() {
            index.remove(&name);
        }
    }
}

/// Create the world model's tables in an older database.
pub(super) fn migrate(db: &Connection) -> Result<(), StoreError> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS tags (
            obj INTEGER NOT NULL,
            key TEXT NOT NULL,
            category TEXT NOT NULL,
            PRIMARY KEY (obj, category, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS tags_by_name ON tags (key, category);
        CREATE TABLE IF NOT EXISTS aliases (
            obj INTEGER NOT NULL,
            pos INTEGER NOT NULL,
            alias TEXT NOT NULL,
            PRIMARY KEY (obj, alias)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS aliases_by_name ON aliases (alias COLLATE NOCASE);
        CREATE TABLE IF NOT EXISTS locks (
            obj INTEGER NOT NULL,
            pos INTEGER NOT NULL,
            access_type TEXT NOT NULL,
            expr TEXT NOT NULL,
            PRIMARY KEY (obj, access_type)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS typed_attributes (
            obj INTEGER NOT NULL,
            category TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (obj, category, key)
        ) WITHOUT ROWID;",
    )?;
    Ok(())
}

impl WorldModel {
    fn set_tags(&mut self, obj: ObjectId, tags: Option<Vec<Tag>>) {
        if let Some(old) = self.tags.remove(&obj) {
            for t in old {
                if let Some(set) = self.tag_index.get_mut(&t) {
                    set.remove(&obj);
                    if set.is_empty() {
                        self.tag_index.remove(&t);
                    }
                }
            }
        }
        if let Some(new) = tags.filter(|t| !t.is_empty()) {
            for t in &new {
                self.tag_index.entry(t.clone()).or_default().insert(obj);
            }
            self.tags.insert(obj, new);
        }
    }

    fn set_aliases(&mut self, obj: ObjectId, aliases: Option<Vec<String>>) {
        if let Some(old) = self.aliases.remove(&obj) {
            for a in old {
                index_remove(&mut self.alias_index, &a, obj);
            }
        }
        if let Some(new) = aliases.filter(|a| !a.is_empty()) {
            for a in &new {
                index_add(&mut self.alias_index, a, obj);
            }
            self.aliases.insert(obj, new);
        }
    }
}

/// Lower-case a tag's key and category.
pub fn tag(key: &str, category: Option<&str>) -> Tag {
    Tag {
        key: key.trim().to_lowercase(),
        category: category.unwrap_or_default().trim().to_lowercase(),
    }
}

impl WorldStore {
    /// Read the world model's tables (startup, after the objects). Rows of objects that no
    /// longer exist are ignored.
    pub(super) fn load_world_model(&mut self) -> Result<(), StoreError> {
        let ids: Vec<(ObjectId, String, String)> =
            self.objects.values().map(|o| (o.id, o.key.clone(), o.kind.clone())).collect();
        for (id, key, kind) in ids {
            index_add(&mut self.world.key_index, &key, id);
            index_add(&mut self.world.kind_index, &kind, id);
        }
        let mut tags: FxHashMap<ObjectId, Vec<Tag>> = FxHashMap::default();
        let mut st =
            self.db.prepare("SELECT obj, key, category FROM tags ORDER BY obj, category, key")?;
        for r in st.query_map([], |r| Ok((r.get::<_, ObjectId>(0)?, r.get(1)?, r.get(2)?)))? {
            let (obj, key, category) = r?;
            tags.entry(obj).or_default().push(Tag { key, category });
        }
        drop(st);
        let mut aliases: FxHashMap<ObjectId, Vec<String>> = FxHashMap::default();
        let mut st = self.db.prepare("SELECT obj, alias FROM aliases ORDER BY obj, pos")?;
        for r in st.query_map([], |r| Ok((r.get::<_, ObjectId>(0)?, r.get(1)?)))? {
            let (obj, alias) = r?;
            aliases.entry(obj).or_default().push(alias);
        }
        drop(st);
        let mut locks: FxHashMap<ObjectId, Vec<Lock>> = FxHashMap::default();
        let mut st =
            self.db.prepare("SELECT obj, access_type, expr FROM locks ORDER BY obj, pos")?;
        for r in st.query_map([], |r| {
            Ok((r.get::<_, ObjectId>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })? {
            let (obj, kind, expr) = r?;
            // A lock stored by this host parsed when it was set; one that no longer does (edited
            // outside the game) is left out, with its reason in the log.
            match parse_lockstring(&format!("{kind}:{expr}")) {
                Ok(mut l) => locks.entry(obj).or_default().append(&mut l),
                Err(e) => tracing::warn!(%obj, cause = %e, "a stored lock cannot be read"),
            }
        }
        drop(st);
        let mut typed: FxHashMap<ObjectId, BTreeMap<(String, String), String>> =
            FxHashMap::default();
        let mut st = self.db.prepare("SELECT obj, category, key, value FROM typed_attributes")?;
        for r in
            st.query_map([], |r| Ok((r.get::<_, ObjectId>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        {
            let (obj, category, key, value) = r?;
            typed.entry(obj).or_default().insert((category, key), value);
        }
        drop(st);
        let exists = |id: &ObjectId| self.objects.contains_key(id);
        let tags: Vec<_> = tags.into_iter().filter(|(id, _)| exists(id)).collect();
        let aliases: Vec<_> = aliases.into_iter().filter(|(id, _)| exists(id)).collect();
        let locks: FxHashMap<_, _> = locks.into_iter().filter(|(id, _)| exists(id)).collect();
        let typed: FxHashMap<_, _> = typed.into_iter().filter(|(id, _)| exists(id)).collect();
        for (id, t) in tags {
            self.world.set_tags(id, Some(t));
        }
        for (id, a) in aliases {
            self.world.set_aliases(id, Some(a));
        }
        self.world.locks = locks;
        self.world.typed = typed;
        Ok(())
    }

    /// A new object joins the key and kind indexes.
    pub(super) fn index_object(&mut self, id: ObjectId) {
        if let Some(o) = self.objects.get(&id) {
            index_add(&mut self.world.key_index, &o.key, id);
            index_add(&mut self.world.kind_index, &o.kind, id);
        }
    }

    /// An object leaves the key and kind indexes (deleted, or its creation undone).
    pub(super) fn unindex_object(&mut self, id: ObjectId) {
        if let Some(o) = self.objects.get(&id) {
            let (key, kind) = (o.key.clone(), o.kind.clone());
            index_remove(&mut self.world.key_index, &key, id);
            index_remove(&mut self.world.kind_index, &kind, id);
        }
    }

    /// An object's key changed from `old`.
    pub(super) fn reindex_key(&mut self, id: ObjectId, old: &str) {
        index_remove(&mut self.world.key_index, old, id);
        if let Some(o) = self.objects.get(&id) {
            index_add(&mut self.world.key_index, &o.key, id);
        }
    }

    /// Drop an object's tags, aliases, locks and typed attributes (it is being deleted).
    pub(super) fn drop_world_model_of(&mut self, id: ObjectId) -> Result<(), StoreError> {
        if self.world.tags.contains_key(&id) {
            self.write_tags(id, vec![])?;
        }
        if self.world.aliases.contains_key(&id) {
            self.write_aliases(id, vec![])?;
        }
        if self.world.locks.contains_key(&id) {
            self.write_locks(id, vec![])?;
        }
        if self.world.typed.contains_key(&id) {
            self.db.execute_cached("DELETE FROM typed_attributes WHERE obj = ?1", params![id])?;
            let old = self.world.typed.remove(&id);
            self.record(Undo::World(WorldUndo::Typed(id, old)));
        }
        Ok(())
    }

    pub(super) fn revert_world(&mut self, u: WorldUndo) {
        match u {
            WorldUndo::Tags(id, old) => self.world.set_tags(id, old),
            WorldUndo::Aliases(id, old) => {
                self.world.set_aliases(id, old);
                self.cmdset_gen += 1;
            }
            WorldUndo::Locks(id, old) => match old {
                Some(l) => {
                    self.world.locks.insert(id, l);
                }
                None => {
                    self.world.locks.remove(&id);
                }
            },
            WorldUndo::Typed(id, old) => match old {
                Some(t) => {
                    self.world.typed.insert(id, t);
                }
                None => {
                    self.world.typed.remove(&id);
                }
            },
        }
    }

    // --- tags -------------------------------------------------------------------------------

    /// An object's tags, by category and then key.
    pub fn tags(&self, id: ObjectId) -> &[Tag] {
        self.world.tags.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether an object has a tag.
    pub fn has_tag(&self, id: ObjectId, tag: &Tag) -> bool {
        self.world.tag_index.get(tag).is_some_and(|s| s.contains(&id))
    }

    /// Add a tag (nothing if the object has it). Returns whether it was added.
    pub fn tag_add(&mut self, id: ObjectId, tag: Tag) -> Result<bool, StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NoObject(id));
        }
        if self.has_tag(id, &tag) {
            return Ok(false);
        }
        let mut tags = self.tags(id).to_vec();
        // Kept sorted (category, then key), the order they come back in after a restart.
        let at = tags.partition_point(|t| (&t.category, &t.key) < (&tag.category, &tag.key));
        tags.insert(at, tag);
        self.write_tags(id, tags)?;
        Ok(true)
    }

    /// Remove a tag. Returns whether the object had it.
    pub fn tag_remove(&mut self, id: ObjectId, tag: &Tag) -> Result<bool, StoreError> {
        if !self.has_tag(id, tag) {
            return Ok(false);
        }
        let tags = self.tags(id).iter().filter(|t| *t != tag).cloned().collect();
        self.write_tags(id, tags)?;
        Ok(true)
    }

    fn write_tags(&mut self, id: ObjectId, tags: Vec<Tag>) -> Result<(), StoreError> {
        let old = self.world.tags.get(&id).cloned();
        let old_set: BTreeSet<&Tag> = old.iter().flatten().collect();
        let new_set: BTreeSet<&Tag> = tags.iter().collect();
        for t in old_set.difference(&new_set) {
            self.db.execute_cached(
                "DELETE FROM tags WHERE obj = ?1 AND category = ?2 AND key = ?3",
                params![id, t.category, t.key],
            )?;
        }
        for t in new_set.difference(&old_set) {
            self.db.execute_cached(
                "INSERT OR REPLACE INTO tags (obj, key, category) VALUES (?1, ?2, ?3)",
                params![id, t.key, t.category],
            )?;
        }
        self.world.set_tags(id, Some(tags));
        self.record(Undo::World(WorldUndo::Tags(id, old)));
        Ok(())
    }

    /// Objects with a tag, by id, inside `location` or anywhere: a lookup in the tag's set of
    /// objects (and, inside a location, a pass over the smaller of that set and the contents).
    pub fn search_tag(&self, tag: &Tag, location: Option<ObjectId>) -> Vec<ObjectId> {
        let Some(set) = self.world.tag_index.get(tag) else { return vec![] };
        match location {
            None => set.iter().copied().collect(),
            Some(l) => self.in_location(set, l),
        }
    }

    /// The members of `set` inside `location`, in contents order.
    fn in_location(&self, set: &BTreeSet<ObjectId>, location: ObjectId) -> Vec<ObjectId> {
        let Some(loc) = self.objects.get(&location) else { return vec![] };
        if set.len() < loc.contents.len() {
            let mut v: Vec<ObjectId> = set
                .iter()
                .copied()
                .filter(|id| self.objects.get(id).is_some_and(|o| o.location == Some(location)))
                .collect();
            // Contents order, as a search inside a location gives.
            let pos: HashMap<ObjectId, usize> =
                loc.contents.iter().enumerate().map(|(i, c)| (*c, i)).collect();
            v.sort_by_key(|id| pos.get(id).copied().unwrap_or(usize::MAX));
            v
        } else {
            loc.contents.iter().copied().filter(|c| set.contains(c)).collect()
        }
    }

    // --- aliases and searches -----------------------------------------------------------------

    /// An object's aliases.
    pub fn aliases(&self, id: ObjectId) -> &[String] {
        self.world.aliases.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Give an object an alias (nothing if it has it, in any case). Returns whether it was added.
    pub fn alias_add(&mut self, id: ObjectId, alias: &str) -> Result<bool, StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NoObject(id));
        }
        let alias = alias.trim();
        if self.aliases(id).iter().any(|a| a.eq_ignore_ascii_case(alias) || a == alias) {
            return Ok(false);
        }
        let mut aliases = self.aliases(id).to_vec();
        aliases.push(alias.to_string());
        self.write_aliases(id, aliases)?;
        Ok(true)
    }

    /// Remove an alias (any case). Returns whether the object had it.
    pub fn alias_remove(&mut self, id: ObjectId, alias: &str) -> Result<bool, StoreError> {
        let alias = alias.trim().to_lowercase();
        let old = self.aliases(id);
        if !old.iter().any(|a| a.to_lowercase() == alias) {
            return Ok(false);
        }
        let aliases = old.iter().filter(|a| a.to_lowercase() != alias).cloned().collect();
        self.write_aliases(id, aliases)?;
        Ok(true)
    }

    fn write_aliases(&mut self, id: ObjectId, aliases: Vec<String>) -> Result<(), StoreError> {
        self.db.execute_cached("DELETE FROM aliases WHERE obj = ?1", params![id])?;
        for (pos, a) in aliases.iter().enumerate() {
            self.db.execute_cached(
                "INSERT OR REPLACE INTO aliases (obj, pos, alias) VALUES (?1, ?2, ?3)",
                params![id, pos as i64, a],
            )?;
        }
        let old = self.world.aliases.get(&id).cloned();
        self.world.set_aliases(id, Some(aliases));
        self.record(Undo::World(WorldUndo::Aliases(id, old)));
        if self.objects.get(&id).is_some_and(|o| o.kind == "exit") {
            // An exit's command answers to its aliases.
            self.cmdset_gen += 1;
        }
        Ok(())
    }

    /// Whether `name` (lower case) is the object's key or one of its aliases.
    fn named(&self, o: &super::Object, name: &str) -> bool {
        o.key.to_lowercase() == name
            || (!self.world.aliases.is_empty()
                && self.aliases(o.id).iter().any(|a| a.to_lowercase() == name))
    }

    /// Objects whose key or alias equals `name` (ignoring case), inside `location` (its contents,
    /// in order) or anywhere (by id, from the key and alias indexes: no scan).
    pub fn search(&self, name: &str, location: Option<ObjectId>) -> Vec<ObjectId> {
        let name = name.trim().to_lowercase();
        match location {
            Some(l) => self
                .objects
                .get(&l)
                .map(|l| {
                    l.contents
                        .iter()
                        .filter(|c| self.objects.get(c).is_some_and(|o| self.named(o, &name)))
                        .copied()
                        .collect()
                })
                .unwrap_or_default(),
            None => {
                let keys = self.world.key_index.get(&name).into_iter().flatten();
                let aliases = self.world.alias_index.get(&name).into_iter().flatten();
                let all: BTreeSet<ObjectId> = keys.chain(aliases).copied().collect();
                all.into_iter().collect()
            }
        }
    }

    /// Objects of `kind` (ignoring case), inside `location` (contents order) or anywhere (by id,
    /// from the kind index).
    pub fn search_kind(&self, kind: &str, location: Option<ObjectId>) -> Vec<ObjectId> {
        let kind = kind.trim().to_lowercase();
        let Some(set) = self.world.kind_index.get(&kind) else { return vec![] };
        match location {
            None => set.iter().copied().collect(),
            Some(l) => self.in_location(set, l),
        }
    }

    // --- locks ------------------------------------------------------------------------------

    /// The locks set on an object (its kind's defaults are not among them).
    pub fn locks(&self, id: ObjectId) -> &[Lock] {
        self.world.locks.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Add locks to an object, each replacing the object's lock of the same access type.
    pub fn locks_add(&mut self, id: ObjectId, add: Vec<Lock>) -> Result<(), StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NoObject(id));
        }
        let mut locks: Vec<Lock> = self.locks(id).to_vec();
        for l in add {
            match locks.iter_mut().find(|o| o.access_type == l.access_type) {
                Some(slot) => *slot = l,
                None => locks.push(l),
            }
        }
        self.write_locks(id, locks)
    }

    /// Remove an object's lock of one access type. Returns whether it had one.
    pub fn lock_remove(&mut self, id: ObjectId, access_type: &str) -> Result<bool, StoreError> {
        let access_type = access_type.trim().to_lowercase();
        if !self.locks(id).iter().any(|l| l.access_type == access_type) {
            return Ok(false);
        }
        let locks = self.locks(id).iter().filter(|l| l.access_type != access_type).cloned();
        self.write_locks(id, locks.collect())?;
        Ok(true)
    }

    fn write_locks(&mut self, id: ObjectId, locks: Vec<Lock>) -> Result<(), StoreError> {
        self.db.execute_cached("DELETE FROM locks WHERE obj = ?1", params![id])?;
        for (pos, l) in locks.iter().enumerate() {
            self.db.execute_cached(
                "INSERT INTO locks (obj, pos, access_type, expr) VALUES (?1, ?2, ?3, ?4)",
                params![id, pos as i64, l.access_type, l.source],
            )?;
        }
        let old = if locks.is_empty() {
            self.world.locks.remove(&id)
        } else {
            self.world.locks.insert(id, locks)
        };
        self.record(Undo::World(WorldUndo::Locks(id, old)));
        Ok(())
    }

    // --- typed attributes -----------------------------------------------------------------------

    /// A typed attribute's JSON text, by category (empty: none) and key.
    pub fn typed_attr(&self, id: ObjectId, category: &str, key: &str) -> Option<&str> {
        let map = self.world.typed.get(&id)?;
        map.get(&(category.to_string(), key.to_string())).map(String::as_str)
    }

    /// An object's typed attributes: (category, key) → JSON text, sorted.
    pub fn typed_attrs(&self, id: ObjectId) -> Option<&BTreeMap<(String, String), String>> {
        self.world.typed.get(&id)
    }

    /// Set (Some: JSON text, already validated) or delete a typed attribute.
    pub fn set_typed_attr(
        &mut self,
        id: ObjectId,
        category: &str,
        key: &str,
        json: Option<&str>,
    ) -> Result<(), StoreError> {
        if !self.objects.contains_key(&id) {
            return Err(StoreError::NoObject(id));
        }
        let exists = self.typed_attr(id, category, key).is_some();
        if json.is_none() && !exists {
            return Ok(());
        }
        match json {
            Some(v) => self.db.execute_cached(
                "INSERT OR REPLACE INTO typed_attributes (obj, category, key, value) VALUES (?1, ?2, ?3, ?4)",
                params![id, category, key, v],
            )?,
            None => self.db.execute_cached(
                "DELETE FROM typed_attributes WHERE obj = ?1 AND category = ?2 AND key = ?3",
                params![id, category, key],
            )?,
        };
        let old = self.world.typed.get(&id).cloned();
        let map = self.world.typed.entry(id).or_default();
        match json {
            Some(v) => {
                map.insert((category.to_string(), key.to_string()), v.to_string());
            }
            None => {
                map.remove(&(category.to_string(), key.to_string()));
                if map.is_empty() {
                    self.world.typed.remove(&id);
                }
            }
        }
        self.record(Undo::World(WorldUndo::Typed(id, old)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, WorldStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = WorldStore::open(&dir.path().join("w.db")).unwrap();
        (dir, s)
    }

    #[test]
    fn tags_aliases_locks_and_typed_attributes_survive_reopening_and_index_searches() {
        let (dir, mut s) = store();
        s.begin().unwrap();
        let room = s.create_object("Hall", "room", None).unwrap();
        let rose = s.create_object("rose", "thing", Some(room)).unwrap();
        let elsewhere = s.create_object("tulip", "thing", None).unwrap();
        s.tag_add(rose, tag("Flower", Some("Plants"))).unwrap();
        s.tag_add(elsewhere, tag("flower", Some("plants"))).unwrap();
        s.alias_add(rose, "Bloom").unwrap();
        s.locks_add(rose, parse_lockstring("get:false()").unwrap()).unwrap();
        s.set_typed_attr(rose, "stats", "petals", Some("[1,2]")).unwrap();
        s.commit().unwrap();
        drop(s);
        let s = WorldStore::open(&dir.path().join("w.db")).unwrap();
        let flower = tag("flower", Some("plants"));
        assert_eq!(s.search_tag(&flower, None), vec![rose, elsewhere]);
        assert_eq!(s.search_tag(&flower, Some(room)), vec![rose]);
        assert_eq!(s.search("bloom", None), vec![rose]);
        assert_eq!(s.search("BLOOM", Some(room)), vec![rose]);
        assert_eq!(s.search("ROSE", None), vec![rose]);
        assert_eq!(s.search_kind("thing", Some(room)), vec![rose]);
        assert_eq!(s.locks(rose)[0].to_lockstring(), "get:false()");
        assert_eq!(s.typed_attr(rose, "stats", "petals"), Some("[1,2]"));
    }

    #[test]
    fn a_rolled_back_call_leaves_the_world_model_and_indexes_as_they_were() {
        let (_d, mut s) = store();
        s.begin().unwrap();
        let rose = s.create_object("rose", "thing", None).unwrap();
        s.tag_add(rose, tag("red", None)).unwrap();
        s.commit().unwrap();
        s.begin().unwrap();
        let sp = s.savepoint().unwrap();
        s.tag_add(rose, tag("blue", None)).unwrap();
        s.alias_add(rose, "bloom").unwrap();
        s.set_object_key(rose, "lily").unwrap();
        let new = s.create_object("daisy", "thing", None).unwrap();
        s.delete_object(rose).unwrap();
        s.rollback_to(sp).unwrap();
        s.commit().unwrap();
        assert_eq!(s.search("rose", None), vec![rose]);
        assert!(s.search("lily", None).is_empty() && s.search("bloom", None).is_empty());
        assert!(s.search("daisy", None).is_empty(), "{new}");
        assert_eq!(s.search_tag(&tag("red", None), None), vec![rose]);
        assert!(s.search_tag(&tag("blue", None), None).is_empty());
    }
}
