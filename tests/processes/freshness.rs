//! The database file replaced under a running store (git checkout / merge / rebase, a copy over
//! it): detection by inotify and by stat, reconnect with validation, and what callers see.
//! Each scenario runs with the inotify watch and with stat checks.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beadstore::{
    params, Error, FreshnessEvent, FreshnessMode, OpenOptions, ReplacementKind, Store,
};
use common::{sqlite, TempDb};

const MODES: [FreshnessMode; 2] = [FreshnessMode::Watch, FreshnessMode::Stat];

fn open(path: &Path, mode: FreshnessMode) -> Store {
    Store::open_with(path.to_str().unwrap(), OpenOptions::new().freshness(mode)).unwrap()
}

/// Builds a complete beads database at `path` holding `ids`, with config `generation`.
fn build(path: &Path, generation: &str, ids: &[&str]) {
    let store = open(path, FreshnessMode::Off);
    store.set_config("issue_prefix", "bd").unwrap();
    store.set_config("generation", generation).unwrap();
    store.set_metadata("last_health_check", generation).unwrap();
    for id in ids {
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES (?, ?)",
                &params![*id, format!("{id} from {generation}")],
            )
            .unwrap();
    }
    store.close().unwrap();
}

/// A scratch file beside the database (same directory, so `rename` is atomic and same-device).
fn beside(t: &TempDb, name: &str) -> PathBuf {
    t.path.parent().unwrap().join(name)
}

fn titles(store: &Store) -> Vec<String> {
    store
        .query("SELECT title FROM issues ORDER BY id", &[])
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}

/// Replaces the database like git does: a new file renamed over the path.
fn rename_over(t: &TempDb, generation: &str, ids: &[&str]) {
    let staged = beside(t, &format!("staged-{generation}.db"));
    build(&staged, generation, ids);
    std::fs::rename(&staged, &t.path).unwrap();
}

/// Reads see a replacement on their next call with `stat` checks; with the inotify watch, once
/// the watcher thread has read the event (microseconds later; measured by `benches/freshness`).
fn follows(mode: FreshnessMode, what: &str, mut done: impl FnMut() -> bool) {
    match mode {
        FreshnessMode::Watch => eventually(what, done),
        _ => assert!(done(), "{mode:?}: not seen on the next call: {what}"),
    }
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn own_writes_and_checkpoints_never_look_like_a_replacement() {
    for mode in MODES {
        let t = TempDb::new();
        let store = open(&t.path, mode);
        store.set_config("issue_prefix", "bd").unwrap();
        for i in 0..10_000 {
            store
                .execute(
                    "INSERT INTO issues (id, title) VALUES (?, 'own write')",
                    &params![format!("bd-{i}")],
                )
                .unwrap();
            if i % 100 == 99 {
                store.checkpoint().unwrap();
                // Reads after each checkpoint are where a false alarm would show.
                store
                    .get_config("issue_prefix")
                    .unwrap()
                    .unwrap_or_default();
            }
        }
        let stats = store.freshness_stats();
        assert_eq!(stats.replacements, 0, "{mode:?}: {stats:?}");
        assert_eq!(stats.reconnects, 0, "{mode:?}: {stats:?}");
        // A touch changes times, not content: not a replacement either.
        let f = std::fs::File::options().append(true).open(&t.path).unwrap();
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
            .unwrap();
        drop(f);
        assert_eq!(
            store.get_config("issue_prefix").unwrap().as_deref(),
            Some("bd")
        );
        assert_eq!(
            store.freshness_stats().reconnects,
            0,
            "{mode:?} after touch"
        );
        assert_eq!(
            store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0].as_i64(),
            Some(10_000)
        );
        store.close().unwrap();
    }
}

/// Reads of other threads that overlap the store's own checkpoints (which rewrite the database
/// file while they run) must not take them for a copy over the file: a snapshot, which cannot
/// be repeated, would otherwise fail with `Error::Replaced`.
#[test]
fn reads_overlapping_own_checkpoints_never_fail() {
    for mode in MODES {
        let t = TempDb::new();
        let store = Arc::new(open(&t.path, mode));
        store.set_config("issue_prefix", "bd").unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|n| {
                let (store, done) = (store.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !done.load(Ordering::Acquire) {
                        let got = if n == 0 {
                            store.snapshot(|tx| tx.get_config("issue_prefix"))
                        } else {
                            store.get_config("issue_prefix")
                        };
                        match got {
                            Ok(Some(prefix)) if prefix == "bd" => reads += 1,
                            other => panic!("{mode:?}: a read beside own checkpoints: {other:?}"),
                        }
                    }
                    reads
                })
            })
            .collect();
        for i in 0..3_000 {
            store
                .execute(
                    "INSERT INTO issues (id, title) VALUES (?, 'own write')",
                    &params![format!("bd-{i}")],
                )
                .unwrap();
            if i % 50 == 49 {
                store.checkpoint().unwrap();
            }
        }
        done.store(true, Ordering::Release);
        let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        let stats = store.freshness_stats();
        assert_eq!(stats.reconnects, 0, "{mode:?}: {stats:?}");
        eprintln!("{mode:?}: 3,000 writes, 60 checkpoints, {reads} reads beside them");
        store.close().unwrap();
    }
}

#[test]
fn a_file_renamed_over_the_path_is_followed_by_reads_config_and_metadata() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "main", &["bd-a"]);
        let store = open(&t.path, mode);
        assert_eq!(titles(&store), ["bd-a from main"]);
        let events = store.subscribe_freshness();

        // Branch merge: main (A) replaced by a file holding A and B; nothing disappears.
        rename_over(&t, "merged", &["bd-a", "bd-b"]);
        follows(mode, "merged file", || {
            titles(&store) == ["bd-a from merged", "bd-b from merged"]
        });
        assert_eq!(store.freshness_stats().reconnects, 1);

        // Each health-check style call sees the newest file on its next call.
        rename_over(&t, "config-gen", &[]);
        follows(mode, "get_config", || {
            store.get_config("generation").unwrap().unwrap_or_default() == "config-gen"
        });
        rename_over(&t, "metadata-gen", &[]);
        follows(mode, "get_metadata", || {
            store
                .get_metadata("last_health_check")
                .unwrap()
                .unwrap_or_default()
                == "metadata-gen"
        });
        rename_over(&t, "all-config-gen", &[]);
        follows(mode, "all_config", || {
            store.all_config().unwrap()["generation"] == "all-config-gen"
        });
        // No zombie state: later calls keep working.
        for _ in 0..3 {
            assert_eq!(
                store
                    .get_metadata("last_health_check")
                    .unwrap()
                    .unwrap_or_default(),
                "all-config-gen"
            );
        }
        assert_eq!(store.freshness_stats().reconnects, 4);

        let seen: Vec<FreshnessEvent> = events.try_iter().collect();
        let reconnected = seen
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    FreshnessEvent::Reconnected {
                        kind: ReplacementKind::NewFile,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(reconnected, 4, "{seen:?}");
        store.close().unwrap();
    }
}

#[test]
fn delete_and_recreate_is_followed() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "first", &["bd-1"]);
        let store = open(&t.path, mode);
        assert_eq!(titles(&store), ["bd-1 from first"]);
        std::fs::remove_file(&t.path).unwrap();
        std::fs::remove_file(t.wal()).ok();
        build(&t.path, "second", &["bd-2"]);
        follows(mode, "recreated file", || {
            titles(&store) == ["bd-2 from second"]
        });
        store.close().unwrap();
    }
}

#[test]
fn a_file_overwritten_in_place_is_reopened_and_never_written_with_the_old_wal() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "old", &["bd-old"]);
        let store = open(&t.path, mode);
        // Uncheckpointed frames of the old content sit in the WAL.
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES ('bd-wal', 'in wal')",
                &[],
            )
            .unwrap();
        let replacement = beside(&t, "replacement.db");
        build(&replacement, "copied", &["bd-x", "bd-y"]);
        // A different database: more pages than the one it overwrites.
        let padding = open(&replacement, FreshnessMode::Off);
        padding
            .execute(
                "UPDATE issues SET description = printf('%.20000c', 'x')",
                &[],
            )
            .unwrap();
        padding.close().unwrap();
        let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&t.path).unwrap());
        std::fs::copy(&replacement, &t.path).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&t.path).unwrap()),
            inode,
            "the copy went into the same inode"
        );
        follows(mode, "copied content", || {
            titles(&store) == ["bd-x from copied", "bd-y from copied"]
        });
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES ('bd-z', 'after')",
                &[],
            )
            .unwrap();
        store.close().unwrap();
        // Real SQLite reads the copied content plus the later write, nothing of the old WAL.
        let conn = sqlite(&t.path);
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM issues ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids, ["bd-x", "bd-y", "bd-z"]);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}

/// A copy into the same inode that the store has not looked at yet (the watch's event not read,
/// or checking switched off) must not be read through the old content's `-wal` frames: the read
/// fails as a replacement until the store follows, then answers from the copy alone.
#[test]
fn a_copy_over_a_wal_with_frames_is_never_read_through_those_frames() {
    let t = TempDb::new();
    build(&t.path, "old", &["bd-old"]);
    let store = open(&t.path, FreshnessMode::Watch);
    store
        .execute(
            "INSERT INTO issues (id, title) VALUES ('bd-wal', 'in wal')",
            &[],
        )
        .unwrap();
    store.set_config("generation", "old, in wal").unwrap();
    let replacement = beside(&t, "replacement.db");
    build(&replacement, "copied", &["bd-x", "bd-y", "bd-z"]);
    let padding = open(&replacement, FreshnessMode::Off);
    padding
        .execute(
            "UPDATE issues SET description = printf('%.9000c', 'x')",
            &[],
        )
        .unwrap();
    padding.close().unwrap();
    assert_ne!(
        std::fs::metadata(&replacement).unwrap().len(),
        std::fs::metadata(&t.path).unwrap().len(),
        "the copy has another size"
    );
    // Stands for the moment before the watch's event is read: no check before the call.
    store.disable_freshness_checking();
    std::fs::copy(&replacement, &t.path).unwrap();
    for _ in 0..3 {
        match store.query("SELECT id FROM issues ORDER BY id", &[]) {
            Err(Error::Replaced {
                kind: ReplacementKind::InPlace,
                ..
            }) => {}
            other => panic!("a read through the old frames: {other:?}"),
        }
        match store.get_config("generation") {
            Err(Error::Replaced { .. }) => {}
            other => panic!("a read through the old frames: {other:?}"),
        }
    }
    store.enable_freshness_checking();
    assert_eq!(
        titles(&store),
        ["bd-x from copied", "bd-y from copied", "bd-z from copied"]
    );
    assert_eq!(
        store.get_config("generation").unwrap().as_deref(),
        Some("copied")
    );
    store.set_config("after", "yes").unwrap();
    store.close().unwrap();
    assert_eq!(common::sqlite_integrity(&t.path), "ok");
    let generation: String = sqlite(&t.path)
        .query_row(
            "SELECT value FROM config WHERE key = 'generation'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(generation, "copied");
}

#[test]
fn a_same_sized_copy_over_a_quiet_store_is_followed() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "aaaa", &["bd-1"]);
        let store = open(&t.path, mode);
        assert_eq!(
            store.get_config("generation").unwrap().as_deref(),
            Some("aaaa")
        );
        let other = beside(&t, "other.db");
        build(&other, "bbbb", &["bd-1"]);
        assert_eq!(
            std::fs::metadata(&other).unwrap().len(),
            std::fs::metadata(&t.path).unwrap().len(),
            "same size: only the times tell"
        );
        // Nothing in the store's WAL: reopening on a time change loses nothing.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::copy(&other, &t.path).unwrap();
        follows(mode, "same-sized copy", || {
            store.get_config("generation").unwrap().unwrap_or_default() == "bbbb"
        });
        store.close().unwrap();
    }
}

#[test]
fn a_write_after_the_replacement_goes_to_the_new_file_never_the_old_one() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "old", &[]);
        let store = open(&t.path, mode);
        store.get_config("generation").unwrap().unwrap_or_default();
        // The old file is moved aside (kept, so we can look into it) and a new one takes its place.
        let aside = beside(&t, "aside.db");
        std::fs::rename(&t.path, &aside).unwrap();
        build(&t.path, "new", &[]);
        // No read in between: the write itself must notice.
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES ('bd-w', 'written')",
                &[],
            )
            .unwrap();
        store.close().unwrap();
        let count = |p: &Path| -> i64 {
            sqlite(p)
                .query_row("SELECT count(*) FROM issues WHERE id = 'bd-w'", [], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        assert_eq!(count(&t.path), 1, "{mode:?}: the write is in the live file");
        assert_eq!(count(&aside), 0, "{mode:?}: and not in the replaced one");
    }
}

#[test]
fn an_unusable_new_file_keeps_the_old_state_for_reads_refuses_writes_and_is_retried() {
    for mode in MODES {
        for (what, bytes) in [
            ("empty", Vec::new()),
            ("garbage", vec![0x5a; 8192]),
            ("half-copied", half_copy()),
        ] {
            let t = TempDb::new();
            build(&t.path, "good", &["bd-1"]);
            let store = open(&t.path, mode);
            assert_eq!(titles(&store), ["bd-1 from good"]);
            let events = store.subscribe_freshness();
            let staged = beside(&t, "bad.db");
            std::fs::write(&staged, &bytes).unwrap();
            std::fs::rename(&staged, &t.path).unwrap();

            // Reads are served from the old file, which is still intact.
            assert_eq!(titles(&store), ["bd-1 from good"], "{mode:?} {what}");
            assert_eq!(titles(&store), ["bd-1 from good"], "{mode:?} {what}");
            let err = store.set_config("x", "y").unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Replaced {
                        kind: ReplacementKind::NewFile,
                        ..
                    }
                ),
                "{mode:?} {what}: {err:?}"
            );
            let failed = events
                .try_iter()
                .filter(|e| matches!(e, FreshnessEvent::ReconnectFailed { .. }))
                .count();
            assert_eq!(failed, 1, "{mode:?} {what}: reported once, not per call");

            // A valid file arrives: the next call switches to it.
            rename_over(&t, "restored", &["bd-2"]);
            follows(mode, "restored file", || {
                titles(&store) == ["bd-2 from restored"]
            });
            store.set_config("x", "y").unwrap();
            store.close().unwrap();
            assert_eq!(common::sqlite_integrity(&t.path), "ok");
        }
    }
}

/// The first half of a real database file: a copy cut short.
fn half_copy() -> Vec<u8> {
    let t = TempDb::new();
    build(&t.path, "big", &["bd-1", "bd-2", "bd-3"]);
    let bytes = std::fs::read(&t.path).unwrap();
    bytes[..bytes.len() / 2].to_vec()
}

#[test]
fn an_in_place_overwrite_with_garbage_fails_reads_until_the_file_is_good_again() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "good", &["bd-1"]);
        let store = open(&t.path, mode);
        assert_eq!(titles(&store), ["bd-1 from good"]);
        std::fs::write(&t.path, vec![0x11; 4096]).unwrap();
        // The old content is gone from the disk: serving it from a cache would be a lie.
        follows(mode, "reads to fail", || {
            store.query("SELECT count(*) FROM issues", &[]).is_err()
        });
        let err = store.query("SELECT count(*) FROM issues", &[]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Replaced {
                    kind: ReplacementKind::InPlace,
                    ..
                }
            ),
            "{mode:?}: {err:?}"
        );
        assert!(!matches!(err, Error::Closed { .. }));
        let good = beside(&t, "good.db");
        build(&good, "back", &["bd-9"]);
        std::fs::copy(&good, &t.path).unwrap();
        follows(mode, "good content", || {
            store
                .query("SELECT title FROM issues", &[])
                .is_ok_and(|r| r.len() == 1 && r[0][0].as_str() == Some("bd-9 from back"))
        });
        store.close().unwrap();
    }
}

#[test]
fn a_deleted_file_keeps_reads_refuses_writes_and_follows_the_recreated_one() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "one", &["bd-1"]);
        let store = open(&t.path, mode);
        assert_eq!(titles(&store), ["bd-1 from one"]);
        std::fs::remove_file(&t.path).unwrap();
        assert_eq!(titles(&store), ["bd-1 from one"], "{mode:?}");
        // (a write checks the file itself, whatever the mode)
        let err = store
            .execute("INSERT INTO issues (id, title) VALUES ('bd-x', 'x')", &[])
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Replaced {
                    kind: ReplacementKind::Missing,
                    ..
                }
            ),
            "{err:?}"
        );
        std::fs::remove_file(t.wal()).ok();
        build(&t.path, "two", &["bd-2"]);
        follows(mode, "recreated file", || {
            titles(&store) == ["bd-2 from two"]
        });
        store.close().unwrap();
    }
}

#[test]
fn a_read_only_store_follows_replacements_too() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "one", &["bd-1"]);
        let store = Store::open_with(
            t.path_str(),
            OpenOptions::new().read_only(true).freshness(mode),
        )
        .unwrap();
        assert_eq!(titles(&store), ["bd-1 from one"]);
        rename_over(&t, "two", &["bd-2"]);
        follows(mode, "renamed file", || titles(&store) == ["bd-2 from two"]);
        let good = beside(&t, "three.db");
        build(&good, "three", &["bd-3", "bd-4"]);
        std::fs::copy(&good, &t.path).unwrap();
        follows(mode, "copied file", || {
            store
                .query("SELECT title FROM issues ORDER BY id", &[])
                .is_ok_and(|r| r.len() == 2 && r[1][0].as_str() == Some("bd-4 from three"))
        });
        store.close().unwrap();
    }
}

#[test]
fn an_older_schema_renamed_in_is_migrated_before_use() {
    let t = TempDb::new();
    build(&t.path, "current", &["bd-1"]);
    let store = open(&t.path, FreshnessMode::Watch);
    assert_eq!(titles(&store), ["bd-1 from current"]);
    let staged = beside(&t, "old-era.db");
    let era = &common::history::eras()[0];
    common::history::build(&staged, era, 5);
    std::fs::rename(&staged, &t.path).unwrap();
    follows(FreshnessMode::Watch, "the migrated file", || {
        store.query("SELECT count(*) FROM issues", &[]).unwrap()[0][0].as_i64() == Some(5)
    });
    let probe = store.probe().unwrap();
    assert!(probe.is_compatible(), "{probe:?}");
    assert_eq!(store.freshness_stats().reconnects, 1);
    store.close().unwrap();
}

#[test]
fn disabled_checking_keeps_the_open_file_until_enabled_again() {
    let t = TempDb::new();
    build(&t.path, "one", &["bd-1"]);
    let store = open(&t.path, FreshnessMode::Watch);
    store.disable_freshness_checking();
    assert!(!store.is_freshness_checking());
    rename_over(&t, "two", &["bd-2"]);
    assert_eq!(titles(&store), ["bd-1 from one"]);
    store.enable_freshness_checking();
    assert_eq!(titles(&store), ["bd-2 from two"]);
    store.close().unwrap();
}

#[test]
fn memory_stores_have_nothing_to_watch() {
    let store = Store::in_memory().unwrap();
    assert!(!store.is_freshness_checking());
    assert!(!store.refresh().unwrap());
    assert!(store.subscribe_freshness().try_recv().is_err());
}

/// GH#607: many readers while the file is replaced again and again; nobody sees an error, and
/// each reader only ever moves forward through the generations.
#[test]
fn thirty_two_readers_through_fifty_replacements_see_no_error() {
    const READERS: usize = 32;
    const READS: usize = 1_000;
    const REPLACEMENTS: u64 = 50;
    let t = TempDb::new();
    build(&t.path, "0", &[]);
    let staged: Vec<PathBuf> = (1..=REPLACEMENTS)
        .map(|g| {
            let p = beside(&t, &format!("gen-{g}.db"));
            build(&p, &g.to_string(), &[]);
            p
        })
        .collect();
    let store = Arc::new(open(&t.path, FreshnessMode::Watch));
    let errors = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (store, errors, done) = (store.clone(), errors.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last = 0u64;
                let mut reads = 0;
                // At least READS each, and for as long as replacements are still coming.
                while reads < READS || !done.load(Ordering::Relaxed) {
                    reads += 1;
                    match store.get_config("generation") {
                        Ok(Some(g)) => {
                            let g: u64 = g.parse().unwrap();
                            assert!(g >= last, "went back from generation {last} to {g}");
                            last = g;
                        }
                        Ok(None) => panic!("the generation went missing"),
                        Err(e) => {
                            eprintln!("read error: {e:?}");
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let replacer = {
        let (store, done, path) = (store.clone(), done.clone(), t.path.clone());
        std::thread::spawn(move || {
            for (g, file) in (1..=REPLACEMENTS).zip(staged) {
                std::thread::sleep(Duration::from_millis(2));
                std::fs::rename(&file, &path).unwrap();
                eventually("the store to follow", || {
                    store.get_config("generation").ok().flatten() == Some(g.to_string())
                });
            }
            done.store(true, Ordering::Relaxed);
        })
    };
    replacer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(errors.load(Ordering::Relaxed), 0);
    let stats = store.freshness_stats();
    assert_eq!(stats.reconnects, REPLACEMENTS, "{stats:?}");
    assert_eq!(stats.failed_reconnects, 0, "{stats:?}");
    eprintln!(
        "{READERS} readers x {READS} reads, {} replacements followed, 0 errors",
        stats.reconnects
    );
    store.close().unwrap();
}

#[test]
fn a_monitor_reconnects_as_soon_as_the_file_is_replaced_without_any_call() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "one", &["bd-1"]);
        let store = Arc::new(open(&t.path, mode));
        let monitor = store.monitor(Duration::from_millis(20));
        rename_over(&t, "two", &["bd-2"]);
        let event = monitor
            .events()
            .iter()
            .find(|e| matches!(e, FreshnessEvent::Reconnected { .. }));
        assert!(event.is_some(), "{mode:?}: no reconnect reported");
        // Already on the new file: even with checking off the next read sees it.
        store.disable_freshness_checking();
        assert_eq!(titles(&store), ["bd-2 from two"], "{mode:?}");
        drop(monitor);
        store.close().unwrap();
    }
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn an_async_stream_delivers_replacement_events() {
    let t = TempDb::new();
    build(&t.path, "one", &["bd-1"]);
    let store = Arc::new(open(&t.path, FreshnessMode::Watch));
    let mut events = store.replacement_events(Duration::from_millis(20));
    rename_over(&t, "two", &["bd-2"]);
    let replaced = tokio::time::timeout(Duration::from_secs(10), next(&mut events))
        .await
        .expect("an event within 10 s");
    assert!(
        matches!(
            replaced,
            Some(FreshnessEvent::Replaced {
                kind: ReplacementKind::NewFile,
                ..
            })
        ),
        "{replaced:?}"
    );
    let reconnected = tokio::time::timeout(Duration::from_secs(10), next(&mut events))
        .await
        .expect("a second event");
    assert!(
        matches!(reconnected, Some(FreshnessEvent::Reconnected { .. })),
        "{reconnected:?}"
    );
    assert_eq!(titles(&store), ["bd-2 from two"]);
}

#[cfg(feature = "tokio")]
async fn next<S: futures_core::Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

#[test]
fn closing_right_after_an_in_place_copy_leaves_no_stale_wal_to_replay() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "old", &["bd-old"]);
        let store = open(&t.path, mode);
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES ('bd-wal', 'in wal')",
                &[],
            )
            .unwrap();
        assert!(
            std::fs::metadata(t.wal()).unwrap().len() > 32,
            "frames in the WAL"
        );
        let replacement = beside(&t, "replacement.db");
        build(&replacement, "copied", &["bd-x"]);
        let padding = open(&replacement, FreshnessMode::Off);
        padding
            .execute(
                "UPDATE issues SET description = printf('%.30000c', 'x')",
                &[],
            )
            .unwrap();
        padding.close().unwrap();
        std::fs::copy(&replacement, &t.path).unwrap();
        // No call in between: close itself must notice.
        store.close().unwrap();
        assert_eq!(std::fs::metadata(t.wal()).map(|m| m.len()).unwrap_or(0), 0);
        let conn = sqlite(&t.path);
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM issues ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            ids,
            ["bd-x"],
            "{mode:?}: the copy, and nothing of the old WAL"
        );
    }
}

#[test]
fn sibling_stores_in_one_process_never_mistake_each_others_writes_and_both_follow() {
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "one", &["bd-1"]);
        let writer = open(&t.path, mode);
        let reader = Store::open_with(
            t.path_str(),
            OpenOptions::new().read_only(true).freshness(mode),
        )
        .unwrap();
        for i in 0..300 {
            writer
                .execute(
                    "INSERT INTO issues (id, title) VALUES (?, 'w')",
                    &params![format!("bd-w{i}")],
                )
                .unwrap();
            if i % 50 == 49 {
                writer.checkpoint().unwrap();
            }
            reader.get_config("generation").unwrap().unwrap_or_default();
        }
        let counted = reader.query("SELECT count(*) FROM issues", &[]).unwrap();
        assert_eq!(counted[0][0].as_i64(), Some(301), "{mode:?}");
        assert_eq!(reader.freshness_stats().replacements, 0, "{mode:?}");
        assert_eq!(writer.freshness_stats().replacements, 0, "{mode:?}");

        let aside = beside(&t, "aside.db");
        std::fs::rename(&t.path, &aside).unwrap();
        build(&t.path, "two", &["bd-2"]);
        writer
            .execute(
                "INSERT INTO issues (id, title) VALUES ('bd-after', 'a')",
                &[],
            )
            .unwrap();
        follows(mode, "the reader following", || {
            reader
                .query("SELECT count(*) FROM issues", &[])
                .is_ok_and(|r| r[0][0].as_i64() == Some(2))
        });
        reader.close().unwrap();
        writer.close().unwrap();
        let count = |p: &Path| -> i64 {
            sqlite(p)
                .query_row("SELECT count(*) FROM issues", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(&t.path), 2, "{mode:?}: new file plus the later write");
        assert_eq!(
            count(&aside),
            301,
            "{mode:?}: every earlier write in the old file"
        );
    }
}

/// Writers and readers while the file is replaced 20 times: every acknowledged write is in
/// exactly one of the files that were live, nothing acknowledged is lost, nobody sees `Closed`.
#[test]
fn acknowledged_writes_survive_replacements_under_concurrent_writers_and_readers() {
    const REPLACEMENTS: usize = 20;
    let t = TempDb::new();
    build(&t.path, "0", &[]);
    let store = Arc::new(open(&t.path, FreshnessMode::Watch));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = format!("bd-w{w}-{n}");
                    match store.execute(
                        "INSERT INTO issues (id, title) VALUES (?, 'x')",
                        &params![id.as_str()],
                    ) {
                        Ok(_) => acknowledged.push(id),
                        Err(Error::Replaced { .. }) => {}
                        Err(e) => panic!("write failed: {e:?}"),
                    }
                }
                acknowledged
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match store.query("SELECT count(*) FROM issues", &[]) {
                        Ok(_) | Err(Error::Replaced { .. }) => {}
                        Err(e) => panic!("read failed: {e:?}"),
                    }
                }
            })
        })
        .collect();
    let mut files = Vec::new();
    for g in 1..=REPLACEMENTS {
        std::thread::sleep(Duration::from_millis(15));
        let retired = beside(&t, &format!("retired-{g}.db"));
        std::fs::hard_link(&t.path, &retired).unwrap();
        files.push(retired);
        rename_over(&t, &g.to_string(), &[]);
    }
    std::thread::sleep(Duration::from_millis(15));
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    let stats = store.freshness_stats();
    store.close().unwrap();
    files.push(t.path.clone());
    let mut found = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        assert_eq!(common::sqlite_integrity(f), "ok", "{}", f.display());
        let conn = sqlite(f);
        let mut stmt = conn.prepare("SELECT id FROM issues").unwrap();
        for id in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            *found.entry(id.unwrap()).or_default() += 1;
        }
    }
    for id in &acknowledged {
        assert_eq!(
            found.get(id),
            Some(&1),
            "acknowledged write {id} in exactly one file"
        );
    }
    assert!(
        acknowledged.len() > 50,
        "too few writes: {}",
        acknowledged.len()
    );
    eprintln!(
        "{} acknowledged writes across {} files, {} reconnects, none lost",
        acknowledged.len(),
        files.len(),
        stats.reconnects
    );
}

/// Three databases beside `t` to copy over it, generations "1" to "3", of different sizes (more
/// issues each), so that every copy changes the file's length.
fn copy_sources(t: &TempDb) -> Vec<PathBuf> {
    (1..=3)
        .map(|g| {
            let p = beside(t, &format!("source-{g}.db"));
            let ids: Vec<String> = (0..g * 40).map(|i| format!("bd-{g}-{i}")).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            build(&p, &g.to_string(), &ids);
            p
        })
        .collect()
}

/// `cp` over the live file truncates it and writes it again without SQLite's locks, so a read
/// already past its freshness check can read pages of an empty or half-written file. Every
/// answer must still come from one whole file: the read is checked again when it ends, and
/// repeated on the new file (or reported as `Error::Replaced`) when the file moved under it.
/// Found by the `file_replacement` fuzz target (docs/fuzzing.md).
#[test]
fn reads_racing_an_in_place_copy_answer_from_one_whole_file() {
    const COPIES: usize = 60;
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "0", &["bd-a"]);
        let sources = copy_sources(&t);
        let store = Arc::new(open(&t.path, mode));
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (store, done) = (store.clone(), done.clone());
                std::thread::spawn(move || {
                    let (mut answered, mut replaced) = (0u64, 0u64);
                    while !done.load(Ordering::Acquire) {
                        match store.get_config("issue_prefix") {
                            Ok(Some(prefix)) if prefix == "bd" => answered += 1,
                            Err(Error::Replaced { .. }) => replaced += 1,
                            other => panic!("{mode:?}: a read in neither file: {other:?}"),
                        }
                    }
                    (answered, replaced)
                })
            })
            .collect();
        for i in 0..COPIES {
            std::fs::copy(&sources[i % sources.len()], &t.path).unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
        done.store(true, Ordering::Release);
        let (mut answered, mut replaced) = (0, 0);
        for r in readers {
            let (a, p) = r.join().unwrap();
            answered += a;
            replaced += p;
        }
        assert!(answered > 0, "{mode:?}: no read answered");
        // Once the copies stop, the store settles on the last one.
        let last = ((COPIES - 1) % sources.len() + 1).to_string();
        follows(mode, "the last copy", || {
            store.get_config("generation").ok().flatten() == Some(last.clone())
        });
        eprintln!("{mode:?}: {COPIES} copies, {answered} answers, {replaced} Replaced");
        store.close().unwrap();
    }
}

/// Writes racing a copy over the file in place: a write the copy landed under went to a `-wal`
/// written against the content the copy replaced, so it must not be acknowledged (it is
/// reported as `Error::Replaced`), and the store must not take the copy for its own write and
/// go on with that `-wal`. Once the copies stop, the store is on the last copy, whole, with
/// every write acknowledged after it.
#[test]
fn writes_racing_an_in_place_copy_are_refused_or_kept() {
    const COPIES: usize = 40;
    for mode in MODES {
        let t = TempDb::new();
        build(&t.path, "0", &["bd-a"]);
        let sources = copy_sources(&t);
        let store = Arc::new(open(&t.path, mode));
        let copies_done = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (store, copies_done) = (store.clone(), copies_done.clone());
            std::thread::spawn(move || {
                let (mut after_last, mut refused, mut n) = (Vec::new(), 0u64, 0u64);
                let started = Instant::now();
                loop {
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "{mode:?}: writes after the last copy never went through"
                    );
                    let before = copies_done.load(Ordering::Acquire);
                    let key = format!("w-{n}");
                    n += 1;
                    match store.set_config(&key, "written") {
                        Ok(()) if before == COPIES => after_last.push(key),
                        Ok(()) => {}
                        Err(Error::Replaced { .. }) => refused += 1,
                        Err(e) => panic!("{mode:?}: a write beside a copy: {e:?}"),
                    }
                    if after_last.len() >= 20 {
                        return (after_last, refused, n);
                    }
                }
            })
        };
        for i in 0..COPIES {
            std::fs::copy(&sources[i % sources.len()], &t.path).unwrap();
            copies_done.fetch_add(1, Ordering::AcqRel);
            std::thread::sleep(Duration::from_millis(3));
        }
        let (after_last, refused, writes) = writer.join().unwrap();
        let last = ((COPIES - 1) % sources.len() + 1).to_string();
        follows(mode, "the last copy", || {
            store.get_config("generation").ok().flatten() == Some(last.clone())
        });
        for key in &after_last {
            assert_eq!(
                store.get_config(key).unwrap().as_deref(),
                Some("written"),
                "{mode:?}: {key}, acknowledged after the last copy"
            );
        }
        assert_eq!(store.integrity_check().unwrap(), ["ok"], "{mode:?}");
        eprintln!("{mode:?}: {COPIES} copies, {writes} writes, {refused} Replaced");
        store.close().unwrap();
        let sqlite = rusqlite::Connection::open(&t.path).unwrap();
        let generation: String = sqlite
            .query_row(
                "SELECT value FROM config WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            generation, last,
            "{mode:?}: real SQLite reads the last copy"
        );
    }
}

#[test]
fn a_call_from_inside_a_snapshot_during_a_replacement_does_not_deadlock() {
    let t = TempDb::new();
    build(&t.path, "one", &["bd-1"]);
    let store = Store::open_with(
        t.path_str(),
        OpenOptions::new()
            .freshness(FreshnessMode::Stat)
            .busy_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let started = Instant::now();
    let inner = store
        .snapshot(|tx| -> beadstore::Result<_> {
            let outer = tx.query("SELECT count(*) FROM issues", &[])?;
            rename_over(&t, "two", &["bd-2"]);
            // The nested call wants to reconnect while the outer snapshot still runs.
            let nested = store.get_config("generation");
            Ok((outer, nested.is_ok()))
        })
        .unwrap();
    assert!(inner.1, "the nested read was served");
    assert!(started.elapsed() < Duration::from_secs(5));
    follows(
        FreshnessMode::Stat,
        "the new file after the snapshot",
        || titles(&store) == ["bd-2 from two"],
    );
    store.close().unwrap();
}

/// Go's external-writer tests (insert, update, delete, pooled and pinned connections): with the
/// engine's exclusive file lock the only other writer can be another store of this process;
/// every reader connection of the first store sees its commits on the next call.
#[test]
fn another_stores_inserts_updates_and_deletes_are_seen_at_once_by_pooled_readers() {
    let t = TempDb::new();
    build(&t.path, "one", &[]);
    let store = open(&t.path, FreshnessMode::Watch);
    let external = open(&t.path, FreshnessMode::Watch);
    // Warm the reader pool so stale pooled snapshots would show.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| titles(&store));
        }
    });
    external
        .execute(
            "INSERT INTO issues (id, title) VALUES ('bd-ext', 'inserted')",
            &[],
        )
        .unwrap();
    assert_eq!(titles(&store), ["inserted"]);
    external
        .execute(
            "UPDATE issues SET title = 'updated' WHERE id = 'bd-ext'",
            &[],
        )
        .unwrap();
    let seen: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| titles(&store))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(seen.iter().all(|t| t == &["updated"]), "{seen:?}");
    store
        .snapshot(|tx| -> beadstore::Result<_> {
            let before = tx.query("SELECT count(*) FROM issues", &[])?;
            assert_eq!(before[0][0].as_i64(), Some(1));
            Ok(())
        })
        .unwrap();
    external
        .execute("DELETE FROM issues WHERE id = 'bd-ext'", &[])
        .unwrap();
    assert!(titles(&store).is_empty());
    assert_eq!(store.freshness_stats().replacements, 0);
    external.close().unwrap();
    store.close().unwrap();
}

/// Another process's checkpoint cut short (by a failing disk here; a kill leaves the same) next
/// to a long-lived store: the database file holds part of the `-wal`'s pages, maybe page 1
/// counting pages it does not have yet, and the `-wal` is as it was. That is the peer's
/// regular work, not a copy over the file: the store reads on through the `-wal` (what
/// SQLite's recovery does) and never discards it, which would lose committed writes.
#[test]
fn a_peer_checkpoint_cut_short_loses_no_committed_write() {
    use std::io::{BufRead, BufReader, Write};
    let mut page_one_written = 0;
    for mode in MODES {
        for writes in [0, 1, 2, 3, 5, 8, 13] {
            let case = format!("{mode:?}, disk failing after {writes} writes");
            let t = TempDb::new();
            build(&t.path, "old", &["bd-old"]);
            let store = open(&t.path, mode);
            let mut child = common::testkit()
                .args(["cut-checkpoint", t.path_str(), &writes.to_string()])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            common::wait_for_line(&mut out, "written");
            // The long-lived store has seen every commit before the checkpoint begins.
            let mut want = vec!["bd-old from old".to_owned()];
            want.extend((0..20).map(|i| format!("w{i:02}")));
            let mut got = titles(&store);
            got.sort();
            assert_eq!(got, want, "{case}: before the checkpoint");
            let header = std::fs::read(&t.path).unwrap()[..100].to_vec();
            writeln!(child.stdin.take().unwrap()).unwrap();
            let mut outcome = String::new();
            out.read_line(&mut outcome).unwrap();
            assert!(child.wait().unwrap().success(), "{case}");
            if outcome.trim() == "checkpoint failed"
                && std::fs::read(&t.path).unwrap()[..100] != header[..]
            {
                page_one_written += 1;
            }
            // The watch's event and the next call's stat both come and go meanwhile.
            for _ in 0..20 {
                let mut got = titles(&store);
                got.sort();
                assert_eq!(got, want, "{case}: {}", outcome.trim());
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(store.freshness_stats().reconnects, 0, "{case}");
            store.close().unwrap();
            assert_eq!(common::sqlite_integrity(&t.path), "ok", "{case}");
            let n: i64 = sqlite(&t.path)
                .query_row("SELECT count(*) FROM issues", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 21, "{case}");
        }
    }
    assert!(
        page_one_written > 0,
        "no checkpoint was cut short after writing page 1: the test missed its case"
    );
}
