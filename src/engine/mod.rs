//! The only place that touches `turso_core`: opening databases, connections, running statements,
//! converting values and errors, and containing engine panics so none escapes the public API.

mod convert;
mod dialect;
#[cfg(feature = "fault-injection")]
pub(crate) mod faults;
pub(crate) mod file_lock;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use turso_core::{
    CheckpointMode, Connection, Database, MemoryIO, OpenFlags, OpenOptions, PlatformIO, StepResult,
    IO,
};

use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::Param;

/// Where an engine database lives.
pub(crate) enum Target<'a> {
    /// A file on disk, opened read-write (created when missing) or read-only.
    File { path: &'a str, read_only: bool },
    /// A private in-memory database.
    Memory,
}

/// Which WAL checkpoint to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checkpoint {
    /// Copy every frame into the database file.
    Full,
    /// Copy every frame, then truncate the `-wal` file to zero bytes.
    Truncate,
}

/// An open engine database; connections are made from it.
pub(crate) struct EngineDb {
    db: Arc<Database>,
    label: Arc<str>,
    read_only: bool,
    /// A file other processes may read: the engine must not checkpoint it on its own.
    on_disk: bool,
}

impl EngineDb {
    /// Opens (or, for read-write files, creates) a database. One attempt: lock waits are the caller's.
    pub(crate) fn open(target: Target<'_>, label: &str) -> Result<Self> {
        let label: Arc<str> = Arc::from(label);
        let op = "open";
        let on_disk = matches!(target, Target::File { .. });
        let (io, path, flags, read_only): (Arc<dyn IO>, &str, OpenFlags, bool) = match target {
            Target::Memory => (
                Arc::new(MemoryIO::new()),
                ":memory:",
                OpenFlags::Create,
                false,
            ),
            Target::File { path, read_only } => {
                let io: Arc<dyn IO> = Arc::new(contain(op, &label, PlatformIO::new)?);
                #[cfg(feature = "fault-injection")]
                let io = faults::wrap(io, path);
                // No lock of the engine's own: beadstore locks the file per operation
                // (`file_lock`), so other processes can use it between calls.
                let flags = if read_only {
                    OpenFlags::ReadOnly | OpenFlags::NoLock
                } else {
                    OpenFlags::Create | OpenFlags::NoLock
                };
                (io, path, flags, read_only)
            }
        };
        let options = OpenOptions::new(dialect::CachedCatalogDialect::shared()).flags(flags);
        let db = contain(op, &label, || Database::open(io, path, options))?;
        Ok(EngineDb {
            db,
            label,
            read_only,
            on_disk,
        })
    }

    /// True for a database opened read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Re-reads the WAL from disk after another process committed, checkpointed or restarted
    /// it: the engine's in-memory WAL index describes the file as this process last left it.
    /// Call with the file locked and no transaction open on any connection.
    pub(crate) fn reload_from_disk(&self) -> Result<()> {
        contain("refresh after another process wrote", &self.label, || {
            self.db.reload_wal_after_external_restore()
        })
    }

    /// A new connection with foreign keys on and the given busy timeout.
    pub(crate) fn connect(&self, busy_timeout: Duration) -> Result<EngineConn> {
        let conn = contain("connect", &self.label, || self.db.connect())?;
        conn.set_busy_timeout(busy_timeout);
        conn.set_foreign_keys_enabled(true);
        // Sorts and hash joins that outgrow memory stay in memory: a read command never
        // creates a file, and a beads database is far smaller than memory.
        conn.set_temp_store(turso_core::TempStore::Memory);
        if self.on_disk {
            // Readers of other processes use the `-wal` and the database file while this
            // process writes: the engine's own checkpoint after a commit (and its restart of the
            // log) would rewrite pages under them. beadstore checkpoints under an exclusive
            // lock instead (`Handle::checkpoint_if_due`, close).
            conn.wal_auto_actions_disable();
        }
        if self.read_only {
            conn.set_query_only(true);
        }
        Ok(EngineConn {
            conn,
            label: self.label.clone(),
            query_only: AtomicBool::new(self.read_only),
            poisoned: AtomicBool::new(false),
            statements: parking_lot::Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        })
    }
}

/// How many prepared statements a connection keeps for reuse.
const CACHED_STATEMENTS: usize = 64;

/// One engine connection. Used by one thread at a time (the store's pool guarantees it).
pub(crate) struct EngineConn {
    conn: Arc<Connection>,
    label: Arc<str>,
    query_only: AtomicBool,
    poisoned: AtomicBool,
    /// Prepared statements by mode and SQL text: preparing costs more than running most.
    /// The engine re-prepares a cached statement by itself when the schema changed.
    statements: parking_lot::Mutex<HashMap<String, turso_core::Statement>>,
    /// The file generation (see `file_lock::FileGate::generation`) this connection's page cache
    /// and schema describe.
    generation: AtomicU64,
}

impl EngineConn {
    /// Brings the connection up to the file's `generation`: after another process changed the
    /// file, its cached pages and schema may describe the old content. Prepared statements
    /// stay: they hold no pages between runs, and one compiled against an older schema is
    /// prepared again by the engine when it runs (its schema cookie no longer matches the
    /// file's), so a peer's data-only commit costs no recompilation.
    pub(crate) fn catch_up(&self, generation: u64) -> Result<()> {
        if self.generation.load(Ordering::Acquire) == generation {
            return Ok(());
        }
        self.guard("refresh after another process wrote", |conn| {
            let pager = conn.get_pager();
            pager.clear_page_cache(false);
            pager.set_schema_cookie(None);
            conn.maybe_reparse_schema()
        })?;
        self.generation.store(generation, Ordering::Release);
        Ok(())
    }

    /// Marks a new connection as describing the file at `generation` already.
    pub(crate) fn set_generation(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
    }

    /// Runs one or more statements that take no parameters and return no rows.
    pub(crate) fn execute_batch(&self, op: &'static str, sql: &str) -> Result<()> {
        // Batches carry DDL (migrations): statements prepared against the old schema go.
        self.statements.lock().clear();
        self.guard(op, |conn| conn.execute(sql))
    }

    /// Begins, commits or rolls back a transaction (`sql` is the statement), through the
    /// statement cache: unlike `execute_batch`, it leaves the other cached statements alone.
    pub(crate) fn control(&self, op: &'static str, sql: &str) -> Result<()> {
        self.execute(op, sql, &[]).map(|_| ())
    }

    /// Runs one statement with parameters; returns the number of rows it changed.
    pub(crate) fn execute(&self, op: &'static str, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.with_statement(op, sql, |stmt| {
            bind(stmt, params)?;
            drive(stmt, |_| Ok(()))?;
            Ok(stmt.n_change().max(0) as u64)
        })
    }

    /// Runs one statement with parameters and collects every row.
    pub(crate) fn query(
        &self,
        op: &'static str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>> {
        self.with_statement(op, sql, |stmt| {
            bind(stmt, params)?;
            let mut rows = Vec::new();
            drive(stmt, |row| {
                rows.push(Row::from(
                    row.get_values()
                        .map(convert::from_engine)
                        .collect::<Vec<_>>(),
                ));
                Ok(())
            })?;
            Ok(rows)
        })
    }

    /// Runs `f` on the cached statement for `sql` (prepared on first use), reset afterwards.
    /// A statement whose run failed is dropped rather than cached.
    fn with_statement<T>(
        &self,
        op: &'static str,
        sql: &str,
        f: impl FnOnce(&mut turso_core::Statement) -> turso_core::Result<T>,
    ) -> Result<T> {
        // The engine checks query_only when it prepares: a statement prepared with writes
        // allowed must never be reused with them refused, so the mode is part of the key.
        let key = if self.query_only.load(Ordering::Acquire) {
            format!("r{sql}")
        } else {
            format!("w{sql}")
        };
        let cacheable = is_cacheable(sql);
        let mut slot = if cacheable {
            self.statements.lock().remove(&key)
        } else {
            // DDL or a pragma: answers depend on the schema at prepare time, and it may change
            // the schema other cached statements were prepared against.
            self.statements.lock().clear();
            None
        };
        let result = self.guard(op, |conn| {
            let stmt = match &mut slot {
                Some(stmt) => stmt,
                None => slot.insert(conn.prepare(sql)?),
            };
            let value = f(stmt);
            stmt.reset()?;
            value
        });
        if let (true, Ok(_), Some(stmt)) = (cacheable, &result, slot) {
            let mut cache = self.statements.lock();
            if cache.len() < CACHED_STATEMENTS {
                cache.insert(key, stmt);
            }
        }
        result
    }

    /// Runs a WAL checkpoint; returns (frames in the WAL, frames now copied into the file).
    pub(crate) fn checkpoint(&self, mode: Checkpoint) -> Result<(u64, u64)> {
        let mode = match mode {
            Checkpoint::Full => CheckpointMode::Full,
            Checkpoint::Truncate => CheckpointMode::Truncate {
                upper_bound_inclusive: None,
            },
        };
        self.guard("checkpoint", |conn| {
            conn.checkpoint(mode)
                .map(|r| (r.wal_max_frame, r.wal_total_backfilled))
        })
    }

    /// Refuses (or allows again) every write on this connection; used for read snapshots.
    /// Connections of a read-only database stay query-only whatever is asked.
    pub(crate) fn set_query_only(&self, on: bool, database_read_only: bool) -> Result<()> {
        let on = on || database_read_only;
        // The engine re-prepares every statement of a connection whose mode changed: a call
        // that changes nothing must not cost that.
        if self.query_only.load(Ordering::Acquire) == on {
            return Ok(());
        }
        self.guard("set query_only", |conn| {
            conn.set_query_only(on);
            Ok(())
        })?;
        self.query_only.store(on, Ordering::Release);
        Ok(())
    }

    /// The last WAL frame this connection's latest transaction saw (right after a commit: the
    /// frame that committed it).
    pub(crate) fn wal_max_frame(&self) -> Result<u64> {
        self.guard("WAL state", |conn| conn.wal_state().map(|w| w.max_frame))
    }

    /// True while an explicit transaction is open on this connection.
    pub(crate) fn in_transaction(&self) -> bool {
        contain("transaction state", &self.label, || {
            Ok(!self.conn.get_auto_commit())
        })
        .unwrap_or(true)
    }

    /// Stops this connection from ever checkpointing on its own (automatically after commits, or
    /// when it is the database's last connection to close). Used when the file under it was
    /// replaced: its WAL must not be copied into, or truncated under, anyone else's file.
    pub(crate) fn freeze_wal(&self) {
        let _ = self.guard("freeze wal", |conn| {
            conn.wal_auto_actions_disable();
            Ok(())
        });
    }

    /// True once an engine panic happened on this connection: it must not be used again.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Closes the connection (rolling back any open transaction). Errors are reported, not raised,
    /// because close runs on paths that are already unwinding or shutting down.
    pub(crate) fn close(&self) -> Result<()> {
        // Cached statements hold the connection's resources: gone before it closes.
        self.statements.lock().clear();
        self.guard("close connection", |conn| conn.close())
    }

    fn guard<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Arc<Connection>) -> turso_core::Result<T>,
    ) -> Result<T> {
        if self.is_poisoned() {
            return Err(Error::Engine {
                op,
                message: "connection unusable after an earlier engine panic".into(),
            });
        }
        match catch_unwind(AssertUnwindSafe(|| f(&self.conn))) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(convert::map_error(
                op,
                &self.label,
                self.query_only.load(Ordering::Acquire),
                e,
            )),
            Err(payload) => {
                self.poisoned.store(true, Ordering::Release);
                Err(convert::panic_error(op, &self.label, &payload))
            }
        }
    }
}

/// Plain data statements are cached; DDL, pragmas and transaction control are not.
fn is_cacheable(sql: &str) -> bool {
    // BEGIN / COMMIT / ROLLBACK neither read nor change the schema: caching them keeps a
    // transaction from re-preparing them, and from dropping every other cached statement.
    const CACHEABLE: [&str; 9] = [
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE", "BEGIN", "COMMIT", "ROLLBACK",
    ];
    // As many characters as the longest keyword, so each can match whole.
    let head: String = sql
        .trim_start()
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    CACHEABLE.iter().any(|k| head.starts_with(k))
}

/// Runs an engine call with panics turned into `Error::Engine`.
fn contain<T>(
    op: &'static str,
    label: &str,
    f: impl FnOnce() -> turso_core::Result<T>,
) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(convert::map_error(op, label, false, e)),
        Err(payload) => Err(convert::panic_error(op, label, &payload)),
    }
}

fn bind(stmt: &mut turso_core::Statement, params: &[Param<'_>]) -> turso_core::Result<()> {
    for (i, v) in params.iter().enumerate() {
        let Some(index) = NonZeroUsize::new(i + 1) else {
            continue;
        };
        stmt.bind_at(index, convert::to_engine(v)?)?;
    }
    Ok(())
}

/// Steps a statement to completion, driving I/O, handing each row to `on_row`.
fn drive(
    stmt: &mut turso_core::Statement,
    mut on_row: impl FnMut(&turso_core::Row) -> turso_core::Result<()>,
) -> turso_core::Result<()> {
    loop {
        match stmt.step()? {
            StepResult::Done => return Ok(()),
            StepResult::Row => {
                if let Some(row) = stmt.row() {
                    on_row(row)?;
                }
            }
            StepResult::IO | StepResult::Yield => stmt._io().step()?,
            StepResult::Sleep { duration } => {
                std::thread::sleep(duration.min(Duration::from_millis(50)));
                stmt._io().step()?;
            }
            StepResult::Busy => return Err(turso_core::LimboError::Busy),
            StepResult::Interrupt => return Err(turso_core::LimboError::Interrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_cacheable;

    #[test]
    fn transaction_control_and_dml_are_cached_but_ddl_and_pragmas_are_not() {
        for sql in [
            "SELECT 1",
            " insert into t values (1)",
            "BEGIN IMMEDIATE",
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "rollback",
        ] {
            assert!(is_cacheable(sql), "{sql}");
        }
        for sql in [
            "CREATE TABLE t (a)",
            "PRAGMA journal_mode",
            "DROP TABLE t",
            "ALTER TABLE t",
        ] {
            assert!(!is_cacheable(sql), "{sql}");
        }
    }
}
