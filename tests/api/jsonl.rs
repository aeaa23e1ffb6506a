//! JSONL export and import: Go's byte format, atomic writes, all-or-nothing imports with line
//! numbers, upserts by content hash, and the real beads fixtures round-tripping.

use crate::common;

use std::collections::BTreeMap;

use beadstore::jsonl::{ExportOptions, ImportOptions};
use beadstore::ops::Attribution;
use beadstore::Store;
use common::issues::store_with_prefix;
use common::TempDb;

/// Every object of a JSONL text, by id.
fn objects(text: &str) -> BTreeMap<String, serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

/// Imports a real beads export into a fresh database, checks every issue, dependency, label
/// and comment arrived, and exports it again: the same bytes, line for line.
fn round_trip(name: &str) {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let path = dir.join(name);
    let original = std::fs::read_to_string(&path).unwrap();
    let expected = objects(&original);
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let summary = store
        .import_jsonl(&path, &ImportOptions::default())
        .unwrap();
    assert_eq!(summary.created, expected.len(), "{summary:?}");
    assert!(summary.dependencies_skipped.is_empty(), "{summary:?}");

    let count = |sql: &str| store.query(sql, &[]).unwrap()[0][0].as_i64().unwrap() as usize;
    let in_file = |key: &str| {
        expected
            .values()
            .map(|o| o[key].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    assert_eq!(count("SELECT count(*) FROM issues"), expected.len());
    assert_eq!(
        count("SELECT count(*) FROM dependencies"),
        in_file("dependencies")
    );
    assert_eq!(count("SELECT count(*) FROM labels"), in_file("labels"));
    assert_eq!(count("SELECT count(*) FROM comments"), in_file("comments"));
    assert_eq!(summary.dependencies_added, in_file("dependencies"));
    assert_eq!(summary.labels_added, in_file("labels"));
    assert_eq!(summary.comments_added, in_file("comments"));

    // bd's own export of this database left no wisp out, so neither do we here.
    let rendered = store
        .render_jsonl(&ExportOptions::default().include_ephemeral(true))
        .unwrap();
    let text = String::from_utf8(rendered.text).unwrap();
    assert_eq!(
        objects(&text),
        expected,
        "the same JSON objects, key for key"
    );
    for (number, (want, got)) in original.lines().zip(text.lines()).enumerate() {
        assert_eq!(got, want, "line {} differs", number + 1);
    }
    assert_eq!(text.len(), original.len());

    // A second import of the same file changes nothing.
    let again = store
        .import_jsonl(&path, &ImportOptions::default())
        .unwrap();
    assert_eq!(
        (again.created, again.updated, again.unchanged, again.skipped),
        (0, 0, expected.len(), 0)
    );
    assert_eq!(
        again.dependencies_added + again.labels_added + again.comments_added,
        0
    );
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

#[test]
fn the_146_issue_fixture_round_trips() {
    round_trip("beads-issues-146.jsonl");
}

#[test]
fn the_2667_issue_fixture_round_trips() {
    round_trip("beads-issues-2667.jsonl");
}

fn line(fields: &str) -> String {
    format!(
        "{{\"id\":{fields},\"priority\":2,\"created_at\":\"2025-03-01T10:00:00Z\",\"updated_at\":\"2025-03-02T10:00:00Z\"}}\n"
    )
}

#[test]
fn export_writes_gos_bytes_atomically_and_marks_the_issues_clean() {
    use beadstore::jsonl::HtmlEscaping;
    use beadstore::model::{Dependency, DependencyType, Issue};
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let mut a = Issue::new("Fix <login> & logout\u{2028}now");
    a.id = "bd-b".into();
    a.created_at =
        chrono::DateTime::parse_from_rfc3339("2025-03-01T10:00:00.120000-08:00").unwrap();
    a.updated_at = a.created_at;
    a.labels = vec![];
    store.create_issue(a, "me").unwrap();
    let mut b = Issue::new("first");
    b.id = "bd-a".into();
    b.priority = 0;
    b.created_at = chrono::DateTime::parse_from_rfc3339("2025-03-01T18:00:00Z").unwrap();
    b.updated_at = b.created_at;
    store.create_issue(b, "me").unwrap();
    store.add_label("bd-b", "zeta", "me").unwrap();
    store.add_label("bd-b", "alpha", "me").unwrap();
    store
        .add_dependency(
            &Dependency::new("bd-b", "bd-a", DependencyType::Blocks),
            "me",
        )
        .unwrap();
    let mut wisp = Issue::new("wisp");
    wisp.id = "bd-w".into();
    wisp.ephemeral = true;
    store.create_issue(wisp, "me").unwrap();
    store
        .create_tombstone("bd-w", &Attribution::new("me").reason("gone"))
        .ok();
    let mut gone = Issue::new("deleted");
    gone.id = "bd-t".into();
    store.create_issue(gone, "me").unwrap();
    store
        .create_tombstone("bd-t", &Attribution::new("me").reason("dup"))
        .unwrap();
    assert!(store.get_dirty_issue_count().unwrap() >= 3);

    let out = t.dir.path().join(".beads/issues.jsonl");
    std::fs::write(&out, "old content\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    let summary = store.export_jsonl(&out, &ExportOptions::default()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Sorted by id; the wisp left out; the tombstone kept.
    let ids: Vec<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["bd-a", "bd-b", "bd-t"]);
    assert_eq!(summary.issues, 3);
    assert!(text.ends_with('\n'));
    // Go's key order, omitempty, priority 0 written, offsets kept and fractions trimmed, HTML
    // and line separators escaped, labels sorted, the dependency embedded.
    assert_eq!(
        lines[0],
        "{\"id\":\"bd-a\",\"title\":\"first\",\"status\":\"open\",\"priority\":0,\"issue_type\":\"task\",\"created_at\":\"2025-03-01T18:00:00Z\",\"updated_at\":\"2025-03-01T18:00:00Z\"}"
    );
    let dep_created = store.get_dependency_records("bd-b").unwrap()[0].created_at;
    assert_eq!(
        lines[1],
        format!(
            "{{\"id\":\"bd-b\",\"title\":\"Fix \\u003clogin\\u003e \\u0026 logout\\u2028now\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2025-03-01T10:00:00.12-08:00\",\"updated_at\":\"2025-03-01T10:00:00.12-08:00\",\"labels\":[\"alpha\",\"zeta\"],\"dependencies\":[{{\"issue_id\":\"bd-b\",\"depends_on_id\":\"bd-a\",\"type\":\"blocks\",\"created_at\":\"{}\",\"created_by\":\"me\"}}]}}",
            beadstore::time::format_rfc3339_nano(&dep_created)
        )
    );
    // The file is exactly what was rendered, its hash is on record, nothing exported is dirty.
    assert_eq!(
        summary.sha256,
        beadstore::jsonl::sha256_hex(text.as_bytes())
    );
    assert_eq!(store.get_jsonl_file_hash().unwrap(), Some(summary.sha256));
    let dirty = store.get_dirty_issues().unwrap();
    assert!(!dirty.iter().any(|d| ids.contains(d)), "{dirty:?}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "permissions of the replaced file are kept");
    let leftovers: Vec<String> = t
        .files()
        .into_iter()
        .filter(|f| f.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The other Go behaviour: no HTML escaping.
    let plain = store
        .render_jsonl(&ExportOptions::default().html(HtmlEscaping::Off))
        .unwrap();
    let plain = String::from_utf8(plain.text).unwrap();
    assert!(plain.contains("Fix <login> & logout\\u2028now"), "{plain}");

    // A read-only store exports without touching the database.
    store.close().unwrap();
    let reader = Store::open_read_only(t.path_str()).unwrap();
    let copy = t.dir.path().join("copy.jsonl");
    reader
        .export_jsonl(&copy, &ExportOptions::default())
        .unwrap();
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), text);
}

#[test]
fn a_bad_line_is_named_and_nothing_is_imported() {
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let text = format!(
        "{}\n# a comment\n{}{{\"id\":\"bd-3\",\"title\":\"x\",\"priority\":\"high\"}}\n",
        line("\"bd-1\",\"title\":\"one\""),
        line("\"bd-2\",\"title\":\"two\"")
    );
    let err = store
        .import_jsonl_text(text.as_bytes(), "in.jsonl", &ImportOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, beadstore::Error::Jsonl { line: 5, ref path, .. } if path == "in.jsonl"),
        "{err:?}"
    );
    let invalid = line("\"bd-4\",\"title\":\"\"");
    let err = store
        .import_jsonl_text(invalid.as_bytes(), "in.jsonl", &ImportOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, beadstore::Error::Jsonl { line: 1, ref message, .. } if message.contains("title")),
        "{err:?}"
    );
    let count = store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0].as_i64();
    assert_eq!(count, Some(0));
    let missing = store.import_jsonl(t.dir.path().join("nope.jsonl"), &ImportOptions::default());
    assert!(
        matches!(missing, Err(beadstore::Error::Io { .. })),
        "{missing:?}"
    );
}

#[test]
fn imports_upsert_by_content_hash_and_merge_labels_comments_and_dependencies() {
    use beadstore::model::Status;
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    // The dependency comes before its target; a closed issue has no closed_at (GH#523);
    // unknown keys are ignored; the second copy of an id is skipped.
    let first = format!(
        "{}{}{}{}",
        line("\"bd-2\",\"title\":\"two\",\"labels\":[\"l1\"],\"dependencies\":[{\"issue_id\":\"bd-2\",\"depends_on_id\":\"bd-1\",\"type\":\"blocks\",\"created_at\":\"2025-03-01T10:00:00Z\",\"created_by\":\"x\"}],\"future\":[1,2]"),
        line("\"bd-1\",\"title\":\"one\",\"status\":\"closed\""),
        line("\"bd-1\",\"title\":\"one again\""),
        line("\"bd-3\",\"title\":\"gate\",\"await_type\":\"timer\",\"await_id\":\"t\",\"timeout\":5000,\"waiters\":[\"w\"],\"pinned\":true,\"comments\":[{\"id\":7,\"issue_id\":\"bd-3\",\"author\":\"a\",\"text\":\"hi\",\"created_at\":\"2025-03-01T11:00:00Z\"}]"),
    );
    let summary = store
        .import_jsonl_text(first.as_bytes(), "f", &ImportOptions::default())
        .unwrap();
    assert_eq!((summary.created, summary.skipped), (3, 1), "{summary:?}");
    assert_eq!(summary.dependencies_added, 1);
    let one = store.get_issue("bd-1").unwrap().unwrap();
    assert_eq!(one.title, "one");
    assert_eq!(one.status, Status::Closed);
    assert_eq!(
        one.closed_at.unwrap().to_rfc3339(),
        "2025-03-02T10:00:01+00:00",
        "a second after the last change"
    );
    let two = store.get_issue("bd-2").unwrap().unwrap();
    assert_eq!(two.labels, ["l1"]);
    assert_eq!(store.get_issue_comments("bd-3").unwrap()[0].id, 7);
    let ready = store.get_ready_work(&Default::default()).unwrap();
    assert!(
        ready.iter().any(|i| i.id == "bd-2"),
        "its blocker is closed"
    );

    // Same content again: unchanged. A new title edited later: updated. Empty gate fields
    // keep the local ones. Labels and comments merge in, never out.
    let later = |l: String| l.replace("2025-03-02T10:00:00Z", "2025-03-03T10:00:00Z");
    let second = format!(
        "{}{}{}",
        line("\"bd-1\",\"title\":\"one\",\"status\":\"closed\""),
        later(line("\"bd-2\",\"title\":\"two, renamed\",\"labels\":[\"l2\"]")),
        later(line("\"bd-3\",\"title\":\"gate, renamed\",\"comments\":[{\"id\":7,\"issue_id\":\"bd-3\",\"author\":\"a\",\"text\":\" hi \",\"created_at\":\"2025-03-01T11:00:00Z\"},{\"id\":8,\"issue_id\":\"bd-3\",\"author\":\"b\",\"text\":\"new\",\"created_at\":\"2025-03-01T12:00:00Z\"}]")),
    );
    let summary = store
        .import_jsonl_text(second.as_bytes(), "s", &ImportOptions::default())
        .unwrap();
    assert_eq!(
        (
            summary.created,
            summary.updated,
            summary.unchanged,
            summary.skipped
        ),
        (0, 2, 1, 0),
        "{summary:?}"
    );
    let two = store.get_issue("bd-2").unwrap().unwrap();
    assert_eq!(two.title, "two, renamed");
    assert_eq!(two.labels, ["l1", "l2"]);
    assert_eq!(store.get_dependency_records("bd-2").unwrap().len(), 1);
    let gate = store.get_issue("bd-3").unwrap().unwrap();
    assert_eq!(gate.title, "gate, renamed");
    assert_eq!(
        (
            gate.await_type.as_str(),
            gate.await_id.as_str(),
            gate.timeout_ns,
            gate.waiters.clone(),
            gate.pinned
        ),
        ("timer", "t", 5000, vec!["w".to_owned()], true)
    );
    assert_eq!(gate.content_hash, gate.compute_content_hash());
    assert_eq!(store.get_issue_comments("bd-3").unwrap().len(), 2);
    assert!(store
        .get_dirty_issues()
        .unwrap()
        .contains(&"bd-2".to_owned()));

    // A different copy no newer than the one here (an edit here that the file does not have
    // yet) leaves it as it is, as Go's importer does.
    let older = line("\"bd-3\",\"title\":\"gate, an older copy\"");
    let summary = store
        .import_jsonl_text(older.as_bytes(), "o", &ImportOptions::default())
        .unwrap();
    assert_eq!((summary.updated, summary.kept_local), (0, 1), "{summary:?}");
    assert_eq!(
        store.get_issue("bd-3").unwrap().unwrap().title,
        "gate, renamed"
    );

    // A tombstone here is not brought back by an older copy.
    store
        .create_tombstone("bd-2", &Attribution::new("me").reason("dropped"))
        .unwrap();
    let summary = store
        .import_jsonl_text(
            line("\"bd-2\",\"title\":\"two\"").as_bytes(),
            "t",
            &ImportOptions::default(),
        )
        .unwrap();
    assert_eq!(summary.skipped, 1);
    assert_eq!(
        store.get_issue("bd-2").unwrap().unwrap().status,
        Status::Tombstone
    );
}

#[test]
fn orphans_and_missing_dependency_targets_follow_the_chosen_handling() {
    use beadstore::ops::OrphanHandling;
    let text = format!(
        "{}{}",
        line("\"bd-p.1\",\"title\":\"child of nobody\""),
        line("\"bd-x\",\"title\":\"x\",\"dependencies\":[{\"issue_id\":\"bd-x\",\"depends_on_id\":\"bd-nowhere\",\"type\":\"blocks\",\"created_at\":\"2025-03-01T10:00:00Z\",\"created_by\":\"x\"},{\"issue_id\":\"bd-x\",\"depends_on_id\":\"external:tools:cli\",\"type\":\"blocks\",\"created_at\":\"2025-03-01T10:00:00Z\",\"created_by\":\"x\"}]"),
    );
    let with = |orphans: OrphanHandling, strict: bool| {
        let t = TempDb::new();
        let store = store_with_prefix(&t);
        let result = store.import_jsonl_text(
            text.as_bytes(),
            "o",
            &ImportOptions::default()
                .orphans(orphans)
                .strict_dependencies(strict),
        );
        let ids: Vec<String> = store
            .query("SELECT id FROM issues ORDER BY id", &[])
            .unwrap()
            .into_iter()
            .map(|r| r[0].as_str().unwrap().to_owned())
            .collect();
        (result, ids)
    };
    let (allowed, ids) = with(OrphanHandling::Allow, false);
    let allowed = allowed.unwrap();
    assert_eq!(ids, ["bd-p.1", "bd-x"]);
    // The edge to an issue nobody has is kept (it is what the file says), and counted.
    assert_eq!(allowed.dependencies_added, 2, "{allowed:?}");
    assert_eq!(
        allowed.dangling_targets, 1,
        "the external target is not dangling"
    );
    assert!(allowed.dependencies_skipped.is_empty(), "{allowed:?}");

    let (skipped, ids) = with(OrphanHandling::Skip, false);
    let skipped = skipped.unwrap();
    assert_eq!(skipped.skipped, 1);
    assert_eq!(ids, ["bd-x"]);
    assert_eq!(skipped.dangling_targets, 0);
    assert_eq!(skipped.dependencies_skipped.len(), 1);
    assert!(skipped.dependencies_skipped[0].1.contains("bd-nowhere"));

    let (strict, ids) = with(OrphanHandling::Strict, false);
    assert!(
        matches!(strict, Err(beadstore::Error::NotFound { .. })),
        "{strict:?}"
    );
    assert!(ids.is_empty(), "nothing committed");

    let (strict_deps, ids) = with(OrphanHandling::Allow, true);
    assert!(
        matches!(strict_deps, Err(beadstore::Error::NotFound { .. })),
        "{strict_deps:?}"
    );
    assert!(ids.is_empty(), "nothing committed");
}

#[test]
fn an_empty_database_takes_its_prefix_from_the_imported_ids() {
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let text = format!(
        "{}{}{}",
        line("\"web-a1\",\"title\":\"a\""),
        line("\"web-b2\",\"title\":\"b\""),
        line("\"api-c3\",\"title\":\"c\"")
    );
    store
        .import_jsonl_text(text.as_bytes(), "p", &ImportOptions::default())
        .unwrap();
    assert_eq!(
        store.get_config("issue_prefix").unwrap().as_deref(),
        Some("web")
    );
}

/// An export whose issues depend on wisps squashed away since (the wisps are not in it), with
/// labels and comments on those issues: the shape of a real beads export with dangling edges.
fn export_with_dangling_edges() -> (String, String) {
    use beadstore::model::{Dependency, DependencyType, Issue};
    let t = TempDb::new();
    let store = store_with_prefix(&t);
    let wisp = |title: &str| {
        let mut w = Issue::new(title);
        w.ephemeral = true;
        store.create_issue(w, "tester").unwrap().id
    };
    let (patrol, scratch) = (wisp("patrol wisp"), wisp("scratch wisp"));
    let child = store
        .create_issue(Issue::new("step of the patrol"), "tester")
        .unwrap()
        .id;
    let waiting = store
        .create_issue(Issue::new("waits on scratch"), "tester")
        .unwrap()
        .id;
    let plain = store
        .create_issue(Issue::new("no edges"), "tester")
        .unwrap()
        .id;
    store
        .add_dependency(
            &Dependency::new(&child, &patrol, DependencyType::ParentChild),
            "tester",
        )
        .unwrap();
    store
        .add_dependency(
            &Dependency::new(&waiting, &scratch, DependencyType::Blocks),
            "tester",
        )
        .unwrap();
    store
        .add_dependency(
            &Dependency::new(&waiting, &plain, DependencyType::Related),
            "tester",
        )
        .unwrap();
    for id in [&child, &waiting] {
        store.add_label(id, "wisp-work", "tester").unwrap();
        store
            .add_issue_comment(id, "tester", "kept <through> & back")
            .unwrap();
    }
    let without = store.render_jsonl(&ExportOptions::default()).unwrap().text;
    let with = store
        .render_jsonl(&ExportOptions::default().include_ephemeral(true))
        .unwrap()
        .text;
    (
        String::from_utf8(without).unwrap(),
        String::from_utf8(with).unwrap(),
    )
}

#[test]
fn dependencies_on_issues_not_in_the_file_are_kept_and_export_back_byte_for_byte() {
    let (export, with_wisps) = export_with_dangling_edges();
    assert_eq!(export.lines().count(), 3, "{export}");
    assert_eq!(with_wisps.lines().count(), 5);

    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let summary = store
        .import_jsonl_text(export.as_bytes(), "issues.jsonl", &ImportOptions::default())
        .unwrap();
    assert_eq!(summary.created, 3);
    assert_eq!(summary.dependencies_added, 3, "{summary:?}");
    assert_eq!(summary.dangling_targets, 2, "{summary:?}");
    assert!(summary.dependencies_skipped.is_empty(), "{summary:?}");
    assert_eq!(summary.labels_added, 2);
    assert_eq!(summary.comments_added, 2);
    let again = store.render_jsonl(&ExportOptions::default()).unwrap().text;
    assert_eq!(String::from_utf8(again).unwrap(), export, "export == input");

    // A blocker nobody has does not hold its issue back.
    let ready = store.get_ready_work(&Default::default()).unwrap();
    assert!(
        ready.iter().any(|i| i.title == "waits on scratch"),
        "{:?}",
        ready.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    // Importing the same file again changes nothing and says so.
    let second = store
        .import_jsonl_text(export.as_bytes(), "issues.jsonl", &ImportOptions::default())
        .unwrap();
    assert_eq!(
        (second.unchanged, second.dependencies_added),
        (3, 0),
        "{second:?}"
    );

    // A forced migration keeps the edges too (only rows whose own issue is gone go).
    store.migrate_all().unwrap();
    let after = store.render_jsonl(&ExportOptions::default()).unwrap().text;
    assert_eq!(String::from_utf8(after).unwrap(), export);
    store.close().unwrap();

    // The file with the wisps in it comes back as the input minus the ephemeral issues.
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    let summary = store
        .import_jsonl_text(
            with_wisps.as_bytes(),
            "issues.jsonl",
            &ImportOptions::default(),
        )
        .unwrap();
    assert_eq!((summary.created, summary.dangling_targets), (5, 0));
    let out = store.render_jsonl(&ExportOptions::default()).unwrap().text;
    assert_eq!(String::from_utf8(out).unwrap(), export);
}

#[test]
fn an_export_with_dangling_edges_round_trips_through_real_sqlite_opening_it() {
    // The kept edges are plain rows: real SQLite reads them, and its integrity check passes.
    let (export, _) = export_with_dangling_edges();
    let t = TempDb::new();
    let store = Store::open(t.path_str()).unwrap();
    store
        .import_jsonl_text(export.as_bytes(), "issues.jsonl", &ImportOptions::default())
        .unwrap();
    store.close().unwrap();
    let conn = common::sqlite(&t.path);
    let dangling: i64 = conn
        .query_row(
            "SELECT count(*) FROM dependencies d WHERE NOT EXISTS (SELECT 1 FROM issues WHERE id = d.depends_on_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dangling, 2);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
