//! Views over the dependency graph: counts, trees, cycles, epics ready to close, stale work,
//! statistics and molecule progress.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::error::{Error, NotFoundKind, Result};
use crate::model::time_serde::parse_stored;
use crate::model::{Issue, Status, Timestamp};
use crate::store::ReadTxn;
use crate::value::{column_texts, first_i64, text_pairs, Param, Value};
use beadstore_macros::{store_ops, Setters};

use super::columns::{issue_from_row, select_list};
use super::ready::WorkFilter;
use super::record::placeholders;

/// How many dependencies an issue has, and how many issues depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DependencyCounts {
    /// Rows where the issue is the dependent.
    pub dependencies: i64,
    /// Rows where the issue is the target.
    pub dependents: i64,
}

/// One node of a dependency tree.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct TreeNode {
    /// The issue at this node.
    #[serde(flatten)]
    pub issue: Issue,
    /// Distance from the root.
    pub depth: usize,
    /// The node it was reached from (the root's is itself).
    pub parent_id: String,
    /// At the depth limit: its own dependencies were not followed.
    pub truncated: bool,
}

/// An open epic and how far its children are.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct EpicStatus {
    /// The epic.
    pub epic: Issue,
    /// Its direct children.
    pub total_children: i64,
    /// Those closed.
    pub closed_children: i64,
    /// Every child closed (and at least one).
    pub eligible_for_close: bool,
}

/// Which issues `get_stale_issues` returns.
#[derive(Debug, Clone, Default, Setters)]
#[non_exhaustive]
pub struct StaleFilter {
    /// Not updated for more than this many days.
    pub days: u32,
    /// Only this status (default: every status but closed).
    pub status: Option<Status>,
    /// At most this many (0 = all).
    pub limit: usize,
}

/// Counts over the whole database.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Statistics {
    /// Every issue but tombstones.
    pub total_issues: i64,
    /// Status open.
    pub open_issues: i64,
    /// Status in_progress.
    pub in_progress_issues: i64,
    /// Status closed.
    pub closed_issues: i64,
    /// Issues in the blocked cache that are not closed or tombstoned.
    pub blocked_issues: i64,
    /// Status deferred.
    pub deferred_issues: i64,
    /// What `get_ready_work` returns with no filter.
    pub ready_issues: i64,
    /// Tombstones.
    pub tombstone_issues: i64,
    /// Pinned flag set.
    pub pinned_issues: i64,
    /// Open epics whose children are all closed.
    pub epics_eligible_for_closure: i64,
    /// Mean hours from creation to close over closed issues.
    pub average_lead_time_hours: f64,
}

/// What `get_statistics` counts from every issue's status and type.
struct Census {
    /// Issues by status (NULL statuses not counted, as SQL's comparisons leave them out).
    by_status: HashMap<String, i64>,
    /// Blocked issues that are not closed or tombstoned.
    blocked: i64,
    /// Open epics with children, all of them closed.
    closable_epics: i64,
}

/// How far a molecule (an issue with step children) has come.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MoleculeProgress {
    /// The molecule.
    pub molecule_id: String,
    /// Its title.
    pub molecule_title: String,
    /// Direct children.
    pub total: i64,
    /// Closed children.
    pub completed: i64,
    /// Children in progress.
    pub in_progress: i64,
    /// The earliest-created child in progress, if any.
    pub current_step_id: String,
    /// First and last close among the children.
    pub first_closed: Option<Timestamp>,
    /// Last close among the children.
    pub last_closed: Option<Timestamp>,
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// Dependency and dependent counts for each id (ids without rows get zeros).
    pub fn get_dependency_counts(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, DependencyCounts>> {
        let mut out: HashMap<String, DependencyCounts> = ids
            .iter()
            .map(|i| (i.clone(), DependencyCounts::default()))
            .collect();
        for chunk in ids.chunks(400) {
            let params: Vec<Param<'_>> = chunk.iter().map(|i| i.as_str().into()).collect();
            let list = placeholders(chunk.len());
            for (column, dependents) in [("issue_id", false), ("depends_on_id", true)] {
                let sql = format!("SELECT {column}, count(*) FROM dependencies WHERE {column} IN ({list}) GROUP BY {column}");
                for row in self.query(&sql, &params)? {
                    let (Some(id), Some(n)) = (row[0].as_str(), row[1].as_i64()) else {
                        continue;
                    };
                    if let Some(c) = out.get_mut(id) {
                        if dependents {
                            c.dependents = n;
                        } else {
                            c.dependencies = n;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The tree of what `root` depends on (or, `reverse`, what depends on it), every type
    /// followed, at most `max_depth` deep (0 = 50), shallowest first; each issue once unless
    /// `all_paths`. A path never revisits an issue.
    pub fn get_dependency_tree(
        &self,
        root: &str,
        max_depth: usize,
        all_paths: bool,
        reverse: bool,
    ) -> Result<Vec<TreeNode>> {
        let max_depth = if max_depth == 0 { 50 } else { max_depth };
        let Some(root_issue) = self.get_issue(root)? else {
            return Ok(Vec::new());
        };
        let (from, to) = if reverse {
            ("depends_on_id", "issue_id")
        } else {
            ("issue_id", "depends_on_id")
        };
        let edges_sql = format!(
            "SELECT d.{to} FROM dependencies d JOIN issues i ON i.id = d.{to} WHERE d.{from} = ? ORDER BY i.priority, i.id"
        );
        let mut nodes = vec![TreeNode {
            issue: root_issue,
            depth: 0,
            parent_id: root.to_owned(),
            truncated: max_depth == 0,
        }];
        let mut seen: BTreeSet<String> = BTreeSet::from([root.to_owned()]);
        // Breadth first: (node id, path from the root).
        let mut frontier: Vec<(String, Vec<String>)> =
            vec![(root.to_owned(), vec![root.to_owned()])];
        for depth in 1..=max_depth {
            let mut next = Vec::new();
            for (id, path) in &frontier {
                for child in column_texts(self.query(&edges_sql, &[id.as_str().into()])?, 0) {
                    if path.contains(&child) || (!all_paths && seen.contains(&child)) {
                        continue;
                    }
                    let Some(issue) = self.get_issue(&child)? else {
                        continue;
                    };
                    seen.insert(child.clone());
                    nodes.push(TreeNode {
                        issue,
                        depth,
                        parent_id: id.clone(),
                        truncated: depth == max_depth,
                    });
                    let mut p = path.clone();
                    p.push(child.clone());
                    next.push((child, p));
                }
            }
            frontier = next;
        }
        if !reverse {
            self.append_external_leaves(&mut nodes, max_depth, all_paths)?;
        }
        Ok(nodes)
    }

    /// Cycles in the dependency graph (all types but `relates-to`), each rotated to start at
    /// its smallest id, sorted; ids that are not issues are left out.
    pub fn detect_cycles(&self) -> Result<Vec<Vec<Issue>>> {
        let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (a, b) in text_pairs(self.query(
            "SELECT issue_id, depends_on_id FROM dependencies WHERE type != 'relates-to' ORDER BY issue_id, depends_on_id",
            &[],
        )?) {
            graph.entry(a).or_default().push(b);
        }
        let mut cycles: BTreeSet<Vec<String>> = BTreeSet::new();
        let mut done: BTreeSet<String> = BTreeSet::new();
        for start in graph.keys() {
            if done.contains(start) {
                continue;
            }
            // Iterative DFS keeping the current path.
            let mut stack: Vec<(String, usize)> = vec![(start.clone(), 0)];
            let mut on_path: Vec<String> = vec![start.clone()];
            while let Some((node, index)) = stack.pop() {
                let children = graph.get(&node).cloned().unwrap_or_default();
                if index < children.len() {
                    stack.push((node.clone(), index + 1));
                    let child = &children[index];
                    if let Some(pos) = on_path.iter().position(|n| n == child) {
                        let mut cycle = on_path[pos..].to_vec();
                        let smallest = cycle
                            .iter()
                            .enumerate()
                            .min_by(|a, b| a.1.cmp(b.1))
                            .map_or(0, |(i, _)| i);
                        cycle.rotate_left(smallest);
                        cycles.insert(cycle);
                    } else if !done.contains(child) {
                        on_path.push(child.clone());
                        stack.push((child.clone(), 0));
                    }
                } else {
                    done.insert(node.clone());
                    on_path.pop();
                }
            }
        }
        let mut out = Vec::new();
        for cycle in cycles {
            let mut issues = Vec::new();
            for id in cycle {
                if let Some(issue) = self.get_issue(&id)? {
                    issues.push(issue);
                }
            }
            if !issues.is_empty() {
                out.push(issues);
            }
        }
        Ok(out)
    }

    /// Every epic not closed, with its children's progress, by priority then age.
    pub fn get_epics_eligible_for_closure(&self) -> Result<Vec<EpicStatus>> {
        let sql = format!(
            "SELECT {}, (SELECT count(*) FROM dependencies d JOIN issues c ON c.id = d.issue_id WHERE d.type = 'parent-child' AND d.depends_on_id = e.id),
                    (SELECT count(*) FROM dependencies d JOIN issues c ON c.id = d.issue_id WHERE d.type = 'parent-child' AND d.depends_on_id = e.id AND c.status = 'closed')
             FROM issues e WHERE e.issue_type = 'epic' AND e.status != 'closed' ORDER BY e.priority, e.created_at, e.id",
            select_list("e")
        );
        let mut out = Vec::new();
        for row in self.query(&sql, &[])? {
            let epic = issue_from_row(&row)?;
            let n = row.len();
            let total = row[n - 2].as_i64().unwrap_or(0);
            let closed = row[n - 1].as_i64().unwrap_or(0);
            out.push(EpicStatus {
                epic,
                total_children: total,
                closed_children: closed,
                eligible_for_close: total > 0 && closed == total,
            });
        }
        Ok(out)
    }

    /// Issues not closed and not updated for more than `filter.days` days, least recent first.
    pub fn get_stale_issues(&self, filter: &StaleFilter) -> Result<Vec<Issue>> {
        let mut sql = format!(
            "SELECT {} FROM issues i WHERE i.status != 'closed' AND datetime(i.updated_at) < datetime('now', ?)",
            select_list("i")
        );
        let mut params: Vec<Param<'_>> = vec![format!("-{} days", filter.days).into()];
        if let Some(s) = &filter.status {
            sql.push_str(" AND i.status = ?");
            params.push(s.as_str().into());
        }
        sql.push_str(" ORDER BY i.updated_at ASC, i.id ASC");
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        self.issues_with_labels(&sql, &params)
    }

    /// Counts over the database (blocked and ready as the blocked cache and ready work see them).
    pub fn get_statistics(&self) -> Result<Statistics> {
        let blocked = self.blocked_ids()?;
        let census = self.census(&blocked)?;
        let pinned = self.query("SELECT count(*) FROM issues WHERE pinned = 1", &[])?;
        let lead_time = self.query(
            "SELECT avg((julianday(closed_at) - julianday(created_at)) * 24)
               FROM issues WHERE closed_at IS NOT NULL",
            &[],
        )?;
        let status = |name: &str| census.by_status.get(name).copied().unwrap_or(0);
        Ok(Statistics {
            total_issues: census.by_status.values().sum::<i64>() - status("tombstone"),
            open_issues: status("open"),
            in_progress_issues: status("in_progress"),
            closed_issues: status("closed"),
            blocked_issues: census.blocked,
            deferred_issues: status("deferred"),
            ready_issues: self.count_ready_work(&WorkFilter::default(), &blocked)?,
            tombstone_issues: status("tombstone"),
            pinned_issues: first_i64(&pinned).unwrap_or(0),
            epics_eligible_for_closure: census.closable_epics,
            average_lead_time_hours: lead_time
                .first()
                .and_then(|r| r.value(0))
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
        })
    }

    /// The counts of `get_statistics` that need every issue's status and type, or joins.
    ///
    /// Taken here from three plain reads (every issue's id, status and type; the blocked
    /// cache; the parent links) rather than by the engine's aggregates and joins, which cost
    /// it thousands of instructions a row: over 250 million of a 10,000-issue `stats`
    /// (docs/performance.md, "Fourth pass").
    /// `blocked` is the blocked cache's ids.
    fn census(&self, blocked: &HashSet<String>) -> Result<Census> {
        let mut by_status: HashMap<String, i64> = HashMap::new();
        // Issue id -> (status, type); NULLs kept as None so they match nothing, as in SQL.
        let mut issues: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
        for row in self.query("SELECT id, status, issue_type FROM issues", &[])? {
            let mut columns = row.into_iter().map(|v| match v {
                Value::Text(s) => Some(s),
                _ => None,
            });
            let (id, status, kind) = (
                columns.next().flatten(),
                columns.next().flatten(),
                columns.next().flatten(),
            );
            if let Some(status) = &status {
                *by_status.entry(status.clone()).or_default() += 1;
            }
            if let Some(id) = id {
                issues.insert(id, (status, kind));
            }
        }
        let status = |id: &str| issues.get(id).and_then(|(s, _)| s.as_deref());

        // Blocked issues that are not closed or tombstoned.
        let blocked = blocked
            .iter()
            .filter(|id| status(id).is_some_and(|s| s != "closed" && s != "tombstone"))
            .count();

        // Epic id -> (children, closed children), counting only children that exist.
        let mut children: HashMap<String, (u64, u64)> = HashMap::new();
        let links = self.query(
            "SELECT issue_id, depends_on_id FROM dependencies WHERE type = 'parent-child'",
            &[],
        )?;
        for (child, epic) in text_pairs(links) {
            if let Some((child_status, _)) = issues.get(&child) {
                let counts = children.entry(epic).or_default();
                counts.0 += 1;
                counts.1 += u64::from(child_status.as_deref() == Some("closed"));
            }
        }
        // Open epics whose children are all closed.
        let closable_epics = children
            .iter()
            .filter(|(epic, (total, closed))| {
                *total > 0
                    && closed == total
                    && issues.get(*epic).is_some_and(|(status, kind)| {
                        kind.as_deref() == Some("epic")
                            && status.as_deref().is_some_and(|s| s != "closed")
                    })
            })
            .count();
        Ok(Census {
            by_status,
            blocked: blocked as i64,
            closable_epics: closable_epics as i64,
        })
    }

    /// Progress of a molecule's direct children.
    pub fn get_molecule_progress(&self, molecule_id: &str) -> Result<MoleculeProgress> {
        let molecule = self
            .get_issue(molecule_id)?
            .ok_or_else(|| Error::not_found(NotFoundKind::Molecule, molecule_id))?;
        let rows = self.query(
            "SELECT c.id, c.status, c.closed_at FROM dependencies d JOIN issues c ON c.id = d.issue_id WHERE d.type = 'parent-child' AND d.depends_on_id = ? ORDER BY c.created_at, c.id",
            &[molecule_id.into()],
        )?;
        let mut progress = MoleculeProgress {
            molecule_id: molecule_id.to_owned(),
            molecule_title: molecule.title,
            total: rows.len() as i64,
            completed: 0,
            in_progress: 0,
            current_step_id: String::new(),
            first_closed: None,
            last_closed: None,
        };
        for row in &rows {
            match row[1].as_str() {
                Some("closed") => {
                    progress.completed += 1;
                    if let Some(t) = row[2].as_str().and_then(parse_stored) {
                        progress.first_closed = Some(progress.first_closed.map_or(t, |f| f.min(t)));
                        progress.last_closed = Some(progress.last_closed.map_or(t, |l| l.max(t)));
                    }
                }
                Some("in_progress") => {
                    progress.in_progress += 1;
                    if progress.current_step_id.is_empty() {
                        progress.current_step_id = row[0].as_str().unwrap_or_default().to_owned();
                    }
                }
                _ => {}
            }
        }
        Ok(progress)
    }
}

impl ReadTxn<'_> {
    /// Adds the `external:` capabilities the tree's issues are blocked by as leaves: closed
    /// with a check mark when the other project shipped it, blocked with an hourglass when not.
    /// They follow the issue nodes, in tree order.
    fn append_external_leaves(
        &self,
        nodes: &mut Vec<TreeNode>,
        max_depth: usize,
        all_paths: bool,
    ) -> Result<()> {
        let ids: Vec<String> = nodes.iter().map(|n| n.issue.id.clone()).collect();
        let blockers = self.external_blockers(&ids)?;
        if blockers.is_empty() {
            return Ok(());
        }
        let references: Vec<String> = blockers.values().flatten().cloned().collect();
        let statuses = self.check_external_deps(&references)?;
        let mut added: BTreeSet<String> = BTreeSet::new();
        let mut leaves = Vec::new();
        for node in nodes.iter().filter(|n| n.depth < max_depth) {
            for reference in blockers.get(&node.issue.id).into_iter().flatten() {
                if !all_paths && !added.insert(reference.clone()) {
                    continue;
                }
                let shipped = statuses.get(reference).is_some_and(|s| s.satisfied);
                let capability = super::external::capability_of(reference);
                let mut issue = Issue::new(if shipped {
                    format!("\u{2713} {capability}")
                } else {
                    format!("\u{23f3} {capability}")
                });
                issue.id = reference.clone();
                issue.priority = 0;
                issue.status = if shipped {
                    Status::Closed
                } else {
                    Status::Blocked
                };
                leaves.push(TreeNode {
                    issue,
                    depth: node.depth + 1,
                    parent_id: node.issue.id.clone(),
                    truncated: false,
                });
            }
        }
        nodes.extend(leaves);
        Ok(())
    }
}
