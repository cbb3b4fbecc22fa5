//! The portal hub: one task that owns the portal's session table. It allocates sessids (from 1,
//! never reused while the portal runs), mirrors every session's sync data, keeps each session's
//! unacknowledged input in order, routes server output to connections, and hands the whole table
//! to each new server process.
//!
//! The hub never waits on anything but its own inbox: outputs go to connections with `try_send`
//! (a full outbox means a slow client, which is dropped) and messages to the server go into an
//! unbounded channel whose size is bounded by construction — every input in it also sits in a
//! session's bounded pending queue.
//!
//! Exactly once: each effects frame from the server has an outbox id; the hub applies ids in
//! order, ignores any it has applied already (a new server resends what was not confirmed), and
//! confirms them with `Applied`. A session whose client has gone stays in the table, closed,
//! until the server has processed its queued input and then its disconnect.
//!
//! Poison input: when the server dies, the hub reads the in-flight marker (which unit of work it
//! was running). An input that was running at two crashes in a row is dropped and its player
//! told; a disconnect is applied here alone; work on a session that has no input (its
//! connection, its hand-over, an idle sweep) drops the session, whose player is told.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::limits::{self, LoginMark};
use super::markup::{self, RenderFlags};
use super::outbox::{msg_bytes, CloseReason, OutMsg, Outbound, Outbox};
use super::subprotocol::Format;
use super::supervisor::{SupervisorCmd, SupervisorEvent};
use crate::config::Config;
use crate::link::{
    Effects, Msg, PortalMsg, ProtocolFlags, ServerMsg, Sessid, SessionData, StartKind,
    PORTAL_FLAGS_CMD,
};
use crate::shared::clock::now_ms;
use crate::shutdown::ShutdownTrigger;

/// Admin requests from the control socket, signals, or the game.
#[derive(Debug, Clone)]
pub enum ControlCmd {
    /// Restart the server process.
    Reload(String),
    /// Shut everything down.
    Stop(String),
    /// Report state.
    Status,
}

/// Events the hub reacts to.
pub enum HubEvent {
    /// A websocket finished its handshake.
    Connected {
        address: String,
        csessid: Option<String>,
        browser: Option<String>,
        /// The websocket format the handshake chose.
        format: Format,
        outbox: Outbox,
        /// Tells the connection limits when the session logs in or out.
        mark: LoginMark,
        reply: oneshot::Sender<Sessid>,
    },
    /// A telnet connection finished its opening negotiation; `flags` are its protocol flags.
    ConnectedTelnet {
        address: String,
        flags: BTreeMap<String, Value>,
        outbox: Outbox,
        /// Tells the connection limits when the session logs in or out.
        mark: LoginMark,
        reply: oneshot::Sender<Sessid>,
    },
    /// A decoded inbound message.
    Input { sessid: Sessid, msg: Msg },
    /// Protocol flags the connection learned after the session started (a telnet window
    /// resize, a late terminal type): merged into the session's flags here and, in input
    /// order, on the server.
    Flags { sessid: Sessid, flags: BTreeMap<String, Value> },
    /// How many accounts are logged in (MSSP's PLAYERS).
    Players { reply: oneshot::Sender<usize> },
    /// A connection ended.
    Closed { sessid: Sessid },
    /// A server process connected and said hello.
    ServerUp { link_id: u64, pid: u32, tx: mpsc::UnboundedSender<PortalMsg> },
    /// A message from the server on link `link_id`.
    FromServer { link_id: u64, msg: ServerMsg },
    /// Link `link_id` closed.
    ServerDown { link_id: u64 },
    /// The supervisor started a server process.
    ServerSpawned { pid: u32 },
    /// The supervisor has stopped the server for good (shutdown).
    ServerStopped,
    /// An admin request; the reply is one line of text.
    Control { cmd: ControlCmd, reply: Option<oneshot::Sender<String>> },
}

impl From<SupervisorEvent> for HubEvent {
    fn from(e: SupervisorEvent) -> HubEvent {
        match e {
            SupervisorEvent::Spawned { pid } => HubEvent::ServerSpawned { pid },
            SupervisorEvent::Stopped => HubEvent::ServerStopped,
        }
    }
}

struct PortalSession {
    data: SessionData,
    /// The connection's outbox; None once the client has gone.
    outbox: Option<Outbox>,
    /// The connection's place in the limits, told whether the session is logged in.
    mark: Option<LoginMark>,
    /// When the session last was without a login (connected, or logged out; unix ms): the
    /// login timeout counts from it.
    unauth_since: u64,
    /// Whether the current server knows this session (else it is "fresh" at the next sync).
    announced: bool,
    /// Inputs not yet acknowledged by a server, in order; resent to a new server.
    pending: VecDeque<(u64, Msg)>,
    /// Approximate bytes held in `pending` (bounded by `queued_input_bytes_per_session`).
    pending_bytes: usize,
    next_seq: u64,
    /// The client has gone: the seq of its disconnect, which the server acknowledges after the
    /// session's queued input; the session leaves the table then.
    closed: Option<u64>,
    /// What output caused by other sessions it may still receive.
    others: OthersBudget,
}

/// A session's allowance for output that other sessions' input causes (`others_output_*`): a
/// token bucket of bytes as sent (rendered), so however colourful or long what others say,
/// a player's connection is asked to carry no more than it can be expected to read.
#[derive(Debug)]
struct OthersBudget {
    tokens: f64,
    refilled: Instant,
    /// When the player was last told output was dropped.
    told: Option<Instant>,
}

impl OthersBudget {
    fn new(cfg: &Config) -> OthersBudget {
        OthersBudget { tokens: others_burst(cfg), refilled: Instant::now(), told: None }
    }

    /// Take `bytes` from the bucket; false (nothing taken) if it does not hold them.
    fn take(&mut self, bytes: usize, cfg: &Config, now: Instant) -> bool {
        let rate = cfg.others_output_bytes_per_sec as f64;
        if rate == 0.0 {
            return true;
        }
        let burst = others_burst(cfg);
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.refilled = now;
        if self.tokens < bytes as f64 {
            return false;
        }
        self.tokens -= bytes as f64;
        true
    }

    /// Whether to tell the player about a drop now (at most once per [`DROP_NOTICE_EVERY`]).
    fn tell(&mut self, now: Instant) -> bool {
        if self.told.is_some_and(|t| now.saturating_duration_since(t) < DROP_NOTICE_EVERY) {
            return false;
        }
        self.told = Some(now);
        true
    }
}

/// The burst of others' output a session may receive: the configured one, but never more than
/// half its outbox, so others' output alone cannot get a player disconnected as a slow client.
fn others_burst(cfg: &Config) -> f64 {
    cfg.others_output_burst_bytes.min(cfg.outbox_bytes / 2) as f64
}

/// Told to a player when output caused by others is dropped (`others_output_bytes_per_sec`).
pub const OTHERS_OUTPUT_DROPPED_TEXT: &str =
    "Some output was dropped: other players' messages arrived faster than your connection may receive them.";

/// Shortest time between two [`OTHERS_OUTPUT_DROPPED_TEXT`] notices to one session.
const DROP_NOTICE_EVERY: Duration = Duration::from_secs(10);

impl PortalSession {
    fn send(&self, msg: Msg) {
        if let Some(o) = &self.outbox {
            let _ = o.try_send(Outbound::Msg(OutMsg::new(msg, render_flags(&self.data))));
        }
    }
}

struct ServerLink {
    link_id: u64,
    tx: mpsc::UnboundedSender<PortalMsg>,
    /// Told to reload or shut down: it reads nothing more, but its last effects still count.
    leaving: bool,
    /// Sessions this server was told are new (fresh in the hand-over, or `Connect`) that have
    /// not been sent anything by it yet: if it dies first (a server failing while it starts),
    /// they are new again to the next server, which shows them the connection screen.
    unconfirmed: BTreeSet<Sessid>,
}

/// A server that said hello while the previous link was still open.
struct WaitingServer {
    link_id: u64,
    pid: u32,
    tx: mpsc::UnboundedSender<PortalMsg>,
}

/// The hub's state.
pub struct Hub {
    cfg: Arc<Config>,
    sessions: BTreeMap<Sessid, PortalSession>,
    next_sessid: Sessid,
    server: Option<ServerLink>,
    /// Handed the sessions only once the previous link has closed, so no late frame of the old
    /// server can acknowledge input the new one has already been given.
    waiting_server: Option<WaitingServer>,
    server_pid: Option<u32>,
    next_start: StartKind,
    /// Newest outbox id applied; frames at or below it are duplicates.
    applied_outbox: u64,
    /// Newest outbox id confirmed to the server with `Applied`.
    confirmed_outbox: u64,
    /// The input that was running when the server last died, if it died running one.
    suspect: Option<(Sessid, u64)>,
    announce_restart: bool,
    supervisor: mpsc::UnboundedSender<SupervisorCmd>,
    shutdown: ShutdownTrigger,
    stopping: bool,
    server_starts: u64,
    stop_waiters: Vec<oneshot::Sender<String>>,
    /// Rate limit of the "input queue full" log line (a client can cause one per input).
    queue_full_log: crate::logline::LogLimiter,
    /// Where the config came from: a reload reads it again (`live_config`).
    config_source: Option<super::live_config::ConfigSource>,
    /// Keys changed in the file that wait for a full restart (shown by `status`).
    restart_pending: Vec<String>,
}

/// Text shown to a player whose input was running when the server died twice in a row.
pub const POISON_TEXT: &str =
    "Your last input was dropped: the server failed twice while running it. The game goes on.";

/// Text shown to a player whose session was closed because work on it (its connection screen,
/// its hand-over, an idle check) made the server fail twice in a row.
pub const SESSION_POISON_TEXT: &str =
    "Your session was closed: the server failed twice while handling it. Please connect again.";

/// The close reason of such a session.
pub const SESSION_POISON_REASON: &str = "the server failed twice while handling this session";

/// How a refused reload's answer starts (`mudhost reload` exits with an error on it).
pub const RELOAD_REFUSED: &str = "error: reload refused:";

/// Names the config keys whose change waits for a full restart (reload answers, `status`).
pub const RESTART_NOTE: &str = "needs a restart (mudhost stop, then start) to apply:";

/// Applied effects frames between two confirmations to the server.
const CONFIRM_EVERY: u64 = 32;

/// Most sessions' data in one hand-over frame (the frames are also kept under a byte budget).
const SYNC_CHUNK_SESSIONS: usize = 512;

/// Close reason (and telnet text) for a connection that did not log in within
/// `login_timeout_secs`, worded as Evennia's "idle timeout exceeded".
pub const LOGIN_TIMEOUT_TEXT: &str = "login timeout exceeded";

/// Text shown when a session's input queue is full.
pub const QUEUE_FULL_TEXT: &str =
    "Your input was not queued: too many commands are already waiting for the server. Please wait a moment and try again.";

impl Hub {
    /// A hub with no sessions and no server yet.
    pub fn new(
        cfg: Arc<Config>,
        supervisor: mpsc::UnboundedSender<SupervisorCmd>,
        shutdown: ShutdownTrigger,
    ) -> Hub {
        Hub {
            cfg,
            sessions: BTreeMap::new(),
            next_sessid: 1,
            server: None,
            waiting_server: None,
            server_pid: None,
            next_start: StartKind::Cold,
            applied_outbox: 0,
            confirmed_outbox: 0,
            suspect: None,
            announce_restart: false,
            supervisor,
            shutdown,
            stopping: false,
            server_starts: 0,
            stop_waiters: vec![],
            queue_full_log: crate::logline::LogLimiter::new(),
            config_source: None,
            restart_pending: vec![],
        }
    }

    /// Re-read the config from `source` at each reload (see `live_config`).
    pub fn with_config_source(mut self, source: super::live_config::ConfigSource) -> Hub {
        self.config_source = Some(source);
        self
    }

    /// Process events until shutdown completes; with a login timeout, sweep for connections
    /// that have not logged in every quarter of it (between 0.25 s and 5 s).
    pub async fn run(mut self, mut inbox: mpsc::Receiver<HubEvent>) {
        let timeout = std::time::Duration::from_secs(self.cfg.login_timeout_secs);
        let every = (timeout / 4)
            .clamp(std::time::Duration::from_millis(250), std::time::Duration::from_secs(5));
        let mut sweep = tokio::time::interval(every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                ev = inbox.recv() => ev,
                _ = sweep.tick(), if !timeout.is_zero() => {
                    self.login_sweep();
                    continue;
                }
            };
            let Some(event) = event else { break };
            if self.handle(event) {
                break;
            }
        }
        // Close every connection; their tasks flush the close frames.
        for (_, s) in std::mem::take(&mut self.sessions) {
            if let Some(o) = s.outbox {
                let _ = o.try_send(Outbound::Close(CloseReason::Shutdown));
            }
        }
        for w in self.stop_waiters.drain(..) {
            let _ = w.send("stopped".into());
        }
        self.shutdown.trigger();
    }

    /// Handle one event; true when the portal should exit.
    fn handle(&mut self, event: HubEvent) -> bool {
        match event {
            HubEvent::Connected { address, csessid, browser, format, outbox, mark, reply } => {
                let sessid = self.next_sessid;
                let data = new_session_data(sessid, address, csessid, browser.as_deref(), format);
                self.connect(data, outbox, mark);
                let _ = reply.send(sessid);
            }
            HubEvent::ConnectedTelnet { address, mut flags, outbox, mark, reply } => {
                flags.values_mut().for_each(sanitize_client_value);
                let sessid = self.next_sessid;
                let now = now_ms();
                let data = SessionData {
                    sessid,
                    address,
                    protocol_key: "telnet".into(),
                    protocol_flags: flags.into_iter().collect(),
                    conn_time: now,
                    cmd_last: now,
                    cmd_last_visible: now,
                    ..Default::default()
                };
                self.connect(data, outbox, mark);
                let _ = reply.send(sessid);
            }
            HubEvent::Input { sessid, mut msg } => {
                // Only the hub itself makes flag updates; a client cannot pose as the portal.
                if msg.cmd.trim().eq_ignore_ascii_case(PORTAL_FLAGS_CMD) {
                    return false;
                }
                sanitize_client_msg(&mut msg);
                self.input(sessid, msg)
            }
            HubEvent::Flags { sessid, mut flags } => {
                flags.values_mut().for_each(sanitize_client_value);
                self.flags(sessid, flags)
            }
            HubEvent::Players { reply } => {
                let accounts: std::collections::BTreeSet<u64> = self
                    .sessions
                    .values()
                    .filter(|s| s.closed.is_none() && s.data.logged_in)
                    .filter_map(|s| s.data.uid)
                    .collect();
                let _ = reply.send(accounts.len());
            }
            HubEvent::Closed { sessid } => self.close(sessid),
            HubEvent::ServerUp { link_id, pid, tx } => {
                if self.server.is_some() {
                    self.waiting_server = Some(WaitingServer { link_id, pid, tx });
                } else {
                    self.server_up(link_id, pid, tx);
                }
            }
            HubEvent::FromServer { link_id, msg } => {
                if self.server.as_ref().is_some_and(|s| s.link_id == link_id) {
                    return self.handle_server_msg(msg);
                }
            }
            HubEvent::ServerDown { link_id } => {
                if self.server.as_ref().is_some_and(|s| s.link_id == link_id) {
                    // Sessions stay "announced": their data is restored from this mirror, so
                    // the next server must not show them the connection screen again.
                    let leaving = self.server.as_ref().is_some_and(|s| s.leaving);
                    let unconfirmed = self.server.take().map(|s| s.unconfirmed).unwrap_or_default();
                    for sessid in unconfirmed {
                        if let Some(s) = self.sessions.get_mut(&sessid) {
                            s.announced = false;
                        }
                    }
                    if self.next_start != StartKind::Reload && !self.stopping {
                        tracing::warn!("server link lost; queueing input until the server is back");
                        self.next_start = StartKind::Crash;
                    }
                    if !leaving && !self.stopping {
                        self.check_poison();
                    }
                    if let Some(w) = self.waiting_server.take() {
                        self.server_up(w.link_id, w.pid, w.tx);
                    }
                } else if self.waiting_server.as_ref().is_some_and(|w| w.link_id == link_id) {
                    self.waiting_server = None;
                }
            }
            HubEvent::ServerSpawned { pid } => {
                self.server_pid = Some(pid);
                self.server_starts += 1;
            }
            HubEvent::ServerStopped => {
                self.server_pid = None;
                return self.stopping;
            }
            HubEvent::Control { cmd, reply } => {
                let answer = match cmd {
                    ControlCmd::Reload(reason) => self.reload(&reason, None),
                    ControlCmd::Stop(reason) => {
                        self.stop(&reason);
                        if let Some(r) = reply {
                            self.stop_waiters.push(r);
                        }
                        return false;
                    }
                    ControlCmd::Status => self.status(),
                };
                if let Some(r) = reply {
                    let _ = r.send(answer);
                }
            }
        }
        false
    }

    /// A new session: allocate its sessid (the next one), tell the server, start its queue.
    fn connect(&mut self, data: SessionData, outbox: Outbox, mark: LoginMark) {
        let sessid = self.next_sessid;
        self.next_sessid += 1;
        let announced = self.to_server(PortalMsg::Connect(data.clone()));
        if announced {
            if let Some(server) = self.server.as_mut() {
                server.unconfirmed.insert(sessid);
            }
        }
        self.sessions.insert(
            sessid,
            PortalSession {
                data,
                outbox: Some(outbox),
                mark: Some(mark),
                unauth_since: now_ms(),
                announced,
                pending: VecDeque::new(),
                pending_bytes: 0,
                next_seq: 1,
                closed: None,
                others: OthersBudget::new(&self.cfg),
            },
        );
    }

    /// Merge flags the connection learned into the session's mirror now (so output renders
    /// right at once), and queue them for the server like an input: they reach it in order, a
    /// new server after a restart too, and its syncs carry them from then on.
    fn flags(&mut self, sessid: Sessid, flags: BTreeMap<String, Value>) {
        let Some(s) = self.sessions.get_mut(&sessid) else { return };
        s.data.protocol_flags.extend(flags.clone());
        // With no server at all, nothing queued has been sent anywhere: a flag update waiting
        // last in the queue takes the new values (latest wins) instead of queueing another.
        if self.server.is_none() && s.closed.is_none() {
            if let Some((_, last)) = s.pending.back_mut().filter(|(_, m)| m.cmd == PORTAL_FLAGS_CMD)
            {
                let before = msg_bytes(last);
                last.kwargs.extend(flags);
                s.pending_bytes = (s.pending_bytes + msg_bytes(last)).saturating_sub(before);
                return;
            }
        }
        // A full queue keeps the mirror's flags only (the player is not told about a resize);
        // the next server gets them with the session table.
        if s.pending.len() >= self.cfg.queued_inputs_per_session {
            return;
        }
        let msg = Msg::oob(PORTAL_FLAGS_CMD, vec![], flags.into_iter().collect());
        self.input(sessid, msg);
    }

    /// Send to the server if one is connected and not leaving; false if not.
    fn to_server(&self, msg: PortalMsg) -> bool {
        self.server.as_ref().is_some_and(|s| !s.leaving && s.tx.send(msg).is_ok())
    }

    /// The client has gone. A session no server has seen and with nothing queued just goes;
    /// otherwise its disconnect queues behind its input, so that input still runs.
    fn close(&mut self, sessid: Sessid) {
        let Some(s) = self.sessions.get_mut(&sessid) else { return };
        if s.closed.is_some() {
            return;
        }
        s.outbox = None;
        s.mark = None;
        if !s.announced && s.pending.is_empty() {
            self.sessions.remove(&sessid);
            return;
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        s.closed = Some(seq);
        if s.announced {
            self.to_server(PortalMsg::Disconnect { sessid, seq });
        }
    }

    /// The server died while not asked to leave: if it was running the same unit of work at this
    /// crash and the one before, that unit is poison — drop it and tell its player. A unit is an
    /// input, a disconnect (`seq` is the session's closing seq) or a deferred completion
    /// (marked as its input), or work on the session itself (`seq` 0).
    fn check_poison(&mut self) {
        let running = super::inflight_marker(&self.cfg.data_dir);
        let Some((sessid, seq)) = running else {
            self.suspect = None;
            return;
        };
        if self.suspect != Some((sessid, seq)) {
            self.suspect = Some((sessid, seq));
            tracing::warn!(sessid, seq, "the server died while running this input");
            return;
        }
        self.suspect = None;
        let Some(s) = self.sessions.get_mut(&sessid) else { return };
        if seq == 0 || s.closed == Some(seq) {
            // Its disconnect, or work on the session itself: the session goes, here alone (the
            // next server is handed the table without it).
            let what = if seq == 0 { "work on the session" } else { "its disconnect" };
            tracing::error!(
                sessid,
                seq,
                what,
                "session dropped: the server died twice in a row while running it"
            );
            if let Some(s) = self.sessions.remove(&sessid) {
                s.send(Msg::text(SESSION_POISON_TEXT));
                if let Some(o) = s.outbox {
                    let _ = o.try_send(Outbound::Close(SESSION_POISON_REASON.into()));
                }
            }
            return;
        }
        let Some(pos) = s.pending.iter().position(|(q, _)| *q == seq) else { return };
        let (_, msg) = s.pending.remove(pos).expect("position is in range");
        let digest = digest(&msg);
        tracing::error!(
            sessid,
            seq,
            digest = %digest,
            cmd = %msg.cmd.chars().take(40).collect::<String>(),
            "input dropped: the server died twice in a row while running it"
        );
        s.send(Msg::text(POISON_TEXT));
        if s.closed == Some(seq) {
            self.sessions.remove(&sessid);
        }
    }

    fn input(&mut self, sessid: Sessid, msg: Msg) {
        crate::failpoint::portal_input(&msg);
        let cap = self.cfg.queued_inputs_per_session;
        let Some(s) = self.sessions.get_mut(&sessid) else { return };
        if s.closed.is_some() {
            return;
        }
        if s.pending.len() >= cap {
            let interval = std::time::Duration::from_secs(self.cfg.log_summary_secs.max(1));
            if let crate::logline::LogVerdict::Log { suppressed } =
                self.queue_full_log.check(interval)
            {
                tracing::warn!(sessid, cap, suppressed, "input queue full; input refused");
            }
            s.send(Msg::text(QUEUE_FULL_TEXT));
            return;
        }
        let size = msg_bytes(&msg);
        if s.pending_bytes + size > self.cfg.queued_input_bytes_per_session {
            tracing::warn!(
                sessid,
                bytes = s.pending_bytes,
                "input byte budget exceeded; disconnecting"
            );
            self.drop_session(sessid, limits::INPUT_BUDGET_REASON);
            return;
        }
        s.pending_bytes += size;
        let seq = s.next_seq;
        s.next_seq += 1;
        s.pending.push_back((seq, msg.clone()));
        if s.announced {
            if let Some(server) = self.server.as_ref().filter(|s| !s.leaving) {
                let _ = server.tx.send(PortalMsg::Input { sessid, seq, msg });
            }
        }
    }

    /// A new server said hello: give it the configuration, the session table, and every input it
    /// has not acknowledged, in order.
    fn server_up(&mut self, link_id: u64, pid: u32, tx: mpsc::UnboundedSender<PortalMsg>) {
        // A stop came while this server was starting (a restart gap): it gets nothing to play
        // with and exits at once, instead of serving until the supervisor's grace runs out.
        if self.stopping {
            tracing::info!(pid, "a server joined during shutdown; refused");
            let reason = "the game is shutting down".to_string();
            let _ = tx.send(PortalMsg::Refused { reason });
            return;
        }
        tracing::info!(pid, start = ?self.next_start, sessions = self.sessions.len(), "server connected");
        let start = self.next_start;
        self.announce_restart =
            start != StartKind::Cold && self.cfg.broadcast_server_restart_messages;
        let config = Box::new((*self.cfg).clone());
        let _ = tx.send(PortalMsg::Welcome { config, start, applied_outbox: self.applied_outbox });
        // Sessions the previous server knew are "restored"; the ones that connected in the gap
        // are "fresh" and get their connection screen. Sent in parts of bounded size, so no
        // number of sessions or size of their ndb makes the hand-over unsendable.
        let mut chunk: Vec<SessionData> = vec![];
        let mut fresh: Vec<Sessid> = vec![];
        let mut unconfirmed = BTreeSet::new();
        let mut bytes = 0;
        for s in self.sessions.values() {
            let n = crate::link::encoded_len(&s.data);
            if !chunk.is_empty()
                && (chunk.len() >= SYNC_CHUNK_SESSIONS
                    || bytes + n > crate::link::TARGET_FRAME_BYTES)
            {
                let sessions = std::mem::take(&mut chunk);
                let _ = tx.send(PortalMsg::SyncAll {
                    sessions,
                    fresh: std::mem::take(&mut fresh),
                    last: false,
                });
                bytes = 0;
            }
            bytes += n;
            if !s.announced {
                fresh.push(s.data.sessid);
                unconfirmed.insert(s.data.sessid);
            }
            chunk.push(s.data.clone());
        }
        let _ = tx.send(PortalMsg::SyncAll { sessions: chunk, fresh, last: true });
        for s in self.sessions.values_mut() {
            s.announced = true;
            for (seq, msg) in &s.pending {
                let _ = tx.send(PortalMsg::Input {
                    sessid: s.data.sessid,
                    seq: *seq,
                    msg: msg.clone(),
                });
            }
            if let Some(seq) = s.closed {
                let _ = tx.send(PortalMsg::Disconnect { sessid: s.data.sessid, seq });
            }
        }
        self.server = Some(ServerLink { link_id, tx, leaving: false, unconfirmed });
        self.server_pid = Some(pid);
        self.next_start = StartKind::Crash;
    }

    fn handle_server_msg(&mut self, msg: ServerMsg) -> bool {
        match msg {
            ServerMsg::Effects { id, effects } => {
                if id <= self.applied_outbox {
                    tracing::debug!(id, "effects frame already applied; ignored");
                } else {
                    self.apply(effects);
                    self.applied_outbox = id;
                    // Confirmations only let the server forget frames; sending one per batch
                    // saves a message per event (a new server learns the exact id in Welcome).
                    if id >= self.confirmed_outbox + CONFIRM_EVERY {
                        self.confirmed_outbox = id;
                        if let Some(server) = &self.server {
                            let _ = server.tx.send(PortalMsg::Applied { upto: id });
                        }
                    }
                }
            }
            ServerMsg::Synced => {
                if std::mem::take(&mut self.announce_restart) {
                    self.broadcast(" ... Server restarted.");
                }
            }
            ServerMsg::RequestReload { reason } => {
                self.reload(&reason, None);
            }
            ServerMsg::RequestShutdown { reason } => self.stop(&reason),
            ServerMsg::Hello { .. } => tracing::warn!("duplicate hello from the server; ignored"),
        }
        false
    }

    /// Apply one event's effects: outputs, then syncs, then disconnects, then acks, then the
    /// reload a command asked for.
    fn apply(&mut self, e: Effects) {
        let mut slow = vec![];
        // A broadcast arrives as the same message for each recipient in a row: they share one
        // `OutMsg`, so it is rendered once.
        let mut last: Option<Arc<OutMsg>> = None;
        if let Some(server) = self.server.as_mut().filter(|s| !s.unconfirmed.is_empty()) {
            // Anything this server did for the session (shown it something, ran its input,
            // changed its data) means it knows the session.
            let touched = e.outputs.iter().map(|(id, _)| *id).chain(e.acks.iter().map(|a| a.0));
            for sessid in touched.chain(e.syncs.iter().map(|d| d.sessid)) {
                server.unconfirmed.remove(&sessid);
            }
        }
        // Output to a session whose input this frame does not complete was caused by someone
        // (or something) else: it is held to the session's `others_output` budget. (Output to
        // a session whose input is in the frame is taken as its own; a frame split for size
        // carries its acks in its last part, so earlier parts count as others'.)
        let own: BTreeSet<Sessid> = e.acks.iter().map(|(s, _)| *s).collect();
        let now = Instant::now();
        for (sessid, msg) in e.outputs {
            let Some(s) = self.sessions.get_mut(&sessid) else { continue };
            let Some(outbox) = s.outbox.as_ref() else { continue };
            let flags = render_flags(&s.data);
            let out = match &last {
                Some(l) if l.flags == flags && l.msg == msg => l.clone(),
                _ => {
                    let out = OutMsg::new(msg, flags);
                    last = Some(out.clone());
                    out
                }
            };
            if !own.contains(&sessid)
                && !s.others.take(out.sent_bytes(outbox.rendering()), &self.cfg, now)
            {
                if s.others.tell(now) {
                    tracing::debug!(sessid, "output caused by others over the budget; dropped");
                    let notice = OutMsg::new(Msg::text(OTHERS_OUTPUT_DROPPED_TEXT), flags);
                    if let Err(mpsc::error::TrySendError::Full(_)) =
                        outbox.try_send(Outbound::Msg(notice))
                    {
                        slow.push(sessid);
                    }
                }
                continue;
            }
            match outbox.try_send(Outbound::Msg(out)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(sessid),
                // The connection task has ended; its Closed event is on the way.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for data in e.syncs {
            if let Some(s) = self.sessions.get_mut(&data.sessid) {
                if let Some(m) = &s.mark {
                    m.set(data.logged_in);
                }
                if s.data.logged_in && !data.logged_in {
                    s.unauth_since = now_ms();
                }
                s.data = data;
                // Flag updates the server has not run yet are newer than this sync.
                for (_, msg) in s.pending.iter().filter(|(_, m)| m.cmd == PORTAL_FLAGS_CMD) {
                    s.data
                        .protocol_flags
                        .extend(msg.kwargs.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        for c in e.counters {
            if let Some(s) = self.sessions.get_mut(&c.sessid) {
                c.apply_to(&mut s.data);
            }
        }
        for (sessid, reason) in e.disconnects {
            if let Some(s) = self.sessions.remove(&sessid) {
                if let Some(o) = s.outbox {
                    let _ = o.try_send(Outbound::Close(reason.into()));
                }
            }
        }
        for (sessid, seq) in e.acks {
            if let Some(s) = self.sessions.get_mut(&sessid) {
                if let Some(pos) = s.pending.iter().position(|(q, _)| *q == seq) {
                    if let Some((_, msg)) = s.pending.remove(pos) {
                        s.pending_bytes = s.pending_bytes.saturating_sub(msg_bytes(&msg));
                    }
                }
                if s.closed == Some(seq) {
                    self.sessions.remove(&sessid);
                }
            }
        }
        for sessid in slow {
            // Dropping the outbox makes the connection task close the socket.
            tracing::warn!(sessid, "slow client: outbound queue full; disconnecting");
            self.close(sessid);
        }
        if let Some(reason) = e.reload {
            self.reload(&reason, e.reload_by);
        }
    }

    /// Close connections that have not logged in within `login_timeout_secs` of connecting, with
    /// [`LOGIN_TIMEOUT_TEXT`]: idle strangers cannot hold the game's connections.
    fn login_sweep(&mut self) {
        let timeout_ms = self.cfg.login_timeout_secs.saturating_mul(1000);
        let now = now_ms();
        let expired: Vec<Sessid> = self
            .sessions
            .values()
            .filter(|s| s.closed.is_none() && s.outbox.is_some() && !s.data.logged_in)
            .filter(|s| now.saturating_sub(s.unauth_since) >= timeout_ms)
            .map(|s| s.data.sessid)
            .collect();
        if !expired.is_empty() {
            tracing::info!(
                sessions = expired.len(),
                "closing connections that did not log in in time"
            );
        }
        for sessid in expired {
            self.drop_session(sessid, LOGIN_TIMEOUT_TEXT);
        }
    }

    /// Disconnect a session on the portal's own initiative (a limit), telling the player why in
    /// the close frame and the server (now, or the next one) that it is gone.
    fn drop_session(&mut self, sessid: Sessid, reason: &str) {
        if let Some(o) = self.sessions.get(&sessid).and_then(|s| s.outbox.as_ref()) {
            let _ = o.try_send(Outbound::Close(reason.into()));
        }
        self.close(sessid);
    }

    fn broadcast(&self, text: &str) {
        for s in self.sessions.values() {
            s.send(Msg::text(text));
        }
    }

    /// Restart the server with the config re-read (`live_config`); `by` is the session whose
    /// command asked, told what the config changed or why it refuses the reload. The answer
    /// starts with [`RELOAD_REFUSED`] when nothing was done (a TOML error's snippet makes it
    /// several lines).
    fn reload(&mut self, reason: &str, by: Option<Sessid>) -> String {
        if self.stopping {
            return "shutting down; reload ignored".into();
        }
        // Read even when no server is connected (a crash restart's backoff, a reload under
        // way): the next server to start gets the new config.
        let config_note = match self.reread_config() {
            Ok(note) => note,
            Err(why) => {
                tracing::error!("reload refused: {why}; the game goes on with the old config");
                let text = format!(
                    "{RELOAD_REFUSED} {why}. The game goes on with the old config; fix the file and reload again."
                );
                if let Some(s) = by.and_then(|id| self.sessions.get(&id)) {
                    s.send(Msg::text(format!(
                        "|rReload refused:|n {}. The game goes on with the old config; fix the file and reload again.",
                        // Literal bars (a TOML error's snippet has them), not markup.
                        why.replace('|', "||")
                    )));
                }
                return text;
            }
        };
        let Some(server) = self.server.as_mut().filter(|s| !s.leaving) else {
            return format!(
                "the server is not connected; it is restarted automatically{config_note}"
            );
        };
        let _ = server.tx.send(PortalMsg::Reload { reason: reason.into() });
        server.leaving = true;
        if self.cfg.broadcast_server_restart_messages {
            let reason =
                if reason.is_empty() { String::new() } else { format!("(Reason: {reason}) ") };
            self.broadcast(&format!(" Server restart initiated {reason}..."));
        }
        tracing::info!(%reason, "server reload requested");
        let _ = self.supervisor.send(SupervisorCmd::ExpectExit);
        self.next_start = StartKind::Reload;
        // The superuser who typed `reload` learns what the config changed, as the CLI does.
        if let Some(s) =
            by.and_then(|id| self.sessions.get(&id)).filter(|_| !config_note.is_empty())
        {
            s.send(Msg::text(format!("Reloading{config_note}.")));
        }
        format!("reloading{config_note}")
    }

    /// Read the config file again and make it the one the next server gets (keys only the
    /// portal holds keep their value; see `live_config`). Returns a note for the caller.
    fn reread_config(&mut self) -> Result<String, String> {
        let Some(source) = &self.config_source else {
            return Ok(String::new());
        };
        let file = source.load().map_err(|e| e.to_string())?;
        let applied = super::live_config::apply(&self.cfg, file).map_err(|e| e.to_string())?;
        if !applied.restart.is_empty() {
            tracing::warn!(
                keys = %applied.restart.join(", "),
                "config keys changed that take effect only after a full restart (mudhost stop, then start); their old values stay in use"
            );
        }
        if !applied.live.is_empty() {
            tracing::info!(keys = %applied.live.join(", "), "config re-read: changed keys apply from this reload");
        }
        let mut note = String::new();
        if !applied.live.is_empty() {
            note += &format!("; config applied: {}", applied.live.join(", "));
        }
        if !applied.restart.is_empty() {
            note += &format!("; {RESTART_NOTE} {}", applied.restart.join(", "));
        }
        self.restart_pending = applied.restart;
        self.cfg = Arc::new(applied.config);
        Ok(note)
    }

    fn stop(&mut self, reason: &str) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        tracing::info!(%reason, "shutdown requested");
        let extra = if reason.is_empty() { String::new() } else { format!("{reason}\n") };
        self.broadcast(&format!("\nServer is being SHUT DOWN!\n{extra}"));
        self.to_server(PortalMsg::Shutdown { reason: reason.into() });
        if let Some(s) = self.server.as_mut() {
            s.leaving = true;
        }
        let _ = self.supervisor.send(SupervisorCmd::Stop);
    }

    fn status(&self) -> String {
        let server = match (&self.server, self.server_pid) {
            (Some(_), Some(pid)) => format!("up (pid {pid})"),
            (None, Some(pid)) => format!("starting (pid {pid})"),
            _ => "down".into(),
        };
        let queued: usize = self.sessions.values().map(|s| s.pending.len()).sum();
        let open = self.sessions.values().filter(|s| s.closed.is_none()).count();
        let pending = if self.restart_pending.is_empty() {
            String::new()
        } else {
            format!("; {RESTART_NOTE} {}", self.restart_pending.join(", "))
        };
        format!(
            "portal pid {}; server {server}; sessions {}; queued inputs {queued}; server starts {}; next sessid {}{pending}",
            std::process::id(),
            open,
            self.server_starts,
            self.next_sessid
        )
    }
}

/// Every string of a client's message — arguments and keyword names and values, at any depth —
/// made safe to keep and to show other players (`markup::neutralize_client_text`): no control
/// character, and no markup that could form a link. Done here, where the input of every
/// protocol meets, before it is queued: what the server (and a replay after a crash) sees is
/// already clean, whatever a command or hook later concatenates it with.
fn sanitize_client_msg(msg: &mut Msg) {
    msg.args.iter_mut().for_each(sanitize_client_value);
    sanitize_client_map(&mut msg.kwargs);
}

/// One value of a client message, made safe as [`sanitize_client_msg`] says.
fn sanitize_client_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(clean) = markup::neutralize_client_text(s) {
                *s = clean;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sanitize_client_value),
        Value::Object(o) => sanitize_client_map(o),
        _ => {}
    }
}

fn sanitize_client_map(map: &mut serde_json::Map<String, Value>) {
    if map.keys().any(|k| matches!(markup::neutralize_client_text(k), Cow::Owned(_))) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (markup::neutralize_client_text(&k).into_owned(), v))
            .collect();
    }
    map.values_mut().for_each(sanitize_client_value);
}

/// A short digest of an input, for logs that must not repeat what a player typed.
fn digest(msg: &Msg) -> String {
    use sha2::{Digest, Sha256};
    let bytes = rmp_serde::to_vec(msg).unwrap_or_default();
    Sha256::digest(&bytes).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Render flags from a session's protocol flags. Colour depth as Evennia's telnet: until the
/// terminal type is known (`TTYPE`), xterm 256 colours are assumed; after, ANSI / XTERM256 say.
fn render_flags(d: &SessionData) -> RenderFlags {
    let flag = |n: &str| d.protocol_flags.get(n).and_then(Value::as_bool).unwrap_or(false);
    let known = flag("TTYPE");
    let xterm256 = !known || flag("XTERM256");
    let ansi = !known || flag("ANSI");
    RenderFlags {
        nocolor: flag("NOCOLOR") || !(xterm256 || ansi),
        raw: flag("RAW"),
        screenreader: flag("SCREENREADER"),
        ansi16: !xterm256,
    }
}

/// A new websocket session's data, with Evennia's websocket protocol flags.
fn new_session_data(
    sessid: Sessid,
    address: String,
    csessid: Option<String>,
    browser: Option<&str>,
    format: Format,
) -> SessionData {
    let now = now_ms();
    let mut flags = ProtocolFlags::default();
    for (k, v) in [
        ("ENCODING", Value::from("utf-8")),
        ("SCREENREADER", false.into()),
        ("INPUTDEBUG", false.into()),
        ("RAW", false.into()),
        ("NOCOLOR", false.into()),
        ("LOCALECHO", false.into()),
        ("UTF-8", true.into()),
        ("OOB", format.supports_oob().into()),
        ("TRUECOLOR", true.into()),
        ("XTERM256", true.into()),
        ("ANSI", true.into()),
        ("ISTYPING", true.into()),
    ] {
        flags.insert(k, v);
    }
    flags.insert(
        "CLIENTNAME",
        Value::from(format!(
            "Evennia Webclient (websocket:{} [{}])",
            markup::neutralize_client_text(browser.unwrap_or("")),
            format.name()
        )),
    );
    SessionData {
        sessid,
        address,
        protocol_key: "websocket".into(),
        protocol_flags: flags,
        csessid: csessid.map(|c| markup::neutralize_client_text(&c).into_owned()),
        conn_time: now,
        cmd_last: now,
        cmd_last_visible: now,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_oob_flag_follows_the_format_not_its_name() {
        for (format, oob) in [(Format::V1, true), (Format::Json, true), (Format::Terminal, false)] {
            let d = new_session_data(1, "127.0.0.1".into(), None, None, format);
            assert_eq!(d.protocol_flags.get("OOB"), Some(&Value::Bool(oob)), "{format:?}");
            let name = d.protocol_flags.get("CLIENTNAME").and_then(Value::as_str).unwrap_or("");
            assert!(name.ends_with(&format!("[{}])", format.name())), "{name}");
        }
    }

    #[test]
    fn every_string_a_client_sends_is_cleaned_at_any_depth_keys_included() {
        let mut msg = Msg {
            cmd: "text".into(),
            args: vec![json!("say |lcquit|ltx|le\x1b[2J"), json!([{"a\u{9b}": ["b|"]}]), json!(3)],
            kwargs: [("k\x07".to_string(), json!({"n": "\u{9d}0;t"}))].into_iter().collect(),
        };
        sanitize_client_msg(&mut msg);
        assert_eq!(
            msg.args,
            [json!("say ||lcquit||ltx||le[2J"), json!([{"a": ["b||"]}]), json!(3)]
        );
        assert_eq!(msg.kwargs.get("k"), Some(&json!({"n": "0;t"})));
    }

    #[test]
    fn others_output_passes_within_the_burst_then_at_the_rate() {
        let cfg = Config {
            others_output_bytes_per_sec: 1000,
            others_output_burst_bytes: 4000,
            ..Config::default()
        };
        let mut b = OthersBudget::new(&cfg);
        let t0 = b.refilled;
        assert!(b.take(3000, &cfg, t0));
        assert!(!b.take(3000, &cfg, t0), "over the burst");
        assert!(b.take(1000, &cfg, t0));
        assert!(!b.take(500, &cfg, t0 + Duration::from_millis(400)));
        assert!(b.take(500, &cfg, t0 + Duration::from_millis(500)), "refilled at the rate");
        // Never more than the burst, however long the pause.
        assert!(!b.take(4001, &cfg, t0 + Duration::from_secs(100)));
        // Told at most once per interval.
        assert!(b.tell(t0) && !b.tell(t0 + Duration::from_secs(1)));
        assert!(b.tell(t0 + DROP_NOTICE_EVERY));
        // 0 = unlimited; the burst never exceeds half the outbox.
        let off = Config { others_output_bytes_per_sec: 0, ..cfg.clone() };
        assert!(OthersBudget::new(&off).take(usize::MAX, &off, t0));
        let small = Config { outbox_bytes: 2000, ..cfg };
        assert!(!OthersBudget::new(&small).take(1001, &small, t0));
    }
}
