//! The module report for admins (the in-game `modules`, `mudhost modules`, `data/modules.txt`):
//! one line per module and per load error.

use super::{ModuleKind, PluginRegistry};
use crate::cmd::CmdSet;

impl<D: 'static> PluginRegistry<D> {
    /// One line per loaded module and per load error, for admins (the in-game `modules`,
    /// `mudhost modules`): kind, where the compiled code came from, WIT version, hash, cmdset,
    /// commands, the config slots naming it, load time, and its last load error (a newer
    /// version that was rejected while this one keeps serving); a module that never loaded
    /// has a `REJECTED` line with its error and slots.
    pub fn report(&self, cfg: &crate::config::Config) -> Vec<String> {
        let mut lines: Vec<String> = self
            .modules
            .values()
            .map(|m| {
                let kind = match m.kind {
                    ModuleKind::Cmdset => "cmdset",
                    ModuleKind::InputHook => "input hook",
                    ModuleKind::SessionClass => "session class",
                    ModuleKind::ObjectClass => "object class",
                };
                let error = self
                    .errors
                    .get(&*m.name)
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default();
                format!(
                    "{} {} ({kind}, {}, WIT {}): cmdset {} prio {} with {} commands ({}); slots: {}; loaded {}{error}",
                    m.name,
                    m.hash,
                    if m.from_cache { "from cache" } else { "compiled" },
                    m.version,
                    m.cmdset.key,
                    m.cmdset.priority,
                    m.cmdset.commands.len(),
                    command_list(&m.cmdset),
                    slots_of(cfg, &m.name),
                    utc_time(m.loaded_at_ms),
                )
            })
            .collect();
        lines.extend(
            self.errors
                .iter()
                .filter(|(name, _)| !self.modules.contains_key(*name))
                .map(|(name, e)| format!("REJECTED {e}; slots: {}", slots_of(cfg, name))),
        );
        let s = self.stats;
        lines.push(format!(
            "compiled {}, loaded from cache {}, rejected {}",
            s.compiled, s.cache_hits, s.rejected
        ));
        lines
    }
}

/// Most command names a module's report line lists (the count is always given).
const REPORT_COMMANDS: usize = 40;

/// The command keys of a cmdset, for the module report (at most [`REPORT_COMMANDS`]).
fn command_list(set: &CmdSet) -> String {
    let mut keys: Vec<&str> = set.commands.iter().map(|c| c.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let more = keys.len().saturating_sub(REPORT_COMMANDS);
    keys.truncate(REPORT_COMMANDS);
    let mut list = keys.join(", ");
    if more > 0 {
        list += &format!(", and {more} more");
    }
    list
}

/// The config keys that name module `name` (its roles), or "none".
pub fn slots_of(cfg: &crate::config::Config, name: &str) -> String {
    let lists = [
        ("cmdset_unloggedin", &cfg.cmdset_unloggedin),
        ("cmdset_session", &cfg.cmdset_session),
        ("cmdset_account", &cfg.cmdset_account),
        ("cmdset_character", &cfg.cmdset_character),
        ("input_hooks", &cfg.input_hooks),
    ];
    let mut slots: Vec<&str> =
        lists.iter().filter(|(_, l)| l.iter().any(|m| m == name)).map(|(k, _)| *k).collect();
    if cfg.session_class == name {
        slots.push("session_class");
    }
    if slots.is_empty() {
        "none".into()
    } else {
        slots.join(", ")
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC` (the proleptic Gregorian calendar).
pub fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_times_are_utc_calendar_times_and_slots_name_every_role() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_time(1_796_395_245_999), "2026-12-04 14:40:45 UTC");
        let cfg = crate::config::Config {
            input_hooks: vec!["nick".into()],
            cmdset_account: vec!["account".into(), "nick".into()],
            session_class: "nick".into(),
            ..Default::default()
        };
        assert_eq!(slots_of(&cfg, "nick"), "cmdset_account, input_hooks, session_class");
        assert_eq!(slots_of(&cfg, "box"), "none");
    }
}
