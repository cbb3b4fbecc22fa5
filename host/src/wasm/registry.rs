//! The plugin registry: which modules are loaded, their cmdsets, and their load errors.
//!
//! Loading is two steps so the slow one can run off the game loop:
//! 1. [`prepare`] (any thread): read the file, compile it or load it from the on-disk cache,
//!    check which plugin kind it is (cmdset, input hook, session class) and at which WIT version
//!    (the current one, 0.2.x for every kind, or 0.1.0 for cmdset modules), pre-instantiate.
//! 2. [`PluginRegistry::install`] (game loop): a smoke call of `info` builds the cmdset, `at-load`
//!    runs, and the module is swapped in between two commands.
//!
//! A module that fails any step is rejected with one log line naming the file, the step and the
//! reason, and the previous version (if any) keeps serving.
//!
//! Module files are checked before they are read: only regular files (a symlink to one is fine)
//! no larger than `guest_module_bytes`, opened without blocking (a FIFO named `x.wasm` must not
//! hang the loader). The compile cache ([`super::cache`]) is verified before it is trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use wasmtime::component::{Instance, InstancePre};
use wasmtime::Store;

use super::bindings::{self, types as wit};
use super::cache::{hex, ModuleCache};
use super::{
    classify, escape_line, GuestError, GuestLimits, GuestQuotas, HostCtx, LiveInstance,
    WIT_PACKAGE, WIT_VERSION, WIT_VERSION_COMPAT, WIT_VERSION_V0_2, WIT_VERSION_V0_3,
};
use crate::cmd::{CmdSet, CommandDef, MergeType};
use crate::link::Sessid;
use crate::server::game::Game;

// Object classes
pub mod objclass;
pub use objclass::{ClassRunner, ObjectClassGuest};

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
    /// The compile-cache entry holding its code (kept when the cache is pruned).
    pub cache_file: PathBuf,
    exports: Exports,
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

/// The `cmdset` export of a module, at the WIT version the module was built against.
#[derive(Clone)]
enum CmdsetExport {
    Current(bindings::cmdset::GuestIndices),
    V0_2(bindings::v0_2::cmdset::GuestIndices),
    V0_1(bindings::v0_1::exports::mudhost::game::cmdset::GuestIndices),
}

/// The `input-hook` export of a module, at the WIT version the module was built against.
#[derive(Clone)]
enum HookExport {
    Current(bindings::input_hook::GuestIndices),
    V0_2(bindings::v0_2::input_hook::GuestIndices),
}

/// The `session-class` export of a module, at the WIT version the module was built against.
#[derive(Clone)]
enum ClassExport {
    Current(bindings::session_class::GuestIndices),
    V0_2(bindings::v0_2::session_class::GuestIndices),
}

/// A session class's hooks, loaded from its instance for one call, whatever WIT version it was
/// built against (the argument and result types are shared between the versions).
pub enum SessionClassGuest {
    /// Built against the current WIT.
    Current(bindings::session_class::Guest),
    /// Built against 0.2.x.
    V0_2(bindings::v0_2::session_class::Guest),
}

impl SessionClassGuest {
    /// `at-sync`.
    pub fn call_at_sync(
        &self,
        store: &mut Store<HostCtx>,
        session: &wit::SessionInfo,
    ) -> wasmtime::Result<()> {
        match self {
            Self::Current(g) => g.call_at_sync(store, session),
            Self::V0_2(g) => g.call_at_sync(store, session),
        }
    }

    /// `at-login`.
    pub fn call_at_login(
        &self,
        store: &mut Store<HostCtx>,
        session: &wit::SessionInfo,
    ) -> wasmtime::Result<()> {
        match self {
            Self::Current(g) => g.call_at_login(store, session),
            Self::V0_2(g) => g.call_at_login(store, session),
        }
    }

    /// `at-disconnect`.
    pub fn call_at_disconnect(
        &self,
        store: &mut Store<HostCtx>,
        session: &wit::SessionInfo,
        reason: &str,
    ) -> wasmtime::Result<()> {
        match self {
            Self::Current(g) => g.call_at_disconnect(store, session, reason),
            Self::V0_2(g) => g.call_at_disconnect(store, session, reason),
        }
    }

    /// `data-in`.
    pub fn call_data_in(
        &self,
        store: &mut Store<HostCtx>,
        msg: &wit::Message,
        session: &wit::SessionInfo,
    ) -> wasmtime::Result<wit::HookResult> {
        match self {
            Self::Current(g) => g.call_data_in(store, msg, session),
            Self::V0_2(g) => g.call_data_in(store, msg, session),
        }
    }

    /// `data-out`.
    pub fn call_data_out(
        &self,
        store: &mut Store<HostCtx>,
        session: &wit::SessionInfo,
        messages: &[wit::Message],
    ) -> wasmtime::Result<Vec<wit::Message>> {
        match self {
            Self::Current(g) => g.call_data_out(store, session, messages),
            Self::V0_2(g) => g.call_data_out(store, session, messages),
        }
    }
}

/// A module's pre-instance and the exports the host calls, looked up once at load.
#[derive(Clone)]
struct Exports {
    pre: InstancePre<HostCtx>,
    cmdset: CmdsetExport,
    hook: Option<HookExport>,
    class: Option<ClassExport>,
    /// The `object-class` export (only modules built against 0.3.0 or later have one).
    objclass: Option<bindings::object_class::GuestIndices>,
    /// The WIT version the component names.
    built_against: String,
}

impl Exports {
    fn kind(&self) -> ModuleKind {
        if self.objclass.is_some() {
            ModuleKind::ObjectClass
        } else if self.class.is_some() {
            ModuleKind::SessionClass
        } else if self.hook.is_some() {
            ModuleKind::InputHook
        } else {
            ModuleKind::Cmdset
        }
    }

    fn version(&self) -> &str {
        &self.built_against
    }

    fn info(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx>,
    ) -> wasmtime::Result<wit::CmdsetInfo> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_info(store),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_info(store),
            CmdsetExport::V0_1(ix) => ix.load(&mut *store, inst)?.call_info(store),
        }
    }

    fn at_load(&self, inst: &Instance, store: &mut Store<HostCtx>) -> wasmtime::Result<()> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_at_load(store),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_at_load(store),
            CmdsetExport::V0_1(ix) => ix.load(&mut *store, inst)?.call_at_load(store),
        }
    }

    fn key_mergetypes(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx>,
    ) -> wasmtime::Result<Vec<(String, wit::MergeType)>> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_key_mergetypes(store),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_key_mergetypes(store),
            CmdsetExport::V0_1(_) => Ok(vec![]),
        }
    }

    fn execute(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx>,
        inv: &wit::Invocation,
    ) -> wasmtime::Result<()> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_execute(store, inv),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_execute(store, inv),
            CmdsetExport::V0_1(ix) => ix.load(&mut *store, inst)?.call_execute(store, inv),
        }
    }
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
    /// The compile-cache entry holding its code.
    pub cache_file: PathBuf,
    /// Which plugin kind it is.
    pub kind: ModuleKind,
    /// The WIT version it was built against (as the component names it: 0.2.0 for a module
    /// built before 0.2.1, which this host serves through its 0.2.1 bindings).
    pub version: String,
    /// When this version was installed (unix milliseconds), for the module report.
    pub loaded_at_ms: u64,
    exports: Exports,
    /// The instance kept from the last successful call (taken out while a call runs).
    idle: std::sync::Mutex<Option<LiveInstance>>,
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

/// What step 1 of loading needs; cheap to clone, so the watcher thread has its own.
#[derive(Clone)]
pub struct Loader {
    /// The engine modules are compiled for.
    pub engine: Engine,
    /// The linker they are checked and pre-instantiated against.
    pub linker: Linker<HostCtx>,
    /// The verified compile cache.
    pub cache: ModuleCache,
    /// Largest module file accepted.
    pub max_module_bytes: u64,
}

impl Loader {
    /// Whether the compile cache holds a verified-looking entry for this file's current bytes
    /// (the entry is checked in full when it is loaded).
    pub fn is_cached(&self, path: &Path) -> bool {
        match read_module_file(path, self.max_module_bytes) {
            Ok(bytes) => self.cache.entry_path(&hex(&Sha256::digest(&bytes))).is_file(),
            Err(_) => false,
        }
    }

    /// [`Loader::prepare`] for every path, on up to `threads` threads at once (wasmtime compiles
    /// one module on one thread here, so this is what uses more cores); results in path order.
    pub fn prepare_all(
        &self,
        paths: &[PathBuf],
        threads: usize,
    ) -> Vec<Result<Prepared, PluginError>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<Result<Prepared, PluginError>>>> =
            paths.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.clamp(1, paths.len().max(1)) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let result = self.prepare(path);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                });
            }
        });
        slots
            .into_iter()
            .map(|s| {
                s.into_inner().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(|| {
                    Err(PluginError::Compile("the compile thread panicked".into()))
                })
            })
            .collect()
    }

    /// Step 1 of loading: check and read the file, compile it (or load it from the verified
    /// cache), check the interface, pre-instantiate.
    pub fn prepare(&self, path: &Path) -> Result<Prepared, PluginError> {
        let name = module_name(path).ok_or_else(|| PluginError::Read("not a .wasm file".into()))?;
        let bytes = read_module_file(path, self.max_module_bytes)?;
        let digest = hex(&Sha256::digest(&bytes));
        let (component, from_cache, cache_file) = self
            .cache
            .load_or_compile(&self.engine, &name, path, &digest, &bytes)
            .map_err(|e| PluginError::Compile(short(&e)))?;
        let (version, built_against) = check_interface(&self.engine, &component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Interface(short(&e)))?;
        let iface = |e: wasmtime::Error| PluginError::Interface(short(&e));
        let has = |name: &str| {
            let full = format!("{WIT_PACKAGE}/{name}@{version}");
            component.get_export_index(None, &full).is_some()
        };
        let exports = if version == WIT_VERSION_COMPAT {
            Exports {
                cmdset: CmdsetExport::V0_1(
                    bindings::v0_1::exports::mudhost::game::cmdset::GuestIndices::new(&pre)
                        .map_err(iface)?,
                ),
                hook: None,
                class: None,
                objclass: None,
                pre,
                built_against,
            }
        } else if version == WIT_VERSION_V0_2 {
            // A 0.2.x module: its exports by their 0.2 names, through the 0.2.1 bindings.
            Exports {
                cmdset: CmdsetExport::V0_2(
                    bindings::v0_2::cmdset::GuestIndices::new(&pre).map_err(iface)?,
                ),
                hook: if has("input-hook") {
                    Some(HookExport::V0_2(
                        bindings::v0_2::input_hook::GuestIndices::new(&pre).map_err(iface)?,
                    ))
                } else {
                    None
                },
                class: if has("session-class") {
                    Some(ClassExport::V0_2(
                        bindings::v0_2::session_class::GuestIndices::new(&pre).map_err(iface)?,
                    ))
                } else {
                    None
                },
                objclass: None,
                pre,
                built_against,
            }
        } else {
            Exports {
                cmdset: CmdsetExport::Current(
                    bindings::cmdset::GuestIndices::new(&pre).map_err(iface)?,
                ),
                hook: if has("input-hook") {
                    Some(HookExport::Current(
                        bindings::input_hook::GuestIndices::new(&pre).map_err(iface)?,
                    ))
                } else {
                    None
                },
                class: if has("session-class") {
                    Some(ClassExport::Current(
                        bindings::session_class::GuestIndices::new(&pre).map_err(iface)?,
                    ))
                } else {
                    None
                },
                objclass: if has("object-class") {
                    Some(bindings::object_class::GuestIndices::new(&pre).map_err(iface)?)
                } else {
                    None
                },
                pre,
                built_against,
            }
        };
        Ok(Prepared {
            name,
            path: path.to_owned(),
            hash: digest[..12].to_string(),
            from_cache,
            cache_file,
            exports,
        })
    }
}

/// Read a module file if it is a regular file (or a symlink to one) within `max` bytes. The file
/// is opened non-blocking and checked again once open, so a FIFO or device swapped in between the
/// two checks cannot block the loader either.
pub fn read_module_file(path: &Path, max: u64) -> Result<Vec<u8>, PluginError> {
    use std::os::unix::fs::OpenOptionsExt;
    // `metadata` follows symlinks: a link to a regular file is accepted, a link to /dev/zero not.
    let meta = std::fs::metadata(path).map_err(|e| PluginError::Read(e.to_string()))?;
    check_file_meta(&meta, max)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| PluginError::Read(e.to_string()))?;
    check_file_meta(&file.metadata().map_err(|e| PluginError::Read(e.to_string()))?, max)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Read one byte past the limit, so a file that grew after the check is still refused.
    (&mut file)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| PluginError::Read(e.to_string()))?;
    if bytes.len() as u64 > max {
        return Err(PluginError::File(format!("larger than guest_module_bytes ({max} bytes)")));
    }
    Ok(bytes)
}

fn check_file_meta(meta: &std::fs::Metadata, max: u64) -> Result<(), PluginError> {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        };
        return Err(PluginError::File(format!("{kind}, not a regular file")));
    }
    if meta.len() > max {
        return Err(PluginError::File(format!(
            "{} bytes, larger than guest_module_bytes ({max} bytes)",
            meta.len()
        )));
    }
    Ok(())
}

/// Loaded modules by name, with their last load errors.
pub struct PluginRegistry {
    loader: Loader,
    limits: GuestLimits,
    quotas: GuestQuotas,
    modules: BTreeMap<String, Arc<LoadedModule>>,
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

/// Which of our WIT versions a component is served as ([`WIT_VERSION`], [`WIT_VERSION_V0_3`],
/// [`WIT_VERSION_V0_2`] or
/// [`WIT_VERSION_COMPAT`]), and the version it names (compatible with that one). Refuse
/// components that name any other version of our package (the message names the versions), mix
/// versions, or do not export the cmdset interface at all.
fn check_interface(
    engine: &Engine,
    component: &Component,
) -> Result<(&'static str, String), PluginError> {
    let ty = component.component_type();
    let names = ty.imports(engine).map(|(n, _)| n).chain(ty.exports(engine).map(|(n, _)| n));
    let mut found: Option<&'static str> = None;
    let mut named: Option<&str> = None;
    for name in names {
        let Some(rest) = name.strip_prefix(WIT_PACKAGE).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let version = rest.split_once('@').map_or("", |(_, v)| v);
        let ours = if compatible(version, WIT_VERSION) {
            WIT_VERSION
        } else if compatible(version, WIT_VERSION_V0_3) {
            // Served as the current version: the same exports (`bindings::cmdset`, ...).
            WIT_VERSION_V0_3
        } else if compatible(version, WIT_VERSION_V0_2) {
            WIT_VERSION_V0_2
        } else if compatible(version, WIT_VERSION_COMPAT) {
            WIT_VERSION_COMPAT
        } else {
            return Err(PluginError::Version { found: version.to_string() });
        };
        if let Some(f) = found.filter(|f| *f != ours) {
            return Err(PluginError::Interface(format!(
                "mixes {WIT_PACKAGE}@{f} and {WIT_PACKAGE}@{ours} interfaces"
            )));
        }
        found = Some(ours);
        named = Some(version);
    }
    let version = found.unwrap_or(WIT_VERSION);
    let named = named.unwrap_or(version).to_string();
    if !ty.exports(engine).any(|(n, _)| n.starts_with(&format!("{WIT_PACKAGE}/cmdset@"))) {
        let exported: Vec<&str> = ty.exports(engine).map(|(n, _)| n).collect();
        // Say why it most likely happened: an author cannot guess it from "exports: nothing".
        let cause = if exported.is_empty() {
            "; likely cause: its crate declares no cmdset (no `cmdset!`), or it was built in one \
             cargo invocation with a crate of another plugin kind, which unified the SDK's kind \
             features (an SDK without the `cmdset` feature built that silently): build each \
             module crate alone (`mudhost build DIR`)"
        } else {
            "; likely cause: it was not built with the mudhost SDK's `cmdset!`"
        };
        return Err(PluginError::Interface(format!(
            "does not export {WIT_PACKAGE}/cmdset@{WIT_VERSION} (exports: {}){cause}",
            if exported.is_empty() { "nothing".to_string() } else { exported.join(", ") }
        )));
    }
    Ok((version, named))
}

/// Same major and, for 0.x versions, same minor: semver compatibility of `version` with `ours`.
fn compatible(version: &str, ours: &str) -> bool {
    let parts = |v: &str| -> (String, String) {
        let mut it = v.split('.');
        (it.next().unwrap_or("").to_string(), it.next().unwrap_or("").to_string())
    };
    let (maj, min) = parts(version);
    let (hmaj, hmin) = parts(ours);
    maj == hmaj && (hmaj != "0" || min == hmin)
}

/// Most command names a module's report line lists (the count is always given).
const REPORT_COMMANDS: usize = 40;

/// The command keys of a cmdset, for the module report (at most [`REPORT_COMMANDS`]).
fn command_list(set: &CmdSet) -> String {
    let mut keys: Vec<&str> = set.commands.iter().map(|c| c.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let more = keys.len().saturating_sub(REPORT_COMMANDS);
    keys.truncate(REPORT_COMMANDS);
    let mut list = keys.join(", ");
    if more > 0 {
        list += &format!(", and {more} more");
    }
    list
}

/// The config keys that name module `name` (its roles), or "none".
pub fn slots_of(cfg: &crate::config::Config, name: &str) -> String {
    let lists = [
        ("cmdset_unloggedin", &cfg.cmdset_unloggedin),
        ("cmdset_session", &cfg.cmdset_session),
        ("cmdset_account", &cfg.cmdset_account),
        ("cmdset_character", &cfg.cmdset_character),
        ("input_hooks", &cfg.input_hooks),
    ];
    let mut slots: Vec<&str> =
        lists.iter().filter(|(_, l)| l.iter().any(|m| m == name)).map(|(k, _)| *k).collect();
    if cfg.session_class == name {
        slots.push("session_class");
    }
    if slots.is_empty() {
        "none".into()
    } else {
        slots.join(", ")
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC` (the proleptic Gregorian calendar).
pub fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The first line of a wasmtime error chain, short enough for one log line.
fn short(err: &wasmtime::Error) -> String {
    let s = format!("{err:#}");
    s.lines().next().unwrap_or("").chars().take(400).collect()
}

impl PluginRegistry {
    /// An empty registry using the given engine and linker.
    pub fn new(
        engine: Engine,
        linker: Linker<HostCtx>,
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
    pub fn loader(&self) -> &Loader {
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
        let ex = prepared.exports.clone();
        let cp = game.checkpoint();
        let (mut game, info) = self.call_pre(&ex.pre, &name, game, 0, |inst, store| {
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
            game.objclass.runner = Some(self.class_runner(Some(&loaded)));
        }
        let (mut game, hook) =
            self.call_pre(&ex.pre, &name, game, 0, |inst, store| ex.at_load(inst, store));
        if let Err(e) = hook {
            game.undo(cp);
            game.objclass.runner = Some(self.class_runner(None));
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
        if let Some(problem) = role_mismatch(&game.cfg, &name, ex.kind()) {
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
        game.objclass.runner = Some(self.class_runner(None));
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
    pub fn load_dir(&mut self, dir: &Path, game: Game) -> Game {
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
        mut game: Game,
        threads: usize,
        background_bytes: u64,
    ) -> (Game, Vec<PathBuf>) {
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
        let cfg = &game.cfg;
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

    /// One line per loaded module and per load error, for admins (the in-game `modules`,
    /// `mudhost modules`): kind, where the compiled code came from, WIT version, hash, cmdset,
    /// commands, the config slots naming it, load time, and its last load error (a newer
    /// version that was rejected while this one keeps serving); a module that never loaded
    /// has a `REJECTED` line with its error and slots.
    pub fn report(&self, cfg: &crate::config::Config) -> Vec<String> {
        let mut lines: Vec<String> = self
            .modules
            .values()
            .map(|m| {
                let kind = match m.kind {
                    ModuleKind::Cmdset => "cmdset",
                    ModuleKind::InputHook => "input hook",
                    ModuleKind::SessionClass => "session class",
                    ModuleKind::ObjectClass => "object class",
                };
                let error = self
                    .errors
                    .get(&*m.name)
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default();
                format!(
                    "{} {} ({kind}, {}, WIT {}): cmdset {} prio {} with {} commands ({}); slots: {}; loaded {}{error}",
                    m.name,
                    m.hash,
                    if m.from_cache { "from cache" } else { "compiled" },
                    m.version,
                    m.cmdset.key,
                    m.cmdset.priority,
                    m.cmdset.commands.len(),
                    command_list(&m.cmdset),
                    slots_of(cfg, &m.name),
                    utc_time(m.loaded_at_ms),
                )
            })
            .collect();
        lines.extend(
            self.errors
                .iter()
                .filter(|(name, _)| !self.modules.contains_key(*name))
                .map(|(name, e)| format!("REJECTED {e}; slots: {}", slots_of(cfg, name))),
        );
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
        game: Game,
        caller: Sessid,
        inv: &wit::Invocation,
    ) -> (Game, Result<(), GuestError>) {
        let ex = &module.exports;
        self.call_atomic(module, game, caller, |inst, store| ex.execute(inst, store, inv))
    }

    /// Run one command with no checkpoint of its own: a command line `execute-cmd` runs inside
    /// the checkpoint of the command that asked for it, or that command itself with its lines
    /// (`server/execute.rs`), whose caller keeps or undoes the whole unit.
    pub fn execute_in_unit(
        &self,
        module: &LoadedModule,
        game: Game,
        caller: Sessid,
        inv: &wit::Invocation,
    ) -> (Game, Result<(), GuestError>) {
        let ex = &module.exports;
        self.call_kept(module, game, caller, |inst, store| ex.execute(inst, store, inv))
    }

    /// An input hook's `data-in` (same sandbox, quotas and atomicity as a command). None when the
    /// module is not an input hook.
    /// `check` validates the answer inside the call, so an unusable answer undoes the call too.
    pub fn hook_data_in<T>(
        &self,
        module: &LoadedModule,
        game: Game,
        caller: Sessid,
        msg: &wit::Message,
        session: &wit::SessionInfo,
        check: impl FnOnce(wit::HookResult) -> Result<T, String>,
    ) -> (Game, Option<Result<T, GuestError>>) {
        let Some(ix) = module.exports.hook.clone() else { return (game, None) };
        let (game, r) = self.call_atomic(module, game, caller, |inst, store| {
            let r = match &ix {
                HookExport::Current(ix) => {
                    ix.load(&mut *store, inst)?.call_data_in(&mut *store, msg, session)?
                }
                HookExport::V0_2(ix) => {
                    ix.load(&mut *store, inst)?.call_data_in(&mut *store, msg, session)?
                }
            };
            check(r).map_err(|e| wasmtime::Error::new(super::QuotaExceeded(e)))
        });
        (game, Some(r))
    }

    /// One call of a session class's hook (same sandbox, quotas and atomicity as a command).
    /// None when the module is not a session class.
    pub fn class_call<R>(
        &self,
        module: &LoadedModule,
        game: Game,
        caller: Sessid,
        f: impl FnOnce(&SessionClassGuest, &mut Store<HostCtx>) -> wasmtime::Result<R>,
    ) -> (Game, Option<Result<R, GuestError>>) {
        let Some(ix) = module.exports.class.clone() else { return (game, None) };
        let (game, r) = self.call_atomic(module, game, caller, |inst, store| {
            let guest = match &ix {
                ClassExport::Current(ix) => SessionClassGuest::Current(ix.load(&mut *store, inst)?),
                ClassExport::V0_2(ix) => SessionClassGuest::V0_2(ix.load(&mut *store, inst)?),
            };
            f(&guest, store)
        });
        (game, Some(r))
    }

    /// One firing of a module's timer: its `at-timer` (same sandbox and quotas as a command, no
    /// calling session), with no checkpoint of its own: its caller (`server/execute.rs`) keeps or
    /// undoes it together with the command lines it executes, as one unit. None when the module
    /// cannot receive firings (built against a WIT before 0.3.0, which had no timers).
    pub fn timer_fire_in_unit(
        &self,
        module: &LoadedModule,
        game: Game,
        timer: &wit::TimerInfo,
    ) -> (Game, Option<Result<(), GuestError>>) {
        let CmdsetExport::Current(ix) = module.exports.cmdset.clone() else { return (game, None) };
        let (game, r) = self.call_kept(module, game, 0, |inst, store| {
            ix.load(&mut *store, inst)?.call_at_timer(&mut *store, timer)
        });
        (game, Some(r))
    }

    /// A guest call inside a checkpoint: kept if it succeeds, undone entirely if it fails.
    fn call_atomic<R>(
        &self,
        module: &LoadedModule,
        mut game: Game,
        caller: Sessid,
        f: impl FnOnce(&Instance, &mut Store<HostCtx>) -> wasmtime::Result<R>,
    ) -> (Game, Result<R, GuestError>) {
        let cp = game.checkpoint();
        let (mut game, result) = self.call_kept(module, game, caller, f);
        match &result {
            Ok(_) => game.keep(cp),
            Err(_) => game.undo(cp),
        }
        (game, result)
    }

    /// Instantiate in a fresh store, call `f`, log guest stderr, and hand the game back (the
    /// instance is dropped: for load-time calls, before the module is installed).
    fn call_pre<R>(
        &self,
        pre: &InstancePre<HostCtx>,
        module: &Arc<str>,
        game: Game,
        caller: Sessid,
        f: impl FnOnce(&Instance, &mut Store<HostCtx>) -> wasmtime::Result<R>,
    ) -> (Game, Result<R, GuestError>) {
        let mut inst = match self.instantiate(pre, module, game, caller) {
            Ok(inst) => inst,
            Err(failed) => return (failed.0, Err(failed.1)),
        };
        let result = inst.call(f);
        let (game, result, _) = self.finish(&mut inst, module, caller, result);
        (game, result)
    }

    /// Call `f` on the module's kept instance, or on a new one; keep the instance for the next
    /// call only if this one succeeded without writing to stderr (a trap, deadline, memory or
    /// quota failure discards it: the next call gets a fresh one).
    fn call_kept<R>(
        &self,
        module: &LoadedModule,
        game: Game,
        caller: Sessid,
        f: impl FnOnce(&Instance, &mut Store<HostCtx>) -> wasmtime::Result<R>,
    ) -> (Game, Result<R, GuestError>) {
        let kept = module.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut inst = match kept {
            Some(mut inst) => {
                inst.enter(game, caller, self.limits_for(&module.name), self.quotas);
                inst
            }
            None => match self.instantiate(&module.exports.pre, &module.name, game, caller) {
                Ok(inst) => inst,
                Err(failed) => return (failed.0, Err(failed.1)),
            },
        };
        let result = inst.call(f);
        let (game, result, clean) = self.finish(&mut inst, &module.name, caller, result);
        if result.is_ok() && clean {
            *module.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(inst);
        }
        (game, result)
    }

    /// A new instance of `pre` holding the game. If the instance pool (`guest_instance_pool`) is
    /// full of kept instances — a game with more modules than the pool — they are let go and the
    /// instantiation tried once more.
    fn instantiate(
        &self,
        pre: &InstancePre<HostCtx>,
        module: &Arc<str>,
        game: Game,
        caller: Sessid,
    ) -> Result<LiveInstance, Box<(Game, GuestError)>> {
        let make = |game| {
            LiveInstance::new(
                &self.loader.engine,
                pre,
                self.limits_for(module),
                self.quotas,
                game,
                caller,
                module.clone(),
            )
        };
        let pool_full =
            |e: &wasmtime::Error| e.chain().any(|c| c.is::<wasmtime::PoolConcurrencyLimitError>());
        let retried = match make(game) {
            Ok(inst) => return Ok(inst),
            Err(failed) if pool_full(&failed.1) && self.release_kept_instances() > 0 => {
                tracing::debug!(module = %module, "instance pool full; kept instances let go");
                make(failed.0)
            }
            Err(failed) => Err(failed),
        };
        retried.map_err(|failed| {
            let (game, e) = *failed;
            Box::new((game, classify(e, self.limits_for(module), self.quotas, "")))
        })
    }

    /// Drop every module's kept instance (their pool slots free up; the next call of each module
    /// makes a fresh one); returns how many.
    pub fn release_kept_instances(&self) -> usize {
        self.modules
            .values()
            .filter(|m| m.idle.lock().unwrap_or_else(|p| p.into_inner()).take().is_some())
            .count()
    }

    /// After a call: log what the guest wrote to stderr (one line), classify a failure, and take
    /// the game back. The flag says whether stderr stayed empty.
    fn finish<R>(
        &self,
        inst: &mut LiveInstance,
        module: &Arc<str>,
        caller: Sessid,
        result: wasmtime::Result<R>,
    ) -> (Game, Result<R, GuestError>, bool) {
        let err_text = inst.stderr();
        if !err_text.is_empty() {
            // One log line per call: the guest's own line breaks become " | ", and anything else
            // that could end or fake a log line is escaped.
            let flat = err_text.trim_end().replace('\n', " | ");
            let flat = escape_line(&flat, self.quotas.log_line_bytes);
            tracing::warn!(module = %module, sessid = caller, "guest stderr: {flat}");
        }
        let limits = self.limits_for(module);
        let result = result.map_err(|e| classify(e, limits, self.quotas, &err_text));
        (inst.leave(), result, err_text.is_empty())
    }
}

/// Turn a module's metadata into a cmdset, validating every command against the cmdset quotas
/// (a refusal names the limit and its config key).
fn build_cmdset(
    info: wit::CmdsetInfo,
    key_mergetypes: Vec<(String, wit::MergeType)>,
    module: &Arc<str>,
    q: &GuestQuotas,
) -> Result<CmdSet, String> {
    if key_mergetypes.len() > q.list_items
        || key_mergetypes.iter().any(|(k, _)| k.len() > q.name_bytes)
    {
        return Err(format!(
            "key-mergetypes over guest_list_items ({}) or a key over guest_name_bytes ({} bytes)",
            q.list_items, q.name_bytes
        ));
    }
    if info.key.trim().is_empty() {
        return Err("cmdset key is empty".into());
    }
    if info.key.len() > q.name_bytes {
        return Err(format!("cmdset key is over guest_name_bytes ({} bytes)", q.name_bytes));
    }
    if info.commands.len() > q.commands_per_cmdset {
        return Err(format!(
            "{} commands, over guest_commands_per_cmdset ({})",
            info.commands.len(),
            q.commands_per_cmdset
        ));
    }
    let aliases: usize = info.commands.iter().map(|c| c.aliases.len()).sum();
    if aliases > q.aliases_per_cmdset {
        return Err(format!(
            "{aliases} aliases, over guest_aliases_per_cmdset ({})",
            q.aliases_per_cmdset
        ));
    }
    let mut commands = Vec::with_capacity(info.commands.len());
    for c in info.commands {
        if c.key.trim().is_empty() {
            return Err("a command has an empty key".into());
        }
        if std::iter::once(&c.key).chain(&c.aliases).any(|n| n.len() > q.name_bytes) {
            return Err(format!(
                "command {:?}: a name is over guest_name_bytes ({} bytes)",
                short_name(&c.key),
                q.name_bytes
            ));
        }
        if c.help.len() > q.text_bytes
            || c.arg_regex.as_ref().is_some_and(|r| r.len() > q.name_bytes)
        {
            return Err(format!(
                "command {:?}: help over guest_text_bytes ({} bytes) or arg_regex over guest_name_bytes ({} bytes)",
                short_name(&c.key),
                q.text_bytes,
                q.name_bytes
            ));
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
    let merge_type = |m: wit::MergeType| match m {
        wit::MergeType::Union => MergeType::Union,
        wit::MergeType::Intersect => MergeType::Intersect,
        wit::MergeType::Replace => MergeType::Replace,
        wit::MergeType::Remove => MergeType::Remove,
    };
    Ok(CmdSet {
        key: info.key,
        priority: info.priority,
        merge_type: merge_type(info.merge_type),
        key_mergetypes: key_mergetypes.into_iter().map(|(k, m)| (k, merge_type(m))).collect(),
        duplicates: info.duplicates,
        no_exits: info.no_exits,
        no_objs: info.no_objs,
        commands,
        index: Default::default(),
    })
}

/// A name cut short for an error message.
fn short_name(name: &str) -> String {
    name.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiling on several threads still gives each file its own result, in path order.
    #[test]
    fn prepare_all_answers_each_path_in_order_whatever_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let loader = Loader {
            linker: Linker::new(&engine),
            cache: ModuleCache::new(dir.path().join("cache"), &engine),
            engine,
            max_module_bytes: 16,
        };
        let big = dir.path().join("big.wasm");
        std::fs::write(&big, [0u8; 64]).unwrap();
        let junk = dir.path().join("junk.wasm");
        std::fs::write(&junk, b"not wasm").unwrap();
        let paths = vec![big, dir.path().join("missing.wasm"), junk, dir.path().join("x.txt")];
        for threads in [1, 2, 8] {
            let results = loader.prepare_all(&paths, threads);
            let errs: Vec<String> = results
                .into_iter()
                .map(|r| r.err().map(|e| e.to_string()).unwrap_or_default())
                .collect();
            assert!(errs[0].contains("guest_module_bytes"), "{errs:?}");
            assert!(errs[1].starts_with("read failed"), "{errs:?}");
            assert!(errs[2].starts_with("compile failed"), "{errs:?}");
            assert!(errs[3].contains("not a .wasm file"), "{errs:?}");
        }
    }

    #[test]
    fn versions_are_compatible_by_semver_rules() {
        assert!(compatible("0.4.0", WIT_VERSION));
        assert!(compatible("0.4.7", WIT_VERSION));
        assert!(compatible("0.3.2", WIT_VERSION_V0_3));
        assert!(compatible("0.2.0", WIT_VERSION_V0_2));
        assert!(compatible("0.1.3", WIT_VERSION_COMPAT));
        assert!(!compatible("0.2.1", WIT_VERSION));
        assert!(!compatible("0.1.0", WIT_VERSION));
        assert!(!compatible("0.3.0", WIT_VERSION));
        assert!(!compatible("0.5.0", WIT_VERSION));
        assert!(!compatible("1.2.0", WIT_VERSION));
        assert!(!compatible("", WIT_VERSION));
    }

    #[test]
    fn module_names_are_wasm_file_stems() {
        assert_eq!(module_name(Path::new("/m/character.wasm")).as_deref(), Some("character"));
        assert_eq!(module_name(Path::new("/m/notes.txt")), None);
        assert_eq!(module_name(Path::new("/m/.character.wasm.tmp")), None);
    }

    #[test]
    fn report_times_are_utc_calendar_times_and_slots_name_every_role() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_time(1_796_395_245_999), "2026-12-04 14:40:45 UTC");
        let cfg = crate::config::Config {
            input_hooks: vec!["nick".into()],
            cmdset_account: vec!["account".into(), "nick".into()],
            session_class: "nick".into(),
            ..Default::default()
        };
        assert_eq!(slots_of(&cfg, "nick"), "cmdset_account, input_hooks, session_class");
        assert_eq!(slots_of(&cfg, "box"), "none");
    }
}
