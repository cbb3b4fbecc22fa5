//! The example game's channels (Evennia's comms, `evennia/commands/default/comms.py`): the
//! `channel` command and its switches, and `__channel_command`, which the host runs when a
//! subscriber types a channel's name or alias (`public hello`, `pub hello`: Evennia's channel
//! nicks). Channels, subscriptions, bans and history are the host's (world database); this
//! module shows them with Evennia's texts. An account-level cmdset (config `cmdset_account`), so
//! channels work in and out of character.
//!
//! It also shows `execute-cmd` (Evennia's `execute_cmd`): `ponder` makes your character `say`
//! its thought, and `force` (Builders) makes a character run any command.

use mudhost_sdk::{args, cmdset, host, CmdResult, Command, Invocation, Obj};

/// Messages `channel/history` shows (Evennia's tail of the channel log: 20).
const HISTORY_LINES: u32 = 20;

/// The calling account must be logged in (always true where this cmdset is, but a cmdset may be
/// put anywhere).
fn logged_in(inv: &Invocation) -> CmdResult {
    inv.account().map(|_| ()).ok_or_else(|| "You must be logged in to use channels.".into())
}

/// One line per channel for the listings: name, aliases, description, and marks.
fn channel_table(channels: &[host::ChannelInfo]) -> String {
    let mut table = mudhost_sdk::text::Table::new(["channel name", "aliases", "description"]);
    for c in channels {
        let mut name = c.name.clone();
        if c.muted {
            name += " (muted)";
        }
        table.row([name, c.aliases.join(","), c.description.clone()]);
    }
    table.to_string()
}

/// `channel`: Evennia's CmdChannel.
struct Channel;
impl Command for Channel {
    const KEY: &'static str = "channel";
    const ALIASES: &'static [&'static str] = &["channels", "chan"];
    const HELP: &'static str = "Use and manage in-game channels.\n\nUsage:\n  channel                       - list your subscriptions\n  channel/all                   - list all channels\n  channel <name> = <message>    - talk on a channel\n  <name> <message>              - the same, by the channel's name or alias (pub hello)\n  channel/create <name>[;alias;alias] [= description]\n  channel/sub <name>            - subscribe (also /join)\n  channel/unsub <name>          - unsubscribe (also /leave)\n  channel/who <name>            - who is subscribed\n  channel/history <name>        - the last messages\n  channel/mute <name>           - stop hearing a channel, staying subscribed\n  channel/unmute <name>\n  channel/ban <name> [= <account>]   - ban an account (owner or Admin); alone, list bans\n  channel/unban <name> = <account>\n\nEvery account starts in the |wpublic|n channel (alias |wpub|n).";
    const HELP_CATEGORY: &'static str = "comms";
    fn func(inv: &Invocation) -> CmdResult {
        logged_in(inv)?;
        let (switches, rest) = inv.switches();
        let (lhs, rhs) = args::split_eq(rest);
        let switch = switches.first().map(String::as_str).unwrap_or("");
        match switch {
            "" if lhs.is_empty() => {
                let subscribed: Vec<_> =
                    host::channel_list().into_iter().filter(|c| c.subscribed).collect();
                inv.msg(format!(
                    "\n|wChannel subscriptions|n (use |w/all|n to see all available):\n{}",
                    channel_table(&subscribed)
                ));
            }
            "all" | "list" => {
                let all = host::channel_list();
                inv.msg(format!(
                    "\n|wAvailable channels|n (use no argument to only show your subscriptions)\n{}",
                    channel_table(&all)
                ));
            }
            "" => match rhs {
                Some(message) => host::channel_send(lhs, message)?,
                None => show_channel(inv, lhs)?,
            },
            "create" => {
                let mut names = lhs.split(';').map(str::trim);
                let name = names.next().unwrap_or("");
                if name.is_empty() {
                    return Err("To create: channel/create name[;aliases] [= description]".into());
                }
                let aliases: Vec<String> =
                    names.filter(|a| !a.is_empty()).map(String::from).collect();
                host::channel_create(name, &aliases, rhs.unwrap_or(""))?;
                inv.msg(format!("Created (and joined) new channel '{name}'."));
            }
            "sub" | "join" => {
                let name = host::channel_sub(needs_name(lhs)?)?;
                let aliases = host::channel_list()
                    .into_iter()
                    .find(|c| c.name == name)
                    .map(|c| c.aliases)
                    .unwrap_or_default();
                let alias_txt = if aliases.is_empty() {
                    String::new()
                } else {
                    format!(" using alias(es) {}", aliases.join(", "))
                };
                inv.msg(format!(
                    "You are now subscribed to the channel {name}{alias_txt}. Use |w{name} <message>|n to talk on it."
                ));
            }
            "unsub" | "leave" => {
                let name = host::channel_unsub(needs_name(lhs)?)?;
                inv.msg(format!(
                    "You un-subscribed from channel {name}. All aliases were cleared."
                ));
            }
            "who" => {
                let name = needs_name(lhs)?;
                let who = host::channel_who(name)?;
                let channel = canonical(name);
                inv.msg(format!("Subscribed to {channel}:\n{}", who.join("\n")));
            }
            "history" => {
                let lines = host::channel_history(needs_name(lhs)?, HISTORY_LINES)?;
                if lines.is_empty() {
                    inv.msg(format!("No history on channel {}.", canonical(lhs)));
                } else {
                    inv.msg(lines.join("\n"));
                }
            }
            "mute" => {
                let name = host::channel_mute(needs_name(lhs)?, true)?;
                inv.msg(format!("Muted channel {name}."));
            }
            "unmute" => {
                let name = host::channel_mute(needs_name(lhs)?, false)?;
                inv.msg(format!("Un-muted channel {name}."));
            }
            "ban" => match rhs {
                None => {
                    let bans = host::channel_bans(needs_name(lhs)?)?;
                    let channel = canonical(lhs);
                    if bans.is_empty() {
                        inv.msg(format!("No one is banned from channel {channel}."));
                    } else {
                        inv.msg(format!("Bans on channel {channel}:\n{}", bans.join("\n")));
                    }
                }
                Some(who) => {
                    let name = host::channel_ban(needs_name(lhs)?, who, true)?;
                    inv.msg(format!("Banned {name} from channel {}.", canonical(lhs)));
                }
            },
            "unban" => {
                let Some(who) = rhs else {
                    return Err("Usage: channel/unban <channel> = <account>".into());
                };
                let name = host::channel_ban(needs_name(lhs)?, who, false)?;
                inv.msg(format!("Un-banned {name} from channel {}", canonical(lhs)));
            }
            other => return Err(format!("Unknown switch /{other}. See |whelp channel|n.")),
        }
        Ok(())
    }
}

/// A switch that needs a channel name.
fn needs_name(name: &str) -> Result<&str, String> {
    if name.is_empty() {
        return Err("Usage[/switches]: channel [= message]".into());
    }
    Ok(name)
}

/// The channel's own name for a name or alias the player typed.
fn canonical(name: &str) -> String {
    host::channel_list()
        .into_iter()
        .find(|c| {
            c.name.eq_ignore_ascii_case(name)
                || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .map(|c| c.name)
        .unwrap_or_else(|| name.to_string())
}

/// `channel <name>` or a channel's command alone: what the channel is.
fn show_channel(inv: &Invocation, name: &str) -> CmdResult {
    let c = host::channel_list()
        .into_iter()
        .find(|c| {
            c.name.eq_ignore_ascii_case(name)
                || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            format!("No channel found matching '{name}' (could also be due to missing access).")
        })?;
    inv.msg(format!(
        "Channel |w{}|n\n(use |w{} <msg>|n (or a channel-alias) to chat)\n{}",
        c.name,
        c.name,
        channel_table(&[c.clone()])
    ));
    Ok(())
}

/// What the host runs when a subscriber types a channel's name or alias: the channel is in
/// `matches`, the message in `args`.
struct ChannelSay;
impl Command for ChannelSay {
    const KEY: &'static str = "__channel_command";
    const HELP: &'static str = "Talk on a channel by its name or alias.";
    fn func(inv: &Invocation) -> CmdResult {
        let Some(channel) = inv.matches.first() else { return Ok(()) };
        let message = inv.args_trimmed();
        if message.is_empty() {
            return show_channel(inv, channel);
        }
        Ok(host::channel_send(channel, message)?)
    }
}

/// `ponder <thought>`: your character says it, by running `say` as if you typed it
/// (`execute-cmd`, Evennia's `execute_cmd`).
struct Ponder;
impl Command for Ponder {
    const KEY: &'static str = "ponder";
    const HELP: &'static str = "Think out loud.\n\nUsage:\n  ponder <thought>\n\nYour character says what you ponder (it runs |wsay|n for you).";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You must be in the game to ponder.")?;
        let thought = inv.args_trimmed();
        if thought.is_empty() {
            return Err("Usage: ponder <thought>".into());
        }
        Ok(host::execute_cmd(me, &format!("say Hmm... {thought}"))?)
    }
}

/// `force <character> = <command>`: Evennia's CmdForce (Builders).
struct Force;
impl Command for Force {
    const KEY: &'static str = "force";
    const HELP: &'static str = "Force a character to execute a command.\n\nUsage:\n  force <character> = <command>\n\nThe character runs the command as if its player had typed it.";
    const LOCKS: &'static str = "cmd:perm(Builder)";
    const HELP_CATEGORY: &'static str = "building";
    fn func(inv: &Invocation) -> CmdResult {
        let (lhs, rhs) = args::split_eq(inv.args_trimmed());
        let (Some(command), false) = (rhs.filter(|r| !r.is_empty()), lhs.is_empty()) else {
            return Err("You must provide a target and a command string to execute.".into());
        };
        let target = if lhs.eq_ignore_ascii_case("me") {
            inv.puppet()
        } else {
            let here = inv.puppet().and_then(Obj::location);
            Obj::search(lhs, here)
                .into_iter()
                .chain(Obj::search(lhs, None))
                .find(|o| o.is("character"))
        }
        .ok_or_else(|| format!("Could not find '{lhs}'."))?;
        host::execute_cmd(target, command)?;
        inv.msg(format!("You have forced {} to: {command}", target.name()));
        Ok(())
    }
}

cmdset! {
    key: "CommsCmdSet", priority: 0, merge_type: Union,
    commands: [Channel, ChannelSay, Ponder, Force],
}

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    #[test]
    fn public_reaches_every_session_of_every_subscriber() {
        let host = TestHost::new();
        let room = host.room("Hall", "");
        let ann = host.player("Ann", room);
        let bob = host.player("Bob", room);
        for s in [ann, bob] {
            host.subscribe(
                host.session_info(s).unwrap().account.map(mudhost_sdk::Account).unwrap(),
                "public",
            );
        }
        host.call_as::<Channel>(ann, " public = hello", "");
        assert_eq!(host.output(bob), ["[public] Ann: hello"]);
        assert_eq!(host.output(ann), ["[public] Ann: hello"]);
    }

    #[test]
    fn create_then_history_and_ponder_runs_say() {
        let host = TestHost::new();
        let room = host.room("Hall", "");
        let ann = host.player("Ann", room);
        host.call_as::<Channel>(
            ann,
            "/create ooc;o = Out of character",
            "Created (and joined) new channel 'ooc'.",
        );
        host.take_output(ann);
        host.call_as::<Channel>(ann, " o = hi", "[ooc] Ann: hi");
        host.call_as::<Channel>(ann, "/history ooc", "[ooc] Ann: hi");
        host.call_as::<Ponder>(ann, " the sky", "");
        let me = host.puppet_of(ann).unwrap();
        assert_eq!(host.executed(), [(me.0, "say Hmm... the sky".to_string())]);
    }
}
