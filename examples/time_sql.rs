//! Times one SQL statement through beadstore on a database opened read-only: the engine's share
//! of a read command, without process start, open or printing.
//!
//! `cargo run --profile profiling --example time_sql -- DB RUNS "SQL"`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(runs), Some(sql)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: time_sql DB RUNS SQL".into());
    };
    let runs: usize = runs.parse()?;
    let store = beadstore::Store::open_read_only(&db)?;
    let mut rows = 0;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        rows = store.query(&sql, &[])?.len();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{rows} rows; median {:?}, min {:?} over {} runs",
        times[times.len() / 2],
        times[0],
        times.len()
    );
    Ok(())
}
