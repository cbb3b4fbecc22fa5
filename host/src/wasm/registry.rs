//! The plugin registry: which modules are loaded, their cmdsets, and their load errors.
//!
//! Loading is two steps so the slow one can run off the game loop:
//! 1. [`prepare`] (any thread): read the file, compile it or load it from the on-disk cache,
//!    check it implements the cmdset world at a compatible WIT version, pre-instantiate.
//! 2. [`PluginRegistry::install`] (game loop): a smoke call of `info` builds the cmdset, `at-load`
//!    runs, and the module is swapped in between two commands.
//!
//! A module that fails any step is rejected with one log line naming the file, the step and the
//! reason, and the previous version (if any) keeps serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use super::bindings::{types as wit, CmdsetModulePre};
use super::{new_store, classify, GuestError, GuestLimits, HostCtx, WIT_PACKAGE, WIT_VERSION};
use crate::cmd::{CmdSet, CommandDef, MergeType};
use crate::link::Sessid;
use crate::server::game::Game;

/// A load step that failed, for the one-line rejection message.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be read.
    #[error("read failed: {0}")]
    Read(String),
    /// Not a valid component (truncated, not wasm, unsupported features).
    #[error("compile failed: {0}")]
    Compile(String),
    /// Built against another WIT version.
    #[error("interface check failed: built against WIT {WIT_PACKAGE}@{found}, but this host implements {WIT_PACKAGE}@{WIT_VERSION}")]
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

/// A compiled, interface-checked module ready to be installed on the game loop.
pub struct Prepared {
    /// Module name (file stem).
    pub name: String,
    /// Source file.
    pub path: PathBuf,
    /// First 12 hex digits of the file's SHA-256.
    pub hash: String,
    /// Whether the compiled code came from the on-disk cache.
    pub from_cache: bool,
    pre: CmdsetModulePre<HostCtx>,
}

/// A module serving commands.
pub struct LoadedModule {
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
    pre: CmdsetModulePre<HostCtx>,
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
pub struct PluginRegistry {
    engine: Engine,
    linker: Linker<HostCtx>,
    limits: GuestLimits,
    cache_dir: PathBuf,
    modules: BTreeMap<String, Arc<LoadedModule>>,
    errors: BTreeMap<String, String>,
    stats: LoadStats,
    generation: u64,
}

/// The module name of a `.wasm` path (its file stem), if it is one.
pub fn module_name(path: &Path) -> Option<String> {
    (path.extension()? == "wasm").then(|| path.file_stem()?.to_str().map(str::to_owned))?
}

/// Step 1 of loading: read, compile (or load from cache), check the interface, pre-instantiate.
pub fn prepare(
    engine: &Engine,
    linker: &Linker<HostCtx>,
    cache_dir: &Path,
    path: &Path,
) -> Result<Prepared, PluginError> {
    let name = module_name(path).ok_or_else(|| PluginError::Read("not a .wasm file".into()))?;
    let bytes = std::fs::read(path).map_err(|e| PluginError::Read(e.to_string()))?;
    let digest = hex(&Sha256::digest(&bytes));
    let cached = cache_dir.join(format!("{digest}-wasmtime48.cwasm"));
    // SAFETY: files in the cache folder are written only by `precompile_component` below, in the
    // game's own data folder; wasmtime still checks they match this engine's configuration.
    let from_cache = unsafe { Component::deserialize_file(engine, &cached) };
    let (component, from_cache) = match from_cache {
        Ok(c) => (c, true),
        Err(_) => {
            let code = engine
                .precompile_component(&bytes)
                .map_err(|e| PluginError::Compile(short(&e)))?;
            write_cache(&cached, &code);
            // SAFETY: `code` was produced by this engine a moment ago.
            let c = unsafe { Component::deserialize(engine, &code) }
                .map_err(|e| PluginError::Compile(short(&e)))?;
            (c, false)
        }
    };
    check_interface(engine, &component)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| PluginError::Interface(short(&e)))?;
    let pre = CmdsetModulePre::new(pre).map_err(|e| PluginError::Interface(short(&e)))?;
    Ok(Prepared { name, path: path.to_owned(), hash: digest[..12].to_string(), from_cache, pre })
}

/// Refuse components that name another version of our package, with both versions in the
/// message; refuse ones that do not export the cmdset interface at all.
fn check_interface(engine: &Engine, component: &Component) -> Result<(), PluginError> {
    let ty = component.component_type();
    let names = ty.imports(engine).map(|(n, _)| n).chain(ty.exports(engine).map(|(n, _)| n));
    for name in names {
        let Some(rest) = name.strip_prefix(WIT_PACKAGE).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let version = rest.split_once('@').map_or("", |(_, v)| v);
        if !compatible(version) {
            return Err(PluginError::Version { found: version.to_string() });
        }
    }
    if !ty.exports(engine).any(|(n, _)| n.starts_with(&format!("{WIT_PACKAGE}/cmdset"))) {
        let exported: Vec<&str> = ty.exports(engine).map(|(n, _)| n).collect();
        return Err(PluginError::Interface(format!(
            "does not export {WIT_PACKAGE}/cmdset@{WIT_VERSION} (exports: {})",
            if exported.is_empty() { "nothing".to_string() } else { exported.join(", ") }
        )));
    }
    Ok(())
}

/// Same major and, for 0.x versions, same minor: semver compatibility.
fn compatible(version: &str) -> bool {
    let parts = |v: &str| -> (String, String) {
        let mut it = v.split('.');
        (it.next().unwrap_or("").to_string(), it.next().unwrap_or("").to_string())
    };
    let (maj, min) = parts(version);
    let (hmaj, hmin) = parts(WIT_VERSION);
    maj == hmaj && (hmaj != "0" || min == hmin)
}

fn write_cache(path: &Path, code: &[u8]) {
    // Write beside and rename, so a crash never leaves a half-written cache entry.
    let tmp = path.with_extension("tmp");
    let res = std::fs::write(&tmp, code).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = res {
        tracing::warn!(path = %path.display(), cause = %e, "could not write the module cache");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first line of a wasmtime error chain, short enough for one log line.
fn short(err: &wasmtime::Error) -> String {
    let s = format!("{err:#}");
    s.lines().next().unwrap_or("").chars().take(400).collect()
}

impl PluginRegistry {
    /// An empty registry using the given engine and linker.
    pub fn new(engine: Engine, linker: Linker<HostCtx>, limits: GuestLimits, cache_dir: PathBuf) -> Self {
        if let Err(e) = std::fs::create_dir_all(&cache_dir) {
            tracing::warn!(dir = %cache_dir.display(), cause = %e, "cannot create the module cache folder");
        }
        PluginRegistry {
            engine,
            linker,
            limits,
            cache_dir,
            modules: BTreeMap::new(),
            errors: BTreeMap::new(),
            stats: LoadStats::default(),
            generation: 0,
        }
    }

    /// The engine (for the epoch ticker and background compiles).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker (for background compiles).
    pub fn linker(&self) -> &Linker<HostCtx> {
        &self.linker
    }

    /// The compile-cache folder.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// A loaded module by name.
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedModule>> {
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
    pub fn install(&mut self, prepared: Prepared, mut game: Game) -> (Game, bool) {
        let name: Arc<str> = prepared.name.as_str().into();
        let pre = prepared.pre.clone();
        let cp = game.checkpoint();
        let (mut game, info) = self.call_pre(&pre, &name, game, 0, |inst, store| {
            inst.mudhost_game_cmdset().call_info(store)
        });
        let cmdset = match info.map_err(|e| e.to_string()).and_then(|i| build_cmdset(i, &name)) {
            Ok(c) => c,
            Err(e) => {
                game.undo(cp);
                self.reject(&prepared.path, &PluginError::Metadata(e));
                return (game, false);
            }
        };
        let (mut game, hook) = self.call_pre(&pre, &name, game, 0, |inst, store| {
            inst.mudhost_game_cmdset().call_at_load(store)
        });
        if let Err(e) = hook {
            game.undo(cp);
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
            cmdset = %cmdset.key,
            commands = cmdset.commands.len(),
            "module loaded"
        );
        self.errors.remove(&*name);
        self.modules.insert(
            name.to_string(),
            Arc::new(LoadedModule {
                name,
                path: prepared.path,
                hash: prepared.hash,
                from_cache: prepared.from_cache,
                cmdset: Arc::new(cmdset),
                pre,
            }),
        );
        self.generation += 1;
        (game, true)
    }

    /// Unload a module (its file was deleted).
    pub fn unload(&mut self, name: &str) -> bool {
        let gone = self.modules.remove(name).is_some();
        self.errors.remove(name);
        if gone {
            self.generation += 1;
            tracing::info!(module = name, "module unloaded");
        }
        gone
    }

    /// Load every `.wasm` in a folder synchronously (startup), in name order.
    pub fn load_dir(&mut self, dir: &Path, mut game: Game) -> Game {
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| module_name(p).is_some()).collect(),
            Err(e) => {
                tracing::error!(dir = %dir.display(), cause = %e, "cannot read the modules folder");
                vec![]
            }
        };
        paths.sort();
        for path in paths {
            match prepare(&self.engine, &self.linker, &self.cache_dir, &path) {
                Ok(p) => game = self.install(p, game).0,
                Err(e) => self.reject(&path, &e),
            }
        }
        game
    }

    /// One line per loaded module and per load error, for admins.
    pub fn report(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .modules
            .values()
            .map(|m| {
                format!(
                    "{} {} ({}): cmdset {} prio {} with {} commands",
                    m.name,
                    m.hash,
                    if m.from_cache { "from cache" } else { "compiled" },
                    m.cmdset.key,
                    m.cmdset.priority,
                    m.cmdset.commands.len()
                )
            })
            .collect();
        lines.extend(self.errors.values().map(|e| format!("REJECTED {e}")));
        let s = self.stats;
        lines.push(format!(
            "compiled {}, loaded from cache {}, rejected {}",
            s.compiled, s.cache_hits, s.rejected
        ));
        lines
    }

    /// Run one command of a loaded module for session `caller`. The call is atomic: if it fails
    /// (trap, deadline, memory, quota), everything it changed is undone and its output dropped.
    pub fn execute(
        &self,
        module: &LoadedModule,
        mut game: Game,
        caller: Sessid,
        inv: &wit::Invocation,
    ) -> (Game, Result<(), GuestError>) {
        let cp = game.checkpoint();
        let (mut game, result) = self.call_pre(&module.pre, &module.name, game, caller, |inst, store| {
            inst.mudhost_game_cmdset().call_execute(store, inv)
        });
        match &result {
            Ok(()) => game.keep(cp),
            Err(_) => game.undo(cp),
        }
        (game, result)
    }

    /// Instantiate in a fresh store, call `f`, log guest stderr, and hand the game back.
    fn call_pre<R>(
        &self,
        pre: &CmdsetModulePre<HostCtx>,
        module: &Arc<str>,
        game: Game,
        caller: Sessid,
        f: impl FnOnce(&super::bindings::CmdsetModule, &mut wasmtime::Store<HostCtx>) -> wasmtime::Result<R>,
    ) -> (Game, Result<R, GuestError>) {
        let (mut store, stderr) = new_store(&self.engine, self.limits, game, caller, module.clone());
        let result = pre.instantiate(&mut store).and_then(|inst| f(&inst, &mut store));
        let err_text = stderr.contents();
        let err_text = String::from_utf8_lossy(&err_text);
        if !err_text.is_empty() {
            // One log line per call: the guest's own line breaks become " | ".
            let flat = err_text.trim_end().replace('\n', " | ");
            tracing::warn!(module = %module, sessid = caller, "guest stderr: {flat}");
        }
        let result = result.map_err(|e| classify(e, self.limits, &err_text));
        (store.into_data().game, result)
    }
}

/// Turn a module's metadata into a cmdset, validating every command.
fn build_cmdset(info: wit::CmdsetInfo, module: &Arc<str>) -> Result<CmdSet, String> {
    if info.key.trim().is_empty() {
        return Err("cmdset key is empty".into());
    }
    let mut commands = Vec::with_capacity(info.commands.len());
    for c in info.commands {
        if c.key.trim().is_empty() {
            return Err("a command has an empty key".into());
        }
        let def = CommandDef::new(
            &c.key,
            &c.aliases,
            &c.help,
            &c.help_category,
            c.arg_regex.as_deref(),
            &c.locks,
            module.clone(),
        )
        .map_err(|e| format!("command {:?}: {e}", c.key))?;
        commands.push(Arc::new(def));
    }
    Ok(CmdSet {
        key: info.key,
        priority: info.priority,
        merge_type: match info.merge_type {
            wit::MergeType::Union => MergeType::Union,
            wit::MergeType::Intersect => MergeType::Intersect,
            wit::MergeType::Replace => MergeType::Replace,
            wit::MergeType::Remove => MergeType::Remove,
        },
        duplicates: info.duplicates,
        no_exits: info.no_exits,
        no_objs: info.no_objs,
        commands,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compatible_by_semver_rules() {
        assert!(compatible("0.1.0"));
        assert!(compatible("0.1.7"));
        assert!(!compatible("0.2.0"));
        assert!(!compatible("1.1.0"));
        assert!(!compatible(""));
    }

    #[test]
    fn module_names_are_wasm_file_stems() {
        assert_eq!(module_name(Path::new("/m/character.wasm")).as_deref(), Some("character"));
        assert_eq!(module_name(Path::new("/m/notes.txt")), None);
        assert_eq!(module_name(Path::new("/m/.character.wasm.tmp")), None);
    }
}
