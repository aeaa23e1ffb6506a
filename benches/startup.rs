//! Startup and close/checkpoint latency: beadstore against C SQLite (rusqlite, bundled) doing the
//! same work with the Go store's semantics, in the same run.
//!
//! `cargo bench --bench startup` (full) or `BEADSTORE_BENCH_QUICK=1 cargo bench` (a few seconds
//! per benchmark); `scripts/bench-report` turns criterion's output into BENCHMARKS.md.

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use beadstore::{params, OpenOptions, Store};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const FIRST_QUERY: &str = "SELECT count(*) FROM issues WHERE status = 'open'";

fn fixtures_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&dir).expect("fixture dir");
    dir
}

/// A beads database with `n` issues, 2n dependencies and n labels, written by beadstore (so it
/// is up to date), cached between runs.
fn fixture(n: usize) -> PathBuf {
    let path = fixtures_dir().join(format!("beads-{n}.db"));
    if path.exists() {
        return path;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let store = Store::open(tmp.to_str().expect("utf-8")).expect("create fixture");
    store.set_config("issue_prefix", "bd").expect("prefix");
    store
        .transaction(|tx| -> beadstore::Result<_> {
            for i in 0..n {
                let status = ["open", "open", "in_progress", "closed", "blocked"][i % 5];
                let closed_at = (status == "closed").then_some("2026-01-01T00:00:00Z");
                tx.execute(
                    "INSERT INTO issues (id, title, description, status, priority, closed_at) VALUES (?, ?, ?, ?, ?, ?)",
                    &params![format!("bd-{i}"), format!("Issue {i}"), "d".repeat(i % 200), status, (i % 5) as i64, closed_at],
                )?;
                tx.execute("INSERT INTO labels (issue_id, label) VALUES (?, ?)", &params![format!("bd-{i}"), format!("l{}", i % 10)])?;
                for k in 1..=2 {
                    if i >= k * 7 {
                        tx.execute(
                            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_by) VALUES (?, ?, 'blocks', 'bench')",
                            &params![format!("bd-{i}"), format!("bd-{}", i - k * 7)],
                        )?;
                    }
                }
            }
            Ok(())
        })
        .expect("fill fixture");
    store.close().expect("close fixture");
    let _ = std::fs::remove_file(crate_wal(&tmp));
    std::fs::rename(&tmp, &path).expect("publish fixture");
    path
}

fn crate_wal(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

fn first_query_sqlite(conn: &rusqlite::Connection) -> i64 {
    conn.query_row(FIRST_QUERY, [], |r| r.get(0))
        .expect("first query")
}

fn first_query(store: &Store) -> i64 {
    store.query(FIRST_QUERY, &[]).expect("first query")[0][0]
        .as_i64()
        .unwrap_or(0)
}

fn startup(c: &mut Criterion) {
    for n in [1_000usize, 10_000] {
        let path = fixture(n);
        let p = path.to_str().expect("utf-8").to_owned();
        let label = if n == 1_000 { "1k" } else { "10k" };

        // Read-write open of an up-to-date file, first query included. The store (and the C
        // connection) is closed outside the measured region.
        let mut g = c.benchmark_group(format!("startup_rw_{label}"));
        g.bench_function("beadstore", |b| {
            b.iter_batched(
                || (),
                |_| {
                    let store = Store::open(&p).expect("open");
                    black_box(first_query(&store));
                    store
                },
                BatchSize::PerIteration,
            );
        });
        g.bench_function("c_sqlite", |b| {
            b.iter_batched(
                || (),
                |_| {
                    let conn = support::c_open_go(&path);
                    black_box(first_query_sqlite(&conn));
                    conn
                },
                BatchSize::PerIteration,
            );
        });
        g.finish();

        let mut g = c.benchmark_group(format!("startup_ro_{label}"));
        g.bench_function("beadstore", |b| {
            b.iter_batched(
                || (),
                |_| {
                    let store = Store::open_read_only(&p).expect("open ro");
                    black_box(first_query(&store));
                    store
                },
                BatchSize::PerIteration,
            );
        });
        g.bench_function("c_sqlite", |b| {
            b.iter_batched(
                || (),
                |_| {
                    let conn = rusqlite::Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )
                    .expect("sqlite ro");
                    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;")
                        .expect("pragmas");
                    black_box(first_query_sqlite(&conn));
                    conn
                },
                BatchSize::PerIteration,
            );
        });
        g.finish();
    }

    // What every open cost before the migration skip: open plus a full migration run (Go runs
    // all 40 migrations and rebuilds `dependencies` on every read-write open).
    let path = fixture(10_000);
    let p = path.to_str().expect("utf-8").to_owned();
    let mut g = c.benchmark_group("startup_rw_10k_full_migration");
    g.bench_function("beadstore", |b| {
        b.iter_batched(
            || (),
            |_| {
                let store = Store::open(&p).expect("open");
                store.migrate_all().expect("migrate");
                black_box(first_query(&store));
                store
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

/// `close()` after N committed single-row transactions: the TRUNCATE checkpoint plus teardown.
/// Both peers start each iteration from a copy of the same up-to-date, checkpointed beads
/// database, make `commits` single-row commits, and close (TRUNCATE checkpoint): only the
/// commits' frames are in the WAL.
fn checkpoint(c: &mut Criterion) {
    let dir = fixtures_dir().join("checkpoint");
    std::fs::create_dir_all(&dir).expect("dir");
    let template = dir.join("template.db");
    if !template.exists() {
        let store = Store::open(template.to_str().expect("utf-8")).expect("template");
        store.close().expect("close template");
        let _ = std::fs::remove_file(crate_wal(&template));
    }
    let fresh = |path: &Path| {
        let _ = std::fs::remove_file(crate_wal(path));
        std::fs::copy(&template, path).expect("copy template");
    };
    for commits in [10usize, 100, 1_000] {
        let mut g = c.benchmark_group(format!("close_truncate_after_{commits}_commits"));
        let bs_path = dir.join(format!("bs-{commits}.db"));
        let sq_path = dir.join(format!("sq-{commits}.db"));
        let bs = bs_path.to_str().expect("utf-8").to_owned();
        g.bench_function("beadstore", |b| {
            b.iter_batched(
                || {
                    fresh(&bs_path);
                    let store = Store::open_with(&bs, OpenOptions::new()).expect("open");
                    for i in 0..commits {
                        store
                            .execute(
                                "INSERT INTO metadata (key, value) VALUES (?, 'v')",
                                &params![format!("k{i}")],
                            )
                            .expect("commit");
                    }
                    store
                },
                |store| store.close().expect("close"),
                BatchSize::PerIteration,
            );
        });
        g.bench_function("c_sqlite", |b| {
            b.iter_batched(
                || {
                    fresh(&sq_path);
                    let conn = rusqlite::Connection::open(&sq_path).expect("open");
                    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;")
                        .expect("setup");
                    for i in 0..commits {
                        conn.execute(
                            "INSERT INTO metadata (key, value) VALUES (?, 'v')",
                            [format!("k{i}")],
                        )
                        .expect("commit");
                    }
                    conn
                },
                |conn| {
                    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                        .expect("checkpoint");
                    drop(conn);
                },
                BatchSize::PerIteration,
            );
        });
        g.finish();
    }
}

/// The whole command as a user runs it: exec the binary, open the 10k database read-only,
/// probe and count, print, close, exit. C SQLite's peer is the `sqlite3` shell doing one count
/// read-only (skipped when it is not installed).
fn process_cold_start(c: &mut Criterion) {
    let path = fixture(10_000);
    let p = path.to_str().expect("utf-8").to_owned();
    let mut g = c.benchmark_group("process_info_10k");
    g.bench_function("beadstore", |b| {
        b.iter(|| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_beadstore"))
                .args(["--db", &p, "info"])
                .output()
                .expect("run beadstore");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            black_box(out.stdout.len())
        });
    });
    let shell = std::process::Command::new("sqlite3")
        .arg("--version")
        .output();
    if shell.is_ok_and(|o| o.status.success()) {
        g.bench_function("c_sqlite", |b| {
            b.iter(|| {
                let out = std::process::Command::new("sqlite3")
                    .args(["-readonly", &p, "SELECT count(*) FROM issues"])
                    .output()
                    .expect("run sqlite3");
                assert!(out.status.success());
                black_box(out.stdout.len())
            });
        });
    } else {
        eprintln!("process_info_10k: no sqlite3 shell installed, beadstore only");
    }
    g.finish();
}

fn config() -> Criterion {
    support::config(
        Duration::from_secs(1),
        Criterion::default()
            .sample_size(50)
            .measurement_time(Duration::from_secs(4)),
    )
}

criterion_group! {
    name = benches;
    config = config();
    targets = startup, checkpoint, process_cold_start
}
criterion_main!(benches);
