//! The portal ⇄ server link: the typed messages each side sends and their framing.
//!
//! Frames are a 4-byte big-endian length followed by a MessagePack body (`rmp-serde`) holding one
//! [`PortalMsg`] or [`ServerMsg`]. Every frame is written with a single `write_all`, so a server
//! killed mid-write leaves at worst a truncated last frame, which the reader discards.
//!
//! Exactly-once delivery does not rest on frames, though: every [`ServerMsg::Effects`] frame is
//! first committed to the server's outbox (in the same database transaction as the world changes
//! and the input acks it carries) under an increasing id; the portal applies each id once and
//! confirms it with [`PortalMsg::Applied`], and a new server resends every unconfirmed frame.
//!
//! Only our own server may join: the first frame, [`ServerMsg::Hello`], carries the link secret
//! the portal handed its child privately (see `portal.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Config;
use crate::shared::limits::MAX_INPUT_DEPTH;

/// Version of the link protocol; both sides must agree exactly.
pub const LINK_VERSION: u32 = 2;

/// Largest frame either side accepts. Senders split what could be larger (session hand-over,
/// an event's effects) into several frames.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Largest frame a sender aims for when it splits a message (well under [`MAX_FRAME_BYTES`]).
pub const TARGET_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Largest first frame (`Hello`) accepted from a peer that has not yet proven who it is.
pub const MAX_HELLO_BYTES: usize = 4096;

/// Nesting depth the link decoder accepts. The portal refuses client input nested deeper than
/// `max_input_depth` (default 32, at most [`MAX_INPUT_DEPTH`]), and a message adds only a few
/// levels around it, so everything the portal accepts also decodes here.
pub const MAX_LINK_DEPTH: usize = 256;

const _: () = assert!(MAX_INPUT_DEPTH + 16 <= MAX_LINK_DEPTH, "input must decode on the link");

/// Environment variable through which the portal hands the link secret to its server child.
pub const SECRET_ENV: &str = "MUDHOST_LINK_SECRET";

/// The input function through which the portal hands the server protocol flags a connection
/// learned after its session started (Evennia's PCONNSYNC); its kwargs are merged into the
/// session's flags. Clients cannot send it (the hub drops it from client input).
pub const PORTAL_FLAGS_CMD: &str = "__portal_flags";

/// Portal-assigned session id.
pub type Sessid = u64;

/// One `[cmdname, args, kwargs]` message, inbound or outbound, independent of the wire protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Msg {
    /// Input function or output command name (`text`, `prompt`, `logged_in`, ...).
    pub cmd: String,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
}

impl Msg {
    /// A `text` message with one string argument.
    pub fn text(text: impl Into<String>) -> Msg {
        Msg { cmd: "text".into(), args: vec![Value::String(text.into())], kwargs: Map::new() }
    }

    /// An out-of-band message with the given arguments.
    pub fn oob(cmd: impl Into<String>, args: Vec<Value>, kwargs: Map<String, Value>) -> Msg {
        Msg { cmd: cmd.into(), args, kwargs }
    }

    /// The first argument as a string, if it is one.
    pub fn first_str(&self) -> Option<&str> {
        self.args.first().and_then(Value::as_str)
    }
}

/// Everything about a session that must survive a server restart (Evennia's sync data, plus the
/// session's ndb, which Evennia loses). The portal keeps a mirror of this for every session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// Portal-assigned id, never reused while the portal runs.
    pub sessid: Sessid,
    /// Client IP address.
    pub address: String,
    /// "websocket".
    pub protocol_key: String,
    /// ENCODING, SCREENREADER, NOCOLOR, CLIENTNAME, ... (Evennia's protocol_flags).
    pub protocol_flags: ProtocolFlags,
    /// Browser-session id from the websocket query string.
    pub csessid: Option<String>,
    /// Whether the session is logged in to an account.
    pub logged_in: bool,
    /// Account id when logged in.
    pub uid: Option<u64>,
    /// Account name when logged in.
    pub uname: Option<String>,
    /// Puppeted object id.
    pub puid: Option<u64>,
    /// Connection time, reset at login (unix ms).
    pub conn_time: u64,
    /// Last input of any kind, keepalives included (unix ms).
    pub cmd_last: u64,
    /// Last visible input (unix ms).
    pub cmd_last_visible: u64,
    /// Commands entered, keepalives excluded.
    pub cmd_total: u64,
    /// Session-level cmdset modules added at run time (persist across server restarts).
    pub cmdset_storage: Vec<String>,
    /// Per-session scratch data.
    pub ndb: BTreeMap<String, String>,
}

/// A session's protocol flags (Evennia's `protocol_flags`): a small map from flag name to a JSON
/// value, kept as one sorted vector. Every session holds a dozen of them in both processes, and
/// a vector of exactly that many entries takes half the memory of a B-tree's nodes. On the link
/// it is a map, as a `BTreeMap` was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtocolFlags(Vec<(Box<str>, Value)>);

impl ProtocolFlags {
    /// Where the flag is (`Ok`), or where it would go (`Err`).
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(name))
    }

    /// The flag's value, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Set a flag, replacing its value if it was set.
    pub fn insert(&mut self, name: impl Into<String> + AsRef<str>, value: Value) {
        match self.find(name.as_ref()) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => {
                // Flags are set a few at a time: room for exactly one more, not a doubling.
                self.0.reserve_exact(1);
                self.0.insert(i, (name.into().into_boxed_str(), value));
            }
        }
    }

    /// The flags in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

impl<K: Into<String> + AsRef<str>> Extend<(K, Value)> for ProtocolFlags {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<String> + AsRef<str>> FromIterator<(K, Value)> for ProtocolFlags {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut flags = ProtocolFlags::default();
        flags.extend(iter);
        flags
    }
}

impl Serialize for ProtocolFlags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (&**k, v)))
    }
}

impl<'de> Deserialize<'de> for ProtocolFlags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagsVisitor;
        impl<'de> serde::de::Visitor<'de> for FlagsVisitor {
            type Value = ProtocolFlags;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of protocol flags")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ProtocolFlags, A::Error> {
                // The size hint is the sender's claim: capped, so a hostile frame cannot make
                // it allocate ahead of the entries it really carries.
                let mut entries: Vec<(Box<str>, Value)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k.into_boxed_str(), v));
                }
                // Sorted, and the last of a repeated name wins, as inserting into a map would.
                entries.reverse();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries.dedup_by(|later, first| later.0 == first.0);
                entries.shrink_to_fit();
                Ok(ProtocolFlags(entries))
            }
        }
        deserializer.deserialize_map(FlagsVisitor)
    }
}

/// Why a server process was started; decides what players are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartKind {
    /// First start of this portal.
    Cold,
    /// Deliberate reload.
    Reload,
    /// Restart after the previous server died.
    Crash,
}

/// Messages from the portal to the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PortalMsg {
    /// Answer to the server's hello: the game configuration, why this server was started, and
    /// the id of the last outbox frame the portal has applied (the server resends later ones).
    Welcome { config: Box<Config>, start: StartKind, applied_outbox: u64 },
    /// Refusal of the server's hello (version mismatch, wrong secret); the server exits.
    Refused { reason: String },
    /// One part of the session table (Evennia's PSYNC), sent in parts of bounded size; `last`
    /// marks the final part. `fresh` lists sessions of this part the server has never seen
    /// (connected while it was away): they get the connect path, the rest `at-sync`.
    SyncAll { sessions: Vec<SessionData>, fresh: Vec<Sessid>, last: bool },
    /// A new connection (PCONN).
    Connect(SessionData),
    /// The client went away (PDISCONN). It is ordered after the session's inputs and
    /// acknowledged with `seq` like an input, so input queued before it is never lost.
    Disconnect { sessid: Sessid, seq: u64 },
    /// One inbound message; `seq` is acknowledged in the effects frame that answers it.
    Input { sessid: Sessid, seq: u64, msg: Msg },
    /// The portal has applied every outbox frame up to this id; the server may forget them.
    Applied { upto: u64 },
    /// Restart the server deliberately (`mudhost reload`): flush and exit.
    Reload { reason: String },
    /// Shut down: tell players, flush and exit.
    Shutdown { reason: String },
}

/// The atomic result of one game event: outputs, session syncs, disconnects and the inputs it
/// completes. Sent as one frame so that a crash never separates an answer from its ack.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Effects {
    /// Inputs whose processing is complete, as (sessid, seq).
    pub acks: Vec<(Sessid, u64)>,
    /// Outbound messages, in order.
    pub outputs: Vec<(Sessid, Msg)>,
    /// Sessions whose sync data changed (SSYNC).
    pub syncs: Vec<SessionData>,
    /// Sessions to close, with the reason shown to the player.
    pub disconnects: Vec<(Sessid, String)>,
    /// Sessions whose command counters alone changed (a command ran): the counters, without the
    /// whole sync data. Last, and empty when absent, so frames stored before it decode.
    #[serde(default)]
    pub counters: Vec<SessionCounters>,
    /// A reload a command asked for (its reason): part of the command's effects, so it happens
    /// exactly once, as its answer arrives — never for a run a crash undid, never lost with
    /// a frame that is resent. Last, and absent when none.
    #[serde(default)]
    pub reload: Option<String>,
    /// The session whose command asked for `reload`: told if the portal refuses the reload
    /// (an invalid config file). Last, and absent when none.
    #[serde(default)]
    pub reload_by: Option<Sessid>,
}

/// A session's command counters (see [`SessionData`]), sent on their own after a command that
/// changed nothing else of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounters {
    pub sessid: Sessid,
    pub cmd_last: u64,
    pub cmd_last_visible: u64,
    pub cmd_total: u64,
}

impl SessionCounters {
    /// The counters of a session's data.
    pub fn of(d: &SessionData) -> SessionCounters {
        SessionCounters {
            sessid: d.sessid,
            cmd_last: d.cmd_last,
            cmd_last_visible: d.cmd_last_visible,
            cmd_total: d.cmd_total,
        }
    }

    /// Set them in a session's data.
    pub fn apply_to(self, d: &mut SessionData) {
        d.cmd_last = self.cmd_last;
        d.cmd_last_visible = self.cmd_last_visible;
        d.cmd_total = self.cmd_total;
    }
}

impl Effects {
    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.acks.is_empty()
            && self.outputs.is_empty()
            && self.syncs.is_empty()
            && self.disconnects.is_empty()
            && self.counters.is_empty()
            && self.reload.is_none()
    }
}

impl Effects {
    /// Split effects whose frame would exceed `target` bytes into several, each under it where
    /// the items allow; acks and disconnects ride in the last part, so a session's input is
    /// acknowledged only with (or after) all of its output. An item too large for any frame is
    /// dropped with an error log: it could never be delivered.
    pub fn split(self, target: usize) -> Vec<Effects> {
        if encoded_len(&self) <= target {
            return vec![self];
        }
        let mut parts = vec![];
        let mut cur = Effects::default();
        let mut size = 0;
        let mut fits = |n: usize, cur: &mut Effects, parts: &mut Vec<Effects>| {
            if size + n > target && !cur.is_empty() {
                parts.push(std::mem::take(cur));
                size = 0;
            }
            size += n;
        };
        for o in self.outputs {
            let n = encoded_len(&o);
            if n > MAX_FRAME_BYTES / 2 {
                tracing::error!(
                    sessid = o.0,
                    bytes = n,
                    "an output too large for the link was dropped"
                );
                continue;
            }
            fits(n, &mut cur, &mut parts);
            cur.outputs.push(o);
        }
        for d in self.syncs {
            let n = encoded_len(&d);
            if n > MAX_FRAME_BYTES / 2 {
                tracing::error!(
                    sessid = d.sessid,
                    bytes = n,
                    "a session sync too large for the link was dropped"
                );
                continue;
            }
            fits(n, &mut cur, &mut parts);
            cur.syncs.push(d);
        }
        cur.acks = self.acks;
        cur.disconnects = self.disconnects;
        cur.counters = self.counters;
        cur.reload = self.reload;
        cur.reload_by = self.reload_by;
        parts.push(cur);
        parts
    }
}

/// Encoded size of a value in bytes (0 if it cannot be encoded).
pub fn encoded_len<T: Serialize>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match rmp_serde::encode::write(&mut c, v) {
        Ok(()) => c.0,
        Err(_) => 0,
    }
}

/// Messages from the server to the portal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ServerMsg {
    /// First frame: protocol version, process id and the link secret.
    Hello { version: u32, pid: u32, secret: String },
    /// All sessions of the last `SyncAll` are restored; queued input may flow.
    Synced,
    /// Result of one game event (or part of it), committed to the outbox under `id` first.
    /// The portal applies each id once, in order, and ignores ids it has already applied.
    Effects { id: u64, effects: Effects },
    /// An admin asked for a reload from inside the game.
    RequestReload { reason: String },
    /// An admin asked for a shutdown from inside the game.
    RequestShutdown { reason: String },
}

/// Where the portal listens for its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAddr {
    /// A Unix socket path (default: `<data>/link.sock`).
    Unix(PathBuf),
    /// A TCP address, for a portal on another machine.
    Tcp(String),
}

impl LinkAddr {
    /// Parse `unix:PATH` or `tcp:HOST:PORT`.
    pub fn parse(s: &str) -> Result<LinkAddr, LinkError> {
        if let Some(p) = s.strip_prefix("unix:") {
            Ok(LinkAddr::Unix(PathBuf::from(p)))
        } else if let Some(a) = s.strip_prefix("tcp:") {
            Ok(LinkAddr::Tcp(a.to_string()))
        } else {
            Err(LinkError::BadAddress(s.to_string()))
        }
    }
}

impl std::fmt::Display for LinkAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            LinkAddr::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// Why a link operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Socket error (includes the peer going away).
    #[error("link i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A frame larger than [`MAX_FRAME_BYTES`].
    #[error("link frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// A frame that is not a valid message.
    #[error("link frame does not decode: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    /// A message that cannot be encoded (a host bug).
    #[error("link message does not encode: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// An unparsable link address.
    #[error("link address must be unix:PATH or tcp:HOST:PORT, got {0:?}")]
    BadAddress(String),
}

/// Encode one message as a complete frame (length prefix included).
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>, LinkError> {
    let mut buf = Vec::new();
    encode_frame_into(&mut buf, msg)?;
    Ok(buf)
}

/// Append one message as a complete frame to `buf` (several frames queued together then go out
/// in one write); on an error `buf` is as it was.
pub fn encode_frame_into<T: Serialize>(buf: &mut Vec<u8>, msg: &T) -> Result<(), LinkError> {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; 4]);
    if let Err(e) = rmp_serde::encode::write(buf, msg) {
        buf.truncate(start);
        return Err(e.into());
    }
    let len = buf.len() - start - 4;
    if len > MAX_FRAME_BYTES {
        buf.truncate(start);
        return Err(LinkError::TooLarge(len));
    }
    buf[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// How many bytes of queued frames a link writer gathers into one write.
pub const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// Read buffer of a link reader: frames that arrive together are taken in with one read.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Write one message as a single frame.
pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> Result<(), LinkError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let frame = encode_frame(msg)?;
    w.write_all(&frame).await?;
    Ok(())
}

/// Read one message; `Ok(None)` on a clean end of stream (a truncated last frame counts as end).
pub async fn read_frame<R, T>(r: &mut R) -> Result<Option<T>, LinkError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    read_frame_limited(r, MAX_FRAME_BYTES).await
}

/// [`read_frame`] with a smaller size limit (for the unauthenticated first frame). The body is
/// read as it arrives instead of allocating the announced length up front, so a peer cannot make
/// us reserve memory it never sends.
pub async fn read_frame_limited<R, T>(r: &mut R, max: usize) -> Result<Option<T>, LinkError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(LinkError::TooLarge(len));
    }
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    let got = (&mut *r).take(len as u64).read_to_end(&mut body).await?;
    if got < len {
        return Ok(None);
    }
    Ok(Some(decode_body(&body)?))
}

/// Decode a frame body with the link's depth limit.
pub fn decode_body<T: for<'de> Deserialize<'de>>(
    body: &[u8],
) -> Result<T, rmp_serde::decode::Error> {
    let mut de = rmp_serde::Deserializer::from_read_ref(body);
    de.set_max_depth(MAX_LINK_DEPTH);
    T::deserialize(&mut de)
}

/// Nesting depth of a JSON value (a scalar is 0, `[]` is 1, `[[1]]` is 2).
pub fn json_depth(v: &Value) -> usize {
    // Iterative, so a deep value cannot overflow the stack while it is measured.
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                max = max.max(d + 1);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            Value::Object(o) => {
                max = max.max(d + 1);
                stack.extend(o.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    max
}

/// Nesting depth of a message's arguments (the deepest of args and kwargs, counting the list /
/// object that holds them).
pub fn msg_depth(msg: &Msg) -> usize {
    let args = msg.args.iter().map(json_depth).max().unwrap_or(0);
    let kwargs = msg.kwargs.values().map(json_depth).max().unwrap_or(0);
    1 + args.max(kwargs)
}

/// A connected link stream of either kind, boxed so both sides handle one type.
pub type LinkStream = Box<dyn AsyncReadWrite>;

/// A bidirectional async byte stream.
pub trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncReadWrite for T {}

/// The server's end of the link for writing, used straight from the game thread: a frame goes
/// out in the same thread that made it, without waking another task to write it (and waiting
/// for the socket to have room, as a full queue towards a writer task did).
///
/// It writes through its own descriptor of the link socket. The socket is non-blocking (the
/// reading side belongs to the async runtime, and the two descriptors share that flag), so a
/// full socket is waited for with `poll`.
pub struct LinkWriter {
    fd: std::os::fd::OwnedFd,
}

impl LinkWriter {
    /// A writer on a duplicate of `socket`'s descriptor.
    fn of(socket: &impl std::os::fd::AsFd) -> std::io::Result<LinkWriter> {
        Ok(LinkWriter { fd: socket.as_fd().try_clone_to_owned()? })
    }
}

impl std::io::Write for LinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: the descriptor is open (owned) and `buf` is valid for its length.
            let n = unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => {
                    let mut pfd =
                        libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
                    // SAFETY: one valid pollfd; -1 waits until the socket has room or fails.
                    if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
                        let err = std::io::Error::last_os_error();
                        if err.kind() != std::io::ErrorKind::Interrupted {
                            return Err(err);
                        }
                    }
                }
                _ => return Err(err),
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Connect to a portal's link address (the server process): the stream to read from and the
/// writer for the game thread.
pub async fn connect_server(addr: &LinkAddr) -> Result<(LinkStream, LinkWriter), LinkError> {
    Ok(match addr {
        LinkAddr::Unix(p) => {
            let s = tokio::net::UnixStream::connect(p).await?;
            let w = LinkWriter::of(&s)?;
            (Box::new(s), w)
        }
        LinkAddr::Tcp(a) => {
            let s = tokio::net::TcpStream::connect(a).await?;
            s.set_nodelay(true)?;
            let w = LinkWriter::of(&s)?;
            (Box::new(s), w)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frame_round_trips_through_a_pipe() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let msg = PortalMsg::Input { sessid: 7, seq: 3, msg: Msg::text("look") };
        write_frame(&mut a, &msg).await.unwrap();
        let got: PortalMsg = read_frame(&mut b).await.unwrap().unwrap();
        match got {
            PortalMsg::Input { sessid: 7, seq: 3, msg } => assert_eq!(msg, Msg::text("look")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_truncated_last_frame_reads_as_end_of_stream() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let frame = encode_frame(&ServerMsg::Synced).unwrap();
        a.write_all(&frame[..frame.len() - 1]).await.unwrap();
        drop(a);
        let got: Option<ServerMsg> = read_frame(&mut b).await.unwrap();
        assert!(got.is_none());
    }

    #[tokio::test]
    async fn an_oversized_length_is_refused_without_allocating() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let got: Result<Option<ServerMsg>, _> = read_frame(&mut b).await;
        assert!(matches!(got, Err(LinkError::TooLarge(_))));
    }

    #[tokio::test]
    async fn garbage_frames_are_errors_not_panics_and_the_next_frame_still_reads() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let good =
            encode_frame(&PortalMsg::Input { sessid: 1, seq: 2, msg: Msg::text("ok") }).unwrap();
        let mut refused = 0;
        for len in 0..2000usize {
            let mut body = Vec::with_capacity(len % 300);
            for _ in 0..len % 300 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                body.push((x >> 24) as u8);
            }
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend(&body);
            let mut r = &frame[..];
            refused += usize::from(read_frame::<_, ServerMsg>(&mut r).await.is_err());
            // A garbage body is consumed whole, so the frame after it reads intact.
            frame.extend(&good);
            let mut r = &frame[..];
            refused += usize::from(read_frame::<_, PortalMsg>(&mut r).await.is_err());
            match read_frame::<_, PortalMsg>(&mut r).await {
                Ok(Some(PortalMsg::Input { sessid: 1, seq: 2, msg })) => {
                    assert_eq!(msg, Msg::text("ok"))
                }
                other => panic!("the frame after {len} garbage bytes read as {other:?}"),
            }
        }
        // Random bytes are almost never a valid message: the decoder refuses them.
        assert!(refused > 3000, "only {refused} of 4000 garbage frames were refused");
    }

    #[test]
    fn protocol_flags_are_a_map_on_the_wire_sorted_with_the_last_of_a_repeated_name_winning() {
        let mut flags = ProtocolFlags::default();
        flags.insert("NOCOLOR", Value::Bool(false));
        flags.insert("ANSI", Value::Bool(true));
        flags.insert("NOCOLOR", Value::Bool(true));
        assert_eq!(flags.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["ANSI", "NOCOLOR"]);
        assert_eq!(flags.get("NOCOLOR"), Some(&Value::Bool(true)));
        assert_eq!(flags.get("XTERM256"), None);
        // Encoded exactly as the map it replaced (frames already in a server's outbox decode).
        let as_map: BTreeMap<String, Value> =
            flags.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(rmp_serde::to_vec(&flags).unwrap(), rmp_serde::to_vec(&as_map).unwrap());
        // A map naming a flag twice (hand-made: maps cannot) keeps the later value.
        let mut twice = vec![0x83];
        for (k, v) in [("B", true), ("A", true), ("B", false)] {
            twice.extend(rmp_serde::to_vec(k).unwrap());
            twice.extend(rmp_serde::to_vec(&v).unwrap());
        }
        let back: ProtocolFlags = rmp_serde::from_slice(&twice).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            [("A", &Value::Bool(true)), ("B", &Value::Bool(false))]
        );
        // A map header claiming four billion entries allocates for at most a handful.
        assert!(rmp_serde::from_slice::<ProtocolFlags>(&[0xdf, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn effects_stored_before_the_counters_field_still_decode() {
        // The layout before `counters`: the same struct less its last field.
        #[derive(Serialize)]
        struct EffectsBefore {
            acks: Vec<(Sessid, u64)>,
            outputs: Vec<(Sessid, Msg)>,
            syncs: Vec<SessionData>,
            disconnects: Vec<(Sessid, String)>,
        }
        let old = EffectsBefore {
            acks: vec![(3, 9)],
            outputs: vec![(3, Msg::text("hi"))],
            syncs: vec![],
            disconnects: vec![],
        };
        let back: Effects = rmp_serde::from_slice(&rmp_serde::to_vec(&old).unwrap()).unwrap();
        assert_eq!(back.acks, [(3, 9)]);
        assert!(back.counters.is_empty());
        // And the counters round-trip.
        let c = SessionCounters { sessid: 3, cmd_last: 10, cmd_last_visible: 8, cmd_total: 5 };
        let e = Effects { counters: vec![c], ..Default::default() };
        let back: Effects = rmp_serde::from_slice(&rmp_serde::to_vec(&e).unwrap()).unwrap();
        assert_eq!(back.counters, [c]);
        assert!(!e.is_empty());
    }

    #[test]
    fn session_data_with_json_flags_round_trips() {
        let mut d = SessionData { sessid: 4, address: "127.0.0.1".into(), ..Default::default() };
        d.protocol_flags.insert("SCREENWIDTH", serde_json::json!({"0": 80}));
        d.protocol_flags.insert("NOCOLOR", Value::Bool(true));
        d.ndb.insert("k".into(), "v".into());
        let bytes = rmp_serde::to_vec(&d).unwrap();
        let back: SessionData = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, d);
    }

    #[tokio::test]
    async fn a_length_prefix_alone_allocates_nothing_and_the_hello_cap_holds() {
        // Claims 60 MiB, sends 10 bytes: a truncated frame, read without reserving 60 MiB.
        let mut frame = (60u32 * 1024 * 1024).to_be_bytes().to_vec();
        frame.extend([0u8; 10]);
        let mut r = &frame[..];
        assert!(matches!(read_frame::<_, ServerMsg>(&mut r).await, Ok(None)));
        // Before Hello only a small frame is read at all.
        let hello =
            encode_frame(&ServerMsg::Hello { version: LINK_VERSION, pid: 1, secret: "s".into() })
                .unwrap();
        let mut r = &hello[..];
        assert!(matches!(
            read_frame_limited::<_, ServerMsg>(&mut r, MAX_HELLO_BYTES).await,
            Ok(Some(_))
        ));
        let big = encode_frame(&ServerMsg::RequestReload { reason: "x".repeat(MAX_HELLO_BYTES) })
            .unwrap();
        let mut r = &big[..];
        assert!(matches!(
            read_frame_limited::<_, ServerMsg>(&mut r, MAX_HELLO_BYTES).await,
            Err(LinkError::TooLarge(_))
        ));
    }
}
