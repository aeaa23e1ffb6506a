//! Explicit write transactions on the writer connection.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::engine::EngineConn;
use crate::error::Result;
use crate::project::{ProjectConfig, ProjectSource};
use crate::value::{Row, Value};

/// An open transaction: an IMMEDIATE write transaction (statements see its own writes), or a
/// read snapshot (every query sees the database as of its first read; writes are refused).
pub struct Transaction<'a> {
    conn: &'a EngineConn,
    project: &'a ProjectSource,
}

impl Transaction<'_> {
    /// Runs one statement with parameters; returns rows changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.conn.execute("transaction execute", sql, params)
    }

    /// Runs several `;`-separated statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch("transaction execute batch", sql)
    }

    /// Runs a query and returns every row, including this transaction's uncommitted writes.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.conn.query("transaction query", sql, params)
    }

    /// The store's project configuration (`.beads/config.yaml` beside the database).
    pub fn project_config(&self) -> Result<std::sync::Arc<ProjectConfig>> {
        self.project.get()
    }

    /// `issues.jsonl` beside the database (`None` in memory).
    pub(crate) fn jsonl_history(&self) -> Option<std::path::PathBuf> {
        self.project.jsonl_history()
    }
}

/// Runs `work` in a deferred (read) transaction on `conn` with writes refused, then ends it.
pub(super) fn run_snapshot<T>(
    conn: &EngineConn,
    project: &ProjectSource,
    database_read_only: bool,
    work: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    conn.set_query_only(true, database_read_only)?;
    let result = run_with(conn, project, "BEGIN", work);
    conn.set_query_only(false, database_read_only)?;
    result
}

pub(super) fn run<T>(
    conn: &EngineConn,
    project: &ProjectSource,
    work: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    run_with(conn, project, "BEGIN IMMEDIATE", work)
}

fn run_with<T>(
    conn: &EngineConn,
    project: &ProjectSource,
    begin: &str,
    work: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    conn.execute_batch("begin transaction", begin)?;
    let tx = Transaction { conn, project };
    match catch_unwind(AssertUnwindSafe(|| work(&tx))) {
        Ok(Ok(value)) => match conn.execute_batch("commit", "COMMIT") {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = conn.execute_batch("rollback", "ROLLBACK");
                Err(e)
            }
        },
        Ok(Err(e)) => {
            let _ = conn.execute_batch("rollback", "ROLLBACK");
            Err(e)
        }
        Err(panic) => {
            let _ = conn.execute_batch("rollback", "ROLLBACK");
            resume_unwind(panic)
        }
    }
}
