//! What the current game event has produced so far — outputs, disconnects, changed sessions,
//! acks, work to start off the loop, commands to run on sessions' behalf, session-class events —
//! and the mark that lets a failed guest call be cut back out of it. The game loop turns it into
//! one [`Effects`] per event; [`super::Game::checkpoint`] pairs a [`JournalMark`] with the
//! world's savepoint and the session table's journal.

use crate::shared::ids::AccountId;
use std::collections::BTreeSet;

use crate::link::{Effects, Msg, Sessid, SessionCounters};
use crate::server::session::{ServerSession, SessionHandler};

/// Most outbound messages one game event may produce; more are dropped with a log line so a
/// runaway guest cannot flood memory.
pub const MAX_OUTPUTS_PER_EVENT: usize = 20_000;

/// Work the game loop starts off-loop after the current guest call.
#[derive(Debug)]
pub enum Deferred {
    /// Verify a password (argon2id) for a login; `account` None means the name is unknown and a
    /// dummy hash is checked so both cases take the same time.
    CheckPassword {
        sessid: Sessid,
        account: Option<AccountId>,
        hash: Option<String>,
        password: String,
        ack: Option<(Sessid, u64)>,
    },
    /// Hash a new account's password.
    HashPassword { sessid: Sessid, name: String, password: String, ack: Option<(Sessid, u64)> },
    /// Check an account's old password and hash its new one (the `password` command).
    /// `invalid` is the refusal of the new password, told only if the old one is right.
    ChangePassword {
        sessid: Sessid,
        uid: AccountId,
        hash: String,
        old: String,
        new: String,
        invalid: Option<String>,
        ack: Option<(Sessid, u64)>,
    },
    /// Ask the portal to restart the server.
    Reload { reason: String, by: Sessid },
}

/// A command the host runs on a session's behalf after the current call (connection screen,
/// look after puppeting).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueuedCommand {
    /// A system command by key, e.g. `__unloggedin_look_command`, falling back to `fallback`.
    System { key: &'static str, fallback: &'static str },
    /// A command line, as if typed.
    Line(String),
    /// The look after puppeting: the room's appearance (`server/game/objclass.rs`), not a parsed
    /// line.
    PuppetLook,
}

/// A session lifecycle event for the session class (Evennia's ServerSession hooks).
#[derive(Debug, Clone)]
pub enum ClassEvent {
    /// Connected, or restored after a server restart (`at-sync`).
    Sync,
    /// Logged in (`at-login`).
    Login,
    /// Gone (`at-disconnect`): the session as it was, since it is no longer in the table.
    Disconnect {
        /// The session at the moment it was removed.
        session: Box<ServerSession>,
        /// The disconnect reason (may be empty).
        reason: String,
    },
}

/// The current event's production, between two [`Journal::take_effects`].
#[derive(Default)]
pub struct Journal {
    effects: Effects,
    dirty: BTreeSet<Sessid>,
    /// Sessions whose command counters alone changed in the current event.
    counted: BTreeSet<Sessid>,
    deferred: Vec<Deferred>,
    queued: Vec<(Sessid, QueuedCommand)>,
    /// Ack of the input being processed; moves into a deferred job that completes it later.
    held_ack: Option<(Sessid, u64)>,
    dropped_outputs: usize,
    /// Session lifecycle events for the session class, with their place in the outputs.
    class_events: Vec<(Sessid, ClassEvent, usize)>,
}

/// Where the journal stood when a guest call began (see [`Journal::mark`]).
#[derive(Debug, Clone, Copy)]
pub struct JournalMark {
    outputs: usize,
    disconnects: usize,
    deferred: usize,
    queued: usize,
    held_ack: Option<(Sessid, u64)>,
    dropped_outputs: usize,
    class_events: usize,
}

impl Journal {
    /// Remember where the journal stands, so [`Journal::undo`] can cut a failed call back out.
    pub fn mark(&self) -> JournalMark {
        JournalMark {
            outputs: self.effects.outputs.len(),
            disconnects: self.effects.disconnects.len(),
            deferred: self.deferred.len(),
            queued: self.queued.len(),
            held_ack: self.held_ack,
            dropped_outputs: self.dropped_outputs,
            class_events: self.class_events.len(),
        }
    }

    /// Drop the outputs, disconnects, deferred work, queued commands and session-class events
    /// added since `mark`, and put the held ack back where it was (a call that took it for a
    /// deferred job and then failed must not leave its input unacknowledged). Changed-session
    /// marks stay: the session table's own journal undoes the changes, and a sync of unchanged
    /// data is harmless.
    pub fn undo(&mut self, mark: JournalMark) {
        self.effects.outputs.truncate(mark.outputs);
        self.effects.disconnects.truncate(mark.disconnects);
        self.deferred.truncate(mark.deferred);
        self.queued.truncate(mark.queued);
        self.held_ack = mark.held_ack;
        self.dropped_outputs = mark.dropped_outputs;
        self.class_events.truncate(mark.class_events);
    }

    // --- acks --------------------------------------------------------------------------------

    /// Start processing an input whose ack is `ack`.
    pub fn hold_ack(&mut self, ack: (Sessid, u64)) {
        self.held_ack = Some(ack);
    }

    /// Whether the ack of the input being processed is still held.
    pub fn ack_is_held(&self) -> bool {
        self.held_ack.is_some()
    }

    /// Take the held ack for a deferred job that completes the input later.
    pub fn take_ack(&mut self) -> Option<(Sessid, u64)> {
        self.held_ack.take()
    }

    /// The input being processed is complete: its ack joins the effects, if still held.
    pub fn release_ack(&mut self) {
        if let Some(ack) = self.held_ack.take() {
            self.effects.acks.push(ack);
        }
    }

    /// Add an ack completed by a deferred job.
    pub fn push_ack(&mut self, ack: Option<(Sessid, u64)>) {
        if let Some(ack) = ack {
            self.effects.acks.push(ack);
        }
    }

    // --- the effects -------------------------------------------------------------------------

    /// Everything the event produced, ready to send: the held ack released, and for each
    /// changed session its whole sync data (or its counters alone, if nothing else changed),
    /// read from `sessions` now (a session gone since is skipped).
    pub fn take_effects(&mut self, sessions: &SessionHandler) -> Effects {
        self.release_ack();
        let dirty = std::mem::take(&mut self.dirty);
        for sessid in std::mem::take(&mut self.counted) {
            if let Some(s) = sessions.get(sessid).filter(|_| !dirty.contains(&sessid)) {
                self.effects.counters.push(SessionCounters::of(&s.data));
            }
        }
        for sessid in dirty {
            if let Some(s) = sessions.get(sessid) {
                self.effects.syncs.push(s.data.clone());
            }
        }
        if self.dropped_outputs > 0 {
            tracing::warn!(
                dropped = self.dropped_outputs,
                "outputs over the per-event cap were dropped"
            );
            self.dropped_outputs = 0;
        }
        std::mem::take(&mut self.effects)
    }

    /// Ask the portal for a reload with the event's effects (see [`Effects::reload`]).
    pub fn request_reload(&mut self, reason: String, by: Sessid) {
        self.effects.reload = Some(reason);
        self.effects.reload_by = Some(by);
    }

    /// Mark a session's sync data as changed.
    pub fn touch(&mut self, sessid: Sessid) {
        self.dirty.insert(sessid);
    }

    /// Mark a session's command counters as changed.
    pub fn touch_counters(&mut self, sessid: Sessid) {
        self.counted.insert(sessid);
    }

    /// A session left: nothing of it is to be synced.
    pub fn forget(&mut self, sessid: Sessid) {
        self.dirty.remove(&sessid);
        self.counted.remove(&sessid);
    }

    /// Close a session with `reason`.
    pub fn push_disconnect(&mut self, sessid: Sessid, reason: String) {
        self.effects.disconnects.push((sessid, reason));
    }

    // --- outputs -----------------------------------------------------------------------------

    /// Queue one outbound message, unless the event is over [`MAX_OUTPUTS_PER_EVENT`] (then it
    /// is counted and dropped).
    pub fn push_output(&mut self, sessid: Sessid, msg: Msg) {
        if self.effects.outputs.len() >= MAX_OUTPUTS_PER_EVENT {
            self.dropped_outputs += 1;
            return;
        }
        self.effects.outputs.push((sessid, msg));
    }

    /// Number of outbound messages the event has queued.
    pub fn outputs_len(&self) -> usize {
        self.effects.outputs.len()
    }

    /// Move the outputs queued from position `from` on to position `to` (`to <= from`).
    pub fn move_outputs(&mut self, from: usize, to: usize) {
        let outputs = &mut self.effects.outputs;
        if from >= outputs.len() || to >= from {
            return;
        }
        let moved: Vec<_> = outputs.drain(from..).collect();
        outputs.splice(to..to, moved);
    }

    /// Take the outbound messages queued from position `from` on.
    pub fn split_outputs(&mut self, from: usize) -> Vec<(Sessid, Msg)> {
        let from = from.min(self.effects.outputs.len());
        self.effects.outputs.split_off(from)
    }

    // --- work after the call -----------------------------------------------------------------

    /// Work to start off the loop after the call.
    pub fn defer(&mut self, job: Deferred) {
        self.deferred.push(job);
    }

    /// The deferred work, oldest first.
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }

    /// Queue a command to run for a session after the current call.
    pub fn queue_command(&mut self, sessid: Sessid, cmd: QueuedCommand) {
        self.queued.push((sessid, cmd));
    }

    /// The queued commands, in order.
    pub fn take_queued(&mut self) -> Vec<(Sessid, QueuedCommand)> {
        std::mem::take(&mut self.queued)
    }

    /// Queue a session-class event at the current end of the outputs (what its hook sends goes
    /// there).
    pub fn class_event(&mut self, sessid: Sessid, event: ClassEvent) {
        let at = self.effects.outputs.len();
        self.class_events.push((sessid, event, at));
    }

    /// The session-class events, oldest first, with their output positions.
    pub fn take_class_events(&mut self) -> Vec<(Sessid, ClassEvent, usize)> {
        std::mem::take(&mut self.class_events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::SessionData;

    fn texts(e: &Effects) -> Vec<(Sessid, String)> {
        e.outputs.iter().map(|(s, m)| (*s, m.first_str().unwrap_or_default().to_string())).collect()
    }

    fn sessions(ids: &[Sessid]) -> SessionHandler {
        let mut h = SessionHandler::default();
        for &sessid in ids {
            h.insert(SessionData { sessid, ..Default::default() });
        }
        h
    }

    #[test]
    fn undo_drops_exactly_what_was_added_after_the_mark() {
        let mut j = Journal::default();
        j.push_output(Sessid::new(1), Msg::text("before"));
        j.push_disconnect(Sessid::new(2), "bye".into());
        j.queue_command(Sessid::new(1), QueuedCommand::Line("look".into()));
        j.defer(Deferred::Reload { reason: "r".into(), by: Sessid::new(1) });
        j.class_event(Sessid::new(1), ClassEvent::Login);
        let mark = j.mark();
        j.push_output(Sessid::new(1), Msg::text("after"));
        j.push_disconnect(Sessid::new(3), "later".into());
        j.queue_command(Sessid::new(1), QueuedCommand::PuppetLook);
        j.defer(Deferred::Reload { reason: "again".into(), by: Sessid::new(1) });
        j.class_event(Sessid::new(1), ClassEvent::Sync);
        j.undo(mark);
        assert_eq!(j.take_queued(), vec![(Sessid::new(1), QueuedCommand::Line("look".into()))]);
        assert!(
            matches!(&j.take_deferred()[..], [Deferred::Reload { reason, .. }] if reason == "r")
        );
        assert!(
            matches!(&j.take_class_events()[..], [(s, ClassEvent::Login, 1)] if *s == Sessid::new(1))
        );
        let e = j.take_effects(&sessions(&[]));
        assert_eq!(texts(&e), vec![(Sessid::new(1), "before".into())]);
        assert_eq!(e.disconnects, vec![(Sessid::new(2), "bye".to_string())]);
    }

    #[test]
    fn without_undo_everything_added_after_the_mark_is_kept() {
        let mut j = Journal::default();
        let _mark = j.mark();
        j.push_output(Sessid::new(1), Msg::text("kept"));
        j.push_disconnect(Sessid::new(1), "bye".into());
        let e = j.take_effects(&sessions(&[]));
        assert_eq!(texts(&e), vec![(Sessid::new(1), "kept".into())]);
        assert_eq!(e.disconnects.len(), 1);
    }

    #[test]
    fn nested_marks_undo_only_their_own_part() {
        let mut j = Journal::default();
        let outer = j.mark();
        j.push_output(Sessid::new(1), Msg::text("outer"));
        let inner = j.mark();
        j.push_output(Sessid::new(1), Msg::text("inner"));
        j.undo(inner);
        assert_eq!(j.outputs_len(), 1);
        j.push_output(Sessid::new(1), Msg::text("outer again"));
        j.undo(outer);
        assert_eq!(j.outputs_len(), 0);
    }

    #[test]
    fn an_ack_taken_by_a_failed_call_is_held_again_after_undo() {
        let mut j = Journal::default();
        j.hold_ack((Sessid::new(1), 7));
        let mark = j.mark();
        assert_eq!(j.take_ack(), Some((Sessid::new(1), 7)));
        assert!(!j.ack_is_held());
        j.undo(mark);
        assert!(j.ack_is_held());
        assert_eq!(j.take_effects(&sessions(&[])).acks, vec![(Sessid::new(1), 7)]);
    }

    #[test]
    fn an_ack_taken_by_a_deferred_job_is_not_in_the_effects_until_pushed() {
        let mut j = Journal::default();
        j.hold_ack((Sessid::new(1), 7));
        let ack = j.take_ack();
        assert!(j.take_effects(&sessions(&[])).acks.is_empty());
        j.push_ack(ack);
        j.push_ack(None);
        assert_eq!(j.take_effects(&sessions(&[])).acks, vec![(Sessid::new(1), 7)]);
    }

    #[test]
    fn released_acks_come_after_acks_pushed_before_them() {
        let mut j = Journal::default();
        j.push_ack(Some((Sessid::new(2), 1)));
        j.hold_ack((Sessid::new(1), 7));
        j.release_ack();
        j.release_ack();
        assert_eq!(
            j.take_effects(&sessions(&[])).acks,
            vec![(Sessid::new(2), 1), (Sessid::new(1), 7)]
        );
    }

    #[test]
    fn a_changed_session_sends_its_sync_and_a_counted_one_only_its_counters() {
        let mut j = Journal::default();
        j.touch(Sessid::new(1));
        j.touch_counters(Sessid::new(1));
        j.touch_counters(Sessid::new(2));
        j.touch(Sessid::new(9)); // gone: skipped
        let e = j.take_effects(&sessions(&[Sessid::new(1), Sessid::new(2)]));
        assert_eq!(e.syncs.iter().map(|d| d.sessid).collect::<Vec<_>>(), vec![Sessid::new(1)]);
        assert_eq!(e.counters.iter().map(|c| c.sessid).collect::<Vec<_>>(), vec![Sessid::new(2)]);
        let again = j.take_effects(&sessions(&[Sessid::new(1), Sessid::new(2)]));
        assert!(again.syncs.is_empty() && again.counters.is_empty());
    }

    #[test]
    fn a_forgotten_session_is_not_synced() {
        let mut j = Journal::default();
        j.touch(Sessid::new(1));
        j.touch_counters(Sessid::new(1));
        j.forget(Sessid::new(1));
        let e = j.take_effects(&sessions(&[Sessid::new(1)]));
        assert!(e.syncs.is_empty() && e.counters.is_empty());
    }

    #[test]
    fn outputs_over_the_cap_are_dropped_and_undo_restores_the_count() {
        let mut j = Journal::default();
        for _ in 0..MAX_OUTPUTS_PER_EVENT {
            j.push_output(Sessid::new(1), Msg::text("x"));
        }
        let mark = j.mark();
        j.push_output(Sessid::new(1), Msg::text("over"));
        assert_eq!(j.outputs_len(), MAX_OUTPUTS_PER_EVENT);
        assert_eq!(j.dropped_outputs, 1);
        j.undo(mark);
        assert_eq!(j.dropped_outputs, 0);
    }

    #[test]
    fn outputs_move_back_to_where_an_event_happened() {
        let mut j = Journal::default();
        for t in ["a", "b", "c", "d"] {
            j.push_output(Sessid::new(1), Msg::text(t));
        }
        j.move_outputs(3, 1);
        j.move_outputs(9, 0); // out of range: nothing moves
        let rest = j.split_outputs(2);
        assert_eq!(rest.len(), 2);
        let e = j.take_effects(&sessions(&[]));
        assert_eq!(texts(&e), vec![(Sessid::new(1), "a".into()), (Sessid::new(1), "d".into())]);
    }

    #[test]
    fn a_class_event_records_where_in_the_outputs_it_happened() {
        let mut j = Journal::default();
        j.push_output(Sessid::new(1), Msg::text("a"));
        j.class_event(Sessid::new(1), ClassEvent::Login);
        assert!(
            matches!(&j.take_class_events()[..], [(s, ClassEvent::Login, 1)] if *s == Sessid::new(1))
        );
        assert!(j.take_class_events().is_empty());
    }

    #[test]
    fn a_reload_request_rides_in_the_effects() {
        let mut j = Journal::default();
        j.request_reload("update".into(), Sessid::new(4));
        let e = j.take_effects(&sessions(&[]));
        assert_eq!((e.reload.as_deref(), e.reload_by), (Some("update"), Some(Sessid::new(4))));
    }
}
