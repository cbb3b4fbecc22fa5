//! Exclusive locks held for a process's whole life: one portal per data folder, one server per
//! database. `flock` locks belong to the open file, so the kernel releases them when the process
//! dies however it dies (no stale lock to clean up after a crash), and the descriptor is
//! close-on-exec, so a child process never inherits its parent's lock.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct Held {
    _file: File,
}

/// Take the exclusive lock on `path` (created if missing) without waiting: `Ok(None)` when
/// another process holds it. Opening the file never truncates or writes it.
pub fn try_lock(path: &Path) -> std::io::Result<Option<Held>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(Some(Held { _file: file }));
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(None)
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = try_lock(&path).unwrap().expect("free at first");
        assert!(try_lock(&path).unwrap().is_none(), "held: a second open file is refused");
        drop(first);
        assert!(try_lock(&path).unwrap().is_some(), "released when dropped");
    }
}
