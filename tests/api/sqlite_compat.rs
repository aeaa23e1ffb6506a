//! Files move both ways between beadstore and real SQLite (and so Go beads, which is SQLite).

use crate::common;

use beadstore::{params, Store};
use common::TempDb;

#[test]
fn a_file_beadstore_wrote_opens_in_real_sqlite_with_schema_and_rows_intact() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store.set_metadata("bd_version", "0.49.0").unwrap();
    store
        .transaction(|tx| -> beadstore::Result<_> {
            for i in 0..50 {
                tx.execute(
                    "INSERT INTO issues (id, title, description, priority, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    &params![
                        format!("bd-{i:03}"),
                        format!("Issue {i} with unicode ✓"),
                        "line one\nline two",
                        i % 5,
                        "2026-01-02T03:04:05.123456789-08:00",
                        "2026-01-02 03:04:05"
                    ],
                )?;
                tx.execute(
                    "INSERT INTO labels (issue_id, label) VALUES (?, ?)",
                    &params![format!("bd-{i:03}"), if i % 2 == 0 { "even" } else { "odd" }],
                )?;
            }
            for i in 1..50 {
                tx.execute(
                    "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, ?, 'blocks', 'test')",
                    &params![format!("bd-{i:03}"), format!("bd-{:03}", i - 1)],
                )?;
            }
            tx.execute(
                "INSERT INTO comments (issue_id, author, text) VALUES ('bd-000', 'alice', 'hello')",
                &[],
            )?;
            Ok(())
        })
        .unwrap();
    store.close().unwrap();

    assert_eq!(common::sqlite_integrity(&t.path), "ok");
    let conn = common::sqlite(&t.path);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM issues"), 50);
    assert_eq!(
        count("SELECT count(*) FROM labels WHERE label = 'even'"),
        25
    );
    assert_eq!(count("SELECT count(*) FROM dependencies"), 49);
    assert_eq!(count("SELECT count(*) FROM comments"), 1);
    let (title, created, prio): (String, String, i64) = conn
        .query_row(
            "SELECT title, created_at, priority FROM issues WHERE id = 'bd-007'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(title, "Issue 7 with unicode ✓");
    assert_eq!(created, "2026-01-02T03:04:05.123456789-08:00");
    assert_eq!(prio, 2);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    // Real SQLite enforces the same constraints on the file beadstore wrote.
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    assert!(conn
        .execute(
            "INSERT INTO labels (issue_id, label) VALUES ('nope', 'x')",
            []
        )
        .is_err());
    assert!(conn
        .execute(
            "INSERT INTO issues (id, title, status) VALUES ('bd-x', 't', 'closed')",
            []
        )
        .is_err());
    // The ready view computes the same answer in real SQLite: only the chain's head is ready.
    assert_eq!(count("SELECT count(*) FROM ready_issues"), 1);
    // And real SQLite can write to it, and beadstore reads that back.
    conn.execute(
        "INSERT INTO issues (id, title) VALUES ('bd-999', 'from sqlite')",
        [],
    )
    .unwrap();
    drop(conn);
    let store = Store::open(t.path_str()).unwrap();
    let rows = store
        .query("SELECT title FROM issues WHERE id = 'bd-999'", &[])
        .unwrap();
    assert_eq!(rows[0][0].as_str(), Some("from sqlite"));
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    store.close().unwrap();
}

#[test]
fn a_delete_journal_beads_file_written_by_real_sqlite_opens_and_works() {
    // Take the schema text from a beadstore file, then build a fresh file with real SQLite in
    // rollback-journal (DELETE) mode from that DDL, as an older Go beads on WSL would have.
    let source = TempDb::new();
    Store::open(source.path_str()).unwrap().close().unwrap();
    let ddl: Vec<String> = {
        let conn = common::sqlite(&source.path);
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__turso_internal%' ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };

    let t = TempDb::new();
    std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA page_size = 8192;")
            .unwrap();
        for stmt in &ddl {
            conn.execute_batch(stmt).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO config (key, value) VALUES ('issue_prefix', 'go');
             INSERT INTO issues (id, title, status, closed_at, created_at, updated_at)
                 VALUES ('go-1', 'closed by go', 'closed', '2025-11-02T21:58:07.295058-08:00', '2025-11-01 10:00:00', '2025-11-02 10:00:00');
             INSERT INTO issues (id, title) VALUES ('go-2', 'open by go');
             INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('go-2', 'go-1', 'blocks', 'go');
             INSERT INTO labels (issue_id, label) VALUES ('go-2', 'backend');",
        )
        .unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    let store = Store::open(t.path_str()).unwrap();
    assert!(store.probe().unwrap().is_compatible());
    assert_eq!(store.journal_mode().unwrap(), "wal");
    assert_eq!(
        store.get_config("issue_prefix").unwrap().as_deref(),
        Some("go")
    );
    let rows = store
        .query("SELECT id, status, closed_at FROM issues ORDER BY id", &[])
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0][2].as_str(),
        Some("2025-11-02T21:58:07.295058-08:00")
    );
    store
        .execute(
            "INSERT INTO issues (id, title) VALUES ('go-3', 'added by beadstore')",
            &[],
        )
        .unwrap();
    store
        .execute("DELETE FROM issues WHERE id = 'go-2'", &[])
        .unwrap();
    // ON DELETE CASCADE removed go-2's dependency and label.
    let n = store
        .query(
            "SELECT (SELECT count(*) FROM dependencies) + (SELECT count(*) FROM labels)",
            &[],
        )
        .unwrap();
    assert_eq!(n[0][0].as_i64(), Some(0));
    store.close().unwrap();

    assert_eq!(common::sqlite_integrity(&t.path), "ok");
    let conn = common::sqlite(&t.path);
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM issues ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, ["go-1", "go-3"]);
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 8192);
}

#[test]
fn the_engines_autoincrement_side_tables_interoperate_with_real_sqlite() {
    // turso_core keeps a visible `__turso_internal_seq_*` table per AUTOINCREMENT table, but
    // allocates ids through sqlite_sequence like SQLite does: ids never collide whichever side
    // inserts, and the side tables break neither the probe nor real SQLite.
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
        .execute("INSERT INTO issues (id, title) VALUES ('bd-1', 'x')", &[])
        .unwrap();
    store
        .execute("INSERT INTO comments (issue_id, author, text) VALUES ('bd-1', 'a', 'from beadstore 1')", &[])
        .unwrap();
    store.close().unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute(
            "INSERT INTO comments (issue_id, author, text) VALUES ('bd-1', 'b', 'from sqlite')",
            [],
        )
        .unwrap();
        let side: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE '__turso_internal_seq%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            side, 4,
            "comments, events, issue_snapshots, compaction_snapshots"
        );
    }
    let store = Store::open(t.path_str()).unwrap();
    assert!(store.probe().unwrap().is_compatible());
    assert!(store.check_invariants().unwrap().is_empty());
    store
        .execute("INSERT INTO comments (issue_id, author, text) VALUES ('bd-1', 'a', 'from beadstore 2')", &[])
        .unwrap();
    let ids: Vec<i64> = store
        .query("SELECT id FROM comments ORDER BY id", &[])
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

/// SQLite's table-valued functions (`pragma_*`, `json_each`, `json_tree`) answer raw SQL as
/// real SQLite does, in every store of a process: the engine's built-in catalog is built once
/// per process and shared by every schema after the first, including the schema a read-write
/// store rebuilds after DDL.
#[test]
fn sqlite_table_valued_functions_answer_in_every_store_of_a_process() {
    let t = TempDb::new();
    let columns_sql = "SELECT name FROM pragma_table_info('issues') ORDER BY cid";
    let indexes_sql = "SELECT count(*) FROM pragma_index_list('dependencies')";
    let json_sql = "SELECT sum(value) FROM json_each('[1, 2, 39]')";
    let tree_sql = "SELECT count(*) FROM json_tree('{\"a\": [1, {\"b\": 2}]}')";

    let store = Store::open(t.path_str()).unwrap();
    store.close().unwrap();
    let oracle = common::sqlite(&t.path);
    let sqlite_columns: Vec<String> = oracle
        .prepare(columns_sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let sqlite_indexes: i64 = oracle.query_row(indexes_sql, [], |r| r.get(0)).unwrap();
    let sqlite_tree: i64 = oracle.query_row(tree_sql, [], |r| r.get(0)).unwrap();
    drop(oracle);
    assert!(sqlite_columns.len() > 40, "{sqlite_columns:?}");
    assert!(sqlite_indexes > 0);

    let names = |store: &Store, sql: &str| -> Vec<String> {
        store.query_map(sql, &[], |row| row.get(0)).unwrap()
    };
    let answers = |store: &Store| -> (Vec<String>, i64, i64, i64) {
        let columns = names(store, columns_sql);
        let count = |sql: &str| store.query_row(sql, &[], |row| row.get::<i64>(0)).unwrap();
        (
            columns,
            count(indexes_sql),
            count(json_sql),
            count(tree_sql),
        )
    };
    let expected = (sqlite_columns, sqlite_indexes, 42, sqlite_tree);

    // Two read-write stores and a read-only one, one after the other in this process.
    for round in 0..2 {
        let store = Store::open(t.path_str()).unwrap();
        assert_eq!(answers(&store), expected, "read-write store, round {round}");
        store.close().unwrap();
    }
    let reader = Store::open_read_only(t.path_str()).unwrap();
    assert_eq!(answers(&reader), expected, "read-only store");
    reader.close().unwrap();

    // DDL makes the store rebuild its schema; the catalog comes back with it, and the new
    // table is described.
    let store = Store::open(t.path_str()).unwrap();
    store
        .execute_batch("CREATE TABLE extra_notes (id INTEGER PRIMARY KEY, body TEXT)")
        .unwrap();
    assert_eq!(answers(&store), expected, "after DDL");
    let extra = names(
        &store,
        "SELECT name FROM pragma_table_info('extra_notes') ORDER BY cid",
    );
    assert_eq!(extra, ["id", "body"]);
    store.close().unwrap();
}
