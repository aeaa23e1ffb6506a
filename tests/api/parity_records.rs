//! Parity with the Go storage tests for the records around issues: labels, comments, events,
//! dirty tracking, batch lookups, close reasons, custom statuses, and compaction. Each test ports
//! the intent of the Go tests named above it (beads 5264d7aa, internal/storage/sqlite), written
//! against beadstore's own API.

use crate::common;

use std::time::Duration;

use beadstore::model::{Dependency, DependencyType, Issue, IssueType, Status, Timestamp};
use beadstore::ops::maintenance::Eligibility;
use beadstore::ops::Attribution;
use beadstore::ops::IssueUpdate;
use beadstore::{Error, NotFoundKind, Store};
use common::issues::{create, store_with_prefix};
use common::TempDb;

fn explicit(store: &Store, id: &str, f: impl FnOnce(&mut Issue)) -> Issue {
    let mut i = Issue::new(id);
    i.id = id.into();
    f(&mut i);
    store.create_issue(i, "tester").unwrap()
}

fn clear_dirty(store: &Store) {
    let all = store.get_dirty_issues().unwrap();
    store.clear_dirty_issues_by_id(&all).unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 0);
}

fn event_types(store: &Store, id: &str) -> Vec<String> {
    store
        .get_events(id, 0)
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

fn days_ago(d: i64) -> Timestamp {
    chrono::Utc::now().fixed_offset() - chrono::Duration::days(d)
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

// Go: TestRemoveNonexistentLabel, TestGetLabelsEmpty, TestGetIssuesByLabelEmpty,
// TestLabelMarksDirty.
#[test]
fn labels_mark_the_issue_dirty_only_when_they_change_and_missing_ones_are_empty() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    assert!(store.get_labels(&a.id).unwrap().is_empty());
    assert!(store
        .get_issues_by_label("nobody-has-this")
        .unwrap()
        .is_empty());
    clear_dirty(&store);
    let events_before = event_types(&store, &a.id).len();
    // Removing a label the issue does not have: no error, no mark, no event.
    store.remove_label(&a.id, "nonexistent", "tester").unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 0);
    assert_eq!(event_types(&store, &a.id).len(), events_before);
    // Adding one marks the issue dirty and records an event, but leaves updated_at alone.
    let updated_at = store.get_issue(&a.id).unwrap().unwrap().updated_at;
    store.add_label(&a.id, "bug", "tester").unwrap();
    assert_eq!(store.get_dirty_issues().unwrap(), vec![a.id.clone()]);
    assert_eq!(event_types(&store, &a.id)[0], "label_added");
    assert_eq!(
        store.get_events(&a.id, 1).unwrap()[0].comment.as_deref(),
        Some("Added label: bug")
    );
    assert_eq!(
        store.get_issue(&a.id).unwrap().unwrap().updated_at,
        updated_at
    );
    // Adding it again is not a change.
    clear_dirty(&store);
    store.add_label(&a.id, "bug", "tester").unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 0);
    // Removing it is.
    store.remove_label(&a.id, "bug", "tester").unwrap();
    assert_eq!(store.get_dirty_issues().unwrap(), vec![a.id.clone()]);
    assert_eq!(event_types(&store, &a.id)[0], "label_removed");
    assert!(store.get_issues_by_label("bug").unwrap().is_empty());
    // Labels are case-sensitive and sorted bytewise.
    for l in ["beta", "Alpha", "alpha"] {
        store.add_label(&a.id, l, "tester").unwrap();
    }
    assert_eq!(store.get_labels(&a.id).unwrap(), ["Alpha", "alpha", "beta"]);
    // A label on an issue that does not exist is refused (the foreign key).
    assert!(store.add_label("bd-ghost", "x", "tester").is_err());
    assert!(store.get_labels("bd-ghost").unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Comments
// ---------------------------------------------------------------------------------------------

// Go: TestAddIssueCommentEmptyText, TestAddIssueCommentMarksDirty, TestGetIssueCommentsEmpty,
// TestGetIssueCommentsNonexistentIssue, TestGetIssueCommentsMultipleIssues.
#[test]
fn comments_may_be_empty_mark_the_issue_dirty_and_stay_with_their_own_issue() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    assert!(store.get_issue_comments(&a.id).unwrap().is_empty());
    assert!(store.get_issue_comments("bd-ghost").unwrap().is_empty());
    clear_dirty(&store);
    let events_before = event_types(&store, &a.id).len();
    let empty = store.add_issue_comment(&a.id, "alice", "").unwrap();
    assert_eq!(empty.text, "");
    assert_eq!(empty.author, "alice");
    assert_eq!(store.get_dirty_issues().unwrap(), vec![a.id.clone()]);
    // A comment row is not an event.
    assert_eq!(event_types(&store, &a.id).len(), events_before);
    store
        .add_issue_comment(&a.id, "bob", "second on a")
        .unwrap();
    store
        .add_issue_comment(&b.id, "carol", "only on b")
        .unwrap();
    let on_a: Vec<String> = store
        .get_issue_comments(&a.id)
        .unwrap()
        .into_iter()
        .map(|c| c.text)
        .collect();
    assert_eq!(on_a, ["", "second on a"]);
    let on_b = store.get_issue_comments(&b.id).unwrap();
    assert_eq!(on_b.len(), 1);
    assert_eq!(
        (
            on_b[0].issue_id.as_str(),
            on_b[0].author.as_str(),
            on_b[0].text.as_str()
        ),
        (b.id.as_str(), "carol", "only on b")
    );
    assert!(on_b[0].id > 0);
}

// ---------------------------------------------------------------------------------------------
// Events (comment events)
// ---------------------------------------------------------------------------------------------

// Go: TestAddMultipleComments, TestGetEventsWithLimit, TestGetEventsEmpty,
// TestAddCommentMarksDirty, TestAddCommentUpdatesTimestamp.
// Our events come newest first even within one second (a documented deviation: Go returns
// same-second events oldest first).
#[test]
fn comment_events_come_back_newest_first_touch_updated_at_and_mark_the_issue_dirty() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    assert!(store.get_events("bd-ghost", 0).unwrap().is_empty());
    clear_dirty(&store);
    let before = store.get_issue(&a.id).unwrap().unwrap().updated_at;
    std::thread::sleep(Duration::from_millis(5));
    for (actor, text) in [("alice", "first"), ("bob", "second"), ("carol", "third")] {
        store.add_comment_event(&a.id, actor, text).unwrap();
    }
    let after = store.get_issue(&a.id).unwrap().unwrap();
    assert!(after.updated_at > before);
    assert_eq!(store.get_dirty_issues().unwrap(), vec![a.id.clone()]);
    let events = store.get_events(&a.id, 0).unwrap();
    let comments: Vec<(String, Option<String>)> = events
        .iter()
        .filter(|e| e.event_type == "commented")
        .map(|e| (e.actor.clone(), e.comment.clone()))
        .collect();
    assert_eq!(
        comments,
        [
            ("carol".to_owned(), Some("third".to_owned())),
            ("bob".to_owned(), Some("second".to_owned())),
            ("alice".to_owned(), Some("first".to_owned())),
        ]
    );
    assert_eq!(events.last().unwrap().event_type, "created");
    let limited = store.get_events(&a.id, 2).unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].comment.as_deref(), Some("third"));
    assert_eq!(limited[1].comment.as_deref(), Some("second"));
    assert!(limited
        .iter()
        .all(|e| e.old_value.is_none() && e.new_value.is_none()));
    // The content hash does not change with a comment event.
    assert_eq!(after.content_hash, a.content_hash);
}

// ---------------------------------------------------------------------------------------------
// Dirty tracking
// ---------------------------------------------------------------------------------------------

// Go: TestMarkIssueDirty, TestMarkIssuesDirty, TestMarkIssuesDirtyEmpty,
// TestClearDirtyIssuesByIDEmpty, TestDirtyIssuesOrdering, TestDirtyIssuesUpdateTimestamp.
#[test]
fn dirty_marks_are_one_per_issue_oldest_first_and_a_new_mark_moves_it_to_the_end() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut made = Vec::new();
    for n in 0..3 {
        made.push(create(&store, &format!("issue {n}")).id);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(store.get_dirty_issues().unwrap(), made);
    // Marking again keeps one row per issue and moves it to the end.
    store.mark_issues_dirty(&[&made[0]]).unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 3);
    assert_eq!(
        store.get_dirty_issues().unwrap(),
        [made[1].clone(), made[2].clone(), made[0].clone()]
    );
    // Empty lists are no-ops.
    store.mark_issues_dirty(&[]).unwrap();
    store.clear_dirty_issues_by_id(&[]).unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 3);
    // Clear, then mark several at once; clearing unknown ids is fine.
    clear_dirty(&store);
    store
        .mark_issues_dirty(&[made[2].as_str(), made[1].as_str()])
        .unwrap();
    let mut marked = store.get_dirty_issues().unwrap();
    marked.sort();
    let mut want = vec![made[1].clone(), made[2].clone()];
    want.sort();
    assert_eq!(marked, want);
    store
        .clear_dirty_issues_by_id(&[made[1].clone(), "bd-ghost".into()])
        .unwrap();
    assert_eq!(store.get_dirty_issues().unwrap(), vec![made[2].clone()]);
    // Marking an id that is not an issue is refused and changes nothing (the foreign key).
    assert!(store
        .mark_issues_dirty(&["bd-ghost", made[0].as_str()])
        .is_err());
    assert_eq!(store.get_dirty_issues().unwrap(), vec![made[2].clone()]);
    // The same from inside a transaction.
    store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.mark_issues_dirty(&[&made[0]])?;
            assert_eq!(tx.get_dirty_issue_count()?, 2);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 2);
}

// ---------------------------------------------------------------------------------------------
// Batch lookups and close reasons
// ---------------------------------------------------------------------------------------------

// Go: TestBatchGetLabelsAndComments, TestBatchGetEmptyIssueIDs.
#[test]
fn labels_and_comments_of_many_issues_come_back_in_one_call_without_empty_entries() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    let c = create(&store, "c");
    store.add_label(&a.id, "z-last", "tester").unwrap();
    store.add_label(&a.id, "a-first", "tester").unwrap();
    store.add_label(&b.id, "solo", "tester").unwrap();
    store.add_issue_comment(&a.id, "ann", "one").unwrap();
    store.add_issue_comment(&a.id, "ann", "two").unwrap();
    store.add_issue_comment(&c.id, "bob", "only c").unwrap();
    let ask = vec![a.id.clone(), b.id.clone(), c.id.clone(), "bd-ghost".into()];
    let labels = store.get_labels_for_issues(&ask).unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[&a.id], ["a-first", "z-last"]);
    assert_eq!(labels[&b.id], ["solo"]);
    assert!(!labels.contains_key(&c.id));
    let comments = store.get_comments_for_issues(&ask).unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(
        comments[&a.id]
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(comments[&c.id][0].author, "bob");
    assert!(!comments.contains_key(&b.id));
    assert!(store.get_labels_for_issues(&[]).unwrap().is_empty());
    assert!(store.get_comments_for_issues(&[]).unwrap().is_empty());
    // More ids than one chunk holds.
    let many: Vec<String> = (0..1200)
        .map(|n| format!("bd-none{n}"))
        .chain([a.id.clone()])
        .collect();
    assert_eq!(store.get_labels_for_issues(&many).unwrap().len(), 1);
    assert_eq!(store.get_comments_for_issues(&many).unwrap().len(), 1);
}

// Go: GetCloseReasonsForIssues (queries.go; no Go test of its own), TestCloseIssue (reason).
#[test]
fn close_reasons_of_many_issues_give_the_latest_reason_and_skip_issues_without_one() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    let open = create(&store, "still open");
    store
        .close_issue(&a.id, &Attribution::new("tester").reason("shipped"))
        .unwrap();
    store
        .close_issue(&b.id, &Attribution::new("tester").reason("first try"))
        .unwrap();
    store
        .update_issue(
            &b.id,
            &IssueUpdate::default().status(Status::Open),
            "tester",
        )
        .unwrap();
    store
        .close_issue(&b.id, &Attribution::new("tester").reason("second try"))
        .unwrap();
    let reasons = store
        .get_close_reasons_for_issues(&[
            a.id.clone(),
            b.id.clone(),
            open.id.clone(),
            "bd-ghost".into(),
        ])
        .unwrap();
    assert_eq!(reasons.len(), 2);
    assert_eq!(reasons[&a.id], "shipped");
    assert_eq!(reasons[&b.id], "second try");
    assert_eq!(store.get_close_reason(&open.id).unwrap(), "");
    assert!(store.get_close_reasons_for_issues(&[]).unwrap().is_empty());
    assert_eq!(
        store.get_issue(&b.id).unwrap().unwrap().close_reason,
        "second try"
    );
}

// ---------------------------------------------------------------------------------------------
// Config: custom statuses and types
// ---------------------------------------------------------------------------------------------

// Go: GetCustomStatuses / GetCustomTypes (config.go; covered in Go through
// TestCreateIssueValidation and TestUpdateIssueValidation with custom values).
#[test]
fn custom_statuses_from_config_are_accepted_on_create_and_update_and_nothing_else_is() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    assert!(store.custom_statuses().unwrap().is_empty());
    let mut reviewed = Issue::new("in review");
    reviewed.status = Status::parse("review");
    let err = store.create_issue(reviewed.clone(), "tester").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { message: m, .. } if m.contains("invalid status")),
        "{err:?}"
    );
    store
        .set_config("status.custom", " review , qa,, Review-Later ")
        .unwrap();
    assert_eq!(
        store.custom_statuses().unwrap(),
        ["review", "qa", "Review-Later"]
    );
    assert_eq!(
        store.snapshot(|tx| tx.custom_statuses()).unwrap(),
        ["review", "qa", "Review-Later"]
    );
    let made = store.create_issue(reviewed, "tester").unwrap();
    assert_eq!(
        store.get_issue(&made.id).unwrap().unwrap().status,
        Status::parse("review")
    );
    let to = |s: &str| IssueUpdate::default().status(Status::parse(s));
    store.update_issue(&made.id, &to("qa"), "tester").unwrap();
    // Exact, case-sensitive match.
    assert!(matches!(
        store
            .update_issue(&made.id, &to("QA"), "tester")
            .unwrap_err(),
        Error::InvalidInput { .. }
    ));
    assert_eq!(
        store.get_issue(&made.id).unwrap().unwrap().status,
        Status::parse("qa")
    );
    // A custom status is not open work.
    assert!(store
        .get_ready_work(&Default::default())
        .unwrap()
        .iter()
        .all(|i| i.id != made.id));
    // Custom types work the same way.
    store.set_config("types.custom", "molecule").unwrap();
    assert_eq!(store.custom_types().unwrap(), ["molecule"]);
    let mut m = Issue::new("a molecule");
    m.issue_type = IssueType::parse("molecule");
    store.create_issue(m, "tester").unwrap();
}

// ---------------------------------------------------------------------------------------------
// Compaction
// ---------------------------------------------------------------------------------------------

// Go: TestGetTier2Candidates, TestTier1NoCircularDeps, TestApplyCompactionNotFound.
#[test]
fn compaction_candidates_need_age_history_and_no_active_dependents_and_a_missing_issue_is_not_found(
) {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let closed_long_ago = |id: &str, days: i64| {
        explicit(&store, id, |i| {
            i.description = "Summary".into();
            i.status = Status::Closed;
            i.created_at = days_ago(days + 10);
            i.updated_at = days_ago(days);
            i.closed_at = Some(days_ago(days));
        })
    };
    // Tier 2: compacted once, closed 100 days ago, with plenty of events.
    closed_long_ago("bd-busy", 100);
    closed_long_ago("bd-quiet", 100);
    store.apply_compaction("bd-busy", 1, 1000, 400, "").unwrap();
    store
        .apply_compaction("bd-quiet", 1, 1000, 400, "")
        .unwrap();
    for _ in 0..120 {
        store
            .add_comment_event("bd-busy", "tester", "comment")
            .unwrap();
    }
    let tier2 = store.get_tier2_candidates().unwrap();
    assert_eq!(
        tier2
            .iter()
            .map(|c| c.issue_id.as_str())
            .collect::<Vec<_>>(),
        ["bd-busy"]
    );
    assert_eq!(tier2[0].original_size, 1000);
    assert!(tier2[0].dependent_count >= 120, "{:?}", tier2[0]);
    assert_eq!(
        store.check_compaction_eligibility("bd-busy", 2).unwrap(),
        Eligibility::Eligible
    );
    assert_eq!(
        store.check_compaction_eligibility("bd-quiet", 2).unwrap(),
        Eligibility::NotYet { tier: 2 }
    );
    // Fewer events are enough when the config says so.
    store.set_config("compact_tier2_commits", "2").unwrap();
    assert_eq!(store.get_tier2_candidates().unwrap().len(), 2);
    // An active dependent through blocks keeps it out.
    let active = create(&store, "still working");
    store
        .add_dependency(
            &Dependency::new(&active.id, "bd-quiet", DependencyType::Blocks),
            "tester",
        )
        .unwrap();
    assert_eq!(
        store
            .get_tier2_candidates()
            .unwrap()
            .iter()
            .map(|c| c.issue_id.as_str())
            .collect::<Vec<_>>(),
        ["bd-busy"]
    );

    // Tier 1 with a blocks cycle among closed issues: the query ends and all three qualify.
    for id in ["bd-c1", "bd-c2", "bd-c3"] {
        closed_long_ago(id, 40);
    }
    store
        .execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('bd-c1', 'bd-c2', 'blocks', 'raw'), ('bd-c2', 'bd-c3', 'blocks', 'raw'), ('bd-c3', 'bd-c1', 'blocks', 'raw')",
            &[],
        )
        .unwrap();
    let tier1: Vec<String> = store
        .get_tier1_candidates()
        .unwrap()
        .into_iter()
        .map(|c| c.issue_id)
        .collect();
    assert_eq!(tier1, ["bd-c1", "bd-c2", "bd-c3"]);

    // Missing issues and bad tiers.
    let err = store
        .apply_compaction("bd-999", 1, 100, 50, "abc123")
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { kind: NotFoundKind::Issue, id, .. } if id == "bd-999"),
        "{err:?}"
    );
    assert_eq!(
        store.check_compaction_eligibility("bd-999", 1).unwrap(),
        Eligibility::NotFound
    );
    assert_eq!(
        store
            .check_compaction_eligibility("bd-c1", 3)
            .unwrap()
            .to_string(),
        "invalid tier: 3"
    );
    // Compaction marks nothing dirty.
    clear_dirty(&store);
    store.apply_compaction("bd-c1", 1, 10, 5, "").unwrap();
    assert_eq!(store.get_dirty_issue_count().unwrap(), 0);
    let compacted = store.get_issue("bd-c1").unwrap().unwrap();
    assert_eq!(compacted.compaction_level, 1);
    assert!(compacted.compacted_at.is_some());
    assert_eq!(compacted.compacted_at_commit, None);
}

// Go: RenameCounterPrefix / ResetCounter (no-ops in Go, no Go test of their own).
#[test]
fn the_counter_renames_and_resets_change_nothing() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    explicit(&store, "bd-p", |_| {});
    assert_eq!(store.next_child_id("bd-p").unwrap(), "bd-p.1");
    store.rename_counter_prefix("bd", "xx").unwrap();
    store.reset_counter("bd").unwrap();
    assert_eq!(store.next_child_id("bd-p").unwrap(), "bd-p.2");
}
