//! Several processes and threads on one file: locks and reliability under kills, concurrency,
//! read-only stores beside writers, crashes in the middle of a migration, failing disks, the
//! file replaced under a running store, and git replacing it.
//!
//! One test binary for the group (the engine is linked once); the soak runs are behind
//! environment variables (README, docs/reliability.md).

#[path = "../common/mod.rs"]
mod common;
mod concurrency;
mod disk_faults;
mod freshness;
mod git_sync;
mod migration_crash;
mod read_only;
mod reliability;
