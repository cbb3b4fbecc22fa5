//! The link's messages: [`PortalMsg`] (the portal's `Welcome`, session table, inputs and
//! orders), [`ServerMsg`] (the server's `Hello` and effects frames) and [`Effects`], the atomic
//! result of one game event, split into frames of bounded size.

use serde::{Deserialize, Serialize};

use super::{Msg, Sessid, SessionCounters, SessionData, MAX_FRAME_BYTES};
use crate::config::Config;

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
                    sessid = %o.0,
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
                    sessid = %d.sessid,
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

#[cfg(test)]
mod tests {
    use super::*;

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
            acks: vec![(Sessid::new(3), 9)],
            outputs: vec![(Sessid::new(3), Msg::text("hi"))],
            syncs: vec![],
            disconnects: vec![],
        };
        let back: Effects = rmp_serde::from_slice(&rmp_serde::to_vec(&old).unwrap()).unwrap();
        assert_eq!(back.acks, [(Sessid::new(3), 9)]);
        assert!(back.counters.is_empty());
        // And the counters round-trip.
        let c = SessionCounters {
            sessid: Sessid::new(3),
            cmd_last: 10,
            cmd_last_visible: 8,
            cmd_total: 5,
        };
        let e = Effects { counters: vec![c], ..Default::default() };
        let back: Effects = rmp_serde::from_slice(&rmp_serde::to_vec(&e).unwrap()).unwrap();
        assert_eq!(back.counters, [c]);
        assert!(!e.is_empty());
    }
}
