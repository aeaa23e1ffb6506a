//! One writer and many readers from several threads (Go underlying_db_test concurrent access).

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beadstore::{params, Store};
use common::TempDb;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn store_is_send_and_sync() {
    assert_send_sync::<Store>();
    assert_send_sync::<Arc<Store>>();
}

#[test]
fn eight_threads_of_readers_and_writers_lose_nothing_and_see_no_error() {
    let t = TempDb::new();
    let store = Arc::new(Store::open(t.path_str()).unwrap());
    store.set_config("issue_prefix", "bd").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(3);

    let mut threads = Vec::new();
    for w in 0..3 {
        let (store, stop, ack) = (store.clone(), stop.clone(), acknowledged.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("bd-w{w}-{n}");
                if n % 10 == 0 {
                    // Some writes are multi-statement transactions.
                    store
                        .transaction(|tx| -> beadstore::Result<_> {
                            tx.execute(
                                "INSERT INTO issues (id, title) VALUES (?, 'tx')",
                                &params![id.clone()],
                            )?;
                            tx.execute(
                                "INSERT INTO labels (issue_id, label) VALUES (?, 'w')",
                                &params![id.clone()],
                            )?;
                            Ok(())
                        })
                        .unwrap();
                } else {
                    store
                        .execute(
                            "INSERT INTO issues (id, title) VALUES (?, 'plain')",
                            &params![id],
                        )
                        .unwrap();
                }
                ack.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
        }));
    }
    for _ in 0..5 {
        let (store, stop, reads, ack) = (
            store.clone(),
            stop.clone(),
            reads.clone(),
            acknowledged.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let mut last = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let floor = ack.load(Ordering::SeqCst) as i64;
                let rows = store.query("SELECT count(*) FROM issues", &[]).unwrap();
                let n = rows[0][0].as_i64().unwrap();
                // Counts never go backwards and include every write acknowledged before the read.
                assert!(n >= last, "count went back from {last} to {n}");
                assert!(n >= floor, "read {n} rows but {floor} writes were acknowledged before");
                last = n;
                // Transactions are atomic: every tx issue has its label.
                let orphans = store
                    .query("SELECT count(*) FROM issues i WHERE i.title = 'tx' AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id)", &[])
                    .unwrap();
                assert_eq!(orphans[0][0].as_i64(), Some(0));
                assert_eq!(store.get_config("issue_prefix").unwrap().as_deref(), Some("bd"));
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for th in threads {
        th.join().expect("a worker thread failed");
    }
    let written = acknowledged.load(Ordering::SeqCst);
    assert!(written > 100, "only {written} writes in 3 s");
    assert!(reads.load(Ordering::Relaxed) > 100);
    let rows = store.query("SELECT count(*) FROM issues", &[]).unwrap();
    assert_eq!(rows[0][0].as_i64(), Some(written as i64));
    store.close().unwrap();

    // Every acknowledged write is in the file real SQLite reads.
    let conn = common::sqlite(&t.path);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM issues", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, written as i64);
    drop(conn);
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

#[test]
fn close_while_other_threads_work_gives_them_closed_errors_not_panics() {
    let t = TempDb::new();
    let store = Arc::new(Store::open(t.path_str()).unwrap());
    let mut threads = Vec::new();
    for i in 0..4 {
        let store = store.clone();
        threads.push(std::thread::spawn(move || loop {
            let r = if i % 2 == 0 {
                store.query("SELECT count(*) FROM issues", &[]).map(|_| ())
            } else {
                store.set_metadata("k", &i.to_string())
            };
            match r {
                Ok(()) => continue,
                Err(beadstore::Error::Closed { .. }) => return,
                Err(e) => panic!("unexpected error: {e}"),
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(200));
    store.close().unwrap();
    for th in threads {
        th.join().unwrap();
    }
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}
