//! Explicit write transactions on the writer connection.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::engine::EngineConn;
use crate::error::Result;
use crate::value::{Row, Value};

/// An open IMMEDIATE transaction; statements run through it see its own writes.
pub struct Transaction<'a> {
    conn: &'a EngineConn,
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
}

pub(super) fn run<T>(
    conn: &EngineConn,
    work: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    conn.execute_batch("begin transaction", "BEGIN IMMEDIATE")?;
    let tx = Transaction { conn };
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
