//! The game loop: one thread that owns the game and processes events in order, so commands never
//! race over world state. Slow work (password hashing, module compiles) runs elsewhere and comes
//! back as an event. Each event runs in one database transaction and ends with one
//! [`ServerMsg::Effects`] frame carrying its outputs, syncs, disconnects and input acks.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cmd::CmdSet;
use crate::link::{PortalMsg, ServerMsg, Sessid};
use crate::wasm::registry::{Prepared, PluginError};
use crate::wasm::PluginRegistry;

use super::accounts::HashPool;
use super::game::{Deferred, Game, QueuedCommand};

/// Everything the game loop reacts to.
pub enum GameEvent {
    /// A message from the portal.
    Portal(PortalMsg),
    /// A login's password check finished.
    PasswordChecked { sessid: Sessid, account: Option<u64>, ok: bool, ack: Option<(Sessid, u64)> },
    /// A new account's password hash is ready.
    PasswordHashed { sessid: Sessid, name: String, hash: Result<String, String>, ack: Option<(Sessid, u64)> },
    /// A module file changed and compiled; install it between two commands.
    ModuleReady(Box<Prepared>),
    /// A module file changed but failed to compile or check.
    ModuleFailed { path: std::path::PathBuf, error: PluginError },
    /// A module file was deleted.
    ModuleRemoved { name: String },
    /// The portal went away.
    LinkClosed,
}

/// Why the game loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The portal asked for a reload.
    Reload,
    /// The portal asked for a shutdown.
    Shutdown,
    /// The link broke.
    LinkLost,
}

/// Rounds of host-queued commands run after one event. Everything the event itself queued runs
/// (one connection screen per fresh session, one look per puppet); commands queued by those
/// commands run in the next round, and a chain longer than this is cut off, so a guest cannot
/// make the host queue commands forever.
const MAX_QUEUED_ROUNDS: usize = 4;

/// The game thread's state.
pub struct GameLoop {
    game: Option<Game>,
    pub(super) plugins: PluginRegistry,
    merged: HashMap<u64, (Vec<Arc<CmdSet>>, Arc<CmdSet>)>,
    merged_generation: u64,
    out: mpsc::Sender<ServerMsg>,
    events: mpsc::Sender<GameEvent>,
    hasher: HashPool,
}

impl GameLoop {
    /// A loop over a game whose modules are already loaded.
    pub fn new(
        game: Game,
        plugins: PluginRegistry,
        out: mpsc::Sender<ServerMsg>,
        events: mpsc::Sender<GameEvent>,
    ) -> GameLoop {
        let cfg = &game.cfg;
        let hasher = HashPool::new(cfg.hash_threads, cfg.hash_queue, cfg.argon2_memory_kib, cfg.argon2_iterations);
        let mut this = GameLoop {
            game: Some(game),
            plugins,
            merged: HashMap::new(),
            merged_generation: 0,
            out,
            events,
            hasher,
        };
        this.refresh_module_report();
        this
    }

    /// The game, between calls. Always present outside a guest call (calls hand it back).
    pub(super) fn game(&mut self) -> &mut Game {
        self.game.as_mut().expect("the game is only absent during a guest call")
    }

    /// Move the game out for a guest call; [`GameLoop::put_game`] returns it.
    pub(super) fn take_game(&mut self) -> Game {
        self.game.take().expect("the game is only absent during a guest call")
    }

    /// Return the game after a guest call.
    pub(super) fn put_game(&mut self, game: Game) {
        self.game = Some(game);
    }

    /// Process events until the portal asks us to stop or goes away.
    pub fn run(mut self, mut events: mpsc::Receiver<GameEvent>) -> Exit {
        while let Some(event) = events.blocking_recv() {
            if let Some(exit) = self.handle(event) {
                return exit;
            }
        }
        Exit::LinkLost
    }

    /// Handle one event inside one transaction, then send its effects as one frame.
    fn handle(&mut self, event: GameEvent) -> Option<Exit> {
        if let Err(e) = self.game().world.begin() {
            tracing::error!(cause = %e, "cannot start a database transaction");
        }
        let mut after: Option<ServerMsg> = None;
        let mut exit = None;
        match event {
            GameEvent::Portal(msg) => match msg {
                PortalMsg::Connect(data) => self.game().connect(data),
                PortalMsg::Disconnect { sessid } => self.game().portal_disconnect(sessid),
                PortalMsg::Input { sessid, seq, msg } => {
                    self.game().hold_ack((sessid, seq));
                    self.input(sessid, msg);
                }
                PortalMsg::SyncAll { sessions, fresh } => {
                    let n = sessions.len();
                    for data in sessions {
                        if fresh.contains(&data.sessid) {
                            self.game().connect(data);
                        } else {
                            self.game().restore(data);
                        }
                    }
                    tracing::info!(sessions = n, fresh = fresh.len(), "sessions restored from the portal");
                    after = Some(ServerMsg::Synced);
                }
                PortalMsg::Reload { reason } => {
                    tracing::info!(%reason, "reloading: flushing and exiting");
                    exit = Some(Exit::Reload);
                }
                PortalMsg::Shutdown { reason } => {
                    tracing::info!(%reason, "shutting down: flushing and exiting");
                    self.game().unpuppet_all();
                    exit = Some(Exit::Shutdown);
                }
                PortalMsg::Welcome { .. } | PortalMsg::Refused { .. } => {
                    tracing::warn!("unexpected handshake message after start-up; ignored");
                }
            },
            GameEvent::PasswordChecked { sessid, account, ok, ack } => {
                let game = self.game();
                game.push_ack(ack);
                game.finish_login(sessid, account, ok);
            }
            GameEvent::PasswordHashed { sessid, name, hash, ack } => {
                let game = self.game();
                game.push_ack(ack);
                game.finish_create_account(sessid, &name, hash);
            }
            GameEvent::ModuleReady(prepared)
                if self.plugins.get(&prepared.name).is_some_and(|m| m.hash == prepared.hash) =>
            {
                tracing::debug!(module = %prepared.name, "module file touched but unchanged");
            }
            GameEvent::ModuleReady(prepared) => {
                let game = self.take_game();
                let (game, _) = self.plugins.install(*prepared, game);
                self.put_game(game);
                self.refresh_module_report();
            }
            GameEvent::ModuleFailed { path, error } => {
                self.plugins.reject(&path, &error);
                self.refresh_module_report();
            }
            GameEvent::ModuleRemoved { name } => {
                if self.plugins.unload(&name) {
                    self.refresh_module_report();
                }
            }
            GameEvent::LinkClosed => exit = Some(Exit::LinkLost),
        }
        self.run_queued();
        self.start_deferred();
        if let Err(e) = self.game().world.commit() {
            tracing::error!(cause = %e, "cannot commit the game event's writes");
        }
        let effects = self.game().take_effects();
        if !effects.is_empty() {
            self.send(ServerMsg::Effects(effects));
        }
        if let Some(msg) = after {
            self.send(msg);
        }
        exit
    }

    /// Send to the portal; blocks if the link is backed up (backpressure, bounded channel).
    fn send(&self, msg: ServerMsg) {
        if self.out.blocking_send(msg).is_err() {
            tracing::warn!("link writer gone; output dropped");
        }
    }

    /// Run the commands the host queued during this event (connection screens, looks), in
    /// rounds; the same command for the same session runs once per round.
    fn run_queued(&mut self) {
        for _ in 0..MAX_QUEUED_ROUNDS {
            let mut batch = self.game().take_queued();
            if batch.is_empty() {
                return;
            }
            let mut seen = std::collections::HashSet::new();
            batch.retain(|item| seen.insert(item.clone()));
            for (sessid, cmd) in batch {
                match cmd {
                    QueuedCommand::System { key, fallback } => self.run_system_command(sessid, key, fallback),
                    QueuedCommand::Line(line) => self.run_command_line(sessid, &line),
                }
            }
        }
        let dropped = self.game().take_queued().len();
        if dropped > 0 {
            tracing::warn!(dropped, "host-queued commands kept queueing more; the rest were dropped");
        }
    }

    /// Start off-loop work the event asked for.
    fn start_deferred(&mut self) {
        for job in self.game().take_deferred() {
            match job {
                Deferred::CheckPassword { sessid, account, hash, password, ack } => {
                    let events = self.events.clone();
                    let job = Box::new(move |hasher: &mut super::accounts::PasswordHasher| {
                        let ok = hasher.verify(hash.as_deref(), &password);
                        let _ = events.blocking_send(GameEvent::PasswordChecked { sessid, account, ok, ack });
                    });
                    if self.hasher.submit(job).is_err() {
                        self.hashing_busy(sessid, true, ack);
                    }
                }
                Deferred::HashPassword { sessid, name, password, ack } => {
                    let events = self.events.clone();
                    let job = Box::new(move |hasher: &mut super::accounts::PasswordHasher| {
                        let hash = hasher.hash(&password);
                        let _ = events.blocking_send(GameEvent::PasswordHashed { sessid, name, hash, ack });
                    });
                    if self.hasher.submit(job).is_err() {
                        self.hashing_busy(sessid, false, ack);
                    }
                }
                Deferred::Reload { reason } => self.send(ServerMsg::RequestReload { reason }),
            }
        }
    }

    /// The hashing queue refused a job: the request is answered at once ("busy, try again") and
    /// its input acknowledged, as if the check had run.
    fn hashing_busy(&mut self, sessid: Sessid, login: bool, ack: Option<(Sessid, u64)>) {
        tracing::warn!(sessid, "password hashing queue full; request refused");
        let game = self.game();
        game.push_ack(ack);
        game.hashing_busy(sessid, login);
    }

    /// Keep the admin report and the loaded-module list in the game up to date.
    fn refresh_module_report(&mut self) {
        let report = self.plugins.report();
        let names = report_names(&self.plugins);
        let game = self.game();
        game.module_report = report;
        game.loaded_modules = names;
    }

    /// The merged cmdset for a stack of sets, cached by identity until modules change.
    pub(super) fn merged(&mut self, stack: Vec<Arc<CmdSet>>) -> Arc<CmdSet> {
        if self.merged_generation != self.plugins.generation() {
            self.merged.clear();
            self.merged_generation = self.plugins.generation();
        }
        let key = crate::cmd::merge::fingerprint(&stack);
        if let Some((sets, merged)) = self.merged.get(&key) {
            if sets.len() == stack.len() && sets.iter().zip(&stack).all(|(a, b)| Arc::ptr_eq(a, b)) {
                return merged.clone();
            }
        }
        let merged = Arc::new(crate::cmd::merge::merge_stack(&stack));
        if self.merged.len() > 1000 {
            self.merged.clear();
        }
        self.merged.insert(key, (stack, merged.clone()));
        merged
    }
}

fn report_names(plugins: &PluginRegistry) -> std::collections::BTreeSet<String> {
    plugins.names().map(str::to_owned).collect()
}
