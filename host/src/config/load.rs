//! Loading the config file: parsing (unknown keys refused), folders resolved against the file's
//! own, and the checks of ranges and combinations that TOML types alone do not make.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

impl Config {
    /// Load a config file (missing file → defaults) and resolve relative paths against its folder.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        Config::parse(&text, path)
    }

    /// Parse the text of the config file at `path` (named in errors; relative paths are resolved
    /// against its folder) and check its values.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text)
            .map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        // Absolute, so file-event paths and the folder compare equal whatever the working
        // directory (a relative modules folder made the watcher miss every event and rely on
        // its poll).
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        cfg.modules_dir = absolute(base.join(&cfg.modules_dir));
        cfg.data_dir = absolute(base.join(&cfg.data_dir));
        cfg.prototypes_dir = absolute(base.join(&cfg.prototypes_dir));
        cfg.help_dir = absolute(base.join(&cfg.help_dir));
        if !cfg.module_cache_dir.as_os_str().is_empty() {
            cfg.module_cache_dir = absolute(base.join(&cfg.module_cache_dir));
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check ranges that TOML types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.multisession_mode > 3 {
            return Err(ConfigError::Invalid("multisession_mode must be 0-3".into()));
        }
        // Evennia's launcher refuses this too: modes 0 and 1 have one puppet per account.
        if self.multisession_mode < 2 && self.max_nr_simultaneous_puppets != 1 {
            return Err(ConfigError::Invalid(
                "multisession_mode 0 and 1 need max_nr_simultaneous_puppets = 1".into(),
            ));
        }
        if self.module_compile_threads == 0 {
            return Err(ConfigError::Invalid("module_compile_threads must be at least 1".into()));
        }
        if self
            .guest_module_memory_mib
            .values()
            .chain(self.guest_module_deadline_ms.values())
            .any(|m| *m == 0)
        {
            return Err(ConfigError::Invalid(
                "guest_module_memory_mib and guest_module_deadline_ms values must be positive"
                    .into(),
            ));
        }
        if self.guest_deadline_ms == 0 || self.guest_memory_mib == 0 {
            return Err(ConfigError::Invalid("guest limits must be positive".into()));
        }
        // One instance for a call, one for loading a module beside it.
        if self.guest_instance_pool < 2 {
            return Err(ConfigError::Invalid("guest_instance_pool must be at least 2".into()));
        }
        if self.guest_messages_per_session_per_call >= self.outbox_frames {
            return Err(ConfigError::Invalid(
                "guest_messages_per_session_per_call must be below outbox_frames, or one command could get a player disconnected as a slow client".into(),
            ));
        }
        if self.timer_firings_per_round == 0 {
            return Err(ConfigError::Invalid(
                "timer_firings_per_round must be at least 1, or timers never fire".into(),
            ));
        }
        if !self.module_events && self.module_poll_ms == 0 {
            return Err(ConfigError::Invalid(
                "module_events = false needs module_poll_ms > 0, or hot reload is off".into(),
            ));
        }
        if self.guest_name_bytes == 0
            || self.guest_text_bytes == 0
            || self.guest_log_line_bytes == 0
        {
            return Err(ConfigError::Invalid(
                "guest name, text and log line limits must be positive".into(),
            ));
        }
        // A request line alone needs a few hundred bytes; below that no browser gets the page.
        if self.handshake_timeout_ms == 0 || self.http_head_bytes < 512 {
            return Err(ConfigError::Invalid(
                "handshake_timeout_ms must be positive and http_head_bytes at least 512".into(),
            ));
        }
        if self.session_flag_value_bytes < 32 || self.session_flag_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "session_flag_value_bytes must be at least 32 and session_flag_bytes at least 1024 (a client's own flags need that much)".into(),
            ));
        }
        if self.max_input_chars == 0 || self.outbox_frames == 0 {
            return Err(ConfigError::Invalid("input and outbox limits must be positive".into()));
        }
        if self.others_output_bytes_per_sec > 0 && self.others_output_burst_bytes == 0 {
            return Err(ConfigError::Invalid(
                "others_output_burst_bytes must be positive while others_output_bytes_per_sec is, or no other player's output would ever arrive".into(),
            ));
        }
        if self.max_name_chars < 2 {
            return Err(ConfigError::Invalid("max_name_chars must be at least 2".into()));
        }
        if !self.telnet_addr.trim().is_empty()
            && self.telnet_addr.trim().parse::<SocketAddr>().is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "telnet_addr must be HOST:PORT (an IP address and a port) or empty, not {:?}",
                self.telnet_addr
            )));
        }
        if self.telnet_subnegotiation_bytes < 64 {
            return Err(ConfigError::Invalid(
                "telnet_subnegotiation_bytes must be at least 64".into(),
            ));
        }
        if !(1..=crate::shared::limits::MAX_INPUT_DEPTH).contains(&self.max_input_depth) {
            return Err(ConfigError::Invalid(format!(
                "max_input_depth must be 1-{}",
                crate::shared::limits::MAX_INPUT_DEPTH
            )));
        }
        if self.outbox_bytes == 0
            || self.queued_input_bytes_per_session == 0
            || self.hash_queue == 0
        {
            return Err(ConfigError::Invalid(
                "outbox_bytes, queued_input_bytes_per_session and hash_queue must be positive"
                    .into(),
            ));
        }
        if !(8..=32).contains(&self.ipv4_prefix_len) || !(16..=128).contains(&self.ipv6_prefix_len)
        {
            return Err(ConfigError::Invalid(
                "ipv4_prefix_len must be 8-32 and ipv6_prefix_len 16-128".into(),
            ));
        }
        if self.inbound_flood_secs == 0 {
            return Err(ConfigError::Invalid("inbound_flood_secs must be positive".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::tests::refused;
    use crate::config::{Config, ConfigError};

    #[test]
    fn folders_of_a_config_given_by_a_relative_path_are_absolute() {
        // The module watcher compares file-event paths with the folder: both must be absolute.
        let cfg = Config::parse("", Path::new("game/mudhost.toml")).unwrap();
        assert!(
            cfg.modules_dir.is_absolute() && cfg.modules_dir.ends_with("game/modules"),
            "{:?}",
            cfg.modules_dir
        );
        assert!(
            cfg.data_dir.is_absolute() && cfg.data_dir.ends_with("game/data"),
            "{:?}",
            cfg.data_dir
        );
    }

    #[test]
    fn a_per_session_message_quota_at_or_above_the_outbox_is_refused() {
        let cfg = Config { guest_messages_per_session_per_call: 1024, ..Config::default() };
        refused(cfg, "guest_messages_per_session_per_call", "below outbox_frames");
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn an_empty_others_output_burst_and_too_short_a_name_limit_are_refused() {
        let cfg = Config { others_output_burst_bytes: 0, ..Config::default() };
        refused(cfg, "others_output_burst_bytes", "must be positive");
        let off = Config {
            others_output_bytes_per_sec: 0,
            others_output_burst_bytes: 0,
            ..Config::default()
        };
        assert!(off.validate().is_ok());
        refused(Config { max_name_chars: 1, ..Config::default() }, "max_name_chars", "at least 2");
    }

    #[test]
    fn zero_timer_firings_per_round_is_refused() {
        let cfg = Config { timer_firings_per_round: 0, ..Config::default() };
        refused(cfg, "timer_firings_per_round", "at least 1");
    }

    #[test]
    fn per_module_limits_parse_and_zero_ones_and_no_compile_thread_are_refused() {
        let cfg: Config = toml::from_str(
            "guest_module_memory_mib = { pyhello = 128 }\nguest_module_deadline_ms = { pyhello = 200 }",
        )
        .unwrap();
        assert_eq!(cfg.guest_module_memory_mib.get("pyhello"), Some(&128));
        assert!(cfg.validate().is_ok());
        let zero: Config = toml::from_str("guest_module_memory_mib = { pyhello = 0 }").unwrap();
        refused(zero, "guest_module_memory_mib", "must be positive");
        let zero: Config = toml::from_str("guest_module_deadline_ms = { pyhello = 0 }").unwrap();
        refused(zero, "guest_module_deadline_ms", "must be positive");
        let none = Config { module_compile_threads: 0, ..Config::default() };
        refused(none, "module_compile_threads", "at least 1");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("no_such_key = 1", Path::new("game/mudhost.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("mudhost.toml") && text.contains("unknown field `no_such_key`"),
            "{text}"
        );
    }

    #[test]
    fn modes_0_and_1_refuse_more_than_one_puppet_as_evennias_launcher_does() {
        let with = |mode, puppets| Config {
            multisession_mode: mode,
            max_nr_simultaneous_puppets: puppets,
            ..Config::default()
        };
        assert!(with(0, 1).validate().is_ok());
        refused(with(1, 2), "max_nr_simultaneous_puppets", "multisession_mode 0 and 1");
        refused(with(0, 0), "max_nr_simultaneous_puppets", "multisession_mode 0 and 1");
        assert!(with(2, 0).validate().is_ok());
        assert!(with(3, 5).validate().is_ok());
        refused(with(4, 1), "multisession_mode", "0-3");
    }

    #[test]
    fn session_flag_limits_too_small_for_a_clients_own_flags_are_refused() {
        let with = |value, total| Config {
            session_flag_value_bytes: value,
            session_flag_bytes: total,
            ..Config::default()
        };
        assert!(with(256, 4096).validate().is_ok());
        refused(with(31, 4096), "session_flag_value_bytes", "at least 32");
        refused(with(256, 1023), "session_flag_bytes", "at least 1024");
    }
}
