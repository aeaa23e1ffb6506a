//! Test helper for beadstore's multi-process tests: a real second process that holds a database
//! or writes to it while a test watches. Not part of the user-facing tool.
//!
//! Commands (each prints one line per event on stdout and flushes it):
//! - `open DB`: open DB read-write (creating or migrating it), print `opened`, close, print
//!   `closed`.
//! - `hold DB MILLIS`: open DB read-write, start a write transaction, print `ready`, keep the
//!   transaction open for MILLIS ms, commit, close. (An open store between calls holds nothing;
//!   a transaction holds the file.)
//! - `hold-read DB MILLIS`: open DB read-only, start a snapshot, print `ready N` (the issue
//!   count it sees), keep the snapshot for MILLIS ms, count again inside it and print `still N`,
//!   close, print `closed`. (A snapshot holds a reader's lock for its length.)
//! - `generations DB ROUNDS TX_PER_ROUND`: ROUNDS times open DB read-write, run TX_PER_ROUND
//!   transactions that each bump `gen` on every row of table `gens`, close; prints
//!   `committed GEN` after each commit.
//! - `worker DB MILLIS TAG`: for MILLIS ms, short sessions (open read-write, create three issues
//!   titled `TAG-N`, check that every issue it was told is committed is visible, close). Prints
//!   `wait MICROS` (time to get the store, lock wait included), `ack TITLE` after each commit,
//!   `locked` when the lock was not had within the busy timeout, `done`.
//! - `reader DB MILLIS`: for MILLIS ms, open read-only, check every issue's content hash (a torn
//!   row would not match) and that the issue count never goes down, close; prints `wait MICROS`,
//!   `locked`, `done`.
//! - `follow DB rw|ro`: a long-lived store (default options, read-write or read-only) driven by
//!   standard input, one command per line: `check TITLE` prints `seen TITLE` or `missing TITLE`;
//!   `scan` checks every issue's content hash and that the count never went down, printing
//!   `scanned N`; `create TITLE` (read-write) prints `ack TITLE` after the commit. At the end of
//!   input it closes the store and prints `closed`. Prints `opened` first.
//! - `cut-checkpoint DB WRITES`: open DB read-write, create 20 issues titled `w00`..`w19` with
//!   3,000-byte descriptions (printing `ack TITLE` after each commit), print `written`, wait for
//!   a line on standard input, then checkpoint with the disk failing after WRITES more writes
//!   (print `checkpoint ok` or `checkpoint failed`) and exit without closing: the file as a
//!   checkpoint killed or failed part-way leaves it.
//! - `crashy DB`: writes until killed: `ack TITLE` after each committed issue, a checkpoint every
//!   7 issues, close and reopen every 13.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use std::time::Instant;

use beadstore::model::Issue;
use beadstore::{Error, FreshnessMode, OpenOptions, Store};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["open", db] => open(db),
        ["hold", db, millis] => hold(db, millis),
        ["hold-read", db, millis] => hold_read(db, millis),
        ["generations", db, rounds, per_round] => generations(db, rounds, per_round),
        ["worker", db, millis, tag] => worker(db, millis, tag),
        ["reader", db, millis] => reader(db, millis),
        ["follow", db, mode] => follow(db, mode),
        ["crashy", db] => crashy(db),
        ["cut-checkpoint", db, writes] => cut_checkpoint(db, writes),
        _ => Err(
            "usage: beadstore-testkit hold DB MILLIS | generations DB ROUNDS TX_PER_ROUND".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beadstore-testkit: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn number(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

fn open(db: &str) -> Result<(), String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    say("opened");
    store.close().map_err(|e| e.to_string())?;
    say("closed");
    Ok(())
}

fn hold(db: &str, millis: &str) -> Result<(), String> {
    let hold_for = Duration::from_millis(number(millis)?);
    let store = Store::open(db).map_err(|e| e.to_string())?;
    store
        .transaction(|tx| -> beadstore::Result<_> {
            tx.execute(
                "INSERT OR REPLACE INTO config (key, value) VALUES ('held_by', 'testkit')",
                &[],
            )?;
            say("ready");
            std::thread::sleep(hold_for);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    store.close().map_err(|e| e.to_string())?;
    say("closed");
    Ok(())
}

fn hold_read(db: &str, millis: &str) -> Result<(), String> {
    let hold_for = Duration::from_millis(number(millis)?);
    let store =
        Store::open_with(db, OpenOptions::new().read_only(true)).map_err(|e| e.to_string())?;
    let count = |tx: &beadstore::ReadTxn<'_>| -> beadstore::Result<i64> {
        tx.query_row("SELECT count(*) FROM issues", &[], |row| row.get::<i64>(0))
    };
    store
        .snapshot(|tx| -> beadstore::Result<_> {
            say(&format!("ready {}", count(tx)?));
            std::thread::sleep(hold_for);
            say(&format!("still {}", count(tx)?));
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    store.close().map_err(|e| e.to_string())?;
    say("closed");
    Ok(())
}

fn generations(db: &str, rounds: &str, per_round: &str) -> Result<(), String> {
    let options = OpenOptions::new().busy_timeout(Duration::from_secs(30));
    for _ in 0..number(rounds)? {
        let store = Store::open_with(db, options.clone()).map_err(|e| e.to_string())?;
        for _ in 0..number(per_round)? {
            let gen = store
                .transaction(|tx| -> beadstore::Result<_> {
                    tx.execute("UPDATE gens SET gen = gen + 1", &[])?;
                    let rows = tx.query("SELECT max(gen) FROM gens", &[])?;
                    Ok(rows[0][0].as_i64().unwrap_or(-1))
                })
                .map_err(|e| e.to_string())?;
            say(&format!("committed {gen}"));
        }
        store.close().map_err(|e| e.to_string())?;
        // Leave the file free for a moment so readers of other processes get their turn (their
        // lock retries back off up to 50 ms, so give them a real window).
        std::thread::sleep(Duration::from_millis(10));
    }
    say("done");
    Ok(())
}

/// Short sessions, as the command line opens the database (default busy timeout).
fn session_options() -> OpenOptions {
    OpenOptions::new().freshness(FreshnessMode::Off)
}

fn is_lock_wait(e: &Error) -> bool {
    matches!(e, Error::Locked { .. } | Error::Busy { .. })
}

/// Opens one session, printing `wait MICROS` (lock wait included); `None` after printing
/// `locked` when the file was not had within the busy timeout.
fn session(db: &str, options: OpenOptions) -> Result<Option<Store>, String> {
    let asked = Instant::now();
    match Store::open_with(db, options) {
        Ok(store) => {
            say(&format!("wait {}", asked.elapsed().as_micros()));
            Ok(Some(store))
        }
        Err(e) if is_lock_wait(&e) => {
            say("locked");
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn worker(db: &str, millis: &str, tag: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_millis(number(millis)?);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let Some(store) = session(db, session_options())? else {
            continue;
        };
        for _ in 0..3 {
            n += 1;
            let title = format!("{tag}-{n}");
            match store.create_issue(Issue::new(title.clone()), tag) {
                Ok(_) => say(&format!("ack {title}")),
                Err(e) if is_lock_wait(&e) => say("locked"),
                Err(e) => return Err(e.to_string()),
            }
        }
        let visible = store
            .query(
                "SELECT count(*) FROM issues WHERE title LIKE ?",
                &[format!("{tag}-%").into()],
            )
            .map_err(|e| e.to_string())?[0][0]
            .as_i64()
            .unwrap_or(-1);
        if visible < 0 || visible as u64 > n {
            return Err(format!(
                "{tag}: {visible} of my issues visible, {n} attempted"
            ));
        }
        store.close().map_err(|e| e.to_string())?;
    }
    say("done");
    Ok(())
}

fn reader(db: &str, millis: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_millis(number(millis)?);
    let mut highest = 0usize;
    while Instant::now() < deadline {
        let Some(store) = session(db, session_options().read_only(true))? else {
            continue;
        };
        highest = check_all(&store, highest)?;
        store.close().map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(5));
    }
    say("done");
    Ok(())
}

/// Every issue's content hash matches its row (a torn read would not), and the count is not
/// below `highest`; returns the count.
fn check_all(store: &Store, highest: usize) -> Result<usize, String> {
    let issues = store
        .search_issues("", &Default::default())
        .map_err(|e| e.to_string())?;
    for issue in &issues {
        if issue.content_hash != issue.compute_content_hash() {
            return Err(format!("torn row: {} hash does not match", issue.id));
        }
    }
    if issues.len() < highest {
        return Err(format!(
            "went back from {highest} to {} issues",
            issues.len()
        ));
    }
    Ok(issues.len())
}

fn follow(db: &str, mode: &str) -> Result<(), String> {
    let options = match mode {
        "rw" => OpenOptions::new(),
        "ro" => OpenOptions::new().read_only(true),
        _ => return Err(format!("mode {mode:?} is neither rw nor ro")),
    };
    let store = Store::open_with(db, options).map_err(|e| e.to_string())?;
    say("opened");
    let mut highest = 0;
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| e.to_string())?;
        match line.split_once(' ').unwrap_or((line.as_str(), "")) {
            ("check", title) => {
                let rows = store
                    .query(
                        "SELECT count(*) FROM issues WHERE title = ?",
                        &[title.into()],
                    )
                    .map_err(|e| e.to_string())?;
                let seen = rows[0][0].as_i64() == Some(1);
                say(&format!(
                    "{} {title}",
                    if seen { "seen" } else { "missing" }
                ));
            }
            ("scan", _) => {
                highest = check_all(&store, highest)?;
                say(&format!("scanned {highest}"));
            }
            ("create", title) => {
                store
                    .create_issue(Issue::new(title.to_owned()), "follow")
                    .map_err(|e| e.to_string())?;
                say(&format!("ack {title}"));
            }
            _ => return Err(format!("unknown command {line:?}")),
        }
    }
    store.close().map_err(|e| e.to_string())?;
    say("closed");
    Ok(())
}

fn cut_checkpoint(db: &str, writes: &str) -> Result<(), String> {
    let writes = number(writes)?;
    let faults = beadstore::faults::DiskFaults::new();
    faults.attach(db);
    let store = Store::open(db).map_err(|e| e.to_string())?;
    for i in 0..20 {
        let title = format!("w{i:02}");
        store
            .execute(
                "INSERT INTO issues (id, title, description) VALUES (?, ?, printf('%.3000c', 'd'))",
                &beadstore::params![format!("bd-w{i:02}"), title.as_str()],
            )
            .map_err(|e| e.to_string())?;
        say(&format!("ack {title}"));
    }
    say("written");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    faults.fail_after(writes, beadstore::faults::DiskFault::Io);
    match store.checkpoint() {
        Ok(_) => say("checkpoint ok"),
        Err(_) => say("checkpoint failed"),
    }
    // No close, no destructor: what a kill at this point leaves.
    std::process::exit(0);
}

fn crashy(db: &str) -> Result<(), String> {
    let pid = std::process::id();
    let mut n = 0u64;
    loop {
        let store = Store::open_with(db, session_options()).map_err(|e| e.to_string())?;
        store
            .set_config("issue_prefix", "kill")
            .map_err(|e| e.to_string())?;
        for _ in 0..13 {
            n += 1;
            let title = format!("p{pid}-{n}");
            store
                .create_issue(Issue::new(title.clone()), "crashy")
                .map_err(|e| e.to_string())?;
            say(&format!("ack {title}"));
            if n % 7 == 0 {
                store.checkpoint().map_err(|e| e.to_string())?;
            }
        }
        store.close().map_err(|e| e.to_string())?;
    }
}
