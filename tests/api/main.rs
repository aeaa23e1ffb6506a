//! The library in one process: the Storage operations (one module per area of `src/ops/`),
//! parity with the Go store's tests, errors, the store's life cycle, the schema and its
//! migrations, extensions, SQLite compatibility, JSONL, multi-repo and WSL paths.
//!
//! One test binary for all of them, so `cargo test` links the engine once for this group
//! instead of once per file.

#[path = "../common/mod.rs"]
mod common;
mod errors;
mod extension;
mod jsonl;
mod lifecycle;
mod migrations;
mod multirepo;
mod ops;
mod parity_graph;
mod parity_queries;
mod parity_records;
mod schema;
mod sqlite_compat;
mod wsl;
