//! Transactions: reading their own writes, rolling back, statement reuse.

use crate::common::issues::store_with_prefix;
use crate::common::TempDb;
use beadstore::model::Issue;
use beadstore::ops::IssueFilter;
use beadstore::Error;

#[test]
fn transactions_read_their_own_writes_and_roll_back_on_error_and_panic() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let created = store
        .transaction(|tx| -> beadstore::Result<_> {
            let parent = tx.create_issue(Issue::new("parent"), "me")?;
            let child_id = tx.next_child_id(&parent.id)?;
            let mut child = Issue::new("child");
            child.id = child_id.clone();
            tx.create_issue(child, "me")?;
            assert!(tx.get_issue(&child_id)?.is_some(), "read your writes");
            tx.add_label(&child_id, "x", "me")?;
            assert_eq!(tx.get_labels(&child_id)?, ["x"]);
            Ok((parent.id, child_id))
        })
        .unwrap();
    assert_eq!(created.1, format!("{}.1", created.0));
    assert_eq!(
        store.next_child_id(&created.0).unwrap(),
        format!("{}.2", created.0)
    );
    let before = store
        .search_issues("", &IssueFilter::default())
        .unwrap()
        .len();
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.create_issue(Issue::new("doomed"), "me")?;
            Err::<(), _>(Error::InvalidInput {
                field: "test",
                message: "changed my mind".into(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.transaction(|tx| -> beadstore::Result<_> {
            tx.create_issue(Issue::new("doomed too"), "me")?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok(())
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(
        store
            .search_issues("", &IssueFilter::default())
            .unwrap()
            .len(),
        before
    );
}

/// Reads run on query-only connections: SQL that writes is refused through `query`, in a
/// snapshot or not, however often the same statement ran (prepared statements are reused, and
/// one prepared on the writer never leaks to a reader); it writes through `execute`.
#[test]
fn statement_reuse_never_lets_a_write_into_a_read() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let sql = "INSERT INTO metadata (key, value) VALUES ('k', 'v') ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    for _ in 0..3 {
        store.execute(sql, &[]).unwrap();
    }
    for _ in 0..3 {
        let err = store.query(sql, &[]).unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
        // A read transaction has no `execute`; SQL that writes through `query` is refused.
        let err = store.snapshot(|tx| tx.query(sql, &[])).unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    }
    assert_eq!(store.get_metadata("k").unwrap().as_deref(), Some("v"));
    store
        .execute("DELETE FROM metadata WHERE key = 'k'", &[])
        .unwrap();
    assert_eq!(store.get_metadata("k").unwrap(), None);
}
