//! The records that hang off an issue: dependencies, comments and events.

use serde::{Deserialize, Serialize};

use super::kinds::DependencyType;
use super::time_serde::{self, Timestamp};

/// "`issue_id` depends on `depends_on_id`" with a type; for `parent-child` the issue is the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The dependent issue.
    pub issue_id: String,
    /// What it depends on: an issue id, or `external:<project>:<capability>`.
    pub depends_on_id: String,
    /// `blocks`, `parent-child`, `related`, ... (or any other 1-50 byte string).
    #[serde(rename = "type")]
    pub dep_type: DependencyType,
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
        dep_type: impl Into<DependencyType>,
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
