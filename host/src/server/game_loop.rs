//! The game loop: one thread that owns the game and processes events in order, so commands never
//! race over world state. Slow work (password hashing, module compiles) runs elsewhere and comes
//! back as an event.
//!
//! The path of one input, in the order of this file's methods:
//!
//! 1. `run` takes in the events that have arrived; `accept` puts an input (or a disconnect) in
//!    its session's queue in the [`Scheduler`] (`game_loop/scheduler.rs`: per-session queues,
//!    served round-robin by address group then by session, busy and slowed sessions skipped) and
//!    handles every other event at once (`handle`, one transaction each).
//! 2. Each round runs the due module timers (`game_loop/timers.rs`), then `run_batch` serves the
//!    sessions the scheduler says are ready in one database transaction: up to [`MAX_BATCH`]
//!    units, or until the batch has run [`BATCH_TIME`].
//! 3. `serve` runs one unit: marks it in flight, holds its ack, and calls `input`
//!    (`game_loop/inputfuncs.rs`): the input hooks and the session class's `data-in`
//!    (`server/hooks.rs`), then the input function; `text` runs a command line in the command
//!    handler (`game_loop/cmdhandler.rs`: merged cmdset, parse, the guest call, run with the
//!    lines it executes as one checkpointed unit by `game_loop/execute.rs`).
//! 4. `after_input` tells the scheduler whether the session is now busy (its ack waits on a
//!    password check) and whether it overran the guest deadline (slowed down).
//! 5. `end_unit`: the commands the host queued (connection screens, looks), the session class's
//!    lifecycle hooks and `data-out`, off-loop work started, the ack released.
//! 6. `commit_and_send`: the batch's effects go through the [`Outbox`] (`game_loop/outbox.rs`):
//!    stored with the commit (or kept aside when nothing was written), then sent to the portal
//!    in one write. A frame is sent only after its commit, and a new server resends what the
//!    portal has not confirmed, so every input is applied and answered exactly once whatever
//!    moment the server dies at (see [`crate::link`]).

pub mod cmdhandler;
pub mod execute;
pub mod failpoints;
pub mod inputfuncs;
pub mod outbox;
pub mod password_jobs;
pub mod scheduler;
pub mod timers;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{PluginRegistry, Prepared};
use crate::failpoint::{self, Kind, Unit};
use crate::link::{self, PortalMsg, ServerMsg, Sessid};
use crate::wasm::registry::PluginError;

use super::game::{Deferred, Game, QueuedCommand};
use super::hashing::HashPool;
use crate::shared::ids::AccountId;
use crate::shared::inflight::InflightMarker;
use failpoints::Failpoints;
use outbox::Outbox;
use password_jobs::{password_job, JobKind, PasswordJob};
use scheduler::{Scheduler, Work, SLOWED_TEXT};

/// Everything the game loop reacts to.
pub enum GameEvent {
    /// A message from the portal.
    Portal(PortalMsg),
    /// A login's password check finished.
    PasswordChecked {
        sessid: Sessid,
        account: Option<AccountId>,
        ok: bool,
        ack: Option<(Sessid, u64)>,
    },
    /// A new account's password hash is ready.
    PasswordHashed {
        sessid: Sessid,
        name: String,
        hash: Result<String, String>,
        ack: Option<(Sessid, u64)>,
    },
    /// A module file changed and compiled; install it between two commands.
    ModuleReady(Box<Prepared>),
    /// A module file changed but failed to compile or check.
    ModuleFailed { path: std::path::PathBuf, error: PluginError },
    /// A module file was deleted.
    ModuleRemoved { name: String },
    /// The portal went away.
    LinkClosed,
    /// The server process got SIGTERM/SIGINT: shut down cleanly.
    Terminate,
    /// A timer the loop set (a slowed session is due); carries nothing.
    Wake,
    /// Time to disconnect sessions idle past `idle_timeout_secs`.
    IdleSweep,
    /// A password change was checked (and the new password hashed): `Err` is the text to tell.
    PasswordChanged {
        sessid: Sessid,
        uid: AccountId,
        outcome: Result<String, String>,
        ack: Option<(Sessid, u64)>,
    },
}

/// Why the game loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The portal asked for a reload.
    Reload,
    /// The portal asked for a shutdown, or the process was told to terminate.
    Shutdown,
    /// The link broke.
    LinkLost,
}

/// Rounds of host-queued commands run after one event. Everything the event itself queued runs
/// (one connection screen per fresh session, one look per puppet); commands queued by those
/// commands run in the next round, and a chain longer than this is cut off, so a guest cannot
/// make the host queue commands forever.
const MAX_QUEUED_ROUNDS: usize = 4;

/// Most units of work (inputs) in one batch: one transaction, one effects frame.
const MAX_BATCH: usize = 64;
/// A batch takes no more units once it has run this long.
const BATCH_TIME: Duration = Duration::from_millis(2);

/// The game thread's state.
pub struct GameLoop {
    /// The game, between guest calls (each call moves it into its store and hands it back).
    game: Option<Game>,
    /// The loaded modules.
    pub(super) plugins: PluginRegistry,
    /// The command handler's merged cmdsets and lent sets (`game_loop/cmdhandler.rs`).
    pub(super) cmds: cmdhandler::CmdCache,
    /// Outputs before this position have been through the session class's `data-out`.
    pub(super) out_mark: usize,
    /// Which session's work runs next.
    scheduler: Scheduler,
    /// The effects frames towards the portal and the in-flight mark.
    outbox: Outbox,
    events: mpsc::Sender<GameEvent>,
    rt: tokio::runtime::Handle,
    hasher: HashPool,
    /// Highest seq per session whose effects are already committed (from frames resent at
    /// start-up): the portal's replay of those inputs is skipped.
    applied: std::collections::HashMap<Sessid, u64>,
    /// The session changes of the frames resent at start-up, applied to the handed-over
    /// sessions (`SyncAll`), which the portal sent before it had applied those frames.
    resent: super::resent::Resent,
    /// A guest call of the current input overran its deadline (see `note_guest_error`).
    overran: bool,
    /// Test failpoints armed for the current unit or a deferred completion.
    failpoints: Failpoints,
    /// Module timers' firing state (`game_loop/timers.rs`).
    pub(super) timers: timers::TimerState,
}

/// What a game loop is made of (see [`GameLoop::new`]).
pub struct LoopSetup {
    /// The game, its world loaded.
    pub game: Game,
    /// The modules, already loaded.
    pub plugins: PluginRegistry,
    /// The link towards the portal, written from the game thread.
    pub link: link::LinkWriter,
    /// Where the loop's events are sent: the loop hands it to its own timers and off-loop jobs.
    pub events: mpsc::Sender<GameEvent>,
    /// The runtime the loop's wake-up timers run on.
    pub rt: tokio::runtime::Handle,
    /// What the frames resent at start-up committed (acks and session changes).
    pub resent: super::resent::Resent,
    /// The next outbox id.
    pub outbox_next: u64,
    /// The last outbox id the portal has applied.
    pub confirmed: u64,
    /// The in-flight marker, if it could be opened.
    pub inflight: Option<InflightMarker>,
}

impl GameLoop {
    /// A loop over a game whose modules are already loaded.
    pub fn new(setup: LoopSetup) -> GameLoop {
        let LoopSetup {
            mut game,
            plugins,
            link,
            events,
            rt,
            mut resent,
            outbox_next,
            confirmed,
            inflight,
        } = setup;
        let cfg = &game.cfg;
        let hasher = HashPool::new(
            cfg.hash_threads,
            cfg.hash_queue,
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
        );
        let applied = std::mem::take(&mut resent.applied);
        let busy_timeout = Duration::from_millis(cfg.db_busy_timeout_ms);
        if let Err(e) = game.world.set_busy_timeout(busy_timeout) {
            tracing::warn!(cause = %e, "cannot set the database busy timeout");
        }
        let mut this = GameLoop {
            game: Some(game),
            plugins,
            cmds: Default::default(),
            out_mark: 0,
            scheduler: Scheduler::default(),
            outbox: Outbox::new(link, outbox_next, confirmed, inflight),
            events,
            rt,
            hasher,
            applied,
            resent,
            overran: false,
            failpoints: Failpoints::default(),
            timers: Default::default(),
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

    /// Return the game after a guest call; what was exposed to that call alone (the caller's
    /// merged cmdset, see `expose_caller_cmdset`) is cleared.
    pub(super) fn put_game(&mut self, mut game: Game) {
        game.current_cmdset = None;
        self.game = Some(game);
    }

    /// Process events until the portal asks us to stop or goes away.
    pub fn run(mut self, mut events: mpsc::Receiver<GameEvent>) -> Exit {
        loop {
            // Take in everything that has arrived: inputs join their session's queue, other
            // events are handled at once.
            loop {
                match events.try_recv() {
                    Ok(ev) => {
                        if let Some(exit) = self.accept(ev) {
                            return exit;
                        }
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Exit::LinkLost,
                }
            }
            // Due timer firings (a bounded number), then the players' ready inputs: each round
            // serves both, so neither can starve the other.
            let fired = self.run_timers();
            let wait = match self.scheduler.next_ready() {
                Ok(sessid) => {
                    self.run_batch(sessid);
                    continue;
                }
                Err(wait) => wait,
            };
            if fired {
                continue;
            }
            let wait = match (wait, self.timer_wait()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(d) = wait {
                self.wake_after(d);
            }
            let ev = events.blocking_recv();
            match ev {
                Some(ev) => {
                    if let Some(exit) = self.accept(ev) {
                        return exit;
                    }
                }
                None => return Exit::LinkLost,
            }
        }
    }

    /// Make sure the loop wakes up within `d` (a slowed session becomes due): a timer task sends
    /// a `Wake` event. (A timer awaited on this thread through `Handle::block_on` was measured to
    /// wake up to 150 ms late, so the timer runs on the runtime and wakes the loop like any event.)
    fn wake_after(&mut self, d: Duration) {
        if !self.scheduler.wake_needed(d) {
            return;
        }
        let events = self.events.clone();
        self.rt.spawn(async move {
            tokio::time::sleep(d).await;
            let _ = events.send(GameEvent::Wake).await;
        });
    }

    /// Take in one event: queue session work, handle everything else now.
    fn accept(&mut self, event: GameEvent) -> Option<Exit> {
        match event {
            GameEvent::Portal(PortalMsg::Input { sessid, seq, msg }) => {
                self.enqueue(sessid, Work::Input { seq, msg });
                None
            }
            GameEvent::Portal(PortalMsg::Disconnect { sessid, seq }) => {
                self.enqueue(sessid, Work::Disconnect { seq });
                None
            }
            GameEvent::Portal(PortalMsg::Applied { upto }) => {
                self.outbox.confirm(upto);
                None
            }
            GameEvent::Wake => {
                self.scheduler.woke();
                None
            }
            other => self.handle(other),
        }
    }

    /// Queue a session's work; a session is served in the turns of its address group.
    fn enqueue(&mut self, sessid: Sessid, work: Work) {
        let game = self.game.as_ref().expect("the game is only absent during a guest call");
        self.scheduler.enqueue(sessid, work, || {
            game.sessions
                .get(sessid)
                .map(|s| game.cfg.address_group_text(&s.data.address))
                .unwrap_or_default()
        });
    }

    /// Serve ready sessions, round-robin, in one transaction and one effects frame: a batch ends
    /// after [`MAX_BATCH`] units, or once it has run for [`BATCH_TIME`] (so a slow command ends
    /// the batch it is in and the answers before it go out). Under light load a batch is one
    /// input; under heavy load the commit, the outbox write and the link write are shared.
    fn run_batch(&mut self, first: Sessid) {
        self.begin();
        let started = Instant::now();
        let mut next = Some(first);
        let mut units = 0;
        while let Some(sessid) = next {
            self.serve(sessid);
            units += 1;
            if units >= MAX_BATCH || started.elapsed() >= BATCH_TIME {
                break;
            }
            next = self.scheduler.next_ready().ok();
        }
        self.commit_and_send(None);
        self.mark(Sessid::new(0), 0);
    }

    /// Mark the unit of work being run in the in-flight file, so that work that kills the
    /// server twice in a row is singled out and dropped by the portal; `(0, 0)` for none.
    pub(super) fn mark(&mut self, sessid: Sessid, seq: u64) {
        self.outbox.mark(sessid, seq);
    }

    /// Mark work done for `sessid` inside the current unit (a queued command, a session-class
    /// hook): the unit's own mark if it is the same session, else the session itself. Returns
    /// the mark to restore afterwards.
    pub(super) fn mark_for(&mut self, sessid: Sessid) -> (Sessid, u64) {
        self.outbox.mark_for(sessid)
    }

    /// Run one unit of a session's work inside the current transaction, then put the session
    /// back in the ring if it has more.
    fn serve(&mut self, sessid: Sessid) {
        let Some(work) = self.scheduler.take_work(sessid) else { return };
        let seq = work.seq();
        let replayed = self.applied.get(&sessid).is_some_and(|&a| seq <= a);
        if replayed {
            // Its effects were committed before this server started and have been resent.
            tracing::debug!(%sessid, seq, "replayed input already applied; skipped");
        } else {
            self.mark(sessid, seq);
            self.game().hold_ack((sessid, seq));
            match work {
                Work::Input { msg, .. } => {
                    self.overran = false;
                    if let Some(kind) = failpoint::for_input(&msg) {
                        self.failpoints.arm(kind);
                    }
                    self.input(sessid, msg);
                    let deferred = !self.game().ack_is_held();
                    if deferred {
                        self.failpoints.defer_to((sessid, seq));
                    }
                    self.after_input(sessid, deferred);
                }
                Work::Disconnect { .. } => {
                    failpoint::for_unit(Unit::Disconnect);
                    self.game().portal_disconnect(sessid);
                    self.scheduler.forget(sessid);
                    self.applied.remove(&sessid);
                }
            }
            self.end_unit();
        }
        let gone = self.game().sessions.get(sessid).is_none();
        self.scheduler.served(sessid, gone);
    }

    /// Bookkeeping after one input: busy while its ack is with a deferred job; slowed while its
    /// commands keep overrunning (the player told when the slow-down starts).
    fn after_input(&mut self, sessid: Sessid, deferred: bool) {
        let overran = std::mem::take(&mut self.overran);
        let deadline = Duration::from_millis(self.game().cfg.guest_deadline_ms.max(1));
        let slowed = self.scheduler.after_input(sessid, deferred, overran, deadline);
        if let Some(pause) = slowed {
            tracing::warn!(
                %sessid,
                pause_ms = pause.as_millis() as u64,
                "session keeps overrunning; slowed"
            );
            self.game().msg_session(sessid, SLOWED_TEXT);
        }
    }

    /// A guest call failed: one that overran its deadline counts towards slowing its session.
    pub(super) fn note_guest_error(&mut self, e: &crate::wasm::GuestError) {
        if matches!(e, crate::wasm::GuestError::Deadline(_)) {
            self.overran = true;
        }
    }

    /// Fire a test failpoint when the current unit of work commits.
    pub(super) fn arm_failpoint(&mut self, kind: Kind) {
        self.failpoints.arm(kind);
    }

    /// The session's deferred work is done: it may be served again.
    fn unbusy(&mut self, ack: Option<(Sessid, u64)>) {
        let Some((sessid, _)) = ack else { return };
        self.scheduler.unbusy(sessid);
    }

    /// Handle one non-queued event inside one transaction, then send its effects.
    fn handle(&mut self, event: GameEvent) -> Option<Exit> {
        self.begin();
        let mut after: Option<ServerMsg> = None;
        let mut exit = None;
        match event {
            GameEvent::Portal(msg) => match msg {
                PortalMsg::Connect(data) => {
                    self.mark(data.sessid, 0);
                    failpoint::for_unit(Unit::Connect);
                    self.game().connect(data)
                }
                PortalMsg::SyncAll { sessions, fresh, last } => {
                    let n = sessions.len();
                    for data in sessions {
                        self.mark(data.sessid, 0);
                        if fresh.contains(&data.sessid) {
                            failpoint::for_unit(Unit::Connect);
                            self.game().connect(data);
                        } else if let Some(data) = self.resent.bring_up_to_date(data) {
                            failpoint::for_unit(Unit::Restore);
                            self.game().restore(data);
                        }
                    }
                    tracing::info!(
                        sessions = n,
                        fresh = fresh.len(),
                        last,
                        "sessions restored from the portal"
                    );
                    if last {
                        after = Some(ServerMsg::Synced);
                        self.timers.synced = true;
                    }
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
                PortalMsg::Input { .. }
                | PortalMsg::Disconnect { .. }
                | PortalMsg::Applied { .. } => {
                    unreachable!("queued in accept()")
                }
            },
            GameEvent::PasswordChecked { sessid, account, ok, ack } => {
                self.mark_completion(sessid, ack);
                failpoint::for_unit(Unit::Login);
                self.completion_failpoint_for(ack);
                let game = self.game();
                game.push_ack(ack);
                game.finish_login(sessid, account, ok);
                self.unbusy(ack);
            }
            GameEvent::PasswordHashed { sessid, name, hash, ack } => {
                self.mark_completion(sessid, ack);
                self.completion_failpoint_for(ack);
                let game = self.game();
                game.push_ack(ack);
                game.finish_create_account(sessid, &name, hash);
                self.unbusy(ack);
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
            GameEvent::Wake => {}
            GameEvent::IdleSweep => {
                for id in self.game().idle_sessions() {
                    self.mark(id, 0);
                    failpoint::for_unit(Unit::Sweep);
                    self.game().idle_disconnect(id);
                }
            }
            GameEvent::PasswordChanged { sessid, uid, outcome, ack } => {
                self.mark_completion(sessid, ack);
                self.completion_failpoint_for(ack);
                let game = self.game();
                game.push_ack(ack);
                game.finish_password_change(sessid, uid, outcome);
                self.unbusy(ack);
            }
            GameEvent::Terminate => {
                tracing::info!("terminate signal: unpuppeting everyone and shutting down");
                self.game().unpuppet_all();
                after = Some(ServerMsg::RequestShutdown { reason: String::new() });
                exit = Some(Exit::Shutdown);
            }
        }
        self.end_unit();
        self.commit_and_send(after);
        self.mark(Sessid::new(0), 0);
        exit
    }

    /// Mark a deferred completion in flight as its input: the same input at two crashes, be it
    /// the input itself or its completion, is poison.
    fn mark_completion(&mut self, sessid: Sessid, ack: Option<(Sessid, u64)>) {
        let (s, seq) = ack.unwrap_or((sessid, 0));
        self.mark(s, seq);
    }

    /// A deferred completion arrived: fire its input's test failpoint, if it has one.
    fn completion_failpoint_for(&mut self, ack: Option<(Sessid, u64)>) {
        if self.failpoints.completion_arrived(ack) {
            failpoint::die();
        }
    }

    /// Start the database transaction of a batch, an event or a round of timer firings.
    pub(super) fn begin(&mut self) {
        if let Err(e) = self.game().world.begin() {
            fatal(&format!("cannot start a database transaction: {e}"));
        }
    }

    /// End a unit of work: run host-queued commands (so a session's queued `look` comes before
    /// its next input), start deferred work, and complete the input's ack.
    pub(super) fn end_unit(&mut self) {
        self.run_queued();
        self.run_session_class();
        self.start_deferred();
        self.game().release_ack();
    }

    /// End a transaction: store its effects in the outbox, commit, then send them (and `after`)
    /// in one write. A server that cannot store, commit or reach the portal must not stay "up"
    /// and silent: it exits, so the portal restarts it and replays whatever was not acknowledged.
    pub(super) fn commit_and_send(&mut self, after: Option<ServerMsg>) {
        let effects = self.game().take_effects();
        self.out_mark = 0;
        let world =
            &mut self.game.as_mut().expect("the game is only absent during a guest call").world;
        let frames = self.outbox.commit(world, effects).unwrap_or_else(|e| fatal(&e.to_string()));
        match self.failpoints.take_at_commit() {
            Some(Kind::AfterCommit | Kind::Poison) => failpoint::die(),
            Some(Kind::DuringCheck | Kind::PoisonUnit(_)) => {}
            Some(Kind::TruncatedFrame) => {
                if let Some(f) = frames.first() {
                    let _ = self.outbox.send_bytes(&f[..f.len() / 2]);
                }
                failpoint::die();
            }
            None => {}
        }
        if let Err(e) = self.outbox.send(frames, after) {
            fatal(&e.to_string());
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
                let unit = self.mark_for(sessid);
                match cmd {
                    QueuedCommand::System { key, fallback } => {
                        self.run_system_command(sessid, key, fallback)
                    }
                    QueuedCommand::Line(line) => self.run_command_line(sessid, &line),
                    QueuedCommand::PuppetLook => {
                        let game = self.take_game();
                        self.put_game(super::game::objclass::post_puppet_look(game, sessid));
                    }
                }
                self.mark(unit.0, unit.1);
            }
        }
        let dropped = self.game().take_queued().len();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "host-queued commands kept queueing more; the rest were dropped"
            );
        }
    }

    /// Start off-loop work the event asked for: password jobs go to the hashing pool (answered
    /// at once when its queue is full).
    fn start_deferred(&mut self) {
        for work in self.game().take_deferred() {
            // Part of the command's effects, stored and sent with them: asking at once would
            // reload before the command commits, and again when a crash replays it.
            if let Deferred::Reload { reason, by } = work {
                self.game().request_reload_effect(reason, by);
                continue;
            }
            let Some(PasswordJob { sessid, ack, kind, run }) =
                password_job(work, self.events.clone())
            else {
                continue;
            };
            if self.hasher.submit(run).is_ok() {
                continue;
            }
            match kind {
                JobKind::Login => self.hashing_busy(sessid, ack),
                JobKind::Change => {
                    tracing::warn!(%sessid, "password hashing queue full; password change refused");
                    let game = self.game();
                    game.push_ack(ack);
                    game.msg_session(sessid, &format!("|R{}|n", super::hashing::BUSY_TEXT));
                    self.unbusy(ack);
                }
            }
        }
    }

    /// The hashing queue refused a job: the request is answered at once ("busy, try again") and
    /// its input acknowledged, as if the check had run.
    fn hashing_busy(&mut self, sessid: Sessid, ack: Option<(Sessid, u64)>) {
        tracing::warn!(%sessid, "password hashing queue full; request refused");
        let game = self.game();
        game.push_ack(ack);
        game.hashing_busy(sessid);
        self.unbusy(ack);
    }

    /// Keep the admin report and the loaded-module list in the game up to date.
    /// The report is also written to the data folder for `mudhost modules`.
    fn refresh_module_report(&mut self) {
        let cfg = self.game().cfg.clone();
        let report = self.plugins.report(&cfg);
        crate::server::write_module_report(&cfg.data_dir, &report);
        let names = self.plugins.names().map(str::to_owned).collect();
        let classes = self.plugins.class_runner(None);
        let game = self.game();
        game.module_report = report;
        game.loaded_modules = names;
        game.objclass.runner = Some(classes);
    }
}

/// Stop the server process at once after an error it cannot continue from safely. The portal
/// sees the link close, restarts the server, and replays every unacknowledged input; nothing
/// uncommitted was ever sent, so nothing is lost or doubled.
pub fn fatal(why: &str) -> ! {
    tracing::error!("fatal: {why}; the server exits and the portal restarts it");
    std::process::exit(70)
}
