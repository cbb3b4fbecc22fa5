//! The session side of the host imports: text delivered to sessions (counted against the call's
//! quotas first) and the size of a session's ndb.

use crate::link::Sessid;
use crate::server::game::Game;
use crate::wasm::import_checks::{clamp, over};
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
}
