//! The command line end to end, as a user drives it: a whole session on a real database, every
//! error path with its exit code, read commands that never touch the file, help and
//! completions, the demo, `watch`, and snapshots of the human output.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        p.ok(&["init", "--prefix", "bd"]);
        p
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> PathBuf {
        self.root().join(".beads/beads.db")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_beadstore"))
            .args(args)
            .current_dir(self.root())
            .env_remove("BEADS_DB")
            .env("BD_ACTOR", "tester")
            .output()
            .expect("run beadstore")
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}{}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    }

    /// Runs a command with `--json` and parses what it prints.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// Creates an issue and returns its id.
    fn create(&self, args: &[&str]) -> String {
        let mut all = vec!["create"];
        all.extend_from_slice(args);
        self.json(&all)["id"].as_str().unwrap().to_owned()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_whole_session_from_init_to_a_second_database() {
    let p = Project::new();
    let epic = p.create(&["Ship the release", "-t", "epic", "-p", "1"]);
    let design = p.create(&["Design the format", "--parent", &epic, "-l", "design"]);
    assert_eq!(design, format!("{epic}.1"), "a hierarchical child id");
    // `--json create` answers with the issue as stored, labels included.
    let labelled = Project::new().json(&["create", "Labelled", "-l", "zeta", "-l", "alpha"]);
    assert_eq!(labelled["labels"], serde_json::json!(["alpha", "zeta"]));
    let build = p.create(&[
        "Build it",
        "-p",
        "0",
        "--deps",
        &format!("blocks:{design}"),
        "-d",
        "The code",
        "--assignee",
        "alice",
        "--external-ref",
        "gh-7",
    ]);
    let docs = p.create(&["Write the docs", "-t", "chore"]);
    p.ok(&["dep", "add", &docs, &build]);
    p.ok(&["label", "add", "docs", &docs]);
    p.ok(&["comment", "add", &build, "Started on the parser"]);

    let ready = ids(&p.json(&["ready"]));
    assert!(ready.contains(&design), "{ready:?}");
    assert!(
        !ready.contains(&build) && !ready.contains(&docs),
        "{ready:?}"
    );
    let blocked = p.json(&["blocked"]);
    assert_eq!(blocked.as_array().unwrap().len(), 2, "{blocked}");

    let closed = p.json(&["close", &design, "--reason", "Agreed"]);
    assert_eq!(ids(&closed["unblocked"]), std::slice::from_ref(&build));
    let ready = ids(&p.json(&["ready"]));
    assert!(
        ready.contains(&build) && !ready.contains(&design),
        "{ready:?}"
    );

    p.ok(&[
        "update",
        &build,
        "--status",
        "in_progress",
        "--notes",
        "half way",
    ]);
    let shown = p.json(&["show", &build]);
    assert_eq!(shown[0]["status"], "in_progress");
    assert_eq!(shown[0]["notes"], "half way");
    assert_eq!(shown[0]["external_ref"], "gh-7");
    assert_eq!(shown[0]["comments"][0]["text"], "Started on the parser");
    assert_eq!(shown[0]["dependents"][0]["id"], docs);
    p.ok(&["reopen", &design]);
    assert_eq!(p.json(&["show", &design])[0]["status"], "open");
    let stats = p.json(&["stats"]);
    assert_eq!(stats["total_issues"], 4);

    // Export, import into a second database, and compare the exports.
    let exported = p.root().join("issues.jsonl");
    p.ok(&["export", "-o", exported.to_str().unwrap()]);
    let second = tempfile::tempdir().unwrap();
    let second_db = second.path().join(".beads/beads.db");
    let second_db = second_db.to_str().unwrap();
    let summary = p.json(&["--db", second_db, "import", exported.to_str().unwrap()]);
    assert_eq!(summary["created"], 4, "{summary}");
    let again = p.json(&["--db", second_db, "import", exported.to_str().unwrap()]);
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(4))
    );
    let first_text = std::fs::read_to_string(&exported).unwrap();
    let second_text = p.ok(&["--db", second_db, "export"]);
    assert_eq!(
        first_text, second_text,
        "the second database exports the same bytes"
    );
    assert_eq!(
        p.ok(&["--db", second_db, "config", "get", "issue_prefix"])
            .trim(),
        "bd"
    );

    p.ok(&["delete", &docs]);
    assert_eq!(p.json(&["show", &docs])[0]["status"], "tombstone");
    assert_eq!(common::sqlite_integrity(&p.db()), "ok");
}

#[test]
fn every_error_path_has_its_exit_code_and_names_the_problem() {
    let p = Project::new();
    let a = p.create(&["A"]);
    let b = p.create(&["B", "--deps", &a]);

    let user_error = |args: &[&str], needle: &str| {
        let o = p.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{args:?} should name {needle:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
    };
    user_error(&["show", "bd-nope"], "bd-nope");
    user_error(&["close", "bd-nope"], "bd-nope");
    user_error(&["update", "bd-nope", "--title", "x"], "bd-nope");
    user_error(&["reopen", "bd-nope"], "bd-nope");
    user_error(&["delete", "bd-nope"], "bd-nope");
    user_error(&["label", "add", "x", "bd-nope"], "bd-nope");
    user_error(&["comment", "add", "bd-nope", "hi"], "bd-nope");
    user_error(&["dep", "add", "bd-nope", &a], "bd-nope");
    user_error(&["dep", "tree", "bd-nope"], "bd-nope");
    user_error(&["create", "x", "-p", "9"], "--priority");
    user_error(&["create", "x", "-t", "spaceship"], "spaceship");
    user_error(&["create", &"t".repeat(501)], "500");
    user_error(&["ready", "--sort", "random"], "--sort");
    user_error(&["list", "--frobnicate"], "--frobnicate");
    user_error(&["update", &a], "nothing to update");
    user_error(&["dep", "add", &a, &b], "cycle");
    user_error(&["delete", &a], &b);
    user_error(&["import", "missing.jsonl"], "missing.jsonl");
    user_error(
        &["import", "--orphan-handling", "maybe", "x.jsonl"],
        "maybe",
    );
    std::fs::write(
        p.root().join("bad.jsonl"),
        "{\"id\":\"bd-z\",\"title\":\"z\"}\n{oops\n",
    )
    .unwrap();
    user_error(&["import", "bad.jsonl"], ":2:");
    let empty = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_beadstore"))
        .arg("list")
        .current_dir(empty.path())
        .env_remove("BEADS_DB")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no beads database found"),
        "{}",
        stderr(&o)
    );

    // Storage problems: exit 2 and a one-line hint.
    let storage_error = |args: &[&str], dir: &Path, needle: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_beadstore"))
            .args(args)
            .current_dir(dir)
            .env_remove("BEADS_DB")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(needle),
            "{args:?} should mention {needle:?}: {err}"
        );
        let hints: Vec<&str> = err.lines().filter(|l| l.starts_with("hint: ")).collect();
        assert_eq!(hints.len(), 1, "{err}");
    };
    // Locked: another process holds the database for writing.
    let db = p.db();
    let (mut holder, mut out) = common::spawn_testkit(&["hold", db.to_str().unwrap(), "3000"]);
    common::wait_for_line(&mut out, "ready");
    let short_wait = format!("file:{}?_pragma=busy_timeout(200)", db.display());
    storage_error(&["--db", &short_wait, "create", "x"], p.root(), "locked");
    holder.wait().unwrap();
    // Corrupt: not a database at all.
    let corrupt = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(corrupt.path().join(".beads")).unwrap();
    std::fs::write(
        corrupt.path().join(".beads/beads.db"),
        b"not sqlite ".repeat(500),
    )
    .unwrap();
    storage_error(&["list"], corrupt.path(), "corrupt");
    // Incompatible: a beads-looking file missing what beadstore needs, opened read-only.
    let old = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(old.path().join(".beads")).unwrap();
    common::sqlite(&old.path().join(".beads/beads.db"))
        .execute_batch("CREATE TABLE issues (id TEXT PRIMARY KEY, title TEXT)")
        .unwrap();
    storage_error(&["list"], old.path(), "incompatible");
    // Read-only asked for, write attempted.
    storage_error(&["--read-only", "create", "x"], p.root(), "read-only");
}

#[test]
fn read_commands_never_touch_the_file() {
    let p = Project::new();
    let a = p.create(&["A", "-l", "x"]);
    p.create(&["B", "--deps", &a]);
    p.ok(&["checkpoint"]);
    let wal = common::sidecar(&p.db(), "-wal");
    let _ = std::fs::remove_file(&wal);
    let before = std::fs::read(p.db()).unwrap();
    let mtime = std::fs::metadata(p.db()).unwrap().modified().unwrap();
    let listing = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let files = listing(&p.root().join(".beads"));
    for args in [
        vec!["list"],
        vec!["show", a.as_str()],
        vec!["ready"],
        vec!["blocked"],
        vec!["stale", "--days", "0"],
        vec!["stats"],
        vec!["dep", "tree", a.as_str()],
        vec!["dep", "cycles"],
        vec!["label", "list", a.as_str()],
        vec!["comment", "list", a.as_str()],
        vec!["config", "get", "issue_prefix"],
        vec!["config", "list"],
        vec!["export"],
        vec!["info"],
        vec!["doctor"],
    ] {
        p.ok(&args);
        if args[0] != "export" {
            p.json(&args);
        }
    }
    assert_eq!(std::fs::read(p.db()).unwrap(), before, "same bytes");
    assert_eq!(
        std::fs::metadata(p.db()).unwrap().modified().unwrap(),
        mtime
    );
    assert_eq!(
        listing(&p.root().join(".beads")),
        files,
        "nothing created beside it"
    );
}

#[test]
fn help_is_complete_and_completions_are_generated() {
    let p = Project::new();
    let top = p.ok(&["--help"]);
    for command in [
        "init",
        "create",
        "show",
        "list",
        "update",
        "close",
        "reopen",
        "delete",
        "dep",
        "label",
        "comment",
        "ready",
        "blocked",
        "stale",
        "stats",
        "config",
        "export",
        "import",
        "migrate",
        "checkpoint",
        "doctor",
        "info",
        "watch",
        "demo",
        "completions",
    ] {
        assert!(top.contains(command), "--help lists {command}");
        let help = p.ok(&[command, "--help"]);
        assert!(
            help.contains("Usage: beadstore"),
            "{command} --help: {help}"
        );
    }
    for (path, flag) in [
        (vec!["create", "--help"], "--external-ref"),
        (vec!["list", "--help"], "--label"),
        (vec!["delete", "--help"], "--dry-run"),
        (vec!["dep", "add", "--help"], "--type"),
        (vec!["export", "--help"], "--output"),
        (vec!["import", "--help"], "--orphan-handling"),
    ] {
        assert!(p.ok(&path).contains(flag), "{path:?} documents {flag}");
    }
    assert!(p.ok(&["--version"]).starts_with("beadstore "));
    for shell in ["bash", "zsh", "fish"] {
        let script = p.ok(&["completions", shell]);
        assert!(
            script.contains("beadstore") && script.contains("checkpoint"),
            "{shell}"
        );
    }
}

#[test]
fn the_demo_runs_with_no_setup_and_reports_the_reconnect() {
    let keep = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_beadstore"))
        .args(["demo", "--issues", "80", "--keep"])
        .arg(keep.path())
        .env_remove("BEADS_DB")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for needle in [
        "imported 80 issues",
        "== ready work",
        "== blocked work",
        "== stats",
        "reconnected:",
        "the next read sees the new file",
        "== checkpoint",
        "rename -> reconnected",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // With --json, only a summary with the timings.
    let o = Command::new(env!("CARGO_BIN_EXE_beadstore"))
        .args(["--json", "demo", "--issues", "30"])
        .env_remove("BEADS_DB")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(summary["issues"], 30);
    assert_eq!(summary["reconnected"], true);
    assert!(
        summary["timings_ms"]["rename_to_reconnected"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // The database it leaves behind is whole: 81 issues (the teammate's included).
    let store =
        beadstore::Store::open_read_only(keep.path().join(".beads/beads.db").to_str().unwrap())
            .unwrap();
    let n = store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0].as_i64();
    assert_eq!(n, Some(81));
    store.close().unwrap();
    assert_eq!(
        common::sqlite_integrity(&keep.path().join(".beads/beads.db")),
        "ok"
    );
}

#[test]
fn watch_prints_replacements_as_they_happen() {
    use std::io::BufRead;
    let p = Project::new();
    p.create(&["A"]);
    let copy = p.root().join(".beads/incoming.db");
    std::fs::copy(p.db(), &copy).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_beadstore"))
        .args(["--json", "watch", "--count", "2", "--poll-ms", "20"])
        .current_dir(p.root())
        .env_remove("BEADS_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::rename(&copy, p.db()).unwrap();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let second: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "replaced", "{first}");
    assert_eq!(second["event"], "reconnected", "{second}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn human_output_snapshots() {
    let p = Project::new();
    let created = p.ok(&[
        "create",
        "Parser rewrite",
        "--id",
        "bd-aaa",
        "-t",
        "epic",
        "-p",
        "1",
    ]);
    assert_eq!(created, "Created bd-aaa: Parser rewrite\n");
    p.ok(&[
        "create",
        "Tokenizer",
        "--id",
        "bd-aaa.1",
        "-p",
        "0",
        "--assignee",
        "alice",
    ]);
    p.ok(&[
        "create",
        "Grammar",
        "--id",
        "bd-aaa.2",
        "--deps",
        "blocks:bd-aaa.1",
        "-l",
        "core",
    ]);
    p.ok(&["dep", "add", "bd-aaa.1", "bd-aaa", "--type", "parent-child"]);
    p.ok(&["comment", "add", "bd-aaa.1", "Needs unicode tests"]);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", "[time]");
    settings.bind(|| {
        insta::assert_snapshot!("list", p.ok(&["list"]));
        insta::assert_snapshot!("ready", p.ok(&["ready", "--sort", "priority"]));
        insta::assert_snapshot!("blocked", p.ok(&["blocked"]));
        insta::assert_snapshot!("show", p.ok(&["show", "bd-aaa.1"]));
        insta::assert_snapshot!("tree", p.ok(&["dep", "tree", "bd-aaa.2"]));
        insta::assert_snapshot!("stats", p.ok(&["stats"]));
    });
}

#[test]
fn a_long_import_shows_a_progress_bar_on_a_terminal_and_none_otherwise() {
    let p = Project::new();
    let file = p.root().join("big.jsonl");
    let mut text = String::new();
    for i in 0..1500 {
        text.push_str(&format!(
            "{{\"id\":\"bd-p{i}\",\"title\":\"Issue {i}\",\"description\":\"{}\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2025-03-01T10:00:00Z\",\"updated_at\":\"2025-03-01T10:00:00Z\"}}\n",
            "x".repeat(200)
        ));
    }
    std::fs::write(&file, &text).unwrap();
    assert!(text.len() > 256 * 1024);

    // Not a terminal: no bar, just the summary.
    let o = p.run(&["import", "big.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("importing ["), "{}", stderr(&o));
    assert!(stdout(&o).contains("1500 created"), "{}", stdout(&o));

    // On a terminal (`script` gives the command a pseudo-terminal): the bar, then the summary.
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`script` is missing under CI"
        );
        eprintln!("skipping the terminal half: no `script` command");
        return;
    }
    let second = tempfile::tempdir().unwrap();
    let db = second.path().join(".beads/beads.db");
    let command = format!(
        "{} --db {} import {}",
        env!("CARGO_BIN_EXE_beadstore"),
        db.display(),
        file.display()
    );
    let o = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("BEADS_DB")
        .output()
        .unwrap();
    let shown = stdout(&o);
    assert!(o.status.success(), "{shown}{}", stderr(&o));
    assert!(shown.contains("importing ["), "{shown}");
    assert!(shown.contains("1500/1500"), "{shown}");
    assert!(shown.contains("1500 created"), "{shown}");
}
