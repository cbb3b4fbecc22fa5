//! `execute-cmd` (Evennia's `execute_cmd`): a command makes a character run a command line as if
//! its player typed it. The line is queued by the import and run right after the calling command
//! returns, for the session puppeting the character, inside the calling command's checkpoint:
//! the calling command and every line it (transitively) executes form one atomic unit, so a
//! failure anywhere undoes all of it. Running the lines after the call, not inside the import,
//! keeps every guest call un-nested (a module's instance is never re-entered, savepoints never
//! nest). Bounded by `execute_cmd_max_depth` (a chain) and `execute_cmd_max_per_unit` (a fan).

use std::sync::Arc;

use crate::link::Sessid;
use crate::wasm::bindings::types::Invocation;
use crate::wasm::{GuestError, LoadedModule};

use super::game::Game;
use super::game_loop::GameLoop;

/// The lines queued by `execute-cmd` and the state of the unit running them.
#[derive(Debug, Default)]
pub struct ExecQueue {
    /// Lines queued by the command that is running: `(session, line)`.
    pending: Vec<(Sessid, String)>,
    /// Depth of the command running now: 0 for a typed command, 1 for a line it executed, ...
    depth: usize,
    /// Lines executed in the current unit, all depths.
    count: usize,
    /// A command is running (only commands may execute lines: a timer or hook has nobody to
    /// run them after it).
    in_command: bool,
    /// An executed line's command failed: the unit is undone.
    failed: Option<GuestError>,
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
    pub fn queue_execute(&mut self, obj: u64, line: String) -> Result<(), String> {
        let (max_depth, max_lines) =
            (self.cfg.execute_cmd_max_depth, self.cfg.execute_cmd_max_per_unit);
        if !self.exec.in_command {
            return Err(
                "execute-cmd runs lines only from a command (not from a timer or hook)".into()
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
        let Some(sessid) = self.sessions.from_puppet(obj).map(|s| s.sessid()).min() else {
            return Err(format!("#{obj} is not puppeted: execute-cmd runs a line for the session puppeting a character"));
        };
        self.exec.pending.push((sessid, line));
        Ok(())
    }
}

impl GameLoop {
    /// Run a matched command's guest call: at the top of a unit, inside a checkpoint together
    /// with the lines it executes; an executed line's command runs without a checkpoint of its
    /// own (the unit's undoes it) and reports a failure to the unit.
    pub(super) fn run_guest_command(
        &mut self,
        module: &Arc<LoadedModule>,
        game: Game,
        sessid: Sessid,
        inv: &Invocation,
    ) -> (Game, Result<(), GuestError>) {
        if game.exec.depth > 0 {
            return self.plugins.execute_in_unit(module, game, sessid, inv);
        }
        let mut game = game;
        game.exec.count = 0;
        game.exec.in_command = true;
        let cp = game.checkpoint();
        let (mut game, mut result) = self.plugins.execute_in_unit(module, game, sessid, inv);
        if result.is_ok() && game.exec.pending_len() > 0 {
            self.put_game(game);
            result = self.run_executed(1);
            game = self.take_game();
        }
        game.exec.in_command = false;
        game.exec.depth = 0;
        match &result {
            Ok(()) => game.keep(cp),
            Err(_) => game.undo(cp),
        }
        game.exec.pending.clear();
        (game, result)
    }

    /// Run the lines the command just run queued, each at `depth`, depth first (each line's own
    /// lines right after it, as Evennia's synchronous `execute_cmd`); the first failure ends the
    /// unit.
    fn run_executed(&mut self, depth: usize) -> Result<(), GuestError> {
        let lines = std::mem::take(&mut self.game().exec.pending);
        for (sessid, line) in lines {
            let game = self.game();
            game.exec.depth = depth;
            game.exec.count += 1;
            self.run_command_line(sessid, &line);
            if let Some(e) = self.game().exec.failed.take() {
                return Err(e);
            }
            if !self.game().exec.pending.is_empty() {
                self.run_executed(depth + 1)?;
            }
        }
        Ok(())
    }

    /// An executed line's command failed: remember it for the unit (which is undone and reports
    /// it to the player who typed the command). Returns false outside an executed line.
    pub(super) fn executed_line_failed(&mut self, e: &GuestError) -> bool {
        let game = self.game();
        if game.exec.depth == 0 {
            return false;
        }
        if game.exec.failed.is_none() {
            game.exec.failed = Some(e.clone());
        }
        true
    }
}
