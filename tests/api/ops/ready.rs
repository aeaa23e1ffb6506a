//! Ready work and the blocked cache, against its definition on random graphs.

use std::collections::{BTreeSet, HashMap};

use super::dep;
use crate::common::issues::{create, ids, store_with_prefix};
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
