//! Opening every older beads database: the migrations, their invariants, and skipping them once
//! a file is current.

use crate::common;

use std::collections::BTreeSet;

use beadstore::{params, Error, MigrationState, Store};
use common::history::{self, Contents};
use common::TempDb;

fn count(conn: &rusqlite::Connection, sql: &str) -> usize {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as usize
}

fn names(conn: &rusqlite::Connection, kind: &str) -> BTreeSet<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__turso_internal%'")
        .unwrap();
    stmt.query_map([kind], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// (name, type, notnull, pk) of each column, sorted by name.
fn column_shapes(
    conn: &rusqlite::Connection,
    table: &str,
) -> BTreeSet<(String, String, bool, i64)> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? == 1, r.get(5)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn fresh_reference() -> (TempDb, rusqlite::Connection) {
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    let conn = common::sqlite(&t.path);
    (t, conn)
}

fn check_migrated(
    era: &str,
    path: &std::path::Path,
    before: &Contents,
    reference: &rusqlite::Connection,
) {
    assert_eq!(common::sqlite_integrity(path), "ok", "{era}: integrity");
    let conn = common::sqlite(path);
    // Every row kept.
    assert_eq!(
        count(&conn, "SELECT count(*) FROM issues"),
        before.issues,
        "{era}: issues"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM labels"),
        before.labels,
        "{era}: labels"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM comments"),
        before.comments,
        "{era}: comments"
    );
    let migration_events = if before.pinned_work > 0 {
        before.pinned_work
    } else {
        0
    };
    assert_eq!(
        count(&conn, "SELECT count(*) FROM events"),
        before.events + migration_events,
        "{era}: events"
    );
    let converted: BTreeSet<_> = before.converted_edges.iter().cloned().collect();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM dependencies"),
        before.dependencies + converted.len(),
        "{era}: dependencies"
    );
    for (from, to, kind) in &converted {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM dependencies WHERE issue_id = ? AND depends_on_id = ? AND type = ? AND created_by = 'migration'",
                [from, to, kind],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{era}: edge {from} -> {to} ({kind})");
    }
    let keys: BTreeSet<String> = conn
        .prepare("SELECT key FROM config")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        keys.is_superset(&before.config_keys),
        "{era}: config keys lost"
    );
    assert!(
        keys.contains("compaction_enabled"),
        "{era}: config defaults"
    );
    // Flags survive the issues rebuilds (GH#809: pinned and is_template through migration 022).
    assert_eq!(
        count(&conn, "SELECT count(*) FROM issues WHERE pinned = 1"),
        before.pinned_flags,
        "{era}: pinned"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM issues WHERE is_template = 1"),
        before.template_flags,
        "{era}: is_template"
    );
    // Data repairs: closed issues have closed_at, open ones do not; pinned work is hooked.
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM issues WHERE status = 'closed' AND closed_at IS NULL"
        ),
        0
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM issues WHERE status IN ('open', 'in_progress', 'blocked') AND closed_at IS NOT NULL"), 0);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM issues WHERE status = 'pinned'"),
        0
    );
    // The schema is the current one: same tables, views, columns (by name, type, NOT NULL, key)
    // and indexes as a new file, except what the reference says differs on upgraded files.
    assert_eq!(
        names(&conn, "table"),
        names(reference, "table"),
        "{era}: tables"
    );
    assert_eq!(
        names(&conn, "view"),
        names(reference, "view"),
        "{era}: views"
    );
    for table in names(reference, "table") {
        let got = column_shapes(&conn, &table);
        let want = column_shapes(reference, &table);
        assert_eq!(got, want, "{era}: columns of {table}");
    }
    let mut got_idx = names(&conn, "index");
    got_idx.remove("idx_issues_content_hash");
    assert_eq!(got_idx, names(reference, "index"), "{era}: indexes");
    // The tombstone-aware CHECK is in force.
    let issues_sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'issues'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        issues_sql.contains("status = 'tombstone'"),
        "{era}: old CHECK kept"
    );
    // The ready view works on the migrated file in real SQLite.
    let _ = count(&conn, "SELECT count(*) FROM ready_issues");
}

#[test]
fn every_historical_database_opens_migrates_and_keeps_every_row() {
    let (_ref_dir, reference) = fresh_reference();
    let eras = history::eras();
    assert!(eras.len() >= 8, "at least 8 points of history");
    for era in &eras {
        let t = TempDb::new();
        let before = history::build(&t.path, era, 60);
        let store = Store::open(t.path_str()).unwrap_or_else(|e| panic!("{}: {e}", era.name));
        assert!(store.probe().unwrap().is_compatible(), "{}", era.name);
        assert!(matches!(
            store.migration_state().unwrap(),
            MigrationState::UpToDate { .. }
        ));
        // The migrated file works: a write with every constraint, and a read.
        store
            .execute("INSERT INTO issues (id, title, status, closed_at) VALUES ('bd-new', 'after migration', 'tombstone', '2026-01-01T00:00:00Z')", &[])
            .unwrap_or_else(|e| panic!("{}: {e}", era.name));
        store
            .execute("DELETE FROM issues WHERE id = 'bd-new'", &[])
            .unwrap();
        store.close().unwrap();
        check_migrated(era.name, &t.path, &before, &reference);
    }
}

#[test]
fn migration_010_hashes_existing_issues_like_go() {
    // Era 1 has no content_hash column: every issue gets Go's hash of its (then) fields.
    let era = &history::eras()[0];
    let t = TempDb::new();
    history::build(&t.path, era, 12);
    Store::open(t.path_str()).unwrap().close().unwrap();
    let conn = common::sqlite(&t.path);
    let (title, description, status, priority, issue_type, assignee, hash): (String, String, String, i64, String, Option<String>, String) = conn
        .query_row(
            "SELECT title, description, status, priority, issue_type, assignee, content_hash FROM issues WHERE id = 'bd-3'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    // Independent derivation from Go's ComputeContentHash: each field then a NUL, in Go's order;
    // fields the old file lacks hash as their zero values (0 for the gate timeout).
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut field = |s: &str| {
        h.update(s.as_bytes());
        h.update([0u8]);
    };
    for f in [title.as_str(), &description, "", "", "", &status] {
        field(f);
    }
    field(&priority.to_string());
    field(&issue_type);
    field(assignee.as_deref().unwrap_or(""));
    for _ in 0..4 {
        field(""); // owner, created_by, external_ref (nil), source_system
    }
    field(""); // pinned
    field(""); // template
    field(""); // quality_score (nil)
    field(""); // crystallizes
    field(""); // await_type
    field(""); // await_id
    field("0"); // timeout
    for _ in 0..12 {
        field(""); // holder, hook/role bead, agent state, role type, rig, mol type, work type, 4 event fields
    }
    let want: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash, want);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM issues WHERE content_hash IS NULL"
        ),
        0
    );
    // Migration 010 created idx_issues_content_hash, and the issues rebuild of migration 028
    // dropped it again, exactly as on a Go upgrade from this era.
    let idx = count(
        &conn,
        "SELECT count(*) FROM sqlite_master WHERE name = 'idx_issues_content_hash'",
    );
    assert_eq!(idx, 0);
}

#[test]
fn an_up_to_date_open_runs_no_ddl_and_writes_nothing() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
        .execute("INSERT INTO issues (id, title) VALUES ('bd-1', 'x')", &[])
        .unwrap();
    store.close().unwrap();
    // Let real SQLite fold the WAL away so the file is quiet.
    drop(common::sqlite(&t.path));
    let bytes = std::fs::read(&t.path).unwrap();
    let mtime = std::fs::metadata(&t.path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let store = Store::open(t.path_str()).unwrap();
    assert!(matches!(
        store.migration_state().unwrap(),
        MigrationState::UpToDate { .. }
    ));
    let wal_len = std::fs::metadata(t.wal()).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "opening wrote WAL frames");
    store.close().unwrap();
    assert!(
        std::fs::read(&t.path).unwrap() == bytes,
        "open + close changed the file"
    );
    assert_eq!(
        std::fs::metadata(&t.path).unwrap().modified().unwrap(),
        mtime
    );
}

#[test]
fn someone_elses_ddl_makes_the_next_open_migrate_again() {
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "DROP INDEX idx_issues_updated_at; DROP VIEW ready_issues; DROP TABLE child_counters;",
        )
        .unwrap();
    }
    let store = Store::open(t.path_str()).unwrap();
    assert!(matches!(
        store.migration_state().unwrap(),
        MigrationState::UpToDate { .. }
    ));
    store.close().unwrap();
    let conn = common::sqlite(&t.path);
    for name in ["idx_issues_updated_at", "ready_issues", "child_counters"] {
        let n = count(
            &conn,
            &format!("SELECT count(*) FROM sqlite_master WHERE name = '{name}'"),
        );
        assert_eq!(n, 1, "{name} was not restored");
    }
}

#[test]
fn invariant_failures_roll_everything_back() {
    // Issues but no issue_prefix: required_config_present fails, and nothing of the run stays.
    let era = &history::eras()[1];
    let t = TempDb::new();
    history::build(&t.path, era, 10);
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch("DELETE FROM config WHERE key = 'issue_prefix'")
            .unwrap();
    }
    let schema_before = {
        let conn = common::sqlite(&t.path);
        let v: i64 = conn
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .unwrap();
        v
    };
    let err = Store::open(t.path_str()).unwrap_err();
    match &err {
        Error::InvariantViolated { name, message } => {
            assert_eq!(name, "required_config_present");
            assert!(
                message.contains("issue_prefix (database has 10 issues)"),
                "{message}"
            );
        }
        other => panic!("expected InvariantViolated, got {other:?}"),
    }
    let conn = common::sqlite(&t.path);
    let v: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        v, schema_before,
        "the schema changed although the run failed"
    );
    assert!(!history::columns(&conn, "issues").contains("content_hash"));
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

#[test]
fn duplicate_external_refs_stop_migration_011_with_a_typed_error() {
    let era = &history::eras()[1];
    let t = TempDb::new();
    history::build(&t.path, era, 20);
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "UPDATE issues SET external_ref = 'gh-dup' WHERE id IN ('bd-1', 'bd-2')",
        )
        .unwrap();
    }
    let err = Store::open(t.path_str()).unwrap_err();
    match &err {
        Error::MigrationFailed { name, message } => {
            assert_eq!(name, "external_ref_unique");
            assert!(
                message.contains("found 1 duplicate external_ref"),
                "{message}"
            );
        }
        other => panic!("expected MigrationFailed, got {other:?}"),
    }
    // Fix the data, and the next open migrates.
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch("UPDATE issues SET external_ref = NULL WHERE id = 'bd-2'")
            .unwrap();
    }
    let store = Store::open(t.path_str()).unwrap();
    let err = store
        .execute(
            "UPDATE issues SET external_ref = 'gh-dup' WHERE id = 'bd-3'",
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
}

#[test]
fn refs_from_missing_issues_are_cleaned_before_migrating_and_dangling_targets_kept() {
    let era = &history::eras()[5];
    let t = TempDb::new();
    history::build(&t.path, era, 10);
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('gone', 'bd-1', 'blocks', 'x');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-1', 'gone', 'blocks', 'x');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-1', 'bd-1', 'related', 'x');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-2', 'external:p:c', 'blocks', 'x');
             INSERT INTO labels (issue_id, label) VALUES ('gone', 'l');",
        )
        .unwrap();
    }
    let store = Store::open(t.path_str()).unwrap();
    let rows = store
        .query(
            "SELECT issue_id, depends_on_id FROM dependencies WHERE created_by = 'x' ORDER BY 1, 2",
            &[],
        )
        .unwrap();
    let pairs: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // A dependency whose own issue is gone goes; one whose target is gone stays (unlike Go,
    // which deletes it: imports of real exports hold such edges, see docs/design.md).
    assert_eq!(
        pairs,
        [
            ("bd-1".to_string(), "bd-1".to_string()),
            ("bd-1".to_string(), "gone".to_string()),
            ("bd-2".to_string(), "external:p:c".to_string())
        ]
    );
    let n = store
        .query("SELECT count(*) FROM labels WHERE issue_id = 'gone'", &[])
        .unwrap();
    assert_eq!(n[0][0].as_i64(), Some(0));
}

#[test]
fn reopening_keeps_pinned_and_template_flags() {
    // Go's TestRunMigrations_DoesNotResetPinnedOrTemplate.
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
        .execute(
            "INSERT INTO issues (id, title, pinned, is_template) VALUES ('bd-1', 'x', 1, 1)",
            &[],
        )
        .unwrap();
    store.migrate_all().unwrap();
    store.close().unwrap();
    let store = Store::open(t.path_str()).unwrap();
    store.migrate_all().unwrap();
    let rows = store
        .query("SELECT pinned, is_template FROM issues", &params![])
        .unwrap();
    assert_eq!(rows[0], vec![1.into(), 1.into()]);
}

#[test]
fn migration_names_are_gos_in_order() {
    let list = beadstore::schema::migrations::list();
    assert_eq!(list.len(), 40);
    assert_eq!(list[0].name, "dirty_issues_table");
    assert_eq!(list[20].name, "migrate_edge_fields");
    assert_eq!(list[24].name, "remove_depends_on_fk");
    assert_eq!(list[39].name, "quality_score_column");
    let unique: BTreeSet<_> = list.iter().map(|m| m.name).collect();
    assert_eq!(unique.len(), 40);
    assert_eq!(
        beadstore::schema::invariants::INVARIANT_NAMES,
        [
            "foreign_keys_valid",
            "issue_count_stable",
            "required_config_present"
        ]
    );
}

#[test]
fn child_counters_cascade_with_their_parent_and_migrating_twice_changes_nothing() {
    // Go's TestMigrateChildCountersTable.
    let era = &history::eras()[1];
    let t = TempDb::new();
    history::build(&t.path, era, 10);
    let store = Store::open(t.path_str()).unwrap();
    store
        .execute(
            "INSERT INTO child_counters (parent_id, last_child) VALUES ('bd-2', 3)",
            &[],
        )
        .unwrap();
    let version = |s: &Store| s.query("PRAGMA schema_version", &[]).unwrap()[0][0].as_i64();
    let cookie = version(&store);
    // An explicit second run finds nothing to change but the views it always recreates.
    store.migrate_all().unwrap();
    let after = store
        .query("SELECT count(*) FROM child_counters", &[])
        .unwrap();
    assert_eq!(after[0][0].as_i64(), Some(1));
    assert!(version(&store) >= cookie);
    store
        .execute("DELETE FROM issues WHERE id = 'bd-2'", &[])
        .unwrap();
    let after = store
        .query("SELECT count(*) FROM child_counters", &[])
        .unwrap();
    assert_eq!(after[0][0].as_i64(), Some(0), "ON DELETE CASCADE");
}
