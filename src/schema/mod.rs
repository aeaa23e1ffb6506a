//! The beads schema: creating it on a new file, repairing missing tables, and probing a file.

mod ddl;
mod probe;

pub use probe::ProbeReport;

use crate::engine::EngineConn;
use crate::error::Result;
use crate::value::Value;

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

/// Creates every table, index and view of the effective schema that does not exist yet, and the
/// compaction config defaults, in one transaction. On a new file this writes the whole schema.
pub(crate) fn create_missing(conn: &EngineConn) -> Result<()> {
    in_transaction(conn, |conn| {
        create_missing_in_tx(conn)?;
        Ok(true)
    })
    .map(|_| ())
}

/// Creates the missing tables and probes again, in one transaction that is committed only when
/// the file then passes the probe. Returns whether it did.
pub(crate) fn repair(conn: &EngineConn) -> Result<bool> {
    in_transaction(conn, |conn| {
        create_missing_in_tx(conn)?;
        Ok(probe::probe(conn)?.is_compatible())
    })
}

fn create_missing_in_tx(conn: &EngineConn) -> Result<()> {
    let existing = table_names(conn)?;
    for table in ddl::TABLES {
        if !existing.contains(table.name) {
            conn.execute_batch("create schema", table.sql)?;
        }
    }
    conn.execute_batch("create schema", ddl::VIEWS)?;
    for (key, value) in ddl::CONFIG_DEFAULTS {
        conn.execute(
            "create schema",
            "INSERT OR IGNORE INTO config (key, value) VALUES (?, ?)",
            &[Value::from(*key), Value::from(*value)],
        )?;
    }
    Ok(())
}

/// Runs `work` in an IMMEDIATE transaction, committed when it returns `Ok(true)`, else rolled back.
fn in_transaction(
    conn: &EngineConn,
    work: impl FnOnce(&EngineConn) -> Result<bool>,
) -> Result<bool> {
    conn.execute_batch("create schema", "BEGIN IMMEDIATE")?;
    match work(conn) {
        Ok(true) => conn.execute_batch("create schema", "COMMIT").map(|_| true),
        Ok(false) => conn
            .execute_batch("create schema", "ROLLBACK")
            .map(|_| false),
        Err(e) => {
            let _ = conn.execute_batch("create schema", "ROLLBACK");
            Err(e)
        }
    }
}

/// True when the file holds no table at all (a new or empty database).
pub(crate) fn is_empty(conn: &EngineConn) -> Result<bool> {
    Ok(table_names(conn)?
        .iter()
        .all(|t| t.starts_with("sqlite_") || t.starts_with("__turso_internal")))
}

/// Checks that the file has what beadstore needs; see [`ProbeReport`].
pub(crate) fn probe(conn: &EngineConn) -> Result<ProbeReport> {
    probe::probe(conn)
}
