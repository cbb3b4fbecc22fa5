//! The test host's objects and attributes: rooms, exits and things a test builds, their
//! attributes and locations; the fakes of the object imports (create, move without cycles,
//! search by key and alias, delete), and of the object-class ones (the class only recorded,
//! the host's default appearance, a traverse as a plain move).

use super::{with, TestHost};
use crate::bindings::mudhost::game::host::ContentsPacked;
use crate::{HostError, Obj, ObjectId};

impl TestHost {
    /// Limbo, the start location.
    pub fn limbo(&self) -> Obj {
        Obj(with(|s| s.start_location))
    }

    /// A room with a description (its `desc` attribute; empty for none).
    pub fn room(&self, key: &str, desc: &str) -> Obj {
        let room = self.object(key, "room", None);
        if !desc.is_empty() {
            self.set_attr(room, "desc", desc);
        }
        room
    }

    /// An object of any kind in `location`.
    pub fn object(&self, key: &str, kind: &str, location: Option<Obj>) -> Obj {
        Obj(with(|s| s.create(key, kind, location.map(|l| l.0))))
    }

    /// An exit named `key` in `from` leading to `to` (its `destination` attribute).
    pub fn exit(&self, key: &str, from: Obj, to: Obj) -> Obj {
        let exit = self.object(key, "exit", Some(from));
        self.set_attr(exit, "destination", &to.0.to_string());
        exit
    }

    /// Set an object attribute.
    pub fn set_attr(&self, obj: Obj, key: &str, value: &str) {
        with(|s| {
            if let Some(o) = s.objects.get_mut(&obj.0) {
                o.attrs.insert(key.into(), value.into());
            }
        })
    }

    /// An object attribute.
    pub fn attr(&self, obj: Obj, key: &str) -> Option<String> {
        with(|s| s.objects.get(&obj.0).and_then(|o| o.attrs.get(key).cloned()))
    }

    /// Where an object is.
    pub fn location(&self, obj: Obj) -> Option<Obj> {
        with(|s| s.objects.get(&obj.0).and_then(|o| o.location).map(Obj))
    }
}

pub fn object_create(key: &str, kind: &str, location: Option<ObjectId>) -> ObjectId {
    with(|s| s.create(key, kind, location))
}

pub fn object_exists(obj: ObjectId) -> bool {
    with(|s| s.objects.contains_key(&obj))
}

pub fn object_key(obj: ObjectId) -> Option<String> {
    with(|s| s.objects.get(&obj).map(|o| o.key.clone()))
}

pub fn object_set_key(obj: ObjectId, key: &str) -> Result<(), HostError> {
    if key.trim().is_empty() {
        return Err(HostError::Invalid("An object's key cannot be empty.".into()));
    }
    with(|s| {
        let o =
            s.objects.get_mut(&obj).ok_or_else(|| HostError::NotFound("No such object.".into()))?;
        o.key = key.into();
        Ok(())
    })
}

pub fn object_kind(obj: ObjectId) -> Option<String> {
    with(|s| s.objects.get(&obj).map(|o| o.kind.clone()))
}

pub fn object_location(obj: ObjectId) -> Option<ObjectId> {
    with(|s| s.objects.get(&obj).and_then(|o| o.location))
}

pub fn object_contents(obj: ObjectId) -> Vec<ObjectId> {
    with(|s| s.contents(obj))
}

pub fn object_contents_packed(obj: ObjectId) -> ContentsPacked {
    with(|s| {
        let (mut ids, mut text, mut ends) = (vec![], String::new(), vec![]);
        for id in s.contents(obj) {
            let o = &s.objects[&id];
            ids.push(id);
            text += &o.key;
            ends.push(text.len() as u32);
            text += &o.kind;
            ends.push(text.len() as u32);
        }
        ContentsPacked { ids, text, ends }
    })
}

pub fn object_move(obj: ObjectId, destination: Option<ObjectId>) -> Result<(), HostError> {
    with(|s| {
        if !s.objects.contains_key(&obj) {
            return Err(HostError::NotFound("No such object.".into()));
        }
        // Not into itself, nor into anything inside it.
        let mut at = destination;
        while let Some(d) = at {
            if d == obj {
                return Err(HostError::Invalid("An object cannot be moved into itself.".into()));
            }
            at = s
                .objects
                .get(&d)
                .ok_or_else(|| HostError::NotFound("No such destination.".into()))?
                .location;
        }
        s.objects.get_mut(&obj).expect("checked").location = destination;
        Ok(())
    })
}

pub fn object_search(key: &str, location: Option<ObjectId>) -> Vec<ObjectId> {
    let key = key.trim().to_lowercase();
    let found: Vec<ObjectId> = with(|s| {
        s.objects
            .iter()
            .filter(|(_, o)| location.is_none() || o.location == location)
            .filter(|(_, o)| {
                o.key.to_lowercase() == key
                    || o.attrs
                        .get("aliases")
                        .is_some_and(|a| a.split(';').any(|a| a.trim().to_lowercase() == key))
            })
            .map(|(id, _)| *id)
            .collect()
    });
    // Object aliases (`alias-add`) too.
    let by_alias = with(|s| {
        s.objects
            .iter()
            .filter(|(_, o)| location.is_none() || o.location == location)
            .map(|(id, _)| *id)
            .collect::<Vec<_>>()
    });
    let mut all = found;
    all.extend(by_alias.into_iter().filter(|id| super::world::has_alias(*id, &key)));
    all.sort_unstable();
    all.dedup();
    all
}

pub fn object_delete(obj: ObjectId) -> Result<(), HostError> {
    with(|s| {
        if obj == s.start_location {
            return Err(HostError::Refused("The start location cannot be deleted.".into()));
        }
        let o =
            s.objects.remove(&obj).ok_or_else(|| HostError::NotFound("No such object.".into()))?;
        for inner in s.objects.values_mut().filter(|i| i.location == Some(obj)) {
            inner.location = o.location;
        }
        // Timers bound to it go with it.
        s.timers.retain(|_, t| t.obj != Some(obj));
        Ok(())
    })
}

pub fn object_attr_get(obj: ObjectId, key: &str) -> Option<String> {
    with(|s| s.objects.get(&obj).and_then(|o| o.attrs.get(key).cloned()))
}

pub fn object_attr_set(obj: ObjectId, key: &str, value: Option<&str>) -> Result<(), HostError> {
    with(|s| {
        let o =
            s.objects.get_mut(&obj).ok_or_else(|| HostError::NotFound("No such object.".into()))?;
        match value {
            Some(v) => o.attrs.insert(key.into(), v.into()),
            None => o.attrs.remove(key),
        };
        Ok(())
    })
}

pub fn start_location() -> ObjectId {
    with(|s| s.start_location)
}

// Object classes: the class is only recorded (no hook of another module runs here), the
// appearance is the host's default, a traverse is a plain move to the exit's destination.
pub fn object_set_class(obj: ObjectId, class: Option<&str>) -> Result<(), HostError> {
    with(|s| {
        if !s.objects.contains_key(&obj) {
            return Err(HostError::NotFound(format!("no object #{obj}")));
        }
        match class {
            Some(c) => s.classes.insert(obj, c.into()),
            None => s.classes.remove(&obj),
        };
        Ok(())
    })
}

pub fn object_class(obj: ObjectId) -> Option<String> {
    with(|s| s.classes.get(&obj).cloned())
}

pub fn object_appearance(obj: ObjectId, looker: ObjectId) -> String {
    with(|s| {
        let Some(target) = s.objects.get(&obj) else { return format!("#{obj}") };
        let desc = target.attrs.get("desc").cloned().unwrap_or_else(|| {
            match target.kind.as_str() {
                "room" => "This is a room.",
                "character" => "This is a character.",
                "exit" => "This is an exit.",
                _ => "You see nothing special.",
            }
            .into()
        });
        let mut text = format!("|c{}|n\n{desc}", target.key);
        let (mut exits, mut characters, mut things) = (vec![], vec![], vec![]);
        for id in s.contents(obj).into_iter().filter(|id| *id != looker) {
            let o = &s.objects[&id];
            match o.kind.as_str() {
                "exit" => exits.push(o.key.clone()),
                "character" => characters.push(o.key.clone()),
                _ => things.push(o.key.clone()),
            }
        }
        things.sort();
        for (label, names) in [("Exits", exits), ("Characters", characters), ("You see", things)] {
            if !names.is_empty() {
                text += &format!("\n|w{label}:|n {}", crate::text::iter_to_str(names));
            }
        }
        text
    })
}

pub fn object_traverse(obj: ObjectId, exit: ObjectId) -> Result<(), HostError> {
    let dest = with(|s| {
        let e = s.objects.get(&exit).filter(|e| e.kind == "exit");
        let e = e.ok_or_else(|| HostError::Invalid(format!("#{exit} is not an exit")))?;
        e.attrs
            .get("destination")
            .and_then(|d| d.trim().trim_start_matches('#').parse::<ObjectId>().ok())
            .filter(|d| s.objects.contains_key(d))
            .ok_or_else(|| HostError::Refused("That exit leads nowhere.".into()))
    })?;
    object_move(obj, Some(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_keys_and_aliases_and_a_deleted_containers_contents_fall_out() {
        let host = TestHost::new();
        let room = host.room("Hall", "");
        let bag = host.object("bag", "thing", Some(room));
        host.set_attr(bag, "aliases", "sack; pouch");
        let coin = host.object("coin", "thing", Some(bag));
        assert_eq!(object_search(" SACK ", Some(room.0)), [bag.0]);
        let limbo = HostError::Refused("The start location cannot be deleted.".into());
        assert_eq!(object_delete(host.limbo().0), Err(limbo));
        object_delete(bag.0).unwrap();
        assert_eq!(host.location(coin), Some(room));
    }
}
