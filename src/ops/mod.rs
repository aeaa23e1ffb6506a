//! The beads Storage operations, one module per area. Each is written once against a
//! `Transaction` (read-your-writes inside `Store::transaction`); the `Store` methods run it in
//! its own write transaction or read snapshot.

pub(crate) mod columns;
pub mod comments;
pub mod config;
pub mod dependencies;
pub mod external;
pub mod graph;
pub mod ids;
pub mod issues;
pub mod labels;
pub mod maintenance;
pub mod ready;
pub(crate) mod record;

pub use external::ExternalDepStatus;
pub use issues::{CreateOptions, IssueFilter, IssueUpdate, OrphanHandling};
pub use ready::{BlockedIssue, SortPolicy, WorkFilter};
