//! Telnet connections for MUD clients (Mudlet, tintin++, MUSHclient, ...): the listener, then
//! one task per connection that negotiates options (`telnet/options.rs`), assembles input lines
//! (`telnet/lines.rs`) and GMCP messages (`telnet/gmcp.rs`) for the hub, and writes the hub's
//! output rendered to ANSI, with prompts ended by EOR or GA and everything after the client's
//! consent MCCP2-compressed.
//!
//! A telnet session is an ordinary hub session (`protocol_key` "telnet"): restarts, input
//! queueing, multisession and the outbox bound work as for websockets. Negotiation results that
//! arrive after the session started (a window resize) reach the session's flags through
//! [`HubEvent::Flags`]. Every buffer is bounded: the parser's (`telnet_subnegotiation_bytes`),
//! the line (`max_input_chars`), the input queued before the session starts
//! (`queued_inputs_per_session`), and the outbox (`outbox_frames`).

pub mod gmcp;
pub mod lines;
pub mod options;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use flate2::write::ZlibEncoder;
use libmudtelnet::telnet::op_option::{GMCP, MCCP2};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::hub::HubEvent;
use super::limits::{
    self, Admission, CommandRate, ConnectionGuard, ConnectionLimits, InboundBudget, InboundVerdict,
    RateVerdict,
};
use super::markup::{self, RenderFlags};
use super::outbox::{self, OutMsg, Outbound, OutboxReceiver, Rendering};
use super::websocket::accept_until_shutdown;
use super::websocket::TOO_LONG_TEXT;
use crate::config::Config;
use crate::link::{Msg, Sessid};
use crate::shutdown::Shutdown;
use lines::{Line, LineBuffer};
use options::{Event, Negotiator};

/// The line printed on stdout once the telnet listener is bound (tests read the port from it).
pub const LISTENING_PREFIX: &str = "mudhost portal listening on telnet://";

/// How long one write may take: a client that stops reading is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// When the telnet listener started (MSSP's UPTIME, unix seconds).
static STARTED: OnceLock<u64> = OnceLock::new();

/// Accept telnet connections until shutdown. Each connection task holds a clone of `alive`;
/// `limits` (shared with the websocket listener) admits, queues or refuses each connection.
pub async fn serve(
    listener: TcpListener,
    cfg: Arc<Config>,
    hub: mpsc::Sender<HubEvent>,
    shutdown: Shutdown,
    alive: mpsc::Sender<()>,
    limits: ConnectionLimits,
) {
    STARTED.get_or_init(|| crate::shared::clock::now_ms() / 1000);
    accept_until_shutdown("telnet", listener, shutdown, alive, move |stream, peer| {
        connection(stream, peer, cfg.clone(), hub.clone(), limits.clone())
    })
    .await
}

/// The write side: raw or MCCP2-compressed.
struct Output {
    wr: OwnedWriteHalf,
    zlib: Option<ZlibEncoder<Vec<u8>>>,
}

impl Output {
    /// Write bytes (compressed if MCCP2 is on, flushed so the client sees them now); false if
    /// the client is gone or too slow.
    async fn send(&mut self, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        let Some(z) = self.zlib.as_mut() else { return self.raw(bytes).await };
        // Writing into a Vec cannot fail; a sync flush ends the block so the client can inflate it.
        if z.write_all(bytes).and_then(|_| z.flush()).is_err() {
            return false;
        }
        let data = std::mem::take(z.get_mut());
        self.raw(&data).await
    }

    async fn raw(&mut self, bytes: &[u8]) -> bool {
        matches!(tokio::time::timeout(WRITE_TIMEOUT, self.wr.write_all(bytes)).await, Ok(Ok(())))
    }

    /// MCCP2 on: the start marker goes out uncompressed, everything after it compressed.
    async fn start_compression(&mut self) -> bool {
        if self.zlib.is_some() {
            return true;
        }
        let ok = self.send(&Negotiator::subnegotiation(MCCP2, &[])).await;
        self.zlib = Some(ZlibEncoder::new(Vec::new(), flate2::Compression::default()));
        ok
    }

    /// MCCP2 off: finish the compressed stream; plain bytes follow.
    async fn stop_compression(&mut self) -> bool {
        match self.zlib.take().map(|z| z.finish()) {
            Some(Ok(tail)) => self.raw(&tail).await,
            Some(Err(_)) => false,
            None => true,
        }
    }
}

/// One connection's state.
struct Conn {
    neg: Negotiator,
    out: Output,
    lines: LineBuffer,
    hub: mpsc::Sender<HubEvent>,
    cfg: Arc<Config>,
    /// The flags last reported to the hub (only changes are sent, so a flag the game set is
    /// not overwritten by an unrelated negotiation).
    reported: BTreeMap<String, Value>,
}

/// What came out of one read.
#[derive(Default)]
struct Inbound {
    /// Messages for the hub, in order.
    inputs: Vec<Msg>,
    /// The session flags changed.
    flags_changed: bool,
}

impl Conn {
    /// Parse received bytes: answer negotiations, collect input; false if a write failed.
    async fn receive(&mut self, data: &[u8], inbound: &mut Inbound) -> bool {
        let mut events = vec![];
        self.neg.receive(data, &mut events);
        for ev in events {
            let ok = match ev {
                Event::Send(bytes) => self.out.send(&bytes).await,
                Event::Data(bytes) => {
                    let mut lines = vec![];
                    self.lines.push(&bytes, &mut lines);
                    for line in lines {
                        match line {
                            Line::Text(t) => inbound.inputs.push(Msg::text(t)),
                            Line::TooLong => {
                                if !self.text(TOO_LONG_TEXT).await {
                                    return false;
                                }
                            }
                        }
                    }
                    true
                }
                Event::Gmcp(payload) => {
                    match gmcp::decode(&payload, self.cfg.max_input_depth) {
                        Ok(msg)
                            if super::wire::longest_string_arg(&msg) > self.cfg.max_input_chars =>
                        {
                            if !self.text(TOO_LONG_TEXT).await {
                                return false;
                            }
                        }
                        Ok(msg) => inbound.inputs.push(msg),
                        Err(e) => tracing::debug!(cause = %e, "GMCP message dropped"),
                    }
                    true
                }
                Event::StartCompression => self.out.start_compression().await,
                Event::StopCompression => self.out.stop_compression().await,
                Event::SendMssp => self.mssp().await,
                Event::FlagsChanged => {
                    inbound.flags_changed = true;
                    true
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// A plain text line from the portal itself (no markup).
    async fn text(&mut self, text: &str) -> bool {
        self.out.send(format!("{text}\r\n").as_bytes()).await
    }

    /// MSSP: the server's name, players online and start time.
    async fn mssp(&mut self) -> bool {
        let (tx, rx) = oneshot::channel();
        let players = match self.hub.send(HubEvent::Players { reply: tx }).await {
            Ok(()) => rx.await.unwrap_or(0),
            Err(_) => 0,
        };
        let uptime =
            STARTED.get().copied().unwrap_or_else(|| crate::shared::clock::now_ms() / 1000);
        let vars = [
            ("NAME", self.cfg.server_name.clone()),
            ("PLAYERS", players.to_string()),
            ("UPTIME", uptime.to_string()),
            ("CODEBASE", format!("mudhost {}", env!("CARGO_PKG_VERSION"))),
            ("ANSI", "1".into()),
            ("XTERM 256 COLORS", "1".into()),
            ("UTF-8", "1".into()),
            ("GMCP", "1".into()),
            ("MCCP", "1".into()),
        ];
        self.out.send(&Negotiator::mssp(&vars)).await
    }

    /// The negotiated flags that changed since the last report.
    fn changed_flags(&mut self) -> BTreeMap<String, Value> {
        let now = self.neg.flags();
        let changed: BTreeMap<String, Value> = now
            .iter()
            .filter(|(k, v)| self.reported.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.reported = now.clone();
        changed
    }

    /// Render one outbound message for the terminal.
    fn render(&mut self, sent: &OutMsg) -> Vec<u8> {
        let msg = &sent.msg;
        let mut out = vec![];
        // Evennia's `options={"echo": False}` on a text: the client stops echoing (a password
        // follows); `True` gives it back.
        let echo = msg.kwargs.get("options").and_then(|o| o.get("echo")).and_then(Value::as_bool);
        if let Some(echo) = echo {
            out.extend(self.neg.set_echo_off(!echo).unwrap_or_default());
        }
        match msg.cmd.as_str() {
            "text" | "prompt" => {
                // Rendered once per message (the outbox budget already needed its size).
                let text = match msg.args.first() {
                    Some(Value::String(_)) => sent.ansi_text().unwrap_or_default().to_owned(),
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                };
                out.extend(text.replace('\n', "\r\n").replace("\r\r\n", "\r\n").as_bytes());
                if msg.cmd == "text" {
                    out.extend(b"\r\n");
                } else {
                    out.extend(self.neg.prompt_end());
                }
            }
            cmd => {
                // Logged in: whatever a login prompt hid, the client echoes again.
                if cmd == "logged_in" {
                    out.extend(self.neg.set_echo_off(false).unwrap_or_default());
                }
                if self.neg.gmcp {
                    out.extend(Negotiator::subnegotiation(GMCP, gmcp::encode(msg).as_bytes()));
                }
            }
        }
        out
    }
}

/// Why a connection loop ended.
enum Ending {
    /// The client closed or vanished (or a write failed).
    ClientGone,
    /// We close, telling the player this first (Evennia's telnet sends the reason as text).
    Close(String),
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: Arc<Config>,
    hub: mpsc::Sender<HubEvent>,
    limits: ConnectionLimits,
) {
    let _ = stream.set_nodelay(true);
    // Telnet has no ping: TCP keepalive probes a silent connection every `ws_ping_secs`, so a
    // client that vanished (no FIN) is reaped after about three intervals.
    let every = Duration::from_secs(cfg.ws_ping_secs.max(1));
    let keepalive =
        socket2::TcpKeepalive::new().with_time(every).with_interval(every).with_retries(2);
    if let Err(e) = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(cause = %e, "cannot turn TCP keepalive on");
    }
    let (mut rd, mut wr) = stream.into_split();
    // Telnet has no proxy header: the peer is the client.
    let address = limits::client_address(peer, None, &cfg.trusted_proxies);
    let slot = match limits.admit(address) {
        Admission::Refused(text) => {
            limits::log_refused(&cfg, "telnet", address, text);
            let _ =
                tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(format!("{text}\r\n").as_bytes()))
                    .await;
            return;
        }
        Admission::Admitted { wait, guard } => {
            if !wait.is_zero() {
                tracing::debug!(%address, ?wait, "telnet connection queued by the connection rate");
                let text = limits::queued_text(&cfg.server_name, wait);
                if tokio::time::timeout(
                    WRITE_TIMEOUT,
                    wr.write_all(format!("{text}\r\n").as_bytes()),
                )
                .await
                .is_err()
                {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
            guard
        }
    };
    let mut conn = Conn {
        neg: Negotiator::new(cfg.telnet_subnegotiation_bytes),
        out: Output { wr, zlib: None },
        lines: LineBuffer::new(cfg.max_input_chars),
        hub: hub.clone(),
        cfg: cfg.clone(),
        reported: BTreeMap::new(),
    };
    let opening = conn.neg.start();
    if !conn.out.send(&opening).await {
        return;
    }
    let mut buf = vec![0u8; READ_CHUNK];
    let mut budget = InboundBudget::new(&cfg, &slot);

    // The handshake: wait (briefly) for the answers that shape the first screen. Input typed
    // meanwhile is kept, up to the session's input queue size.
    let mut early = Inbound::default();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(cfg.telnet_handshake_ms);
    while !conn.neg.handshake_done() {
        let n = tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        };
        let before = early.inputs.len();
        if !conn.receive(&buf[..n], &mut early).await {
            return;
        }
        let frames = conn.neg.take_frames() + (early.inputs.len() - before) as u64;
        match budget.charge(n as u64, frames) {
            InboundVerdict::Pass => {}
            // Paused here too: the session starts a little later.
            InboundVerdict::Pause(d) => tokio::time::sleep(d).await,
            InboundVerdict::Flood => {
                conn.text(limits::INPUT_FLOOD_REASON).await;
                return;
            }
        }
        early.inputs.truncate(cfg.queued_inputs_per_session);
    }

    let (out_tx, out_rx) = outbox::outbox(cfg.outbox_frames, cfg.outbox_bytes, Rendering::Ansi);
    let (reply_tx, reply_rx) = oneshot::channel();
    conn.reported = conn.neg.flags().clone();
    let connected = HubEvent::ConnectedTelnet {
        address: address.to_string(),
        flags: conn.reported.clone(),
        outbox: out_tx,
        mark: slot.login_mark(),
        reply: reply_tx,
    };
    if hub.send(connected).await.is_err() {
        return;
    }
    let Ok(sessid) = reply_rx.await else { return };
    let span = tracing::info_span!("session", %sessid);
    let session = Session { sessid, slot, budget, out_rx };
    tracing::Instrument::instrument(
        serve_session(conn, rd, buf, session, peer, early.inputs),
        span,
    )
    .await;
}

/// A telnet session's handles: its id, its place under the limits and its budgets, its outbox.
struct Session {
    sessid: Sessid,
    slot: ConnectionGuard,
    budget: InboundBudget,
    out_rx: OutboxReceiver,
}

/// Completes at `until`, or never.
async fn until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The connection's life once it is a session: bytes in, outbox out.
async fn serve_session(
    mut conn: Conn,
    mut rd: tokio::net::tcp::OwnedReadHalf,
    mut buf: Vec<u8>,
    session: Session,
    peer: SocketAddr,
    early: Vec<Msg>,
) {
    tracing::debug!(%peer, "telnet connected");
    let Session { sessid, slot, mut budget, mut out_rx } = session;
    let hub = conn.hub.clone();
    let mut rate = CommandRate::new(conn.cfg.command_rate);
    let mut forward = early;
    // Over the inbound budget: nothing more is read until then.
    let mut paused: Option<tokio::time::Instant> = None;
    // Flag changes go to the server at most once per `flags_interval_ms`, merged (latest value
    // wins): a client resizing (or faking resizes) in a loop makes few inputs.
    let flags_interval = Duration::from_millis(conn.cfg.flags_interval_ms);
    let mut flags_sent: Option<tokio::time::Instant> = None;
    let mut flags_due: Option<tokio::time::Instant> = None;
    let ending = 'session: loop {
        // A flag update still waiting goes first: input never overtakes a change made before it.
        if !forward.is_empty() && flags_due.take().is_some() {
            flags_sent = Some(tokio::time::Instant::now());
            let flags = conn.changed_flags();
            if !flags.is_empty() && hub.send(HubEvent::Flags { sessid, flags }).await.is_err() {
                break 'session Ending::ClientGone;
            }
        }
        for msg in forward.drain(..) {
            match limits::check_rates(&mut rate, &slot) {
                RateVerdict::Pass => {
                    if hub.send(HubEvent::Input { sessid, msg }).await.is_err() {
                        break 'session Ending::ClientGone;
                    }
                }
                RateVerdict::DropAndWarn => {
                    if !conn.text(limits::COMMAND_RATE_TEXT).await {
                        break 'session Ending::ClientGone;
                    }
                }
                RateVerdict::Drop => {}
            }
        }
        tokio::select! {
            _ = until(paused), if paused.is_some() => paused = None,
            _ = until(flags_due), if flags_due.is_some() => {
                flags_due = None;
                flags_sent = Some(tokio::time::Instant::now());
                let flags = conn.changed_flags();
                if !flags.is_empty() && hub.send(HubEvent::Flags { sessid, flags }).await.is_err() {
                    break Ending::ClientGone;
                }
            }
            r = rd.read(&mut buf), if paused.is_none() => {
                let n = match r {
                    Ok(0) | Err(_) => break Ending::ClientGone,
                    Ok(n) => n,
                };
                let mut inbound = Inbound::default();
                if !conn.receive(&buf[..n], &mut inbound).await {
                    break Ending::ClientGone;
                }
                let frames = conn.neg.take_frames() + inbound.inputs.len() as u64;
                match budget.charge(n as u64, frames) {
                    InboundVerdict::Pass => {}
                    InboundVerdict::Pause(d) => paused = Some(tokio::time::Instant::now() + d),
                    InboundVerdict::Flood => {
                        tracing::info!("inbound flood; disconnecting");
                        break Ending::Close(limits::INPUT_FLOOD_REASON.into());
                    }
                }
                if inbound.flags_changed && flags_due.is_none() {
                    let now = tokio::time::Instant::now();
                    flags_due = Some(flags_sent.map_or(now, |t| (t + flags_interval).max(now)));
                }
                forward = inbound.inputs;
            }
            out = out_rx.recv() => match out {
                Some(Outbound::Msg(out)) => {
                    // Rendered per connection: it depends on what this client negotiated.
                    let bytes = conn.render(&out);
                    if !conn.out.send(&bytes).await {
                        break Ending::ClientGone;
                    }
                }
                Some(Outbound::Close(reason)) => break Ending::Close(reason.into_text()),
                // The hub dropped us: our outbox overflowed (a slow client).
                None => break Ending::Close(limits::OUTPUT_BUDGET_REASON.into()),
            },
        }
    };
    if let Ending::Close(reason) = ending {
        if !reason.is_empty() {
            let text = markup::to_ansi(&reason, RenderFlags::default()).replace('\n', "\r\n");
            conn.text(&text).await;
        }
        let _ = conn.out.stop_compression().await;
        let _ = tokio::time::timeout(WRITE_TIMEOUT, conn.out.wr.shutdown()).await;
        let _ = hub.send(HubEvent::Closed { sessid }).await;
        // The connection's place is free from now: the wait below holds nothing back.
        drop(slot);
        // Read (and drop) what the client still sends until it closes too, briefly: a socket
        // closed with unread input is reset, and the reset can overtake the text saying why.
        let drained = async { while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(CLOSE_LINGER, drained).await;
    } else {
        let _ = hub.send(HubEvent::Closed { sessid }).await;
    }
    tracing::debug!("telnet closed");
}

/// How long a connection we close waits for the client to close its side.
const CLOSE_LINGER: Duration = Duration::from_secs(1);
