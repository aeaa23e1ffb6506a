//! Reading and writing the `issues` row: one column list for every read path (Go's read paths
//! each load a different subset; here every field with a column is always loaded).

use crate::error::{Error, Result};
use crate::model::time_serde::{format, parse_stored, unset};
use crate::model::{Issue, IssueType, Status, Timestamp};
use crate::row::Row;
use crate::schema::ISSUE_COLUMNS;
use crate::value::{Param, Value};

/// The `issues` columns an `Issue` holds, in the schema's order (`ISSUE_COLUMNS`, the one list
/// of them) without the two Go writes and beads never reads back into an issue; `issue_from_row`
/// and `issue_values` take them in this order. Prefix with a table alias as needed.
pub(crate) const ISSUE_SELECT: [&str; ISSUE_COLUMNS.len() - NOT_IN_ISSUE.len()] = modelled();

/// Columns of `issues` that `Issue` has no field for; an update leaves them as they are.
const NOT_IN_ISSUE: [&str; 2] = ["work_type", "quality_score"];

/// `ISSUE_COLUMNS` without `NOT_IN_ISSUE`, at compile time.
const fn modelled<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let (mut from, mut to) = (0, 0);
    while from < ISSUE_COLUMNS.len() {
        let column = ISSUE_COLUMNS[from];
        let mut skip = false;
        let mut k = 0;
        while k < NOT_IN_ISSUE.len() {
            skip |= same(column, NOT_IN_ISSUE[k]);
            k += 1;
        }
        if !skip {
            out[to] = column;
            to += 1;
        }
        from += 1;
    }
    assert!(
        to == N,
        "every column of NOT_IN_ISSUE must be in ISSUE_COLUMNS"
    );
    out
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `alias.col, alias.col, ...` for a SELECT.
pub(crate) fn select_list(alias: &str) -> String {
    ISSUE_SELECT
        .iter()
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column as text (numbers formatted; NULL and blobs empty).
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Null | Value::Blob(_) => String::new(),
    }
}

/// A column as text, `None` for NULL.
pub(crate) fn opt_text(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| text(v))
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        Value::Real(f) => *f as i64,
        Value::Text(s) => s.trim().parse().unwrap_or(0),
        Value::Null | Value::Blob(_) => 0,
    }
}

fn flag(v: &Value) -> bool {
    int(v) != 0
}

/// A stored timestamp in any of its forms; `None` for NULL, empty or unreadable.
pub(crate) fn time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Text(s) if !s.is_empty() => parse_stored(s),
        _ => None,
    }
}

/// Builds an issue from a row selected with `ISSUE_SELECT` (labels, dependencies and comments
/// are filled in by the caller). Fields are read in `ISSUE_SELECT` order: a struct literal
/// evaluates its fields in the order written, so the fields below are in the schema's order.
pub(crate) fn issue_from_row(row: &Row) -> Result<Issue> {
    if row.len() < ISSUE_SELECT.len() {
        return Err(Error::Internal {
            op: "read issue",
            message: format!("expected {} columns, got {}", ISSUE_SELECT.len(), row.len()),
        });
    }
    let mut columns = row.iter();
    let mut next = || columns.next().unwrap_or(&Value::Null);
    Ok(Issue {
        id: text(next()),
        content_hash: text(next()),
        title: text(next()),
        description: text(next()),
        design: text(next()),
        acceptance_criteria: text(next()),
        notes: text(next()),
        status: Status::parse(&text(next())),
        priority: int(next()),
        issue_type: IssueType::parse(&text(next())),
        assignee: text(next()),
        estimated_minutes: {
            let v = next();
            (!v.is_null()).then(|| int(v))
        },
        created_at: time(next()).unwrap_or_else(unset),
        created_by: text(next()),
        owner: text(next()),
        updated_at: time(next()).unwrap_or_else(unset),
        closed_at: time(next()),
        closed_by_session: text(next()),
        external_ref: opt_text(next()),
        compaction_level: int(next()),
        compacted_at: time(next()),
        compacted_at_commit: opt_text(next()),
        original_size: int(next()),
        deleted_at: time(next()),
        deleted_by: text(next()),
        delete_reason: text(next()),
        original_type: text(next()),
        sender: text(next()),
        ephemeral: flag(next()),
        pinned: flag(next()),
        is_template: flag(next()),
        crystallizes: flag(next()),
        mol_type: text(next()),
        source_system: text(next()),
        event_kind: text(next()),
        actor: text(next()),
        target: text(next()),
        payload: text(next()),
        source_repo: text(next()),
        close_reason: text(next()),
        await_type: text(next()),
        await_id: text(next()),
        timeout_ns: int(next()),
        waiters: {
            let raw = text(next());
            if raw.trim().is_empty() {
                Vec::new()
            } else {
                serde_json::from_str(&raw).unwrap_or_default()
            }
        },
        hook_bead: text(next()),
        role_bead: text(next()),
        agent_state: text(next()),
        last_activity: time(next()),
        role_type: text(next()),
        rig: text(next()),
        due_at: time(next()),
        defer_until: time(next()),
        labels: Vec::new(),
        dependencies: Vec::new(),
        comments: Vec::new(),
    })
}

/// The values for `INSERT INTO issues (ISSUE_SELECT...)`, in column order.
pub(crate) fn issue_values(issue: &Issue) -> Vec<Param<'_>> {
    let t = |v: &Option<Timestamp>| v.as_ref().map(format);
    let waiters = if issue.waiters.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&issue.waiters).unwrap_or_default()
    };
    let source_repo = if issue.source_repo.is_empty() {
        ".".to_owned()
    } else {
        issue.source_repo.clone()
    };
    vec![
        issue.id.clone().into(),
        issue.content_hash.clone().into(),
        issue.title.clone().into(),
        issue.description.clone().into(),
        issue.design.clone().into(),
        issue.acceptance_criteria.clone().into(),
        issue.notes.clone().into(),
        issue.status.as_str().into(),
        issue.priority.into(),
        issue.issue_type.as_str().into(),
        issue.assignee.clone().into(),
        issue.estimated_minutes.into(),
        format(&issue.created_at).into(),
        issue.created_by.clone().into(),
        issue.owner.clone().into(),
        format(&issue.updated_at).into(),
        t(&issue.closed_at).into(),
        issue.closed_by_session.clone().into(),
        issue.external_ref.clone().into(),
        issue.compaction_level.into(),
        t(&issue.compacted_at).into(),
        issue.compacted_at_commit.clone().into(),
        issue.original_size.into(),
        t(&issue.deleted_at).into(),
        issue.deleted_by.clone().into(),
        issue.delete_reason.clone().into(),
        issue.original_type.clone().into(),
        issue.sender.clone().into(),
        issue.ephemeral.into(),
        issue.pinned.into(),
        issue.is_template.into(),
        issue.crystallizes.into(),
        issue.mol_type.clone().into(),
        issue.source_system.clone().into(),
        issue.event_kind.clone().into(),
        issue.actor.clone().into(),
        issue.target.clone().into(),
        issue.payload.clone().into(),
        source_repo.into(),
        issue.close_reason.clone().into(),
        issue.await_type.clone().into(),
        issue.await_id.clone().into(),
        issue.timeout_ns.into(),
        waiters.into(),
        issue.hook_bead.clone().into(),
        issue.role_bead.clone().into(),
        issue.agent_state.clone().into(),
        t(&issue.last_activity).into(),
        issue.role_type.clone().into(),
        issue.rig.clone().into(),
        t(&issue.due_at).into(),
        t(&issue.defer_until).into(),
    ]
}

/// `INSERT INTO issues (...) VALUES (?, ...)` for `issue_values`.
pub(crate) fn insert_sql() -> String {
    format!(
        "INSERT INTO issues ({}) VALUES ({})",
        ISSUE_SELECT.join(", "),
        vec!["?"; ISSUE_SELECT.len()].join(", ")
    )
}
