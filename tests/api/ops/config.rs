//! Config: custom issue types from the project's config.yaml.

use crate::common::issues::store_with_prefix;
use crate::common::TempDb;
use beadstore::model::{Issue, IssueType};
use beadstore::{Error, Store};

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
