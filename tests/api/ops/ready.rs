//! Ready work and the blocked cache, against its definition on random graphs.

use std::collections::{BTreeSet, HashMap};

use super::dep;
use crate::common::issues::{create, first_column, ids, store_with_prefix};
use crate::common::TempDb;
use beadstore::model::{Issue, IssueType, Status};
use beadstore::ops::{Attribution, IssueUpdate, WorkFilter};
use beadstore::Store;

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
        let reprioritised = &issues[rng.next(issues.len() as u64) as usize];
        store
            .update_issue(
                reprioritised,
                &IssueUpdate::default().priority(rng.next(5) as i64),
                "me",
            )
            .unwrap();
        if rng.next(6) == 0 {
            let external = format!("external:other:cap-{round}");
            store
                .add_dependency(&dep(&issues[issues.len() - 1], &external, "blocks"), "me")
                .unwrap();
        }
        let expected = expected_blocked(&store);
        rounds_with_blocked += usize::from(!expected.is_empty());
        assert_eq!(cached(&store), expected, "round {round}");
        assert_eq!(
            blocked_list(&store),
            blocked_list_by_definition(&store),
            "round {round}"
        );
    }
    assert!(
        rounds_with_blocked >= 10,
        "the graphs blocked too little: {rounds_with_blocked}"
    );
}

/// `get_blocked_issues`: each issue and its blockers, in its order.
fn blocked_list(store: &Store) -> Vec<(String, Vec<String>)> {
    store
        .get_blocked_issues(&WorkFilter::default())
        .unwrap()
        .into_iter()
        .map(|b| (b.issue.id, b.blocked_by))
        .collect()
}

/// The blocked list as one SQL statement per part, each issue tested for its links: active,
/// unpinned, and blocked by status or by a `blocks` link to an active or external target.
fn blocked_list_by_definition(store: &Store) -> Vec<(String, Vec<String>)> {
    let active = "'open', 'in_progress', 'blocked', 'deferred', 'hooked'";
    let link = format!(
        "d.type = 'blocks' AND (d.depends_on_id LIKE 'external:%' OR EXISTS (SELECT 1 FROM issues b WHERE b.id = d.depends_on_id AND b.status IN ({active})))"
    );
    let texts = |sql: &str| first_column(store, sql);
    texts(&format!(
        "SELECT i.id FROM issues i WHERE i.status IN ({active}) AND (i.pinned = 0 OR i.pinned IS NULL)
           AND (i.status IN ('blocked', 'deferred') OR EXISTS (SELECT 1 FROM dependencies d WHERE d.issue_id = i.id AND {link}))
         ORDER BY i.priority, i.id"
    ))
    .into_iter()
    .map(|id| {
        let blockers = texts(&format!(
            "SELECT d.depends_on_id FROM dependencies d WHERE d.issue_id = '{id}' AND {link} ORDER BY d.depends_on_id"
        ));
        (id, blockers)
    })
    .collect()
}

fn cached(store: &Store) -> BTreeSet<String> {
    first_column(store, "SELECT issue_id FROM blocked_issues_cache")
        .into_iter()
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

/// Status changes alone (update, close with a failing or a plain reason, a new close reason,
/// tombstone, reopen) keep the cache equal to the definition, on a graph with every kind of
/// blocking link: `blocks` and `conditional-blocks` chains, `parent-child` trees, and
/// `waits-for` gates whose spawner is the target or named in the metadata. A change to an
/// issue nothing can be blocked by leaves the cache's rows as they were (no rebuild); a
/// change to a blocker rebuilds it.
#[test]
fn status_changes_keep_the_blocked_cache_exact_and_leave_it_alone_when_nothing_waits() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let issues: Vec<String> = (0..16)
        .map(|n| create(&store, &format!("node {n}")).id)
        .collect();
    let leaf = create(&store, "nothing waits on me").id;
    let links = [
        (1, 0, "blocks"),
        (2, 1, "conditional-blocks"),
        (3, 2, "blocks"),
        (4, 3, "parent-child"),
        (5, 4, "parent-child"),
        (6, 7, "parent-child"),
        (8, 7, "parent-child"),
        (9, 7, "waits-for"),
        (11, 10, "parent-child"),
        (12, 10, "parent-child"),
        (14, 13, "parent-child"),
        (15, 9, "parent-child"),
    ];
    for (from, to, kind) in links {
        store
            .add_dependency(&dep(&issues[from], &issues[to], kind), "me")
            .unwrap();
    }
    // A gate that waits for any child of issue 10 to close, and one whose spawner (13) is
    // named only in its metadata.
    let mut any = dep(&issues[0], &issues[10], "waits-for");
    any.metadata = r#"{"gate":"any-children"}"#.into();
    store.add_dependency(&any, "me").unwrap();
    let mut named = dep(&issues[3], &issues[0], "waits-for");
    named.metadata = format!(r#"{{"spawner_id":"{}"}}"#, issues[13]);
    store.add_dependency(&named, "me").unwrap();

    let exact = |store: &Store, step: &str| {
        let computed = store.snapshot(|tx| tx.compute_blocked_ids()).unwrap();
        assert_eq!(store.get_blocked_issue_ids().unwrap(), computed, "{step}");
        computed.len()
    };
    exact(&store, "start");
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut sizes = BTreeSet::new();
    let mut tombstones = BTreeSet::new();
    for step in 0..120 {
        let target = &issues[rng.next(issues.len() as u64) as usize];
        if tombstones.contains(target) {
            continue;
        }
        let by = |reason: &str| Attribution::new("me").reason(reason);
        let what = match rng.next(6) {
            0 => {
                store.close_issue(target, &by("done")).unwrap();
                "close"
            }
            1 => {
                store.close_issue(target, &by("build failed")).unwrap();
                "close as failed"
            }
            2 => {
                let update = IssueUpdate::default().close_reason("aborted by user");
                store.update_issue(target, &update, "me").unwrap();
                "new close reason"
            }
            3 if step % 20 == 19 => {
                store.create_tombstone(target, &by("gone")).unwrap();
                tombstones.insert(target.clone());
                "tombstone"
            }
            _ => {
                let status = [Status::Open, Status::InProgress, Status::Deferred]
                    [rng.next(3) as usize]
                    .clone();
                store
                    .update_issue(target, &IssueUpdate::default().status(status), "me")
                    .unwrap();
                "status"
            }
        };
        sizes.insert(exact(&store, &format!("step {step}: {what} {target}")));
    }
    assert!(
        sizes.len() >= 4,
        "the changes moved the blocked set too little: sizes {sizes:?}"
    );

    // A row the definition would not give (the unblocked leaf) marks the cache: a rebuild
    // drops it, a skipped one keeps it.
    let marked = |store: &Store| store.get_blocked_issue_ids().unwrap().contains(&leaf);
    store
        .execute(
            "INSERT INTO blocked_issues_cache (issue_id) VALUES (?)",
            &[leaf.as_str().into()],
        )
        .unwrap();
    assert!(marked(&store));
    store
        .update_issue(
            &leaf,
            &IssueUpdate::default().status(Status::InProgress),
            "me",
        )
        .unwrap();
    store
        .close_issue(&leaf, &Attribution::new("me").reason("done"))
        .unwrap();
    assert!(marked(&store), "a leaf's status changes rebuilt the cache");
    store
        .update_issue(
            &issues[2],
            &IssueUpdate::default().status(Status::Open),
            "me",
        )
        .unwrap();
    assert!(
        !marked(&store),
        "a blocker's status change left the cache alone"
    );
    exact(&store, "end");
}

/// The hybrid order equals Go's two-key SQL (recent first by `datetime()`, then the priority
/// of recent issues, then age) on issues created over the last week with UTC offsets from
/// -12:00 to +14:00, so local dates straddle the 48-hour cutoff; with and without a limit.
#[test]
fn the_hybrid_order_matches_gos_sql_across_utc_offsets() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    let now = chrono::Utc::now();
    for n in 0..80 {
        // Whole hours plus 30 minutes: nothing sits within a minute of the cutoff.
        let age = chrono::Duration::minutes(rng.next(170) as i64 * 60 + 30);
        let offset_hours = rng.next(27) as i32 - 12;
        let offset = chrono::FixedOffset::east_opt(offset_hours * 3600).unwrap();
        let mut issue = Issue::new(format!("issue {n}"));
        issue.priority = rng.next(5) as i64;
        issue.created_at = (now - age).with_timezone(&offset);
        issue.updated_at = issue.created_at;
        store.create_issue(issue, "me").unwrap();
    }
    // Just inside the cutoff at the furthest offsets west (a local date a day earlier than
    // the UTC one), just outside it at the furthest east.
    for (n, (minutes, offset_hours)) in [
        (2850, -12),
        (2820, -11),
        (2760, -10),
        (2910, 14),
        (2940, 13),
    ]
    .into_iter()
    .enumerate()
    {
        let offset = chrono::FixedOffset::east_opt(offset_hours * 3600).unwrap();
        let mut issue = Issue::new(format!("edge {n}"));
        issue.priority = 4 - n as i64 % 5;
        issue.created_at = (now - chrono::Duration::minutes(minutes)).with_timezone(&offset);
        issue.updated_at = issue.created_at;
        store.create_issue(issue, "me").unwrap();
    }
    let go_order = first_column(
        &store,
        "SELECT id FROM issues i
         ORDER BY CASE WHEN datetime(i.created_at) >= datetime('now', '-48 hours') THEN 0 ELSE 1 END,
                  CASE WHEN datetime(i.created_at) >= datetime('now', '-48 hours') THEN i.priority END,
                  i.created_at, i.id",
    );
    let recent = store
        .query(
            "SELECT count(*) FROM issues WHERE datetime(created_at) >= datetime('now', '-48 hours')",
            &[],
        )
        .unwrap()[0][0]
        .as_i64()
        .unwrap();
    assert!((10..70).contains(&recent), "recent: {recent}");
    for limit in [0, 10] {
        let ours: Vec<String> = store
            .get_ready_work(&WorkFilter::default().limit(limit))
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        let wanted = if limit == 0 { go_order.len() } else { limit };
        assert_eq!(ours, go_order[..wanted], "limit {limit}");
    }
}

/// Closing a blocker reports, by priority, exactly the open or in-progress dependents it set
/// free: not one another blocker still holds, not a closed or pinned one, not one linked by a
/// non-blocking type, not a dependent of something else.
#[test]
fn closing_a_blocker_reports_exactly_the_dependents_it_freed() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let blocker = create(&store, "blocker");
    let other = create(&store, "other blocker");
    let with_priority = |title: &str, priority: i64| {
        let mut issue = Issue::new(title);
        issue.priority = priority;
        store.create_issue(issue, "me").unwrap().id
    };
    let freed_low = with_priority("freed, P3", 3);
    let freed_high = with_priority("freed, P0", 0);
    let still_held = with_priority("held by the other too", 1);
    let closed = with_priority("already closed", 1);
    let pinned = with_priority("pinned", 1);
    let related = with_priority("only related", 1);
    let elsewhere = with_priority("blocked by the other only", 1);
    for (from, to, kind) in [
        (&freed_low, &blocker.id, "blocks"),
        (&freed_high, &blocker.id, "blocks"),
        (&still_held, &blocker.id, "blocks"),
        (&still_held, &other.id, "blocks"),
        (&closed, &blocker.id, "blocks"),
        (&pinned, &blocker.id, "blocks"),
        (&related, &blocker.id, "related"),
        (&elsewhere, &other.id, "blocks"),
    ] {
        store.add_dependency(&dep(from, to, kind), "me").unwrap();
    }
    store
        .close_issue(&closed, &Attribution::new("me").reason("done"))
        .unwrap();
    store
        .update_issue(
            &pinned,
            &IssueUpdate::default().status(Status::Pinned),
            "me",
        )
        .unwrap();
    store
        .update_issue(
            &freed_low,
            &IssueUpdate::default().status(Status::InProgress),
            "me",
        )
        .unwrap();
    store
        .close_issue(&blocker.id, &Attribution::new("me").reason("done"))
        .unwrap();
    let freed: Vec<String> = store
        .get_newly_unblocked_by_close(&blocker.id)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(freed, [freed_high, freed_low]);
}
