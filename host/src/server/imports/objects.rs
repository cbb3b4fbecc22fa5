//! The object imports with more to them than one call onto the world: creation counted
//! against the call's quota, renaming, the contents views, string attributes.

use super::Trappable;
use crate::server::game::Game;
use crate::shared::ids::ObjectId;
use crate::wasm::bindings::mudhost::game::host::{ContentsPacked, ObjectBrief};
use crate::wasm::bindings::types::HostError;
use crate::wasm::bindings::{refuse_or_fail, HostFailure};
use crate::wasm::import_checks::over;
use crate::wasm::HostCtx;

impl HostCtx<Game> {
    /// `object-create`: key and kind within `guest_name_bytes`, counted against
    /// `guest_objects_per_call`.
    pub(super) fn create_object_counted(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<u64> {
        self.name("an object key", &key)?;
        self.name("an object kind", &kind)?;
        if self.used.objects >= self.q().objects_per_call {
            return Err(over(format!(
                "objects created over guest_objects_per_call ({})",
                self.q().objects_per_call
            )));
        }
        // It fails only when the database does: the host's failure, which ends the call (it
        // used to answer id 0, an object that does not exist).
        let id = self
            .game
            .world
            .create_object(&key, &kind, location.map(ObjectId::new))
            .map_err(|e| wasmtime::Error::new(HostFailure(format!("object-create: {e}"))))?;
        self.used.objects += 1;
        Ok(id.get())
    }

    /// `object-set-key`: a character is renamed under the rules it was created with.
    pub(super) fn rename_object(
        &mut self,
        obj: u64,
        key: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("an object key", &key) {
            return Ok(Err(e));
        }
        // A character is renamed under the rules it was created with.
        if self.game.world.object(ObjectId::new(obj)).is_some_and(|o| o.kind == "character") {
            let max = self.game.cfg.max_name_chars;
            if let Err(e) = crate::server::game::validate_character_name(&key, max) {
                return Ok(Err(HostError::Invalid(e)));
            }
        }
        refuse_or_fail(self.game.world.set_object_key(ObjectId::new(obj), &key))
    }

    /// `object-contents-briefs`: id, key and kind of each object inside `obj`.
    pub(super) fn contents_briefs(&mut self, obj: u64) -> Trappable<Vec<ObjectBrief>> {
        let world = &self.game.world;
        let Some(container) = world.object(ObjectId::new(obj)) else { return Ok(vec![]) };
        let mut briefs = Vec::with_capacity(container.contents.len());
        briefs.extend(world.contents(container).map(|o| ObjectBrief {
            id: o.id.get(),
            key: o.key.clone(),
            kind: o.kind.clone(),
        }));
        Ok(briefs)
    }

    /// `object-contents-packed`: the same, packed into one text with offsets.
    pub(super) fn contents_packed(&mut self, obj: u64) -> Trappable<ContentsPacked> {
        let world = &self.game.world;
        let Some(container) = world.object(ObjectId::new(obj)) else {
            return Ok(ContentsPacked { ids: vec![], text: String::new(), ends: vec![] });
        };
        let n = container.contents.len();
        let (mut ids, mut ends) = (Vec::with_capacity(n), Vec::with_capacity(2 * n));
        // A guess (a short key and kind each) instead of a second pass over the objects.
        let mut text = String::with_capacity(16 * n);
        for o in world.contents(container) {
            ids.push(o.id.get());
            // Keys and kinds are bounded by `guest_name_bytes`, and a room by what the store
            // holds: far from 4 GiB, but an offset past it is clamped rather than wrapped.
            text.push_str(&o.key);
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            text.push_str(&o.kind);
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Ok(ContentsPacked { ids, text, ends })
    }

    /// `object-attr-get`: a string attribute, or a typed one of the default category as JSON.
    pub(super) fn attr_text(&mut self, obj: u64, key: String) -> Trappable<Option<String>> {
        self.name("an attribute key", &key)?;
        let world = &self.game.world;
        Ok(world.object(ObjectId::new(obj)).and_then(|o| o.attrs.get(&key).cloned()).or_else(
            || {
                // A typed value of the default category, as its JSON text (`attr-set-json`).
                world.typed_attr(ObjectId::new(obj), "", &key).map(str::to_string)
            },
        ))
    }

    /// `object-attr-set`: one value per attribute (a string replaces a typed value).
    pub(super) fn set_attr_text(
        &mut self,
        obj: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("an attribute key", &key) {
            return Ok(Err(e));
        }
        // Ownership decides puppet rights and counts towards MAX_NR_CHARACTERS: only the host's
        // character-create sets it.
        if key == crate::store::OWNER_ATTR {
            let why = format!("'{key}' is set by the host (character-create).");
            return Ok(Err(HostError::Invalid(why)));
        }
        if value.as_ref().is_some_and(|v| v.len() > self.q().attr_value_bytes) {
            return Ok(Err(HostError::Quota(format!(
                "the attribute value is over guest_attr_value_bytes ({} bytes)",
                self.q().attr_value_bytes
            ))));
        }
        let set = self.game.world.set_object_attr(ObjectId::new(obj), &key, value.as_deref());
        if set.is_ok() && self.game.world.typed_attr(ObjectId::new(obj), "", &key).is_some() {
            // One value per attribute: the string replaces a typed value of the same key.
            if let Err(e) =
                refuse_or_fail(self.game.world.set_typed_attr(ObjectId::new(obj), "", &key, None))?
            {
                return Ok(Err(e));
            }
        }
        refuse_or_fail(set)
    }
}
