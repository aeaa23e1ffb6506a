//! Helpers shared by the integration tests: temp databases, sidecar checks, child processes.
#![allow(dead_code)]

pub mod history;
pub mod issues;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> TempDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(".beads").join("beads.db");
        TempDb { dir, path }
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("utf-8 temp path")
    }

    pub fn wal(&self) -> PathBuf {
        sidecar(&self.path, "-wal")
    }

    /// Names of every file in the database's directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path.parent().expect("parent"))
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

pub fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The test helper binary (a real second process), built by the `testkit` feature.
pub fn testkit() -> Command {
    match option_env!("CARGO_BIN_EXE_beadstore-testkit") {
        Some(path) => Command::new(path),
        None => panic!(
            "this test drives the beadstore-testkit helper: run it with --features testkit \
             (the README's `cargo test --all-features` does)"
        ),
    }
}

/// Starts the testkit with `args`, its stdout piped for line-by-line reading.
pub fn spawn_testkit(args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = testkit()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn beadstore-testkit");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    (child, out)
}

/// Reads lines until one equals `want`; panics if the child ends first.
pub fn wait_for_line(out: &mut BufReader<ChildStdout>, want: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read child stdout");
        assert!(n > 0, "child exited before printing {want:?}");
        if line.trim_end() == want {
            return;
        }
    }
}

/// Opens a file with real SQLite (only call when no beadstore store has it open in this process:
/// closing SQLite's descriptor would drop this process's POSIX locks on the file).
pub fn sqlite(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("real sqlite opens the file")
}

pub fn sqlite_integrity(path: &Path) -> String {
    let conn = sqlite(path);
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// The fixtures directory beside the repository, if present.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/fixtures is missing under CI"
        );
        eprintln!("skipping: ../shared/fixtures is absent");
        None
    }
}
