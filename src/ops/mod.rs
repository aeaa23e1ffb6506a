//! The beads Storage operations, one module per area.

pub mod config;
