//! The records that hang off an issue: dependencies, comments and events.

use serde::{Deserialize, Serialize};

use super::time_serde::{self, Timestamp};

/// "`issue_id` depends on `depends_on_id`" with a type; for `parent-child` the issue is the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The dependent issue.
    pub issue_id: String,
    /// What it depends on: an issue id, or `external:<project>:<capability>`.
    pub depends_on_id: String,
    /// `blocks`, `parent-child`, `related`, ... (any 1-50 byte string).
    #[serde(rename = "type")]
    pub dep_type: String,
    /// When it was added.
    #[serde(with = "time_serde::required")]
    pub created_at: Timestamp,
    /// Who added it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    /// JSON metadata (e.g. a `waits-for` gate).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Conversation thread id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thread_id: String,
}

impl Dependency {
    /// "`issue_id` depends on `depends_on_id`" with `dep_type`; created now by the actor
    /// adding it (the time and author are filled in when it is added).
    pub fn new(
        issue_id: impl Into<String>,
        depends_on_id: impl Into<String>,
        dep_type: impl Into<String>,
    ) -> Dependency {
        Dependency {
            issue_id: issue_id.into(),
            depends_on_id: depends_on_id.into(),
            dep_type: dep_type.into(),
            created_at: time_serde::unset(),
            created_by: String::new(),
            metadata: String::new(),
            thread_id: String::new(),
        }
    }
}

/// The dependency types beads knows; any other 1-50 byte string is accepted too.
pub mod dep_type {
    /// A blocks B's dependent: the dependent is not ready until this closes.
    pub const BLOCKS: &str = "blocks";
    /// The issue is a child of the target (the target is the parent).
    pub const PARENT_CHILD: &str = "parent-child";
    /// Runs only if the target fails.
    pub const CONDITIONAL_BLOCKS: &str = "conditional-blocks";
    /// Waits for the target's children (gate in metadata).
    pub const WAITS_FOR: &str = "waits-for";
    /// Loosely related.
    pub const RELATED: &str = "related";
    /// Found while working on the target.
    pub const DISCOVERED_FROM: &str = "discovered-from";
    /// "See also"; never part of cycle checks.
    pub const RELATES_TO: &str = "relates-to";
    /// Tracked by a convoy (never blocks).
    pub const TRACKS: &str = "tracks";
    /// The 19 types Go names.
    pub const WELL_KNOWN: &[&str] = &[
        BLOCKS,
        PARENT_CHILD,
        CONDITIONAL_BLOCKS,
        WAITS_FOR,
        RELATED,
        DISCOVERED_FROM,
        "replies-to",
        RELATES_TO,
        "duplicates",
        "supersedes",
        "authored-by",
        "assigned-to",
        "approved-by",
        "attests",
        TRACKS,
        "until",
        "caused-by",
        "validates",
        "delegated-from",
    ];
    /// Types whose changes can change which issues are ready.
    pub const AFFECTS_READY_WORK: &[&str] = &[BLOCKS, PARENT_CHILD, CONDITIONAL_BLOCKS, WAITS_FOR];
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Row id.
    pub id: i64,
    /// The issue.
    pub issue_id: String,
    /// Who wrote it.
    pub author: String,
    /// The text.
    pub text: String,
    /// When.
    #[serde(with = "time_serde::required")]
    pub created_at: Timestamp,
}

/// One entry of an issue's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Row id.
    pub id: i64,
    /// The issue.
    pub issue_id: String,
    /// `created`, `updated`, `status_changed`, `closed`, `reopened`, `commented`, ...
    pub event_type: String,
    /// Who did it.
    pub actor: String,
    /// Before (JSON or text), when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<String>,
    /// After (JSON or text), when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<String>,
    /// A comment or reason, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When.
    #[serde(with = "time_serde::required")]
    pub created_at: Timestamp,
}
