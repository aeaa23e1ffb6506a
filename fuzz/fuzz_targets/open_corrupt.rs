//! cargo-fuzz target: damaged database and WAL files opened, probed and read.
//! The harness is shared with the smoke run in `cargo test` (tests/fuzz_smoke/corrupt.rs).
#![no_main]

#[path = "../harness/open_corrupt.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(
    // After libfuzzer-sys's own hook (which aborts on every panic): engine panics that
    // beadstore contains are counted, not taken for crashes; every other panic still aborts.
    init: harness::install_panic_hook(),
    |input: harness::Input| {
        harness::run(&input);
    }
);
