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
//!
//! This file holds the hub's state, its event loop and the client side (connect, inputs, flags,
//! close, the login timeout); the server side (hand-over, effects, poison) is in
//! `server_link.rs`, reload/stop/status in `admin.rs`, what a client brings (its session data,
//! its render flags, the cleaning of what it sends) in `client.rs`, the budget of output others
//! cause in `others.rs`.

mod admin;
mod client;
mod others;
mod server_link;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::limits::{self, LoginMark};
use super::outbox::{msg_bytes, CloseReason, OutMsg, Outbound, Outbox};
use super::subprotocol::Format;
use super::supervisor::{SupervisorCmd, SupervisorEvent};
use crate::config::Config;
use crate::link::{Msg, PortalMsg, ServerMsg, Sessid, SessionData, StartKind, PORTAL_FLAGS_CMD};
use crate::shared::clock::now_ms;
use crate::shutdown::ShutdownTrigger;
use client::{new_session_data, render_flags, sanitize_client_msg, sanitize_client_value};
use others::OthersBudget;
use server_link::{ServerLink, WaitingServer};

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

/// One session in the table: its mirrored data, its connection (while it lasts) and its
/// unacknowledged input.
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

impl PortalSession {
    fn send(&self, msg: Msg) {
        if let Some(o) = &self.outbox {
            let _ = o.try_send(Outbound::Msg(OutMsg::new(msg, render_flags(&self.data))));
        }
    }
}

/// The hub's state.
pub struct Hub {
    cfg: Arc<Config>,
    sessions: BTreeMap<Sessid, PortalSession>,
    /// The number the next session's id gets (from 1, never reused while the portal runs).
    next_sessid: u64,
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
                let sessid = Sessid::new(self.next_sessid);
                let data = new_session_data(sessid, address, csessid, browser.as_deref(), format);
                self.connect(data, outbox, mark);
                let _ = reply.send(sessid);
            }
            HubEvent::ConnectedTelnet { address, mut flags, outbox, mark, reply } => {
                flags.values_mut().for_each(sanitize_client_value);
                let sessid = Sessid::new(self.next_sessid);
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
                let accounts: std::collections::BTreeSet<crate::shared::ids::AccountId> = self
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
            HubEvent::ServerDown { link_id } => self.server_down(link_id),
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
        let sessid = Sessid::new(self.next_sessid);
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

    /// A client's input: queued in order (bounded in count and bytes), and sent on at once if a
    /// server is connected.
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
                tracing::warn!(%sessid, cap, suppressed, "input queue full; input refused");
            }
            s.send(Msg::text(QUEUE_FULL_TEXT));
            return;
        }
        let size = msg_bytes(&msg);
        if s.pending_bytes + size > self.cfg.queued_input_bytes_per_session {
            tracing::warn!(
                %sessid,
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
}
