//! The `beadstore` command line as a user runs it: every command's behaviour and exit codes,
//! and whole sessions checked against snapshots.

mod commands;
#[path = "../common/mod.rs"]
mod common;
mod session;
