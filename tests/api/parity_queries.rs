//! Parity with the Go storage tests for issue queries, transactions, batch creation, hash and
//! child ids and parent resurrection: each test ports the intent of the Go tests named above it
//! (beads 5264d7aa, internal/storage/sqlite), written against beadstore's own API.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use beadstore::model::{Dependency, DependencyType, Issue, IssueType, Status};
use beadstore::ops::{Attribution, CreateOptions, IssueFilter, IssueUpdate, OrphanHandling};
use beadstore::{Error, NotFoundKind, Store};
use common::issues::{at, ids, store_with_prefix};
use common::TempDb;

fn issue(title: &str) -> Issue {
    Issue::new(title)
}

fn with_id(id: &str, title: &str) -> Issue {
    let mut i = Issue::new(title);
    i.id = id.into();
    i
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

fn count_issues(store: &Store) -> i64 {
    store
        .query("SELECT count(*) FROM issues", &[])
        .unwrap()
        .first()
        .and_then(|r| r.first())
        .and_then(beadstore::Value::as_i64)
        .unwrap()
}

fn jsonl_path(t: &TempDb) -> std::path::PathBuf {
    t.path.parent().unwrap().join("issues.jsonl")
}

fn jsonl_line(id: &str, title: &str, extra: &str) -> String {
    format!(
        "{{\"id\":\"{id}\",\"title\":\"{title}\",\"priority\":1,\"issue_type\":\"epic\",\"created_at\":\"2024-03-01T00:00:00Z\",\"updated_at\":\"2024-03-01T00:00:00Z\"{extra}}}\n"
    )
}

// ---------------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------------

// Go: TestTransactionUpdateIssue, TestTransactionCloseIssue, TestTransactionDeleteIssue,
// TestTransactionGetIssue.
#[test]
fn updates_closes_and_deletes_in_a_transaction_are_seen_by_its_later_reads_and_then_committed() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let keep = store.create_issue(issue("to update"), "me").unwrap();
    let done = store.create_issue(issue("to close"), "me").unwrap();
    let gone = store.create_issue(issue("to delete"), "me").unwrap();
    store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.update_issue(
                &keep.id,
                &IssueUpdate::default()
                    .title("updated title")
                    .priority(0)
                    .assignee("ann"),
                "me",
            )?;
            let seen = tx.get_issue(&keep.id)?.unwrap();
            assert_eq!(
                (seen.title.as_str(), seen.priority, seen.assignee.as_str()),
                ("updated title", 0, "ann")
            );
            tx.close_issue(
                &done.id,
                &Attribution::new("me")
                    .reason("finished in tx")
                    .session("sess-1"),
            )?;
            let closed = tx.get_issue(&done.id)?.unwrap();
            assert_eq!(closed.status, Status::Closed);
            assert!(closed.closed_at.is_some());
            assert_eq!(closed.close_reason, "finished in tx");
            tx.delete_issue(&gone.id)?;
            assert!(tx.get_issue(&gone.id)?.is_none());
            Ok(())
        })
        .unwrap();
    let kept = store.get_issue(&keep.id).unwrap().unwrap();
    assert_eq!(kept.title, "updated title");
    assert_eq!(kept.content_hash, kept.compute_content_hash());
    let closed = store.get_issue(&done.id).unwrap().unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.closed_by_session, "sess-1");
    assert_eq!(store.get_close_reason(&done.id).unwrap(), "finished in tx");
    assert!(store.get_issue(&gone.id).unwrap().is_none());
    // Operations on a missing issue inside a transaction fail like outside one.
    let err = store
        .transaction(|tx| tx.close_issue("bd-missing", &Attribution::new("me").reason("x")))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = store
        .transaction(|tx| tx.delete_issue("bd-missing"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

// Go: TestTransactionCreateIssues, TestTransactionRollbackOnCreateError,
// TestTransactionNestedFailure, TestTransactionEmpty.
#[test]
fn a_batch_created_in_a_transaction_is_readable_in_it_and_a_later_failure_undoes_everything() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    // An empty transaction commits and changes nothing.
    store.transaction(|_tx| Ok::<_, Error>(())).unwrap();
    assert_eq!(count_issues(&store), 0);

    let created = store
        .transaction(|tx| -> beadstore::Result<_> {
            let batch = tx.create_issues(vec![issue("one"), issue("two"), issue("three")], "me")?;
            assert_eq!(batch.len(), 3);
            for i in &batch {
                assert_eq!(tx.get_issue(&i.id)?.unwrap().title, i.title);
            }
            Ok(batch)
        })
        .unwrap();
    assert_eq!(
        created
            .iter()
            .map(|i| i.id.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        3,
        "distinct ids"
    );
    assert_eq!(count_issues(&store), 3);

    // First create succeeds, the second is invalid: the error comes back and nothing stays.
    let mut first_id = String::new();
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            first_id = tx.create_issue(issue("first"), "me")?.id;
            tx.create_issue(issue(""), "me")
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: "title", message: m } if m.contains("title")),
        "{err:?}"
    );
    assert!(!first_id.is_empty());
    assert!(store.get_issue(&first_id).unwrap().is_none());
    // A duplicate explicit id rolls back the rest of the transaction too.
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.create_issue(with_id("bd-fresh", "fresh"), "me")?;
            tx.create_issue(with_id(&created[0].id, "duplicate"), "me")
        })
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    assert!(store.get_issue("bd-fresh").unwrap().is_none());
    assert_eq!(count_issues(&store), 3);
    assert_eq!(store.get_dirty_issues().unwrap().len(), 3);
}

// Go: TestTransactionAddDependency, TestTransactionAddDependency_RelatesTo,
// TestTransactionAddDependency_RepliesTo, TestTransactionRemoveDependency,
// TestTransactionRemoveLabel, TestTransactionAtomicIssueWithDependency,
// TestTransactionAtomicPlanApproval.
#[test]
fn issues_dependencies_and_labels_made_in_one_transaction_commit_or_vanish_together() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    store.set_config("types.custom", "message").unwrap();
    // A plan: an epic and two tasks, the second blocked by the first, all labelled.
    let (epic, task1, task2) = store
        .transaction(|tx| -> beadstore::Result<_> {
            let mut e = issue("Epic: feature");
            e.issue_type = IssueType::Epic;
            let e = tx.create_issue(e, "me")?;
            let t1 = tx.create_issue(issue("Task 1: setup"), "me")?;
            let t2 = tx.create_issue(issue("Task 2: build"), "me")?;
            tx.add_dependency(
                &Dependency::new(&t2.id, &t1.id, DependencyType::Blocks),
                "me",
            )?;
            tx.add_dependency(
                &Dependency::new(&t1.id, &e.id, DependencyType::ParentChild),
                "me",
            )?;
            for id in [&e.id, &t1.id, &t2.id] {
                tx.add_label(id, "feature-x", "me")?;
            }
            // Read your writes: the dependency rows and the blocked state.
            let records = tx.get_dependency_records(&t2.id)?;
            assert_eq!(records.len(), 1);
            assert_eq!(records[0].depends_on_id, t1.id);
            assert_eq!(records[0].created_by, "me");
            assert!(tx.is_blocked(&t2.id)?.0);
            Ok((e.id, t1.id, t2.id))
        })
        .unwrap();
    assert_eq!(
        ids(&store.get_issues_by_label("feature-x").unwrap()),
        set(&[&epic, &task1, &task2])
    );
    assert_eq!(
        store.is_blocked(&task2).unwrap(),
        (true, vec![task1.clone()])
    );

    // Remove the dependency and a label in a transaction.
    store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.remove_dependency(&task2, &task1, "me")?;
            tx.remove_label(&task2, "feature-x", "me")?;
            assert!(tx.get_dependency_records(&task2)?.is_empty());
            assert!(tx.get_labels(&task2)?.is_empty());
            Ok(())
        })
        .unwrap();
    assert!(!store.is_blocked(&task2).unwrap().0);
    assert!(store.get_labels(&task2).unwrap().is_empty());

    // An issue and its dependency fail together when the dependency is refused.
    let mut orphan = String::new();
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            orphan = tx.create_issue(issue("depends on nothing real"), "me")?.id;
            tx.add_dependency(
                &Dependency::new(&orphan, "bd-nowhere", DependencyType::Blocks),
                "me",
            )
        })
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(store.get_issue(&orphan).unwrap().is_none());

    // relates-to both ways inside one transaction is not a cycle.
    store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.add_dependency(
                &Dependency::new(&task1, &task2, DependencyType::RelatesTo),
                "me",
            )?;
            tx.add_dependency(
                &Dependency::new(&task2, &task1, DependencyType::RelatesTo),
                "me",
            )
        })
        .unwrap();
    assert_eq!(store.get_dependency_records(&task1).unwrap().len(), 2);
    assert_eq!(
        store.get_dependency_records(&task2).unwrap()[0].dep_type,
        DependencyType::RelatesTo
    );

    // replies-to keeps its thread id.
    let mut original = issue("Original message");
    original.issue_type = IssueType::parse("message");
    original.sender = "alice".into();
    let original = store.create_issue(original, "me").unwrap();
    let mut reply = issue("Re: original");
    reply.issue_type = IssueType::parse("message");
    reply.sender = "bob".into();
    let reply = store.create_issue(reply, "me").unwrap();
    store
        .transaction(|tx| -> beadstore::Result<_> {
            let mut d = Dependency::new(&reply.id, &original.id, "replies-to");
            d.thread_id = original.id.clone();
            tx.add_dependency(&d, "me")
        })
        .unwrap();
    let linked = store.get_dependencies_with_type(&reply.id).unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(
        (linked[0].0.id.as_str(), linked[0].1.as_str()),
        (original.id.as_str(), "replies-to")
    );
    assert_eq!(
        store.get_dependency_records(&reply.id).unwrap()[0].thread_id,
        original.id
    );
}

// Go: TestTransactionAddComment, TestTransactionAddCommentToCreatedIssue,
// TestTransactionAddCommentNonexistentIssue, TestTransactionCommentRollback.
#[test]
fn comments_in_a_transaction_need_an_existing_issue_and_roll_back_with_it() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let existing = store.create_issue(issue("existing"), "me").unwrap();
    store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.add_comment_event(&existing.id, "ann", "event-style note")?;
            let events = tx.get_events(&existing.id, 1)?;
            assert_eq!(events[0].event_type, "commented");
            assert_eq!(events[0].comment.as_deref(), Some("event-style note"));
            Ok(())
        })
        .unwrap();
    assert_eq!(store.get_events(&existing.id, 1).unwrap()[0].actor, "ann");

    // A comment on an issue created earlier in the same transaction.
    let fresh = store
        .transaction(|tx| -> beadstore::Result<_> {
            let fresh = tx.create_issue(issue("made in tx"), "me")?;
            let c = tx.add_issue_comment(&fresh.id, "bob", "first!")?;
            assert_eq!(
                (c.issue_id.as_str(), c.text.as_str()),
                (fresh.id.as_str(), "first!")
            );
            let imported = tx.import_issue_comment(
                &fresh.id,
                "carol",
                "from the archive",
                &at("2021-05-06T07:08:09Z"),
            )?;
            assert_eq!(imported.created_at, at("2021-05-06T07:08:09Z"));
            tx.add_comment_event(&fresh.id, "bob", "noted")?;
            let comments = tx.get_issue_comments(&fresh.id)?;
            assert_eq!(
                comments.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
                ["from the archive", "first!"]
            );
            Ok(fresh.id)
        })
        .unwrap();
    assert_eq!(store.get_issue_comments(&fresh).unwrap().len(), 2);

    // A missing issue is refused for both kinds of comment.
    let err = store
        .transaction(|tx| tx.add_comment_event("bd-nope", "x", "y"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = store
        .transaction(|tx| tx.add_issue_comment("bd-nope", "x", "y"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    // A failing transaction takes its comments and events with it.
    let events_before = store.get_events(&existing.id, 0).unwrap().len();
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.add_issue_comment(&existing.id, "ann", "lost")?;
            tx.add_comment_event(&existing.id, "ann", "lost too")?;
            Err::<(), _>(Error::InvalidInput {
                field: "test",
                message: "abort".into(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert!(store.get_issue_comments(&existing.id).unwrap().is_empty());
    assert_eq!(
        store.get_events(&existing.id, 0).unwrap().len(),
        events_before
    );
}

// Go: TestTransactionSetConfig, TestTransactionGetConfig, TestTransactionConfigRollback,
// TestTransactionSetMetadata, TestTransactionGetMetadata, TestTransactionMetadataRollback,
// TestTransactionAtomicConfigWithIssue, TestTransactionConfigOverwrite,
// TestTransactionGetConfigNonexistent, TestTransactionGetMetadataNonexistent.
#[test]
fn config_and_metadata_written_in_a_transaction_are_read_back_in_it_and_roll_back_with_it() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    store
        .transaction(|tx| -> beadstore::Result<_> {
            assert_eq!(tx.get_config("never.set")?, None);
            assert_eq!(tx.get_metadata("never.set")?, None);
            tx.set_config("sync.branch", "main")?;
            tx.set_metadata("last_import", "2025-01-01")?;
            assert_eq!(tx.get_config("sync.branch")?.as_deref(), Some("main"));
            assert_eq!(
                tx.get_metadata("last_import")?.as_deref(),
                Some("2025-01-01")
            );
            tx.set_config("sync.branch", "beads-sync")?;
            assert_eq!(tx.get_config("sync.branch")?.as_deref(), Some("beads-sync"));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store.get_config("sync.branch").unwrap().as_deref(),
        Some("beads-sync")
    );
    assert_eq!(
        store.get_metadata("last_import").unwrap().as_deref(),
        Some("2025-01-01")
    );
    // Config and metadata are separate tables.
    assert_eq!(store.get_metadata("sync.branch").unwrap(), None);

    // A failure rolls back config, metadata and the issue created with them.
    let mut created = String::new();
    let err = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.set_config("sync.branch", "rolled-back")?;
            tx.set_metadata("last_import", "rolled-back")?;
            tx.set_config("brand.new", "x")?;
            created = tx.create_issue(issue("with config"), "me")?.id;
            Err::<(), _>(Error::InvalidInput {
                field: "test",
                message: "abort".into(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert_eq!(
        store.get_config("sync.branch").unwrap().as_deref(),
        Some("beads-sync")
    );
    assert_eq!(
        store.get_metadata("last_import").unwrap().as_deref(),
        Some("2025-01-01")
    );
    assert_eq!(store.get_config("brand.new").unwrap(), None);
    assert!(store.get_issue(&created).unwrap().is_none());

    // Config written in a transaction steers the issues created after it in the same one.
    let made = store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.set_config("issue_prefix", "zz")?;
            tx.set_config("status.custom", "review")?;
            let mut i = issue("under the new prefix");
            i.status = Status::parse("review");
            tx.create_issue(i, "me")
        })
        .unwrap();
    assert!(made.id.starts_with("zz-"), "{}", made.id);
    assert_eq!(
        store.get_issue(&made.id).unwrap().unwrap().status,
        Status::parse("review")
    );
    // An empty key is refused.
    let err = store.transaction(|tx| tx.set_config("", "v")).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = store
        .transaction(|tx| tx.set_metadata("", "v"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

// Go: TestTransactionConcurrent, TestParallelIssueCreation.
#[test]
fn concurrent_transactions_each_create_their_issue_with_a_distinct_id() {
    let t = TempDb::new();
    let store = Arc::new(store_with_prefix(&t));
    let threads: Vec<_> = (0..10)
        .map(|n| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                store.transaction(|tx| -> beadstore::Result<_> {
                    let mut i = issue("concurrent issue");
                    i.priority = n % 4;
                    tx.create_issue(i, "me").map(|i| i.id)
                })
            })
        })
        .collect();
    let made: BTreeSet<String> = threads
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(made.len(), 10, "every id distinct");
    assert_eq!(count_issues(&store), 10);
    for id in &made {
        assert!(store.get_issue(id).unwrap().is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

/// Five issues with fixed creation times, priorities, assignees, types and labels.
fn search_fixture(store: &Store) -> Vec<Issue> {
    let specs: [(&str, &str, i64, &str, IssueType); 5] = [
        ("bd-s1", "2024-01-10T00:00:00Z", 0, "ann", IssueType::Bug),
        ("bd-s2", "2024-03-10T00:00:00Z", 1, "bob", IssueType::Task),
        (
            "bd-s3",
            "2024-05-10T00:00:00Z",
            2,
            "ann",
            IssueType::Feature,
        ),
        ("bd-s4", "2024-07-10T00:00:00Z", 3, "", IssueType::Task),
        ("bd-s5", "2024-09-10T00:00:00Z", 4, "", IssueType::Chore),
    ];
    let mut out = Vec::new();
    for (id, created, priority, assignee, kind) in specs {
        let mut i = with_id(id, &format!("search target {id}"));
        i.created_at = at(created);
        i.updated_at = at(created);
        i.priority = priority;
        i.assignee = assignee.into();
        i.issue_type = kind;
        out.push(store.create_issue(i, "me").unwrap());
    }
    store.add_label("bd-s1", "backend", "me").unwrap();
    store.add_label("bd-s1", "urgent", "me").unwrap();
    store.add_label("bd-s3", "backend", "me").unwrap();
    store.add_label("bd-s4", "frontend", "me").unwrap();
    out
}

// Go: TestTransactionSearchIssuesBasic, TestTransactionSearchIssuesReadYourWrites,
// TestTransactionSearchIssuesWithFilters, TestTransactionSearchIssuesWithLabels,
// TestTransactionSearchIssuesLimit, TestTransactionSearchIssuesWithPriorityRange,
// TestTransactionSearchIssuesWithDateRange, TestTransactionSearchIssuesWithIDs,
// TestSearchIssues (sqlite_test.go, the filter part).
#[test]
fn search_filters_narrow_by_priority_range_dates_ids_labels_assignee_type_and_limit() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    search_fixture(&store);
    let run = |f: IssueFilter| -> Vec<String> {
        let via_store: Vec<String> = store
            .search_issues("", &f)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        // The transaction version answers the same.
        let via_tx: Vec<String> = store
            .transaction(|tx| tx.search_issues("", &f))
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(via_store, via_tx);
        via_store
    };
    // Order: priority, then newest.
    assert_eq!(
        run(IssueFilter::default()),
        ["bd-s1", "bd-s2", "bd-s3", "bd-s4", "bd-s5"]
    );
    assert_eq!(run(IssueFilter::default().limit(2)), ["bd-s1", "bd-s2"]);
    assert_eq!(
        run(IssueFilter::default().priority_min(1).priority_max(3)),
        ["bd-s2", "bd-s3", "bd-s4"]
    );
    assert_eq!(run(IssueFilter::default().priority(2)), ["bd-s3"]);
    assert_eq!(
        run(IssueFilter::default()
            .created_after(at("2024-02-01T00:00:00Z"))
            .created_before(at("2024-08-01T00:00:00Z"))),
        ["bd-s2", "bd-s3", "bd-s4"]
    );
    assert_eq!(
        run(IssueFilter::default().updated_after(at("2024-06-01T00:00:00Z"))),
        ["bd-s4", "bd-s5"]
    );
    assert_eq!(
        run(IssueFilter::default().updated_before(at("2024-02-01T00:00:00Z"))),
        ["bd-s1"]
    );
    assert_eq!(
        run(IssueFilter::default().ids(["bd-s5", "bd-s2", "bd-nothing"])),
        ["bd-s2", "bd-s5"]
    );
    assert_eq!(
        run(IssueFilter::default().labels(["backend", "urgent"])),
        ["bd-s1"]
    );
    assert_eq!(
        run(IssueFilter::default().labels_any(["urgent", "frontend"])),
        ["bd-s1", "bd-s4"]
    );
    assert_eq!(
        run(IssueFilter::default().assignee("ann")),
        ["bd-s1", "bd-s3"]
    );
    assert_eq!(
        run(IssueFilter::default().no_assignee(true)),
        ["bd-s4", "bd-s5"]
    );
    assert_eq!(
        run(IssueFilter::default().issue_type(IssueType::Task)),
        ["bd-s2", "bd-s4"]
    );
    assert_eq!(
        run(IssueFilter::default().exclude_types(vec![IssueType::Task, IssueType::Chore])),
        ["bd-s1", "bd-s3"]
    );
    assert_eq!(
        run(IssueFilter::default().id_prefix("bd-s").priority_max(0)),
        ["bd-s1"]
    );
    // Filters combine with AND, and with the text.
    assert_eq!(
        run(IssueFilter::default().labels(["backend"]).priority_min(1)),
        ["bd-s3"]
    );
    assert_eq!(
        ids(&store
            .search_issues("target bd-s4", &IssueFilter::default().limit(10))
            .unwrap()),
        set(&["bd-s4"])
    );
}

// Go: TestTransactionSearchIssuesReadYourWrites, TestTransactionSearchIssuesRollback,
// TestTransactionSearchIssuesWithFilters (status), TestTransactionSearchIssuesWithLabels.
#[test]
fn search_inside_a_transaction_sees_its_uncommitted_issues_statuses_and_labels() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    store.create_issue(issue("committed widget"), "me").unwrap();
    let made = store
        .transaction(|tx| -> beadstore::Result<_> {
            let a = tx.create_issue(issue("uncommitted widget"), "me")?;
            let found = tx.search_issues("widget", &IssueFilter::default())?;
            assert_eq!(found.len(), 2);
            tx.add_label(&a.id, "fresh", "me")?;
            let labelled = tx.search_issues("", &IssueFilter::default().labels(["fresh"]))?;
            assert_eq!(ids(&labelled), set(&[&a.id]));
            assert_eq!(labelled[0].labels, ["fresh"]);
            tx.update_issue(
                &a.id,
                &IssueUpdate::default().status(Status::InProgress),
                "me",
            )?;
            let in_progress =
                tx.search_issues("", &IssueFilter::default().status(Status::InProgress))?;
            assert_eq!(ids(&in_progress), set(&[&a.id]));
            Ok(a.id)
        })
        .unwrap();
    assert_eq!(
        store.get_issue(&made).unwrap().unwrap().status,
        Status::InProgress
    );
    // Rolled back: the search outside never sees it.
    let _ = store.transaction(|tx| -> beadstore::Result<_> {
        tx.create_issue(issue("phantom widget"), "me")?;
        assert_eq!(
            tx.search_issues("phantom", &IssueFilter::default())?.len(),
            1
        );
        Err::<(), _>(Error::InvalidInput {
            field: "test",
            message: "abort".into(),
        })
    });
    assert!(store
        .search_issues("phantom", &IssueFilter::default())
        .unwrap()
        .is_empty());
}

// Go: TestWispFilter, TestWispField, TestMessageType, TestSenderField (graph_links_test.go:
// issue flags that are search filters).
#[test]
fn wisps_pinned_and_templates_are_search_filters_and_custom_types_are_searchable() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    store.set_config("types.custom", "message").unwrap();
    for n in 0..3 {
        let mut w = issue(&format!("wisp {n}"));
        w.ephemeral = true;
        w.issue_type = IssueType::parse("message");
        w.sender = "alice@example.com".into();
        w.status = Status::Closed;
        store.create_issue(w, "me").unwrap();
    }
    for n in 0..2 {
        let mut p = issue(&format!("permanent {n}"));
        p.status = Status::Closed;
        p.pinned = n == 0;
        p.is_template = n == 1;
        store.create_issue(p, "me").unwrap();
    }
    let count = |f: IssueFilter| store.search_issues("", &f).unwrap().len();
    let closed = || IssueFilter::default().status(Status::Closed);
    assert_eq!(count(closed().ephemeral(true)), 3);
    assert_eq!(count(closed().ephemeral(false)), 2);
    assert_eq!(count(closed().pinned(true)), 1);
    assert_eq!(count(closed().is_template(false)), 4);
    let messages = store
        .search_issues(
            "",
            &IssueFilter::default().issue_type(IssueType::parse("message")),
        )
        .unwrap();
    assert_eq!(messages.len(), 3);
    assert!(messages
        .iter()
        .all(|m| m.ephemeral && m.sender == "alice@example.com"));
    // A closed issue created without closed_at gets one (GH#523).
    assert!(messages.iter().all(|m| m.closed_at.is_some()));
}

// ---------------------------------------------------------------------------------------------
// Issue CRUD edges
// ---------------------------------------------------------------------------------------------

// Go: TestUpdateIssueValidation (invalid type and negative estimate on update),
// TestClosedAtInvariant (GH#523 on create), TestGetIssueByExternalRefNotFound,
// TestInMemoryDatabase.
#[test]
fn updates_are_validated_closed_issues_get_closed_at_and_unknown_lookups_are_none() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = store.create_issue(issue("a"), "me").unwrap();
    let bad = |u: IssueUpdate, word: &str| {
        let err = store.update_issue(&a.id, &u, "me").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { message: m, .. } if m.contains(word)),
            "{word}: {err:?}"
        );
    };
    bad(
        IssueUpdate::default().issue_type(IssueType::parse("spaceship")),
        "invalid issue type",
    );
    bad(
        IssueUpdate::default().estimated_minutes(Some(-5)),
        "negative",
    );
    bad(IssueUpdate::default().priority(7), "priority");
    bad(IssueUpdate::default().title(String::new()), "title");
    // Nothing of the refused updates was written.
    let unchanged = store.get_issue(&a.id).unwrap().unwrap();
    assert_eq!((unchanged.title.as_str(), unchanged.priority), ("a", 2));
    assert_eq!(unchanged.estimated_minutes, None);
    // Go's aliases for feature are accepted on update.
    store
        .update_issue(
            &a.id,
            &IssueUpdate::default().issue_type(IssueType::parse("enhancement")),
            "me",
        )
        .unwrap();
    assert_eq!(
        store.get_issue(&a.id).unwrap().unwrap().issue_type,
        IssueType::Feature
    );

    // GH#523: a closed issue created without closed_at gets one after its last change.
    let mut closed = issue("born closed");
    closed.status = Status::Closed;
    closed.created_at = at("2024-01-01T00:00:00Z");
    closed.updated_at = at("2024-01-02T00:00:00Z");
    let closed = store.create_issue(closed, "me").unwrap();
    let stored = store.get_issue(&closed.id).unwrap().unwrap();
    assert!(stored.closed_at.unwrap() > at("2024-01-02T00:00:00Z"));
    // An open issue with closed_at is refused.
    let mut open = issue("open but closed_at");
    open.closed_at = Some(at("2024-01-01T00:00:00Z"));
    assert!(matches!(
        store.create_issue(open, "me").unwrap_err(),
        Error::InvalidInput { .. }
    ));

    assert!(store.get_issue_by_external_ref("nope-1").unwrap().is_none());

    // The same operations work on a private in-memory store.
    let memory = Store::in_memory().unwrap();
    memory.set_config("issue_prefix", "mem").unwrap();
    let m = memory.create_issue(issue("in memory"), "me").unwrap();
    assert!(m.id.starts_with("mem-"));
    assert_eq!(memory.get_issue(&m.id).unwrap().unwrap().title, "in memory");
    assert!(store.get_issue(&m.id).unwrap().is_none());
}

// Go: TestDeleteIssueMarksDependentsDirty.
#[test]
fn deleting_an_issue_marks_the_issues_that_depended_on_it_dirty() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let target = store.create_issue(issue("target"), "me").unwrap();
    let dependent = store.create_issue(issue("dependent"), "me").unwrap();
    let bystander = store.create_issue(issue("bystander"), "me").unwrap();
    store
        .add_dependency(
            &Dependency::new(&dependent.id, &target.id, DependencyType::Blocks),
            "me",
        )
        .unwrap();
    let all: Vec<String> = store.get_dirty_issues().unwrap();
    store.clear_dirty_issues_by_id(&all).unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 0);
    store.delete_issue(&target.id).unwrap();
    assert_eq!(
        store.get_dirty_issues().unwrap(),
        vec![dependent.id.clone()]
    );
    assert!(store
        .get_dependency_records(&dependent.id)
        .unwrap()
        .is_empty());
    assert!(!store.is_blocked(&dependent.id).unwrap().0);
    assert!(store.get_issue(&bystander.id).unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Batch creation and ids
// ---------------------------------------------------------------------------------------------

// Go: TestBatchCreateIssues, TestGenerateBatchIDs, TestBulkOperations, TestValidateBatchIssues,
// TestDefensiveClosedAtFix, TestHashIDBatchCreation, TestHashIDCollisionHandling.
#[test]
fn a_batch_gets_distinct_short_ids_events_and_dirty_marks_and_fixes_missing_closed_at() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    // Fifty issues with the same title still get distinct ids.
    let batch: Vec<Issue> = (0..50).map(|_| issue("same title")).collect();
    let created = store.create_issues(batch, "bulk").unwrap();
    assert_eq!(created.len(), 50);
    let distinct: BTreeSet<&str> = created.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(distinct.len(), 50);
    for i in &created {
        assert!(i.id.starts_with("bd-"), "{}", i.id);
        let hash = &i.id["bd-".len()..];
        assert!(
            (3..=8).contains(&hash.len())
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
            "{}",
            i.id
        );
        assert_eq!(i.content_hash, i.compute_content_hash());
        let events = store.get_events(&i.id, 0).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].event_type.as_str(), events[0].actor.as_str()),
            ("created", "bulk")
        );
    }
    assert_eq!(store.get_dirty_issue_count().unwrap(), 50);

    // Explicit ids and generated ones mix; closed without closed_at is fixed, not refused.
    let mut closed = with_id("bd-explicit", "explicit and closed");
    closed.status = Status::Closed;
    let mix = store
        .create_issues(vec![closed, issue("generated")], "me")
        .unwrap();
    assert_eq!(mix[0].id, "bd-explicit");
    assert!(mix[1].id.starts_with("bd-") && mix[1].id != "bd-explicit");
    assert!(store
        .get_issue("bd-explicit")
        .unwrap()
        .unwrap()
        .closed_at
        .is_some());

    // Validation names the failing position and writes nothing.
    let before = count_issues(&store);
    let mut bad = issue("bad");
    bad.priority = -1;
    let err = store
        .create_issues(vec![issue("ok 1"), issue("ok 2"), bad], "me")
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: "priority", message: m } if m.contains("issue 2") && m.contains("priority")),
        "{err:?}"
    );
    // Duplicate explicit ids within one batch are refused.
    let err = store
        .create_issues(vec![with_id("bd-twin", "a"), with_id("bd-twin", "b")], "me")
        .unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    assert_eq!(count_issues(&store), before);
    // An empty batch is fine.
    assert!(store.create_issues(Vec::new(), "me").unwrap().is_empty());
}

// Go: TestGH956_BatchCreateExistingID.
#[test]
fn a_batch_with_an_id_that_already_exists_is_refused_whole() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    store
        .create_issue(with_id("bd-taken", "original"), "me")
        .unwrap();
    let before = count_issues(&store);
    let err = store
        .create_issues(
            vec![with_id("bd-new1", "new"), with_id("bd-taken", "clash")],
            "me",
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Constraint { message, .. } if message.contains("bd-taken")),
        "{err:?}"
    );
    assert_eq!(count_issues(&store), before);
    assert!(store.get_issue("bd-new1").unwrap().is_none());
    assert_eq!(
        store.get_issue("bd-taken").unwrap().unwrap().title,
        "original"
    );
}

// Go: TestComputeAdaptiveLength, TestGetAdaptiveIDLength_Integration, TestCollisionProbability
// (through the lengths the config bounds produce).
#[test]
fn the_hash_length_follows_the_configured_bounds_and_collision_odds() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let hash_len = |i: &Issue| i.id.len() - "bd-".len();
    // An empty database starts at the shortest length.
    assert_eq!(
        hash_len(&store.create_issue(issue("first"), "me").unwrap()),
        3
    );
    store.set_config("min_hash_length", "6").unwrap();
    assert_eq!(
        hash_len(&store.create_issue(issue("longer"), "me").unwrap()),
        6
    );
    store.set_config("min_hash_length", "3").unwrap();
    // Two ids exist: odds of 1 in 10 million need 5 characters (36^4 is too few).
    store.set_config("max_collision_prob", "0.0000001").unwrap();
    assert_eq!(
        hash_len(&store.create_issue(issue("strict"), "me").unwrap()),
        5
    );
    // No tolerance at all: the configured maximum.
    store.set_config("max_collision_prob", "0").unwrap();
    store.set_config("max_hash_length", "7").unwrap();
    assert_eq!(
        hash_len(&store.create_issue(issue("strictest"), "me").unwrap()),
        7
    );
}

// Go: TestGetNextChildID_ParentNotExists, TestGetNextChildNumber_DifferentParents,
// TestGetNextChildNumber_NestedHierarchy, TestGetNextChildNumber_Concurrent,
// TestCreateIssue_HierarchicalID.
#[test]
fn child_numbers_count_per_parent_nest_and_never_repeat_under_concurrency() {
    let t = TempDb::new();
    let store = Arc::new(store_with_prefix(&t));
    for id in ["bd-a", "bd-b"] {
        store.create_issue(with_id(id, id), "me").unwrap();
    }
    assert_eq!(store.next_child_id("bd-a").unwrap(), "bd-a.1");
    assert_eq!(store.next_child_id("bd-b").unwrap(), "bd-b.1");
    assert_eq!(store.next_child_id("bd-a").unwrap(), "bd-a.2");
    // Nested: a child of a child counts on its own.
    store
        .create_issue(with_id("bd-a.1", "child"), "me")
        .unwrap();
    assert_eq!(store.next_child_id("bd-a.1").unwrap(), "bd-a.1.1");
    assert_eq!(store.next_child_id("bd-a.1").unwrap(), "bd-a.1.2");
    assert_eq!(store.next_child_id("bd-a").unwrap(), "bd-a.3");
    // A parent that does not exist (and has no history) is an error.
    let err = store.next_child_id("bd-nobody").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    // Ten threads asking at once get ten different numbers.
    store.create_issue(with_id("bd-c", "busy"), "me").unwrap();
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.next_child_id("bd-c").unwrap())
        })
        .collect();
    let got: BTreeSet<String> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    let want: BTreeSet<String> = (1..=10).map(|n| format!("bd-c.{n}")).collect();
    assert_eq!(got, want);
}

// Go: TestOrphanHandling_PrefixWithDotsOrphanChild, TestOrphanHandling_PrefixWithDots,
// TestOrphanHandling_PrefixWithDotsAndChild, TestOrphanHandling_Config,
// TestOrphanHandling_NonHierarchical.
#[test]
fn a_dotted_prefix_is_not_a_hierarchy_but_its_real_orphans_still_follow_the_handling() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "my.proj").unwrap();
    let strict = CreateOptions::default().orphans(OrphanHandling::Strict);
    // The dot in the prefix makes no parent.
    store
        .create_issues_with_options(vec![with_id("my.proj-abc", "top")], "me", &strict)
        .unwrap();
    store
        .create_issues_with_options(vec![with_id("my.proj-abc.1", "child")], "me", &strict)
        .unwrap();
    // A real orphan under the dotted prefix is refused in strict mode.
    let err = store
        .create_issues_with_options(vec![with_id("my.proj-zzz.1", "orphan")], "me", &strict)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(store.get_issue("my.proj-zzz.1").unwrap().is_none());
    // A plain id never needs a parent, whatever the handling.
    store
        .create_issues_with_options(vec![with_id("my.proj-plain", "plain")], "me", &strict)
        .unwrap();
    // The configured handling is read from config (unknown values mean allow).
    for (value, want) in [
        ("strict", OrphanHandling::Strict),
        ("resurrect", OrphanHandling::Resurrect),
        ("skip", OrphanHandling::Skip),
        ("allow", OrphanHandling::Allow),
        ("whatever", OrphanHandling::Allow),
    ] {
        store.set_config("import.orphan_handling", value).unwrap();
        assert_eq!(store.orphan_handling().unwrap(), want, "{value}");
    }
}

// ---------------------------------------------------------------------------------------------
// Resurrection from the JSONL history
// ---------------------------------------------------------------------------------------------

// Go: TestTryResurrectParent_AlreadyExists, TestTryResurrectParent_NotFoundInJSONL,
// TestTryResurrectParent_MalformedJSONL, TestTryResurrectParent_Idempotent,
// TestTryResurrectParent_WithDependencies, TestGetNextChildID_ResurrectParent_NotInJSONL,
// TestGetNextChildID_ResurrectParent_NoJSONL, TestGetNextChildID_ResurrectParent_MalformedJSONL.
// (Rust has no single-parent call: resurrecting "X" is resurrecting the parents of "X.0".)
#[test]
fn a_parent_comes_back_from_the_history_once_skipping_bad_lines_and_keeping_its_links() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    // No history file: nothing comes back, and next_child_id says not found.
    assert!(!store.try_resurrect_parent_chain("bd-lost.1").unwrap());
    assert!(matches!(
        store.next_child_id("bd-lost").unwrap_err(),
        Error::NotFound { kind: NotFoundKind::Parent, ref id, .. } if id == "bd-lost"
    ));
    let anchor = store
        .create_issue(with_id("bd-anchor", "still here"), "me")
        .unwrap();
    let mut history = String::from("this is not json\n{\"id\": \"bd-broken\"\n\n");
    history.push_str(&jsonl_line(
        "bd-lost",
        "Lost epic",
        ",\"dependencies\":[{\"issue_id\":\"bd-lost\",\"depends_on_id\":\"bd-anchor\",\"type\":\"related\",\"created_at\":\"2024-03-01T00:00:00Z\"},{\"issue_id\":\"bd-lost\",\"depends_on_id\":\"bd-vanished\",\"type\":\"blocks\",\"created_at\":\"2024-03-01T00:00:00Z\"}]",
    ));
    std::fs::write(jsonl_path(&t), history).unwrap();

    // An existing parent needs nothing: true, and it is not touched.
    assert!(store.try_resurrect_parent_chain("bd-anchor.1").unwrap());
    assert_eq!(
        store.get_issue(&anchor.id).unwrap().unwrap().title,
        "still here"
    );
    // Not in the history (or only on a malformed line): false, nothing created.
    assert!(!store.try_resurrect_parent_chain("bd-absent.1").unwrap());
    assert!(!store.try_resurrect_parent_chain("bd-broken.1").unwrap());
    assert!(store.get_issue("bd-absent").unwrap().is_none());
    assert!(store.get_issue("bd-broken").unwrap().is_none());
    assert!(matches!(
        store.next_child_id("bd-absent").unwrap_err(),
        Error::NotFound { .. }
    ));

    // Found past the bad lines: a closed stub, with the links to issues that still exist.
    assert!(store.try_resurrect_parent_chain("bd-lost.1").unwrap());
    let stub = store.get_issue("bd-lost").unwrap().unwrap();
    assert_eq!(stub.title, "Lost epic");
    assert_eq!(stub.status, Status::Closed);
    assert_eq!(stub.issue_type, IssueType::Epic);
    assert_eq!(stub.created_at, at("2024-03-01T00:00:00Z"));
    assert!(stub.description.starts_with("[RESURRECTED]"));
    let links = store.get_dependency_records("bd-lost").unwrap();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(
        (links[0].depends_on_id.as_str(), links[0].dep_type.as_str()),
        ("bd-anchor", "related")
    );
    // Again: still true, still one issue and one link.
    assert!(store.try_resurrect_parent_chain("bd-lost.1").unwrap());
    assert_eq!(
        store
            .query("SELECT count(*) FROM issues WHERE id = 'bd-lost'", &[])
            .unwrap()[0][0]
            .as_i64(),
        Some(1)
    );
    assert_eq!(store.get_dependency_records("bd-lost").unwrap().len(), 1);
    assert_eq!(store.next_child_id("bd-lost").unwrap(), "bd-lost.1");
}

// Go: TestTryResurrectParentChain_MultiLevel, TestTryResurrectParentChain_PartialChainMissing,
// TestGetNextChildID_ResurrectParentChain, TestExtractParentChain.
#[test]
fn a_whole_chain_of_parents_comes_back_root_first_and_stops_at_the_first_gap() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut history = jsonl_line("bd-root", "Root", "");
    history.push_str(&jsonl_line("bd-root.1", "Middle", ""));
    history.push_str(&jsonl_line("bd-gap", "Gap root", ""));
    std::fs::write(jsonl_path(&t), history).unwrap();

    // bd-root and bd-root.1 both come back for a grandchild.
    assert!(store.try_resurrect_parent_chain("bd-root.1.1").unwrap());
    for id in ["bd-root", "bd-root.1"] {
        assert_eq!(
            store.get_issue(id).unwrap().unwrap().status,
            Status::Closed,
            "{id}"
        );
    }
    assert!(store.get_issue("bd-root.1.1").unwrap().is_none());
    assert_eq!(store.next_child_id("bd-root.1").unwrap(), "bd-root.1.1");

    // The middle of bd-gap.1.1 is missing: false, the root came back first, the middle did not.
    assert!(!store.try_resurrect_parent_chain("bd-gap.1.1").unwrap());
    assert_eq!(
        store.get_issue("bd-gap").unwrap().unwrap().status,
        Status::Closed
    );
    assert!(store.get_issue("bd-gap.1").unwrap().is_none());

    // A create under a missing grandparent resurrects the chain too.
    std::fs::write(
        jsonl_path(&t),
        format!(
            "{}{}",
            jsonl_line("bd-deep", "Deep", ""),
            jsonl_line("bd-deep.2", "Deep middle", "")
        ),
    )
    .unwrap();
    store
        .create_issue(with_id("bd-deep.2.1", "grandchild"), "me")
        .unwrap();
    assert!(store.get_issue("bd-deep").unwrap().is_some());
    assert!(store.get_issue("bd-deep.2").unwrap().is_some());
    assert_eq!(store.next_child_id("bd-deep.2").unwrap(), "bd-deep.2.2");
}
