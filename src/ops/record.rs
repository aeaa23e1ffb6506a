//! What every mutation leaves behind: an event in the audit trail and a dirty mark for export.

use chrono::Local;

use crate::error::Result;
use crate::model::time_serde::format;
use crate::model::Timestamp;
use crate::store::WriteTxn;
use crate::value::Param;

/// Now, in local time with its offset (what Go stores).
pub(crate) fn now() -> Timestamp {
    Local::now().fixed_offset()
}

/// Appends one event; `created_at` takes the column default, as in Go.
pub(crate) fn event(
    tx: &WriteTxn<'_>,
    issue_id: &str,
    event_type: &str,
    actor: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    comment: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            issue_id.into(),
            event_type.into(),
            actor.into(),
            old_value.into(),
            new_value.into(),
            comment.into(),
        ],
    )?;
    Ok(())
}

/// Marks issues as changed since the last export, all at `at`.
pub(crate) fn dirty(tx: &WriteTxn<'_>, ids: &[&str], at: &Timestamp) -> Result<()> {
    let at = format(at);
    for id in ids {
        tx.execute(
            "INSERT INTO dirty_issues (issue_id, marked_at) VALUES (?, ?) ON CONFLICT (issue_id) DO UPDATE SET marked_at = excluded.marked_at",
            &[Param::from(*id), Param::from(at.as_str())],
        )?;
    }
    Ok(())
}

/// `?, ?, ?` for an `IN (...)` list of `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}
