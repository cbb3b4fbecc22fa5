//! The plugin registry: which modules are loaded, their cmdsets, and their load errors; generic
//! over the data its guest calls carry (see [`HostData`]).
//!
//! Loading is two steps so the slow one can run off the game loop:
//! 1. [`Loader::prepare`] (any thread, `registry/loader.rs`): read the file, compile it or load
//!    it from the on-disk cache, check which plugin kind it is (cmdset, input hook, session
//!    class, object class) and at which WIT version (the current one, 0.2.x for every kind, or
//!    0.1.0 for cmdset modules), pre-instantiate.
//! 2. [`PluginRegistry::install`] (game loop): a smoke call of `info` builds the cmdset
//!    (`registry/cmdset.rs`), `at-load` runs, and the module is swapped in between two commands.
//!
//! A module that fails any step is rejected with one log line naming the file, the step and the
//! reason, and the previous version (if any) keeps serving.
//!
//! Module files are checked before they are read: only regular files (a symlink to one is fine)
//! no larger than `guest_module_bytes`, opened without blocking (a FIFO named `x.wasm` must not
//! hang the loader). The compile cache ([`super::cache`]) is verified before it is trusted.
//!
//! The other jobs have files of their own: a module's exports per WIT version
//! (`registry/exports.rs`), guest calls on kept instances (`registry/calls.rs`), object-class
//! hooks (`registry/objclass.rs`) and the admins' module report (`registry/report.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime::Engine;

use super::cache::ModuleCache;
use super::{GuestLimits, GuestQuotas, HostCtx, HostData, LiveInstance};
use super::{WIT_PACKAGE, WIT_VERSION, WIT_VERSION_COMPAT, WIT_VERSION_V0_2, WIT_VERSION_V0_3};
use crate::cmd::CmdSet;
use crate::link::Sessid;

mod calls;
mod cmdset;
use cmdset::build_cmdset;
mod exports;
mod loader;
// Object classes
pub mod objclass;
mod report;

pub use exports::SessionClassGuest;
pub use loader::{read_module_file, Loader, Prepared};
pub use objclass::{ClassRunner, ObjectClassGuest};
pub use report::{slots_of, utc_time};

/// A load step that failed, for the one-line rejection message.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be read.
    #[error("read failed: {0}")]
    Read(String),
    /// Not a regular file, or larger than `guest_module_bytes`.
    #[error("file refused: {0}")]
    File(String),
    /// Not a valid component (truncated, not wasm, unsupported features).
    #[error("compile failed: {0}")]
    Compile(String),
    /// Built against another WIT version.
    #[error("interface check failed: built against WIT {WIT_PACKAGE}@{found}, but this host implements {WIT_PACKAGE}@{WIT_VERSION} (and {WIT_PACKAGE}@{WIT_VERSION_V0_3}, {WIT_PACKAGE}@{WIT_VERSION_V0_2}, and {WIT_PACKAGE}@{WIT_VERSION_COMPAT} for cmdset modules)")]
    Version {
        /// The version the module names.
        found: String,
    },
    /// Does not implement the cmdset world (wrong world, unknown imports).
    #[error("interface check failed: {0}")]
    Interface(String),
    /// `info` trapped or returned unusable metadata.
    #[error("metadata check failed: {0}")]
    Metadata(String),
    /// `at-load` trapped.
    #[error("load hook failed: {0}")]
    LoadHook(String),
}

/// Why a module cannot serve in the role the config gives it (named in `input_hooks` but not an
/// input hook, or `session_class` but not a session class), for a warning to the admin: such a
/// module still serves its cmdset, but its role is skipped.
pub fn role_mismatch(cfg: &crate::config::Config, name: &str, kind: ModuleKind) -> Option<String> {
    let what = |k: ModuleKind| match k {
        ModuleKind::Cmdset => "a cmdset module",
        ModuleKind::InputHook => "an input hook",
        ModuleKind::SessionClass => "a session class",
        ModuleKind::ObjectClass => "an object class",
    };
    if cfg.input_hooks.iter().any(|h| h == name) && kind != ModuleKind::InputHook {
        return Some(format!(
            "input_hooks names '{name}', which is {}, not an input hook: it is skipped as a hook \
             (an input hook is built with the SDK feature `input-hook` and `input_hook!`)",
            what(kind)
        ));
    }
    if cfg.session_class == name && kind != ModuleKind::SessionClass {
        return Some(format!(
            "session_class is '{name}', which is {}, not a session class: no session class runs \
             (a session class is built with the SDK feature `session-class` and `session_class!`)",
            what(kind)
        ));
    }
    None
}

/// What kind of plugin a module is (which world it implements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// A cmdset only (`cmdset-module`, current, 0.2.x or 0.1.0).
    Cmdset,
    /// An input hook with its cmdset (`input-hook-module`).
    InputHook,
    /// A session class with its cmdset (`session-class-module`).
    SessionClass,
    /// An object class (Evennia's typeclass) with its cmdset (`object-class-module`, 0.3.0 on).
    ObjectClass,
}

/// A module serving commands.
pub struct LoadedModule<D: 'static> {
    /// Module name (file stem), as cmdset slots refer to it.
    pub name: Arc<str>,
    /// Source file.
    pub path: PathBuf,
    /// First 12 hex digits of the file's SHA-256.
    pub hash: String,
    /// Whether the compiled code came from the on-disk cache.
    pub from_cache: bool,
    /// The cmdset it provides.
    pub cmdset: Arc<CmdSet>,
    /// The compile-cache entry holding its code.
    pub cache_file: PathBuf,
    /// Which plugin kind it is.
    pub kind: ModuleKind,
    /// The WIT version it was built against (as the component names it: 0.2.0 for a module
    /// built before 0.2.1, which this host serves through its 0.2.1 bindings).
    pub version: String,
    /// When this version was installed (unix milliseconds), for the module report.
    pub loaded_at_ms: u64,
    exports: exports::Exports<D>,
    /// The instance kept from the last successful call (taken out while a call runs).
    idle: std::sync::Mutex<Option<LiveInstance<D>>>,
}

/// Counters an admin (and a test) can read.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    /// Modules compiled from source.
    pub compiled: u64,
    /// Modules loaded from the compile cache.
    pub cache_hits: u64,
    /// Modules rejected.
    pub rejected: u64,
}

/// Loaded modules by name, with their last load errors.
pub struct PluginRegistry<D: 'static> {
    loader: Loader<D>,
    limits: GuestLimits,
    quotas: GuestQuotas,
    modules: BTreeMap<String, Arc<LoadedModule<D>>>,
    errors: BTreeMap<String, String>,
    stats: LoadStats,
    generation: u64,
    /// Memory caps of single modules (`guest_module_memory_mib`), bytes.
    module_memory: BTreeMap<String, usize>,
    /// Deadlines of single modules (`guest_module_deadline_ms`).
    module_deadline: BTreeMap<String, std::time::Duration>,
    /// Set once the startup load is over: from then on every install or unload prunes the cache
    /// (during the startup load, pruning would delete the entries of modules not yet loaded).
    started: bool,
    /// The cache entry of each module's version before the loaded one: kept, so going back to
    /// it (a rollback, a deploy that alternates two builds) loads from the cache instead of
    /// compiling again.
    previous: BTreeMap<String, PathBuf>,
}

/// The module name of a `.wasm` path (its file stem), if it is one.
pub fn module_name(path: &Path) -> Option<String> {
    (path.extension()? == "wasm").then(|| path.file_stem()?.to_str().map(str::to_owned))?
}

impl<D: HostData> PluginRegistry<D> {
    /// An empty registry using the given engine and linker.
    pub fn new(
        engine: Engine,
        linker: Linker<HostCtx<D>>,
        limits: GuestLimits,
        quotas: GuestQuotas,
        cache_dir: PathBuf,
    ) -> Self {
        let cache = ModuleCache::new(cache_dir, &engine);
        PluginRegistry {
            loader: Loader { engine, linker, cache, max_module_bytes: quotas.module_bytes },
            limits,
            quotas,
            modules: BTreeMap::new(),
            errors: BTreeMap::new(),
            stats: LoadStats::default(),
            generation: 0,
            module_memory: BTreeMap::new(),
            module_deadline: BTreeMap::new(),
            started: false,
            previous: BTreeMap::new(),
        }
    }

    /// Give single modules their own memory caps (`guest_module_memory_mib`, bytes); the engine's
    /// pool slots must be at least the largest (see [`crate::wasm::pool_memory_bytes`]).
    pub fn set_module_memory(&mut self, caps: BTreeMap<String, usize>) {
        self.module_memory = caps;
    }

    /// Give single modules their own call deadlines (`guest_module_deadline_ms`).
    pub fn set_module_deadlines(&mut self, deadlines: BTreeMap<String, std::time::Duration>) {
        self.module_deadline = deadlines;
    }

    /// The limits of one module's calls: the common ones, with its own memory cap and deadline
    /// if it has them.
    fn limits_for(&self, module: &str) -> GuestLimits {
        let mut limits = self.limits;
        if let Some(bytes) = self.module_memory.get(module) {
            limits.memory_bytes = *bytes;
        }
        if let Some(deadline) = self.module_deadline.get(module) {
            limits.deadline = *deadline;
        }
        limits
    }

    /// The compile cache is shared with other games (`module_cache_dir`): never prune it.
    pub fn share_cache(&mut self) {
        self.loader.cache.set_shared();
    }

    /// The engine (for the epoch ticker).
    pub fn engine(&self) -> &Engine {
        &self.loader.engine
    }

    /// What background compiles need (the watcher clones it).
    pub fn loader(&self) -> &Loader<D> {
        &self.loader
    }

    /// The compile-cache folder.
    pub fn cache_dir(&self) -> &Path {
        self.loader.cache.dir()
    }

    /// Delete compile-cache entries no loaded module uses (each module's previous version is
    /// kept too).
    pub fn prune_cache(&self) {
        let keep: BTreeSet<PathBuf> = self
            .modules
            .values()
            .map(|m| m.cache_file.clone())
            .chain(self.previous.values().cloned())
            .collect();
        self.loader.cache.prune(&keep);
    }

    /// A loaded module by name.
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedModule<D>>> {
        self.modules.get(name)
    }

    /// Names of the loaded modules.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// Load counters.
    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// Bumped on every install/unload, so callers can drop cached merges.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Record a failed load: one log line naming the file, the step and the reason.
    pub fn reject(&mut self, path: &Path, err: &PluginError) {
        let name = module_name(path).unwrap_or_else(|| path.display().to_string());
        tracing::error!(
            file = %path.display(),
            module = %name,
            "module rejected: {err}{}",
            if self.modules.contains_key(&name) { " (the previous version keeps serving)" } else { "" }
        );
        self.stats.rejected += 1;
        self.errors.insert(name, format!("{}: {err}", path.display()));
    }

    /// Step 2 of loading, on the game loop: read the metadata, run `at-load`, swap the module in.
    /// Returns the game (which `at-load` may have changed) and whether the module is now live.
    ///
    /// Both calls are one atomic step: a module that is rejected leaves nothing behind (objects
    /// its `at-load` created, output it sent).
    pub fn install(&mut self, prepared: Prepared<D>, mut game: D) -> (D, bool) {
        let name: Arc<str> = prepared.name.as_str().into();
        let ex = prepared.exports.clone();
        let cp = game.checkpoint();
        let (mut game, info) =
            self.call_pre(&ex.pre, &name, game, Sessid::new(0), |inst, store| {
                Ok((ex.info(inst, store)?, ex.key_mergetypes(inst, store)?))
            });
        let quotas = self.quotas;
        let cmdset = match info
            .map_err(|e| e.to_string())
            .and_then(|(i, k)| build_cmdset(i, k, &name, &quotas))
        {
            Ok(c) => c,
            Err(e) => {
                game.undo(cp);
                self.reject(&prepared.path, &PluginError::Metadata(e));
                return (game, false);
            }
        };
        let loaded = Arc::new(LoadedModule {
            name: name.clone(),
            path: prepared.path.clone(),
            hash: prepared.hash.clone(),
            from_cache: prepared.from_cache,
            cmdset: Arc::new(cmdset),
            cache_file: prepared.cache_file.clone(),
            kind: ex.kind(),
            version: ex.version().to_string(),
            loaded_at_ms: crate::shared::clock::now_ms(),
            exports: ex.clone(),
            idle: std::sync::Mutex::new(None),
        });
        // An object class's `at-load` may bind objects to itself: its hooks are reachable then.
        if ex.objclass.is_some() {
            game.set_class_runner(self.class_runner(Some(&loaded)));
        }
        let (mut game, hook) =
            self.call_pre(&ex.pre, &name, game, Sessid::new(0), |inst, store| {
                ex.at_load(inst, store)
            });
        if let Err(e) = hook {
            game.undo(cp);
            game.set_class_runner(self.class_runner(None));
            self.reject(&prepared.path, &PluginError::LoadHook(e.to_string()));
            return (game, false);
        }
        game.keep(cp);
        if prepared.from_cache {
            self.stats.cache_hits += 1;
        } else {
            self.stats.compiled += 1;
        }
        tracing::info!(
            module = %name,
            hash = %prepared.hash,
            source = if prepared.from_cache { "cache" } else { "compiled" },
            kind = ?ex.kind(),
            wit = ex.version(),
            cmdset = %loaded.cmdset.key,
            commands = loaded.cmdset.commands.len(),
            "module loaded"
        );
        if let Some(problem) = role_mismatch(game.config(), &name, ex.kind()) {
            tracing::warn!(module = %name, "{problem}");
        }
        self.errors.remove(&*name);
        if let Some(file) = self
            .modules
            .get(&*name)
            .map(|m| m.cache_file.clone())
            .filter(|f| *f != prepared.cache_file)
        {
            self.previous.insert(name.to_string(), file);
        }
        self.modules.insert(name.to_string(), loaded);
        game.set_class_runner(self.class_runner(None));
        self.generation += 1;
        if self.started {
            self.prune_cache();
        }
        (game, true)
    }

    /// Unload a module (its file was deleted).
    pub fn unload(&mut self, name: &str) -> bool {
        let gone = self.modules.remove(name).is_some();
        self.previous.remove(name);
        self.errors.remove(name);
        if gone {
            self.generation += 1;
            tracing::info!(module = name, "module unloaded");
            if self.started {
                self.prune_cache();
            }
        }
        gone
    }

    /// Load every `.wasm` in a folder synchronously (startup), in name order.
    pub fn load_dir(&mut self, dir: &Path, game: D) -> D {
        self.load_dir_deferring(dir, game, 1, u64::MAX).0
    }

    /// The start-up load: every `.wasm` in the folder is compiled (or taken from the cache) on
    /// up to `threads` threads at once and installed in name order — except a file larger than
    /// `background_bytes` that is not in the compile cache (a Python module takes most of a
    /// minute to compile): it is returned instead, for the watcher to compile while the game
    /// serves and install like a hot load.
    pub fn load_dir_deferring(
        &mut self,
        dir: &Path,
        mut game: D,
        threads: usize,
        background_bytes: u64,
    ) -> (D, Vec<PathBuf>) {
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| module_name(p).is_some())
                .collect(),
            Err(e) => {
                tracing::error!(dir = %dir.display(), cause = %e, "cannot read the modules folder");
                vec![]
            }
        };
        paths.sort();
        let (now, later): (Vec<PathBuf>, Vec<PathBuf>) = paths.into_iter().partition(|p| {
            let big = std::fs::metadata(p).map(|m| m.len() > background_bytes).unwrap_or(false);
            !big || self.loader.is_cached(p)
        });
        for path in &later {
            tracing::info!(file = %path.display(), "module compiles in the background; the game serves meanwhile");
        }
        let prepared = self.loader.prepare_all(&now, threads);
        for (path, p) in now.iter().zip(prepared) {
            match p {
                Ok(p) => game = self.install(p, game).0,
                Err(e) => self.reject(path, &e),
            }
        }
        self.prune_cache();
        self.started = true;
        let cfg = game.config();
        let hooks = cfg.input_hooks.iter().map(|h| (h, "input_hooks"));
        let class =
            (!cfg.session_class.is_empty()).then_some((&cfg.session_class, "session_class"));
        for (name, key) in
            hooks.chain(class).filter(|(n, _)| !self.modules.contains_key(n.as_str()))
        {
            tracing::warn!(
                module = %name,
                "{key} names '{name}', but no module '{name}' is loaded: it is skipped until {name}.wasm loads"
            );
        }
        (game, later)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_wasm_file_stems() {
        assert_eq!(module_name(Path::new("/m/character.wasm")).as_deref(), Some("character"));
        assert_eq!(module_name(Path::new("/m/notes.txt")), None);
        assert_eq!(module_name(Path::new("/m/.character.wasm.tmp")), None);
    }
}
