//! An open database with its connections: one writer and a pool of readers.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use crate::engine::file_lock::SharedFileLock;
use crate::engine::{EngineConn, EngineDb};
use crate::error::{Error, Result};

use super::registry::Registration;

/// How many idle reader connections are kept for reuse.
const IDLE_READERS: usize = 8;

/// One open database. Dropping it closes every connection; then the engine releases the file.
pub(crate) struct Handle {
    writer: Mutex<EngineConn>,
    idle_readers: Mutex<Vec<EngineConn>>,
    busy_timeout: Duration,
    closed: AtomicBool,
    wal_frozen: AtomicBool,
    // Declared after the connections so they close first, then the engine database, then locks.
    db: EngineDb,
    _read_lock: Option<SharedFileLock>,
    _registration: Option<Registration>,
}

impl Handle {
    pub(crate) fn new(
        db: EngineDb,
        busy_timeout: Duration,
        read_lock: Option<SharedFileLock>,
        registration: Option<Registration>,
    ) -> Result<Self> {
        let writer = db.connect(busy_timeout)?;
        Ok(Handle {
            writer: Mutex::new(writer),
            idle_readers: Mutex::new(Vec::new()),
            busy_timeout,
            closed: AtomicBool::new(false),
            wal_frozen: AtomicBool::new(false),
            db,
            _read_lock: read_lock,
            _registration: registration,
        })
    }

    /// The writer connection, waited for at most the busy timeout.
    pub(crate) fn writer(&self, op: &'static str) -> Result<WriterGuard<'_>> {
        let guard = if self.busy_timeout.is_zero() {
            self.writer.try_lock()
        } else {
            self.writer.try_lock_for(self.busy_timeout)
        };
        let mut guard = guard.ok_or_else(|| Error::Busy { op: op.to_owned() })?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed { op });
        }
        if self.is_wal_frozen() {
            guard.freeze_wal();
        }
        if guard.is_poisoned() {
            // An engine panic left this connection unusable: replace it with a fresh one.
            let fresh = self.connect()?;
            let old = std::mem::replace(&mut *guard, fresh);
            let _ = old.close();
        }
        Ok(WriterGuard { guard })
    }

    /// A reader connection from the pool (or a new one); it returns to the pool when dropped.
    pub(crate) fn reader(&self, op: &'static str) -> Result<ReaderGuard<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed { op });
        }
        let pooled = self.idle_readers.lock().pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        Ok(ReaderGuard {
            handle: self,
            conn: ManuallyDrop::new(conn),
        })
    }

    fn connect(&self) -> Result<EngineConn> {
        let conn = self.db.connect(self.busy_timeout)?;
        if self.wal_frozen.load(Ordering::Acquire) {
            conn.freeze_wal();
        }
        Ok(conn)
    }

    /// From now on no connection of this handle checkpoints by itself, closing included: the
    /// file at the path is no longer this handle's, and another handle may share its `-wal`.
    /// Call with no operation in flight.
    pub(crate) fn freeze_wal(&self) {
        self.wal_frozen.store(true, Ordering::Release);
        // A writer held past the busy timeout is in use by this very thread (close() called
        // inside a transaction): that connection is frozen when it is next handed out instead.
        match self.writer.try_lock_for(self.busy_timeout) {
            Some(writer) => writer.freeze_wal(),
            None => {
                tracing::warn!(target: "beadstore::freshness", "writer busy while freezing the WAL")
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

/// Exclusive use of the writer connection.
pub(crate) struct WriterGuard<'a> {
    guard: MutexGuard<'a, EngineConn>,
}

impl std::ops::Deref for WriterGuard<'_> {
    type Target = EngineConn;
    fn deref(&self) -> &EngineConn {
        &self.guard
    }
}

/// Exclusive use of one reader connection until dropped.
pub(crate) struct ReaderGuard<'a> {
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
