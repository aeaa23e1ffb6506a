//! Read-only stores (Go readonly_test.go, GH#804): no write of any kind, no sidecar files, and no
//! torn reads while another process writes.

use crate::common;

use std::io::BufRead;
use std::time::{Duration, Instant};

use beadstore::{params, Error, NotFoundKind, OpenOptions, Store};
use common::{spawn_testkit, wait_for_line, TempDb};

fn seeded() -> TempDb {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
        .execute("INSERT INTO issues (id, title) VALUES ('bd-1', 'one')", &[])
        .unwrap();
    store.close().unwrap();
    t
}

#[test]
fn missing_file_is_not_found_and_memory_is_refused() {
    let t = TempDb::new();
    let err = Store::open_read_only(t.path_str()).unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { kind: NotFoundKind::Database, id, .. } if id == t.path_str()),
        "{err:?}"
    );
    assert!(
        !t.path.exists(),
        "a read-only open must not create the file"
    );
    assert!(!t.path.parent().unwrap().exists(), "nor its directory");
    let err = Store::open_read_only(":memory:").unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = Store::open_uri("file:x?mode=memory&mode=ro").unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[test]
fn every_kind_of_write_is_a_typed_read_only_error() {
    let t = seeded();
    let store = Store::open_read_only(t.path_str()).unwrap();
    assert!(store.is_read_only());
    let is_ro = |r: Result<(), Error>| matches!(r, Err(Error::ReadOnly { .. }));
    assert!(is_ro(store.set_config("k", "v")));
    assert!(is_ro(store.set_metadata("k", "v")));
    assert!(is_ro(store.delete_config("issue_prefix")));
    assert!(is_ro(store.checkpoint().map(|_| ())));
    assert!(is_ro(
        store
            .execute("INSERT INTO issues (id, title) VALUES ('bd-2', 't')", &[])
            .map(|_| ())
    ));
    assert!(is_ro(store.execute("DELETE FROM issues", &[]).map(|_| ())));
    assert!(is_ro(store.execute_batch("CREATE TABLE ext (x INTEGER)")));
    assert!(is_ro(store.transaction(|_| Ok(()))));
    // Reads work.
    assert_eq!(
        store.get_config("issue_prefix").unwrap().as_deref(),
        Some("bd")
    );
    let rows = store
        .query("SELECT title FROM issues WHERE id = ?", &params!["bd-1"])
        .unwrap();
    assert_eq!(rows[0][0].as_str(), Some("one"));
    store.close().unwrap();
}

#[test]
fn a_read_only_session_leaves_bytes_mtime_and_directory_untouched() {
    let t = seeded();
    // Start from a clean state: no -wal next to the file (real SQLite removes it on close).
    drop(common::sqlite(&t.path));
    let files_before = t.files();
    let bytes_before = std::fs::read(&t.path).unwrap();
    let mtime_before = std::fs::metadata(&t.path).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));

    let store = Store::open_read_only(t.path_str()).unwrap();
    for _ in 0..50 {
        assert_eq!(
            store.get_config("issue_prefix").unwrap().as_deref(),
            Some("bd")
        );
        assert_eq!(store.get_metadata("missing").unwrap(), None);
        assert_eq!(store.query("SELECT * FROM issues", &[]).unwrap().len(), 1);
        assert!(store.probe().unwrap().is_compatible());
    }
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    store.close().unwrap();

    assert_eq!(t.files(), files_before, "a sidecar file appeared");
    assert!(
        std::fs::read(&t.path).unwrap() == bytes_before,
        "the database file's bytes changed"
    );
    assert_eq!(
        std::fs::metadata(&t.path).unwrap().modified().unwrap(),
        mtime_before
    );
}

#[test]
fn a_read_only_store_beside_a_writer_in_the_same_process_sees_its_commits() {
    let t = seeded();
    let writer = Store::open(t.path_str()).unwrap();
    let reader = Store::open_read_only(t.path_str()).unwrap();
    writer
        .execute("INSERT INTO issues (id, title) VALUES ('bd-2', 'two')", &[])
        .unwrap();
    let n = reader.query("SELECT count(*) FROM issues", &[]).unwrap();
    assert_eq!(n[0][0].as_i64(), Some(2));
    assert!(matches!(
        reader.set_config("k", "v"),
        Err(Error::ReadOnly { .. })
    ));
    reader.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn a_writer_in_the_same_process_waits_for_read_only_stores_then_reports_locked() {
    let t = seeded();
    let reader = Store::open_read_only(t.path_str()).unwrap();
    let start = Instant::now();
    let err = Store::open_with(
        t.path_str(),
        OpenOptions::new().busy_timeout(Duration::from_millis(150)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert!(err.to_string().contains(t.path_str()), "{err}");
    reader.close().unwrap();
    // Once the reader is gone the writer gets the file.
    Store::open(t.path_str()).unwrap().close().unwrap();
}

#[test]
fn a_reader_opens_and_reads_while_another_process_writes_and_sees_only_its_commit() {
    let t = seeded();
    let (mut child, mut out) = spawn_testkit(&["hold", t.path_str(), "1500"]);
    wait_for_line(&mut out, "ready");
    // Opened in the middle of the other process's write transaction, with a busy timeout far
    // shorter than the transaction: a reader does not wait for a writer (WAL), and it sees the
    // last commit, not the transaction in progress.
    let start = Instant::now();
    let store = Store::open_with(
        t.path_str(),
        OpenOptions::new()
            .read_only(true)
            .busy_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    assert_eq!(
        store.get_config("issue_prefix").unwrap().as_deref(),
        Some("bd")
    );
    assert_eq!(store.get_config("held_by").unwrap(), None);
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    wait_for_line(&mut out, "closed");
    assert!(child.wait().unwrap().success());
    // Committed: the same store sees it on its next call.
    assert_eq!(
        store.get_config("held_by").unwrap().as_deref(),
        Some("testkit")
    );
    store.close().unwrap();
}

#[test]
fn read_only_readers_never_see_a_torn_state_while_another_process_writes() {
    // Every writer transaction bumps `gen` on all 300 rows (spread over many pages), and each
    // writer session ends with a TRUNCATE checkpoint that rewrites the database file. A reader
    // that saw part of a transaction, or a file half-way through a checkpoint, would see rows
    // with different generations or a wrong row count.
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store
        .execute_batch(
            "CREATE TABLE gens (id INTEGER PRIMARY KEY, gen INTEGER NOT NULL, pad TEXT NOT NULL)",
        )
        .unwrap();
    store
        .transaction(|tx| -> beadstore::Result<_> {
            for i in 0..300 {
                tx.execute(
                    "INSERT INTO gens (id, gen, pad) VALUES (?, 0, ?)",
                    &params![i, "p".repeat(400)],
                )?;
            }
            Ok(())
        })
        .unwrap();
    store.close().unwrap();

    let (mut child, out) = spawn_testkit(&["generations", t.path_str(), "40", "5"]);
    let last_committed = std::thread::spawn(move || {
        let mut last = 0i64;
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(g) = line.strip_prefix("committed ") {
                last = g.parse().unwrap();
            }
        }
        last
    });

    let mut reads = 0;
    let mut seen = std::collections::BTreeSet::new();
    let options = OpenOptions::new()
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    while child.try_wait().unwrap().is_none() {
        let reader = Store::open_with(t.path_str(), options.clone()).unwrap();
        let rows = reader
            .query("SELECT count(*), min(gen), max(gen) FROM gens", &[])
            .unwrap();
        reader.close().unwrap();
        let (count, min, max) = (
            rows[0][0].as_i64().unwrap(),
            rows[0][1].as_i64().unwrap(),
            rows[0][2].as_i64().unwrap(),
        );
        assert_eq!(count, 300, "torn read: row count");
        assert_eq!(min, max, "torn read: generations {min}..{max} mixed");
        seen.insert(min);
        reads += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(child.wait().unwrap().success());
    let last = last_committed.join().unwrap();
    assert_eq!(last, 200, "the writer committed every transaction");
    assert!(reads > 0);
    assert!(
        seen.len() >= 2,
        "the reader interleaved with the writer ({reads} reads saw generations {seen:?})"
    );
    // And the final state is complete.
    let reader = Store::open_read_only(t.path_str()).unwrap();
    let rows = reader
        .query("SELECT min(gen), max(gen) FROM gens", &[])
        .unwrap();
    assert_eq!(rows[0], vec![200.into(), 200.into()]);
}
