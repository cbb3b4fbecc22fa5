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
//!
//! Each part has a file of its own: the messages (`link/messages.rs`), what the link carries
//! about a session (`link/session.rs`), framing (`link/codec.rs`) and the connection itself
//! (`link/transport.rs`); this file keeps the protocol's constants, [`Msg`] and [`LinkError`].

mod codec;
mod messages;
mod session;
mod transport;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::shared::limits::MAX_INPUT_DEPTH;

pub use codec::{
    decode_body, encode_frame, encode_frame_into, json_depth, msg_depth, read_frame,
    read_frame_limited, write_frame, READ_BUFFER_BYTES, WRITE_BATCH_BYTES,
};
pub use messages::{encoded_len, Effects, PortalMsg, ServerMsg, StartKind};
pub use session::{ProtocolFlags, SessionCounters, SessionData};
pub use transport::{connect_server, AsyncReadWrite, LinkAddr, LinkStream, LinkWriter};

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

/// Portal-assigned session id (the typed id; on the wire the bare `u64` it replaces).
pub use crate::shared::ids::Sessid;

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
