//! Locks on a database file for the length of one operation, and the check that tells whether
//! another process changed the file since this process last looked.
//!
//! The engine runs without a lock of its own (`NoLock`); every read and write of a store takes
//! one of these first and lets it go when the call returns, so between calls no process holds
//! anything that makes another wait.
//!
//! The locks are open-file-description (OFD) locks on SQLite's own lock bytes, so that real
//! SQLite (Go bd, the `sqlite3` shell) and beadstore exclude each other per operation, while
//! beadstore's own readers and one writer run side by side as they would under SQLite's WAL:
//! - a reader write-locks one byte of the SHARED range, picked at random past the first
//!   (SQLite's scheme on Windows): readers conflict neither with each other nor with a writer,
//!   but each conflicts with a checkpoint and with every SQLite connection (whose SHARED lock
//!   read-locks the whole range);
//! - a writer write-locks RESERVED and the first SHARED byte in one call: writers take turns,
//!   readers go on (a writer only appends to the `-wal`, past every frame a reader uses), and
//!   SQLite is kept out;
//! - a checkpoint (or anything else that rewrites the database file or empties the `-wal`)
//!   holds a writer's lock, then PENDING and the whole SHARED range, as SQLite's EXCLUSIVE
//!   lock does: alone on the file;
//! - a reader first read-locks PENDING and lets it go once it has its byte, so a checkpoint
//!   that holds PENDING while it waits for readers to finish is not starved by new ones.
//!
//! The engine never checkpoints or restarts the `-wal` on its own (see `EngineDb::connect`):
//! that would rewrite pages under readers of other processes.
//!
//! A process that has to wait blocks in the kernel (`F_OFD_SETLKW`) on a helper thread, so it is
//! woken the moment the holder lets go instead of polling; the busy timeout bounds the wait.
//! The threads and stores of one process share what the process holds (the engine keeps them
//! consistent with each other): they exclude other processes together, and a thread joins the
//! process's lock only for a short while after it was taken, so a busy process still lets others
//! in. OFD locks belong to the descriptor: closing some other descriptor of the file drops
//! nothing, and a process killed with `kill -9` loses its locks with its descriptors.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

mod change;
use change::Change;

use crate::error::{Error, NotFoundKind, Result};

/// SQLite's PENDING byte: the start of its lock bytes.
const PENDING: u64 = 0x4000_0000;
/// SQLite's RESERVED byte: held by the one process that may write.
const RESERVED: u64 = PENDING + 1;
/// The first byte of SQLite's SHARED range (after PENDING and RESERVED); a writer holds it,
/// readers pick from the bytes after it.
const SHARED_FIRST: u64 = PENDING + 2;
/// How many bytes the SHARED range has.
const SHARED_SIZE: u64 = 510;
/// Every lock byte, PENDING to the end of the SHARED range.
const ALL_BYTES: u64 = SHARED_FIRST + SHARED_SIZE - PENDING;
/// How many random bytes a reader tries before it waits for one.
const READER_TRIES: usize = 8;

/// The operation named by a lock's failure when another program rewrote the file without the
/// lock protocol and it is not usable yet (a copy over it still going on).
pub(crate) const REWRITTEN_BY_ANOTHER_PROGRAM: &str =
    "refresh after another program rewrote the file";

/// The operation named by a lock's failure when another program copied a whole file over one
/// whose `-wal` holds frames of the old content.
pub(crate) const OVERWRITTEN_BENEATH_LOG: &str = "refresh after another program overwrote the file";

/// True for a lock's failure that another program's rewrite of the file caused: the store
/// reports it as the file replaced in place, whatever its freshness check makes of the file.
pub(crate) fn rewritten_by_another_program(e: &Error) -> bool {
    matches!(e, Error::Corrupt { op, .. }
        if *op == REWRITTEN_BY_ANOTHER_PROGRAM || *op == OVERWRITTEN_BENEATH_LOG)
}

/// What an operation does with the file; each mode covers the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LockMode {
    /// Reads only: shares the file with other readers and with a writer.
    Read,
    /// Appends to the `-wal`: one writer at a time, beside any number of readers.
    Write,
    /// Rewrites the database file or empties the `-wal` (checkpoint, discard): alone on it.
    Exclusive,
}

/// A database file's identity: (device, inode).
pub(crate) type FileKey = (u64, u64);

/// The file's header and its WAL's identity, size, time and header: whenever any process commits,
/// checkpoints or restarts the WAL, one of them changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileState {
    header: [u8; 100],
    header_len: usize,
    /// The database file's size and modification time: a checkpoint writes pages outside the
    /// header, and these tell two checkpoints apart where the `-wal` ends up the same.
    size: u64,
    modified: (i64, i64),
    wal: Option<WalState>,
}

impl FileState {
    /// The same database file content as far as a stamp tells: header, size and time (the
    /// `-wal` aside).
    fn same_database_file(&self, other: &FileState) -> bool {
        self.same_content(other) && self.modified == other.modified
    }

    /// The same header and size: what a `touch` leaves alone and any rewrite of the pages
    /// that matters to a reader moves (the time aside).
    fn same_content(&self, other: &FileState) -> bool {
        self.header_len == other.header_len
            && self.header == other.header
            && self.size == other.size
    }

    /// A whole SQLite file: a full header that counts no more pages than the file has.
    fn is_whole(&self) -> bool {
        self.header_len == self.header.len()
            && crate::freshness::candidate::is_whole(&self.header, self.size)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct WalState {
    inode: u64,
    size: u64,
    modified: (i64, i64),
    header: [u8; 32],
    /// The header of the last whole frame (its salts and running checksum): a commit written
    /// over frames a failed transaction left past the end changes it even where the size and
    /// the time stay the same.
    tail: [u8; 24],
}

/// The size of one frame of a `-wal` whose header is `header` (`None` for a bad page size).
fn frame_size(header: &[u8; 32]) -> Option<u64> {
    let page = match u32::from_be_bytes([header[8], header[9], header[10], header[11]]) {
        1 => 65_536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return None,
    };
    Some(page + 24)
}

/// What the process knows about the file as its engine database last saw it.
#[derive(Debug)]
enum Seen {
    /// No store of this process has used the file yet: the engine database is fresh.
    Never,
    /// Lost track (a check failed): the next operation refreshes the engine database.
    Unknown,
    /// The file as of the last operation of this process.
    Known(Box<FileState>),
}

/// One database file as this process locks it; shared by every store of the process on it.
#[derive(Debug)]
pub(crate) struct FileGate {
    key: FileKey,
    label: String,
    path: PathBuf,
    wal_path: PathBuf,
    /// Whether descriptors are open for writing (needed to write-lock a reader's byte).
    writable: bool,
    /// A descriptor that is never locked: header reads and new descriptors come from it.
    anchor: File,
    /// Descriptors not in use by an operation; each is its own open file description.
    idle: Mutex<Vec<File>>,
    wal_file: Mutex<Option<(u64, File)>>,
    seen: Mutex<Seen>,
    /// What the process holds, and a signal for threads waiting for it.
    proc: Mutex<ProcHold>,
    released: Condvar,
    /// Bumped each time the engine database was refreshed after another process's change.
    generation: AtomicU64,
}

fn gates() -> MutexGuard<'static, HashMap<FileKey, Weak<FileGate>>> {
    static GATES: OnceLock<Mutex<HashMap<FileKey, Weak<FileGate>>>> = OnceLock::new();
    GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock_unpoisoned<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FileGate {
    /// The gate of the file at `path` (created empty when `create` and missing). Read-write
    /// descriptors are used where the file allows it, read-only ones otherwise.
    pub(crate) fn open(path: &Path, create: bool) -> Result<Arc<FileGate>> {
        let label = path.display().to_string();
        let file = match open_descriptor(path, true, create) {
            Ok(f) => f,
            Err(e) if !create && is_permission(&e) => {
                open_descriptor(path, false, false).map_err(|e| not_found_or_io(path, e))?
            }
            Err(e) => return Err(not_found_or_io(path, e)),
        };
        let writable = file_is_writable(&file);
        let meta = file
            .metadata()
            .map_err(|e| Error::io("lock file", path, e))?;
        let key = (meta.dev(), meta.ino());
        let mut table = gates();
        if let Some(gate) = table.get(&key).and_then(Weak::upgrade) {
            if gate.writable || !writable {
                gate.return_descriptor(file);
                return Ok(gate);
            }
        }
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let gate = Arc::new(FileGate {
            key,
            label,
            path: path.to_path_buf(),
            wal_path: PathBuf::from(wal_path),
            writable,
            anchor: file,
            idle: Mutex::new(Vec::new()),
            wal_file: Mutex::new(None),
            seen: Mutex::new(Seen::Never),
            proc: Mutex::new(ProcHold::default()),
            released: Condvar::new(),
            generation: AtomicU64::new(0),
        });
        table.retain(|_, weak| weak.strong_count() > 0);
        table.insert(key, Arc::downgrade(&gate));
        Ok(gate)
    }

    /// The (device, inode) locked.
    pub(crate) fn key(&self) -> FileKey {
        self.key
    }

    /// The path the file was opened by (it may name another file since).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// True when a read-write open writes the database file itself, not only the `-wal`: a new
    /// (empty) file gets its first page, a rollback-journal file its WAL mark (header bytes
    /// 18-19). Nobody may read it meanwhile.
    pub(crate) fn open_rewrites_file(&self) -> bool {
        let mut header = [0u8; 20];
        match read_up_to(&self.anchor, &mut header) {
            Ok(0) => true,
            Ok(n) if n == header.len() => header[18] != 2 || header[19] != 2,
            _ => false,
        }
    }

    /// How many times the engine database was refreshed for another process's change.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Takes the lock for one operation, waiting at most `timeout`; past it, `Error::Locked`.
    ///
    /// The threads of one process share what the process holds: the engine keeps them
    /// consistent with each other, so they only exclude other processes, together. A thread
    /// joins the process's lock when it covers what it asks for and was taken less than
    /// `JOIN_WINDOW` ago (so a busy multi-threaded process still lets others in); otherwise it
    /// waits for the process to let go and queues in the kernel like any process. A thread that
    /// holds the lock already always joins; a write inside its own read upgrades in place.
    pub(crate) fn lock(
        self: &Arc<Self>,
        mode: LockMode,
        timeout: Duration,
        op: &'static str,
    ) -> Result<OpLock> {
        self.lock_as(mode, mode >= LockMode::Write, timeout, op)
    }

    /// `lock` for an operation that writes only if `writes`: a read under the exclusive lock
    /// leaves the file as it found it, so releasing it records nothing.
    pub(crate) fn lock_as(
        self: &Arc<Self>,
        mode: LockMode,
        writes: bool,
        timeout: Duration,
        op: &'static str,
    ) -> Result<OpLock> {
        let id = Arc::as_ptr(self) as usize;
        let mine = holding(id) > 0;
        let start = Instant::now();
        let mut st = lock_unpoisoned(&self.proc);
        let mut upgrade_refused = false;
        loop {
            let held_mode = st.held.as_ref().map(|h| h.mode);
            match held_mode {
                None if !st.busy => {
                    let (mut st, got) = self.while_busy(st, || {
                        self.acquire(mode, timeout.saturating_sub(start.elapsed()), op)
                    });
                    let (file, byte) = got?;
                    st.held = Some(ProcLock { mode, file, byte });
                    st.holders = 1;
                    st.since = Instant::now();
                    st.synced = false;
                    st.wrote = writes;
                    if mode == LockMode::Exclusive && writes {
                        self.mark_log_for_rewrite();
                    }
                    return Ok(OpLock::new(self.clone(), id, true));
                }
                Some(held)
                    if covers(held, mode)
                        && (mine
                            || (!st.busy
                                && st.synced
                                && st.since.elapsed() < JOIN_WINDOW
                                && (held > LockMode::Read
                                    || (st.writers_waiting == 0 && self.unchanged())))) =>
                {
                    st.holders += 1;
                    st.wrote |= writes;
                    return Ok(OpLock::new(self.clone(), id, false));
                }
                // An upgrade in place: this thread's own lock (a write inside its read, a
                // checkpoint after its write), or, for a write, the read lock other threads of
                // this process hold (a long snapshot need not hold up a write), as long as no
                // other process committed since the process took the file (the engine's view is
                // then current); otherwise that writer waits for the process to let go, and
                // refreshes.
                Some(held)
                    if held < mode
                        && !st.busy
                        && (mine
                            || (st.synced
                                && held == LockMode::Read
                                && mode == LockMode::Write
                                && !upgrade_refused)) =>
                {
                    let fd = st.held.as_ref().map_or(-1, |h| h.file.as_raw_fd());
                    let remaining = timeout.saturating_sub(start.elapsed());
                    // Counted in first: the readers finishing meanwhile must not let go of the
                    // lock being upgraded.
                    st.holders += 1;
                    let (next, got) =
                        self.while_busy(st, || self.upgrade(fd, held, mode, remaining, op));
                    st = next;
                    match got {
                        Ok(()) => {
                            if let Some(h) = st.held.as_mut() {
                                h.mode = mode;
                            }
                            st.wrote |= writes;
                            if mode == LockMode::Exclusive && writes {
                                self.mark_log_for_rewrite();
                            }
                            return Ok(OpLock::new(self.clone(), id, false));
                        }
                        Err(e) => {
                            self.leave_lock(&mut st);
                            match e {
                                Error::Busy { .. } if !mine => upgrade_refused = true,
                                e => return Err(e),
                            }
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(self.locked(op, waited));
            }
            let writer = mode >= LockMode::Write;
            st.waiters += 1;
            st.writers_waiting += usize::from(writer);
            st = self
                .released
                .wait_timeout(st, timeout - waited)
                .map(|(g, _)| g)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            st.waiters -= 1;
            st.writers_waiting -= usize::from(writer);
        }
    }

    /// Runs `step` (a lock call that may block) with the process's state marked busy and its
    /// mutex released, so other threads wait for the outcome instead of starting their own.
    fn while_busy<'a, T>(
        &'a self,
        mut st: MutexGuard<'a, ProcHold>,
        step: impl FnOnce() -> T,
    ) -> (MutexGuard<'a, ProcHold>, T) {
        st.busy = true;
        drop(st);
        let got = step();
        let mut st = lock_unpoisoned(&self.proc);
        st.busy = false;
        self.wake(&st);
        (st, got)
    }

    fn descriptor(&self) -> Result<File> {
        if let Some(f) = lock_unpoisoned(&self.idle).pop() {
            return Ok(f);
        }
        // A new open file description on the same inode, whatever the path names now.
        let path = format!("/proc/self/fd/{}", self.anchor.as_raw_fd());
        let file = open_descriptor(Path::new(&path), self.writable, false)
            .or_else(|_| self.anchor.try_clone())
            .map_err(|e| Error::io("lock file", &self.label, e))?;
        Ok(file)
    }

    fn return_descriptor(&self, file: File) {
        let mut idle = lock_unpoisoned(&self.idle);
        if idle.len() < 16 {
            idle.push(file);
        }
    }

    fn acquire(&self, mode: LockMode, timeout: Duration, op: &'static str) -> Result<(File, u64)> {
        let file = self.descriptor()?;
        let fd = file.as_raw_fd();
        match sequence(fd, mode, self.writable, false, &|| true) {
            Ok(Some(byte)) => return Ok((file, byte)),
            Ok(None) => {}
            Err(e) => return Err(Error::io("lock file", &self.label, e)),
        }
        if timeout.is_zero() {
            self.return_descriptor(file);
            return Err(self.locked(op, Duration::ZERO));
        }
        self.wait(file, mode, timeout, op)
    }

    /// Waits in the kernel on a helper thread, so the busy timeout can end the wait.
    fn wait(
        &self,
        file: File,
        mode: LockMode,
        timeout: Duration,
        op: &'static str,
    ) -> Result<(File, u64)> {
        let start = Instant::now();
        let twin = file
            .try_clone()
            .map_err(|e| Error::io("lock file", &self.label, e))?;
        let shared = Arc::new((Mutex::new(Wait::Waiting), Condvar::new()));
        let theirs = shared.clone();
        let writable = self.writable;
        let spawned = std::thread::Builder::new()
            .name("beadstore-lock-wait".into())
            .spawn(move || {
                let fd = file.as_raw_fd();
                let still_wanted = || matches!(*lock_unpoisoned(&theirs.0), Wait::Waiting);
                let result = sequence(fd, mode, writable, true, &still_wanted);
                let mut state = lock_unpoisoned(&theirs.0);
                match *state {
                    Wait::Waiting => {
                        *state = Wait::Done(result.map(|got| got.map(|byte| (file, byte))));
                        theirs.1.notify_all();
                    }
                    // Given up on: whatever was taken goes with the descriptor.
                    _ => unlock_all(fd),
                }
            });
        if let Err(e) = spawned {
            return Err(Error::io("lock wait thread", &self.label, e));
        }
        let (state, woken) = &*shared;
        let mut guard = lock_unpoisoned(state);
        loop {
            match std::mem::replace(&mut *guard, Wait::Waiting) {
                Wait::Done(Ok(Some(got))) => return Ok(got),
                Wait::Done(Ok(None)) => return Err(self.locked(op, start.elapsed())),
                Wait::Done(Err(e)) => return Err(Error::io("lock file", &self.label, e)),
                Wait::Waiting | Wait::Abandoned => {}
            }
            let waited = start.elapsed();
            if waited >= timeout {
                *guard = Wait::Abandoned;
                drop(guard);
                // The helper may hold PENDING while it waits for the rest: let it go now.
                unlock_all(twin.as_raw_fd());
                return Err(self.locked(op, waited));
            }
            guard = woken
                .wait_timeout(guard, timeout - waited)
                .map(|(g, _)| g)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// Turns this thread's lock (on `fd`, held in `held` mode) into a `want` lock. Rare (a
    /// write inside a snapshot), so it retries briefly instead of waiting on a helper thread:
    /// the helper would share the descriptor whose read byte the outer call still needs. A
    /// reader that becomes a writer must still see the file as it is: when another process
    /// committed since the read began, the upgrade is refused with `Error::Busy` (SQLite's
    /// `SQLITE_BUSY_SNAPSHOT`), as writing from the older view would lose that commit.
    fn upgrade(
        &self,
        fd: RawFd,
        held: LockMode,
        want: LockMode,
        timeout: Duration,
        op: &'static str,
    ) -> Result<()> {
        let start = Instant::now();
        let io = |e| Error::io("lock file", &self.label, e);
        if held == LockMode::Read {
            match poll_reserved_for_reader(fd, timeout).map_err(io)? {
                ReaderUpgrade::Got => {}
                ReaderUpgrade::TimedOut => return Err(self.locked(op, start.elapsed())),
                ReaderUpgrade::Yielded => return Err(Error::Busy { op }),
            }
            if !self.unchanged() {
                set_lock(fd, libc::F_UNLCK, RESERVED, 2, false).map_err(io)?;
                return Err(Error::Busy { op });
            }
        }
        if want == LockMode::Exclusive
            && !take_exclusive(fd, timeout.saturating_sub(start.elapsed())).map_err(io)?
        {
            if held == LockMode::Read {
                set_lock(fd, libc::F_UNLCK, RESERVED, 2, false).map_err(io)?;
            }
            return Err(self.locked(op, start.elapsed()));
        }
        Ok(())
    }

    /// True when the file is as this process last saw it (so a thread may join a read lock
    /// taken a moment ago without missing another process's commit).
    fn unchanged(&self) -> bool {
        let seen = lock_unpoisoned(&self.seen);
        match (&*seen, self.capture()) {
            (Seen::Known(state), Ok(now)) => **state == now,
            _ => false,
        }
    }

    /// True when no other thread of this process is inside the lock the calling thread holds.
    pub(crate) fn held_by_this_thread_alone(&self) -> bool {
        let id = self as *const FileGate as usize;
        let st = lock_unpoisoned(&self.proc);
        st.held.is_some() && st.holders == holding(id)
    }

    /// True when the database file is no longer as this process's engine last saw it (its
    /// last sync, or its own last write): its size or time moved since, so pages the engine
    /// read may come from another file. `None` when a failure inside the hold left what was
    /// seen unknown: nothing vouches for the file then.
    pub(crate) fn moved_since_seen(&self) -> Option<bool> {
        let seen = lock_unpoisoned(&self.seen);
        let state = match &*seen {
            Seen::Known(state) => state,
            Seen::Unknown => return None,
            Seen::Never => return Some(false),
        };
        Some(self.anchor.metadata().is_ok_and(|now| {
            now.len() != state.size || (now.mtime(), now.mtime_nsec()) != state.modified
        }))
    }

    /// True when the database file has the size, modification time (in nanoseconds) and
    /// header this process last recorded of it (the file its last lock judged, or its own last
    /// write).
    pub(crate) fn is_as_seen(&self, size: u64, modified_ns: i128, header: &[u8; 100]) -> bool {
        let seen = lock_unpoisoned(&self.seen);
        let Seen::Known(state) = &*seen else {
            return false;
        };
        let (sec, nsec) = state.modified;
        state.size == size
            && i128::from(sec) * 1_000_000_000 + i128::from(nsec) == modified_ns
            && state.header_len == header.len()
            && state.header == *header
    }

    /// True when this process holds the file exclusively now (a checkpoint or another rewrite
    /// of some thread): the database file may be changing under this process's own hand. The
    /// mode only rises while a holder stays, so a holder asking late sees any earlier rewrite.
    pub(crate) fn held_exclusively(&self) -> bool {
        let st = lock_unpoisoned(&self.proc);
        st.held
            .as_ref()
            .is_some_and(|h| h.mode == LockMode::Exclusive)
    }

    /// How many frames the `-wal` holds now, committed or not (0 without one).
    pub(crate) fn wal_frames(&self) -> u64 {
        self.wal_shape()
            .map_or(0, |(len, frame)| (len - 32) / frame)
    }

    /// The `-wal`'s length and frame size, when it has a header.
    fn wal_shape(&self) -> Option<(u64, u64)> {
        let meta = std::fs::metadata(&self.wal_path).ok()?;
        let mut header = [0u8; 32];
        if meta.len() < 32 || !self.read_wal_ends(&meta, &mut header, None).ok()? {
            return None;
        }
        Some((meta.len(), frame_size(&header)?))
    }

    /// Called as this process takes the file exclusively, before it may rewrite the database
    /// file (a checkpoint, `close`, `VACUUM`): moves the `-wal`'s modification time, so that a
    /// rewrite cut short (a kill, a full disk), which leaves the `-wal` as it was and part of its
    /// pages in the database file, is told by other processes from a copy over the file and
    /// never makes them discard those committed frames. What this process saw of the `-wal`
    /// moves along (and only that: a change of the database file it has not seen yet still
    /// counts), so that its own mark is not taken for another process's work.
    fn mark_log_for_rewrite(&self) {
        let Ok(meta) = std::fs::metadata(&self.wal_path) else {
            return;
        };
        // Without a frame there is nothing a rewrite cut short could lose.
        if meta.len() <= 32 {
            return;
        }
        let mut seen = lock_unpoisoned(&self.seen);
        let before = self.capture().ok();
        let moved = {
            let cached = self.cached_wal(meta.ino());
            cached
                .as_ref()
                .is_some_and(|(_, f)| move_modified_time(f, &self.wal_path, &meta))
        };
        if !moved {
            tracing::warn!(target: "beadstore::locks", path = %self.label, "could not move the -wal's time before a rewrite: a rewrite cut short would look like a copy over the file to other processes");
        }
        if let (Seen::Known(state), Some(before)) = (&mut *seen, before) {
            if state.wal == before.wal {
                match self.capture() {
                    Ok(after) => state.wal = after.wal,
                    Err(_) => *seen = Seen::Unknown,
                }
            }
        }
    }

    /// A descriptor of the `-wal` whose state is `wal` (the cached one when it is that inode).
    fn wal_descriptor(&self, wal: Option<&WalState>) -> Option<File> {
        let cached = self.cached_wal(wal?.inode);
        cached.as_ref().and_then(|(_, f)| f.try_clone().ok())
    }

    /// The cached `-wal` descriptor, opened anew when the cache holds another inode than `ino`.
    fn cached_wal(&self, ino: u64) -> MutexGuard<'_, Option<(u64, File)>> {
        let mut cached = lock_unpoisoned(&self.wal_file);
        if cached.as_ref().map(|(i, _)| *i) != Some(ino) {
            *cached = File::open(&self.wal_path).ok().map(|f| (ino, f));
        }
        cached
    }

    /// Reads the `-wal`'s header and, when `tail` is asked for and the file holds whole frames,
    /// the header of its last one, through a descriptor kept for the inode `meta` describes.
    /// `false` when no descriptor could be had.
    fn read_wal_ends(
        &self,
        meta: &std::fs::Metadata,
        header: &mut [u8; 32],
        tail: Option<&mut [u8; 24]>,
    ) -> std::io::Result<bool> {
        let cached = self.cached_wal(meta.ino());
        let Some((_, f)) = cached.as_ref() else {
            return Ok(false);
        };
        if read_up_to(f, header)? < header.len() {
            return Ok(false);
        }
        if let (Some(tail), Some(frame)) = (tail, frame_size(header)) {
            let frames = (meta.len() - 32) / frame;
            if frames > 0 {
                read_up_to_at(f, tail, 32 + (frames - 1) * frame)?;
            }
        }
        Ok(true)
    }

    /// Cuts the `-wal` back to its last commit, `max_frame` frames (what this process's
    /// writer knows right after a transaction began or ended), when frames of a transaction that
    /// did not commit lie past it. Call under the write lock. No reader uses those frames; cut,
    /// every later commit changes the file's size or its last frame, so that the other
    /// processes' check never mistakes a commit for the leftovers it overwrote.
    pub(crate) fn trim_wal(&self, max_frame: u64) -> Result<()> {
        let Some((len, frame)) = self.wal_shape() else {
            return Ok(());
        };
        let committed = 32 + max_frame * frame;
        if len <= committed {
            return Ok(());
        }
        tracing::debug!(target: "beadstore::locks", path = %self.label, len, committed, "cutting uncommitted frames off the WAL");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.wal_path)
            .and_then(|f| f.set_len(committed))
            .map_err(|e| Error::io("trim WAL", &self.wal_path, e))
    }

    /// Forgets what the file looked like: the next operation refreshes the engine state. For
    /// when this process's own write or checkpoint failed half-way.
    pub(crate) fn forget(&self) {
        *lock_unpoisoned(&self.seen) = Seen::Unknown;
    }

    /// A lock's refusal of a file another program rewrote (`rewritten_by_another_program`).
    fn rewritten_by_another_program(&self, op: &'static str, message: String) -> Error {
        Error::Corrupt {
            op,
            path: self.label.clone().into(),
            message,
        }
    }

    fn locked(&self, op: &'static str, waited: Duration) -> Error {
        Error::Locked {
            op,
            path: self.label.clone().into(),
            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn capture(&self) -> std::io::Result<FileState> {
        let mut header = [0u8; 100];
        let header_len = read_up_to(&self.anchor, &mut header)?;
        let db = self.anchor.metadata()?;
        let wal = match std::fs::metadata(&self.wal_path) {
            Ok(meta) => {
                let mut header = [0u8; 32];
                let mut tail = [0u8; 24];
                if meta.len() >= 32 {
                    self.read_wal_ends(&meta, &mut header, Some(&mut tail))?;
                }
                Some(WalState {
                    inode: meta.ino(),
                    size: meta.len(),
                    modified: (meta.mtime(), meta.mtime_nsec()),
                    header,
                    tail,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(FileState {
            header,
            header_len,
            size: db.len(),
            modified: (db.mtime(), db.mtime_nsec()),
            wal,
        })
    }
}

/// What the helper thread has done.
enum Wait {
    Waiting,
    Abandoned,
    Done(std::io::Result<Option<(File, u64)>>),
}

thread_local! {
    /// How deep this thread is in locks of each file (by gate address).
    static HOLDING: RefCell<Vec<(usize, usize)>> = const { RefCell::new(Vec::new()) };
    static RANDOM: Cell<u64> = const { Cell::new(0) };
}

fn holding(gate: usize) -> usize {
    HOLDING.with(|h| {
        h.borrow()
            .iter()
            .find(|(g, _)| *g == gate)
            .map_or(0, |(_, depth)| *depth)
    })
}

fn enter(gate: usize) {
    HOLDING.with(|h| {
        let mut h = h.borrow_mut();
        match h.iter_mut().find(|(g, _)| *g == gate) {
            Some((_, depth)) => *depth += 1,
            None => h.push((gate, 1)),
        }
    });
}

fn leave(gate: usize) {
    HOLDING.with(|h| {
        let mut h = h.borrow_mut();
        if let Some((_, depth)) = h.iter_mut().find(|(g, _)| *g == gate) {
            *depth = depth.saturating_sub(1);
        }
        h.retain(|(_, depth)| *depth > 0);
    });
}

/// True when a lock held in `held` mode serves a request for `want`.
fn covers(held: LockMode, want: LockMode) -> bool {
    held >= want
}

/// How long after the process took the file its other threads may still join it.
const JOIN_WINDOW: Duration = Duration::from_millis(100);

/// The lock this process holds on the file.
#[derive(Debug)]
struct ProcLock {
    mode: LockMode,
    file: File,
    #[allow(dead_code)]
    byte: u64,
}

/// What this process holds of the file, shared by its threads and stores.
#[derive(Debug)]
struct ProcHold {
    held: Option<ProcLock>,
    /// Operations (of any thread) inside the lock.
    holders: usize,
    /// When the process took the file.
    since: Instant,
    /// Set while a thread takes or upgrades the lock: the others wait for it.
    busy: bool,
    /// The thread that took the file has compared it: others may join.
    synced: bool,
    /// A holder asked to write: the file is recorded as this process's doing at release.
    wrote: bool,
    /// Threads waiting on `released`.
    waiters: usize,
    /// Of those, the ones that want to write: while there are any, no thread joins a read
    /// lock, so that the process lets go and a writer gets its turn.
    writers_waiting: usize,
}

impl Default for ProcHold {
    fn default() -> Self {
        ProcHold {
            held: None,
            holders: 0,
            since: Instant::now(),
            busy: false,
            synced: false,
            wrote: false,
            waiters: 0,
            writers_waiting: 0,
        }
    }
}

/// The file locked for one operation; released when dropped. Tied to the thread that took it.
pub(crate) struct OpLock {
    gate: Arc<FileGate>,
    id: usize,
    /// This lock took the file for the process: it compares the file (`sync`).
    first: bool,
    _same_thread: PhantomData<*const ()>,
}

impl OpLock {
    fn new(gate: Arc<FileGate>, id: usize, first: bool) -> Self {
        enter(id);
        OpLock {
            gate,
            id,
            first,
            _same_thread: PhantomData,
        }
    }

    /// Lets the process's other threads join without comparing the file (a handle that no
    /// longer follows the file at its path).
    pub(crate) fn settle(&self) {
        if self.first {
            self.gate.mark_synced();
        }
    }

    /// Compares the file with what this process last saw of it and, when another process
    /// changed it, runs `refresh` (the engine database re-reads the WAL) before the operation
    /// goes on. Only the lock that took the file checks; nested ones ride on it. `opened` is the
    /// file as it was just before an engine database was opened under this very lock.
    pub(crate) fn sync(
        &self,
        opened: Option<&FileMark>,
        refresh: impl FnOnce() -> Result<()>,
    ) -> Result<Synced> {
        if !self.first {
            return Ok(Synced::Unchanged);
        }
        let result = self.compare(opened, refresh);
        // Others join only a lock whose holder brought the engine up to date; after a failed
        // check they wait for it to let go, and the next holder checks again.
        if result.is_ok() {
            self.gate.mark_synced();
        }
        result
    }

    /// The file as it is now, taken under this lock before an engine database is opened on
    /// it: other processes' writers go on meanwhile, and what they commit after the mark is
    /// refreshed into the new engine database by `sync`.
    pub(crate) fn mark(&self) -> FileMark {
        FileMark(self.gate.capture().ok().map(Box::new))
    }

    fn compare(
        &self,
        opened: Option<&FileMark>,
        refresh: impl FnOnce() -> Result<()>,
    ) -> Result<Synced> {
        let gate = &self.gate;
        let mut seen = lock_unpoisoned(&gate.seen);
        let now = gate
            .capture()
            .map_err(|e| Error::io("check database file", &gate.label, e))?;
        let refresh_needed = match (&*seen, opened) {
            (Seen::Known(state), _) => **state != now,
            (Seen::Never, Some(FileMark(Some(before)))) => **before != now,
            (Seen::Unknown | Seen::Never, _) => true,
        };
        let change = match &*seen {
            Seen::Known(before) if refresh_needed => {
                Some(change::classify(before, &now, &gate.anchor, || {
                    gate.wal_descriptor(now.wal.as_ref())
                }))
            }
            _ => None,
        };
        // What was seen stays as it was on a refusal, so that every operation until the
        // file is usable again finds the same change and fails the same way.
        match change {
            // A copy still going on (or cut short): refreshed onto it, the engine would answer
            // from the pages it still has with pages of the half-written file. The store
            // explains the failure as a replacement; the next operation looks again.
            Some(Change::BeingRewritten) => {
                return Err(gate.rewritten_by_another_program(
                    REWRITTEN_BY_ANOTHER_PROGRAM,
                    "the database file is being rewritten (empty, or shorter than its header says)"
                        .into(),
                ))
            }
            // Refreshed onto it, the engine would read the old content's frames over the new
            // file's pages. The store reopens the file with the `-wal` discarded instead (it
            // explains this failure as a replacement and follows it). A fresh engine
            // (`opened`) has read the file already: refusing its refresh would change nothing.
            Some(Change::OverwrittenBeneathLog) if opened.is_none() => {
                return Err(gate.rewritten_by_another_program(
                    OVERWRITTEN_BENEATH_LOG,
                    "the database file was overwritten while its -wal holds frames written \
                     against the old content"
                        .into(),
                ))
            }
            _ => {}
        }
        let synced = match change {
            _ if !refresh_needed => Synced::Unchanged,
            Some(Change::Peer) => Synced::PeerWrote,
            _ => Synced::Refreshed,
        };
        if refresh_needed {
            *seen = Seen::Unknown;
            if let Err(e) = refresh() {
                // The file moved while the engine re-read it (a copy over it began meanwhile),
                // or it was not whole to begin with (a copy under way that nothing here could
                // judge: what this process saw was unknown, or was caught mid-copy itself).
                let rewritten = !now.is_whole()
                    || gate
                        .capture()
                        .map_or(true, |after| !after.same_database_file(&now));
                return Err(if rewritten {
                    gate.rewritten_by_another_program(
                        REWRITTEN_BY_ANOTHER_PROGRAM,
                        format!("the database file changed while it was re-read: {e}"),
                    )
                } else {
                    e
                });
            }
            gate.generation.fetch_add(1, Ordering::AcqRel);
            tracing::debug!(target: "beadstore::locks", path = %gate.label, "another process changed the file: engine state refreshed");
        }
        *seen = Seen::Known(Box::new(now));
        Ok(synced)
    }
}

/// The file just before an engine database was opened on it (`OpLock::mark`).
pub(crate) struct FileMark(Option<Box<FileState>>);

/// What `OpLock::sync` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Synced {
    /// The file is as this process last left it (or the lock rode on an outer one).
    Unchanged,
    /// Another process committed, checkpointed (to the end or cut short) or restarted the
    /// log: the engine state was refreshed, and the database file as it is now is that
    /// process's regular work.
    PeerWrote,
    /// The engine state was refreshed, with no evidence of who changed the file.
    Refreshed,
}

impl Drop for OpLock {
    fn drop(&mut self) {
        leave(self.id);
        let mut st = lock_unpoisoned(&self.gate.proc);
        self.gate.leave_lock(&mut st);
    }
}

impl FileGate {
    /// One holder fewer; the last one lets the file go.
    fn leave_lock(&self, st: &mut ProcHold) {
        st.holders = st.holders.saturating_sub(1);
        if st.holders == 0 {
            if let Some(held) = st.held.take() {
                if st.wrote {
                    // Still under the lock: the file as it is now is this process's own doing.
                    self.record_own(held.mode == LockMode::Exclusive);
                }
                unlock_all(held.file.as_raw_fd());
                self.return_descriptor(held.file);
            }
            st.synced = false;
            st.wrote = false;
        }
        self.wake(st);
    }

    fn mark_synced(&self) {
        let mut st = lock_unpoisoned(&self.proc);
        st.synced = true;
        self.wake(&st);
    }

    /// Wakes the threads waiting for the process's lock to change, if any (a wake-up is a
    /// system call even when nobody waits). `st` is the locked state, so no waiter is missed.
    fn wake(&self, st: &ProcHold) {
        if st.waiters > 0 {
            self.released.notify_all();
        }
    }

    /// After a write of this process, still under its lock: the file as it is now is known.
    /// A hold short of exclusive only appends to the `-wal` and leaves the database file as it
    /// was; when that file moved all the same, another program wrote it without the protocol
    /// (a copy over it), which the engine has not seen: the next operation refreshes instead.
    fn record_own(&self, rewrote: bool) {
        let mut seen = lock_unpoisoned(&self.seen);
        let next = match (self.capture(), &*seen) {
            (Err(_), _) => Seen::Unknown,
            (Ok(now), Seen::Known(before)) if !rewrote && !before.same_database_file(&now) => {
                Seen::Unknown
            }
            (Ok(now), _) => Seen::Known(Box::new(now)),
        };
        *seen = next;
    }
}

/// Runs the lock steps for `mode` on `fd`; `Ok(None)` when a step conflicts without `wait` (or
/// `still_wanted` turned false). Whatever was taken is released again on failure. Returns the
/// SHARED byte taken (a reader's random one, a writer's first one; 0 for an exclusive lock and
/// for a read-only descriptor's shared lock).
fn sequence(
    fd: RawFd,
    mode: LockMode,
    writable: bool,
    wait: bool,
    still_wanted: &dyn Fn() -> bool,
) -> std::io::Result<Option<u64>> {
    let gave_up = |fd| {
        unlock_all(fd);
        Ok(None)
    };
    match mode {
        LockMode::Exclusive => {
            // Uncontended, one call takes every lock byte (SQLite's own exclusive lock).
            // Waiting goes step by step in the order every mode takes them (RESERVED, then
            // PENDING, then SHARED bytes), so that no two waiters hold what the other needs;
            // PENDING makes new readers queue behind the checkpoint instead of starving it.
            if !wait && set_lock(fd, libc::F_WRLCK, PENDING, ALL_BYTES, false)? {
                return Ok(Some(0));
            }
            if !set_lock(fd, libc::F_WRLCK, RESERVED, 2, wait)? || !still_wanted() {
                return gave_up(fd);
            }
            if !set_lock(fd, libc::F_WRLCK, PENDING, 1, wait)? || !still_wanted() {
                return gave_up(fd);
            }
            if !set_lock(fd, libc::F_WRLCK, SHARED_FIRST, SHARED_SIZE, wait)? || !still_wanted() {
                return gave_up(fd);
            }
            Ok(Some(0))
        }
        LockMode::Write => {
            // RESERVED and the first SHARED byte, in one call: other writers, checkpoints and
            // SQLite wait; readers (who never pick that byte) do not.
            if !set_lock(fd, libc::F_WRLCK, RESERVED, 2, wait)? || !still_wanted() {
                return gave_up(fd);
            }
            Ok(Some(SHARED_FIRST))
        }
        LockMode::Read => {
            if !set_lock(fd, libc::F_RDLCK, PENDING, 1, wait)? || !still_wanted() {
                return gave_up(fd);
            }
            let byte = if writable {
                let mut got = None;
                for _ in 0..READER_TRIES {
                    let byte = reader_byte();
                    if set_lock(fd, libc::F_WRLCK, byte, 1, false)? {
                        got = Some(byte);
                        break;
                    }
                }
                match got {
                    Some(byte) => byte,
                    None if wait => {
                        let byte = reader_byte();
                        if !set_lock(fd, libc::F_WRLCK, byte, 1, true)? || !still_wanted() {
                            return gave_up(fd);
                        }
                        byte
                    }
                    None => return gave_up(fd),
                }
            } else {
                if !set_lock(fd, libc::F_RDLCK, SHARED_FIRST, SHARED_SIZE, wait)? || !still_wanted()
                {
                    return gave_up(fd);
                }
                0
            };
            set_lock(fd, libc::F_UNLCK, PENDING, 1, false)?;
            Ok(Some(byte))
        }
    }
}

/// A random byte of the SHARED range for a reader, never the writer's first one.
fn reader_byte() -> u64 {
    SHARED_FIRST + 1 + random_below(SHARED_SIZE - 1)
}

/// From a write lock on `fd` to an exclusive one: PENDING (new readers now wait), then the
/// whole SHARED range once the readers inside are done, within `patience` (one try when
/// zero). On `false` the write lock is as it was.
fn take_exclusive(fd: RawFd, patience: Duration) -> std::io::Result<bool> {
    let start = Instant::now();
    if !poll_lock(fd, PENDING, 1, patience)? {
        return Ok(false);
    }
    if !poll_lock(
        fd,
        SHARED_FIRST,
        SHARED_SIZE,
        patience.saturating_sub(start.elapsed()),
    )? {
        set_lock(fd, libc::F_UNLCK, PENDING, 1, false)?;
        return Ok(false);
    }
    Ok(true)
}

/// How a read lock's upgrade to the writer's bytes ended.
enum ReaderUpgrade {
    Got,
    TimedOut,
    /// Another process claims the whole file (PENDING), waiting for this reader's byte.
    Yielded,
}

/// Write-locks RESERVED and the first SHARED byte for a read lock being upgraded, trying again
/// with short pauses for at most `patience`, as `poll_lock` does; but gives up at once when
/// another process holds PENDING to take the whole file. That process waits for this reader's
/// byte while this one would wait for its RESERVED: each would hold the other up until one's
/// patience ran out, with every other process queued behind the claim meanwhile. (SQLite's
/// reader turning writer gets `SQLITE_BUSY` at once there too.)
fn poll_reserved_for_reader(fd: RawFd, patience: Duration) -> std::io::Result<ReaderUpgrade> {
    let answer = poll(patience, || {
        if set_lock(fd, libc::F_WRLCK, RESERVED, 2, false)? {
            return Ok(Some(ReaderUpgrade::Got));
        }
        Ok(claimed_by_another(fd)?.then_some(ReaderUpgrade::Yielded))
    })?;
    Ok(answer.unwrap_or(ReaderUpgrade::TimedOut))
}

/// True when another open file description holds PENDING write-locked: a process taking the
/// whole file (a checkpoint), which waits for every reader to leave. (Readers' brief read locks
/// on PENDING do not count.)
#[cfg(any(target_os = "linux", target_os = "android"))]
fn claimed_by_another(fd: RawFd) -> std::io::Result<bool> {
    let mut lock = lock_request(libc::F_RDLCK, PENDING, 1);
    // SAFETY: the descriptor is open for the duration of the call and `lock` is valid.
    if unsafe { libc::fcntl(fd, libc::F_OFD_GETLK, &mut lock) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(libc::c_int::from(lock.l_type) != libc::F_UNLCK)
}

/// Write-locks `len` bytes from `start` on `fd`, trying again with short pauses for at most
/// `patience`. Used where the caller already holds bytes that a helper thread's clean-up
/// would drop with the rest (an upgrade), and where the wait is for operations already
/// running (new readers queue behind PENDING).
fn poll_lock(fd: RawFd, start: u64, len: u64, patience: Duration) -> std::io::Result<bool> {
    let got = poll(patience, || {
        Ok(set_lock(fd, libc::F_WRLCK, start, len, false)?.then_some(()))
    })?;
    Ok(got.is_some())
}

/// Runs `attempt` until it gives an answer, pausing between tries (50 us, doubling up to 2 ms)
/// for at most `patience`; `None` when the patience ran out first.
fn poll<T>(
    patience: Duration,
    mut attempt: impl FnMut() -> std::io::Result<Option<T>>,
) -> std::io::Result<Option<T>> {
    let began = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        if let Some(answer) = attempt()? {
            return Ok(Some(answer));
        }
        let waited = began.elapsed();
        if waited >= patience {
            return Ok(None);
        }
        std::thread::sleep(pause.min(patience - waited));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

fn unlock_all(fd: RawFd) {
    let _ = set_lock(fd, libc::F_UNLCK, PENDING, ALL_BYTES, false);
}

/// One `fcntl` OFD lock call; `Ok(false)` when another holder conflicts (non-blocking only).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_lock(
    fd: RawFd,
    kind: libc::c_int,
    start: u64,
    len: u64,
    wait: bool,
) -> std::io::Result<bool> {
    let mut lock = lock_request(kind, start, len);
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    loop {
        // SAFETY: the descriptor is open for the duration of the call and `lock` is valid.
        let rc = unsafe { libc::fcntl(fd, cmd, &mut lock) };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(code) if code == libc::EINTR => continue,
            Some(code) if !wait && (code == libc::EAGAIN || code == libc::EACCES) => {
                return Ok(false)
            }
            _ => return Err(err),
        }
    }
}

/// The `flock` record asking for (or about) a lock of `kind` on `len` bytes from `start`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn lock_request(kind: libc::c_int, start: u64, len: u64) -> libc::flock {
    // SAFETY: `flock` is plain data; zeroed is a valid value that is then filled in.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = start as _;
    lock.l_len = len as _;
    lock.l_pid = 0;
    lock
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
compile_error!(
    "beadstore needs open-file-description locks (Linux) to share a database between processes"
);

fn random_below(n: u64) -> u64 {
    RANDOM.with(|state| {
        let mut x = state.get();
        if x == 0 {
            let clock = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            let seed =
                clock ^ u64::from(std::process::id()).rotate_left(32) ^ (&x as *const u64 as u64);
            x = seed | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x % n
    })
}

/// Moves the modification time of `file` (at `path`) away from the one `meta` holds: a step
/// later, the smallest the file system keeps (nanoseconds on most Linux file systems, 100 ns on
/// NTFS, a second or two on older ones), which needs the file's owner; else the current time,
/// through a descriptor open for writing, waiting for the clock to tick past the old time (a
/// few milliseconds at most). False when the time could not be moved.
fn move_modified_time(file: &File, path: &Path, meta: &std::fs::Metadata) -> bool {
    let old = (meta.mtime(), meta.mtime_nsec());
    let moved = |f: &File| {
        f.metadata()
            .is_ok_and(|m| (m.mtime(), m.mtime_nsec()) != old)
    };
    if let Ok(modified) = meta.modified() {
        for step in [1, 100, 1_000, 1_000_000, 1_000_000_000, 2_000_000_000] {
            let times =
                std::fs::FileTimes::new().set_modified(modified + Duration::from_nanos(step));
            match file.set_times(times) {
                Ok(()) if moved(file) => return true,
                Ok(()) => {}
                Err(_) => break,
            }
        }
    }
    let Ok(writable) = std::fs::OpenOptions::new().write(true).open(path) else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_millis(20);
    loop {
        // SAFETY: a null `times` asks for the current time; nothing is read or written
        // through it.
        let set = unsafe { libc::futimens(writable.as_raw_fd(), std::ptr::null()) } == 0;
        if !set || moved(&writable) {
            return set;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn read_up_to(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    read_up_to_at(file, buf, 0)
}

/// Reads `buf.len()` bytes from `offset`, or as many as the file has there.
fn read_up_to_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn open_descriptor(path: &Path, write: bool, create: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .create(create)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

fn file_is_writable(file: &File) -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    flags >= 0 && (flags & libc::O_ACCMODE) == libc::O_RDWR
}

fn is_permission(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EROFS)
}

fn not_found_or_io(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::not_found(NotFoundKind::Database, path.display().to_string())
    } else {
        Error::io("open for locking", path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modified(meta: &std::fs::Metadata) -> (i64, i64) {
        (meta.mtime(), meta.mtime_nsec())
    }

    /// The mark before a rewrite must move the time however quickly rewrites follow each other
    /// (the kernel's clock ticks every few milliseconds).
    #[test]
    fn the_wal_time_moves_on_every_mark_even_within_one_clock_tick() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beads.db-wal");
        std::fs::write(&path, [0u8; 64]).unwrap();
        let file = File::open(&path).unwrap();
        for _ in 0..100 {
            let before = file.metadata().unwrap();
            assert!(move_modified_time(&file, &path, &before));
            let after = file.metadata().unwrap();
            assert_ne!(modified(&after), modified(&before));
        }
    }
}
