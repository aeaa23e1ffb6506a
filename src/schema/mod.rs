//! The beads schema: creating it on a new file, migrating older files, and probing a file.

mod ddl;
pub mod invariants;
pub mod migrations;
mod plan;
mod probe;

pub use migrations::{MigrationInfo, MigrationReport, MigrationState};
pub use plan::MigrationPlan;
pub use probe::ProbeReport;

use crate::engine::EngineConn;
use crate::error::{Error, Result};
use crate::value::Param;

pub(crate) use probe::table_names;

/// The column order of `issues` in the effective schema (54 columns).
pub const ISSUE_COLUMNS: &[&str] = &[
    "id",
    "content_hash",
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
    "created_by",
    "owner",
    "updated_at",
    "closed_at",
    "closed_by_session",
    "external_ref",
    "compaction_level",
    "compacted_at",
    "compacted_at_commit",
    "original_size",
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "original_type",
    "sender",
    "ephemeral",
    "pinned",
    "is_template",
    "crystallizes",
    "mol_type",
    "work_type",
    "quality_score",
    "source_system",
    "event_kind",
    "actor",
    "target",
    "payload",
    "source_repo",
    "close_reason",
    "await_type",
    "await_id",
    "timeout_ns",
    "waiters",
    "hook_bead",
    "role_bead",
    "agent_state",
    "last_activity",
    "role_type",
    "rig",
    "due_at",
    "defer_until",
];

/// The table the blocked-issues migration creates and fills; never created empty beforehand.
const BLOCKED_CACHE: &str = "blocked_issues_cache";

/// What opening a file read-write did to its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaAction {
    /// A new file got the whole schema.
    Created,
    /// The file was already up to date: nothing ran.
    UpToDate {
        /// The file's schema cookie (`PRAGMA schema_version`).
        schema_version: i64,
    },
    /// Migrations ran.
    Migrated(MigrationReport),
}

/// Brings the file behind `conn` (the writer) to the current schema and checks it, as an open
/// does: a new file gets the whole schema; an up-to-date file is left alone; anything else is
/// migrated and probed in one transaction. A file without an `issues` table that holds other
/// tables is someone else's database and is never modified.
///
/// Go probes after committing its migrations and, on failure, migrates and probes once more,
/// because its migrations and its probe could run on different pooled connections. Here both run
/// on the writer inside one exclusive transaction, so a second attempt cannot see anything else;
/// an incompatible file is rolled back and reported instead.
pub(crate) fn prepare(conn: &EngineConn) -> Result<SchemaAction> {
    // The common case first: an up-to-date file costs two statements.
    if let MigrationState::UpToDate { schema_version } = migrations::state(conn)? {
        return Ok(SchemaAction::UpToDate { schema_version });
    }
    if is_empty(conn)? {
        create_fresh(conn)?;
        return Ok(SchemaAction::Created);
    }
    migrate(conn).map(SchemaAction::Migrated)
}

/// Runs the migrations whatever the file's state (`beadstore migrate`).
pub(crate) fn migrate(conn: &EngineConn) -> Result<MigrationReport> {
    if is_empty(conn)? {
        create_fresh(conn)?;
    }
    if !table_names(conn)?.contains("issues") {
        return Err(probe::probe(conn)?.into_error());
    }
    migrations::run(conn)
}

/// Writes the whole effective schema, the config defaults and the migration marker on a file
/// without tables, in one transaction.
fn create_fresh(conn: &EngineConn) -> Result<()> {
    conn.execute_batch("create schema", "BEGIN IMMEDIATE")?;
    let result = (|| {
        create_missing_tables(conn, true)?;
        conn.execute_batch("create schema", ddl::VIEWS)?;
        for (key, value) in ddl::CONFIG_DEFAULTS {
            conn.execute(
                "create schema",
                "INSERT OR IGNORE INTO config (key, value) VALUES (?, ?)",
                &[Param::from(*key), Param::from(*value)],
            )?;
        }
        migrations::write_marker(conn)
    })();
    match result {
        Ok(_) => conn.execute_batch("create schema", "COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("create schema", "ROLLBACK");
            Err(e)
        }
    }
}

/// Creates, in their current form and with their indexes, the tables the file lacks (the
/// blocked-issues cache only when `include_cache`). Go's schema script does the same on every
/// open before its migrations.
pub(crate) fn create_missing_tables(conn: &EngineConn, include_cache: bool) -> Result<()> {
    let existing = table_names(conn)?;
    for table in ddl::TABLES {
        if existing.contains(table.name) || (!include_cache && table.name == BLOCKED_CACHE) {
            continue;
        }
        conn.execute_batch("create schema", table.sql)
            .map_err(|e| Error::MigrationFailed {
                name: format!("create table {}", table.name),
                message: e.to_string(),
            })?;
    }
    Ok(())
}

/// After the migration steps: every index of the current schema exists (rebuilt tables lose
/// some), and both views are recreated in their current form.
pub(crate) fn finish_schema(conn: &EngineConn) -> Result<()> {
    let op = "finish schema";
    for table in ddl::TABLES {
        conn.execute_batch(op, table.sql)
            .map_err(|e| Error::MigrationFailed {
                name: format!("indexes of {}", table.name),
                message: e.to_string(),
            })?;
    }
    conn.execute_batch(
        op,
        "DROP VIEW IF EXISTS ready_issues; DROP VIEW IF EXISTS blocked_issues;",
    )?;
    conn.execute_batch(op, ddl::VIEWS)
        .map_err(|e| Error::MigrationFailed {
            name: "views".into(),
            message: e.to_string(),
        })
}

/// True when the file holds no table at all (a new or empty database).
pub(crate) fn is_empty(conn: &EngineConn) -> Result<bool> {
    Ok(table_names(conn)?
        .iter()
        .all(|t| t.starts_with("sqlite_") || t.starts_with("__turso_internal")))
}

/// True when the engine found no page at all in the file (a 0-byte file), as opposed to a
/// SQLite file without tables.
pub(crate) fn has_no_pages(conn: &EngineConn) -> Result<bool> {
    let rows = conn.query("page count", "PRAGMA page_count", &[])?;
    match rows.first() {
        Some(row) => Ok(row.get::<i64>(0)? == 0),
        None => Ok(true),
    }
}

/// Checks that the file has what beadstore needs; see [`ProbeReport`].
pub(crate) fn probe(conn: &EngineConn) -> Result<ProbeReport> {
    probe::probe(conn)
}

/// What migrating the file would change.
pub(crate) fn migration_plan(conn: &EngineConn) -> Result<MigrationPlan> {
    plan::plan(conn)
}

/// The file's migration state.
pub(crate) fn migration_state(conn: &EngineConn) -> Result<MigrationState> {
    migrations::state(conn)
}
