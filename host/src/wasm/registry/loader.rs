//! Step 1 of loading a module, on any thread: read the file (checked first: a regular file
//! within `guest_module_bytes`, opened without blocking), compile it or load it from the verified
//! compile cache, check which WIT version and plugin kind it is, pre-instantiate.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use super::exports::{ClassExport, CmdsetExport, Exports, HookExport};
use super::{module_name, PluginError};
use crate::wasm::bindings;
use crate::wasm::cache::{hex, ModuleCache};
use crate::wasm::{
    HostCtx, WIT_PACKAGE, WIT_VERSION, WIT_VERSION_COMPAT, WIT_VERSION_V0_2, WIT_VERSION_V0_3,
};

/// A compiled, interface-checked module ready to be installed on the game loop.
pub struct Prepared<D: 'static> {
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
    pub(super) exports: Exports<D>,
}

/// One path's result of [`Loader::prepare_all`], filled by whichever thread took it.
type Slot<D> = std::sync::Mutex<Option<Result<Prepared<D>, PluginError>>>;

/// What step 1 of loading needs; cheap to clone, so the watcher thread has its own.
pub struct Loader<D: 'static> {
    /// The engine modules are compiled for.
    pub engine: Engine,
    /// The linker they are checked and pre-instantiated against.
    pub linker: Linker<HostCtx<D>>,
    /// The verified compile cache.
    pub cache: ModuleCache,
    /// Largest module file accepted.
    pub max_module_bytes: u64,
}

impl<D: 'static> Loader<D> {
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
    ) -> Vec<Result<Prepared<D>, PluginError>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<Slot<D>> = paths.iter().map(|_| std::sync::Mutex::new(None)).collect();
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
    pub fn prepare(&self, path: &Path) -> Result<Prepared<D>, PluginError> {
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

// Not derived: a derive would ask `D: Clone` of the game.
impl<D: 'static> Clone for Loader<D> {
    fn clone(&self) -> Self {
        Loader {
            engine: self.engine.clone(),
            linker: self.linker.clone(),
            cache: self.cache.clone(),
            max_module_bytes: self.max_module_bytes,
        }
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

/// Which of our WIT versions a component is served as ([`WIT_VERSION`], [`WIT_VERSION_V0_3`],
/// [`WIT_VERSION_V0_2`] or [`WIT_VERSION_COMPAT`]), and the version it names (compatible with that one). Refuse
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

/// The first line of a wasmtime error chain, short enough for one log line.
fn short(err: &wasmtime::Error) -> String {
    let s = format!("{err:#}");
    s.lines().next().unwrap_or("").chars().take(400).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiling on several threads still gives each file its own result, in path order.
    #[test]
    fn prepare_all_answers_each_path_in_order_whatever_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let loader: Loader<()> = Loader {
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
}
