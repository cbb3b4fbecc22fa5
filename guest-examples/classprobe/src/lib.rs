//! Test session class: tells the player about each lifecycle hook, so tests observe them.
//! - `at-sync`: counts syncs in the session ndb (`probe.syncs`) and says "probe: at-sync N" (N > 1
//!   after a server reload proves the class's state survived in the ndb);
//! - `at-login`: says "probe: at-login <account>";
//! - `at-disconnect`: tells the account's other sessions "probe: at-disconnect of session S";
//! - `data-in`: `shout x` becomes `say X!`;
//! - `data-out`: a text containing "[tagme]" has it replaced by "[tagged for session S]".

use mudhost_sdk::{cmdset, host, session_class, HookResult, Message, SessionClass, SessionInfo};

struct Probe;
impl SessionClass for Probe {
    fn at_sync(session: &SessionInfo) {
        let n: u64 = host::ndb_get("probe.syncs").and_then(|v| v.parse().ok()).unwrap_or(0) + 1;
        host::ndb_set("probe.syncs", Some(&n.to_string()));
        // A fresh connection sees this before the connection screen; a restored one after the
        // portal's "Server restarted".
        host::msg_caller(format!("probe: at-sync {n} (session {})", session.sessid));
    }

    fn at_login(session: &SessionInfo) {
        host::msg_caller(format!(
            "probe: at-login {}",
            session.account_name.clone().unwrap_or_default()
        ));
    }

    fn at_disconnect(session: &SessionInfo, _reason: &str) {
        if let Some(account) = session.account {
            host::msg_account(
                account,
                format!("probe: at-disconnect of session {}", session.sessid),
            );
        }
    }

    fn data_in(msg: &Message, _session: &SessionInfo) -> HookResult {
        match msg.text_line().as_deref().map(str::trim).and_then(|l| l.strip_prefix("shout ")) {
            Some(rest) => {
                HookResult::Rewrite(msg.with_text(format!("say {}!", rest.to_uppercase())))
            }
            None => HookResult::Pass,
        }
    }

    fn data_out(session: &SessionInfo, messages: Vec<Message>) -> Vec<Message> {
        messages
            .into_iter()
            .map(|m| match m.text_line() {
                Some(t) if t.contains("[tagme]") => m.with_text(
                    t.replace("[tagme]", &format!("[tagged for session {}]", session.sessid)),
                ),
                _ => m,
            })
            .collect()
    }
}

cmdset! { key: "ProbeCmdSet", priority: 0, merge_type: Union, commands: [] }
session_class!(Probe);
