//! What a migration run would change in a file, worked out without writing (for `doctor`).

use super::{invariants, migrations, probe};
use crate::engine::EngineConn;
use crate::error::Result;

/// What migrating a file would change, read without writing anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationPlan {
    /// False when the file is up to date: migrating would do nothing at all.
    pub needed: bool,
    /// Tables the run would create.
    pub tables_to_create: Vec<String>,
    /// (table, column) pairs the run would add.
    pub columns_to_add: Vec<(String, String)>,
    /// Dependencies whose own issue is gone, which the run deletes first.
    pub orphaned_dependencies: u64,
    /// Labels whose issue is gone, which the run deletes first.
    pub orphaned_labels: u64,
}

/// Reads the plan for the file behind `conn`.
pub(crate) fn plan(conn: &EngineConn) -> Result<MigrationPlan> {
    if let migrations::MigrationState::UpToDate { .. } = migrations::state(conn)? {
        return Ok(MigrationPlan::default());
    }
    let report = probe::probe(conn)?;
    let (orphaned_dependencies, orphaned_labels) = invariants::count_orphaned_refs(conn)?;
    Ok(MigrationPlan {
        needed: true,
        tables_to_create: report.missing_tables,
        columns_to_add: report.missing_columns,
        orphaned_dependencies,
        orphaned_labels,
    })
}
