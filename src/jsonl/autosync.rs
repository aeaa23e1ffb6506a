//! The loop Go bd runs around its commands to keep the database and the project's
//! `issues.jsonl` in step through git: before a command, import the file when its content is
//! not what the database last imported or wrote (a `git pull` changed it); after a write,
//! flush the dirty issues into the file, merged with what it holds, wisps left out, written
//! atomically, with the sync metadata updated.
//!
//! Both steps run in one write transaction that reads the file again under the lock, so two
//! processes never flush over each other. Lines of the file this database has nothing newer
//! for are kept byte for byte (fields this version does not know survive), and a flush never
//! drops a line it cannot read: a malformed line or a git conflict marker is an
//! `Error::Jsonl` and the file is left as it is.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::export::{append_line, sha256_hex, write_atomically_stamped, ExportOptions};
use super::import::{ImportOptions, ImportSummary};
use super::read::read_issues;
use super::sync_state::{read_stamped, FileStamp};
use crate::error::{Error, Result};
use crate::model::Issue;
use crate::store::{ReadTxn, Store, WriteTxn};

/// What [`Store::import_jsonl_if_changed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AutoImport {
    /// There is no file at the path.
    NoFile,
    /// The file holds what the database last imported or wrote: nothing to do.
    InStep,
    /// The file changed, but this store is read-only: an import is due.
    Due,
    /// The file was imported; `rewrote` when it was then rewritten to hold what only the
    /// database had (issues or edits not in the file, deletions), so both are in step.
    Imported {
        /// What the import did.
        summary: ImportSummary,
        /// Whether the file was rewritten after the import.
        rewrote: bool,
    },
}

/// What [`Store::flush_dirty_to_jsonl`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushSummary {
    /// Dirty issues written into the file (new or changed lines).
    pub written: usize,
    /// Lines taken out: issues deleted from the database, or wisps.
    pub removed: usize,
    /// Whether the file was rewritten (false when nothing was dirty or nothing changed).
    pub wrote_file: bool,
    /// The file held changes the database has not imported: the flush kept them, did not
    /// record the file as in step, and an import is still due. Not looked at (false) when
    /// nothing was dirty.
    pub import_still_due: bool,
}

/// What [`Store::sync_jsonl`] did: the import when the file changed, then the flush.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncSummary {
    /// The import step.
    pub import: AutoImport,
    /// The flush step.
    pub flush: FlushSummary,
}

/// The JSONL file Go bd uses in a `.beads` directory: `issues.jsonl`, else the older
/// `beads.jsonl`, else the first other `*.jsonl` that is not a deletions manifest, an
/// interactions log or a merge artifact; `issues.jsonl` when there is none.
pub fn find_jsonl_in_dir(dir: &Path) -> std::path::PathBuf {
    const NOT_ISSUES: [&str; 5] = [
        "deletions.jsonl",
        "interactions.jsonl",
        "beads.base.jsonl",
        "beads.left.jsonl",
        "beads.right.jsonl",
    ];
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    names.sort();
    let pick = ["issues.jsonl", "beads.jsonl"]
        .into_iter()
        .find(|want| names.iter().any(|n| n == want))
        .map(str::to_owned)
        .or_else(|| {
            names
                .into_iter()
                .find(|n| !NOT_ISSUES.contains(&n.as_str()))
        })
        .unwrap_or_else(|| "issues.jsonl".to_owned());
    dir.join(pick)
}

/// One issue line of the file: its bytes as they are, and whether it is a wisp.
struct FileLine {
    raw: Vec<u8>,
    ephemeral: bool,
}

/// The fields a flush needs from a line to merge it without re-encoding it.
#[derive(Deserialize)]
struct LineHead {
    id: String,
    #[serde(default)]
    ephemeral: bool,
}

/// The head of a line as bd and beadstore write it (`{"id":"...` first, no escape in the
/// id, no `"ephemeral"` key anywhere), without parsing the rest; `None` for any other line,
/// which is parsed in full. A quote inside a JSON string is always escaped, so `"ephemeral"`
/// can only appear as a key: a line without it is not a wisp. Such a line's other fields are
/// not checked here; the file's import checks every line.
fn quick_head(line: &[u8]) -> Option<LineHead> {
    const START: &[u8] = b"{\"id\":\"";
    const EPHEMERAL: &[u8] = b"\"ephemeral\"";
    let rest = line.strip_prefix(START)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[end] != b'"' || line.windows(EPHEMERAL.len()).any(|w| w == EPHEMERAL) {
        return None;
    }
    Some(LineHead {
        id: std::str::from_utf8(&rest[..end]).ok()?.to_owned(),
        ephemeral: false,
    })
}

/// The issue lines of a JSONL file by id (the first of a repeated id, as an import takes).
struct FileLines {
    by_id: BTreeMap<String, FileLine>,
}

impl FileLines {
    fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let mut by_id = BTreeMap::new();
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let bad = |message: String| Error::Jsonl {
                path: path.to_path_buf(),
                line: index + 1,
                message,
            };
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"#") {
                continue;
            }
            if trimmed.starts_with(b"<<<<<<< ")
                || trimmed == b"======="
                || trimmed.starts_with(b">>>>>>> ")
            {
                return Err(bad(
                    "an unresolved git merge conflict marker: resolve the conflict, or write the file again from the database with `beadstore export -o`".into(),
                ));
            }
            let head = match quick_head(trimmed) {
                Some(head) => head,
                None => serde_json::from_slice(trimmed).map_err(|e| bad(e.to_string()))?,
            };
            by_id.entry(head.id).or_insert_with(|| FileLine {
                raw: line.strip_suffix(b"\r").unwrap_or(line).to_vec(),
                ephemeral: head.ephemeral,
            });
        }
        Ok(FileLines { by_id })
    }

    /// The file's text: every line but the wisps', sorted by id.
    fn text(&self) -> Vec<u8> {
        let mut text = Vec::new();
        for line in self.by_id.values().filter(|l| !l.ephemeral) {
            text.extend_from_slice(&line.raw);
            text.push(b'\n');
        }
        text
    }
}

/// The file's bytes, or `None` when there is none.
fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read JSONL", path, e)),
    }
}

/// Writes `text` over the file when it differs from `old` (read with `old_stamp`); returns
/// whether it did, and the stamp of the file that holds `text` now.
fn write_if_changed(
    path: &Path,
    old: &[u8],
    old_stamp: Option<FileStamp>,
    text: &[u8],
) -> Result<(bool, Option<FileStamp>)> {
    if old == text {
        return Ok((false, old_stamp));
    }
    Ok((true, write_atomically_stamped(path, text)?))
}

/// The export line of one issue.
fn line_of(issue: &Issue, options: &ExportOptions) -> Result<Vec<u8>> {
    let mut line = Vec::with_capacity(512);
    append_line(&mut line, issue, options.html)?;
    line.pop();
    Ok(line)
}

/// Whether a line of the file says what `rendered` (the database's line) says: the same
/// bytes, or the same once read and written again (a field order or escaping of its own).
fn says_the_same(raw: &[u8], rendered: &[u8], options: &ExportOptions) -> bool {
    raw == rendered
        || serde_json::from_slice::<Issue>(raw)
            .ok()
            .and_then(|issue| line_of(&issue, options).ok())
            .is_some_and(|again| again == rendered)
}

impl ReadTxn<'_> {
    /// Rewrites the file's lines from the whole database: every issue it has (wisps taken
    /// out), the file's own bytes kept where they say what the database says, and the
    /// lines of issues the database does not have kept as they are. Returns the ids written
    /// from the database.
    fn merge_everything(&self, file: &mut FileLines) -> Result<Vec<String>> {
        let options = ExportOptions::default().include_ephemeral(true);
        let mut written = Vec::new();
        for issue in self.issues_for_export(&options)? {
            if issue.ephemeral {
                file.by_id.remove(&issue.id);
                continue;
            }
            let rendered = line_of(&issue, &options)?;
            let keep = file
                .by_id
                .get(&issue.id)
                .is_some_and(|line| says_the_same(&line.raw, &rendered, &options));
            if !keep {
                file.by_id.insert(
                    issue.id.clone(),
                    FileLine {
                        raw: rendered,
                        ephemeral: false,
                    },
                );
            }
            written.push(issue.id);
        }
        Ok(written)
    }

    /// Puts the dirty issues into the file's lines: changed or new ones written from the
    /// database, deleted ones and wisps taken out. Returns (ids handled, written, removed).
    fn merge_dirty(&self, file: &mut FileLines) -> Result<(Vec<String>, usize, usize)> {
        let dirty = self.get_dirty_issues()?;
        let options = ExportOptions::default().include_ephemeral(true);
        let mut current: BTreeMap<String, Issue> = self
            .issues_for_export_by_ids(&dirty, &options)?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
        let (mut written, mut removed) = (0, 0);
        for id in &dirty {
            match current.remove(id) {
                Some(issue) if !issue.ephemeral => {
                    let rendered = line_of(&issue, &options)?;
                    let unchanged = file.by_id.get(id).is_some_and(|l| l.raw == rendered);
                    if !unchanged {
                        written += 1;
                        file.by_id.insert(
                            id.clone(),
                            FileLine {
                                raw: rendered,
                                ephemeral: false,
                            },
                        );
                    }
                }
                _ => removed += usize::from(file.by_id.remove(id).is_some()),
            }
        }
        Ok((dirty, written, removed))
    }
}

impl Store {
    /// Imports the project JSONL at `path` when its content is not what the database last
    /// imported or wrote (`jsonl_content_hash`, as Go's auto-import compares), then writes
    /// back into it whatever only the database has, so both end in step. A file whose stamp
    /// (device, inode, size, times) is the one recorded with the hash is in step without
    /// being read. Otherwise a read-write store reads, compares and imports in one write
    /// transaction (a process that lost the race finds the file in step, and records its
    /// stamp); a read-only store compares the hash and reports an import [`AutoImport::Due`].
    pub fn import_jsonl_if_changed(
        &self,
        path: impl AsRef<Path>,
        options: &ImportOptions,
    ) -> Result<AutoImport> {
        let path = path.as_ref();
        let Some(stamp) = FileStamp::of(path)? else {
            return Ok(AutoImport::NoFile);
        };
        if self.snapshot(|tx| tx.stamp_says_in_step(&stamp))? {
            return Ok(AutoImport::InStep);
        }
        if !self.is_read_only() {
            // Under the write lock: imports when the content changed, and otherwise records
            // the stamp so the next command need not read the file.
            return self.transaction(|tx| tx.import_changed_jsonl(path, options));
        }
        let Some(bytes) = read_file(path)? else {
            return Ok(AutoImport::NoFile);
        };
        if self.jsonl_sync_state(None)?.content_hash == sha256_hex(&bytes) {
            return Ok(AutoImport::InStep);
        }
        Ok(AutoImport::Due)
    }

    /// Flushes the dirty issues into the JSONL at `path` (see the module docs). With nothing
    /// dirty the file is not even read; with no file, every issue is written.
    pub fn flush_dirty_to_jsonl(&self, path: impl AsRef<Path>) -> Result<FlushSummary> {
        let path = path.as_ref();
        if self.get_dirty_issue_count()? == 0 && path.exists() {
            return Ok(FlushSummary::default());
        }
        self.transaction(|tx| tx.flush_dirty_to_jsonl(path))
    }

    /// `bd sync` without git: imports the JSONL when it changed, then flushes what is dirty.
    pub fn sync_jsonl(
        &self,
        path: impl AsRef<Path>,
        options: &ImportOptions,
    ) -> Result<SyncSummary> {
        let path = path.as_ref();
        let import = self.import_jsonl_if_changed(path, options)?;
        let flush = self.flush_dirty_to_jsonl(path)?;
        Ok(SyncSummary { import, flush })
    }
}

impl WriteTxn<'_> {
    /// The write half of [`Store::import_jsonl_if_changed`], under the lock.
    fn import_changed_jsonl(&self, path: &Path, options: &ImportOptions) -> Result<AutoImport> {
        let Some((bytes, stamp)) = read_stamped(path)? else {
            return Ok(AutoImport::NoFile);
        };
        let sha256 = sha256_hex(&bytes);
        if self.jsonl_sync_state(None)?.content_hash == sha256 {
            // In step already (another process imported it): vouch for this file's stamp.
            self.record_jsonl_in_step_stamped(&sha256, stamp)?;
            return Ok(AutoImport::InStep);
        }
        let mut file = FileLines::parse(&bytes, path)?;
        let source = path.display().to_string();
        let summary =
            self.import_issues(read_issues(bytes.as_slice(), &source)?, &source, options)?;
        let written = self.merge_everything(&mut file)?;
        let text = file.text();
        let (rewrote, stamp) = write_if_changed(path, &bytes, stamp, &text)?;
        self.clear_dirty_issues_by_id(&written)?;
        self.record_jsonl_in_step_stamped(&sha256_hex(&text), stamp)?;
        Ok(AutoImport::Imported { summary, rewrote })
    }

    /// The write half of [`Store::flush_dirty_to_jsonl`], under the lock.
    fn flush_dirty_to_jsonl(&self, path: &Path) -> Result<FlushSummary> {
        let Some((bytes, old_stamp)) = read_stamped(path)? else {
            // No file yet: all of the database goes in.
            let mut file = FileLines {
                by_id: BTreeMap::new(),
            };
            let written = self.merge_everything(&mut file)?;
            let text = file.text();
            let stamp = write_atomically_stamped(path, &text)?;
            self.clear_dirty_issues_by_id(&self.get_dirty_issues()?)?;
            self.record_jsonl_in_step_stamped(&sha256_hex(&text), stamp)?;
            return Ok(FlushSummary {
                written: written.len(),
                removed: 0,
                wrote_file: true,
                import_still_due: false,
            });
        };
        let was_in_step = match old_stamp {
            Some(stamp) if self.stamp_says_in_step(&stamp)? => true,
            _ => self.jsonl_sync_state(None)?.content_hash == sha256_hex(&bytes),
        };
        let mut file = FileLines::parse(&bytes, path)?;
        let (dirty, written, removed) = self.merge_dirty(&mut file)?;
        let text = file.text();
        let (wrote_file, stamp) = write_if_changed(path, &bytes, old_stamp, &text)?;
        self.clear_dirty_issues_by_id(&dirty)?;
        if was_in_step {
            self.record_jsonl_in_step_stamped(&sha256_hex(&text), stamp)?;
        }
        Ok(FlushSummary {
            written,
            removed,
            wrote_file,
            import_still_due: !was_in_step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_keyed_by_id_and_wisps_left_out() {
        let text = b"{\"id\":\"b-2\",\"title\":\"two\"}\n\n# note\n{\"id\":\"b-1\",\"x\":1}\r\n{\"id\":\"w-1\",\"ephemeral\":true}\n{\"id\":\"b-1\",\"dup\":true}\n";
        let file = FileLines::parse(text, Path::new("i.jsonl")).unwrap();
        assert_eq!(
            String::from_utf8(file.text()).unwrap(),
            "{\"id\":\"b-1\",\"x\":1}\n{\"id\":\"b-2\",\"title\":\"two\"}\n"
        );
    }

    #[test]
    fn the_quick_head_reads_only_lines_it_cannot_misread() {
        let head = quick_head(br#"{"id":"bd-1","title":"says \"ephemeral\" in text"}"#);
        assert_eq!(head.map(|h| h.id), Some("bd-1".to_owned()));
        assert!(quick_head(br#"{"id":"bd-2","ephemeral":true}"#).is_none());
        assert!(quick_head(br#"{"id":"bd-\u0033"}"#).is_none());
        assert!(quick_head(br#"{"title":"x","id":"bd-4"}"#).is_none());
        let file = FileLines::parse(
            b"{\"id\":\"w\", \"ephemeral\" : true}\n{\"id\":\"bd-\\u0033\"}\n",
            Path::new("i.jsonl"),
        )
        .unwrap();
        assert_eq!(file.by_id.keys().collect::<Vec<_>>(), ["bd-3", "w"]);
        assert_eq!(
            String::from_utf8(file.text()).unwrap(),
            "{\"id\":\"bd-\\u0033\"}\n"
        );
    }

    #[test]
    fn conflict_markers_and_bad_lines_are_refused_with_their_line() {
        for (text, line) in [
            (&b"{\"id\":\"a\"}\n<<<<<<< HEAD\n"[..], 2),
            (b"=======\n", 1),
            (b"{\"id\":\"a\"}\n{\"id\":\n", 2),
            (b"{\"title\":\"no id\"}\n", 1),
        ] {
            match FileLines::parse(text, Path::new("i.jsonl")) {
                Err(Error::Jsonl { line: got, .. }) => assert_eq!(got, line),
                other => panic!("{:?}: {:?}", String::from_utf8_lossy(text), other.err()),
            }
        }
    }

    #[test]
    fn the_go_jsonl_is_found_as_go_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            find_jsonl_in_dir(dir.path()),
            dir.path().join("issues.jsonl")
        );
        std::fs::write(dir.path().join("deletions.jsonl"), "").unwrap();
        assert_eq!(
            find_jsonl_in_dir(dir.path()),
            dir.path().join("issues.jsonl")
        );
        std::fs::write(dir.path().join("other.jsonl"), "").unwrap();
        assert_eq!(
            find_jsonl_in_dir(dir.path()),
            dir.path().join("other.jsonl")
        );
        std::fs::write(dir.path().join("beads.jsonl"), "").unwrap();
        assert_eq!(
            find_jsonl_in_dir(dir.path()),
            dir.path().join("beads.jsonl")
        );
        std::fs::write(dir.path().join("issues.jsonl"), "").unwrap();
        assert_eq!(
            find_jsonl_in_dir(dir.path()),
            dir.path().join("issues.jsonl")
        );
    }
}
