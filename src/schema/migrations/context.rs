//! What a migration step works with: the migration connection and schema look-ups.

use std::collections::BTreeSet;

use crate::engine::EngineConn;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::{first_i64, first_text, Param};

/// The connection a migration run uses, with helpers that turn failures into
/// `Error::MigrationFailed` naming the current step.
pub(crate) struct Ctx<'a> {
    conn: &'a EngineConn,
    step: &'static str,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(conn: &'a EngineConn, step: &'static str) -> Self {
        Ctx { conn, step }
    }

    fn fail(&self, e: Error) -> Error {
        match e {
            Error::MigrationFailed { .. } => e,
            other => Error::MigrationFailed {
                name: self.step.to_owned(),
                message: other.to_string(),
            },
        }
    }

    /// A failure of this step with a message.
    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::MigrationFailed {
            name: self.step.to_owned(),
            message: message.into(),
        }
    }

    /// Runs statements without parameters.
    pub(crate) fn batch(&self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(self.step, sql)
            .map_err(|e| self.fail(e))
    }

    /// Runs one statement; returns rows changed.
    pub(crate) fn exec(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.conn
            .execute(self.step, sql, params)
            .map_err(|e| self.fail(e))
    }

    /// Runs a query.
    pub(crate) fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        self.conn
            .query(self.step, sql, params)
            .map_err(|e| self.fail(e))
    }

    /// The first column of the first row as an integer (0 when absent).
    pub(crate) fn count(&self, sql: &str) -> Result<i64> {
        Ok(first_i64(&self.query(sql, &[])?).unwrap_or(0))
    }

    /// True when a table of that name exists.
    pub(crate) fn has_table(&self, table: &str) -> Result<bool> {
        Ok(self.schema_object_sql("table", table)?.is_some())
    }

    /// True when an index of that name exists.
    pub(crate) fn has_index(&self, index: &str) -> Result<bool> {
        let rows = self.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
            &[Param::from(index)],
        )?;
        Ok(!rows.is_empty())
    }

    /// The `CREATE` statement of a table or view, if it exists.
    pub(crate) fn schema_object_sql(&self, kind: &str, name: &str) -> Result<Option<String>> {
        let rows = self.query(
            "SELECT sql FROM sqlite_master WHERE type = ? AND name = ?",
            &[Param::from(kind), Param::from(name)],
        )?;
        // An object whose sql is NULL (an automatic index) reads as empty text.
        Ok(if rows.is_empty() {
            None
        } else {
            Some(first_text(rows).unwrap_or_default())
        })
    }

    /// The column names of a table.
    pub(crate) fn columns(&self, table: &str) -> Result<BTreeSet<String>> {
        super::super::probe::column_names(self.conn, table)
            .map(|c| c.into_iter().collect())
            .map_err(|e| self.fail(e))
    }

    /// True when `table` has `column`.
    pub(crate) fn has_column(&self, table: &str, column: &str) -> Result<bool> {
        Ok(self.columns(table)?.contains(column))
    }

    /// Adds each `(column, definition)` that `table` lacks, in order.
    pub(crate) fn add_columns(&self, table: &str, columns: &[(&str, &str)]) -> Result<()> {
        let present = self.columns(table)?;
        for (name, definition) in columns {
            if !present.contains(*name) {
                self.batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN {name} {definition}"
                ))?;
            }
        }
        Ok(())
    }
}
