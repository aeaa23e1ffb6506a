//! Graph views: dependency counts, trees, cycles, epics, stale issues, statistics, molecules.

use std::collections::BTreeSet;

use super::dep;
use crate::common::issues::{create, ids, store_with_prefix};
use crate::common::TempDb;
use beadstore::model::{Issue, IssueType, Status};
use beadstore::ops::{Attribution, IssueUpdate, WorkFilter};

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
