//! The world model on [`Obj`]: tags with categories, aliases, searches by tag and kind, typed
//! (JSON) attributes with categories, and object locks checked with [`Obj::access`] (Evennia's
//! `obj.tags`, `obj.aliases`, `search_tag`, `obj.attributes`, `obj.locks`, `obj.access`).
//!
//! ```no_run
//! use mudhost_sdk::{Obj, CmdResult};
//! use serde_json::json;
//!
//! fn furnish(garden: Obj) -> CmdResult {
//!     let statue = Obj::create("statue", "thing", Some(garden));
//!     statue.alias_add("marble statue")?;
//!     statue.tag_add("heavy", Some("weight"))?;
//!     statue.set_attr_json("stats", None, &json!({"weight": 800, "material": "marble"}))?;
//!     // Nobody picks it up (the `get` command asks `statue.access(me, "get")`).
//!     statue.lock_add("get:false()")?;
//!     assert_eq!(Obj::search_tag("heavy", Some("weight"), Some(garden)), [statue]);
//!     Ok(())
//! }
//! # fn main() {}
//! ```

// Natively (feature `testing`) the raw imports already answer the SDK's `HostError`, so the
// `map_err(Into::into)` that converts the WIT's variant in a guest build is the identity there.
#![cfg_attr(feature = "testing", allow(clippy::useless_conversion))]

#[cfg(not(all(feature = "testing", not(target_arch = "wasm32"))))]
use crate::bindings::mudhost::game::host as raw;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
use crate::testing::imports as raw;
use crate::{HostError, Obj};

/// One attribute of an object as [`Obj::attrs`] lists it: key, category, JSON value.
pub use raw::AttrEntry;
/// A tag on an object: key and category (none: uncategorised), both lower case.
pub use raw::Tag;

impl Obj {
    /// Tag the object (Evennia's `obj.tags.add(key, category=...)`); tagging it again changes
    /// nothing. `Err` names the limit: the game's `world_tags_per_object` tags per object, keys
    /// and categories within `world_tag_bytes`.
    ///
    /// ```no_run
    /// # let rose = mudhost_sdk::Obj(1);
    /// rose.tag_add("flower", Some("plants"))?;
    /// assert!(rose.has_tag("flower", Some("plants")));
    /// # Ok::<(), String>(())
    /// ```
    pub fn tag_add(self, key: &str, category: Option<&str>) -> Result<(), HostError> {
        raw::tag_add(self.0, key, category).map_err(Into::into)
    }

    /// Remove a tag; `Ok(false)` if the object did not have it.
    pub fn tag_remove(self, key: &str, category: Option<&str>) -> Result<bool, HostError> {
        raw::tag_remove(self.0, key, category).map_err(Into::into)
    }

    /// The object's tags, by category and then key.
    pub fn tags(self) -> Vec<Tag> {
        raw::tags(self.0)
    }

    /// Whether the object has the tag (key and category compared without case).
    pub fn has_tag(self, key: &str, category: Option<&str>) -> bool {
        let (key, category) =
            (key.trim().to_lowercase(), category.map(|c| c.trim().to_lowercase()));
        let category = category.filter(|c| !c.is_empty());
        self.tags().iter().any(|t| t.key == key && t.category == category)
    }

    /// Objects with a tag, inside `location` (its contents order) or anywhere (by id): Evennia's
    /// `search_tag`. The host answers from an index, never by scanning every object.
    ///
    /// ```no_run
    /// # use mudhost_sdk::Obj;
    /// # let garden = Obj(2);
    /// let flowers_here = Obj::search_tag("flower", Some("plants"), Some(garden));
    /// let all_flowers = Obj::search_tag("flower", Some("plants"), None);
    /// # let _ = (flowers_here, all_flowers);
    /// ```
    pub fn search_tag(key: &str, category: Option<&str>, location: Option<Obj>) -> Vec<Obj> {
        raw::search_tag(key, category, location.map(|l| l.0)).into_iter().map(Obj).collect()
    }

    /// Give the object an alias: [`Obj::search`] then finds it by it, and an exit's command
    /// answers to it (Evennia's `obj.aliases.add`). `Err` beyond `world_aliases_per_object`.
    ///
    /// ```no_run
    /// # let statue = mudhost_sdk::Obj(1);
    /// statue.alias_add("marble statue")?;
    /// assert!(mudhost_sdk::Obj::search("Marble Statue", None).contains(&statue));
    /// # Ok::<(), String>(())
    /// ```
    pub fn alias_add(self, alias: &str) -> Result<(), HostError> {
        raw::alias_add(self.0, alias).map_err(Into::into)
    }

    /// Remove an alias (any case); `Ok(false)` if it had no such alias.
    pub fn alias_remove(self, alias: &str) -> Result<bool, HostError> {
        raw::alias_remove(self.0, alias).map_err(Into::into)
    }

    /// The object's aliases, in the order they were added.
    pub fn aliases(self) -> Vec<String> {
        raw::aliases(self.0)
    }

    /// Objects of a kind ("room", "exit", "thing", ...), inside `location` or anywhere.
    ///
    /// ```no_run
    /// # use mudhost_sdk::Obj;
    /// let rooms = Obj::search_kind("room", None);
    /// # let _ = rooms;
    /// ```
    pub fn search_kind(kind: &str, location: Option<Obj>) -> Vec<Obj> {
        raw::search_kind(kind, location.map(|l| l.0)).into_iter().map(Obj).collect()
    }

    /// A typed attribute (Evennia's `obj.attributes.get(key, category=...)`). In the default
    /// category (`None`) the string attributes of [`Obj::set_attr`] are the same attributes: a
    /// string value comes back as a JSON string.
    ///
    /// ```no_run
    /// # let sword = mudhost_sdk::Obj(1);
    /// use serde_json::json;
    /// sword.set_attr_json("damage", Some("combat"), &json!([2, 6]))?;
    /// assert_eq!(sword.attr_json("damage", Some("combat")), Some(json!([2, 6])));
    /// # Ok::<(), String>(())
    /// ```
    pub fn attr_json(self, key: &str, category: Option<&str>) -> Option<serde_json::Value> {
        let text = raw::attr_get_json(self.0, key, category)?;
        serde_json::from_str(&text).ok()
    }

    /// Set a typed attribute (any JSON value). `Err` if it is larger than the game's
    /// `guest_attr_value_bytes` or nested deeper than `guest_json_depth`.
    pub fn set_attr_json(
        self,
        key: &str,
        category: Option<&str>,
        value: &serde_json::Value,
    ) -> Result<(), HostError> {
        raw::attr_set_json(self.0, key, category, Some(&value.to_string())).map_err(Into::into)
    }

    /// Set a typed attribute from JSON text as someone typed it (a builder's `set`): the host
    /// checks it is valid JSON, and refuses it (`Err` saying why) otherwise or beyond the limits
    /// of [`Obj::set_attr_json`].
    ///
    /// ```no_run
    /// # let obj = mudhost_sdk::Obj(1);
    /// obj.set_attr_json_text("colours", None, r#"["red", "gold"]"#)?;
    /// assert!(obj.set_attr_json_text("colours", None, "[red").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn set_attr_json_text(
        self,
        key: &str,
        category: Option<&str>,
        json: &str,
    ) -> Result<(), HostError> {
        raw::attr_set_json(self.0, key, category, Some(json)).map_err(Into::into)
    }

    /// Delete a typed attribute (in the default category: the string attribute too).
    pub fn del_attr_json(self, key: &str, category: Option<&str>) -> Result<(), HostError> {
        raw::attr_set_json(self.0, key, category, None).map_err(Into::into)
    }

    /// Every attribute of the object, by category and then key, values as JSON text (what
    /// `examine` lists).
    ///
    /// ```no_run
    /// # let obj = mudhost_sdk::Obj(1);
    /// for a in obj.attrs() {
    ///     let name = match &a.category { Some(c) => format!("{}[{c}]", a.key), None => a.key };
    ///     println!("{name} = {}", a.value_json);
    /// }
    /// ```
    pub fn attrs(self) -> Vec<AttrEntry> {
        raw::attr_list(self.0)
    }

    /// Add locks (Evennia's `obj.locks.add("get:false();traverse:perm(Builder)")`): each
    /// `type:expression` replaces the object's lock of that type. An unknown lock function or an
    /// unreadable expression is refused with the reason.
    ///
    /// ```no_run
    /// # let door = mudhost_sdk::Obj(1);
    /// door.lock_add("traverse:perm(Builder) or tag(key, gatekeeper)")?;
    /// assert!(door.lock_add("get:frobnicate()").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn lock_add(self, lockstring: &str) -> Result<(), HostError> {
        raw::lock_add(self.0, lockstring).map_err(Into::into)
    }

    /// Remove the object's own lock of an access type (its kind's default applies again).
    pub fn lock_remove(self, access_type: &str) -> Result<bool, HostError> {
        raw::lock_remove(self.0, access_type).map_err(Into::into)
    }

    /// The object's locks as `type:expression`: its own, then its kind's defaults.
    pub fn locks(self) -> Vec<String> {
        raw::locks(self.0)
    }

    /// Whether `accessor` passes this object's lock of `access_type` (Evennia's
    /// `obj.access(accessor, "get")`). Superusers pass every lock; a type with no lock passes.
    ///
    /// ```no_run
    /// # use mudhost_sdk::{Obj, CmdResult};
    /// fn get(me: Obj, thing: Obj) -> CmdResult {
    ///     if !thing.access(me, "get") {
    ///         return Err("You can't get that.".into());
    ///     }
    ///     // A refusal (`HostError`) becomes the command's text.
    ///     Ok(thing.move_to(Some(me))?)
    /// }
    /// # fn main() {}
    /// ```
    pub fn access(self, accessor: Obj, access_type: &str) -> bool {
        raw::access(self.0, accessor.0, access_type)
    }
}
