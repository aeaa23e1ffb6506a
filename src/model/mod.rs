//! The beads data model.

pub mod content_hash;
mod issue;
pub mod kinds;
mod records;
pub mod time_serde;

pub use content_hash::{ContentHashFields, EntityRef, Validation};
pub use issue::Issue;
pub use kinds::{DependencyType, IssueType, Status};
pub use records::{Comment, Dependency, Event};
pub use time_serde::Timestamp;
