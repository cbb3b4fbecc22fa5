//! The game state owned by the game loop: sessions, the world store, and what the current event
//! produced (outputs, syncs, disconnects, work to start off the loop). Host imports reach it
//! through [`crate::wasm::HostCtx`]; the game loop in [`super::game_loop`] drives it.
//!
//! This file holds the core: the state, the checkpoint around a guest call, output routing and
//! the session lifecycle. The rest of `Game` lives beside it: the event's journal
//! (`journal.rs`), logins and accounts (`logins.rs`), characters and puppeting
//! (`characters.rs`) under the multisession policy (`multisession.rs`), the idle sweep
//! (`idle.rs`), cmdset providers and permissions (`providers.rs`), object locks (`locks.rs`),
//! the object-class hook points (`objclass.rs`).
//!
//! Texts are Evennia's (see EVENNIA-REFERENCE.md §6).

use crate::shared::ids::{AccountId, ObjectId};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::link::{Effects, Msg, Sessid, SessionData};
use crate::store::{Savepoint, WorldStore};

use super::now_ms;
use super::session::SessionHandler;
use super::throttle::Throttles;

mod characters;
mod exec_queue;
mod idle;
mod journal;
pub mod locks;
mod logins;
mod multisession;
pub mod objclass;
mod providers;

pub use characters::validate_character_name;
pub use exec_queue::{ExecQueue, Runner};
pub use idle::{IdleClock, IDLE_TIMEOUT_REASON};
pub use journal::{
    ClassEvent, Deferred, Journal, JournalMark, QueuedCommand, MAX_OUTPUTS_PER_EVENT,
};
pub use logins::{Logins, LoginsMark};
pub use multisession::{Multisession, SharedPuppet};
pub use providers::{CmdsetHolder, ProviderModules};

/// Evennia's reason for closing the older sessions of an account (mode 0, or on request).
pub const DUPLICATE_REASON: &str = "Logged in from elsewhere. Disconnecting.";
/// Evennia's default reason of `disconnect_all_sessions`.
pub const DISCONNECT_ALL_REASON: &str = "You have been disconnected.";

/// All game state. Moved into a guest call's store and back, so no locks are needed.
pub struct Game {
    /// Configuration.
    pub cfg: Arc<Config>,
    /// Connected sessions.
    pub sessions: SessionHandler,
    /// Accounts and objects.
    pub world: WorldStore,
    /// Lines describing loaded modules and load errors (for the `modules` admin command).
    pub module_report: Vec<String>,
    /// Names of loaded modules (to validate session cmdset additions).
    pub loaded_modules: BTreeSet<String>,
    /// What the current event has produced so far (outputs, syncs, acks, deferred work, queued
    /// commands, session-class events: these only when a `session_class` is configured).
    journal: Journal,
    /// Login and account-creation checks in flight, and their throttles.
    logins: Logins,
    /// When each session last ran a visible command.
    idle: IdleClock,
    /// The merged cmdset of the session a guest call runs for (a command, or a hook called for a
    /// session), for `caller-commands`.
    pub current_cmdset: Option<Arc<crate::cmd::CmdSet>>,
    /// The prototypes folder, for the building imports (`server/prototypes.rs`).
    pub prototypes: super::prototypes::Prototypes,
    /// The help folder's topics, re-read as its files change (`help-topics`).
    pub help: super::help::HelpCache,
    /// Command lines queued by `execute-cmd` and the unit running them.
    pub exec: ExecQueue,
    /// Object classes: the loaded class modules and the hooks' nesting (`server/game/objclass.rs`).
    pub objclass: objclass::ClassState,
}

/// What [`Game::checkpoint`] remembers, so that a failed guest call can be undone entirely.
pub struct Checkpoint {
    world: Option<Savepoint>,
    journal: JournalMark,
    logins: LoginsMark,
    exec_pending: usize,
}

impl Game {
    /// Remember the state before a guest call: world (a database savepoint plus an undo log),
    /// sessions (a journal), and everything the event has produced so far.
    pub fn checkpoint(&mut self) -> Checkpoint {
        let world = self
            .world
            .savepoint()
            .map_err(|e| tracing::error!(cause = %e, "cannot open a savepoint; this call cannot be undone"))
            .ok();
        self.sessions.begin_journal();
        Checkpoint {
            world,
            journal: self.journal.mark(),
            logins: self.logins.mark(),
            exec_pending: self.exec.pending_len(),
        }
    }

    /// The guest call succeeded: keep what it did.
    pub fn keep(&mut self, cp: Checkpoint) {
        self.sessions.commit_journal();
        if let Some(sp) = cp.world {
            if let Err(e) = self.world.release(sp) {
                tracing::error!(cause = %e, "cannot release a savepoint");
            }
        }
    }

    /// The guest call failed: undo its world changes, session changes, output, disconnects and
    /// requested work, as if it had never run.
    pub fn undo(&mut self, cp: Checkpoint) {
        self.sessions.rollback_journal();
        if let Some(sp) = cp.world {
            if let Err(e) = self.world.rollback_to(sp) {
                tracing::error!(cause = %e, "cannot roll back a failed call's database writes");
            }
        }
        self.journal.undo(cp.journal);
        self.logins.undo(cp.logins);
        self.exec.truncate(cp.exec_pending);
    }

    /// Whether the ack of the input being processed is still held (false: a deferred job, such
    /// as a password check, took it and completes the input later).
    pub fn ack_is_held(&self) -> bool {
        self.journal.ack_is_held()
    }

    /// A game with no sessions over an opened world.
    pub fn new(cfg: Arc<Config>, world: WorldStore) -> Game {
        let throttles = Throttles::new(&cfg, &world);
        let prototypes = super::prototypes::Prototypes::new(&cfg);
        Game {
            cfg,
            sessions: SessionHandler::default(),
            world,
            module_report: vec![],
            loaded_modules: BTreeSet::new(),
            journal: Journal::default(),
            logins: Logins::new(throttles),
            idle: IdleClock::default(),
            current_cmdset: None,
            prototypes,
            help: Default::default(),
            exec: Default::default(),
            objclass: Default::default(),
        }
    }

    // --- event bookkeeping (used by the game loop) ------------------------------------------

    /// Start processing an input whose ack is `ack`.
    pub fn hold_ack(&mut self, ack: (Sessid, u64)) {
        self.journal.hold_ack(ack);
    }

    /// The input being processed is complete: its ack joins the effects (unless a deferred job
    /// took it to complete the input later).
    pub fn release_ack(&mut self) {
        self.journal.release_ack();
    }

    /// Everything the current event produced, ready to send as one frame.
    pub fn take_effects(&mut self) -> Effects {
        self.journal.take_effects(&self.sessions)
    }

    /// Add an ack completed by a deferred job.
    pub fn push_ack(&mut self, ack: Option<(Sessid, u64)>) {
        self.journal.push_ack(ack);
    }

    /// Ask the portal for a reload with the current event's effects (see [`Effects::reload`]).
    pub fn request_reload_effect(&mut self, reason: String, by: Sessid) {
        self.journal.request_reload(reason, by);
    }

    /// Work to start off the loop.
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        self.journal.take_deferred()
    }

    /// The commands the host queued to run on sessions' behalf, in order.
    pub fn take_queued(&mut self) -> Vec<(Sessid, QueuedCommand)> {
        self.journal.take_queued()
    }

    /// Queue a command to run for a session after the current call.
    pub fn queue_command(&mut self, sessid: Sessid, cmd: QueuedCommand) {
        self.journal.queue_command(sessid, cmd);
    }

    /// Mark a session's sync data as changed.
    pub fn touch(&mut self, sessid: Sessid) {
        self.journal.touch(sessid);
    }

    /// Mark a session's command counters as changed: sent on their own, unless something else
    /// of the session changed in the same event (then its whole sync data goes).
    pub fn touch_counters(&mut self, sessid: Sessid) {
        self.journal.touch_counters(sessid);
    }

    /// Queue a lifecycle event for the session class, if one is configured, with the place in
    /// the event's output where it happened (what the hook sends goes there: an `at-login` text
    /// comes before the puppeting texts that followed the login, as in Evennia).
    fn class_event(&mut self, sessid: Sessid, event: ClassEvent) {
        if !self.cfg.session_class.is_empty() {
            self.journal.class_event(sessid, event);
        }
    }

    /// The session-class events queued so far, oldest first, with their output positions.
    pub fn take_class_events(&mut self) -> Vec<(Sessid, ClassEvent, usize)> {
        self.journal.take_class_events()
    }

    // --- output -----------------------------------------------------------------------------

    /// Send one message to a session.
    pub fn send(&mut self, sessid: Sessid, msg: Msg) {
        if self.sessions.get(sessid).is_none() {
            return;
        }
        self.journal.push_output(sessid, msg);
    }

    /// Send text to a session.
    pub fn msg_session(&mut self, sessid: Sessid, text: &str) {
        self.send(sessid, Msg::text(text));
    }

    /// Send text to every session of an account.
    pub fn msg_account(&mut self, uid: AccountId, text: &str) {
        let ids: Vec<_> = self.sessions.from_account(uid).map(|s| s.sessid()).collect();
        for id in ids {
            self.msg_session(id, text);
        }
    }

    /// Send text to every session puppeting an object.
    pub fn msg_object(&mut self, obj: ObjectId, text: &str) {
        let ids: Vec<_> = self.sessions.from_puppet(obj).map(|s| s.sessid()).collect();
        for id in ids {
            self.msg_session(id, text);
        }
    }

    /// Send text to everything in `location` except `exclude`.
    pub fn msg_contents(&mut self, location: ObjectId, text: &str, exclude: &[ObjectId]) {
        let exclude: std::collections::HashSet<ObjectId> = exclude.iter().copied().collect();
        for id in self.contents_recipients(location, &exclude) {
            self.msg_session(id, text);
        }
    }

    /// The sessions puppeting an object inside `location` that is not in `exclude`. Only puppeted
    /// objects receive text, so one pass over the sessions does it: the cost does not grow with
    /// the room's contents or the exclusion list (a scan of the contents per session did).
    pub fn contents_recipients(
        &self,
        location: ObjectId,
        exclude: &std::collections::HashSet<ObjectId>,
    ) -> Vec<Sessid> {
        self.sessions
            .all(true)
            .filter(|s| {
                s.data.puid.is_some_and(|p| {
                    !exclude.contains(&p)
                        && self.world.object(p).is_some_and(|o| o.location == Some(location))
                })
            })
            .map(|s| s.sessid())
            .collect()
    }

    /// Send text to every session, logged in or not.
    pub fn announce_all(&mut self, text: &str) {
        for id in self.sessions.ids() {
            self.msg_session(id, text);
        }
    }

    /// Move the outputs queued from position `from` on to position `to` (`to <= from`).
    pub fn move_outputs(&mut self, from: usize, to: usize) {
        self.journal.move_outputs(from, to);
    }

    /// Number of outbound messages the current event has queued.
    pub fn outputs_len(&self) -> usize {
        self.journal.outputs_len()
    }

    /// Take the outbound messages queued from position `from` on (for `data-out`).
    pub fn split_outputs(&mut self, from: usize) -> Vec<(Sessid, Msg)> {
        self.journal.split_outputs(from)
    }

    /// Put back outbound messages of a session after `data-out`. Unlike [`Game::send`] this does
    /// not require the session to still exist: messages queued before a disconnect in the same
    /// event (a "Goodbye") are still delivered, as they would be without a session class.
    pub fn push_outputs(&mut self, sessid: Sessid, msgs: Vec<Msg>) {
        for m in msgs {
            self.journal.push_output(sessid, m);
        }
    }

    // --- session lifecycle ------------------------------------------------------------------

    /// A new connection (Evennia's portal_connect): show the connection screen.
    pub fn connect(&mut self, mut data: SessionData) {
        let sessid = data.sessid;
        let cap = self.cfg.session_flag_value_bytes;
        if super::protocol_flags::bound_flags(&mut data.protocol_flags, cap) {
            self.touch(sessid);
        }
        tracing::info!(%sessid, address = %data.address, "session connected");
        self.idle.seen(sessid, Instant::now());
        self.sessions.insert(data);
        self.class_event(sessid, ClassEvent::Sync);
        self.queue_command(
            sessid,
            QueuedCommand::System { key: "__unloggedin_look_command", fallback: "look" },
        );
    }

    /// Restore a session after a server restart (Evennia's at_sync): no hooks, no texts.
    pub fn restore(&mut self, mut data: SessionData) {
        if let Some(p) = data.puid {
            if self.world.object(p).is_none() {
                // The puppet was deleted while the server was away: the session goes OOC.
                data.puid = None;
                self.touch(data.sessid);
            }
        }
        if data.logged_in && data.uid.and_then(|u| self.world.account(u)).is_none() {
            data.logged_in = false;
            data.uid = None;
            data.uname = None;
            data.puid = None;
            self.touch(data.sessid);
        }
        let sessid = data.sessid;
        if super::protocol_flags::bound_flags(
            &mut data.protocol_flags,
            self.cfg.session_flag_value_bytes,
        ) {
            self.touch(sessid);
        }
        // Idle since: the wall-clock idleness handed over, but never more than the timeout (a
        // clock step during the restart cannot make it longer than a session idle all along).
        let timeout = Duration::from_secs(self.cfg.idle_timeout_secs);
        let idle = Duration::from_millis(now_ms().saturating_sub(data.cmd_last_visible));
        self.idle.restore(sessid, idle, timeout, Instant::now());
        self.sessions.insert(data);
        self.class_event(sessid, ClassEvent::Sync);
    }

    /// A session ran a visible command (not the keepalive): it is not idle.
    pub fn seen_active(&mut self, sessid: Sessid) {
        self.idle.seen(sessid, Instant::now());
    }

    /// Disconnect a session from the server side, telling the player `reason`.
    pub fn disconnect(&mut self, sessid: Sessid, reason: &str) {
        if self.sessions.get(sessid).is_none() {
            return;
        }
        // A server-side disconnect is deliberate (quit, takeover, admin): Evennia's room text
        // has no "(connection lost)".
        self.at_disconnect(sessid, reason, "");
        self.journal.push_disconnect(sessid, reason.to_string());
    }

    /// The client went away (PDISCONN).
    pub fn portal_disconnect(&mut self, sessid: Sessid) {
        if self.sessions.get(sessid).is_some() {
            self.at_disconnect(sessid, "", " (connection lost)");
        }
    }

    /// `leave` is what the room hears after "X has left the game".
    fn at_disconnect(&mut self, sessid: Sessid, reason: &str, leave: &str) {
        let _ = self.unpuppet_quietly(sessid, leave);
        self.idle.forget(sessid);
        if let Some(s) = self.sessions.remove(sessid) {
            self.journal.forget(sessid);
            self.logins.forget(sessid);
            self.class_event(
                sessid,
                ClassEvent::Disconnect { session: Box::new(s.clone()), reason: reason.to_string() },
            );
            if let (true, Some(name)) = (s.data.logged_in, &s.data.uname) {
                let uid = s.data.uid.unwrap_or(AccountId::new(0));
                let left = self.sessions.from_account(uid).count();
                tracing::info!(
                    %sessid,
                    "Logged out: {name} {} ({left} sessions(s) remaining){}",
                    s.data.address,
                    if reason.is_empty() { String::new() } else { format!(" ({reason})") }
                );
            }
        }
    }

    /// Set or delete a value on a session's ndb.
    pub fn ndb_set(&mut self, sessid: Sessid, key: String, value: Option<String>) {
        if let Some(s) = self.sessions.get_mut(sessid) {
            match value {
                Some(v) => s.data.ndb.insert(key, v),
                None => s.data.ndb.remove(&key),
            };
            self.touch(sessid);
        }
    }

    /// Add a loaded module's cmdset to a session (persists across server restarts).
    pub fn session_cmdset_add(&mut self, sessid: Sessid, module: String) -> Result<(), String> {
        if !self.loaded_modules.contains(&module) {
            return Err(format!("No module named '{module}' is loaded."));
        }
        let s = self.sessions.get_mut(sessid).ok_or("No calling session.")?;
        if !s.data.cmdset_storage.contains(&module) {
            s.data.cmdset_storage.push(module);
            self.touch(sessid);
            self.world.bump_cmdset_generation();
        }
        Ok(())
    }

    /// Remove a cmdset added with [`Game::session_cmdset_add`].
    pub fn session_cmdset_remove(&mut self, sessid: Sessid, module: &str) -> Result<(), String> {
        let s = self.sessions.get_mut(sessid).ok_or("No calling session.")?;
        let before = s.data.cmdset_storage.len();
        s.data.cmdset_storage.retain(|m| m != module);
        if s.data.cmdset_storage.len() == before {
            return Err(format!("The session has no cmdset from '{module}'."));
        }
        self.touch(sessid);
        self.world.bump_cmdset_generation();
        Ok(())
    }

    // --- server -----------------------------------------------------------------------------

    /// Ask for a server reload (superusers only).
    pub fn request_reload(&mut self, sessid: Sessid, reason: String) -> Result<(), String> {
        let superuser = self
            .sessions
            .get(sessid)
            .and_then(|s| s.data.uid)
            .and_then(|u| self.world.account(u))
            .is_some_and(|a| a.is_superuser);
        if !superuser {
            return Err("Only a superuser may reload the server.".into());
        }
        self.journal.defer(Deferred::Reload { reason, by: sessid });
        Ok(())
    }
}

/// Session-handler operations guests reach through the host API, each with its permission check,
/// and the character rules of the multisession policy (MAX_NR_CHARACTERS).
impl Game {
    /// The account a session is logged in to.
    fn account_of(&self, sessid: Sessid) -> Option<AccountId> {
        self.sessions.get(sessid).filter(|s| s.data.logged_in).and_then(|s| s.data.uid)
    }

    /// Whether a session is logged in to a superuser (our only admin permission).
    pub fn is_admin(&self, sessid: Sessid) -> bool {
        self.account_of(sessid).and_then(|u| self.world.account(u)).is_some_and(|a| a.is_superuser)
    }

    /// Disconnect `target` on behalf of `caller`: a session may close itself or its own
    /// account's sessions; another account's session needs an admin.
    pub fn disconnect_checked(
        &mut self,
        caller: Sessid,
        target: Sessid,
        reason: &str,
    ) -> Result<(), String> {
        let Some(t) = self.sessions.get(target) else {
            return Err(format!("No session with id {target}."));
        };
        let own = target == caller
            || (t.data.logged_in && t.data.uid.is_some() && t.data.uid == self.account_of(caller));
        if !own && !self.is_admin(caller) {
            return Err("You may not disconnect another account's session.".into());
        }
        self.disconnect(target, reason);
        Ok(())
    }

    /// Disconnect every session (Evennia's disconnect_all_sessions); admins only.
    pub fn disconnect_all(&mut self, caller: Sessid, reason: &str) -> Result<(), String> {
        if !self.is_admin(caller) {
            return Err("Only a superuser may disconnect everyone.".into());
        }
        let reason = if reason.is_empty() { DISCONNECT_ALL_REASON } else { reason };
        for id in self.sessions.ids() {
            self.disconnect(id, reason);
        }
        Ok(())
    }

    /// Disconnect the other logged-in sessions of `sessid`'s account (compared by sessid, not by
    /// address as Evennia does); returns how many were closed.
    pub fn disconnect_duplicates(&mut self, sessid: Sessid, reason: &str) -> u32 {
        let Some(uid) = self.account_of(sessid) else { return 0 };
        let reason = if reason.is_empty() { DUPLICATE_REASON } else { reason };
        let others: Vec<_> = self
            .sessions
            .from_account(uid)
            .map(|s| s.sessid())
            .filter(|&id| id != sessid)
            .collect();
        for &other in &others {
            self.disconnect(other, reason);
        }
        others.len() as u32
    }

    /// Accounts with at least one logged-in session (Evennia's all_connected_accounts).
    pub fn all_connected_accounts(&self) -> Vec<AccountId> {
        let ids: BTreeSet<AccountId> =
            self.sessions.all(false).filter_map(|s| s.data.uid).collect();
        ids.into_iter().collect()
    }

    /// A session's full sync data as JSON: the caller's own account's sessions, or any for an
    /// admin.
    pub fn session_data(&self, caller: Sessid, target: Sessid) -> Result<String, String> {
        let t = self.sessions.get(target).ok_or_else(|| format!("No session with id {target}."))?;
        let own =
            target == caller || (t.data.uid.is_some() && t.data.uid == self.account_of(caller));
        if !own && !self.is_admin(caller) {
            return Err("You may only inspect your own sessions.".into());
        }
        serde_json::to_string(&t.data).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A game over a fresh database (kept while the returned folder lives), in an event's
    /// transaction as the game loop runs it.
    pub(in crate::server::game) fn game_with(cfg: Config) -> (tempfile::TempDir, Game) {
        let dir = tempfile::tempdir().unwrap();
        let mut world = WorldStore::open(&dir.path().join("w.db")).unwrap();
        world.begin().unwrap();
        (dir, Game::new(Arc::new(cfg), world))
    }

    /// A new connection from `address`, its connection-screen command dropped.
    pub(in crate::server::game) fn connect(game: &mut Game, sessid: Sessid, address: &str) {
        game.connect(SessionData {
            sessid,
            address: address.into(),
            protocol_key: "websocket".into(),
            ..Default::default()
        });
        game.take_queued();
    }

    /// An account (with its character, as the config says) created from session `sessid`
    /// after its password was hashed; its id.
    pub(in crate::server::game) fn account(
        game: &mut Game,
        sessid: Sessid,
        name: &str,
    ) -> AccountId {
        game.finish_create_account(sessid, name, Ok("hash".into()));
        game.world.account_by_name(name).expect("the account was created").id
    }

    /// The texts of the event's outputs, per session.
    pub(in crate::server::game) fn texts(effects: &Effects) -> Vec<(Sessid, String)> {
        effects.outputs.iter().filter_map(|(s, m)| Some((*s, m.first_str()?.to_string()))).collect()
    }

    #[test]
    fn undo_takes_back_a_failed_calls_output_world_changes_and_login_request() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        game.hold_ack((Sessid::new(1), 1));
        game.msg_session(Sessid::new(1), "before");
        let cp = game.checkpoint();
        game.msg_session(Sessid::new(1), "during");
        let room = game.world.create_object("shed", "room", None).unwrap();
        game.request_create_account(Sessid::new(1), "alice", "password1".into()).unwrap();
        assert!(!game.ack_is_held(), "the hashing job took the ack");
        game.undo(cp);
        assert!(game.world.object(room).is_none());
        assert!(game.take_deferred().is_empty());
        assert!(game.ack_is_held());
        let effects = game.take_effects();
        assert_eq!(texts(&effects), vec![(Sessid::new(1), "before".to_string())]);
        assert_eq!(effects.acks, vec![(Sessid::new(1), 1)]);
        // The creation attempt was forgotten too: nothing is pending for the address.
        assert_eq!(game.logins.pending_from(false, "10.0.0.1"), 0);
    }

    #[test]
    fn keep_keeps_a_calls_output_and_world_changes() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        let cp = game.checkpoint();
        game.msg_session(Sessid::new(1), "kept");
        let room = game.world.create_object("shed", "room", None).unwrap();
        game.keep(cp);
        assert!(game.world.object(room).is_some());
        assert_eq!(texts(&game.take_effects()), vec![(Sessid::new(1), "kept".to_string())]);
    }

    #[test]
    fn output_to_a_session_that_is_gone_is_dropped() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        game.portal_disconnect(Sessid::new(1));
        game.msg_session(Sessid::new(1), "lost");
        game.push_outputs(Sessid::new(1), vec![Msg::text("goodbye")]);
        assert_eq!(texts(&game.take_effects()), vec![(Sessid::new(1), "goodbye".to_string())]);
    }
}
