//! Live config: what `reload` (the command or the in-game one) does with `mudhost.toml`.
//!
//! The server process is restarted on every reload and takes its whole config from the portal's
//! `Welcome`, so every key only the server reads (cmdset slots, `input_hooks`, `session_class`,
//! guest limits and quotas, timers, throttles, the idle timeout, the multisession policy, …)
//! changes by giving the new server the re-read file. The portal re-reads it before it asks the
//! server to go: an unreadable or invalid file refuses the reload (the old config and the old
//! server stay, the caller is told why). Keys the portal's listeners and connection tasks hold
//! (listen addresses, the data folder, the link, per-connection and per-address limits) keep
//! their running values until a full restart: they are named in one log line and in
//! `mudhost status`. The portal's hub reads a few limits at each use; those apply at once.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::config::{Config, ConfigError};

/// Where the running portal's config came from, so a reload can read it again the same way.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The config file; None = the built-in defaults (a reload then changes nothing).
    pub path: Option<PathBuf>,
    /// `--data` given on the command line (overrides the file).
    pub data_dir: Option<PathBuf>,
    /// `--ws-addr` given on the command line.
    pub ws_addr: Option<SocketAddr>,
    /// `--modules` given on the command line.
    pub modules_dir: Option<PathBuf>,
}

impl ConfigSource {
    /// Read the config as at start: the file, then the command line's overrides.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut cfg = Config::load(self.path.as_deref())?;
        if let Some(d) = &self.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(a) = self.ws_addr {
            cfg.ws_addr = a;
        }
        if let Some(m) = &self.modules_dir {
            cfg.modules_dir = m.clone();
        }
        Ok(cfg)
    }
}

/// Keys whose new value takes effect only when the portal is restarted (`mudhost stop` then
/// `start`): the portal binds, opens or hands them to its listeners and connection tasks once.
pub const RESTART_KEYS: &[&str] = &[
    "server_name",
    "ws_addr",
    "telnet_addr",
    "telnet_handshake_ms",
    "telnet_subnegotiation_bytes",
    "data_dir",
    "link",
    "link_secret",
    "max_input_chars",
    "max_frame_bytes",
    "max_input_depth",
    "ws_ping_secs",
    "handshake_timeout_ms",
    "http_head_bytes",
    "outbox_frames",
    "queued_inputs_per_session",
    "restart_backoff_ms",
    "max_connections",
    "max_connections_per_ip",
    "max_handshakes",
    "max_handshakes_per_ip",
    "connection_rate_per_ip",
    "connection_burst_per_ip",
    "command_rate",
    "outbox_bytes",
    "trusted_proxies",
    "log_summary_secs",
    "login_timeout_secs",
    "max_unauthenticated_connections",
    "ipv4_prefix_len",
    "ipv6_prefix_len",
    "inbound_bytes_per_sec",
    "inbound_frames_per_sec",
    "inbound_bytes_per_sec_per_ip",
    "inbound_frames_per_sec_per_ip",
    "inbound_flood_secs",
    "flags_interval_ms",
    "command_rate_per_ip",
    "allowed_origins",
];

/// What a reload made of the re-read file.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The config to run with from now on: the file's, but restart-only keys at their running
    /// values (so portal and server agree on them).
    pub config: Config,
    /// Keys whose new value is in effect from this reload.
    pub live: Vec<String>,
    /// Keys whose value in the file differs from the running one and waits for a restart.
    pub restart: Vec<String>,
}

/// Each key of a config with its value.
fn keys(cfg: &Config) -> Map<String, Value> {
    match serde_json::to_value(cfg) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Merge the re-read file into the running config (see [`Applied`]).
pub fn apply(running: &Config, file: Config) -> Result<Applied, ConfigError> {
    let old = keys(running);
    let mut new = keys(&file);
    let (mut live, mut restart) = (vec![], vec![]);
    for (key, value) in new.iter_mut() {
        let before = old.get(key).cloned().unwrap_or(Value::Null);
        if *value == before {
            continue;
        }
        if RESTART_KEYS.contains(&key.as_str()) {
            restart.push(key.clone());
            *value = before;
        } else {
            live.push(key.clone());
        }
    }
    live.sort();
    restart.sort();
    let config: Config = serde_json::from_value(Value::Object(new))
        .map_err(|e| ConfigError::Invalid(format!("cannot merge the re-read config: {e}")))?;
    Ok(Applied { config, live, restart })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_guest_limits_apply_and_listen_addresses_wait_for_a_restart() {
        let running = Config::default();
        let file = Config {
            cmdset_character: vec!["character".into(), "extra".into()],
            guest_deadline_ms: 80,
            idle_timeout_secs: 600,
            ws_addr: "127.0.0.1:5555".parse().unwrap(),
            max_connections: 7,
            ..Config::default()
        };
        let a = apply(&running, file).unwrap();
        assert_eq!(a.live, ["cmdset_character", "guest_deadline_ms", "idle_timeout_secs"]);
        assert_eq!(a.restart, ["max_connections", "ws_addr"]);
        assert_eq!(a.config.guest_deadline_ms, 80);
        assert_eq!(a.config.ws_addr, running.ws_addr, "restart-only keys keep their value");
        assert_eq!(a.config.max_connections, running.max_connections);
    }

    #[test]
    fn every_restart_key_is_a_config_key() {
        let all = keys(&Config::default());
        for k in RESTART_KEYS {
            assert!(all.contains_key(*k), "{k} is not a config key");
        }
    }
}
