//! The `host` imports guests call. Each is thin glue onto a [`Game`](crate::server::game::Game)
//! method; a guest mistake comes back as an error value, never a trap.

use super::bindings::mudhost::game::host::{Host, MultisessionPolicy};
use super::bindings::types::{self, LogLevel, SessionInfo};
use super::HostCtx;
use crate::server::session::ServerSession;

/// Longest text a guest may send in one message (bytes); longer text is cut with a note.
const MAX_GUEST_TEXT: usize = 256 * 1024;

fn clamp(text: String) -> String {
    if text.len() <= MAX_GUEST_TEXT {
        return text;
    }
    let mut end = MAX_GUEST_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[output truncated]", &text[..end])
}

/// Convert a session to its WIT view.
pub fn session_info(s: &ServerSession) -> SessionInfo {
    let d = &s.data;
    SessionInfo {
        sessid: d.sessid,
        address: d.address.clone(),
        protocol_key: d.protocol_key.clone(),
        csessid: d.csessid.clone(),
        logged_in: d.logged_in,
        account: d.uid,
        account_name: d.uname.clone(),
        puppet: d.puid,
        conn_time: d.conn_time,
        cmd_last: d.cmd_last,
        cmd_last_visible: d.cmd_last_visible,
        cmd_total: d.cmd_total,
        protocol_flags: d.protocol_flags.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
    }
}

/// The view of "no session" given to load hooks, which run outside any command.
fn no_session() -> SessionInfo {
    SessionInfo {
        sessid: 0,
        address: String::new(),
        protocol_key: String::new(),
        csessid: None,
        logged_in: false,
        account: None,
        account_name: None,
        puppet: None,
        conn_time: 0,
        cmd_last: 0,
        cmd_last_visible: 0,
        cmd_total: 0,
        protocol_flags: vec![],
    }
}

impl types::Host for HostCtx {}

impl Host for HostCtx {
    fn msg_caller(&mut self, text: String) {
        self.game.msg_session(self.caller, &clamp(text));
    }

    fn msg_session(&mut self, session: u64, text: String) {
        self.game.msg_session(session, &clamp(text));
    }

    fn msg_account(&mut self, account: u64, text: String) {
        self.game.msg_account(account, &clamp(text));
    }

    fn msg_object(&mut self, obj: u64, text: String) {
        self.game.msg_object(obj, &clamp(text));
    }

    fn msg_contents(&mut self, location: u64, text: String, exclude: Vec<u64>) {
        self.game.msg_contents(location, &clamp(text), &exclude);
    }

    fn announce_all(&mut self, text: String) {
        self.game.announce_all(&clamp(text));
    }

    fn send_oob(
        &mut self,
        session: u64,
        cmdname: String,
        args_json: String,
        kwargs_json: String,
    ) -> Result<(), String> {
        let args: Vec<serde_json::Value> =
            serde_json::from_str(&args_json).map_err(|e| format!("args are not a JSON array: {e}"))?;
        let kwargs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&kwargs_json)
            .map_err(|e| format!("kwargs are not a JSON object: {e}"))?;
        self.game.send(session, crate::link::Msg::oob(cmdname, args, kwargs));
        Ok(())
    }

    fn current_session(&mut self) -> SessionInfo {
        self.game.sessions.get(self.caller).map(session_info).unwrap_or_else(no_session)
    }

    fn get_session(&mut self, session: u64) -> Option<SessionInfo> {
        self.game.sessions.get(session).map(session_info)
    }

    fn get_sessions(&mut self, include_unloggedin: bool) -> Vec<SessionInfo> {
        self.game.sessions.all(include_unloggedin).map(session_info).collect()
    }

    fn sessions_from_account(&mut self, account: u64) -> Vec<SessionInfo> {
        self.game.sessions.from_account(account).map(session_info).collect()
    }

    fn sessions_from_puppet(&mut self, obj: u64) -> Vec<SessionInfo> {
        self.game.sessions.from_puppet(obj).map(session_info).collect()
    }

    fn account_count(&mut self) -> u32 {
        self.game.sessions.account_count() as u32
    }

    fn disconnect(&mut self, session: u64, reason: String) {
        // No result to report through in this signature: a refusal is logged
        // (`disconnect-session` reports it to the guest).
        if let Err(e) = self.game.disconnect_checked(self.caller, session, &reason) {
            tracing::warn!(module = %self.module, session, cause = %e, "disconnect refused");
        }
    }

    fn ndb_get(&mut self, key: String) -> Option<String> {
        self.game.sessions.get(self.caller).and_then(|s| s.data.ndb.get(&key).cloned())
    }

    fn ndb_set(&mut self, key: String, value: Option<String>) {
        self.game.ndb_set(self.caller, key, value);
    }

    fn create_account(&mut self, name: String, password: String) -> Result<(), String> {
        self.game.request_create_account(self.caller, &name, password)
    }

    fn login(&mut self, name: String, password: String) -> Result<(), String> {
        self.game.request_login(self.caller, &name, password)
    }

    fn account_name(&mut self, account: u64) -> Option<String> {
        self.game.world.account(account).map(|a| a.name.clone())
    }

    fn account_characters(&mut self, account: u64) -> Vec<u64> {
        self.game.world.account_characters(account)
    }

    fn account_is_superuser(&mut self, account: u64) -> bool {
        self.game.world.account(account).is_some_and(|a| a.is_superuser)
    }

    fn account_attr_get(&mut self, account: u64, key: String) -> Option<String> {
        self.game.world.account(account).and_then(|a| a.attrs.get(&key).cloned())
    }

    fn account_attr_set(&mut self, account: u64, key: String, value: Option<String>) {
        if let Err(e) = self.game.world.set_account_attr(account, &key, value.as_deref()) {
            tracing::warn!(module = %self.module, account, cause = %e, "account-attr-set failed");
        }
    }

    fn puppet(&mut self, obj: u64) -> Result<(), String> {
        self.game.puppet(self.caller, obj)
    }

    fn unpuppet(&mut self) -> Result<(), String> {
        self.game.unpuppet(self.caller)
    }

    fn object_create(&mut self, key: String, kind: String, location: Option<u64>) -> u64 {
        match self.game.world.create_object(&key, &kind, location) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(module = %self.module, cause = %e, "object-create failed");
                0
            }
        }
    }

    fn object_exists(&mut self, obj: u64) -> bool {
        self.game.world.object(obj).is_some()
    }

    fn object_key(&mut self, obj: u64) -> Option<String> {
        self.game.world.object(obj).map(|o| o.key.clone())
    }

    fn object_set_key(&mut self, obj: u64, key: String) -> Result<(), String> {
        self.game.world.set_object_key(obj, &key).map_err(|e| e.to_string())
    }

    fn object_kind(&mut self, obj: u64) -> Option<String> {
        self.game.world.object(obj).map(|o| o.kind.clone())
    }

    fn object_location(&mut self, obj: u64) -> Option<u64> {
        self.game.world.object(obj).and_then(|o| o.location)
    }

    fn object_contents(&mut self, obj: u64) -> Vec<u64> {
        self.game.world.object(obj).map(|o| o.contents.clone()).unwrap_or_default()
    }

    fn object_move(&mut self, obj: u64, destination: Option<u64>) -> Result<(), String> {
        self.game.world.move_object(obj, destination).map_err(|e| e.to_string())
    }

    fn object_search(&mut self, key: String, location: Option<u64>) -> Vec<u64> {
        self.game.world.search(&key, location)
    }

    fn object_delete(&mut self, obj: u64) -> Result<(), String> {
        if self.game.sessions.from_puppet(obj).next().is_some() {
            return Err("That object is being puppeted.".into());
        }
        self.game.world.delete_object(obj).map_err(|e| e.to_string())
    }

    fn object_attr_get(&mut self, obj: u64, key: String) -> Option<String> {
        self.game.world.object(obj).and_then(|o| o.attrs.get(&key).cloned())
    }

    fn object_attr_set(&mut self, obj: u64, key: String, value: Option<String>) -> Result<(), String> {
        // Ownership decides puppet rights and counts towards MAX_NR_CHARACTERS: only the host's
        // character-create sets it.
        if key == crate::store::OWNER_ATTR {
            return Err(format!("'{key}' is set by the host (character-create)."));
        }
        self.game.world.set_object_attr(obj, &key, value.as_deref()).map_err(|e| e.to_string())
    }

    fn start_location(&mut self) -> u64 {
        self.game.world.start_location()
    }

    fn session_cmdset_add(&mut self, module: String) -> Result<(), String> {
        self.game.session_cmdset_add(self.caller, module)
    }

    fn session_cmdset_remove(&mut self, module: String) -> Result<(), String> {
        self.game.session_cmdset_remove(self.caller, &module)
    }

    fn server_reload(&mut self, reason: String) -> Result<(), String> {
        self.game.request_reload(self.caller, reason)
    }

    fn module_report(&mut self) -> Vec<String> {
        self.game.module_report.clone()
    }

    fn now_ms(&mut self) -> u64 {
        crate::server::now_ms()
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let m = &*self.module;
        match level {
            LogLevel::Trace => tracing::trace!(module = m, "{message}"),
            LogLevel::Debug => tracing::debug!(module = m, "{message}"),
            LogLevel::Info => tracing::info!(module = m, "{message}"),
            LogLevel::Warn => tracing::warn!(module = m, "{message}"),
            LogLevel::Error => tracing::error!(module = m, "{message}"),
        }
    }
    fn get_multisession_policy(&mut self) -> MultisessionPolicy {
        let c = &self.game.cfg;
        MultisessionPolicy {
            mode: c.multisession_mode,
            max_nr_characters: c.max_nr_characters,
            max_nr_simultaneous_puppets: c.max_nr_simultaneous_puppets,
            auto_create_character_with_account: c.auto_create_character_with_account,
            auto_puppet_on_login: c.auto_puppet_on_login,
        }
    }

    fn disconnect_session(&mut self, session: u64, reason: String) -> Result<(), String> {
        self.game.disconnect_checked(self.caller, session, &reason)
    }

    fn disconnect_all(&mut self, reason: String) -> Result<(), String> {
        self.game.disconnect_all(self.caller, &reason)
    }

    fn disconnect_duplicates(&mut self, reason: String) -> u32 {
        self.game.disconnect_duplicates(self.caller, &reason)
    }

    fn all_connected_accounts(&mut self) -> Vec<u64> {
        self.game.all_connected_accounts()
    }

    fn sessions_from_csessid(&mut self, csessid: String) -> Vec<SessionInfo> {
        self.game.sessions.from_csessid(&csessid).map(session_info).collect()
    }

    fn character_create(&mut self, key: String, description: Option<String>) -> Result<u64, String> {
        self.game.character_create(self.caller, &key, description.as_deref())
    }

    fn character_delete(&mut self, obj: u64) -> Result<(), String> {
        self.game.character_delete(self.caller, obj)
    }

    fn session_data(&mut self, session: u64) -> Result<String, String> {
        self.game.session_data(self.caller, session)
    }

    fn account_set_password(&mut self, old: String, new: String) -> Result<(), String> {
        self.game.request_password_change(self.caller, old, new)
    }
}
