//! Parity with the Go storage tests for the dependency graph: dependency lists and their types,
//! trees, cycle refusal and detection, ready work (filters, sort policies, parents, excluded ids)
//! and the blocked cache. Each test ports the intent of the Go tests named above it (beads
//! 5264d7aa, internal/storage/sqlite), written against beadstore's own API.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use beadstore::model::{Dependency, DependencyType, Issue, IssueType, Status, Timestamp};
use beadstore::ops::{Attribution, IssueUpdate, SortPolicy, WorkFilter};
use beadstore::{Error, Store};
use common::issues::{create, ids, store_with_prefix};
use common::TempDb;

fn create_with(store: &Store, title: &str, f: impl FnOnce(&mut Issue)) -> Issue {
    let mut i = Issue::new(title);
    f(&mut i);
    store.create_issue(i, "tester").unwrap()
}

fn link(store: &Store, from: &str, to: &str, kind: impl Into<DependencyType>) {
    store
        .add_dependency(&Dependency::new(from, to, kind), "tester")
        .unwrap();
}

/// A dependency row written directly, bypassing the cycle check (as an import could).
fn raw_link(store: &Store, from: &str, to: &str, kind: &str) {
    store
        .execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, ?, ?, 'raw')",
            &beadstore::params![from, to, kind],
        )
        .unwrap();
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn ready(store: &Store, filter: WorkFilter) -> Vec<Issue> {
    store.get_ready_work(&filter).unwrap()
}

fn ready_ids(store: &Store, filter: WorkFilter) -> BTreeSet<String> {
    ids(&ready(store, filter))
}

fn cached_blocked(store: &Store) -> BTreeSet<String> {
    store
        .snapshot(|tx| tx.get_blocked_issue_ids())
        .unwrap()
        .into_iter()
        .collect()
}

fn hours_ago(h: i64) -> Timestamp {
    chrono::Utc::now().fixed_offset() - chrono::Duration::hours(h)
}

fn set_status(store: &Store, id: &str, status: Status) {
    store
        .update_issue(id, &IssueUpdate::default().status(status), "tester")
        .unwrap();
}

fn cycle_ids(cycles: &[Vec<Issue>]) -> Vec<Vec<String>> {
    cycles
        .iter()
        .map(|c| c.iter().map(|i| i.id.clone()).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Ready work
// ---------------------------------------------------------------------------------------------

// Go: TestGetReadyWorkPriorityOrder, TestGetReadyWorkWithPriorityFilter,
// TestGetReadyWorkWithAssigneeFilter, TestGetReadyWorkWithUnassignedFilter,
// TestGetReadyWorkWithLimit, TestGetReadyWorkIncludesInProgress.
#[test]
fn ready_work_comes_by_priority_and_narrows_by_priority_assignee_unassigned_and_limit() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let p2 = create_with(&store, "p2 ann", |i| {
        i.priority = 2;
        i.assignee = "ann".into();
    });
    let p0 = create_with(&store, "p0 bob", |i| {
        i.priority = 0;
        i.assignee = "bob".into();
    });
    let p1 = create_with(&store, "p1 nobody", |i| i.priority = 1);
    let busy = create_with(&store, "in progress, free", |i| i.priority = 3);
    set_status(&store, &busy.id, Status::InProgress);
    let held = create_with(&store, "in progress, blocked", |i| i.priority = 0);
    set_status(&store, &held.id, Status::InProgress);
    link(&store, &held.id, &p1.id, DependencyType::Blocks);
    let done = create(&store, "closed");
    store
        .close_issue(&done.id, &Attribution::new("tester").reason("done"))
        .unwrap();

    // Everything recent: the default order is priority.
    let all: Vec<String> = ready(&store, WorkFilter::default())
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        all,
        [p0.id.clone(), p1.id.clone(), p2.id.clone(), busy.id.clone()]
    );
    assert_eq!(
        ready_ids(&store, WorkFilter::default().priority(2)),
        set(&[&p2.id])
    );
    assert_eq!(
        ready_ids(&store, WorkFilter::default().assignee("ann")),
        set(&[&p2.id])
    );
    // Unassigned wins over an assignee.
    assert_eq!(
        ready_ids(
            &store,
            WorkFilter::default().unassigned(true).assignee("ann")
        ),
        set(&[&p1.id, &busy.id])
    );
    let limited: Vec<String> = ready(&store, WorkFilter::default().limit(2))
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(limited, [p0.id.clone(), p1.id.clone()]);
    assert_eq!(
        ready_ids(&store, WorkFilter::default().status(Status::InProgress)),
        set(&[&busy.id])
    );
}

// Go: TestSortPolicyPriority, TestSortPolicyOldest, TestSortPolicyHybrid, TestSortPolicyDefault.
#[test]
fn sort_policies_order_by_priority_by_age_or_recent_first_then_oldest() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let made = |title: &str, priority: i64, age_hours: i64| {
        create_with(&store, title, |i| {
            i.priority = priority;
            i.created_at = hours_ago(age_hours);
            i.updated_at = i.created_at;
        })
        .title
    };
    made("old-P2", 2, 100);
    made("old-P0", 0, 90);
    made("old-P1", 1, 80);
    made("new-P3", 3, 12);
    made("new-P1", 1, 6);
    let order = |sort: SortPolicy| -> Vec<String> {
        ready(&store, WorkFilter::default().sort(sort))
            .into_iter()
            .map(|i| i.title)
            .collect()
    };
    assert_eq!(
        order(SortPolicy::Priority),
        ["old-P0", "old-P1", "new-P1", "old-P2", "new-P3"]
    );
    assert_eq!(
        order(SortPolicy::Oldest),
        ["old-P2", "old-P0", "old-P1", "new-P3", "new-P1"]
    );
    // Hybrid: the last 48 hours by priority, then older issues oldest first.
    let hybrid = ["new-P1", "new-P3", "old-P2", "old-P0", "old-P1"];
    assert_eq!(order(SortPolicy::Hybrid), hybrid);
    assert_eq!(SortPolicy::default(), SortPolicy::Hybrid);
    assert_eq!(
        ready(&store, WorkFilter::default())
            .into_iter()
            .map(|i| i.title)
            .collect::<Vec<_>>(),
        hybrid
    );
}

// Go: TestDeepHierarchyBlocking, TestGrandparentBlockerBlocksGrandchildren,
// TestDeepHierarchyCacheCorrectness, TestBlockerClosedUnblocksChildren.
#[test]
fn a_blocker_above_fifty_levels_of_children_holds_every_level_until_it_closes() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let blocker = create(&store, "root blocker");
    let mut levels: Vec<String> = Vec::new();
    for n in 0..50 {
        let level = create_with(&store, &format!("level {n}"), |i| {
            i.issue_type = IssueType::Epic;
        });
        match levels.last() {
            None => link(&store, &level.id, &blocker.id, DependencyType::Blocks),
            Some(parent) => link(&store, &level.id, parent, DependencyType::ParentChild),
        }
        levels.push(level.id);
    }
    let open = || WorkFilter::default().status(Status::Open);
    assert_eq!(ready_ids(&store, open()), set(&[&blocker.id]));
    let cached = cached_blocked(&store);
    assert_eq!(cached, levels.iter().cloned().collect::<BTreeSet<_>>());
    // The deepest level is blocked only through its ancestors.
    assert_eq!(store.is_blocked(&levels[49]).unwrap(), (true, vec![]));
    assert_eq!(
        store.is_blocked(&levels[0]).unwrap(),
        (true, vec![blocker.id.clone()])
    );
    store
        .close_issue(&blocker.id, &Attribution::new("tester").reason("Done"))
        .unwrap();
    assert_eq!(
        ready_ids(&store, open()),
        levels.iter().cloned().collect::<BTreeSet<_>>()
    );
    assert!(cached_blocked(&store).is_empty());
}

// Go: TestGetReadyWorkIgnoresRelatedDeps, TestRelatedDoesNotPropagate,
// TestRelatedDepsDoNotAffectCache, TestMultipleParentsOneBlocked, TestMultipleBlockersInCache,
// TestParentBlockerBlocksChildren, TestCacheInvalidationOnDependencyRemove.
#[test]
fn related_links_never_block_while_any_blocked_parent_or_open_blocker_does() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "related to a");
    link(&store, &b.id, &a.id, DependencyType::Related);
    link(&store, &b.id, &a.id, DependencyType::DiscoveredFrom);
    assert!(ready_ids(&store, WorkFilter::default()).contains(&b.id));
    assert!(cached_blocked(&store).is_empty());

    // A blocked parent blocks its child; a related link from a blocked issue does not.
    let gate = create(&store, "gate");
    let blocked_parent = create(&store, "blocked parent");
    let free_parent = create(&store, "free parent");
    let child = create(&store, "child of both");
    let cousin = create(&store, "related to the blocked parent");
    link(&store, &blocked_parent.id, &gate.id, DependencyType::Blocks);
    link(
        &store,
        &child.id,
        &blocked_parent.id,
        DependencyType::ParentChild,
    );
    link(
        &store,
        &child.id,
        &free_parent.id,
        DependencyType::ParentChild,
    );
    link(
        &store,
        &cousin.id,
        &blocked_parent.id,
        DependencyType::Related,
    );
    assert_eq!(
        cached_blocked(&store),
        set(&[&blocked_parent.id, &child.id])
    );
    assert!(ready_ids(&store, WorkFilter::default()).contains(&cousin.id));

    // Two blockers: still blocked after one closes, free after both.
    let x = create(&store, "x");
    let y = create(&store, "y");
    let waiting = create(&store, "waits on x and y");
    link(&store, &waiting.id, &x.id, DependencyType::Blocks);
    link(&store, &waiting.id, &y.id, DependencyType::Blocks);
    let (blocked, by) = store.is_blocked(&waiting.id).unwrap();
    assert!(blocked);
    assert_eq!(
        by.iter().cloned().collect::<BTreeSet<_>>(),
        set(&[&x.id, &y.id])
    );
    store
        .close_issue(&x.id, &Attribution::new("tester").reason("done"))
        .unwrap();
    assert_eq!(
        store.is_blocked(&waiting.id).unwrap(),
        (true, vec![y.id.clone()])
    );
    store
        .remove_dependency(&waiting.id, &y.id, "tester")
        .unwrap();
    assert!(!store.is_blocked(&waiting.id).unwrap().0);
    assert!(!cached_blocked(&store).contains(&waiting.id));
}

// Go: TestParentIDFilterDescendants, TestParentIDWithOtherFilters,
// TestParentIDWithBlockedDescendants, TestParentIDEmptyParent.
#[test]
fn ready_work_under_a_parent_is_every_unblocked_descendant_with_the_other_filters_applied() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let epic = create_with(&store, "epic", |i| i.issue_type = IssueType::Epic);
    let child1 = create_with(&store, "child 1", |i| i.priority = 1);
    let child2 = create_with(&store, "child 2", |i| i.priority = 2);
    let grandchild = create_with(&store, "grandchild", |i| i.priority = 1);
    let outsider = create(&store, "not under the epic");
    link(&store, &child1.id, &epic.id, DependencyType::ParentChild);
    link(&store, &child2.id, &epic.id, DependencyType::ParentChild);
    link(
        &store,
        &grandchild.id,
        &child1.id,
        DependencyType::ParentChild,
    );
    let under = |f: WorkFilter| ready_ids(&store, f.parent_id(epic.id.clone()));
    // Descendants at any depth, not the parent itself, not outsiders.
    assert_eq!(
        under(WorkFilter::default()),
        set(&[&child1.id, &child2.id, &grandchild.id])
    );
    assert_eq!(
        under(WorkFilter::default().priority(1)),
        set(&[&child1.id, &grandchild.id])
    );
    // A blocked descendant (and its own children) drop out.
    link(&store, &child1.id, &outsider.id, DependencyType::Blocks);
    assert_eq!(under(WorkFilter::default()), set(&[&child2.id]));
    // get_blocked_issues honours the parent too.
    let blocked: BTreeSet<String> = store
        .get_blocked_issues(&WorkFilter::default().parent_id(epic.id.clone()))
        .unwrap()
        .into_iter()
        .map(|b| b.issue.id)
        .collect();
    assert_eq!(blocked, set(&[&child1.id]));
    // A parent with no children has no ready descendants.
    let lonely = create_with(&store, "lonely epic", |i| i.issue_type = IssueType::Epic);
    assert!(ready_ids(&store, WorkFilter::default().parent_id(lonely.id.clone())).is_empty());
}

// Go: TestGetReadyWorkExcludesMolSteps, TestGetReadyWorkExcludeIDPatternsConfig.
#[test]
fn molecule_steps_and_configured_id_patterns_stay_out_of_ready_work_unless_asked_for() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let regular = create(&store, "regular task");
    let explicit = |id: &str| {
        let mut i = Issue::new(id);
        i.id = id.into();
        store.create_issue(i, "tester").unwrap().id
    };
    let mol = explicit("bd-mol-abc");
    let mol2 = explicit("bd-mol-xyz");
    let role = explicit("bd-role-xyz");
    let wisp = explicit("bd-wisp-123");
    assert_eq!(
        ready_ids(&store, WorkFilter::default()),
        set(&[&regular.id, &role])
    );
    // Asking for a type turns the id patterns off.
    assert_eq!(
        ready_ids(&store, WorkFilter::default().issue_type("task")),
        set(&[&regular.id, &mol, &mol2, &role, &wisp])
    );
    store
        .set_config("ready.exclude_id_patterns", "-mol-, -wisp-,-role-")
        .unwrap();
    assert_eq!(
        ready_ids(&store, WorkFilter::default()),
        set(&[&regular.id])
    );
    // include_mol_steps bypasses every pattern (these steps are not wisps, so all come back).
    assert_eq!(
        ready_ids(&store, WorkFilter::default().include_mol_steps(true)),
        set(&[&regular.id, &mol, &mol2, &role, &wisp])
    );
    // An ephemeral issue stays out regardless.
    let ephemeral = create_with(&store, "real wisp", |i| i.ephemeral = true);
    assert!(
        !ready_ids(&store, WorkFilter::default().include_mol_steps(true)).contains(&ephemeral.id)
    );
}

// Go: TestConditionalBlocksVariousFailureKeywords, TestConditionalBlocksCache.
#[test]
fn a_conditional_blocker_releases_its_dependent_only_when_closed_as_a_failure() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let reasons = [
        ("Build failed", true),
        ("Rejected by review", true),
        ("WONTFIX", true),
        ("won't fix", true),
        ("canceled", true),
        ("Cancelled by owner", true),
        ("abandoned", true),
        ("blocked upstream", true),
        ("error in deploy", true),
        ("timeout", true),
        ("aborted", true),
        ("Completed successfully", false),
        ("done", false),
    ];
    for (reason, runs) in reasons {
        let attempt = create(&store, &format!("attempt: {reason}"));
        let fallback = create(&store, &format!("fallback: {reason}"));
        link(
            &store,
            &fallback.id,
            &attempt.id,
            DependencyType::ConditionalBlocks,
        );
        assert!(
            cached_blocked(&store).contains(&fallback.id),
            "{reason}: blocked while the attempt is open"
        );
        store
            .close_issue(&attempt.id, &Attribution::new("tester").reason(reason))
            .unwrap();
        assert_eq!(
            !cached_blocked(&store).contains(&fallback.id),
            runs,
            "{reason}"
        );
    }
}

// Go: TestWaitsForNoChildren, TestWaitsForDynamicChildrenAdded.
#[test]
fn a_waits_for_gate_follows_the_spawners_children_as_they_come_and_go() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let spawner = create(&store, "spawner");
    let waiter = create(&store, "waiter");
    let mut gate = Dependency::new(&waiter.id, &spawner.id, DependencyType::WaitsFor);
    gate.metadata = r#"{"gate":"all-children"}"#.into();
    store.add_dependency(&gate, "tester").unwrap();
    // No children: nothing to wait for.
    assert!(!cached_blocked(&store).contains(&waiter.id));
    let child = create(&store, "dynamic child");
    link(&store, &child.id, &spawner.id, DependencyType::ParentChild);
    assert!(cached_blocked(&store).contains(&waiter.id));
    assert!(!ready_ids(&store, WorkFilter::default()).contains(&waiter.id));
    store
        .close_issue(&child.id, &Attribution::new("tester").reason("Done"))
        .unwrap();
    assert!(!cached_blocked(&store).contains(&waiter.id));
    assert!(ready_ids(&store, WorkFilter::default()).contains(&waiter.id));
    // The cache equals the definition computed from scratch.
    let computed: BTreeSet<String> = store
        .snapshot(|tx| tx.compute_blocked_ids())
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(computed, cached_blocked(&store));
}

// Go: TestGetEpicsEligibleForClosureWithNoChildren.
#[test]
fn an_epic_without_children_is_listed_but_not_eligible_to_close() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let epic = create_with(&store, "childless epic", |i| i.issue_type = IssueType::Epic);
    let epics = store.get_epics_eligible_for_closure().unwrap();
    assert_eq!(epics.len(), 1);
    assert_eq!(epics[0].epic.id, epic.id);
    assert_eq!(
        (
            epics[0].total_children,
            epics[0].closed_children,
            epics[0].eligible_for_close
        ),
        (0, 0, false)
    );
    assert_eq!(
        store.get_statistics().unwrap().epics_eligible_for_closure,
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Dependency lists
// ---------------------------------------------------------------------------------------------

// Go: TestGetDependenciesWithMetadata, TestGetDependentsWithMetadata,
// TestGetDependenciesWithMetadataEmpty, TestGetDependenciesWithMetadataMultipleTypes,
// TestParentChildValidation, TestAddDependencyDiscoveredFrom, TestDuplicateOf,
// TestSupersededBy, TestRelatesTo_MultipleLinks, TestRepliesTo_Chain.
#[test]
fn dependency_lists_carry_each_links_type_in_both_directions() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let hub = create_with(&store, "hub", |i| i.priority = 2);
    let p0 = create_with(&store, "blocker p0", |i| i.priority = 0);
    let p1 = create_with(&store, "found from p1", |i| i.priority = 1);
    let epic = create_with(&store, "epic p3", |i| {
        i.priority = 3;
        i.issue_type = IssueType::Epic;
    });
    link(&store, &hub.id, &p0.id, DependencyType::Blocks);
    link(&store, &hub.id, &p1.id, DependencyType::DiscoveredFrom);
    link(&store, &hub.id, &epic.id, DependencyType::ParentChild);
    // The same pair with a second type is a second entry.
    link(&store, &hub.id, &p0.id, DependencyType::Related);
    let deps: Vec<(String, String)> = store
        .get_dependencies_with_type(&hub.id)
        .unwrap()
        .into_iter()
        .map(|(i, k)| (i.id, k))
        .collect();
    assert_eq!(
        deps,
        [
            (p0.id.clone(), "blocks".to_owned()),
            (p0.id.clone(), "related".to_owned()),
            (p1.id.clone(), "discovered-from".to_owned()),
            (epic.id.clone(), "parent-child".to_owned()),
        ]
    );
    assert_eq!(
        store
            .get_dependencies(&hub.id)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        [p0.id.clone(), p0.id.clone(), p1.id.clone(), epic.id.clone()]
    );
    let dependents = store.get_dependents_with_type(&p0.id).unwrap();
    assert_eq!(dependents.len(), 2);
    assert!(dependents.iter().all(|(i, _)| i.id == hub.id));
    assert_eq!(
        store.get_dependents_with_type(&epic.id).unwrap()[0].1,
        "parent-child"
    );
    assert_eq!(ids(&store.get_dependents(&p1.id).unwrap()), set(&[&hub.id]));
    // An issue with no links has empty lists.
    let lonely = create(&store, "lonely");
    assert!(store
        .get_dependencies_with_type(&lonely.id)
        .unwrap()
        .is_empty());
    assert!(store
        .get_dependents_with_type(&lonely.id)
        .unwrap()
        .is_empty());
    assert!(store
        .get_dependencies_with_type("bd-nothing")
        .unwrap()
        .is_empty());

    // Graph link types: duplicates, supersedes, several relates-to, a replies-to chain.
    let canonical = create(&store, "canonical");
    let duplicate = create(&store, "duplicate");
    link(&store, &duplicate.id, &canonical.id, "duplicates");
    store
        .close_issue(
            &duplicate.id,
            &Attribution::new("tester").reason("Closed as duplicate"),
        )
        .unwrap();
    assert_eq!(
        store.get_dependencies_with_type(&duplicate.id).unwrap()[0],
        (
            store.get_issue(&canonical.id).unwrap().unwrap(),
            "duplicates".to_owned()
        )
    );
    let newer = create(&store, "v2");
    link(&store, &newer.id, &canonical.id, "supersedes");
    let kinds: BTreeSet<String> = store
        .get_dependents_with_type(&canonical.id)
        .unwrap()
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(kinds, set(&["duplicates", "supersedes"]));
    for other in [&p0.id, &p1.id, &lonely.id] {
        link(&store, &hub.id, other, DependencyType::RelatesTo);
        link(&store, other, &hub.id, DependencyType::RelatesTo);
    }
    let relates: BTreeSet<String> = store
        .get_dependencies_with_type(&hub.id)
        .unwrap()
        .into_iter()
        .filter(|(_, k)| k.as_str() == DependencyType::RelatesTo.as_str())
        .map(|(i, _)| i.id)
        .collect();
    assert_eq!(relates, set(&[&p0.id, &p1.id, &lonely.id]));
    let m1 = create(&store, "message");
    let m2 = create(&store, "reply");
    let m3 = create(&store, "reply to reply");
    for (from, to) in [(&m2.id, &m1.id), (&m3.id, &m2.id)] {
        let mut d = Dependency::new(from, to, "replies-to");
        d.thread_id = m1.id.clone();
        store.add_dependency(&d, "tester").unwrap();
    }
    let tree = store.get_dependency_tree(&m3.id, 0, false, false).unwrap();
    assert_eq!(
        tree.iter()
            .map(|n| (n.issue.id.clone(), n.depth))
            .collect::<Vec<_>>(),
        [(m3.id.clone(), 0), (m2.id.clone(), 1), (m1.id.clone(), 2)]
    );
    assert_eq!(
        store.get_dependency_records(&m3.id).unwrap()[0].thread_id,
        m1.id
    );
}

// Go: TestAddDependencyPreservesProvidedMetadata, TestParentChildValidation (direction).
#[test]
fn a_dependency_keeps_the_author_time_and_metadata_it_was_given() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    let when = chrono::DateTime::parse_from_rfc3339("2023-04-05T06:07:08Z").unwrap();
    let mut d = Dependency::new(&a.id, &b.id, DependencyType::Blocks);
    d.created_at = when;
    d.created_by = "original-author".into();
    d.metadata = r#"{"note":"kept"}"#.into();
    store.add_dependency(&d, "importer").unwrap();
    let stored = &store.get_dependency_records(&a.id).unwrap()[0];
    assert_eq!(stored.created_at, when);
    assert_eq!(stored.created_by, "original-author");
    assert_eq!(stored.metadata, r#"{"note":"kept"}"#);
    // The event is recorded under the actor who added it.
    let event = &store.get_events(&a.id, 1).unwrap()[0];
    assert_eq!(event.event_type, "dependency_added");
    assert_eq!(event.actor, "importer");
    // Unset fields default to now and the actor.
    let c = create(&store, "c");
    link(&store, &c.id, &b.id, DependencyType::Related);
    let fresh = &store.get_dependency_records(&c.id).unwrap()[0];
    assert_eq!(fresh.created_by, "tester");
    assert!(fresh.created_at > when);
    assert_eq!(fresh.metadata, "");
    // An epic cannot be the child of a task; the task as child of the epic is fine.
    let epic = create_with(&store, "epic", |i| i.issue_type = IssueType::Epic);
    let err = store
        .add_dependency(
            &Dependency::new(&epic.id, &c.id, DependencyType::ParentChild),
            "tester",
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { message: m, .. } if m.contains("parent-child")),
        "{err:?}"
    );
    link(&store, &c.id, &epic.id, DependencyType::ParentChild);
    assert_eq!(ids(&store.get_dependents(&epic.id).unwrap()), set(&[&c.id]));
    // An empty type and a duplicate row are refused.
    assert!(matches!(
        store
            .add_dependency(&Dependency::new(&a.id, &c.id, ""), "tester")
            .unwrap_err(),
        Error::InvalidInput { .. }
    ));
    assert!(matches!(
        store.add_dependency(&d, "tester").unwrap_err(),
        Error::Constraint { .. }
    ));
}

// Go: TestGetDependencyCountsEmpty, TestGetDependencyCountsNonexistent.
#[test]
fn dependency_counts_answer_for_every_asked_id_even_unknown_ones() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    assert!(store.get_dependency_counts(&[]).unwrap().is_empty());
    let a = create(&store, "a");
    let b = create(&store, "b");
    link(&store, &a.id, &b.id, DependencyType::Blocks);
    link(&store, &a.id, "external:proj:cap", DependencyType::Blocks);
    let counts = store
        .get_dependency_counts(&[a.id.clone(), b.id.clone(), "bd-ghost".into()])
        .unwrap();
    assert_eq!(counts.len(), 3);
    assert_eq!(
        (counts[&a.id].dependencies, counts[&a.id].dependents),
        (2, 0)
    );
    assert_eq!(
        (counts[&b.id].dependencies, counts[&b.id].dependents),
        (0, 1)
    );
    assert_eq!(
        (
            counts["bd-ghost"].dependencies,
            counts["bd-ghost"].dependents
        ),
        (0, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// Trees
// ---------------------------------------------------------------------------------------------

// Go: TestGetDependencyTree_ComplexDiamond, TestGetDependencyTree_ShowAllPaths,
// TestGetDependencyTree_ReverseDirection, TestGetDependencyTree_MaxDepthOne,
// TestGetDependencyTree_DefaultDepth.
#[test]
fn a_diamond_tree_shows_each_issue_once_or_every_path_in_either_direction() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "A");
    let b = create(&store, "B");
    let c = create(&store, "C");
    let d = create(&store, "D");
    link(&store, &b.id, &d.id, DependencyType::Blocks);
    link(&store, &c.id, &d.id, DependencyType::Blocks);
    link(&store, &a.id, &b.id, DependencyType::Blocks);
    link(&store, &a.id, &c.id, DependencyType::Blocks);
    let shape = |root: &str, depth: usize, all: bool, reverse: bool| {
        let mut nodes: Vec<(String, usize)> = store
            .get_dependency_tree(root, depth, all, reverse)
            .unwrap()
            .into_iter()
            .map(|n| (n.issue.id, n.depth))
            .collect();
        nodes.sort();
        nodes
    };
    let mut once = vec![
        (a.id.clone(), 0),
        (b.id.clone(), 1),
        (c.id.clone(), 1),
        (d.id.clone(), 2),
    ];
    once.sort();
    assert_eq!(shape(&a.id, 50, false, false), once);
    // Every path: D appears under B and under C.
    let mut all = once.clone();
    all.push((d.id.clone(), 2));
    all.sort();
    assert_eq!(shape(&a.id, 50, true, false), all);
    // Reverse from D: B and C depend on it, A through both.
    let mut reverse = vec![
        (d.id.clone(), 0),
        (b.id.clone(), 1),
        (c.id.clone(), 1),
        (a.id.clone(), 2),
    ];
    reverse.sort();
    assert_eq!(shape(&d.id, 0, false, true), reverse);
    // Depth one: the root (not truncated) and its direct dependencies (truncated).
    let one = store.get_dependency_tree(&a.id, 1, false, false).unwrap();
    assert_eq!(one.len(), 3);
    assert!(!one[0].truncated && one[0].issue.id == a.id && one[0].parent_id == a.id);
    assert!(one[1..].iter().all(|n| n.truncated && n.parent_id == a.id));
    // Depth 0 means the default (50): everything is reached, nothing truncated.
    let default = store.get_dependency_tree(&a.id, 0, false, false).unwrap();
    assert_eq!(default.len(), 4);
    assert!(default.iter().all(|n| !n.truncated));
    // An unknown root gives an empty tree.
    assert!(store
        .get_dependency_tree("bd-nowhere", 3, false, false)
        .unwrap()
        .is_empty());
}

// Go: TestGetDependencyTree_SubstringBug.
#[test]
fn a_tree_is_not_confused_by_ids_that_contain_other_ids() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    for id in ["bd-1", "bd-2", "bd-8", "bd-9", "bd-10"] {
        let mut i = Issue::new(id);
        i.id = id.into();
        store.create_issue(i, "tester").unwrap();
    }
    for (from, to) in [
        ("bd-10", "bd-9"),
        ("bd-9", "bd-8"),
        ("bd-8", "bd-2"),
        ("bd-2", "bd-1"),
    ] {
        link(&store, from, to, DependencyType::Blocks);
    }
    let depths: HashMap<String, usize> = store
        .get_dependency_tree("bd-10", 10, false, false)
        .unwrap()
        .into_iter()
        .map(|n| (n.issue.id, n.depth))
        .collect();
    assert_eq!(depths.len(), 5, "{depths:?}");
    assert_eq!(depths["bd-10"], 0);
    assert_eq!(depths["bd-2"], 3);
    assert_eq!(depths["bd-1"], 4);
}

// ---------------------------------------------------------------------------------------------
// Cycles
// ---------------------------------------------------------------------------------------------

// Go: TestCrossTypeCyclePreventionDiscoveredFrom, TestRelatedTypeCyclePrevention,
// TestDetectCycles_LongerCyclePrevention, TestDetectCycles_MultipleGraphs,
// TestDetectCycles_RelatesTypeAllowsBidirectionalWithoutCycleReport,
// TestCycleDetectionWithExternalRefs.
// Our error names the cycle (a documented deviation: Go's message has no path).
#[test]
fn any_link_type_but_relates_to_refuses_to_close_a_cycle_of_any_length() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    let b = create(&store, "b");
    link(&store, &a.id, &b.id, DependencyType::Blocks);
    for kind in [
        DependencyType::DiscoveredFrom,
        DependencyType::Related,
        DependencyType::ParentChild,
    ] {
        let err = store
            .add_dependency(&Dependency::new(&b.id, &a.id, kind.clone()), "tester")
            .unwrap_err();
        assert!(
            matches!(&err, Error::Cycle { path } if path == &[b.id.clone(), a.id.clone(), b.id.clone()]),
            "{kind}: {err:?}"
        );
    }
    // A chain of six refuses the link that would close it.
    let chain: Vec<String> = (0..6)
        .map(|n| create(&store, &format!("c{n}")).id)
        .collect();
    for w in chain.windows(2) {
        link(&store, &w[0], &w[1], DependencyType::Blocks);
    }
    let err = store
        .add_dependency(
            &Dependency::new(&chain[5], &chain[0], DependencyType::Blocks),
            "tester",
        )
        .unwrap_err();
    match err {
        Error::Cycle { path } => {
            let mut want = vec![chain[5].clone()];
            want.extend(chain.iter().cloned());
            assert_eq!(path, want);
        }
        other => panic!("{other:?}"),
    }
    // Two separate graphs linked the other way round are fine.
    let x = create(&store, "x");
    let y = create(&store, "y");
    link(&store, &x.id, &y.id, DependencyType::Blocks);
    link(&store, &chain[0], &x.id, DependencyType::Related);
    // relates-to both ways is allowed and never reported as a cycle.
    link(&store, &a.id, &x.id, DependencyType::RelatesTo);
    link(&store, &x.id, &a.id, DependencyType::RelatesTo);
    // External targets never close a cycle.
    link(&store, &a.id, "external:other:cap", DependencyType::Blocks);
    link(&store, &b.id, "external:other:cap", DependencyType::Blocks);
    assert!(store.detect_cycles().unwrap().is_empty());
}

// Go: TestRemoveDependencyExternal.
#[test]
fn an_external_dependency_can_be_removed_and_only_the_local_issue_is_marked() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let a = create(&store, "a");
    link(
        &store,
        &a.id,
        "external:proj:feature",
        DependencyType::Blocks,
    );
    let all = store.get_dirty_issues().unwrap();
    store.clear_dirty_issues_by_id(&all).unwrap();
    store
        .remove_dependency(&a.id, "external:proj:feature", "tester")
        .unwrap();
    assert!(store.get_dependency_records(&a.id).unwrap().is_empty());
    assert_eq!(store.get_dirty_issues().unwrap(), vec![a.id.clone()]);
    // The same inside a transaction.
    link(&store, &a.id, "external:proj:other", DependencyType::Blocks);
    store
        .transaction(|tx| tx.remove_dependency(&a.id, "external:proj:other", "tester"))
        .unwrap();
    assert!(store.get_dependency_records(&a.id).unwrap().is_empty());
}

// Go: TestDetectCyclesSimple, TestDetectCyclesSelfLoop, TestDetectCyclesMultipleIndependent,
// TestDetectCyclesEmptyGraph, TestDetectCyclesSingleNode, TestDetectCyclesDiamond,
// TestDetectCyclesLongCycle, TestDetectCyclesMixedTypes, TestDetectCyclesRelatesToNotACycle,
// TestDetectCyclesRelatesToWithOtherCycle.
// Our result is deterministic (each cycle starts at its smallest id, sorted); Go's order is not.
#[test]
fn detect_cycles_finds_every_cycle_rotated_to_its_smallest_id_and_ignores_relates_to() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    assert!(store.detect_cycles().unwrap().is_empty(), "empty graph");
    let make = |id: &str| {
        let mut i = Issue::new(id);
        i.id = id.into();
        store.create_issue(i, "tester").unwrap();
    };
    for id in [
        "bd-a1",
        "bd-a2",
        "bd-b1",
        "bd-b2",
        "bd-b3",
        "bd-s",
        "bd-d1",
        "bd-d2",
        "bd-d3",
        "bd-d4",
        "bd-r1",
        "bd-r2",
        "bd-single",
    ] {
        make(id);
    }
    let long: Vec<String> = (0..10).map(|n| format!("bd-l{n}")).collect();
    for id in &long {
        make(id);
    }
    assert!(store.detect_cycles().unwrap().is_empty(), "isolated nodes");
    // A diamond is not a cycle.
    raw_link(&store, "bd-d1", "bd-d2", "blocks");
    raw_link(&store, "bd-d1", "bd-d3", "blocks");
    raw_link(&store, "bd-d2", "bd-d4", "blocks");
    raw_link(&store, "bd-d3", "bd-d4", "blocks");
    // relates-to both ways is not a cycle.
    raw_link(&store, "bd-r1", "bd-r2", "relates-to");
    raw_link(&store, "bd-r2", "bd-r1", "relates-to");
    assert!(store.detect_cycles().unwrap().is_empty());

    // A two-node cycle (mixed types), a three-node cycle, a self loop and a ten-node cycle.
    raw_link(&store, "bd-a2", "bd-a1", "blocks");
    raw_link(&store, "bd-a1", "bd-a2", "parent-child");
    raw_link(&store, "bd-b2", "bd-b3", "related");
    raw_link(&store, "bd-b3", "bd-b1", "discovered-from");
    raw_link(&store, "bd-b1", "bd-b2", "blocks");
    raw_link(&store, "bd-s", "bd-s", "blocks");
    for n in 0..10 {
        raw_link(&store, &long[n], &long[(n + 1) % 10], "blocks");
    }
    // A relates-to edge beside a real cycle does not add one.
    raw_link(&store, "bd-a1", "bd-r1", "relates-to");
    let found = cycle_ids(&store.detect_cycles().unwrap());
    let mut want: Vec<Vec<String>> = vec![
        vec!["bd-a1".into(), "bd-a2".into()],
        vec!["bd-b1".into(), "bd-b2".into(), "bd-b3".into()],
        long.clone(),
        vec!["bd-s".into()],
    ];
    want.sort();
    assert_eq!(found, want);
}

// Go: TestCheckExternalDepNoBeadsDirectory, TestCheckExternalDepInvalidFormats,
// TestCheckExternalDepsBatching, TestGetBlockedIssuesPartialExternalDeps (the unconfigured part).
#[test]
fn external_references_are_unsatisfied_when_malformed_unconfigured_or_without_a_database() {
    let t = TempDb::new();
    std::fs::create_dir_all(t.dir.path().join(".beads")).unwrap();
    std::fs::create_dir_all(t.dir.path().join("bare")).unwrap();
    std::fs::write(
        t.dir.path().join(".beads/config.yaml"),
        "external_projects:\n  bare: bare\n",
    )
    .unwrap();
    let store = store_with_prefix(&t);
    let check = |r: &str| store.snapshot(|tx| tx.check_external_dep(r)).unwrap();
    for bad in [
        "external:",
        "external:proj",
        "external::cap",
        "not-external:a:b",
    ] {
        let status = check(bad);
        assert!(!status.satisfied, "{bad}");
        assert!(!status.reason.is_empty(), "{bad}");
    }
    let unconfigured = check("external:elsewhere:cap");
    assert_eq!(
        (
            unconfigured.project.as_str(),
            unconfigured.capability.as_str()
        ),
        ("elsewhere", "cap")
    );
    assert!(!unconfigured.satisfied);
    let bare = check("external:bare:cap");
    assert!(!bare.satisfied);
    assert_eq!(bare.reason, "project has no beads database");
    // A batch answers once per distinct reference.
    let refs: Vec<String> = [
        "external:bare:cap",
        "external:bare:cap",
        "external:bare:other",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let batch = store.snapshot(|tx| tx.check_external_deps(&refs)).unwrap();
    assert_eq!(batch.len(), 2);
    assert!(batch.values().all(|s| !s.satisfied));
    // An issue held by an unshipped capability and a local blocker lists both; closing the
    // local one leaves the capability.
    let local = create(&store, "local blocker");
    let held = create(&store, "held");
    link(&store, &held.id, &local.id, DependencyType::Blocks);
    link(
        &store,
        &held.id,
        "external:bare:cap",
        DependencyType::Blocks,
    );
    let blocked_by = |store: &Store| -> Vec<String> {
        store
            .get_blocked_issues(&WorkFilter::default())
            .unwrap()
            .into_iter()
            .find(|b| b.issue.id == held.id)
            .map(|b| b.blocked_by)
            .unwrap_or_default()
    };
    let mut both = vec![local.id.clone(), "external:bare:cap".to_owned()];
    both.sort();
    assert_eq!(blocked_by(&store), both);
    store
        .close_issue(&local.id, &Attribution::new("tester").reason("done"))
        .unwrap();
    assert_eq!(blocked_by(&store), ["external:bare:cap"]);
    assert!(!ready_ids(&store, WorkFilter::default()).contains(&held.id));
}

// Store::rebuild_blocked_cache (a Rust addition): a cache another tool left stale is repaired.
#[test]
fn rebuilding_the_blocked_cache_repairs_a_stale_one() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let blocker = create(&store, "blocker");
    let blocked = create(&store, "blocked");
    link(&store, &blocked.id, &blocker.id, DependencyType::Blocks);
    store
        .execute("DELETE FROM blocked_issues_cache", &[])
        .unwrap();
    assert!(ready_ids(&store, WorkFilter::default()).contains(&blocked.id));
    store.rebuild_blocked_cache().unwrap();
    assert_eq!(cached_blocked(&store), set(&[&blocked.id]));
    assert!(!ready_ids(&store, WorkFilter::default()).contains(&blocked.id));
}
