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

/// The tables and columns the Go store probes on every open (reference §5).
pub const GO_PROBE: &[&str] = &[
    "SELECT id, title, description, design, acceptance_criteria, notes, status, priority, issue_type, assignee, estimated_minutes, created_at, updated_at, closed_at, content_hash, external_ref, compaction_level, compacted_at, compacted_at_commit, original_size, source_repo, close_reason, deleted_at, deleted_by, delete_reason, original_type, sender, ephemeral, pinned FROM issues LIMIT 0",
    "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id FROM dependencies LIMIT 0",
    "SELECT issue_id, label FROM labels LIMIT 0",
    "SELECT id, issue_id, author, text, created_at FROM comments LIMIT 0",
    "SELECT id, issue_id, event_type, actor, old_value, new_value, comment, created_at FROM events LIMIT 0",
    "SELECT key, value FROM config LIMIT 0",
    "SELECT key, value FROM metadata LIMIT 0",
    "SELECT issue_id, marked_at FROM dirty_issues LIMIT 0",
    "SELECT issue_id, content_hash, exported_at FROM export_hashes LIMIT 0",
    "SELECT parent_id, last_child FROM child_counters LIMIT 0",
    "SELECT id, issue_id, snapshot_time, compaction_level, original_size, compressed_size, original_content, archived_events FROM issue_snapshots LIMIT 0",
    "SELECT id, issue_id, compaction_level, snapshot_json, created_at FROM compaction_snapshots LIMIT 0",
    "SELECT repo_path, jsonl_path, mtime_ns, last_checked FROM repo_mtimes LIMIT 0",
];

/// A C SQLite connection opened as the Go store opens one: its pragmas and its schema probe.
pub fn c_open_go(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("sqlite open");
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL;",
    )
    .expect("pragmas");
    for probe in GO_PROBE {
        let mut stmt = conn.prepare(probe).expect("probe");
        let mut rows = stmt.query([]).expect("probe run");
        std::hint::black_box(rows.next().expect("probe step").is_none());
    }
    conn
}

/// Go's ready-work query (`GetReadyWork` through the blocked cache, default filter and sort).
pub const GO_READY_SQL: &str = "SELECT i.*
  FROM issues i
 WHERE i.pinned = 0 AND (i.ephemeral = 0 OR i.ephemeral IS NULL) AND i.status IN ('open', 'in_progress')
   AND i.issue_type NOT IN ('merge-request', 'gate', 'molecule', 'message', 'agent', 'role', 'rig')
   AND i.id NOT LIKE '%-mol-%' AND i.id NOT LIKE '%-wisp-%'
   AND (i.defer_until IS NULL OR datetime(i.defer_until) <= datetime('now'))
   AND NOT EXISTS (SELECT 1 FROM blocked_issues_cache c WHERE c.issue_id = i.id)
 ORDER BY CASE WHEN datetime(i.created_at) >= datetime('now', '-48 hours') THEN 0 ELSE 1 END,
          CASE WHEN datetime(i.created_at) >= datetime('now', '-48 hours') THEN i.priority END, i.created_at";

/// Go's `CreateIssue` for one issue with a known id, in `tx`: the prefix, the adaptive id length
/// inputs (top-level issues under the prefix and its three settings), the id check, the row, the
/// created event and the dirty mark.
pub fn c_create_issue(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    title: &str,
    actor: &str,
    now: &str,
) {
    use std::hint::black_box;
    let prefix: String = tx
        .query_row(
            "SELECT value FROM config WHERE key = 'issue_prefix'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_default();
    let top_level: i64 = tx
        .query_row(
            "SELECT count(*) FROM issues WHERE id LIKE ?1 || '-%' AND instr(substr(id, length(?1) + 2), '.') = 0",
            [&prefix],
            |r| r.get(0),
        )
        .expect("count");
    for key in ["max_collision_prob", "min_hash_length", "max_hash_length"] {
        let setting: Option<String> = tx
            .query_row("SELECT value FROM config WHERE key = ?", [key], |r| {
                r.get(0)
            })
            .ok();
        black_box(setting);
    }
    let exists: i64 = tx
        .query_row("SELECT count(*) FROM issues WHERE id = ?", [id], |r| {
            r.get(0)
        })
        .expect("check");
    black_box((prefix, top_level, exists));
    tx.execute(
        "INSERT INTO issues (id, content_hash, title, description, status, priority, issue_type, created_at, updated_at) VALUES (?, 'h', ?, 'A new piece of work', 'open', 2, 'task', ?, ?)",
        rusqlite::params![id, title, now, now],
    )
    .expect("insert");
    c_record_created(tx, id, actor, "{}", now);
}
