//! Hot reload: watch the modules folder and compile changed modules off the game loop.
//!
//! Only complete files trigger a load: a close-after-write, a rename into place, or a delete. Raw
//! modify events (an in-place overwrite still being written) only push a pending load back. After
//! [`DEBOUNCE`] of quiet the file is compiled and checked on this thread and the result is sent
//! to the game loop, which installs it between two commands.
//!
//! The watcher follows the folder, not the inode it started on: the folder's parent is watched
//! too, and when the folder is replaced (renamed into place, or a symlink re-pointed) the watch
//! moves to the new folder and every module in it is compared with what is loaded. A poll every
//! `module_poll_ms` does the same comparison by file signature (size, mtime, inode), for
//! filesystems that deliver no change events (network and some container filesystems) and as a
//! backstop for any event that was missed.
//!
//! Compiles run on a pool of `module_compile_threads` threads, so a big module (a Python one
//! compiles for most of a minute) does not hold up a small one changed after it. One file is
//! never compiled twice at once: a change to a file whose compile is still running waits for it,
//! so its versions are installed in order. The start-up load hands over the big modules it did
//! not wait for ([`Compiling::deferred`]); they are compiled here while the game serves.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::registry::{module_name, Loader, PluginError, Prepared};
use super::{HostData, PluginRegistry};

/// What the watcher reports to its embedder (the game loop installs, rejects or unloads).
pub enum ModuleEvent<D: 'static> {
    /// A changed module compiled and checked, ready to install.
    Ready(Box<Prepared<D>>),
    /// A changed module that failed to load.
    Failed {
        /// The module file.
        path: PathBuf,
        /// Why it failed.
        error: PluginError,
    },
    /// A module file was deleted.
    Removed {
        /// The module's name.
        name: String,
    },
}

/// Where the watcher's events go; answers false once the receiver is gone (the watcher and its
/// compile threads then stop). Called on the watcher's threads, so it may block.
pub type ModuleSink<D> = Arc<dyn Fn(ModuleEvent<D>) -> bool + Send + Sync>;

/// Quiet time after the last event on a file before it is loaded. Only complete-file events
/// start a load, and the file's signature must still match when the time is up, so this only
/// has to cover a writer that closes and reopens the file: 150 ms was more than that needs and
/// most of a reload's latency.
pub const DEBOUNCE: Duration = Duration::from_millis(40);

/// Keeps the watch alive; dropping it stops hot reload (the thread ends at its next wake-up).
pub struct ModuleWatcher {
    stop: Arc<AtomicBool>,
}

impl Drop for ModuleWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the watcher thread waits for.
enum Msg {
    /// A filesystem event (or a watch error).
    Fs(notify::Result<notify::Event>),
}

/// What identifies a version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sig {
    len: u64,
    mtime: Option<SystemTime>,
    dev: u64,
    ino: u64,
}

fn sig(path: &Path) -> Option<Sig> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Sig { len: m.len(), mtime: m.modified().ok(), dev: m.dev(), ino: m.ino() })
}

/// (device, inode) of the folder the path leads to now (through symlinks).
fn dir_identity(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir).ok()?;
    m.is_dir().then(|| (m.dev(), m.ino()))
}

/// The `.wasm` files in a folder now.
fn module_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| module_name(p).is_some())
            .collect(),
        Err(_) => vec![],
    }
}

/// How modules are compiled off the game loop.
pub struct Compiling {
    /// Compile threads (`module_compile_threads`).
    pub threads: usize,
    /// Files the start-up load left to compile in the background (loaded as soon as ready).
    pub deferred: Vec<PathBuf>,
}

/// Start watching `dir`; changed modules are compiled on background threads and reported to the
/// game loop through `events`. `file_events` turns inotify on; `poll` (None = off) is the
/// interval of the scan that backs it up (or replaces it).
pub fn watch<D: HostData>(
    dir: &Path,
    plugins: &PluginRegistry<D>,
    events: ModuleSink<D>,
    file_events: bool,
    poll: Option<Duration>,
    compiling: Compiling,
) -> std::io::Result<ModuleWatcher> {
    let (tx, rx) = std_mpsc::channel();
    let watcher = notify::recommended_watcher(move |res| {
        let _ = tx.send(Msg::Fs(res));
    })
    .map_err(std::io::Error::other)?;
    let busy = Arc::new(Mutex::new(HashSet::new()));
    // Without file events the watcher object is kept (so the code paths stay one) but never
    // asked to watch anything.
    let mut state = State {
        dir: dir.to_owned(),
        parent: dir.parent().map(Path::to_owned).filter(|p| !p.as_os_str().is_empty()),
        identity: None,
        watcher,
        known: HashMap::new(),
        pending: HashMap::new(),
        file_events,
        events: events.clone(),
        jobs: start_compilers(plugins.loader(), events, compiling.threads, busy.clone())?,
        busy,
    };
    if let Some(parent) = state.parent.as_ref().filter(|_| file_events) {
        // Best effort: without it a replaced folder is still found by the poll.
        if let Err(e) = state.watcher.watch(parent, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %parent.display(), cause = %e, "cannot watch the modules folder's parent");
        }
    }
    state.rewatch();
    // What is on disk now was loaded at startup (only later changes count), but for the files
    // the start left to compile here: they are due at once.
    let deferred: HashSet<PathBuf> = compiling.deferred.into_iter().collect();
    for path in module_files(&state.dir) {
        if let Some(s) = sig(&path) {
            if deferred.contains(&path) {
                state.pending.insert(path, (Instant::now(), Some(s)));
            } else {
                state.known.insert(path, s);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    std::thread::Builder::new()
        .name("module-watcher".into())
        .spawn(move || state.run(rx, poll, thread_stop))?;
    Ok(ModuleWatcher { stop })
}

struct State<D: 'static> {
    dir: PathBuf,
    parent: Option<PathBuf>,
    /// The folder being watched (None: not there, or not watched yet).
    identity: Option<(u64, u64)>,
    watcher: RecommendedWatcher,
    /// Signature of every module file as last loaded (or seen at startup).
    known: HashMap<PathBuf, Sig>,
    /// Files to load or unload: when, and the file's signature when it was queued (a file whose
    /// signature still changes is being written: it waits for another quiet period).
    pending: HashMap<PathBuf, (Instant, Option<Sig>)>,
    /// Whether inotify watches are set up at all.
    file_events: bool,
    events: ModuleSink<D>,
    /// Files to compile, for the compile threads.
    jobs: std_mpsc::Sender<PathBuf>,
    /// Files being compiled now (a compile thread removes its file when it has reported it).
    busy: Arc<Mutex<HashSet<PathBuf>>>,
}

/// Start the compile threads: each takes a file, prepares it and reports the result to the game
/// loop. They end when the watcher (the sender) is gone.
fn start_compilers<D: HostData>(
    loader: &Loader<D>,
    events: ModuleSink<D>,
    threads: usize,
    busy: Arc<Mutex<HashSet<PathBuf>>>,
) -> std::io::Result<std_mpsc::Sender<PathBuf>> {
    let (tx, rx) = std_mpsc::channel::<PathBuf>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..threads.max(1) {
        let (loader, events, rx, busy) = (loader.clone(), events.clone(), rx.clone(), busy.clone());
        std::thread::Builder::new().name(format!("module-compile-{i}")).spawn(move || loop {
            let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
            let Ok(path) = next else { return };
            let started = Instant::now();
            let event = match loader.prepare(&path) {
                Ok(p) => {
                    tracing::debug!(file = %path.display(), took = ?started.elapsed(), "module compiled");
                    ModuleEvent::Ready(Box::new(p))
                }
                Err(error) => ModuleEvent::Failed { path: path.clone(), error },
            };
            let sent = events(event);
            // Only once its result is queued may the file's next version be compiled.
            busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&path);
            if !sent {
                return;
            }
        })?;
    }
    Ok(tx)
}

impl<D: HostData> State<D> {
    fn run(mut self, rx: std_mpsc::Receiver<Msg>, poll: Option<Duration>, stop: Arc<AtomicBool>) {
        let mut next_poll = poll.map(|p| Instant::now() + p);
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let wake = self.pending.values().map(|(t, _)| *t).chain(next_poll).min();
            let wait =
                wake.map(|t| t.saturating_duration_since(now)).unwrap_or(Duration::from_secs(3600));
            match rx.recv_timeout(wait) {
                Ok(Msg::Fs(Ok(event))) => self.note_event(event),
                Ok(Msg::Fs(Err(e))) => tracing::warn!(cause = %e, "module watcher error"),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
            if let (Some(p), Some(t)) = (poll, next_poll) {
                if Instant::now() >= t {
                    self.scan();
                    next_poll = Some(Instant::now() + p);
                }
            }
            if !self.flush() {
                return;
            }
        }
    }

    /// (Re-)watch the folder if it is not the one watched; on a change, compare its files.
    fn rewatch(&mut self) -> bool {
        let now = dir_identity(&self.dir);
        if now == self.identity {
            return false;
        }
        // The old watch follows the old inode (or a symlink's old target): drop it.
        let _ = self.watcher.unwatch(&self.dir);
        if now.is_some() && self.file_events {
            if let Err(e) = self.watcher.watch(&self.dir, RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %self.dir.display(), cause = %e, "cannot watch the modules folder; polling only");
            }
        }
        if self.identity.is_some() {
            tracing::info!(dir = %self.dir.display(), "the modules folder was replaced; following it");
        }
        self.identity = now;
        true
    }

    /// The poll: follow a replaced folder, then compare every file's signature with the known one.
    fn scan(&mut self) {
        self.rewatch();
        let due = Instant::now() + DEBOUNCE;
        let present = module_files(&self.dir);
        for path in &present {
            let now = sig(path);
            if now != self.known.get(path).copied() && !self.pending.contains_key(path) {
                self.pending.insert(path.clone(), (due, now));
            }
        }
        let present: std::collections::HashSet<&PathBuf> = present.iter().collect();
        let gone: Vec<PathBuf> = self
            .known
            .keys()
            .filter(|p| !present.contains(p) && !self.pending.contains_key(*p))
            .cloned()
            .collect();
        for path in gone {
            self.pending.insert(path, (due, None));
        }
    }

    /// Record one filesystem event: complete-file events schedule a load, raw writes postpone one;
    /// an event on the folder itself (seen through the parent's watch) rescans it.
    fn note_event(&mut self, event: notify::Event) {
        let triggers = matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Modify(ModifyKind::Name(_))
                | EventKind::Remove(_)
        );
        let postpones = matches!(event.kind, EventKind::Modify(_) | EventKind::Create(_));
        let mut folder_touched = false;
        for path in event.paths {
            if path == self.dir {
                folder_touched = true;
                continue;
            }
            if module_name(&path).is_none() || path.parent() != Some(self.dir.as_path()) {
                continue;
            }
            let due = Instant::now() + DEBOUNCE;
            if triggers {
                let s = sig(&path);
                self.pending.insert(path, (due, s));
            } else if postpones {
                if let Some(t) = self.pending.get_mut(&path) {
                    t.0 = due;
                }
            }
        }
        if folder_touched && self.rewatch() {
            self.scan();
        }
    }

    /// Load (or unload) every pending file that is due. False when the game loop is gone.
    fn flush(&mut self) -> bool {
        let now = Instant::now();
        let ready: Vec<PathBuf> =
            self.pending.iter().filter(|(_, (t, _))| *t <= now).map(|(p, _)| p.clone()).collect();
        for path in ready {
            let Some((_, queued)) = self.pending.remove(&path) else { continue };
            let Some(name) = module_name(&path) else { continue };
            if self.busy.lock().unwrap_or_else(|p| p.into_inner()).contains(&path) {
                // Its previous version is still compiling: this one goes after it.
                self.pending.insert(path, (now + DEBOUNCE, queued));
                continue;
            }
            let current = sig(&path);
            if current != queued {
                // Still changing: wait for it to be quiet.
                self.pending.insert(path, (now + DEBOUNCE, current));
                continue;
            }
            let event = match current {
                Some(s) => {
                    if self.known.get(&path) == Some(&s) {
                        // Already loaded in this version (an event and the poll both saw it).
                        continue;
                    }
                    self.known.insert(path.clone(), s);
                    self.busy.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone());
                    if self.jobs.send(path).is_err() {
                        return false;
                    }
                    continue;
                }
                None => {
                    // Unloading a name that is not loaded is a no-op on the game loop.
                    self.known.remove(&path);
                    ModuleEvent::Removed { name }
                }
            };
            if !(self.events)(event) {
                return false;
            }
        }
        true
    }
}
