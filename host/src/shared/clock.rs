//! The wall clock both processes read, in milliseconds since the Unix epoch.
//!
//! `MUDHOST_CLOCK_OFFSET_FILE=PATH` is its test seam: the host adds the number of milliseconds
//! written in that file (read at each reading of the clock) to the time it reads, so a test can
//! step the wall clock forwards or backwards under a running game.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Environment variable naming the file of the wall clock's test offset.
pub const CLOCK_ENV: &str = "MUDHOST_CLOCK_OFFSET_FILE";

/// Milliseconds since the Unix epoch (plus the test offset of [`clock_offset_ms`]).
pub fn now_ms() -> u64 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    wall.saturating_add_signed(clock_offset_ms())
}

/// The test offset of the wall clock in milliseconds (see the module docs); 0 without the
/// variable, which is read once.
pub fn clock_offset_ms() -> i64 {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let Some(path) = FILE.get_or_init(|| std::env::var_os(CLOCK_ENV).map(PathBuf::from)) else {
        return 0;
    };
    std::fs::read_to_string(path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}
