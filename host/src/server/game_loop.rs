//! The game loop: one thread that owns the game and processes events in order, so commands never
//! race over world state. Slow work (password hashing, module compiles) runs elsewhere and comes
//! back as an event.
//!
//! Inputs are scheduled, not run on arrival: each session has its own queue, and the loop serves
//! address groups round-robin and, within a group, its sessions round-robin, one input per turn
//! ([`FairRing`]), so one client's flood — or one address's hundred flooding sessions — cannot
//! hold up everyone else. A session whose input is still being completed off the loop (a password check)
//! is *busy*: its later inputs, and its disconnect, wait until it is done. A session whose
//! commands keep running past the guest deadline is slowed down.
//!
//! Input hooks and the session class's `data-in` run where an input is dispatched
//! ([`GameLoop::input`]); the session class's lifecycle hooks and `data-out` run at the end of
//! each unit of work (`server/plugins.rs`).
//!
//! Work runs in batches: the inputs served in one pass (up to [`MAX_BATCH`], or until the batch has
//! run [`BATCH_TIME`]) share one database transaction, which also stores their effects frame in
//! the outbox (see [`crate::link`]); other events get a transaction each. A frame is sent only
//! after its commit, and a new server resends what the portal has not confirmed, so every input
//! is applied and answered exactly once whatever moment the server dies at.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{PluginRegistry, Prepared};
use crate::cmd::CmdSet;
use crate::link::{self, Effects, Msg, PortalMsg, ServerMsg, Sessid, TARGET_FRAME_BYTES};
use crate::wasm::registry::PluginError;

use super::game::{Deferred, Game, QueuedCommand};
use super::hashing::HashPool;
use crate::shared::inflight::InflightMarker;

/// Everything the game loop reacts to.
pub enum GameEvent {
    /// A message from the portal.
    Portal(PortalMsg),
    /// A login's password check finished.
    PasswordChecked { sessid: Sessid, account: Option<u64>, ok: bool, ack: Option<(Sessid, u64)> },
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
        uid: u64,
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

/// Confirmed outbox frames are deleted in batches of this many (one DELETE per batch).
const PRUNE_BATCH: u64 = 32;

/// Consecutive deadline overruns after which a session's commands are slowed.
const OVERRUNS_BEFORE_SLOWING: u32 = 2;
/// Longest pause imposed between two commands of a session that keeps overrunning.
const MAX_SLOWDOWN: Duration = Duration::from_millis(500);

/// What the player whose commands are slowed is told (once per streak).
pub const SLOWED_TEXT: &str =
    "Your commands keep running past their time limit; your next commands are delayed so that other players are not held up.";

/// One unit of a session's queued work.
enum Work {
    Input { seq: u64, msg: Msg },
    Disconnect { seq: u64 },
}

/// A session's queued work and scheduling state.
#[derive(Default)]
struct SessionQueue {
    work: VecDeque<Work>,
    /// An earlier input of this session is being completed off the loop.
    busy: bool,
    /// In the ready ring.
    ready: bool,
    /// Consecutive commands cut off at the deadline.
    overruns: u32,
    /// Not to be served before this moment (slowed for overrunning).
    not_before: Option<Instant>,
    /// The session's address group (`Config::address_group`): whose turns it shares.
    group: String,
}

/// Ready sessions in service order, fair across address groups first: each turn goes to the
/// group at the front, to its first session; the group then goes to the back (if it has more
/// ready sessions), and so does the session within its group. An address with a hundred
/// sessions gets one turn per round, as an address with one does.
#[derive(Default)]
struct FairRing {
    order: VecDeque<String>,
    groups: HashMap<String, VecDeque<Sessid>>,
    len: usize,
}

impl FairRing {
    fn push_back(&mut self, group: &str, sessid: Sessid) {
        let members = match self.groups.get_mut(group) {
            Some(m) => m,
            None => {
                self.order.push_back(group.to_string());
                self.groups.entry(group.to_string()).or_default()
            }
        };
        members.push_back(sessid);
        self.len += 1;
    }

    fn pop_front(&mut self) -> Option<Sessid> {
        let group = self.order.pop_front()?;
        let members = self.groups.get_mut(&group)?;
        let sessid = members.pop_front();
        if members.is_empty() {
            self.groups.remove(&group);
        } else {
            self.order.push_back(group);
        }
        self.len -= usize::from(sessid.is_some());
        sessid
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The outbox's ids: the next to use, the last the portal confirmed, the last deleted; and the
/// frames sent without being stored.
///
/// A transaction that wrote nothing to the world (a `look`, a `say`: output and acks only) sends
/// its frames without storing them: if the server dies before the portal has them, the portal
/// still holds the inputs unacknowledged and the next server runs them again, which is safe
/// because they changed nothing. They are kept here until the portal confirms them, and the
/// next transaction that does write stores them first, in order: a stored frame acknowledging a
/// later input of a session must never be resent without the frames before it, or the new server
/// would take that session's earlier inputs for applied.
struct OutboxIds {
    next: u64,
    confirmed: u64,
    pruned: u64,
    unstored: std::collections::VecDeque<(u64, Vec<u8>)>,
    unstored_bytes: usize,
}

/// Frames (or bytes) sent unstored beyond which they are stored at once, whatever the portal's
/// confirmations do.
const MAX_UNSTORED_FRAMES: usize = 256;
const MAX_UNSTORED_BYTES: usize = 4 << 20;

/// The game thread's state.
pub struct GameLoop {
    game: Option<Game>,
    pub(super) plugins: PluginRegistry,
    merged: HashMap<u64, (Vec<Arc<CmdSet>>, Arc<CmdSet>)>,
    merged_generation: u64,
    /// Each session's merged cmdset and what it was computed from (see `cmdhandler`).
    pub(super) session_merges: HashMap<Sessid, (super::cmdhandler::MergeKey, Arc<CmdSet>)>,
    /// Sets lent by objects and the exits' generated sets, shared by every session near them
    /// (see `cmdhandler::LentSets`).
    pub(super) lent_sets: super::cmdhandler::LentSets,
    /// Outputs before this position have been through the session class's `data-out`.
    pub(super) out_mark: usize,
    /// The link towards the portal, written from this thread.
    out: link::LinkWriter,
    events: mpsc::Sender<GameEvent>,
    rt: tokio::runtime::Handle,
    hasher: HashPool,
    outbox: OutboxIds,
    /// Highest seq per session whose effects are already committed (from frames resent at
    /// start-up): the portal's replay of those inputs is skipped.
    applied: HashMap<Sessid, u64>,
    /// The session changes of the frames resent at start-up, applied to the handed-over
    /// sessions (`SyncAll`), which the portal sent before it had applied those frames.
    resent: super::resent::Resent,
    queues: HashMap<Sessid, SessionQueue>,
    /// Sessions with work to do, in service order.
    ring: FairRing,
    inflight: Option<InflightMarker>,
    /// The unit of work marked in flight: `(sessid, seq)` of an input, a disconnect or a
    /// deferred completion, `(sessid, 0)` for work on a session without an input, `(0, 0)` none.
    marked: (Sessid, u64),
    /// Set by the command handler when a guest call overran its deadline.
    pub(super) overran: bool,
    /// A test failpoint to fire when the current unit of work commits.
    pub(super) failpoint: Option<super::failpoint::Kind>,
    /// A test failpoint of an input whose completion was deferred (a password check): fired
    /// when that completion arrives (`during-check`) or commits (`after-commit`).
    completion_failpoint: Option<((Sessid, u64), super::failpoint::Kind)>,
    /// When the pending `Wake` timer fires, if one is pending.
    wake_at: Option<Instant>,
    /// Module timers' firing state (`server/timers.rs`).
    pub(super) timers: super::timers::TimerState,
}

impl GameLoop {
    /// A loop over a game whose modules are already loaded. `resent` is what the frames resent
    /// at start-up committed (acks and session changes); `outbox_next` is the next outbox id and
    /// `confirmed` the last one the portal has applied.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        game: Game,
        plugins: PluginRegistry,
        out: link::LinkWriter,
        events: mpsc::Sender<GameEvent>,
        rt: tokio::runtime::Handle,
        mut resent: super::resent::Resent,
        outbox_next: u64,
        confirmed: u64,
        inflight: Option<InflightMarker>,
    ) -> GameLoop {
        let cfg = &game.cfg;
        let hasher = HashPool::new(
            cfg.hash_threads,
            cfg.hash_queue,
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
        );
        let applied = std::mem::take(&mut resent.applied);
        let busy_timeout = Duration::from_millis(cfg.db_busy_timeout_ms);
        let mut game = game;
        if let Err(e) = game.world.set_busy_timeout(busy_timeout) {
            tracing::warn!(cause = %e, "cannot set the database busy timeout");
        }
        let mut this = GameLoop {
            game: Some(game),
            plugins,
            merged: HashMap::new(),
            merged_generation: 0,
            session_merges: HashMap::new(),
            lent_sets: Default::default(),
            out_mark: 0,
            out,
            events,
            rt,
            hasher,
            outbox: OutboxIds {
                next: outbox_next,
                confirmed,
                pruned: 0,
                unstored: Default::default(),
                unstored_bytes: 0,
            },
            applied,
            resent,
            queues: HashMap::new(),
            ring: FairRing::default(),
            inflight,
            marked: (0, 0),
            overran: false,
            failpoint: None,
            completion_failpoint: None,
            wake_at: None,
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
            let wait = match self.next_ready() {
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
        let due = Instant::now() + d;
        if self.wake_at.is_some_and(|w| w <= due && w > Instant::now()) {
            return;
        }
        self.wake_at = Some(due);
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
                self.outbox.confirmed = self.outbox.confirmed.max(upto);
                None
            }
            GameEvent::Wake => {
                self.wake_at = None;
                None
            }
            other => self.handle(other),
        }
    }

    fn enqueue(&mut self, sessid: Sessid, work: Work) {
        if !self.queues.contains_key(&sessid) {
            let game = self.game();
            let group = game
                .sessions
                .get(sessid)
                .map(|s| game.cfg.address_group_text(&s.data.address))
                .unwrap_or_default();
            self.queues.insert(sessid, SessionQueue { group, ..Default::default() });
        }
        let Some(q) = self.queues.get_mut(&sessid) else { return };
        q.work.push_back(work);
        if !q.busy && !q.ready {
            q.ready = true;
            self.ring.push_back(&q.group, sessid);
        }
    }

    /// The next session to serve, or how long to wait for one (None: until an event arrives).
    fn next_ready(&mut self) -> Result<Sessid, Option<Duration>> {
        let now = Instant::now();
        let mut earliest: Option<Instant> = None;
        for _ in 0..self.ring.len() {
            let Some(sessid) = self.ring.pop_front() else { break };
            let Some(q) = self.queues.get_mut(&sessid) else { continue };
            if q.busy || q.work.is_empty() {
                q.ready = false;
                continue;
            }
            match q.not_before {
                Some(t) if t > now => {
                    earliest = Some(earliest.map_or(t, |e| e.min(t)));
                    self.ring.push_back(&q.group, sessid);
                }
                _ => return Ok(sessid),
            }
        }
        Err(earliest.map(|t| t.saturating_duration_since(now)))
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
            next = self.next_ready().ok();
        }
        self.commit_and_send(None);
        self.mark(0, 0);
    }

    /// Mark the unit of work being run in the in-flight file (see `marked`), so that work that
    /// kills the server twice in a row is singled out and dropped by the portal.
    pub(super) fn mark(&mut self, sessid: Sessid, seq: u64) {
        if self.marked == (sessid, seq) {
            return;
        }
        self.marked = (sessid, seq);
        if let Some(m) = self.inflight.as_mut() {
            if sessid == 0 {
                m.clear();
            } else {
                m.set(sessid, seq);
            }
        }
    }

    /// Mark work done for `sessid` inside the current unit (a queued command, a session-class
    /// hook): the unit's own mark if it is the same session, else the session itself. Returns
    /// the mark to restore afterwards.
    pub(super) fn mark_for(&mut self, sessid: Sessid) -> (Sessid, u64) {
        let unit = self.marked;
        if unit.0 != sessid {
            self.mark(sessid, 0);
        }
        unit
    }

    /// Run one unit of a session's work inside the current transaction, then put the session
    /// back in the ring if it has more.
    fn serve(&mut self, sessid: Sessid) {
        let Some(work) = self.queues.get_mut(&sessid).and_then(|q| q.work.pop_front()) else {
            return;
        };
        let seq = match &work {
            Work::Input { seq, .. } | Work::Disconnect { seq } => *seq,
        };
        let replayed = self.applied.get(&sessid).is_some_and(|&a| seq <= a);
        if replayed {
            // Its effects were committed before this server started and have been resent.
            tracing::debug!(sessid, seq, "replayed input already applied; skipped");
        } else {
            self.mark(sessid, seq);
            self.game().hold_ack((sessid, seq));
            match work {
                Work::Input { msg, .. } => {
                    self.overran = false;
                    if let Some(kind) = super::failpoint::for_input(&msg) {
                        self.failpoint = Some(kind);
                    }
                    self.input(sessid, msg);
                    let deferred = !self.game().ack_is_held();
                    if deferred {
                        if let Some(kind) = self.failpoint.take() {
                            self.completion_failpoint = Some(((sessid, seq), kind));
                        }
                    }
                    self.after_input(sessid, deferred);
                }
                Work::Disconnect { .. } => {
                    super::failpoint::for_unit(super::failpoint::Unit::Disconnect);
                    self.game().portal_disconnect(sessid);
                    self.queues.remove(&sessid);
                    self.applied.remove(&sessid);
                }
            }
            self.end_unit();
        }
        let gone = self.game().sessions.get(sessid).is_none();
        if let Some(q) = self.queues.get_mut(&sessid) {
            if q.busy || q.work.is_empty() {
                q.ready = false;
                if gone && q.work.is_empty() && !q.busy {
                    // Disconnected from the server side: nothing more will come for it.
                    self.queues.remove(&sessid);
                }
            } else {
                self.ring.push_back(&q.group, sessid);
            }
        }
    }

    /// Bookkeeping after one input: busy while its ack is with a deferred job; slowed while its
    /// commands keep overrunning.
    fn after_input(&mut self, sessid: Sessid, deferred: bool) {
        let overran = std::mem::take(&mut self.overran);
        let deadline = Duration::from_millis(self.game().cfg.guest_deadline_ms.max(1));
        let Some(q) = self.queues.get_mut(&sessid) else { return };
        q.busy = deferred;
        if !overran {
            q.overruns = 0;
            q.not_before = None;
            return;
        }
        q.overruns += 1;
        if q.overruns < OVERRUNS_BEFORE_SLOWING {
            return;
        }
        let factor = 1u32 << (q.overruns - OVERRUNS_BEFORE_SLOWING).min(8);
        let pause = (deadline * 2 * factor).min(MAX_SLOWDOWN);
        q.not_before = Some(Instant::now() + pause);
        let first = q.overruns == OVERRUNS_BEFORE_SLOWING;
        if first {
            tracing::warn!(
                sessid,
                pause_ms = pause.as_millis() as u64,
                "session keeps overrunning; slowed"
            );
            self.game().msg_session(sessid, SLOWED_TEXT);
        }
    }

    /// The session's deferred work is done: it may be served again.
    fn unbusy(&mut self, ack: Option<(Sessid, u64)>) {
        let Some((sessid, _)) = ack else { return };
        if let Some(q) = self.queues.get_mut(&sessid) {
            q.busy = false;
            if !q.work.is_empty() && !q.ready {
                q.ready = true;
                self.ring.push_back(&q.group, sessid);
            }
        }
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
                    super::failpoint::for_unit(super::failpoint::Unit::Connect);
                    self.game().connect(data)
                }
                PortalMsg::SyncAll { sessions, fresh, last } => {
                    let n = sessions.len();
                    for data in sessions {
                        self.mark(data.sessid, 0);
                        if fresh.contains(&data.sessid) {
                            super::failpoint::for_unit(super::failpoint::Unit::Connect);
                            self.game().connect(data);
                        } else if let Some(data) = self.resent.bring_up_to_date(data) {
                            super::failpoint::for_unit(super::failpoint::Unit::Restore);
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
                super::failpoint::for_unit(super::failpoint::Unit::Login);
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
                    super::failpoint::for_unit(super::failpoint::Unit::Sweep);
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
        self.mark(0, 0);
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
        let Some((of, kind)) = self.completion_failpoint else { return };
        if ack != Some(of) {
            return;
        }
        self.completion_failpoint = None;
        match kind {
            super::failpoint::Kind::DuringCheck => super::failpoint::die(),
            kind => self.failpoint = Some(kind),
        }
    }

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

    /// End a transaction: store its effects in the outbox, commit, then send them (and `after`).
    pub(super) fn commit_and_send(&mut self, after: Option<ServerMsg>) {
        let effects = self.game().take_effects();
        self.out_mark = 0;
        let frames = if effects.is_empty() { vec![] } else { self.store_effects(effects) };
        if self.outbox.confirmed >= self.outbox.pruned + PRUNE_BATCH {
            let upto = self.outbox.confirmed;
            if let Err(e) = self.game().world.outbox_prune(upto) {
                tracing::warn!(cause = %e, "cannot prune the outbox");
            }
            self.outbox.pruned = upto;
        }
        if let Err(e) = self.game().world.commit() {
            // Memory and database may now disagree: only a restart (which reloads the world and
            // gets the unacknowledged input replayed) is safe. A busy, full or failing database
            // is not the fault of the work being run: it is unmarked, so that its replay after
            // the restart is not taken for poison and dropped.
            self.mark(0, 0);
            fatal(&format!("cannot commit a game event: {e}"));
        }
        match self.failpoint.take() {
            Some(super::failpoint::Kind::AfterCommit | super::failpoint::Kind::Poison) => {
                super::failpoint::die()
            }
            Some(super::failpoint::Kind::DuringCheck | super::failpoint::Kind::PoisonUnit(_)) => {}
            Some(super::failpoint::Kind::TruncatedFrame) => {
                if let Some(f) = frames.first() {
                    self.send_frame(&f[..f.len() / 2]);
                }
                super::failpoint::die();
            }
            None => {}
        }
        // Everything for the portal in one write.
        let mut frames = frames.into_iter();
        let mut batch = frames.next().unwrap_or_default();
        for frame in frames {
            batch.extend_from_slice(&frame);
        }
        if let Some(msg) = after {
            if let Err(e) = link::encode_frame_into(&mut batch, &msg) {
                fatal(&format!("cannot encode a link message: {e}"));
            }
        }
        if !batch.is_empty() {
            self.send_frame(&batch);
        }
    }

    /// Encode an event's effects (in parts if large, [`encode_effects_frames`]) and put them in
    /// the outbox, or keep them aside unstored when the transaction wrote nothing else (see
    /// [`OutboxIds`]).
    fn store_effects(&mut self, effects: Effects) -> Vec<Vec<u8>> {
        let frames = encode_effects_frames(self.outbox.next, effects);
        let confirmed = self.outbox.confirmed;
        while self.outbox.unstored.front().is_some_and(|(id, _)| *id <= confirmed) {
            if let Some((_, f)) = self.outbox.unstored.pop_front() {
                self.outbox.unstored_bytes -= f.len();
            }
        }
        let store = self.game().world.written_in_transaction()
            || self.outbox.unstored.len() >= MAX_UNSTORED_FRAMES
            || self.outbox.unstored_bytes >= MAX_UNSTORED_BYTES;
        if store {
            for (id, frame) in std::mem::take(&mut self.outbox.unstored) {
                self.put_in_outbox(id, &frame);
            }
            self.outbox.unstored_bytes = 0;
        }
        for frame in &frames {
            let id = self.outbox.next;
            self.outbox.next += 1;
            if store {
                self.put_in_outbox(id, frame);
            } else {
                self.outbox.unstored_bytes += frame.len();
                self.outbox.unstored.push_back((id, frame.clone()));
            }
        }
        frames
    }

    fn put_in_outbox(&mut self, id: u64, frame: &[u8]) {
        if let Err(e) = self.game().world.outbox_put(id, frame) {
            fatal(&format!("cannot store an effects frame in the outbox: {e}"));
        }
    }

    /// Send frames to the portal; waits while the link is backed up. A server that cannot reach
    /// the portal must not stay "up" and silent: it exits, so the portal restarts it and replays
    /// whatever was not acknowledged.
    fn send_frame(&mut self, frames: &[u8]) {
        use std::io::Write;
        if let Err(e) = self.out.write_all(frames) {
            fatal(&format!("link write failed: {e}"));
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
                        self.put_game(super::objclass::post_puppet_look(game, sessid));
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

    /// Start off-loop work the event asked for.
    fn start_deferred(&mut self) {
        for job in self.game().take_deferred() {
            match job {
                Deferred::CheckPassword { sessid, account, hash, password, ack } => {
                    let events = self.events.clone();
                    let job = Box::new(move |hasher: &mut super::hashing::PasswordHasher| {
                        let ok = hasher.verify(hash.as_deref(), &password);
                        let _ = events.blocking_send(GameEvent::PasswordChecked {
                            sessid,
                            account,
                            ok,
                            ack,
                        });
                    });
                    if self.hasher.submit(job).is_err() {
                        self.hashing_busy(sessid, ack);
                    }
                }
                Deferred::HashPassword { sessid, name, password, ack } => {
                    let events = self.events.clone();
                    let job = Box::new(move |hasher: &mut super::hashing::PasswordHasher| {
                        let hash = hasher.hash(&password);
                        let _ = events.blocking_send(GameEvent::PasswordHashed {
                            sessid,
                            name,
                            hash,
                            ack,
                        });
                    });
                    if self.hasher.submit(job).is_err() {
                        self.hashing_busy(sessid, ack);
                    }
                }
                Deferred::ChangePassword { sessid, uid, hash, old, new, invalid, ack } => {
                    let events = self.events.clone();
                    let job = Box::new(move |hasher: &mut super::hashing::PasswordHasher| {
                        // Evennia's order: a wrong old password is reported before a bad new one.
                        let outcome = if !hasher.verify(Some(&hash), &old) {
                            Err("The specified old password isn't correct.".to_string())
                        } else if let Some(why) = invalid {
                            Err(why)
                        } else {
                            hasher.hash(&new).map_err(|e| {
                                tracing::error!(sessid, cause = %e, "password hashing failed");
                                "|rAn error occurred. Please e-mail an admin if the problem persists.|n".to_string()
                            })
                        };
                        let _ = events.blocking_send(GameEvent::PasswordChanged {
                            sessid,
                            uid,
                            outcome,
                            ack,
                        });
                    });
                    if self.hasher.submit(job).is_err() {
                        tracing::warn!(
                            sessid,
                            "password hashing queue full; password change refused"
                        );
                        let game = self.game();
                        game.push_ack(ack);
                        game.msg_session(sessid, &format!("|R{}|n", super::hashing::BUSY_TEXT));
                        self.unbusy(ack);
                    }
                }
                // Part of the command's effects, stored and sent with them: asking at once would
                // reload before the command commits, and again when a crash replays it.
                Deferred::Reload { reason, by } => self.game().request_reload_effect(reason, by),
            }
        }
    }

    /// The hashing queue refused a job: the request is answered at once ("busy, try again") and
    /// its input acknowledged, as if the check had run.
    fn hashing_busy(&mut self, sessid: Sessid, ack: Option<(Sessid, u64)>) {
        tracing::warn!(sessid, "password hashing queue full; request refused");
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
        let names = report_names(&self.plugins);
        let classes = self.plugins.class_runner(None);
        let game = self.game();
        game.module_report = report;
        game.loaded_modules = names;
        game.objclass.runner = Some(classes);
    }

    /// The merged cmdset for a stack of sets, cached by identity until modules change.
    pub(super) fn merged(&mut self, stack: Vec<Arc<CmdSet>>) -> Arc<CmdSet> {
        if self.merged_generation != self.plugins.generation() {
            self.merged.clear();
            self.merged_generation = self.plugins.generation();
        }
        let key = crate::cmd::merge::fingerprint(&stack);
        if let Some((sets, merged)) = self.merged.get(&key) {
            if sets.len() == stack.len() && sets.iter().zip(&stack).all(|(a, b)| Arc::ptr_eq(a, b))
            {
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

/// Encode an event's effects as frames with consecutive outbox ids from `first_id`: one frame if
/// it fits [`TARGET_FRAME_BYTES`], else parts (see [`Effects::split`]), so that no amount of
/// output or session data makes a frame the link refuses. Encoded whole first: almost every
/// event fits one frame, and measuring before encoding would encode twice. A part that still
/// cannot be encoded is dropped with an error line, never a fatal exit.
pub fn encode_effects_frames(first_id: u64, effects: Effects) -> Vec<Vec<u8>> {
    let msg = ServerMsg::Effects { id: first_id, effects };
    let whole = link::encode_frame(&msg);
    let ServerMsg::Effects { effects, .. } = msg else { unreachable!("built above") };
    match whole {
        Ok(frame) if frame.len() <= TARGET_FRAME_BYTES => return vec![frame],
        Ok(_) => {}
        Err(e) => tracing::warn!(cause = %e, "an effects frame is too large for one frame; split"),
    }
    let mut frames = vec![];
    for part in effects.split(TARGET_FRAME_BYTES) {
        let id = first_id + frames.len() as u64;
        match link::encode_frame(&ServerMsg::Effects { id, effects: part }) {
            Ok(f) => frames.push(f),
            Err(e) => {
                tracing::error!(cause = %e, "a part of an effects frame cannot be encoded; dropped")
            }
        }
    }
    frames
}

/// Stop the server process at once after an error it cannot continue from safely. The portal
/// sees the link close, restarts the server, and replays every unacknowledged input; nothing
/// uncommitted was ever sent, so nothing is lost or doubled.
pub fn fatal(why: &str) -> ! {
    tracing::error!("fatal: {why}; the server exits and the portal restarts it");
    std::process::exit(70)
}

fn report_names(plugins: &PluginRegistry) -> std::collections::BTreeSet<String> {
    plugins.names().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_larger_than_a_link_frame_are_split_not_fatal() {
        // 40 outputs of 2 MiB: 80 MiB, more than a link frame may carry.
        let text = "x".repeat(2 << 20);
        let effects = Effects {
            acks: vec![(1, 7)],
            outputs: (0..40).map(|_| (1, Msg::text(text.clone()))).collect(),
            ..Default::default()
        };
        let frames = encode_effects_frames(10, effects);
        assert!(frames.len() > 1);
        let mut outputs = 0;
        for (i, f) in frames.iter().enumerate() {
            assert!(f.len() - 4 <= link::MAX_FRAME_BYTES);
            match link::decode_body::<ServerMsg>(&f[4..]).unwrap() {
                ServerMsg::Effects { id, effects } => {
                    assert_eq!(id, 10 + i as u64, "consecutive ids");
                    outputs += effects.outputs.len();
                    let last = i == frames.len() - 1;
                    assert_eq!(effects.acks.is_empty(), !last, "the ack rides in the last part");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(outputs, 40, "nothing was lost");
    }

    #[test]
    fn the_ring_takes_turns_by_address_group_then_by_session() {
        let mut ring = FairRing::default();
        // One address with four sessions, then two addresses with one each.
        for s in 1..=4 {
            ring.push_back("10.0.0.1", s);
        }
        ring.push_back("10.0.0.2", 5);
        ring.push_back("10.0.0.3", 6);
        assert_eq!(ring.len(), 6);
        let mut order = vec![];
        while let Some(s) = ring.pop_front() {
            order.push(s);
        }
        assert_eq!(order, [1, 5, 6, 2, 3, 4]);
        assert_eq!(ring.len(), 0);
    }
}
