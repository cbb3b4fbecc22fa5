//! The in-flight marker: which input the server is running right now, kept where it survives the
//! server's death. It is a 16-byte file in the data folder, mapped into the server's memory, so
//! marking an input costs two memory writes, not a system call; after a crash the portal reads
//! it to find the input that was running (see `portal::hub`, poison-input quarantine).
//!
//! Part of the link's contract, so it is a shared leaf: it imports nothing of the crate but the
//! shared typed ids.

use std::path::Path;

use memmap2::MmapMut;

use crate::shared::ids::Sessid;

/// File name of the marker inside the data folder.
pub const FILE_NAME: &str = "inflight";
/// Size of the marker: sessid and seq, little-endian u64s.
pub const SIZE: usize = 16;

/// The server's mapping of the marker file.
pub struct InflightMarker {
    map: MmapMut,
}

impl InflightMarker {
    /// Map the marker file in `data_dir` (the portal creates it).
    pub fn open(data_dir: &Path) -> std::io::Result<InflightMarker> {
        let file =
            std::fs::OpenOptions::new().read(true).write(true).open(data_dir.join(FILE_NAME))?;
        if file.metadata()?.len() < SIZE as u64 {
            file.set_len(SIZE as u64)?;
        }
        // SAFETY: the file is private to this game (data folder 0700, file 0600); only the portal
        // reads it, and only after this process has died, so nothing changes it under the map.
        let map = unsafe { MmapMut::map_mut(&file)? };
        Ok(InflightMarker { map })
    }

    /// Mark `(sessid, seq)` as running.
    pub fn set(&mut self, sessid: Sessid, seq: u64) {
        self.map[..8].copy_from_slice(&sessid.get().to_le_bytes());
        self.map[8..SIZE].copy_from_slice(&seq.to_le_bytes());
    }

    /// Nothing is running.
    pub fn clear(&mut self) {
        self.map[..SIZE].fill(0);
    }
}

/// Create (or reset) the marker file; the portal calls this before each server start.
pub fn reset(data_dir: &Path) -> std::io::Result<()> {
    std::fs::write(data_dir.join(FILE_NAME), [0u8; SIZE])
}

/// The input marked as running when the server died, if any; the portal calls this.
pub fn read(data_dir: &Path) -> Option<(Sessid, u64)> {
    let bytes = std::fs::read(data_dir.join(FILE_NAME)).ok()?;
    if bytes.len() < SIZE {
        return None;
    }
    let sessid = u64::from_le_bytes(bytes[..8].try_into().ok()?);
    let seq = u64::from_le_bytes(bytes[8..SIZE].try_into().ok()?);
    (sessid != 0).then_some((Sessid::new(sessid), seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_visible_to_a_reader_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        reset(dir.path()).unwrap();
        assert_eq!(read(dir.path()), None);
        let mut m = InflightMarker::open(dir.path()).unwrap();
        m.set(Sessid::new(7), 42);
        assert_eq!(read(dir.path()), Some((Sessid::new(7), 42)));
        m.clear();
        assert_eq!(read(dir.path()), None);
    }
}
