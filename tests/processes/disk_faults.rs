//! A full or failing disk (feature `fault-injection`): writes, syncs and truncations fail with
//! ENOSPC, EIO or a short write after a countdown, at every point of a commit and of a
//! checkpoint. Operations return typed errors, nothing committed is lost, and the store works
//! again once the disk does.
#![cfg(feature = "fault-injection")]

use crate::common;

use std::collections::BTreeSet;

use beadstore::faults::{DiskFault, DiskFaults};
use beadstore::model::Issue;
use beadstore::{Error, Store};

fn titles(store: &Store) -> BTreeSet<String> {
    store
        .query("SELECT title FROM issues", &[])
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}

/// The error a failing disk gives: typed, naming the operation, never a panic.
fn assert_disk_error(e: &Error, context: &str) {
    assert!(matches!(e, Error::Io { .. }), "{context}: {e:?}");
    let text = e.to_string();
    assert!(
        ["I/O", "IOError", "fsync", "write", "space"]
            .iter()
            .any(|w| text.contains(w)),
        "{context}: the error says what failed: {text}"
    );
}

#[test]
fn a_failing_disk_gives_typed_errors_and_loses_nothing_committed() {
    let mut injected = 0;
    let mut failed_ops = 0;
    for fault in [DiskFault::NoSpace, DiskFault::Io, DiskFault::ShortWrite] {
        for countdown in 0..12u64 {
            let t = common::TempDb::new();
            let faults = DiskFaults::new();
            faults.attach(t.path_str());
            let store = Store::open(t.path_str()).unwrap();
            store.set_config("issue_prefix", "df").unwrap();
            let mut committed = BTreeSet::new();
            for i in 0..5 {
                let title = format!("before-{i}");
                store.create_issue(Issue::new(title.clone()), "t").unwrap();
                committed.insert(title);
            }

            // The disk fails part-way through the next writes and checkpoints.
            faults.fail_after(countdown, fault);
            let mut refused = BTreeSet::new();
            for i in 0..4 {
                let title = format!("during-{i}");
                match store.create_issue(Issue::new(title.clone()), "t") {
                    Ok(_) => {
                        committed.insert(title);
                    }
                    Err(e) => {
                        assert_disk_error(&e, &format!("{fault:?} after {countdown}: create"));
                        refused.insert(title);
                        failed_ops += 1;
                    }
                }
            }
            if let Err(e) = store.checkpoint() {
                assert_disk_error(&e, &format!("{fault:?} after {countdown}: checkpoint"));
                failed_ops += 1;
            }
            injected += faults.injected();

            // Space returns: the same store goes on, and everything acknowledged is there.
            faults.heal();
            let present = titles(&store);
            let lost: Vec<&String> = committed.difference(&present).collect();
            assert!(
                lost.is_empty(),
                "{fault:?} after {countdown}: lost {lost:?}"
            );
            for title in &refused {
                assert!(
                    !present.contains(title),
                    "{fault:?}: a refused write {title} appeared"
                );
            }
            store.create_issue(Issue::new("after"), "t").unwrap();
            committed.insert("after".into());
            store.close().unwrap();
            DiskFaults::detach(t.path_str());

            // Reopened, and read by real SQLite: whole.
            let store = Store::open(t.path_str()).unwrap();
            let present = titles(&store);
            assert!(committed.is_subset(&present), "{fault:?} after {countdown}");
            store.close().unwrap();
            assert_eq!(
                common::sqlite_integrity(&t.path),
                "ok",
                "{fault:?} after {countdown}"
            );
        }
    }
    eprintln!("disk faults: {injected} faults injected, {failed_ops} operations refused, 0 committed writes lost");
    assert!(injected > 30, "faults were injected ({injected})");
}
