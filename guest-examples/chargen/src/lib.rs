//! Example session class: character creation kept at session level, Evennia's motivating case
//! for SERVER_SESSION_CLASS. In MULTISESSION_MODE 2 or 3 an account has several sessions, each
//! puppeting its own character; when one of them starts `charcreate`, only *that* session gets
//! the chargen cmdset and walks through name → description → confirm, ending up puppeting the
//! new character. The account's other sessions are not touched.
//!
//! - `data-in`: a bare `charcreate` starts chargen in the session (`charcreate <name>` still goes
//!   to the account command);
//! - the module's cmdset (added to the session only) has `name`, `desc`, `confirm`, `abort`;
//! - `data-out`: while chargen runs, the session's output ends with a `prompt` line showing the
//!   step;
//! - state lives in the session's ndb, so a server reload in the middle loses nothing.
//!
//! Configure with `session_class = "chargen"`.

use mudhost_sdk::{
    cmdset, host, session_class, CmdResult, Command, HookResult, Invocation, Message, SessionClass,
    SessionInfo,
};

/// This module's name (its file stem), which is how its cmdset is added to a session.
const MODULE: &str = "chargen";
const STEP: &str = "chargen.step";
const NAME: &str = "chargen.name";
const DESC: &str = "chargen.desc";

fn step() -> Option<String> {
    host::ndb_get(STEP)
}

fn set(key: &str, value: Option<&str>) {
    host::ndb_set(key, value)
}

fn finish() {
    for k in [STEP, NAME, DESC] {
        set(k, None);
    }
    // It is there while chargen runs; if it is not, there is nothing to remove.
    let _ = host::session_cmdset_remove(MODULE);
}

struct Chargen;
impl SessionClass for Chargen {
    fn data_in(msg: &Message, session: &SessionInfo) -> HookResult {
        let Some(line) = msg.text_line() else { return HookResult::Pass };
        if !line.trim().eq_ignore_ascii_case("charcreate") || !session.logged_in {
            return HookResult::Pass;
        }
        if step().is_some() {
            return HookResult::swallow_with(
                "You are already creating a character (|wabort|n to stop).",
            );
        }
        if let Err(e) = host::session_cmdset_add(MODULE) {
            return HookResult::swallow_with(format!(
                "|rCharacter creation is not available: {e}|n"
            ));
        }
        set(STEP, Some("name"));
        HookResult::swallow_with(
            "|wCharacter creation|n (in this session only).\nChoose a name: |wname <name>|n (or |wabort|n).",
        )
    }

    fn data_out(_session: &SessionInfo, mut messages: Vec<Message>) -> Vec<Message> {
        if let Some(step) = step() {
            messages.push(Message::new(
                "prompt",
                vec![format!("[chargen: {step}]").into()],
                Default::default(),
            ));
        }
        messages
    }
}

/// `name <name>`: the new character's name.
struct Name;
impl Command for Name {
    const KEY: &'static str = "name";
    const HELP: &'static str = "Character creation: choose the name.\n\nUsage:\n  name <name>";
    const HELP_CATEGORY: &'static str = "chargen";
    fn func(inv: &Invocation) -> CmdResult {
        let name = inv.args_trimmed();
        if name.is_empty() {
            return Err("Usage: name <name>".into());
        }
        set(NAME, Some(name));
        set(STEP, Some("description"));
        inv.msg(format!("Name: |w{name}|n. Now describe your character: |wdesc <text>|n."));
        Ok(())
    }
}

/// `desc <text>`: the new character's description.
struct Desc;
impl Command for Desc {
    const KEY: &'static str = "desc";
    const HELP: &'static str =
        "Character creation: describe the character.\n\nUsage:\n  desc <text>";
    const HELP_CATEGORY: &'static str = "chargen";
    fn func(inv: &Invocation) -> CmdResult {
        host::ndb_get(NAME).ok_or("Choose a name first: name <name>")?;
        let desc = inv.args_trimmed();
        if desc.is_empty() {
            return Err("Usage: desc <text>".into());
        }
        set(DESC, Some(desc));
        set(STEP, Some("confirm"));
        let name = host::ndb_get(NAME).unwrap_or_default();
        inv.msg(format!(
            "|w{name}|n: {desc}\nType |wconfirm|n to create this character, or |wabort|n."
        ));
        Ok(())
    }
}

/// `confirm`: create the character and puppet it.
struct Confirm;
impl Command for Confirm {
    const KEY: &'static str = "confirm";
    const HELP: &'static str =
        "Character creation: create the character and become it.\n\nUsage:\n  confirm";
    const HELP_CATEGORY: &'static str = "chargen";
    fn func(inv: &Invocation) -> CmdResult {
        let (Some(name), Some(desc)) = (host::ndb_get(NAME), host::ndb_get(DESC)) else {
            return Err("Choose a name and a description first.".into());
        };
        let id = host::character_create(&name, Some(&desc)).map_err(|e| format!("|r{e}|n"))?;
        finish();
        inv.msg(format!("Created new character {name}."));
        // The host tells the player the outcome (and shows the room).
        let _ = host::puppet(id);
        Ok(())
    }
}

/// `abort`: stop creating a character.
struct Abort;
impl Command for Abort {
    const KEY: &'static str = "abort";
    const HELP: &'static str = "Character creation: stop.\n\nUsage:\n  abort";
    const HELP_CATEGORY: &'static str = "chargen";
    fn func(inv: &Invocation) -> CmdResult {
        finish();
        inv.msg("Character creation aborted.");
        Ok(())
    }
}

cmdset! { key: "ChargenCmdSet", priority: 10, merge_type: Union, commands: [Name, Desc, Confirm, Abort] }
session_class!(Chargen);

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;
    use mudhost_sdk::CmdsetHolder;

    fn typed(host: &TestHost, s: u64, line: &str) -> HookResult {
        let info = host.session_info(s).unwrap();
        host.as_session(s, || Chargen::data_in(&Message::text(line), &info))
    }

    /// The prompt line data_out adds, if any.
    fn prompt(host: &TestHost, s: u64) -> Option<String> {
        let info = host.session_info(s).unwrap();
        let out = host.as_session(s, || Chargen::data_out(&info, vec![Message::text("x")]));
        out.get(1).and_then(|m| m.args_json().first().and_then(|v| v.as_str().map(str::to_owned)))
    }

    #[test]
    fn chargen_walks_one_session_from_name_to_a_played_character() {
        let host = TestHost::new();
        let anna = host.account("Anna");
        let (s, other) = (host.session(), host.session());
        host.login(s, anna);
        host.login(other, anna);
        let started = typed(&host, s, "charcreate");
        assert!(
            matches!(&started, HookResult::Swallow(Some(t)) if t.contains("Character creation")),
            "{started:?}"
        );
        assert_eq!(host.cmdsets(CmdsetHolder::Session(s)), ["chargen"]);
        assert!(host.cmdsets(CmdsetHolder::Session(other)).is_empty(), "only this session");
        assert_eq!(prompt(&host, s).as_deref(), Some("[chargen: name]"));
        assert_eq!(prompt(&host, other), None);
        assert!(
            matches!(typed(&host, s, "charcreate"), HookResult::Swallow(Some(t)) if t.contains("already"))
        );

        host.call::<Desc>("tall", "Choose a name first: name <name>");
        host.call::<Name>("", "Usage: name <name>");
        host.call::<Name>("Bob", "Name: Bob. Now describe your character: desc <text>.");
        host.call::<Desc>("A tall man.", "Bob: A tall man.\nType confirm to create this character");
        assert_eq!(prompt(&host, s).as_deref(), Some("[chargen: confirm]"));
        host.call::<Confirm>("", "Created new character Bob.||You become Bob.");
        let bob = anna.characters()[0];
        assert_eq!(host.puppet_of(s), Some(bob));
        assert_eq!(host.attr(bob, "desc").as_deref(), Some("A tall man."));
        assert!(host.cmdsets(CmdsetHolder::Session(s)).is_empty(), "chargen is over");
        assert_eq!(prompt(&host, s), None);
    }

    #[test]
    fn chargen_can_be_aborted_and_needs_a_login() {
        let host = TestHost::new();
        let s = host.session();
        assert!(matches!(typed(&host, s, "charcreate"), HookResult::Pass), "not logged in");
        let anna = host.account("Anna");
        host.login(s, anna);
        assert!(matches!(typed(&host, s, "charcreate bob"), HookResult::Pass), "the account's");
        typed(&host, s, "charcreate");
        host.call::<Confirm>("", "Choose a name and a description first.");
        host.call::<Abort>("", "Character creation aborted.");
        assert!(host.cmdsets(CmdsetHolder::Session(s)).is_empty());
        assert_eq!(host.ndb(s, STEP), None);
    }
}
