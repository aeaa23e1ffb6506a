//! WSL2 path detection (Go store_wsl_test.go intent, GH#920, GH#1224) as a pure function.

use beadstore::store::wsl::is_wsl2_windows_path;
use beadstore::Store;

const WSL: &str = "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP";
const WSL1: &str =
    "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0)";
const PLAIN: &str = "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)";

#[test]
fn windows_drives_and_docker_desktop_mounts_are_detected_on_wsl() {
    let detected = [
        "/mnt/c/Users/dev/project/.beads/beads.db",
        "/mnt/d/beads.db",
        "/mnt/Z/work/.beads/beads.db",
        "/mnt/wsl/docker-desktop-bind-mounts/Ubuntu/abc/.beads/beads.db",
        "/mnt/wsl/docker-desktop/x.db",
        "/mnt/wsl/shared/beads.db",
    ];
    let not_detected = [
        "/home/dev/project/.beads/beads.db",
        "/tmp/beads.db",
        "/mnt/nfs/beads.db",
        "/mnt/wsls/beads.db",
        "/mnt/cc/beads.db",
        "/mnt/c",
        "/mnt/1/beads.db",
        "mnt/c/beads.db",
        "file:/mnt/c/beads.db",
        "",
    ];
    for version in [WSL, WSL1, "WSL"] {
        for p in detected {
            assert!(is_wsl2_windows_path(version, p), "{p} on {version:?}");
        }
        for p in not_detected {
            assert!(!is_wsl2_windows_path(version, p), "{p} on {version:?}");
        }
    }
}

#[test]
fn nothing_is_detected_off_wsl() {
    for version in [PLAIN, "", "Darwin"] {
        for p in [
            "/mnt/c/beads.db",
            "/mnt/wsl/shared/beads.db",
            "/home/x/beads.db",
        ] {
            assert!(!is_wsl2_windows_path(version, p));
        }
    }
    // On this machine: if it is not WSL, no path is detected with its real /proc/version.
    let real = std::fs::read_to_string("/proc/version").unwrap_or_default();
    let lower = real.to_lowercase();
    if !(lower.contains("microsoft") || lower.contains("wsl")) {
        assert!(!is_wsl2_windows_path(&real, "/mnt/c/beads.db"));
    }
}

#[test]
fn journal_mode_is_wal_for_every_file_store() {
    // The engine has only a WAL; beadstore keeps it everywhere (see docs/design.md).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("b.db").to_str().unwrap()).unwrap();
    assert_eq!(store.journal_mode().unwrap(), "wal");
}
