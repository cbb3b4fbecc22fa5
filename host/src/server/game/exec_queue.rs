//! The lines `execute-cmd` queues (Evennia's `execute_cmd`) and the bounds of the unit running
//! them: a line is queued for the session puppeting the character, or for the object itself
//! (an NPC), and refused past `execute_cmd_max_depth` (a chain) or `execute_cmd_max_per_unit`
//! (a fan). The game loop runs them (`game_loop/execute.rs`).

use super::Game;
use crate::link::Sessid;
use crate::shared::ids::ObjectId;
use crate::wasm::GuestError;

/// Who runs an executed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// The session puppeting the character: its commands, locks and output.
    Session(Sessid),
    /// An object no session puppets (an NPC): its own cmdset stack (and the character slot for a
    /// character), no permissions, its own output going nowhere.
    Object(ObjectId),
}

/// The lines queued by `execute-cmd` and the state of the unit running them.
#[derive(Debug, Default)]
pub struct ExecQueue {
    /// Lines queued by the command that is running, each for whom it runs.
    pub(in crate::server) pending: Vec<(Runner, String)>,
    /// Depth of the command running now: 0 for a typed command, 1 for a line it executed, ...
    pub(in crate::server) depth: usize,
    /// Lines executed in the current unit, all depths.
    pub(in crate::server) count: usize,
    /// A command or timer firing is running (only they may execute lines: a hook has no unit to
    /// run them after it).
    pub(in crate::server) in_command: bool,
    /// An executed line's command failed: the unit is undone.
    pub(in crate::server) failed: Option<GuestError>,
}

impl ExecQueue {
    /// How many lines are queued (for checkpoints: a failed call's lines never run).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Forget the lines queued after the first `len` (a failed call's).
    pub fn truncate(&mut self, len: usize) {
        self.pending.truncate(len);
    }
}

impl Game {
    /// `execute-cmd`: queue `line` for the session puppeting `obj`, or say which limit refuses.
    pub fn queue_execute(&mut self, obj: ObjectId, line: String) -> Result<(), String> {
        let (max_depth, max_lines) =
            (self.cfg.execute_cmd_max_depth, self.cfg.execute_cmd_max_per_unit);
        if !self.exec.in_command {
            return Err(
                "execute-cmd runs lines only from a command or a timer (not from a hook)".into()
            );
        }
        if self.exec.depth >= max_depth {
            return Err(format!(
                "execute-cmd is nested deeper than execute_cmd_max_depth ({max_depth})"
            ));
        }
        if self.exec.count + self.exec.pending.len() >= max_lines {
            return Err(format!(
                "execute-cmd ran execute_cmd_max_per_unit ({max_lines}) lines in this unit of work"
            ));
        }
        if self.world.object(obj).is_none() {
            return Err(format!("no object #{obj}"));
        }
        let runner = match self.sessions.from_puppet(obj).map(|s| s.sessid()).min() {
            Some(sessid) => Runner::Session(sessid),
            None => Runner::Object(obj),
        };
        self.exec.pending.push((runner, line));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_s_lines_are_cut_back_to_the_length_before_it() {
        let mut q = ExecQueue::default();
        q.pending.push((Runner::Session(Sessid::new(1)), "look".into()));
        let before = q.pending_len();
        q.pending.push((Runner::Object(ObjectId::new(7)), "say hi".into()));
        q.pending.push((Runner::Session(Sessid::new(1)), "north".into()));
        assert_eq!(q.pending_len(), 3);
        q.truncate(before);
        assert_eq!(q.pending, vec![(Runner::Session(Sessid::new(1)), "look".to_string())]);
    }
}
