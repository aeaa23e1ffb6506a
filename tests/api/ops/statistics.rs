//! `get_statistics` counts what real SQLite counts with the SQL of its definition, on the same
//! file: beadstore takes several of the counts from plain reads instead of the engine's joins,
//! so epics with every mix of children, deleted children, blocked issues that were closed and
//! links to missing issues are all checked against the oracle.

use super::dep;
use crate::common::issues::store_with_prefix;
use crate::common::{sqlite, TempDb};
use beadstore::model::{Issue, IssueType, Status};
use beadstore::ops::{Attribution, IssueUpdate};
use beadstore::Store;

/// Counts by their definitions, over `issues` and the blocked cache.
const ORACLE: [(&str, &str); 9] = [
    (
        "total",
        "SELECT count(*) FROM issues WHERE status != 'tombstone'",
    ),
    ("open", "SELECT count(*) FROM issues WHERE status = 'open'"),
    (
        "in_progress",
        "SELECT count(*) FROM issues WHERE status = 'in_progress'",
    ),
    (
        "closed",
        "SELECT count(*) FROM issues WHERE status = 'closed'",
    ),
    (
        "deferred",
        "SELECT count(*) FROM issues WHERE status = 'deferred'",
    ),
    (
        "tombstone",
        "SELECT count(*) FROM issues WHERE status = 'tombstone'",
    ),
    ("pinned", "SELECT count(*) FROM issues WHERE pinned = 1"),
    (
        "blocked",
        "SELECT count(*) FROM blocked_issues_cache c JOIN issues i ON i.id = c.issue_id
          WHERE i.status NOT IN ('closed', 'tombstone')",
    ),
    // Go's GetStatistics: open epics whose children all closed.
    (
        "closable epics",
        "WITH epic_children AS (
            SELECT d.depends_on_id AS epic_id, i.status AS child_status
              FROM dependencies d JOIN issues i ON i.id = d.issue_id WHERE d.type = 'parent-child'),
         epic_stats AS (
            SELECT epic_id, count(*) AS total_children,
                   sum(CASE WHEN child_status = 'closed' THEN 1 ELSE 0 END) AS closed_children
              FROM epic_children GROUP BY epic_id)
         SELECT count(*) FROM issues i JOIN epic_stats es ON es.epic_id = i.id
          WHERE i.issue_type = 'epic' AND i.status != 'closed' AND es.total_children > 0
            AND es.closed_children = es.total_children",
    ),
];

/// Seven parents, each with its own mix of open, closed, deleted and tombstoned children (one
/// childless, one closed itself, one a task that has children), blockers that were later closed, and a
/// parent link to an issue that does not exist.
fn project(t: &TempDb) -> Store {
    let store = store_with_prefix(t);
    let me = Attribution::new("me");
    let make = |title: &str, kind: IssueType| {
        let mut issue = Issue::new(title);
        issue.issue_type = kind;
        store.create_issue(issue, "me").unwrap().id
    };
    // (children, how many of them to close, how many to delete, close the epic, its type)
    let shapes = [
        (3, 3, 0, false, IssueType::Epic),
        (3, 2, 0, false, IssueType::Epic),
        (2, 1, 1, false, IssueType::Epic),
        (0, 0, 0, false, IssueType::Epic),
        (2, 2, 0, true, IssueType::Epic),
        (2, 2, 0, false, IssueType::Task),
        (2, 0, 2, false, IssueType::Epic),
    ];
    let mut loose = Vec::new();
    let mut epics = Vec::new();
    for (n, (children, closed, deleted, close_epic, kind)) in shapes.into_iter().enumerate() {
        let epic = make(&format!("epic {n}"), kind);
        epics.push(epic.clone());
        for c in 0..children {
            let child = make(&format!("child {n}.{c}"), IssueType::Task);
            store
                .add_dependency(&dep(&child, &epic, "parent-child"), "me")
                .unwrap();
            if c < closed {
                store.close_issue(&child, &me).unwrap();
            } else if c < closed + deleted && c % 2 == 0 {
                store.delete_issue(&child).unwrap();
            } else if c < closed + deleted {
                // A tombstone keeps its links, and is not closed.
                store
                    .execute(
                        "UPDATE issues SET status = 'tombstone' WHERE id = ?",
                        &[child.as_str().into()],
                    )
                    .unwrap();
            } else {
                loose.push(child);
            }
        }
        if close_epic {
            store.close_issue(&epic, &me).unwrap();
        }
    }
    let first_epic = epics[0].clone();
    loose.extend((0..6).map(|n| make(&format!("loose {n}"), IssueType::Task)));
    // Blockers: some blocked issues are then closed, one is deferred, one pinned.
    for pair in loose.chunks(2) {
        if let [a, b] = pair {
            store.add_dependency(&dep(a, b, "blocks"), "me").unwrap();
        }
    }
    store.close_issue(&loose[0], &me).unwrap();
    let deferred = IssueUpdate::default().status(Status::Deferred);
    store.update_issue(&loose[2], &deferred, "me").unwrap();
    store
        .execute(
            "UPDATE issues SET pinned = 1 WHERE id = ?",
            &[loose[1].as_str().into()],
        )
        .unwrap();
    // A blocked issue tombstoned behind the cache's back, and a parent link from an issue
    // that does not exist (to the first epic, whose real children are all closed).
    store
        .execute(
            "UPDATE issues SET status = 'tombstone' WHERE id = ?",
            &[loose[4].as_str().into()],
        )
        .unwrap();
    // Real SQLite writes that link, with foreign keys off (as a file written without them
    // can hold).
    let conn = sqlite(&t.path);
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES ('ghost-1', ?1, 'parent-child', 'me')",
            [first_epic.as_str()],
        )
        .unwrap();
    // SQLite and beadstore never share the file: the connection goes first.
    drop(conn);
    // A parent link whose parent does not exist.
    store
        .execute(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, 'nowhere-1', 'parent-child', 'me')",
            &[loose[1].as_str().into()],
        )
        .unwrap();
    store
}

#[test]
fn statistics_count_what_their_definitions_count_in_real_sqlite() {
    let t = TempDb::new();
    let store = project(&t);
    let stats = store.get_statistics().unwrap();
    let ours = [
        stats.total_issues,
        stats.open_issues,
        stats.in_progress_issues,
        stats.closed_issues,
        stats.deferred_issues,
        stats.tombstone_issues,
        stats.pinned_issues,
        stats.blocked_issues,
        stats.epics_eligible_for_closure,
    ];
    let conn = sqlite(&t.path);
    for ((name, sql), ours) in ORACLE.iter().zip(ours) {
        let expected: i64 = conn.query_row(sql, [], |row| row.get(0)).unwrap();
        assert_eq!(ours, expected, "{name}");
    }
    // The fixture reaches the cases it is for.
    assert!((1..6).contains(&stats.epics_eligible_for_closure));
    assert!(
        stats.blocked_issues > 0 && stats.tombstone_issues > 0 && stats.pinned_issues == 1,
        "{stats:?}"
    );
    let lead: f64 = conn
        .query_row(
            "SELECT avg((julianday(closed_at) - julianday(created_at)) * 24) FROM issues WHERE closed_at IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!((stats.average_lead_time_hours - lead).abs() < 1e-6);
}
