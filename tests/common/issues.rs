//! Small builders the storage tests share.

use std::collections::BTreeSet;

use beadstore::model::{Issue, Timestamp};
use beadstore::Store;

use super::TempDb;

/// A store on a fresh database with the issue prefix `bd`.
pub fn store_with_prefix(t: &TempDb) -> Store {
    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
}

/// A new issue with this title, created by `tester`.
pub fn create(store: &Store, title: &str) -> Issue {
    store.create_issue(Issue::new(title), "tester").unwrap()
}

/// The ids of some issues.
pub fn ids(issues: &[Issue]) -> BTreeSet<String> {
    issues.iter().map(|i| i.id.clone()).collect()
}

/// An RFC 3339 time.
pub fn at(text: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

/// The first column of every row `sql` returns, as text.
pub fn first_column(store: &Store, sql: &str) -> Vec<String> {
    store
        .query(sql, &[])
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}
