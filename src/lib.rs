//! beadstore: a pure-Rust storage engine for beads issue databases (`.beads/beads.db`).
//!
//! It opens, creates and checks the same SQLite files as the Go beads storage layer, on Turso's
//! pure-Rust SQLite-compatible engine: no C toolchain, microsecond cold starts, typed errors.
//!
//! ```
//! use beadstore::{params, Store};
//!
//! # fn main() -> beadstore::Result<()> {
//! let dir = std::env::temp_dir().join(format!("beadstore-doc-{}", std::process::id()));
//! let path = dir.join(".beads/beads.db");
//! let store = Store::open(&path)?;                    // creates the file and the beads schema
//! store.set_config("issue_prefix", "bd")?;
//! store.execute(
//!     "INSERT INTO issues (id, title) VALUES (?, ?)",
//!     &params!["bd-1", "first issue"],
//! )?;
//! let rows = store.query("SELECT title FROM issues WHERE id = ?", &params!["bd-1"])?;
//! assert_eq!(rows[0][0].as_str(), Some("first issue"));
//! store.close()?;                                      // checkpoints when no other process reads
//! # std::fs::remove_dir_all(dir).ok();
//! # Ok(())
//! # }
//! ```

// Locks are Linux open file description locks (F_OFD_SETLK) and the freshness watch is inotify:
// say so at build time rather than misbehave at run time elsewhere.
#[cfg(not(target_os = "linux"))]
compile_error!("beadstore runs on Linux only: it locks with OFD locks and watches with inotify");

mod engine;
pub mod error;
pub mod freshness;
pub mod jsonl;
mod lock_wait;
pub mod model;
mod open;
pub mod ops;
pub mod project;
mod registry;
mod row;
pub mod schema;
mod stamp;
pub mod store;
pub mod time;
mod value;

pub use error::{Error, NotFoundKind, Result};
/// Disk fault injection for tests of full and failing disks (feature `fault-injection`).
#[cfg(feature = "fault-injection")]
pub mod faults {
    pub use crate::engine::faults::{DiskFault, DiskFaults};
}
pub use freshness::{FreshnessEvent, FreshnessMode, FreshnessStats, ReplacementKind};
pub use row::{FromSql, OptionalExtension, Row};
pub use schema::{MigrationReport, MigrationState, ProbeReport, SchemaAction};
#[cfg(feature = "tokio")]
pub use store::ReplacementEvents;
pub use store::{
    CheckpointStats, Monitor, OpenOptions, ReadTxn, Store, WriteTxn, DEFAULT_BUSY_TIMEOUT, MEMORY,
};
pub use value::{Param, Value};

/// The README's examples, compiled by `cargo test` as doctests so they keep up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

/// The Go bd release whose storage layer beadstore reproduces. `init` and `migrate` record it
/// in the metadata as `bd_version`, as Go's do, so Go bd of that release sees a database of its
/// own version and does not warn or re-stamp it.
pub const GO_BD_VERSION: &str = "0.48.0";
