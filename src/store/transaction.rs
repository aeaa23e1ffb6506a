//! Read and write transactions as distinct types: a read snapshot can only read, a write
//! transaction can do both and sees its own writes.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::engine::EngineConn;
use crate::error::{Error, Result};
use crate::project::{ProjectConfig, ProjectSource};
use crate::row::Row;
use crate::value::Param;

/// A read transaction: every query sees the database as of its first read, whatever commits
/// meanwhile. Every beads read operation is a method of this type; a [`WriteTxn`] derefs to it.
///
/// A write on a read transaction does not compile:
///
/// ```compile_fail
/// # fn main() -> beadstore::Result<()> {
/// let store = beadstore::Store::in_memory()?;
/// store.snapshot(|tx| tx.set_config("issue_prefix", "bd"))?;
/// # Ok(())
/// # }
/// ```
///
/// while the same call on a write transaction does, and reads inside see it:
///
/// ```
/// # fn main() -> beadstore::Result<()> {
/// let store = beadstore::Store::in_memory()?;
/// let prefix = store.transaction(|tx| {
///     tx.set_config("issue_prefix", "bd")?;
///     tx.get_config("issue_prefix")
/// })?;
/// assert_eq!(prefix.as_deref(), Some("bd"));
/// # Ok(())
/// # }
/// ```
pub struct ReadTxn<'a> {
    conn: &'a EngineConn,
    project: &'a ProjectSource,
}

/// An IMMEDIATE write transaction on the writer connection: committed when the closure given to
/// [`Store::transaction`](crate::Store::transaction) returns `Ok`, rolled back otherwise. It
/// derefs to [`ReadTxn`], so every read sees this transaction's own uncommitted writes.
pub struct WriteTxn<'a> {
    read: ReadTxn<'a>,
}

impl<'a> std::ops::Deref for WriteTxn<'a> {
    type Target = ReadTxn<'a>;
    fn deref(&self) -> &ReadTxn<'a> {
        &self.read
    }
}

impl ReadTxn<'_> {
    /// Runs a query and returns every row.
    pub fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        self.conn.query("transaction query", sql, params)
    }

    /// Runs a query and maps its first row with `map`; `Error::NoRows` when there is none
    /// (`.optional()` turns that into `None`).
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        first_row(self.query(sql, params)?, map)
    }

    /// Runs a query and maps every row with `map`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        map_rows(self.query(sql, params)?, map)
    }

    /// The store's project configuration (`.beads/config.yaml` and the `BD_*` environment).
    pub fn project_config(&self) -> Result<std::sync::Arc<ProjectConfig>> {
        self.project.get()
    }

    /// `issues.jsonl` beside the database (`None` in memory).
    pub(crate) fn jsonl_history(&self) -> Option<std::path::PathBuf> {
        self.project.jsonl_history()
    }
}

impl WriteTxn<'_> {
    /// Runs one statement with parameters; returns rows changed. A checkpoint, VACUUM or
    /// journal mode change is refused here (`Error::InvalidInput`): it rewrites the file,
    /// which needs every other process's readers out; run it through [`Store::execute`].
    ///
    /// [`Store::execute`]: crate::Store::execute
    pub fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        refuse_file_rewrite(sql)?;
        self.read.conn.execute("transaction execute", sql, params)
    }

    /// Runs several `;`-separated statements without parameters (the same refusals as
    /// [`WriteTxn::execute`]).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        refuse_file_rewrite(sql)?;
        self.read
            .conn
            .execute_batch("transaction execute batch", sql)
    }
}

/// True for SQL that rewrites the database file or empties the `-wal` rather than appending
/// to it: a checkpoint, VACUUM, a journal mode change. Errs on the side of yes (a word in a
/// string literal counts too): the cost is only a wait for other processes' readers.
pub(crate) fn rewrites_file(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    ["wal_checkpoint", "vacuum", "journal_mode"]
        .iter()
        .any(|word| lower.contains(word))
}

fn refuse_file_rewrite(sql: &str) -> Result<()> {
    if rewrites_file(sql) {
        return Err(Error::invalid(
            "sql",
            "a checkpoint, VACUUM or journal mode change cannot run inside a transaction: run it with Store::execute",
        ));
    }
    Ok(())
}

/// Runs `work` in a deferred (read) transaction on the reader connection `conn`, which is
/// query-only from its creation (raw SQL through `query` cannot write), then ends it.
pub(super) fn run_read<T, E: From<Error>>(
    conn: &EngineConn,
    project: &ProjectSource,
    work: impl FnOnce(&ReadTxn<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let tx = ReadTxn { conn, project };
    run_with(conn, "BEGIN", || work(&tx))
}

/// Runs `work` in an IMMEDIATE transaction on the writer connection `conn`.
pub(super) fn run_write<T, E: From<Error>>(
    conn: &EngineConn,
    project: &ProjectSource,
    work: impl FnOnce(&WriteTxn<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let tx = WriteTxn {
        read: ReadTxn { conn, project },
    };
    run_with(conn, "BEGIN IMMEDIATE", || work(&tx))
}

fn run_with<T, E: From<Error>>(
    conn: &EngineConn,
    begin: &str,
    work: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    conn.control("begin transaction", begin)?;
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(value)) => match conn.control("commit", "COMMIT") {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = conn.control("rollback", "ROLLBACK");
                Err(e.into())
            }
        },
        Ok(Err(e)) => {
            let _ = conn.control("rollback", "ROLLBACK");
            Err(e)
        }
        Err(panic) => {
            let _ = conn.control("rollback", "ROLLBACK");
            resume_unwind(panic)
        }
    }
}

/// Keeps a failure of the engine around a transaction (begin, commit) apart from the one the
/// caller's closure returned, so each is reported in its own type.
pub(super) enum Failure<E> {
    /// Beginning or committing failed.
    Store(Error),
    /// The closure failed; the transaction was rolled back.
    Work(E),
}

impl<E> From<Error> for Failure<E> {
    fn from(e: Error) -> Self {
        Failure::Store(e)
    }
}

/// `map` of the first of `rows`, or `Error::NoRows`.
pub(crate) fn first_row<T>(rows: Vec<Row>, map: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
    rows.first().map_or(Err(Error::NoRows), map)
}

/// `map` of each of `rows`, stopping at the first error.
pub(crate) fn map_rows<T>(rows: Vec<Row>, map: impl FnMut(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(map).collect()
}

#[cfg(test)]
mod tests {
    use super::rewrites_file;

    #[test]
    fn statements_that_rewrite_the_file_are_recognised() {
        for sql in [
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "pragma WAL_CHECKPOINT",
            "VACUUM",
            "PRAGMA journal_mode=DELETE",
            "UPDATE x SET a = 1; PRAGMA wal_checkpoint(FULL)",
        ] {
            assert!(rewrites_file(sql), "{sql}");
        }
        for sql in [
            "INSERT INTO config (key, value) VALUES ('k', 'v')",
            "PRAGMA user_version = 3",
            "CREATE TABLE t (a)",
        ] {
            assert!(!rewrites_file(sql), "{sql}");
        }
    }
}
