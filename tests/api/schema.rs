//! The schema a new file gets, and the schema probe (Go schema_probe_test.go intent).

use crate::common;

use std::collections::BTreeSet;

use beadstore::schema::ISSUE_COLUMNS;
use beadstore::{Error, Store};
use common::TempDb;

/// (name, unique, partial) of every non-automatic index on `table`, read by real SQLite.
fn indexes(conn: &rusqlite::Connection, table: &str) -> BTreeSet<(String, bool, bool)> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA index_list({table})"))
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)? == 1,
            r.get::<_, i64>(4)? == 1,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .filter(|(name, _, _)| !name.starts_with("sqlite_autoindex"))
    .collect()
}

fn index_columns(conn: &rusqlite::Connection, index: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA index_info({index})"))
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(2))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// (name, type, notnull, default, pk position) of every column, in order.
fn columns(
    conn: &rusqlite::Connection,
    table: &str,
) -> Vec<(String, String, bool, Option<String>, i64)> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)? == 1,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn names(conn: &rusqlite::Connection, kind: &str) -> BTreeSet<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__turso_internal%'")
        .unwrap();
    stmt.query_map([kind], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Asserts a file's bytes are unchanged except the header's journal-mode bytes (18-19): the engine,
/// like Go beads' `PRAGMA journal_mode=WAL`, switches a rollback-journal file to WAL when it
/// opens it read-write, before any schema check.
fn assert_unchanged_but_journal_mode(before: &[u8], after: &[u8]) {
    assert_eq!(before.len(), after.len(), "file length changed");
    let differing: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert!(
        differing.iter().all(|&i| i == 18 || i == 19),
        "bytes changed at offsets {:?}",
        &differing[..differing.len().min(20)]
    );
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

#[test]
fn a_new_file_has_exactly_the_effective_beads_schema() {
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    let conn = common::sqlite(&t.path);

    assert_eq!(
        names(&conn, "table"),
        set(&[
            "blocked_issues_cache",
            "child_counters",
            "comments",
            "compaction_snapshots",
            "config",
            "dependencies",
            "dirty_issues",
            "events",
            "export_hashes",
            "issue_snapshots",
            "issues",
            "labels",
            "metadata",
            "repo_mtimes",
        ])
    );
    assert_eq!(
        names(&conn, "view"),
        set(&["blocked_issues", "ready_issues"])
    );
    assert!(names(&conn, "trigger").is_empty());

    // issues: 54 columns in Go's order, with Go's types, NOT NULLs and defaults.
    let cols = columns(&conn, "issues");
    let col_names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(col_names, ISSUE_COLUMNS);
    assert_eq!(cols.len(), 54);
    let col = |name: &str| cols.iter().find(|c| c.0 == name).unwrap().clone();
    assert_eq!(col("id").4, 1, "id is the primary key");
    assert!(col("title").2, "title is NOT NULL");
    assert_eq!(
        col("priority"),
        (
            "priority".into(),
            "INTEGER".into(),
            true,
            Some("2".into()),
            0
        )
    );
    assert_eq!(col("status").3.as_deref(), Some("'open'"));
    assert_eq!(
        col("created_at"),
        (
            "created_at".into(),
            "DATETIME".into(),
            true,
            Some("CURRENT_TIMESTAMP".into()),
            0
        )
    );
    assert_eq!(col("source_repo").3.as_deref(), Some("'.'"));
    assert_eq!(col("work_type").3.as_deref(), Some("'mutex'"));
    assert_eq!(
        col("quality_score"),
        ("quality_score".into(), "REAL".into(), false, None, 0)
    );
    assert_eq!(col("last_activity").1, "DATETIME");
    assert_eq!(col("timeout_ns").1, "INTEGER");

    // dependencies after Go's migration 025: 3-column key, FK on issue_id only.
    let deps = columns(&conn, "dependencies");
    let dep_names: Vec<&str> = deps.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        dep_names,
        [
            "issue_id",
            "depends_on_id",
            "type",
            "created_at",
            "created_by",
            "metadata",
            "thread_id"
        ]
    );
    let pk: Vec<(&str, i64)> = deps
        .iter()
        .filter(|c| c.4 > 0)
        .map(|c| (c.0.as_str(), c.4))
        .collect();
    assert_eq!(pk, [("issue_id", 1), ("depends_on_id", 2), ("type", 3)]);
    assert_eq!(deps[3].1, "TIMESTAMP");
    assert!(!deps[3].2, "dependencies.created_at has no NOT NULL");
    assert_eq!(deps[5].3, None, "metadata has no default");
    let fks: Vec<(String, String, String)> = conn
        .prepare("PRAGMA foreign_key_list(dependencies)")
        .unwrap()
        .query_map([], |r| Ok((r.get(2)?, r.get(3)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        fks,
        [(
            "issues".to_string(),
            "issue_id".to_string(),
            "CASCADE".to_string()
        )]
    );

    let dirty: Vec<String> = columns(&conn, "dirty_issues")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(dirty, ["issue_id", "marked_at", "content_hash"]);

    // Every index of the effective schema, with uniqueness and partial-ness.
    let issue_idx = indexes(&conn, "issues");
    let expect_issue_idx: BTreeSet<(String, bool, bool)> = [
        ("idx_issues_status", false, false),
        ("idx_issues_priority", false, false),
        ("idx_issues_assignee", false, false),
        ("idx_issues_created_at", false, false),
        ("idx_issues_external_ref", false, false),
        ("idx_issues_external_ref_unique", true, true),
        ("idx_issues_source_repo", false, false),
        ("idx_issues_deleted_at", false, true),
        ("idx_issues_ephemeral", false, true),
        ("idx_issues_sender", false, true),
        ("idx_issues_pinned", false, true),
        ("idx_issues_is_template", false, true),
        ("idx_issues_updated_at", false, false),
        ("idx_issues_status_priority", false, false),
        ("idx_issues_gate", false, true),
        ("idx_issues_due_at", false, false),
        ("idx_issues_defer_until", false, false),
    ]
    .iter()
    .map(|(n, u, p)| (n.to_string(), *u, *p))
    .collect();
    assert_eq!(issue_idx, expect_issue_idx);
    assert!(
        !issue_idx.iter().any(|i| i.0 == "idx_issues_content_hash"),
        "only upgraded files have it"
    );
    assert_eq!(
        index_columns(&conn, "idx_issues_status_priority"),
        ["status", "priority"]
    );
    assert_eq!(index_columns(&conn, "idx_issues_gate"), ["issue_type"]);

    let plain = |items: &[&str]| -> BTreeSet<(String, bool, bool)> {
        items
            .iter()
            .map(|n| (n.to_string(), false, false))
            .collect()
    };
    assert_eq!(
        indexes(&conn, "dependencies"),
        plain(&[
            "idx_dependencies_issue_id",
            "idx_dependencies_depends_on",
            "idx_dependencies_type",
            "idx_dependencies_depends_on_type",
            "idx_dependencies_depends_on_type_issue",
            "idx_dependencies_issue_type",
        ])
    );
    assert_eq!(
        index_columns(&conn, "idx_dependencies_depends_on_type_issue"),
        ["depends_on_id", "type", "issue_id"]
    );
    assert_eq!(
        indexes(&conn, "labels"),
        plain(&["idx_labels_label", "idx_labels_label_issue"])
    );
    assert_eq!(
        indexes(&conn, "events"),
        plain(&[
            "idx_events_issue",
            "idx_events_created_at",
            "idx_events_issue_type"
        ])
    );
    assert_eq!(
        indexes(&conn, "comments"),
        plain(&["idx_comments_issue", "idx_comments_created_at"])
    );
    assert_eq!(
        indexes(&conn, "dirty_issues"),
        plain(&["idx_dirty_issues_marked_at"])
    );
    assert_eq!(
        indexes(&conn, "issue_snapshots"),
        plain(&["idx_snapshots_issue", "idx_snapshots_level"])
    );
    assert_eq!(
        indexes(&conn, "compaction_snapshots"),
        plain(&["idx_comp_snap_issue_level_created"])
    );
    assert_eq!(
        indexes(&conn, "repo_mtimes"),
        plain(&["idx_repo_mtimes_checked"])
    );
    assert!(indexes(&conn, "blocked_issues_cache").is_empty());

    // The views are the post-025 versions: 'hooked' blockers do not block, no ephemeral filter.
    let ready_sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'ready_issues'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!ready_sql.contains("hooked") && !ready_sql.contains("ephemeral"));
    let ready_cols = conn
        .prepare("SELECT * FROM ready_issues")
        .unwrap()
        .column_count();
    assert_eq!(ready_cols, 54);
    let blocked_cols = conn
        .prepare("SELECT * FROM blocked_issues")
        .unwrap()
        .column_count();
    assert_eq!(blocked_cols, 55);

    let defaults: i64 = conn
        .query_row("SELECT count(*) FROM config", [], |r| r.get(0))
        .unwrap();
    assert_eq!(defaults, 10);
    let prefix: i64 = conn
        .query_row(
            "SELECT count(*) FROM config WHERE key = 'issue_prefix'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(prefix, 0, "issue_prefix is not set by the schema");
    // The only metadata is beadstore's migration marker (see docs/design.md).
    let meta: Vec<String> = conn
        .prepare("SELECT key FROM metadata")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(meta, [beadstore::schema::migrations::MARKER_KEY]);
}

#[test]
fn the_views_answer_like_the_go_definitions() {
    let store = Store::in_memory().unwrap();
    store
        .execute_batch(
            "INSERT INTO issues (id, title, status) VALUES ('bd-1', 'blocker', 'open');
             INSERT INTO issues (id, title, status) VALUES ('bd-2', 'blocked', 'open');
             INSERT INTO issues (id, title, status) VALUES ('bd-3', 'child of blocked', 'open');
             INSERT INTO issues (id, title, status) VALUES ('bd-4', 'free', 'open');
             INSERT INTO issues (id, title, status) VALUES ('bd-5', 'hooked blocker', 'hooked');
             INSERT INTO issues (id, title, status) VALUES ('bd-6', 'behind hooked', 'open');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-2', 'bd-1', 'blocks', 't');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-3', 'bd-2', 'parent-child', 't');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-6', 'bd-5', 'blocks', 't');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-4', 'external:other:cap', 'blocks', 't');",
        )
        .unwrap();
    let ids = |sql: &str| common::issues::first_column(&store, sql);
    assert_eq!(
        ids("SELECT id FROM ready_issues ORDER BY id"),
        ["bd-1", "bd-4", "bd-6"]
    );
    assert_eq!(ids("SELECT id FROM blocked_issues ORDER BY id"), ["bd-2"]);
}

#[test]
fn a_file_the_migrations_cannot_upgrade_fails_typed_and_is_left_as_it_was() {
    // An issues table thinner than any beads release ever wrote: no migration can fill it in.
    let t = TempDb::new();
    std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "CREATE TABLE issues (id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT, priority INTEGER);
             INSERT INTO issues VALUES ('bd-1', 'old', 'open', 2);",
        )
        .unwrap();
    }
    let before = std::fs::read(&t.path).unwrap();
    let err = Store::open(t.path_str()).unwrap_err();
    let Error::MigrationFailed { name, message } = &err else {
        panic!("expected MigrationFailed, got {err:?}");
    };
    assert_eq!(name, "closed_at_constraint");
    assert!(message.contains("closed_at"), "{message}");
    assert!(
        err.to_string()
            .starts_with("migration closed_at_constraint failed: "),
        "{err}"
    );
    // Everything the run did (tables created, columns added) was rolled back.
    assert_unchanged_but_journal_mode(&before, &std::fs::read(&t.path).unwrap());
    let conn = common::sqlite(&t.path);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn missing_columns_no_migration_provides_are_reported_sorted_and_typed() {
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "ALTER TABLE events RENAME COLUMN actor TO who;
             ALTER TABLE comments RENAME COLUMN text TO body;
             ALTER TABLE comments RENAME COLUMN author TO writer;",
        )
        .unwrap();
    }
    let err = Store::open(t.path_str()).unwrap_err();
    let Error::SchemaIncompatible {
        missing_tables,
        missing_columns,
    } = &err
    else {
        panic!("expected SchemaIncompatible, got {err:?}");
    };
    assert!(missing_tables.is_empty());
    let pair = |t: &str, c: &str| (t.to_string(), c.to_string());
    assert_eq!(
        missing_columns,
        &[
            pair("comments", "author"),
            pair("comments", "text"),
            pair("events", "actor")
        ]
    );
    assert_eq!(
        err.to_string(),
        "database schema is incompatible: missing columns in comments: author, text; missing columns in events: actor"
    );
    // The same file gives the same message every time (deterministic order).
    assert_eq!(
        Store::open(t.path_str()).unwrap_err().to_string(),
        err.to_string()
    );
}

#[test]
fn migrations_restore_what_they_can_and_the_probe_reports_the_rest() {
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "DROP VIEW ready_issues; DROP VIEW blocked_issues;
             DROP INDEX idx_issues_external_ref; DROP INDEX idx_issues_external_ref_unique;
             ALTER TABLE issues DROP COLUMN external_ref;
             ALTER TABLE labels RENAME COLUMN label TO tag;",
        )
        .unwrap();
    }
    let err = Store::open(t.path_str()).unwrap_err();
    match err {
        Error::SchemaIncompatible {
            missing_tables,
            missing_columns,
        } => {
            assert!(missing_tables.is_empty());
            // external_ref came back (migration external_ref_column); nothing restores label.
            assert_eq!(
                missing_columns,
                [("labels".to_string(), "label".to_string())]
            );
        }
        other => panic!("expected SchemaIncompatible, got {other:?}"),
    }
}

#[test]
fn the_retry_path_recreates_tables_a_beads_file_lost() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
        .execute(
            "INSERT INTO issues (id, title) VALUES ('bd-1', 'kept')",
            &[],
        )
        .unwrap();
    store.close().unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "DROP TABLE dirty_issues; DROP TABLE repo_mtimes; DROP TABLE child_counters;",
        )
        .unwrap();
    }
    let store = Store::open(t.path_str()).unwrap();
    assert!(store.probe().unwrap().is_compatible());
    let rows = store.query("SELECT title FROM issues", &[]).unwrap();
    assert_eq!(rows[0][0].as_str(), Some("kept"));
    store.close().unwrap();
    let conn = common::sqlite(&t.path);
    let idx: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'idx_repo_mtimes_checked'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(idx, 1, "the recreated table got its index");
}

#[test]
fn a_foreign_sqlite_file_is_refused_and_left_untouched() {
    let t = TempDb::new();
    std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine');")
            .unwrap();
    }
    let before = std::fs::read(&t.path).unwrap();
    let err = Store::open(t.path_str()).unwrap_err();
    match &err {
        Error::SchemaIncompatible { missing_tables, .. } => {
            assert_eq!(missing_tables.len(), 13);
            assert!(missing_tables.contains(&"issues".to_string()));
        }
        other => panic!("expected SchemaIncompatible, got {other:?}"),
    }
    assert_unchanged_but_journal_mode(&before, &std::fs::read(&t.path).unwrap());
    let conn = common::sqlite(&t.path);
    let body: String = conn
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(body, "mine");
}
