//! The setup both sandbox benches share: a guest module's path, and a game with one logged-in
//! session beside a plugin registry on an engine with the given limits (epoch ticker running).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use mudhost::config::Config;
use mudhost::link::{Sessid, SessionData};
use mudhost::server::game::Game;
use mudhost::server::PluginRegistry;
use mudhost::store::WorldStore;
use mudhost::wasm::{self, GuestLimits, GuestQuotas};

/// A built guest module: `MUDHOST_GUEST_DIR`, or where `cargo xtask guests` puts them.
pub fn module_path(name: &str) -> PathBuf {
    std::env::var_os("MUDHOST_GUEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm/modules"))
        .join(format!("{name}.wasm"))
}

/// What a bench measures with; the folder holds the database and the compile cache.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub game: Game,
    pub registry: PluginRegistry,
}

/// A fresh game (session 1 logged in) and an empty registry under `limits`.
pub fn bench(limits: GuestLimits) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let world = WorldStore::open(&dir.path().join("bench.db")).unwrap();
    let mut game = Game::new(Arc::new(Config::default()), world);
    let engine = wasm::new_engine(limits).unwrap();
    let linker = wasm::new_linker(&engine).unwrap();
    wasm::start_epoch_ticker(engine.clone(), Arc::new(AtomicBool::new(false)));
    let registry = PluginRegistry::new(
        engine,
        linker,
        limits,
        GuestQuotas::default(),
        dir.path().join("cache"),
    );
    game.sessions.insert(SessionData {
        sessid: Sessid::new(1),
        logged_in: true,
        ..Default::default()
    });
    Bench { dir, game, registry }
}
