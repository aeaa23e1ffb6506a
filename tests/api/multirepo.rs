//! Multi-repo: hydration of each configured repository's issues.jsonl on open (mtime cache,
//! missing files, source_repo tags, dependencies across repositories), export back to each
//! repository, deletion by repository and clearing the cache, with Go's multirepo tests'
//! intent.

use crate::common;

use std::path::Path;

use beadstore::project::ProjectConfig;
use beadstore::{OpenOptions, Store};
use common::TempDb;

fn line(id: &str, extra: &str) -> String {
    format!(
        "{{\"id\":\"{id}\",\"title\":\"{id}\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2025-03-01T10:00:00Z\",\"updated_at\":\"2025-03-01T10:00:00Z\"{extra}}}\n"
    )
}

fn write_jsonl(repo: &Path, text: &str) {
    std::fs::create_dir_all(repo.join(".beads")).unwrap();
    std::fs::write(repo.join(".beads/issues.jsonl"), text).unwrap();
}

fn parse_is_rfc3339(text: &str) -> bool {
    beadstore::jsonl::parse_import_time(text).is_some()
}

fn source_of(store: &Store, id: &str) -> String {
    store.get_issue(id).unwrap().unwrap().source_repo
}

#[test]
fn a_single_repo_project_neither_hydrates_nor_exports() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    assert_eq!(store.hydrate_from_multi_repo().unwrap(), None);
    assert_eq!(store.export_to_multi_repo().unwrap(), None);
}

#[test]
fn open_hydrates_every_repository_once_until_its_file_changes() {
    let t = TempDb::new();
    let root = t.dir.path();
    let other = tempfile::tempdir().unwrap();
    let other_path = other.path().to_str().unwrap().to_owned();
    // The primary's issue depends on one in the additional repository, which is read later.
    write_jsonl(
        root,
        &line(
            "bd-1",
            ",\"labels\":[\"here\"],\"dependencies\":[{\"issue_id\":\"bd-1\",\"depends_on_id\":\"ext-1\",\"type\":\"blocks\",\"created_at\":\"2025-03-01T10:00:00Z\",\"created_by\":\"x\"}]",
        ),
    );
    write_jsonl(other.path(), &line("ext-1", ""));
    std::fs::write(
        root.join(".beads/config.yaml"),
        format!(
            "repos:\n  primary: \".\"\n  additional:\n    - {other_path}\n    - missing-repo\n"
        ),
    )
    .unwrap();

    let store = Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").ok();
    assert_eq!(source_of(&store, "bd-1"), ".");
    assert_eq!(source_of(&store, "ext-1"), other_path);
    assert_eq!(store.get_labels("bd-1").unwrap(), ["here"]);
    assert_eq!(store.get_dependency_records("bd-1").unwrap().len(), 1);
    let ready: Vec<String> = store
        .get_ready_work(&Default::default())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(
        !ready.contains(&"bd-1".to_owned()),
        "blocked across repositories: {ready:?}"
    );
    assert!(
        store.get_dirty_issues().unwrap().is_empty(),
        "hydration marks nothing dirty"
    );

    // Unchanged files are not read again; a missing repository counts 0.
    let again = store.hydrate_from_multi_repo().unwrap().unwrap();
    assert_eq!(again.values().sum::<usize>(), 0, "{again:?}");
    assert!(again.contains_key("missing-repo"));

    // A changed file is.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_jsonl(
        other.path(),
        &format!("{}{}", line("ext-1", ""), line("ext-2", "")),
    );
    let changed = store.hydrate_from_multi_repo().unwrap().unwrap();
    assert_eq!(changed[&other_path], 2);
    assert_eq!(changed["."], 0);
    assert_eq!(source_of(&store, "ext-2"), other_path);

    // Clearing a repository's record makes the next hydration read it again.
    store.clear_repo_mtime(".").unwrap();
    store.clear_repo_mtime("/nonexistent/path").unwrap();
    let reread = store.hydrate_from_multi_repo().unwrap().unwrap();
    assert_eq!(reread["."], 1);
    assert_eq!(reread[&other_path], 0);
    store.close().unwrap();

    // Opting out of hydration at open leaves the database alone.
    write_jsonl(other.path(), &line("ext-3", ""));
    let quiet = Store::open_with(t.path_str(), OpenOptions::new().hydrate(false)).unwrap();
    assert!(quiet.get_issue("ext-3").unwrap().is_none());
    quiet.close().unwrap();
    let hydrating = Store::open(t.path_str()).unwrap();
    assert!(hydrating.get_issue("ext-3").unwrap().is_some());
}

#[test]
fn a_broken_repository_file_fails_the_open_with_the_line() {
    let t = TempDb::new();
    write_jsonl(t.dir.path(), &format!("{}{{not json\n", line("bd-1", "")));
    std::fs::write(
        t.dir.path().join(".beads/config.yaml"),
        "repos:\n  primary: .\n",
    )
    .unwrap();
    let err = Store::open(t.path_str()).unwrap_err();
    assert!(
        matches!(err, beadstore::Error::Jsonl { line: 2, .. }),
        "{err:?}"
    );
    let bad_yaml = TempDb::new();
    std::fs::create_dir_all(bad_yaml.dir.path().join(".beads")).unwrap();
    std::fs::write(bad_yaml.dir.path().join(".beads/config.yaml"), "repos: [").unwrap();
    let err = Store::open(bad_yaml.path_str()).unwrap_err();
    assert!(matches!(err, beadstore::Error::Config { .. }), "{err:?}");
}

#[test]
fn export_routes_issues_to_their_repositories_and_deletion_goes_by_repository() {
    let t = TempDb::new();
    let root = t.dir.path().to_path_buf();
    let absolute = tempfile::tempdir().unwrap();
    let absolute_path = absolute.path().to_str().unwrap().to_owned();
    let config = ProjectConfig {
        root: root.clone(),
        repos_primary: ".".into(),
        repos_additional: vec!["oss/".into(), absolute_path.clone(), "empty/".into()],
        ..ProjectConfig::default()
    };
    let store = Store::open_with(t.path_str(), OpenOptions::new().project_config(config)).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    for (id, source) in [
        ("bd-1", "."),
        ("bd-2", "oss/"),
        ("bd-3", "oss/"),
        ("bd-4", absolute_path.as_str()),
        ("bd-5", "gone/"),
    ] {
        let mut issue = beadstore::model::Issue::new(id);
        issue.id = id.into();
        issue.source_repo = source.into();
        store.create_issue(issue, "t").unwrap();
    }
    store.add_label("bd-2", "l", "t").unwrap();
    store.add_issue_comment("bd-2", "a", "note").unwrap();
    store
        .add_dependency(
            &beadstore::model::Dependency::new("bd-1", "bd-2", "blocks"),
            "t",
        )
        .unwrap();

    let counts = store.export_to_multi_repo().unwrap().unwrap();
    assert_eq!(counts["."], 1);
    assert_eq!(counts["oss/"], 2);
    assert_eq!(counts[&absolute_path], 1);
    assert_eq!(counts["empty/"], 0);
    let ids_in = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join(".beads/issues.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(ids_in(&root), ["bd-1"]);
    assert_eq!(
        ids_in(&root.join("oss")),
        ["bd-2", "bd-3"],
        "relative to the repository root"
    );
    assert_eq!(ids_in(absolute.path()), ["bd-4"]);
    assert!(ids_in(&root.join("empty")).is_empty());
    // Each file's hash and time go under the keys Go's daemon uses: the plain ones for the
    // primary configured as ".", `:<path>` for a path Go's join keeps as written ("oss/" is
    // not: Go cleans its trailing slash away and falls back to the plain keys too).
    let sha = |p: &Path| {
        beadstore::jsonl::sha256_hex(&std::fs::read(p.join(".beads/issues.jsonl")).unwrap())
    };
    let meta = |key: &str| store.get_metadata(key).unwrap().unwrap_or_default();
    assert_eq!(
        meta(&format!("jsonl_content_hash:{absolute_path}")),
        sha(absolute.path())
    );
    assert!(beadstore::jsonl::parse_import_time(&meta(&format!(
        "last_import_time:{absolute_path}"
    )))
    .is_some());
    assert_eq!(meta("jsonl_content_hash:oss/"), "");
    assert!(parse_is_rfc3339(&meta("last_import_time")));
    assert_eq!(
        meta("jsonl_content_hash"),
        sha(&root.join("empty")),
        "the plain key holds the last file written under it, as in Go's loop"
    );
    // Our own export is not read back as a change.
    let after = store.hydrate_from_multi_repo().unwrap().unwrap();
    assert_eq!(after.values().sum::<usize>(), 0, "{after:?}");

    assert_eq!(store.delete_issues_by_source_repo("oss/").unwrap(), 2);
    assert!(store.get_issue("bd-2").unwrap().is_none());
    assert!(store.get_issue("bd-1").unwrap().is_some());
    let count = |sql: &str| store.query(sql, &[]).unwrap()[0][0].as_i64().unwrap();
    assert_eq!(
        count("SELECT count(*) FROM labels WHERE issue_id = 'bd-2'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM comments WHERE issue_id = 'bd-2'"),
        0
    );
    assert_eq!(count("SELECT count(*) FROM dependencies"), 0);
    assert_eq!(store.delete_issues_by_source_repo("never/").unwrap(), 0);
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}
