//! A shared lock on a database file that conflicts with the engine's exclusive writer lock.
//!
//! The engine takes a classic POSIX `fcntl` write lock over the whole file for as long as a
//! read-write database is open, and takes no lock at all for a read-only open. A read-only store
//! therefore holds an open-file-description (OFD) read lock for its lifetime: OFD locks and POSIX
//! locks conflict with each other, so a reader waits while a writer process holds the file and a
//! writer process waits (then reports `Locked`) while readers hold it. OFD locks belong to the
//! descriptor, not the process, so closing some other descriptor of the same file does not drop
//! them (the trap of classic POSIX locks).

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::lock_wait::wait_for_lock;

/// A held shared lock; released when dropped (the descriptor closes).
#[derive(Debug)]
pub(crate) struct SharedFileLock {
    _file: File,
}

/// Why one attempt to take the lock did not succeed.
enum Attempt {
    Held,
    Conflict,
    Failed(std::io::Error),
}

impl SharedFileLock {
    /// Takes the lock, retrying while a writer holds the file, for at most `timeout`.
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<Self> {
        let file = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound {
                    what: format!("database {}", path.display()),
                }
            } else {
                Error::io("open for read lock", path, e)
            }
        })?;
        let label = path.display().to_string();
        wait_for_lock("open read-only", &label, timeout, || {
            match try_read_lock(&file) {
                Attempt::Held => Ok(Some(())),
                Attempt::Conflict => Ok(None),
                Attempt::Failed(e) => Err(Error::io("read lock", path, e)),
            }
        })?;
        Ok(SharedFileLock { _file: file })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn try_read_lock(file: &File) -> Attempt {
    use std::os::fd::AsRawFd;
    // SAFETY: `flock` is plain data; zeroed is a valid value that we then fill in.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_RDLCK as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = 0;
    lock.l_len = 0;
    lock.l_pid = 0;
    // SAFETY: the descriptor is open for the duration of the call and `lock` is a valid flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut lock) };
    if rc == 0 {
        return Attempt::Held;
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(code) if code == libc::EAGAIN || code == libc::EACCES => Attempt::Conflict,
        _ => Attempt::Failed(err),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn try_read_lock(_file: &File) -> Attempt {
    // Without OFD locks there is no lock that is both safe to hold beside the engine's own and
    // visible to it; readers then rely on the engine alone.
    Attempt::Held
}
