//! The Storage interface: issues, ids, validation, updates, closing, dependencies and cycles,
//! ready work through the blocked cache, labels, comments, events, dirty tracking and
//! transactions, on real files checked by real SQLite.

mod common;

use beadstore::ops::Attribution;
use std::collections::{BTreeSet, HashMap};

use beadstore::model::{Dependency, DependencyType, Issue, IssueType, Status};
use beadstore::ops::maintenance::{DeleteOptions, Eligibility};
use beadstore::ops::{IssueFilter, IssueUpdate, WorkFilter};
use beadstore::{Error, NotFoundKind, Store};
use common::issues::{create, ids, store_with_prefix};
use common::TempDb;

fn dep(from: &str, to: &str, kind: impl Into<DependencyType>) -> Dependency {
    Dependency::new(from, to, kind)
}

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
fn cycles_are_refused_with_the_path_and_external_targets_are_allowed() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    let c = create(&store, "c");
    store
        .add_dependency(&dep(&a.id, &b.id, "blocks"), "me")
        .unwrap();
    store
        .add_dependency(&dep(&b.id, &c.id, "related"), "me")
        .unwrap();
    let err = store
        .add_dependency(&dep(&c.id, &a.id, "blocks"), "me")
        .unwrap_err();
    match err {
        Error::Cycle { path } => assert_eq!(
            path,
            [c.id.clone(), a.id.clone(), b.id.clone(), c.id.clone()]
        ),
        other => panic!("{other:?}"),
    }
    // relates-to links are never cycles.
    store
        .add_dependency(&dep(&c.id, &a.id, DependencyType::RelatesTo), "me")
        .unwrap();
    let err = store
        .add_dependency(&dep(&a.id, &a.id, "blocks"), "me")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    let err = store
        .add_dependency(&dep(&a.id, "bd-none", "blocks"), "me")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    store
        .add_dependency(&dep(&a.id, "external:other:cap", "blocks"), "me")
        .unwrap();
    let records = store.get_dependency_records(&a.id).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        ids(&store.get_dependents(&b.id).unwrap()),
        BTreeSet::from([a.id.clone()])
    );
    store.remove_dependency(&a.id, &b.id, "me").unwrap();
    assert!(matches!(
        store.remove_dependency(&a.id, &b.id, "me").unwrap_err(),
        Error::NotFound { .. }
    ));
}

#[test]
fn ready_work_follows_blockers_parents_and_closes() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let blocker = create(&store, "blocker");
    let blocked = create(&store, "blocked");
    let mut epic = Issue::new("epic");
    epic.issue_type = IssueType::Epic;
    let epic = store.create_issue(epic, "me").unwrap();
    let child = create(&store, "child");
    store
        .add_dependency(&dep(&blocked.id, &blocker.id, "blocks"), "me")
        .unwrap();
    store
        .add_dependency(&dep(&child.id, &epic.id, "parent-child"), "me")
        .unwrap();
    store
        .add_dependency(&dep(&epic.id, &blocked.id, "blocks"), "me")
        .unwrap();
    let ready = ids(&store.get_ready_work(&WorkFilter::default()).unwrap());
    assert_eq!(ready, BTreeSet::from([blocker.id.clone()]));
    assert_eq!(
        store.is_blocked(&blocked.id).unwrap(),
        (true, vec![blocker.id.clone()])
    );
    // The child is blocked through its parent, with no direct blocker.
    assert_eq!(store.is_blocked(&child.id).unwrap(), (true, vec![]));
    let blocked_list = store.get_blocked_issues(&WorkFilter::default()).unwrap();
    let blocked_ids: BTreeSet<String> = blocked_list.iter().map(|b| b.issue.id.clone()).collect();
    assert_eq!(
        blocked_ids,
        BTreeSet::from([blocked.id.clone(), epic.id.clone()])
    );
    store
        .close_issue(&blocker.id, &Attribution::new("me").reason("done"))
        .unwrap();
    assert_eq!(
        ids(&store.get_newly_unblocked_by_close(&blocker.id).unwrap()),
        BTreeSet::from([blocked.id.clone()])
    );
    store
        .close_issue(&blocked.id, &Attribution::new("me").reason("done"))
        .unwrap();
    let ready = ids(&store.get_ready_work(&WorkFilter::default()).unwrap());
    assert_eq!(ready, BTreeSet::from([epic.id.clone(), child.id.clone()]));
    // Deferred to the future: not ready.
    store
        .update_issue(
            &child.id,
            &IssueUpdate::default().defer_until(Some(
                chrono::Local::now().fixed_offset() + chrono::Duration::days(2),
            )),
            "me",
        )
        .unwrap();
    let ready = ids(&store.get_ready_work(&WorkFilter::default()).unwrap());
    assert_eq!(ready, BTreeSet::from([epic.id.clone()]));
}

/// A small deterministic generator for the property test.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The blocked cache equals the recursive definition computed independently, on random graphs
/// after every kind of change.
#[test]
fn the_blocked_cache_matches_the_definition_on_random_graphs() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let statuses = [
        Status::Open,
        Status::InProgress,
        Status::Closed,
        Status::Deferred,
        Status::Pinned,
    ];
    let kinds = ["blocks", "parent-child", "related", "conditional-blocks"];
    let mut issues: Vec<String> = Vec::new();
    let mut rounds_with_blocked = 0;
    for round in 0..30 {
        issues.push(create(&store, &format!("issue {round}")).id);
        for _ in 0..3 {
            let a = &issues[rng.next(issues.len() as u64) as usize];
            let b = &issues[rng.next(issues.len() as u64) as usize];
            let kind = kinds[rng.next(kinds.len() as u64) as usize];
            // Cycles and self links are refused; that is fine here.
            let _ = store.add_dependency(&dep(a, b, kind), "me");
        }
        let target = &issues[rng.next(issues.len() as u64) as usize];
        let status = statuses[rng.next(statuses.len() as u64) as usize].clone();
        if status == Status::Closed {
            let reason = if rng.next(2) == 0 { "done" } else { "failed" };
            store
                .close_issue(target, &Attribution::new("me").reason(reason))
                .unwrap();
        } else {
            store
                .update_issue(target, &IssueUpdate::default().status(status), "me")
                .unwrap();
        }
        if rng.next(5) == 0 {
            let records = store.get_all_dependency_records().unwrap();
            if let Some(d) = records.values().flatten().next() {
                store
                    .remove_dependency(&d.issue_id, &d.depends_on_id, "me")
                    .unwrap();
            }
        }
        let expected = expected_blocked(&store);
        rounds_with_blocked += usize::from(!expected.is_empty());
        assert_eq!(cached(&store), expected, "round {round}");
    }
    assert!(
        rounds_with_blocked >= 10,
        "the graphs blocked too little: {rounds_with_blocked}"
    );
}

fn cached(store: &Store) -> BTreeSet<String> {
    store
        .query("SELECT issue_id FROM blocked_issues_cache", &[])
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}

/// The definition, in Rust over plain rows: direct blockers, then parent-child descendants.
fn expected_blocked(store: &Store) -> BTreeSet<String> {
    let status: HashMap<String, (String, String)> = store
        .query(
            "SELECT id, status, coalesce(close_reason, '') FROM issues",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                (
                    r[1].as_str().unwrap().to_owned(),
                    r[2].as_str().unwrap().to_lowercase(),
                ),
            )
        })
        .collect();
    let deps: Vec<(String, String, String)> = store
        .query(
            "SELECT issue_id, depends_on_id, type FROM dependencies",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
                r[2].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let active = ["open", "in_progress", "blocked", "deferred", "hooked"];
    let mut blocked: BTreeSet<String> = BTreeSet::new();
    for (issue, target, kind) in &deps {
        let Some((s, reason)) = status.get(target) else {
            continue;
        };
        let blocks = match kind.as_str() {
            "blocks" => active.contains(&s.as_str()),
            "conditional-blocks" => {
                active[..4].contains(&s.as_str())
                    || (s == "closed"
                        && !beadstore::ops::ready::FAILURE_CLOSE_KEYWORDS
                            .iter()
                            .any(|k| reason.contains(k)))
            }
            _ => false,
        };
        if blocks {
            blocked.insert(issue.clone());
        }
    }
    loop {
        let more: Vec<String> = deps
            .iter()
            .filter(|(child, parent, kind)| {
                kind == "parent-child" && blocked.contains(parent) && !blocked.contains(child)
            })
            .map(|(child, _, _)| child.clone())
            .collect();
        if more.is_empty() {
            return blocked;
        }
        blocked.extend(more);
    }
}

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

#[test]
fn graph_views_counts_trees_cycles_epics_stale_statistics_and_molecules() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let chain: Vec<String> = (0..5)
        .map(|i| create(&store, &format!("c{i}")).id)
        .collect();
    for w in chain.windows(2) {
        store
            .add_dependency(&dep(&w[0], &w[1], "blocks"), "me")
            .unwrap();
    }
    let counts = store.get_dependency_counts(&chain).unwrap();
    assert_eq!(counts[&chain[0]].dependencies, 1);
    assert_eq!(counts[&chain[0]].dependents, 0);
    assert_eq!(counts[&chain[2]].dependents, 1);
    let tree = store
        .get_dependency_tree(&chain[0], 2, false, false)
        .unwrap();
    let shape: Vec<(String, usize, bool)> = tree
        .iter()
        .map(|n| (n.issue.id.clone(), n.depth, n.truncated))
        .collect();
    assert_eq!(
        shape,
        [
            (chain[0].clone(), 0, false),
            (chain[1].clone(), 1, false),
            (chain[2].clone(), 2, true)
        ]
    );
    let reverse = store
        .get_dependency_tree(&chain[4], 0, false, true)
        .unwrap();
    assert_eq!(reverse.len(), 5);
    assert!(store.detect_cycles().unwrap().is_empty());
    // Only raw SQL (or an import) can make a cycle; detect_cycles finds it.
    store
        .execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, ?, 'blocks', 'raw')",
            &beadstore::params![chain[4].as_str(), chain[2].as_str()],
        )
        .unwrap();
    let cycles = store.detect_cycles().unwrap();
    assert_eq!(cycles.len(), 1);
    let cycle_ids: Vec<String> = cycles[0].iter().map(|i| i.id.clone()).collect();
    let mut expected = vec![chain[2].clone(), chain[3].clone(), chain[4].clone()];
    let smallest = expected
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cmp(b.1))
        .unwrap()
        .0;
    expected.rotate_left(smallest);
    assert_eq!(cycle_ids, expected);

    let mut epic = Issue::new("epic");
    epic.issue_type = IssueType::Epic;
    let epic = store.create_issue(epic, "me").unwrap();
    let kid = create(&store, "kid");
    store
        .add_dependency(&dep(&kid.id, &epic.id, "parent-child"), "me")
        .unwrap();
    store
        .update_issue(
            &kid.id,
            &IssueUpdate::default().status(Status::InProgress),
            "me",
        )
        .unwrap();
    let progress = store.get_molecule_progress(&epic.id).unwrap();
    assert_eq!(
        (
            progress.total,
            progress.in_progress,
            progress.current_step_id.clone()
        ),
        (1, 1, kid.id.clone())
    );
    let epics = store.get_epics_eligible_for_closure().unwrap();
    assert_eq!(epics.len(), 1);
    assert!(!epics[0].eligible_for_close);
    store
        .close_issue(&kid.id, &Attribution::new("me").reason("done"))
        .unwrap();
    assert!(store.get_epics_eligible_for_closure().unwrap()[0].eligible_for_close);
    let progress = store.get_molecule_progress(&epic.id).unwrap();
    assert_eq!(progress.completed, 1);
    assert!(progress.first_closed.is_some());

    store
        .execute(
            "UPDATE issues SET updated_at = '2020-01-01T00:00:00Z' WHERE id = ?",
            &beadstore::params![chain[0].as_str()],
        )
        .unwrap();
    let stale = store
        .get_stale_issues(&beadstore::ops::graph::StaleFilter::default().days(30))
        .unwrap();
    assert_eq!(ids(&stale), BTreeSet::from([chain[0].clone()]));

    let stats = store.get_statistics().unwrap();
    assert_eq!(stats.total_issues, 7);
    assert_eq!(stats.closed_issues, 1);
    assert_eq!(stats.epics_eligible_for_closure, 1);
    assert_eq!(
        stats.ready_issues,
        store.get_ready_work(&WorkFilter::default()).unwrap().len() as i64
    );
    assert!(stats.blocked_issues >= 4);
}

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

/// A second beads project at `<root>/tools` that has shipped `cli` (and not `gui`).
fn tools_project(root: &std::path::Path) {
    let beads = root.join("tools/.beads");
    std::fs::create_dir_all(&beads).unwrap();
    std::fs::write(beads.join("metadata.json"), r#"{"database": "tools.db"}"#).unwrap();
    let tools = Store::open(beads.join("tools.db").to_str().unwrap()).unwrap();
    tools.set_config("issue_prefix", "tl").unwrap();
    for capability in ["cli", "gui"] {
        let issue = create(&tools, capability);
        tools
            .add_label(&issue.id, &format!("provides:{capability}"), "t")
            .unwrap();
        if capability == "cli" {
            tools
                .close_issue(&issue.id, &Attribution::new("t").reason("shipped"))
                .unwrap();
        }
    }
    tools.close().unwrap();
}

#[test]
fn external_capabilities_block_until_the_named_project_ships_them() {
    let t = TempDb::new();
    let root = t.dir.path();
    tools_project(root);
    let store = store_with_prefix(&t);
    let wants_cli = create(&store, "wants cli");
    let wants_gui = create(&store, "wants gui");
    let wants_other = create(&store, "wants an unknown project");
    store
        .add_dependency(
            &dep(&wants_cli.id, "external:tools:cli", DependencyType::Blocks),
            "t",
        )
        .unwrap();
    store
        .add_dependency(
            &dep(&wants_gui.id, "external:tools:gui", DependencyType::Blocks),
            "t",
        )
        .unwrap();
    store
        .add_dependency(
            &dep(
                &wants_other.id,
                "external:nowhere:x",
                DependencyType::Blocks,
            ),
            "t",
        )
        .unwrap();

    // Without external_projects, external blockers never hold back ready work.
    let ready = ids(&store.get_ready_work(&WorkFilter::default()).unwrap());
    assert!(ready.contains(&wants_gui.id) && ready.contains(&wants_other.id));
    store.close().unwrap();

    std::fs::write(
        root.join(".beads/config.yaml"),
        "external_projects:\n  tools: tools\n",
    )
    .unwrap();
    let store = Store::open(t.path_str()).unwrap();
    let status = store.check_external_dep("external:tools:cli").unwrap();
    assert!(status.satisfied, "{status:?}");
    assert_eq!(status.reason, "capability shipped");
    let gui = store.check_external_dep("external:tools:gui").unwrap();
    assert!(!gui.satisfied);
    assert!(gui.reason.contains("provides:gui"), "{}", gui.reason);
    let other = store.check_external_dep("external:nowhere:x").unwrap();
    assert_eq!(other.reason, "project not configured in external_projects");
    assert_eq!(
        store.check_external_dep("external:tools").unwrap().reason,
        "invalid format (expected external:project:capability)"
    );

    let ready = ids(&store.get_ready_work(&WorkFilter::default()).unwrap());
    assert!(ready.contains(&wants_cli.id), "shipped: ready");
    assert!(!ready.contains(&wants_gui.id), "not shipped: held back");
    assert!(
        !ready.contains(&wants_other.id),
        "unknown project: held back"
    );
    // The limit applies after the external filter, so it is never short-changed.
    let limited = store
        .get_ready_work(&WorkFilter::default().limit(1))
        .unwrap();
    assert_eq!(limited.len(), 1);

    let blocked: HashMap<String, Vec<String>> = store
        .get_blocked_issues(&WorkFilter::default())
        .unwrap()
        .into_iter()
        .map(|b| (b.issue.id, b.blocked_by))
        .collect();
    assert!(!blocked.contains_key(&wants_cli.id), "{blocked:?}");
    assert_eq!(blocked[&wants_gui.id], ["external:tools:gui"]);

    let tree = store
        .get_dependency_tree(&wants_gui.id, 0, false, false)
        .unwrap();
    assert_eq!(tree.len(), 2, "{tree:?}");
    assert_eq!(tree[1].issue.id, "external:tools:gui");
    assert_eq!(tree[1].issue.status, Status::Blocked);
    assert_eq!(tree[1].issue.title, "\u{23f3} gui");
    assert_eq!(
        (tree[1].depth, tree[1].parent_id.as_str()),
        (1, wants_gui.id.as_str())
    );
    let tree = store
        .get_dependency_tree(&wants_cli.id, 0, false, false)
        .unwrap();
    assert_eq!(tree[1].issue.status, Status::Closed);
    assert_eq!(tree[1].issue.title, "\u{2713} cli");
}

#[test]
fn issue_types_declared_in_config_yaml_are_accepted_when_the_database_declares_none() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut agent = Issue::new("an agent bead");
    agent.issue_type = IssueType::parse("agent");
    let err = store.create_issue(agent.clone(), "t").unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    store.close().unwrap();

    std::fs::write(
        t.dir.path().join(".beads/config.yaml"),
        "types:\n  custom: [agent, role]\n",
    )
    .unwrap();
    let store = Store::open(t.path_str()).unwrap();
    assert_eq!(store.custom_types().unwrap(), ["agent", "role"]);
    let created = store.create_issue(agent.clone(), "t").unwrap();
    assert_eq!(created.issue_type.as_str(), "agent");

    // The database's own declaration wins over the file.
    store.set_config("types.custom", "role").unwrap();
    assert_eq!(store.custom_types().unwrap(), ["role"]);
    let err = store.create_issue(agent, "t").unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");

    std::fs::write(t.dir.path().join(".beads/config.yaml"), "types: [unclosed").unwrap();
    let fresh = Store::open(t.path_str()).unwrap();
    fresh.set_config("types.custom", "").unwrap();
    let err = fresh.custom_types().unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
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

#[test]
fn child_ids_honour_the_configured_depth_and_bring_back_a_deleted_parent() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut parent = Issue::new("parent");
    parent.id = "bd-p".into();
    store.create_issue(parent, "t").unwrap();
    assert_eq!(store.next_child_id("bd-p").unwrap(), "bd-p.1");
    assert_eq!(store.next_child_id("bd-p").unwrap(), "bd-p.2");
    for id in ["bd-p.1", "bd-p.1.1", "bd-p.1.1.1"] {
        let mut child = Issue::new(id);
        child.id = id.into();
        store.create_issue(child, "t").unwrap();
    }
    // The explicit bd-p.1.1.1 moved the counter past it (GH#728).
    assert_eq!(store.next_child_id("bd-p.1.1").unwrap(), "bd-p.1.1.2");
    // Default depth 3: bd-p.1.1.1 has no children.
    let err = store.next_child_id("bd-p.1.1.1").unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { message: ref m, .. } if m.contains("maximum hierarchy depth (3)")),
        "{err:?}"
    );
    store.close().unwrap();

    let beads = t.dir.path().join(".beads");
    std::fs::write(beads.join("config.yaml"), "hierarchy:\n  max-depth: 1\n").unwrap();
    std::fs::write(
        beads.join("issues.jsonl"),
        "{\"id\":\"bd-gone\",\"title\":\"deleted epic\",\"status\":\"open\",\"priority\":1,\"issue_type\":\"epic\",\"created_at\":\"2025-01-01T00:00:00Z\",\"updated_at\":\"2025-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let store = Store::open(t.path_str()).unwrap();
    let err = store.next_child_id("bd-p.1").unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { message: ref m, .. } if m.contains("maximum hierarchy depth (1)")),
        "{err:?}"
    );
    assert_eq!(store.next_child_id("bd-gone").unwrap(), "bd-gone.1");
    let restored = store.get_issue("bd-gone").unwrap().unwrap();
    assert_eq!(restored.title, "deleted epic");
    assert_eq!(restored.status, Status::Closed);
    let err = store.next_child_id("bd-never").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}
