//! Disk fault injection (feature `fault-injection`): an I/O layer between the engine and the
//! real file system that, once armed, makes writes, syncs and truncations fail as a full or
//! failing disk would (ENOSPC, EIO, or a short write that really writes half the buffer). It is
//! how the tests show that a failing disk gives typed errors, loses nothing committed, and that
//! the store works again once space returns.
//!
//! Faults are registered per database path before the store is opened; every engine database
//! opened on that path (including after a reconnect) goes through the faulty layer.

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use turso_core::io::{FileSyncType, SharedWalLockKind, SharedWalMappedRegion};
use turso_core::{
    Buffer, Clock, Completion, CompletionError, File, MemoryIO, MonotonicInstant, OpenFlags,
    WallClockInstant, IO,
};

/// What a failing write, sync or truncation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFault {
    /// The disk is full (ENOSPC).
    NoSpace,
    /// The device reports an I/O error (EIO).
    Io,
    /// Only the first half of the buffer reaches the file, and the write reports it.
    ShortWrite,
}

/// A fault plan for one database path, shared between the test and the I/O layer.
#[derive(Debug, Clone)]
pub struct DiskFaults(Arc<Plan>);

#[derive(Debug)]
struct Plan {
    armed: AtomicBool,
    /// Writes (and syncs) still allowed before the faults start.
    countdown: AtomicI64,
    fault: Mutex<DiskFault>,
    injected: AtomicU64,
}

impl Default for DiskFaults {
    fn default() -> Self {
        Self::new()
    }
}

impl DiskFaults {
    /// A plan that injects nothing until armed.
    pub fn new() -> Self {
        DiskFaults(Arc::new(Plan {
            armed: AtomicBool::new(false),
            countdown: AtomicI64::new(0),
            fault: Mutex::new(DiskFault::NoSpace),
            injected: AtomicU64::new(0),
        }))
    }

    /// Lets `writes` more writes, syncs or truncations through, then fails every one with
    /// `fault` until `heal`.
    pub fn fail_after(&self, writes: u64, fault: DiskFault) {
        if let Ok(mut f) = self.0.fault.lock() {
            *f = fault;
        }
        self.0
            .countdown
            .store(i64::try_from(writes).unwrap_or(i64::MAX), Ordering::SeqCst);
        self.0.armed.store(true, Ordering::SeqCst);
    }

    /// The disk works again.
    pub fn heal(&self) {
        self.0.armed.store(false, Ordering::SeqCst);
    }

    /// How many operations failed so far.
    pub fn injected(&self) -> u64 {
        self.0.injected.load(Ordering::SeqCst)
    }

    /// Routes every database later opened at `path` (as the store names it) through this plan.
    pub fn attach(&self, path: &str) {
        if let Ok(mut plans) = plans().lock() {
            plans.insert(path.to_owned(), self.clone());
        }
    }

    /// Stops routing `path` through a plan (databases already open keep theirs).
    pub fn detach(path: &str) {
        if let Ok(mut plans) = plans().lock() {
            plans.remove(path);
        }
    }

    /// The fault to inject now, if any.
    fn next(&self) -> Option<DiskFault> {
        if !self.0.armed.load(Ordering::SeqCst) {
            return None;
        }
        if self.0.countdown.fetch_sub(1, Ordering::SeqCst) > 0 {
            return None;
        }
        self.0.injected.fetch_add(1, Ordering::SeqCst);
        self.0.fault.lock().ok().map(|f| *f)
    }
}

fn plans() -> &'static Mutex<HashMap<String, DiskFaults>> {
    static PLANS: OnceLock<Mutex<HashMap<String, DiskFaults>>> = OnceLock::new();
    PLANS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `io`, or the faulty layer over it when a plan is attached to `path`.
pub(crate) fn wrap(io: Arc<dyn IO>, path: &str) -> Arc<dyn IO> {
    let plan = plans().lock().ok().and_then(|p| p.get(path).cloned());
    match plan {
        Some(plan) => Arc::new(FaultyIo { inner: io, plan }),
        None => io,
    }
}

fn fail(c: Completion, fault: DiskFault, op: &'static str) -> turso_core::Result<Completion> {
    let error = match fault {
        DiskFault::NoSpace => CompletionError::IOError(std::io::ErrorKind::StorageFull, op),
        DiskFault::Io => CompletionError::IOError(std::io::ErrorKind::Other, op),
        DiskFault::ShortWrite => CompletionError::ShortWrite,
    };
    c.error(error);
    Ok(c)
}

struct FaultyIo {
    inner: Arc<dyn IO>,
    plan: DiskFaults,
}

impl Clock for FaultyIo {
    fn current_time_monotonic(&self) -> MonotonicInstant {
        self.inner.current_time_monotonic()
    }

    fn current_time_wall_clock(&self) -> WallClockInstant {
        self.inner.current_time_wall_clock()
    }
}

impl IO for FaultyIo {
    fn open_file(
        &self,
        path: &str,
        flags: OpenFlags,
        direct: bool,
    ) -> turso_core::Result<Arc<dyn File>> {
        let inner = self.inner.open_file(path, flags, direct)?;
        Ok(Arc::new(FaultyFile {
            inner,
            plan: self.plan.clone(),
        }))
    }

    fn open_shared_wal_file(&self, path: &str) -> turso_core::Result<Arc<dyn File>> {
        self.inner.open_shared_wal_file(path)
    }

    fn remove_file(&self, path: &str) -> turso_core::Result<()> {
        self.inner.remove_file(path)
    }

    fn supports_shared_wal_coordination(&self) -> bool {
        self.inner.supports_shared_wal_coordination()
    }

    fn step(&self) -> turso_core::Result<()> {
        self.inner.step()
    }

    fn cancel(&self, c: &[Completion]) -> turso_core::Result<()> {
        self.inner.cancel(c)
    }

    fn drain_completions(&self, completions: &[Completion]) -> turso_core::Result<()> {
        self.inner.drain_completions(completions)
    }

    fn wait_for_completion(&self, c: Completion) -> turso_core::Result<()> {
        self.inner.wait_for_completion(c)
    }

    fn generate_random_number(&self) -> i64 {
        self.inner.generate_random_number()
    }

    fn fill_bytes(&self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
    }

    fn get_memory_io(&self) -> Arc<MemoryIO> {
        self.inner.get_memory_io()
    }

    fn register_fixed_buffer(&self, ptr: NonNull<u8>, len: usize) -> turso_core::Result<u32> {
        self.inner.register_fixed_buffer(ptr, len)
    }

    fn yield_now(&self) {
        self.inner.yield_now();
    }

    fn sleep(&self, duration: std::time::Duration) {
        self.inner.sleep(duration);
    }

    fn file_id(&self, path: &str) -> turso_core::Result<turso_core::io::FileId> {
        self.inner.file_id(path)
    }
}

struct FaultyFile {
    inner: Arc<dyn File>,
    plan: DiskFaults,
}

impl File for FaultyFile {
    fn lock_file(&self, exclusive: bool) -> turso_core::Result<()> {
        self.inner.lock_file(exclusive)
    }

    fn unlock_file(&self) -> turso_core::Result<()> {
        self.inner.unlock_file()
    }

    fn pread(&self, pos: u64, c: Completion) -> turso_core::Result<Completion> {
        self.inner.pread(pos, c)
    }

    fn pwrite(
        &self,
        pos: u64,
        buffer: Arc<Buffer>,
        c: Completion,
    ) -> turso_core::Result<Completion> {
        match self.plan.next() {
            None => self.inner.pwrite(pos, buffer, c),
            Some(DiskFault::ShortWrite) => {
                let half = buffer.as_slice()[..buffer.len() / 2].to_vec();
                let written = Completion::new_write(|_| {});
                let _ = self.inner.pwrite(pos, Arc::new(Buffer::new(half)), written);
                fail(c, DiskFault::ShortWrite, "pwrite")
            }
            Some(fault) => fail(c, fault, "pwrite"),
        }
    }

    fn pwritev(
        &self,
        pos: u64,
        buffers: Vec<Arc<Buffer>>,
        c: Completion,
    ) -> turso_core::Result<Completion> {
        match self.plan.next() {
            None => self.inner.pwritev(pos, buffers, c),
            Some(fault) => fail(c, fault, "pwritev"),
        }
    }

    fn sync(&self, c: Completion, sync_type: FileSyncType) -> turso_core::Result<Completion> {
        match self.plan.next() {
            None => self.inner.sync(c, sync_type),
            Some(DiskFault::ShortWrite) => fail(c, DiskFault::Io, "fsync"),
            Some(fault) => fail(c, fault, "fsync"),
        }
    }

    fn size(&self) -> turso_core::Result<u64> {
        self.inner.size()
    }

    fn truncate(&self, len: u64, c: Completion) -> turso_core::Result<Completion> {
        match self.plan.next() {
            None => self.inner.truncate(len, c),
            Some(fault) => fail(c, fault, "ftruncate"),
        }
    }

    fn has_hole(&self, pos: usize, len: usize) -> turso_core::Result<bool> {
        self.inner.has_hole(pos, len)
    }

    fn punch_hole(&self, pos: usize, len: usize) -> turso_core::Result<()> {
        self.inner.punch_hole(pos, len)
    }

    fn shared_wal_lock_byte(
        &self,
        offset: u64,
        exclusive: bool,
        kind: SharedWalLockKind,
    ) -> turso_core::Result<()> {
        self.inner.shared_wal_lock_byte(offset, exclusive, kind)
    }

    fn shared_wal_try_lock_byte(
        &self,
        offset: u64,
        exclusive: bool,
        kind: SharedWalLockKind,
    ) -> turso_core::Result<bool> {
        self.inner.shared_wal_try_lock_byte(offset, exclusive, kind)
    }

    fn shared_wal_probe_exclusive_byte(
        &self,
        offset: u64,
        kind: SharedWalLockKind,
    ) -> turso_core::Result<bool> {
        self.inner.shared_wal_probe_exclusive_byte(offset, kind)
    }

    fn shared_wal_probe_exclusive_while_shared_byte(
        &self,
        offset: u64,
        kind: SharedWalLockKind,
    ) -> turso_core::Result<bool> {
        self.inner
            .shared_wal_probe_exclusive_while_shared_byte(offset, kind)
    }

    fn shared_wal_unlock_byte(
        &self,
        offset: u64,
        kind: SharedWalLockKind,
    ) -> turso_core::Result<()> {
        self.inner.shared_wal_unlock_byte(offset, kind)
    }

    fn shared_wal_set_len(&self, len: u64) -> turso_core::Result<()> {
        self.inner.shared_wal_set_len(len)
    }

    fn shared_wal_map(
        &self,
        offset: u64,
        len: usize,
    ) -> turso_core::Result<Box<dyn SharedWalMappedRegion>> {
        self.inner.shared_wal_map(offset, len)
    }
}
