//! Reliability with real processes: several processes writing and reading one file, a writer
//! SIGKILLed at random moments, and stock SQLite (a Python `sqlite3` process) holding the file
//! beside us. Every acknowledged write must be there afterwards and real SQLite's
//! `integrity_check` must say ok.
//!
//! Longer runs: `BEADSTORE_SOAK_SECS=30 BEADSTORE_KILLS=1000 cargo test --all-features --test
//! reliability -- --nocapture` (the figures are printed).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

#[test]
fn processes_writing_and_reading_one_file_lose_nothing_and_see_nothing_torn() {
    let t = common::TempDb::new();
    let db = t.path_str().to_owned();
    beadstore::Store::open(&db)
        .and_then(|s| {
            s.set_config("issue_prefix", "mp")?;
            s.close()
        })
        .unwrap();
    let secs = env_number("BEADSTORE_SOAK_SECS", 3);
    let millis = (secs * 1000).to_string();
    let writers = 4;
    let readers = 2;
    let started = Instant::now();
    let mut children: Vec<Child> = (0..writers)
        .map(|w| spawn(&["worker", &db, &millis, &format!("w{w}")]))
        .collect();
    children.extend((0..readers).map(|_| spawn(&["reader", &db, &millis])));

    let mut acked = BTreeSet::new();
    let mut waits = Vec::new();
    let mut locked = 0;
    let mut sessions = 0;
    for child in &mut children {
        let out = BufReader::new(child.stdout.take().unwrap());
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(title) = line.strip_prefix("ack ") {
                acked.insert(title.to_owned());
            } else if let Some(us) = line.strip_prefix("wait ") {
                waits.push(us.parse::<u64>().unwrap());
                sessions += 1;
            } else if line == "locked" {
                locked += 1;
            }
        }
    }
    for mut child in children {
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "a process failed: {err}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    waits.sort_unstable();
    eprintln!(
        "multi-process: {writers} writers + {readers} readers x {secs} s: {} acknowledged writes ({:.0}/s), {sessions} sessions, {locked} lock timeouts; time to get the file p50 {} us, p90 {} us, p99 {} us, max {} us",
        acked.len(),
        acked.len() as f64 / elapsed,
        percentile(&waits, 0.5),
        percentile(&waits, 0.9),
        percentile(&waits, 0.99),
        waits.last().copied().unwrap_or(0),
    );
    assert!(acked.len() >= writers, "every writer got some writes in");
    let present = titles(&t.path);
    let lost: Vec<&String> = acked.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
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
    eprintln!(
        "kill -9: {kills} kills, {} acknowledged writes, 0 lost",
        acked.len()
    );
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
    let result = beadstore::Store::open(&short).and_then(|s| {
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
    let store = beadstore::Store::open(&short).unwrap();
    assert_eq!(store.get_config("held_by").unwrap(), "sqlite");
    store.set_config("written_by", "beadstore").unwrap();

    // An open store between calls holds nothing: SQLite writes beside it.
    python_write(&t.path, 2.0).unwrap();
    assert_eq!(store.get_config("written_by").unwrap(), "sqlite");
    store.close().unwrap();

    // beadstore inside a write transaction (another process): SQLite waits its timeout, then
    // "database is locked".
    let (mut holder, mut out) = common::spawn_testkit(&["hold", t.path_str(), "1500"]);
    common::wait_for_line(&mut out, "ready");
    let err = python_write(&t.path, 0.3).unwrap_err();
    assert!(err.contains("locked"), "{err}");
    assert!(holder.wait().unwrap().success());

    // Free again: SQLite writes, and beadstore reads it.
    python_write(&t.path, 2.0).unwrap();
    let store = beadstore::Store::open_read_only(t.path_str()).unwrap();
    assert_eq!(store.get_config("written_by").unwrap(), "sqlite");
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
}
