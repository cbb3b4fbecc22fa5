//! The test host's server side: cmdset stacks on every holder, the command list `help` reads,
//! the module report, accepted reloads and the module's log; the fakes of their imports.

use super::{with, TestHost};
use crate::{CmdsetHolder, CommandInfo, HostError, LogLevel};

impl TestHost {
    /// The module names on a holder's cmdset stack, bottom first.
    pub fn cmdsets(&self, holder: CmdsetHolder) -> Vec<String> {
        with(|s| s.cmdsets.get(&holder.into()).cloned().unwrap_or_default())
    }

    /// The commands `caller-commands` answers (e.g. `CmdSet::commands()`), for `help`.
    pub fn set_commands(&self, commands: Vec<CommandInfo>) {
        with(|s| s.commands = commands);
    }

    /// The lines `module-report` answers.
    pub fn set_module_report(&self, lines: Vec<String>) {
        with(|s| s.module_report = lines);
    }

    /// The module's log lines so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        with(|s| s.logs.clone())
    }

    /// The reasons of `server-reload` calls accepted so far.
    pub fn reloads(&self) -> Vec<String> {
        with(|s| s.reloads.clone())
    }
}

pub fn cmdset_add(holder: CmdsetHolder, module: &str, _persistent: bool) -> Result<(), HostError> {
    with(|s| {
        let stack = s.cmdsets.entry(holder.into()).or_default();
        if !stack.iter().any(|m| m == module) {
            stack.push(module.into());
        }
        Ok(())
    })
}

pub fn cmdset_remove(holder: CmdsetHolder, module: &str) -> Result<(), HostError> {
    with(|s| {
        let stack = s.cmdsets.entry(holder.into()).or_default();
        let before = stack.len();
        stack.retain(|m| m != module);
        if stack.len() == before {
            return Err(HostError::Refused(format!("No cmdset '{module}' on that stack.")));
        }
        Ok(())
    })
}

pub fn cmdset_list(holder: CmdsetHolder) -> Vec<String> {
    with(|s| s.cmdsets.get(&holder.into()).cloned().unwrap_or_default())
}

pub fn session_cmdset_add(module: &str) -> Result<(), HostError> {
    let c = with(|s| s.caller());
    cmdset_add(CmdsetHolder::Session(c), module, false)
}

pub fn session_cmdset_remove(module: &str) -> Result<(), HostError> {
    let c = with(|s| s.caller());
    cmdset_remove(CmdsetHolder::Session(c), module)
}

pub fn caller_commands() -> Vec<CommandInfo> {
    with(|s| s.commands.clone())
}

pub fn module_report() -> Vec<String> {
    with(|s| s.module_report.clone())
}

pub fn server_reload(reason: &str) -> Result<(), HostError> {
    with(|s| {
        if !s.superuser(s.caller_account()) {
            return Err(HostError::Denied("Only a superuser may reload the server.".into()));
        }
        s.reloads.push(reason.into());
        Ok(())
    })
}

pub fn log(level: LogLevel, message: &str) {
    with(|s| s.logs.push((level, message.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cmdset_stack_holds_a_module_once_and_refuses_removing_a_missing_one() {
        let host = TestHost::new();
        let s = host.session();
        host.as_session(s, || {
            session_cmdset_add("menu").unwrap();
            session_cmdset_add("menu").unwrap();
            cmdset_add(CmdsetHolder::Object(1), "box", true).unwrap();
        });
        assert_eq!(host.cmdsets(CmdsetHolder::Session(s)), ["menu"]);
        assert_eq!(host.cmdsets(CmdsetHolder::Object(1)), ["box"]);
        host.as_session(s, || {
            session_cmdset_remove("menu").unwrap();
            let missing = HostError::Refused("No cmdset 'menu' on that stack.".into());
            assert_eq!(session_cmdset_remove("menu"), Err(missing));
        });
        assert!(host.cmdsets(CmdsetHolder::Session(s)).is_empty());
    }

    #[test]
    fn only_a_superuser_reloads_the_server() {
        let host = TestHost::new();
        let player = host.player("Anna", host.limbo());
        let root = host.session();
        host.login(root, host.superuser("Root"));
        let denied = HostError::Denied("Only a superuser may reload the server.".into());
        host.as_session(player, || assert_eq!(server_reload("x"), Err(denied)));
        host.as_session(root, || server_reload("update").unwrap());
        assert_eq!(host.reloads(), ["update"]);
    }
}
