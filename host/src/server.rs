//! The server process: game state and all game logic. It connects to the portal's link, receives
//! the configuration and the session table, loads the world and the modules, and runs the game
//! loop until the portal asks it to reload or shut down (or goes away).

pub mod channels;
pub mod cmdhandler;
pub mod execute;
pub mod game;
pub mod game_loop;
pub mod hashing;
pub mod help;
pub mod hooks;
pub mod imports;
pub mod inputfuncs;
pub mod locks;
pub mod objclass;
pub mod prototypes;
pub mod resent;
pub mod session;
pub mod throttle;
pub mod timers;

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::sync::mpsc;

// The failpoints and the clock are shared with the portal; imported here so the server's files
// keep reaching them as `super::failpoint` and `super::now_ms`.
use crate::failpoint;
use crate::link::{self, LinkAddr, PortalMsg, ServerMsg, StartKind, LINK_VERSION};
use crate::shared::clock::now_ms;
use crate::shared::files::MODULE_REPORT_FILE;
use crate::shared::inflight;
use crate::store::WorldStore;
use crate::wasm::{self, GuestLimits, GuestQuotas};
use game::Game;
use game_loop::{Exit, GameEvent, GameLoop, LoopSetup};

/// The plugin registry of this server: the sandbox's, over the game as its store data.
pub type PluginRegistry = wasm::PluginRegistry<Game>;
/// A loaded module of this server.
pub type LoadedModule = wasm::LoadedModule<Game>;
/// A compiled module ready to install on the game loop.
pub type Prepared = wasm::registry::Prepared<Game>;
/// The loaded object classes, as the game keeps them.
pub type ClassRunner = wasm::ClassRunner<Game>;
/// The store of a guest call made by this server.
pub type GuestStore = wasmtime::Store<wasm::HostCtx<Game>>;

/// Write the module report (a header naming this process and the time, then one line per
/// module) where the portal's control socket finds it; replaced whole, so a reader never sees
/// half of it. A failure is logged: the game itself does not need the file.
pub fn write_module_report(data_dir: &std::path::Path, lines: &[String]) {
    let text = format!(
        "modules of server pid {} as of {}:\n{}\n",
        std::process::id(),
        crate::wasm::registry::utc_time(now_ms()),
        lines.join("\n")
    );
    let tmp = data_dir.join(format!("{MODULE_REPORT_FILE}.tmp"));
    let written = std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, data_dir.join(MODULE_REPORT_FILE)));
    if let Err(e) = written {
        tracing::warn!(cause = %e, "cannot write the module report for `mudhost modules`");
    }
}

/// The watcher's events as the game loop's (sent from the watcher's threads, which may block).
fn module_sink(events: mpsc::Sender<GameEvent>) -> wasm::watcher::ModuleSink<Game> {
    use wasm::watcher::ModuleEvent;
    Arc::new(move |event| {
        let event = match event {
            ModuleEvent::Ready(prepared) => GameEvent::ModuleReady(prepared),
            ModuleEvent::Failed { path, error } => GameEvent::ModuleFailed { path, error },
            ModuleEvent::Removed { name } => GameEvent::ModuleRemoved { name },
        };
        events.blocking_send(event).is_ok()
    })
}

/// Events queued towards the game loop before the link reader waits.
const EVENT_QUEUE: usize = 4096;

/// Run the server process until it is told to stop or loses the portal.
pub async fn run(link_addr: LinkAddr) -> anyhow::Result<()> {
    // The secret comes from the portal through the environment (never argv, which any local user
    // can read); it is removed at once so that nothing this process starts inherits it.
    let secret = std::env::var(link::SECRET_ENV).unwrap_or_default();
    std::env::remove_var(link::SECRET_ENV);
    failpoint::slow_start().await;
    let (mut rd, mut wr) = link::connect_server(&link_addr)
        .await
        .with_context(|| format!("connecting to the portal at {link_addr}"))?;
    let hello = ServerMsg::Hello { version: LINK_VERSION, pid: std::process::id(), secret };
    wr.write_all(&link::encode_frame(&hello)?).context("saying hello to the portal")?;
    let (cfg, start, applied_outbox) = match link::read_frame::<_, PortalMsg>(&mut rd).await? {
        Some(PortalMsg::Welcome { config, start, applied_outbox }) => {
            (Arc::new(*config), start, applied_outbox)
        }
        Some(PortalMsg::Refused { reason }) => bail!("the portal refused this server: {reason}"),
        Some(other) => bail!("unexpected first message from the portal: {other:?}"),
        None => bail!("the portal closed the link during the handshake"),
    };
    tracing::info!(?start, pid = std::process::id(), "server starting");

    std::fs::create_dir_all(&cfg.data_dir).context("creating the data folder")?;
    failpoint::init(&cfg.data_dir);
    // One server per database, whatever the portals: held until this process ends.
    let lock_path = cfg.database_path().with_extension("sqlite3.lock");
    let _db_lock = crate::lockfile::try_lock(&lock_path)
        .with_context(|| format!("locking {}", lock_path.display()))?
        .with_context(|| {
            format!("another server is using the database (it holds {})", lock_path.display())
        })?;
    let mut world = WorldStore::open(&cfg.database_path()).context("opening the database")?;
    // Frames the portal has not applied yet: resent first, and their acks tell which replayed
    // inputs are already done. A cold start means a new portal: its sessions are all new, the
    // old frames belong to nobody, and characters left in the world by a crash leave it.
    let (resend, resent) = if start == StartKind::Cold {
        world.begin()?;
        world.outbox_clear()?;
        let n = world.remove_stranded_characters()?;
        world.commit()?;
        if n > 0 {
            tracing::info!(
                characters = n,
                "cold start: characters left in the world were moved out"
            );
        }
        (vec![], resent::Resent::default())
    } else {
        world.begin()?;
        world.outbox_prune(applied_outbox)?;
        world.commit()?;
        let frames = world.outbox_after(applied_outbox)?;
        let resent = resent::Resent::from_frames(&frames);
        (frames, resent)
    };
    let outbox_next = world.outbox_max_id()?.max(applied_outbox) + 1;
    if !resend.is_empty() {
        tracing::info!(frames = resend.len(), "resending effects the portal has not applied");
    }
    let game = Game::new(cfg.clone(), world);

    let limits = GuestLimits {
        deadline: std::time::Duration::from_millis(cfg.guest_deadline_ms),
        memory_bytes: (cfg.guest_memory_mib * 1024 * 1024) as usize,
        instances: cfg.guest_instance_pool,
    };
    // Pool slots fit the largest per-module cap; each call is held to its module's own.
    let pool = GuestLimits { memory_bytes: wasm::pool_memory_bytes(&cfg), ..limits };
    let engine = wasm::new_engine(pool).context("creating the wasm engine")?;
    let linker = wasm::new_linker(&engine).context("linking the host API")?;
    let ticker_stop = Arc::new(AtomicBool::new(false));
    wasm::start_epoch_ticker(engine.clone(), ticker_stop.clone());
    let mut plugins = PluginRegistry::new(
        engine,
        linker,
        limits,
        GuestQuotas::from_config(&cfg),
        cfg.module_cache_dir(),
    );
    plugins.set_module_memory(wasm::module_memory_caps(&cfg));
    plugins.set_module_deadlines(
        cfg.guest_module_deadline_ms
            .iter()
            .map(|(m, ms)| (m.clone(), std::time::Duration::from_millis(*ms)))
            .collect(),
    );
    if !cfg.module_cache_dir.as_os_str().is_empty() {
        plugins.share_cache();
    }
    let (plugins, game, deferred) = load_modules(plugins, game).await?;

    let (ev_tx, ev_rx) = mpsc::channel::<GameEvent>(EVENT_QUEUE);

    for (_, frame) in &resend {
        wr.write_all(frame).context("resending the outbox")?;
    }
    // From here on the link carries many small frames: read through a buffer.
    let mut rd = tokio::io::BufReader::with_capacity(link::READ_BUFFER_BYTES, rd);
    let reader_tx = ev_tx.clone();
    tokio::spawn(async move {
        loop {
            match link::read_frame::<_, PortalMsg>(&mut rd).await {
                Ok(Some(msg)) => {
                    if reader_tx.send(GameEvent::Portal(msg)).await.is_err() {
                        break;
                    }
                }
                Ok(None) => {
                    let _ = reader_tx.send(GameEvent::LinkClosed).await;
                    break;
                }
                Err(e) => {
                    tracing::error!(cause = %e, "link read failed");
                    let _ = reader_tx.send(GameEvent::LinkClosed).await;
                    break;
                }
            }
        }
    });
    tokio::spawn(terminate_on_signals(ev_tx.clone()));
    if cfg.idle_timeout_secs > 0 {
        tokio::spawn(idle_sweeps(cfg.idle_timeout_secs, ev_tx.clone()));
    }
    let poll =
        (cfg.module_poll_ms > 0).then(|| std::time::Duration::from_millis(cfg.module_poll_ms));
    let compile = wasm::watcher::Compiling { threads: cfg.module_compile_threads, deferred };
    let _watcher = wasm::watcher::watch(&cfg.modules_dir, &plugins, module_sink(ev_tx.clone()), cfg.module_events, poll, compile)
        .map_err(|e| tracing::error!(dir = %cfg.modules_dir.display(), cause = %e, "cannot watch the modules folder; hot reload is off"))
        .ok();

    let inflight = inflight::InflightMarker::open(&cfg.data_dir)
        .map_err(|e| tracing::warn!(cause = %e, "no in-flight marker; poison input cannot be singled out"))
        .ok();
    let game_loop = GameLoop::new(LoopSetup {
        game,
        plugins,
        link: wr,
        events: ev_tx,
        rt: tokio::runtime::Handle::current(),
        resent,
        outbox_next,
        confirmed: applied_outbox,
        inflight,
    });
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("game".into()).spawn(move || {
        let _ = done_tx.send(game_loop.run(ev_rx));
    })?;
    // The game loop writes its frames itself, synchronously: when it ends, they are out.
    // The game thread ends only by returning an exit reason; without one it panicked (the
    // panic hook normally ends the process first), which is a failure, never "the portal went
    // away".
    let exit = done_rx.await.map_err(|_| anyhow::anyhow!("the game thread panicked"))?;
    ticker_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    match exit {
        Exit::LinkLost => tracing::warn!("the portal went away; server exiting"),
        Exit::Reload => tracing::info!("server stopped for reload"),
        Exit::Shutdown => tracing::info!("server shut down"),
    }
    Ok(())
}

/// Load every module in the folder (each one's `info` and `at-load` guest calls) on a thread of
/// its own, as a hot load runs them on the game thread: wasmtime-wasi's blocking host code (a
/// guest's stderr flush, as a panic message makes) starts a runtime of its own, which cannot be
/// done on this thread, which drives tokio. So a module that panics, writes to stderr, sleeps or
/// spins at a start is rejected with a hot load's one-line error, under the same deadline and
/// memory cap, and the game serves.
///
/// Modules compile on up to `module_compile_threads` threads at once; a big one that is not in
/// the compile cache (over `module_background_compile_bytes`: a Python module) is not waited
/// for: its path is returned, and the watcher compiles it while the game serves.
async fn load_modules(
    mut plugins: PluginRegistry,
    mut game: Game,
) -> anyhow::Result<(PluginRegistry, Game, Vec<std::path::PathBuf>)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            let loaded = (|| -> anyhow::Result<(PluginRegistry, Game, Vec<std::path::PathBuf>)> {
                game.world.begin()?;
                let dir = game.cfg.modules_dir.clone();
                let (threads, big) =
                    (game.cfg.module_compile_threads, game.cfg.module_background_compile_bytes);
                let (mut game, deferred) = plugins.load_dir_deferring(&dir, game, threads, big);
                game.world.commit()?;
                Ok((plugins, game, deferred))
            })();
            let _ = tx.send(loaded);
        })
        .context("starting the module loading thread")?;
    rx.await.context("the module loading thread panicked")?
}

/// SIGTERM / SIGINT reach the server directly (an admin, or PDEATHSIG when the portal dies):
/// shut down as `mudhost stop` would — unpuppet everyone, commit, ask the portal to stop.
async fn terminate_on_signals(events: mpsc::Sender<GameEvent>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    let _ = events.send(GameEvent::Terminate).await;
}

/// Ask the game loop to sweep idle sessions (Evennia's maintenance check of IDLE_TIMEOUT) every
/// min(60, timeout / 2) seconds, so no session outlives the timeout by more than half of it.
async fn idle_sweeps(timeout_secs: u64, events: mpsc::Sender<GameEvent>) {
    let mut every =
        tokio::time::interval(std::time::Duration::from_secs((timeout_secs / 2).clamp(1, 60)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        if events.send(GameEvent::IdleSweep).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::registry::PluginError;
    use crate::wasm::watcher::ModuleEvent;

    #[test]
    fn the_watchers_events_reach_the_game_loop_as_its_own_until_it_is_gone() {
        let (tx, mut rx) = mpsc::channel(4);
        let sink = module_sink(tx);
        assert!(sink(ModuleEvent::Removed { name: "box".into() }));
        let error = PluginError::Read("gone".into());
        assert!(sink(ModuleEvent::Failed { path: "/m/x.wasm".into(), error }));
        assert!(matches!(rx.try_recv(), Ok(GameEvent::ModuleRemoved { name }) if name == "box"));
        assert!(matches!(
            rx.try_recv(),
            Ok(GameEvent::ModuleFailed { path, .. }) if path == std::path::Path::new("/m/x.wasm")
        ));
        drop(rx);
        assert!(!sink(ModuleEvent::Removed { name: "box".into() }), "the watcher is told to stop");
    }
}
