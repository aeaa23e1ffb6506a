//! Storage hot paths against C SQLite doing the same work with the Go store's semantics, in
//! the same run: batch creation of 1,000 issues (rows, events, dirty marks, one transaction),
//! and ready work on 10,000 issues with 20,000 dependencies (through the blocked cache).
//!
//! `cargo bench --bench storage` (or with `BEADSTORE_BENCH_QUICK=1`).

mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use beadstore::model::Issue;
use beadstore::ops::WorkFilter;
use beadstore::params;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use support::{c_record_created, dir, fresh, open};

fn batch_create(c: &mut Criterion) {
    let base = dir("storage");
    let mut g = c.benchmark_group("batch_create_1000");
    let path = base.join("batch.db");
    g.bench_function("beadstore", |b| {
        b.iter_batched(
            || {
                fresh(&path);
                let issues: Vec<Issue> = (0..1000)
                    .map(|i| {
                        let mut issue = Issue::new(format!("Issue {i}"));
                        issue.description = format!("Description of issue {i}");
                        issue
                    })
                    .collect();
                (open(&path), issues)
            },
            |(store, issues)| {
                black_box(store.create_issues(issues, "bench").expect("create"));
                store
            },
            BatchSize::PerIteration,
        );
    });
    let c_path = base.join("batch-c.db");
    g.bench_function("c_sqlite", |b| {
        b.iter_batched(
            || {
                fresh(&c_path);
                rusqlite::Connection::open(&c_path).expect("sqlite")
            },
            |mut conn| {
                // Go's batch: ids checked, issue rows, a created event each, dirty marks.
                let tx = conn.transaction().expect("begin");
                let now = "2026-01-01T00:00:00Z";
                for i in 0..1000 {
                    let id = format!("bd-{i:04x}");
                    let exists: i64 = tx
                        .query_row("SELECT count(*) FROM issues WHERE id = ?", [&id], |r| r.get(0))
                        .expect("check");
                    black_box(exists);
                    tx.execute(
                        "INSERT INTO issues (id, content_hash, title, description, status, priority, issue_type, created_at, updated_at) VALUES (?, 'h', ?, ?, 'open', 2, 'task', ?, ?)",
                        rusqlite::params![id, format!("Issue {i}"), format!("Description of issue {i}"), now, now],
                    )
                    .expect("insert");
                    let event = format!("{{\"id\":\"{id}\",\"title\":\"Issue {i}\"}}");
                    c_record_created(&tx, &id, "bench", &event, now);
                }
                tx.commit().expect("commit");
                conn
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

/// 10,000 issues (a fifth closed), 20,000 `blocks`/`parent-child` dependencies, labels,
/// blocked cache built; cached between runs.
fn ready_fixture() -> PathBuf {
    let path = dir("storage").join("ready-10k.db");
    if path.exists() {
        return path;
    }
    let tmp = dir("storage").join("ready-10k.tmp");
    fresh(&tmp);
    let store = open(&tmp);
    store
        .transaction(|tx| -> beadstore::Result<_> {
            for i in 0..10_000 {
                let status = ["open", "open", "in_progress", "closed", "open"][i % 5];
                let closed_at = (status == "closed").then_some("2026-01-01T00:00:00Z");
                tx.execute(
                    "INSERT INTO issues (id, title, status, priority, closed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z')",
                    &params![format!("bd-{i}"), format!("Issue {i}"), status, (i % 5) as i64, closed_at],
                )?;
                tx.execute("INSERT INTO labels (issue_id, label) VALUES (?, ?)", &params![format!("bd-{i}"), format!("l{}", i % 10)])?;
                for (k, kind) in [(3usize, "blocks"), (11, "parent-child")] {
                    if i >= k * 97 {
                        tx.execute(
                            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, ?, ?, 'bench')",
                            &params![format!("bd-{i}"), format!("bd-{}", i - k * 97 + (i % 7)), kind],
                        )?;
                    }
                }
            }
            tx.rebuild_blocked_cache()
        })
        .expect("fixture");
    store.close().expect("close");
    std::fs::rename(&tmp, &path).expect("publish fixture");
    path
}

fn ready_work(c: &mut Criterion) {
    let path = ready_fixture();
    let store = open(&path);
    let n = store
        .get_ready_work(&WorkFilter::default())
        .expect("ready")
        .len();
    assert!(n > 100, "the fixture leaves {n} issues ready");
    eprintln!("ready work on the fixture: {n} issues");
    let mut g = c.benchmark_group("ready_work_10k_20k_deps");
    g.bench_function("beadstore", |b| {
        b.iter(|| black_box(store.get_ready_work(&WorkFilter::default()).expect("ready")));
    });
    store.close().expect("close");
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    g.bench_function("c_sqlite", |b| {
        b.iter(|| {
            let mut stmt = conn.prepare_cached(support::GO_READY_SQL).expect("prepare");
            // Every column of every row read, as Go's scan of the full issue does.
            let column_count = stmt.column_count();
            let ids: Vec<String> = stmt
                .query_map([], |r| {
                    for c in 0..column_count {
                        black_box(r.get_ref(c)?);
                    }
                    r.get::<_, String>(0)
                })
                .expect("query")
                .map(|r| r.expect("row"))
                .collect();
            // Labels for every ready issue, as Go loads them.
            let mut labels = conn
                .prepare_cached("SELECT issue_id, label FROM labels WHERE issue_id IN (SELECT value FROM json_each(?)) ORDER BY issue_id, label")
                .expect("labels");
            let list = serde_json::to_string(&ids).expect("json");
            let n = labels
                .query_map([list], |r| r.get::<_, String>(1))
                .expect("labels query")
                .count();
            black_box((ids.len(), n))
        });
    });
    g.finish();
}

/// One issue created in its own transaction on the 10k database (prefix read, top-level issues
/// counted for the id length, id checked, row, created event, dirty mark), against C SQLite doing
/// Go's statements.
fn create_one(c: &mut Criterion) {
    let source = ready_fixture();
    let path = dir("storage").join("create-one.db");
    std::fs::copy(&source, &path).expect("copy fixture");
    let store = open(&path);
    store.set_config("issue_prefix", "bd").expect("prefix");
    let mut g = c.benchmark_group("create_issue_10k");
    let mut n = 0u64;
    g.bench_function("beadstore", |b| {
        b.iter(|| {
            n += 1;
            let mut issue = Issue::new(format!("Created in the bench {n}"));
            issue.description = "A new piece of work".into();
            black_box(store.create_issue(issue, "bench").expect("create"))
        });
    });
    store.close().expect("close");
    let c_path = dir("storage").join("create-one-c.db");
    std::fs::copy(&source, &c_path).expect("copy fixture");
    let mut conn = rusqlite::Connection::open(&c_path).expect("sqlite");
    let mut m = 0u64;
    g.bench_function("c_sqlite", |b| {
        b.iter(|| {
            m += 1;
            let id = format!("bd-c{m:x}");
            let now = "2026-01-01T00:00:00Z";
            let tx = conn.transaction().expect("begin");
            support::c_create_issue(&tx, &id, &format!("Created in the bench {m}"), "bench", now);
            tx.commit().expect("commit");
        });
    });
    g.finish();
}

/// A text search over the 10k database (title, description or id contains the text; closed
/// issues left out), labels loaded, against C SQLite running the same query.
fn search(c: &mut Criterion) {
    let path = ready_fixture();
    let store = open(&path);
    let filter = beadstore::ops::IssueFilter::default()
        .exclude_status(vec![beadstore::model::Status::Closed]);
    let found = store
        .search_issues("Issue 12", &filter)
        .expect("search")
        .len();
    assert!(found > 10, "the search finds {found}");
    let mut g = c.benchmark_group("search_issues_10k");
    g.bench_function("beadstore", |b| {
        b.iter(|| black_box(store.search_issues("Issue 12", &filter).expect("search")));
    });
    store.close().expect("close");
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    g.bench_function("c_sqlite", |b| {
        b.iter(|| {
            let mut stmt = conn
                .prepare_cached("SELECT id, title, description, status, priority, issue_type, assignee, created_at, updated_at, closed_at FROM issues WHERE (title LIKE ?1 OR description LIKE ?1 OR id LIKE ?1) AND status != 'closed' ORDER BY priority ASC, created_at DESC")
                .expect("prepare");
            let ids: Vec<String> = stmt
                .query_map(["%Issue 12%"], |r| r.get::<_, String>(0))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect();
            let mut labels = conn
                .prepare_cached("SELECT issue_id, label FROM labels WHERE issue_id IN (SELECT value FROM json_each(?)) ORDER BY issue_id, label")
                .expect("labels");
            let list = serde_json::to_string(&ids).expect("json");
            black_box(labels.query_map([list], |r| r.get::<_, String>(1)).expect("labels").count())
        });
    });
    g.finish();
}

fn config() -> Criterion {
    support::config(Duration::from_secs(2), Criterion::default().sample_size(20))
}

criterion_group! {
    name = benches;
    config = config();
    targets = batch_create, ready_work, create_one, search
}
criterion_main!(benches);
