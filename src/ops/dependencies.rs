//! Dependencies between issues, with cycle detection that reports the cycle.

use std::collections::{HashMap, VecDeque};

use crate::error::{Error, NotFoundKind, Result};
use crate::model::time_serde::{format, unset};
use crate::model::{Dependency, DependencyType, Issue, IssueType, Status};
use crate::row::Row;
use crate::store::{ReadTxn, WriteTxn};
use crate::value::{column_texts, first_i64, Value};
use beadstore_macros::store_ops;

use super::columns::{select_list, text, time};
use super::record::{self, now};

const EXTERNAL: &str = "external:";

fn dependency_from_row(row: &Row) -> Dependency {
    let column = |i: usize| text(row.value(i).unwrap_or(&Value::Null));
    Dependency {
        issue_id: column(0),
        depends_on_id: column(1),
        dep_type: DependencyType::parse(&column(2)),
        created_at: time(row.value(3).unwrap_or(&Value::Null)).unwrap_or_else(unset),
        created_by: column(4),
        metadata: column(5),
        thread_id: column(6),
    }
}

/// An issue at the other end of a dependency, in the fields a listing of links shows. Reading
/// these instead of whole issues spares the engine fifty columns to compile and fetch, and a
/// labels query per linked issue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LinkedIssue {
    /// The linked issue's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: Status,
    /// Its priority (0 highest).
    pub priority: i64,
    /// Its type.
    pub issue_type: IssueType,
    /// Its assignee (empty when none).
    pub assignee: String,
    /// The type of the dependency that links it.
    #[serde(rename = "type")]
    pub dep_type: DependencyType,
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// The issues `issue_id` depends on (local ones) as [`LinkedIssue`]s, in the order of
    /// [`ReadTxn::get_dependencies_with_type`].
    pub fn get_dependency_links(&self, issue_id: &str) -> Result<Vec<LinkedIssue>> {
        self.linked_summaries(issue_id, "d.depends_on_id", "d.issue_id")
    }

    /// The issues that depend on `issue_id` as [`LinkedIssue`]s, in the order of
    /// [`ReadTxn::get_dependents_with_type`].
    pub fn get_dependent_links(&self, issue_id: &str) -> Result<Vec<LinkedIssue>> {
        self.linked_summaries(issue_id, "d.issue_id", "d.depends_on_id")
    }

    /// The dependency rows of an issue, oldest first.
    pub fn get_dependency_records(&self, issue_id: &str) -> Result<Vec<Dependency>> {
        Ok(self
            .query(
                "SELECT issue_id, depends_on_id, type, created_at, coalesce(created_by, ''), coalesce(metadata, ''), coalesce(thread_id, '') FROM dependencies WHERE issue_id = ? ORDER BY created_at, depends_on_id, type",
                &[issue_id.into()],
            )?
            .iter()
            .map(dependency_from_row)
            .collect())
    }

    /// Every dependency row, grouped by issue.
    pub fn get_all_dependency_records(&self) -> Result<HashMap<String, Vec<Dependency>>> {
        let mut out: HashMap<String, Vec<Dependency>> = HashMap::new();
        for row in self.query(
            "SELECT issue_id, depends_on_id, type, created_at, coalesce(created_by, ''), coalesce(metadata, ''), coalesce(thread_id, '') FROM dependencies ORDER BY issue_id, created_at, depends_on_id, type",
            &[],
        )? {
            let dep = dependency_from_row(&row);
            out.entry(dep.issue_id.clone()).or_default().push(dep);
        }
        Ok(out)
    }

    /// The issues `issue_id` depends on (local ones), with the dependency type, by priority.
    pub fn get_dependencies_with_type(&self, issue_id: &str) -> Result<Vec<(Issue, String)>> {
        self.linked(issue_id, "d.depends_on_id", "d.issue_id")
    }

    /// The issues that depend on `issue_id`, with the dependency type, by priority.
    pub fn get_dependents_with_type(&self, issue_id: &str) -> Result<Vec<(Issue, String)>> {
        self.linked(issue_id, "d.issue_id", "d.depends_on_id")
    }

    /// The issues `issue_id` depends on.
    pub fn get_dependencies(&self, issue_id: &str) -> Result<Vec<Issue>> {
        Ok(self
            .get_dependencies_with_type(issue_id)?
            .into_iter()
            .map(|(i, _)| i)
            .collect())
    }

    /// The issues that depend on `issue_id`.
    pub fn get_dependents(&self, issue_id: &str) -> Result<Vec<Issue>> {
        Ok(self
            .get_dependents_with_type(issue_id)?
            .into_iter()
            .map(|(i, _)| i)
            .collect())
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Adds "`dep.issue_id` depends on `dep.depends_on_id`". Both issues must exist (unless the
    /// target is `external:...`), an issue cannot depend on itself, an epic cannot be the child
    /// of a non-epic, and no cycle may form (`Error::Cycle` names it; `relates-to` links are
    /// exempt). Records `dependency_added`, marks both dirty, rebuilds the blocked cache when
    /// the type affects ready work.
    pub fn add_dependency(&self, dep: &Dependency, actor: &str) -> Result<()> {
        let kind = dep.dep_type.as_str();
        if kind.is_empty() || kind.len() > 50 {
            return Err(Error::invalid(
                "dep_type",
                format!(
                    "invalid dependency type: {kind:?} (must be non-empty string, max 50 chars)"
                ),
            ));
        }
        let source = self
            .get_issue(&dep.issue_id)?
            .ok_or_else(|| Error::not_found(NotFoundKind::Issue, &dep.issue_id))?;
        let external = dep.depends_on_id.starts_with(EXTERNAL);
        if !external {
            let target = self.get_issue(&dep.depends_on_id)?.ok_or_else(|| {
                Error::not_found(NotFoundKind::DependencyTarget, &dep.depends_on_id)
            })?;
            if dep.issue_id == dep.depends_on_id {
                return Err(Error::invalid(
                    "depends_on_id",
                    "issue cannot depend on itself",
                ));
            }
            if dep.dep_type == DependencyType::ParentChild
                && source.issue_type == IssueType::Epic
                && target.issue_type != IssueType::Epic
            {
                return Err(Error::invalid(
                    "depends_on_id",
                    format!(
                        "invalid parent-child dependency: parent ({}) cannot depend on child ({}); the child depends on the parent",
                        dep.issue_id, dep.depends_on_id
                    ),
                ));
            }
            if dep.dep_type != DependencyType::RelatesTo {
                if let Some(path) = self.path_between(&dep.depends_on_id, &dep.issue_id)? {
                    let mut cycle = vec![dep.issue_id.clone()];
                    cycle.extend(path);
                    return Err(Error::Cycle { path: cycle });
                }
            }
        }
        let at = now();
        let created_at = if dep.created_at == unset() {
            at
        } else {
            dep.created_at
        };
        let created_by = if dep.created_by.is_empty() {
            actor
        } else {
            &dep.created_by
        };
        let optional = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        self.execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                dep.issue_id.as_str().into(),
                dep.depends_on_id.as_str().into(),
                kind.into(),
                format(&created_at).into(),
                created_by.into(),
                optional(&dep.metadata).into(),
                optional(&dep.thread_id).into(),
            ],
        )?;
        let comment = format!(
            "Added dependency: {} {kind} {}",
            dep.issue_id, dep.depends_on_id
        );
        record::event(
            self,
            &dep.issue_id,
            "dependency_added",
            actor,
            None,
            None,
            Some(&comment),
        )?;
        let mut dirty = vec![dep.issue_id.as_str()];
        if !external {
            dirty.push(&dep.depends_on_id);
        }
        record::dirty(self, &dirty, &at)?;
        if dep.dep_type.affects_ready_work() {
            self.rebuild_blocked_cache()?;
        }
        Ok(())
    }

    /// Removes every dependency of `issue_id` on `depends_on_id` (whatever its type).
    pub fn remove_dependency(
        &self,
        issue_id: &str,
        depends_on_id: &str,
        actor: &str,
    ) -> Result<()> {
        let types = column_texts(
            self.query(
                "SELECT type FROM dependencies WHERE issue_id = ? AND depends_on_id = ?",
                &[issue_id.into(), depends_on_id.into()],
            )?,
            0,
        );
        if types.is_empty() {
            return Err(Error::not_found(
                NotFoundKind::Dependency,
                format!("{issue_id} -> {depends_on_id}"),
            ));
        }
        self.execute(
            "DELETE FROM dependencies WHERE issue_id = ? AND depends_on_id = ?",
            &[issue_id.into(), depends_on_id.into()],
        )?;
        let comment = format!("Removed dependency on {depends_on_id}");
        record::event(
            self,
            issue_id,
            "dependency_removed",
            actor,
            None,
            None,
            Some(&comment),
        )?;
        let mut dirty = vec![issue_id];
        if !depends_on_id.starts_with(EXTERNAL) && self.get_issue(depends_on_id)?.is_some() {
            dirty.push(depends_on_id);
        }
        record::dirty(self, &dirty, &now())?;
        if types
            .iter()
            .any(|t| DependencyType::parse(t).affects_ready_work())
        {
            self.rebuild_blocked_cache()?;
        }
        Ok(())
    }
}

impl ReadTxn<'_> {
    /// The shortest chain of existing dependencies from `from` to `to` (both included), if any.
    fn path_between(&self, from: &str, to: &str) -> Result<Option<Vec<String>>> {
        let reachable = first_i64(&self.query(
            "WITH RECURSIVE reach(id) AS (SELECT depends_on_id FROM dependencies WHERE issue_id = ? UNION SELECT d.depends_on_id FROM dependencies d JOIN reach r ON d.issue_id = r.id) SELECT count(*) FROM reach WHERE id = ?",
            &[from.into(), to.into()],
        )?)
        .unwrap_or(0);
        if reachable == 0 {
            return Ok(None);
        }
        let mut came_from: HashMap<String, String> = HashMap::new();
        let mut queue = VecDeque::from([from.to_owned()]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                let mut path = vec![node.clone()];
                let mut cursor = node;
                while let Some(prev) = came_from.get(&cursor) {
                    path.push(prev.clone());
                    cursor = prev.clone();
                }
                path.reverse();
                return Ok(Some(path));
            }
            let next = column_texts(
                self.query(
                    "SELECT DISTINCT depends_on_id FROM dependencies WHERE issue_id = ? ORDER BY depends_on_id",
                    &[node.as_str().into()],
                )?,
                0,
            );
            for n in next {
                if n != from && !came_from.contains_key(&n) {
                    came_from.insert(n.clone(), node.clone());
                    queue.push_back(n);
                }
            }
        }
        Ok(None)
    }

    fn linked_summaries(&self, id: &str, join: &str, filter: &str) -> Result<Vec<LinkedIssue>> {
        let sql = format!(
            "SELECT i.id, i.title, i.status, i.priority, i.issue_type, coalesce(i.assignee, ''), d.type
               FROM issues i JOIN dependencies d ON i.id = {join} WHERE {filter} = ?
              ORDER BY i.priority ASC, i.id ASC, d.type ASC"
        );
        Ok(self
            .query(&sql, &[id.into()])?
            .iter()
            .map(|row| {
                let column = |i: usize| text(row.value(i).unwrap_or(&Value::Null));
                LinkedIssue {
                    id: column(0),
                    title: column(1),
                    status: Status::parse(&column(2)),
                    priority: row.value(3).and_then(Value::as_i64).unwrap_or_default(),
                    issue_type: IssueType::parse(&column(4)),
                    assignee: column(5),
                    dep_type: DependencyType::parse(&column(6)),
                }
            })
            .collect())
    }

    fn linked(&self, id: &str, join: &str, filter: &str) -> Result<Vec<(Issue, String)>> {
        let sql = format!(
            "SELECT {}, d.type FROM issues i JOIN dependencies d ON i.id = {join} WHERE {filter} = ? ORDER BY i.priority ASC, i.id ASC, d.type ASC",
            select_list("i")
        );
        let rows = self.query(&sql, &[id.into()])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut issue = super::columns::issue_from_row(row)?;
            issue.labels = self.get_labels(&issue.id)?;
            let kind = row
                .last()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            out.push((issue, kind));
        }
        Ok(out)
    }
}
