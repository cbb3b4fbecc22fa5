//! What the effects frames a new server resends at start-up (those the portal has not applied)
//! say about inputs and sessions.
//!
//! The portal's session table (`SyncAll`) is its mirror as of the frames it has applied; the
//! resent frames are newer. Their acks tell which replayed inputs are already done, and their
//! syncs, counters and disconnects bring the handed-over sessions up to what the players were
//! last shown (an `ooc`, `ic`, `quit` or login committed just before a crash), so that the new
//! server's sessions equal the portal's once it has applied the same frames.

use std::collections::HashMap;

use crate::link::{self, ServerMsg, Sessid, SessionCounters, SessionData};

/// One change a resent frame makes to a session, in the order the portal applies them.
enum Change {
    Sync(Box<SessionData>),
    Counters(SessionCounters),
    Disconnect,
}

/// The acks and session changes of the frames resent at start-up.
#[derive(Default)]
pub struct Resent {
    /// Newest acknowledged seq per session: the portal's replay of those inputs is skipped.
    pub applied: HashMap<Sessid, u64>,
    changes: HashMap<Sessid, Vec<Change>>,
}

impl Resent {
    /// Read the resent frames (outbox id, whole frame), in id order.
    pub fn from_frames(frames: &[(u64, Vec<u8>)]) -> Resent {
        let mut this = Resent::default();
        for (id, frame) in frames {
            match link::decode_body::<ServerMsg>(frame.get(4..).unwrap_or_default()) {
                Ok(ServerMsg::Effects { effects, .. }) => {
                    for (sessid, seq) in effects.acks {
                        let e = this.applied.entry(sessid).or_insert(0);
                        *e = seq.max(*e);
                    }
                    // The portal's order: syncs, then counters, then disconnects.
                    for d in effects.syncs {
                        this.changes.entry(d.sessid).or_default().push(Change::Sync(Box::new(d)));
                    }
                    for c in effects.counters {
                        this.changes.entry(c.sessid).or_default().push(Change::Counters(c));
                    }
                    for (sessid, _) in effects.disconnects {
                        this.changes.entry(sessid).or_default().push(Change::Disconnect);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(id, cause = %e, "an outbox frame does not decode"),
            }
        }
        this
    }

    /// A handed-over session's data with the resent frames' changes applied; None if one of
    /// them closed the session (the portal closes it when it applies that frame).
    pub fn bring_up_to_date(&mut self, data: SessionData) -> Option<SessionData> {
        let Some(changes) = self.changes.remove(&data.sessid) else { return Some(data) };
        let mut data = data;
        for change in changes {
            match change {
                Change::Sync(d) => data = *d,
                Change::Counters(c) => c.apply_to(&mut data),
                Change::Disconnect => return None,
            }
        }
        Some(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Effects;
    use crate::shared::ids::ObjectId;

    fn frame(id: u64, effects: Effects) -> (u64, Vec<u8>) {
        (id, link::encode_frame(&ServerMsg::Effects { id, effects }).unwrap())
    }

    #[test]
    fn resent_syncs_counters_and_disconnects_apply_in_order() {
        let old = SessionData {
            sessid: Sessid::new(1),
            puid: Some(ObjectId::new(7)),
            ..Default::default()
        };
        let ooc = SessionData { sessid: Sessid::new(1), puid: None, ..Default::default() };
        let counted = SessionCounters {
            sessid: Sessid::new(1),
            cmd_last: 5,
            cmd_last_visible: 5,
            cmd_total: 3,
        };
        let frames = [
            frame(
                4,
                Effects { acks: vec![(Sessid::new(1), 2)], syncs: vec![ooc], ..Default::default() },
            ),
            frame(
                5,
                Effects {
                    acks: vec![(Sessid::new(1), 3)],
                    counters: vec![counted],
                    ..Default::default()
                },
            ),
            frame(
                6,
                Effects {
                    acks: vec![(Sessid::new(2), 9)],
                    disconnects: vec![(Sessid::new(2), "bye".into())],
                    ..Default::default()
                },
            ),
        ];
        let mut resent = Resent::from_frames(&frames);
        assert_eq!(resent.applied.get(&Sessid::new(1)), Some(&3));
        let now = resent.bring_up_to_date(old).unwrap();
        assert_eq!((now.puid, now.cmd_total), (None, 3));
        assert!(resent
            .bring_up_to_date(SessionData { sessid: Sessid::new(2), ..Default::default() })
            .is_none());
        let other = SessionData {
            sessid: Sessid::new(3),
            puid: Some(ObjectId::new(1)),
            ..Default::default()
        };
        assert_eq!(
            resent.bring_up_to_date(other).unwrap().puid,
            Some(ObjectId::new(1)),
            "untouched"
        );
    }
}
