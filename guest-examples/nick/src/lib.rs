//! Example input hook: Evennia's nicks. `nick gg = say good game` stores a nick on the account;
//! from then on a line starting with the word `gg` is expanded (`gg` → `say good game`, `gg now`
//! → `say good game now`) before the command parser sees it. `nicks` lists them,
//! `nick/delete gg` removes one. Nicks survive reloads (they are an account attribute).
//!
//! Configure with `input_hooks = ["nick"]` and add the module to a cmdset list (e.g.
//! `cmdset_account = ["account", "nick"]`) for its commands.

use mudhost_sdk::text::Table;
use mudhost_sdk::{
    cmdset, input_hook, Account, CmdResult, Command, HookResult, InputHook, Invocation, Message,
    SessionInfo,
};
use serde_json::{Map, Value};

/// The account attribute holding the nicks: a JSON object, nick → replacement.
const ATTR: &str = "_nicks";

fn load(account: Account) -> Map<String, Value> {
    match account.attr(ATTR).map(|v| serde_json::from_str::<Value>(&v)) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    }
}

fn save(account: Account, nicks: &Map<String, Value>) -> Result<(), String> {
    if nicks.is_empty() {
        account.del_attr(ATTR)?;
    } else {
        account.set_attr(ATTR, Value::Object(nicks.clone()).to_string())?;
    }
    Ok(())
}

/// Expand the first word of typed lines.
struct Expand;
impl InputHook for Expand {
    fn data_in(msg: &Message, session: &SessionInfo) -> HookResult {
        let (Some(line), Some(account)) = (msg.text_line(), session.account_handle()) else {
            return HookResult::Pass;
        };
        let trimmed = line.trim_start();
        let (word, rest) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
        let word = word.to_lowercase();
        // The nick commands themselves are never expanded (a nick named "nick" must stay editable).
        if word.is_empty() || word == "nick" || word.starts_with("nick/") || word == "nicks" {
            return HookResult::Pass;
        }
        let nicks = load(account);
        let Some(Value::String(replacement)) = nicks.get(&word) else { return HookResult::Pass };
        let expanded =
            if rest.is_empty() { replacement.clone() } else { format!("{replacement} {rest}") };
        HookResult::Rewrite(msg.with_text(expanded))
    }
}

/// `nick`: define, list or delete nicks.
struct Nick;
impl Command for Nick {
    const KEY: &'static str = "nick";
    const ALIASES: &'static [&'static str] = &["nickname", "nicks"];
    const HELP: &'static str = "Define a personal alias/nick.\n\nUsage:\n  nick <string> = [<replacement>]\n  nick/delete <string>\n  nicks\n\nThe first word of what you type is replaced by its nick before the command is run:\n  nick gg = say good game\nthen 'gg' says \"good game\".";
    fn func(inv: &Invocation) -> CmdResult {
        let account = inv.account().ok_or("You are not logged in.")?;
        let (switches, args) = inv.switches();
        let mut nicks = load(account);
        if inv.cmdname == "nicks" || (args.is_empty() && switches.is_empty()) {
            if nicks.is_empty() {
                inv.msg("No nicks defined.");
                return Ok(());
            }
            let mut table = Table::new(["#", "Type", "Nick match", "Replacement"]);
            for (i, (k, v)) in nicks.iter().enumerate() {
                table.row([
                    (i + 1).to_string(),
                    "inputline".into(),
                    k.clone(),
                    v.as_str().unwrap_or("").into(),
                ]);
            }
            inv.msg(format!("|wDefined Nicks:|n\n{table}"));
            return Ok(());
        }
        if switches.iter().any(|s| s == "delete" || s == "del") {
            let key = args.trim().to_lowercase();
            return match nicks.remove(&key) {
                Some(old) => {
                    save(account, &nicks)?;
                    inv.msg(format!(
                        "Nick '|w{key}|n' ({}) was cleared.",
                        old.as_str().unwrap_or("")
                    ));
                    Ok(())
                }
                None => Err(format!("No nick '{key}' found to delete.")),
            };
        }
        let (key, replacement) =
            args.split_once('=').ok_or("Usage: nick <string> = [<replacement>]")?;
        let key = key.trim().to_lowercase();
        let replacement = replacement.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err("A nick is a single word.".into());
        }
        if replacement.is_empty() {
            return match nicks.remove(&key) {
                Some(_) => {
                    save(account, &nicks)?;
                    inv.msg(format!("Nick '|w{key}|n' was cleared."));
                    Ok(())
                }
                None => Err(format!("No nick '{key}' found to delete.")),
            };
        }
        let old = nicks.insert(key.clone(), Value::String(replacement.to_string()));
        save(account, &nicks)?;
        match old.and_then(|v| v.as_str().map(str::to_owned)) {
            Some(old) if old != replacement => inv.msg(format!(
                "Inputline-nick '|w{key}|n' updated to map to '|w{replacement}|n' (was '|w{old}|n')."
            )),
            _ => inv.msg(format!("Inputline-nick '|w{key}|n' mapped to '|w{replacement}|n'.")),
        }
        Ok(())
    }
}

cmdset! { key: "NickCmdSet", priority: 0, merge_type: Union, commands: [Nick] }
input_hook!(Expand);

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    /// What the hook makes of a typed line for session `s`.
    fn typed(host: &TestHost, s: u64, line: &str) -> HookResult {
        let info = host.session_info(s).unwrap();
        host.as_session(s, || Expand::data_in(&Message::text(line), &info))
    }

    fn rewritten(result: HookResult) -> Option<String> {
        match result {
            HookResult::Rewrite(m) => m.text_line(),
            _ => None,
        }
    }

    #[test]
    fn a_nick_is_defined_expanded_listed_and_deleted() {
        let host = TestHost::new();
        let s = host.player("Anna", host.limbo());
        host.call::<Nick>("", "No nicks defined.");
        host.call::<Nick>("gg = say good game", "Inputline-nick 'gg' mapped to 'say good game'.");
        assert_eq!(rewritten(typed(&host, s, "gg")).as_deref(), Some("say good game"));
        assert_eq!(rewritten(typed(&host, s, "GG now")).as_deref(), Some("say good game now"));
        assert!(matches!(typed(&host, s, "look"), HookResult::Pass));
        host.call::<Nick>(
            "gg = say gg all",
            "Inputline-nick 'gg' updated to map to 'say gg all' (was 'say good game').",
        );
        let list = host.call::<Nick>("", "Defined Nicks:");
        assert!(list.contains("gg") && list.contains("say gg all"), "{list}");
        host.call::<Nick>("/delete gg", "Nick 'gg' (say gg all) was cleared.");
        host.call::<Nick>("/delete gg", "No nick 'gg' found to delete.");
        assert!(matches!(typed(&host, s, "gg"), HookResult::Pass));
    }

    #[test]
    fn bad_nicks_are_refused_and_the_nick_command_is_never_expanded() {
        let host = TestHost::new();
        let s = host.player("Anna", host.limbo());
        host.call::<Nick>("two words = look", "A nick is a single word.");
        host.call::<Nick>("just text", "Usage: nick <string> = [<replacement>]");
        host.call::<Nick>("nick = look", "Inputline-nick 'nick' mapped to 'look'.");
        assert!(matches!(typed(&host, s, "nick = x"), HookResult::Pass));
        // Before login there is no account to read nicks from.
        let guest = host.session();
        assert!(matches!(typed(&host, guest, "nick"), HookResult::Pass));
    }
}
