//! Ready work and blocking: the `blocked_issues_cache` and the queries that read it.
//!
//! An issue is blocked when a `blocks` target is still active, a `conditional-blocks` target is
//! active or closed without failing, or a `waits-for` gate is not yet satisfied by the
//! spawner's children; and every descendant (through `parent-child`, up to 50 levels) of a
//! blocked issue is blocked too. The cache holds exactly that set and is rebuilt in the same
//! transaction as every change that can alter it.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::model::{Issue, Status};
use crate::store::{ReadTxn, WriteTxn};
use crate::value::{column_texts, first_i64, text_pairs, Param, Value};
use beadstore_macros::{store_ops, Setters};

use super::external::EXTERNAL_PREFIX;
use super::order::{IssueOrder, RowFilter, SortKey};
use super::record::placeholders;

/// Statuses in which a `blocks` target blocks its dependents.
const ACTIVE: &str = "'open', 'in_progress', 'blocked', 'deferred', 'hooked'";

/// The set of blocked issue ids, as one recursive query.
const BLOCKED_SET: &str = "
WITH RECURSIVE
  gates(issue_id, gate, spawner) AS (
    SELECT d.issue_id,
           coalesce(CASE WHEN json_valid(d.metadata) THEN json_extract(d.metadata, '$.gate') END, 'all-children'),
           coalesce(CASE WHEN json_valid(d.metadata) THEN json_extract(d.metadata, '$.spawner_id') END, d.depends_on_id)
    FROM dependencies d WHERE d.type = 'waits-for'
  ),
  direct(issue_id) AS (
    SELECT d.issue_id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
     WHERE d.type = 'blocks' AND b.status IN (ACTIVE)
    UNION
    SELECT d.issue_id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
     WHERE d.type = 'conditional-blocks'
       AND (b.status IN ('open', 'in_progress', 'blocked', 'deferred')
            OR (b.status = 'closed' AND NOT (FAILED)))
    UNION
    SELECT g.issue_id FROM gates g
     WHERE (g.gate = 'all-children' AND EXISTS (
              SELECT 1 FROM dependencies c JOIN issues ci ON ci.id = c.issue_id
               WHERE c.type = 'parent-child' AND c.depends_on_id = g.spawner
                 AND ci.status NOT IN ('closed', 'tombstone')))
        OR (g.gate = 'any-children' AND NOT EXISTS (
              SELECT 1 FROM dependencies c JOIN issues ci ON ci.id = c.issue_id
               WHERE c.type = 'parent-child' AND c.depends_on_id = g.spawner
                 AND ci.status IN ('closed', 'tombstone')))
  ),
  blocked(issue_id, depth) AS (
    SELECT issue_id, 0 FROM direct
    UNION
    SELECT c.issue_id, b.depth + 1 FROM blocked b
      JOIN dependencies c ON c.type = 'parent-child' AND c.depends_on_id = b.issue_id
     WHERE b.depth < 50
  )
SELECT DISTINCT issue_id FROM blocked";

/// Words in a close reason that mean the blocker failed (a `conditional-blocks` dependent runs
/// only then).
pub const FAILURE_CLOSE_KEYWORDS: &[&str] = &[
    "failed",
    "rejected",
    "wontfix",
    "won't fix",
    "canceled",
    "cancelled",
    "abandoned",
    "blocked",
    "error",
    "timeout",
    "aborted",
];

fn blocked_set_sql() -> String {
    let failed = FAILURE_CLOSE_KEYWORDS
        .iter()
        .map(|k| {
            format!(
                "instr(lower(coalesce(b.close_reason, '')), '{}') > 0",
                k.replace('\'', "''")
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    BLOCKED_SET
        .replace("ACTIVE", ACTIVE)
        .replace("FAILED", &failed)
}

/// How ready work is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortPolicy {
    /// Issues from the last 48 hours first by priority, then older ones oldest first.
    #[default]
    Hybrid,
    /// Priority, then oldest.
    Priority,
    /// Oldest first.
    Oldest,
}

/// What `get_ready_work` returns.
#[derive(Debug, Clone, Default, Setters)]
#[non_exhaustive]
pub struct WorkFilter {
    /// Exactly this status (default: open or in progress).
    pub status: Option<Status>,
    /// Exactly this type (default: all but the molecule/agent machinery types).
    pub issue_type: Option<String>,
    /// Exactly this priority.
    pub priority: Option<i64>,
    /// Exactly this assignee.
    pub assignee: Option<String>,
    /// Only unassigned issues (wins over `assignee`).
    pub unassigned: bool,
    /// Every one of these labels.
    pub labels: Vec<String>,
    /// At least one of these labels.
    pub labels_any: Vec<String>,
    /// At most this many (0 = all).
    pub limit: usize,
    /// Ordering.
    pub sort: SortPolicy,
    /// Only descendants of this issue (through `parent-child`).
    pub parent_id: Option<String>,
    /// Exactly this molecule type.
    pub mol_type: Option<String>,
    /// Include issues deferred to a future time.
    pub include_deferred: bool,
    /// Include molecule steps (ids matching `ready.exclude_id_patterns`).
    pub include_mol_steps: bool,
}

/// A blocked issue and what blocks it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct BlockedIssue {
    /// The issue.
    #[serde(flatten)]
    pub issue: Issue,
    /// Ids of the active issues (or `external:` refs) it waits on.
    pub blocked_by: Vec<String>,
}

/// Ready work by priority, then oldest first.
const BY_PRIORITY: &[SortKey] = &[SortKey::asc("i.priority"), SortKey::asc("i.created_at")];

/// Ready work oldest first.
const OLDEST_FIRST: &[SortKey] = &[SortKey::asc("i.created_at")];

/// Recent issues (by priority) before older ones: Go's two keys (recent first, then the
/// priority of recent ones) in one, since the priority column's CHECK keeps it within 0-4 and
/// 5 puts every older issue after every recent one. A text timestamp whose date is over two
/// days before the cutoff's is old whatever its UTC offset, so `datetime()` runs only for the
/// last few days' rows. Binds the date two days before the cutoff, then the cutoff.
const HYBRID: &[SortKey] = &[
    SortKey::asc(
        "CASE WHEN typeof(i.created_at) = 'text' AND i.created_at < ? THEN 5 \
         WHEN datetime(i.created_at) >= ? THEN i.priority ELSE 5 END",
    ),
    SortKey::asc("i.created_at"),
];

const DESCENDANTS: &str = "i.id IN (WITH RECURSIVE tree(id) AS (SELECT issue_id FROM dependencies WHERE type = 'parent-child' AND depends_on_id = ? UNION SELECT d.issue_id FROM dependencies d JOIN tree t ON d.depends_on_id = t.id WHERE d.type = 'parent-child') SELECT id FROM tree)";

#[store_ops(read)]
impl ReadTxn<'_> {
    /// The blocked set computed from the dependencies now (what the cache must equal).
    pub fn compute_blocked_ids(&self) -> Result<Vec<String>> {
        let mut ids = column_texts(self.query(&blocked_set_sql(), &[])?, 0);
        ids.sort();
        Ok(ids)
    }

    /// The ids in `blocked_issues_cache`, sorted.
    pub fn get_blocked_issue_ids(&self) -> Result<Vec<String>> {
        Ok(column_texts(
            self.query(
                "SELECT issue_id FROM blocked_issues_cache ORDER BY issue_id",
                &[],
            )?,
            0,
        ))
    }

    /// Issues that can be worked on now: open or in progress, not blocked, not pinned, not
    /// wisps, not deferred to the future, narrowed by `filter`.
    pub fn get_ready_work(&self, filter: &WorkFilter) -> Result<Vec<Issue>> {
        let (conditions, params) = self.ready_conditions(filter)?;
        let order = match filter.sort {
            SortPolicy::Priority => IssueOrder::of(BY_PRIORITY),
            SortPolicy::Oldest => IssueOrder::of(OLDEST_FIRST),
            SortPolicy::Hybrid => {
                // The "recent" cutoff (48 hours ago, in `datetime()`'s form) and the date two
                // days before it, computed once instead of by the engine for every row.
                let at = chrono::Utc::now() - chrono::Duration::hours(48);
                let old = (at - chrono::Duration::days(2))
                    .format("%Y-%m-%d")
                    .to_string();
                IssueOrder {
                    keys: HYBRID,
                    params: vec![
                        old.into(),
                        at.format("%Y-%m-%d %H:%M:%S").to_string().into(),
                    ],
                }
            }
        };
        let check_external = self.external_projects_configured()?;
        let limit = if check_external { 0 } else { filter.limit };
        // With a limit the blocked are left out in Rust, not by a NOT EXISTS per row in the
        // engine: one read of the cache costs less than thousands of index lookups.
        let keep = RowFilter {
            not_blocked: true,
            ..RowFilter::default()
        };
        let mut issues = self.issues_in_order(&conditions, &params, &order, limit, &keep)?;
        if check_external {
            issues = self.without_unshipped_external_blockers(issues)?;
            if filter.limit > 0 {
                issues.truncate(filter.limit);
            }
        }
        Ok(issues)
    }

    /// Active issues that are blocked (by status, by an active `blocks` target or by an
    /// `external:` one), with their blockers, by priority. Only `filter.parent_id` applies.
    pub fn get_blocked_issues(&self, filter: &WorkFilter) -> Result<Vec<BlockedIssue>> {
        // Every `blocks` link whose target is active or external, read from the links' side
        // (a join and an index range). Testing each active issue with a correlated EXISTS made
        // the engine reopen its cursors thousands of times on a large database.
        let mut blockers: HashMap<String, Vec<String>> = HashMap::new();
        let active_targets = self.query(
            &format!(
                "SELECT d.issue_id, d.depends_on_id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
                  WHERE d.type = 'blocks' AND b.status IN ({ACTIVE}) AND d.depends_on_id NOT LIKE 'external:%'"
            ),
            &[],
        )?;
        let external_targets = self.query(
            "SELECT issue_id, depends_on_id FROM dependencies WHERE type = 'blocks' AND depends_on_id LIKE 'external:%'",
            &[],
        )?;
        for (issue, target) in text_pairs(active_targets).chain(text_pairs(external_targets)) {
            blockers.entry(issue).or_default().push(target);
        }
        // The active, unpinned issues in scope that are blocked by status or by a link, by
        // priority then id (SQLite's order for an integer and a binary-collated text).
        let mut params: Vec<Param<'_>> = Vec::new();
        let mut scope = String::new();
        if let Some(parent) = &filter.parent_id {
            scope = format!(" AND {DESCENDANTS}");
            params.push(parent.as_str().into());
        }
        let mut chosen: Vec<(i64, String)> = self
            .query(
                &format!(
                    "SELECT i.id, i.status, i.priority FROM issues i
                      WHERE i.status IN ({ACTIVE}) AND (i.pinned = 0 OR i.pinned IS NULL){scope}"
                ),
                &params,
            )?
            .into_iter()
            .filter_map(|row| {
                let mut columns = row.into_iter();
                let (Some(Value::Text(id)), Some(status), Some(priority)) =
                    (columns.next(), columns.next(), columns.next())
                else {
                    return None;
                };
                let by_status = matches!(status.as_str(), Some("blocked" | "deferred"));
                (by_status || blockers.contains_key(&id))
                    .then(|| (priority.as_i64().unwrap_or(0), id))
            })
            .collect();
        chosen.sort();
        let ids: Vec<String> = chosen.into_iter().map(|(_, id)| id).collect();
        let mut out = Vec::with_capacity(ids.len());
        for issue in self.issues_by_ids_in_order(&ids)? {
            let mut blocked_by = blockers.remove(&issue.id).unwrap_or_default();
            blocked_by.sort();
            out.push(BlockedIssue { issue, blocked_by });
        }
        if self.external_projects_configured()? {
            let references: Vec<String> = out
                .iter()
                .flat_map(|b| b.blocked_by.iter())
                .filter(|r| r.starts_with(EXTERNAL_PREFIX))
                .cloned()
                .collect();
            let statuses = self.check_external_deps(&references)?;
            for blocked in &mut out {
                blocked
                    .blocked_by
                    .retain(|r| statuses.get(r).is_none_or(|s| !s.satisfied));
            }
            out.retain(|b| {
                !b.blocked_by.is_empty()
                    || matches!(b.issue.status, Status::Blocked | Status::Deferred)
            });
        }
        Ok(out)
    }

    /// Whether the issue is blocked (in the cache), and the active `blocks` targets that block
    /// it directly (empty when it is blocked only through its parent or a gate) (GH#962).
    pub fn is_blocked(&self, issue_id: &str) -> Result<(bool, Vec<String>)> {
        let cached = self.query(
            "SELECT 1 FROM blocked_issues_cache WHERE issue_id = ?",
            &[issue_id.into()],
        )?;
        if cached.is_empty() {
            return Ok((false, Vec::new()));
        }
        let blockers = column_texts(
            self.query(
                &format!("SELECT b.id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id WHERE d.issue_id = ? AND d.type = 'blocks' AND b.status IN ({ACTIVE}) ORDER BY b.priority ASC, b.id ASC"),
                &[issue_id.into()],
            )?,
            0,
        );
        Ok((true, blockers))
    }

    /// Open or in-progress issues that a `blocks` dependency on `closed_id` held back and that
    /// are no longer blocked (GH#679); call after closing it.
    pub fn get_newly_unblocked_by_close(&self, closed_id: &str) -> Result<Vec<Issue>> {
        // Driven from the closed issue's dependents (an index seek), not by a scan of every
        // open issue testing each for the dependency; ids first, so the common answer (none)
        // does not compile a whole-issue read.
        let ids = column_texts(
            self.query(
                "SELECT i.id FROM issues i
                  WHERE i.id IN (SELECT d.issue_id FROM dependencies d WHERE d.depends_on_id = ? AND d.type = 'blocks')
                    AND i.status IN ('open', 'in_progress') AND (i.pinned = 0 OR i.pinned IS NULL)
                    AND NOT EXISTS (SELECT 1 FROM blocked_issues_cache c WHERE c.issue_id = i.id)
                  ORDER BY i.priority ASC, i.id ASC",
                &[closed_id.into()],
            )?,
            0,
        );
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.issues_by_ids_in_order(&ids)
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Recomputes `blocked_issues_cache` from the dependencies as they are now.
    pub fn rebuild_blocked_cache(&self) -> Result<()> {
        self.execute("DELETE FROM blocked_issues_cache", &[])?;
        self.execute(
            &format!(
                "INSERT INTO blocked_issues_cache (issue_id) {}",
                blocked_set_sql()
            ),
            &[],
        )?;
        Ok(())
    }

    /// Brings `blocked_issues_cache` up to date after the status or close reason of `ids`
    /// changed: rebuilt when one of them can block another issue, left as it is otherwise.
    /// Go rebuilds on every such change; the set it would compute is the same whenever none
    /// of `ids` is a `blocks` or `conditional-blocks` target or a child a `waits-for` gate
    /// watches, because an issue's own status never decides whether it is blocked. That
    /// spares the whole-database recursive query (most of an `update` or `close`) in the
    /// common case of work nothing waits on.
    pub(crate) fn refresh_blocked_cache_for_status_change(&self, ids: &[&str]) -> Result<()> {
        for id in ids {
            if self.status_can_block_others(id)? {
                return self.rebuild_blocked_cache();
            }
        }
        Ok(())
    }
}

impl ReadTxn<'_> {
    /// Whether the status of `id` is an input of the blocked set: it is the target of a
    /// `blocks` or `conditional-blocks` dependency, or a `parent-child` child while some
    /// `waits-for` gate exists (a gate's spawner may come from its metadata, so any parent
    /// could be one).
    fn status_can_block_others(&self, id: &str) -> Result<bool> {
        let rows = self.query(
            "SELECT EXISTS (SELECT 1 FROM dependencies WHERE depends_on_id = ?1 AND type IN ('blocks', 'conditional-blocks'))
                 OR (EXISTS (SELECT 1 FROM dependencies WHERE issue_id = ?1 AND type = 'parent-child')
                     AND EXISTS (SELECT 1 FROM dependencies WHERE type = 'waits-for'))",
            &[id.into()],
        )?;
        Ok(first_i64(&rows) != Some(0))
    }

    /// How many issues `get_ready_work` would return with no limit: the ids the engine
    /// selects, less `blocked` (the blocked cache's ids, read by the caller). Whole rows are
    /// only read when external blockers must be checked one by one.
    pub(crate) fn count_ready_work(
        &self,
        filter: &WorkFilter,
        blocked: &HashSet<String>,
    ) -> Result<i64> {
        if self.external_projects_configured()? {
            let unlimited = WorkFilter {
                limit: 0,
                ..filter.clone()
            };
            return Ok(self.get_ready_work(&unlimited)?.len() as i64);
        }
        // As in `get_ready_work`, the blocked are left out here rather than by the engine.
        let (conditions, params) = self.ready_conditions(filter)?;
        let ids = column_texts(
            self.query(
                &format!("SELECT i.id FROM issues i WHERE {conditions}"),
                &params,
            )?,
            0,
        );
        Ok(ids.iter().filter(|id| !blocked.contains(*id)).count() as i64)
    }

    /// The ids in the blocked cache.
    pub(crate) fn blocked_ids(&self) -> Result<HashSet<String>> {
        let rows = self.query("SELECT issue_id FROM blocked_issues_cache", &[])?;
        Ok(column_texts(rows, 0).into_iter().collect())
    }

    /// The WHERE clause (over `issues i`) and its parameters that make an issue ready work,
    /// but for not being blocked (the blocked cache), which callers test themselves.
    fn ready_conditions<'f>(&self, filter: &'f WorkFilter) -> Result<(String, Vec<Param<'f>>)> {
        let mut clauses: Vec<String> = vec![
            "(i.pinned = 0 OR i.pinned IS NULL)".into(),
            "(i.ephemeral = 0 OR i.ephemeral IS NULL)".into(),
        ];
        let mut params: Vec<Param<'_>> = Vec::new();
        match &filter.status {
            Some(s) => {
                clauses.push("i.status = ?".into());
                params.push(s.as_str().into());
            }
            None => clauses.push("i.status IN ('open', 'in_progress')".into()),
        }
        match &filter.issue_type {
            Some(t) => {
                clauses.push("i.issue_type = ?".into());
                params.push(t.as_str().into());
            }
            None => {
                clauses.push("i.issue_type NOT IN ('merge-request', 'gate', 'molecule', 'message', 'agent', 'role', 'rig')".into());
                if !filter.include_mol_steps {
                    for pattern in self.exclude_id_patterns()? {
                        clauses.push("i.id NOT LIKE ?".into());
                        params.push(format!("%{pattern}%").into());
                    }
                }
            }
        }
        if let Some(p) = filter.priority {
            clauses.push("i.priority = ?".into());
            params.push(p.into());
        }
        if filter.unassigned {
            clauses.push("(i.assignee IS NULL OR i.assignee = '')".into());
        } else if let Some(a) = &filter.assignee {
            clauses.push("i.assignee = ?".into());
            params.push(a.as_str().into());
        }
        for label in &filter.labels {
            clauses.push(
                "EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id AND l.label = ?)".into(),
            );
            params.push(label.as_str().into());
        }
        if !filter.labels_any.is_empty() {
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id AND l.label IN ({}))",
                placeholders(filter.labels_any.len())
            ));
            params.extend(filter.labels_any.iter().map(|l| l.as_str().into()));
        }
        if let Some(parent) = &filter.parent_id {
            clauses.push(DESCENDANTS.into());
            params.push(parent.as_str().into());
        }
        if let Some(m) = &filter.mol_type {
            clauses.push("i.mol_type = ?".into());
            params.push(m.as_str().into());
        }
        if !filter.include_deferred {
            clauses.push(
                "(i.defer_until IS NULL OR datetime(i.defer_until) <= datetime('now'))".into(),
            );
        }
        Ok((clauses.join(" AND "), params))
    }

    /// Drops the issues that an unshipped `external:` capability blocks.
    fn without_unshipped_external_blockers(&self, issues: Vec<Issue>) -> Result<Vec<Issue>> {
        let ids: Vec<String> = issues.iter().map(|i| i.id.clone()).collect();
        let blockers = self.external_blockers(&ids)?;
        let references: Vec<String> = blockers.values().flatten().cloned().collect();
        let statuses = self.check_external_deps(&references)?;
        let shipped = |r: &String| statuses.get(r).is_some_and(|s| s.satisfied);
        Ok(issues
            .into_iter()
            .filter(|i| {
                blockers
                    .get(&i.id)
                    .is_none_or(|refs| refs.iter().all(shipped))
            })
            .collect())
    }

    /// Id patterns left out of ready work (`ready.exclude_id_patterns`, default molecule and
    /// wisp steps).
    fn exclude_id_patterns(&self) -> Result<Vec<String>> {
        let configured = crate::model::kinds::parse_custom_list(
            &self
                .get_config("ready.exclude_id_patterns")?
                .unwrap_or_default(),
        );
        Ok(if configured.is_empty() {
            vec!["-mol-".into(), "-wisp-".into()]
        } else {
            configured
        })
    }
}
