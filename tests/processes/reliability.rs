//! Reliability with real processes: long-lived stores beside short processes writing and reading
//! one file, a lock holder and a writer SIGKILLed, and stock SQLite (a Python `sqlite3` process) holding the file
//! beside us. Every acknowledged write must be there afterwards and real SQLite's
//! `integrity_check` must say ok.
//!
//! Longer runs (the 60 s soak): `BEADSTORE_SOAK_SECS=60 BEADSTORE_KILLS=1000 cargo test --all-features --test
//! reliability -- --nocapture` (the figures are printed).

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spawn(args: &[&str]) -> Child {
    common::testkit()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn beadstore-testkit")
}

/// Titles present in the database, read by real SQLite.
fn titles(db: &Path) -> BTreeSet<String> {
    let conn = common::sqlite(db);
    let mut stmt = conn.prepare("SELECT title FROM issues").unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    rows
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A long-lived store in a child process (`beadstore-testkit follow`), asked one command at a
/// time over its standard input.
struct Follower {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    call_micros: Vec<u64>,
}

impl Follower {
    fn start(db: &str, mode: &str) -> Follower {
        let mut child = common::testkit()
            .args(["follow", db, mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn beadstore-testkit follow");
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        common::wait_for_line(&mut output, "opened");
        Follower {
            child,
            input,
            output,
            call_micros: Vec::new(),
        }
    }

    /// Sends one command and returns its one-line answer.
    fn ask(&mut self, command: &str) -> String {
        let asked = Instant::now();
        writeln!(self.input, "{command}").unwrap();
        self.input.flush().unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        self.call_micros.push(asked.elapsed().as_micros() as u64);
        assert!(!line.is_empty(), "the follower died on {command:?}");
        line.trim_end().to_owned()
    }

    /// The issue titled `title` is visible to this store's next call.
    fn assert_sees(&mut self, title: &str) {
        assert_eq!(self.ask(&format!("check {title}")), format!("seen {title}"));
    }

    fn close(self) -> Vec<u64> {
        let Follower {
            mut child,
            input,
            mut output,
            call_micros,
        } = self;
        drop(input);
        common::wait_for_line(&mut output, "closed");
        assert!(child.wait().unwrap().success());
        call_micros
    }
}

#[test]
fn long_lived_stores_and_short_processes_share_one_file_and_lose_nothing() {
    let t = common::TempDb::new();
    let db = t.path_str().to_owned();
    beadstore::Store::open(&db)
        .and_then(|s| {
            s.set_config("issue_prefix", "mp")?;
            s.close()
        })
        .unwrap();
    // Two stores stay open for the whole run, as a daemon and a `watch` would.
    let mut long_rw = Follower::start(&db, "rw");
    let mut long_ro = Follower::start(&db, "ro");

    let secs = env_number("BEADSTORE_SOAK_SECS", 10);
    let millis = (secs * 1000).to_string();
    let writers = 4;
    let readers = 2;
    let started = Instant::now();
    let mut children: Vec<Child> = (0..writers)
        .map(|w| spawn(&["worker", &db, &millis, &format!("w{w}")]))
        .collect();
    children.extend((0..readers).map(|_| spawn(&["reader", &db, &millis])));
    let (lines, received) = std::sync::mpsc::channel();
    for child in &mut children {
        let out = BufReader::new(child.stdout.take().unwrap());
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    drop(lines);

    let mut acked = BTreeSet::new();
    let mut waits = Vec::new();
    let mut locked = 0;
    let mut sessions = 0;
    let mut own = 0;
    for line in received {
        if let Some(title) = line.strip_prefix("ack ") {
            acked.insert(title.to_owned());
            // The write was acknowledged: each long-lived store sees it on its next call.
            long_rw.assert_sees(title);
            long_ro.assert_sees(title);
            if acked.len() % 10 == 0 {
                own += 1;
                let title = format!("long-{own}");
                assert_eq!(
                    long_rw.ask(&format!("create {title}")),
                    format!("ack {title}")
                );
                long_ro.assert_sees(&title);
                acked.insert(title);
            }
            if acked.len() % 25 == 0 {
                for follower in [&mut long_rw, &mut long_ro] {
                    let answer = follower.ask("scan");
                    assert!(answer.starts_with("scanned "), "{answer}");
                }
            }
        } else if let Some(us) = line.strip_prefix("wait ") {
            waits.push(us.parse::<u64>().unwrap());
            sessions += 1;
        } else if line == "locked" {
            locked += 1;
        }
    }
    for mut child in children {
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "a process failed: {err}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut follower_calls = long_rw.close();
    follower_calls.extend(long_ro.close());
    follower_calls.sort_unstable();
    waits.sort_unstable();
    eprintln!(
        "multi-process: 2 long-lived stores + {writers} writers + {readers} readers x {secs} s: {} acknowledged writes ({:.0}/s), {sessions} sessions, {locked} lock timeouts; time to open p50 {} us, p90 {} us, p99 {} us, max {} us; long-lived store calls {} p50 {} us, p99 {} us, max {} us",
        acked.len(),
        acked.len() as f64 / elapsed,
        percentile(&waits, 0.5),
        percentile(&waits, 0.9),
        percentile(&waits, 0.99),
        waits.last().copied().unwrap_or(0),
        follower_calls.len(),
        percentile(&follower_calls, 0.5),
        percentile(&follower_calls, 0.99),
        follower_calls.last().copied().unwrap_or(0),
    );
    assert_eq!(locked, 0, "calls failed at the default busy timeout");
    assert!(own > 0, "the long-lived read-write store wrote too");
    assert!(acked.len() >= writers, "every writer got some writes in");
    let present = titles(&t.path);
    let lost: Vec<&String> = acked.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

#[test]
fn a_lock_holder_killed_mid_transaction_frees_the_file_at_once() {
    let t = common::TempDb::new();
    beadstore::Store::open(t.path_str())
        .and_then(|s| s.close())
        .unwrap();
    let (mut holder, mut out) = common::spawn_testkit(&["hold", t.path_str(), "60000"]);
    common::wait_for_line(&mut out, "ready");
    holder.kill().unwrap();
    holder.wait().unwrap();

    // No stale lock: a store with a 100 ms busy timeout gets the file and writes.
    let asked = Instant::now();
    let store = beadstore::Store::open_with(
        t.path_str(),
        beadstore::OpenOptions::new().busy_timeout(Duration::from_millis(100)),
    )
    .unwrap();
    store.set_config("after", "kill").unwrap();
    let took = asked.elapsed();
    // The killed transaction never committed.
    assert_eq!(store.get_config("held_by").unwrap(), None);
    store.close().unwrap();
    assert!(took < Duration::from_millis(100), "it waited {took:?}");
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

/// The WAL contract between processes: readers go on beside a writer of another process and a
/// writer beside readers (each sees the last commit before it began, never a transaction in
/// progress), and what rewrites the database file (a checkpoint) waits for those readers.
#[test]
fn readers_and_a_writer_of_different_processes_go_on_side_by_side() {
    let t = common::TempDb::new();
    let store = beadstore::Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    store
        .create_issue(beadstore::model::Issue::new("before"), "test")
        .unwrap();
    let reader =
        beadstore::Store::open_with(t.path_str(), beadstore::OpenOptions::new().read_only(true))
            .unwrap();
    let count = |s: &beadstore::Store| {
        s.query_row("SELECT count(*) FROM issues", &[], |r| r.get::<i64>(0))
            .unwrap()
    };

    // Another process holds a write transaction open for 4 s (it has written a config row).
    let (mut holder, mut out) = common::spawn_testkit(&["hold", t.path_str(), "4000"]);
    common::wait_for_line(&mut out, "ready");
    let asked = Instant::now();
    assert_eq!(count(&reader), 1);
    assert_eq!(
        reader.get_config("held_by").unwrap().unwrap_or_default(),
        "",
        "an uncommitted write was read"
    );
    let read_took = asked.elapsed();
    common::wait_for_line(&mut out, "closed");
    assert!(holder.wait().unwrap().success());
    assert!(
        read_took < Duration::from_secs(2),
        "the read waited {read_took:?} for the other process's transaction"
    );
    // Committed now: the long-lived read-only store sees it on its next call.
    assert_eq!(
        reader.get_config("held_by").unwrap().as_deref(),
        Some("testkit")
    );

    // Another process holds a read snapshot for 3 s: writes here commit at once, and its
    // snapshot keeps seeing the database as it was when it began.
    let (mut snapshot, mut out) = common::spawn_testkit(&["hold-read", t.path_str(), "3000"]);
    common::wait_for_line(&mut out, "ready 1");
    let asked = Instant::now();
    store
        .create_issue(beadstore::model::Issue::new("beside a reader"), "test")
        .unwrap();
    let write_took = asked.elapsed();
    assert_eq!(count(&reader), 2);

    // A checkpoint rewrites the file under that snapshot: it is refused within a short busy
    // timeout, and waits for the snapshot with a long one.
    let impatient = beadstore::Store::open_with(
        t.path_str(),
        beadstore::OpenOptions::new().busy_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let refused = impatient.checkpoint();
    assert!(
        matches!(refused, Err(beadstore::Error::Locked { .. })),
        "a checkpoint ran under another process's reader: {refused:?}"
    );
    drop(impatient);
    // Inside a transaction a checkpoint is refused outright (the transaction holds the file).
    let in_tx = store.transaction(|tx| tx.execute("PRAGMA wal_checkpoint(TRUNCATE)", &[]));
    assert!(
        matches!(
            in_tx,
            Err(beadstore::Error::InvalidInput { field: "sql", .. })
        ),
        "{in_tx:?}"
    );
    let stats = store.checkpoint().unwrap();
    let checkpoint_done = asked.elapsed();
    common::wait_for_line(&mut out, "still 1");
    common::wait_for_line(&mut out, "closed");
    assert!(snapshot.wait().unwrap().success());
    assert!(
        write_took < Duration::from_secs(1),
        "the write waited {write_took:?} for the other process's snapshot"
    );
    assert!(
        checkpoint_done > Duration::from_millis(1500),
        "the checkpoint did not wait for the reader ({checkpoint_done:?})"
    );
    assert_eq!(stats.checkpointed_frames, stats.wal_frames);
    assert_eq!(count(&reader), 2);
    reader.close().unwrap();
    store.close().unwrap();
    assert_eq!(std::fs::metadata(t.wal()).map(|m| m.len()).unwrap_or(0), 0);
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
    assert_eq!(titles(&t.path).len(), 2);
}

/// Leaves the `-wal` of `t` with more than 256 frames, the size past which writes and closes
/// wait for readers to checkpoint it: 300 issues with 3,000-byte descriptions written in one
/// transaction while a reader of another process keeps the commit from checkpointing.
fn grow_wal_past_checkpoint_size(t: &common::TempDb, store: &beadstore::Store, tag: &str) {
    let (mut reader, mut out) = common::spawn_testkit(&["hold-read", t.path_str(), "800"]);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "{line:?}");
    store
        .transaction(|tx| -> beadstore::Result<()> {
            for i in 0..300 {
                tx.execute(
                    "INSERT INTO issues (id, title, description) \
                     VALUES (?, ?, printf('%.3000c', 'd'))",
                    &beadstore::params![format!("bd-{tag}-{i}"), format!("{tag}-{i}")],
                )?;
            }
            Ok(())
        })
        .unwrap();
    common::wait_for_line(&mut out, "closed");
    assert!(reader.wait().unwrap().success());
    let wal_frames = std::fs::metadata(t.wal()).unwrap().len().saturating_sub(32) / 4120;
    assert!(
        wal_frames >= 256,
        "{tag}: the -wal holds {wal_frames} frames"
    );
}

/// Stores closing while another process writes, each close with a `-wal` long enough that it
/// waits for readers to checkpoint: a close must not keep a read lock of its own while it waits.
/// (One that did deadlocked with the writer's checkpoint and with the other closers, each
/// waiting for the others' reader bytes until the checkpoint's patience, 500 ms, ran out, while
/// every other process queued behind them: the fleet's 580 ms tail.)
#[test]
fn stores_closing_beside_a_writer_do_not_wait_for_each_other() {
    const CLOSERS: usize = 3;
    const ROUNDS: usize = 2;
    let t = common::TempDb::new();
    let store = beadstore::Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    let mut slowest = Vec::new();
    for round in 0..ROUNDS {
        grow_wal_past_checkpoint_size(&t, &store, &format!("r{round}"));

        let closers: Vec<Follower> = (0..CLOSERS)
            .map(|_| Follower::start(t.path_str(), "rw"))
            .collect();
        // Another process holds a write transaction for 100 ms; its commit checkpoints.
        let (mut writer, mut written) = common::spawn_testkit(&["hold", t.path_str(), "100"]);
        common::wait_for_line(&mut written, "ready");
        // End every follower's input at once: each closes its store, meeting the writer.
        let (inputs, waiting): (Vec<_>, Vec<_>) = closers
            .into_iter()
            .map(|f| (f.input, (f.child, f.output)))
            .unzip();
        let asked = Instant::now();
        drop(inputs);
        let mut took = Vec::new();
        for (mut child, mut output) in waiting {
            common::wait_for_line(&mut output, "closed");
            took.push(asked.elapsed());
            assert!(child.wait().unwrap().success());
        }
        common::wait_for_line(&mut written, "closed");
        assert!(writer.wait().unwrap().success());
        slowest.push(took.into_iter().max().unwrap());
        assert_eq!(
            std::fs::metadata(t.wal()).map(|m| m.len()).unwrap_or(0),
            0,
            "round {round}: nobody checkpointed the -wal"
        );
    }
    // The closes wait for the writer's 100 ms and its checkpoint, a few milliseconds; a close
    // caught waiting with its read lock held waits out the 500 ms patience.
    let worst = slowest.iter().max().unwrap();
    assert!(
        *worst < Duration::from_millis(450),
        "closing stores waited for each other: slowest close per round {slowest:?}"
    );
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
    assert_eq!(titles(&t.path).len(), 300 * ROUNDS);
}

/// A thread that writes while other threads of its process read turns the process's read lock
/// into the writer's. When another process's commit then waits for every reader to checkpoint,
/// the upgrade gives way at once instead of holding its reader byte while it waits for that
/// process's writer byte: each would otherwise wait for the other until the checkpoint's
/// patience (500 ms) ran out.
#[test]
fn a_write_turning_a_read_lock_into_a_write_lock_gives_way_to_a_checkpoint() {
    const ROUNDS: usize = 3;
    let t = common::TempDb::new();
    let store = beadstore::Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    let mut slowest = Vec::new();
    for round in 0..ROUNDS {
        grow_wal_past_checkpoint_size(&t, &store, &format!("u{round}"));
        // Another process holds a write transaction for 100 ms; its commit checkpoints.
        let (mut writer, mut written) = common::spawn_testkit(&["hold", t.path_str(), "100"]);
        common::wait_for_line(&mut written, "ready");
        let asked = Instant::now();
        let (inside_tx, inside_rx) = std::sync::mpsc::channel();
        let wrote = std::thread::scope(|scope| {
            scope.spawn(|| {
                store
                    .snapshot(|tx| -> beadstore::Result<()> {
                        tx.query_row("SELECT count(*) FROM issues", &[], |r| r.get::<i64>(0))?;
                        inside_tx.send(()).unwrap();
                        std::thread::sleep(Duration::from_millis(30));
                        Ok(())
                    })
                    .unwrap();
            });
            inside_rx.recv().unwrap();
            store.create_issue(
                beadstore::model::Issue::new(format!("beside {round}")),
                "test",
            )
        });
        let took = asked.elapsed();
        wrote.unwrap();
        common::wait_for_line(&mut written, "closed");
        assert!(writer.wait().unwrap().success());
        slowest.push(took);
    }
    // The write waits for the other process's 100 ms and its checkpoint, a few milliseconds;
    // an upgrade holding its reader byte waits out the 500 ms patience.
    let worst = slowest.iter().max().unwrap();
    assert!(
        *worst < Duration::from_millis(450),
        "the write and the checkpoint waited for each other: {slowest:?}"
    );
    store.close().unwrap();
    assert_eq!(std::fs::metadata(t.wal()).map(|m| m.len()).unwrap_or(0), 0);
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
    assert_eq!(titles(&t.path).len(), 301 * ROUNDS);
}

/// Frames a transaction that never committed left past the last commit (a writer killed mid-
/// commit, a rolled-back transaction that spilled pages) are cut off by the next write, so that
/// every commit changes the `-wal`'s size or last frame and other processes notice it.
#[test]
fn the_next_write_cuts_uncommitted_frames_off_the_wal() {
    let t = common::TempDb::new();
    let store = beadstore::Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "bd").unwrap();
    let page = 4096 + 24;
    let wal_len = || std::fs::metadata(t.wal()).unwrap().len();
    let committed = wal_len();
    assert!(
        committed > 32 && (committed - 32) % page == 0,
        "{committed}"
    );
    // Eight frames of leftovers (zeros: the scan of the WAL stops at them).
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(t.wal())
        .unwrap();
    file.set_len(committed + 8 * page).unwrap();
    drop(file);

    store.set_config("after", "leftovers").unwrap();
    let len = wal_len();
    assert!(
        len > committed && len < committed + 8 * page,
        "{committed} -> {len}"
    );
    assert_eq!((len - 32) % page, 0);
    // The last frame in the file is the commit frame (its database size field is set).
    let bytes = std::fs::read(t.wal()).unwrap();
    let last = &bytes[(len - page) as usize..];
    assert_ne!(&last[4..8], &[0, 0, 0, 0], "the last frame is not a commit");

    // A read-only store sees the commit, and real SQLite reads the file as it is.
    let reader = beadstore::Store::open_read_only(t.path_str()).unwrap();
    assert_eq!(
        reader.get_config("after").unwrap().as_deref(),
        Some("leftovers")
    );
    reader.close().unwrap();
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

/// A cheap deterministic sequence for the kill moments.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_writer_killed_at_random_moments_loses_nothing_it_acknowledged() {
    let t = common::TempDb::new();
    let db = t.path_str().to_owned();
    let kills = env_number("BEADSTORE_KILLS", 100);
    let mut rng = Lcg(0x5eed);
    let mut acked = BTreeSet::new();
    // A long-lived store beside the writer (a daemon's): it reads what each killed writer
    // left (a commit or a checkpoint cut short) before anyone else opens the file.
    let mut follower: Option<beadstore::Store> = None;
    for round in 0..kills {
        let mut child = spawn(&["crashy", &db]);
        let out = BufReader::new(child.stdout.take().unwrap());
        let reader = std::thread::spawn(move || {
            out.lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ack ").map(str::to_owned))
                .collect::<Vec<_>>()
        });
        // The first rounds die early (during open and the first commits); later ones anywhere
        // in the loop of commits, checkpoints and close/reopen.
        let wait = if round % 4 == 0 {
            rng.below(8)
        } else {
            5 + rng.below(60)
        };
        std::thread::sleep(Duration::from_millis(wait));
        // SIGKILL: no destructor, no close, no checkpoint.
        let _ = child.kill();
        let _ = child.wait();
        acked.extend(reader.join().unwrap());

        if let Some(follower) = &follower {
            let seen: BTreeSet<String> = follower
                .query("SELECT title FROM issues", &[])
                .unwrap()
                .into_iter()
                .filter_map(|row| row[0].as_str().map(str::to_owned))
                .collect();
            let missed: Vec<&String> = acked.difference(&seen).collect();
            assert!(
                missed.is_empty(),
                "round {round}: the long-lived store misses acknowledged writes: {missed:?}"
            );
        } else if t.path.exists() {
            follower = Some(beadstore::Store::open(&db).unwrap());
        }

        // The file opens (recovering the WAL), and every acknowledged issue is in it.
        let store = beadstore::Store::open(&db).unwrap();
        let check = store.query("PRAGMA integrity_check", &[]).unwrap();
        assert_eq!(check[0][0].as_str(), Some("ok"), "round {round}");
        let count = store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0]
            .as_i64()
            .unwrap() as usize;
        assert!(
            count >= acked.len(),
            "round {round}: {count} < {}",
            acked.len()
        );
        store.close().unwrap();
        if round % 10 == 9 || round + 1 == kills {
            let present = titles(&t.path);
            let lost: Vec<&String> = acked.difference(&present).collect();
            assert!(
                lost.is_empty(),
                "round {round}: acknowledged but lost: {lost:?}"
            );
            assert_eq!(common::sqlite_integrity(&t.path), "ok", "round {round}");
        }
    }
    if let Some(follower) = follower {
        follower.close().unwrap();
    }
    eprintln!(
        "kill -9: {kills} kills, {} acknowledged writes, 0 lost",
        acked.len()
    );
}

/// Runs `sql` (several statements) in a real SQLite process (Python's `sqlite3`), which then
/// closes the file as SQLite does: its last connection checkpoints the `-wal`.
fn python_script(db: &Path, sql: &str) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
             c.executescript(sys.argv[2])\n\
             c.close()\n",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "real SQLite refused {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Long-lived stores keep their prepared statements across other processes' commits. A
/// statement prepared against a table another process then dropped and created again (new
/// root page, new columns), or moved by a VACUUM, must read the table as it is now.
#[test]
fn cached_statements_of_long_lived_stores_follow_another_processs_schema_changes() {
    let t = common::TempDb::new();
    let store = beadstore::Store::open(t.path_str()).unwrap();
    store
        .execute_batch("CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('first')")
        .unwrap();
    let reader =
        beadstore::Store::open_with(t.path_str(), beadstore::OpenOptions::new().read_only(true))
            .unwrap();
    let seen = |s: &beadstore::Store| -> (Vec<String>, usize) {
        let values = s
            .query("SELECT a FROM t ORDER BY a", &[])
            .unwrap()
            .iter()
            .map(|row| row.get::<String>(0).unwrap())
            .collect();
        let columns = s.query("SELECT * FROM t", &[]).unwrap()[0]
            .clone()
            .into_values()
            .len();
        (values, columns)
    };
    for s in [&store, &reader] {
        assert_eq!(seen(s), (vec!["first".to_owned()], 1));
    }
    // What real SQLite does next, and what both stores must then read: the values of `a` and
    // the number of columns.
    let steps: [(&str, &str, &[&str], usize); 4] = [
        (
            "a data-only commit",
            "UPDATE t SET a = 'second'",
            &["second"],
            1,
        ),
        (
            "the table dropped and created again after another one, with a new column",
            "CREATE TABLE pad (x); INSERT INTO pad VALUES (zeroblob(50000)); DROP TABLE t; \
             CREATE TABLE t (a TEXT, b TEXT); INSERT INTO t VALUES ('third', 'b')",
            &["third"],
            2,
        ),
        (
            "a VACUUM after the table in front was dropped",
            "DROP TABLE pad; VACUUM; INSERT INTO t VALUES ('fourth', 'b')",
            &["fourth", "third"],
            2,
        ),
        (
            "a column added",
            "ALTER TABLE t ADD COLUMN c TEXT; UPDATE t SET c = 'c'",
            &["fourth", "third"],
            3,
        ),
    ];
    for (what, sql, values, columns) in steps {
        python_script(&t.path, sql);
        let want = (values.iter().map(|v| (*v).to_owned()).collect(), columns);
        assert_eq!(seen(&store), want, "read-write store after {what}");
        assert_eq!(seen(&reader), want, "read-only store after {what}");
    }
    // Followed as another process's commits (statements cached), not as a new file.
    assert_eq!(store.freshness_stats().reconnects, 0);
    assert_eq!(reader.freshness_stats().reconnects, 0);
    reader.close().unwrap();
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}

/// A Python process holding a real SQLite connection on `db` in the given transaction mode
/// until its standard input closes.
fn python_sqlite_holding(db: &Path, begin: &str) -> Option<Child> {
    let script = format!(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0.2)\n\
         c.execute('{begin}')\n\
         c.execute(\"INSERT INTO config (key, value) VALUES ('held_by', 'sqlite')\")\n\
         print('holding', flush=True)\n\
         sys.stdin.read()\n\
         c.execute('COMMIT')\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .ok()?;
    (line.trim() == "holding").then_some(child)
}

fn python_write(db: &Path, timeout: f64) -> Result<(), String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=float(sys.argv[2]))\n\
             c.execute(\"INSERT OR REPLACE INTO config (key, value) VALUES ('written_by', 'sqlite')\")\n",
        ])
        .arg(db)
        .arg(timeout.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn stock_sqlite_and_beadstore_wait_for_each_other_and_never_corrupt_the_file() {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 (the stock SQLite peer) is missing under CI"
        );
        eprintln!("skipping: no python3 for the stock SQLite peer");
        return;
    }
    let t = common::TempDb::new();
    let store = beadstore::Store::open(t.path_str()).unwrap();
    store.set_config("issue_prefix", "sq").unwrap();
    store.close().unwrap();
    let short = format!("file:{}?_pragma=busy_timeout(300)", t.path.display());

    // SQLite writes (an open write transaction): beadstore waits, then reports Locked.
    let mut holder = python_sqlite_holding(&t.path, "BEGIN IMMEDIATE").expect("python sqlite3");
    let asked = Instant::now();
    let result = beadstore::Store::open_uri(&short).and_then(|s| {
        let r = s.set_config("written_by", "beadstore");
        let _ = s.close();
        r
    });
    let waited = asked.elapsed();
    assert!(
        matches!(
            result,
            Err(beadstore::Error::Locked { .. } | beadstore::Error::Busy { .. })
        ),
        "{result:?}"
    );
    assert!(waited >= Duration::from_millis(250), "it waited {waited:?}");
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());

    // Once SQLite committed, beadstore sees its write and writes its own.
    let store = beadstore::Store::open_uri(&short).unwrap();
    assert_eq!(
        store.get_config("held_by").unwrap().as_deref(),
        Some("sqlite")
    );
    store.set_config("written_by", "beadstore").unwrap();

    // An open store between calls holds nothing: SQLite writes beside it.
    python_write(&t.path, 2.0).unwrap();
    assert_eq!(
        store.get_config("written_by").unwrap().as_deref(),
        Some("sqlite")
    );
    store.close().unwrap();

    // beadstore inside a write transaction (another process): SQLite waits its timeout, then
    // "database is locked".
    let (mut holder, mut out) = common::spawn_testkit(&["hold", t.path_str(), "1500"]);
    common::wait_for_line(&mut out, "ready");
    let err = python_write(&t.path, 0.3).unwrap_err();
    assert!(err.contains("locked"), "{err}");
    assert!(holder.wait().unwrap().success());

    // An idle SQLite connection on the WAL file (no transaction, as a daemon between calls)
    // keeps SQLite's shared lock: beadstore waits for it, and writes once it closes.
    let mut idle = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('SELECT count(*) FROM issues').fetchall()\n\
             print('idle', flush=True)\n\
             sys.stdin.read()\n",
        ])
        .arg(&t.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(idle.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "idle");
    let store = beadstore::Store::open_with(
        t.path_str(),
        beadstore::OpenOptions::new().busy_timeout(Duration::from_millis(300)),
    );
    assert!(
        matches!(
            store,
            Err(beadstore::Error::Locked { .. } | beadstore::Error::Busy { .. })
        ),
        "{:?}",
        store.map(|_| ())
    );
    drop(idle.stdin.take());
    assert!(idle.wait().unwrap().success());
    let store = beadstore::Store::open_uri(&short).unwrap();
    store.set_config("after_idle", "beadstore").unwrap();
    store.close().unwrap();

    // Free again: SQLite writes, and beadstore reads it.
    python_write(&t.path, 2.0).unwrap();
    let store = beadstore::Store::open_read_only(t.path_str()).unwrap();
    assert_eq!(
        store.get_config("written_by").unwrap().as_deref(),
        Some("sqlite")
    );
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}
