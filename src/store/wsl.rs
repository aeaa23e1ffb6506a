//! Detection of WSL2 paths where the Go store gave up on WAL (Windows drives, Docker Desktop mounts).
//!
//! Go beads switched such files to a rollback journal (GH#920, GH#1224). The engine has no
//! rollback journal and keeps its WAL index in process memory (no shared-memory file crosses the
//! 9P boundary), so beadstore keeps WAL there, never enables the engine's multi-process sidecar,
//! and logs the decision. The check is a pure function so it is tested on every machine.

/// True when `proc_version` (the text of `/proc/version`) says WSL and `path` is on a Windows
/// drive (`/mnt/<letter>/...`) or under `/mnt/wsl/`.
pub fn is_wsl2_windows_path(proc_version: &str, path: &str) -> bool {
    let version = proc_version.to_ascii_lowercase();
    if !(version.contains("microsoft") || version.contains("wsl")) {
        return false;
    }
    if path.starts_with("/mnt/wsl/") {
        return true;
    }
    let bytes = path.as_bytes();
    bytes.len() >= 7
        && bytes.starts_with(b"/mnt/")
        && bytes[5].is_ascii_alphabetic()
        && bytes[6] == b'/'
}

/// Reads `/proc/version` (empty when unreadable) and applies [`is_wsl2_windows_path`].
pub(crate) fn on_wsl2_windows_path(path: &str) -> bool {
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    is_wsl2_windows_path(&version, path)
}
