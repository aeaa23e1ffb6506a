//! Freshness: what it costs to ask "is this still my file?" on every call (inotify watch vs stat
//! vs what the Go store does), how long after a rename the store serves the new file, and a
//! reconnect against C SQLite reopening a connection (Go's reconnect) in the same run.
//!
//! `cargo bench --bench freshness` (or with `BEADSTORE_BENCH_QUICK=1`); `scripts/bench-report`
//! puts the numbers into BENCHMARKS.md.

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use beadstore::{FreshnessMode, OpenOptions, Store};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures/freshness");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn open(path: &Path, mode: FreshnessMode) -> Store {
    Store::open_with(
        path.to_str().expect("utf-8"),
        OpenOptions::new().freshness(mode),
    )
    .expect("open")
}

/// A small up-to-date beads database whose config `generation` is `generation`.
fn build(path: &Path, generation: u64) {
    let store = open(path, FreshnessMode::Off);
    store.set_config("issue_prefix", "bd").expect("prefix");
    store
        .set_config("generation", &generation.to_string())
        .expect("generation");
    store.close().expect("close");
}

/// The check alone, per call.
fn check_cost(c: &mut Criterion) {
    let dir = bench_dir();
    let path = dir.join("beads.db");
    build(&path, 0);
    let mut g = c.benchmark_group("freshness_check");
    for (name, mode) in [
        ("watch", FreshnessMode::Watch),
        ("stat", FreshnessMode::Stat),
    ] {
        let store = open(&path, mode);
        assert!(!store.file_changed());
        if mode == FreshnessMode::Watch {
            assert!(store.is_watching_file(), "inotify is not available here");
        }
        g.bench_function(name, |b| b.iter(|| black_box(store.file_changed())));
        store.close().expect("close");
    }
    // What the Go store does on each instrumented read: a mutex and os.Stat.
    let state = Mutex::new(0u64);
    g.bench_function("go_stat_and_mutex", |b| {
        b.iter(|| {
            let mut last = state.lock().expect("mutex");
            let m = std::fs::metadata(&path).expect("stat");
            *last = black_box(std::os::unix::fs::MetadataExt::ino(&m));
        });
    });
    g.finish();

    // A whole small read with each mode, and C SQLite doing the same read with no check at all.
    let mut g = c.benchmark_group("get_config");
    for (name, mode) in [
        ("beadstore", FreshnessMode::Watch),
        ("beadstore_stat", FreshnessMode::Stat),
        ("beadstore_off", FreshnessMode::Off),
    ] {
        let store = open(&path, mode);
        g.bench_function(name, |b| {
            b.iter(|| black_box(store.get_config("generation").expect("get")));
        });
        store.close().expect("close");
    }
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    g.bench_function("c_sqlite", |b| {
        b.iter(|| {
            let v: String = conn
                .query_row(
                    "SELECT value FROM config WHERE key = ?",
                    ["generation"],
                    |r| r.get(0),
                )
                .expect("sqlite get");
            black_box(v)
        });
    });
    g.finish();

    // The same read right after another process's short write (a C SQLite connection opened,
    // one commit, closed, as a CLI call does): the read takes the file lock, sees the file moved
    // and refreshes its view before answering. (An open SQLite connection in WAL mode keeps a
    // shared lock on the file, so `conn` is closed first.)
    drop(conn);
    let n = std::cell::Cell::new(0u64);
    let foreign_write = || {
        n.set(n.get() + 1);
        rusqlite::Connection::open(&path)
            .expect("sqlite writer")
            .execute(
                "INSERT OR REPLACE INTO config (key, value) VALUES ('foreign', ?)",
                [n.get().to_string()],
            )
            .expect("foreign write");
    };
    let mut g = c.benchmark_group("get_config_after_foreign_write");
    let store = open(&path, FreshnessMode::Watch);
    g.bench_function("beadstore", |b| {
        b.iter_batched(
            foreign_write,
            |_| black_box(store.get_config("foreign").expect("get")),
            BatchSize::PerIteration,
        );
    });
    store.close().expect("close");
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    g.bench_function("c_sqlite", |b| {
        b.iter_batched(
            foreign_write,
            |_| {
                let v: String = conn
                    .query_row("SELECT value FROM config WHERE key = ?", ["foreign"], |r| {
                        r.get(0)
                    })
                    .expect("sqlite get");
                black_box(v)
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
    // Its shared lock would keep the store below from opening (see above).
    drop(conn);

    // Ready work (the largest statement agents run) right after another process's commit:
    // the prepared statement survives the refresh when the schema did not change.
    let mut g = c.benchmark_group("ready_work_after_foreign_write");
    let store = open(&path, FreshnessMode::Watch);
    let filter = beadstore::ops::WorkFilter::default();
    g.bench_function("beadstore", |b| {
        b.iter_batched(
            foreign_write,
            |_| black_box(store.get_ready_work(&filter).expect("ready")),
            BatchSize::PerIteration,
        );
    });
    store.close().expect("close");
    g.finish();
}

/// A staged replacement for each iteration, renamed over the path inside the measurement.
struct Replacer {
    dir: PathBuf,
    path: PathBuf,
    template: PathBuf,
    next: std::cell::Cell<u64>,
}

impl Replacer {
    fn new(dir: &Path, path: &Path) -> Replacer {
        let template = dir.join("template.db");
        build(&template, 1);
        Replacer {
            dir: dir.to_owned(),
            path: path.to_owned(),
            template,
            next: std::cell::Cell::new(1),
        }
    }

    /// A copy of the template with a fresh inode, ready to be renamed over the path.
    fn stage(&self) -> PathBuf {
        self.next.set(self.next.get() + 1);
        let staged = self.dir.join(format!("staged-{}.db", self.next.get()));
        std::fs::copy(&self.template, &staged).expect("stage");
        staged
    }

    fn replace(&self, staged: &Path) {
        std::fs::rename(staged, &self.path).expect("rename");
    }
}

/// From `rename()` returning to the store noticing (watch: the watcher thread's event; stat:
/// the next call's stat), and to a read returning the new file's content (reconnect included).
fn latency(c: &mut Criterion) {
    let dir = bench_dir();
    let path = dir.join("beads.db");
    build(&path, 0);
    let replacer = Replacer::new(&dir, &path);

    let mut g = c.benchmark_group("replacement_detected");
    for (name, mode) in [
        ("watch", FreshnessMode::Watch),
        ("stat", FreshnessMode::Stat),
    ] {
        let store = open(&path, mode);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let staged = replacer.stage();
                    store.refresh().expect("settle");
                    replacer.replace(&staged);
                    let start = Instant::now();
                    while !store.file_changed() {
                        std::hint::spin_loop();
                    }
                    total += start.elapsed();
                    store.refresh().expect("follow");
                }
                total
            });
        });
        store.close().expect("close");
    }
    g.finish();

    // Rename, then the first read that returns the new file: detection plus reconnect. C
    // SQLite's peer is Go's reconnect: a new connection with the Go pragmas, then the read.
    let mut g = c.benchmark_group("reconnect_after_rename");
    let store = open(&path, FreshnessMode::Watch);
    g.bench_function("beadstore", |b| {
        b.iter_batched(
            || replacer.stage(),
            |staged| {
                replacer.replace(&staged);
                // A strict check, so the measurement does not depend on the watcher thread.
                assert!(store.refresh().expect("refresh"));
                black_box(store.get_config("generation").expect("get"))
            },
            BatchSize::PerIteration,
        );
    });
    store.close().expect("close");
    g.bench_function("c_sqlite", |b| {
        b.iter_batched(
            || replacer.stage(),
            |staged| {
                replacer.replace(&staged);
                let conn = rusqlite::Connection::open(&path).expect("sqlite reopen");
                conn.execute_batch(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL;",
                )
                .expect("pragmas");
                let v: String = conn
                    .query_row(
                        "SELECT value FROM config WHERE key = 'generation'",
                        [],
                        |r| r.get(0),
                    )
                    .expect("ping");
                black_box(v);
                conn
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn config() -> Criterion {
    support::config(Duration::from_secs(1), Criterion::default())
}

criterion_group! {
    name = benches;
    config = config();
    targets = check_cost, latency
}
criterion_main!(benches);
