//! The unlogged-in cmdset: what a client can do before logging in (Evennia's UnloggedinCmdSet).
//! The host runs `__unloggedin_look_command` when a client connects.

use mudhost_sdk::{args, cmdset, host, CmdResult, Command, Invocation};

const CONNECTION_SCREEN: &str = "\
|b==============================================================|n
 Welcome to |gmudhost|n, an example game!

 If you have an existing account, connect to it by typing:
      |wconnect <username> <password>|n
 (or |wconnect <username>|n alone, and type the password when asked)
 If you need to create an account, type (without the <>'s):
      |wcreate <username> <password>|n

 If you have spaces in your username, enclose it in quotes.
 Enter |whelp|n for more info. |wlook|n will re-show this screen.
|b==============================================================|n";

const HELP_TEXT: &str = "
You are not yet logged into the game. Commands available at this point:

  |wcreate|n - create a new account
  |wconnect|n - connect with an existing account
  |wlook|n - re-show the connection screen
  |whelp|n - show this help
  |wquit|n - abort the connection

First create an account e.g. with |wcreate Anna c67jHL8p|n
(If you have spaces in your name, use double quotes: |wcreate \"Anna the Barbarian\" c67jHL8p|n)
Next you can connect to the game: |wconnect Anna c67jHL8p|n

You can use the |wlook|n command if you want to see the connect screen again.
";

/// The connection screen.
struct Look;
impl Command for Look {
    const KEY: &'static str = "__unloggedin_look_command";
    const ALIASES: &'static [&'static str] = &["look", "l"];
    const HELP: &'static str = "Show the connection screen.\n\nUsage:\n  look";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        inv.msg(CONNECTION_SCREEN);
        Ok(())
    }
}

/// ndb key holding the account name while `connect <name>` waits for its password.
const PENDING_LOGIN: &str = "login_name";

/// Ask for a password: a prompt with Evennia's `echo: False` option, so a telnet client stops
/// echoing what is typed (the portal answers with IAC WILL ECHO); the webclient shows a prompt.
fn ask_password(inv: &Invocation, name: &str) -> CmdResult {
    host::ndb_set(PENDING_LOGIN, Some(name));
    Ok(host::send_oob(
        inv.session.sessid,
        "prompt",
        r#"["Password: "]"#,
        r#"{"options":{"echo":false}}"#,
    )?)
}

/// While a password is asked for, whatever line comes next is the password, whichever command
/// it would otherwise be: every command of this set hands its input here first.
fn pending_password(inv: &Invocation) -> Option<CmdResult> {
    let name = host::ndb_get(PENDING_LOGIN)?;
    host::ndb_set(PENDING_LOGIN, None);
    // Echo back on; the empty line also ends the line the player typed unseen.
    if let Err(e) =
        host::send_oob(inv.session.sessid, "text", r#"[""]"#, r#"{"options":{"echo":true}}"#)
    {
        return Some(Err(e.into()));
    }
    let password = inv.raw.trim();
    if password.is_empty() {
        inv.msg("Login aborted.");
        return Some(Ok(()));
    }
    Some(host::login(&name, password).map_err(|e| format!("|R{e}|n")))
}

/// `<name> <password>`, or the usage text.
fn name_and_password(inv: &Invocation, usage: &str) -> Result<(String, String), String> {
    match <[String; 2]>::try_from(args::split_quoted(&inv.args)) {
        Ok([name, password]) => Ok((name, password)),
        Err(_) => Err(usage.to_string()),
    }
}

/// Log in; the host reports success or failure itself.
struct Connect;
impl Command for Connect {
    const KEY: &'static str = "connect";
    const ALIASES: &'static [&'static str] = &["conn", "con", "co"];
    const HELP: &'static str = "Connect to the game.\n\nUsage (at login screen):\n  connect <accountname> <password>\n  connect \"account name\" \"pass word\"\n\nUse the create command to first create an account before logging in.\nIf you have spaces in your name, enclose it in double quotes.";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        if let [name] = args::split_quoted(&inv.args).as_slice() {
            return ask_password(inv, name);
        }
        let (name, password) =
            name_and_password(inv, "\n\r Usage (without <>): connect <name> <password>")?;
        host::login(&name, &password).map_err(|e| format!("|R{e}|n"))
    }
}

/// Create an account; the host reports success itself.
struct Create;
impl Command for Create {
    const KEY: &'static str = "create";
    const ALIASES: &'static [&'static str] = &["cre", "cr"];
    const HELP: &'static str = "Create a new account.\n\nUsage (at login screen):\n  create <accountname> <password>\n  create \"account name\" \"pass word\"\n\nThis creates a new account.\nIf you have spaces in your name, enclose it in double quotes.";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        let (name, password) =
            name_and_password(inv, "\n\r Usage (without <>): create <name> <password>")?;
        host::create_account(&name, &password).map_err(|e| format!("|R{e}|n"))
    }
}

/// Short help for new players.
struct Help;
impl Command for Help {
    const KEY: &'static str = "help";
    const ALIASES: &'static [&'static str] = &["h", "?"];
    const HELP: &'static str = "Get help when not logged in.\n\nUsage:\n  help";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        inv.msg(HELP_TEXT);
        Ok(())
    }
}

/// Leave before logging in.
struct Quit;
impl Command for Quit {
    const KEY: &'static str = "quit";
    const ALIASES: &'static [&'static str] = &["q", "qu"];
    const HELP: &'static str = "Quit when in unlogged-in state.\n\nUsage:\n  quit\n\nWe maintain a different version of the quit command\nhere for unconnected accounts for the sake of simplicity.";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        host::disconnect(inv.session.sessid, "Good bye! Disconnecting.");
        Ok(())
    }
}

/// Input matching no command: the password, if one is asked for, else Evennia's text.
struct NoMatch;
impl Command for NoMatch {
    const KEY: &'static str = "__nomatch_command";
    const HELP: &'static str = "Input that matches no command.";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        inv.msg(format!("Command '{}' is not available. Type \"help\" for help.", inv.raw.trim()));
        Ok(())
    }
}

/// An empty line: aborts a password prompt, else nothing (as Evennia).
struct NoInput;
impl Command for NoInput {
    const KEY: &'static str = "__noinput_command";
    const HELP: &'static str = "An empty input line.";
    fn func(inv: &Invocation) -> CmdResult {
        if let Some(r) = pending_password(inv) {
            return r;
        }
        Ok(())
    }
}

cmdset! {
    key: "UnloggedinCmdSet", priority: 0, merge_type: Union,
    commands: [Look, Connect, Create, Help, Quit, NoMatch, NoInput],
}

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::{Sent, TestHost};

    #[test]
    fn look_and_help_show_the_connection_screen_and_the_help() {
        let host = TestHost::new();
        host.session();
        let screen = host.call::<Look>("", "==============================================================\n Welcome to mudhost, an example game!");
        assert!(screen.contains("connect <username> <password>"), "{screen}");
        let help = host.call::<Help>("", "You are not yet logged into the game.");
        assert!(help.contains("create Anna c67jHL8p"), "{help}");
    }

    #[test]
    fn create_needs_a_name_and_a_password_then_creates_the_account() {
        let host = TestHost::new();
        host.session();
        host.call::<Create>("anna", "Usage (without <>): create <name> <password>");
        host.call::<Create>("Anna secret", "This password is too short.");
        host.call::<Create>("Anna password123", "A new account 'Anna' was created. Welcome!");
        host.call::<Create>(
            "anna password123",
            "Sorry, there is already an account with the name 'anna'.",
        );
    }

    #[test]
    fn connect_with_a_name_alone_asks_for_the_password_without_echo() {
        let host = TestHost::new();
        let s = host.session();
        host.account("Anna");
        host.call::<Connect>("Anna", "");
        let asked = Sent::Oob(
            "prompt".into(),
            r#"["Password: "]"#.into(),
            r#"{"options":{"echo":false}}"#.into(),
        );
        assert!(host.sent(s).contains(&asked), "{:?}", host.sent(s));
        // Whatever comes next is the password, even a line that is no command.
        host.call::<NoMatch>("password", "");
        assert!(host.session_info(s).unwrap().logged_in);
        assert_eq!(host.ndb(s, PENDING_LOGIN), None);
    }

    #[test]
    fn a_wrong_password_is_refused_and_an_empty_one_aborts() {
        let host = TestHost::new();
        let s = host.session();
        host.account("Anna");
        host.call::<Connect>("Anna wrong", "Username and/or password is incorrect.");
        host.call::<Connect>("Anna", "");
        host.call::<NoInput>("", "Login aborted.");
        assert!(!host.session_info(s).unwrap().logged_in);
    }

    #[test]
    fn unknown_input_is_named_and_quit_disconnects() {
        let host = TestHost::new();
        let s = host.session();
        host.call::<NoMatch>("xyzzy", "Command 'xyzzy' is not available. Type \"help\" for help.");
        host.call::<Quit>("", "");
        assert_eq!(host.disconnected(s).as_deref(), Some("Good bye! Disconnecting."));
    }
}
