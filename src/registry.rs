//! Which database files this process has open, and how, so read-only and read-write stores on the
//! same file cooperate instead of tripping over the engine's per-process database sharing.
//!
//! The engine shares one database object per file inside a process, whatever flags a later open
//! asks for, and a read-only store's shared file lock conflicts with the process's own write lock.
//! So: a read-only store opened while this process writes the file reuses the writer's engine
//! database (no file lock needed, the engine is consistent within a process), and a read-write
//! open waits while read-only stores of this process hold the file.
//!
//! It also owns every descriptor beadstore itself opens on a database file (to read its header):
//! closing any descriptor of a file drops the POSIX locks the process holds on it, the engine's
//! write lock included, so such a descriptor stays open until no store of the process uses the
//! file any more.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::stamp::Snapshot;

/// A file's identity: (device, inode).
pub(crate) type FileId = (u64, u64);

#[derive(Default)]
struct Counts {
    writers: usize,
    readers: usize,
    sharing_readers: usize,
    pins: usize,
    /// Descriptors opened on the file; closed only with the entry.
    files: Vec<Arc<File>>,
    /// Set by the first store that leaves this file after it was replaced: that store moved the
    /// WAL into it; the `-wal` at the path may belong to the new file from then on.
    wal_released: bool,
    /// The file as the latest own write of any store of this process left it.
    last_own_write: Option<Snapshot>,
    /// Bumped when the file was overwritten in place and every store left the engine database
    /// that still described the old content: registrations of an older epoch hold that stale
    /// database, newer ones a fresh one.
    epoch: u64,
    stores_per_epoch: std::collections::BTreeMap<u64, usize>,
}

impl Counts {
    fn unused(&self) -> bool {
        self.writers == 0 && self.readers == 0 && self.sharing_readers == 0 && self.pins == 0
    }
}

/// How a store uses a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A read-write store (holds the engine's write lock).
    Writer,
    /// A read-only store holding its own shared file lock.
    LockedReader,
    /// A read-only store sharing a read-write store's engine database (no lock of its own).
    SharingReader,
}

fn table() -> MutexGuard<'static, HashMap<FileId, Counts>> {
    static TABLE: OnceLock<Mutex<HashMap<FileId, Counts>>> = OnceLock::new();
    TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// Runs `checkpoint` (moving `id`'s WAL into it after `id` left the path) unless another store
/// of this process already did: from then on the `-wal` at the path may belong to the new file,
/// and no store may checkpoint or truncate it on behalf of the old one. Returns whether it ran.
pub(crate) fn release_wal_once<E>(
    id: FileId,
    checkpoint: impl FnOnce() -> Result<(), E>,
) -> Result<bool, E> {
    static RELEASING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = RELEASING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if table().get(&id).is_some_and(|c| c.wal_released) {
        return Ok(false);
    }
    checkpoint()?;
    if let Some(c) = table().get_mut(&id) {
        c.wal_released = true;
    }
    Ok(true)
}

/// How many stores of this process still use `id` through the engine database of `epoch`.
pub(crate) fn stores_of_epoch(id: FileId, epoch: u64) -> usize {
    table()
        .get(&id)
        .and_then(|c| c.stores_per_epoch.get(&epoch).copied())
        .unwrap_or(0)
}

/// After an in-place overwrite, once no store uses the engine database of epoch `past`: stores
/// registering from now on get a fresh one. True for the call that moved the epoch on.
pub(crate) fn advance_epoch(id: FileId, past: u64) -> bool {
    let mut t = table();
    let c = t.entry(id).or_default();
    let advanced = c.epoch <= past;
    c.epoch = c.epoch.max(past + 1);
    if c.unused() {
        t.remove(&id);
    }
    advanced
}

/// Records the file as a store's own write left it, so sibling stores do not take it for an
/// overwrite.
pub(crate) fn record_own_write(id: FileId, now: Snapshot) {
    if let Some(c) = table().get_mut(&id) {
        c.last_own_write = Some(now);
    }
}

/// The file as the latest own write of this process left it.
pub(crate) fn last_own_write(id: FileId) -> Option<Snapshot> {
    table().get(&id).and_then(|c| c.last_own_write)
}

/// A store's registration; dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Registration {
    id: FileId,
    role: Role,
    epoch: u64,
}

impl Registration {
    /// Records a store using `id` in `role`.
    pub(crate) fn new(id: FileId, role: Role) -> Self {
        let mut t = table();
        let c = t.entry(id).or_default();
        *count_of(c, role) += 1;
        let epoch = c.epoch;
        *c.stores_per_epoch.entry(epoch).or_default() += 1;
        Registration { id, role, epoch }
    }

    /// The engine-database epoch this store registered in (see `advance_epoch`).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The file registered.
    pub(crate) fn id(&self) -> FileId {
        self.id
    }
}

fn count_of(c: &mut Counts, role: Role) -> &mut usize {
    match role {
        Role::Writer => &mut c.writers,
        Role::LockedReader => &mut c.readers,
        Role::SharingReader => &mut c.sharing_readers,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut t = table();
        if let Some(c) = t.get_mut(&self.id) {
            let n = count_of(c, self.role);
            *n = n.saturating_sub(1);
            if let Some(n) = c.stores_per_epoch.get_mut(&self.epoch) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.stores_per_epoch.remove(&self.epoch);
                }
            }
            if c.unused() {
                t.remove(&self.id);
            }
        }
    }
}

/// A descriptor on a database file that is safe to hold: it is closed only when no store of the
/// process uses that file any more.
#[derive(Debug)]
pub(crate) struct Pin {
    id: FileId,
    file: Arc<File>,
}

impl Pin {
    /// The file pinned.
    pub(crate) fn id(&self) -> FileId {
        self.id
    }

    /// The file's size now.
    pub(crate) fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// The pinned file's stamp now, whatever the path names.
    pub(crate) fn stamp(&self) -> std::io::Result<crate::stamp::FileStamp> {
        crate::stamp::FileStamp::of_open(&self.file)
    }

    /// Reads `buf.len()` bytes at `offset`; false when the file is shorter.
    pub(crate) fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<bool> {
        match self.file.read_exact_at(buf, offset) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut t = table();
        if let Some(c) = t.get_mut(&self.id) {
            c.pins = c.pins.saturating_sub(1);
            if c.unused() {
                t.remove(&self.id);
            }
        }
    }
}

/// Pins the file at `path` (whatever inode it names now); `Ok(None)` when nothing is there.
pub(crate) fn pin(path: &Path) -> std::io::Result<Option<Pin>> {
    let mut t = table();
    if let Some(id) = file_id(path) {
        if let Some(c) = t.get_mut(&id) {
            if let Some(file) = c.files.first().cloned() {
                c.pins += 1;
                return Ok(Some(Pin { id, file }));
            }
        }
    }
    let file = match File::open(path) {
        Ok(f) => Arc::new(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let id = (meta.dev(), meta.ino());
    let c = t.entry(id).or_default();
    c.pins += 1;
    c.files.push(file.clone());
    Ok(Some(Pin { id, file }))
}
