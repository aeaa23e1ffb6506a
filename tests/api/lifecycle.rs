//! Store basics: paths, in-memory privacy, URIs, close and checkpoint (Go sqlite_test.go intent).

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use beadstore::{params, Error, OpenOptions, Store, DEFAULT_BUSY_TIMEOUT};
use common::TempDb;

#[test]
fn open_creates_parent_directories_and_reports_an_absolute_path() {
    let t = TempDb::new();
    let nested = t.dir.path().join("a/b/c/beads.db");
    let store = Store::open(nested.to_str().unwrap()).unwrap();
    assert_eq!(store.path(), nested.to_str().unwrap());
    assert!(Path::new(store.path()).is_absolute());
    let mode = std::fs::metadata(t.dir.path().join("a/b/c"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750, "new directories are created 0o750");
    store.close().unwrap();
}

#[test]
fn dot_dot_components_are_resolved_in_the_reported_path() {
    // (Relative paths are resolved against the current directory: unit-tested in location.rs,
    // since changing the directory of a multi-threaded test process is racy.)
    let t = TempDb::new();
    std::fs::create_dir_all(t.dir.path().join("sub")).unwrap();
    let rel = format!("{}/sub/../rel.db", t.dir.path().display());
    let store = Store::open(&rel).unwrap();
    assert_eq!(store.path(), t.dir.path().join("rel.db").to_str().unwrap());
    store.close().unwrap();
}

#[test]
fn two_stores_report_distinct_paths() {
    let t = TempDb::new();
    let a = Store::open(t.dir.path().join("a.db").to_str().unwrap()).unwrap();
    let b = Store::open(t.dir.path().join("b.db").to_str().unwrap()).unwrap();
    assert_ne!(a.path(), b.path());
}

#[test]
fn memory_stores_are_private() {
    let a = Store::open(":memory:").unwrap();
    let b = Store::in_memory().unwrap();
    assert_eq!(a.path(), ":memory:");
    a.set_config("issue_prefix", "aa").unwrap();
    a.execute(
        "INSERT INTO issues (id, title) VALUES ('aa-1', 'only in a')",
        &[],
    )
    .unwrap();
    assert_eq!(b.get_config("issue_prefix").unwrap(), None);
    let count = b.query("SELECT count(*) FROM issues", &[]).unwrap();
    assert_eq!(count[0][0].as_i64(), Some(0));
    // A round trip inside one in-memory store works, readers included.
    let rows = a
        .query("SELECT title FROM issues WHERE id = ?", &params!["aa-1"])
        .unwrap();
    assert_eq!(rows[0][0].as_str(), Some("only in a"));
    // Go's shared-cache memory DSN also gives a private database.
    let c = Store::open_uri("file:memdb?mode=memory&cache=shared").unwrap();
    assert_eq!(c.path(), ":memory:");
    assert_eq!(c.get_config("issue_prefix").unwrap(), None);
}

#[test]
fn file_uris_are_parsed_and_never_become_file_names() {
    let t = TempDb::new();
    std::fs::create_dir_all(t.dir.path().join("u")).unwrap();
    let file = t.dir.path().join("u/beads.db");
    let uri = format!(
        "file:{}?_pragma=foreign_keys(ON)&_pragma=busy_timeout(1234)&_time_format=sqlite",
        file.display()
    );
    let store = Store::open_uri(&uri).unwrap();
    assert_eq!(store.path(), file.to_str().unwrap());
    assert_eq!(store.busy_timeout(), Duration::from_millis(1234));
    store.close().unwrap();
    let names: Vec<String> = std::fs::read_dir(t.dir.path().join("u"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"beads.db".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.contains('?') && !n.contains("pragma")),
        "a URI parameter leaked into a file name: {names:?}"
    );

    // mode=ro gives a read-only store.
    let ro = Store::open_uri(&format!("file:{}?mode=ro", file.display())).unwrap();
    assert!(ro.is_read_only());
    assert!(matches!(
        ro.set_config("k", "v"),
        Err(Error::ReadOnly { .. })
    ));
    ro.close().unwrap();

    // Bad URIs are typed errors, not files.
    for bad in [
        format!("file:{}?_pragma=foreign_keys(OFF)", file.display()),
        format!("file:{}?mode=nonsense", file.display()),
        format!("file:{}?unknown=1", file.display()),
    ] {
        assert!(
            matches!(Store::open_uri(&bad), Err(Error::InvalidInput { .. })),
            "{bad} should be rejected"
        );
    }
}

#[test]
fn busy_timeout_defaults_to_30_seconds_and_options_override_it() {
    let store = Store::in_memory().unwrap();
    assert_eq!(store.busy_timeout(), DEFAULT_BUSY_TIMEOUT);
    assert_eq!(DEFAULT_BUSY_TIMEOUT, Duration::from_secs(30));
    let t = TempDb::new();
    let store = Store::open_with(
        t.path_str(),
        OpenOptions::new().busy_timeout(Duration::ZERO),
    )
    .unwrap();
    assert_eq!(store.busy_timeout(), Duration::ZERO);
}

#[test]
fn close_is_idempotent_and_everything_after_it_is_closed() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    assert!(!store.is_closed());
    store.close().unwrap();
    assert!(store.is_closed());
    store.close().unwrap();
    assert!(matches!(store.get_config("x"), Err(Error::Closed { .. })));
    assert!(matches!(
        store.set_config("x", "y"),
        Err(Error::Closed { .. })
    ));
    assert!(matches!(store.get_metadata("x"), Err(Error::Closed { .. })));
    assert!(matches!(
        store.query("SELECT 1", &[]),
        Err(Error::Closed { .. })
    ));
    assert!(matches!(
        store.execute("SELECT 1", &[]),
        Err(Error::Closed { .. })
    ));
    assert!(matches!(store.checkpoint(), Err(Error::Closed { .. })));
    assert!(matches!(store.probe(), Err(Error::Closed { .. })));
    assert!(matches!(
        store.transaction(|_| Ok(())),
        Err(Error::Closed { .. })
    ));
}

#[test]
fn close_truncates_the_wal_and_real_sqlite_sees_every_committed_row() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    for i in 0..300 {
        store
            .execute(
                "INSERT INTO issues (id, title, description) VALUES (?, ?, ?)",
                &params![format!("bd-{i}"), format!("issue {i}"), "x".repeat(200)],
            )
            .unwrap();
    }
    assert!(
        std::fs::metadata(t.wal()).unwrap().len() > 0,
        "writes went to the WAL"
    );
    store.close().unwrap();
    let wal_len = std::fs::metadata(t.wal()).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "close leaves an empty (or no) -wal");

    // Copy only the main file, as git would commit it: every row must be there.
    let copy = t.dir.path().join("copy.db");
    std::fs::copy(&t.path, &copy).unwrap();
    let conn = common::sqlite(&copy);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM issues", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 300);
    let prefix: String = conn
        .query_row(
            "SELECT value FROM config WHERE key='issue_prefix'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(prefix, "bd");
    drop(conn);
    assert_eq!(common::sqlite_integrity(&copy), "ok");
}

#[test]
fn checkpoint_runs_full_and_copies_every_frame_into_the_file() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    for i in 0..200 {
        store
            .execute(
                "INSERT INTO issues (id, title, notes) VALUES (?, 't', ?)",
                &params![format!("bd-{i}"), "n".repeat(300)],
            )
            .unwrap();
    }
    let before = std::fs::metadata(&t.path).unwrap().len();
    let stats = store.checkpoint().unwrap();
    assert!(stats.wal_frames > 0);
    assert_eq!(stats.checkpointed_frames, stats.wal_frames);
    let after = std::fs::metadata(&t.path).unwrap().len();
    assert!(
        after > before,
        "the database file grew from {before} to {after}"
    );
    // FULL keeps the WAL file (only close truncates it).
    assert!(t.wal().exists());
    store.close().unwrap();
}

/// A store that is never closed nor dropped (`mem::forget`: no close, no `Drop`, as when a
/// thread is stuck or a process leaks it) keeps nothing from other stores or from SQLite: its
/// committed write is in the file's WAL, another store opens and reads it, and real SQLite too.
#[test]
fn a_store_never_closed_nor_dropped_loses_no_committed_write_and_locks_nobody_out() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_metadata("last_import_hash", "abc").unwrap();
    std::mem::forget(store);
    let conn = common::sqlite(&t.path);
    let v: String = conn
        .query_row(
            "SELECT value FROM metadata WHERE key='last_import_hash'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "abc");
    drop(conn);
    let store = Store::open(t.path_str()).unwrap();
    assert_eq!(
        store.get_metadata("last_import_hash").unwrap().as_deref(),
        Some("abc")
    );
    store.set_metadata("after", "forgotten store").unwrap();
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

/// Dropping a store (its `Drop` runs, `close` is never called) loses no committed write.
#[test]
fn dropping_a_store_without_close_loses_no_committed_write() {
    let t = TempDb::new();
    {
        let store = Store::open(t.path_str()).unwrap();
        store.set_metadata("last_import_hash", "abc").unwrap();
    }
    let store = Store::open(t.path_str()).unwrap();
    assert_eq!(
        store.get_metadata("last_import_hash").unwrap().as_deref(),
        Some("abc")
    );
    store.close().unwrap();
    let conn = common::sqlite(&t.path);
    let v: String = conn
        .query_row(
            "SELECT value FROM metadata WHERE key='last_import_hash'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "abc");
}

#[test]
fn config_and_metadata_behave_like_go() {
    let store = Store::in_memory().unwrap();
    // Missing keys read as empty, not as an error.
    assert_eq!(store.get_metadata("nope").unwrap(), None);
    assert_eq!(store.get_config("nope").unwrap(), None);
    store.set_metadata("k1", "v1").unwrap();
    store.set_metadata("k2", "v2").unwrap();
    store.set_metadata("k1", "v1b").unwrap();
    assert_eq!(store.get_metadata("k1").unwrap().as_deref(), Some("v1b"));
    assert_eq!(store.get_metadata("k2").unwrap().as_deref(), Some("v2"));
    store.set_config("issue_prefix", "bd").unwrap();
    let all = store.all_config().unwrap();
    assert_eq!(all.get("issue_prefix").map(String::as_str), Some("bd"));
    // The ten compaction defaults are present on a new database.
    assert_eq!(
        all.get("compaction_enabled").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        all.get("compact_tier2_days").map(String::as_str),
        Some("90")
    );
    assert_eq!(all.len(), 11);
    store.delete_config("issue_prefix").unwrap();
    store.delete_config("issue_prefix").unwrap();
    assert_eq!(store.get_config("issue_prefix").unwrap(), None);
    assert!(matches!(
        store.set_config("", "v"),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn the_schema_check_rejects_closed_issues_without_closed_at() {
    let store = Store::in_memory().unwrap();
    let err = store
        .execute(
            "INSERT INTO issues (id, title, status) VALUES ('bd-1', 't', 'closed')",
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    store
        .execute(
            "INSERT INTO issues (id, title, status, closed_at) VALUES ('bd-1', 't', 'closed', '2026-01-01T00:00:00Z')",
            &[],
        )
        .unwrap();
    let err = store
        .execute(
            "INSERT INTO issues (id, title, status, closed_at) VALUES ('bd-2', 't', 'open', '2026-01-01T00:00:00Z')",
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    let err = store
        .execute(
            "INSERT INTO issues (id, title, priority) VALUES ('bd-3', 't', 9)",
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
}

#[test]
fn reopening_an_up_to_date_file_runs_no_ddl() {
    // The schema cookie changes with every DDL statement; reopening must leave it alone.
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    let cookie = |p: &Path| -> i64 {
        common::sqlite(p)
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .unwrap()
    };
    let before = cookie(&t.path);
    Store::open(t.path_str()).unwrap().close().unwrap();
    assert_eq!(cookie(&t.path), before, "reopening ran DDL");
}

#[test]
fn every_connection_enforces_foreign_keys() {
    let store = Store::in_memory().unwrap();
    // Reader connections (query) and the writer (execute) both report foreign_keys = 1.
    for _ in 0..3 {
        let rows = store.query("PRAGMA foreign_keys", &[]).unwrap();
        assert_eq!(rows[0][0].as_i64(), Some(1));
    }
    let snap = store
        .snapshot(|s| -> beadstore::Result<_> {
            Ok(s.query("PRAGMA foreign_keys", &[])?[0][0].as_i64())
        })
        .unwrap();
    assert_eq!(snap, Some(1));
    let err = store
        .execute(
            "INSERT INTO comments (issue_id, author, text) VALUES ('nope', 'a', 't')",
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
}

#[test]
fn a_failed_open_leaves_nothing_open() {
    let t = TempDb::new();
    Store::open(t.path_str()).unwrap().close().unwrap();
    {
        let conn = common::sqlite(&t.path);
        conn.execute_batch("ALTER TABLE comments RENAME COLUMN author TO writer")
            .unwrap();
    }
    assert!(matches!(
        Store::open(t.path_str()),
        Err(Error::SchemaIncompatible { .. })
    ));
    // Another process can take the file at once: the failed open released its lock.
    let status = common::testkit()
        .args(["hold", t.path_str(), "0"])
        .output()
        .unwrap();
    assert!(
        !status.status.success(),
        "the child reports the same incompatibility"
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("incompatible"), "{stderr}");
    assert!(!stderr.contains("locked"), "{stderr}");
    // And a read-only open in this process takes its own lock, not a leftover registration.
    let ro = Store::open_read_only(t.path_str()).unwrap();
    assert!(!ro.probe().unwrap().is_compatible());
}

/// A checkpoint while another thread is inside a read snapshot waits for it (the engine itself
/// answers `Busy` at once) and then copies every frame.
#[test]
fn checkpoint_waits_for_a_reader_in_flight_instead_of_failing_busy() {
    let t = TempDb::new();
    let store = std::sync::Arc::new(Store::open(t.path_str()).unwrap());
    store.set_config("issue_prefix", "bd").unwrap();
    for i in 0..50 {
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES (?, 'x')",
                &beadstore::params![format!("bd-{i}")],
            )
            .unwrap();
    }
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let reader = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .snapshot(|tx| -> beadstore::Result<_> {
                    tx.query("SELECT count(*) FROM issues", &[])?;
                    entered_tx.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .unwrap();
        })
    };
    entered.recv().unwrap();
    let stats = store.checkpoint().unwrap();
    assert_eq!(stats.checkpointed_frames, stats.wal_frames);
    reader.join().unwrap();
    store.close().unwrap();
}

/// A write on the store from inside its own write transaction, on the same thread, could only
/// wait for itself: it fails at once with `NestedWrite` (not after the 30 s busy timeout), the
/// transaction goes on, and what it wrote commits.
#[test]
fn a_nested_write_on_the_same_thread_fails_at_once_and_the_outer_transaction_commits() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    assert_eq!(store.busy_timeout(), DEFAULT_BUSY_TIMEOUT);
    let started = std::time::Instant::now();
    let nested = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.set_config("outer", "yes")?;
            let nested = store.set_config("inner", "no").unwrap_err();
            // Reads of the store still work beside the open write transaction.
            assert_eq!(store.get_config("outer")?, None);
            Ok(nested)
        })
        .unwrap();
    assert!(
        matches!(nested, Error::NestedWrite { .. }),
        "expected NestedWrite, got {nested:?}"
    );
    assert!(
        started.elapsed() < DEFAULT_BUSY_TIMEOUT / 3,
        "the nested write waited {:?}",
        started.elapsed()
    );
    assert_eq!(store.get_config("outer").unwrap().as_deref(), Some("yes"));
    assert_eq!(store.get_config("inner").unwrap(), None);
    // Another thread's write inside the transaction waits for it instead, then runs.
    let store = std::sync::Arc::new(store);
    store
        .transaction(|tx| -> beadstore::Result<_> {
            let other = std::sync::Arc::clone(&store);
            let waiter = std::thread::spawn(move || other.set_config("from_thread", "1"));
            tx.set_config("first", "1")?;
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                !waiter.is_finished(),
                "the other thread's write did not wait"
            );
            Ok(waiter)
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(
        store.get_config("from_thread").unwrap().as_deref(),
        Some("1")
    );
}

/// The closure of a transaction may fail with the caller's own error type: it gets it back
/// unchanged, and nothing the transaction wrote is kept.
#[test]
fn a_transaction_may_fail_with_the_callers_own_error_type_and_rolls_back() {
    #[derive(Debug)]
    enum AppError {
        Store(Error),
        Refused(&'static str),
    }
    impl From<Error> for AppError {
        fn from(e: Error) -> Self {
            AppError::Store(e)
        }
    }
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let result: Result<(), AppError> = store.transaction(|tx| {
        tx.set_config("half", "done")?;
        Err(AppError::Refused("policy"))
    });
    assert!(
        matches!(result, Err(AppError::Refused("policy"))),
        "{result:?}"
    );
    assert_eq!(store.get_config("half").unwrap(), None);
    // beadstore's own failures inside arrive converted into the caller's type.
    let result: Result<(), AppError> = store.transaction(|tx| Ok(tx.set_config("", "empty key")?));
    assert!(
        matches!(result, Err(AppError::Store(Error::InvalidInput { .. }))),
        "{result:?}"
    );
    let read: Result<String, AppError> =
        store.snapshot(|tx| Ok(tx.get_config("half")?.unwrap_or_default()));
    assert_eq!(read.unwrap(), "");
}
