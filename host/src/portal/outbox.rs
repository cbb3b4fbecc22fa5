//! A connection's outbox: what the hub hands a connection task to send. [`OutMsg`] is one
//! outbound message with its renderings made once and shared by every connection it goes to;
//! [`Outbound`] is one item of the queue (a message or a close); [`outbox`] makes the bounded
//! queue itself (frames and bytes as sent), whose sending half the hub owns and whose receiving
//! half the connection task owns.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::markup::RenderFlags;
use crate::link::Msg;

/// One outbound message, shared by every connection it goes to, with its encoding made once: a
/// room's broadcast is rendered and serialised once per distinct set of render flags, not once
/// per player.
#[derive(Debug)]
pub struct OutMsg {
    /// The message.
    pub msg: Msg,
    /// How its text is rendered.
    pub flags: RenderFlags,
    /// Approximate size in memory (and as JSON or GMCP, for messages that are not text).
    pub bytes: usize,
    v1: OnceLock<Utf8Bytes>,
    ansi: OnceLock<String>,
}

impl OutMsg {
    /// A message to render with `flags`.
    pub fn new(msg: Msg, flags: RenderFlags) -> Arc<OutMsg> {
        let bytes = msg_bytes(&msg);
        Arc::new(OutMsg { msg, flags, bytes, v1: OnceLock::new(), ansi: OnceLock::new() })
    }

    /// The Evennia v1 JSON frame, rendered by the first connection that asks.
    pub fn v1_frame(&self) -> Utf8Bytes {
        self.v1.get_or_init(|| super::wire::encode_v1(&self.msg, self.flags).into()).clone()
    }

    /// The first argument, when it is a string, rendered as ANSI (`text` and `prompt` on
    /// terminals), by the first connection that asks.
    pub fn ansi_text(&self) -> Option<&str> {
        let text = self.msg.args.first()?.as_str()?;
        Some(self.ansi.get_or_init(|| super::markup::to_ansi(text, self.flags)).as_str())
    }

    /// Bytes this message takes as a connection with `rendering` sends it (rendering it if
    /// no connection has yet): what outbox budgets count.
    pub fn sent_bytes(&self, rendering: Rendering) -> usize {
        match rendering {
            Rendering::Html => self.v1_frame().len(),
            Rendering::Ansi if matches!(self.msg.cmd.as_str(), "text" | "prompt") => {
                self.ansi_text().map_or(self.bytes, |t| t.len() + 16)
            }
            Rendering::Ansi => self.bytes,
        }
    }
}

/// What a connection task is asked to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send a message.
    Msg(Arc<OutMsg>),
    /// Tell the player why (if there is a text) and close.
    Close(CloseReason),
}

/// The close reason every client gets when the portal shuts down.
pub const SHUTDOWN_TEXT: &str = "Server shutting down.";

/// Why a connection is closed. The kind, not the text, decides the websocket close code: a
/// portal shutting down is "going away" (1001), so clients know to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The portal is shutting down ([`SHUTDOWN_TEXT`]).
    Shutdown,
    /// Any other close, with the text the player is told (possibly empty).
    Text(String),
}

impl CloseReason {
    /// The text the player is told.
    pub fn text(&self) -> &str {
        match self {
            CloseReason::Shutdown => SHUTDOWN_TEXT,
            CloseReason::Text(t) => t,
        }
    }

    /// The text, owned.
    pub fn into_text(self) -> String {
        match self {
            CloseReason::Shutdown => SHUTDOWN_TEXT.to_string(),
            CloseReason::Text(t) => t,
        }
    }
}

impl From<String> for CloseReason {
    fn from(text: String) -> CloseReason {
        CloseReason::Text(text)
    }
}

impl From<&str> for CloseReason {
    fn from(text: &str) -> CloseReason {
        CloseReason::Text(text.to_string())
    }
}

/// Approximate bytes a message holds (and its encoded frame takes): strings by length, other
/// values by a small constant. Cheap enough to run on every message.
pub fn msg_bytes(msg: &Msg) -> usize {
    16 + msg.cmd.len()
        + msg.args.iter().map(value_bytes).sum::<usize>()
        + msg.kwargs.iter().map(|(k, v)| k.len() + value_bytes(v)).sum::<usize>()
}

fn value_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(value_bytes).sum::<usize>(),
        Value::Object(o) => 2 + o.iter().map(|(k, v)| k.len() + 3 + value_bytes(v)).sum::<usize>(),
        _ => 8,
    }
}

/// What a connection sends for a message: the v1 format's HTML in JSON, or ANSI text (telnet
/// and the mudstandards formats). Outbox budgets count bytes as sent, since rendering can make
/// a text many times longer (a colour code per character is about 11× in HTML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// The v1 webclient frame.
    Html,
    /// ANSI text.
    Ansi,
}

fn outbound_bytes(o: &Outbound, rendering: Rendering) -> usize {
    match o {
        Outbound::Msg(m) => m.sent_bytes(rendering),
        Outbound::Close(reason) => 16 + reason.text().len(),
    }
}

/// A connection's outbox: the hub queues rendered messages, the connection task takes them.
/// Bounded by frames and by bytes. It is a queue under a lock with a wake-up rather than a
/// channel: every open connection has one, and a channel's fixed blocks (32 slots, padded
/// counters) were the largest part of an idle connection after its buffers.
#[derive(Debug)]
struct OutboxShared {
    state: Mutex<OutboxState>,
    /// Wakes the connection task when a message is queued or the hub lets go.
    ready: tokio::sync::Notify,
    frames: usize,
    budget: usize,
    rendering: Rendering,
}

#[derive(Debug, Default)]
struct OutboxState {
    queue: VecDeque<Outbound>,
    /// Bytes in `queue`, as they will be sent.
    bytes: usize,
    /// The hub has dropped its end: once drained, the connection is to close.
    sender_gone: bool,
    /// The connection task has gone: nothing more is taken.
    receiver_gone: bool,
}

/// Queues this long or longer give their memory back once drained.
const OUTBOX_SHRINK_AT: usize = 32;

/// The sending half of a connection's outbox, owned by the hub.
#[derive(Debug)]
pub struct Outbox {
    shared: Arc<OutboxShared>,
}

/// The receiving half, owned by the connection task.
#[derive(Debug)]
pub struct OutboxReceiver {
    shared: Arc<OutboxShared>,
}

/// A connection's outbox of at most `frames` messages and `budget` bytes as the connection
/// sends them (`rendering`).
pub fn outbox(frames: usize, budget: usize, rendering: Rendering) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(OutboxShared {
        state: Mutex::new(OutboxState::default()),
        ready: tokio::sync::Notify::new(),
        frames: frames.max(1),
        budget,
        rendering,
    });
    (Outbox { shared: shared.clone() }, OutboxReceiver { shared })
}

impl OutboxShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, OutboxState> {
        // The state is consistent after every statement: a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Outbox {
    /// Queue without waiting. Over the frame count or the byte budget is `Full` (a slow
    /// client); a close request is always accepted while there is room for a frame, so a
    /// client can be told why it is disconnected. `Closed` once the connection task is gone.
    pub fn try_send(&self, out: Outbound) -> Result<(), TrySendError<Outbound>> {
        // Rendered here if not yet (once per message, shared by every connection it goes to).
        let n = outbound_bytes(&out, self.shared.rendering);
        let is_close = matches!(out, Outbound::Close(_));
        {
            let mut st = self.shared.lock();
            if st.receiver_gone {
                return Err(TrySendError::Closed(out));
            }
            if st.queue.len() >= self.shared.frames
                || (!is_close && st.bytes + n > self.shared.budget)
            {
                return Err(TrySendError::Full(out));
            }
            st.queue.push_back(out);
            st.bytes += n;
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Bytes queued and not yet taken by the connection task.
    pub fn queued_bytes(&self) -> usize {
        self.shared.lock().bytes
    }

    /// How the connection renders what it is sent.
    pub fn rendering(&self) -> Rendering {
        self.shared.rendering
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.shared.lock().sender_gone = true;
        self.shared.ready.notify_one();
    }
}

/// What the connection task found in its outbox.
enum Taken {
    Msg(Outbound),
    Empty,
    /// Empty, and the hub has let go.
    Ended,
}

impl OutboxReceiver {
    fn take(&self) -> Taken {
        let mut st = self.shared.lock();
        match st.queue.pop_front() {
            Some(out) => {
                st.bytes -= outbound_bytes(&out, self.shared.rendering);
                if st.queue.is_empty() && st.queue.capacity() >= OUTBOX_SHRINK_AT {
                    st.queue = VecDeque::new();
                }
                Taken::Msg(out)
            }
            None if st.sender_gone => Taken::Ended,
            None => Taken::Empty,
        }
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        match self.take() {
            Taken::Msg(out) => Some(out),
            Taken::Empty | Taken::Ended => None,
        }
    }

    /// The next message; None once the hub has let go and the queue is empty. Cancel-safe: a
    /// message leaves the queue only when this returns it.
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            match self.take() {
                Taken::Msg(out) => return Some(out),
                Taken::Ended => return None,
                // A wake-up sent between `take` and here is kept as a permit, so none is lost.
                Taken::Empty => self.shared.ready.notified().await,
            }
        }
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.receiver_gone = true;
        st.queue.clear();
        st.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_refuses_beyond_its_byte_budget_and_frees_on_receive() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (tx, mut rx) = outbox(100, 1000, Rendering::Ansi);
            let big = || Outbound::Msg(OutMsg::new(Msg::text("x".repeat(600)), Default::default()));
            assert!(tx.try_send(big()).is_ok());
            assert!(matches!(tx.try_send(big()), Err(TrySendError::Full(_))));
            assert!(tx.try_send(Outbound::Close("bye".into())).is_ok());
            rx.recv().await.unwrap();
            assert!(tx.try_send(big()).is_ok());
            assert!(tx.queued_bytes() > 600);
        });
    }

    #[test]
    fn the_outbox_counts_bytes_as_sent_so_colour_codes_cannot_slip_past_it() {
        // 5,990 characters of alternating colour codes, as a flooding player would say them.
        let flood = OutMsg::new(Msg::text("|rx|gx".repeat(998)), Default::default());
        let (html, ansi) = (flood.sent_bytes(Rendering::Html), flood.sent_bytes(Rendering::Ansi));
        eprintln!("{} bytes of markup: {html} bytes of HTML frame, {ansi} of ANSI", flood.bytes);
        assert!(html > 10 * flood.bytes && ansi > 2 * flood.bytes, "{html} {ansi}");
        let (tx, mut rx) = outbox(1000, 100_000, Rendering::Html);
        assert!(tx.try_send(Outbound::Msg(flood.clone())).is_ok());
        assert!(matches!(tx.try_send(Outbound::Msg(flood.clone())), Err(TrySendError::Full(_))));
        assert_eq!(tx.queued_bytes(), html);
        assert!(rx.try_recv().is_some());
        assert_eq!(tx.queued_bytes(), 0);
        // A terminal's outbox counts the (shorter) ANSI text instead.
        let (tx, _rx) = outbox(1000, 100_000, Rendering::Ansi);
        assert!(tx.try_send(Outbound::Msg(flood.clone())).is_ok());
        assert_eq!(tx.queued_bytes(), ansi);
    }

    #[test]
    fn the_outbox_is_bounded_in_frames_drains_after_the_hub_lets_go_and_refuses_once_the_connection_is_gone(
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let text = |t: &str| Outbound::Msg(OutMsg::new(Msg::text(t), Default::default()));
            let (tx, mut rx) = outbox(2, 1 << 20, Rendering::Ansi);
            assert!(tx.try_send(text("one")).is_ok());
            assert!(tx.try_send(text("two")).is_ok());
            // The frame bound holds for close requests too.
            assert!(matches!(
                tx.try_send(Outbound::Close("bye".into())),
                Err(TrySendError::Full(_))
            ));
            // A receiver waiting on an empty outbox is woken by a send from another task.
            assert!(rx.try_recv().is_some() && rx.try_recv().is_some() && rx.try_recv().is_none());
            let waiting = tokio::spawn(async move {
                let got = rx.recv().await;
                (rx, got)
            });
            tokio::task::yield_now().await;
            assert!(tx.try_send(text("three")).is_ok());
            let (mut rx, got) = waiting.await.unwrap();
            assert!(matches!(got, Some(Outbound::Msg(m)) if m.msg == Msg::text("three")));
            // What was queued before the hub let go is still delivered, then the end.
            assert!(tx.try_send(text("four")).is_ok());
            drop(tx);
            assert!(
                matches!(rx.recv().await, Some(Outbound::Msg(m)) if m.msg == Msg::text("four"))
            );
            assert!(rx.recv().await.is_none());
            // Once the connection task is gone, sends are refused as closed and hold nothing.
            let (tx, rx) = outbox(8, 1 << 20, Rendering::Ansi);
            drop(rx);
            assert!(matches!(tx.try_send(text("late")), Err(TrySendError::Closed(_))));
            assert_eq!(tx.queued_bytes(), 0);
        });
    }
}
