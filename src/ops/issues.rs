//! Issues: create (one or a batch), read, search, update, close, delete and tombstone.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::error::{Error, NotFoundKind, Result};
use crate::model::time_serde::format;
use crate::model::{DependencyType, Issue, IssueType, Status, Timestamp};
use crate::row::Row;
use crate::store::{ReadTxn, Store, WriteTxn};
use crate::value::{first_i64, Param, Value};
use beadstore_macros::{store_ops, Setters};

use super::columns::{insert_sql, issue_from_row, issue_values, select_list, ISSUE_SELECT};
use super::ids;
use super::like;
use super::order::{IssueOrder, RowFilter, SortKey};
use super::record::{self, now, placeholders};

/// The longest title beads accepts, in characters (the schema's CHECK).
pub const MAX_TITLE_CHARS: usize = 500;

/// The label that makes an issue a convoy: it closes by itself once every issue it tracks has.
pub const CONVOY_LABEL: &str = "gt:convoy";
/// The actor recorded on a convoy's automatic close.
pub const CONVOY_CLOSE_ACTOR: &str = "system:convoy-completion";
/// The close reason recorded on a convoy's automatic close.
pub const CONVOY_CLOSE_REASON: &str = "All tracked issues completed";

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::invalid(field, message)
}

fn not_found(id: &str) -> Error {
    Error::not_found(NotFoundKind::Issue, id)
}

/// Checks an issue before it is written, with the project's custom statuses and types.
pub fn validate(issue: &Issue, statuses: &[String], types: &[String]) -> Result<()> {
    validate_as(issue, statuses, types, false)
}

/// `validate`, or with `imported` the looser check for issues read from a file: a
/// `deleted_at` kept by an issue restored after a deletion is accepted (real beads exports
/// carry them).
pub(crate) fn validate_as(
    issue: &Issue,
    statuses: &[String],
    types: &[String],
    imported: bool,
) -> Result<()> {
    let title_chars = issue.title.chars().count();
    if title_chars == 0 {
        return Err(invalid("title", "validation failed: title is required"));
    }
    if title_chars > MAX_TITLE_CHARS {
        return Err(invalid("title", format!(
            "validation failed: title must be {MAX_TITLE_CHARS} characters or less (got {title_chars})"
        )));
    }
    if !(0..=4).contains(&issue.priority) {
        return Err(invalid(
            "priority",
            format!(
                "validation failed: priority must be between 0 and 4 (got {})",
                issue.priority
            ),
        ));
    }
    if !issue.status.is_valid_with(statuses) {
        return Err(invalid(
            "status",
            format!("validation failed: invalid status: {}", issue.status),
        ));
    }
    if !issue.issue_type.is_valid_with(types) {
        return Err(invalid(
            "issue_type",
            format!(
                "validation failed: invalid issue type: {}",
                issue.issue_type
            ),
        ));
    }
    if issue.estimated_minutes.is_some_and(|m| m < 0) {
        return Err(invalid(
            "estimated_minutes",
            "validation failed: estimated_minutes cannot be negative",
        ));
    }
    let closed = issue.status == Status::Closed;
    let tombstone = issue.status == Status::Tombstone;
    if closed && issue.closed_at.is_none() {
        return Err(invalid(
            "closed_at",
            "validation failed: closed issues must have closed_at timestamp",
        ));
    }
    if !closed && !tombstone && issue.closed_at.is_some() {
        return Err(invalid(
            "closed_at",
            "validation failed: non-closed issues cannot have closed_at timestamp",
        ));
    }
    if tombstone && issue.deleted_at.is_none() {
        return Err(invalid(
            "deleted_at",
            "validation failed: tombstone issues must have deleted_at timestamp",
        ));
    }
    if !tombstone && !imported && issue.deleted_at.is_some() {
        return Err(invalid(
            "deleted_at",
            "validation failed: non-tombstone issues cannot have deleted_at timestamp",
        ));
    }
    const AGENT_STATES: &[&str] = &[
        "", "idle", "spawning", "running", "working", "stuck", "done", "stopped", "dead",
    ];
    if !AGENT_STATES.contains(&issue.agent_state.as_str()) {
        return Err(invalid(
            "agent_state",
            format!(
                "validation failed: invalid agent state: {}",
                issue.agent_state
            ),
        ));
    }
    Ok(())
}

/// Timestamps defaulted to `at`, and a closed (tombstoned) issue without `closed_at`
/// (`deleted_at`) given one just after its last change (GH#523).
pub(crate) fn fill_defaults(issue: &mut Issue, at: &Timestamp) {
    let unset = crate::model::time_serde::unset();
    if issue.created_at == unset {
        issue.created_at = *at;
    }
    if issue.updated_at == unset {
        issue.updated_at = *at;
    }
    let after_last_change = issue.created_at.max(issue.updated_at) + chrono::Duration::seconds(1);
    if issue.status == Status::Closed && issue.closed_at.is_none() {
        issue.closed_at = Some(after_last_change);
    }
    if issue.status == Status::Tombstone && issue.deleted_at.is_none() {
        issue.deleted_at = Some(after_last_change);
    }
}

pub(crate) fn issue_prefix(tx: &ReadTxn<'_>) -> Result<String> {
    let prefix = tx.get_config("issue_prefix")?.unwrap_or_default();
    if prefix.is_empty() {
        return Err(invalid("issue_prefix", 
            "database not initialized: issue_prefix config is missing (run 'beadstore init --prefix <prefix>' first)",
        ));
    }
    Ok(prefix)
}

/// The order of `list` and `search`, as Go's: highest priority first, then newest.
const LIST_ORDER: &[SortKey] = &[SortKey::asc("i.priority"), SortKey::desc("i.created_at")];

const RESURRECTED: &str =
    "[RESURRECTED] This issue was deleted but recreated as a tombstone to preserve hierarchical structure.";

/// What to do with an explicit hierarchical id (`parent.N`) whose parent does not exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrphanHandling {
    /// Refuse the batch.
    Strict,
    /// Accept when the parent is in the batch or can be recreated from the JSONL history.
    #[default]
    Resurrect,
    /// Leave the orphan out (the rest of the batch is created).
    Skip,
    /// Create it anyway.
    Allow,
}

impl OrphanHandling {
    /// Reads a stored config value (`import.orphan_handling`) leniently, as Go does: anything
    /// unknown is `Allow`. Use `str::parse` where an unknown value is a mistake to report.
    pub fn from_config(value: &str) -> OrphanHandling {
        value.parse().unwrap_or(OrphanHandling::Allow)
    }

    /// The value as written in config: `strict`, `resurrect`, `skip` or `allow`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrphanHandling::Strict => "strict",
            OrphanHandling::Resurrect => "resurrect",
            OrphanHandling::Skip => "skip",
            OrphanHandling::Allow => "allow",
        }
    }
}

impl std::str::FromStr for OrphanHandling {
    type Err = Error;

    /// `strict`, `resurrect`, `skip` or `allow` (surrounding spaces ignored); anything else is
    /// `Error::InvalidInput` naming `orphan_handling`.
    fn from_str(value: &str) -> Result<Self> {
        match value.trim() {
            "strict" => Ok(OrphanHandling::Strict),
            "resurrect" => Ok(OrphanHandling::Resurrect),
            "skip" => Ok(OrphanHandling::Skip),
            "allow" => Ok(OrphanHandling::Allow),
            other => Err(invalid(
                "orphan_handling",
                format!("unknown orphan handling {other:?}: use allow, skip, strict or resurrect"),
            )),
        }
    }
}

/// Who closes or deletes an issue, why, and in which agent session: one argument instead of a
/// list of strings that could be passed in the wrong order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Setters)]
#[non_exhaustive]
pub struct Attribution {
    /// Who did it (recorded in the event and `closed_by` / `deleted_by`).
    pub actor: String,
    /// Why (the close reason or the delete reason).
    pub reason: String,
    /// The agent session that closed it (`closed_by_session`); empty for none.
    pub session: String,
}

impl Attribution {
    /// By `actor`, with no reason and no session yet.
    pub fn new(actor: impl Into<String>) -> Attribution {
        Attribution {
            actor: actor.into(),
            ..Attribution::default()
        }
    }
}

/// Options for `create_issues_with_options`.
#[derive(Debug, Clone, Default, Setters)]
#[non_exhaustive]
pub struct CreateOptions {
    /// Hierarchical ids whose parent is missing.
    pub orphans: OrphanHandling,
    /// Accept explicit ids with another prefix (imports of renamed projects).
    pub skip_prefix_validation: bool,
    /// The JSONL history to resurrect missing parents from (default: `issues.jsonl` beside
    /// the database).
    pub resurrect_from: Option<std::path::PathBuf>,
    /// The issues come from a file, where they were valid when written: types beyond the
    /// built-in ones are taken as they come instead of requiring them in `types.custom`, and
    /// a `deleted_at` kept by an issue restored after a deletion is accepted.
    pub imported: bool,
    /// Record no `created` events and no dirty marks (hydration from another repository's
    /// JSONL, which is already where these issues are kept).
    pub quiet: bool,
}

/// The last record of `id` in a JSONL file (lines that do not mention it are not parsed).
fn last_jsonl_record(path: &std::path::Path, id: &str) -> Result<Option<Issue>> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read JSONL history", path, e)),
    };
    let needle = format!("\"{id}\"");
    let mut found = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io("read JSONL history", path, e))?;
        if !line.contains(&needle) {
            continue;
        }
        if let Ok(issue) = serde_json::from_str::<Issue>(&line) {
            if issue.id == id {
                found = Some(issue);
            }
        }
    }
    Ok(found)
}

/// Search criteria for `search_issues`; every field set narrows the result (AND).
#[derive(Debug, Clone, Default, Setters)]
#[non_exhaustive]
pub struct IssueFilter {
    /// Exactly this status (tombstones are left out unless asked for this way or below).
    pub status: Option<Status>,
    /// None of these statuses.
    pub exclude_status: Vec<Status>,
    /// Exactly this priority.
    pub priority: Option<i64>,
    /// Priority at least.
    pub priority_min: Option<i64>,
    /// Priority at most.
    pub priority_max: Option<i64>,
    /// Exactly this type.
    pub issue_type: Option<IssueType>,
    /// None of these types.
    pub exclude_types: Vec<IssueType>,
    /// Exactly this assignee.
    pub assignee: Option<String>,
    /// No assignee.
    pub no_assignee: bool,
    /// Every one of these labels.
    pub labels: Vec<String>,
    /// At least one of these labels.
    pub labels_any: Vec<String>,
    /// No label at all.
    pub no_labels: bool,
    /// Title contains (case-insensitive for ASCII).
    pub title_contains: Option<String>,
    /// Description contains.
    pub description_contains: Option<String>,
    /// Notes contain.
    pub notes_contains: Option<String>,
    /// One of these ids.
    pub ids: Vec<String>,
    /// Ids starting with this.
    pub id_prefix: Option<String>,
    /// Direct children of this parent (`parent-child`).
    pub parent_id: Option<String>,
    /// Include tombstones when no status is given.
    pub include_tombstones: bool,
    /// Only wisps (true) or only non-wisps (false).
    pub ephemeral: Option<bool>,
    /// Only pinned (true) or only unpinned (false).
    pub pinned: Option<bool>,
    /// Only templates (true) or only non-templates (false).
    pub is_template: Option<bool>,
    /// Created after / before.
    pub created_after: Option<Timestamp>,
    /// Created before.
    pub created_before: Option<Timestamp>,
    /// Updated after.
    pub updated_after: Option<Timestamp>,
    /// Updated before.
    pub updated_before: Option<Timestamp>,
    /// At most this many (0 = all).
    pub limit: usize,
}

/// Changes for `update_issue`: each field set is written; everything else is left alone.
/// `Some(None)` clears an optional field (its setter takes the inner option: `None` clears).
#[derive(Debug, Clone, Default, PartialEq, Setters)]
#[allow(missing_docs)]
#[non_exhaustive]
pub struct IssueUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub design: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub notes: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<i64>,
    pub issue_type: Option<IssueType>,
    pub assignee: Option<String>,
    pub estimated_minutes: Option<Option<i64>>,
    pub external_ref: Option<Option<String>>,
    pub close_reason: Option<String>,
    pub closed_by_session: Option<String>,
    pub sender: Option<String>,
    pub ephemeral: Option<bool>,
    pub pinned: Option<bool>,
    pub hook_bead: Option<String>,
    pub role_bead: Option<String>,
    pub agent_state: Option<String>,
    pub last_activity: Option<Option<Timestamp>>,
    pub role_type: Option<String>,
    pub rig: Option<String>,
    pub mol_type: Option<String>,
    pub due_at: Option<Option<Timestamp>>,
    pub defer_until: Option<Option<Timestamp>>,
    pub await_id: Option<String>,
}

impl IssueUpdate {
    /// Applies the changes to `issue` (in memory).
    fn apply(&self, issue: &mut Issue) {
        macro_rules! set {
            ($($field:ident),+) => { $(if let Some(v) = &self.$field { issue.$field = v.clone(); })+ };
        }
        set!(
            title,
            description,
            design,
            acceptance_criteria,
            notes,
            status,
            priority,
            issue_type,
            assignee,
            estimated_minutes,
            external_ref,
            close_reason,
            closed_by_session,
            sender,
            ephemeral,
            pinned,
            hook_bead,
            role_bead,
            agent_state,
            last_activity,
            role_type,
            rig,
            mol_type,
            due_at,
            defer_until,
            await_id
        );
    }

    /// The changed fields as JSON (what the `updated` event records).
    fn describe(&self) -> String {
        let mut map = BTreeMap::new();
        let t = |v: &Option<Timestamp>| v.as_ref().map(format);
        macro_rules! put {
            ($($field:ident => $value:expr),+ $(,)?) => {
                $(if let Some(v) = &self.$field { map.insert(stringify!($field), $value(v)); })+
            };
        }
        put!(
            title => |v: &String| serde_json::json!(v),
            description => |v: &String| serde_json::json!(v),
            design => |v: &String| serde_json::json!(v),
            acceptance_criteria => |v: &String| serde_json::json!(v),
            notes => |v: &String| serde_json::json!(v),
            status => |v: &Status| serde_json::json!(v.as_str()),
            priority => |v: &i64| serde_json::json!(v),
            issue_type => |v: &IssueType| serde_json::json!(v.as_str()),
            assignee => |v: &String| serde_json::json!(v),
            estimated_minutes => |v: &Option<i64>| serde_json::json!(v),
            external_ref => |v: &Option<String>| serde_json::json!(v),
            close_reason => |v: &String| serde_json::json!(v),
            closed_by_session => |v: &String| serde_json::json!(v),
            sender => |v: &String| serde_json::json!(v),
            ephemeral => |v: &bool| serde_json::json!(v),
            pinned => |v: &bool| serde_json::json!(v),
            hook_bead => |v: &String| serde_json::json!(v),
            role_bead => |v: &String| serde_json::json!(v),
            agent_state => |v: &String| serde_json::json!(v),
            last_activity => |v: &Option<Timestamp>| serde_json::json!(t(v)),
            role_type => |v: &String| serde_json::json!(v),
            rig => |v: &String| serde_json::json!(v),
            mol_type => |v: &String| serde_json::json!(v),
            due_at => |v: &Option<Timestamp>| serde_json::json!(t(v)),
            defer_until => |v: &Option<Timestamp>| serde_json::json!(t(v)),
            await_id => |v: &String| serde_json::json!(v),
        );
        serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
    }
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// The issue with its labels, tombstones included; `None` when there is none.
    pub fn get_issue(&self, id: &str) -> Result<Option<Issue>> {
        let sql = format!("SELECT {} FROM issues i WHERE i.id = ?", select_list("i"));
        let rows = self.query(&sql, &[id.into()])?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let mut issue = issue_from_row(row)?;
        issue.labels = self.get_labels(id)?;
        Ok(Some(issue))
    }

    /// The issue whose `external_ref` is exactly `external_ref`.
    pub fn get_issue_by_external_ref(&self, external_ref: &str) -> Result<Option<Issue>> {
        let rows = self.query(
            "SELECT id FROM issues WHERE external_ref = ?",
            &[external_ref.into()],
        )?;
        match rows.first().and_then(|r| r.first()).and_then(Value::as_str) {
            Some(id) => self.get_issue(id),
            None => Ok(None),
        }
    }

    /// Issues whose title, description or id contains `text` (empty: all), narrowed by
    /// `filter`, by priority then newest first, with their labels.
    pub fn search_issues(&self, text: &str, filter: &IssueFilter) -> Result<Vec<Issue>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Param<'_>> = Vec::new();
        let like = |s: &str| Param::from(format!("%{s}%"));
        // The text is matched here, not by the engine (`super::like`), unless the pattern is
        // too long for SQLite, which the engine then reports as SQLite does.
        let pattern = format!("%{text}%");
        let text_like = (!text.is_empty() && pattern.len() <= like::MAX_PATTERN_LENGTH)
            .then_some(pattern.as_str());
        if !text.is_empty() && text_like.is_none() {
            clauses.push("(i.title LIKE ? OR i.description LIKE ? OR i.id LIKE ?)".into());
            params.extend([like(text), like(text), like(text)]);
        }
        for (column, value) in [
            ("title", &filter.title_contains),
            ("description", &filter.description_contains),
            ("notes", &filter.notes_contains),
        ] {
            if let Some(v) = value {
                clauses.push(format!("i.{column} LIKE ?"));
                params.push(like(v));
            }
        }
        let mut excluded_statuses: Vec<Param<'_>> = Vec::new();
        match &filter.status {
            Some(s) => {
                clauses.push("i.status = ?".into());
                params.push(s.as_str().into());
            }
            None if !filter.include_tombstones => excluded_statuses.push("tombstone".into()),
            None => {}
        }
        excluded_statuses.extend(filter.exclude_status.iter().map(|s| s.as_str().into()));
        // One or two statuses (`list`'s default: tombstones and closed issues) as `!=` tests:
        // the engine runs a one-value NOT IN through slow arithmetic, and fetches the column
        // again for each test, so longer lists stay a NOT IN.
        match excluded_statuses.len() {
            0 => {}
            1 | 2 => clauses.extend(excluded_statuses.iter().map(|_| "i.status != ?".to_owned())),
            n => clauses.push(format!("i.status NOT IN ({})", placeholders(n))),
        }
        params.extend(excluded_statuses);
        if !filter.exclude_types.is_empty() {
            clauses.push(format!(
                "i.issue_type NOT IN ({})",
                placeholders(filter.exclude_types.len())
            ));
            params.extend(filter.exclude_types.iter().map(|s| s.as_str().into()));
        }
        for (sql, value) in [
            ("i.priority = ?", filter.priority),
            ("i.priority >= ?", filter.priority_min),
            ("i.priority <= ?", filter.priority_max),
        ] {
            if let Some(v) = value {
                clauses.push(sql.into());
                params.push(v.into());
            }
        }
        if let Some(t) = &filter.issue_type {
            clauses.push("i.issue_type = ?".into());
            params.push(t.as_str().into());
        }
        if let Some(a) = &filter.assignee {
            clauses.push("i.assignee = ?".into());
            params.push(a.as_str().into());
        }
        if filter.no_assignee {
            clauses.push("(i.assignee IS NULL OR i.assignee = '')".into());
        }
        for (sql, value) in [
            ("i.created_at > ?", &filter.created_after),
            ("i.created_at < ?", &filter.created_before),
            ("i.updated_at > ?", &filter.updated_after),
            ("i.updated_at < ?", &filter.updated_before),
        ] {
            if let Some(t) = value {
                clauses.push(sql.into());
                params.push(format(t).into());
            }
        }
        if filter.no_labels {
            clauses.push("i.id NOT IN (SELECT DISTINCT issue_id FROM labels)".into());
        }
        for label in &filter.labels {
            clauses.push("i.id IN (SELECT issue_id FROM labels WHERE label = ?)".into());
            params.push(label.as_str().into());
        }
        if !filter.labels_any.is_empty() {
            clauses.push(format!(
                "i.id IN (SELECT issue_id FROM labels WHERE label IN ({}))",
                placeholders(filter.labels_any.len())
            ));
            params.extend(filter.labels_any.iter().map(|l| l.as_str().into()));
        }
        if !filter.ids.is_empty() {
            clauses.push(format!("i.id IN ({})", placeholders(filter.ids.len())));
            params.extend(filter.ids.iter().map(|l| l.as_str().into()));
        }
        if let Some(p) = &filter.id_prefix {
            clauses.push("i.id LIKE ?".into());
            params.push(format!("{p}%").into());
        }
        for (column, value) in [
            ("ephemeral", filter.ephemeral),
            ("pinned", filter.pinned),
            ("is_template", filter.is_template),
        ] {
            match value {
                Some(true) => clauses.push(format!("i.{column} = 1")),
                Some(false) => clauses.push(format!("(i.{column} = 0 OR i.{column} IS NULL)")),
                None => {}
            }
        }
        if let Some(parent) = &filter.parent_id {
            clauses.push("i.id IN (SELECT issue_id FROM dependencies WHERE type = 'parent-child' AND depends_on_id = ?)".into());
            params.push(parent.as_str().into());
        }
        let conditions = if clauses.is_empty() {
            "1".to_owned()
        } else {
            clauses.join(" AND ")
        };
        self.issues_in_order(
            &conditions,
            &params,
            &IssueOrder::of(LIST_ORDER),
            filter.limit,
            &RowFilter {
                text_like,
                ..RowFilter::default()
            },
        )
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Creates issues all or nothing with explicit handling of hierarchical ids whose parent
    /// is missing (`options.orphans`) and, for imports of renamed projects, no prefix check.
    /// Returns the issues created (orphans skipped with `OrphanHandling::Skip` are not).
    pub fn create_issues_with_options(
        &self,
        issues: Vec<Issue>,
        actor: &str,
        options: &CreateOptions,
    ) -> Result<Vec<Issue>> {
        if issues.is_empty() {
            return Ok(Vec::new());
        }
        let statuses = self.custom_statuses()?;
        let mut types = self.custom_types()?;
        if options.imported {
            types.extend(issues.iter().map(|i| i.issue_type.as_str().to_owned()));
        }
        let at = now();
        let mut issues = issues;
        for (i, issue) in issues.iter_mut().enumerate() {
            fill_defaults(issue, &at);
            validate_as(issue, &statuses, &types, options.imported).map_err(|e| match e {
                Error::InvalidInput { field, message } if i > 0 => {
                    invalid(field, format!("issue {i}: {message}"))
                }
                other => other,
            })?;
            if issue.content_hash.is_empty() {
                issue.content_hash = issue.compute_content_hash();
            }
        }
        let prefix = issue_prefix(self)?;
        let mut taken: HashSet<String> = HashSet::new();
        for issue in issues.iter().filter(|i| !i.id.is_empty()) {
            if !taken.insert(issue.id.clone()) {
                return Err(Error::Constraint {
                    op: "create issues",
                    message: format!("duplicate issue ID within batch: {}", issue.id),
                });
            }
            if !options.skip_prefix_validation && !issue.id.starts_with(&format!("{prefix}-")) {
                return Err(invalid(
                    "id",
                    format!(
                        "issue ID '{}' does not match configured prefix '{prefix}'",
                        issue.id
                    ),
                ));
            }
        }
        let explicit: Vec<&str> = issues
            .iter()
            .filter(|i| !i.id.is_empty())
            .map(|i| i.id.as_str())
            .collect();
        let stored = self.stored_statuses(&explicit)?;
        let mut skipped: HashSet<String> = HashSet::new();
        let mut base = None;
        for issue in &mut issues {
            if issue.id.is_empty() {
                let base = match base {
                    Some(b) => b,
                    None => *base.insert(ids::base_length(self, &prefix)?),
                };
                issue.id = ids::generate(
                    self,
                    &prefix,
                    base,
                    &issue.title,
                    &issue.description,
                    actor,
                    &issue.created_at,
                    &taken,
                )?;
                taken.insert(issue.id.clone());
            } else if !self.prepare_explicit_id(&issue.id, &taken, &stored, options)? {
                skipped.insert(issue.id.clone());
            }
        }
        issues.retain(|i| !skipped.contains(&i.id));
        let insert = insert_sql();
        let mut inserted: HashSet<&str> = HashSet::with_capacity(issues.len());
        for issue in &issues {
            self.execute(&insert, &issue_values(issue))?;
            inserted.insert(issue.id.as_str());
            if let (Some(parent), Some(n)) =
                (ids::parent_of(&issue.id), ids::child_number(&issue.id))
            {
                if inserted.contains(parent) || self.issue_exists(parent)? {
                    ids::note_child(self, parent, n)?;
                }
            }
        }
        if !options.quiet {
            for issue in &issues {
                let json = serde_json::to_string(issue).unwrap_or_default();
                record::event(self, &issue.id, "created", actor, None, Some(&json), None)?;
            }
            let ids: Vec<&str> = issues.iter().map(|i| i.id.as_str()).collect();
            record::dirty(self, &ids, &at)?;
        }
        Ok(issues)
    }

    /// Applies `update` to the issue: validated, `updated_at` set, `closed_at` managed when the
    /// status moves to or from closed, content hash recomputed, an event recorded (`updated`,
    /// `status_changed`, `closed` or `reopened`), marked dirty, and the blocked cache rebuilt
    /// when blocking may have changed.
    pub fn update_issue(&self, id: &str, update: &IssueUpdate, actor: &str) -> Result<()> {
        let old = self.get_issue(id)?.ok_or_else(|| not_found(id))?;
        if update.status == Some(Status::Tombstone) {
            return Err(invalid(
                "status",
                "cannot set status to tombstone directly; delete the issue instead",
            ));
        }
        let statuses = self.custom_statuses()?;
        let types = self.custom_types()?;
        let at = now();
        let mut new = old.clone();
        update.apply(&mut new);
        new.updated_at = at;
        if let Some(status) = &update.status {
            if *status == Status::Closed && old.status != Status::Closed {
                new.closed_at = Some(at);
            } else if *status != Status::Closed && old.status == Status::Closed {
                new.closed_at = None;
                if update.close_reason.is_none() {
                    new.close_reason.clear();
                }
            }
        }
        if let Some(t) = &update.issue_type {
            new.issue_type = t.normalized();
        }
        validate(&new, &statuses, &types)?;
        new.content_hash = new.compute_content_hash();
        self.write_issue_changes(&old, &new)?;
        let event_type = match (&update.status, &old.status) {
            (None, _) => "updated",
            (Some(Status::Closed), _) => "closed",
            (Some(_), Status::Closed) => "reopened",
            (Some(_), _) => "status_changed",
        };
        let old_json = serde_json::to_string(&old).unwrap_or_default();
        record::event(
            self,
            id,
            event_type,
            actor,
            Some(&old_json),
            Some(&update.describe()),
            None,
        )?;
        record::dirty(self, &[id], &at)?;
        if update.status.is_some() || update.close_reason.is_some() {
            self.refresh_blocked_cache_for_status_change(&[id])?;
        }
        Ok(())
    }

    /// Closes the issue with a reason (and the closing agent session): `closed_at` now, a
    /// `closed` event carrying the reason, dirty mark, blocked cache rebuilt. Convoys that
    /// tracked it and now have nothing open left close with it (one level, as Go does).
    pub fn close_issue(&self, id: &str, by: &Attribution) -> Result<()> {
        let at = now();
        self.mark_closed(id, &by.reason, &by.actor, &by.session, &at)?;
        let convoys = self.completed_convoys_tracking(id)?;
        for convoy in &convoys {
            self.mark_closed(convoy, CONVOY_CLOSE_REASON, CONVOY_CLOSE_ACTOR, "", &at)?;
        }
        let closed: Vec<&str> = std::iter::once(id)
            .chain(convoys.iter().map(String::as_str))
            .collect();
        self.refresh_blocked_cache_for_status_change(&closed)
    }

    /// Turns the issue into a tombstone (kept so the deletion syncs): `deleted_at` now, the
    /// type kept in `original_type`, a `deleted` event, dirty, blocked cache rebuilt. Its
    /// dependencies stay; remove them first when they should go. `by.session` is not recorded.
    pub fn create_tombstone(&self, id: &str, by: &Attribution) -> Result<()> {
        let (actor, reason) = (by.actor.as_str(), by.reason.as_str());
        let old = self.get_issue(id)?.ok_or_else(|| not_found(id))?;
        let mut issue = old.clone();
        let at = now();
        issue.original_type = issue.issue_type.as_str().to_owned();
        issue.status = Status::Tombstone;
        issue.closed_at = None;
        issue.deleted_at = Some(at);
        issue.deleted_by = actor.to_owned();
        issue.delete_reason = reason.to_owned();
        issue.updated_at = at;
        issue.content_hash = issue.compute_content_hash();
        self.write_issue_changes(&old, &issue)?;
        record::event(self, id, "deleted", actor, None, None, Some(reason))?;
        record::dirty(self, &[id], &at)?;
        self.refresh_blocked_cache_for_status_change(&[id])
    }

    /// Removes the issue and everything attached to it for good; the issues that depended on it
    /// are marked dirty (their export changes) and the blocked cache is rebuilt.
    pub fn delete_issue(&self, id: &str) -> Result<()> {
        if !self.issue_exists(id)? {
            return Err(not_found(id));
        }
        let dependents: Vec<String> = crate::value::column_texts(
            self.query(
                "SELECT DISTINCT issue_id FROM dependencies WHERE depends_on_id = ? AND issue_id != ?",
                &[id.into(), id.into()],
            )?,
            0,
        );
        let refs: Vec<&str> = dependents.iter().map(String::as_str).collect();
        record::dirty(self, &refs, &now())?;
        self.hard_delete(id)?;
        self.rebuild_blocked_cache()
    }

    /// Creates issues all or nothing, in order; explicit ids must carry the project prefix and
    /// be new (a tombstone with the same id is replaced, as Go does for single creates).
    pub fn create_issues(&self, issues: Vec<Issue>, actor: &str) -> Result<Vec<Issue>> {
        self.create_issues_with_options(issues, actor, &CreateOptions::default())
    }

    /// Recreates the missing ancestors of `id`, root first, from their last record in the
    /// JSONL history at `jsonl`: as closed stubs that keep the hierarchy intact (title, type
    /// and creation time kept; dependencies on existing issues restored). False when an
    /// ancestor is not in the history.
    pub fn resurrect_parent_chain(&self, id: &str, jsonl: &std::path::Path) -> Result<bool> {
        let mut chain = Vec::new();
        let mut cursor = id;
        while let Some(parent) = ids::parent_of(cursor) {
            chain.push(parent.to_owned());
            cursor = parent;
        }
        chain.reverse();
        for ancestor in chain {
            if self.issue_exists(&ancestor)? {
                continue;
            }
            let Some(record) = last_jsonl_record(jsonl, &ancestor)? else {
                return Ok(false);
            };
            let at = now();
            let mut stub = Issue::new(record.title.clone());
            stub.id = ancestor.clone();
            stub.description = if record.description.is_empty() {
                RESURRECTED.to_owned()
            } else {
                format!(
                    "{RESURRECTED}\n\nOriginal description:\n{}",
                    record.description
                )
            };
            stub.status = Status::Closed;
            stub.priority = 4;
            stub.issue_type = record.issue_type.clone();
            stub.created_at = record.created_at;
            stub.updated_at = at;
            stub.closed_at = Some(at);
            stub.content_hash = stub.compute_content_hash();
            self.execute(
                &insert_sql().replacen("INSERT", "INSERT OR IGNORE", 1),
                &issue_values(&stub),
            )?;
            for dep in &record.dependencies {
                if self.issue_exists(&dep.depends_on_id)? {
                    self.execute(
                        "INSERT OR IGNORE INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, ?, ?, 'resurrection')",
                        &[ancestor.as_str().into(), dep.depends_on_id.as_str().into(), dep.dep_type.as_str().into()],
                    )?;
                }
            }
        }
        Ok(true)
    }

    /// Creates an issue and returns it as stored (id generated when empty, timestamps and
    /// content hash filled in). Records a `created` event and marks it dirty.
    pub fn create_issue(&self, issue: Issue, actor: &str) -> Result<Issue> {
        let mut created = self.create_issues(vec![issue], actor)?;
        created.pop().ok_or_else(|| Error::Internal {
            op: "create issue",
            message: "nothing was created".into(),
        })
    }
}

impl ReadTxn<'_> {
    /// The stored status of each of `ids` that exists, in one query per 500 ids.
    fn stored_statuses(&self, ids: &[&str]) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, status FROM issues WHERE id IN ({})",
                placeholders(chunk.len())
            );
            let params: Vec<Param<'_>> = chunk.iter().map(|&id| id.into()).collect();
            for row in self.query(&sql, &params)? {
                if let (Some(id), Some(status)) = (row[0].as_str(), row[1].as_str()) {
                    out.insert(id.to_owned(), status.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// True when an issue (any status) has this id.
    /// `NotFound` unless the issue exists.
    pub(crate) fn require_issue(&self, issue_id: &str) -> Result<()> {
        if !self.issue_exists(issue_id)? {
            return Err(not_found(issue_id));
        }
        Ok(())
    }

    pub(crate) fn issue_exists(&self, id: &str) -> Result<bool> {
        Ok(
            first_i64(&self.query("SELECT count(*) FROM issues WHERE id = ?", &[id.into()])?)
                .unwrap_or(0)
                > 0,
        )
    }

    /// The issues that `conditions` (over `issues i`, with `params`) selects and `filter`
    /// keeps, in `order`, at most `limit` of them (0: all), with their labels.
    ///
    /// The order is applied here, not by the engine's sorter (`super::order`). With a limit,
    /// only each row's id, sort keys and filtered columns are read, filtered here
    /// (`super::like`), the first `limit` kept, and those issues read whole by id. With none,
    /// the engine filters and every issue kept is read whole in the one scan.
    pub(crate) fn issues_in_order(
        &self,
        conditions: &str,
        params: &[Param<'_>],
        order: &IssueOrder<'_>,
        limit: usize,
        filter: &RowFilter<'_>,
    ) -> Result<Vec<Issue>> {
        let keys = order.select_list();
        let mut all: Vec<Param<'_>> = order.params.iter().chain(params).cloned().collect();
        if limit > 0 {
            let blocked = if filter.not_blocked {
                self.blocked_ids()?
            } else {
                HashSet::new()
            };
            let mut rows: Vec<Row> = self
                .query(
                    &format!(
                        "SELECT i.id, {keys}{} FROM issues i WHERE {conditions}",
                        filter.columns()
                    ),
                    &all,
                )?
                .into_iter()
                .filter(|row| filter.keeps(row, &blocked))
                .collect();
            order.sort(&mut rows, 1, limit);
            // Read back by id: a row whose id is not text (which only a damaged or hand-made
            // file holds) cannot be, and is left out rather than failing the whole read.
            let ids: Vec<String> = rows
                .into_iter()
                .filter_map(|row| match row.into_values().into_iter().next() {
                    Some(Value::Text(id)) => Some(id),
                    _ => None,
                })
                .collect();
            return self.issues_by_ids_in_order(&ids);
        }
        let (filter_sql, filter_params) = filter.sql();
        all.extend(filter_params);
        let mut rows = self.query(
            &format!(
                "SELECT {}, {keys} FROM issues i WHERE {conditions}{filter_sql}",
                select_list("i")
            ),
            &all,
        )?;
        order.sort(&mut rows, ISSUE_SELECT.len(), 0);
        let issues = rows
            .iter()
            .map(issue_from_row)
            .collect::<Result<Vec<_>>>()?;
        self.attach_labels(issues)
    }

    /// The issues with these ids, in the order given (missing ones left out), with their
    /// labels: primary-key lookups in chunks, for id sets chosen outside SQL.
    pub(crate) fn issues_by_ids_in_order(&self, ids: &[String]) -> Result<Vec<Issue>> {
        let mut found: HashMap<String, Issue> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {} FROM issues i WHERE i.id IN ({})",
                select_list("i"),
                placeholders(chunk.len())
            );
            let params: Vec<Param<'_>> = chunk.iter().map(|id| id.as_str().into()).collect();
            for issue in self.issues_with_labels(&sql, &params)? {
                found.insert(issue.id.clone(), issue);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Runs a query selecting `ISSUE_SELECT` and loads each issue's labels.
    pub(crate) fn issues_with_labels(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Issue>> {
        let issues = self
            .query(sql, params)?
            .iter()
            .map(issue_from_row)
            .collect::<Result<Vec<_>>>()?;
        self.attach_labels(issues)
    }

    /// The issues with their labels filled in.
    fn attach_labels(&self, mut issues: Vec<Issue>) -> Result<Vec<Issue>> {
        let ids: Vec<String> = issues.iter().map(|i| i.id.clone()).collect();
        let mut labels = self.get_labels_for_issues(&ids)?;
        for issue in &mut issues {
            issue.labels = labels.remove(&issue.id).unwrap_or_default();
        }
        Ok(issues)
    }

    /// Open convoys (issues labelled `gt:convoy`) that track `id` and whose tracked issues are
    /// now all closed or tombstoned. External or missing targets do not hold a convoy open.
    fn completed_convoys_tracking(&self, id: &str) -> Result<Vec<String>> {
        let rows = self.query(
            "SELECT DISTINCT d.issue_id FROM dependencies d \
             JOIN issues c ON c.id = d.issue_id \
             JOIN labels l ON l.issue_id = d.issue_id AND l.label = ? \
             WHERE d.depends_on_id = ? AND d.type = ? AND c.status != 'closed' \
             AND NOT EXISTS (SELECT 1 FROM dependencies t JOIN issues o ON o.id = t.depends_on_id \
                 WHERE t.issue_id = d.issue_id AND t.type = ? \
                 AND o.status NOT IN ('closed', 'tombstone')) \
             ORDER BY d.issue_id",
            &[
                CONVOY_LABEL.into(),
                id.into(),
                DependencyType::Tracks.as_str().into(),
                DependencyType::Tracks.as_str().into(),
            ],
        )?;
        Ok(crate::value::column_texts(rows, 0))
    }
}

impl Store {
    /// Recreates missing ancestors of `id` from `issues.jsonl` beside the database; see
    /// `WriteTxn::resurrect_parent_chain`.
    pub fn try_resurrect_parent_chain(&self, id: &str) -> Result<bool> {
        self.transaction(|tx| match tx.jsonl_history() {
            Some(jsonl) => tx.resurrect_parent_chain(id, &jsonl),
            None => Ok(false),
        })
    }
}

impl WriteTxn<'_> {
    /// Writes the columns in which `new` differs from `old` (the issue as read), as Go's
    /// updates do: the engine then touches only the indexes on those columns, and the
    /// statement is a handful of columns to compile instead of fifty.
    pub(crate) fn write_issue_changes(&self, old: &Issue, new: &Issue) -> Result<()> {
        let before = issue_values(old);
        let mut values = issue_values(new);
        let id = values.remove(0);
        let mut sets = Vec::new();
        let mut changed = Vec::new();
        for ((column, value), previous) in ISSUE_SELECT
            .iter()
            .skip(1)
            .zip(values)
            .zip(before.into_iter().skip(1))
        {
            if value != previous {
                sets.push(format!("{column} = ?"));
                changed.push(value);
            }
        }
        if sets.is_empty() {
            return Ok(());
        }
        changed.push(id);
        self.execute(
            &format!("UPDATE issues SET {} WHERE id = ?", sets.join(", ")),
            &changed,
        )?;
        Ok(())
    }

    fn hard_delete(&self, id: &str) -> Result<()> {
        self.execute(
            "DELETE FROM dependencies WHERE issue_id = ? OR depends_on_id = ?",
            &[id.into(), id.into()],
        )?;
        for table in ["events", "comments", "labels", "dirty_issues"] {
            self.execute(
                &format!("DELETE FROM {table} WHERE issue_id = ?"),
                &[id.into()],
            )?;
        }
        self.execute("DELETE FROM issues WHERE id = ?", &[id.into()])?;
        Ok(())
    }

    /// An explicit id: a hierarchical one needs its parent (here, earlier in the batch, or
    /// per `options.orphans`); an existing tombstone with the id is removed so the new issue
    /// takes its place. False when the issue is to be skipped.
    fn prepare_explicit_id(
        &self,
        id: &str,
        batch: &HashSet<String>,
        stored: &HashMap<String, String>,
        options: &CreateOptions,
    ) -> Result<bool> {
        if let Some(parent) = ids::parent_of(id) {
            if !batch.contains(parent) && !self.issue_exists(parent)? {
                match options.orphans {
                    OrphanHandling::Allow => {}
                    OrphanHandling::Skip => return Ok(false),
                    OrphanHandling::Strict => {
                        return Err(Error::not_found_in(
                            NotFoundKind::Parent,
                            parent,
                            format!("of {id}; strict orphan handling"),
                        ))
                    }
                    OrphanHandling::Resurrect => {
                        let history = options.resurrect_from.clone().or(self.jsonl_history());
                        let found = match history {
                            Some(jsonl) => self.resurrect_parent_chain(id, &jsonl)?,
                            None => false,
                        };
                        if !found {
                            return Err(Error::not_found_in(
                                NotFoundKind::Parent,
                                parent,
                                format!(
                                    "of {id}; not in the batch, the database or the JSONL history"
                                ),
                            ));
                        }
                    }
                }
            }
        }
        match stored.get(id).map(String::as_str) {
            Some("tombstone") => self.hard_delete(id).map(|()| true),
            Some(_) => Err(Error::Constraint {
                op: "create issue",
                message: format!("issue ID already exists: {id}"),
            }),
            None => Ok(true),
        }
    }

    fn mark_closed(
        &self,
        id: &str,
        reason: &str,
        actor: &str,
        session: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let old = self.get_issue(id)?.ok_or_else(|| not_found(id))?;
        let mut issue = old.clone();
        issue.status = Status::Closed;
        issue.closed_at = Some(*at);
        issue.updated_at = *at;
        issue.close_reason = reason.to_owned();
        issue.closed_by_session = session.to_owned();
        issue.deleted_at = None;
        issue.content_hash = issue.compute_content_hash();
        self.write_issue_changes(&old, &issue)?;
        record::event(self, id, "closed", actor, None, None, Some(reason))?;
        record::dirty(self, &[id], at)
    }
}
