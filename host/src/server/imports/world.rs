//! The world-model imports (`tag-*`, `alias-*`, `search-*`, `attr-*-json`, `attr-list`,
//! `lock-*`, `locks`, `access`): their checks and limits, then the world store
//! (`store/world.rs`) and the game's locks (`server/game/locks.rs`). Imports returning `result`
//! answer a bad or over-limit request with a `host-error` naming the limit; the others end the
//! call for a name over `guest_name_bytes`, as the other imports do. A database failure ends the
//! call ([`Answer`]).

use crate::server::game::locks::Accessor;
use crate::server::game::Game;
use crate::shared::ids::ObjectId;
use crate::store::{tag, OWNER_ATTR};
use crate::wasm::bindings::mudhost::game::host::{AttrEntry, Tag as WitTag};
use crate::wasm::bindings::types::HostError;
use crate::wasm::bindings::Answer;
use crate::wasm::import_checks::json_depth;
use crate::wasm::{HostCtx, QuotaExceeded};

type Trappable<T> = wasmtime::Result<T>;

impl HostCtx<Game> {
    /// End the call for a name over `guest_name_bytes`.
    fn world_name(&self, what: &str, value: &str) -> Trappable<()> {
        if value.len() > self.quotas.name_bytes {
            return Err(wasmtime::Error::new(QuotaExceeded(format!(
                "{what} is over guest_name_bytes ({} bytes)",
                self.quotas.name_bytes
            ))));
        }
        Ok(())
    }

    /// A tag's key and category checked against `world_tag_bytes`.
    fn tag_checked(
        &self,
        key: &str,
        category: Option<&str>,
    ) -> Result<crate::store::Tag, HostError> {
        let max = self.game.cfg.world_tag_bytes;
        if key.len() > max || category.is_some_and(|c| c.len() > max) {
            return Err(HostError::Quota(format!(
                "a tag key or category is over world_tag_bytes ({max} bytes)"
            )));
        }
        if key.trim().is_empty() {
            return Err(HostError::Invalid("a tag key cannot be empty".into()));
        }
        Ok(tag(key, category))
    }

    /// Limit a list handed to the guest to `guest_list_items` entries.
    fn world_list(&self, ids: Vec<ObjectId>) -> Vec<u64> {
        ids.into_iter().take(self.quotas.list_items).map(ObjectId::get).collect()
    }

    pub(super) fn world_tag_add(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Answer<()> {
        let t = self.tag_checked(&key, category.as_deref())?;
        let world = &mut self.game.world;
        if world.object(ObjectId::new(obj)).is_none() {
            return Err(HostError::NotFound(format!("no object #{obj}")).into());
        }
        let max = self.game.cfg.world_tags_per_object;
        if !self.game.world.has_tag(ObjectId::new(obj), &t)
            && self.game.world.tags(ObjectId::new(obj)).len() >= max
        {
            return Err(HostError::Quota(format!(
                "the object already has world_tags_per_object ({max}) tags"
            ))
            .into());
        }
        self.game.world.tag_add(ObjectId::new(obj), t)?;
        Ok(())
    }

    pub(super) fn world_tag_remove(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Answer<bool> {
        let t = self.tag_checked(&key, category.as_deref())?;
        Ok(self.game.world.tag_remove(ObjectId::new(obj), &t)?)
    }

    pub(super) fn world_tags(&mut self, obj: u64) -> Vec<WitTag> {
        let tags = self.game.world.tags(ObjectId::new(obj));
        tags.iter()
            .map(|t| WitTag {
                key: t.key.clone(),
                category: Some(t.category.clone()).filter(|c| !c.is_empty()),
            })
            .collect()
    }

    pub(super) fn world_search_tag(
        &mut self,
        key: String,
        category: Option<String>,
        location: Option<u64>,
    ) -> Trappable<Vec<u64>> {
        self.world_name("a tag key", &key)?;
        self.world_name("a tag category", category.as_deref().unwrap_or_default())?;
        let ids = self
            .game
            .world
            .search_tag(&tag(&key, category.as_deref()), location.map(ObjectId::new));
        Ok(self.world_list(ids))
    }

    pub(super) fn world_alias_add(&mut self, obj: u64, alias: String) -> Answer<()> {
        if alias.len() > self.quotas.name_bytes {
            return Err(HostError::Quota(format!(
                "the alias is over guest_name_bytes ({} bytes)",
                self.quotas.name_bytes
            ))
            .into());
        }
        if alias.trim().is_empty() {
            return Err(HostError::Invalid("an alias cannot be empty".into()).into());
        }
        if self.game.world.object(ObjectId::new(obj)).is_none() {
            return Err(HostError::NotFound(format!("no object #{obj}")).into());
        }
        let max = self.game.cfg.world_aliases_per_object;
        let has = self
            .game
            .world
            .aliases(ObjectId::new(obj))
            .iter()
            .any(|a| a.eq_ignore_ascii_case(alias.trim()));
        if !has && self.game.world.aliases(ObjectId::new(obj)).len() >= max {
            return Err(HostError::Quota(format!(
                "the object already has world_aliases_per_object ({max}) aliases"
            ))
            .into());
        }
        self.game.world.alias_add(ObjectId::new(obj), &alias)?;
        Ok(())
    }

    pub(super) fn world_alias_remove(&mut self, obj: u64, alias: String) -> Answer<bool> {
        if alias.len() > self.quotas.name_bytes {
            return Ok(false);
        }
        Ok(self.game.world.alias_remove(ObjectId::new(obj), &alias)?)
    }

    pub(super) fn world_search_kind(
        &mut self,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<Vec<u64>> {
        self.world_name("an object kind", &kind)?;
        let ids = self.game.world.search_kind(&kind, location.map(ObjectId::new));
        Ok(self.world_list(ids))
    }

    pub(super) fn world_attr_get_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Option<String>> {
        self.world_name("an attribute key", &key)?;
        self.world_name("an attribute category", category.as_deref().unwrap_or_default())?;
        let world = &self.game.world;
        let category = category.unwrap_or_default();
        if let Some(v) = world.typed_attr(ObjectId::new(obj), &category, &key) {
            return Ok(Some(v.to_string()));
        }
        if !category.is_empty() {
            return Ok(None);
        }
        Ok(world
            .object(ObjectId::new(obj))
            .and_then(|o| o.attrs.get(&key))
            .map(|s| serde_json::Value::String(s.clone()).to_string()))
    }

    pub(super) fn world_attr_set_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
        value: Option<String>,
    ) -> Answer<()> {
        let q = self.quotas;
        if key.len() > q.name_bytes || category.as_ref().is_some_and(|c| c.len() > q.name_bytes) {
            return Err(HostError::Quota(format!(
                "the attribute key or category is over guest_name_bytes ({} bytes)",
                q.name_bytes
            ))
            .into());
        }
        let category = category.unwrap_or_default();
        if category.is_empty() && key == OWNER_ATTR {
            return Err(HostError::Invalid(format!(
                "'{key}' is set by the host (character-create)."
            ))
            .into());
        }
        if self.game.world.object(ObjectId::new(obj)).is_none() {
            return Err(HostError::NotFound(format!("no object #{obj}")).into());
        }
        let world = &mut self.game.world;
        let Some(text) = value else {
            if category.is_empty()
                && world.object(ObjectId::new(obj)).is_some_and(|o| o.attrs.contains_key(&key))
            {
                world.set_object_attr(ObjectId::new(obj), &key, None)?;
            }
            return Ok(world.set_typed_attr(ObjectId::new(obj), &category, &key, None)?);
        };
        if text.len() > q.attr_value_bytes {
            return Err(HostError::Quota(format!(
                "the attribute value is over guest_attr_value_bytes ({} bytes)",
                q.attr_value_bytes
            ))
            .into());
        }
        // Depth first: serde recurses into what it parses.
        if json_depth(&text) > q.json_depth {
            return Err(HostError::Quota(format!(
                "the attribute value nests deeper than guest_json_depth ({})",
                q.json_depth
            ))
            .into());
        }
        let parsed: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| HostError::Invalid(format!("the value is not valid JSON: {e}")))?;
        match parsed {
            // The default category's strings are the plain attributes old modules read.
            serde_json::Value::String(s) if category.is_empty() => {
                world.set_typed_attr(ObjectId::new(obj), "", &key, None)?;
                Ok(world.set_object_attr(ObjectId::new(obj), &key, Some(&s))?)
            }
            v => {
                if category.is_empty()
                    && world.object(ObjectId::new(obj)).is_some_and(|o| o.attrs.contains_key(&key))
                {
                    world.set_object_attr(ObjectId::new(obj), &key, None)?;
                }
                // Stored compact, as serde writes it: the same value always reads back the same.
                Ok(world.set_typed_attr(
                    ObjectId::new(obj),
                    &category,
                    &key,
                    Some(&v.to_string()),
                )?)
            }
        }
    }

    pub(super) fn world_attr_list(&mut self, obj: u64) -> Vec<AttrEntry> {
        let world = &self.game.world;
        let Some(o) = world.object(ObjectId::new(obj)) else { return vec![] };
        let mut out: Vec<AttrEntry> = o
            .attrs
            .iter()
            .map(|(k, v)| AttrEntry {
                key: k.clone(),
                category: None,
                value_json: serde_json::Value::String(v.clone()).to_string(),
            })
            .collect();
        out.extend(world.typed_attrs(ObjectId::new(obj)).into_iter().flatten().map(
            |((c, k), v)| AttrEntry {
                key: k.clone(),
                category: Some(c.clone()).filter(|c| !c.is_empty()),
                value_json: v.clone(),
            },
        ));
        out.sort_by(|a, b| (&a.category, &a.key).cmp(&(&b.category, &b.key)));
        out
    }

    pub(super) fn world_lock_add(&mut self, obj: u64, lockstring: String) -> Answer<()> {
        let max = self.game.cfg.world_lock_bytes;
        if lockstring.len() > max {
            return Err(HostError::Quota(format!(
                "the lock string is over world_lock_bytes ({max} bytes)"
            ))
            .into());
        }
        if self.game.world.object(ObjectId::new(obj)).is_none() {
            return Err(HostError::NotFound(format!("no object #{obj}")).into());
        }
        let add = crate::cmd::locks::parse_lockstring(&lockstring).map_err(HostError::Invalid)?;
        if add.is_empty() {
            return Err(HostError::Invalid("Lock: the lock string is empty.".into()).into());
        }
        let kept: usize = self
            .game
            .world
            .locks(ObjectId::new(obj))
            .iter()
            .filter(|l| !add.iter().any(|a| a.access_type == l.access_type))
            .map(|l| l.access_type.len() + l.source.len())
            .sum();
        let added: usize = add.iter().map(|l| l.access_type.len() + l.source.len()).sum();
        if kept + added > max {
            return Err(HostError::Quota(format!(
                "the object's locks would be over world_lock_bytes ({max} bytes)"
            ))
            .into());
        }
        Ok(self.game.world.locks_add(ObjectId::new(obj), add)?)
    }

    pub(super) fn world_lock_remove(&mut self, obj: u64, access_type: String) -> Answer<bool> {
        if access_type.len() > self.game.cfg.world_lock_bytes {
            return Ok(false);
        }
        Ok(self.game.world.lock_remove(ObjectId::new(obj), &access_type)?)
    }

    pub(super) fn world_locks(&mut self, obj: u64) -> Vec<String> {
        self.game.lockstrings(ObjectId::new(obj))
    }

    pub(super) fn world_access(
        &mut self,
        obj: u64,
        accessor: u64,
        access_type: String,
    ) -> Trappable<bool> {
        self.world_name("an access type", &access_type)?;
        Ok(self.game.access(
            ObjectId::new(obj),
            Accessor::Object(ObjectId::new(accessor)),
            &access_type,
        ))
    }
}
