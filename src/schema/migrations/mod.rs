//! Bringing any older beads database to the current schema: the 40 Go migrations, run in one
//! exclusive transaction on the writer connection with foreign keys off, between the orphan
//! clean-up and the invariants; and knowing when a file needs none of it.

mod context;
mod steps;

use crate::engine::EngineConn;
use crate::error::{Error, Result};
use crate::value::{first_i64, first_text, Param};

use super::invariants;

pub(crate) use context::Ctx;

/// The metadata key where beadstore records the schema it left after its last migration run.
pub const MARKER_KEY: &str = "beadstore_migrated";

/// Bumped whenever beadstore's migration steps change what they produce, so files marked by an
/// older beadstore are migrated again.
const MARKER_GENERATION: u32 = 1;

/// One migration step.
pub(crate) struct Migration {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    run: fn(&Ctx<'_>) -> Result<()>,
}

impl Migration {
    const fn new(
        name: &'static str,
        description: &'static str,
        run: fn(&Ctx<'_>) -> Result<()>,
    ) -> Self {
        Migration {
            name,
            description,
            run,
        }
    }
}

/// A migration's name and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationInfo {
    /// Go's name for it.
    pub name: &'static str,
    /// What it changes.
    pub description: &'static str,
}

/// Every migration in the order it runs.
pub fn list() -> Vec<MigrationInfo> {
    steps::MIGRATIONS
        .iter()
        .map(|m| MigrationInfo {
            name: m.name,
            description: m.description,
        })
        .collect()
}

/// Whether a file needs a migration run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationState {
    /// beadstore migrated this file and no DDL touched it since: opening it runs no migration.
    UpToDate {
        /// The file's schema cookie (`PRAGMA schema_version`).
        schema_version: i64,
    },
    /// The file was never migrated by this beadstore, or its schema changed since.
    Needed {
        /// The file's schema cookie.
        schema_version: i64,
        /// The schema cookie recorded after the last run, if any.
        recorded: Option<String>,
    },
}

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationReport {
    /// Dependencies removed by the orphan clean-up.
    pub orphaned_dependencies_removed: u64,
    /// Labels removed by the orphan clean-up.
    pub orphaned_labels_removed: u64,
    /// Counts before the run.
    pub before: invariants::Snapshot,
    /// The schema cookie recorded at the end.
    pub schema_version: i64,
}

fn schema_version(conn: &EngineConn) -> Result<i64> {
    Ok(first_i64(&conn.query("schema version", "PRAGMA schema_version", &[])?).unwrap_or(0))
}

fn marker_value(schema_version: i64) -> String {
    format!("{MARKER_GENERATION}:{schema_version}")
}

/// Reads the file's migration state: the schema cookie from the header and the marker by primary
/// key, two statements on the open path. A file without a readable marker (no metadata table,
/// say) simply needs migrating.
pub(crate) fn state(conn: &EngineConn) -> Result<MigrationState> {
    let version = schema_version(conn)?;
    let recorded = conn
        .query(
            "migration state",
            "SELECT value FROM metadata WHERE key = ?",
            &[Param::from(MARKER_KEY)],
        )
        .ok()
        .and_then(first_text);
    if recorded.as_deref() == Some(marker_value(version).as_str()) {
        Ok(MigrationState::UpToDate {
            schema_version: version,
        })
    } else {
        Ok(MigrationState::Needed {
            schema_version: version,
            recorded,
        })
    }
}

/// Records, inside the current transaction, that the file's schema is what beadstore produced.
pub(crate) fn write_marker(conn: &EngineConn) -> Result<i64> {
    let version = schema_version(conn)?;
    conn.execute(
        "record migration",
        "INSERT INTO metadata (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        &[Param::from(MARKER_KEY), Param::from(marker_value(version))],
    )?;
    Ok(version)
}

/// Runs the whole migration: missing tables, orphan clean-up, the 40 steps, final indexes and
/// views, invariants, the schema probe, marker. All or nothing: on any error (including an
/// incompatible probe) the file is exactly as before.
pub(crate) fn run(conn: &EngineConn) -> Result<MigrationReport> {
    // The pragma has no effect inside a transaction, so it brackets it.
    conn.execute_batch("migrate", "PRAGMA foreign_keys = OFF")?;
    let result = run_in_transaction(conn);
    let restored = conn.execute_batch("migrate", "PRAGMA foreign_keys = ON");
    let report = result?;
    restored?;
    Ok(report)
}

fn run_in_transaction(conn: &EngineConn) -> Result<MigrationReport> {
    // EXCLUSIVE, as Go does (GH#720); the engine also holds the file exclusively per process.
    conn.execute_batch("migrate", "BEGIN EXCLUSIVE")
        .or_else(|_| conn.execute_batch("migrate", "BEGIN IMMEDIATE"))?;
    let outcome = (|| {
        super::create_missing_tables(conn, false)?;
        let (deps, labels) = invariants::clean_orphaned_refs(conn)?;
        let before = invariants::capture(conn)?;
        for migration in steps::MIGRATIONS {
            (migration.run)(&Ctx::new(conn, migration.name))?;
        }
        super::finish_schema(conn)?;
        invariants::verify(conn, &before)?;
        // The probe runs inside the transaction: a file that is still incompatible is rolled
        // back, and never marked as migrated.
        let probe = super::probe(conn)?;
        if !probe.is_compatible() {
            return Err(probe.into_error());
        }
        let version = write_marker(conn)?;
        Ok(MigrationReport {
            orphaned_dependencies_removed: deps,
            orphaned_labels_removed: labels,
            before,
            schema_version: version,
        })
    })();
    match outcome {
        Ok(report) => {
            conn.execute_batch("migrate", "COMMIT")?;
            Ok(report)
        }
        Err(e) => {
            let _ = conn.execute_batch("migrate", "ROLLBACK");
            Err(match e {
                Error::MigrationFailed { .. }
                | Error::InvariantViolated { .. }
                | Error::SchemaIncompatible { .. } => e,
                e if e.is_retryable() => e,
                other => Error::MigrationFailed {
                    name: "prepare".into(),
                    message: other.to_string(),
                },
            })
        }
    }
}
