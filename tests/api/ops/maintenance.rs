//! Export hashes, renames of ids and prefixes, batch deletion and compaction.

use super::dep;
use crate::common::issues::{create, store_with_prefix};
use crate::common::TempDb;
use beadstore::model::{Issue, Status};
use beadstore::ops::maintenance::{DeleteOptions, Eligibility};
use beadstore::ops::Attribution;
use beadstore::ops::IssueUpdate;
use beadstore::Error;

#[test]
fn export_hashes_renames_batch_deletes_and_compaction() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    let c = create(&store, "c");
    store.set_export_hash(&a.id, "h1").unwrap();
    assert_eq!(store.get_export_hash(&a.id).unwrap(), "h1");
    store.clear_all_export_hashes().unwrap();
    assert_eq!(store.get_export_hash(&a.id).unwrap(), "");
    store.set_jsonl_file_hash("abc").unwrap();
    assert_eq!(store.get_jsonl_file_hash().unwrap().as_deref(), Some("abc"));
    assert_eq!(store.get_dirty_issue_hash(&a.id).unwrap(), "");

    store
        .add_dependency(&dep(&b.id, &a.id, "blocks"), "me")
        .unwrap();
    store.add_label(&a.id, "keep", "me").unwrap();
    store
        .update_issue(
            &a.id,
            &IssueUpdate::default().external_ref(Some("gh-7".into())),
            "me",
        )
        .unwrap();
    store.update_issue_id(&a.id, "bd-renamed", "me").unwrap();
    assert_eq!(
        store.get_issue_by_external_ref("gh-7").unwrap().unwrap().id,
        "bd-renamed"
    );
    assert!(store.get_issue(&a.id).unwrap().is_none());
    assert_eq!(store.get_labels("bd-renamed").unwrap(), ["keep"]);
    assert_eq!(
        store.get_dependency_records(&b.id).unwrap()[0].depends_on_id,
        "bd-renamed"
    );
    assert_eq!(
        store.is_blocked(&b.id).unwrap().1,
        vec!["bd-renamed".to_owned()]
    );
    assert_eq!(
        store.get_events("bd-renamed", 1).unwrap()[0].event_type,
        "renamed"
    );

    // Deleting a blocker others depend on needs cascade or force.
    let err = store
        .delete_issues(&["bd-renamed".into()], &DeleteOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let dry = store
        .plan_delete_issues(
            &["bd-renamed".into()],
            &DeleteOptions::default().cascade(true),
        )
        .unwrap();
    assert_eq!((dry.deleted, dry.dependencies), (2, 1));
    assert!(store.get_issue("bd-renamed").unwrap().unwrap().status == Status::Open);
    let forced = store
        .delete_issues(
            &["bd-renamed".into()],
            &DeleteOptions::default().force(true),
        )
        .unwrap();
    assert_eq!(forced.orphaned, vec![b.id.clone()]);
    assert_eq!(
        store.get_issue("bd-renamed").unwrap().unwrap().status,
        Status::Tombstone
    );
    assert!(!store.is_blocked(&b.id).unwrap().0);

    store
        .close_issue(&c.id, &Attribution::new("me").reason("shipped"))
        .unwrap();
    assert_eq!(store.get_close_reason(&c.id).unwrap(), "shipped");
    store
        .execute(
            "UPDATE issues SET closed_at = '2020-01-01T00:00:00Z' WHERE id = ?",
            &beadstore::params![c.id.as_str()],
        )
        .unwrap();
    let tier1 = store.get_tier1_candidates().unwrap();
    assert_eq!(
        tier1.iter().map(|x| x.issue_id.clone()).collect::<Vec<_>>(),
        vec![c.id.clone()]
    );
    assert_eq!(
        store.check_compaction_eligibility(&c.id, 1).unwrap(),
        Eligibility::Eligible
    );
    assert!(!store
        .check_compaction_eligibility(&b.id, 1)
        .unwrap()
        .is_eligible());
    store.apply_compaction(&c.id, 1, 100, 40, "abc123").unwrap();
    let compacted = store.get_issue(&c.id).unwrap().unwrap();
    assert_eq!(
        (compacted.compaction_level, compacted.original_size),
        (1, 100)
    );
    assert_eq!(compacted.compacted_at_commit.as_deref(), Some("abc123"));
    let event = &store.get_events(&c.id, 1).unwrap()[0];
    assert_eq!(
        event.comment.as_deref(),
        Some("{\"tier\":1,\"original_size\":100,\"compressed_size\":40,\"reduction_pct\":60.0}")
    );
    assert_eq!(
        store.check_compaction_eligibility(&c.id, 1).unwrap(),
        Eligibility::WrongLevel { tier: 1 }
    );
    assert_eq!(
        store
            .check_compaction_eligibility(&c.id, 1)
            .unwrap()
            .to_string(),
        "issue is already compacted"
    );
}

#[test]
fn a_prefix_rename_moves_dependency_ends_left_on_the_old_prefix() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    // The issues themselves move with update_issue_id; a dangling end still carries the old one.
    let mut renamed = Issue::new("already renamed");
    renamed.id = "xy-1".into();
    let options = beadstore::ops::CreateOptions::default().skip_prefix_validation(true);
    store
        .create_issues_with_options(vec![renamed], "me", &options)
        .unwrap();
    store
        .execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('xy-1', 'bd-ghost', 'related', 'raw')",
            &[],
        )
        .unwrap();
    store.rename_dependency_prefix("bd", "xy").unwrap();
    let targets = store.get_dependency_records("xy-1").unwrap();
    assert_eq!(targets[0].depends_on_id, "xy-ghost");
}

#[test]
fn a_rename_can_rewrite_the_text_that_mentions_the_old_id() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut original = Issue::new("see bd-old");
    original.id = "bd-old".into();
    original.description = "bd-old blocks bd-x".into();
    store.create_issue(original, "t").unwrap();
    let mut texts = Issue::new("see nw-old");
    texts.description = "nw-old blocks nw-x".into();
    texts.design = "d".into();
    texts.acceptance_criteria = "a".into();
    texts.notes = "n".into();
    store
        .update_issue_id_with_text("bd-old", "nw-old", &texts, "t")
        .unwrap();
    assert!(store.get_issue("bd-old").unwrap().is_none());
    let renamed = store.get_issue("nw-old").unwrap().unwrap();
    assert_eq!(
        (
            renamed.title.as_str(),
            renamed.description.as_str(),
            renamed.design.as_str(),
            renamed.acceptance_criteria.as_str(),
            renamed.notes.as_str()
        ),
        ("see nw-old", "nw-old blocks nw-x", "d", "a", "n")
    );
    assert_eq!(renamed.content_hash, renamed.compute_content_hash());
    let err = store
        .update_issue_id_with_text("bd-gone", "nw-gone", &texts, "t")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    store.reset_counter("bd").unwrap();
}
