//! Handles over host ids: [`Obj`] for objects, [`Account`] for accounts.

use std::fmt;

use crate::{args, host, AccountId, HostError, ObjectId, SessionInfo};

/// An object in the game world (room, character, exit, thing), by database id.
///
/// A handle is only an id: every method asks the host, so it always sees the current state.
/// `Display` shows the dbref (`#12`); use [`Obj::name`] in player-facing text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Obj(pub ObjectId);

impl Obj {
    /// Create an object of `kind` ("room", "character", "exit", or anything else) in `location`.
    pub fn create(key: &str, kind: &str, location: Option<Obj>) -> Obj {
        Obj(host::object_create(key, kind, location.map(|l| l.0)))
    }

    /// The room new characters start in ("Limbo").
    pub fn start_location() -> Obj {
        Obj(host::start_location())
    }

    /// Objects whose key or alias equals `key` (case-insensitive), inside `location` or anywhere.
    pub fn search(key: &str, location: Option<Obj>) -> Vec<Obj> {
        host::object_search(key, location.map(|l| l.0)).into_iter().map(Obj).collect()
    }

    /// Objects named `query` inside any of `places`, as Evennia's `caller.search` narrows them:
    /// when nothing has the full name, a `name-N` suffix picks the N-th object called `name`.
    pub fn find_all(query: &str, places: &[Obj]) -> Vec<Obj> {
        let query = query.trim();
        let search = |name: &str| {
            let mut found: Vec<Obj> = Vec::new();
            for obj in places.iter().flat_map(|p| Obj::search(name, Some(*p))) {
                if !found.contains(&obj) {
                    found.push(obj);
                }
            }
            found
        };
        let found = search(query);
        match args::split_multimatch(query) {
            (name, Some(n)) if found.is_empty() => {
                search(name).get(n.wrapping_sub(1)).map(|o| vec![*o]).unwrap_or_default()
            }
            _ => found,
        }
    }

    /// Find exactly one object named `query` inside any of `places` (see [`Obj::find_all`]).
    /// The `Err` is Evennia's text for the player: "Could not find '{query}'." or
    /// [`Obj::multimatch_text`].
    pub fn find(query: &str, places: &[Obj]) -> Result<Obj, String> {
        match Obj::find_all(query, places)[..] {
            [] => Err(format!("Could not find '{}'.", query.trim())),
            [one] => Ok(one),
            ref many => Err(Obj::multimatch_text(query, many)),
        }
    }

    /// Evennia's answer to an ambiguous search: "More than one match for '{query}' (please narrow
    /// target):" and one ` {key}-{n}` line per candidate.
    pub fn multimatch_text(query: &str, candidates: &[Obj]) -> String {
        let mut text =
            format!("More than one match for '{}' (please narrow target):", query.trim());
        for (i, obj) in candidates.iter().enumerate() {
            text += &format!("\n {}-{}", obj.name(), i + 1);
        }
        text
    }

    /// Parse an id stored as text (`"12"` or `"#12"`), e.g. an attribute holding a destination.
    pub fn parse(text: &str) -> Option<Obj> {
        text.trim().trim_start_matches('#').parse().ok().map(Obj)
    }

    /// The database id.
    pub fn id(self) -> ObjectId {
        self.0
    }

    /// Whether the object still exists.
    pub fn exists(self) -> bool {
        host::object_exists(self.0)
    }

    /// The object's key, if it exists.
    pub fn key(self) -> Option<String> {
        host::object_key(self.0)
    }

    /// The key for display, or the dbref (`#12`) if the object is gone.
    pub fn name(self) -> String {
        self.key().unwrap_or_else(|| self.to_string())
    }

    /// Rename the object.
    pub fn set_key(self, key: &str) -> Result<(), HostError> {
        host::object_set_key(self.0, key)
    }

    /// The object's kind ("room", "character", "exit", ...).
    pub fn kind(self) -> Option<String> {
        host::object_kind(self.0)
    }

    /// Whether the object is of `kind`.
    pub fn is(self, kind: &str) -> bool {
        self.kind().as_deref() == Some(kind)
    }

    /// Where the object is.
    pub fn location(self) -> Option<Obj> {
        host::object_location(self.0).map(Obj)
    }

    /// What is inside the object.
    pub fn contents(self) -> Vec<Obj> {
        host::object_contents(self.0).into_iter().map(Obj).collect()
    }

    /// The objects inside this one with their keys and kinds, in one host call (cheaper than
    /// [`contents`](Obj::contents) followed by `name()` and `kind()` on each).
    pub fn contents_briefs(self) -> Vec<host::ObjectBrief> {
        host::object_contents_briefs(self.0)
    }

    /// Move the object into `destination` (`None` = nowhere).
    pub fn move_to(self, destination: Option<Obj>) -> Result<(), HostError> {
        host::object_move(self.0, destination.map(|d| d.0))
    }

    /// Delete the object; its contents move to its location.
    pub fn delete(self) -> Result<(), HostError> {
        host::object_delete(self.0)
    }

    /// A persistent attribute.
    pub fn attr(self, key: &str) -> Option<String> {
        host::object_attr_get(self.0, key)
    }

    /// An attribute holding an object id (as [`Obj::parse`] reads it), e.g. an exit's `destination`.
    pub fn attr_obj(self, key: &str) -> Option<Obj> {
        self.attr(key).as_deref().and_then(Obj::parse)
    }

    /// Set a persistent attribute.
    pub fn set_attr(self, key: &str, value: impl AsRef<str>) -> Result<(), HostError> {
        host::object_attr_set(self.0, key, Some(value.as_ref()))
    }

    /// Delete a persistent attribute.
    pub fn del_attr(self, key: &str) -> Result<(), HostError> {
        host::object_attr_set(self.0, key, None)
    }

    /// Send text to every session puppeting this object (Evennia's `obj.msg`).
    pub fn msg(self, text: impl AsRef<str>) {
        host::msg_object(self.0, text)
    }

    /// Send text to everything inside this object except `exclude` (Evennia's `msg_contents`).
    pub fn msg_contents(self, text: impl AsRef<str>, exclude: &[Obj]) {
        let exclude: Vec<ObjectId> = exclude.iter().map(|o| o.0).collect();
        host::msg_contents(self.0, text, &exclude)
    }

    /// The sessions puppeting this object.
    pub fn sessions(self) -> Vec<SessionInfo> {
        host::sessions_from_puppet(self.0)
    }
}

impl fmt::Display for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An account, by database id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account(pub AccountId);

impl Account {
    /// The database id.
    pub fn id(self) -> AccountId {
        self.0
    }

    /// The account's name (empty if the account is gone).
    pub fn name(self) -> String {
        host::account_name(self.0).unwrap_or_default()
    }

    /// The characters this account owns.
    pub fn characters(self) -> Vec<Obj> {
        host::account_characters(self.0).into_iter().map(Obj).collect()
    }

    /// Whether the account is a superuser.
    pub fn is_superuser(self) -> bool {
        host::account_is_superuser(self.0)
    }

    /// The account's logged-in sessions.
    pub fn sessions(self) -> Vec<SessionInfo> {
        host::sessions_from_account(self.0)
    }

    /// A persistent attribute.
    pub fn attr(self, key: &str) -> Option<String> {
        host::account_attr_get(self.0, key)
    }

    /// Set a persistent attribute ([`HostError::NotFound`] if the account is gone).
    pub fn set_attr(self, key: &str, value: impl AsRef<str>) -> Result<(), HostError> {
        host::account_attr_set(self.0, key, Some(value.as_ref()))
    }

    /// Delete a persistent attribute ([`HostError::NotFound`] if the account is gone).
    pub fn del_attr(self, key: &str) -> Result<(), HostError> {
        host::account_attr_set(self.0, key, None)
    }

    /// Send text to every session of the account (Evennia's `account.msg`).
    pub fn msg(self, text: impl AsRef<str>) {
        host::msg_account(self.0, text)
    }
}
