//! Finding what a command names: the caller's character, `me`, `here` and `#dbref`, then by
//! name near the caller or anywhere (Evennia's `caller.search` and `global_search`).

use mudhost_sdk::{Invocation, Obj};

use crate::shared::check_len;

/// The character running the command (the builder cmdset is a character's).
pub(crate) fn me(inv: &Invocation) -> Result<Obj, String> {
    inv.puppet().ok_or_else(|| "You are not puppeting a character.".to_string())
}

/// `me`, `self`, `here` and `#dbref`, which every search understands.
pub(crate) fn special(me: Obj, query: &str) -> Option<Result<Obj, String>> {
    match query.to_lowercase().as_str() {
        "me" | "self" => Some(Ok(me)),
        "here" => Some(me.location().ok_or_else(|| "You have no location.".to_string())),
        q if q.starts_with('#') => Some(
            Obj::parse(q)
                .filter(|o| o.exists())
                .ok_or_else(|| format!("Could not find '{query}'.")),
        ),
        _ => None,
    }
}

/// The candidates near `me` (Evennia's `caller.search`): its room, what is in the room and what
/// it carries.
pub(crate) fn search_near(me: Obj, query: &str) -> Vec<Obj> {
    let room = me.location();
    let places: Vec<Obj> = room.into_iter().chain([me]).collect();
    let mut found = Obj::find_all(query, &places);
    if let Some(room) = room.filter(|r| r.name().eq_ignore_ascii_case(query)) {
        if !found.contains(&room) {
            found.push(room);
        }
    }
    found
}

pub(crate) fn one(query: &str, found: Vec<Obj>) -> Result<Obj, String> {
    match found[..] {
        [] => Err(format!("Could not find '{query}'.")),
        [o] => Ok(o),
        ref many => Err(Obj::multimatch_text(query, many)),
    }
}

/// One object near `me`, by name, `me`, `here` or `#dbref`.
pub(crate) fn search(me: Obj, query: &str) -> Result<Obj, String> {
    let query = query.trim();
    check_len(query)?;
    if let Some(found) = special(me, query) {
        return found;
    }
    one(query, search_near(me, query))
}

/// One object anywhere (Evennia's `global_search`): near `me` first, then the whole world.
pub(crate) fn search_global(me: Obj, query: &str) -> Result<Obj, String> {
    let query = query.trim();
    check_len(query)?;
    if let Some(found) = special(me, query) {
        return found;
    }
    let near = search_near(me, query);
    if !near.is_empty() {
        return one(query, near);
    }
    one(query, Obj::search(query, None))
}

/// A destination (of `teleport`, `open`): as [`search_global`], but a name shared by one room
/// and other things (the room `Limbo` and the exit `limbo` leading to it) means the room.
pub(crate) fn search_place(me: Obj, query: &str) -> Result<Obj, String> {
    let q = query.trim();
    check_len(q)?;
    if special(me, q).is_none() {
        let rooms: Vec<Obj> = Obj::search(q, None).into_iter().filter(|o| o.is("room")).collect();
        if let [room] = rooms[..] {
            return Ok(room);
        }
    }
    search_global(me, q)
}
