//! The on-disk compile cache, trusted only after it checks out.
//!
//! An entry is keyed by the module's SHA-256 *and* the engine fingerprint (wasmtime version plus
//! every engine setting that changes the machine code), so a host upgrade or a changed memory cap
//! never picks up stale code. Each entry starts with a checksum of the compiled artifact, verified
//! before `deserialize` (which trusts its input: corrupted machine code used to crash the server
//! at every start). A failed check is logged with the module and the file, and the module is
//! recompiled and the entry rewritten. Entries no loaded module uses are pruned.
//!
//! The checksum guards against corruption (disk errors, truncation, a stray write), not against
//! someone who can write the data folder: they could write a matching checksum too.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// First bytes of every entry (format version 1).
const MAGIC: &[u8; 8] = b"MHCWASM1";
/// Header: magic, then the SHA-256 of the artifact that follows.
const HEADER: usize = 8 + 32;
/// File extension of entries.
const EXT: &str = "cwasm";
/// The wasmtime version the engine fingerprint starts from (the workspace pins it exactly).
const WASMTIME: &str = "wasmtime-48.0.8";

/// The compile cache of one server.
#[derive(Clone)]
pub struct ModuleCache {
    dir: PathBuf,
    fingerprint: String,
    /// Shared with other games (`module_cache_dir`): never pruned here.
    shared: bool,
}

/// Feeds `Hash` output into SHA-256, so the engine fingerprint is stable across runs (std's
/// default hasher is only stable within one build of it).
struct ShaHasher(Sha256);
impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        unreachable!("only the digest is read")
    }
}

/// Lower-case hex of some bytes (cache keys; the registry's module digests too).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The engine fingerprint: 16 hex digits over the wasmtime version and the engine's
/// precompile-compatibility hash (its compiler settings and tunables).
pub fn engine_fingerprint(engine: &Engine) -> String {
    let mut h = ShaHasher(Sha256::new());
    WASMTIME.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    hex(&h.0.finalize())[..16].to_string()
}

/// Why a cache entry was not used.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    /// No entry yet (the normal first-load case; not logged).
    #[error("missing")]
    Missing,
    /// The file exists but is not a valid entry.
    #[error("{0}")]
    Corrupt(String),
}

impl ModuleCache {
    /// The cache in `dir` (created if missing) for `engine`.
    pub fn new(dir: PathBuf, engine: &Engine) -> ModuleCache {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), cause = %e, "cannot create the module cache folder");
        }
        ModuleCache { dir, fingerprint: engine_fingerprint(engine), shared: false }
    }

    /// Mark the cache as shared with other games (`module_cache_dir`): [`ModuleCache::prune`]
    /// then leaves it alone, since another game may use any entry.
    pub fn set_shared(&mut self) {
        self.shared = true;
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file of a module with this SHA-256 (hex).
    pub fn entry_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.{EXT}", self.fingerprint))
    }

    /// The module's component from a verified entry, else compiled from `bytes` (and the entry
    /// written). Returns the component, whether it came from the cache, and the entry path.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        module: &str,
        source: &Path,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, bool, PathBuf)> {
        let entry = self.entry_path(digest);
        match read_entry(&entry) {
            Ok(code) => {
                // SAFETY: `code` is an artifact this engine configuration wrote (the fingerprint
                // is in the file name) and its checksum matched, so it is the bytes we wrote.
                match unsafe { Component::deserialize(engine, &code) } {
                    Ok(c) => return Ok((c, true, entry)),
                    Err(e) => tracing::warn!(
                        module, source = %source.display(), file = %entry.display(), cause = %e,
                        "compile cache entry refused by wasmtime; recompiling"
                    ),
                }
            }
            Err(EntryError::Missing) => {}
            Err(EntryError::Corrupt(why)) => tracing::warn!(
                module, source = %source.display(), file = %entry.display(),
                "compile cache entry failed its check ({why}); recompiling"
            ),
        }
        let code = engine.precompile_component(bytes)?;
        self.write_entry(&entry, &code);
        // SAFETY: `code` was produced by this engine a moment ago.
        let component = unsafe { Component::deserialize(engine, &code) }?;
        Ok((component, false, entry))
    }

    /// Write an entry beside its final name and rename it into place, so a crash never leaves a
    /// half-written entry under the real name.
    fn write_entry(&self, path: &Path, code: &[u8]) {
        let mut data = Vec::with_capacity(HEADER + code.len());
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&Sha256::digest(code));
        data.extend_from_slice(code);
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        let res = std::fs::write(&tmp, &data).and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = res {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(path = %path.display(), cause = %e, "could not write the module cache");
        }
    }

    /// Delete every entry (and leftover temporary file) not in `keep`.
    pub fn prune(&self, keep: &BTreeSet<PathBuf>) {
        if self.shared {
            return;
        }
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return };
        for entry in rd.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Only our own files: entries and temporaries of entries.
            if !(name.ends_with(&format!(".{EXT}"))
                || name.contains(&format!(".{EXT}."))
                || name.ends_with(".tmp"))
            {
                continue;
            }
            if keep.contains(&path) {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    tracing::debug!(file = %path.display(), "pruned an unused compile cache entry")
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), cause = %e, "could not prune a compile cache entry")
                }
            }
        }
    }
}

/// Largest cache entry read (compiled code is a few times larger than its module; modules are
/// at most `guest_module_bytes`, 64 MiB by default; a Python module's code is about 35 MiB).
const MAX_ENTRY_BYTES: u64 = 512 * 1024 * 1024;

/// Read and verify an entry; the artifact without its header. Entries are files this cache
/// wrote, so anything else under an entry's name (a symlink, a FIFO, a huge file) is refused
/// before it is opened.
fn read_entry(path: &Path) -> Result<Vec<u8>, EntryError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() && m.len() <= MAX_ENTRY_BYTES => {}
        Ok(m) if m.file_type().is_file() => {
            return Err(EntryError::Corrupt(format!("{} bytes", m.len())))
        }
        Ok(_) => return Err(EntryError::Corrupt("not a regular file".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(EntryError::Missing),
        Err(e) => return Err(EntryError::Corrupt(format!("unreadable: {e}"))),
    }
    let mut data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(EntryError::Missing),
        Err(e) => return Err(EntryError::Corrupt(format!("unreadable: {e}"))),
    };
    if data.len() < HEADER || &data[..8] != MAGIC {
        return Err(EntryError::Corrupt("not a cache entry of this format".into()));
    }
    if Sha256::digest(&data[HEADER..]).as_slice() != &data[8..HEADER] {
        return Err(EntryError::Corrupt("checksum mismatch".into()));
    }
    data.drain(..HEADER);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Engine, ModuleCache, Vec<u8>, String) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ModuleCache::new(dir.path().join("cache"), &engine);
        let bytes = wat_bytes();
        let digest = hex(&Sha256::digest(&bytes));
        (dir, engine, cache, bytes, digest)
    }

    /// The smallest valid component, `(component)`: the magic, then version 0x0d and layer 1.
    fn wat_bytes() -> Vec<u8> {
        vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]
    }

    #[test]
    fn a_second_load_comes_from_the_cache() {
        let (_d, engine, cache, bytes, digest) = setup();
        let (_, hit, path) =
            cache.load_or_compile(&engine, "m", Path::new("m.wasm"), &digest, &bytes).unwrap();
        assert!(!hit && path.exists());
        let (_, hit, _) =
            cache.load_or_compile(&engine, "m", Path::new("m.wasm"), &digest, &bytes).unwrap();
        assert!(hit);
    }

    #[test]
    fn a_corrupted_entry_is_recompiled_and_rewritten() {
        let (_d, engine, cache, bytes, digest) = setup();
        let (_, _, path) =
            cache.load_or_compile(&engine, "m", Path::new("m.wasm"), &digest, &bytes).unwrap();
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, &data).unwrap();
        assert!(matches!(read_entry(&path), Err(EntryError::Corrupt(_))));
        let (_, hit, _) =
            cache.load_or_compile(&engine, "m", Path::new("m.wasm"), &digest, &bytes).unwrap();
        assert!(!hit, "a corrupt entry is not used");
        assert!(read_entry(&path).is_ok(), "the entry was rewritten");
    }

    #[test]
    fn an_entry_replaced_by_a_link_to_a_device_is_not_read() {
        let (_d, engine, cache, bytes, digest) = setup();
        let path = cache.entry_path(&digest);
        std::fs::create_dir_all(cache.dir()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        assert!(matches!(read_entry(&path), Err(EntryError::Corrupt(_))));
        // The link is replaced by a good entry (rename over it).
        let (_, hit, _) =
            cache.load_or_compile(&engine, "m", Path::new("m.wasm"), &digest, &bytes).unwrap();
        assert!(!hit);
        assert!(read_entry(&path).is_ok());
    }

    #[test]
    fn the_fingerprint_follows_the_engine_configuration() {
        let a = engine_fingerprint(&Engine::default());
        assert_eq!(a, engine_fingerprint(&Engine::default()));
        let mut cfg = wasmtime::Config::new();
        cfg.epoch_interruption(true);
        assert_ne!(a, engine_fingerprint(&Engine::new(&cfg).unwrap()));
    }

    #[test]
    fn pruning_keeps_only_the_entries_in_use() {
        let (_d, engine, cache, bytes, digest) = setup();
        let (_, _, used) =
            cache.load_or_compile(&engine, "m", Path::new("m.wasm"), &digest, &bytes).unwrap();
        let stale = cache.dir().join(format!("{}-{}.{EXT}", "00".repeat(32), cache.fingerprint));
        std::fs::write(&stale, b"old").unwrap();
        let other = cache.dir().join("README");
        std::fs::write(&other, b"not ours").unwrap();
        cache.prune(&[used.clone()].into_iter().collect());
        assert!(used.exists() && !stale.exists() && other.exists());
    }
}
