//! The game loop's side of the exactly-once protocol: which unit of work is in flight, and the
//! effects frames (the outbox) stored in a transaction and sent only after it commits.
//!
//! Each transaction's effects (outputs, syncs, disconnects, acks) are encoded as one or more
//! frames with consecutive ids, split to stay under the link's frame cap
//! ([`encode_effects_frames`]). They are stored in the `outbox` table in the same transaction as
//! the world changes, and sent after the commit, so a new server resends exactly what was
//! committed and the portal has not confirmed (`PortalMsg::Applied`). Confirmed frames are
//! deleted in batches.
//!
//! A transaction that wrote nothing to the world (a `look`, a `say`: output and acks only) sends
//! its frames without storing them: if the server dies before the portal has them, the portal
//! still holds the inputs unacknowledged and the next server runs them again, which is safe
//! because they changed nothing. They are kept here until the portal confirms them, and the
//! next transaction that does write stores them first, in order: a stored frame acknowledging a
//! later input of a session must never be resent without the frames before it, or the new server
//! would take that session's earlier inputs for applied.
//!
//! The unit of work running is marked in the in-flight file (`shared::inflight`), so that work
//! that kills the server twice in a row is singled out by the portal and dropped.

use std::collections::VecDeque;
use std::io::Write;

use crate::link::{self, Effects, LinkError, ServerMsg, Sessid, TARGET_FRAME_BYTES};
use crate::shared::inflight::InflightMarker;
use crate::store::{StoreError, WorldStore};

/// Confirmed outbox frames are deleted in batches of this many (one DELETE per batch).
const PRUNE_BATCH: u64 = 32;

/// Frames sent unstored beyond which they are stored at once, whatever the portal's
/// confirmations do.
const MAX_UNSTORED_FRAMES: usize = 256;
/// Bytes of frames sent unstored beyond which they are stored at once.
const MAX_UNSTORED_BYTES: usize = 4 << 20;

/// Why the outbox cannot go on. Each is fatal to the server: memory and database, or server and
/// portal, may disagree, and only a restart (which replays what the portal holds) is safe.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// An effects frame could not be written to the outbox table.
    #[error("cannot store an effects frame in the outbox: {0}")]
    Store(StoreError),
    /// The transaction did not commit (a busy, full or failing database).
    #[error("cannot commit a game event: {0}")]
    Commit(StoreError),
    /// A message to send after the frames could not be encoded.
    #[error("cannot encode a link message: {0}")]
    Encode(LinkError),
    /// The link towards the portal failed.
    #[error("link write failed: {0}")]
    Write(std::io::Error),
}

/// The outbox's ids, the frames sent but not stored, the link they are written to, and the
/// in-flight mark.
pub struct Outbox<W: Write = link::LinkWriter> {
    /// The link towards the portal, written from the game thread.
    link: W,
    /// The id the next frame gets.
    next: u64,
    /// The last id the portal confirmed.
    confirmed: u64,
    /// Every id up to this one has been deleted from the table.
    pruned: u64,
    /// Frames sent without being stored, oldest first, with their ids.
    unstored: VecDeque<(u64, Vec<u8>)>,
    unstored_bytes: usize,
    inflight: Option<InflightMarker>,
    /// The unit of work marked in flight: `(sessid, seq)` of an input, a disconnect or a
    /// deferred completion, `(sessid, 0)` for work on a session without an input, `(0, 0)` none.
    marked: (Sessid, u64),
}

impl<W: Write> Outbox<W> {
    /// An outbox writing to `link` whose next frame id is `next`, the portal having confirmed
    /// every frame up to `confirmed`; `inflight` is the marker file, if it could be opened.
    pub fn new(link: W, next: u64, confirmed: u64, inflight: Option<InflightMarker>) -> Self {
        Outbox {
            link,
            next,
            confirmed,
            pruned: 0,
            unstored: VecDeque::new(),
            unstored_bytes: 0,
            inflight,
            marked: (Sessid::new(0), 0),
        }
    }

    /// The portal has applied every frame up to `upto` (`PortalMsg::Applied`).
    pub fn confirm(&mut self, upto: u64) {
        self.confirmed = self.confirmed.max(upto);
    }

    /// Mark the unit of work being run in the in-flight file (see `marked`); `(0, 0)` for none.
    pub fn mark(&mut self, sessid: Sessid, seq: u64) {
        if self.marked == (sessid, seq) {
            return;
        }
        self.marked = (sessid, seq);
        if let Some(m) = self.inflight.as_mut() {
            if sessid == Sessid::new(0) {
                m.clear();
            } else {
                m.set(sessid, seq);
            }
        }
    }

    /// Mark work done for `sessid` inside the current unit (a queued command, a session-class
    /// hook): the unit's own mark if it is the same session, else the session itself. Returns
    /// the mark to restore afterwards.
    pub fn mark_for(&mut self, sessid: Sessid) -> (Sessid, u64) {
        let unit = self.marked;
        if unit.0 != sessid {
            self.mark(sessid, 0);
        }
        unit
    }

    /// End a transaction: store its effects in the outbox (or keep them aside unstored when the
    /// transaction wrote nothing else), delete confirmed frames, and commit. Returns the frames,
    /// to be sent with [`Outbox::send`]. A failed commit unmarks the unit first: a busy, full or
    /// failing database is not the fault of the work being run, so its replay after the restart
    /// must not be taken for poison and dropped.
    pub fn commit(
        &mut self,
        world: &mut WorldStore,
        effects: Effects,
    ) -> Result<Vec<Vec<u8>>, OutboxError> {
        let frames = if effects.is_empty() { vec![] } else { self.store(world, effects)? };
        if self.confirmed >= self.pruned + PRUNE_BATCH {
            let upto = self.confirmed;
            if let Err(e) = world.outbox_prune(upto) {
                tracing::warn!(cause = %e, "cannot prune the outbox");
            }
            self.pruned = upto;
        }
        if let Err(e) = world.commit() {
            self.mark(Sessid::new(0), 0);
            return Err(OutboxError::Commit(e));
        }
        Ok(frames)
    }

    /// Encode an event's effects and put them in the outbox, or keep them aside unstored when
    /// the transaction wrote nothing else (see the module's text). Unstored frames the portal
    /// has confirmed are forgotten; the others are stored first once anything is.
    fn store(
        &mut self,
        world: &mut WorldStore,
        effects: Effects,
    ) -> Result<Vec<Vec<u8>>, OutboxError> {
        let frames = encode_effects_frames(self.next, effects);
        let confirmed = self.confirmed;
        while self.unstored.front().is_some_and(|(id, _)| *id <= confirmed) {
            if let Some((_, f)) = self.unstored.pop_front() {
                self.unstored_bytes -= f.len();
            }
        }
        let store = world.written_in_transaction()
            || self.unstored.len() >= MAX_UNSTORED_FRAMES
            || self.unstored_bytes >= MAX_UNSTORED_BYTES;
        if store {
            for (id, frame) in std::mem::take(&mut self.unstored) {
                world.outbox_put(id, &frame).map_err(OutboxError::Store)?;
            }
            self.unstored_bytes = 0;
        }
        for frame in &frames {
            let id = self.next;
            self.next += 1;
            if store {
                world.outbox_put(id, frame).map_err(OutboxError::Store)?;
            } else {
                self.unstored_bytes += frame.len();
                self.unstored.push_back((id, frame.clone()));
            }
        }
        Ok(frames)
    }

    /// Send committed frames, and `after` behind them, to the portal in one write.
    pub fn send(
        &mut self,
        frames: Vec<Vec<u8>>,
        after: Option<ServerMsg>,
    ) -> Result<(), OutboxError> {
        let mut frames = frames.into_iter();
        let mut batch = frames.next().unwrap_or_default();
        for frame in frames {
            batch.extend_from_slice(&frame);
        }
        if let Some(msg) = after {
            link::encode_frame_into(&mut batch, &msg).map_err(OutboxError::Encode)?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.send_bytes(&batch)
    }

    /// Write bytes to the portal; waits while the link is backed up.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), OutboxError> {
        self.link.write_all(bytes).map_err(OutboxError::Write)
    }
}

/// Encode an event's effects as frames with consecutive outbox ids from `first_id`: one frame if
/// it fits [`TARGET_FRAME_BYTES`], else parts (see [`Effects::split`]), so that no amount of
/// output or session data makes a frame the link refuses. Encoded whole first: almost every
/// event fits one frame, and measuring before encoding would encode twice. A part that still
/// cannot be encoded is dropped with an error line, never a fatal exit.
pub fn encode_effects_frames(first_id: u64, effects: Effects) -> Vec<Vec<u8>> {
    let msg = ServerMsg::Effects { id: first_id, effects };
    let whole = link::encode_frame(&msg);
    let ServerMsg::Effects { effects, .. } = msg else { unreachable!("built above") };
    match whole {
        Ok(frame) if frame.len() <= TARGET_FRAME_BYTES => return vec![frame],
        Ok(_) => {}
        Err(e) => tracing::warn!(cause = %e, "an effects frame is too large for one frame; split"),
    }
    let mut frames = vec![];
    for part in effects.split(TARGET_FRAME_BYTES) {
        let id = first_id + frames.len() as u64;
        match link::encode_frame(&ServerMsg::Effects { id, effects: part }) {
            Ok(f) => frames.push(f),
            Err(e) => {
                tracing::error!(cause = %e, "a part of an effects frame cannot be encoded; dropped")
            }
        }
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Msg;

    /// Records each write call, so a test sees what went out in one write.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn temp_world() -> (tempfile::TempDir, WorldStore) {
        let dir = tempfile::tempdir().unwrap();
        let world = WorldStore::open(&dir.path().join("w.db")).unwrap();
        (dir, world)
    }

    fn answer(sessid: Sessid, seq: u64) -> Effects {
        Effects {
            acks: vec![(sessid, seq)],
            outputs: vec![(sessid, Msg::text("ok"))],
            ..Default::default()
        }
    }

    /// One transaction: `writes` says whether it changes the world; returns the frames' ids.
    fn transaction(
        outbox: &mut Outbox<Writes>,
        world: &mut WorldStore,
        writes: bool,
        effects: Effects,
    ) -> Vec<u64> {
        world.begin().unwrap();
        if writes {
            let room = world.start_location();
            world.set_object_key(room, "Limbo").unwrap();
        }
        let frames = outbox.commit(world, effects).unwrap();
        let ids = frames.iter().map(|f| frame_id(f)).collect();
        outbox.send(frames, None).unwrap();
        ids
    }

    fn frame_id(frame: &[u8]) -> u64 {
        match link::decode_body::<ServerMsg>(&frame[4..]).unwrap() {
            ServerMsg::Effects { id, .. } => id,
            other => panic!("{other:?}"),
        }
    }

    fn stored(world: &WorldStore) -> Vec<u64> {
        world.outbox_after(0).unwrap().into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn effects_larger_than_a_link_frame_are_split_not_fatal() {
        // 40 outputs of 2 MiB: 80 MiB, more than a link frame may carry.
        let text = "x".repeat(2 << 20);
        let effects = Effects {
            acks: vec![(Sessid::new(1), 7)],
            outputs: (0..40).map(|_| (Sessid::new(1), Msg::text(text.clone()))).collect(),
            ..Default::default()
        };
        let frames = encode_effects_frames(10, effects);
        assert!(frames.len() > 1);
        let mut outputs = 0;
        for (i, f) in frames.iter().enumerate() {
            assert!(f.len() - 4 <= link::MAX_FRAME_BYTES);
            match link::decode_body::<ServerMsg>(&f[4..]).unwrap() {
                ServerMsg::Effects { id, effects } => {
                    assert_eq!(id, 10 + i as u64, "consecutive ids");
                    outputs += effects.outputs.len();
                    let last = i == frames.len() - 1;
                    assert_eq!(effects.acks.is_empty(), !last, "the ack rides in the last part");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(outputs, 40, "nothing was lost");
    }

    #[test]
    fn a_transaction_that_writes_stores_its_frame_and_one_that_does_not_only_sends_it() {
        let (_dir, mut world) = temp_world();
        let mut outbox = Outbox::new(Writes::default(), 1, 0, None);
        assert_eq!(transaction(&mut outbox, &mut world, true, answer(Sessid::new(1), 1)), [1]);
        assert_eq!(stored(&world), [1]);
        assert_eq!(transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), 2)), [2]);
        assert_eq!(stored(&world), [1], "a look is sent, not stored");
        assert_eq!(outbox.link.0.len(), 2, "both were sent");
    }

    #[test]
    fn unstored_frames_are_stored_before_the_next_writing_transaction_s_own() {
        let (_dir, mut world) = temp_world();
        let mut outbox = Outbox::new(Writes::default(), 1, 0, None);
        transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), 1));
        transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), 2));
        assert!(stored(&world).is_empty());
        transaction(&mut outbox, &mut world, true, answer(Sessid::new(1), 3));
        assert_eq!(stored(&world), [1, 2, 3], "never a later ack without the frames before it");
    }

    #[test]
    fn unstored_frames_the_portal_confirmed_are_forgotten() {
        let (_dir, mut world) = temp_world();
        let mut outbox = Outbox::new(Writes::default(), 1, 0, None);
        transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), 1));
        transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), 2));
        outbox.confirm(1);
        transaction(&mut outbox, &mut world, true, answer(Sessid::new(1), 3));
        assert_eq!(stored(&world), [2, 3]);
    }

    #[test]
    fn too_many_unstored_frames_are_stored_whatever_the_portal_confirms() {
        let (_dir, mut world) = temp_world();
        let mut outbox = Outbox::new(Writes::default(), 1, 0, None);
        for seq in 1..=MAX_UNSTORED_FRAMES as u64 {
            transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), seq));
        }
        assert!(stored(&world).is_empty());
        transaction(&mut outbox, &mut world, false, answer(Sessid::new(1), 1000));
        assert_eq!(stored(&world).len(), MAX_UNSTORED_FRAMES + 1);
    }

    #[test]
    fn confirmed_frames_are_deleted_once_a_batch_of_them_is_confirmed() {
        let (_dir, mut world) = temp_world();
        let mut outbox = Outbox::new(Writes::default(), 1, 0, None);
        let n = PRUNE_BATCH + 2;
        for seq in 1..=n {
            transaction(&mut outbox, &mut world, true, answer(Sessid::new(1), seq));
        }
        outbox.confirm(PRUNE_BATCH - 1);
        transaction(&mut outbox, &mut world, false, Effects::default());
        assert_eq!(stored(&world).len() as u64, n, "not a whole batch confirmed yet");
        outbox.confirm(PRUNE_BATCH);
        transaction(&mut outbox, &mut world, false, Effects::default());
        assert_eq!(stored(&world), [PRUNE_BATCH + 1, PRUNE_BATCH + 2]);
        outbox.confirm(PRUNE_BATCH - 5);
        assert_eq!(outbox.confirmed, PRUNE_BATCH, "a confirmation never goes back");
    }

    #[test]
    fn frames_and_the_message_after_them_go_out_in_one_write_in_order() {
        let (_dir, mut world) = temp_world();
        let mut outbox = Outbox::new(Writes::default(), 7, 0, None);
        world.begin().unwrap();
        let mut frames = outbox.commit(&mut world, answer(Sessid::new(1), 1)).unwrap();
        world.begin().unwrap();
        frames.extend(outbox.commit(&mut world, answer(Sessid::new(2), 1)).unwrap());
        outbox.send(frames, Some(ServerMsg::Synced)).unwrap();
        outbox.send(vec![], None).unwrap();
        assert_eq!(outbox.link.0.len(), 1, "one write, none for nothing");
        let mut rest = &outbox.link.0[0][..];
        let mut got = vec![];
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            got.push(link::decode_body::<ServerMsg>(&rest[4..4 + len]).unwrap());
            rest = &rest[4 + len..];
        }
        assert!(matches!(
            got[..],
            [ServerMsg::Effects { id: 7, .. }, ServerMsg::Effects { id: 8, .. }, ServerMsg::Synced]
        ));
    }

    #[test]
    fn the_unit_in_flight_is_marked_in_the_file_the_portal_reads() {
        let dir = tempfile::tempdir().unwrap();
        crate::shared::inflight::reset(dir.path()).unwrap();
        let marker = InflightMarker::open(dir.path()).unwrap();
        let mut outbox = Outbox::new(Writes::default(), 1, 0, Some(marker));
        let read = || crate::shared::inflight::read(dir.path());
        outbox.mark(Sessid::new(5), 9);
        assert_eq!(read(), Some((Sessid::new(5), 9)));
        // A queued command of another session inside the unit marks that session, then the
        // unit's mark is put back.
        let unit = outbox.mark_for(Sessid::new(6));
        assert_eq!(read(), Some((Sessid::new(6), 0)));
        outbox.mark(unit.0, unit.1);
        assert_eq!(read(), Some((Sessid::new(5), 9)));
        assert_eq!(outbox.mark_for(Sessid::new(5)), (Sessid::new(5), 9));
        assert_eq!(
            read(),
            Some((Sessid::new(5), 9)),
            "the unit's own session keeps the unit's mark"
        );
        outbox.mark(Sessid::new(0), 0);
        assert_eq!(read(), None);
    }
}
