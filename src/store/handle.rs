//! An open database with its connections: one writer and a pool of readers.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use std::sync::Arc;

use crate::engine::file_lock::{FileGate, FileMark, LockMode, OpLock, Synced};
use crate::engine::{Checkpoint, EngineConn, EngineDb};
use crate::error::{Error, Result};

use crate::freshness::Snapshot;
use crate::registry::{self, Registration};

/// How many idle reader connections are kept for reuse.
const IDLE_READERS: usize = 8;

/// The `-wal` size, in frames, past which a write checkpoints it. Every process that opens the
/// file, and every store that follows another process's commit, reads the whole `-wal`: it is
/// kept short (SQLite's default is 1,000 frames, read by no one since SQLite keeps an index in
/// shared memory).
pub(crate) const CHECKPOINT_FRAMES: u64 = 256;

/// How long a checkpoint waits for other processes' readers (already running; new ones queue
/// behind it) before leaving the work to a later write.
pub(crate) const CHECKPOINT_PATIENCE: Duration = Duration::from_millis(500);

/// One open database. Dropping it closes every connection; then the engine releases the file.
pub(crate) struct Handle {
    writer: Mutex<EngineConn>,
    /// The thread holding the writer connection (0: none), to refuse a nested write at once.
    writer_thread: AtomicU64,
    idle_readers: Mutex<Vec<EngineConn>>,
    busy_timeout: Duration,
    closed: AtomicBool,
    wal_frozen: AtomicBool,
    /// Set once the file at the path is no longer this handle's: its engine state is kept as
    /// it was (never refreshed from the `-wal` at the path, which may be another file's now).
    detached: AtomicBool,
    // Declared after the connections so they close first, then the engine database.
    db: EngineDb,
    /// Per-operation locks on the file; `None` in memory.
    gate: Option<Arc<FileGate>>,
    _registration: Option<Registration>,
    /// What the read-write open that made this handle did to the schema (`None` read-only).
    pub(crate) schema_action: Option<crate::schema::SchemaAction>,
}

impl Handle {
    pub(crate) fn new(
        db: EngineDb,
        busy_timeout: Duration,
        gate: Option<Arc<FileGate>>,
        registration: Option<Registration>,
    ) -> Result<Self> {
        let writer = db.connect(busy_timeout)?;
        if let Some(gate) = &gate {
            writer.set_generation(gate.generation());
        }
        Ok(Handle {
            writer: Mutex::new(writer),
            writer_thread: AtomicU64::new(0),
            idle_readers: Mutex::new(Vec::new()),
            busy_timeout,
            closed: AtomicBool::new(false),
            wal_frozen: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            db,
            gate,
            _registration: registration,
            schema_action: None,
        })
    }

    /// Locks the file for one operation (nothing in memory) and, when another process changed
    /// it since this process last looked, refreshes the engine state first.
    pub(crate) fn lock_file(&self, mode: LockMode, op: &'static str) -> Result<Option<OpLock>> {
        self.lock_file_within(mode, self.busy_timeout, op)
    }

    /// `lock_file`, waiting at most `timeout`.
    pub(crate) fn lock_file_within(
        &self,
        mode: LockMode,
        timeout: Duration,
        op: &'static str,
    ) -> Result<Option<OpLock>> {
        let Some(gate) = &self.gate else {
            return Ok(None);
        };
        let lock = gate.lock_as(mode, mode >= LockMode::Write, timeout, op)?;
        if self.detached.load(Ordering::Acquire) {
            lock.settle();
        } else {
            let synced = lock.sync(None, || self.db.reload_from_disk())?;
            if synced == Synced::PeerWrote {
                self.vouch_for_peer_write(gate);
            }
        }
        Ok(Some(lock))
    }

    /// Another process wrote through the lock protocol and changed the database file (a
    /// checkpoint, maybe cut short): the file as it is now is recorded like an own write, so
    /// that the freshness check does not take it for a copy over the file, and never discards
    /// the `-wal` a checkpoint cut short leaves. The lock judged it (`Synced::PeerWrote`): a
    /// whole file under a `-wal` that moved, or a file whose page 1 is one of the `-wal`'s
    /// images of page 1; only that very file is vouched for.
    fn vouch_for_peer_write(&self, gate: &FileGate) {
        let Some(id) = self.file_id() else {
            return;
        };
        let path = gate.path();
        let pin = registry::pin(path).ok().flatten();
        if let Ok(Some(now)) = Snapshot::take(path, pin.as_ref()) {
            // Still the file the lock judged: a copy (which takes no lock) may have begun
            // since, and must not be vouched for.
            if now.stamp.id() == id
                && now.header.is_some_and(|header| {
                    gate.is_as_seen(now.stamp.size, now.stamp.mtime_ns, &header)
                })
            {
                registry::record_own_write(id, now);
            }
        }
    }

    /// For a read that still holds its lock, after it ran: true when the database file changed
    /// since the engine last saw it, and not by this process. Other processes cannot rewrite
    /// it while the lock is held, and this process rewrites it only while holding it
    /// exclusively (a checkpoint, through which the engine keeps the process's readers
    /// consistent); that hold lasts while the read is inside it, so it is asked after the file
    /// is. What is left is a copy into the same inode, which takes no lock. `None` when a
    /// failed write of another thread in the same hold left the file's state unknown.
    pub(crate) fn overwritten_under_lock(&self) -> Option<bool> {
        let Some(gate) = &self.gate else {
            return Some(false);
        };
        match gate.moved_since_seen() {
            Some(false) => Some(false),
            _ if gate.held_exclusively() => Some(false),
            moved => moved,
        }
    }

    /// The next operation re-reads the file (after a checkpoint of this process failed).
    pub(crate) fn forget_file_state(&self) {
        if let Some(gate) = &self.gate {
            gate.forget();
        }
    }

    /// Frames in the `-wal` now (0 in memory).
    pub(crate) fn wal_frames(&self) -> u64 {
        self.gate.as_ref().map_or(0, |g| g.wal_frames())
    }

    /// After a write operation, with the writer and its lock still held: leaves the `-wal`
    /// ending at its last commit (`FileGate::trim_wal`). `before` is the writer's last frame
    /// when the operation began; only a value the operation changed is trusted (it comes from
    /// the transaction it ran, not from a view older than another process's commit). When the
    /// operation failed in the engine or on the disk, the next one re-reads the file: a commit
    /// may have reached the disk.
    pub(crate) fn settle_wal(
        &self,
        writer: &EngineConn,
        before: Option<u64>,
        failure: Option<&Error>,
    ) {
        let failed = matches!(
            failure,
            Some(
                Error::Io { .. }
                    | Error::Engine { .. }
                    | Error::Corrupt { .. }
                    | Error::Internal { .. }
            )
        );
        let Some(gate) = &self.gate else {
            return;
        };
        // A handle that no longer follows the file at its path must not touch the `-wal` there.
        if self.is_wal_frozen() || self.db.is_read_only() || self.detached.load(Ordering::Acquire) {
            return;
        }
        if failed {
            gate.forget();
        }
        match (before, writer.wal_max_frame()) {
            (Some(before), Ok(after)) if after != before => {
                if let Err(e) = gate.trim_wal(after) {
                    tracing::warn!(error = %e, "could not cut uncommitted frames off the WAL");
                    gate.forget();
                }
            }
            (_, Err(_)) => gate.forget(),
            _ => {}
        }
    }

    /// After a commit, with the writer and its lock still held: once the `-wal` has grown past
    /// `CHECKPOINT_FRAMES`, copies it into the database file and empties it, which needs every
    /// reader of every process out (new ones wait meanwhile). When they do not leave within
    /// `CHECKPOINT_PATIENCE` the checkpoint waits for a later write; the commit stands either way.
    pub(crate) fn checkpoint_if_due(&self, writer: &EngineConn) {
        let Some(gate) = &self.gate else {
            return;
        };
        // The writer's last frame right after its commit is the `-wal`'s length in frames
        // (`settle_wal` cut anything past it): no file system call needed.
        let frames = writer.wal_max_frame().unwrap_or(0);
        if self.is_wal_frozen()
            || self.db.is_read_only()
            || self.detached.load(Ordering::Acquire)
            || frames < CHECKPOINT_FRAMES
        {
            return;
        }
        // Threads of this process still reading would make the engine refuse the checkpoint:
        // a later write, alone, does it.
        if !gate.held_by_this_thread_alone() {
            return;
        }
        let patience = CHECKPOINT_PATIENCE.min(self.busy_timeout);
        let _exclusive = match self.lock_file_within(LockMode::Exclusive, patience, "checkpoint") {
            Ok(lock) => lock,
            Err(e) => {
                tracing::debug!(error = %e, "other processes' readers stayed: checkpoint left for a later write");
                return;
            }
        };
        match writer.checkpoint(Checkpoint::Truncate) {
            Ok(_) | Err(Error::Busy { .. }) => {}
            Err(e) => {
                tracing::debug!(error = %e, "checkpoint after a commit failed; a later write tries again");
                self.forget_file_state();
            }
        }
    }

    /// Records, under the lock the open took, that this freshly opened engine database has read
    /// the file (or refreshes a database the process already had open, if it is stale).
    pub(crate) fn adopt_file(&self, lock: &OpLock, opened: &FileMark) -> Result<()> {
        lock.sync(Some(opened), || self.db.reload_from_disk())
            .map(|_| ())
    }

    /// Brings a connection up to date with the file (after another process's change).
    fn catch_up(&self, conn: &EngineConn) -> Result<()> {
        match &self.gate {
            Some(gate) if !self.detached.load(Ordering::Acquire) => {
                conn.catch_up(gate.generation())
            }
            _ => Ok(()),
        }
    }

    /// From now on this handle's engine state is never refreshed from the path's `-wal`.
    pub(crate) fn detach(&self) {
        self.detached.store(true, Ordering::Release);
    }

    /// The writer connection, waited for at most the busy timeout, with the file locked.
    pub(crate) fn writer(&self, op: &'static str) -> Result<WriterGuard<'_>> {
        let thread = current_thread_tag();
        if self.writer_thread.load(Ordering::Acquire) == thread {
            return Err(Error::NestedWrite { op });
        }
        let guard = if self.busy_timeout.is_zero() {
            self.writer.try_lock()
        } else {
            self.writer.try_lock_for(self.busy_timeout)
        };
        let mut guard = guard.ok_or(Error::Busy { op })?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed { op });
        }
        if self.is_wal_frozen() {
            guard.freeze_wal();
        }
        if guard.is_poisoned() {
            // An engine panic left this connection unusable: replace it with a fresh one.
            let fresh = self.connect(false)?;
            let old = std::mem::replace(&mut *guard, fresh);
            let _ = old.close();
        }
        let lock = self.lock_file(LockMode::Write, op)?;
        self.catch_up(&guard)?;
        self.writer_thread.store(thread, Ordering::Release);
        Ok(WriterGuard {
            _lock: lock,
            guard,
            owner: &self.writer_thread,
        })
    }

    /// A reader connection for a caller that already holds a lock on the file (the open): no
    /// lock of its own.
    pub(crate) fn reader_within(&self, _held: &OpLock) -> Result<ReaderGuard<'_>> {
        let pooled = self.idle_readers.lock().pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.connect(true)?,
        };
        Ok(ReaderGuard {
            _lock: None,
            handle: self,
            conn: ManuallyDrop::new(conn),
        })
    }

    /// A reader connection from the pool (or a new one), with the file locked for reading; it
    /// returns to the pool when dropped.
    pub(crate) fn reader(&self, op: &'static str) -> Result<ReaderGuard<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed { op });
        }
        let lock = self.lock_file(LockMode::Read, op)?;
        let pooled = self.idle_readers.lock().pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.connect(true)?,
        };
        let guard = ReaderGuard {
            _lock: lock,
            handle: self,
            conn: ManuallyDrop::new(conn),
        };
        self.catch_up(&guard.conn)?;
        Ok(guard)
    }

    /// A new connection; a reader is query-only for its whole life (switching it back and
    /// forth would make the engine re-prepare every statement cached on it).
    fn connect(&self, reader: bool) -> Result<EngineConn> {
        let conn = self.db.connect(self.busy_timeout)?;
        if reader {
            conn.set_query_only(true, self.db.is_read_only())?;
        }
        if let Some(gate) = &self.gate {
            conn.set_generation(gate.generation());
        }
        if self.wal_frozen.load(Ordering::Acquire) {
            conn.freeze_wal();
        }
        Ok(conn)
    }

    /// From now on no connection of this handle checkpoints by itself, closing included: the
    /// file at the path is no longer this handle's, and another handle may share its `-wal`.
    /// Call with no operation in flight.
    pub(crate) fn freeze_wal(&self) {
        self.detach();
        self.wal_frozen.store(true, Ordering::Release);
        // A writer held past the busy timeout is in use by this very thread (close() called
        // inside a transaction): that connection is frozen when it is next handed out instead.
        match self.writer.try_lock_for(self.busy_timeout) {
            Some(writer) => writer.freeze_wal(),
            None => {
                tracing::warn!(target: "beadstore::freshness", "writer busy while freezing the WAL");
            }
        }
        for conn in self.idle_readers.lock().iter() {
            conn.freeze_wal();
        }
    }

    /// True once `freeze_wal` ran.
    pub(crate) fn is_wal_frozen(&self) -> bool {
        self.wal_frozen.load(Ordering::Acquire)
    }

    /// The (device, inode) of the file this handle opened; `None` in memory.
    pub(crate) fn file_id(&self) -> Option<super::registry::FileId> {
        self._registration.as_ref().map(Registration::id)
    }

    /// The file and engine-database epoch this handle registered with.
    pub(crate) fn registered(&self) -> Option<(super::registry::FileId, u64)> {
        self._registration.as_ref().map(|r| (r.id(), r.epoch()))
    }

    /// Closes the writer and every idle reader; readers in use close when returned. Afterwards
    /// every request for a connection is refused with `Closed`.
    pub(crate) fn close_connections(&self) -> Result<()> {
        // Bounded: a thread closing the store from inside its own transaction holds the writer;
        // that connection then closes when the handle is dropped.
        let writer = self.writer.try_lock_for(self.busy_timeout);
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // No lock needed: connections of a file never checkpoint on their own, closing
        // included (`EngineDb::connect`), so closing them leaves the file as it is.
        let mut first_error = writer.and_then(|w| w.close().err());
        for conn in self.idle_readers.lock().drain(..) {
            if let Err(e) = conn.close() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.close_connections();
        // A reader returned while `close_connections` ran may have slipped into the pool.
        for conn in self.idle_readers.get_mut().drain(..) {
            let _ = conn.close();
        }
    }
}

/// Exclusive use of the writer connection, with the file locked for writing.
pub(crate) struct WriterGuard<'a> {
    // Declared first: the file lock goes before the connection is handed to another thread.
    _lock: Option<OpLock>,
    guard: MutexGuard<'a, EngineConn>,
    owner: &'a AtomicU64,
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.owner.store(0, Ordering::Release);
    }
}

/// A tag for the current thread, never 0, unique among live threads of the process.
fn current_thread_tag() -> u64 {
    thread_local! {
        static TAG: u8 = const { 0 };
    }
    // The address of a thread-local is distinct for every live thread.
    TAG.with(|t| t as *const u8 as u64)
}

impl std::ops::Deref for WriterGuard<'_> {
    type Target = EngineConn;
    fn deref(&self) -> &EngineConn {
        &self.guard
    }
}

/// Exclusive use of one reader connection until dropped.
pub(crate) struct ReaderGuard<'a> {
    _lock: Option<OpLock>,
    handle: &'a Handle,
    conn: ManuallyDrop<EngineConn>,
}

impl std::ops::Deref for ReaderGuard<'_> {
    type Target = EngineConn;
    fn deref(&self) -> &EngineConn {
        &self.conn
    }
}

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: `conn` is taken exactly once, here, and never used afterwards.
        let conn = unsafe { ManuallyDrop::take(&mut self.conn) };
        if self.handle.is_wal_frozen() {
            // Frozen while this reader was out: it may be the last connection to close.
            conn.freeze_wal();
        }
        if conn.is_poisoned() || conn.in_transaction() || self.handle.closed.load(Ordering::Acquire)
        {
            let _ = conn.close();
            return;
        }
        let mut idle = self.handle.idle_readers.lock();
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        } else {
            drop(idle);
            let _ = conn.close();
        }
    }
}
