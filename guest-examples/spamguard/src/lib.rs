//! Example input hook: a spam guard. The same line typed more than [`MAX_REPEATS`] times within
//! [`WINDOW_MS`] is swallowed, with a notice to the player, until the player types something
//! else or waits. State is per session (its ndb), so it costs two small host calls per line.
//!
//! Configure with `input_hooks = ["spamguard"]` (it has no commands of its own).

use mudhost_sdk::{cmdset, host, input_hook, HookResult, InputHook, Message, SessionInfo};

/// Identical lines allowed within the window; the next one is swallowed.
pub const MAX_REPEATS: usize = 5;
/// The window, in milliseconds.
pub const WINDOW_MS: u64 = 10_000;
/// What a swallowed line tells the player.
pub const NOTICE: &str = "|rYou repeat yourself too often; that line was ignored.|n";

struct Guard;
impl InputHook for Guard {
    fn data_in(msg: &Message, _session: &SessionInfo) -> HookResult {
        let Some(line) = msg.text_line() else { return HookResult::Pass };
        let line = line.trim().to_string();
        // Keepalives are not typed lines.
        if line.is_empty() || line == "idle" {
            return HookResult::Pass;
        }
        let now = host::now_ms();
        let last = host::ndb_get("spamguard.line");
        let mut times: Vec<u64> = if last.as_deref() == Some(line.as_str()) {
            host::ndb_get("spamguard.times")
                .map(|t| t.split(',').filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default()
        } else {
            host::ndb_set("spamguard.line", Some(&line));
            vec![]
        };
        times.retain(|&t| now.saturating_sub(t) < WINDOW_MS);
        if times.len() >= MAX_REPEATS {
            return HookResult::swallow_with(NOTICE);
        }
        times.push(now);
        let joined: Vec<String> = times.iter().map(u64::to_string).collect();
        host::ndb_set("spamguard.times", Some(&joined.join(",")));
        HookResult::Pass
    }
}

cmdset! { key: "SpamGuardCmdSet", priority: 0, merge_type: Union, commands: [] }
input_hook!(Guard);

#[cfg(test)]
mod tests {
    use super::*;
    use mudhost_sdk::testing::TestHost;

    fn typed(host: &TestHost, s: u64, line: &str) -> HookResult {
        let info = host.session_info(s).unwrap();
        host.as_session(s, || Guard::data_in(&Message::text(line), &info))
    }

    #[test]
    fn a_line_repeated_too_often_is_swallowed_until_the_window_passes() {
        let host = TestHost::new();
        let s = host.player("Anna", host.limbo());
        for _ in 0..MAX_REPEATS {
            assert!(matches!(typed(&host, s, "say hi"), HookResult::Pass));
            host.advance(100);
        }
        assert!(matches!(typed(&host, s, "say hi"), HookResult::Swallow(Some(t)) if t == NOTICE));
        // Another line passes and starts a new count; keepalives are not counted.
        assert!(matches!(typed(&host, s, "look"), HookResult::Pass));
        assert!(matches!(typed(&host, s, "idle"), HookResult::Pass));
        for _ in 1..MAX_REPEATS {
            assert!(matches!(typed(&host, s, "look"), HookResult::Pass));
        }
        assert!(matches!(typed(&host, s, "look"), HookResult::Swallow(_)));
        host.advance(WINDOW_MS);
        assert!(matches!(typed(&host, s, "look"), HookResult::Pass));
    }

    #[test]
    fn each_session_is_counted_on_its_own() {
        let host = TestHost::new();
        let (a, b) = (host.player("Anna", host.limbo()), host.player("Bob", host.limbo()));
        for _ in 0..MAX_REPEATS {
            typed(&host, a, "say hi");
        }
        assert!(matches!(typed(&host, b, "say hi"), HookResult::Pass));
        assert!(matches!(typed(&host, a, "say hi"), HookResult::Swallow(_)));
    }
}
