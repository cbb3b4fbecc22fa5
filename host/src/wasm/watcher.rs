//! Hot reload: watch the modules folder and compile changed modules off the game loop.
//!
//! Only complete files trigger a load: a close-after-write, a rename into place, or a delete. Raw
//! modify events (an in-place overwrite still being written) only push a pending load back. After
//! [`DEBOUNCE`] of quiet the file is compiled and checked on this thread and the result is sent
//! to the game loop, which installs it between two commands.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::registry::{module_name, prepare};
use super::PluginRegistry;
use crate::server::game_loop::GameEvent;

/// Quiet time after the last event on a file before it is loaded.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Keeps the watch alive; dropping it stops hot reload.
pub struct ModuleWatcher {
    _watcher: RecommendedWatcher,
}

/// Start watching `dir`; changed modules are compiled on a background thread and reported to the
/// game loop through `events`.
pub fn watch(
    dir: &Path,
    plugins: &PluginRegistry,
    events: mpsc::Sender<GameEvent>,
) -> notify::Result<ModuleWatcher> {
    let (tx, rx) = std_mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |res| {
        let _ = tx.send(res);
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    let (engine, linker) = (plugins.engine().clone(), plugins.linker().clone());
    let cache = plugins.cache_dir().to_owned();
    std::thread::Builder::new()
        .name("module-watcher".into())
        .spawn(move || {
            let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
            loop {
                let wait = pending
                    .values()
                    .min()
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_secs(3600));
                match rx.recv_timeout(wait) {
                    Ok(Ok(event)) => note_event(&mut pending, event),
                    Ok(Err(e)) => tracing::warn!(cause = %e, "module watcher error"),
                    Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                }
                let now = Instant::now();
                let ready: Vec<PathBuf> =
                    pending.iter().filter(|(_, t)| **t <= now).map(|(p, _)| p.clone()).collect();
                for path in ready {
                    pending.remove(&path);
                    let event = if path.exists() {
                        let started = Instant::now();
                        match prepare(&engine, &linker, &cache, &path) {
                            Ok(p) => {
                                tracing::debug!(file = %path.display(), took = ?started.elapsed(), "module compiled");
                                GameEvent::ModuleReady(Box::new(p))
                            }
                            Err(error) => GameEvent::ModuleFailed { path, error },
                        }
                    } else {
                        let Some(name) = module_name(&path) else { continue };
                        GameEvent::ModuleRemoved { name }
                    };
                    if events.blocking_send(event).is_err() {
                        return;
                    }
                }
            }
        })
        .map_err(notify::Error::io)?;
    Ok(ModuleWatcher { _watcher: watcher })
}

/// Record one filesystem event: complete-file events schedule a load, raw writes postpone one.
fn note_event(pending: &mut HashMap<PathBuf, Instant>, event: notify::Event) {
    let triggers = matches!(
        event.kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Remove(_)
    );
    let postpones = matches!(event.kind, EventKind::Modify(_) | EventKind::Create(_));
    for path in event.paths {
        if module_name(&path).is_none() {
            continue;
        }
        let due = Instant::now() + DEBOUNCE;
        if triggers {
            pending.insert(path, due);
        } else if postpones {
            if let Some(t) = pending.get_mut(&path) {
                *t = due;
            }
        }
    }
}
