//! The Storage interface, one file per area of `src/ops/`, on real files checked by real SQLite.

use beadstore::model::{Dependency, DependencyType};

mod config;
mod dependencies;
mod external;
mod graph;
mod ids;
mod issues;
mod maintenance;
mod order;
mod ready;
mod records;
mod statistics;
mod transactions;

/// A dependency of `from` on `to` of the given type.
pub fn dep(from: &str, to: &str, kind: impl Into<DependencyType>) -> Dependency {
    Dependency::new(from, to, kind)
}
