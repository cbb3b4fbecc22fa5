//! The account cmdset: out-of-character commands available whenever a session is logged in
//! (Evennia's AccountCmdSet). Merged below the character cmdset, so `look` here is the OOC look.

mod help;

use help::Help;
use mudhost_sdk::text::{plural, time_format, Table};
use mudhost_sdk::{args, cmdset, host, Account, CmdResult, Command, Invocation, Obj, SessionInfo};

const RULE: &str = "--------------------------------------------------------------------";

/// The caller's account; the host only runs this cmdset for logged-in sessions.
fn account(inv: &Invocation) -> Result<Account, String> {
    inv.account().ok_or_else(|| "You are not logged in.".to_string())
}

/// The account's sessions, oldest first.
fn sessions(account: Account) -> Vec<SessionInfo> {
    let mut sessions = account.sessions();
    sessions.sort_by_key(|s| s.sessid);
    sessions
}

/// Evennia's `Account.at_look`: the OOC screen with sessions and characters.
fn ooc_screen(account: Account, me: u64) -> String {
    let sessions = sessions(account);
    let mut text = format!(
        "{RULE}\nAccount |g{}|n (you are Out-of-Character)\n\n|wConnected session(s):|n",
        account.name()
    );
    for (i, s) in sessions.iter().enumerate() {
        let marker =
            if s.sessid == me { format!("|w* {}|n", i + 1) } else { format!("  {}", i + 1) };
        text += &format!("\n{marker} {} ({})", s.protocol_key, s.address);
    }
    text += "\n\n  |whelp|n - more commands\
             \n  |wcharcreate <name> [=description]|n - create new character\
             \n  |wchardelete <name>|n - delete a character (cannot be undone!)\
             \n  |wic <name>|n - enter the game as character (|wooc|n to get back here)\
             \n  |wic|n - enter the game as latest character controlled.\n\n";
    let characters = account.characters();
    if characters.is_empty() {
        text += "You don't have a character yet. Use |wcharcreate|n.";
    } else {
        let superuser = account.is_superuser();
        let max = host::get_multisession_policy().max_nr_characters;
        let max = if superuser || max == 0 { "unlimited".to_string() } else { max.to_string() };
        // Characters get their account's permissions when created, as in Evennia.
        let perms = host::account_permission(account.id()).unwrap_or_else(|| "Player".into());
        text += &format!(
            "Available character(s) ({}/{max}, |wic <name>|n to play):|n",
            characters.len()
        );
        for ch in characters {
            let name = ch.name();
            let holders = ch.sessions();
            if holders.is_empty() {
                text += &format!("\n - {name} [{perms}]");
            }
            for holder in holders {
                match sessions.iter().position(|s| s.sessid == holder.sessid) {
                    Some(i) => {
                        text += &format!(
                            "\n - |G{name}|n [{perms}] (played by you in session {})",
                            i + 1
                        )
                    }
                    None => text += &format!("\n - |R{name}|n [{perms}] (played by someone else)"),
                }
            }
        }
    }
    format!("{text}\n{RULE}")
}

/// What `look` and `ooc` show out of character: Evennia's short form when the account can only
/// ever have its one character, else the OOC screen.
fn ooc_look(account: Account, me: u64) -> String {
    let policy = host::get_multisession_policy();
    if policy.auto_puppet_on_login
        && policy.max_nr_characters == 1
        && !account.characters().is_empty()
    {
        return "You are out-of-character (OOC).\nUse |wic|n to get back into the game.".into();
    }
    ooc_screen(account, me)
}

/// OOC look (the character cmdset's `look` replaces it while in character).
struct OocLook;
impl Command for OocLook {
    const KEY: &'static str = "look";
    const ALIASES: &'static [&'static str] = &["l", "ls"];
    const HELP: &'static str = "Look while out-of-character.\n\nUsage:\n  look\n  look <character>";
    fn func(inv: &Invocation) -> CmdResult {
        let account = account(inv)?;
        if inv.session.puppet.is_some() {
            return Err("You currently have no ability to look around.".into());
        }
        let arg = inv.args_trimmed();
        if arg.is_empty() {
            inv.msg(ooc_look(account, inv.session.sessid));
            return Ok(());
        }
        let ch = own_character(account, arg)
            .map_err(|_| "You cannot see this Character.".to_string())?;
        let desc = ch.attr("desc").unwrap_or_else(|| "This is a character.".into());
        inv.msg(format!("|c{}|n\n{desc}", ch.name()));
        Ok(())
    }
}

/// One of the account's characters by key, case-insensitively.
fn own_character(account: Account, name: &str) -> Result<Obj, String> {
    let wanted = name.to_lowercase();
    let found: Vec<Obj> = account
        .characters()
        .into_iter()
        .filter(|c| c.key().is_some_and(|k| k.to_lowercase() == wanted))
        .collect();
    match found[..] {
        [] => Err("That is not a valid character choice.".into()),
        [one] => Ok(one),
        _ => {
            let list: Vec<String> = found.iter().map(|c| format!("{}({c})", c.name())).collect();
            Err(format!("Multiple targets with the same name:\n {}", list.join(", ")))
        }
    }
}

/// A character by key near the caller's puppet, else anywhere (for admins' `ic`).
fn any_character(inv: &Invocation, name: &str) -> Option<Obj> {
    let here = inv.puppet().and_then(|p| p.location());
    let near = here.map(|room| Obj::search(name, Some(room))).unwrap_or_default();
    let is_char = |o: &Obj| o.is("character");
    near.into_iter().find(is_char).or_else(|| Obj::search(name, None).into_iter().find(is_char))
}

/// Stop puppeting and go out of character.
struct Ooc;
impl Command for Ooc {
    const KEY: &'static str = "ooc";
    const HELP: &'static str = "Stop puppeting and go OOC.\n\nUsage:\n  ooc\n\nGo out-of-character (OOC).\n\nThis will leave your current character and put you in a incorporeal OOC state.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = account(inv)?;
        let Some(old) = inv.puppet() else {
            return Err("You are already OOC.".into());
        };
        host::unpuppet()
            .map_err(|e| format!("|rCould not unpuppet from |c{}|n: {e}", old.name()))?;
        inv.msg("\n|GYou go OOC.|n\n");
        inv.msg(ooc_look(account, inv.session.sessid));
        Ok(())
    }
}

/// Puppet a character.
struct Ic;
impl Command for Ic {
    const KEY: &'static str = "ic";
    const ALIASES: &'static [&'static str] = &["puppet"];
    const HELP: &'static str = "Control an object you have permission to puppet.\n\nUsage:\n  ic <character>\n\nGo in-character (IC) as a given Character. Without an argument, you\nreturn to the character you played last.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = account(inv)?;
        let arg = inv.args_trimmed();
        let target = if arg.is_empty() {
            // `_last_puppet` is maintained by the host, as a decimal object id.
            account
                .attr("_last_puppet")
                .as_deref()
                .and_then(Obj::parse)
                .ok_or("Usage: ic <character>")?
        } else {
            match own_character(account, arg) {
                Ok(ch) => ch,
                // Evennia lets builders and up puppet beyond their own characters: first what
                // is around their puppet, then anywhere.
                Err(e) if account.is_superuser() => any_character(inv, arg).ok_or(e)?,
                Err(e) => return Err(e),
            }
        };
        // Evennia remembers the choice even when the puppeting is refused.
        account.set_attr("_last_puppet", target.id().to_string())?;
        // The host applies the multisession policy and has told the player of any refusal.
        let _ = host::puppet(target.id());
        Ok(())
    }
}

/// Create a new character (the host applies MAX_NR_CHARACTERS).
struct CharCreate;
impl Command for CharCreate {
    const KEY: &'static str = "charcreate";
    const HELP: &'static str = "Create a new character.\n\nUsage:\n  charcreate <charname> [= desc]\n\nCreate a new character, optionally giving it a description. You\nmay use upper-case letters in the name - you will nevertheless\nalways be able to access your character using lower-case letters\nif you want.";
    fn func(inv: &Invocation) -> CmdResult {
        account(inv)?;
        let (key, desc) = args::split_eq(inv.args_trimmed());
        if key.is_empty() {
            return Err("Usage: charcreate <charname> [= description]".into());
        }
        host::character_create(key, desc)?;
        inv.msg(format!(
            "Created new character {key}. Use |wic {key}|n to enter the game as this character."
        ));
        Ok(())
    }
}

/// Delete one of your characters.
struct CharDelete;
impl Command for CharDelete {
    const KEY: &'static str = "chardelete";
    const HELP: &'static str = "Delete a character - this cannot be undone!\n\nUsage:\n  chardelete <charname>\n\nPermanently deletes one of your characters.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = account(inv)?;
        let name = inv.args_trimmed();
        if name.is_empty() {
            return Err("Usage: chardelete <charactername>".into());
        }
        let wanted = name.to_lowercase();
        let found: Vec<Obj> = account
            .characters()
            .into_iter()
            .filter(|c| c.key().is_some_and(|k| k.to_lowercase() == wanted))
            .collect();
        let ch = match found[..] {
            [] => return Err("You have no such character to delete.".into()),
            [one] => one,
            _ => return Err("Aborting - there are two characters with the same name. Ask an admin to delete the right one.".into()),
        };
        let key = ch.name();
        host::character_delete(ch.id())?;
        inv.msg(format!("Character '{key}' was permanently deleted."));
        Ok(())
    }
}

/// List this account's sessions.
struct Sessions;
impl Command for Sessions {
    const KEY: &'static str = "sessions";
    const HELP: &'static str = "Check your connected session(s).\n\nUsage:\n  sessions\n\nLists the sessions currently connected to your account.";
    fn func(inv: &Invocation) -> CmdResult {
        let mut table =
            Table::new(["|wsessid", "|wprotocol", "|whost", "|wpuppet/character", "|wlocation"]);
        for s in sessions(account(inv)?) {
            let puppet = s.puppet_obj();
            table.row([
                s.sessid.to_string(),
                s.protocol_key.clone(),
                s.address.clone(),
                puppet.map_or("None".into(), |p| p.name()),
                puppet.and_then(|p| p.location()).map_or("N/A".into(), |l| l.name()),
            ]);
        }
        inv.msg(format!("|wYour current session(s):|n\n{table}"));
        Ok(())
    }
}

/// List who is online.
struct Who;
impl Command for Who {
    const KEY: &'static str = "who";
    const ALIASES: &'static [&'static str] = &["doing"];
    const HELP: &'static str =
        "List who is currently online.\n\nUsage:\n  who\n  doing\n\nShows who is currently online.";
    fn func(inv: &Invocation) -> CmdResult {
        let now = host::now_ms();
        let secs_since = |t: u64| now.saturating_sub(t) / 1000;
        let mut sessions = host::get_sessions(false);
        sessions
            .sort_by_key(|s| (s.account_name.clone().unwrap_or_default().to_lowercase(), s.sessid));
        let mut table = Table::new(["|wAccount name", "|wOn for", "|wIdle"]);
        for s in &sessions {
            table.row([
                s.account_name.clone().unwrap_or_default(),
                time_format(secs_since(s.conn_time), 0),
                time_format(secs_since(s.cmd_last_visible), 1),
            ]);
        }
        let n = host::account_count() as usize;
        let count = if n == 1 { "One".to_string() } else { n.to_string() };
        inv.msg(format!("|wAccounts:|n\n{table}\n{count} unique account{} logged in.", plural(n)));
        Ok(())
    }
}

/// Leave the game.
struct Quit;
impl Command for Quit {
    const KEY: &'static str = "quit";
    const HELP: &'static str = "Quit the game.\n\nUsage:\n  quit\n\nSwitch:\n  all - disconnect all connected sessions\n\nGracefully disconnect your current session from the\ngame. Use the /all switch to disconnect from all sessions.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = account(inv)?;
        let me = inv.session.sessid;
        let sessions = sessions(account);
        if inv.switches().0.iter().any(|s| s == "all") {
            inv.msg("|RQuitting|n all sessions. Hope to see you soon again.");
            // The text goes to this session only; the reason goes in every close frame.
            for s in sessions.iter().filter(|s| s.sessid != me) {
                host::disconnect_session(s.sessid, "quit/all")?;
            }
            host::disconnect_session(me, "quit/all")?;
            return Ok(());
        }
        inv.msg(match sessions.len() {
            0 | 1 => "|RQuitting|n. Hope to see you again, soon.".to_string(),
            2 => "|RQuitting|n. One session is still connected.".to_string(),
            n => format!("|RQuitting|n. {} sessions are still connected.", n - 1),
        });
        host::disconnect_session(me, "quit")?;
        Ok(())
    }
}

/// Change the account's password; the host checks the old one and tells the outcome.
struct Password;
impl Command for Password {
    const KEY: &'static str = "password";
    const HELP: &'static str = "Change your password.\n\nUsage:\n  password <old password> = <new password>\n\nChanges your password. Make sure to pick a safe one.";
    fn func(inv: &Invocation) -> CmdResult {
        account(inv)?;
        let (old, new) = args::split_eq(inv.args_trimmed());
        match new {
            Some(new) if !old.is_empty() => {
                host::account_set_password(old, new).map_err(|e| format!("|r{e}|n"))
            }
            _ => Err("Usage: password <oldpass> = <newpass>".into()),
        }
    }
}

/// Restart the server; players stay connected.
struct Reload;
impl Command for Reload {
    const KEY: &'static str = "reload";
    const HELP: &'static str = "Reload the server.\n\nUsage:\n  reload [reason]\n\nThis restarts the server. The Portal is not\naffected. Non-persistent scripts will survive a reload.";
    const LOCKS: &'static str = "cmd:superuser()";
    const HELP_CATEGORY: &'static str = "system";
    fn func(inv: &Invocation) -> CmdResult {
        let reason = inv.args_trimmed().trim_end_matches('.');
        // The portal tells every player " Server restart initiated ..." itself.
        host::server_reload(reason).map_err(|e| format!("|r{e}|n"))?;
        Ok(())
    }
}

/// Grant an account a permission (Evennia's `perm`).
struct Perm;
impl Command for Perm {
    const KEY: &'static str = "perm";
    const ALIASES: &'static [&'static str] = &["setperm"];
    const HELP: &'static str = "Set an account's permission.\n\nUsage:\n  perm <account>\n  perm <account> = <permission>\n\nPermissions, lowest first: Player, Helper, Builder, Admin, Developer.";
    const LOCKS: &'static str = "cmd:perm(Developer)";
    const HELP_CATEGORY: &'static str = "admin";
    fn func(inv: &Invocation) -> CmdResult {
        let args = inv.args_trimmed();
        let (name, perm) = match args.split_once('=') {
            Some((n, p)) => (n.trim(), Some(p.trim())),
            None => (args, None),
        };
        if name.is_empty() {
            return Err("Usage: perm <account> [= <permission>]".into());
        }
        let id = host::account_search(name)
            .ok_or_else(|| format!("Could not find account '{name}'."))?;
        let shown = host::account_name(id).unwrap_or_else(|| name.to_string());
        match perm {
            None => inv.msg(format!(
                "Permissions on |w{shown}|n: {}",
                host::account_permission(id).unwrap_or_else(|| "<None>".into())
            )),
            Some(p) => {
                host::account_set_permission(id, p).map_err(|e| format!("|r{e}|n"))?;
                let now = host::account_permission(id).unwrap_or_default();
                inv.msg(format!("Permission '{now}' given to {shown} (the Account)."));
            }
        }
        Ok(())
    }
}

/// List loaded game modules and load errors.
struct Modules;
impl Command for Modules {
    const KEY: &'static str = "modules";
    const HELP: &'static str = "List loaded game modules and load errors.\n\nUsage:\n  modules";
    const LOCKS: &'static str = "cmd:superuser()";
    const HELP_CATEGORY: &'static str = "system";
    fn func(inv: &Invocation) -> CmdResult {
        let report = host::module_report();
        if report.is_empty() {
            inv.msg("No modules loaded.");
        } else {
            inv.msg(format!("|wModules:|n\n{}", report.join("\n")));
        }
        Ok(())
    }
}

cmdset! {
    key: "AccountCmdSet", priority: -10, merge_type: Union,
    commands: [OocLook, Ooc, Ic, CharCreate, CharDelete, Password, Sessions, Who, Quit, Help, Reload, Modules, Perm],
}

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    /// Anna logged in, out of character, with no character yet.
    fn ooc() -> (TestHost, Account, u64) {
        let host = TestHost::new();
        let anna = host.account("Anna");
        let s = host.session();
        host.login(s, anna);
        (host, anna, s)
    }

    #[test]
    fn the_ooc_look_lists_sessions_and_characters() {
        let (host, anna, _) = ooc();
        let screen = host.call::<OocLook>("", RULE);
        assert!(screen.contains("Account Anna (you are Out-of-Character)"), "{screen}");
        assert!(screen.contains("* 1 websocket (127.0.0.1)"), "{screen}");
        assert!(screen.contains("You don't have a character yet."), "{screen}");
        host.character(anna, "Anna", None);
        // One character, auto-puppet: Evennia's short form.
        host.call::<OocLook>("", "You are out-of-character (OOC).");
        host.call::<OocLook>("anna", "Anna\nThis is a character.");
        host.call::<OocLook>("bob", "You cannot see this Character.");
    }

    #[test]
    fn characters_are_created_within_the_limit_played_and_left() {
        let (host, anna, s) = ooc();
        host.call::<CharCreate>("", "Usage: charcreate <charname> [= description]");
        host.call::<CharCreate>(
            "Bob = A tall man.",
            "Created new character Bob. Use ic Bob to enter the game as this character.",
        );
        host.call::<CharCreate>("Carl", "You may only have a maximum of 1 character.");
        host.call::<Ic>("carl", "That is not a valid character choice.");
        host.call::<Ic>("bob", "You become Bob.");
        let bob = anna.characters()[0];
        assert_eq!(host.puppet_of(s), Some(bob));
        assert_eq!(anna.attr("_last_puppet"), Some(bob.id().to_string()));
        host.call::<OocLook>("", "You currently have no ability to look around.");
        host.call::<Ooc>("", "You go OOC.");
        host.call::<Ooc>("", "You are already OOC.");
        host.call::<Ic>("", "You become Bob.");
    }

    #[test]
    fn a_character_in_play_is_not_deleted() {
        let (host, anna, s) = ooc();
        let bob = host.character(anna, "Bob", Some(host.limbo()));
        host.call::<CharDelete>("carl", "You have no such character to delete.");
        host.puppet(s, bob);
        host.call::<CharDelete>("bob", "You cannot delete a character that is being played.");
        host.call::<Ooc>("", "You go OOC.");
        host.call::<CharDelete>("bob", "Character 'Bob' was permanently deleted.");
        assert!(anna.characters().is_empty());
    }

    #[test]
    fn sessions_and_who_list_who_is_connected() {
        let (host, _, _) = ooc();
        host.player("Bob", host.limbo());
        host.advance(3_600_000);
        let mine = host.call::<Sessions>("", "Your current session(s):");
        assert!(mine.contains("websocket") && mine.contains("None"), "{mine}");
        let who = host.call::<Who>("", "Accounts:");
        assert!(who.contains("Anna") && who.contains("Bob") && who.contains("1h"), "{who}");
        assert!(who.ends_with("2 unique accounts logged in."), "{who}");
    }

    #[test]
    fn quit_closes_this_session_or_all_of_them() {
        let (host, anna, first) = ooc();
        let second = host.session();
        host.login(second, anna);
        host.call_as::<Quit>(second, "", "Quitting. One session is still connected.");
        assert_eq!(host.disconnected(second).as_deref(), Some("quit"));
        let third = host.session();
        host.login(third, anna);
        host.call_as::<Quit>(third, "/all", "Quitting all sessions.");
        for s in [first, third] {
            assert_eq!(host.disconnected(s).as_deref(), Some("quit/all"));
        }
    }

    #[test]
    fn help_lists_the_commands_and_shows_one() {
        let (host, _, _) = ooc();
        host.set_commands(CmdSet::commands());
        let all = host.call::<Help>("", "");
        assert!(all.contains("-- General ---") && all.contains("chardelete"), "{all}");
        let rule = "-".repeat(78);
        host.call::<Help>("puppet", &format!("{rule}\nHelp for ic (aliases: puppet)"));
        let none = host.call::<Help>("chardelet", &format!("{rule}\nNo help found"));
        assert!(none.contains("There is no help topic matching 'chardelet'."), "{none}");
        assert!(none.contains("Other topic suggestions:\nchardelete"), "{none}");
    }

    #[test]
    fn admin_commands_act_for_a_superuser() {
        let host = TestHost::new();
        let root = host.superuser("Root");
        let s = host.session();
        host.login(s, root);
        host.account("Bob");
        host.call::<Perm>("bob", "Permissions on Bob: Player");
        host.call::<Perm>("bob = builder", "Permission 'Builder' given to Bob (the Account).");
        host.call::<Perm>("nobody", "Could not find account 'nobody'.");
        host.call::<Modules>("", "No modules loaded.");
        host.set_module_report(vec!["account abc (compiled, WIT 0.2.1)".into()]);
        host.call::<Modules>("", "Modules:\naccount abc");
        host.call::<Reload>("for the update.", "");
        assert_eq!(host.reloads(), ["for the update"]);
    }

    #[test]
    fn a_password_change_needs_both_passwords() {
        let (host, _, _) = ooc();
        host.call::<Password>("newpassword", "Usage: password <oldpass> = <newpass>");
        host.call::<Password>("wrong = newpassword", "The specified old password isn't correct.");
        host.call::<Password>("password = newpassword", "Password changed.");
    }
}
