//! The one error type of beadstore: every failure is a variant a caller can match on.

use std::path::PathBuf;

/// Result alias used across beadstore.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in beadstore, typed so callers can react (retry, report, repair).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database file, issue, dependency or molecule that was asked for does not exist.
    #[error("{kind} {id}: not found{}", .detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NotFound {
        /// What kind of thing was looked for.
        kind: NotFoundKind,
        /// Its id (a database's path; a dependency's `from -> to`).
        id: String,
        /// Where it was looked for, when that is more than the database.
        detail: Option<String>,
    },
    /// The store was closed; no operation runs after `close()`.
    #[error("{op}: store is closed")]
    Closed {
        /// The operation that was refused.
        op: &'static str,
    },
    /// A write was attempted on a store opened read-only.
    #[error("{op}: store {} is read-only", .path.display())]
    ReadOnly {
        /// The operation that was refused.
        op: &'static str,
        /// The database the store reads.
        path: PathBuf,
    },
    /// Another process (or store) held the database for longer than the busy timeout.
    #[error("{op}: database {} is locked by another process (waited {waited_ms} ms)", .path.display())]
    Locked {
        /// The operation that waited.
        op: &'static str,
        /// The database file.
        path: PathBuf,
        /// How long beadstore waited before giving up.
        waited_ms: u64,
    },
    /// A write was asked of a store from inside that store's own write transaction, on the same
    /// thread: it could only wait for itself. Run the write on the transaction instead.
    #[error("{op}: this thread is inside a write transaction of this store; write through the transaction")]
    NestedWrite {
        /// The operation that was refused.
        op: &'static str,
    },
    /// `query_row` found no row (see `OptionalExtension::optional`).
    #[error("the query returned no row")]
    NoRows,
    /// A column was read as a type its value does not have (see `Row::get`).
    #[error("column {index} holds {found}, not {wanted}")]
    ColumnType {
        /// The column, from 0.
        index: usize,
        /// The type asked for.
        wanted: &'static str,
        /// The SQL type of the value.
        found: &'static str,
    },
    /// A column past the row's last was read (see `Row::get`).
    #[error("column {index} asked of a row of {columns} columns")]
    ColumnIndex {
        /// The column asked for, from 0.
        index: usize,
        /// How many the row has.
        columns: usize,
    },
    /// The engine reported contention that did not clear within the busy timeout.
    #[error("{op}: database is busy")]
    Busy {
        /// The operation that gave up.
        op: &'static str,
    },
    /// The file does not have the tables and columns beadstore needs, even after migrating.
    #[error("database schema is incompatible: {}", describe_missing(.missing_tables, .missing_columns))]
    SchemaIncompatible {
        /// Tables that do not exist, sorted.
        missing_tables: Vec<String>,
        /// (table, column) pairs that do not exist, sorted.
        missing_columns: Vec<(String, String)>,
    },
    /// A schema migration failed; the file was rolled back to how it was.
    #[error("migration {name} failed: {message}")]
    MigrationFailed {
        /// The migration's name.
        name: String,
        /// Why it failed.
        message: String,
    },
    /// A post-migration invariant did not hold; the migration was rolled back.
    #[error("post-migration validation failed: {name}: {message}")]
    InvariantViolated {
        /// The invariant's name.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// The file is not a database, or its content is damaged.
    #[error("{op}: database {} is corrupt: {message}", .path.display())]
    Corrupt {
        /// The operation that found the damage.
        op: &'static str,
        /// The database file.
        path: PathBuf,
        /// What the engine reported.
        message: String,
    },
    /// Adding a dependency would close a cycle.
    #[error("cannot add dependency: would create a cycle ({})", .path.join(" -> "))]
    Cycle {
        /// The ids along the cycle.
        path: Vec<String>,
    },
    /// A UNIQUE, CHECK, NOT NULL or FOREIGN KEY constraint refused a write.
    #[error("{op}: constraint failed: {message}")]
    Constraint {
        /// The operation that was refused.
        op: &'static str,
        /// The engine's description of the constraint.
        message: String,
    },
    /// An argument was malformed (a bad URI, an unknown option, an issue that fails
    /// validation...); nothing was written.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// The argument or issue field at fault (`title`, `priority`, `uri`, `dep_type`...).
        field: &'static str,
        /// What is wrong with it (Go's wording where Go has one).
        message: String,
    },
    /// The operating system refused a file operation.
    #[error("{op}: {}: {source}", .path.display())]
    Io {
        /// The operation.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A project configuration file (`.beads/config.yaml`) could not be read or parsed.
    #[error("config {}: {message}", .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A JSONL line could not be taken as an issue; nothing from the file was committed.
    #[error("{}:{line}: {message}", .path.display())]
    Jsonl {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// The database file was replaced under the store and the operation cannot run on it: the
    /// new file cannot be used yet (empty, half-copied, not a beads database, missing), or a
    /// write went to the file that was replaced. The store tries again when the file changes.
    #[error("{op}: database {} was {kind}: {reason}", .path.display())]
    Replaced {
        /// The operation.
        op: &'static str,
        /// The database path.
        path: PathBuf,
        /// What happened to the file.
        kind: crate::freshness::ReplacementKind,
        /// Why the operation could not use the file at the path.
        reason: String,
    },
    /// Something beadstore relies on did not hold (an insert that returned no row, an issue
    /// that cannot be written as JSON): a bug in beadstore, not in the input or the file.
    #[error("{op}: internal error: {message}")]
    Internal {
        /// The operation.
        op: &'static str,
        /// What did not hold.
        message: String,
    },
    /// Any other engine failure, including a contained engine panic.
    #[error("{op}: engine error: {message}")]
    Engine {
        /// The operation.
        op: &'static str,
        /// The engine's message.
        message: String,
    },
}

/// What kind of thing an [`Error::NotFound`] did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotFoundKind {
    /// The database file.
    Database,
    /// An issue named by the operation.
    Issue,
    /// The parent of a hierarchical id (`parent.N`).
    Parent,
    /// The issue a new dependency points to.
    DependencyTarget,
    /// A dependency edge between two issues.
    Dependency,
    /// A molecule (an epic whose children are its steps).
    Molecule,
}

impl std::fmt::Display for NotFoundKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotFoundKind::Database => "database",
            NotFoundKind::Issue => "issue",
            NotFoundKind::Parent => "parent issue",
            NotFoundKind::DependencyTarget => "dependency target",
            NotFoundKind::Dependency => "dependency",
            NotFoundKind::Molecule => "molecule",
        })
    }
}

impl Error {
    /// `NotFound` for `id` of `kind`.
    pub(crate) fn not_found(kind: NotFoundKind, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
            detail: None,
        }
    }

    /// `NotFound` for `id` of `kind`, saying where it was looked for.
    pub(crate) fn not_found_in(
        kind: NotFoundKind,
        id: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
            detail: Some(detail.into()),
        }
    }

    /// `InvalidInput` for `field`.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// True when the error means "try again later" (lock contention), not a bad request.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Locked { .. } | Error::Busy { .. })
    }
}

fn describe_missing(tables: &[String], columns: &[(String, String)]) -> String {
    let mut parts = Vec::new();
    if !tables.is_empty() {
        parts.push(format!("missing tables: {}", tables.join(", ")));
    }
    let mut i = 0;
    while i < columns.len() {
        let table = &columns[i].0;
        let mut cols = Vec::new();
        while i < columns.len() && &columns[i].0 == table {
            cols.push(columns[i].1.as_str());
            i += 1;
        }
        parts.push(format!("missing columns in {table}: {}", cols.join(", ")));
    }
    parts.join("; ")
}
