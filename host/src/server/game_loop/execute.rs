//! `execute-cmd` (Evennia's `execute_cmd`): a command makes a character or NPC run a command line
//! as if typed. The line is queued by the import and run right after the calling command returns,
//! for the session puppeting the character (an NPC with its own cmdsets, see
//! `GameLoop::run_object_line`), inside the calling command's checkpoint:
//! the calling command and every line it (transitively) executes form one atomic unit, so a
//! failure anywhere undoes all of it. Running the lines after the call, not inside the import,
//! keeps every guest call un-nested (a module's instance is never re-entered, savepoints never
//! nest). Bounded by `execute_cmd_max_depth` (a chain) and `execute_cmd_max_per_unit` (a fan).

use crate::shared::ids::ObjectId;
use std::sync::Arc;

use crate::link::Sessid;
use crate::wasm::bindings::types::Invocation;
use crate::{server::LoadedModule, wasm::GuestError};

use super::GameLoop;
use crate::server::game::{Game, Runner};

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
        let (game, result) = self.plugins.execute_in_unit(module, game, sessid, inv);
        self.finish_unit(game, cp, result)
    }

    /// A timer firing (`at-timer`), in a checkpoint together with the lines it executes, as a
    /// command: an NPC's behaviour on a timer can make it act. None when the module cannot
    /// receive firings.
    pub(super) fn run_guest_timer(
        &mut self,
        module: &Arc<LoadedModule>,
        game: Game,
        timer: &crate::wasm::bindings::types::TimerInfo,
    ) -> (Game, Option<Result<(), GuestError>>) {
        let mut game = game;
        game.exec.count = 0;
        game.exec.in_command = true;
        let cp = game.checkpoint();
        let (mut game, result) = self.plugins.timer_fire_in_unit(module, game, timer);
        let Some(result) = result else {
            game.exec.in_command = false;
            game.keep(cp);
            return (game, None);
        };
        let (game, result) = self.finish_unit(game, cp, result);
        (game, Some(result))
    }

    /// After the unit's first call: run the lines it executed, then keep or undo the whole unit.
    fn finish_unit(
        &mut self,
        mut game: Game,
        cp: crate::server::game::Checkpoint,
        mut result: Result<(), GuestError>,
    ) -> (Game, Result<(), GuestError>) {
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
        for (runner, line) in lines {
            let game = self.game();
            game.exec.depth = depth;
            game.exec.count += 1;
            match runner {
                Runner::Session(sessid) => self.run_command_line(sessid, &line),
                Runner::Object(obj) => self.run_object_line(obj, &line),
            }
            if let Some(e) = self.game().exec.failed.take() {
                return Err(e);
            }
            if !self.game().exec.pending.is_empty() {
                self.run_executed(depth + 1)?;
            }
        }
        Ok(())
    }

    /// Run a line for an object no session puppets (Evennia's `obj.execute_cmd` on an NPC): the
    /// modules of the object's own cmdset stack, after the character slot's for a character
    /// (not the sets of objects near it, nor exits), parsed with no permissions; the guest sees
    /// a session of id 0 puppeting the object, so its `msg-caller` reaches nobody, while what it
    /// says to the room is heard.
    fn run_object_line(&mut self, obj: ObjectId, line: &str) {
        let game = self.game();
        let Some(o) = game.world.object(obj) else { return };
        let mut modules: Vec<String> =
            if o.kind == "character" { game.cfg.cmdset_character.clone() } else { vec![] };
        modules.extend(
            game.world
                .cmdset_stack(crate::store::Holder::Object(obj))
                .iter()
                .map(|e| e.module.clone()),
        );
        let stack: Vec<Arc<crate::cmd::CmdSet>> =
            modules.iter().filter_map(|m| self.plugins.get(m)).map(|m| m.cmdset.clone()).collect();
        if stack.is_empty() {
            return;
        }
        let set = self.merged(stack);
        let nobody = crate::cmd::LockCaller { superuser: false, permission: None };
        let can_use = |c: &crate::cmd::CommandDef| c.lock.allows(&nobody);
        let line = line.trim();
        use crate::cmd::parser::{self, ParseOutcome};
        let (cmd, cmdname, args, matches) = match parser::parse(line, &set, &can_use) {
            ParseOutcome::NoInput(Some(cmd)) => {
                (cmd.clone(), cmd.key.clone(), String::new(), vec![])
            }
            ParseOutcome::Match(m) => (m.cmd, m.cmdname, m.args, vec![]),
            ParseOutcome::NoMatch { system: Some(cmd), .. } => {
                (cmd.clone(), cmd.key.clone(), line.to_string(), vec![])
            }
            ParseOutcome::MultiMatch { system: Some(cmd), candidates, .. } => {
                let keys = candidates.iter().map(|c| c.key.clone()).collect();
                (cmd.clone(), cmd.key.clone(), line.to_string(), keys)
            }
            _ => return,
        };
        let Some(module) = self.plugins.get(&cmd.module).cloned() else { return };
        let inv = Invocation {
            key: cmd.key.clone(),
            cmdname,
            args,
            raw: line.to_string(),
            session: object_session(obj),
            matches,
        };
        let game = self.take_game();
        let (game, result) = self.run_guest_command(&module, game, Sessid::new(0), &inv);
        self.put_game(game);
        if let Err(e) = result {
            tracing::error!(%obj, module = %module.name, cmd = %cmd.key, cause = %e, "executed command failed");
            self.executed_line_failed(&e);
        }
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

/// The session an object's executed command sees: id 0 (no session, so `msg-caller` reaches
/// nobody) puppeting the object, logged in to no account.
fn object_session(obj: ObjectId) -> crate::wasm::bindings::types::SessionInfo {
    crate::wasm::bindings::types::SessionInfo {
        sessid: 0,
        address: String::new(),
        protocol_key: "execute-cmd".into(),
        csessid: None,
        logged_in: false,
        account: None,
        account_name: None,
        puppet: Some(obj.get()),
        conn_time: 0,
        cmd_last: 0,
        cmd_last_visible: 0,
        cmd_total: 0,
        protocol_flags: vec![],
    }
}
