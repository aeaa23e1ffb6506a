//! cargo-fuzz target: the database file replaced under a running store, against a model.
//! The harness is shared with the smoke run in `cargo test` (tests/fuzz_smoke/replacement.rs).
#![no_main]

#[path = "../harness/file_replacement.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|input: harness::Input| {
    harness::run(&input);
});
