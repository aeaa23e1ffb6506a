//! A short deterministic run of the `open_corrupt` fuzz harness (the code cargo-fuzz drives;
//! see docs/fuzzing.md): every input of the checked-in seed corpus, then generated inputs.
//!
//! `BEADSTORE_WRITE_SEEDS=1 cargo test --test fuzz_smoke corrupt::generated_seeds` rewrites the
//! generated seeds of `fuzz/corpus/open_corrupt/` (files named `seed-gen-*`); without it the
//! test checks that each checked-in seed still decodes to the shape it stands for.

#[path = "../../fuzz/harness/open_corrupt.rs"]
mod open_corrupt;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use open_corrupt::{Base, Input, Mutation, Wal};

use crate::seeds::{corpus, corpus_dir, Bytes};

const TARGET: &str = "open_corrupt";

/// A generated input: every base and WAL kind in turn, with a few random mutations.
fn generated(i: usize, g: &mut Bytes) -> Input {
    let base = match i % 7 {
        0 => Base::Missing,
        1 => Base::Empty,
        2 => Base::Fresh,
        3 | 4 => Base::Populated,
        5 => Base::OldSchema,
        _ => {
            let len = g.below(2048);
            let mut bytes = g.fill(len);
            if i % 2 == 0 && bytes.len() >= 100 {
                bytes[..16].copy_from_slice(b"SQLite format 3\0");
            }
            Base::Raw(bytes)
        }
    };
    let wal = match i % 5 {
        0 | 1 => None,
        2 => Some(Wal::Captured),
        3 => Some(Wal::CapturedPrefix {
            frames: g.byte() % 16,
        }),
        _ => {
            let len = g.below(1024);
            Some(Wal::Raw(g.fill(len)))
        }
    };
    // Every tenth input undamaged (read back exactly); the rest with 1 to 6 mutations.
    let count = if i % 10 == 0 { 0 } else { 1 + g.below(6) };
    let bytes = g.fill(64 * count + 16);
    let mut u = Unstructured::new(&bytes);
    let mutations = (0..count)
        .filter_map(|_| Mutation::arbitrary(&mut u).ok())
        .collect();
    Input {
        base,
        wal,
        mutations,
        reseal_wal: i % 3 != 0,
        reopen_read_only: i % 4 == 0,
    }
}

#[test]
fn open_corrupt_seed_corpus_and_generated_inputs() {
    let started = Instant::now();
    let seeds = corpus(TARGET);
    assert!(!seeds.is_empty(), "the seed corpus is checked in");
    let mut inputs = Vec::new();
    for (name, data) in &seeds {
        match Input::arbitrary_take_rest(Unstructured::new(data)) {
            Ok(input) => inputs.push((name.clone(), input)),
            Err(e) => panic!("seed {name} does not decode: {e}"),
        }
    }
    let mut g = Bytes(0x5EED_BEAD_C0FF_EE01);
    for i in 0..300 {
        inputs.push((format!("generated-{i}"), generated(i, &mut g)));
    }
    let mut results: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut contained = 0;
    let mut samples = BTreeMap::new();
    for (name, input) in &inputs {
        let outcome = open_corrupt::run(input);
        for (key, n) in outcome.results {
            *results.entry(key).or_default() += n;
        }
        contained += outcome.contained_panics;
        for (key, message) in outcome.samples {
            samples.entry(key).or_insert(message);
        }
        if outcome.elapsed > slowest.0 {
            slowest = (outcome.elapsed, name.clone());
        }
    }
    eprintln!(
        "open_corrupt smoke: {} inputs in {:.1?}, slowest {} ({:.1?}), {contained} contained engine panics",
        inputs.len(),
        started.elapsed(),
        slowest.1,
        slowest.0
    );
    for ((op, result), n) in &results {
        let sample = samples
            .get(&(op.clone(), *result))
            .map(|m| format!(" (e.g. {m})"))
            .unwrap_or_default();
        eprintln!("  {op:20} {result:18} {n:5}{sample}");
    }
    for (site, n) in open_corrupt::engine_panics() {
        eprintln!("  contained: {n} x {site}");
    }
    let count = |op: &str, result: &str| {
        results
            .get(&(op.to_owned(), result_key(result)))
            .copied()
            .unwrap_or(0)
    };
    // The run reached every kind of outcome it is meant to check.
    for op in [
        "open (read-only)",
        "open",
        "probe",
        "search",
        "export",
        "close",
    ] {
        assert!(count(op, "ok") > 10, "too few successful {op}: {results:?}");
    }
    assert!(count("open (read-only)", "Corrupt") > 10, "{results:?}");
    assert!(count("open (read-only)", "NotFound") > 10, "{results:?}");
    assert!(
        slowest.0 < Duration::from_secs(10),
        "input {} took {:?}",
        slowest.1,
        slowest.0
    );
}

/// The `&'static str` result names the harness uses.
fn result_key(result: &str) -> &'static str {
    [
        "ok",
        "NotFound",
        "SchemaIncompatible",
        "MigrationFailed",
        "InvariantViolated",
        "Corrupt",
        "Engine",
        "Io",
        "Constraint",
        "ReadOnly",
    ]
    .into_iter()
    .find(|k| *k == result)
    .unwrap_or("unknown")
}

/// The generated seeds: for each wanted shape, the first deterministic byte string that decodes
/// to it (the fuzzer's input format is `arbitrary`'s, so seeds are found, not encoded). Checks
/// the checked-in ones still decode to their shapes (the harness's input format can drift);
/// with `BEADSTORE_WRITE_SEEDS=1`, finds and writes them again.
#[test]
fn generated_seeds_decode_to_the_shapes_they_stand_for() {
    type Want = fn(&Input) -> bool;
    let wants: [(&str, Want); 12] = [
        ("missing", |i| i.base == Base::Missing && i.wal.is_none()),
        ("empty", |i| i.base == Base::Empty && i.wal.is_none()),
        ("fresh", |i| i.base == Base::Fresh && i.mutations.is_empty()),
        ("populated", |i| {
            i.base == Base::Populated && i.wal.is_none() && i.mutations.is_empty()
        }),
        ("populated-wal", |i| {
            i.base == Base::Populated && i.wal == Some(Wal::Captured) && i.mutations.is_empty()
        }),
        ("old-schema", |i| {
            i.base == Base::OldSchema && i.wal.is_none() && i.mutations.is_empty()
        }),
        ("header-page-count", |i| {
            i.base == Base::Populated
                && matches!(
                    i.mutations.as_slice(),
                    [Mutation::Header {
                        field: open_corrupt::HeaderField::PageCount,
                        ..
                    }]
                )
        }),
        ("page-header", |i| {
            i.base == Base::Populated
                && matches!(
                    i.mutations.as_slice(),
                    [Mutation::PageHeader {
                        at: open_corrupt::PageAt::Db(_),
                        ..
                    }]
                )
        }),
        ("zero-page", |i| {
            i.base == Base::Populated
                && matches!(
                    i.mutations.as_slice(),
                    [Mutation::ZeroPage {
                        at: open_corrupt::PageAt::Db(_)
                    }]
                )
        }),
        ("wal-frame-resealed", |i| {
            i.base == Base::Populated
                && i.wal == Some(Wal::Captured)
                && i.reseal_wal
                && matches!(
                    i.mutations.as_slice(),
                    [Mutation::PageHeader {
                        at: open_corrupt::PageAt::WalFrame(_),
                        ..
                    }]
                )
        }),
        ("wal-prefix", |i| {
            i.base == Base::Populated
                && matches!(i.wal, Some(Wal::CapturedPrefix { .. }))
                && i.mutations.is_empty()
        }),
        ("raw", |i| matches!(&i.base, Base::Raw(b) if b.len() > 8)),
    ];
    let dir = corpus_dir(TARGET);
    if std::env::var_os("BEADSTORE_WRITE_SEEDS").is_none() {
        for (name, want) in wants {
            let path = dir.join(format!("seed-gen-{name}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let input = Input::arbitrary_take_rest(Unstructured::new(&bytes))
                .unwrap_or_else(|e| panic!("seed-gen-{name} no longer decodes: {e}"));
            assert!(want(&input), "seed-gen-{name} decodes to {input:?}");
        }
        return;
    }
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (name, want) in wants {
        let mut g = Bytes(0x5EED_0000_0000_0001);
        let found = (0..2_000_000).find_map(|_| {
            let len = 4 + g.below(60);
            let bytes = g.fill(len);
            let input = Input::arbitrary_take_rest(Unstructured::new(&bytes)).ok()?;
            want(&input).then_some((bytes, input))
        });
        let (bytes, input) = found.unwrap_or_else(|| panic!("no byte string decodes to {name}"));
        eprintln!("seed-gen-{name}: {input:?}");
        std::fs::write(dir.join(format!("seed-gen-{name}")), bytes).expect("write seed");
    }
}
