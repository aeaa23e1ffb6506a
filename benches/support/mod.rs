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

/// Criterion settings: in quick mode 10 samples, 300 ms warm-up and `quick_measurement`; else
/// `full`.
pub fn config(
    quick_measurement: std::time::Duration,
    full: criterion::Criterion,
) -> criterion::Criterion {
    if quick() {
        criterion::Criterion::default()
            .sample_size(10)
            .warm_up_time(std::time::Duration::from_millis(300))
            .measurement_time(quick_measurement)
    } else {
        full
    }
}

/// What Go records for each created issue, as the C SQLite peers write it: a `created` event
/// by `actor` carrying `event_json`, and the dirty mark.
pub fn c_record_created(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    actor: &str,
    event_json: &str,
    now: &str,
) {
    tx.execute(
        "INSERT INTO events (issue_id, event_type, actor, new_value) VALUES (?, 'created', ?, ?)",
        rusqlite::params![id, actor, event_json],
    )
    .expect("event");
    tx.execute(
        "INSERT INTO dirty_issues (issue_id, marked_at) VALUES (?, ?) ON CONFLICT (issue_id) DO UPDATE SET marked_at = excluded.marked_at",
        rusqlite::params![id, now],
    )
    .expect("dirty");
}
