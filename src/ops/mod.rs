//! The beads Storage operations, one module per area. Each is written once, on `ReadTxn` or
//! `WriteTxn` (read-your-writes inside `Store::transaction`); `#[store_ops]` gives `Store` the
//! same method, running it in its own read snapshot or write transaction.

pub(crate) mod columns;
pub mod comments;
pub mod config;
pub mod dependencies;
pub mod external;
pub mod graph;
pub mod ids;
pub mod issues;
pub mod labels;
pub(crate) mod like;
pub mod maintenance;
pub(crate) mod order;
pub mod ready;
pub(crate) mod record;

pub use dependencies::LinkedIssue;
pub use external::ExternalDepStatus;
pub use issues::{Attribution, CreateOptions, IssueFilter, IssueUpdate, OrphanHandling};
pub use ready::{BlockedIssue, SortPolicy, WorkFilter};
