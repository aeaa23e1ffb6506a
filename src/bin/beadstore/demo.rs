//! `beadstore demo`: the whole story on a throw-away database, with no setup and no network.
//! A generated project is imported, ready and blocked work and the statistics are shown, the
//! database file is replaced the way `git checkout` or `git pull` does (a new file renamed
//! over it) while the store is open, the store notices and follows, a checkpoint runs, and
//! the timings are printed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use beadstore::jsonl::{write_line, HtmlEscaping, ImportOptions};
use beadstore::model::Issue;
use beadstore::ops::{IssueUpdate, WorkFilter};
use beadstore::{FreshnessEvent, FreshnessMode, OpenOptions, Store};

use crate::cmd::admin::describe;
use crate::{generator, text, Failure};

/// Where the demo's database lives, removed at the end unless the user asked to keep it.
struct Workspace {
    root: PathBuf,
    keep: bool,
}

impl Workspace {
    fn new(keep: Option<&Path>) -> Result<Self, Failure> {
        let (root, keep) = match keep {
            Some(dir) => (dir.to_path_buf(), true),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!("beadstore-demo-{}-{nanos}", std::process::id());
                (std::env::temp_dir().join(name), false)
            }
        };
        if root.join(".beads").exists() {
            return Err(Failure::User(format!(
                "{} already has a .beads directory; choose an empty one",
                root.display()
            )));
        }
        std::fs::create_dir_all(root.join(".beads"))
            .map_err(|e| Failure::User(format!("cannot create {}: {e}", root.display())))?;
        Ok(Workspace { root, keep })
    }

    fn db(&self) -> PathBuf {
        self.root.join(".beads").join("beads.db")
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = work();
    (value, start.elapsed())
}

fn path_str(p: &Path) -> Result<String, Failure> {
    p.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Failure::User(format!("{} is not valid UTF-8", p.display())))
}

pub fn run(issues: usize, seed: u64, keep: Option<&Path>, json: bool) -> Result<(), Failure> {
    // The tour as text; with --json only the summary at the end.
    macro_rules! say {
        ($($arg:tt)*) => {
            if !json {
                println!($($arg)*);
            }
        };
    }
    if !(10..=200_000).contains(&issues) {
        return Err(Failure::User(
            "--issues must be between 10 and 200000".into(),
        ));
    }
    let ws = Workspace::new(keep)?;
    let db = path_str(&ws.db())?;
    say!(
        "== beadstore demo: {issues} generated issues (seed {seed}) in {}",
        ws.root.display()
    );

    // 1. Create the database and fill it.
    let (store, create) = timed(|| Store::open(&db));
    let store = store?;
    store.set_config("issue_prefix", "demo")?;
    let mut jsonl = Vec::new();
    for issue in generator::project("demo", issues, seed) {
        write_line(&mut jsonl, &issue, HtmlEscaping::On)
            .map_err(|e| Failure::User(format!("generator produced bad JSON: {e}")))?;
    }
    let (summary, import) = timed(|| {
        store.import_jsonl_text(
            &jsonl,
            "generated project",
            &ImportOptions::default().actor("demo"),
        )
    });
    let summary = summary?;
    say!(
        "created the database in {}, imported {} issues ({} dependencies, {} labels, {} comments) in {}",
        ms(create),
        summary.created,
        summary.dependencies_added,
        summary.labels_added,
        summary.comments_added,
        ms(import)
    );
    store.close()?;

    // 2. A cold open of the existing database, as every command does.
    let (store, open) = timed(|| Store::open(&db));
    let store = std::sync::Arc::new(store?);
    let (reader, open_ro) = timed(|| {
        OpenOptions::new()
            .read_only(true)
            .freshness(FreshnessMode::Off)
            .open(&db)
    });
    reader?.close()?;

    // 3. Ready work, blocked work, statistics.
    let filter = WorkFilter::default().limit(5);
    let (ready, ready_time) = timed(|| store.get_ready_work(&filter));
    let ready = ready?;
    say!("\n== ready work (top {}):", ready.len());
    for issue in &ready {
        say!("  {}", text::line(issue));
    }
    let blocked = store.get_blocked_issues(&WorkFilter::default())?;
    say!("\n== blocked work ({} issues; first 5):", blocked.len());
    for b in blocked.iter().take(5) {
        say!("  {}  <- {}", text::line(&b.issue), b.blocked_by.join(", "));
    }
    let stats = store.get_statistics()?;
    say!(
        "\n== stats: {} issues, {} open, {} in progress, {} closed, {} ready, {} blocked",
        stats.total_issues,
        stats.open_issues,
        stats.in_progress_issues,
        stats.closed_issues,
        stats.ready_issues,
        stats.blocked_issues
    );

    // 4. A teammate's version of the database arrives the way git delivers it, while the
    //    store is open; a monitor (what a daemon runs) follows it as it happens.
    let monitor = store.monitor(Duration::from_millis(50));
    let (merged, renamed_at) = replace_like_git(&store, &ws)?;
    say!("\n== the database file was replaced under the open store (a new file renamed over it):");
    let mut reconnect = None;
    let deadline = renamed_at + Duration::from_secs(5);
    while let Ok(event) = monitor
        .events()
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        say!("  {}", describe(&event, false));
        match event {
            FreshnessEvent::Reconnected { .. } => {
                reconnect = Some(renamed_at.elapsed());
                break;
            }
            FreshnessEvent::ReconnectFailed { .. } => break,
            _ => {}
        }
    }
    drop(monitor);
    let reconnect = reconnect.ok_or_else(|| {
        Failure::User("the store did not follow the replaced file within 5 s".into())
    })?;
    match store.get_issue(&merged.id)? {
        Some(issue) => say!("  the next read sees the new file: {}", text::line(&issue)),
        None => say!("  (the next read did not see the new issue: the replacement was missed)"),
    }

    // 5. Some writes, then a checkpoint.
    for issue in ready.iter().take(3) {
        store.update_issue(
            &issue.id,
            &IssueUpdate::default().notes("Picked up during the demo."),
            "demo",
        )?;
    }
    let (checkpoint, checkpoint_time) = timed(|| store.checkpoint());
    let checkpoint = checkpoint?;
    say!(
        "\n== checkpoint: {} WAL frames copied into the database file",
        checkpoint.checkpointed_frames
    );
    let (closed, close_time) = timed(|| store.close());
    closed?;

    say!("\n== timings");
    say!("  create database        {}", ms(create));
    say!("  import {issues:>6} issues   {}", ms(import));
    say!("  open (read-write)      {}", ms(open));
    say!("  open (read-only, 2nd)  {}", ms(open_ro));
    say!("  ready work (top 5)     {}", ms(ready_time));
    say!("  rename -> reconnected  {}", ms(reconnect));
    say!("  checkpoint             {}", ms(checkpoint_time));
    say!("  close                  {}", ms(close_time));
    if ws.keep {
        say!("\nthe database is kept at {db}");
    }
    if json {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        crate::cmd::print_json(&serde_json::json!({
            "database": db,
            "kept": ws.keep,
            "issues": summary.created,
            "dependencies": summary.dependencies_added,
            "ready_top": ready.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            "blocked": blocked.len(),
            "reconnected": true,
            "checkpointed_frames": checkpoint.checkpointed_frames,
            "timings_ms": {
                "create": ms(create),
                "import": ms(import),
                "open_read_write": ms(open),
                "open_read_only": ms(open_ro),
                "ready": ms(ready_time),
                "rename_to_reconnected": ms(reconnect),
                "checkpoint": ms(checkpoint_time),
                "close": ms(close_time),
            },
        }));
    }
    Ok(())
}

/// Makes a copy of the database, changes it through another store (one issue added), and
/// renames it over the original, as `git checkout` does with a tracked file. Returns the issue
/// that exists only in the new file and when the rename happened.
fn replace_like_git(store: &Store, ws: &Workspace) -> Result<(Issue, Instant), Failure> {
    store.checkpoint()?;
    let incoming = ws.root.join(".beads").join("beads.db.incoming");
    let io = |e: std::io::Error| Failure::User(format!("demo file copy failed: {e}"));
    std::fs::copy(ws.db(), &incoming).map_err(io)?;
    let theirs = OpenOptions::new()
        .freshness(FreshnessMode::Off)
        .open(&incoming)?;
    let mut issue = Issue::new("Merged from a teammate's branch");
    issue.priority = 0;
    let merged = theirs.create_issue(issue, "teammate")?;
    theirs.close()?;
    for sidecar in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{sidecar}", incoming.display()));
    }
    std::fs::rename(&incoming, ws.db()).map_err(io)?;
    Ok((merged, Instant::now()))
}
