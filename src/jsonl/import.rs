//! Import: issues from JSONL into the database in one transaction, all or nothing. An issue
//! already here is updated only when its content hash differs; labels and comments merge in
//! (never removed); dependencies go in once every issue is in, so their order in the file
//! does not matter.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::export::sha256_hex;
use super::read::{read_issues, Line};
use super::sync_state::read_stamped;
use crate::error::{Error, NotFoundKind, Result};
use crate::model::{Comment, Dependency, Issue, Status};
use crate::ops::issues::{fill_defaults, validate_as};
use crate::ops::record;
use crate::ops::{CreateOptions, OrphanHandling};
use crate::store::{ReadTxn, Store, WriteTxn};
use crate::value::{Param, Value};
use beadstore_macros::{store_ops, Setters};

/// How far an import has got: `done` of `total` issues written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportProgress {
    /// Issues handled so far.
    pub done: usize,
    /// Issues in the file.
    pub total: usize,
}

/// A callback told of an import's progress (a progress bar, a log line).
pub type ProgressFn = Arc<dyn Fn(ImportProgress) + Send + Sync>;

/// How to import.
#[derive(Clone, Default, Setters)]
#[non_exhaustive]
pub struct ImportOptions {
    /// What to do with `parent.N` ids whose parent is nowhere (default: the database's
    /// `import.orphan_handling`, else the project configuration's, else allow).
    pub orphans: Option<OrphanHandling>,
    /// Who the events name.
    pub actor: String,
    /// Record no events and no dirty marks: the file the issues come from is already where
    /// they are kept (multi-repo hydration).
    pub quiet: bool,
    /// Set every imported issue's `source_repo` (multi-repo hydration).
    pub source_repo: Option<String>,
    /// Fail on a dependency whose issue or target is missing, instead of skipping it (a
    /// missing issue) or keeping it (a missing target).
    pub strict_dependencies: bool,
    /// Told of progress every few hundred issues.
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("orphans", &self.orphans)
            .field("actor", &self.actor)
            .field("quiet", &self.quiet)
            .field("source_repo", &self.source_repo)
            .field("strict_dependencies", &self.strict_dependencies)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportSummary {
    /// New issues.
    pub created: usize,
    /// Issues whose content changed.
    pub updated: usize,
    /// Issues already here with the same content.
    pub unchanged: usize,
    /// Issues whose copy here differs from the file's and was updated as late or later
    /// (`updated_at`): an edit not yet in the file, kept as it is (Go counts these as
    /// unchanged).
    pub kept_local: usize,
    /// Issues not taken: a repeated id in the file, an id deleted here (tombstone), or an
    /// orphan skipped under `OrphanHandling::Skip`.
    pub skipped: usize,
    /// Dependencies added.
    pub dependencies_added: usize,
    /// Dependencies left out because their issue is missing (or, under
    /// `OrphanHandling::Skip`, their target), with the reason.
    pub dependencies_skipped: Vec<(Dependency, String)>,
    /// Dependencies kept although their (local) target is in neither the file nor the
    /// database: an export holds edges to issues squashed away since (wisps), and dropping
    /// them would make the next export delete them from git. Counted once per edge.
    pub dangling_targets: usize,
    /// Labels added.
    pub labels_added: usize,
    /// Comments added.
    pub comments_added: usize,
}

/// What happens to one line.
enum Plan {
    Create,
    Update(Box<Issue>),
    Unchanged,
    KeepLocal,
}

/// The prefix of an id: everything before its last `-` (the hash and any child suffix
/// follow it).
fn prefix_of(id: &str) -> Option<&str> {
    let base = id.split('.').next().unwrap_or(id);
    base.rfind('-')
        .map(|at| &base[..at])
        .filter(|p| !p.is_empty())
}

/// The gate fields keep their local value when the incoming one is empty (a file written
/// before the gate was set must not clear it), as Go's import does.
fn keep_local_gate_fields(incoming: &mut Issue, local: &Issue) {
    if !incoming.pinned {
        incoming.pinned = local.pinned;
    }
    if incoming.await_type.is_empty() {
        incoming.await_type = local.await_type.clone();
    }
    if incoming.await_id.is_empty() {
        incoming.await_id = local.await_id.clone();
    }
    if incoming.timeout_ns == 0 {
        incoming.timeout_ns = local.timeout_ns;
    }
    if incoming.waiters.is_empty() {
        incoming.waiters = local.waiters.clone();
    }
}

impl ReadTxn<'_> {
    /// Content hash and status of the stored issues among `lines`.
    fn stored_states(&self, lines: &[(usize, Issue)]) -> Result<HashMap<String, (String, Status)>> {
        let mut out = HashMap::new();
        let ids: Vec<&str> = lines.iter().map(|(_, i)| i.id.as_str()).collect();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, coalesce(content_hash, ''), status FROM issues WHERE id IN ({})",
                record::placeholders(chunk.len())
            );
            let params: Vec<Param<'_>> = chunk.iter().map(|&id| id.into()).collect();
            for row in self.query(&sql, &params)? {
                if let (Some(id), Some(hash), Some(status)) =
                    (row[0].as_str(), row[1].as_str(), row[2].as_str())
                {
                    out.insert(id.to_owned(), (hash.to_owned(), Status::parse(status)));
                }
            }
        }
        Ok(out)
    }

    /// Every comment id in use.
    fn comment_ids(&self) -> Result<CommentIds> {
        let used: HashSet<i64> = self
            .query("SELECT id FROM comments", &[])?
            .iter()
            .filter_map(|row| row.first().and_then(Value::as_i64))
            .collect();
        let highest = used.iter().copied().max().unwrap_or(0);
        Ok(CommentIds { used, highest })
    }
}

/// Comment ids in use, and the highest, so a comment whose id is taken gets the next one.
#[derive(Default)]
struct CommentIds {
    used: HashSet<i64>,
    highest: i64,
}

enum DependencyOutcome {
    /// Inserted; `dangling` when its target is nowhere.
    Added {
        dangling: bool,
    },
    Present,
    Missing(String),
}

impl Store {
    /// Imports a JSONL file (see `WriteTxn::import_issues`). The whole file is read and
    /// checked first: a bad line is an `Error::Jsonl` naming it, and nothing is written. In
    /// the same transaction the file is recorded as in step with the database, as Go's
    /// `bd import` records it (`jsonl_content_hash`, `jsonl_file_hash`, `last_import_time`).
    pub fn import_jsonl(
        &self,
        path: impl AsRef<Path>,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        let path = path.as_ref();
        let Some((bytes, stamp)) = read_stamped(path)? else {
            return Err(Error::io(
                "read JSONL",
                path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        };
        let source = path.display().to_string();
        let lines = read_issues(bytes.as_slice(), &source)?;
        let sha256 = sha256_hex(&bytes);
        self.transaction(|tx| {
            let summary = tx.import_issues(lines, &source, options)?;
            tx.record_jsonl_in_step_stamped(&sha256, stamp)?;
            Ok(summary)
        })
    }

    /// Imports JSONL text already in memory; `source` names it in errors.
    pub fn import_jsonl_text(
        &self,
        text: &[u8],
        source: &str,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        let lines = read_issues(text, source)?;
        self.transaction(|tx| tx.import_issues(lines, source, options))
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Imports parsed lines; `source` names the file in errors. See the module docs.
    pub fn import_issues(
        &self,
        lines: Vec<Line>,
        source: &str,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        let mut summary = ImportSummary::default();
        let total = lines.len();
        let report = |done: usize| {
            if let Some(progress) = &options.progress {
                progress(ImportProgress { done, total });
            }
        };
        let started = std::time::Instant::now();
        let phase = |name: &str| {
            tracing::debug!(target: "beadstore::import", phase = name, elapsed_ms = started.elapsed().as_secs_f64() * 1e3);
        };
        let statuses = self.custom_statuses()?;
        let at = record::now();
        let mut seen: HashSet<String> = HashSet::new();
        let mut accepted: Vec<(usize, Issue)> = Vec::with_capacity(lines.len());
        for Line { number, mut issue } in lines {
            if !seen.insert(issue.id.clone()) {
                summary.skipped += 1;
                continue;
            }
            if let Some(repo) = &options.source_repo {
                issue.source_repo = repo.clone();
            }
            fill_defaults(&mut issue, &at);
            // Types come as they were written: only the built-in ones are checked.
            let own_type = [issue.issue_type.as_str().to_owned()];
            validate_as(&issue, &statuses, &own_type, true).map_err(|e| Error::Jsonl {
                path: source.into(),
                line: number,
                message: format!("issue {}: {e}", issue.id),
            })?;
            issue.content_hash = issue.compute_content_hash();
            accepted.push((number, issue));
        }
        self.ensure_prefix(accepted.iter().map(|(_, i)| i.id.as_str()))?;

        let existing = self.stored_states(&accepted)?;
        let mut plans = Vec::with_capacity(accepted.len());
        for (_, issue) in &accepted {
            let plan = match existing.get(&issue.id) {
                None => Some(Plan::Create),
                Some((hash, _)) if *hash == issue.content_hash => Some(Plan::Unchanged),
                // A deletion here is not undone by an older copy of the issue.
                Some((_, Status::Tombstone)) => {
                    summary.skipped += 1;
                    None
                }
                Some(_) => {
                    let local = self
                        .get_issue(&issue.id)?
                        .ok_or_else(|| Error::not_found(NotFoundKind::Issue, &issue.id))?;
                    // An edit made here since the file was written wins over the file's
                    // older copy, as in Go's importer: only a newer `updated_at` replaces.
                    if issue.updated_at > local.updated_at {
                        Some(Plan::Update(Box::new(local)))
                    } else {
                        Some(Plan::KeepLocal)
                    }
                }
            };
            plans.push(plan);
        }

        phase("classified");
        // New issues, parents before children.
        let mut new_issues: Vec<Issue> = accepted
            .iter()
            .zip(&plans)
            .filter(|(_, p)| matches!(p, Some(Plan::Create)))
            .map(|((_, i), _)| i.clone())
            .collect();
        new_issues.sort_by(|a, b| {
            (a.id.matches('.').count(), a.id.as_bytes())
                .cmp(&(b.id.matches('.').count(), b.id.as_bytes()))
        });
        let wanted = new_issues.len();
        let orphans = match options.orphans {
            Some(mode) => mode,
            None => self.orphan_handling()?,
        };
        let mut created_ids: HashSet<String> = HashSet::new();
        for chunk in new_issues.chunks(250) {
            let created = self.create_issues_with_options(
                chunk.to_vec(),
                &options.actor,
                &CreateOptions {
                    orphans,
                    skip_prefix_validation: true,
                    imported: true,
                    quiet: options.quiet,
                    resurrect_from: None,
                },
            )?;
            created_ids.extend(created.into_iter().map(|i| i.id));
            report(created_ids.len());
        }
        summary.created = created_ids.len();
        summary.skipped += wanted - created_ids.len();

        phase("created");
        // Updates, labels and comments.
        let mut kept: Vec<&Issue> = Vec::with_capacity(accepted.len());
        let mut changed: Vec<String> = Vec::new();
        for ((_, issue), plan) in accepted.iter().zip(&plans) {
            match plan {
                None => continue,
                Some(Plan::Create) if !created_ids.contains(&issue.id) => continue,
                Some(Plan::Create) => {}
                Some(Plan::Unchanged) => summary.unchanged += 1,
                Some(Plan::KeepLocal) => summary.kept_local += 1,
                Some(Plan::Update(local)) => {
                    let mut merged = issue.clone();
                    merged.created_at = local.created_at;
                    keep_local_gate_fields(&mut merged, local);
                    merged.content_hash = merged.compute_content_hash();
                    self.write_issue_changes(local, &merged)?;
                    if !options.quiet {
                        record::event(
                            self,
                            &merged.id,
                            "updated",
                            &options.actor,
                            None,
                            None,
                            Some("imported"),
                        )?;
                    }
                    changed.push(merged.id.clone());
                    summary.updated += 1;
                }
            }
            kept.push(issue);
        }
        let mut comment_ids = if kept.iter().any(|i| !i.comments.is_empty()) {
            self.comment_ids()?
        } else {
            CommentIds::default()
        };
        for issue in &kept {
            let labels = self.merge_labels(issue)?;
            let fresh = created_ids.contains(&issue.id);
            let comments = self.merge_comments(issue, fresh, &mut comment_ids)?;
            if labels + comments > 0 && !created_ids.contains(&issue.id) {
                changed.push(issue.id.clone());
            }
            summary.labels_added += labels;
            summary.comments_added += comments;
        }
        report(total);
        phase("merged labels and comments");

        let present: HashSet<&str> = kept.iter().map(|i| i.id.as_str()).collect();
        // A dependency on an issue nobody has is kept, unless the caller asked for orphans to
        // be skipped or refused.
        let keep_dangling = !options.strict_dependencies
            && matches!(orphans, OrphanHandling::Allow | OrphanHandling::Resurrect);
        for issue in &kept {
            for dep in &issue.dependencies {
                let mut dep = dep.clone();
                if dep.issue_id.is_empty() {
                    dep.issue_id = issue.id.clone();
                }
                match self.merge_dependency(&dep, &options.actor, &present, keep_dangling)? {
                    DependencyOutcome::Added { dangling } => {
                        summary.dependencies_added += 1;
                        summary.dangling_targets += usize::from(dangling);
                    }
                    DependencyOutcome::Present => {}
                    DependencyOutcome::Missing(reason)
                        if options.strict_dependencies || orphans == OrphanHandling::Strict =>
                    {
                        return Err(Error::not_found_in(
                            NotFoundKind::Dependency,
                            format!("{} -> {}", dep.issue_id, dep.depends_on_id),
                            format!("{reason}, in {source}"),
                        ));
                    }
                    DependencyOutcome::Missing(reason) => {
                        summary.dependencies_skipped.push((dep, reason));
                    }
                }
            }
        }
        if !options.quiet && !changed.is_empty() {
            let refs: Vec<&str> = changed.iter().map(String::as_str).collect();
            record::dirty(self, &refs, &at)?;
        }
        phase("dependencies");
        self.rebuild_blocked_cache()?;
        phase("blocked cache rebuilt");
        Ok(summary)
    }
}

impl WriteTxn<'_> {
    /// Sets `issue_prefix` from the ids when the database has none: the most common prefix
    /// (ties to the smallest), as bd's import does.
    fn ensure_prefix<'i>(&self, ids: impl Iterator<Item = &'i str>) -> Result<()> {
        if self
            .get_config("issue_prefix")?
            .is_some_and(|p| !p.is_empty())
        {
            return Ok(());
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for prefix in ids.filter_map(prefix_of) {
            *counts.entry(prefix).or_default() += 1;
        }
        let most = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(p, _)| *p);
        match most {
            Some(prefix) => self.set_config("issue_prefix", prefix),
            None => Ok(()),
        }
    }

    /// Adds the issue's labels that are not there yet; returns how many.
    fn merge_labels(&self, issue: &Issue) -> Result<usize> {
        let mut added = 0;
        for label in &issue.labels {
            added += self.execute(
                "INSERT OR IGNORE INTO labels (issue_id, label) VALUES (?, ?)",
                &[issue.id.as_str().into(), label.as_str().into()],
            )? as usize;
        }
        Ok(added)
    }

    /// Adds the issue's comments that are not there yet (same author and text, ignoring
    /// surrounding space), keeping a comment's id when it is free (`taken` holds the ids in
    /// use); returns how many. A `fresh` issue, created by this import, has none yet.
    fn merge_comments(&self, issue: &Issue, fresh: bool, taken: &mut CommentIds) -> Result<usize> {
        if issue.comments.is_empty() {
            return Ok(0);
        }
        let present: HashSet<(String, String)> = if fresh {
            HashSet::new()
        } else {
            self.get_issue_comments(&issue.id)?
                .into_iter()
                .map(|c| (c.author, c.text.trim().to_owned()))
                .collect()
        };
        let mut added = 0;
        for Comment {
            id,
            author,
            text,
            created_at,
            ..
        } in &issue.comments
        {
            if present.contains(&(author.clone(), text.trim().to_owned())) {
                continue;
            }
            let created = crate::model::time_serde::format(created_at);
            // The comment's own id when it is free, else the next one after every id in use
            // (this transaction holds the write lock, so nobody else takes it meanwhile).
            let comment_id = if *id > 0 && !taken.used.contains(id) {
                *id
            } else {
                taken.highest + 1
            };
            taken.used.insert(comment_id);
            taken.highest = taken.highest.max(comment_id);
            self.execute(
                "INSERT INTO comments (id, issue_id, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
                &[
                    comment_id.into(),
                    issue.id.as_str().into(),
                    author.as_str().into(),
                    text.as_str().into(),
                    created.into(),
                ],
            )?;
            added += 1;
        }
        Ok(added)
    }

    /// Adds one dependency from a file unless it is there already. Its issue must exist; a
    /// missing local target is kept when `keep_dangling` (the edge is what the file says,
    /// and the schema has no foreign key on targets). Cycles are not refused: the file is
    /// the record of what was decided, and `detect_cycles` reports them.
    fn merge_dependency(
        &self,
        dep: &Dependency,
        actor: &str,
        present: &HashSet<&str>,
        keep_dangling: bool,
    ) -> Result<DependencyOutcome> {
        let exists =
            |id: &str| -> Result<bool> { Ok(present.contains(id) || self.issue_exists(id)?) };
        if !exists(&dep.issue_id)? {
            return Ok(DependencyOutcome::Missing(format!(
                "issue {} does not exist",
                dep.issue_id
            )));
        }
        let external = dep
            .depends_on_id
            .starts_with(crate::ops::external::EXTERNAL_PREFIX);
        let dangling = !external && !exists(&dep.depends_on_id)?;
        if dangling && !keep_dangling {
            return Ok(DependencyOutcome::Missing(format!(
                "target {} does not exist",
                dep.depends_on_id
            )));
        }
        let created_by = if dep.created_by.is_empty() {
            actor
        } else {
            &dep.created_by
        };
        let added = self.execute(
            "INSERT OR IGNORE INTO dependencies (issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                dep.issue_id.as_str().into(),
                dep.depends_on_id.as_str().into(),
                dep.dep_type.as_str().into(),
                crate::model::time_serde::format(&dep.created_at).into(),
                created_by.into(),
                dep.metadata.as_str().into(),
                dep.thread_id.as_str().into(),
            ],
        )?;
        Ok(if added > 0 {
            DependencyOutcome::Added { dangling }
        } else {
            DependencyOutcome::Present
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_what_comes_before_the_hash() {
        assert_eq!(prefix_of("bd-a1b2"), Some("bd"));
        assert_eq!(prefix_of("my-proj-a1b2.3.1"), Some("my-proj"));
        assert_eq!(prefix_of("nohyphen"), None);
        assert_eq!(prefix_of("-x"), None);
    }
}
