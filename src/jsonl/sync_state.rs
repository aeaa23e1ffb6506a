//! What the database records about the JSONL it last imported or wrote, under the `metadata`
//! keys Go bd uses, so that Go bd and beadstore both tell a file they already hold from one a
//! `git pull` changed: the file's SHA-256 (`jsonl_content_hash`, `jsonl_file_hash`) and when
//! it was last in step (`last_import_time`, Go's RFC 3339 with nanoseconds). In a multi-repo
//! setup each additional repository has its own `jsonl_content_hash:<repo>` and
//! `last_import_time:<repo>`, as Go's daemon writes them.

use std::path::Path;

use chrono::{DateTime, FixedOffset};

use super::export::sha256_hex;
use crate::error::{Error, Result};
use crate::store::{ReadTxn, WriteTxn};
use beadstore_macros::store_ops;

/// The SHA-256 of the JSONL last imported or written (Go renamed it from `last_import_hash`).
pub const CONTENT_HASH_KEY: &str = "jsonl_content_hash";
/// The name Go used for [`CONTENT_HASH_KEY`] before; still read when the new one is empty.
pub const LEGACY_CONTENT_HASH_KEY: &str = "last_import_hash";
/// The SHA-256 Go checks the file against before an incremental flush.
pub const FILE_HASH_KEY: &str = "jsonl_file_hash";
/// When the database was last in step with the file, in RFC 3339 with nanoseconds.
pub const LAST_IMPORT_TIME_KEY: &str = "last_import_time";
/// beadstore's own key (Go ignores it): the file's identity, size and times when it last held
/// [`CONTENT_HASH_KEY`]'s content, so that a command finds an untouched file in step without
/// reading and hashing it.
pub const FILE_STAMP_KEY: &str = "beadstore_jsonl_stamp";

/// A file's device, inode, size, modification and change times. Any write to the file or
/// rename onto its path changes at least one of them (the change time cannot be set from
/// user space), so an equal stamp means the same bytes, except for an in-place write of the
/// same size within one tick of the kernel's coarse clock after the stamp was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileStamp {
    fn from_metadata(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The stamp of the file at `path` (following a symlink, as reading it does); `None` when
    /// there is no file.
    pub(crate) fn of(path: &Path) -> Result<Option<FileStamp>> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some(FileStamp::from_metadata(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("stat JSONL", path, e)),
        }
    }

    /// Whether this stamp is of the file `meta` describes (same device and inode).
    pub(crate) fn is_same_file(&self, meta: &std::fs::Metadata) -> bool {
        let other = FileStamp::from_metadata(meta);
        (self.dev, self.ino) == (other.dev, other.ino)
    }

    /// The record of this stamp vouching for content whose SHA-256 is `sha256`.
    fn record(&self, sha256: &str) -> String {
        format!(
            "{sha256} {} {} {} {} {}",
            self.dev, self.ino, self.size, self.mtime_ns, self.ctime_ns
        )
    }
}

/// Reads a file and stamps it; the stamp is `None` when the file changed while it was read.
pub(crate) fn read_stamped(path: &Path) -> Result<Option<(Vec<u8>, Option<FileStamp>)>> {
    let Some(before) = FileStamp::of(path)? else {
        return Ok(None);
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read JSONL", path, e)),
    };
    let after = FileStamp::of(path)?;
    Ok(Some((bytes, (after == Some(before)).then_some(before))))
}

/// What the database recorded about its JSONL (empty strings for keys never set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonlSyncState {
    /// `jsonl_content_hash` (or the older `last_import_hash`).
    pub content_hash: String,
    /// `last_import_time`, as written.
    pub last_import_time: String,
}

/// How a JSONL file on disk compares with what the database recorded: Go bd's two checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonlStaleness {
    /// SHA-256 of the file now.
    pub file_hash: String,
    /// The file's content differs from what was last imported or written (Go's
    /// `autoImportIfNewer`): an import is due.
    pub content_changed: bool,
    /// The file was modified after `last_import_time` (Go's `CheckStaleness`, which its read
    /// commands use); false when no time is recorded.
    pub modified_after_import: bool,
}

/// A metadata key for one repository of a multi-repo setup: `base:<repo>` with any `:` in the
/// repository's key made `_` (Windows drive letters), or `base` itself for `None`.
pub fn repo_metadata_key(base: &str, repo: Option<&str>) -> String {
    match repo {
        Some(repo) if !repo.is_empty() => format!("{base}:{}", repo.replace(':', "_")),
        _ => base.to_owned(),
    }
}

/// The key Go bd's daemon gives a configured repository path: the path as written when
/// joining it with `.beads/issues.jsonl` keeps it as written (so `.`, the usual primary, and
/// any path with `./`, `//` or a trailing `/` get none and share the plain keys).
pub fn go_repo_key(configured: &str) -> Option<&str> {
    let joined = go_clean(&format!("{configured}/.beads/issues.jsonl"));
    let repo = joined.strip_suffix("/.beads/issues.jsonl")?;
    (repo == configured).then_some(configured)
}

/// Go's `filepath.Clean` on a Unix path: the shortest lexically equal path.
fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Parses a `last_import_time` as Go does: RFC 3339, with or without fractional seconds.
pub fn parse_import_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text.trim()).ok()
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// What the database recorded about the JSONL of `repo` (`None`: the primary).
    pub fn jsonl_sync_state(&self, repo: Option<&str>) -> Result<JsonlSyncState> {
        let mut content_hash = self
            .get_metadata(&repo_metadata_key(CONTENT_HASH_KEY, repo))?
            .unwrap_or_default();
        if content_hash.is_empty() && repo.is_none() {
            content_hash = self
                .get_metadata(LEGACY_CONTENT_HASH_KEY)?
                .unwrap_or_default();
        }
        Ok(JsonlSyncState {
            content_hash,
            last_import_time: self
                .get_metadata(&repo_metadata_key(LAST_IMPORT_TIME_KEY, repo))?
                .unwrap_or_default(),
        })
    }

    /// How the primary JSONL at `path` compares with the record (`None`: no file there).
    pub fn jsonl_staleness(&self, path: &Path) -> Result<Option<JsonlStaleness>> {
        let Some((bytes, modified)) = read_with_mtime(path)? else {
            return Ok(None);
        };
        let state = self.jsonl_sync_state(None)?;
        let file_hash = sha256_hex(&bytes);
        let modified_after_import = parse_import_time(&state.last_import_time)
            .is_some_and(|at| modified > at.with_timezone(&chrono::Utc));
        Ok(Some(JsonlStaleness {
            content_changed: file_hash != state.content_hash,
            file_hash,
            modified_after_import,
        }))
    }
}

impl ReadTxn<'_> {
    /// Whether the file stamped `stamp` is the one the database last recorded as in step,
    /// known without reading it.
    pub(crate) fn stamp_says_in_step(&self, stamp: &FileStamp) -> Result<bool> {
        let rows = self.query(
            "SELECT key, value FROM metadata WHERE key IN (?, ?)",
            &[CONTENT_HASH_KEY.into(), FILE_STAMP_KEY.into()],
        )?;
        let value = |key: &str| {
            rows.iter()
                .find(|r| r.first().and_then(|k| k.as_str()) == Some(key))
                .and_then(|r| r.value(1).and_then(|v| v.as_str()))
                .unwrap_or("")
        };
        let hash = value(CONTENT_HASH_KEY);
        Ok(!hash.is_empty() && value(FILE_STAMP_KEY) == stamp.record(hash))
    }
}

/// The file's bytes and its own modification time (a symlink's, not its target's, as Go's
/// `Lstat`); `None` when there is no file.
pub(crate) fn read_with_mtime(path: &Path) -> Result<Option<(Vec<u8>, DateTime<chrono::Utc>)>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("stat JSONL", path, e)),
    };
    let modified = meta
        .modified()
        .map_err(|e| Error::io("read JSONL modification time", path, e))?;
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some((bytes, modified.into()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read JSONL", path, e)),
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Records a multi-repo export of one repository's JSONL the way Go's daemon does: the
    /// content hash and time under that repository's keys (the plain keys for a repository
    /// without one, see [`go_repo_key`]).
    pub fn record_repo_jsonl_written(&self, repo: Option<&str>, sha256: &str) -> Result<()> {
        self.set_metadata(&repo_metadata_key(CONTENT_HASH_KEY, repo), sha256)?;
        self.set_metadata(
            &repo_metadata_key(LAST_IMPORT_TIME_KEY, repo),
            &crate::time::now_rfc3339(),
        )
    }

    /// Records that the database and the primary JSONL, whose SHA-256 is `sha256`, are in
    /// step now: what Go's import and flush write (`jsonl_content_hash`, `jsonl_file_hash`,
    /// `last_import_time`).
    pub fn record_jsonl_in_step(&self, sha256: &str) -> Result<()> {
        self.record_jsonl_in_step_stamped(sha256, None)
    }
}

impl WriteTxn<'_> {
    /// [`WriteTxn::record_jsonl_in_step`], with the stamp of the file that holds it (none:
    /// the next check reads the file).
    pub(crate) fn record_jsonl_in_step_stamped(
        &self,
        sha256: &str,
        stamp: Option<FileStamp>,
    ) -> Result<()> {
        self.set_metadata(CONTENT_HASH_KEY, sha256)?;
        self.set_metadata(FILE_HASH_KEY, sha256)?;
        self.set_metadata(
            FILE_STAMP_KEY,
            &stamp.map(|s| s.record(sha256)).unwrap_or_default(),
        )?;
        self.set_metadata(LAST_IMPORT_TIME_KEY, &crate::time::now_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_keys_follow_go_path_cleaning() {
        assert_eq!(
            go_repo_key("."),
            None,
            "the usual primary shares the plain keys"
        );
        assert_eq!(go_repo_key("../frontend"), Some("../frontend"));
        assert_eq!(go_repo_key("/abs/repo"), Some("/abs/repo"));
        assert_eq!(go_repo_key("~/work/other"), Some("~/work/other"));
        assert_eq!(go_repo_key("./x"), None);
        assert_eq!(go_repo_key("x/"), None);
        assert_eq!(go_repo_key("a/../b"), None);
        assert_eq!(
            repo_metadata_key(CONTENT_HASH_KEY, Some("C:\\repo")),
            "jsonl_content_hash:C_\\repo"
        );
        assert_eq!(
            repo_metadata_key(LAST_IMPORT_TIME_KEY, None),
            "last_import_time"
        );
    }

    #[test]
    fn go_clean_is_lexical() {
        for (input, want) in [
            ("", "."),
            ("a//b/./c/", "a/b/c"),
            ("../../x", "../../x"),
            ("/../x", "/x"),
            ("a/b/../../..", ".."),
            ("/", "/"),
        ] {
            assert_eq!(go_clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn import_times_parse_with_and_without_nanoseconds() {
        assert!(parse_import_time("2026-01-02T03:04:05.123456789+01:00").is_some());
        assert!(parse_import_time("2026-01-02T03:04:05Z").is_some());
        assert!(parse_import_time("yesterday").is_none());
    }
}
