//! Issues: creating (prefix, hash ids, events, dirty marks), every column round-tripping, bad
//! input, status changes, orphan handling, convoys.

use super::dep;
use crate::common::issues::{create, store_with_prefix};
use crate::common::{self, TempDb};
use beadstore::model::{DependencyType, Issue, IssueType, Status};
use beadstore::ops::{Attribution, IssueFilter, IssueUpdate, OrphanHandling};
use beadstore::{Error, NotFoundKind, Store};

#[test]
fn creating_needs_a_prefix_and_makes_short_hash_ids_with_an_event_and_a_dirty_mark() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let err = store.create_issue(Issue::new("first"), "me").unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { message: ref m, .. } if m.contains("issue_prefix")),
        "{err:?}"
    );
    assert_eq!(
        store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0].as_i64(),
        Some(0)
    );

    store.set_config("issue_prefix", "bd").unwrap();
    let issue = store.create_issue(Issue::new("first"), "me").unwrap();
    assert!(
        issue.id.starts_with("bd-") && issue.id.len() == "bd-".len() + 3,
        "{}",
        issue.id
    );
    assert_eq!(issue.content_hash, issue.compute_content_hash());
    let stored = store.get_issue(&issue.id).unwrap().unwrap();
    assert_eq!(stored.title, "first");
    assert_eq!(stored.status, Status::Open);
    assert_eq!(stored.created_at, issue.created_at);
    let events = store.get_events(&issue.id, 0).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "created");
    assert_eq!(store.get_dirty_issues().unwrap(), vec![issue.id.clone()]);
    assert!(store.get_issue("bd-nope").unwrap().is_none());
    store.close().unwrap();
    // Real SQLite reads what was written.
    let conn = common::sqlite(&t.path);
    let title: String = conn
        .query_row("SELECT title FROM issues WHERE id = ?", [&issue.id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(title, "first");
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

#[test]
fn every_field_with_a_column_round_trips() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let at = chrono::DateTime::parse_from_rfc3339("2025-11-02T21:58:07.295058-08:00").unwrap();
    let mut issue = Issue::new("full");
    issue.id = "bd-full".into();
    issue.description = "d".into();
    issue.design = "des".into();
    issue.acceptance_criteria = "ac".into();
    issue.notes = "n".into();
    issue.status = Status::Closed;
    issue.closed_at = Some(at);
    issue.close_reason = "done".into();
    issue.closed_by_session = "sess".into();
    issue.priority = 1;
    issue.issue_type = IssueType::Bug;
    issue.assignee = "ann".into();
    issue.owner = "own".into();
    issue.estimated_minutes = Some(30);
    issue.created_at = at;
    issue.updated_at = at;
    issue.created_by = "cb".into();
    issue.external_ref = Some("gh-1".into());
    issue.source_system = "jira".into();
    issue.due_at = Some(at);
    issue.defer_until = Some(at);
    issue.sender = "s".into();
    issue.pinned = true;
    issue.is_template = true;
    issue.crystallizes = true;
    issue.await_type = "gh:pr".into();
    issue.await_id = "12".into();
    issue.timeout_ns = 5_000_000_000;
    issue.waiters = vec!["w1".into(), "w2".into()];
    issue.hook_bead = "hb".into();
    issue.role_bead = "rb".into();
    issue.agent_state = "idle".into();
    issue.last_activity = Some(at);
    issue.role_type = "rt".into();
    issue.rig = "rig".into();
    issue.mol_type = "swarm".into();
    issue.event_kind = "ek".into();
    issue.actor = "ac".into();
    issue.target = "tg".into();
    issue.payload = "{}".into();
    let created = store.create_issue(issue.clone(), "me").unwrap();
    let mut read = store.get_issue("bd-full").unwrap().unwrap();
    read.source_repo.clear();
    let mut expected = created;
    expected.source_repo.clear();
    assert_eq!(read, expected);
    assert_eq!(
        store.get_issue_by_external_ref("gh-1").unwrap().unwrap().id,
        "bd-full"
    );
}

#[test]
fn bad_input_is_a_typed_error_and_writes_nothing() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let bad = |f: fn(&mut Issue)| {
        let mut i = Issue::new("x");
        f(&mut i);
        i
    };
    let cases: Vec<(Issue, &str, &str)> = vec![
        (bad(|i| i.title.clear()), "title", "title is required"),
        (
            bad(|i| i.title = "x".repeat(501)),
            "title",
            "500 characters",
        ),
        (bad(|i| i.priority = 5), "priority", "priority"),
        (
            bad(|i| i.status = Status::parse("nonsense")),
            "status",
            "invalid status",
        ),
        (
            bad(|i| i.issue_type = IssueType::parse("molecule")),
            "issue_type",
            "invalid issue type",
        ),
        (
            bad(|i| i.estimated_minutes = Some(-1)),
            "estimated_minutes",
            "negative",
        ),
        (
            bad(|i| i.id = "xx-1".into()),
            "id",
            "does not match configured prefix",
        ),
    ];
    for (issue, field, message) in cases {
        let err = store.create_issue(issue, "me").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: f, message: m } if *f == field && m.contains(message)),
            "{field}, {message}: {err:?}"
        );
    }
    // 500 characters of multi-byte text is fine (the limit counts characters).
    store
        .create_issue(Issue::new("é".repeat(500)), "me")
        .unwrap();
    // Custom types declared in config are accepted.
    store.set_config("types.custom", "molecule, gate").unwrap();
    store
        .create_issue(bad(|i| i.issue_type = IssueType::parse("molecule")), "me")
        .unwrap();
    // A duplicate explicit id and a duplicate external ref are refused.
    let mut a = Issue::new("a");
    a.id = "bd-dup".into();
    a.external_ref = Some("ext-1".into());
    store.create_issue(a.clone(), "me").unwrap();
    let err = store.create_issue(a.clone(), "me").unwrap_err();
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    let mut b = Issue::new("b");
    b.external_ref = Some("ext-1".into());
    assert!(matches!(
        store.create_issue(b, "me").unwrap_err(),
        Error::Constraint { .. }
    ));
    // A batch with one bad issue writes none of them.
    let before = store
        .search_issues("", &IssueFilter::default())
        .unwrap()
        .len();
    let err = store
        .create_issues(vec![Issue::new("ok"), bad(|i| i.priority = 9)], "me")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert_eq!(
        store
            .search_issues("", &IssueFilter::default())
            .unwrap()
            .len(),
        before
    );
    // Updating an unknown id.
    let err = store
        .update_issue("bd-missing", &IssueUpdate::default(), "me")
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { kind: NotFoundKind::Issue, id, .. } if id == "bd-missing"),
        "{err:?}"
    );
    // A tombstone with the same id is replaced by a new create.
    store
        .create_tombstone("bd-dup", &Attribution::new("me").reason("gone"))
        .unwrap();
    let replaced = store.create_issue(a, "me").unwrap();
    assert_eq!(
        store.get_issue(&replaced.id).unwrap().unwrap().status,
        Status::Open
    );
}

#[test]
fn status_changes_manage_closed_at_events_and_the_content_hash() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let issue = create(&store, "work");
    let update = |u: IssueUpdate| store.update_issue(&issue.id, &u, "me").unwrap();
    update(
        IssueUpdate::default()
            .status(Status::InProgress)
            .priority(0),
    );
    let now = store.get_issue(&issue.id).unwrap().unwrap();
    assert_eq!((now.status.clone(), now.priority), (Status::InProgress, 0));
    assert_ne!(now.content_hash, issue.content_hash);
    assert_eq!(now.content_hash, now.compute_content_hash());
    update(
        IssueUpdate::default()
            .status(Status::Closed)
            .close_reason("done"),
    );
    let closed = store.get_issue(&issue.id).unwrap().unwrap();
    assert!(closed.closed_at.is_some());
    update(IssueUpdate::default().status(Status::Open));
    let reopened = store.get_issue(&issue.id).unwrap().unwrap();
    assert!(reopened.closed_at.is_none());
    assert!(reopened.close_reason.is_empty());
    let err = store
        .update_issue(
            &issue.id,
            &IssueUpdate::default().status(Status::Tombstone),
            "me",
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    store
        .close_issue(
            &issue.id,
            &Attribution::new("me").reason("finished").session("s1"),
        )
        .unwrap();
    let types: Vec<String> = store
        .get_events(&issue.id, 0)
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        ["created", "status_changed", "closed", "reopened", "closed"]
    );
    let last = &store.get_events(&issue.id, 1).unwrap()[0];
    assert_eq!(last.comment.as_deref(), Some("finished"));
}

#[test]
fn orphans_follow_the_chosen_handling_and_parents_come_back_from_the_jsonl_history() {
    use beadstore::ops::{CreateOptions, OrphanHandling};
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let child = |id: &str| {
        let mut i = Issue::new(format!("child {id}"));
        i.id = id.into();
        i
    };
    let with = |orphans| CreateOptions::default().orphans(orphans);
    let err = store
        .create_issues_with_options(
            vec![child("bd-gone.1")],
            "me",
            &with(OrphanHandling::Strict),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let created = store
        .create_issues_with_options(
            vec![child("bd-gone.1"), Issue::new("plain")],
            "me",
            &with(OrphanHandling::Skip),
        )
        .unwrap();
    assert_eq!(created.len(), 1);
    assert!(store.get_issue("bd-gone.1").unwrap().is_none());
    store
        .create_issues_with_options(vec![child("bd-gone.2")], "me", &with(OrphanHandling::Allow))
        .unwrap();
    // Resurrect: the parent is in the batch, or in issues.jsonl beside the database.
    let mut parent = Issue::new("in batch");
    parent.id = "bd-par".into();
    store
        .create_issues(vec![child("bd-par.1"), parent], "me")
        .unwrap();
    assert!(
        store.create_issue(child("bd-old.3"), "me").is_err(),
        "no history yet"
    );
    std::fs::write(
        t.path.parent().unwrap().join("issues.jsonl"),
        concat!(
            "{\"id\":\"bd-other\",\"title\":\"noise\",\"priority\":2,\"created_at\":\"2024-01-01T00:00:00Z\",\"updated_at\":\"2024-01-01T00:00:00Z\"}\n",
            "{\"id\":\"bd-old\",\"title\":\"first title\",\"priority\":1,\"issue_type\":\"epic\",\"created_at\":\"2024-01-01T00:00:00Z\",\"updated_at\":\"2024-01-01T00:00:00Z\"}\n",
            "{\"id\":\"bd-old\",\"title\":\"The old epic\",\"description\":\"why\",\"priority\":1,\"issue_type\":\"epic\",\"created_at\":\"2024-01-01T00:00:00Z\",\"updated_at\":\"2024-02-01T00:00:00Z\"}\n",
        ),
    )
    .unwrap();
    store.create_issue(child("bd-old.3"), "me").unwrap();
    let stub = store.get_issue("bd-old").unwrap().unwrap();
    assert_eq!(stub.title, "The old epic");
    assert_eq!(stub.status, Status::Closed);
    assert_eq!(stub.issue_type, IssueType::Epic);
    assert!(stub.description.starts_with("[RESURRECTED]") && stub.description.ends_with("why"));
    assert_eq!(store.next_child_id("bd-old").unwrap(), "bd-old.4");
    assert_eq!(store.orphan_handling().unwrap(), OrphanHandling::Allow);
}

#[test]
fn a_convoy_closes_itself_when_its_last_tracked_issue_closes() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let convoy = create(&store, "release convoy");
    store.add_label(&convoy.id, "gt:convoy", "tester").unwrap();
    let plain = create(&store, "tracker without the label");
    let first = create(&store, "first tracked");
    let second = create(&store, "second tracked");
    for target in [&first.id, &second.id] {
        store
            .add_dependency(&dep(&convoy.id, target, DependencyType::Tracks), "tester")
            .unwrap();
        store
            .add_dependency(&dep(&plain.id, target, DependencyType::Tracks), "tester")
            .unwrap();
    }
    // An external target never holds a convoy open.
    store
        .add_dependency(
            &dep(&convoy.id, "external:other:thing", DependencyType::Tracks),
            "tester",
        )
        .unwrap();

    store
        .close_issue(&first.id, &Attribution::new("tester").reason("done"))
        .unwrap();
    let open = store.get_issue(&convoy.id).unwrap().unwrap();
    assert_eq!(open.status, Status::Open, "one tracked issue is still open");

    store
        .create_tombstone(&second.id, &Attribution::new("tester").reason("dropped"))
        .unwrap();
    store
        .close_issue(&second.id, &Attribution::new("tester").reason("done"))
        .unwrap();
    let closed = store.get_issue(&convoy.id).unwrap().unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.close_reason, "All tracked issues completed");
    assert!(closed.closed_at.is_some());
    assert_eq!(closed.content_hash, closed.compute_content_hash());
    let events = store.get_events(&convoy.id, 0).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "closed" && e.actor == "system:convoy-completion"),
        "{events:?}"
    );
    assert!(store.get_dirty_issues().unwrap().contains(&convoy.id));
    let plain_after = store.get_issue(&plain.id).unwrap().unwrap();
    assert_eq!(
        plain_after.status,
        Status::Open,
        "no gt:convoy label, no auto-close"
    );
}

/// Orphan handling from a user is parsed strictly; a value stored in config is read as Go does.
#[test]
fn orphan_handling_parses_strictly_and_reads_config_leniently() {
    assert_eq!(
        " skip ".parse::<OrphanHandling>().unwrap(),
        OrphanHandling::Skip
    );
    match "maybe".parse::<OrphanHandling>() {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "orphan_handling");
            assert!(message.contains("maybe"), "{message}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(OrphanHandling::from_config("maybe"), OrphanHandling::Allow);
    assert_eq!(
        OrphanHandling::from_config("strict"),
        OrphanHandling::Strict
    );
    for handling in [
        OrphanHandling::Strict,
        OrphanHandling::Resurrect,
        OrphanHandling::Skip,
        OrphanHandling::Allow,
    ] {
        assert_eq!(
            handling.as_str().parse::<OrphanHandling>().unwrap(),
            handling
        );
    }
}

/// Setters build the non-exhaustive option types: an `Option<Option<_>>` field's setter takes
/// the inner option, so `None` clears the column.
#[test]
fn setters_set_and_clear_fields_of_an_update() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let issue = create(&store, "estimated");
    let set = IssueUpdate::default()
        .estimated_minutes(Some(30))
        .assignee("ann")
        .status(Status::InProgress);
    assert_eq!(set.estimated_minutes, Some(Some(30)));
    store.update_issue(&issue.id, &set, "me").unwrap();
    let read = store.get_issue(&issue.id).unwrap().unwrap();
    assert_eq!(
        (read.estimated_minutes, read.assignee.as_str(), read.status),
        (Some(30), "ann", Status::InProgress)
    );
    store
        .update_issue(
            &issue.id,
            &IssueUpdate::default().estimated_minutes(None),
            "me",
        )
        .unwrap();
    let read = store.get_issue(&issue.id).unwrap().unwrap();
    assert_eq!(read.estimated_minutes, None);
    assert_eq!(read.assignee, "ann", "fields not set are left alone");
    let found = store
        .search_issues("", &IssueFilter::default().assignee("ann").limit(5))
        .unwrap();
    assert_eq!(found.len(), 1);
}

/// An update, a close and a tombstone write only the columns they change, as Go's updates do:
/// what another writer stored in the others (here Go's driver's timestamp layout and a NULL
/// where beadstore writes an empty string) stays byte for byte, and the issue reads back with
/// every change applied.
#[test]
fn status_changes_and_updates_leave_the_columns_they_do_not_change_as_stored() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let issue = create(&store, "written elsewhere");
    store
        .execute(
            "UPDATE issues SET created_at = '2025-11-02 21:58:07.295058-08:00', owner = NULL WHERE id = ?",
            &[issue.id.as_str().into()],
        )
        .unwrap();
    let untouched = |store: &Store| {
        let rows = store
            .query(
                "SELECT created_at, typeof(owner) FROM issues WHERE id = ?",
                &[issue.id.as_str().into()],
            )
            .unwrap();
        (
            rows[0][0].as_str().unwrap().to_owned(),
            rows[0][1].as_str().unwrap().to_owned(),
        )
    };
    let stored = (
        "2025-11-02 21:58:07.295058-08:00".to_owned(),
        "null".to_owned(),
    );
    store
        .update_issue(
            &issue.id,
            &IssueUpdate::default().title("renamed").priority(0),
            "me",
        )
        .unwrap();
    assert_eq!(untouched(&store), stored);
    store
        .close_issue(&issue.id, &Attribution::new("me").reason("done"))
        .unwrap();
    assert_eq!(untouched(&store), stored);
    let read = store.get_issue(&issue.id).unwrap().unwrap();
    assert_eq!(
        (read.title.as_str(), read.priority, &read.status),
        ("renamed", 0, &Status::Closed)
    );
    assert_eq!(read.close_reason, "done");
    assert_eq!(read.content_hash, read.compute_content_hash());
    store
        .create_tombstone(&issue.id, &Attribution::new("me").reason("gone"))
        .unwrap();
    assert_eq!(untouched(&store), stored);
    let read = store.get_issue(&issue.id).unwrap().unwrap();
    assert_eq!(
        (&read.status, read.original_type.as_str()),
        (&Status::Tombstone, "task")
    );
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}
