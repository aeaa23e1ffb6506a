//! Labels, comments, events, dirty marks and search filters.

use std::collections::BTreeSet;

use super::dep;
use crate::common::issues::{create, ids, store_with_prefix};
use crate::common::TempDb;
use beadstore::ops::Attribution;
use beadstore::ops::IssueFilter;
use beadstore::Error;

#[test]
fn labels_comments_and_search_filters() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "Fix the login page");
    let b = create(&store, "Write docs");
    store.add_label(&a.id, "ui", "me").unwrap();
    store.add_label(&a.id, "bug", "me").unwrap();
    store.add_label(&a.id, "bug", "me").unwrap();
    store.add_label(&b.id, "docs", "me").unwrap();
    assert_eq!(store.get_labels(&a.id).unwrap(), ["bug", "ui"]);
    assert_eq!(
        store.get_issue(&a.id).unwrap().unwrap().labels,
        ["bug", "ui"]
    );
    let label_events = store
        .get_events(&a.id, 0)
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "label_added")
        .count();
    assert_eq!(label_events, 2, "adding an existing label records nothing");
    store.remove_label(&a.id, "ui", "me").unwrap();
    assert_eq!(
        ids(&store.get_issues_by_label("bug").unwrap()),
        BTreeSet::from([a.id.clone()])
    );
    let search = |text: &str, f: IssueFilter| ids(&store.search_issues(text, &f).unwrap());
    assert_eq!(
        search("LOGIN", IssueFilter::default()),
        BTreeSet::from([a.id.clone()])
    );
    assert_eq!(
        search("", IssueFilter::default().labels(["docs"])),
        BTreeSet::from([b.id.clone()])
    );
    assert_eq!(
        search("", IssueFilter::default().no_labels(true)),
        BTreeSet::new()
    );
    store
        .create_tombstone(&b.id, &Attribution::new("me").reason("obsolete"))
        .unwrap();
    assert_eq!(
        search("", IssueFilter::default()),
        BTreeSet::from([a.id.clone()])
    );
    assert_eq!(
        search("", IssueFilter::default().include_tombstones(true)).len(),
        2
    );
    let first = store.add_issue_comment(&a.id, "ann", "looks good").unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2020-01-02T03:04:05.5+02:00").unwrap();
    let imported = store
        .import_issue_comment(&a.id, "bob", "old", &at)
        .unwrap();
    assert_eq!(imported.created_at, at);
    let comments = store.get_issue_comments(&a.id).unwrap();
    assert_eq!(
        comments.iter().map(|c| c.id).collect::<Vec<_>>(),
        [imported.id, first.id]
    );
    assert!(matches!(
        store.add_issue_comment("bd-none", "x", "y").unwrap_err(),
        Error::NotFound { .. }
    ));
    store.delete_issue(&a.id).unwrap();
    assert!(store.get_issue(&a.id).unwrap().is_none());
    assert!(store.get_issue_comments(&a.id).unwrap().is_empty());
}

#[test]
fn comment_events_dirty_marks_prefix_renames_and_waits_for_gates() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    store.add_comment_event(&a.id, "ann", "a note").unwrap();
    let event = &store.get_events(&a.id, 1).unwrap()[0];
    assert_eq!(
        (event.event_type.as_str(), event.comment.as_deref()),
        ("commented", Some("a note"))
    );
    assert!(matches!(
        store.add_comment_event("bd-none", "x", "y").unwrap_err(),
        Error::NotFound { .. }
    ));
    assert_eq!(store.get_dirty_issue_count().unwrap(), 2);
    store
        .clear_dirty_issues_by_id(std::slice::from_ref(&a.id))
        .unwrap();
    assert_eq!(store.get_dirty_issues().unwrap(), vec![b.id.clone()]);

    // waits-for: blocked while any child of the spawner is open (all-children, the default),
    // or until one child is closed (any-children).
    let spawner = create(&store, "spawner");
    let gate_all = create(&store, "gate all");
    let gate_any = create(&store, "gate any");
    let kid1 = create(&store, "kid 1");
    let kid2 = create(&store, "kid 2");
    for kid in [&kid1, &kid2] {
        store
            .add_dependency(&dep(&kid.id, &spawner.id, "parent-child"), "me")
            .unwrap();
    }
    store
        .add_dependency(&dep(&gate_all.id, &spawner.id, "waits-for"), "me")
        .unwrap();
    let mut any = dep(&gate_any.id, &spawner.id, "waits-for");
    any.metadata = "{\"gate\":\"any-children\"}".into();
    store.add_dependency(&any, "me").unwrap();
    let blocked = |id: &str| store.is_blocked(id).unwrap().0;
    assert!(blocked(&gate_all.id) && blocked(&gate_any.id));
    store
        .close_issue(&kid1.id, &Attribution::new("me").reason("done"))
        .unwrap();
    assert!(blocked(&gate_all.id) && !blocked(&gate_any.id));
    store
        .close_issue(&kid2.id, &Attribution::new("me").reason("done"))
        .unwrap();
    assert!(!blocked(&gate_all.id));

    store.set_config("some.key", "1").unwrap();
    store.delete_config("some.key").unwrap();
    assert_eq!(store.get_config("some.key").unwrap(), None);
}
