//! What every scenario shares: the game's modules and config for a benchmark, logging players
//! in, a process's RSS and /proc fields, the portal's pid, percentiles.

use std::time::{Duration, Instant};

use crate::support::{Client, Host};

/// The modules every scenario's game loads.
pub(crate) const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];

/// Benchmark clients send commands back to back, faster than any player types: no command rate,
/// no inbound budget (each client is on an address of its own, so per-address limits are moot).
pub(crate) const BASE_CONFIG: &str = "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0\ninbound_bytes_per_sec = 0\ninbound_bytes_per_sec_per_ip = 0";

/// And a deadline a busy shared machine cannot turn into failed commands (a failed command has
/// no answer to wait for). The fairness scenario keeps the default deadline: it is what it measures.
pub(crate) const CONFIG: &str =
    "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0\nguest_deadline_ms = 2000\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0\ninbound_bytes_per_sec = 0\ninbound_bytes_per_sec_per_ip = 0";

/// Log N players in, 100 at a time.
pub(crate) async fn players(url: &str, n: usize, prefix: &str) -> Vec<Client> {
    let started = Instant::now();
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|i| {
                let (url, name) = (url.to_string(), format!("{prefix}{i}"));
                tokio::spawn(async move { Client::player(&url, &name).await })
            })
            .collect();
        for t in tasks {
            out.push(t.await.expect("login task"));
        }
    }
    println!("  {n} players logged in in {:.1?}", started.elapsed());
    out
}

/// A process's resident memory, MiB (0 if it is gone).
pub(crate) fn rss_mib(pid: u32) -> f64 {
    proc_status(pid, "VmRSS:") / 1024.0
}

/// A numeric field of /proc/PID/status (0 if the process is gone).
pub(crate) fn proc_status(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The portal's pid, as `mudhost status` reports it.
pub(crate) fn portal_pid(host: &Host) -> u32 {
    let status = host.cli(&["status"]);
    status
        .split("portal pid ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap()
}

/// The `p` percentile (0..=1) of sorted durations.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
