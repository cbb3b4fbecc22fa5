//! The portal hub: one task that owns the portal's session table. It allocates sessids (from 1,
//! never reused while the portal runs), mirrors every session's sync data, keeps each session's
//! unacknowledged input in order, routes server output to connections, and hands the whole table
//! to each new server process.
//!
//! The hub never waits on anything but its own inbox: outputs go to connections with `try_send`
//! (a full outbox means a slow client, which is dropped) and messages to the server go into an
//! unbounded channel whose size is bounded by construction — every input in it also sits in a
//! session's bounded pending queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::limits::{self, Outbox};
use super::markup::RenderFlags;
use super::supervisor::SupervisorCmd;
use crate::config::Config;
use crate::link::{Effects, Msg, PortalMsg, ServerMsg, SessionData, Sessid, StartKind};
use crate::server::now_ms;
use crate::shutdown::ShutdownTrigger;

/// What a connection task is asked to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send a message, rendered with these flags.
    Msg(Msg, RenderFlags),
    /// Tell the player `reason` (if not empty) and close.
    Close(String),
}

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
        subprotocol: String,
        outbox: Outbox,
        reply: oneshot::Sender<Sessid>,
    },
    /// A decoded inbound message.
    Input { sessid: Sessid, msg: Msg },
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
    /// Time to disconnect sessions idle beyond `idle_timeout_secs`.
    IdleSweep,
}

struct PortalSession {
    data: SessionData,
    outbox: Outbox,
    /// Whether the current server knows this session (else it is "fresh" at the next sync).
    announced: bool,
    /// Inputs not yet acknowledged by a server, in order; resent to a new server.
    pending: VecDeque<(u64, Msg)>,
    /// Approximate bytes held in `pending` (bounded by `queued_input_bytes_per_session`).
    pending_bytes: usize,
    next_seq: u64,
}

struct ServerLink {
    link_id: u64,
    tx: mpsc::UnboundedSender<PortalMsg>,
    /// Told to reload or shut down: it reads nothing more, but its last effects still count.
    leaving: bool,
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
    /// Sessions that closed while no server was connected; the next server cleans them up.
    departed: Vec<SessionData>,
    next_start: StartKind,
    announce_restart: bool,
    supervisor: mpsc::UnboundedSender<SupervisorCmd>,
    shutdown: ShutdownTrigger,
    stopping: bool,
    server_starts: u64,
    stop_waiters: Vec<oneshot::Sender<String>>,
}

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
            departed: vec![],
            next_start: StartKind::Cold,
            announce_restart: false,
            supervisor,
            shutdown,
            stopping: false,
            server_starts: 0,
            stop_waiters: vec![],
        }
    }

    /// Process events until shutdown completes.
    pub async fn run(mut self, mut inbox: mpsc::Receiver<HubEvent>) {
        while let Some(event) = inbox.recv().await {
            if self.handle(event) {
                break;
            }
        }
        // Close every connection; their tasks flush the close frames.
        for (_, s) in std::mem::take(&mut self.sessions) {
            let _ = s.outbox.try_send(Outbound::Close("Server shutting down.".into()));
        }
        for w in self.stop_waiters.drain(..) {
            let _ = w.send("stopped".into());
        }
        self.shutdown.trigger();
    }

    /// Handle one event; true when the portal should exit.
    fn handle(&mut self, event: HubEvent) -> bool {
        match event {
            HubEvent::Connected { address, csessid, browser, subprotocol, outbox, reply } => {
                let sessid = self.next_sessid;
                self.next_sessid += 1;
                let data = new_session_data(sessid, address, csessid, browser.as_deref(), &subprotocol);
                let announced = self.to_server(PortalMsg::Connect(data.clone()));
                self.sessions.insert(
                    sessid,
                    PortalSession { data, outbox, announced, pending: VecDeque::new(), pending_bytes: 0, next_seq: 1 },
                );
                let _ = reply.send(sessid);
            }
            HubEvent::Input { sessid, msg } => self.input(sessid, msg),
            HubEvent::Closed { sessid } => {
                if let Some(s) = self.sessions.remove(&sessid) {
                    if s.announced && !self.to_server(PortalMsg::Disconnect { sessid }) {
                        self.departed.push(s.data);
                    }
                }
            }
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
                    self.server = None;
                    if self.next_start != StartKind::Reload && !self.stopping {
                        tracing::warn!("server link lost; queueing input until the server is back");
                        self.next_start = StartKind::Crash;
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
            HubEvent::IdleSweep => self.idle_sweep(),
            HubEvent::ServerStopped => {
                self.server_pid = None;
                return self.stopping;
            }
            HubEvent::Control { cmd, reply } => {
                let answer = match cmd {
                    ControlCmd::Reload(reason) => self.reload(&reason),
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

    /// Send to the server if one is connected and not leaving; false if not.
    fn to_server(&self, msg: PortalMsg) -> bool {
        self.server.as_ref().is_some_and(|s| !s.leaving && s.tx.send(msg).is_ok())
    }

    fn input(&mut self, sessid: Sessid, msg: Msg) {
        let cap = self.cfg.queued_inputs_per_session;
        let Some(s) = self.sessions.get_mut(&sessid) else { return };
        if s.pending.len() >= cap {
            tracing::warn!(sessid, cap, "input queue full; input refused");
            let _ = s.outbox.try_send(Outbound::Msg(Msg::text(QUEUE_FULL_TEXT), render_flags(&s.data)));
            return;
        }
        let size = limits::msg_bytes(&msg);
        if s.pending_bytes + size > self.cfg.queued_input_bytes_per_session {
            tracing::warn!(sessid, bytes = s.pending_bytes, "input byte budget exceeded; disconnecting");
            self.drop_session(sessid, limits::INPUT_BUDGET_REASON);
            return;
        }
        if !limits::is_keepalive(&msg, &self.cfg.idle_command) {
            // The portal's own idea of activity, so the idle sweep is right while no server is up.
            s.data.cmd_last_visible = now_ms();
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
        tracing::info!(pid, start = ?self.next_start, sessions = self.sessions.len(), "server connected");
        let start = self.next_start;
        self.announce_restart = start != StartKind::Cold && self.cfg.broadcast_server_restart_messages;
        let _ = tx.send(PortalMsg::Welcome { config: Box::new((*self.cfg).clone()), start });
        let departed = std::mem::take(&mut self.departed);
        let fresh: Vec<Sessid> =
            self.sessions.values().filter(|s| !s.announced).map(|s| s.data.sessid).collect();
        let mut all: Vec<SessionData> = self.sessions.values().map(|s| s.data.clone()).collect();
        all.extend(departed.iter().cloned());
        // Sessions the previous server knew that are still connected are "restored"; the ones
        // that connected in the gap are "fresh" and get their connection screen.
        let _ = tx.send(PortalMsg::SyncAll { sessions: all, fresh });
        for d in departed {
            let _ = tx.send(PortalMsg::Disconnect { sessid: d.sessid });
        }
        for s in self.sessions.values_mut() {
            s.announced = true;
            for (seq, msg) in &s.pending {
                let _ = tx.send(PortalMsg::Input { sessid: s.data.sessid, seq: *seq, msg: msg.clone() });
            }
        }
        self.server = Some(ServerLink { link_id, tx, leaving: false });
        self.server_pid = Some(pid);
        self.next_start = StartKind::Crash;
    }

    fn handle_server_msg(&mut self, msg: ServerMsg) -> bool {
        match msg {
            ServerMsg::Effects(e) => self.apply(e),
            ServerMsg::Synced => {
                if std::mem::take(&mut self.announce_restart) {
                    self.broadcast(" ... Server restarted.");
                }
            }
            ServerMsg::RequestReload { reason } => {
                self.reload(&reason);
            }
            ServerMsg::RequestShutdown { reason } => self.stop(&reason),
            ServerMsg::Hello { .. } => tracing::warn!("duplicate hello from the server; ignored"),
        }
        false
    }

    /// Apply one event's effects: outputs, then syncs, then disconnects, then acks.
    fn apply(&mut self, e: Effects) {
        let mut slow = vec![];
        for (sessid, msg) in e.outputs {
            let Some(s) = self.sessions.get(&sessid) else { continue };
            match s.outbox.try_send(Outbound::Msg(msg, render_flags(&s.data))) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(sessid),
                // The connection task has ended; its Closed event is on the way.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for data in e.syncs {
            if let Some(s) = self.sessions.get_mut(&data.sessid) {
                s.data = data;
            }
        }
        for (sessid, reason) in e.disconnects {
            if let Some(s) = self.sessions.remove(&sessid) {
                let _ = s.outbox.try_send(Outbound::Close(reason));
            }
        }
        for (sessid, seq) in e.acks {
            if let Some(s) = self.sessions.get_mut(&sessid) {
                if let Some(pos) = s.pending.iter().position(|(q, _)| *q == seq) {
                    if let Some((_, msg)) = s.pending.remove(pos) {
                        s.pending_bytes = s.pending_bytes.saturating_sub(limits::msg_bytes(&msg));
                    }
                }
            }
        }
        for sessid in slow {
            // Dropping the outbox makes the connection task close the socket.
            if self.sessions.remove(&sessid).is_some() {
                tracing::warn!(sessid, "slow client: outbound queue full; disconnecting");
                self.to_server(PortalMsg::Disconnect { sessid });
            }
        }
    }

    /// Disconnect a session on the portal's own initiative (a limit), telling the player why in
    /// the close frame and the server (now, or the next one) that it is gone.
    fn drop_session(&mut self, sessid: Sessid, reason: &str) {
        let Some(s) = self.sessions.remove(&sessid) else { return };
        let _ = s.outbox.try_send(Outbound::Close(reason.into()));
        if s.announced && !self.to_server(PortalMsg::Disconnect { sessid }) {
            self.departed.push(s.data);
        }
    }

    /// Evennia's IDLE_TIMEOUT sweep over the session mirror.
    fn idle_sweep(&mut self) {
        let now = now_ms();
        let idle: Vec<Sessid> = self
            .sessions
            .values()
            .filter(|s| limits::idle_expired(&s.data, now, &self.cfg))
            .map(|s| s.data.sessid)
            .collect();
        for sessid in idle {
            tracing::info!(sessid, "idle timeout exceeded; disconnecting");
            self.drop_session(sessid, limits::IDLE_REASON);
        }
    }

    fn broadcast(&self, text: &str) {
        for s in self.sessions.values() {
            let _ = s.outbox.try_send(Outbound::Msg(Msg::text(text), render_flags(&s.data)));
        }
    }

    fn reload(&mut self, reason: &str) -> String {
        if self.stopping {
            return "shutting down; reload ignored".into();
        }
        let Some(server) = self.server.as_mut().filter(|s| !s.leaving) else {
            return "the server is not connected; it is restarted automatically".into();
        };
        let _ = server.tx.send(PortalMsg::Reload { reason: reason.into() });
        server.leaving = true;
        if self.cfg.broadcast_server_restart_messages {
            let reason = if reason.is_empty() { String::new() } else { format!("(Reason: {reason}) ") };
            self.broadcast(&format!(" Server restart initiated {reason}..."));
        }
        tracing::info!(%reason, "server reload requested");
        let _ = self.supervisor.send(SupervisorCmd::ExpectExit);
        self.next_start = StartKind::Reload;
        "reloading".into()
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
        format!(
            "portal pid {}; server {server}; sessions {}; queued inputs {queued}; server starts {}; next sessid {}",
            std::process::id(),
            self.sessions.len(),
            self.server_starts,
            self.next_sessid
        )
    }
}

/// Render flags from a session's protocol flags.
fn render_flags(d: &SessionData) -> RenderFlags {
    let flag = |n: &str| d.protocol_flags.get(n).and_then(Value::as_bool).unwrap_or(false);
    RenderFlags { nocolor: flag("NOCOLOR"), raw: flag("RAW"), screenreader: flag("SCREENREADER") }
}

/// A new websocket session's data, with Evennia's websocket protocol flags.
fn new_session_data(
    sessid: Sessid,
    address: String,
    csessid: Option<String>,
    browser: Option<&str>,
    subprotocol: &str,
) -> SessionData {
    let now = now_ms();
    let mut flags = BTreeMap::new();
    for (k, v) in [
        ("ENCODING", Value::from("utf-8")),
        ("SCREENREADER", false.into()),
        ("INPUTDEBUG", false.into()),
        ("RAW", false.into()),
        ("NOCOLOR", false.into()),
        ("LOCALECHO", false.into()),
        ("UTF-8", true.into()),
        ("OOB", true.into()),
        ("TRUECOLOR", true.into()),
        ("XTERM256", true.into()),
        ("ANSI", true.into()),
        ("ISTYPING", true.into()),
    ] {
        flags.insert(k.to_string(), v);
    }
    flags.insert(
        "CLIENTNAME".into(),
        Value::from(format!("Evennia Webclient (websocket:{} [{subprotocol}])", browser.unwrap_or(""))),
    );
    SessionData {
        sessid,
        address,
        protocol_key: "websocket".into(),
        protocol_flags: flags,
        csessid,
        conn_time: now,
        cmd_last: now,
        cmd_last_visible: now,
        ..Default::default()
    }
}
