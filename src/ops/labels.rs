//! Labels: a set of strings per issue.

use std::collections::HashMap;

use crate::error::Result;
use crate::model::Issue;
use crate::store::{ReadTxn, WriteTxn};
use crate::value::{column_texts, text_pairs, Param};
use beadstore_macros::store_ops;

use super::columns::select_list;
use super::record::{self, now, placeholders};

#[store_ops(read)]
impl ReadTxn<'_> {
    /// The issue's labels, sorted (byte order).
    pub fn get_labels(&self, issue_id: &str) -> Result<Vec<String>> {
        Ok(column_texts(
            self.query(
                "SELECT label FROM labels WHERE issue_id = ? ORDER BY label",
                &[issue_id.into()],
            )?,
            0,
        ))
    }

    /// Labels of several issues at once; issues without labels are absent.
    pub fn get_labels_for_issues(&self, ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT issue_id, label FROM labels WHERE issue_id IN ({}) ORDER BY issue_id, label",
                placeholders(chunk.len())
            );
            let params: Vec<Param<'_>> = chunk.iter().map(|i| i.as_str().into()).collect();
            for (id, label) in text_pairs(self.query(&sql, &params)?) {
                out.entry(id).or_default().push(label);
            }
        }
        Ok(out)
    }

    /// Issues carrying `label` (any status), by priority then newest.
    pub fn get_issues_by_label(&self, label: &str) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {} FROM issues i JOIN labels l ON l.issue_id = i.id WHERE l.label = ? ORDER BY i.priority ASC, i.created_at DESC, i.id ASC",
            select_list("i")
        );
        self.issues_with_labels(&sql, &[label.into()])
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Adds a label; adding one the issue already has changes nothing (no event).
    pub fn add_label(&self, issue_id: &str, label: &str, actor: &str) -> Result<()> {
        self.change_label(
            "INSERT OR IGNORE INTO labels (issue_id, label) VALUES (?, ?)",
            issue_id,
            label,
            actor,
            ("label_added", "Added label"),
        )
    }

    /// Removes a label; removing one the issue does not have changes nothing.
    pub fn remove_label(&self, issue_id: &str, label: &str, actor: &str) -> Result<()> {
        self.change_label(
            "DELETE FROM labels WHERE issue_id = ? AND label = ?",
            issue_id,
            label,
            actor,
            ("label_removed", "Removed label"),
        )
    }
}

impl WriteTxn<'_> {
    /// Runs `sql` on (issue, label); when a row changed, records `event` and marks the issue.
    fn change_label(
        &self,
        sql: &str,
        issue_id: &str,
        label: &str,
        actor: &str,
        (event, verb): (&str, &str),
    ) -> Result<()> {
        self.require_issue(issue_id)?;
        if self.execute(sql, &[issue_id.into(), label.into()])? > 0 {
            let comment = format!("{verb}: {label}");
            record::event(self, issue_id, event, actor, None, None, Some(&comment))?;
            record::dirty(self, &[issue_id], &now())?;
        }
        Ok(())
    }
}
