//! External dependencies (`external:<project>:<capability>`) across projects.

use std::collections::HashMap;

use super::dep;
use crate::common::issues::{create, ids, store_with_prefix};
use crate::common::TempDb;
use beadstore::model::{DependencyType, Status};
use beadstore::ops::Attribution;
use beadstore::ops::WorkFilter;
use beadstore::Store;

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
