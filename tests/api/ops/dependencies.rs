//! Dependencies: cycles refused with their path, external targets.

use std::collections::BTreeSet;

use super::dep;
use crate::common::issues::{create, ids, store_with_prefix};
use crate::common::TempDb;
use beadstore::model::DependencyType;
use beadstore::Error;

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

/// Dependency types are an enum: every built-in type reads back as itself, unknown ones are
/// kept as written, and only the four that can hold work back say so.
#[test]
fn dependency_types_parse_to_the_enum_and_keep_custom_ones() {
    for text in DependencyType::BUILT_IN {
        let kind: DependencyType = text.parse().unwrap();
        assert!(kind.is_built_in(), "{text}");
        assert_eq!(kind.as_str(), *text);
    }
    assert_eq!(DependencyType::BUILT_IN.len(), 19);
    let custom = DependencyType::from("blocks-later");
    assert_eq!(custom, DependencyType::Custom("blocks-later".into()));
    assert_eq!(custom, "blocks-later");
    let holding: Vec<&str> = DependencyType::BUILT_IN
        .iter()
        .filter(|t| DependencyType::from(**t).affects_ready_work())
        .copied()
        .collect();
    assert_eq!(
        holding,
        ["blocks", "parent-child", "conditional-blocks", "waits-for"]
    );
    // Serialized as Go writes it.
    let json = serde_json::to_string(&dep("a", "b", DependencyType::ParentChild)).unwrap();
    assert!(json.contains(r#""type":"parent-child""#), "{json}");
}

/// The link summaries name the same issues, types and order as the whole-issue lookups, with
/// the fields they carry equal to the issues' own, in both directions.
#[test]
fn link_summaries_match_the_whole_issue_lookups() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let hub = create(&store, "hub");
    for (n, kind) in [
        "blocks",
        "related",
        "parent-child",
        "discovered-from",
        "blocks",
    ]
    .into_iter()
    .enumerate()
    {
        let mut issue = beadstore::model::Issue::new(format!("spoke {n}"));
        issue.priority = (4 - n as i64) % 3;
        issue.assignee = if n % 2 == 0 {
            "ann".into()
        } else {
            String::new()
        };
        let spoke = store.create_issue(issue, "me").unwrap();
        if n % 2 == 0 {
            store
                .add_dependency(&dep(&hub.id, &spoke.id, kind), "me")
                .unwrap();
        } else {
            store
                .add_dependency(&dep(&spoke.id, &hub.id, kind), "me")
                .unwrap();
        }
    }
    store
        .add_dependency(&dep(&hub.id, "external:other:cap", "blocks"), "me")
        .unwrap();
    type Whole = Vec<(beadstore::model::Issue, String)>;
    let check = |links: Vec<beadstore::ops::LinkedIssue>, whole: Whole| {
        assert!(!links.is_empty());
        assert_eq!(links.len(), whole.len());
        for (link, (issue, kind)) in links.iter().zip(&whole) {
            assert_eq!(
                (&link.id, &link.title, &link.status, link.priority),
                (&issue.id, &issue.title, &issue.status, issue.priority)
            );
            assert_eq!(
                (&link.issue_type, &link.assignee),
                (&issue.issue_type, &issue.assignee)
            );
            assert_eq!(link.dep_type.as_str(), kind);
        }
    };
    check(
        store.get_dependency_links(&hub.id).unwrap(),
        store.get_dependencies_with_type(&hub.id).unwrap(),
    );
    check(
        store.get_dependent_links(&hub.id).unwrap(),
        store.get_dependents_with_type(&hub.id).unwrap(),
    );
}
