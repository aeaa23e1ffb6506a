//! The issue: every field of Go's `types.Issue` that has a column, in Go's JSON key order with
//! Go's omitempty rules, so that serde gives the same keys bd exports.

use serde::{Deserialize, Serialize};

use super::kinds::{IssueType, Status};
use super::time_serde::{self, Timestamp};
use super::{Comment, Dependency};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn default_timestamp() -> Timestamp {
    time_serde::unset()
}

/// One issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// `prefix-hash` or hierarchical `prefix-hash.N`.
    pub id: String,
    /// SHA-256 of the content fields (see `model::content_hash`); never exported.
    #[serde(skip)]
    pub content_hash: String,
    /// One line, at most 500 characters.
    pub title: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Design notes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub design: String,
    /// What "done" means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub acceptance_criteria: String,
    /// Working notes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Where the issue is in its life.
    #[serde(default)]
    pub status: Status,
    /// 0 (highest) to 4.
    #[serde(default)]
    pub priority: i64,
    /// What kind of work.
    #[serde(default)]
    pub issue_type: IssueType,
    /// Who works on it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assignee: String,
    /// Who owns it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
    /// Estimate in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_minutes: Option<i64>,
    /// When it was created.
    #[serde(with = "time_serde::required", default = "default_timestamp")]
    pub created_at: Timestamp,
    /// Who created it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    /// When it last changed.
    #[serde(with = "time_serde::required", default = "default_timestamp")]
    pub updated_at: Timestamp,
    /// When it was closed (set exactly while closed).
    #[serde(
        with = "time_serde::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<Timestamp>,
    /// Why it was closed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub close_reason: String,
    /// The agent session that closed it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub closed_by_session: String,
    /// Due date.
    #[serde(
        with = "time_serde::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<Timestamp>,
    /// Hidden from ready work until then.
    #[serde(
        with = "time_serde::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub defer_until: Option<Timestamp>,
    /// Id in an external tracker (unique when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// The external system it came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_system: String,
    /// 0 = not compacted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub compaction_level: i64,
    /// When it was compacted.
    #[serde(
        with = "time_serde::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub compacted_at: Option<Timestamp>,
    /// The git commit at compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted_at_commit: Option<String>,
    /// Size before compaction.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub original_size: i64,
    /// Which repository the issue belongs to (multi-repo); never exported.
    #[serde(skip)]
    pub source_repo: String,
    /// Labels, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Dependencies (export only; storage keeps them in their own table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Comments (export only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// When it was deleted (tombstones).
    #[serde(
        with = "time_serde::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted_at: Option<Timestamp>,
    /// Who deleted it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deleted_by: String,
    /// Why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub delete_reason: String,
    /// The type before deletion.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub original_type: String,
    /// Message sender (messaging issues).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sender: String,
    /// A wisp: never exported.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ephemeral: bool,
    /// Pinned.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pinned: bool,
    /// A template.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_template: bool,
    /// Crystallizes into a permanent record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub crystallizes: bool,
    /// Gate: what it awaits.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub await_type: String,
    /// Gate: the awaited id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub await_id: String,
    /// Gate timeout in nanoseconds (`timeout` in JSON, like Go's Duration).
    #[serde(rename = "timeout", default, skip_serializing_if = "is_zero")]
    pub timeout_ns: i64,
    /// Gate waiters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiters: Vec<String>,
    /// Agent: hooked bead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hook_bead: String,
    /// Agent: role bead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role_bead: String,
    /// Agent state.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent_state: String,
    /// Agent: last activity.
    #[serde(
        with = "time_serde::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_activity: Option<Timestamp>,
    /// Agent role type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role_type: String,
    /// Agent rig.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rig: String,
    /// Molecule type (swarm / patrol / work).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mol_type: String,
    /// Event kind (event issues).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_kind: String,
    /// Event actor.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// Event target.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Event payload.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub payload: String,
}

impl Default for Issue {
    fn default() -> Self {
        Issue {
            id: String::new(),
            content_hash: String::new(),
            title: String::new(),
            description: String::new(),
            design: String::new(),
            acceptance_criteria: String::new(),
            notes: String::new(),
            status: Status::Open,
            priority: 2,
            issue_type: IssueType::Task,
            assignee: String::new(),
            owner: String::new(),
            estimated_minutes: None,
            created_at: default_timestamp(),
            created_by: String::new(),
            updated_at: default_timestamp(),
            closed_at: None,
            close_reason: String::new(),
            closed_by_session: String::new(),
            due_at: None,
            defer_until: None,
            external_ref: None,
            source_system: String::new(),
            compaction_level: 0,
            compacted_at: None,
            compacted_at_commit: None,
            original_size: 0,
            source_repo: String::new(),
            labels: Vec::new(),
            dependencies: Vec::new(),
            comments: Vec::new(),
            deleted_at: None,
            deleted_by: String::new(),
            delete_reason: String::new(),
            original_type: String::new(),
            sender: String::new(),
            ephemeral: false,
            pinned: false,
            is_template: false,
            crystallizes: false,
            await_type: String::new(),
            await_id: String::new(),
            timeout_ns: 0,
            waiters: Vec::new(),
            hook_bead: String::new(),
            role_bead: String::new(),
            agent_state: String::new(),
            last_activity: None,
            role_type: String::new(),
            rig: String::new(),
            mol_type: String::new(),
            event_kind: String::new(),
            actor: String::new(),
            target: String::new(),
            payload: String::new(),
        }
    }
}

impl Issue {
    /// A new open task with `title` and the default priority (2); the rest empty.
    pub fn new(title: impl Into<String>) -> Issue {
        Issue {
            title: title.into(),
            ..Issue::default()
        }
    }

    /// The fields that make up the content hash.
    pub fn content_hash_fields(&self) -> super::ContentHashFields {
        super::ContentHashFields {
            title: self.title.clone(),
            description: self.description.clone(),
            design: self.design.clone(),
            acceptance_criteria: self.acceptance_criteria.clone(),
            notes: self.notes.clone(),
            status: self.status.as_str().to_owned(),
            priority: self.priority,
            issue_type: self.issue_type.as_str().to_owned(),
            assignee: self.assignee.clone(),
            owner: self.owner.clone(),
            created_by: self.created_by.clone(),
            external_ref: self.external_ref.clone(),
            source_system: self.source_system.clone(),
            pinned: self.pinned,
            is_template: self.is_template,
            crystallizes: self.crystallizes,
            await_type: self.await_type.clone(),
            await_id: self.await_id.clone(),
            timeout_ns: self.timeout_ns,
            waiters: self.waiters.clone(),
            hook_bead: self.hook_bead.clone(),
            role_bead: self.role_bead.clone(),
            agent_state: self.agent_state.clone(),
            role_type: self.role_type.clone(),
            rig: self.rig.clone(),
            mol_type: self.mol_type.clone(),
            event_kind: self.event_kind.clone(),
            actor: self.actor.clone(),
            target: self.target.clone(),
            payload: self.payload.clone(),
            ..Default::default()
        }
    }

    /// The content hash of the issue as it is now.
    pub fn compute_content_hash(&self) -> String {
        self.content_hash_fields().content_hash()
    }
}
