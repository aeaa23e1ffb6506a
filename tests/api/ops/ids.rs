//! Ids: hierarchical child ids, their depth limit, and parents brought back from the history.

use crate::common::issues::store_with_prefix;
use crate::common::TempDb;
use beadstore::model::{Issue, Status};
use beadstore::{Error, Store};

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
