//! The session side of the host imports: text and out-of-band messages delivered to sessions
//! (counted against the call's quotas first), the size of a session's ndb, the caller's
//! commands.

use crate::link::Sessid;
use crate::server::game::Game;
use crate::wasm::bindings::types::{CommandInfo, HostError};
use crate::wasm::import_checks::{clamp, json_depth, over};
use crate::wasm::HostCtx;

/// Result of an import that ends the call when the guest goes over a quota.
type Trappable<T> = wasmtime::Result<T>;

impl HostCtx<Game> {
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

    /// The calling session's ndb size (keys plus values) if `key` were set to `value`.
    pub(super) fn ndb_size_after(&self, key: &str, value: &str) -> usize {
        let Some(s) = self.game.sessions.get(self.caller) else { return 0 };
        let others: usize =
            s.data.ndb.iter().filter(|(k, _)| *k != key).map(|(k, v)| k.len() + v.len()).sum();
        others + key.len() + value.len()
    }

    /// `send-oob`: an out-of-band message to one session, its arguments checked and counted.
    pub(super) fn queue_oob(
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
                q.messages_per_call, q.output_bytes_per_call))));
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
        if self.used.per_session.get(&Sessid::new(session)).copied().unwrap_or(0)
            >= q.messages_per_session_per_call
        {
            return Ok(Err(HostError::Quota(format!(
                "output to one session over guest_messages_per_session_per_call ({} messages)",
                q.messages_per_session_per_call
            ))));
        }
        if self.game.sessions.get(Sessid::new(session)).is_some() {
            self.used.messages += 1;
            self.used.output_bytes += size;
            *self.used.per_session.entry(Sessid::new(session)).or_default() += 1;
        }
        self.game.send(Sessid::new(session), crate::link::Msg::oob(cmdname, args, kwargs));
        Ok(Ok(()))
    }

    /// `caller-commands`: the commands of the caller's merged cmdset that its locks let it use.
    pub(super) fn commands_for_caller(&mut self) -> Trappable<Vec<CommandInfo>> {
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
}
