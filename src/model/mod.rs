//! The beads data model.

pub mod content_hash;

pub use content_hash::{ContentHashFields, EntityRef, Validation};
