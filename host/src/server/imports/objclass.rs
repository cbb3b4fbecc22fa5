//! The object-class imports (`object-set-class`, `object-class`, `object-appearance`,
//! `object-traverse`) and the hook points inside `object-move` and `msg-contents`: the game is
//! taken out of the calling store for the hooks (`server/game/objclass.rs`) and put back. A hook
//! that fails, or a nesting past `objclass_max_depth`, ends the calling guest call with an error,
//! so the whole call is undone.

use std::collections::HashSet;

use crate::server::game::objclass::{self, HookFailed, Hooked};
use crate::server::game::Game;
use crate::shared::ids::ObjectId;
use crate::wasm::bindings::types::HostError;
use crate::wasm::bindings::{refuse_or_fail, store_failure};
use crate::wasm::HostCtx;

impl HostCtx<Game> {
    /// Run a hook point with the game taken out of the store; a failed hook fails the call.
    fn with_hooks<T>(&mut self, f: impl FnOnce(Game) -> Hooked<T>) -> wasmtime::Result<T> {
        let game = self.game.take();
        // Called from a hook, the hooks it runs share that hook point's deadline.
        let outermost = game.objclass.depth == 0;
        let (mut game, r) = f(game);
        if outermost {
            game.objclass.budget_end = None;
        }
        self.game.put(game);
        r.map_err(|HookFailed(why)| wasmtime::Error::msg(format!("object-class hook: {why}")))
    }

    /// `object-move` with the hooks (the plain move when no object has a class).
    pub(super) fn move_with_hooks(
        &mut self,
        obj: u64,
        dest: Option<u64>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        if !self.game.world.any_classes() {
            let (obj, dest) = (ObjectId::new(obj), dest.map(ObjectId::new));
            return refuse_or_fail(self.game.world.move_object(obj, dest));
        }
        self.with_hooks(|g| objclass::move_object(g, ObjectId::new(obj), dest.map(ObjectId::new)))
    }

    /// After `msg-contents` sent its text: the classed objects in the room hear it. `from` is
    /// the caller's character (none in a hook or a timer, which have no caller).
    pub(super) fn msg_receive_hooks(
        &mut self,
        location: u64,
        text: &str,
        exclude: &HashSet<ObjectId>,
    ) -> wasmtime::Result<()> {
        if !self.game.world.any_classes() {
            return Ok(());
        }
        let from = self.game.sessions.get(self.caller).and_then(|s| s.data.puid);
        self.with_hooks(|g| objclass::msg_receive(g, ObjectId::new(location), text, exclude, from))
    }

    /// `object-set-class`: the module must be a loaded object class; its `at-object-creation`
    /// runs at once.
    pub(super) fn set_class(
        &mut self,
        obj: u64,
        class: Option<String>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        if self.game.world.object(ObjectId::new(obj)).is_none() {
            return Ok(Err(HostError::NotFound(format!("no object #{obj}"))));
        }
        let Some(class) = class else {
            return refuse_or_fail(self.game.world.set_object_class(ObjectId::new(obj), None));
        };
        let known = self.game.objclass.runner.as_ref().is_some_and(|r| r.has(&class));
        if !known {
            let why = format!("'{}' is not a loaded object-class module", clip(&class));
            return Ok(Err(HostError::NotFound(why)));
        }
        // The object was checked above: only the database can fail here.
        self.game
            .world
            .set_object_class(ObjectId::new(obj), Some(&class))
            .map_err(store_failure)?;
        self.with_hooks(|g| objclass::creation(g, ObjectId::new(obj)))?;
        Ok(Ok(()))
    }

    /// `object-appearance`.
    pub(super) fn appearance(&mut self, obj: u64, looker: u64) -> wasmtime::Result<String> {
        if self.game.world.object_class(ObjectId::new(obj)).is_none() {
            return Ok(objclass::default_appearance(
                &self.game,
                ObjectId::new(obj),
                ObjectId::new(looker),
            ));
        }
        let text = self
            .with_hooks(|g| objclass::appearance(g, ObjectId::new(obj), ObjectId::new(looker)))?;
        Ok(clamp_text(text, self.quotas.text_bytes))
    }

    /// `object-traverse`.
    pub(super) fn traverse(
        &mut self,
        obj: u64,
        exit: u64,
    ) -> wasmtime::Result<Result<(), HostError>> {
        if self.game.world.object(ObjectId::new(obj)).is_none() {
            return Ok(Err(HostError::NotFound(format!("no object #{obj}"))));
        }
        self.with_hooks(|g| objclass::traverse(g, ObjectId::new(obj), ObjectId::new(exit)))
    }
}

/// A module name cut short for an error message.
fn clip(name: &str) -> String {
    name.chars().take(40).collect()
}

/// A hook's text cut to `max` bytes at a character boundary.
fn clamp_text(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
