//! Which database files this process has open, and how, so read-only and read-write stores on the
//! same file cooperate instead of tripping over the engine's per-process database sharing.
//!
//! The engine shares one database object per file inside a process, whatever flags a later open
//! asks for, and a read-only store's shared file lock conflicts with the process's own write lock.
//! So: a read-only store opened while this process writes the file reuses the writer's engine
//! database (no file lock needed, the engine is consistent within a process), and a read-write
//! open waits while read-only stores of this process hold the file.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// A file's identity: (device, inode).
pub(crate) type FileId = (u64, u64);

#[derive(Default, Clone, Copy)]
struct Counts {
    writers: usize,
    readers: usize,
}

fn table() -> MutexGuard<'static, HashMap<FileId, Counts>> {
    static TABLE: OnceLock<Mutex<HashMap<FileId, Counts>>> = OnceLock::new();
    TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The identity of an existing file, or `None` when it does not exist (yet).
pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// True when read-write stores of this process have `id` open.
pub(crate) fn has_writers(id: FileId) -> bool {
    table().get(&id).is_some_and(|c| c.writers > 0)
}

/// True when read-only stores of this process hold `id` with their own file lock.
pub(crate) fn has_locked_readers(id: FileId) -> bool {
    table().get(&id).is_some_and(|c| c.readers > 0)
}

/// A store's registration; dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Registration {
    id: FileId,
    writer: bool,
}

impl Registration {
    /// Records a read-write store (`writer`) or a lock-holding read-only store on `id`.
    pub(crate) fn new(id: FileId, writer: bool) -> Self {
        let mut t = table();
        let c = t.entry(id).or_default();
        if writer {
            c.writers += 1;
        } else {
            c.readers += 1;
        }
        Registration { id, writer }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut t = table();
        if let Some(c) = t.get_mut(&self.id) {
            if self.writer {
                c.writers = c.writers.saturating_sub(1);
            } else {
                c.readers = c.readers.saturating_sub(1);
            }
            if c.writers == 0 && c.readers == 0 {
                t.remove(&self.id);
            }
        }
    }
}
