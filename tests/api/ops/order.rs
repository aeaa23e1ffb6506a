//! `list`, `search` and ready work return the issues, and the order, that SQLite's ORDER BY
//! gives for the same conditions: beadstore orders the rows itself (the engine has no top-N
//! sort), so real SQLite on the same file is the oracle, with ties and limits at every size.

use super::dep;
use crate::common::issues::store_with_prefix;
use crate::common::{sqlite, TempDb};
use beadstore::model::{Issue, IssueType, Status};
use beadstore::ops::{Attribution, IssueFilter, IssueUpdate, SortPolicy, WorkFilter};
use beadstore::{Param, Store};

/// Go's conditions for ready work, over `issues i`.
const READY: &str = "i.status IN ('open', 'in_progress') AND (i.pinned = 0 OR i.pinned IS NULL)
    AND (i.ephemeral = 0 OR i.ephemeral IS NULL)
    AND i.issue_type NOT IN ('merge-request', 'gate', 'molecule', 'message', 'agent', 'role', 'rig')
    AND i.id NOT LIKE '%-mol-%' AND i.id NOT LIKE '%-wisp-%'
    AND (i.defer_until IS NULL OR datetime(i.defer_until) <= datetime('now'))
    AND NOT EXISTS (SELECT 1 FROM blocked_issues_cache c WHERE c.issue_id = i.id)";

/// Sixty issues whose priorities and creation times collide in every way a sort key can:
/// equal priorities, equal timestamps, timestamps written in SQLite's and in RFC 3339 form,
/// some closed, some deleted, some blocked, some of types ready work leaves out.
fn colliding_issues(t: &TempDb) -> Store {
    let store = store_with_prefix(t);
    let stamps = [
        "2025-03-01T10:00:00Z",
        "2025-03-01 10:00:00",
        "2025-03-01T10:00:00.5Z",
        "2024-12-31T23:59:59Z",
    ];
    let mut ids = Vec::new();
    for n in 0..60 {
        let mut issue = Issue::new(format!("issue {n}"));
        issue.priority = [2, 0, 2, 4, 1][n % 5];
        if n % 11 == 0 {
            issue.issue_type = IssueType::Epic;
        }
        let issue = store.create_issue(issue, "me").unwrap();
        store
            .execute(
                "UPDATE issues SET created_at = ? WHERE id = ?",
                &[stamps[n % 4].into(), Param::from(issue.id.as_str())],
            )
            .unwrap();
        ids.push(issue.id);
    }
    for (n, id) in ids.iter().enumerate() {
        match n % 7 {
            1 => {
                store.close_issue(id, &Attribution::new("me")).unwrap();
            }
            3 => {
                let update = IssueUpdate::default().status(Status::InProgress);
                store.update_issue(id, &update, "me").unwrap();
            }
            5 => {
                let blocker = &ids[(n + 1) % ids.len()];
                store
                    .add_dependency(&dep(id, blocker, "blocks"), "me")
                    .unwrap();
            }
            6 if n % 2 == 0 => {
                store.delete_issue(id).unwrap();
            }
            _ => {}
        }
    }
    store
}

/// The ids real SQLite returns for `conditions` in `order`, the first `limit` (0: all).
fn oracle(t: &TempDb, conditions: &str, order: &str, limit: usize) -> Vec<String> {
    let limit = if limit == 0 { -1 } else { limit as i64 };
    let conn = sqlite(&t.path);
    let mut statement = conn
        .prepare(&format!(
            "SELECT i.id FROM issues i WHERE {conditions} ORDER BY {order} LIMIT {limit}"
        ))
        .unwrap();
    let ids = statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    ids
}

fn ids(issues: Vec<Issue>) -> Vec<String> {
    issues.into_iter().map(|i| i.id).collect()
}

const LIMITS: [usize; 6] = [1, 2, 5, 13, 40, 0];

#[test]
fn list_and_search_keep_sqlite_order_and_limits_through_ties() {
    let t = TempDb::new();
    let store = colliding_issues(&t);
    let newest_first = "i.priority ASC, i.created_at DESC, i.id ASC";
    for limit in LIMITS {
        let open = store
            .search_issues(
                "",
                &IssueFilter::default()
                    .exclude_status(vec![Status::Closed])
                    .limit(limit),
            )
            .unwrap();
        let expected = oracle(
            &t,
            "i.status != 'tombstone' AND i.status != 'closed'",
            newest_first,
            limit,
        );
        assert!(!expected.is_empty());
        assert_eq!(ids(open), expected, "list -n {limit}");

        let every = store
            .search_issues("", &IssueFilter::default().limit(limit))
            .unwrap();
        let expected = oracle(&t, "i.status != 'tombstone'", newest_first, limit);
        assert_eq!(ids(every), expected, "list --all -n {limit}");

        let excluded = vec![Status::Closed, Status::InProgress, Status::Blocked];
        let narrowed = store
            .search_issues(
                "issue 1",
                &IssueFilter::default().exclude_status(excluded).limit(limit),
            )
            .unwrap();
        let expected = oracle(
            &t,
            "i.status NOT IN ('tombstone', 'closed', 'in_progress', 'blocked') AND (i.title LIKE '%issue 1%' OR i.description LIKE '%issue 1%' OR i.id LIKE '%issue 1%')",
            newest_first,
            limit,
        );
        assert!(!expected.is_empty());
        assert_eq!(ids(narrowed), expected, "search -n {limit}");
    }
}

#[test]
fn ready_work_keeps_sqlite_order_and_limits_and_leaves_out_the_blocked() {
    let t = TempDb::new();
    let store = colliding_issues(&t);
    let blocked = store.get_blocked_issue_ids().unwrap();
    assert!(!blocked.is_empty(), "the fixture blocks some issues");
    for (sort, order) in [
        (
            SortPolicy::Priority,
            "i.priority ASC, i.created_at ASC, i.id ASC",
        ),
        (SortPolicy::Oldest, "i.created_at ASC, i.id ASC"),
    ] {
        for limit in LIMITS {
            let ready = store
                .get_ready_work(&WorkFilter::default().sort(sort).limit(limit))
                .unwrap();
            let ready = ids(ready);
            assert!(ready.iter().all(|id| !blocked.contains(id)));
            assert_eq!(
                ready,
                oracle(&t, READY, order, limit),
                "{sort:?} -n {limit}"
            );
        }
    }
    let counted = store.get_statistics().unwrap().ready_issues;
    assert_eq!(counted as usize, oracle(&t, READY, "i.id", 0).len());
}
