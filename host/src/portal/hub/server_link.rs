//! The hub's server side: handing the session table and the unacknowledged input to each new
//! server, applying its effects frames exactly once, and the poison check when it dies.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::client::render_flags;
use super::others::OTHERS_OUTPUT_DROPPED_TEXT;
use super::Hub;
use crate::link::{
    Effects, Msg, PortalMsg, ServerMsg, Sessid, SessionData, StartKind, PORTAL_FLAGS_CMD,
};
use crate::portal::outbox::{msg_bytes, OutMsg, Outbound};
use crate::shared::clock::now_ms;

/// The connected server's link.
pub(super) struct ServerLink {
    pub(super) link_id: u64,
    pub(super) tx: mpsc::UnboundedSender<PortalMsg>,
    /// Told to reload or shut down: it reads nothing more, but its last effects still count.
    pub(super) leaving: bool,
    /// Sessions this server was told are new (fresh in the hand-over, or `Connect`) that have
    /// not been sent anything by it yet: if it dies first (a server failing while it starts),
    /// they are new again to the next server, which shows them the connection screen.
    pub(super) unconfirmed: BTreeSet<Sessid>,
}

/// A server that said hello while the previous link was still open.
pub(super) struct WaitingServer {
    pub(super) link_id: u64,
    pub(super) pid: u32,
    pub(super) tx: mpsc::UnboundedSender<PortalMsg>,
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

/// Applied effects frames between two confirmations to the server.
const CONFIRM_EVERY: u64 = 32;

/// Most sessions' data in one hand-over frame (the frames are also kept under a byte budget).
const SYNC_CHUNK_SESSIONS: usize = 512;

impl Hub {
    /// Link `link_id` closed: the server it led to is gone (a reload, a crash, a shutdown), or a
    /// server that was waiting for its turn went before it got one.
    pub(super) fn server_down(&mut self, link_id: u64) {
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

    /// The server died while not asked to leave: if it was running the same unit of work at this
    /// crash and the one before, that unit is poison — drop it and tell its player. A unit is an
    /// input, a disconnect (`seq` is the session's closing seq) or a deferred completion
    /// (marked as its input), or work on the session itself (`seq` 0).
    fn check_poison(&mut self) {
        let running = crate::portal::inflight_marker(&self.cfg.data_dir);
        let Some((sessid, seq)) = running else {
            self.suspect = None;
            return;
        };
        if self.suspect != Some((sessid, seq)) {
            self.suspect = Some((sessid, seq));
            tracing::warn!(%sessid, seq, "the server died while running this input");
            return;
        }
        self.suspect = None;
        let Some(s) = self.sessions.get_mut(&sessid) else { return };
        if seq == 0 || s.closed == Some(seq) {
            // Its disconnect, or work on the session itself: the session goes, here alone (the
            // next server is handed the table without it).
            let what = if seq == 0 { "work on the session" } else { "its disconnect" };
            tracing::error!(
                %sessid,
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
            %sessid,
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

    /// A new server said hello: give it the configuration, the session table, and every input it
    /// has not acknowledged, in order.
    pub(super) fn server_up(
        &mut self,
        link_id: u64,
        pid: u32,
        tx: mpsc::UnboundedSender<PortalMsg>,
    ) {
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

    /// One message from the connected server; true when the portal should exit.
    pub(super) fn handle_server_msg(&mut self, msg: ServerMsg) -> bool {
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
                    tracing::debug!(%sessid, "output caused by others over the budget; dropped");
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
            tracing::warn!(%sessid, "slow client: outbound queue full; disconnecting");
            self.close(sessid);
        }
        if let Some(reason) = e.reload {
            self.reload(&reason, e.reload_by);
        }
    }
}

/// A short digest of an input, for logs that must not repeat what a player typed.
fn digest(msg: &Msg) -> String {
    use sha2::{Digest, Sha256};
    let bytes = rmp_serde::to_vec(msg).unwrap_or_default();
    Sha256::digest(&bytes).iter().take(6).map(|b| format!("{b:02x}")).collect()
}
