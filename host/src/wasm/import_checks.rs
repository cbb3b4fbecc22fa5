//! The checks every host import applies to a guest's request, whatever the embedder's data:
//! names and texts within their quotas, JSON nesting, the per-call counters, the guest's log.
//! Generic over the store data, so they stay with the sandbox; the imports themselves are the
//! embedder's.

use super::bindings::types::{HostError, LogLevel};
use super::{escape_line, GuestQuotas, HostCtx, QuotaExceeded};

/// Result of an import that ends the call when the guest goes over a quota.
type Trappable<T> = wasmtime::Result<T>;

/// Cut a text to `max` bytes (at a character boundary) with a note, as one message may carry.
pub fn clamp(text: String, max: usize) -> String {
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
pub fn over(what: String) -> wasmtime::Error {
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

impl<D> HostCtx<D> {
    /// The quotas of this call.
    pub fn q(&self) -> GuestQuotas {
        self.quotas
    }

    /// Refuse (end the call) a name over `guest_name_bytes`.
    pub fn name(&self, what: &str, value: &str) -> Trappable<()> {
        if value.len() > self.q().name_bytes {
            return Err(over(format!(
                "{what} is over guest_name_bytes ({} bytes)",
                self.q().name_bytes
            )));
        }
        Ok(())
    }

    /// Refuse (with an error value) a name over `guest_name_bytes`.
    pub fn name_value(&self, what: &str, value: &str) -> Result<(), HostError> {
        if value.len() > self.q().name_bytes {
            return Err(HostError::Quota(format!(
                "{what} is over guest_name_bytes ({} bytes)",
                self.q().name_bytes
            )));
        }
        Ok(())
    }

    /// Count one password-hashing request against the call's quota.
    pub fn auth_request(&mut self) -> Result<(), HostError> {
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
    pub fn auth_checks(&mut self, name: Option<&str>, passwords: &[&str]) -> Result<(), HostError> {
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

    /// `log`: one escaped, cut line in the server log, counted against
    /// `guest_log_bytes_per_call`.
    pub fn guest_log(&mut self, level: LogLevel, message: String) -> Trappable<()> {
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
            LogLevel::Trace => tracing::trace!(module = m, %sessid, "guest: {line}"),
            LogLevel::Debug => tracing::debug!(module = m, %sessid, "guest: {line}"),
            LogLevel::Info => tracing::info!(module = m, %sessid, "guest: {line}"),
            LogLevel::Warn => tracing::warn!(module = m, %sessid, "guest: {line}"),
            LogLevel::Error => tracing::error!(module = m, %sessid, "guest: {line}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
