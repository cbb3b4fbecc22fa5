//! The server process: game state and all game logic. It connects to the portal's link, receives
//! the configuration and the session table, loads the world and the modules, and runs the game
//! loop until the portal asks it to reload or shut down (or goes away).

pub mod accounts;
pub mod cmdhandler;
pub mod game;
pub mod game_loop;
pub mod inputfuncs;
pub mod session;
pub mod throttle;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::sync::mpsc;

use crate::link::{self, LinkAddr, PortalMsg, ServerMsg, LINK_VERSION};
use crate::store::WorldStore;
use crate::wasm::{self, GuestLimits, PluginRegistry};
use game::Game;
use game_loop::{Exit, GameEvent, GameLoop};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Frames queued towards the portal before the game loop waits (backpressure).
const OUT_QUEUE: usize = 1024;
/// Events queued towards the game loop before the link reader waits.
const EVENT_QUEUE: usize = 4096;

/// Run the server process until it is told to stop or loses the portal.
pub async fn run(link_addr: LinkAddr) -> anyhow::Result<()> {
    let stream = link::connect(&link_addr)
        .await
        .with_context(|| format!("connecting to the portal at {link_addr}"))?;
    let (mut rd, mut wr) = tokio::io::split(stream);
    link::write_frame(&mut wr, &ServerMsg::Hello { version: LINK_VERSION, pid: std::process::id() }).await?;
    let (cfg, start) = match link::read_frame::<_, PortalMsg>(&mut rd).await? {
        Some(PortalMsg::Welcome { config, start }) => (Arc::new(*config), start),
        Some(PortalMsg::Refused { reason }) => bail!("the portal refused this server: {reason}"),
        Some(other) => bail!("unexpected first message from the portal: {other:?}"),
        None => bail!("the portal closed the link during the handshake"),
    };
    tracing::info!(?start, pid = std::process::id(), "server starting");

    std::fs::create_dir_all(&cfg.data_dir).context("creating the data folder")?;
    let world = WorldStore::open(&cfg.database_path()).context("opening the database")?;
    let mut game = Game::new(cfg.clone(), world);

    let limits = GuestLimits {
        deadline: std::time::Duration::from_millis(cfg.guest_deadline_ms),
        memory_bytes: (cfg.guest_memory_mib * 1024 * 1024) as usize,
    };
    let engine = wasm::new_engine(limits).context("creating the wasm engine")?;
    let linker = wasm::new_linker(&engine).context("linking the host API")?;
    let ticker_stop = Arc::new(AtomicBool::new(false));
    wasm::start_epoch_ticker(engine.clone(), ticker_stop.clone());
    let mut plugins = PluginRegistry::new(engine, linker, limits, cfg.module_cache_dir());
    game.world.begin()?;
    let mut game = plugins.load_dir(&cfg.modules_dir, game);
    game.world.commit()?;

    let (out_tx, mut out_rx) = mpsc::channel::<ServerMsg>(OUT_QUEUE);
    let (ev_tx, ev_rx) = mpsc::channel::<GameEvent>(EVENT_QUEUE);

    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            if let Err(e) = link::write_frame(&mut wr, &msg).await {
                tracing::warn!(cause = %e, "link write failed");
                break;
            }
        }
        use tokio::io::AsyncWriteExt;
        let _ = wr.flush().await;
    });
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
    let _watcher = wasm::watcher::watch(&cfg.modules_dir, &plugins, ev_tx.clone())
        .map_err(|e| tracing::error!(dir = %cfg.modules_dir.display(), cause = %e, "cannot watch the modules folder; hot reload is off"))
        .ok();

    let game_loop = GameLoop::new(game, plugins, out_tx, ev_tx);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("game".into()).spawn(move || {
        let _ = done_tx.send(game_loop.run(ev_rx));
    })?;
    let exit = done_rx.await.unwrap_or(Exit::LinkLost);
    // The game loop has dropped its sender: the writer drains what is queued, then ends.
    let _ = writer.await;
    ticker_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    match exit {
        Exit::LinkLost => tracing::warn!("the portal went away; server exiting"),
        Exit::Reload => tracing::info!("server stopped for reload"),
        Exit::Shutdown => tracing::info!("server shut down"),
    }
    Ok(())
}
