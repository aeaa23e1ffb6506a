//! Test helper for beadstore's multi-process tests: a real second process that holds a database
//! or writes to it while a test watches. Not part of the user-facing tool.
//!
//! Commands (each prints one line per event on stdout and flushes it):
//! - `open DB`: open DB read-write (creating or migrating it), print `opened`, close, print
//!   `closed`.
//! - `hold DB MILLIS`: open DB read-write, print `ready`, keep it open for MILLIS ms, close.
//! - `generations DB ROUNDS TX_PER_ROUND`: ROUNDS times open DB read-write, run TX_PER_ROUND
//!   transactions that each bump `gen` on every row of table `gens`, close; prints
//!   `committed GEN` after each commit.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use beadstore::{OpenOptions, Store};

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
        ["generations", db, rounds, per_round] => generations(db, rounds, per_round),
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
    let store = Store::open(db).map_err(|e| e.to_string())?;
    say("ready");
    std::thread::sleep(Duration::from_millis(number(millis)?));
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
                .transaction(|tx| {
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
