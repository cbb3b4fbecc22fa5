//! Websocket connections: plain HTTP requests routed to the web client (`http.rs`), the
//! handshake (subprotocol, query string, forwarded address), the connection limits
//! (`limits.rs`), then one task per connection that decodes inbound frames for the hub and
//! writes the hub's output, with an outbox bounded in frames and bytes, a command rate, an input
//! length limit, and a ping that reaps dead connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::http::{self, Routed};
use super::hub::HubEvent;
use super::limits::{
    self, Admission, CommandRate, ConnectionLimits, InboundBudget, InboundVerdict, RateVerdict,
};
use super::outbox::{
    self, CloseReason, OutMsg, Outbound, OutboxReceiver, Rendering, SHUTDOWN_TEXT,
};
use super::subprotocol::{self, Format};
use super::wire;
use crate::config::Config;
use crate::shutdown::Shutdown;

/// Evennia's MAX_CHAR_LIMIT_WARNING.
pub const TOO_LONG_TEXT: &str =
    "You entered a string that was too long. Please break it up into multiple parts.";

/// How long one frame may take to go out: a client that stops reading is dropped, so its task
/// and socket do not linger once the hub has given up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most frames written before one flush.
const WRITE_BATCH: usize = 64;

/// Run one sink operation; false if the client is gone or too slow. Most complete at once
/// (the socket has room): a timer is armed only for one that has to wait, since arming one per
/// frame costs about as much as the write.
async fn timed<F>(op: F) -> bool
where
    F: std::future::Future<Output = Result<(), WsError>>,
{
    let mut op = std::pin::pin!(op);
    let first = std::future::poll_fn(|cx| match op.as_mut().poll(cx) {
        std::task::Poll::Ready(r) => std::task::Poll::Ready(Some(r)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await;
    match first {
        Some(r) => r.is_ok(),
        None => matches!(tokio::time::timeout(WRITE_TIMEOUT, op).await, Ok(Ok(()))),
    }
}

/// Write one frame and flush it; false if the client is gone or too slow. Boxed: a connection
/// task that awaits it is then sized by what it holds while idle, not by a write's state.
fn write<'a, S>(
    sink: &'a mut S,
    msg: Message,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin + Send,
{
    Box::pin(timed(sink.send(msg)))
}

/// Most bytes one read from a client takes (and the read buffer's starting size).
const READ_BUFFER_BYTES: usize = 512;

/// How a connection told to close ends: a portal shutting down is "going away" (1001), so
/// clients know to come back; any other close is normal.
fn closing(reason: CloseReason) -> Ending {
    match reason {
        CloseReason::Shutdown => Ending::Close(CloseCode::Away, SHUTDOWN_TEXT.into()),
        CloseReason::Text(text) => Ending::Close(CloseCode::Normal, text),
    }
}

/// Frames gathered before tungstenite writes them out without waiting for a flush.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Write `first` and everything else already queued, then flush once (one system call for a
/// burst of output, such as a busy room). Returns the close reason if a close request was
/// queued behind the messages; `Err` if the client is gone or too slow.
async fn write_queued<S>(
    sink: &mut S,
    format: Format,
    first: Arc<OutMsg>,
    queue: &mut OutboxReceiver,
) -> Result<Option<CloseReason>, ()>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let mut out = first;
    let mut close = None;
    // Bounded, so a connection whose queue refills as fast as it drains still flushes.
    for written in 1.. {
        if let Some(frame) = format.encode(&out) {
            if !timed(sink.feed(frame)).await {
                return Err(());
            }
        }
        if written >= WRITE_BATCH {
            break;
        }
        match queue.try_recv() {
            Some(Outbound::Msg(next)) => out = next,
            Some(Outbound::Close(reason)) => {
                close = Some(reason);
                break;
            }
            None => break,
        }
    }
    if !timed(sink.flush()).await {
        return Err(());
    }
    Ok(close)
}

/// Accept connections until shutdown. Each connection task holds a clone of `alive`, so the
/// portal can wait for all of them to finish. `limits` is shared with the telnet listener: the
/// connection caps count every protocol.
pub async fn serve(
    listener: TcpListener,
    cfg: Arc<Config>,
    hub: mpsc::Sender<HubEvent>,
    shutdown: Shutdown,
    alive: mpsc::Sender<()>,
    limits: ConnectionLimits,
) {
    accept_until_shutdown("websocket", listener, shutdown, alive, move |stream, peer| {
        connection(stream, peer, cfg.clone(), hub.clone(), limits.clone())
    })
    .await
}

/// Accept connections until shutdown, backing off while accept fails, and serve each in a task
/// of its own that holds a clone of `alive` (so the portal can wait for all of them).
pub async fn accept_until_shutdown<F, Fut>(
    kind: &'static str,
    listener: TcpListener,
    mut shutdown: Shutdown,
    alive: mpsc::Sender<()>,
    serve_one: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut backoff = AcceptBackoff::default();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => { backoff.reset(); x }
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    backoff.wait(kind, &e).await;
                    continue;
                }
            },
            _ = shutdown.wait() => return,
        };
        // `map`, not an `async` block awaiting `task`: such a block can hold the future twice
        // (captured and being awaited), doubling every connection's task.
        let alive = alive.clone();
        tokio::spawn(serve_one(stream, peer).map(move |()| drop(alive)));
    }
}

/// Exponential backoff for accept loops that fail (out of file descriptors, ...): a failing
/// accept returns at once, so retrying without a pause spins a core at 100 %.
#[derive(Debug)]
pub struct AcceptBackoff {
    delay: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        AcceptBackoff { delay: Self::FIRST }
    }
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    /// Log the failure and sleep, twice as long as last time (up to a second).
    pub async fn wait(&mut self, listener: &str, cause: &std::io::Error) {
        let delay = self.next_delay();
        tracing::warn!(listener, %cause, delay_ms = delay.as_millis() as u64, "accept failed; backing off");
        tokio::time::sleep(delay).await;
    }

    /// The pause after this failure; the next one doubles it, up to [`Self::MAX`].
    fn next_delay(&mut self) -> Duration {
        let delay = self.delay;
        self.delay = (self.delay * 2).min(Self::MAX);
        delay
    }

    /// An accept succeeded: the next failure starts from the shortest pause again.
    pub fn reset(&mut self) {
        self.delay = Self::FIRST;
    }
}

#[derive(Default)]
struct Handshake {
    query: Option<String>,
    format: Format,
    /// The `X-Forwarded-For` header (believed only from a trusted proxy).
    forwarded_for: Option<String>,
    /// Origins allowed besides the page's own (`allowed_origins`).
    allowed_origins: Vec<String>,
}

/// Told (HTTP 403) to a browser whose page is on an origin not allowed to connect.
pub const ORIGIN_REFUSED_TEXT: &str = "This page's origin may not connect to this game.";

/// Whether a handshake's `Origin` may connect. No Origin is not a browser (MUD clients,
/// scripts): allowed, the other limits apply. A browser may connect from the page's own origin
/// (http or https on the host named by the `Host` header) and from the configured ones; any
/// other, "null" (a sandboxed or local page) included, is refused, so another site's page
/// cannot use its visitors' browsers (and addresses) to connect.
fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin.map(str::trim) else { return true };
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
        && host.is_some_and(|h| rest.eq_ignore_ascii_case(h.trim()))
}

/// An error answer to a handshake, well-formed: its body announced with its length.
#[allow(clippy::result_large_err)]
fn refusal(status: StatusCode, text: String) -> ErrorResponse {
    let len = text.len();
    let mut r = ErrorResponse::new(Some(text));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
    r.headers_mut().insert("content-length", HeaderValue::from(len));
    r.headers_mut().insert("connection", HeaderValue::from_static("close"));
    r
}

/// Choose the subprotocol (`subprotocol.rs`): the first we speak in our order of preference,
/// echoed; none offered → v1 with nothing echoed; only ones we do not speak → the handshake is
/// refused (HTTP 400 naming the ones we speak, SPEC §3).
// The error type is tungstenite's callback contract.
#[allow(clippy::result_large_err)]
fn choose_subprotocol(
    req: &Request,
    mut resp: Response,
    hs: &mut Handshake,
) -> Result<Response, ErrorResponse> {
    hs.query = req.uri().query().map(str::to_owned);
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if !origin_allowed(header("origin"), header("host"), &hs.allowed_origins) {
        let origin = crate::logline::clip(header("origin").unwrap_or(""), 100);
        tracing::debug!(%origin, "websocket handshake from a page on another origin; refused");
        return Err(refusal(StatusCode::FORBIDDEN, format!("{ORIGIN_REFUSED_TEXT}\n")));
    }
    // Several headers are one comma-separated list; the right-most entries are the nearest hops.
    let forwarded: Vec<&str> =
        req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    if !forwarded.is_empty() {
        hs.forwarded_for = Some(forwarded.join(","));
    }
    let offered: Vec<String> = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let (format, echo) = Format::negotiate(&offered);
    hs.format = format;
    match echo {
        Some(name) => {
            resp.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(name));
        }
        None if !offered.is_empty() => {
            // SPEC §3: an offered-but-unknown protocol is refused cleanly (a client that asked
            // for a protocol would misread any other), with what we do speak.
            let offered = crate::logline::clip(&offered.join(", "), 200);
            tracing::debug!(%offered, "no websocket subprotocol we speak offered; refused");
            return Err(refusal(StatusCode::BAD_REQUEST, subprotocol::refusal_text()));
        }
        None => {}
    }
    Ok(resp)
}

/// Evennia's positional query string `?<csessid>&<cuid>&<browser>`.
fn parse_query(query: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(q) = query else { return (None, None) };
    let mut parts = q.splitn(3, '&');
    let csessid = parts.next().filter(|s| !s.is_empty() && *s != "false").map(str::to_owned);
    let _cuid = parts.next();
    let browser = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    (csessid, browser)
}

/// Why a connection loop ended, and what to tell the client.
enum Ending {
    /// The client closed or vanished.
    ClientGone,
    /// We close with this code and reason.
    Close(CloseCode, String),
}

fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: Arc<Config>,
    hub: mpsc::Sender<HubEvent>,
    limits: ConnectionLimits,
) -> impl std::future::Future<Output = ()> + Send {
    // The handshake's state (request head, handshake machine, timers) is large and short-lived:
    // boxed (`open`), it is freed when the session starts. Chained with `then`, not awaited in
    // an `async` body, which would keep room for the opened connection beside the session's
    // future: the task is the size of the session loop and no more.
    open(stream, peer, cfg.clone(), hub.clone(), limits).then(move |opened| match opened {
        Some(opened) => futures_util::future::Either::Left(serve_session(opened, peer, cfg, hub)),
        None => futures_util::future::Either::Right(std::future::ready(())),
    })
}

/// A websocket session that has been admitted and announced to the hub.
struct Opened {
    ws: tokio_tungstenite::WebSocketStream<http::Replayed>,
    format: Format,
    sessid: crate::link::Sessid,
    outbox: OutboxReceiver,
    /// What the connection reads, counted as it is read.
    meter: Arc<http::Meter>,
    /// The connection's place under the connection caps, held for its life.
    _slot: limits::ConnectionGuard,
}

/// The request head, the websocket handshake, admission and the hub's welcome; None if the
/// connection ended on the way (refused, timed out, gone).
fn open(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: Arc<Config>,
    hub: mpsc::Sender<HubEvent>,
    limits: ConnectionLimits,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Opened>> + Send>> {
    Box::pin(async move { opening(stream, peer, &cfg, &hub, &limits).await })
}

async fn opening(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: &Config,
    hub: &mpsc::Sender<HubEvent>,
    limits: &ConnectionLimits,
) -> Option<Opened> {
    let Some(handshaking) = limits.begin_handshake(peer.ip()) else {
        tracing::debug!(%peer, "too many handshakes in progress from this address or in all; closed at once");
        return None;
    };
    // A newcomer from a lighter address may take this handshake's place: then it just ends.
    let shaken = async {
        tokio::select! {
            ws = handshake(stream, peer, cfg) => ws,
            _ = handshaking.evicted() => {
                tracing::debug!(%peer, "handshake gave its place to a newcomer; closed");
                None
            }
        }
    };
    let (mut ws, hs) = shaken.await?;
    drop(handshaking);
    let meter = ws.get_mut().meter();
    let address = limits::client_address(peer, hs.forwarded_for.as_deref(), &cfg.trusted_proxies);
    let slot = match limits.admit(address) {
        Admission::Refused(text) => {
            limits::log_refused(cfg, "websocket", address, text);
            if write(&mut ws, hs.format.notice(text)).await {
                let close = CloseFrame { code: CloseCode::Again, reason: text.to_string().into() };
                write(&mut ws, Message::Close(Some(close))).await;
            }
            return None;
        }
        Admission::Admitted { wait, guard } => {
            if !wait.is_zero() {
                tracing::debug!(%address, ?wait, "connection queued by the connection rate");
                let text = limits::queued_text(&cfg.server_name, wait);
                if !write(&mut ws, hs.format.notice(text)).await {
                    return None;
                }
                tokio::time::sleep(wait).await;
            }
            guard
        }
    };
    let (csessid, browser) = parse_query(hs.query.as_deref());
    let rendering = if hs.format == Format::V1 { Rendering::Html } else { Rendering::Ansi };
    let (out_tx, out_rx) = outbox::outbox(cfg.outbox_frames, cfg.outbox_bytes, rendering);
    let (reply_tx, reply_rx) = oneshot::channel();
    let connected = HubEvent::Connected {
        address: address.to_string(),
        csessid,
        browser,
        format: hs.format,
        outbox: out_tx,
        mark: slot.login_mark(),
        reply: reply_tx,
    };
    hub.send(connected).await.ok()?;
    let sessid = reply_rx.await.ok()?;
    Some(Opened { ws, format: hs.format, sessid, outbox: out_rx, meter, _slot: slot })
}

/// The request head and the websocket handshake, within `handshake_timeout_ms`; None if the
/// connection was answered otherwise (a page, a refusal) or failed.
async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    cfg: &Config,
) -> Option<(tokio_tungstenite::WebSocketStream<http::Replayed>, Handshake)> {
    let _ = stream.set_nodelay(true);
    // One deadline for the request head and the whole handshake: a client trickling bytes
    // cannot hold its task (or its buffer) longer than that.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(cfg.handshake_timeout_ms);
    let stream = match http::route(stream, cfg, deadline).await {
        Routed::Upgrade(stream) => stream,
        Routed::Done => return None,
    };
    // Buffers start small and grow on demand up to the frame cap: the defaults (128 KiB read
    // buffer per connection) cost 160 MiB of portal memory at 1000 players, and even 4 KiB is
    // the largest item of an idle connection. Clients send short frames (a command line); a
    // longer one is read in more, smaller reads. Written frames gather in the write buffer (it
    // grows only as far as a burst needs) until `write_queued` flushes: one system call per
    // burst instead of one per frame.
    let ws_cfg = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(cfg.max_frame_bytes))
        .max_frame_size(Some(cfg.max_frame_bytes));
    let mut hs = Handshake { allowed_origins: cfg.allowed_origins.clone(), ..Default::default() };
    #[allow(clippy::result_large_err)]
    let accept = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |req: &Request, resp: Response| choose_subprotocol(req, resp, &mut hs),
        Some(ws_cfg),
    );
    let ws = match tokio::time::timeout_at(deadline, accept).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(%peer, cause = %e, "websocket handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(%peer, "websocket handshake timed out");
            return None;
        }
    };
    Some((ws, hs))
}

/// Completes at `until` (boxed, and only while paused: an idle session's task does not carry
/// a timer).
fn resume(
    until: Option<tokio::time::Instant>,
) -> futures_util::future::Either<std::pin::Pin<Box<tokio::time::Sleep>>, std::future::Pending<()>>
{
    match until {
        Some(t) => futures_util::future::Either::Left(Box::pin(tokio::time::sleep_until(t))),
        None => futures_util::future::Either::Right(std::future::pending()),
    }
}

/// The connection's life after the handshake: frames in, outbox out, pings. Its log lines
/// carry the session id as a field rather than through a span, which would be held (and
/// stored by the subscriber) for the connection's whole life. Every wait inside the loop (a
/// write, see [`write`]; a full hub queue) is boxed: an idle connection's task is sized by what
/// it holds while waiting for input, not by the largest thing it might do.
async fn serve_session(
    opened: Opened,
    peer: SocketAddr,
    cfg: Arc<Config>,
    hub: mpsc::Sender<HubEvent>,
) {
    let Opened { ws, format, sessid, outbox: mut out_rx, meter, _slot } = opened;
    tracing::debug!(%peer, %sessid, "websocket connected");

    let (mut sink, mut frames) = ws.split();
    let ping_every = Duration::from_secs(cfg.ws_ping_secs.max(1));
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let max_chars = cfg.max_input_chars;
    let max_depth = cfg.max_input_depth;
    let mut rate = CommandRate::new(cfg.command_rate);
    let mut budget = InboundBudget::new(&cfg, &_slot);
    // Over the inbound budget: nothing more is read until then (the client's own TCP window
    // holds what it sends meanwhile); output still goes out.
    let mut paused: Option<tokio::time::Instant> = None;

    let ending = loop {
        tokio::select! {
            _ = resume(paused), if paused.is_some() => paused = None,
            frame = frames.next(), if paused.is_none() => {
                // Every byte and frame read (pings and fragments too) costs budget.
                let (bytes, frame_count) = meter.take();
                match budget.charge(bytes, frame_count) {
                    InboundVerdict::Pass => {}
                    InboundVerdict::Pause(d) => paused = Some(tokio::time::Instant::now() + d),
                    InboundVerdict::Flood => {
                        tracing::info!(%sessid, "inbound flood; disconnecting");
                        break Ending::Close(CloseCode::Policy, limits::INPUT_FLOOD_REASON.into());
                    }
                }
                let decoded = match frame {
                    Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => match format.decode(&m, max_depth) {
                        Ok(None) => continue,
                        Ok(Some(msg)) => Ok(msg),
                        Err(e) => Err(e),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                        last_heard = Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None => break Ending::ClientGone,
                    Some(Err(WsError::Utf8(_))) => {
                        break Ending::Close(CloseCode::Invalid, "invalid UTF-8 in a text frame".into())
                    }
                    Some(Err(WsError::Capacity(e))) => {
                        break Ending::Close(CloseCode::Size, format!("frame too large: {e}"))
                    }
                    Some(Err(e)) => {
                        tracing::debug!(%sessid, cause = %e, "websocket read error");
                        break Ending::ClientGone;
                    }
                };
                last_heard = Instant::now();
                let reply = match (limits::check_rates(&mut rate, &_slot), decoded) {
                    (RateVerdict::Drop, _) => continue,
                    (RateVerdict::DropAndWarn, _) => Some(limits::COMMAND_RATE_TEXT.to_string()),
                    (RateVerdict::Pass, Err(e)) => {
                        tracing::debug!(%sessid, cause = %e, "malformed frame dropped");
                        Some(e.to_string())
                    }
                    (RateVerdict::Pass, Ok(msg)) if msg.cmd == "websocket_close" => {
                        break Ending::Close(CloseCode::Normal, String::new())
                    }
                    (RateVerdict::Pass, Ok(msg)) if wire::longest_string_arg(&msg) > max_chars => {
                        Some(TOO_LONG_TEXT.to_string())
                    }
                    (RateVerdict::Pass, Ok(msg)) => {
                        // Waiting for room in the hub's queue is rare: boxed when it happens.
                        match hub.try_send(HubEvent::Input { sessid, msg }) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(event)) => {
                                let waiting = Box::pin(hub.send(event));
                                if waiting.await.is_err() {
                                    break Ending::ClientGone;
                                }
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => break Ending::ClientGone,
                        }
                        None
                    }
                };
                if let Some(text) = reply {
                    if !write(&mut sink, format.notice(text)).await {
                        break Ending::ClientGone;
                    }
                }
            }
            out = out_rx.recv() => match out {
                Some(Outbound::Msg(out)) => match Box::pin(write_queued(&mut sink, format, out, &mut out_rx)).await {
                    Ok(None) => {}
                    Ok(Some(reason)) => break closing(reason),
                    Err(()) => break Ending::ClientGone,
                },
                // As Evennia's websocket protocol: the reason goes only in the close frame (a
                // text frame too would show e.g. a quit's goodbye twice).
                Some(Outbound::Close(reason)) => break closing(reason),
                // The hub dropped us: our outbox overflowed (a slow client).
                None => break Ending::Close(CloseCode::Policy, limits::OUTPUT_BUDGET_REASON.into()),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 2 {
                    tracing::info!(%sessid, "no answer to pings; reaping dead connection");
                    break Ending::ClientGone;
                }
                if !write(&mut sink, Message::Ping(Default::default())).await {
                    break Ending::ClientGone;
                }
            }
        }
    };
    if let Ending::Close(code, reason) = ending {
        // A close reason is at most 123 bytes.
        let mut end = reason.len().min(120);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let frame = CloseFrame { code, reason: reason[..end].to_string().into() };
        let sent = write(&mut sink, Message::Close(Some(frame))).await;
        let closed = Box::pin(hub.send(HubEvent::Closed { sessid }));
        let _ = closed.await;
        // The connection's place is free from now: the wait below holds nothing back.
        drop(_slot);
        if sent {
            // Wait (briefly) for the client's close: a socket closed with unread input is
            // reset, and a reset can reach a client still sending (a flooder) before the
            // close frame that says why.
            let drained = async {
                while let Some(Ok(m)) = frames.next().await {
                    if m.is_close() {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(CLOSE_LINGER, Box::pin(drained)).await;
        }
    } else {
        let closed = Box::pin(hub.send(HubEvent::Closed { sessid }));
        let _ = closed.await;
    }
    tracing::debug!(%sessid, "websocket closed");
}

/// How long a connection we close waits for the client's side of the close.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_is_positional() {
        assert_eq!(
            parse_query(Some("abc&tab1&firefox")),
            (Some("abc".into()), Some("firefox".into()))
        );
        assert_eq!(parse_query(Some("false&tab1")), (None, None));
        assert_eq!(parse_query(None), (None, None));
    }

    #[test]
    fn failing_accepts_back_off_doubling_to_a_second_and_a_success_resets_it() {
        // Without the pause a failing accept (out of file descriptors) spins a core at 100 %.
        let mut backoff = AcceptBackoff::default();
        let delays: Vec<u128> = (0..9).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_delay().as_millis(), 10);
    }
}
