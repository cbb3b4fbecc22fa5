//! The game state owned by the game loop: sessions, the world store, and what the current event
//! produced (outputs, syncs, disconnects, work to start off the loop). Host imports reach it
//! through [`crate::wasm::HostCtx`]; the game loop in [`super::game_loop`] drives it.
//!
//! Texts are Evennia's (see EVENNIA-REFERENCE.md §6).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::link::{Effects, Msg, Sessid, SessionData};
use crate::store::{Savepoint, WorldStore, OWNER_ATTR};

use super::now_ms;
use super::session::SessionHandler;
use super::throttle::{Throttles, CREATION_THROTTLE_TEXT, LOGIN_THROTTLE_TEXT};

mod providers;

pub use providers::{ClassEvent, CmdsetHolder, ProviderModules};

/// Most outbound messages one game event may produce; more are dropped with a log line so a
/// runaway guest cannot flood memory.
const MAX_OUTPUTS_PER_EVENT: usize = 20_000;

/// Evennia's reason for closing the older sessions of an account (mode 0, or on request).
pub const DUPLICATE_REASON: &str = "Logged in from elsewhere. Disconnecting.";
/// Evennia's default reason of `disconnect_all_sessions`.
pub const DISCONNECT_ALL_REASON: &str = "You have been disconnected.";

/// Work the game loop starts off-loop after the current guest call.
#[derive(Debug)]
pub enum Deferred {
    /// Verify a password (argon2id) for a login; `account` None means the name is unknown and a
    /// dummy hash is checked so both cases take the same time.
    CheckPassword {
        sessid: Sessid,
        account: Option<u64>,
        hash: Option<String>,
        password: String,
        ack: Option<(Sessid, u64)>,
    },
    /// Hash a new account's password.
    HashPassword { sessid: Sessid, name: String, password: String, ack: Option<(Sessid, u64)> },
    /// Check an account's old password and hash its new one (the `password` command).
    /// `invalid` is the refusal of the new password, told only if the old one is right.
    ChangePassword {
        sessid: Sessid,
        uid: u64,
        hash: String,
        old: String,
        new: String,
        invalid: Option<String>,
        ack: Option<(Sessid, u64)>,
    },
    /// Ask the portal to restart the server.
    Reload { reason: String, by: Sessid },
}

/// A command the host runs on a session's behalf after the current call (connection screen,
/// look after puppeting).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueuedCommand {
    /// A system command by key, e.g. `__unloggedin_look_command`, falling back to `fallback`.
    System { key: &'static str, fallback: &'static str },
    /// A command line, as if typed.
    Line(String),
    /// The look after puppeting: the room's appearance (`server/objclass.rs`), not a parsed line.
    PuppetLook,
}

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
    effects: Effects,
    dirty: BTreeSet<Sessid>,
    /// Sessions whose command counters alone changed in the current event.
    counted: BTreeSet<Sessid>,
    deferred: Vec<Deferred>,
    queued: Vec<(Sessid, QueuedCommand)>,
    /// Ack of the input being processed; moves into a deferred job that completes it later.
    held_ack: Option<(Sessid, u64)>,
    auth_pending: BTreeSet<Sessid>,
    /// Login and creation attempts accepted for checking and not completed yet, per session.
    /// A throttle counts them with its stored records; each is stored (or not) with its
    /// completion, in the transaction that acknowledges its input, so a crash in between
    /// neither loses nor doubles it (the replayed input makes it again).
    attempts: BTreeMap<Sessid, Attempt>,
    throttles: Throttles,
    /// When each session last ran a visible command, on the monotonic clock: idleness must
    /// not follow steps of the wall clock (`cmd_last_visible` is wall time, for guests).
    last_visible: HashMap<Sessid, Instant>,
    dropped_outputs: usize,
    /// Session lifecycle events for the session class, run by the game loop after the call that
    /// caused them (only collected when a `session_class` is configured).
    class_events: Vec<(Sessid, ClassEvent, usize)>,
    /// The merged cmdset of the session a guest call runs for (a command, or a hook called for a
    /// session), for `caller-commands`.
    pub current_cmdset: Option<Arc<crate::cmd::CmdSet>>,
    /// The prototypes folder, for the building imports (`server/prototypes.rs`).
    pub prototypes: super::prototypes::Prototypes,
    /// The help folder's topics, re-read as its files change (`help-topics`).
    pub help: super::help::HelpCache,
    /// Command lines queued by `execute-cmd` and the unit running them.
    pub exec: super::execute::ExecQueue,
    /// Object classes: the loaded class modules and the hooks' nesting (`server/objclass.rs`).
    pub objclass: super::objclass::ClassState,
}

/// A login or account creation being checked off the loop (see `Game::attempts`).
#[derive(Debug, Clone)]
struct Attempt {
    login: bool,
    address: String,
    /// The account a login names, if it exists (for the per-account throttle).
    account: Option<u64>,
}

/// What [`Game::checkpoint`] remembers, so that a failed guest call can be undone entirely.
pub struct Checkpoint {
    world: Option<Savepoint>,
    outputs: usize,
    disconnects: usize,
    deferred: usize,
    queued: usize,
    held_ack: Option<(Sessid, u64)>,
    auth_pending: BTreeSet<Sessid>,
    attempts: BTreeMap<Sessid, Attempt>,
    dropped_outputs: usize,
    class_events: usize,
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
            outputs: self.effects.outputs.len(),
            disconnects: self.effects.disconnects.len(),
            deferred: self.deferred.len(),
            queued: self.queued.len(),
            held_ack: self.held_ack,
            auth_pending: self.auth_pending.clone(),
            attempts: self.attempts.clone(),
            dropped_outputs: self.dropped_outputs,
            class_events: self.class_events.len(),
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
        self.effects.outputs.truncate(cp.outputs);
        self.effects.disconnects.truncate(cp.disconnects);
        self.deferred.truncate(cp.deferred);
        self.queued.truncate(cp.queued);
        self.held_ack = cp.held_ack;
        self.auth_pending = cp.auth_pending;
        self.attempts = cp.attempts;
        self.dropped_outputs = cp.dropped_outputs;
        self.class_events.truncate(cp.class_events);
        self.exec.truncate(cp.exec_pending);
    }

    /// Whether the ack of the input being processed is still held (false: a deferred job, such
    /// as a password check, took it and completes the input later).
    pub fn ack_is_held(&self) -> bool {
        self.held_ack.is_some()
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
            effects: Effects::default(),
            dirty: BTreeSet::new(),
            counted: BTreeSet::new(),
            deferred: vec![],
            queued: Vec::new(),
            held_ack: None,
            auth_pending: BTreeSet::new(),
            attempts: BTreeMap::new(),
            throttles,
            last_visible: HashMap::new(),
            dropped_outputs: 0,
            class_events: Vec::new(),
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
        self.held_ack = Some(ack);
    }

    /// The input being processed is complete: its ack joins the effects (unless a deferred job
    /// took it to complete the input later).
    pub fn release_ack(&mut self) {
        if let Some(ack) = self.held_ack.take() {
            self.effects.acks.push(ack);
        }
    }

    /// Everything the current event produced, ready to send as one frame.
    pub fn take_effects(&mut self) -> Effects {
        if let Some(ack) = self.held_ack.take() {
            self.effects.acks.push(ack);
        }
        let dirty = std::mem::take(&mut self.dirty);
        for sessid in std::mem::take(&mut self.counted) {
            if let Some(s) = self.sessions.get(sessid).filter(|_| !dirty.contains(&sessid)) {
                self.effects.counters.push(crate::link::SessionCounters::of(&s.data));
            }
        }
        for sessid in dirty {
            if let Some(s) = self.sessions.get(sessid) {
                self.effects.syncs.push(s.data.clone());
            }
        }
        if self.dropped_outputs > 0 {
            tracing::warn!(
                dropped = self.dropped_outputs,
                "outputs over the per-event cap were dropped"
            );
            self.dropped_outputs = 0;
        }
        std::mem::take(&mut self.effects)
    }

    /// Add an ack completed by a deferred job.
    pub fn push_ack(&mut self, ack: Option<(Sessid, u64)>) {
        if let Some(ack) = ack {
            self.effects.acks.push(ack);
        }
    }

    /// Ask the portal for a reload with the current event's effects (see [`Effects::reload`]).
    pub fn request_reload_effect(&mut self, reason: String, by: Sessid) {
        self.effects.reload = Some(reason);
        self.effects.reload_by = Some(by);
    }

    /// Work to start off the loop.
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }

    /// The commands the host queued to run on sessions' behalf, in order.
    pub fn take_queued(&mut self) -> Vec<(Sessid, QueuedCommand)> {
        std::mem::take(&mut self.queued)
    }

    /// Queue a command to run for a session after the current call.
    pub fn queue_command(&mut self, sessid: Sessid, cmd: QueuedCommand) {
        self.queued.push((sessid, cmd));
    }

    /// Mark a session's sync data as changed.
    pub fn touch(&mut self, sessid: Sessid) {
        self.dirty.insert(sessid);
    }

    /// Mark a session's command counters as changed: sent on their own, unless something else
    /// of the session changed in the same event (then its whole sync data goes).
    pub fn touch_counters(&mut self, sessid: Sessid) {
        self.counted.insert(sessid);
    }

    // --- output -----------------------------------------------------------------------------

    /// Send one message to a session.
    pub fn send(&mut self, sessid: Sessid, msg: Msg) {
        if self.sessions.get(sessid).is_none() {
            return;
        }
        if self.effects.outputs.len() >= MAX_OUTPUTS_PER_EVENT {
            self.dropped_outputs += 1;
            return;
        }
        self.effects.outputs.push((sessid, msg));
    }

    /// Send text to a session.
    pub fn msg_session(&mut self, sessid: Sessid, text: &str) {
        self.send(sessid, Msg::text(text));
    }

    /// Send text to every session of an account.
    pub fn msg_account(&mut self, uid: u64, text: &str) {
        let ids: Vec<_> = self.sessions.from_account(uid).map(|s| s.sessid()).collect();
        for id in ids {
            self.msg_session(id, text);
        }
    }

    /// Send text to every session puppeting an object.
    pub fn msg_object(&mut self, obj: u64, text: &str) {
        let ids: Vec<_> = self.sessions.from_puppet(obj).map(|s| s.sessid()).collect();
        for id in ids {
            self.msg_session(id, text);
        }
    }

    /// Send text to everything in `location` except `exclude`.
    pub fn msg_contents(&mut self, location: u64, text: &str, exclude: &[u64]) {
        let exclude: std::collections::HashSet<u64> = exclude.iter().copied().collect();
        for id in self.contents_recipients(location, &exclude) {
            self.msg_session(id, text);
        }
    }

    /// The sessions puppeting an object inside `location` that is not in `exclude`. Only puppeted
    /// objects receive text, so one pass over the sessions does it: the cost does not grow with
    /// the room's contents or the exclusion list (a scan of the contents per session did).
    pub fn contents_recipients(
        &self,
        location: u64,
        exclude: &std::collections::HashSet<u64>,
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

    // --- session lifecycle ------------------------------------------------------------------

    /// A new connection (Evennia's portal_connect): show the connection screen.
    pub fn connect(&mut self, mut data: SessionData) {
        let sessid = data.sessid;
        let cap = self.cfg.session_flag_value_bytes;
        if super::inputfuncs::bound_flags(&mut data.protocol_flags, cap) {
            self.touch(sessid);
        }
        tracing::info!(sessid, address = %data.address, "session connected");
        self.last_visible.insert(sessid, Instant::now());
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
        if super::inputfuncs::bound_flags(
            &mut data.protocol_flags,
            self.cfg.session_flag_value_bytes,
        ) {
            self.touch(sessid);
        }
        // Idle since: the wall-clock idleness handed over, but never more than the timeout (a
        // clock step during the restart cannot make it longer than a session idle all along).
        let timeout = Duration::from_secs(self.cfg.idle_timeout_secs);
        let idle = Duration::from_millis(now_ms().saturating_sub(data.cmd_last_visible));
        let now = Instant::now();
        self.last_visible.insert(sessid, now.checked_sub(idle.min(timeout)).unwrap_or(now));
        self.sessions.insert(data);
        self.class_event(sessid, ClassEvent::Sync);
    }

    /// A session ran a visible command (not the keepalive): it is not idle.
    pub fn seen_active(&mut self, sessid: Sessid) {
        self.last_visible.insert(sessid, Instant::now());
    }

    /// Disconnect a session from the server side, telling the player `reason`.
    pub fn disconnect(&mut self, sessid: Sessid, reason: &str) {
        if self.sessions.get(sessid).is_none() {
            return;
        }
        // A server-side disconnect is deliberate (quit, takeover, admin): Evennia's room text
        // has no "(connection lost)".
        self.at_disconnect(sessid, reason, "");
        self.effects.disconnects.push((sessid, reason.to_string()));
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
        self.last_visible.remove(&sessid);
        if let Some(s) = self.sessions.remove(sessid) {
            self.dirty.remove(&sessid);
            self.counted.remove(&sessid);
            self.auth_pending.remove(&sessid);
            self.class_event(
                sessid,
                ClassEvent::Disconnect { session: Box::new(s.clone()), reason: reason.to_string() },
            );
            if let (true, Some(name)) = (s.data.logged_in, &s.data.uname) {
                let uid = s.data.uid.unwrap_or(0);
                let left = self.sessions.from_account(uid).count();
                tracing::info!(
                    sessid,
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

    // --- accounts -----------------------------------------------------------------------------

    /// Validate a new account and start hashing its password off the loop.
    pub fn request_create_account(
        &mut self,
        sessid: Sessid,
        name: &str,
        password: String,
    ) -> Result<(), String> {
        let name = name.trim();
        let s = self.sessions.get(sessid).ok_or("No calling session.")?;
        if s.data.logged_in {
            return Err("You are already logged in.".into());
        }
        validate_account_name(name, self.cfg.max_name_chars)?;
        if password.chars().count() < 8 {
            return Err("This password is too short. It must contain at least 8 characters.".into());
        }
        if self.world.account_by_name(name).is_some() {
            return Err(format!("Sorry, there is already an account with the name '{name}'."));
        }
        let address = self.cfg.address_group_text(&s.data.address);
        let pending = self.attempts_from(false, &address);
        if self.throttles.creation.check(&self.world, &address, now_ms(), pending) {
            return Err(CREATION_THROTTLE_TEXT.into());
        }
        // Counted from now on, so concurrent requests see it; stored if the account is created.
        self.attempts.insert(sessid, Attempt { login: false, address, account: None });
        let ack = self.held_ack.take();
        self.deferred.push(Deferred::HashPassword { sessid, name: name.into(), password, ack });
        Ok(())
    }

    /// A new account's password hash is ready: create the account (and its character).
    pub fn finish_create_account(
        &mut self,
        sessid: Sessid,
        name: &str,
        hash: Result<String, String>,
    ) {
        let attempt = self.attempts.remove(&sessid);
        let created = self.create_account_from_hash(sessid, name, hash);
        if let Some(a) = attempt.filter(|_| created) {
            self.throttles.creation.record(&self.world, &a.address, now_ms());
        }
    }

    /// Attempts of this kind from `address` accepted for checking and not completed yet.
    fn attempts_from(&self, login: bool, address: &str) -> u32 {
        self.attempts.values().filter(|a| a.login == login && a.address == address).count() as u32
    }

    /// The rest of [`Game::finish_create_account`]; true if the account was created.
    fn create_account_from_hash(
        &mut self,
        sessid: Sessid,
        name: &str,
        hash: Result<String, String>,
    ) -> bool {
        let hash = match hash {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(sessid, cause = %e, "password hashing failed");
                self.msg_session(
                    sessid,
                    "|RAn error occurred. Please e-mail an admin if the problem persists.|n",
                );
                return false;
            }
        };
        if self.world.account_by_name(name).is_some() {
            self.msg_session(
                sessid,
                &format!("|RSorry, there is already an account with the name '{name}'.|n"),
            );
            return false;
        }
        let superuser = self.world.account_total() == 0;
        let created = self.world.create_account(name, &hash, superuser, now_ms()).and_then(|uid| {
            if self.cfg.auto_create_character_with_account {
                self.create_character(uid, name)?;
            }
            self.world.channel_join_defaults(uid, self.cfg.channel_max_subscribers)?;
            Ok(uid)
        });
        match created {
            Ok(uid) => {
                tracing::info!(sessid, uid, account = name, superuser, "account created");
                self.msg_session(
                    sessid,
                    &format!(
                        "A new account '{name}' was created. Welcome!\n\nYou can now log with the command 'connect {name} <your password>'."
                    ),
                );
                true
            }
            Err(e) => {
                tracing::error!(sessid, cause = %e, "account creation failed");
                self.msg_session(
                    sessid,
                    "|RAn error occurred. Please e-mail an admin if the problem persists.|n",
                );
                false
            }
        }
    }

    /// Create a character owned by an account; it waits out of the world until first puppeted.
    fn create_character(&mut self, uid: u64, name: &str) -> Result<u64, crate::store::StoreError> {
        let id = self.world.create_object(name, "character", None)?;
        self.world.set_object_attr(id, OWNER_ATTR, Some(&uid.to_string()))?;
        let start = self.world.start_location().to_string();
        self.world.set_object_attr(id, "prelogout_location", Some(&start))?;
        // Evennia: the first character becomes the one `ic` and auto-puppet return to.
        let has_last =
            self.world.account(uid).is_some_and(|a| a.attrs.contains_key("_last_puppet"));
        if !has_last {
            self.world.set_account_attr(uid, "_last_puppet", Some(&id.to_string()))?;
        }
        Ok(id)
    }

    /// Check quick refusals for a login, then start the password check off the loop.
    pub fn request_login(
        &mut self,
        sessid: Sessid,
        name: &str,
        password: String,
    ) -> Result<(), String> {
        let s = self.sessions.get(sessid).ok_or("No calling session.")?;
        if s.data.logged_in {
            return Err("You are already logged in.".into());
        }
        if self.auth_pending.contains(&sessid) {
            return Err("Your previous login is still being checked.".into());
        }
        let address = self.cfg.address_group_text(&s.data.address);
        let now = now_ms();
        let pending = self.attempts_from(true, &address);
        if self.throttles.login.check(&self.world, &address, now, pending) {
            return Err(LOGIN_THROTTLE_TEXT.into());
        }
        let (account, hash) = match self.world.account_by_name(name.trim()) {
            Some(a) => (Some(a.id), Some(a.password_hash.clone())),
            None => (None, None),
        };
        // Guesses at one account from many addresses are held back too.
        if let Some(uid) = account {
            let pending = self.attempts.values().filter(|a| a.account == Some(uid)).count() as u32;
            if self.throttles.login_account.check(&self.world, &account_key(uid), now, pending) {
                return Err(LOGIN_THROTTLE_TEXT.into());
            }
        }
        // Counted as a failure from now on, so a burst of concurrent guesses checks at most the
        // limit; stored as one in `finish_login` if the password is wrong.
        self.attempts.insert(sessid, Attempt { login: true, address, account });
        self.auth_pending.insert(sessid);
        let ack = self.held_ack.take();
        self.deferred.push(Deferred::CheckPassword { sessid, account, hash, password, ack });
        Ok(())
    }

    /// A password check finished.
    pub fn finish_login(&mut self, sessid: Sessid, account: Option<u64>, ok: bool) {
        self.auth_pending.remove(&sessid);
        let attempt = self.attempts.remove(&sessid);
        let uid = account.filter(|_| ok);
        if let Some(a) = attempt.filter(|_| uid.is_none()) {
            // Stored with the completion (a session that left before its check finished too).
            self.throttles.login.record(&self.world, &a.address, now_ms());
        }
        let Some(s) = self.sessions.get(sessid) else { return };
        if s.data.logged_in {
            return;
        }
        match uid {
            Some(uid) => self.login(sessid, uid),
            None => {
                // The account's own count: failures only (a busy answer checked nothing).
                if let Some(uid) = account {
                    self.throttles.login_account.record(&self.world, &account_key(uid), now_ms());
                }
                self.msg_session(sessid, "|RUsername and/or password is incorrect.|n")
            }
        }
    }

    /// The hashing queue was full: answer at once and undo the request's bookkeeping (its
    /// pending mark and its throttle attempt), since nothing was checked.
    pub fn hashing_busy(&mut self, sessid: Sessid) {
        self.auth_pending.remove(&sessid);
        self.attempts.remove(&sessid);
        self.msg_session(sessid, &format!("|R{}|n", super::hashing::BUSY_TEXT));
    }

    /// Log a session in (Evennia's SessionHandler.login + Account.at_post_login).
    pub fn login(&mut self, sessid: Sessid, uid: u64) {
        let Some(name) = self.world.account(uid).map(|a| a.name.clone()) else { return };
        let Some(s) = self.sessions.get_mut(sessid) else { return };
        s.data.logged_in = true;
        s.data.uid = Some(uid);
        s.data.uname = Some(name.clone());
        s.data.conn_time = now_ms();
        s.data.puid = None;
        let address = s.data.address.clone();
        self.touch(sessid);
        if self.cfg.multisession_mode == 0 {
            self.disconnect_duplicates(sessid, DUPLICATE_REASON);
        }
        let total = self.sessions.from_account(uid).count();
        tracing::info!(sessid, "Logged in: {name} {address} ({total} session(s) total)");
        self.class_event(sessid, ClassEvent::Login);
        self.send(sessid, Msg::oob("logged_in", vec![], Default::default()));
        let last = self
            .world
            .account(uid)
            .and_then(|a| a.attrs.get("_last_puppet"))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|id| self.world.object(*id).is_some());
        if !self.cfg.auto_puppet_on_login {
            self.queue_command(sessid, QueuedCommand::Line("look".into()));
        } else if let Some(obj) = last {
            // A refusal has already been told to the account's sessions.
            let _ = self.puppet(sessid, obj);
        } else {
            self.msg_account(uid, "The Character does not exist.");
        }
    }

    // --- puppeting ----------------------------------------------------------------------------

    /// Puppet `obj` with a session (Evennia's Account.puppet_object and Character hooks). This
    /// is where the multisession policy is applied: take over (modes 0, 2) or share (1, 3) a
    /// character another of the account's sessions holds, and MAX_NR_SIMULTANEOUS_PUPPETS.
    ///
    /// A refusal is sent, as in Evennia, to every session of the account, and also returned
    /// (so callers must not show it again). `Err` without a message to anyone only for a
    /// missing session or object (Evennia's RuntimeErrors, which the `ic` command words).
    pub fn puppet(&mut self, sessid: Sessid, obj: u64) -> Result<(), String> {
        let s = self.sessions.get(sessid).ok_or("Session not found")?;
        let uid = s.data.uid.filter(|_| s.data.logged_in).ok_or("You are not logged in.")?;
        let key = self.world.object(obj).ok_or("Object not found")?.key.clone();
        let refuse = |game: &mut Game, text: String| {
            game.msg_account(uid, &text);
            Err(text)
        };
        if s.data.puid == Some(obj) {
            return refuse(self, "You are already puppeting this object.".into());
        }
        let superuser = self.world.account(uid).is_some_and(|a| a.is_superuser);
        // The object's `puppet` lock (a character's default: its owner, or a Developer).
        let accessor = super::locks::Accessor::Account(uid);
        if !superuser && !self.access(obj, accessor, "puppet") {
            return refuse(self, format!("You don't have permission to puppet '{key}'."));
        }
        let holders: Vec<(Sessid, Option<u64>)> = self
            .sessions
            .from_puppet(obj)
            .filter(|h| h.sessid() != sessid)
            .map(|h| (h.sessid(), h.data.uid))
            .collect();
        if holders.iter().any(|(_, u)| *u != Some(uid)) {
            return refuse(self, format!("|c{key}|R is already puppeted by another Account."));
        }
        // Puppet limit: puppets held by the account's other sessions, not counting `obj`.
        let limit = self.cfg.max_nr_simultaneous_puppets;
        let held: BTreeSet<u64> = self
            .sessions
            .from_account(uid)
            .filter(|h| h.sessid() != sessid)
            .filter_map(|h| h.data.puid)
            .filter(|&p| p != obj)
            .collect();
        if !superuser && limit > 0 && held.len() as u32 >= limit {
            return refuse(self, format!("You cannot control any more puppets (max {limit})"));
        }
        let already_in_world = !holders.is_empty();
        if already_in_world {
            if matches!(self.cfg.multisession_mode, 1 | 3) {
                self.msg_session(
                    sessid,
                    &format!("Sharing |c{key}|n with another of your sessions."),
                );
                for (h, _) in &holders {
                    self.msg_session(
                        *h,
                        &format!("|c{key}|n|G is now shared from another of your sessions.|n"),
                    );
                }
            } else {
                self.msg_session(
                    sessid,
                    &format!("Taking over |c{key}|n from another of your sessions."),
                );
                for (h, _) in &holders {
                    self.msg_session(
                        *h,
                        &format!("|c{key}|n|R is now acted from another of your sessions.|n"),
                    );
                    if let Some(hs) = self.sessions.get_mut(*h) {
                        hs.data.puid = None;
                    }
                    self.touch(*h);
                }
            }
        }
        // Leave the current puppet first.
        if self.sessions.get(sessid).and_then(|s| s.data.puid).is_some() {
            let _ = self.unpuppet_quietly(sessid, "");
        }
        // at_pre_puppet: come back to where the character logged out (or the start room).
        if self.world.object(obj).and_then(|o| o.location).is_none() {
            let back = self
                .world
                .object(obj)
                .and_then(|o| o.attrs.get("prelogout_location"))
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|l| self.world.object(*l).is_some())
                .unwrap_or(self.world.start_location());
            if let Err(e) = self.world.move_object(obj, Some(back)) {
                tracing::warn!(obj, cause = %e, "could not restore the character's location");
            }
        }
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.data.puid = Some(obj);
        }
        self.touch(sessid);
        if let Err(e) = self.world.set_account_attr(uid, "_last_puppet", Some(&obj.to_string())) {
            tracing::warn!(uid, cause = %e, "could not store _last_puppet");
        }
        // at_post_puppet: Evennia's `self.msg`, so every session sharing the character hears it.
        self.msg_object(obj, &format!("\nYou become |c{key}|n.\n"));
        self.queue_command(sessid, QueuedCommand::PuppetLook);
        if !already_in_world {
            if let Some(loc) = self.world.object(obj).and_then(|o| o.location) {
                self.msg_contents(loc, &format!("{key} has entered the game."), &[obj]);
            }
        }
        Ok(())
    }

    /// Stop puppeting (the `ooc` command's host part).
    pub fn unpuppet(&mut self, sessid: Sessid) -> Result<(), String> {
        self.unpuppet_quietly(sessid, "")
    }

    /// Unpuppet; if this was the last session on the character, it leaves the world.
    fn unpuppet_quietly(&mut self, sessid: Sessid, reason: &str) -> Result<(), String> {
        let s = self.sessions.get_mut(sessid).ok_or("Session not found")?;
        let obj = s.data.puid.take().ok_or("You are not puppeting anything.")?;
        self.touch(sessid);
        if self.sessions.from_puppet(obj).next().is_some() {
            return Ok(());
        }
        let Some(o) = self.world.object(obj) else { return Ok(()) };
        let (key, loc) = (o.key.clone(), o.location);
        if let Some(loc) = loc {
            self.msg_contents(loc, &format!("{key} has left the game{reason}."), &[obj]);
            let res = self
                .world
                .set_object_attr(obj, "prelogout_location", Some(&loc.to_string()))
                .and_then(|_| self.world.move_object(obj, None));
            if let Err(e) = res {
                tracing::warn!(obj, cause = %e, "could not store the character's location");
            }
        }
        Ok(())
    }

    /// Unpuppet every session (server shutdown): characters leave the world cleanly.
    pub fn unpuppet_all(&mut self) {
        for id in self.sessions.ids() {
            let _ = self.unpuppet_quietly(id, "");
        }
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
        self.deferred.push(Deferred::Reload { reason, by: sessid });
        Ok(())
    }
}

/// Account names: 2 to `max` characters of letters, digits and `.`, `_`, `-` (so no markup,
/// control character, space or line break can reach a message that names the account).
fn validate_account_name(name: &str, max: usize) -> Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let len = name.chars().count();
    if !(2..=max).contains(&len) || !ok_chars {
        return Err(format!(
            "Account names must be 2-{max} characters long, using only letters, digits and . _ -"
        ));
    }
    Ok(())
}

/// Character names, checked wherever a character is created or renamed: 1 to `max`
/// printable characters — letters, digits, single spaces between words and `'`, `-`, `.`,
/// `_` — starting with a letter or digit. Every message that names a character carries its
/// name, so a name holding markup (`|r`, `|l` links), a line break or a control character
/// would let a player forge lines ("[Admin] Gandalf says ...") in others' output.
pub fn validate_character_name(name: &str, max: usize) -> Result<(), String> {
    let len = name.chars().count();
    let starts_well = name.chars().next().is_some_and(char::is_alphanumeric);
    let ok_chars =
        name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '\'' | '-' | '.' | '_'))
            && !name.contains("  ")
            && !name.ends_with(' ');
    if !(1..=max).contains(&len) || !starts_well || !ok_chars {
        return Err(format!(
            "|rCharacter names must be 1-{max} characters long, starting with a letter or digit and using only letters, digits, single spaces and ' - . _|n"
        ));
    }
    Ok(())
}

/// Session-handler operations guests reach through the host API, each with its permission check,
/// and the character rules of the multisession policy (MAX_NR_CHARACTERS).
impl Game {
    /// The account a session is logged in to.
    fn account_of(&self, sessid: Sessid) -> Option<u64> {
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
    pub fn all_connected_accounts(&self) -> Vec<u64> {
        let ids: BTreeSet<u64> = self.sessions.all(false).filter_map(|s| s.data.uid).collect();
        ids.into_iter().collect()
    }

    /// Create a character for the calling session's account (Evennia's charcreate and
    /// create_character): names are unique among characters, MAX_NR_CHARACTERS applies to
    /// everyone but superusers.
    pub fn character_create(
        &mut self,
        sessid: Sessid,
        key: &str,
        desc: Option<&str>,
    ) -> Result<u64, String> {
        let uid = self.account_of(sessid).ok_or("You are not logged in.")?;
        let key = key.trim();
        if key.is_empty() {
            return Err("Usage: charcreate <charname> [= description]".into());
        }
        validate_character_name(key, self.cfg.max_name_chars)?;
        let max = self.cfg.max_nr_characters;
        let count = self.world.account_characters(uid).len();
        if max > 0 && !self.is_admin(sessid) && count >= max as usize {
            return Err(format!(
                "You may only have a maximum of {max} character{}.",
                if max == 1 { "" } else { "s" }
            ));
        }
        let taken = self.world.search(key, None).into_iter().any(|id| {
            self.world
                .object(id)
                .is_some_and(|o| o.kind == "character" && o.key.eq_ignore_ascii_case(key))
        });
        if taken {
            return Err(format!("|rA character named '|w{key}|r' already exists.|n"));
        }
        let desc = desc.map(str::trim).filter(|d| !d.is_empty()).unwrap_or("This is a character.");
        let created = self.create_character(uid, key).and_then(|id| {
            self.world.set_object_attr(id, "desc", Some(desc))?;
            Ok(id)
        });
        created.map_err(|e| {
            tracing::error!(sessid, cause = %e, "character creation failed");
            "|rAn error occurred. Please e-mail an admin if the problem persists.|n".to_string()
        })
    }

    /// Delete one of the calling account's characters; refused while anyone puppets it.
    pub fn character_delete(&mut self, sessid: Sessid, obj: u64) -> Result<(), String> {
        let uid = self.account_of(sessid).ok_or("You are not logged in.")?;
        let o = self.world.object(obj).ok_or("That is not a valid character choice.")?;
        let owned = o.kind == "character" && o.attrs.get(OWNER_ATTR) == Some(&uid.to_string());
        if !owned && !self.is_admin(sessid) {
            return Err("You do not have permission to delete this character.".into());
        }
        if self.sessions.from_puppet(obj).next().is_some() {
            return Err("You cannot delete a character that is being played.".into());
        }
        self.world.delete_object(obj).map_err(|e| e.to_string())?;
        let last = self.world.account(uid).and_then(|a| a.attrs.get("_last_puppet").cloned());
        if last == Some(obj.to_string()) {
            if let Err(e) = self.world.set_account_attr(uid, "_last_puppet", None) {
                tracing::warn!(uid, cause = %e, "could not clear _last_puppet");
            }
        }
        Ok(())
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

/// Evennia's reason for an idle-timeout disconnect.
pub const IDLE_TIMEOUT_REASON: &str = "idle timeout exceeded";

impl Game {
    /// Sessions, logged in or not, whose last visible command is older than
    /// `idle_timeout_secs` on the monotonic clock: the keepalive (`idle_command`) keeps a
    /// connection open through proxies but does not make a player active. Superusers and
    /// accounts holding Builder or above are exempt (Evennia's `noidletimeout` lock).
    pub fn idle_sessions(&self) -> Vec<Sessid> {
        let timeout = Duration::from_secs(self.cfg.idle_timeout_secs);
        if timeout.is_zero() {
            return vec![];
        }
        self.sessions
            .all(true)
            .map(|s| s.sessid())
            .filter(|id| self.last_visible.get(id).is_some_and(|t| t.elapsed() > timeout))
            .filter(|&id| !self.exempt_from_idle_timeout(id))
            .collect()
    }

    /// Disconnect a session found idle by [`Game::idle_sessions`].
    pub fn idle_disconnect(&mut self, sessid: Sessid) {
        tracing::info!(sessid, "idle timeout exceeded; disconnecting");
        self.disconnect(sessid, IDLE_TIMEOUT_REASON);
    }

    /// Evennia's default `noidletimeout` lock, `perm(Builder)`: superusers and accounts holding
    /// Builder or above never time out.
    fn exempt_from_idle_timeout(&self, sessid: Sessid) -> bool {
        let (superuser, permission) = self.lock_caller(sessid);
        let logged_in = self.sessions.get(sessid).is_some_and(|s| s.data.logged_in);
        logged_in
            && crate::cmd::CmdLock::parse("cmd:perm(Builder)")
                .allows(&crate::cmd::LockCaller { superuser, permission: permission.as_deref() })
    }
}

impl Game {
    /// Start changing the calling account's password (Evennia's `password` command): the old
    /// password is checked and the new one hashed off the loop; the host tells the outcome.
    pub fn request_password_change(
        &mut self,
        sessid: Sessid,
        old: String,
        new: String,
    ) -> Result<(), String> {
        let uid = self.account_of(sessid).ok_or("You are not logged in.")?;
        let hash = self.world.account(uid).ok_or("You are not logged in.")?.password_hash.clone();
        let invalid = (new.chars().count() < 8).then(|| {
            "This password is too short. It must contain at least 8 characters.".to_string()
        });
        let ack = self.held_ack.take();
        self.deferred.push(Deferred::ChangePassword { sessid, uid, hash, old, new, invalid, ack });
        Ok(())
    }

    /// The old password was checked and, if right, the new one hashed (`Err` is the text to tell).
    pub fn finish_password_change(
        &mut self,
        sessid: Sessid,
        uid: u64,
        outcome: Result<String, String>,
    ) {
        let text = match outcome {
            Ok(hash) => match self.world.set_account_password(uid, &hash) {
                Ok(()) => {
                    tracing::info!(sessid, uid, "password changed");
                    "Password changed.".to_string()
                }
                Err(e) => {
                    tracing::error!(sessid, uid, cause = %e, "cannot store a new password");
                    "|rAn error occurred. Please e-mail an admin if the problem persists.|n"
                        .to_string()
                }
            },
            Err(text) => text,
        };
        self.msg_session(sessid, &text);
    }
}

/// The per-account login throttle's key for account `uid` (apart from addresses by the `#`).
fn account_key(uid: u64) -> String {
    format!("#{uid}")
}
