//! The `host` imports guests call. Each is thin glue onto a [`Game`](crate::server::game::Game)
//! method; a guest mistake comes back as an error value, never a trap.
//!
//! Every import is bounded ([`GuestQuotas`]): names, texts and lists it accepts have a size limit,
//! and the call as a whole may send so many messages and bytes, create so many objects and log so
//! much. Imports that return `result<_, host-error>` answer an over-quota request with
//! `host-error.quota` naming the quota; the others end the call with [`QuotaExceeded`] (the game
//! loop then reports it like any other failed call). A failure of the host itself (the database)
//! is never answered as a refusal: it ends the call ([`HostFailure`]). Host work per import is
//! linear in its inputs or better.

use std::collections::HashSet;

use super::bindings::mudhost::game::host::{
    AttrEntry, ChannelInfo, ContentsPacked, HelpTopic, Host, MultisessionPolicy, ObjectBrief, Tag,
};
use super::bindings::mudhost::game::host::{BuildLimits, PrototypeCatalog};
use super::bindings::types::{self, CmdsetHolder, CommandInfo, HostError, LogLevel, SessionInfo};
use super::bindings::{answer, refuse_or_fail, HostFailure};
use super::{escape_line, GuestQuotas, HostCtx, QuotaExceeded};
use crate::link::Sessid;
use crate::server::game::CmdsetHolder as GameHolder;
use crate::server::session::ServerSession;
use crate::store::Holder;

/// Result of an import that ends the call when the guest goes over a quota.
type Trappable<T> = wasmtime::Result<T>;

/// Cut a text to `max` bytes (at a character boundary) with a note, as one message may carry.
fn clamp(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[output truncated]", &text[..end])
}

/// The end-the-call error for a quota.
fn over(what: String) -> wasmtime::Error {
    wasmtime::Error::new(QuotaExceeded(what))
}

/// Nesting depth of a JSON text (brackets outside strings), without parsing it: a deeply nested
/// text is refused before serde recurses into it.
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

impl HostCtx {
    fn q(&self) -> GuestQuotas {
        self.quotas
    }

    /// Refuse (end the call) a name over `guest_name_bytes`.
    fn name(&self, what: &str, value: &str) -> Trappable<()> {
        if value.len() > self.q().name_bytes {
            return Err(over(format!(
                "{what} is over guest_name_bytes ({} bytes)",
                self.q().name_bytes
            )));
        }
        Ok(())
    }

    /// Refuse (with an error value) a name over `guest_name_bytes`.
    fn name_value(&self, what: &str, value: &str) -> Result<(), HostError> {
        if value.len() > self.q().name_bytes {
            return Err(HostError::Quota(format!(
                "{what} is over guest_name_bytes ({} bytes)",
                self.q().name_bytes
            )));
        }
        Ok(())
    }

    /// Queue `text` for every session in `to`, counting messages and bytes against the call's
    /// quotas first, so an over-quota call sends nothing of this batch.
    pub(super) fn deliver(&mut self, to: Vec<Sessid>, text: String) -> Trappable<()> {
        let text = clamp(text, self.q().text_bytes);
        let n = to.len();
        let messages = self.used.messages.saturating_add(n);
        let bytes = self.used.output_bytes.saturating_add(n.saturating_mul(text.len()));
        if messages > self.q().messages_per_call {
            return Err(over(format!(
                "output over guest_messages_per_call ({} messages)",
                self.q().messages_per_call
            )));
        }
        if bytes > self.q().output_bytes_per_call {
            return Err(over(format!(
                "output over guest_output_bytes_per_call ({} bytes)",
                self.q().output_bytes_per_call
            )));
        }
        let per_session = self.q().messages_per_session_per_call;
        if to.iter().any(|id| self.used.per_session.get(id).copied().unwrap_or(0) >= per_session) {
            return Err(over(format!(
                "output to one session over guest_messages_per_session_per_call ({per_session} messages)"
            )));
        }
        self.used.messages = messages;
        self.used.output_bytes = bytes;
        for id in to {
            *self.used.per_session.entry(id).or_default() += 1;
            self.game.msg_session(id, &text);
        }
        Ok(())
    }

    /// Count one password-hashing request against the call's quota.
    fn auth_request(&mut self) -> Result<(), HostError> {
        if self.used.auth_requests >= self.q().auth_requests_per_call {
            return Err(HostError::Quota(format!(
                "over guest_auth_requests_per_call ({} create-account/login per command)",
                self.q().auth_requests_per_call
            )));
        }
        self.used.auth_requests += 1;
        Ok(())
    }

    /// The checks of every call that starts a password hash: the per-call auth quota, the
    /// account name's size (when one is given) and each password's size.
    fn auth_checks(&mut self, name: Option<&str>, passwords: &[&str]) -> Result<(), HostError> {
        self.auth_request()?;
        if let Some(name) = name {
            self.name_value("the account name", name)?;
        }
        if passwords.iter().any(|p| p.len() > self.q().text_bytes) {
            return Err(HostError::Quota(format!(
                "the password is over guest_text_bytes ({} bytes)",
                self.q().text_bytes
            )));
        }
        Ok(())
    }

    /// The calling session's ndb size (keys plus values) if `key` were set to `value`.
    fn ndb_size_after(&self, key: &str, value: &str) -> usize {
        let Some(s) = self.game.sessions.get(self.caller) else { return 0 };
        let others: usize =
            s.data.ndb.iter().filter(|(k, _)| *k != key).map(|(k, v)| k.len() + v.len()).sum();
        others + key.len() + value.len()
    }
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
        protocol_flags: d
            .protocol_flags
            .iter()
            .map(|(k, v)| (k.to_string(), flag_json(v)))
            .collect(),
    }
}

/// A flag's value as JSON text. Flags are mostly booleans and short plain strings, built into
/// every invocation: those skip the general serializer.
fn flag_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(b) => (if *b { "true" } else { "false" }).to_string(),
        serde_json::Value::String(s)
            if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) =>
        {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            out.push_str(s);
            out.push('"');
            out
        }
        other => other.to_string(),
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
    fn msg_caller(&mut self, text: String) -> Trappable<()> {
        let to = self.game.sessions.get(self.caller).map(|s| s.sessid()).into_iter().collect();
        self.deliver(to, text)
    }

    fn msg_session(&mut self, session: u64, text: String) -> Trappable<()> {
        let to = self.game.sessions.get(session).map(|s| s.sessid()).into_iter().collect();
        self.deliver(to, text)
    }

    fn msg_account(&mut self, account: u64, text: String) -> Trappable<()> {
        let to = self.game.sessions.from_account(account).map(|s| s.sessid()).collect();
        self.deliver(to, text)
    }

    fn msg_object(&mut self, obj: u64, text: String) -> Trappable<()> {
        let to = self.game.sessions.from_puppet(obj).map(|s| s.sessid()).collect();
        self.deliver(to, text)
    }

    fn msg_contents(&mut self, location: u64, text: String, exclude: Vec<u64>) -> Trappable<()> {
        if exclude.len() > self.q().list_items {
            return Err(over(format!(
                "msg-contents exclude list is over guest_list_items ({} items)",
                self.q().list_items
            )));
        }
        let exclude: HashSet<u64> = exclude.into_iter().collect();
        let to = self.game.contents_recipients(location, &exclude);
        if !self.game.world.any_classes() {
            return self.deliver(to, text);
        }
        // Object classes: the classed objects in the room hear what was sent.
        let heard = clamp(text.clone(), self.q().text_bytes);
        self.deliver(to, text)?;
        self.msg_receive_hooks(location, &heard, &exclude)
    }

    fn announce_all(&mut self, text: String) -> Trappable<()> {
        let to = self.game.sessions.ids();
        self.deliver(to, text)
    }

    fn send_oob(
        &mut self,
        session: u64,
        cmdname: String,
        args_json: String,
        kwargs_json: String,
    ) -> Trappable<Result<(), HostError>> {
        let q = self.q();
        if cmdname.trim().is_empty() {
            return Ok(Err(HostError::Invalid("the out-of-band command name is empty".into())));
        }
        if let Err(e) = self.name_value("the out-of-band command name", &cmdname) {
            return Ok(Err(e));
        }
        let size = args_json.len() + kwargs_json.len();
        if size > q.text_bytes {
            return Ok(Err(HostError::Quota(format!(
                "out-of-band arguments are over guest_text_bytes ({} bytes)",
                q.text_bytes
            ))));
        }
        if json_depth(&args_json).max(json_depth(&kwargs_json)) > q.json_depth {
            return Ok(Err(HostError::Quota(format!(
                "out-of-band arguments nest deeper than guest_json_depth ({})",
                q.json_depth
            ))));
        }
        if self.used.messages + 1 > q.messages_per_call
            || self.used.output_bytes + size > q.output_bytes_per_call
        {
            return Ok(Err(HostError::Quota(format!(
                "output over guest_messages_per_call ({}) or guest_output_bytes_per_call ({} bytes)",
                q.messages_per_call, q.output_bytes_per_call
            ))));
        }
        let args: Vec<serde_json::Value> = match serde_json::from_str(&args_json) {
            Ok(a) => a,
            Err(e) => {
                return Ok(Err(HostError::Invalid(format!("args are not a JSON array: {e}"))))
            }
        };
        let kwargs: serde_json::Map<String, serde_json::Value> =
            match serde_json::from_str(&kwargs_json) {
                Ok(k) => k,
                Err(e) => {
                    return Ok(Err(HostError::Invalid(format!(
                        "kwargs are not a JSON object: {e}"
                    ))))
                }
            };
        if self.used.per_session.get(&session).copied().unwrap_or(0)
            >= q.messages_per_session_per_call
        {
            return Ok(Err(HostError::Quota(format!(
                "output to one session over guest_messages_per_session_per_call ({} messages)",
                q.messages_per_session_per_call
            ))));
        }
        if self.game.sessions.get(session).is_some() {
            self.used.messages += 1;
            self.used.output_bytes += size;
            *self.used.per_session.entry(session).or_default() += 1;
        }
        self.game.send(session, crate::link::Msg::oob(cmdname, args, kwargs));
        Ok(Ok(()))
    }

    fn current_session(&mut self) -> Trappable<SessionInfo> {
        Ok(self.game.sessions.get(self.caller).map(session_info).unwrap_or_else(no_session))
    }

    fn get_session(&mut self, session: u64) -> Trappable<Option<SessionInfo>> {
        Ok(self.game.sessions.get(session).map(session_info))
    }

    fn get_sessions(&mut self, include_unloggedin: bool) -> Trappable<Vec<SessionInfo>> {
        Ok(self.game.sessions.all(include_unloggedin).map(session_info).collect())
    }

    fn sessions_from_account(&mut self, account: u64) -> Trappable<Vec<SessionInfo>> {
        Ok(self.game.sessions.from_account(account).map(session_info).collect())
    }

    fn sessions_from_puppet(&mut self, obj: u64) -> Trappable<Vec<SessionInfo>> {
        Ok(self.game.sessions.from_puppet(obj).map(session_info).collect())
    }

    fn account_count(&mut self) -> Trappable<u32> {
        Ok(self.game.sessions.account_count() as u32)
    }

    fn disconnect(&mut self, session: u64, reason: String) -> Trappable<()> {
        let reason = clamp(reason, self.q().text_bytes);
        // No result to report through in this signature: a refusal is logged
        // (`disconnect-session` reports it to the guest).
        if let Err(e) = self.game.disconnect_checked(self.caller, session, &reason) {
            tracing::warn!(module = %self.module, session, cause = %e, "disconnect refused");
        }
        Ok(())
    }

    fn ndb_get(&mut self, key: String) -> Trappable<Option<String>> {
        self.name("an ndb key", &key)?;
        Ok(self.game.sessions.get(self.caller).and_then(|s| s.data.ndb.get(&key).cloned()))
    }

    fn ndb_set(&mut self, key: String, value: Option<String>) -> Trappable<()> {
        self.name("an ndb key", &key)?;
        if let Some(v) = &value {
            if self.ndb_size_after(&key, v) > self.q().ndb_bytes_per_session {
                return Err(over(format!(
                    "the session's ndb would be over guest_ndb_bytes_per_session ({} bytes)",
                    self.q().ndb_bytes_per_session
                )));
            }
        }
        self.game.ndb_set(self.caller, key, value);
        Ok(())
    }

    fn create_account(
        &mut self,
        name: String,
        password: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.auth_checks(Some(&name), &[&password]) {
            return Ok(Err(e));
        }
        Ok(self
            .game
            .request_create_account(self.caller, &name, password)
            .map_err(HostError::Refused))
    }

    fn login(&mut self, name: String, password: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.auth_checks(Some(&name), &[&password]) {
            return Ok(Err(e));
        }
        Ok(self.game.request_login(self.caller, &name, password).map_err(HostError::Refused))
    }

    fn account_name(&mut self, account: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.account(account).map(|a| a.name.clone()))
    }

    fn account_characters(&mut self, account: u64) -> Trappable<Vec<u64>> {
        Ok(self.game.world.account_characters(account))
    }

    fn account_is_superuser(&mut self, account: u64) -> Trappable<bool> {
        Ok(self.game.world.account(account).is_some_and(|a| a.is_superuser))
    }

    fn account_attr_get(&mut self, account: u64, key: String) -> Trappable<Option<String>> {
        self.name("an attribute key", &key)?;
        Ok(self.game.world.account(account).and_then(|a| a.attrs.get(&key).cloned()))
    }

    fn account_attr_set(
        &mut self,
        account: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        self.name("an attribute key", &key)?;
        if value.as_ref().is_some_and(|v| v.len() > self.q().attr_value_bytes) {
            return Err(over(format!(
                "an attribute value is over guest_attr_value_bytes ({} bytes)",
                self.q().attr_value_bytes
            )));
        }
        refuse_or_fail(self.game.world.set_account_attr(account, &key, value.as_deref()))
    }

    fn puppet(&mut self, obj: u64) -> Trappable<Result<(), HostError>> {
        Ok(self.game.puppet(self.caller, obj).map_err(HostError::Refused))
    }

    fn unpuppet(&mut self) -> Trappable<Result<(), HostError>> {
        Ok(self.game.unpuppet(self.caller).map_err(HostError::Refused))
    }

    fn object_create(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<u64> {
        self.name("an object key", &key)?;
        self.name("an object kind", &kind)?;
        if self.used.objects >= self.q().objects_per_call {
            return Err(over(format!(
                "objects created over guest_objects_per_call ({})",
                self.q().objects_per_call
            )));
        }
        // It fails only when the database does: the host's failure, which ends the call (it
        // used to answer id 0, an object that does not exist).
        let id = self
            .game
            .world
            .create_object(&key, &kind, location)
            .map_err(|e| wasmtime::Error::new(HostFailure(format!("object-create: {e}"))))?;
        self.used.objects += 1;
        Ok(id)
    }

    fn object_exists(&mut self, obj: u64) -> Trappable<bool> {
        Ok(self.game.world.object(obj).is_some())
    }

    fn object_key(&mut self, obj: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.object(obj).map(|o| o.key.clone()))
    }

    fn object_set_key(&mut self, obj: u64, key: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("an object key", &key) {
            return Ok(Err(e));
        }
        // A character is renamed under the rules it was created with.
        if self.game.world.object(obj).is_some_and(|o| o.kind == "character") {
            let max = self.game.cfg.max_name_chars;
            if let Err(e) = crate::server::game::validate_character_name(&key, max) {
                return Ok(Err(HostError::Invalid(e)));
            }
        }
        refuse_or_fail(self.game.world.set_object_key(obj, &key))
    }

    fn object_kind(&mut self, obj: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.object(obj).map(|o| o.kind.clone()))
    }

    fn object_location(&mut self, obj: u64) -> Trappable<Option<u64>> {
        Ok(self.game.world.object(obj).and_then(|o| o.location))
    }

    fn object_contents(&mut self, obj: u64) -> Trappable<Vec<u64>> {
        Ok(self.game.world.object(obj).map(|o| o.contents.clone()).unwrap_or_default())
    }

    fn object_contents_briefs(&mut self, obj: u64) -> Trappable<Vec<ObjectBrief>> {
        let world = &self.game.world;
        let Some(container) = world.object(obj) else { return Ok(vec![]) };
        let mut briefs = Vec::with_capacity(container.contents.len());
        briefs.extend(world.contents(container).map(|o| ObjectBrief {
            id: o.id,
            key: o.key.clone(),
            kind: o.kind.clone(),
        }));
        Ok(briefs)
    }

    fn object_contents_packed(&mut self, obj: u64) -> Trappable<ContentsPacked> {
        let world = &self.game.world;
        let Some(container) = world.object(obj) else {
            return Ok(ContentsPacked { ids: vec![], text: String::new(), ends: vec![] });
        };
        let n = container.contents.len();
        let (mut ids, mut ends) = (Vec::with_capacity(n), Vec::with_capacity(2 * n));
        // A guess (a short key and kind each) instead of a second pass over the objects.
        let mut text = String::with_capacity(16 * n);
        for o in world.contents(container) {
            ids.push(o.id);
            // Keys and kinds are bounded by `guest_name_bytes`, and a room by what the store
            // holds: far from 4 GiB, but an offset past it is clamped rather than wrapped.
            text.push_str(&o.key);
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            text.push_str(&o.kind);
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Ok(ContentsPacked { ids, text, ends })
    }

    fn object_move(
        &mut self,
        obj: u64,
        destination: Option<u64>,
    ) -> Trappable<Result<(), HostError>> {
        self.move_with_hooks(obj, destination)
    }

    fn object_search(&mut self, key: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        self.name("a search key", &key)?;
        Ok(self.game.world.search(&key, location))
    }

    fn object_delete(&mut self, obj: u64) -> Trappable<Result<(), HostError>> {
        if self.game.sessions.from_puppet(obj).next().is_some() {
            return Ok(Err(HostError::Refused("That object is being puppeted.".into())));
        }
        refuse_or_fail(self.game.world.delete_object(obj))
    }

    fn object_attr_get(&mut self, obj: u64, key: String) -> Trappable<Option<String>> {
        self.name("an attribute key", &key)?;
        let world = &self.game.world;
        Ok(world.object(obj).and_then(|o| o.attrs.get(&key).cloned()).or_else(|| {
            // A typed value of the default category, as its JSON text (`attr-set-json`).
            world.typed_attr(obj, "", &key).map(str::to_string)
        }))
    }

    fn object_attr_set(
        &mut self,
        obj: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("an attribute key", &key) {
            return Ok(Err(e));
        }
        // Ownership decides puppet rights and counts towards MAX_NR_CHARACTERS: only the host's
        // character-create sets it.
        if key == crate::store::OWNER_ATTR {
            return Ok(Err(HostError::Invalid(format!(
                "'{key}' is set by the host (character-create)."
            ))));
        }
        if value.as_ref().is_some_and(|v| v.len() > self.q().attr_value_bytes) {
            return Ok(Err(HostError::Quota(format!(
                "the attribute value is over guest_attr_value_bytes ({} bytes)",
                self.q().attr_value_bytes
            ))));
        }
        let set = self.game.world.set_object_attr(obj, &key, value.as_deref());
        if set.is_ok() && self.game.world.typed_attr(obj, "", &key).is_some() {
            // One value per attribute: the string replaces a typed value of the same key.
            if let Err(e) = refuse_or_fail(self.game.world.set_typed_attr(obj, "", &key, None))? {
                return Ok(Err(e));
            }
        }
        refuse_or_fail(set)
    }

    fn start_location(&mut self) -> Trappable<u64> {
        Ok(self.game.world.start_location())
    }

    fn session_cmdset_add(&mut self, module: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        Ok(self.game.session_cmdset_add(self.caller, module).map_err(HostError::NotFound))
    }

    fn session_cmdset_remove(&mut self, module: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        Ok(self.game.session_cmdset_remove(self.caller, &module).map_err(HostError::NotFound))
    }

    fn server_reload(&mut self, reason: String) -> Trappable<Result<(), HostError>> {
        if reason.len() > self.q().text_bytes {
            return Ok(Err(HostError::Quota(format!(
                "the reason is over guest_text_bytes ({} bytes)",
                self.q().text_bytes
            ))));
        }
        Ok(self.game.request_reload(self.caller, reason).map_err(HostError::Denied))
    }

    fn module_report(&mut self) -> Trappable<Vec<String>> {
        Ok(self.game.module_report.clone())
    }

    fn now_ms(&mut self) -> Trappable<u64> {
        Ok(crate::shared::clock::now_ms())
    }

    fn log(&mut self, level: LogLevel, message: String) -> Trappable<()> {
        // Escaped and cut before counting: the quota is on what reaches the log.
        let line = escape_line(&message, self.q().log_line_bytes);
        let used = self.used.log_bytes.saturating_add(line.len());
        if used > self.q().log_bytes_per_call {
            return Err(over(format!(
                "log over guest_log_bytes_per_call ({} bytes)",
                self.q().log_bytes_per_call
            )));
        }
        self.used.log_bytes = used;
        let (m, sessid) = (&*self.module, self.caller);
        match level {
            LogLevel::Trace => tracing::trace!(module = m, sessid, "guest: {line}"),
            LogLevel::Debug => tracing::debug!(module = m, sessid, "guest: {line}"),
            LogLevel::Info => tracing::info!(module = m, sessid, "guest: {line}"),
            LogLevel::Warn => tracing::warn!(module = m, sessid, "guest: {line}"),
            LogLevel::Error => tracing::error!(module = m, sessid, "guest: {line}"),
        }
        Ok(())
    }

    fn get_multisession_policy(&mut self) -> Trappable<MultisessionPolicy> {
        let c = &self.game.cfg;
        Ok(MultisessionPolicy {
            mode: c.multisession_mode,
            max_nr_characters: c.max_nr_characters,
            max_nr_simultaneous_puppets: c.max_nr_simultaneous_puppets,
            auto_create_character_with_account: c.auto_create_character_with_account,
            auto_puppet_on_login: c.auto_puppet_on_login,
        })
    }

    fn disconnect_session(
        &mut self,
        session: u64,
        reason: String,
    ) -> Trappable<Result<(), HostError>> {
        let reason = clamp(reason, self.q().text_bytes);
        Ok(self.game.disconnect_checked(self.caller, session, &reason).map_err(HostError::Refused))
    }

    fn disconnect_all(&mut self, reason: String) -> Trappable<Result<(), HostError>> {
        let reason = clamp(reason, self.q().text_bytes);
        Ok(self.game.disconnect_all(self.caller, &reason).map_err(HostError::Denied))
    }

    fn disconnect_duplicates(&mut self, reason: String) -> Trappable<u32> {
        let reason = clamp(reason, self.q().text_bytes);
        Ok(self.game.disconnect_duplicates(self.caller, &reason))
    }

    fn all_connected_accounts(&mut self) -> Trappable<Vec<u64>> {
        Ok(self.game.all_connected_accounts())
    }

    fn sessions_from_csessid(&mut self, csessid: String) -> Trappable<Vec<SessionInfo>> {
        self.name("a csessid", &csessid)?;
        Ok(self.game.sessions.from_csessid(&csessid).map(session_info).collect())
    }

    fn character_create(
        &mut self,
        key: String,
        description: Option<String>,
    ) -> Trappable<Result<u64, HostError>> {
        if let Err(e) = self.name_value("the character name", &key) {
            return Ok(Err(e));
        }
        if description.as_ref().is_some_and(|d| d.len() > self.q().attr_value_bytes) {
            return Ok(Err(HostError::Quota(format!(
                "the description is over guest_attr_value_bytes ({} bytes)",
                self.q().attr_value_bytes
            ))));
        }
        Ok(self
            .game
            .character_create(self.caller, &key, description.as_deref())
            .map_err(HostError::Refused))
    }

    fn character_delete(&mut self, obj: u64) -> Trappable<Result<(), HostError>> {
        answer(self.game.character_delete(self.caller, obj))
    }

    fn session_data(&mut self, session: u64) -> Trappable<Result<String, HostError>> {
        Ok(self.game.session_data(self.caller, session).map_err(HostError::Refused))
    }

    fn account_set_password(
        &mut self,
        old: String,
        new: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.auth_checks(None, &[&old, &new]) {
            return Ok(Err(e));
        }
        Ok(self.game.request_password_change(self.caller, old, new).map_err(HostError::Refused))
    }

    fn cmdset_add(
        &mut self,
        holder: CmdsetHolder,
        module: String,
        persistent: bool,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        answer(self.game.cmdset_add(game_holder(holder), &module, persistent))
    }

    fn cmdset_remove(
        &mut self,
        holder: CmdsetHolder,
        module: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        answer(self.game.cmdset_remove(game_holder(holder), &module))
    }

    fn cmdset_list(&mut self, holder: CmdsetHolder) -> Trappable<Vec<String>> {
        Ok(self.game.cmdset_list(game_holder(holder)))
    }

    fn caller_commands(&mut self) -> Trappable<Vec<CommandInfo>> {
        let Some(set) = self.game.current_cmdset.clone() else { return Ok(vec![]) };
        let (superuser, permission) = self.game.lock_caller(self.caller);
        let who = crate::cmd::LockCaller { superuser, permission: permission.as_deref() };
        Ok(set
            .commands
            .iter()
            .filter(|c| {
                !c.is_system() && !c.is_exit() && c.channel.is_none() && c.lock.allows(&who)
            })
            .map(|c| CommandInfo {
                key: c.key.clone(),
                aliases: c.aliases.clone(),
                help: c.help.clone(),
                arg_regex: Some(c.arg_regex.as_str().to_string())
                    .filter(|r| r != crate::cmd::DEFAULT_ARG_REGEX),
                locks: c.locks.clone(),
                help_category: c.help_category.clone(),
            })
            .collect())
    }

    fn account_permission(&mut self, account: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.account(account).map(|a| a.permission.clone()))
    }

    fn account_set_permission(
        &mut self,
        account: u64,
        permission: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the permission", &permission) {
            return Ok(Err(e));
        }
        answer(self.game.set_account_permission(self.caller, account, &permission))
    }

    fn account_search(&mut self, name: String) -> Trappable<Option<u64>> {
        self.name("an account name", &name)?;
        Ok(self.game.world.account_by_name(&name).map(|a| a.id))
    }

    fn timer_delay(
        &mut self,
        delay_ms: u64,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Trappable<Result<u64, HostError>> {
        answer(self.timer_schedule(delay_ms, None, payload, obj, persistent))
    }

    fn timer_repeat(
        &mut self,
        interval_ms: u64,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Trappable<Result<u64, HostError>> {
        answer(self.timer_schedule(interval_ms, Some(interval_ms), payload, obj, persistent))
    }

    fn timer_cancel(&mut self, id: u64) -> Trappable<bool> {
        self.timer_cancel_own(id)
    }

    fn timer_list(&mut self) -> Trappable<Vec<types::TimerInfo>> {
        Ok(self.timer_list_own())
    }

    // --- Building (`host_building.rs`) ---

    fn building_limits(&mut self) -> Trappable<BuildLimits> {
        Ok(self.building_limits_now())
    }

    fn build_object(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<Result<u64, HostError>> {
        self.build_object_checked(&key, &kind, location)
    }

    fn prototype_list(&mut self) -> Trappable<PrototypeCatalog> {
        Ok(self.prototype_catalog())
    }

    fn prototype_get(&mut self, key: String) -> Trappable<Result<String, HostError>> {
        Ok(self.prototype_json(&key))
    }

    // Channels, help, execute (`host_comms.rs`)
    fn channel_list(&mut self) -> Trappable<Vec<ChannelInfo>> {
        self.comms_list()
    }

    fn channel_create(
        &mut self,
        name: String,
        aliases: Vec<String>,
        description: String,
    ) -> Trappable<Result<(), HostError>> {
        answer(self.comms_create(name, aliases, description))
    }

    fn channel_sub(&mut self, channel: String) -> Trappable<Result<String, HostError>> {
        answer(self.comms_sub(channel))
    }

    fn channel_unsub(&mut self, channel: String) -> Trappable<Result<String, HostError>> {
        answer(self.comms_unsub(channel))
    }

    fn channel_mute(
        &mut self,
        channel: String,
        muted: bool,
    ) -> Trappable<Result<String, HostError>> {
        answer(self.comms_mute(channel, muted))
    }

    fn channel_who(&mut self, channel: String) -> Trappable<Result<Vec<String>, HostError>> {
        answer(self.comms_who(channel))
    }

    fn channel_history(
        &mut self,
        channel: String,
        count: u32,
    ) -> Trappable<Result<Vec<String>, HostError>> {
        answer(self.comms_history(channel, count))
    }

    fn channel_ban(
        &mut self,
        channel: String,
        account: String,
        banned: bool,
    ) -> Trappable<Result<String, HostError>> {
        answer(self.comms_ban(channel, account, banned))
    }

    fn channel_bans(&mut self, channel: String) -> Trappable<Result<Vec<String>, HostError>> {
        answer(self.comms_bans(channel))
    }

    fn channel_send(&mut self, channel: String, text: String) -> Trappable<Result<(), HostError>> {
        self.comms_send(channel, text)
    }

    fn help_topics(&mut self) -> Trappable<Vec<HelpTopic>> {
        Ok(self.comms_help_topics())
    }

    fn help_topic_text(&mut self, topic: String) -> Trappable<Option<String>> {
        self.name("a help topic", &topic)?;
        Ok(self.comms_help_text(&topic))
    }

    fn execute_cmd(&mut self, obj: u64, line: String) -> Trappable<Result<(), HostError>> {
        self.comms_execute(obj, line)
    }

    // World model: tags, aliases, search, attributes, locks (`host_world.rs`).

    fn tag_add(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        answer(self.world_tag_add(obj, key, category))
    }

    fn tag_remove(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Result<bool, HostError>> {
        answer(self.world_tag_remove(obj, key, category))
    }

    fn tags(&mut self, obj: u64) -> Trappable<Vec<Tag>> {
        Ok(self.world_tags(obj))
    }

    fn search_tag(
        &mut self,
        key: String,
        category: Option<String>,
        location: Option<u64>,
    ) -> Trappable<Vec<u64>> {
        self.world_search_tag(key, category, location)
    }

    fn alias_add(&mut self, obj: u64, alias: String) -> Trappable<Result<(), HostError>> {
        answer(self.world_alias_add(obj, alias))
    }

    fn alias_remove(&mut self, obj: u64, alias: String) -> Trappable<Result<bool, HostError>> {
        answer(self.world_alias_remove(obj, alias))
    }

    fn aliases(&mut self, obj: u64) -> Trappable<Vec<String>> {
        Ok(self.game.world.aliases(obj).to_vec())
    }

    fn search_kind(&mut self, kind: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        self.world_search_kind(kind, location)
    }

    fn attr_get_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Option<String>> {
        self.world_attr_get_json(obj, key, category)
    }

    fn attr_set_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
        value_json: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        answer(self.world_attr_set_json(obj, key, category, value_json))
    }

    fn attr_list(&mut self, obj: u64) -> Trappable<Vec<AttrEntry>> {
        Ok(self.world_attr_list(obj))
    }

    fn lock_add(&mut self, obj: u64, lockstring: String) -> Trappable<Result<(), HostError>> {
        answer(self.world_lock_add(obj, lockstring))
    }

    fn lock_remove(&mut self, obj: u64, access_type: String) -> Trappable<Result<bool, HostError>> {
        answer(self.world_lock_remove(obj, access_type))
    }

    fn locks(&mut self, obj: u64) -> Trappable<Vec<String>> {
        Ok(self.world_locks(obj))
    }

    fn access(&mut self, obj: u64, accessor: u64, access_type: String) -> Trappable<bool> {
        self.world_access(obj, accessor, access_type)
    }

    // Object classes
    fn object_set_class(
        &mut self,
        obj: u64,
        class: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        if let Some(c) = &class {
            if let Err(e) = self.name_value("a class module name", c) {
                return Ok(Err(e));
            }
        }
        self.set_class(obj, class)
    }

    fn object_class(&mut self, obj: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.object_class(obj).map(|c| c.to_string()))
    }

    fn object_appearance(&mut self, obj: u64, looker: u64) -> Trappable<String> {
        self.appearance(obj, looker)
    }

    fn object_traverse(&mut self, obj: u64, exit: u64) -> Trappable<Result<(), HostError>> {
        self.traverse(obj, exit)
    }
}

/// The game's name for a WIT cmdset holder.
fn game_holder(h: CmdsetHolder) -> GameHolder {
    match h {
        CmdsetHolder::Session(id) => GameHolder::Session(id),
        CmdsetHolder::Account(id) => GameHolder::World(Holder::Account(id)),
        CmdsetHolder::Object(id) => GameHolder::World(Holder::Object(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_the_json_the_serializer_writes() {
        for v in [
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!("utf-8"),
            serde_json::json!("Evennia Webclient (websocket: [v1.evennia.com])"),
            serde_json::json!("quote \" and backslash \\"),
            serde_json::json!("tab\tand é"),
            serde_json::json!({"0": 80}),
            serde_json::json!(null),
            serde_json::json!(12),
        ] {
            assert_eq!(flag_json(&v), v.to_string(), "{v:?}");
        }
    }

    #[test]
    fn json_depth_counts_brackets_outside_strings() {
        assert_eq!(json_depth("[]"), 1);
        assert_eq!(json_depth("[[1], {\"a\": [2]}]"), 3);
        assert_eq!(json_depth("[\"[[[[\", \"\\\"[[\"]"), 1);
        assert_eq!(json_depth(&"[".repeat(1000)), 1000);
    }

    #[test]
    fn clamp_cuts_at_a_character_boundary_with_a_note() {
        assert_eq!(clamp("abc".into(), 3), "abc");
        assert_eq!(clamp("aéb".into(), 2), "a\n[output truncated]");
    }
}
