//! The `Store`: opening a beads database (read-write, read-only or in memory), its connections,
//! checkpoints and close.

mod handle;
pub(crate) mod location;
mod monitor;
mod reconnect;
mod transaction;
pub mod wsl;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::engine::file_lock::{FileGate, LockMode};
use crate::engine::{Checkpoint, EngineConn, EngineDb, Target};
use crate::error::{Error, NotFoundKind, Result};
use crate::freshness::{FreshnessMode, Opened, ReplacementKind, Tracker};
use crate::project::{ProjectConfig, ProjectSource};
use crate::row::Row;
use crate::schema::{self, ProbeReport};
use crate::value::{Param, Value};

use crate::registry::{self, Registration, Role};
use handle::Handle;
use reconnect::{Pending, Slot};

pub use location::MEMORY;
pub use monitor::Monitor;
#[cfg(feature = "tokio")]
pub use monitor::ReplacementEvents;
use transaction::Failure;
pub use transaction::{ReadTxn, WriteTxn};

/// The busy timeout used when none is given: how long to wait for a lock before giving up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointStats {
    /// Frames in the WAL when the checkpoint ran.
    pub wal_frames: u64,
    /// Frames that are now copied into the database file.
    pub checkpointed_frames: u64,
}

/// Settings for opening a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    busy_timeout: Option<Duration>,
    read_only: bool,
    freshness: FreshnessMode,
    project: Option<ProjectConfig>,
    pub(crate) hydrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// Read-write, with the default 30 s busy timeout (a URI's `_pragma=busy_timeout` wins).
    pub fn new() -> Self {
        OpenOptions {
            busy_timeout: None,
            read_only: false,
            freshness: FreshnessMode::Watch,
            project: None,
            hydrate: true,
        }
    }

    /// How the store notices its file being replaced (default: inotify watch, `stat` fallback).
    /// `FreshnessMode::Off` is for one-shot tools that finish before anyone could replace it.
    pub fn freshness(mut self, mode: FreshnessMode) -> Self {
        self.freshness = mode;
        self
    }

    /// How long any wait for a lock may last; zero fails at once when the database is held.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = Some(timeout);
        self
    }

    /// Uses this project configuration instead of reading `.beads/config.yaml` beside the
    /// database (and the `BD_*` environment) when an operation first needs it.
    pub fn project_config(mut self, config: ProjectConfig) -> Self {
        self.project = Some(config);
        self
    }

    /// Whether a read-write open of a multi-repo project reads the repositories' changed
    /// `issues.jsonl` files into the database, as Go beads does (default: yes).
    pub fn hydrate(mut self, hydrate: bool) -> Self {
        self.hydrate = hydrate;
        self
    }

    /// Opens read-only: nothing is ever written to the file or next to it.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
}

pub(crate) fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::io("current directory", ".", e))
}

/// An open beads database. `Send + Sync`: share it with `Arc` across threads.
pub struct Store {
    path: String,
    file: Option<PathBuf>,
    read_only: bool,
    busy_timeout: Duration,
    closed: AtomicBool,
    slot: RwLock<Slot>,
    /// `None` in memory: nothing can replace it.
    freshness: Option<Tracker>,
    /// Held while following a replacement; records one that could not be followed yet.
    pending: Mutex<Option<Pending>>,
    /// Set while a reconnect or close waits for operations in flight: new ones queue behind it.
    draining: AtomicBool,
    /// Operations between their freshness check and their return.
    in_flight: AtomicUsize,
    /// `.beads/config.yaml` beside the database, read when first needed.
    pub(crate) project: ProjectSource,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Store {
    /// Opens (creating when missing) a database file read-write, or a private in-memory
    /// database for `:memory:`. Nothing in the path is read as a URI; see [`Store::open_uri`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        OpenOptions::new().open(path)
    }

    /// Opens a `file:` URI (`mode=ro`, `mode=memory`, `_pragma=busy_timeout(N)`, the Go
    /// connection-string parameters) or `:memory:`.
    pub fn open_uri(uri: &str) -> Result<Store> {
        OpenOptions::new().open_uri(uri)
    }

    /// Opens a path with explicit options; the same as `options.open(path)`.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Store> {
        options.open(path)
    }

    /// Opens the file (or memory) at `location`: engine, locks, schema, freshness. What the
    /// JSONL layer adds to an open (multi-repo hydration) is `crate::open`'s.
    pub(crate) fn open_at(location: location::Location, options: &OpenOptions) -> Result<Store> {
        let busy_timeout = options
            .busy_timeout
            .or(location.busy_timeout)
            .unwrap_or(DEFAULT_BUSY_TIMEOUT);
        let read_only = options.read_only || location.read_only;
        let path = location.display();
        let project = match options.project.clone() {
            Some(config) => ProjectSource::given(config, location.file.clone()),
            None => ProjectSource::lazy(location.file.clone()),
        };
        let Some(file) = location.file else {
            if read_only {
                return Err(Error::invalid(
                    "read_only",
                    "read-only mode is not supported for in-memory databases",
                ));
            }
            let db = EngineDb::open(Target::Memory, &path)?;
            let mut handle = Handle::new(db, busy_timeout, None, None)?;
            let action = prepare_schema(&*handle.writer("open")?, NewSchema::Allowed, &path)?;
            handle.schema_action = Some(action);
            return Ok(Store::assemble(
                path,
                None,
                false,
                busy_timeout,
                handle,
                None,
                project,
            ));
        };
        let handle = open_file_handle(&file, &path, read_only, busy_timeout, NewSchema::Allowed)?;
        let tracker = Tracker::new(
            file.clone(),
            options.freshness,
            baseline(&file, handle.file_id()),
        );
        Ok(Store::assemble(
            path,
            Some(file),
            read_only,
            busy_timeout,
            handle,
            Some(tracker),
            project,
        ))
    }

    /// Opens an existing database read-only. Fails with `NotFound` when the file is missing and
    /// with `InvalidInput` for `:memory:`; every write returns `Error::ReadOnly`.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        OpenOptions::new().read_only(true).open(path)
    }

    /// A private in-memory database with the full schema; no other store ever sees it.
    pub fn in_memory() -> Result<Store> {
        Self::open(MEMORY)
    }

    fn assemble(
        path: String,
        file: Option<PathBuf>,
        read_only: bool,
        busy_timeout: Duration,
        handle: Handle,
        freshness: Option<Tracker>,
        project: ProjectSource,
    ) -> Store {
        Store {
            path,
            file,
            read_only,
            busy_timeout,
            closed: AtomicBool::new(false),
            slot: RwLock::new(Slot::Open(Arc::new(handle))),
            freshness,
            pending: Mutex::new(None),
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            project,
        }
    }

    /// The database's absolute path, or `:memory:`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The database file, or `None` in memory.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The project configuration (`.beads/config.yaml` beside the database, `BD_*` overrides,
    /// or what `OpenOptions::project_config` gave), read the first time it is asked for.
    pub fn project_config(&self) -> Result<Arc<ProjectConfig>> {
        self.project.get()
    }

    /// True for a store opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// True for a database in a file (not `:memory:`).
    pub(crate) fn on_disk(&self) -> bool {
        self.file.is_some()
    }

    /// True once `close()` ran.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The busy timeout in force.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// Closes the store. Read-write: a TRUNCATE checkpoint first when no other process is using
    /// the file at that moment, so the file alone is complete (the `-wal` ends at 0 bytes);
    /// otherwise the committed frames stay in the `-wal` for a later checkpoint. Idempotent;
    /// every later call returns `Error::Closed`.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Waits for a reconnect in progress, and keeps new ones from starting.
        let _pending = self.pending.lock();
        let _draining = reconnect::Draining::start(&self.draining);
        let Slot::Open(handle) = std::mem::replace(&mut *self.slot.write(), Slot::Closed) else {
            return Ok(());
        };
        // New calls now get `Closed`; calls in flight on other threads finish first, so the
        // checkpoint below is not refused for a read still running.
        self.wait_for_claims(0, self.busy_timeout);
        // What the file is now is judged with no other process rewriting the database file
        // meanwhile (a change seen here was a peer's regular write, vouched for by this lock,
        // or a copy over the file). A read lock suffices: other processes' writers only append
        // to the `-wal`. It is held to the end, except by the checkpoint below (see there).
        let held = match handle.lock_file(LockMode::Read, "close") {
            Ok(lock) => lock,
            Err(e) => {
                tracing::warn!(path = %self.path, error = %e, "closing without the final checkpoint: the file stayed locked");
                handle.freeze_wal();
                None
            }
        };
        let change = self.freshness.as_ref().and_then(Tracker::change_now);
        let checkpoint = match change {
            // Overwritten in place: the file holds someone else's pages now, and the WAL must
            // neither be copied into it nor be left for the next opener to replay.
            Some(ReplacementKind::InPlace) => {
                handle.freeze_wal();
                Ok(())
            }
            // Renamed away or deleted: the WAL goes into the old file (once per process).
            // Renamed away or deleted: the WAL goes into the old file (once per process). When
            // that file was destroyed too (overwritten, then removed), there is nothing left to
            // save: the close still succeeds, and with no file at the path the orphaned `-wal`
            // is emptied so that no file created there later replays it.
            Some(kind @ (ReplacementKind::NewFile | ReplacementKind::Missing)) => {
                if let Err(e) = self.release_old_wal(&handle) {
                    handle.freeze_wal();
                    tracing::warn!(target: "beadstore::freshness", path = %self.path, error = %e, "the replaced file could not take its WAL at close");
                    if kind == ReplacementKind::Missing && !self.read_only {
                        if let Some(file) = &self.file {
                            let _ = reconnect::discard_wal_if_orphaned(file);
                        }
                    }
                }
                Ok(())
            }
            None if self.read_only || self.file.is_none() || handle.is_wal_frozen() => Ok(()),
            None => {
                // The checkpoint waits for every reader to leave. Waiting with a read lock of
                // its own would stall two stores closing at once (in two processes): each
                // waits for the other's reader byte until its patience runs out, and the
                // whole fleet queues behind the first one's claim meanwhile. So it lets go
                // first; the exclusive lock judges whatever another process did since.
                drop(held);
                self.checkpoint_at_close(&handle)
            }
        };
        let stale = handle.registered();
        let closing = handle.close_connections();
        drop(handle);
        let discarding = match (change, stale, &self.file) {
            (Some(ReplacementKind::InPlace), Some((id, epoch)), Some(file))
                if registry::stores_of_epoch(id, epoch) == 0 =>
            {
                reconnect::discard_stale_wal(file, id, epoch, self.read_only, self.busy_timeout)
                    .map_err(|message| Error::Engine {
                        op: "close",
                        message,
                    })
            }
            _ => Ok(()),
        };
        checkpoint.and(closing).and(discarding)
    }

    /// The checkpoint close runs, holding no lock of its own: the `-wal` goes into the file and
    /// ends at 0 bytes when no other process is inside right now (SQLite's last connection
    /// does the same). Otherwise the `-wal` stays, safe, for the next writer, unless
    /// it has grown past `CHECKPOINT_FRAMES`: then close waits for those readers a moment.
    fn checkpoint_at_close(&self, handle: &Handle) -> Result<()> {
        let frames = handle.wal_frames();
        if frames == 0 {
            return Ok(());
        }
        let patience = if frames >= handle::CHECKPOINT_FRAMES {
            handle::CHECKPOINT_PATIENCE.min(self.busy_timeout)
        } else {
            Duration::ZERO
        };
        let _exclusive = match handle.lock_file_within(LockMode::Exclusive, patience, "close") {
            Ok(lock) => lock,
            Err(e) if e.is_retryable() => {
                tracing::debug!(path = %self.path, "other processes are using the file: the WAL stays for a later checkpoint");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let writer = handle.writer("close")?;
        self.checkpoint_patiently(&writer, Checkpoint::Truncate)
            .map(|_| ())
            .inspect_err(|_| handle.forget_file_state())
    }

    /// Runs a FULL WAL checkpoint: every committed frame is copied into the database file.
    /// Waits (up to the busy timeout) for readers of other processes to finish, since the
    /// file's pages change under them.
    pub fn checkpoint(&self) -> Result<CheckpointStats> {
        self.require_writable("checkpoint")?;
        let (wal_frames, checkpointed_frames) = self.write_on_locked("checkpoint", true, |w| {
            self.checkpoint_patiently(w, Checkpoint::Full)
        })?;
        Ok(CheckpointStats {
            wal_frames,
            checkpointed_frames,
        })
    }

    /// Runs one SQL statement with parameters on the writer connection; returns rows changed.
    /// The escape hatch for extensions (Go's `UnderlyingDB`); keep write transactions short.
    /// SQL that rewrites the database file or empties the `-wal` (a checkpoint, VACUUM, a
    /// journal mode change) first waits, up to the busy timeout, until no reader of another
    /// process is inside: their pages would change under them.
    pub fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let exclusive = transaction::rewrites_file(sql);
        self.write_on_locked("execute", exclusive, |w| w.execute("execute", sql, params))
    }

    /// Runs several `;`-separated statements without parameters on the writer connection
    /// (waiting for other processes' readers first, as [`Store::execute`] does).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        let exclusive = transaction::rewrites_file(sql);
        self.write_on_locked("execute batch", exclusive, |w| {
            w.execute_batch("execute batch", sql)
        })
    }

    /// Runs a query on a reader connection and returns every row. Readers are query-only:
    /// SQL that writes fails with `Error::ReadOnly` (write with [`Store::execute`]).
    pub fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        self.read_on("query", |r| r.query("query", sql, params))
    }

    /// Runs a query on a reader connection and maps its first row with `map`; `Error::NoRows`
    /// when there is none (`.optional()` turns that into `None`).
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        transaction::first_row(self.query(sql, params)?, map)
    }

    /// Runs a query on a reader connection and maps every row with `map`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        transaction::map_rows(self.query(sql, params)?, map)
    }

    /// Runs `work` inside one IMMEDIATE write transaction on the writer connection: committed
    /// when it returns `Ok`, rolled back on `Err` and on panic (the panic then continues). The
    /// closure may return its own error type, as long as beadstore's errors convert into it. A
    /// write on this store from inside `work` (on the same thread) fails at once with
    /// [`Error::NestedWrite`]: write through `tx` instead.
    pub fn transaction<T, E>(
        &self,
        work: impl FnOnce(&WriteTxn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error> + 'static,
    {
        self.require_writable("transaction")?;
        let outcome = self.write_on("transaction", |w| {
            match transaction::run_write(w, &self.project, |tx| work(tx).map_err(Failure::Work)) {
                Ok(value) => Ok(Ok(value)),
                Err(Failure::Work(e)) => Ok(Err(e)),
                Err(Failure::Store(e)) => Err(e),
            }
        });
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.explain_work_failure("transaction", e, true)),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `work` against one consistent snapshot on a reader connection: every query inside
    /// sees the database as of the first read, whatever commits meanwhile. Writes do not
    /// compile on a [`ReadTxn`]. Writers are never blocked by it (WAL).
    pub fn snapshot<T, E>(
        &self,
        work: impl FnOnce(&ReadTxn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error> + 'static,
    {
        let handle = self.handle("snapshot")?;
        let reader = handle
            .reader("snapshot")
            .map_err(|e| self.explain_failure("snapshot", e))?;
        // `work` runs once: a snapshot the file changed under is reported, not repeated.
        let value = transaction::run_read(&reader, &self.project, work);
        self.check_read_answer(&handle, "snapshot")?;
        value.map_err(|e| self.explain_work_failure("snapshot", e, false))
    }

    /// A failure `work` returned, explained as `Error::Replaced` when it is one of beadstore's
    /// own errors caused by the file changing under the call; any other error type is the
    /// caller's and passes through unchanged.
    fn explain_work_failure<E: 'static>(&self, op: &'static str, mut e: E, wrote: bool) -> E {
        if let Some(err) = (&mut e as &mut dyn std::any::Any).downcast_mut::<Error>() {
            let original = std::mem::replace(err, Error::Closed { op });
            *err = if wrote {
                self.explain_write_failure(op, original)
            } else {
                self.explain_failure(op, original)
            };
        }
        e
    }

    /// Checks the file against the tables and columns beadstore needs.
    pub fn probe(&self) -> Result<ProbeReport> {
        self.read_on("schema probe", schema::probe)
    }

    /// What migrating the file would change (for `doctor`); reads only.
    pub fn migration_plan(&self) -> Result<schema::MigrationPlan> {
        self.read_on("migration plan", schema::migration_plan)
    }

    /// Whether the file needs a migration run (read from the schema cookie and beadstore's marker).
    pub fn migration_state(&self) -> Result<schema::MigrationState> {
        self.read_on("migration state", schema::migration_state)
    }

    /// Checks the post-migration invariants against the file as it is now (for `doctor`): each
    /// failure as (invariant name, what is wrong). The issue-count invariant compares the file
    /// with itself here, so only orphans and a missing prefix can show up.
    pub fn check_invariants(&self) -> Result<Vec<(&'static str, String)>> {
        self.read_on("check invariants", |r| {
            let now = schema::invariants::capture(r)?;
            schema::invariants::failures(r, &now)
        })
    }

    /// What the read-write open of the file this store has now did to its schema: created it,
    /// found it up to date, or migrated it (with the report). `None` for a read-only store.
    pub fn schema_action(&self) -> Option<schema::SchemaAction> {
        self.handle("schema action")
            .ok()
            .and_then(|h| h.schema_action.clone())
    }

    /// Migrates the file when it needs it, as a read-write open does; an up-to-date file is
    /// left alone, byte for byte (`beadstore migrate`).
    pub fn migrate(&self) -> Result<schema::SchemaAction> {
        self.require_writable("migrate")?;
        self.write_on("migrate", schema::prepare)
    }

    /// Runs every migration now, even on an up-to-date file (`beadstore migrate --force`):
    /// the schema cookie moves, so every other connection re-reads the schema.
    pub fn migrate_all(&self) -> Result<schema::MigrationReport> {
        self.require_writable("migrate")?;
        self.write_on("migrate", schema::migrate)
    }

    /// A checkpoint that waits (up to the busy timeout) for readers still using the frames it
    /// must copy, instead of failing with `Busy` at once as the engine does.
    fn checkpoint_patiently(&self, writer: &EngineConn, mode: Checkpoint) -> Result<(u64, u64)> {
        crate::lock_wait::retry_while_busy(self.busy_timeout, || writer.checkpoint(mode))
    }

    /// Runs a read on a reader connection. When it fails because the file was replaced under it
    /// (a copy truncating it mid-read), or its answer was read while the file was overwritten
    /// in place, the store follows the change and runs it once more: the caller gets one whole
    /// file's answer or `Error::Replaced`, never a torn read.
    fn read_on<T>(&self, op: &'static str, read: impl Fn(&EngineConn) -> Result<T>) -> Result<T> {
        let first = {
            let handle = self.handle(op)?;
            // A new connection reads the file's first page: it can fail the same way.
            self.read_checked(&handle, op, &read)
        };
        match first {
            Err(e) if self.worth_reading_again(&e) => {
                let handle = self.refreshed_handle(op)?;
                self.read_checked(&handle, op, &read)
                    .map_err(|e| self.explain_failure(op, e))
            }
            other => other,
        }
    }

    /// One read on a pooled reader, its answer checked (`check_read_answer`) while the reader
    /// still holds its lock, so that other processes' locked checkpoints cannot count.
    fn read_checked<T>(
        &self,
        handle: &Handle,
        op: &'static str,
        read: &impl Fn(&EngineConn) -> Result<T>,
    ) -> Result<T> {
        let reader = handle.reader(op)?;
        // Checked whatever it returned: an error read off a half-copied file (a row that is
        // not there, a value that does not decode) is as torn as a value.
        let value = read(&reader);
        self.check_read_answer(handle, op)?;
        value
    }

    /// A read snapshot for beads' own read operations (`store_ops(read)`), which can run twice:
    /// as `read_on`, so that a file overwritten under the first run is read again.
    pub(crate) fn read_snapshot<T>(
        &self,
        op: &'static str,
        work: impl Fn(&ReadTxn<'_>) -> Result<T>,
    ) -> Result<T> {
        self.read_on(op, |reader| {
            transaction::run_read(reader, &self.project, &work)
        })
    }

    /// Runs a write on the writer connection, then makes sure the file it went to is still the
    /// one at the path (see `after_write`). A failure caused by the file changing under it is
    /// reported as `Error::Replaced`.
    fn write_on<T>(
        &self,
        op: &'static str,
        write: impl FnOnce(&EngineConn) -> Result<T>,
    ) -> Result<T> {
        self.write_on_locked(op, false, write)
    }

    /// `write_on`, with the write lock made exclusive first when `exclusive` (waiting up to
    /// the busy timeout for other processes' readers): for work that rewrites the file.
    fn write_on_locked<T>(
        &self,
        op: &'static str,
        exclusive: bool,
        write: impl FnOnce(&EngineConn) -> Result<T>,
    ) -> Result<T> {
        let handle = self.write_handle(op)?;
        let writer = handle.writer(op).map_err(|e| self.explain_failure(op, e))?;
        let _exclusive = if exclusive {
            handle.lock_file(LockMode::Exclusive, op)?
        } else {
            None
        };
        let before = writer.wal_max_frame().ok();
        let value = write(&writer).map_err(|e| self.explain_write_failure(op, e));
        handle.settle_wal(&writer, before, value.as_ref().err());
        if value.is_ok() {
            handle.checkpoint_if_due(&writer);
        }
        // Still under the lock: a copy over the file that landed during the write is refused
        // (the write went to the `-wal` of the content the copy replaced), and a read of
        // another thread that starts once the lock is released must find this write (and its
        // checkpoint) recorded as the store's own.
        // Checked again once the file was recorded as the store's own: a copy that began in
        // between must not stay recorded as the store's doing.
        let value = value.and_then(|v| {
            self.check_write_target(&handle, op)?;
            self.after_write(op)?;
            self.check_write_target(&handle, op)?;
            Ok(v)
        });
        drop(writer);
        value
    }

    /// Runs `PRAGMA integrity_check`; `["ok"]` means the file is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let rows = self.query("PRAGMA integrity_check", &[])?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next())
            .map(|v| match v {
                Value::Text(s) => s,
                other => format!("{other:?}"),
            })
            .collect())
    }

    /// The journal mode the engine reports (`wal` for every beadstore file, `memory` in memory).
    pub fn journal_mode(&self) -> Result<String> {
        Ok(crate::value::first_text(self.query("PRAGMA journal_mode", &[])?).unwrap_or_default())
    }

    pub(crate) fn require_writable(&self, op: &'static str) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly {
                op,
                path: self.path.clone().into(),
            });
        }
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Committed data is already durable in the WAL; closing checkpoints it into the file.
        let _ = self.close();
    }
}

fn create_parent_dir(file: &Path) -> Result<()> {
    let Some(parent) = file.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(parent)
        .map_err(|e| Error::io("create database directory", parent, e))
}

/// Opens the database file (read-write: created, migrated and probed; read-only: it must exist)
/// and registers it with the process; used by open and by reconnect. When the path names another
/// file after the open than before it (replaced meanwhile), the engine may hold either: that
/// handle is dropped untouched and the open tried again.
fn open_file_handle(
    file: &Path,
    path: &str,
    read_only: bool,
    busy_timeout: Duration,
    schema: NewSchema,
) -> Result<Handle> {
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        let before = registry::file_id(file);
        let handle = open_file_handle_once(file, path, read_only, busy_timeout, schema)?;
        let after = registry::file_id(file);
        if before.is_none() || (before == after && after == handle.file_id()) {
            return Ok(handle);
        }
        handle.freeze_wal();
    }
    Err(Error::Replaced {
        op: "open",
        path: path.into(),
        kind: ReplacementKind::NewFile,
        reason: format!("the file was replaced during each of {ATTEMPTS} attempts to open it"),
    })
}

fn open_file_handle_once(
    file: &Path,
    path: &str,
    read_only: bool,
    busy_timeout: Duration,
    schema: NewSchema,
) -> Result<Handle> {
    if read_only {
        let gate = FileGate::open(file, false).map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found_in(
                NotFoundKind::Database,
                path,
                "a read-only open never creates the file",
            ),
            other => other,
        })?;
        let id = gate.key();
        // When this process writes the file, the engine hands back the writer's database (it
        // keeps one per file): this store then reads through it with writes refused.
        let role = if registry::has_writers(id) {
            Role::SharingReader
        } else {
            Role::LockedReader
        };
        let lock = gate.lock(LockMode::Read, busy_timeout, "open read-only")?;
        let mark = lock.mark();
        let target = Target::File {
            path,
            read_only: true,
        };
        let db = EngineDb::open(target, path)?;
        let handle = Handle::new(
            db,
            busy_timeout,
            Some(gate),
            Some(Registration::new(id, role)),
        )?;
        handle.adopt_file(&lock, &mark)?;
        return Ok(handle);
    }
    create_parent_dir(file)?;
    // Only a log line depends on it, so /proc/version is read only when it would show.
    if tracing::enabled!(tracing::Level::DEBUG) && wsl::on_wsl2_windows_path(path) {
        tracing::debug!(
            path = %path,
            "WSL2 Windows or Docker Desktop path: keeping WAL (the engine keeps its WAL index in process memory) and never enabling the multi-process sidecar"
        );
    }
    let gate = FileGate::open(file, true)?;
    let id = gate.key();
    wait_for_own_read_only_stores(id, path, busy_timeout)?;
    // A new file, or a rollback-journal one, is written outside the `-wal`: nobody may read it
    // meanwhile. A WAL file is only read here (an up-to-date schema, the common case) or
    // appended to (a migration, under the writer's lock taken then), beside other processes'
    // readers and writers.
    let mode = if gate.open_rewrites_file() {
        LockMode::Exclusive
    } else {
        LockMode::Read
    };
    let lock = gate.lock(mode, busy_timeout, "open")?;
    let mark = lock.mark();
    let target = Target::File {
        path,
        read_only: false,
    };
    let db = EngineDb::open(target, path)?;
    let mut handle = Handle::new(
        db,
        busy_timeout,
        Some(gate),
        Some(Registration::new(id, Role::Writer)),
    )?;
    handle.adopt_file(&lock, &mark)?;
    let current = match mode {
        LockMode::Read => match schema::migration_state(&*handle.reader_within(&lock)?)? {
            schema::MigrationState::UpToDate { schema_version } => {
                Some(schema::SchemaAction::UpToDate { schema_version })
            }
            _ => None,
        },
        _ => None,
    };
    let action = match current {
        Some(action) => action,
        None => {
            // Under a read lock, the writer takes its own (queued behind other writers, the
            // engine refreshed if one of them migrated first); under the exclusive one it
            // rides on that.
            let _exclusive = match mode {
                LockMode::Exclusive => Some(lock),
                _ => {
                    drop(lock);
                    None
                }
            };
            prepare_schema(&*handle.writer("open")?, schema, path)?
        }
    };
    handle.schema_action = Some(action);
    Ok(handle)
}

/// The file the store opened, as freshness checks compare against. When the path already names
/// another file than the one the engine opened (replaced during the open), there is no baseline
/// and the first check reconnects.
fn baseline(file: &Path, opened: Option<registry::FileId>) -> Option<Opened> {
    Opened::capture(file, opened?)
}

/// A read-write open waits (up to `timeout`) while read-only stores of this process have the
/// file open through a read-only engine database: the engine keeps one database per file in a
/// process and would hand that one back, refusing every write.
fn wait_for_own_read_only_stores(
    id: registry::FileId,
    path: &str,
    timeout: Duration,
) -> Result<()> {
    crate::lock_wait::wait_for_lock("open", path, timeout, || {
        Ok((!registry::has_locked_readers(id)).then_some(()))
    })
}

/// Whether an open may give an empty file a new schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewSchema {
    /// A first open: an empty or missing file becomes a new beads database.
    Allowed,
    /// A reconnect to a file that replaced the open one, checked whole just before: without a
    /// single page now, it is being copied over again, and a schema created in the `-wal` would
    /// hide the copy. (A whole SQLite file without tables still gets the schema.)
    Refused,
}

/// The `op` of the error a reconnect gets from a file emptied under it: worth trying again.
pub(crate) const EMPTIED_AT_RECONNECT: &str = "reconnect to a file emptied under it";

/// Creates, migrates and checks the schema as an open does.
fn prepare_schema(
    conn: &crate::engine::EngineConn,
    new_schema: NewSchema,
    path: &str,
) -> Result<schema::SchemaAction> {
    if new_schema == NewSchema::Refused && schema::has_no_pages(conn)? {
        return Err(Error::Corrupt {
            op: EMPTIED_AT_RECONNECT,
            path: path.into(),
            message: "the file was emptied while it was being opened (a copy over it?)".into(),
        });
    }
    let action = schema::prepare(conn)?;
    match &action {
        schema::SchemaAction::Migrated(report) => tracing::debug!(?report, "migrated"),
        other => tracing::debug!(?other, "schema ready"),
    }
    Ok(action)
}
