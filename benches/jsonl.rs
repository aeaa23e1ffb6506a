//! JSONL import and export of 10,000 issues (with their labels, dependencies and comments)
//! against C SQLite doing the same work in the same run: parse each line, one transaction of
//! issue rows, a `created` event and dirty mark each, labels, comments and dependencies; and
//! read everything back to one JSON line per issue, sorted by id.
//!
//! `cargo bench --bench jsonl` (or with `BEADSTORE_BENCH_QUICK=1`).

#[path = "../src/bin/beadstore/generator.rs"]
#[allow(dead_code)]
mod generator;

mod support;

use std::hint::black_box;
use std::time::Duration;

use beadstore::jsonl::{write_line, ExportOptions, HtmlEscaping, ImportOptions};
use beadstore::model::Issue;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use support::{c_record_created, dir, fresh, open};

const ISSUES: usize = 10_000;

fn project_jsonl() -> Vec<u8> {
    let mut text = Vec::new();
    for issue in generator::project("bd", ISSUES, 7) {
        write_line(&mut text, &issue, HtmlEscaping::On).expect("line");
    }
    text
}

/// What C SQLite does for one import: the same parse, then Go's writes in one transaction.
fn c_import(conn: &mut rusqlite::Connection, text: &[u8]) {
    let issues: Vec<Issue> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("parse"))
        .collect();
    let tx = conn.transaction().expect("begin");
    let fmt = beadstore::time::format_rfc3339_nano;
    for issue in &issues {
        let exists: i64 = tx
            .query_row(
                "SELECT count(*) FROM issues WHERE id = ?",
                [&issue.id],
                |r| r.get(0),
            )
            .expect("check");
        black_box(exists);
        tx.execute(
            "INSERT INTO issues (id, content_hash, title, description, status, priority, issue_type, assignee, created_at, created_by, updated_at, closed_at, close_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                issue.id,
                issue.compute_content_hash(),
                issue.title,
                issue.description,
                issue.status.as_str(),
                issue.priority,
                issue.issue_type.as_str(),
                issue.assignee,
                fmt(&issue.created_at),
                issue.created_by,
                fmt(&issue.updated_at),
                issue.closed_at.as_ref().map(fmt),
                issue.close_reason,
            ],
        )
        .expect("insert");
        let event = serde_json::to_string(issue).expect("json");
        c_record_created(&tx, &issue.id, "import", &event, &fmt(&issue.updated_at));
        for label in &issue.labels {
            tx.execute(
                "INSERT OR IGNORE INTO labels (issue_id, label) VALUES (?, ?)",
                rusqlite::params![issue.id, label],
            )
            .expect("label");
        }
        for c in &issue.comments {
            tx.execute(
                "INSERT INTO comments (issue_id, author, text, created_at) VALUES (?, ?, ?, ?)",
                rusqlite::params![issue.id, c.author, c.text, fmt(&c.created_at)],
            )
            .expect("comment");
        }
    }
    for issue in &issues {
        for d in &issue.dependencies {
            tx.execute(
                "INSERT OR IGNORE INTO dependencies (issue_id, depends_on_id, type, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                rusqlite::params![d.issue_id, d.depends_on_id, d.dep_type.as_str(), fmt(&d.created_at), d.created_by],
            )
            .expect("dependency");
        }
    }
    tx.commit().expect("commit");
}

/// What C SQLite does for one export: every issue with its labels, dependencies and comments,
/// one JSON line each, sorted by id.
fn c_export(conn: &rusqlite::Connection) -> Vec<u8> {
    use std::collections::HashMap;
    let mut labels: HashMap<String, Vec<String>> = HashMap::new();
    let mut stmt = conn
        .prepare_cached("SELECT issue_id, label FROM labels ORDER BY issue_id, label")
        .expect("labels");
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("q")
    {
        let (id, label) = row.expect("row");
        labels.entry(id).or_default().push(label);
    }
    let mut deps: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT issue_id, depends_on_id, type, created_at, created_by FROM dependencies ORDER BY issue_id, created_at").expect("deps");
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .expect("q")
    {
        let (id, to, kind, at, by) = row.expect("row");
        deps.entry(id.clone()).or_default().push(serde_json::json!({"issue_id": id, "depends_on_id": to, "type": kind, "created_at": at, "created_by": by}));
    }
    let mut comments: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT id, issue_id, author, text, created_at FROM comments ORDER BY issue_id, created_at").expect("comments");
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .expect("q")
    {
        let (cid, id, author, text, at) = row.expect("row");
        comments.entry(id.clone()).or_default().push(serde_json::json!({"id": cid, "issue_id": id, "author": author, "text": text, "created_at": at}));
    }
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT id, title, description, status, priority, issue_type, assignee, created_at, created_by, updated_at, closed_at, close_reason FROM issues WHERE ephemeral = 0 OR ephemeral IS NULL ORDER BY id")
        .expect("issues");
    let mut rows = stmt.query([]).expect("q");
    while let Some(r) = rows.next().expect("row") {
        let id: String = r.get(0).expect("id");
        let mut o = serde_json::Map::new();
        o.insert("id".into(), id.clone().into());
        o.insert("title".into(), r.get::<_, String>(1).expect("t").into());
        o.insert(
            "description".into(),
            r.get::<_, String>(2).expect("d").into(),
        );
        o.insert("status".into(), r.get::<_, String>(3).expect("s").into());
        o.insert("priority".into(), r.get::<_, i64>(4).expect("p").into());
        o.insert(
            "issue_type".into(),
            r.get::<_, String>(5).expect("ty").into(),
        );
        o.insert(
            "assignee".into(),
            r.get::<_, Option<String>>(6).expect("a").into(),
        );
        o.insert(
            "created_at".into(),
            r.get::<_, String>(7).expect("c").into(),
        );
        o.insert(
            "created_by".into(),
            r.get::<_, Option<String>>(8).expect("cb").into(),
        );
        o.insert(
            "updated_at".into(),
            r.get::<_, String>(9).expect("u").into(),
        );
        o.insert(
            "closed_at".into(),
            r.get::<_, Option<String>>(10).expect("ca").into(),
        );
        o.insert(
            "close_reason".into(),
            r.get::<_, Option<String>>(11).expect("cr").into(),
        );
        if let Some(l) = labels.remove(&id) {
            o.insert("labels".into(), l.into());
        }
        if let Some(d) = deps.remove(&id) {
            o.insert("dependencies".into(), d.into());
        }
        if let Some(c) = comments.remove(&id) {
            o.insert("comments".into(), c.into());
        }
        serde_json::to_writer(&mut out, &o).expect("json");
        out.push(b'\n');
    }
    out
}

fn import(c: &mut Criterion) {
    let text = project_jsonl();
    let base = dir("jsonl");
    let mut g = c.benchmark_group("import_10k");
    let path = base.join("import.db");
    g.bench_function("beadstore", |b| {
        b.iter_batched(
            || {
                fresh(&path);
                open(&path)
            },
            |store| {
                let summary = store
                    .import_jsonl_text(&text, "bench", &ImportOptions::default())
                    .expect("import");
                assert_eq!(summary.created, ISSUES);
                store
            },
            BatchSize::PerIteration,
        );
    });
    let c_path = base.join("import-c.db");
    g.bench_function("c_sqlite", |b| {
        b.iter_batched(
            || {
                fresh(&c_path);
                rusqlite::Connection::open(&c_path).expect("sqlite")
            },
            |mut conn| {
                c_import(&mut conn, &text);
                conn
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn export(c: &mut Criterion) {
    let text = project_jsonl();
    let path = dir("jsonl").join("export.db");
    fresh(&path);
    let store = open(&path);
    store
        .import_jsonl_text(&text, "bench", &ImportOptions::default())
        .expect("import");
    let mut g = c.benchmark_group("export_10k");
    g.bench_function("beadstore", |b| {
        b.iter(|| {
            black_box(
                store
                    .render_jsonl(&ExportOptions::default())
                    .expect("export")
                    .text
                    .len(),
            )
        });
    });
    store.close().expect("close");
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    g.bench_function("c_sqlite", |b| b.iter(|| black_box(c_export(&conn).len())));
    g.finish();
}

fn config() -> Criterion {
    support::config(Duration::from_secs(3), Criterion::default().sample_size(10))
}

criterion_group! {
    name = benches;
    config = config();
    targets = import, export
}
criterion_main!(benches);
