//! The command handler: collect a session's cmdsets from its providers (session, account,
//! puppet), merge them (cached), parse the line, and run the matched command in its module.

use std::sync::Arc;

use crate::cmd::parser::{self, ParseOutcome};
use crate::cmd::{CmdSet, CommandDef};
use crate::link::Sessid;
use crate::wasm::bindings::types::Invocation;
use crate::wasm::host_api::session_info;

use super::game_loop::GameLoop;

/// What a player sees when a guest command fails (Evennia's text).
pub const UNTRAPPED_ERROR: &str = "An untrapped error occurred.";

impl GameLoop {
    /// The module names on each provider of a session, in provider order.
    fn cmdset_modules(&mut self, sessid: Sessid) -> Option<Vec<String>> {
        let game = self.game();
        let s = game.sessions.get(sessid)?;
        let cfg = &game.cfg;
        let mut names: Vec<String> = Vec::new();
        if s.data.logged_in {
            names.extend(cfg.cmdset_session.iter().cloned());
        } else {
            names.extend(cfg.cmdset_unloggedin.iter().cloned());
        }
        names.extend(s.data.cmdset_storage.iter().cloned());
        if s.data.logged_in {
            names.extend(cfg.cmdset_account.iter().cloned());
            if s.data.puid.is_some() {
                names.extend(cfg.cmdset_character.iter().cloned());
            }
        }
        Some(names)
    }

    /// The session's merged cmdset; None when not even one of its modules is loaded.
    fn session_cmdset(&mut self, sessid: Sessid) -> Option<Arc<CmdSet>> {
        let names = self.cmdset_modules(sessid)?;
        let stack: Vec<Arc<CmdSet>> =
            names.iter().filter_map(|n| self.plugins.get(n)).map(|m| m.cmdset.clone()).collect();
        if stack.is_empty() {
            let game = self.game();
            let logged_in = game.sessions.get(sessid).is_some_and(|s| s.data.logged_in);
            let missing = names.join(", ");
            let text = if logged_in {
                format!("No commands are available right now (module {missing} is not loaded). Please try again shortly.")
            } else {
                format!("The login screen is not available right now (module {missing} is not loaded). Please try again shortly.")
            };
            game.msg_session(sessid, &text);
            return None;
        }
        Some(self.merged(stack))
    }

    fn is_superuser(&mut self, sessid: Sessid) -> bool {
        let game = self.game();
        game.sessions
            .get(sessid)
            .and_then(|s| s.data.uid)
            .and_then(|u| game.world.account(u))
            .is_some_and(|a| a.is_superuser)
    }

    /// Run one command line for a session (Evennia's cmdhandler).
    pub fn run_command_line(&mut self, sessid: Sessid, line: &str) {
        let Some(set) = self.session_cmdset(sessid) else { return };
        let superuser = self.is_superuser(sessid);
        let can_use = |c: &CommandDef| c.lock.allows(superuser);
        let line = line.trim();
        match parser::parse(line, &set, &can_use) {
            ParseOutcome::NoInput(Some(cmd)) => self.execute(sessid, &cmd, &cmd.key, "", line, vec![]),
            ParseOutcome::NoInput(None) => {}
            ParseOutcome::Match(m) => self.execute(sessid, &m.cmd, &m.cmdname, &m.args, line, vec![]),
            ParseOutcome::NoMatch { system: Some(cmd), .. } => {
                self.execute(sessid, &cmd, &cmd.key, line, line, vec![])
            }
            ParseOutcome::NoMatch { system: None, message } => self.game().msg_session(sessid, &message),
            ParseOutcome::MultiMatch { system: Some(cmd), candidates, .. } => {
                let keys = candidates.iter().map(|c| c.key.clone()).collect();
                self.execute(sessid, &cmd, &cmd.key, line, line, keys)
            }
            ParseOutcome::MultiMatch { system: None, message, .. } => {
                self.game().msg_session(sessid, &message)
            }
        }
    }

    /// Run a system command by key (e.g. the connection screen), else `fallback` as a line.
    pub fn run_system_command(&mut self, sessid: Sessid, key: &str, fallback: &str) {
        let Some(set) = self.session_cmdset(sessid) else { return };
        match set.commands.iter().find(|c| c.key == key).cloned() {
            Some(cmd) => self.execute(sessid, &cmd, key, "", key, vec![]),
            None => self.run_command_line(sessid, fallback),
        }
    }

    /// Call the command's module. A trap, timeout or memory blow-up gives the caller Evennia's
    /// "An untrapped error occurred." and everyone else carries on; the failed call changed
    /// nothing (see `PluginRegistry::execute`).
    fn execute(
        &mut self,
        sessid: Sessid,
        cmd: &Arc<CommandDef>,
        cmdname: &str,
        args: &str,
        raw: &str,
        matches: Vec<String>,
    ) {
        // Clone the Arc so a module swapped in by this very command cannot pull it from under us.
        let Some(module) = self.plugins.get(&cmd.module).cloned() else {
            self.game().msg_session(sessid, &format!("Command '{cmdname}' is not available right now."));
            return;
        };
        let Some(session) = self.game().sessions.get(sessid).map(session_info) else { return };
        let inv = Invocation {
            key: cmd.key.clone(),
            cmdname: cmdname.to_string(),
            args: args.to_string(),
            raw: raw.to_string(),
            session,
            matches,
        };
        let game = self.take_game();
        let (game, result) = {
            let _span = tracing::info_span!("guest", sessid, module = %module.name, cmd = %cmd.key).entered();
            self.plugins.execute(&module, game, sessid, &inv)
        };
        self.put_game(game);
        if let Err(e) = result {
            if matches!(e, crate::wasm::GuestError::Deadline(_)) {
                self.overran = true;
            }
            tracing::error!(sessid, module = %module.name, cmd = %cmd.key, cause = %e, "command failed");
            let game = self.game();
            let text = if game.cfg.in_game_errors {
                format!("{UNTRAPPED_ERROR} ({e})")
            } else {
                UNTRAPPED_ERROR.to_string()
            };
            game.msg_session(sessid, &text);
        }
    }
}
