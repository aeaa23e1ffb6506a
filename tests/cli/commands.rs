//! The command line, driven as a real child process.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

fn beadstore(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beadstore"))
        .args(args)
        .current_dir(dir)
        .env_remove("BEADS_DB")
        .output()
        .expect("run beadstore")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn init_info_doctor_checkpoint_in_a_project_directory() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("myproj");
    std::fs::create_dir_all(project.join("src/deep")).unwrap();

    let o = beadstore(&project, &["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("prefix myproj"), "{}", stdout(&o));
    let db = project.join(".beads/beads.db");
    assert!(db.is_file());

    // Discovery walks up from a subdirectory, and reads never touch the file.
    let mtime = std::fs::metadata(&db).unwrap().modified().unwrap();
    let o = beadstore(&project.join("src/deep"), &["info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(db.to_str().unwrap()), "{text}");
    assert!(text.contains("journal mode:  wal"), "{text}");
    assert!(text.contains("schema:        ok"), "{text}");
    assert!(text.contains("issue prefix:  myproj"), "{text}");

    let o = beadstore(&project.join("src"), &["--json", "info"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["path"], db.to_str().unwrap());
    assert_eq!(v["journal_mode"], "wal");
    assert_eq!(v["schema_compatible"], true);
    assert_eq!(v["issue_prefix"], "myproj");
    assert_eq!(v["issue_count"], 0);
    assert_eq!(v["wal_bytes"], 0);
    assert!(v["page_count"].as_i64().unwrap() > 10);

    let o = beadstore(&project, &["doctor"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("healthy"));
    let o = beadstore(&project, &["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["healthy"], true);
    assert_eq!(v["integrity"], serde_json::json!(["ok"]));
    assert_eq!(
        std::fs::metadata(&db).unwrap().modified().unwrap(),
        mtime,
        "read commands wrote"
    );

    let o = beadstore(&project, &["checkpoint", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["path"], db.to_str().unwrap());

    // init again with the same prefix is a no-op; --prefix changes it.
    let o = beadstore(&project, &["init"]);
    assert!(stdout(&o).contains("already initialized"), "{}", stdout(&o));
    let o = beadstore(&project, &["init", "--prefix", "mp"]);
    assert!(o.status.success());
    let o = beadstore(&project, &["--json", "info"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["issue_prefix"], "mp");
    assert_eq!(common::sqlite_integrity(&db), "ok");
}

#[test]
fn db_flag_and_env_select_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere/x.db");
    let o = beadstore(
        dir.path(),
        &["--db", db.to_str().unwrap(), "init", "--prefix", "ex"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_beadstore"))
        .args(["--json", "info"])
        .current_dir(dir.path())
        .env("BEADS_DB", &db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["issue_prefix"], "ex");
}

#[test]
fn user_errors_exit_1_and_storage_problems_exit_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    // No database anywhere above: a user error.
    let o = beadstore(dir.path(), &["info"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no beads database found"),
        "{}",
        stderr(&o)
    );
    // Bad prefix: user error naming the problem.
    let o = beadstore(dir.path(), &["init", "--prefix", "has space"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid prefix"), "{}", stderr(&o));
    // Unknown flag: a user error naming the flag.
    let o = beadstore(dir.path(), &["info", "--bogus"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--bogus"), "{}", stderr(&o));

    // A corrupt database: a storage problem with a hint.
    let beads = dir.path().join("c/.beads");
    std::fs::create_dir_all(&beads).unwrap();
    std::fs::write(beads.join("beads.db"), b"garbage, not sqlite".repeat(300)).unwrap();
    let o = beadstore(&dir.path().join("c"), &["doctor"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("corrupt"), "{}", stderr(&o));
    assert!(stderr(&o).contains("hint:"), "{}", stderr(&o));

    // An incompatible schema: doctor reports it and exits 2.
    let d = dir.path().join("old/.beads");
    std::fs::create_dir_all(&d).unwrap();
    {
        let conn = common::sqlite(&d.join("beads.db"));
        conn.execute_batch("CREATE TABLE issues (id TEXT PRIMARY KEY, title TEXT)")
            .unwrap();
    }
    let o = beadstore(&dir.path().join("old"), &["doctor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("missing tables: child_counters, comments, compaction_snapshots"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("missing columns: issues.acceptance_criteria"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn migrate_doctor_and_info_report_the_migration_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(".beads/beads.db");
    let era = &common::history::eras()[1];
    let before = common::history::build(&db, era, 25);

    // Read-only commands see an old file that needs migrating, and leave it as it is.
    let o = beadstore(dir.path(), &["--json", "info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["migrations_up_to_date"], false);
    assert_eq!(v["schema_compatible"], false);
    let o = beadstore(dir.path(), &["doctor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("needs migration"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("`beadstore migrate` would:"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("- add columns dependencies.metadata"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("- set bd_version to 0.48.0 (now 0.x)"),
        "{}",
        stdout(&o)
    );
    // A read command on the old file names the fix.
    let o = beadstore(dir.path(), &["list"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: the file has an older beads schema: run `beadstore migrate`"),
        "{}",
        stderr(&o)
    );

    let o = beadstore(dir.path(), &["--json", "migrate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["up_to_date"], false);
    assert_eq!(v["issues"], before.issues);
    assert_eq!(v["labels"], before.labels);
    let bd_version = || {
        common::sqlite(&db)
            .query_row(
                "SELECT value FROM metadata WHERE key = 'bd_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
    };
    assert_eq!(bd_version(), beadstore::GO_BD_VERSION);

    // On an up-to-date file `migrate` changes nothing: not a byte, not the time.
    let bytes = std::fs::read(&db).unwrap();
    let mtime = std::fs::metadata(&db).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = beadstore(dir.path(), &["migrate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("is up to date (schema version "),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "migrate rewrote the file"
    );
    assert_eq!(std::fs::metadata(&db).unwrap().modified().unwrap(), mtime);
    assert!(!db.with_extension("db-wal").exists());
    // `--force` runs them all again, which moves the schema cookie.
    let o = beadstore(dir.path(), &["--json", "migrate", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["up_to_date"], false);
    assert_ne!(std::fs::read(&db).unwrap(), bytes);

    let o = beadstore(dir.path(), &["--json", "doctor"]);
    assert!(o.status.success(), "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["migrations_up_to_date"], true);
    assert_eq!(v["invariant_failures"], serde_json::json!([]));
    let o = beadstore(dir.path(), &["info"]);
    assert!(
        stdout(&o).contains("migrations:    up to date"),
        "{}",
        stdout(&o)
    );

    // A broken invariant is a doctor failure that names it.
    {
        let conn = common::sqlite(&db);
        conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO labels (issue_id, label) VALUES ('ghost', 'x');").unwrap();
    }
    let o = beadstore(dir.path(), &["doctor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("foreign_keys_valid: found 1 orphaned labels"),
        "{}",
        stdout(&o)
    );

    let o = beadstore(dir.path(), &["migrate", "--list"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 40);
    assert!(stdout(&o)
        .lines()
        .next()
        .unwrap()
        .contains("dirty_issues_table"));
}

/// Read commands write nothing anywhere: no temporary files or folders (the engine's sorts and
/// hash joins stay in memory), and nothing beside the database. Watched with inotify on the
/// temporary directory the process is given and on the database's folder, on a 10,000-issue
/// project, big enough for `ready`'s and `stats`' sorts to spill had temp storage been files.
#[test]
fn read_commands_create_and_change_no_file() {
    use inotify::{Inotify, WatchMask};

    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let o = beadstore(
        dir.path(),
        &[
            "demo",
            "--issues",
            "10000",
            "--keep",
            project.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let db = project.join(".beads/beads.db");
    let busiest = {
        // Immutable: this look creates, checkpoints and removes nothing.
        let c = rusqlite::Connection::open_with_flags(
            format!("file:{}?immutable=1", db.display()),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .unwrap();
        c.query_row(
            "SELECT issue_id FROM dependencies GROUP BY issue_id ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap()
    };
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut inotify = Inotify::init().unwrap();
    let changes = WatchMask::CREATE
        | WatchMask::MODIFY
        | WatchMask::ATTRIB
        | WatchMask::DELETE
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO;
    inotify.watches().add(&tmp, changes).unwrap();
    inotify
        .watches()
        .add(db.parent().unwrap(), changes)
        .unwrap();

    let commands: Vec<Vec<&str>> = vec![
        vec!["info"],
        vec!["show", &busiest],
        vec!["list", "-n", "20"],
        vec!["list", "--all", "-n", "0"],
        vec!["ready", "-n", "10"],
        vec!["--json", "ready"],
        vec!["blocked"],
        vec!["stats"],
        vec!["dep", "tree", &busiest],
        vec!["search", "a"],
        vec!["export"],
    ];
    let mut buffer = [0u8; 4096];
    for args in commands {
        let o = Command::new(env!("CARGO_BIN_EXE_beadstore"))
            .arg("--db")
            .arg(&db)
            .args(&args)
            .env("TMPDIR", &tmp)
            .output()
            .expect("run beadstore");
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(!o.stdout.is_empty(), "{args:?} printed nothing");
        let seen: Vec<String> = match inotify.read_events(&mut buffer) {
            Ok(events) => events
                .map(|e| format!("{:?} {:?}", e.mask, e.name))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Vec::new(),
            Err(e) => panic!("inotify: {e}"),
        };
        assert!(seen.is_empty(), "{args:?} changed the disk: {seen:?}");
    }
}
