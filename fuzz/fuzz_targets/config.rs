//! The config loader: TOML text → `Config` with its range checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = Config::parse(text, std::path::Path::new("/game/mudhost.toml")) {
        let _ = cfg.validate();
    }
});
