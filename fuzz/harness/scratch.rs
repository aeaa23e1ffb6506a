//! Where the harnesses put their files.

use std::path::PathBuf;

/// A temporary directory in memory (`/dev/shm`) where there is one, else the usual one: the
/// files are small, nothing here needs a disk, and every input makes several of them.
/// `BEADSTORE_FUZZ_TMP` names another place.
pub fn scratch_dir() -> tempfile::TempDir {
    let base = std::env::var_os("BEADSTORE_FUZZ_TMP")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()));
    match base {
        Some(base) => tempfile::tempdir_in(base),
        None => tempfile::tempdir(),
    }
    .expect("temp dir")
}
