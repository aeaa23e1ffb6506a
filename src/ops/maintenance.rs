//! Bookkeeping around export and history: export hashes, the JSONL file hash, close reasons,
//! id and prefix renames, batch deletion, and compaction.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::error::{Error, NotFoundKind, Result};
use crate::model::time_serde::{format, parse_stored};
use crate::model::{Issue, Timestamp};
use crate::store::{ReadTxn, Store, WriteTxn};
use crate::value::{column_texts, first_i64, first_text, Param, Value};
use beadstore_macros::{store_ops, Setters};

use super::record::{self, now, placeholders};
use super::Attribution;

/// How `delete_issues` treats issues outside the set that depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Setters)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Deletes every issue that depends on the set too, transitively.
    pub cascade: bool,
    /// Deletes the set even though issues outside it depend on it (they keep dangling edges).
    pub force: bool,
}

/// What `delete_issues` did (or `plan_delete_issues` says it would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DeleteReport {
    /// Issues tombstoned.
    pub deleted: usize,
    /// Dependency rows removed.
    pub dependencies: usize,
    /// Label rows of the deleted issues.
    pub labels: usize,
    /// Event rows of the deleted issues.
    pub events: usize,
    /// Issues outside the set that depended on it (with `force`).
    pub orphaned: Vec<String>,
}

/// Whether an issue may be compacted at a tier now; `Display` gives Go's reason for a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Eligibility {
    /// It may be compacted.
    Eligible,
    /// There is no issue with that id.
    NotFound,
    /// It is not closed.
    NotClosed,
    /// It is closed but has no `closed_at`.
    NoClosedAt,
    /// It is pinned, which protects it from compaction.
    Pinned,
    /// Only tiers 1 and 2 exist.
    InvalidTier(u8),
    /// It is not at the level the tier starts from (tier 1: uncompacted; tier 2: level 1).
    WrongLevel {
        /// The tier asked for.
        tier: u8,
    },
    /// Not yet: open dependents, not closed long enough, or (tier 2) too few events.
    NotYet {
        /// The tier asked for.
        tier: u8,
    },
}

impl Eligibility {
    /// True for `Eligible`.
    pub fn is_eligible(self) -> bool {
        self == Eligibility::Eligible
    }
}

impl std::fmt::Display for Eligibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Eligibility::Eligible => f.write_str("eligible"),
            Eligibility::NotFound => f.write_str("issue not found"),
            Eligibility::NotClosed => f.write_str("issue is not closed"),
            Eligibility::NoClosedAt => f.write_str("issue has no closed_at timestamp"),
            Eligibility::Pinned => f.write_str("issue is pinned (protected from compaction)"),
            Eligibility::InvalidTier(tier) => write!(f, "invalid tier: {tier}"),
            Eligibility::WrongLevel { tier: 1 } => f.write_str("issue is already compacted"),
            Eligibility::WrongLevel { .. } => {
                f.write_str("issue must be at compaction level 1 for tier 2")
            }
            Eligibility::NotYet { tier: 1 } => {
                f.write_str("issue has open dependents or not closed long enough")
            }
            Eligibility::NotYet { .. } => f.write_str(
                "issue has open dependents, not closed long enough, or insufficient events",
            ),
        }
    }
}

/// An issue that compaction may shrink.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CompactionCandidate {
    /// The issue.
    pub issue_id: String,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// Its text size now (or before an earlier compaction).
    pub original_size: i64,
    /// Dependents (tier 1) or events (tier 2) counted.
    pub dependent_count: i64,
}

const ACTIVE: &str = "'open', 'in_progress', 'blocked', 'deferred', 'hooked'";

#[store_ops(read)]
impl ReadTxn<'_> {
    /// What [`WriteTxn::delete_issues`] would delete with these options, deleting nothing.
    pub fn plan_delete_issues(
        &self,
        ids: &[String],
        options: &DeleteOptions,
    ) -> Result<DeleteReport> {
        self.deletion_plan(ids, options).map(|(report, _)| report)
    }

    /// The content hash last exported for the issue; empty when never exported.
    pub fn get_export_hash(&self, issue_id: &str) -> Result<String> {
        Ok(first_text(self.query(
            "SELECT content_hash FROM export_hashes WHERE issue_id = ?",
            &[issue_id.into()],
        )?)
        .unwrap_or_default())
    }

    /// The content hash recorded with the issue's dirty mark; empty when none.
    pub fn get_dirty_issue_hash(&self, issue_id: &str) -> Result<String> {
        Ok(first_text(self.query(
            "SELECT content_hash FROM dirty_issues WHERE issue_id = ?",
            &[issue_id.into()],
        )?)
        .unwrap_or_default())
    }

    /// The reason given when the issue was last closed (from its `closed` events).
    pub fn get_close_reason(&self, issue_id: &str) -> Result<String> {
        Ok(first_text(self.query(
            "SELECT coalesce(comment, '') FROM events WHERE issue_id = ? AND event_type = 'closed' ORDER BY created_at DESC, id DESC LIMIT 1",
            &[issue_id.into()],
        )?)
        .unwrap_or_default())
    }

    /// Close reasons of several issues; issues without a non-empty reason are absent.
    pub fn get_close_reasons_for_issues(&self, ids: &[String]) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for id in ids {
            let reason = self.get_close_reason(id)?;
            if !reason.is_empty() {
                out.insert(id.clone(), reason);
            }
        }
        Ok(out)
    }

    /// Closed issues that compaction tier 1 may shrink: closed long enough
    /// (`compact_tier1_days`), not compacted, not pinned, with no active issue depending on
    /// them through `blocks` (and their children, `compact_tier1_dep_levels` deep).
    pub fn get_tier1_candidates(&self) -> Result<Vec<CompactionCandidate>> {
        let days = self.config_number("compact_tier1_days", 30)?;
        let levels = self.config_number("compact_tier1_dep_levels", 2)?;
        let sql = format!(
            "WITH RECURSIVE tree(root, dependent, depth) AS (
               SELECT depends_on_id, issue_id, 0 FROM dependencies WHERE type = 'blocks'
               UNION
               SELECT t.root, d.issue_id, t.depth + 1 FROM tree t JOIN dependencies d ON d.type = 'parent-child' AND d.depends_on_id = t.dependent WHERE t.depth < ?
             )
             SELECT i.id, i.closed_at, coalesce(i.original_size, length(i.description) + length(i.design) + length(i.notes) + length(i.acceptance_criteria)), 0
               FROM issues i
              WHERE i.status = 'closed' AND i.closed_at IS NOT NULL
                AND julianday(i.closed_at) <= julianday('now', ?)
                AND coalesce(i.compaction_level, 0) = 0 AND coalesce(i.pinned, 0) = 0
                AND NOT EXISTS (SELECT 1 FROM tree t JOIN issues x ON x.id = t.dependent WHERE t.root = i.id AND x.status IN ({ACTIVE}))
              ORDER BY julianday(i.closed_at), i.id"
        );
        self.candidates(&sql, &[levels.into(), format!("-{days} days").into()])
    }

    /// Tier 2: compacted once, closed long enough (`compact_tier2_days`), not pinned, with at
    /// least `compact_tier2_commits` events and no active `blocks` dependent.
    pub fn get_tier2_candidates(&self) -> Result<Vec<CompactionCandidate>> {
        let days = self.config_number("compact_tier2_days", 90)?;
        let events = self.config_number("compact_tier2_commits", 100)?;
        let sql = format!(
            "SELECT i.id, i.closed_at, coalesce(i.original_size, 0), (SELECT count(*) FROM events e WHERE e.issue_id = i.id) AS n
               FROM issues i
              WHERE i.status = 'closed' AND i.closed_at IS NOT NULL
                AND julianday(i.closed_at) <= julianday('now', ?)
                AND i.compaction_level = 1 AND coalesce(i.pinned, 0) = 0
                AND (SELECT count(*) FROM events e WHERE e.issue_id = i.id) >= ?
                AND NOT EXISTS (SELECT 1 FROM dependencies d JOIN issues x ON x.id = d.issue_id WHERE d.depends_on_id = i.id AND d.type = 'blocks' AND x.status IN ({ACTIVE}))
              ORDER BY julianday(i.closed_at), i.id"
        );
        self.candidates(&sql, &[format!("-{days} days").into(), events.into()])
    }

    /// Whether the issue may be compacted at `tier` now, and if not, why.
    pub fn check_compaction_eligibility(&self, issue_id: &str, tier: u8) -> Result<Eligibility> {
        let Some(issue) = self.get_issue(issue_id)? else {
            return Ok(Eligibility::NotFound);
        };
        if issue.status != crate::model::Status::Closed {
            return Ok(Eligibility::NotClosed);
        }
        if issue.closed_at.is_none() {
            return Ok(Eligibility::NoClosedAt);
        }
        if issue.pinned {
            return Ok(Eligibility::Pinned);
        }
        let (level, candidates) = match tier {
            1 => (0, self.get_tier1_candidates()?),
            2 => (1, self.get_tier2_candidates()?),
            other => return Ok(Eligibility::InvalidTier(other)),
        };
        if issue.compaction_level != level {
            return Ok(Eligibility::WrongLevel { tier });
        }
        if candidates.iter().any(|c| c.issue_id == issue_id) {
            Ok(Eligibility::Eligible)
        } else {
            Ok(Eligibility::NotYet { tier })
        }
    }

    /// The hash of the JSONL file last synced (metadata `jsonl_file_hash`); `None` before
    /// the first sync.
    pub fn get_jsonl_file_hash(&self) -> Result<Option<String>> {
        self.get_metadata("jsonl_file_hash")
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Records the content hash just exported for the issue.
    pub fn set_export_hash(&self, issue_id: &str, content_hash: &str) -> Result<()> {
        self.execute(
            "INSERT INTO export_hashes (issue_id, content_hash, exported_at) VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT (issue_id) DO UPDATE SET content_hash = excluded.content_hash, exported_at = excluded.exported_at",
            &[issue_id.into(), content_hash.into()],
        )?;
        Ok(())
    }

    /// Forgets every export hash (the next export writes everything).
    pub fn clear_all_export_hashes(&self) -> Result<()> {
        self.execute("DELETE FROM export_hashes", &[])?;
        Ok(())
    }

    /// Renames an issue and every row that refers to it (dependencies both ways, labels,
    /// comments, events, dirty marks, snapshots, export hash, child counter, blocked cache);
    /// records `renamed` on the new id.
    pub fn update_issue_id(&self, old_id: &str, new_id: &str, actor: &str) -> Result<()> {
        let at = now();
        // A copy under the new id first, so every row pointing at the issue can move to it
        // with foreign keys enforced throughout; then the old row goes.
        // (The unique external_ref moves last, once the old row is gone.)
        let external_ref = self
            .query(
                "SELECT external_ref FROM issues WHERE id = ?",
                &[old_id.into()],
            )?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null);
        let columns = &super::columns::ISSUE_SELECT[1..];
        let sources: Vec<&str> = columns
            .iter()
            .map(|c| if *c == "external_ref" { "NULL" } else { c })
            .collect();
        let copied = self.execute(
            &format!(
                "INSERT INTO issues (id, {}) SELECT ?, {} FROM issues WHERE id = ?",
                columns.join(", "),
                sources.join(", ")
            ),
            &[new_id.into(), old_id.into()],
        )?;
        if copied == 0 {
            return Err(Error::not_found(NotFoundKind::Issue, old_id));
        }
        self.execute(
            "UPDATE issues SET updated_at = ? WHERE id = ?",
            &[format(&at).into(), new_id.into()],
        )?;
        for (table, column) in [
            ("dependencies", "issue_id"),
            ("dependencies", "depends_on_id"),
            ("events", "issue_id"),
            ("labels", "issue_id"),
            ("comments", "issue_id"),
            ("dirty_issues", "issue_id"),
            ("issue_snapshots", "issue_id"),
            ("compaction_snapshots", "issue_id"),
            ("export_hashes", "issue_id"),
            ("child_counters", "parent_id"),
            ("blocked_issues_cache", "issue_id"),
        ] {
            self.execute(
                &format!("UPDATE {table} SET {column} = ? WHERE {column} = ?"),
                &[new_id.into(), old_id.into()],
            )?;
        }
        self.execute("DELETE FROM issues WHERE id = ?", &[old_id.into()])?;
        self.execute(
            "UPDATE issues SET external_ref = ? WHERE id = ?",
            &[external_ref.into(), new_id.into()],
        )?;
        record::dirty(self, &[new_id], &at)?;
        record::event(
            self,
            new_id,
            "renamed",
            actor,
            Some(old_id),
            Some(new_id),
            None,
        )
    }

    /// Renames an issue as `update_issue_id` does and takes its title, description, design,
    /// acceptance criteria and notes from `texts` (a prefix rename rewrites references in
    /// them); the content hash follows the new text.
    pub fn update_issue_id_with_text(
        &self,
        old_id: &str,
        new_id: &str,
        texts: &Issue,
        actor: &str,
    ) -> Result<()> {
        self.update_issue_id(old_id, new_id, actor)?;
        let mut issue = self
            .get_issue(new_id)?
            .ok_or_else(|| Error::not_found(NotFoundKind::Issue, new_id))?;
        issue.title = texts.title.clone();
        issue.description = texts.description.clone();
        issue.design = texts.design.clone();
        issue.acceptance_criteria = texts.acceptance_criteria.clone();
        issue.notes = texts.notes.clone();
        issue.content_hash = issue.compute_content_hash();
        self.execute(
            "UPDATE issues SET title = ?, description = ?, design = ?, acceptance_criteria = ?, \
             notes = ?, content_hash = ? WHERE id = ?",
            &[
                issue.title.as_str().into(),
                issue.description.as_str().into(),
                issue.design.as_str().into(),
                issue.acceptance_criteria.as_str().into(),
                issue.notes.as_str().into(),
                issue.content_hash.as_str().into(),
                new_id.into(),
            ],
        )?;
        Ok(())
    }

    /// Rewrites dependency ends that start with `old_prefix-` to `new_prefix-`.
    pub fn rename_dependency_prefix(&self, old_prefix: &str, new_prefix: &str) -> Result<()> {
        let old = format!("{old_prefix}-");
        for column in ["issue_id", "depends_on_id"] {
            self.execute(
                &format!("UPDATE dependencies SET {column} = ? || substr({column}, ?) WHERE substr({column}, 1, ?) = ?"),
                &[
                    format!("{new_prefix}-").into(),
                    (old.chars().count() as i64 + 1).into(),
                    (old.chars().count() as i64).into(),
                    old.as_str().into(),
                ],
            )?;
        }
        self.rebuild_blocked_cache()
    }

    /// Tombstones `ids` (and, with `options.cascade`, everything that depends on them);
    /// without `cascade` or `force`, refuses when issues outside the set depend on it.
    /// Dependencies of the set are removed. [`ReadTxn::plan_delete_issues`] reports the same
    /// without deleting.
    pub fn delete_issues(&self, ids: &[String], options: &DeleteOptions) -> Result<DeleteReport> {
        let (report, existing) = self.deletion_plan(ids, options)?;
        if existing.is_empty() {
            return Ok(report);
        }
        let list: Vec<Param<'_>> = existing.iter().map(|s| s.as_str().into()).collect();
        let marks = placeholders(list.len());
        let mut both = list.clone();
        both.extend(list.iter().cloned());
        self.execute(
            &format!("DELETE FROM dependencies WHERE issue_id IN ({marks}) OR depends_on_id IN ({marks})"),
            &both,
        )?;
        for id in &existing {
            self.create_tombstone(id, &Attribution::new("batch delete").reason("batch delete"))?;
        }
        // The dependencies removed above can free their dependents; the tombstones' own
        // checks no longer see those links.
        self.rebuild_blocked_cache()?;
        Ok(report)
    }

    /// Records the hash of the JSONL file just synced.
    pub fn set_jsonl_file_hash(&self, hash: &str) -> Result<()> {
        self.set_metadata("jsonl_file_hash", hash)
    }

    /// Records that the issue was compacted to `level` (its text is replaced by the caller
    /// through `update_issue`), with a `compacted` event.
    pub fn apply_compaction(
        &self,
        issue_id: &str,
        level: i64,
        original_size: i64,
        compressed_size: i64,
        commit: &str,
    ) -> Result<()> {
        let at = chrono::Utc::now().fixed_offset();
        let changed = self.execute(
            "UPDATE issues SET compaction_level = ?, compacted_at = ?, compacted_at_commit = ?, original_size = ?, updated_at = ? WHERE id = ?",
            &[
                level.into(),
                format(&at).into(),
                (!commit.is_empty()).then_some(commit).into(),
                original_size.into(),
                format(&at).into(),
                issue_id.into(),
            ],
        )?;
        if changed == 0 {
            return Err(Error::not_found(NotFoundKind::Issue, issue_id));
        }
        let reduction = if original_size > 0 {
            (1.0 - compressed_size as f64 / original_size as f64) * 100.0
        } else {
            0.0
        };
        let comment = format!(
            "{{\"tier\":{level},\"original_size\":{original_size},\"compressed_size\":{compressed_size},\"reduction_pct\":{reduction:.1}}}"
        );
        record::event(
            self,
            issue_id,
            "compacted",
            "compactor",
            None,
            None,
            Some(&comment),
        )
    }
}

impl ReadTxn<'_> {
    /// The deletion report for `ids`, and which of the issues to delete exist.
    fn deletion_plan(
        &self,
        ids: &[String],
        options: &DeleteOptions,
    ) -> Result<(DeleteReport, Vec<String>)> {
        let mut set: BTreeSet<String> = ids.iter().cloned().collect();
        let mut report = DeleteReport::default();
        let dependents_of = |id: &str| -> Result<Vec<String>> {
            Ok(column_texts(
                self.query(
                    "SELECT DISTINCT issue_id FROM dependencies WHERE depends_on_id = ? ORDER BY issue_id",
                    &[id.into()],
                )?,
                0,
            ))
        };
        if options.cascade {
            let mut queue: VecDeque<String> = set.iter().cloned().collect();
            while let Some(id) = queue.pop_front() {
                for d in dependents_of(&id)? {
                    if set.insert(d.clone()) {
                        queue.push_back(d);
                    }
                }
            }
        } else {
            let mut outside = BTreeSet::new();
            for id in ids {
                for d in dependents_of(id)? {
                    if !set.contains(&d) {
                        outside.insert(d);
                    }
                }
            }
            if !outside.is_empty() && !options.force {
                return Err(Error::invalid(
                    "ids",
                    format!(
                        "issues outside the deletion set depend on it: {}; use cascade to delete them or force to orphan them",
                        outside.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            report.orphaned = outside.into_iter().collect();
        }
        let list: Vec<Param<'_>> = set.iter().map(|s| s.as_str().into()).collect();
        let marks = placeholders(list.len().max(1));
        let mut both = list.clone();
        both.extend(list.iter().cloned());
        let count = |sql: String, params: &[Param<'_>]| -> Result<usize> {
            Ok(first_i64(&self.query(&sql, params)?).unwrap_or(0) as usize)
        };
        report.dependencies = count(
            format!("SELECT count(*) FROM dependencies WHERE issue_id IN ({marks}) OR depends_on_id IN ({marks})"),
            &both,
        )?;
        report.labels = count(
            format!("SELECT count(*) FROM labels WHERE issue_id IN ({marks})"),
            &list,
        )?;
        report.events = count(
            format!("SELECT count(*) FROM events WHERE issue_id IN ({marks})"),
            &list,
        )?;
        let existing = column_texts(
            self.query(
                &format!("SELECT id FROM issues WHERE id IN ({marks}) ORDER BY id"),
                &list,
            )?,
            0,
        );
        report.deleted = existing.len();
        Ok((report, existing))
    }

    fn candidates(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<CompactionCandidate>> {
        Ok(self
            .query(sql, params)?
            .iter()
            .map(|r| CompactionCandidate {
                issue_id: r[0].as_str().unwrap_or_default().to_owned(),
                closed_at: r[1].as_str().and_then(parse_stored),
                original_size: r[2].as_i64().unwrap_or(0),
                dependent_count: r[3].as_i64().unwrap_or(0),
            })
            .collect())
    }

    fn config_number(&self, key: &str, default: i64) -> Result<i64> {
        Ok(self
            .get_config(key)?
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default))
    }
}

impl Store {
    /// Go's `ResetCounter`: a no-op kept for API parity, as hash ids have no counter to reset.
    pub fn reset_counter(&self, _prefix: &str) -> Result<()> {
        Ok(())
    }

    /// Kept for API parity with Go, where it is a no-op too: hash ids have no per-prefix
    /// counter (child counters are keyed by parent and move with `update_issue_id`).
    pub fn rename_counter_prefix(&self, _old_prefix: &str, _new_prefix: &str) -> Result<()> {
        Ok(())
    }
}
