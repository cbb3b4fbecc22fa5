//! Object classes (Evennia's typeclasses) on the host side: where the host calls their hooks.
//!
//! An object bound to an object-class module (`object-set-class`, kept in the world store) has
//! hooks the host calls on moves (`object-move`, `object-traverse`), looks (`object-appearance`,
//! the look after `ic`) and room messages (`msg-contents`). An object without a class costs one
//! hash lookup and no guest call; a world without classed objects not even that.
//!
//! Outcome of a failing hook (trap, deadline, memory, quota): it fails the guest call whose host
//! import ran it, so that whole call is undone as one unit and the player sees "An untrapped
//! error occurred." — a move is never half done (moved but not received, or the reverse). When
//! the host itself runs the hook (the look after `ic`), the hook alone is undone and the host
//! goes on with the default appearance.
//!
//! Bounds: hooks nest (a hook moving an object runs that move's hooks) at most
//! `objclass_max_depth` deep; a host import that would go deeper fails its call (same outcome as
//! a failing hook). One room message reaches at most `objclass_max_fanout` classed objects.

use crate::shared::ids::ObjectId;
use std::collections::HashSet;
use std::sync::Arc;

use super::Game;
use crate::server::ClassRunner;
use crate::wasm::bindings::types::HostError;

/// The attribute of an exit naming where it leads (an object id, `#` optional), as the example
/// game's exits store it.
pub const DESTINATION_ATTR: &str = "destination";

/// The object-class state of the game: the loaded classes and how deep hooks are nested now.
#[derive(Default)]
pub struct ClassState {
    /// The loaded object-class modules (replaced when modules change).
    pub runner: Option<Arc<ClassRunner>>,
    /// Hooks running now, one inside the other.
    pub depth: usize,
    /// When the hooks run by the current outermost hook point must be done: they share one
    /// `guest_deadline_ms`, so a fan-out of slow hooks cannot hold the game loop for many.
    pub budget_end: Option<std::time::Instant>,
}

/// A hook failed or went past a bound: the guest call that caused it must fail (the message is
/// for the log).
#[derive(Debug)]
pub struct HookFailed(pub String);

/// What a hook point returns: the game back, and the outcome.
pub type Hooked<T> = (Game, Result<T, HookFailed>);

/// Call one hook of `obj`'s class, if it has a loaded one (None when it has not: no call).
fn hook<R>(
    mut game: Game,
    obj: ObjectId,
    what: &'static str,
    f: impl FnOnce(
        &crate::wasm::registry::ObjectClassGuest,
        &mut crate::server::GuestStore,
    ) -> wasmtime::Result<R>,
) -> Hooked<Option<R>> {
    let Some(class) = game.world.object_class(obj).cloned() else { return (game, Ok(None)) };
    let Some(runner) = game.objclass.runner.clone().filter(|r| r.has(&class)) else {
        return (game, Ok(None));
    };
    let max = game.cfg.objclass_max_depth;
    if game.objclass.depth >= max {
        return (
            game,
            Err(HookFailed(format!(
                "{what} of #{obj} (class '{class}') would nest object-class hooks deeper than \
                 objclass_max_depth ({max})"
            ))),
        );
    }
    let now = std::time::Instant::now();
    let deadline = std::time::Duration::from_millis(game.cfg.guest_deadline_ms);
    let end = *game.objclass.budget_end.get_or_insert(now + deadline);
    let budget = end.saturating_duration_since(now);
    if budget.is_zero() {
        return (
            game,
            Err(HookFailed(format!(
                "{what} of #{obj} (class '{class}'): the hooks of one host call ran past \
                 guest_deadline_ms ({} ms)",
                deadline.as_millis()
            ))),
        );
    }
    game.objclass.depth += 1;
    let _span = tracing::debug_span!("objclass", class = %class, hook = what, %obj).entered();
    let (mut game, r) = runner.call(&class, game, budget, f);
    game.objclass.depth -= 1;
    let r = match r {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(e)) => Err(HookFailed(format!("{what} of #{obj} (class '{class}') failed: {e}"))),
    };
    (game, r)
}

/// The object was bound to its class: `at-object-creation`.
pub fn creation(game: Game, obj: ObjectId) -> Hooked<()> {
    let (game, r) =
        hook(game, obj, "at-object-creation", |g, s| g.call_at_object_creation(s, obj.get()));
    (game, r.map(|_| ()))
}

/// Move `obj` into `dest` with its hooks: the mover's `at-pre-move` may refuse (its text is the
/// error); after the move, the source's `at-object-leave` and the destination's
/// `at-object-receive`.
pub fn move_object(
    game: Game,
    obj: ObjectId,
    dest: Option<ObjectId>,
) -> Hooked<Result<(), HostError>> {
    let (game, pre) = hook(game, obj, "at-pre-move", |g, s| {
        g.call_at_pre_move(s, obj.get(), dest.map(ObjectId::get))
    });
    match pre {
        Err(e) => return (game, Err(e)),
        Ok(Some(Err(refusal))) => return (game, Ok(Err(HostError::Refused(refusal)))),
        Ok(_) => {}
    }
    let mut game = game;
    let source = game.world.object(obj).and_then(|o| o.location);
    if let Err(e) = game.world.move_object(obj, dest) {
        // A refusal (no such object, a move into itself) for the guest; a database failure ends
        // the call.
        let r = crate::wasm::bindings::store_refusal(e).map_err(|f| HookFailed(f.to_string()));
        return (game, r.map(Err));
    }
    if let Some(src) = source {
        let (g, r) = hook(game, src, "at-object-leave", |g, s| {
            g.call_at_object_leave(s, src.get(), obj.get(), dest.map(ObjectId::get))
        });
        game = g;
        if let Err(e) = r {
            return (game, Err(e));
        }
    }
    if let Some(d) = dest {
        let (g, r) = hook(game, d, "at-object-receive", |g, s| {
            g.call_at_object_receive(s, d.get(), obj.get(), source.map(ObjectId::get))
        });
        game = g;
        if let Err(e) = r {
            return (game, Err(e));
        }
    }
    (game, Ok(Ok(())))
}

/// Move `obj` through `exit` to its destination: the exit's `at-pre-traverse` may refuse, then
/// the move with its hooks, then the exit's `at-traverse`.
pub fn traverse(game: Game, obj: ObjectId, exit: ObjectId) -> Hooked<Result<(), HostError>> {
    let Some(e) = game.world.object(exit).filter(|e| e.kind == "exit") else {
        return (game, Ok(Err(HostError::Invalid(format!("#{exit} is not an exit")))));
    };
    let dest = e
        .attrs
        .get(DESTINATION_ATTR)
        .and_then(|d| d.trim().trim_start_matches('#').parse::<ObjectId>().ok())
        .filter(|d| game.world.object(*d).is_some());
    let Some(dest) = dest else {
        return (game, Ok(Err(HostError::Refused("That exit leads nowhere.".into()))));
    };
    let (game, pre) = hook(game, exit, "at-pre-traverse", |g, s| {
        g.call_at_pre_traverse(s, exit.get(), obj.get())
    });
    match pre {
        Err(e) => return (game, Err(e)),
        Ok(Some(Err(refusal))) => return (game, Ok(Err(HostError::Refused(refusal)))),
        Ok(_) => {}
    }
    let (game, moved) = move_object(game, obj, Some(dest));
    match moved {
        Ok(Ok(())) => {}
        other => return (game, other),
    }
    let (game, r) = hook(game, exit, "at-traverse", |g, s| {
        g.call_at_traverse(s, exit.get(), obj.get(), dest.get())
    });
    (game, r.map(|_| Ok(())))
}

/// What `looker` sees looking at `obj`: its class's `return-appearance` (given the default to
/// extend), or the default with no guest call.
pub fn appearance(game: Game, obj: ObjectId, looker: ObjectId) -> Hooked<String> {
    let default = default_appearance(&game, obj, looker);
    if game.world.object_class(obj).is_none() {
        return (game, Ok(default));
    }
    let (game, r) = hook(game, obj, "return-appearance", |g, s| {
        g.call_return_appearance(s, obj.get(), looker.get(), &default)
    });
    (game, r.map(|text| text.unwrap_or(default)))
}

/// A room message reaches the classed objects in `location` that are not excluded (at most
/// `objclass_max_fanout` of them, in contents order): their `at-msg-receive`.
pub fn msg_receive(
    game: Game,
    location: ObjectId,
    text: &str,
    exclude: &HashSet<ObjectId>,
    from: Option<ObjectId>,
) -> Hooked<()> {
    if !game.world.any_classes() {
        return (game, Ok(()));
    }
    let Some(room) = game.world.object(location) else { return (game, Ok(())) };
    let all: Vec<ObjectId> = room
        .contents
        .iter()
        .copied()
        .filter(|o| !exclude.contains(o) && game.world.object_class(*o).is_some())
        .collect();
    let max = game.cfg.objclass_max_fanout;
    if all.len() > max {
        tracing::warn!(
            %location,
            classed = all.len(),
            "a room message reached more classed objects than objclass_max_fanout ({max}); \
             the others do not hear it"
        );
    }
    let mut game = game;
    for o in all.into_iter().take(max) {
        let (g, r) = hook(game, o, "at-msg-receive", |g, s| {
            g.call_at_msg_receive(s, o.get(), text, from.map(ObjectId::get))
        });
        game = g;
        if let Err(e) = r {
            return (game, Err(e));
        }
    }
    (game, Ok(()))
}

/// Evennia's default `return_appearance`: the name, the description (or the default one of its
/// kind), then the exits, characters and things inside, the looker left out.
pub fn default_appearance(game: &Game, obj: ObjectId, looker: ObjectId) -> String {
    let Some(target) = game.world.object(obj) else { return format!("#{obj}") };
    let desc = target.attrs.get("desc").map(String::as_str).unwrap_or(match target.kind.as_str() {
        "room" => "This is a room.",
        "character" => "This is a character.",
        "exit" => "This is an exit.",
        _ => "You see nothing special.",
    });
    let mut text = format!("|c{}|n\n{desc}", target.key);
    let (mut exits, mut characters, mut things) = (vec![], vec![], vec![]);
    for o in game.world.contents(target).filter(|o| o.id != looker) {
        match o.kind.as_str() {
            "exit" => exits.push(o.key.as_str()),
            "character" => characters.push(o.key.as_str()),
            _ => things.push(o.key.as_str()),
        }
    }
    things.sort_unstable();
    for (label, names) in [("Exits", exits), ("Characters", characters), ("You see", things)] {
        if !names.is_empty() {
            text += &format!("\n|w{label}:|n {}", list_to_str(&names));
        }
    }
    text
}

/// "a", "a and b", "a, b, and c" (Evennia's `iter_to_str`).
fn list_to_str(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// The look after puppeting (Evennia's `at_post_puppet` → `at_look(location)`): the puppet's
/// room's appearance, sent to the session, not a `look` line through the parser (which an
/// object lending its own `look` would turn into a multimatch). A failing class hook is undone
/// alone and the default appearance shown.
pub fn post_puppet_look(mut game: Game, sessid: crate::link::Sessid) -> Game {
    let Some(puppet) = game.sessions.get(sessid).and_then(|s| s.data.puid) else { return game };
    let Some(room) = game.world.object(puppet).and_then(|o| o.location) else {
        game.msg_session(sessid, "You have no location to look at!");
        return game;
    };
    let cp = game.checkpoint();
    let (mut game, text) = appearance(game, room, puppet);
    game.objclass.budget_end = None;
    let text = match text {
        Ok(t) => {
            game.keep(cp);
            t
        }
        Err(HookFailed(why)) => {
            game.undo(cp);
            tracing::error!("object-class hook failed and was undone: {why}");
            default_appearance(&game, room, puppet)
        }
    };
    game.msg_session(sessid, &text);
    game
}

#[cfg(test)]
mod tests {
    use super::list_to_str;

    #[test]
    fn lists_read_as_evennia_writes_them() {
        assert_eq!(list_to_str(&[]), "");
        assert_eq!(list_to_str(&["a"]), "a");
        assert_eq!(list_to_str(&["a", "b"]), "a and b");
        assert_eq!(list_to_str(&["a", "b", "c"]), "a, b, and c");
    }
}
