//! Checks around a migration run: the orphan clean-up before it, the counts it must not lose, and
//! the three invariants after it (Go's `required_config_present`, `foreign_keys_valid`,
//! `issue_count_stable`).

use crate::engine::EngineConn;
use crate::error::{Error, Result};
use crate::value::{column_texts, first_i64, first_text};

/// What the database held before the migrations ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Rows in `issues`.
    pub issue_count: i64,
    /// Config keys, sorted.
    pub config_keys: Vec<String>,
    /// Rows in `dependencies`.
    pub dependency_count: i64,
    /// Rows in `labels`.
    pub label_count: i64,
}

/// The invariant names, sorted.
pub const INVARIANT_NAMES: [&str; 3] = [
    "foreign_keys_valid",
    "issue_count_stable",
    "required_config_present",
];

fn count(conn: &EngineConn, op: &'static str, sql: &str) -> Result<i64> {
    Ok(first_i64(&conn.query(op, sql, &[])?).unwrap_or(0))
}

/// Deletes dependencies and labels whose issue is gone. Returns (dependencies, labels) removed.
/// This runs first so a database left with orphans by an old tombstone bug can still be opened
/// and migrated. Go also deletes dependencies whose target is missing; they are kept here: the
/// schema has no foreign key on targets, real exports hold edges to squashed wisps, and deleting
/// them would make the next export drop them from git.
pub(crate) fn clean_orphaned_refs(conn: &EngineConn) -> Result<(u64, u64)> {
    let op = "orphan clean-up";
    let deps = conn.execute(
        op,
        "DELETE FROM dependencies WHERE NOT EXISTS (SELECT 1 FROM issues WHERE id = dependencies.issue_id)",
        &[],
    )?;
    let labels = conn.execute(
        op,
        "DELETE FROM labels WHERE NOT EXISTS (SELECT 1 FROM issues WHERE id = labels.issue_id)",
        &[],
    )?;
    Ok((deps, labels))
}

/// Counts the dependencies whose issue is gone: what `clean_orphaned_refs` deletes and
/// `foreign_keys_valid` refuses.
const ORPHANED_DEPENDENCIES: &str =
    "SELECT COUNT(*) FROM dependencies d WHERE NOT EXISTS (SELECT 1 FROM issues WHERE id = d.issue_id)";

/// Counts the labels whose issue is gone.
const ORPHANED_LABELS: &str =
    "SELECT COUNT(*) FROM labels l WHERE NOT EXISTS (SELECT 1 FROM issues WHERE id = l.issue_id)";

/// Counts what `clean_orphaned_refs` would delete on a file not yet migrated, as (dependencies,
/// labels): a file without one of the tables has none of its rows to delete.
pub(crate) fn count_orphaned_refs(conn: &EngineConn) -> Result<(u64, u64)> {
    let op = "orphan count";
    let tables = super::table_names(conn)?;
    let orphans = |table: &str, sql: &str| -> Result<u64> {
        if tables.contains("issues") && tables.contains(table) {
            Ok(count(conn, op, sql)?.max(0) as u64)
        } else {
            Ok(0)
        }
    };
    Ok((
        orphans("dependencies", ORPHANED_DEPENDENCIES)?,
        orphans("labels", ORPHANED_LABELS)?,
    ))
}

/// Counts what the migrations must keep.
pub(crate) fn capture(conn: &EngineConn) -> Result<Snapshot> {
    let op = "migration snapshot";
    let config_keys = column_texts(
        conn.query(op, "SELECT key FROM config ORDER BY key", &[])?,
        0,
    );
    Ok(Snapshot {
        issue_count: count(conn, op, "SELECT COUNT(*) FROM issues")?,
        config_keys,
        dependency_count: count(conn, op, "SELECT COUNT(*) FROM dependencies")?,
        label_count: count(conn, op, "SELECT COUNT(*) FROM labels")?,
    })
}

/// Each failing invariant as (name, what is wrong), in name order.
pub(crate) fn failures(
    conn: &EngineConn,
    before: &Snapshot,
) -> Result<Vec<(&'static str, String)>> {
    let op = "migration invariants";
    let mut out = Vec::new();

    let issues = count(conn, op, "SELECT COUNT(*) FROM issues")?;
    let orphan_sources = count(conn, op, ORPHANED_DEPENDENCIES)?;
    let orphan_labels = count(conn, op, ORPHANED_LABELS)?;
    if orphan_sources > 0 {
        out.push((
            "foreign_keys_valid",
            format!("found {orphan_sources} orphaned dependencies (issue_id not in issues)"),
        ));
    } else if orphan_labels > 0 {
        out.push((
            "foreign_keys_valid",
            format!("found {orphan_labels} orphaned labels (issue_id not in issues)"),
        ));
    }
    if issues < before.issue_count {
        out.push((
            "issue_count_stable",
            format!(
                "issue count decreased from {} to {issues} (potential data loss)",
                before.issue_count
            ),
        ));
    }
    if issues > 0 {
        let prefix = first_text(conn.query(
            op,
            "SELECT value FROM config WHERE key = 'issue_prefix'",
            &[],
        )?)
        .unwrap_or_default();
        if prefix.is_empty() {
            out.push((
                "required_config_present",
                format!("required config key missing: issue_prefix (database has {issues} issues)"),
            ));
        }
    }
    Ok(out)
}

/// `Ok` when every invariant holds, else `Error::InvariantViolated` naming each failure.
pub(crate) fn verify(conn: &EngineConn, before: &Snapshot) -> Result<()> {
    let failed = failures(conn, before)?;
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::InvariantViolated {
        name: failed
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
        message: failed
            .iter()
            .map(|(n, m)| format!("{n}: {m}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}
