//! The escape hatch for extensions (Go's UnderlyingDB / UnderlyingConn) and explicit transactions.

use crate::common;

use beadstore::{params, Error, OptionalExtension, Param, Store};
use common::TempDb;

#[test]
fn an_extension_table_with_cascade_lives_beside_the_beads_schema() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let n = store.query("SELECT COUNT(*) FROM issues", &[]).unwrap();
    assert_eq!(n[0][0].as_i64(), Some(0));
    store
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS ext_time_entries (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 issue_id TEXT NOT NULL,
                 minutes INTEGER NOT NULL,
                 FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
             );
             CREATE INDEX IF NOT EXISTS idx_ext_time_issue ON ext_time_entries(issue_id);",
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO issues (id, title) VALUES ('bd-1', 'tracked')",
            &[],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO ext_time_entries (issue_id, minutes) VALUES (?, ?)",
            &params!["bd-1", 30],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO ext_time_entries (issue_id, minutes) VALUES (?, ?)",
            &params!["bd-1", 15],
        )
        .unwrap();
    // The foreign key is enforced on the store's connections.
    let err = store
        .execute(
            "INSERT INTO ext_time_entries (issue_id, minutes) VALUES ('bd-404', 5)",
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    // Joins with beads tables work.
    let rows = store
        .query(
            "SELECT i.title, SUM(e.minutes) FROM issues i JOIN ext_time_entries e ON e.issue_id = i.id GROUP BY i.id",
            &[],
        )
        .unwrap();
    assert_eq!(rows, vec![vec!["tracked".into(), 45.into()]]);
    // Deleting the issue cascades into the extension table.
    store
        .execute("DELETE FROM issues WHERE id = 'bd-1'", &[])
        .unwrap();
    let n = store
        .query("SELECT COUNT(*) FROM ext_time_entries", &[])
        .unwrap();
    assert_eq!(n[0][0].as_i64(), Some(0));
    // The extension table is still there after reopening, and the beads schema check passes.
    store.close().unwrap();
    let store = Store::open(t.path_str()).unwrap();
    assert!(store.probe().unwrap().is_compatible());
    store.query("SELECT * FROM ext_time_entries", &[]).unwrap();
    store.close().unwrap();
    // After close, the escape hatch refuses to run.
    assert!(matches!(
        store.execute("SELECT 1", &[]),
        Err(Error::Closed { .. })
    ));
    assert!(matches!(
        store.execute_batch("SELECT 1"),
        Err(Error::Closed { .. })
    ));
    assert!(matches!(
        store.query("SELECT 1", &[]),
        Err(Error::Closed { .. })
    ));
}

#[test]
fn transactions_commit_on_ok_and_roll_back_on_err_and_on_panic() {
    let store = Store::in_memory().unwrap();
    let count = |store: &Store| -> i64 {
        store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0]
            .as_i64()
            .unwrap()
    };
    // Read-your-writes inside, commit on Ok.
    let seen = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.execute("INSERT INTO issues (id, title) VALUES ('bd-1', 'a')", &[])?;
            let n = tx.query("SELECT count(*) FROM issues", &[])?;
            Ok(n[0][0].as_i64())
        })
        .unwrap();
    assert_eq!(seen, Some(1));
    assert_eq!(count(&store), 1);

    // Rollback on Err: the error comes back and nothing of the transaction stays.
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.execute("INSERT INTO issues (id, title) VALUES ('bd-2', 'b')", &[])?;
            tx.execute(
                "INSERT INTO issues (id, title) VALUES ('bd-1', 'duplicate')",
                &[],
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    assert_eq!(count(&store), 1);

    // Rollback on panic, and the panic continues to the caller.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.transaction(|tx| -> beadstore::Result<()> {
            tx.execute("INSERT INTO issues (id, title) VALUES ('bd-3', 'c')", &[])?;
            panic!("caller bug inside a transaction");
        });
    }));
    assert!(caught.is_err(), "the panic was resumed");
    assert_eq!(count(&store), 1);

    // The writer is healthy afterwards.
    store
        .execute("INSERT INTO issues (id, title) VALUES ('bd-4', 'd')", &[])
        .unwrap();
    assert_eq!(count(&store), 2);
}

#[test]
fn a_reader_never_sees_an_uncommitted_transaction() {
    let t = TempDb::new();
    let store = std::sync::Arc::new(Store::open(t.path_str()).unwrap());
    let (inside_tx, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let (tx_started, tx_release) = (inside_tx.0, release.1);
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .transaction(|tx| -> beadstore::Result<_> {
                    tx.execute(
                        "INSERT INTO issues (id, title) VALUES ('bd-1', 'pending')",
                        &[],
                    )?;
                    tx_started.send(()).unwrap();
                    tx_release.recv().unwrap();
                    Ok(())
                })
                .unwrap();
        })
    };
    inside_tx.1.recv().unwrap();
    let n = store.query("SELECT count(*) FROM issues", &[]).unwrap();
    assert_eq!(
        n[0][0].as_i64(),
        Some(0),
        "uncommitted row visible to a reader"
    );
    release.0.send(()).unwrap();
    writer.join().unwrap();
    let n = store.query("SELECT count(*) FROM issues", &[]).unwrap();
    assert_eq!(n[0][0].as_i64(), Some(1));
}

#[test]
fn a_long_read_snapshot_neither_blocks_writers_nor_sees_their_commits() {
    // Go's TestUnderlyingDB_LongTxDoesNotDeadlock, plus snapshot isolation.
    let t = TempDb::new();
    let store = std::sync::Arc::new(Store::open(t.path_str()).unwrap());
    store
        .execute("INSERT INTO issues (id, title) VALUES ('bd-1', 'a')", &[])
        .unwrap();
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let (wrote_tx, wrote_rx) = std::sync::mpsc::channel::<()>();
    let reader = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .snapshot(|snap| -> beadstore::Result<_> {
                    let count = |snap: &beadstore::ReadTxn<'_>| {
                        snap.query("SELECT count(*) FROM issues", &[])
                            .map(|r| r[0][0].as_i64())
                    };
                    let first = count(snap)?;
                    opened_tx.send(()).unwrap();
                    wrote_rx.recv().unwrap();
                    let second = count(snap)?;
                    // No `execute` on a read transaction; SQL that writes is refused by `query`.
                    let write =
                        snap.query("INSERT INTO issues (id, title) VALUES ('bd-9', 'x')", &[]);
                    Ok((first, second, write.map(|_| ())))
                })
                .unwrap()
        })
    };
    opened_rx.recv().unwrap();
    let start = std::time::Instant::now();
    store
        .execute("INSERT INTO issues (id, title) VALUES ('bd-2', 'b')", &[])
        .unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "the writer waited for the reader"
    );
    wrote_tx.send(()).unwrap();
    let (first, second, write) = reader.join().unwrap();
    assert_eq!(first, Some(1));
    assert_eq!(
        second,
        Some(1),
        "the snapshot saw a commit made after it began"
    );
    assert!(matches!(write, Err(Error::ReadOnly { .. })), "{write:?}");
    let n = store.query("SELECT count(*) FROM issues", &[]).unwrap();
    assert_eq!(n[0][0].as_i64(), Some(2));
    // The pooled reader is writable-clean again: plain queries still work after the snapshot.
    assert_eq!(
        store.query("SELECT 1", &[]).unwrap()[0][0].as_i64(),
        Some(1)
    );
}

/// The row API: `query_row` with typed `get`, `.optional()` for a row that may be missing,
/// `query_map`, and `params!` borrowing what it is given (the same rows through rusqlite).
#[test]
fn rows_are_read_typed_and_parameters_borrow() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let title = String::from("typed reads");
    let owner: Option<&str> = None;
    store
        .execute(
            "INSERT INTO issues (id, title, priority, assignee) VALUES (?, ?, ?, ?)",
            &params!["bd-1", &title, 1, owner],
        )
        .unwrap();
    // A borrowed parameter is the caller's text, not a copy of it.
    assert!(
        matches!(Param::from(&title), Param::Text(std::borrow::Cow::Borrowed(s)) if std::ptr::eq(s, title.as_str()))
    );

    let (got, priority, assignee): (String, i64, Option<String>) = store
        .query_row(
            "SELECT title, priority, NULLIF(assignee, '') FROM issues WHERE id = ?",
            &params!["bd-1"],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((got.as_str(), priority, assignee), ("typed reads", 1, None));

    let missing = store
        .query_row(
            "SELECT title FROM issues WHERE id = ?",
            &params!["bd-404"],
            |row| row.get::<String>(0),
        )
        .optional()
        .unwrap();
    assert_eq!(missing, None);
    let err = store
        .query_row("SELECT title FROM issues WHERE id = 'bd-404'", &[], |row| {
            row.get::<String>(0)
        })
        .unwrap_err();
    assert!(matches!(err, Error::NoRows), "{err:?}");
    let err = store
        .query_row("SELECT title FROM issues", &[], |row| row.get::<i64>(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ColumnType {
                index: 0,
                wanted: "INTEGER",
                found: "TEXT"
            }
        ),
        "{err:?}"
    );

    store
        .transaction(|tx| -> beadstore::Result<()> {
            tx.execute(
                "INSERT INTO issues (id, title) VALUES (?, ?)",
                &params!["bd-2", format!("built {}", 2)],
            )?;
            // Inside the transaction, reads see its own write.
            let ids = tx.query_map("SELECT id FROM issues ORDER BY id", &[], |row| {
                row.get::<String>(0)
            })?;
            assert_eq!(ids, ["bd-1", "bd-2"]);
            Ok(())
        })
        .unwrap();
    store.close().unwrap();
    let sqlite = common::sqlite(&t.path);
    let title: String = sqlite
        .query_row("SELECT title FROM issues WHERE id = 'bd-2'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(title, "built 2");
}
