//! The git sync loop and Go bd's sync metadata, with real files, real child processes and real
//! SQLite reading what beadstore recorded: two clones exchanging one `issues.jsonl` the way git
//! moves it (a copy, then a rename over the old one), the metadata Go's staleness checks read,
//! the switches that turn the loop off, a file git left conflicted, and where the project
//! configuration is found.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// A project directory with its own `.beads/`, and a home directory nobody else's settings
/// come from.
struct Clone {
    root: PathBuf,
    home: PathBuf,
}

impl Clone {
    fn new(parent: &Path, name: &str) -> Clone {
        let root = parent.join(name);
        let home = parent.join(format!("{name}-home"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let clone = Clone { root, home };
        let o = clone.run(&["init", "--prefix", "bd"]);
        assert!(o.status.success(), "{}", err(&o));
        clone
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_beadstore"));
        c.args(["--actor", "tester"])
            .args(args)
            .current_dir(&self.root)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("BEADS_DB");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BD_") {
                c.env_remove(key);
            }
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run beadstore")
    }

    /// Runs a command that must succeed and returns its JSON.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let o = self.run(&all);
        assert!(o.status.success(), "{args:?}: {}", err(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn create(&self, title: &str) -> String {
        self.json(&["create", title])["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn jsonl(&self) -> PathBuf {
        self.root.join(".beads/issues.jsonl")
    }

    fn db(&self) -> PathBuf {
        self.root.join(".beads/beads.db")
    }

    /// What this clone's database holds, as its export (the standard output form).
    fn export(&self) -> String {
        let o = self.run(&["--no-auto-import", "export"]);
        assert!(o.status.success(), "{}", err(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    fn metadata(&self, key: &str) -> String {
        let db = rusqlite::Connection::open(self.db()).unwrap();
        db.query_row("SELECT value FROM metadata WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap_or_default()
    }
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What git does to a file on checkout or pull: writes a new one beside it, renames it over.
fn git_moves(from: &Path, to: &Path) {
    let temp = to.with_extension("incoming");
    std::fs::copy(from, &temp).unwrap();
    std::fs::rename(&temp, to).unwrap();
}

fn sha256_file(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Go's two staleness checks, as Go bd runs them on a database and its JSONL: the content
/// hash (`autoImportIfNewer`) and the modification time against `last_import_time`
/// (`CheckStaleness`). Both false: Go bd would not import the file again.
fn go_sees_changes(db: &Path, jsonl: &Path) -> (bool, bool) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let meta = |key: &str| -> String {
        conn.query_row("SELECT value FROM metadata WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap_or_default()
    };
    let mut recorded = meta("jsonl_content_hash");
    if recorded.is_empty() {
        recorded = meta("last_import_hash");
    }
    let hash_changed = recorded != sha256_file(jsonl);
    let last = meta("last_import_time");
    let newer = if last.is_empty() {
        false
    } else {
        let at = chrono::DateTime::parse_from_rfc3339(&last)
            .unwrap_or_else(|e| panic!("last_import_time {last:?} is not RFC 3339: {e}"));
        let mtime: chrono::DateTime<chrono::Utc> = std::fs::symlink_metadata(jsonl)
            .unwrap()
            .modified()
            .unwrap()
            .into();
        mtime > at
    };
    (hash_changed, newer)
}

/// `2026-12-03T23:05:02.509643085Z`-like: Go's RFC3339Nano (no trailing zeros in the
/// fraction, `Z` or `±hh:mm`).
fn is_go_rfc3339_nano(text: &str) -> bool {
    let Some((date_time, rest)) = text.split_at_checked(19) else {
        return false;
    };
    let zone_ok = |zone: &str| {
        zone == "Z"
            || (zone.len() == 6
                && (zone.starts_with('+') || zone.starts_with('-'))
                && &zone[3..4] == ":")
    };
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.chars().take_while(char::is_ascii_digit).count();
            (&r[..digits], &r[digits..])
        }
        None => ("", rest),
    };
    chrono::NaiveDateTime::parse_from_str(date_time, "%Y-%m-%dT%H:%M:%S").is_ok()
        && fraction.len() <= 9
        && !fraction.ends_with('0')
        && zone_ok(zone)
}

#[test]
fn two_clones_exchange_work_through_one_jsonl_moved_as_git_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = Clone::new(dir.path(), "a");
    let b = Clone::new(dir.path(), "b");

    // Clone A starts the file, then every write lands in it by itself.
    let o = a.run(&["sync"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(std::fs::read(a.jsonl()).unwrap(), b"");
    let one = a.create("one");
    let two = a.create("two");
    assert!(a.run(&["label", "add", "backend", &one]).status.success());
    assert!(a
        .run(&["comment", "add", &one, "first look"])
        .status
        .success());
    assert!(a.run(&["close", &two, "-r", "done"]).status.success());
    let a_file = std::fs::read_to_string(a.jsonl()).unwrap();
    assert_eq!(a_file.lines().count(), 2, "{a_file}");
    assert!(a_file.contains("\"backend\"") && a_file.contains("first look"));
    assert_eq!(a.export(), a_file, "the flushed file is the export");
    assert_eq!(go_sees_changes(&a.db(), &a.jsonl()), (false, false));
    assert!(is_go_rfc3339_nano(&a.metadata("last_import_time")));
    assert_eq!(a.metadata("jsonl_file_hash"), sha256_file(&a.jsonl()));

    // The file arrives in clone B; B's very next command, a read, sees A's work.
    git_moves(&a.jsonl(), &b.jsonl());
    let shown = b.json(&["show", &two]);
    assert_eq!(shown[0]["status"], "closed", "{shown}");
    let shown = b.json(&["show", &one]);
    assert_eq!(shown[0]["labels"], serde_json::json!(["backend"]));
    assert_eq!(shown[0]["comments"][0]["text"], "first look");
    assert_eq!(b.export(), a_file, "B holds what A wrote, byte for byte");
    assert_eq!(std::fs::read_to_string(b.jsonl()).unwrap(), a_file);
    assert_eq!(go_sees_changes(&b.db(), &b.jsonl()), (false, false));

    // Edits on both sides: A retitles two; B raises one's priority and adds three.
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert!(a
        .run(&["update", &two, "--title", "two, retitled"])
        .status
        .success());
    assert!(b.run(&["update", &one, "-p", "0"]).status.success());
    let three = b.create("three");
    assert!(b
        .run(&["label", "add", "frontend", &three])
        .status
        .success());

    // A's file arrives in B over B's own: the newer side of each issue wins, and what only
    // B has goes back into the file.
    git_moves(&a.jsonl(), &b.jsonl());
    let listed = b.json(&["list", "--all"]);
    let by_id = |list: &serde_json::Value, id: &str| -> serde_json::Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing from {list}"))
    };
    assert_eq!(by_id(&listed, &two)["title"], "two, retitled");
    assert_eq!(
        by_id(&listed, &one)["priority"],
        0,
        "B's newer edit is kept"
    );
    assert_eq!(by_id(&listed, &three)["title"], "three");
    let b_file = std::fs::read_to_string(b.jsonl()).unwrap();
    assert_eq!(b_file.lines().count(), 3, "{b_file}");
    assert_eq!(b.export(), b_file, "B's file holds everything B has");

    // B's file goes back to A: both clones now hold the same issues, every field.
    git_moves(&b.jsonl(), &a.jsonl());
    assert!(a.run(&["ready"]).status.success());
    assert_eq!(a.export(), b.export());
    assert_eq!(
        std::fs::read(a.jsonl()).unwrap(),
        std::fs::read(b.jsonl()).unwrap()
    );
    for clone in [&a, &b] {
        assert_eq!(go_sees_changes(&clone.db(), &clone.jsonl()), (false, false));
    }
}

#[test]
fn sync_metadata_is_what_go_checks_and_a_replaced_file_is_seen_by_both_checks() {
    let dir = tempfile::tempdir().unwrap();
    let a = Clone::new(dir.path(), "a");
    a.create("one");
    // An export to the project file records it as in step, as Go's flush does.
    let o = a.run(&["export", "-o", a.jsonl().to_str().unwrap(), "--mark-clean"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(go_sees_changes(&a.db(), &a.jsonl()), (false, false));
    assert_eq!(a.metadata("jsonl_content_hash"), sha256_file(&a.jsonl()));
    let info = a.json(&["info"]);
    assert_eq!(info["jsonl_in_step"], true, "{info}");

    // Someone else's version arrives: Go's checks and beadstore's agree it changed.
    let other = dir.path().join("other.jsonl");
    let mut text = std::fs::read_to_string(a.jsonl()).unwrap();
    text.push_str(
        &text
            .replace("\"one\"", "\"one from elsewhere\"")
            .replace("bd-", "bd-x"),
    );
    std::fs::write(&other, &text).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    git_moves(&other, &a.jsonl());
    assert_eq!(go_sees_changes(&a.db(), &a.jsonl()), (true, true));
    assert_eq!(a.json(&["info"])["jsonl_in_step"], false);

    // `beadstore import` of the file is Go's `bd import`: in step again.
    let o = a.run(&["import", a.jsonl().to_str().unwrap()]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(go_sees_changes(&a.db(), &a.jsonl()), (false, false));
    assert_eq!(a.metadata("jsonl_file_hash"), sha256_file(&a.jsonl()));
    assert!(is_go_rfc3339_nano(&a.metadata("last_import_time")));
}

#[test]
fn the_loop_can_be_turned_off_and_a_read_only_read_only_says_an_import_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let a = Clone::new(dir.path(), "a");
    assert!(a.run(&["sync"]).status.success());
    let one = a.create("one");
    let before = std::fs::read(a.jsonl()).unwrap();

    // --no-auto-flush, the config key and the variable each keep the file as it is.
    assert!(a
        .run(&["--no-auto-flush", "create", "two"])
        .status
        .success());
    assert_eq!(std::fs::read(a.jsonl()).unwrap(), before);
    std::fs::write(a.root.join(".beads/config.yaml"), "no-auto-flush: true\n").unwrap();
    assert!(a.run(&["create", "three"]).status.success());
    assert_eq!(std::fs::read(a.jsonl()).unwrap(), before);
    std::fs::remove_file(a.root.join(".beads/config.yaml")).unwrap();
    let o = a
        .command(&["create", "four"])
        .env("BD_NO_AUTO_FLUSH", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(std::fs::read(a.jsonl()).unwrap(), before);
    // `sync` writes what is pending.
    let v = a.json(&["sync"]);
    assert_eq!(v["flush"]["written"], 3, "{v}");
    assert_eq!(
        std::fs::read_to_string(a.jsonl()).unwrap().lines().count(),
        4
    );

    // A changed file with --read-only: the answer comes from the database as it is, with a
    // note, and the database is not touched.
    let changed = std::fs::read_to_string(a.jsonl())
        .unwrap()
        .replace("\"one\"", "\"one, changed elsewhere\"")
        .replace("\"updated_at\":\"2", "\"updated_at\":\"3");
    let incoming = dir.path().join("incoming.jsonl");
    std::fs::write(&incoming, &changed).unwrap();
    git_moves(&incoming, &a.jsonl());
    let db_bytes = std::fs::read(a.db()).unwrap();
    let o = a.run(&["--read-only", "--json", "show", &one]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("changed since the last import"),
        "{}",
        err(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["title"], "one");
    let o = a.run(&["--no-auto-import", "--json", "show", &one]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v[0]["title"], "one",
        "--no-auto-import reads the database as it is"
    );
    assert_eq!(std::fs::read(a.db()).unwrap(), db_bytes);
    // Without them, the read imports first.
    assert_eq!(
        a.json(&["show", &one])[0]["title"],
        "one, changed elsewhere"
    );
}

#[test]
fn a_file_git_left_conflicted_is_never_flushed_over() {
    let dir = tempfile::tempdir().unwrap();
    let a = Clone::new(dir.path(), "a");
    assert!(a.run(&["sync"]).status.success());
    let one = a.create("one");
    let line = std::fs::read_to_string(a.jsonl()).unwrap();
    let conflicted = format!(
        "<<<<<<< HEAD\n{line}=======\n{}>>>>>>> theirs\n",
        line.replace("\"one\"", "\"uno\"")
    );
    std::fs::write(a.jsonl(), &conflicted).unwrap();

    // A write refuses to run (the flush would lose the other side); the file stays.
    let o = a.run(&["update", &one, "-p", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("merge conflict"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(a.jsonl()).unwrap(), conflicted);
    assert_eq!(
        a.json(&["--no-auto-import", "show", &one])[0]["priority"],
        2
    );
    // A read warns and answers from the database.
    let o = a.run(&["--json", "show", &one]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("merge conflict"), "{}", err(&o));
    // `sync` names the line.
    let o = a.run(&["sync"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains(":1"), "{}", err(&o));
}

#[test]
fn the_project_configuration_is_found_where_go_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = Clone::new(dir.path(), "a");
    let deep = a.root.join("src/deep");
    std::fs::create_dir_all(&deep).unwrap();
    let config_of = |cwd: &Path, env: &[(&str, &Path)]| -> serde_json::Value {
        let mut c = a.command(&["--json", "info"]);
        c.current_dir(cwd);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", err(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["config_file"].clone()
    };
    let write = |path: &Path, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    assert_eq!(config_of(&deep, &[]), serde_json::Value::Null);

    // Lowest first: ~/.beads/config.yaml, then ~/.config/bd/config.yaml (or
    // $XDG_CONFIG_HOME/bd), then the project's own .beads/config.yaml.
    let home_beads = a.home.join(".beads/config.yaml");
    write(&home_beads, "types:\n  custom: [agent]\n");
    assert_eq!(config_of(&deep, &[]), home_beads.to_str().unwrap());
    let user = a.home.join(".config/bd/config.yaml");
    write(&user, "types.custom: \"role\"\n");
    assert_eq!(config_of(&deep, &[]), user.to_str().unwrap());
    let xdg = dir.path().join("xdg");
    let xdg_file = xdg.join("bd/config.yaml");
    write(&xdg_file, "hierarchy:\n  max-depth: 1\n");
    assert_eq!(
        config_of(&deep, &[("XDG_CONFIG_HOME", &xdg)]),
        xdg_file.to_str().unwrap()
    );
    let project = a.root.join(".beads/config.yaml");
    write(&project, "status:\n  custom: [review]\n");
    assert_eq!(config_of(&deep, &[]), project.to_str().unwrap());

    // One file is read, not a merge: the project's file declares no types, so the type
    // the user's file declares is not known.
    let o = a.run(&["create", "x", "-t", "role"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    // Keys act: a custom status from the file, a type from BD_TYPES_CUSTOM.
    let id = a.create("y");
    assert!(a.run(&["update", &id, "-s", "review"]).status.success());
    let o = a
        .command(&["create", "z", "-t", "agent"])
        .env("BD_TYPES_CUSTOM", "agent,role")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    // hierarchy.max-depth from the user's (XDG) file once the project's is gone.
    std::fs::remove_file(&project).unwrap();
    let parent = a.create("parent");
    let child = a.json(&["create", "child", "--parent", &parent])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = a
        .command(&["create", "grandchild", "--parent", &child])
        .env("XDG_CONFIG_HOME", &xdg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "depth 1: {}", err(&o));
    // import.orphan_handling from the file when the database sets none.
    write(&project, "import:\n  orphan_handling: strict\n");
    let orphan = dir.path().join("orphan.jsonl");
    std::fs::write(
        &orphan,
        "{\"id\":\"bd-nope.1\",\"title\":\"orphan\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2025-01-01T00:00:00Z\",\"updated_at\":\"2025-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let o = a.run(&["import", orphan.to_str().unwrap()]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "strict refuses the orphan: {}",
        err(&o)
    );
    let o = a
        .command(&["import", orphan.to_str().unwrap()])
        .env("BD_IMPORT_ORPHAN_HANDLING", "allow")
        .output()
        .unwrap();
    assert!(o.status.success(), "the variable wins: {}", err(&o));
}

#[test]
fn a_real_beads_export_pulled_into_a_fresh_clone_is_imported_and_keeps_its_bytes_but_the_wisps() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = Clone::new(dir.path(), "a");
    let fixture = fixtures.join("beads-issues-2667.jsonl");
    git_moves(&fixture, &a.jsonl());
    // The first command, a read, imports it. Like Go's flush after its auto-import, that
    // takes the wisps out of the file (this export has 537); every other line keeps its bytes.
    let ready = a.json(&["ready", "-n", "5"]);
    assert_eq!(ready.as_array().map(Vec::len), Some(5), "{ready}");
    let without_wisps: String = std::fs::read_to_string(&fixture)
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["ephemeral"] != true)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(without_wisps.lines().count() < 2667);
    assert_eq!(std::fs::read_to_string(a.jsonl()).unwrap(), without_wisps);
    assert_eq!(go_sees_changes(&a.db(), &a.jsonl()), (false, false));
    assert_eq!(a.json(&["info"])["jsonl_in_step"], true);
    // A write touches its own line only.
    let before = std::fs::read_to_string(a.jsonl()).unwrap();
    let id = ready[0]["id"].as_str().unwrap().to_owned();
    assert!(a
        .run(&["update", &id, "--notes", "looked at"])
        .status
        .success());
    let after = std::fs::read_to_string(a.jsonl()).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(x, y)| x != y)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(changed.len(), 1, "one line changed");
    assert!(
        changed[0].1.contains(&format!("\"id\":\"{id}\"")) && changed[0].1.contains("looked at")
    );
}
