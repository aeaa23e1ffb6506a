//! What identifies one version of a file on disk: which inode the path names, that inode's size
//! and times, and (for the file a store has open) its header bytes. Plain data, below both the
//! registry of open files and the freshness checks that use it.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A `stat` of the database path (symlinks followed), reduced to what detects a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i128,
    pub(crate) ctime_ns: i128,
}

impl FileStamp {
    /// The stamp of `path` now; `Ok(None)` when nothing is there (deleted, or mid-replace).
    pub(crate) fn of(path: &Path) -> io::Result<Option<FileStamp>> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(FileStamp::of_metadata(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The stamp of an open file (`fstat`: no path lookup).
    pub(crate) fn of_open(file: &std::fs::File) -> io::Result<FileStamp> {
        Ok(FileStamp::of_metadata(&file.metadata()?))
    }

    fn of_metadata(m: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        }
    }

    /// The (device, inode) pair: which file the path names.
    pub(crate) fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    /// True when both stamps name the same inode.
    pub(crate) fn same_file(&self, other: &FileStamp) -> bool {
        self.id() == other.id()
    }
}

/// The first bytes of a SQLite file: they change when another database is copied over it.
pub(crate) type Header = [u8; 100];

/// One version of the database file: its stamp and, for the file the store has open, its
/// header bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) stamp: FileStamp,
    pub(crate) header: Option<Header>,
}
