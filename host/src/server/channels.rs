//! The channels' generated commands (Evennia's channel nicks, once its ChannelCmdSet): when a
//! session's merged cmdset has the game's `__channel_command`, every channel its account
//! subscribes to becomes a command named after the channel and its aliases (`public hello`,
//! `pub hello`), which runs `__channel_command` with the channel's name. Subscriptions are
//! read from the world store when the session's merged cmdset is rebuilt; a subscription change
//! bumps the cmdset generation, so it is seen by the next command.

use crate::shared::ids::AccountId;
use std::sync::Arc;

use crate::cmd::{CmdSet, CommandDef};

use super::game_loop::GameLoop;

/// Priority of the channels' generated commands: above the default sets, as Evennia's
/// ChannelCmdSet was (a channel's name wins over a command of the same name for its subscribers).
const CHANNEL_CMDSET_PRIORITY: i32 = 101;

impl GameLoop {
    /// The generated commands of the channels `account` subscribes to, run by `module`'s
    /// `__channel_command`; None when it subscribes to none.
    pub(super) fn channel_cmdset(
        &mut self,
        account: AccountId,
        module: &Arc<str>,
    ) -> Option<Arc<CmdSet>> {
        let channels = match self.game().world.account_channels(account) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%account, cause = %e, "cannot read the account's channels");
                return None;
            }
        };
        let commands: Vec<Arc<CommandDef>> = channels
            .into_iter()
            .filter_map(|(c, _muted)| {
                let help = format!("Talk on channel {}.\n\nUsage:\n  {} <message>", c.name, c.name);
                let mut cmd = CommandDef::new(
                    &c.name,
                    &c.aliases,
                    &help,
                    "comms",
                    None,
                    "cmd:all()",
                    module.clone(),
                )
                .ok()?;
                cmd.channel = Some(c.name);
                Some(Arc::new(cmd))
            })
            .collect();
        if commands.is_empty() {
            return None;
        }
        Some(Arc::new(CmdSet {
            priority: CHANNEL_CMDSET_PRIORITY,
            duplicates: Some(false),
            commands,
            ..CmdSet::empty("ChannelCmdSet")
        }))
    }
}
