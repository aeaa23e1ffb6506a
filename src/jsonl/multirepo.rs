//! Multi-repo: one database holding the issues of several repositories (`repos.primary` and
//! `repos.additional` in `config.yaml`). Each repository's `.beads/issues.jsonl` is hydrated
//! into the database, its issues tagged with `source_repo`, and exported back to the
//! repository it came from. A file whose modification time has not changed since the last
//! hydration is not read again (`repo_mtimes`).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::export::{append_line, sha256_hex, write_atomically, ExportOptions};
use super::import::ImportOptions;
use super::read::read_issues;
use super::sync_state::go_repo_key;
use crate::error::{Error, Result};
use crate::model::Issue;
use crate::project::ProjectConfig;
use crate::store::{ReadTxn, Store, WriteTxn};
use crate::value::Value;
use beadstore_macros::store_ops;

/// The `source_repo` of the primary repository's issues.
pub const PRIMARY_SOURCE: &str = ".";

/// One repository of a multi-repo setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// The `source_repo` its issues carry: `.` for the primary, else the path as configured.
    pub source: String,
    /// The repository's directory, absolute.
    pub root: PathBuf,
}

impl Repo {
    /// Its `issues.jsonl`.
    pub fn jsonl(&self) -> PathBuf {
        self.root.join(".beads").join("issues.jsonl")
    }
}

/// The repositories of a multi-repo configuration, primary first; `None` for a single repo.
pub fn repos(config: &ProjectConfig) -> Option<Vec<Repo>> {
    if !config.is_multi_repo() {
        return None;
    }
    let mut out = vec![Repo {
        source: PRIMARY_SOURCE.to_owned(),
        root: config.resolve(&config.repos_primary),
    }];
    out.extend(config.repos_additional.iter().map(|path| Repo {
        source: path.clone(),
        root: config.resolve(path),
    }));
    Some(out)
}

/// The modification time of a file itself (not a symlink's target), in nanoseconds.
fn mtime_ns(path: &Path) -> std::io::Result<i64> {
    let meta = std::fs::symlink_metadata(path)?;
    Ok(meta.mtime() * 1_000_000_000 + meta.mtime_nsec())
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Deletes every issue that came from `source_repo`, with its dependencies (both ways),
    /// labels, comments, events and dirty marks; returns how many issues went.
    pub fn delete_issues_by_source_repo(&self, source_repo: &str) -> Result<usize> {
        let ids = crate::value::column_texts(
            self.query(
                "SELECT id FROM issues WHERE source_repo = ?",
                &[source_repo.into()],
            )?,
            0,
        );
        for id in &ids {
            self.execute(
                "DELETE FROM dependencies WHERE issue_id = ? OR depends_on_id = ?",
                &[id.as_str().into(), id.as_str().into()],
            )?;
            for table in ["events", "comments", "labels", "dirty_issues"] {
                self.execute(
                    &format!("DELETE FROM {table} WHERE issue_id = ?"),
                    &[id.as_str().into()],
                )?;
            }
        }
        let deleted = self.execute(
            "DELETE FROM issues WHERE source_repo = ?",
            &[source_repo.into()],
        )?;
        self.rebuild_blocked_cache()?;
        Ok(deleted as usize)
    }

    /// Forgets the recorded modification time of a repository's JSONL, so the next hydration
    /// reads it again. A repository with no record is fine.
    pub fn clear_repo_mtime(&self, repo_path: &str) -> Result<()> {
        let root = self.project_config()?.resolve(repo_path);
        self.execute(
            "DELETE FROM repo_mtimes WHERE repo_path = ?",
            &[root.display().to_string().into()],
        )?;
        Ok(())
    }
}

impl ReadTxn<'_> {
    fn recorded_mtime(&self, repo: &Repo) -> Result<Option<i64>> {
        Ok(self
            .query(
                "SELECT mtime_ns FROM repo_mtimes WHERE repo_path = ?",
                &[repo.root.display().to_string().into()],
            )?
            .first()
            .and_then(|row| row.first())
            .and_then(Value::as_i64))
    }
}

impl Store {
    /// Reads the issues of every configured repository whose `issues.jsonl` changed since the
    /// last time into the database, tagged with their `source_repo`, in one transaction.
    /// Returns the issues read per repository (0 for one unchanged or without a file), or
    /// `None` when the project is not multi-repo. A read-write open does this by itself.
    pub fn hydrate_from_multi_repo(&self) -> Result<Option<BTreeMap<String, usize>>> {
        let config = self.project_config()?;
        let Some(repos) = repos(&config) else {
            return Ok(None);
        };
        self.transaction(|tx| {
            let mut counts = BTreeMap::new();
            let mut lines = Vec::new();
            let mut read_times = Vec::new();
            for repo in &repos {
                counts.insert(repo.source.clone(), 0);
                let jsonl = repo.jsonl();
                let mtime = match mtime_ns(&jsonl) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io("stat repository JSONL", &jsonl, e)),
                };
                if tx.recorded_mtime(repo)? == Some(mtime) {
                    continue;
                }
                let file = std::fs::File::open(&jsonl)
                    .map_err(|e| Error::io("open repository JSONL", &jsonl, e))?;
                let source = jsonl.display().to_string();
                let mut read = read_issues(std::io::BufReader::new(file), &source)?;
                for line in &mut read {
                    line.issue.source_repo = repo.source.clone();
                }
                counts.insert(repo.source.clone(), read.len());
                lines.extend(read);
                read_times.push((repo, mtime));
            }
            if !lines.is_empty() {
                // One import for all of them, so dependencies across repositories resolve
                // whatever order the repositories come in.
                let quiet = ImportOptions::default().quiet(true);
                tx.import_issues(lines, "multi-repo hydration", &quiet)?;
            }
            for (repo, mtime) in read_times {
                tx.record_mtime(repo, mtime)?;
            }
            Ok(counts)
        })
        .map(Some)
    }

    /// Writes each repository's issues (by `source_repo`; none or `.` = the primary) to its
    /// `issues.jsonl`, atomically, and records the written files' times so the next hydration
    /// does not read them back, and each file's hash and time under the per-repository
    /// metadata keys Go's daemon uses (`jsonl_content_hash:<repo>`, `last_import_time:<repo>`). The primary's file is written only when it has issues; an
    /// additional repository with none gets an empty file. Issues of repositories no longer
    /// configured are left out. Returns the issues written per repository, or `None` when
    /// the project is not multi-repo.
    pub fn export_to_multi_repo(&self) -> Result<Option<BTreeMap<String, usize>>> {
        let config = self.project_config()?;
        let Some(repos) = repos(&config) else {
            return Ok(None);
        };
        let options = ExportOptions::default();
        // `recorder` is the write transaction that notes what was written (none read-only).
        let write = |tx: &ReadTxn<'_>,
                     recorder: Option<&WriteTxn<'_>>|
         -> Result<BTreeMap<String, usize>> {
            let mut groups: BTreeMap<String, Vec<Issue>> = BTreeMap::new();
            for issue in tx.issues_for_export(&options)? {
                let source = if issue.source_repo.is_empty() {
                    PRIMARY_SOURCE.to_owned()
                } else {
                    issue.source_repo.clone()
                };
                groups.entry(source).or_default().push(issue);
            }
            let mut counts = BTreeMap::new();
            for repo in &repos {
                let issues = groups.remove(&repo.source).unwrap_or_default();
                if repo.source == PRIMARY_SOURCE && issues.is_empty() {
                    continue;
                }
                let mut text = Vec::with_capacity(issues.len() * 512);
                for issue in &issues {
                    append_line(&mut text, issue, options.html)?;
                }
                let jsonl = repo.jsonl();
                write_atomically(&jsonl, &text)?;
                if let Some(recorder) = recorder {
                    let mtime = mtime_ns(&jsonl)
                        .map_err(|e| Error::io("stat exported JSONL", &jsonl, e))?;
                    recorder.record_mtime(repo, mtime)?;
                    let configured = if repo.source == PRIMARY_SOURCE {
                        config.repos_primary.as_str()
                    } else {
                        repo.source.as_str()
                    };
                    recorder
                        .record_repo_jsonl_written(go_repo_key(configured), &sha256_hex(&text))?;
                }
                counts.insert(repo.source.clone(), issues.len());
            }
            Ok(counts)
        };
        if self.is_read_only() {
            self.snapshot(|tx| write(tx, None)).map(Some)
        } else {
            self.transaction(|tx| write(tx, Some(tx))).map(Some)
        }
    }
}

impl WriteTxn<'_> {
    fn record_mtime(&self, repo: &Repo, mtime: i64) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO repo_mtimes (repo_path, jsonl_path, mtime_ns, last_checked) VALUES (?, ?, ?, ?)",
            &[
                repo.root.display().to_string().into(),
                repo.jsonl().display().to_string().into(),
                mtime.into(),
                crate::model::time_serde::format(&crate::ops::record::now()).into(),
            ],
        )?;
        Ok(())
    }
}
