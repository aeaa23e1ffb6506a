//! Migrations under fire: SIGKILL at random moments of a large migration, and several processes
//! opening a legacy file at once (GH#720).

use crate::common;

use std::time::{Duration, Instant};

use beadstore::{MigrationState, Store};
use common::history::{self, Contents};
use common::TempDb;

/// How many kill points run in `cargo test`; `BEADSTORE_KILL_POINTS` raises it for a soak.
fn kill_points() -> usize {
    std::env::var("BEADSTORE_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn assert_complete(path: &std::path::Path, before: &Contents, what: &str) {
    let store = Store::open(path.to_str().unwrap())
        .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    assert!(
        matches!(
            store.migration_state().unwrap(),
            MigrationState::UpToDate { .. }
        ),
        "{what}"
    );
    assert!(store.probe().unwrap().is_compatible(), "{what}");
    let n = |sql: &str| store.query(sql, &[]).unwrap()[0][0].as_i64().unwrap() as usize;
    assert_eq!(
        n("SELECT count(*) FROM issues"),
        before.issues,
        "{what}: issues"
    );
    assert_eq!(
        n("SELECT count(*) FROM labels"),
        before.labels,
        "{what}: labels"
    );
    assert_eq!(
        n("SELECT count(*) FROM comments"),
        before.comments,
        "{what}: comments"
    );
    assert_eq!(
        n("SELECT count(*) FROM events"),
        before.events,
        "{what}: events"
    );
    let edges: std::collections::BTreeSet<_> = before.converted_edges.iter().collect();
    assert_eq!(
        n("SELECT count(*) FROM dependencies"),
        before.dependencies + edges.len(),
        "{what}: dependencies"
    );
    assert_eq!(store.integrity_check().unwrap(), ["ok"], "{what}");
    store.close().unwrap();
    assert_eq!(
        common::sqlite_integrity(path),
        "ok",
        "{what}: real SQLite integrity"
    );
}

#[test]
fn sigkill_during_a_large_migration_never_loses_a_row() {
    // A v0.2x database with the edge columns: its migration rebuilds both big tables.
    let era = &history::eras()[2];
    let template = TempDb::new();
    let before = history::build(&template.path, era, 3000);

    // How long an uninterrupted migrating open takes, in a child process.
    let timed = TempDb::new();
    std::fs::create_dir_all(timed.path.parent().unwrap()).unwrap();
    std::fs::copy(&template.path, &timed.path).unwrap();
    let start = Instant::now();
    let out = common::testkit()
        .args(["open", timed.path_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = start.elapsed();
    assert_complete(&timed.path, &before, "uninterrupted");

    let points = kill_points();
    let mut rng: u64 = 0x5DEE_CE66_D1A4_F00D;
    let mut killed_before_done = 0;
    for point in 0..points {
        let t = TempDb::new();
        std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
        std::fs::copy(&template.path, &t.path).unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Spread the kills over the first nine tenths of an uninterrupted run.
        let delay = full.mul_f64((rng % 1000) as f64 / 1100.0);
        let mut child = common::testkit()
            .args(["open", t.path_str()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished {
            killed_before_done += 1;
        }
        assert_complete(
            &t.path,
            &before,
            &format!("kill point {point} after {delay:?}"),
        );
    }
    // A run that happens to be faster than the timed one lets some kills land after the end;
    // most must still land mid-migration for the test to mean something.
    assert!(
        killed_before_done >= points / 4,
        "only {killed_before_done} of {points} kills landed before the migration finished (run takes {full:?})"
    );
    eprintln!("{points} kill points, {killed_before_done} during the migration (uninterrupted run {full:?})");
}

#[test]
fn processes_opening_a_legacy_file_together_all_succeed() {
    let era = &history::eras()[3];
    let t = TempDb::new();
    let before = history::build(&t.path, era, 500);
    let children: Vec<_> = (0..4)
        .map(|_| {
            common::testkit()
                .args(["open", t.path_str()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a concurrent open failed: {stderr}");
        assert!(!stderr.contains("duplicate column"), "{stderr}");
    }
    assert_complete(&t.path, &before, "after concurrent opens");
    let _ = Duration::ZERO;
}
