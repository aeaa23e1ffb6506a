//! The schema probe: does the file have every table and column that beadstore reads and writes?

use std::collections::BTreeSet;

use crate::engine::EngineConn;
use crate::error::{Error, Result};
use crate::value::column_texts;

/// Tables and the columns the probe requires of them (the Go store's expectation, reference §5).
pub(crate) const EXPECTED: &[(&str, &[&str])] = &[
    (
        "issues",
        &[
            "id",
            "title",
            "description",
            "design",
            "acceptance_criteria",
            "notes",
            "status",
            "priority",
            "issue_type",
            "assignee",
            "estimated_minutes",
            "created_at",
            "updated_at",
            "closed_at",
            "content_hash",
            "external_ref",
            "compaction_level",
            "compacted_at",
            "compacted_at_commit",
            "original_size",
            "source_repo",
            "close_reason",
            "deleted_at",
            "deleted_by",
            "delete_reason",
            "original_type",
            "sender",
            "ephemeral",
            "pinned",
        ],
    ),
    (
        "dependencies",
        &[
            "issue_id",
            "depends_on_id",
            "type",
            "created_at",
            "created_by",
            "metadata",
            "thread_id",
        ],
    ),
    ("labels", &["issue_id", "label"]),
    (
        "comments",
        &["id", "issue_id", "author", "text", "created_at"],
    ),
    (
        "events",
        &[
            "id",
            "issue_id",
            "event_type",
            "actor",
            "old_value",
            "new_value",
            "comment",
            "created_at",
        ],
    ),
    ("config", &["key", "value"]),
    ("metadata", &["key", "value"]),
    ("dirty_issues", &["issue_id", "marked_at"]),
    (
        "export_hashes",
        &["issue_id", "content_hash", "exported_at"],
    ),
    ("child_counters", &["parent_id", "last_child"]),
    (
        "issue_snapshots",
        &[
            "id",
            "issue_id",
            "snapshot_time",
            "compaction_level",
            "original_size",
            "compressed_size",
            "original_content",
            "archived_events",
        ],
    ),
    (
        "compaction_snapshots",
        &[
            "id",
            "issue_id",
            "compaction_level",
            "snapshot_json",
            "created_at",
        ],
    ),
    (
        "repo_mtimes",
        &["repo_path", "jsonl_path", "mtime_ns", "last_checked"],
    ),
];

/// What the probe found missing; empty means compatible. Both lists are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeReport {
    /// Tables that do not exist.
    pub missing_tables: Vec<String>,
    /// (table, column) pairs missing from tables that exist.
    pub missing_columns: Vec<(String, String)>,
}

impl ProbeReport {
    /// True when nothing is missing.
    pub fn is_compatible(&self) -> bool {
        self.missing_tables.is_empty() && self.missing_columns.is_empty()
    }

    /// The typed error for an incompatible report.
    pub fn into_error(self) -> Error {
        Error::SchemaIncompatible {
            missing_tables: self.missing_tables,
            missing_columns: self.missing_columns,
        }
    }
}

/// The set of table names in the file.
pub(crate) fn table_names(conn: &EngineConn) -> Result<BTreeSet<String>> {
    let rows = conn.query(
        "schema probe",
        "SELECT name FROM sqlite_master WHERE type = 'table'",
        &[],
    )?;
    Ok(column_texts(rows, 0).into_iter().collect())
}

/// The column names of one table, in declaration order.
pub(crate) fn column_names(conn: &EngineConn, table: &str) -> Result<Vec<String>> {
    let rows = conn.query(
        "schema probe",
        &format!("PRAGMA table_info({})", quote_ident(table)),
        &[],
    )?;
    Ok(column_texts(rows, 1))
}

/// Checks every expected table and column; never fails on an incompatible schema, only reports it.
pub(crate) fn probe(conn: &EngineConn) -> Result<ProbeReport> {
    let tables = table_names(conn)?;
    let mut report = ProbeReport::default();
    for (table, required) in EXPECTED {
        if !tables.contains(*table) {
            report.missing_tables.push((*table).to_owned());
            continue;
        }
        let present: BTreeSet<String> = column_names(conn, table)?.into_iter().collect();
        for col in *required {
            if !present.contains(*col) {
                report
                    .missing_columns
                    .push(((*table).to_owned(), (*col).to_owned()));
            }
        }
    }
    report.missing_tables.sort();
    report.missing_columns.sort();
    Ok(report)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::EXPECTED;
    use crate::schema::ISSUE_COLUMNS;

    /// The probe's list is Go's (a subset); every column it requires of `issues` must be one
    /// of the schema's, which tests/api/schema.rs checks against the created table.
    #[test]
    fn the_probe_requires_only_columns_of_the_schema() {
        let (_, issue_columns) = EXPECTED
            .iter()
            .find(|(table, _)| *table == "issues")
            .expect("the probe checks the issues table");
        for column in *issue_columns {
            assert!(
                ISSUE_COLUMNS.contains(column),
                "the probe requires {column}, which the schema does not have"
            );
        }
    }
}
