//! Export: every issue as one line of `issues.jsonl`, the way `bd export` writes it (sorted by
//! id, labels, outgoing dependencies and comments embedded, Go's JSON text), written
//! atomically; afterwards the exported issues are no longer dirty and the file's hash is
//! recorded so a later sync can tell whether someone else changed it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::encode::{write_line, HtmlEscaping};
use super::sync_state::FileStamp;
use crate::error::{Error, Result};
use crate::model::{Dependency, Issue, Status};
use crate::ops::columns::select_list;
use crate::ops::record::placeholders;
use crate::store::{ReadTxn, Store, WriteTxn};
use crate::value::Param;
use beadstore_macros::{store_ops, Setters};

/// What to export and how.
#[derive(Debug, Clone, PartialEq, Eq, Setters)]
#[non_exhaustive]
pub struct ExportOptions {
    /// `<`, `>`, `&` escaping: on for `issues.jsonl` (every Go writer of it escapes), off for
    /// the form of `sync_base.jsonl`.
    pub html: HtmlEscaping,
    /// Also export wisps (ephemeral issues); `bd export` leaves them out.
    pub include_ephemeral: bool,
    /// Export tombstones too (default), so that deletions travel through git.
    pub include_tombstones: bool,
    /// Also write the columns Go's export never reads back out of the database (compaction
    /// bookkeeping, event fields, closing session, source system). Off, the output is what
    /// bd would write for the same database.
    pub all_columns: bool,
    /// After writing a file: clear the exported issues' dirty marks and record the file as
    /// the project's JSONL, in step with the database (`jsonl_content_hash`,
    /// `jsonl_file_hash`, `last_import_time`; default). Turn it off for a copy written
    /// elsewhere. Ignored by read-only stores.
    pub mark_clean: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            html: HtmlEscaping::On,
            include_ephemeral: false,
            include_tombstones: true,
            all_columns: false,
            mark_clean: true,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Issues written.
    pub issues: usize,
    /// Bytes written.
    pub bytes: usize,
    /// Lowercase hex SHA-256 of the output.
    pub sha256: String,
}

/// The export of one database: the JSONL text and the ids it holds.
#[non_exhaustive]
pub struct Rendered {
    /// The JSONL text.
    pub text: Vec<u8>,
    /// The exported ids, in file order.
    pub ids: Vec<String>,
}

/// Lowercase hex SHA-256 of `bytes`, as beads records file hashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Appends the issue's export line to `text`.
pub(crate) fn append_line(text: &mut Vec<u8>, issue: &Issue, html: HtmlEscaping) -> Result<()> {
    write_line(text, issue, html).map_err(|e| Error::Internal {
        op: "export",
        message: format!("issue {} cannot be written as JSON: {e}", issue.id),
    })
}

/// Drops the fields Go's export leaves out because its issue reader never loads them.
fn as_go_exports(issue: &mut Issue) {
    issue.compaction_level = 0;
    issue.compacted_at = None;
    issue.compacted_at_commit = None;
    issue.original_size = 0;
    issue.closed_by_session.clear();
    issue.source_system.clear();
    issue.event_kind.clear();
    issue.actor.clear();
    issue.target.clear();
    issue.payload.clear();
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// The issues an export holds, sorted by id (bytewise), each with its labels (sorted),
    /// outgoing dependencies (oldest first) and comments (oldest first).
    pub fn issues_for_export(&self, options: &ExportOptions) -> Result<Vec<Issue>> {
        let issues = self.issues_with_labels(
            &format!("SELECT {} FROM issues i ORDER BY i.id", select_list("i")),
            &[],
        )?;
        let dependencies = self.get_all_dependency_records()?;
        self.complete_for_export(issues, dependencies, options)
    }

    /// The issues among `ids` as an export holds them (see `issues_for_export`); ids not in
    /// the database, or left out by `options`, are not returned.
    pub fn issues_for_export_by_ids(
        &self,
        ids: &[String],
        options: &ExportOptions,
    ) -> Result<Vec<Issue>> {
        let mut issues = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let params: Vec<Param<'_>> = chunk.iter().map(|id| id.as_str().into()).collect();
            issues.extend(self.issues_with_labels(
                &format!(
                    "SELECT {} FROM issues i WHERE i.id IN ({})",
                    select_list("i"),
                    placeholders(chunk.len())
                ),
                &params,
            )?);
        }
        let mut dependencies = HashMap::with_capacity(issues.len());
        for issue in &issues {
            dependencies.insert(issue.id.clone(), self.get_dependency_records(&issue.id)?);
        }
        self.complete_for_export(issues, dependencies, options)
    }

    /// The export as JSONL text.
    pub fn render_jsonl(&self, options: &ExportOptions) -> Result<Rendered> {
        let issues = self.issues_for_export(options)?;
        let mut text = Vec::with_capacity(issues.len() * 512);
        let mut ids = Vec::with_capacity(issues.len());
        for issue in &issues {
            append_line(&mut text, issue, options.html)?;
            ids.push(issue.id.clone());
        }
        Ok(Rendered { text, ids })
    }
}

impl ReadTxn<'_> {
    /// Filters, sorts and fills in the embedded records of issues read for an export.
    fn complete_for_export(
        &self,
        mut issues: Vec<Issue>,
        mut dependencies: HashMap<String, Vec<Dependency>>,
        options: &ExportOptions,
    ) -> Result<Vec<Issue>> {
        issues.retain(|i| {
            (options.include_ephemeral || !i.ephemeral)
                && (options.include_tombstones || i.status != Status::Tombstone)
        });
        issues.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        let ids: Vec<String> = issues.iter().map(|i| i.id.clone()).collect();
        let mut comments = self.get_comments_for_issues(&ids)?;
        for issue in &mut issues {
            issue.dependencies = dependencies.remove(&issue.id).unwrap_or_default();
            issue.comments = comments.remove(&issue.id).unwrap_or_default();
            if !options.all_columns {
                as_go_exports(issue);
            }
        }
        Ok(issues)
    }
}

impl Store {
    /// Exports every issue to `path` atomically (a temporary file beside it, synced, then
    /// renamed over it); then, with `options.mark_clean`, clears the exported issues' dirty
    /// marks and records the file's hash, in the same transaction as the read so no change
    /// made meanwhile loses its dirty mark.
    pub fn export_jsonl(
        &self,
        path: impl AsRef<Path>,
        options: &ExportOptions,
    ) -> Result<ExportSummary> {
        let path = path.as_ref();
        let write = |tx: &ReadTxn<'_>| -> Result<(Rendered, ExportSummary, Option<FileStamp>)> {
            let rendered = tx.render_jsonl(options)?;
            let stamp = write_atomically_stamped(path, &rendered.text)?;
            let summary = ExportSummary {
                issues: rendered.ids.len(),
                bytes: rendered.text.len(),
                sha256: sha256_hex(&rendered.text),
            };
            Ok((rendered, summary, stamp))
        };
        if options.mark_clean && !self.is_read_only() {
            self.transaction(|tx| {
                let (rendered, summary, stamp) = write(tx)?;
                tx.mark_exported(&rendered.ids, &summary.sha256, stamp)?;
                Ok(summary)
            })
        } else {
            self.snapshot(|tx| write(tx).map(|(_, summary, _)| summary))
        }
    }
}

/// Replaces `path` with `bytes` so that a reader (or a crash) sees the old file or the new one,
/// never a mix: a temporary file in the same directory, fsynced, renamed over the target,
/// then the directory fsynced. An existing file's permissions are kept.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_stamped(path, bytes).map(drop)
}

/// [`write_atomically`], returning the stamp of the file written, or `None` when another
/// file already took its place.
pub(crate) fn write_atomically_stamped(path: &Path, bytes: &[u8]) -> Result<Option<FileStamp>> {
    fn io<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
        move |e| Error::io(op, path, e)
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io("create export directory", &dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "issues.jsonl".into());
    let temp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp).map_err(io("create export file", &temp))?;
        file.write_all(bytes)
            .map_err(io("write export file", &temp))?;
        if let Ok(existing) = std::fs::metadata(path) {
            file.set_permissions(existing.permissions())
                .map_err(io("set export file permissions", &temp))?;
        }
        file.sync_all().map_err(io("sync export file", &temp))?;
        let written = file.metadata().map_err(io("stat export file", &temp))?;
        std::fs::rename(&temp, path).map_err(io("replace export file", path))?;
        Ok(written)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    let written = result?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(FileStamp::of(path)
        .ok()
        .flatten()
        .filter(|now| now.is_same_file(&written)))
}

impl WriteTxn<'_> {
    /// Exported: the issues are no longer dirty, and the file is on record as in step (the
    /// metadata Go's flush writes), so neither Go bd nor beadstore imports it back.
    fn mark_exported(&self, ids: &[String], sha256: &str, stamp: Option<FileStamp>) -> Result<()> {
        self.clear_dirty_issues_by_id(ids)?;
        self.record_jsonl_in_step_stamped(sha256, stamp)
    }
}
