//! Comments, the audit trail of events, and dirty tracking for export.

use std::collections::HashMap;

use crate::error::{Error, NotFoundKind, Result};
use crate::model::time_serde::{format, unset};
use crate::model::{Comment, Event, Timestamp};
use crate::row::Row;
use crate::store::{ReadTxn, WriteTxn};
use crate::value::{column_texts, first_i64, Param, Value};
use beadstore_macros::store_ops;

use super::columns::{opt_text, text, time};
use super::record::{self, now, placeholders};

fn column(row: &Row, i: usize) -> &Value {
    row.value(i).unwrap_or(&Value::Null)
}

fn stamp(row: &Row, i: usize) -> Timestamp {
    time(column(row, i)).unwrap_or_else(unset)
}

fn comment_from_row(row: &Row) -> Comment {
    Comment {
        id: row.first().and_then(Value::as_i64).unwrap_or_default(),
        issue_id: text(column(row, 1)),
        author: text(column(row, 2)),
        text: text(column(row, 3)),
        created_at: stamp(row, 4),
    }
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// The issue's comments, oldest first.
    pub fn get_issue_comments(&self, issue_id: &str) -> Result<Vec<Comment>> {
        Ok(self
            .query(
                "SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id = ? ORDER BY created_at, id",
                &[issue_id.into()],
            )?
            .iter()
            .map(comment_from_row)
            .collect())
    }

    /// Comments of several issues; issues without comments are absent.
    pub fn get_comments_for_issues(&self, ids: &[String]) -> Result<HashMap<String, Vec<Comment>>> {
        let mut out: HashMap<String, Vec<Comment>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id IN ({}) ORDER BY issue_id, created_at, id",
                placeholders(chunk.len())
            );
            let params: Vec<Param<'_>> = chunk.iter().map(|i| i.as_str().into()).collect();
            for row in self.query(&sql, &params)? {
                let c = comment_from_row(&row);
                out.entry(c.issue_id.clone()).or_default().push(c);
            }
        }
        Ok(out)
    }

    /// The issue's events, newest first (at most `limit`; 0 = all).
    pub fn get_events(&self, issue_id: &str, limit: usize) -> Result<Vec<Event>> {
        let mut sql = "SELECT id, issue_id, event_type, actor, old_value, new_value, comment, created_at FROM events WHERE issue_id = ? ORDER BY created_at DESC, id DESC".to_owned();
        if limit > 0 {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(self
            .query(&sql, &[issue_id.into()])?
            .iter()
            .map(|row| Event {
                id: row.first().and_then(Value::as_i64).unwrap_or_default(),
                issue_id: text(column(row, 1)),
                event_type: text(column(row, 2)),
                actor: text(column(row, 3)),
                old_value: opt_text(column(row, 4)),
                new_value: opt_text(column(row, 5)),
                comment: opt_text(column(row, 6)),
                created_at: stamp(row, 7),
            })
            .collect())
    }

    /// Issues changed since the last export, oldest mark first.
    pub fn get_dirty_issues(&self) -> Result<Vec<String>> {
        Ok(column_texts(
            self.query(
                "SELECT issue_id FROM dirty_issues ORDER BY marked_at, issue_id",
                &[],
            )?,
            0,
        ))
    }

    /// How many issues are dirty.
    pub fn get_dirty_issue_count(&self) -> Result<i64> {
        Ok(first_i64(&self.query("SELECT count(*) FROM dirty_issues", &[])?).unwrap_or(0))
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Adds a comment now and returns it.
    pub fn add_issue_comment(&self, issue_id: &str, author: &str, text: &str) -> Result<Comment> {
        self.import_issue_comment(issue_id, author, text, &now())
    }

    /// Adds a comment keeping its original time (imports; GH#735), stored in UTC.
    pub fn import_issue_comment(
        &self,
        issue_id: &str,
        author: &str,
        text: &str,
        created_at: &Timestamp,
    ) -> Result<Comment> {
        self.require_issue(issue_id)?;
        let utc = created_at.with_timezone(&chrono::Utc).fixed_offset();
        let rows = self.query(
            "INSERT INTO comments (issue_id, author, text, created_at) VALUES (?, ?, ?, ?) RETURNING id, issue_id, author, text, created_at",
            &[issue_id.into(), author.into(), text.into(), format(&utc).into()],
        )?;
        let comment = rows
            .first()
            .map(comment_from_row)
            .ok_or_else(|| Error::Internal {
                op: "add comment",
                message: "the insert returned no row".into(),
            })?;
        record::dirty(self, &[issue_id], &now())?;
        Ok(comment)
    }

    /// Records a `commented` event (Go's `AddComment`) and touches the issue's `updated_at`.
    pub fn add_comment_event(&self, issue_id: &str, actor: &str, comment: &str) -> Result<()> {
        let at = now();
        let touched = self.execute(
            "UPDATE issues SET updated_at = ? WHERE id = ?",
            &[format(&at).into(), issue_id.into()],
        )?;
        if touched == 0 {
            return Err(Error::not_found(NotFoundKind::Issue, issue_id));
        }
        record::event(
            self,
            issue_id,
            "commented",
            actor,
            None,
            None,
            Some(comment),
        )?;
        record::dirty(self, &[issue_id], &at)
    }

    /// Marks issues as changed since the last export.
    pub fn mark_issues_dirty(&self, ids: &[&str]) -> Result<()> {
        record::dirty(self, ids, &now())
    }

    /// Clears the dirty marks of these issues (after exporting them).
    pub fn clear_dirty_issues_by_id(&self, ids: &[String]) -> Result<()> {
        for id in ids {
            self.execute(
                "DELETE FROM dirty_issues WHERE issue_id = ?",
                &[id.as_str().into()],
            )?;
        }
        Ok(())
    }
}
