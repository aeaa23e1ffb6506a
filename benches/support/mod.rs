//! What the storage and JSONL benches share: quick mode, where fixtures live, and how both
//! peers get a fresh database.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use beadstore::{FreshnessMode, OpenOptions, Store};

/// `BEADSTORE_BENCH_QUICK` set: fewer samples, a run of every bench in a few minutes.
pub fn quick() -> bool {
    std::env::var_os("BEADSTORE_BENCH_QUICK").is_some()
}

/// `target/bench-fixtures/<name>`, created.
pub fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-fixtures")
        .join(name);
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

/// A store on `path` with no freshness checks (nothing replaces bench files).
pub fn open(path: &Path) -> Store {
    Store::open_with(
        path.to_str().expect("utf-8"),
        OpenOptions::new().freshness(FreshnessMode::Off),
    )
    .expect("open")
}

/// A new empty beads database at `path` with prefix `bd` (both peers start from it).
pub fn fresh(path: &Path) {
    for suffix in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let store = open(path);
    store.set_config("issue_prefix", "bd").expect("prefix");
    store.close().expect("close");
}
