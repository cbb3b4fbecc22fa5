//! The account cmdset: out-of-character commands available whenever a session is logged in
//! (Evennia's AccountCmdSet). Merged below the character cmdset, so `look` here is the OOC look.

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
    let mut text = format!("{RULE}\nAccount |g{}|n (you are Out-of-Character)\n\n|wConnected session(s):|n", account.name());
    for (i, s) in sessions.iter().enumerate() {
        let marker = if s.sessid == me { format!("|w* {}|n", i + 1) } else { format!("  {}", i + 1) };
        text += &format!("\n{marker} {} ({})", s.protocol_key, s.address);
    }
    text += "\n\n  |whelp|n - more commands\
             \n  |wcharcreate <name> [=description]|n - create new character\
             \n  |wic <name>|n - enter the game as character (|wooc|n to get back here)\
             \n  |wic|n - enter the game as latest character controlled.\n\n";
    let characters = account.characters();
    if characters.is_empty() {
        text += "You don't have a character yet. Use |wcharcreate|n.";
    } else {
        text += &format!("Available character(s) ({}, |wic <name>|n to play):|n", characters.len());
        for ch in characters {
            let name = ch.name();
            let holders = ch.sessions();
            if holders.is_empty() {
                text += &format!("\n - {name}");
            }
            for holder in holders {
                match sessions.iter().position(|s| s.sessid == holder.sessid) {
                    Some(i) => text += &format!("\n - |G{name}|n (played by you in session {})", i + 1),
                    None => text += &format!("\n - |R{name}|n (played by someone else)"),
                }
            }
        }
    }
    format!("{text}\n\n{RULE}")
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
            inv.msg(ooc_screen(account, inv.session.sessid));
            return Ok(());
        }
        let ch = own_character(account, arg).map_err(|_| "You cannot see this Character.".to_string())?;
        let desc = ch.attr("desc").unwrap_or_else(|| "This is a character.".into());
        inv.msg(format!("|c{}|n\n{desc}", ch.name()));
        Ok(())
    }
}

/// One of the account's characters by key, case-insensitively.
fn own_character(account: Account, name: &str) -> Result<Obj, String> {
    let wanted = name.to_lowercase();
    let found: Vec<Obj> =
        account.characters().into_iter().filter(|c| c.key().is_some_and(|k| k.to_lowercase() == wanted)).collect();
    match found[..] {
        [] => Err("That is not a valid character choice.".into()),
        [one] => Ok(one),
        _ => {
            let list: Vec<String> = found.iter().map(|c| format!("{}({c})", c.name())).collect();
            Err(format!("Multiple targets with the same name:\n {}", list.join(", ")))
        }
    }
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
        host::unpuppet().map_err(|e| format!("|rCould not unpuppet from |c{}|n: {e}", old.name()))?;
        inv.msg("\n|GYou go OOC.|n\n");
        inv.msg(ooc_screen(account, inv.session.sessid));
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
            account.attr("_last_puppet").as_deref().and_then(Obj::parse).ok_or("Usage: ic <character>")?
        } else {
            own_character(account, arg)?
        };
        host::puppet(target.id()).map_err(|e| format!("|rYou cannot become |C{}|n: {e}", target.name()))
    }
}

/// Create a new character.
struct CharCreate;
impl Command for CharCreate {
    const KEY: &'static str = "charcreate";
    const HELP: &'static str = "Create a new character.\n\nUsage:\n  charcreate <charname> [= desc]\n\nCreate a new character, optionally giving it a description. You\nmay use upper-case letters in the name - you will nevertheless\nalways be able to access your character using lower-case letters\nif you want.";
    fn func(inv: &Invocation) -> CmdResult {
        let account = account(inv)?;
        let (key, desc) = args::split_eq(inv.args_trimmed());
        if key.is_empty() {
            return Err("Usage: charcreate <charname> [= description]".into());
        }
        // Character names are unique game-wide, as Evennia checks them.
        if Obj::search(key, None).into_iter().any(|o| o.is("character")) {
            return Err(format!("|rA character named '|w{key}|r' already exists.|n"));
        }
        let ch = Obj::create(key, "character", Some(Obj::start_location()));
        let desc = desc.filter(|d| !d.is_empty()).unwrap_or("This is a character.");
        // The host finds an account's characters by this attribute.
        if let Err(e) = ch.set_attr("owner_account", account.id().to_string()).and(ch.set_attr("desc", desc)) {
            let _ = ch.delete();
            return Err(format!("|rCould not create the character: {e}|n"));
        }
        inv.msg(format!("Created new character {key}. Use |wic {key}|n to enter the game as this character."));
        Ok(())
    }
}

/// List this account's sessions.
struct Sessions;
impl Command for Sessions {
    const KEY: &'static str = "sessions";
    const HELP: &'static str = "Check your connected session(s).\n\nUsage:\n  sessions\n\nLists the sessions currently connected to your account.";
    fn func(inv: &Invocation) -> CmdResult {
        let mut table = Table::new(["|wsessid", "|wprotocol", "|whost", "|wpuppet/character", "|wlocation"]);
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
    const HELP: &'static str = "List who is currently online.\n\nUsage:\n  who\n  doing\n\nShows who is currently online.";
    fn func(inv: &Invocation) -> CmdResult {
        let now = host::now_ms();
        let secs_since = |t: u64| now.saturating_sub(t) / 1000;
        let mut sessions = host::get_sessions(false);
        sessions.sort_by_key(|s| (s.account_name.clone().unwrap_or_default().to_lowercase(), s.sessid));
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
            for s in sessions.iter().filter(|s| s.sessid != me) {
                host::disconnect(s.sessid, "Quitting all sessions. Hope to see you soon again.");
            }
            host::disconnect(me, "Quitting all sessions. Hope to see you soon again.");
            return Ok(());
        }
        inv.msg(match sessions.len() {
            0 | 1 => "|RQuitting|n. Hope to see you again, soon.".to_string(),
            2 => "|RQuitting|n. One session is still connected.".to_string(),
            n => format!("|RQuitting|n. {} sessions are still connected.", n - 1),
        });
        host::disconnect(me, "Quitting. Hope to see you again, soon.");
        Ok(())
    }
}

/// Whether the caller may use a command with this lock string (mirrors the host's lock check).
fn may_use(locks: &str, superuser: bool) -> bool {
    match locks {
        "cmd:false()" => false,
        "cmd:superuser()" | "cmd:perm(Developer)" => superuser,
        _ => true,
    }
}

/// List commands, or show one command's help.
struct Help;
impl Command for Help {
    const KEY: &'static str = "help";
    const ALIASES: &'static [&'static str] = &["h", "?"];
    const HELP: &'static str = "View help on a command.\n\nUsage:\n  help\n  help <command>";
    fn func(inv: &Invocation) -> CmdResult {
        let superuser = account(inv)?.is_superuser();
        let mut commands: Vec<_> =
            CmdSet::commands().into_iter().filter(|c| !c.key.starts_with("__") && may_use(&c.locks, superuser)).collect();
        commands.sort_by(|a, b| a.key.cmp(&b.key));
        let topic = inv.args_trimmed().to_lowercase();
        if topic.is_empty() {
            let mut text = format!("{RULE}\n|wCommands|n (|whelp <command>|n for details):");
            for c in &commands {
                text += &format!("\n  |w{}|n - {}", c.key, c.help.lines().next().unwrap_or(""));
            }
            inv.msg(format!("{text}\n{RULE}"));
            return Ok(());
        }
        let c = commands
            .iter()
            .find(|c| c.key == topic || c.aliases.contains(&topic))
            .ok_or_else(|| format!("No help entry found for '{}'.", inv.args_trimmed()))?;
        let aliases = if c.aliases.is_empty() { String::new() } else { format!(" (aliases: {})", c.aliases.join(", ")) };
        inv.msg(format!("{RULE}\n|cHelp for {}|n{aliases}\n\n{}\n{RULE}", c.key, c.help.trim_end()));
        Ok(())
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
    commands: [OocLook, Ooc, Ic, CharCreate, Sessions, Who, Quit, Help, Reload, Modules],
}
