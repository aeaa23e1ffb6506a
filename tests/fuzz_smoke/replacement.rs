//! A short deterministic run of the fuzz harnesses (the same code cargo-fuzz drives; see
//! docs/fuzzing.md): every input of the checked-in seed corpus, then generated inputs.

#[path = "../../fuzz/harness/file_replacement.rs"]
mod file_replacement;

use arbitrary::{Arbitrary, Unstructured};

use crate::seeds::{corpus, Bytes};

#[test]
fn file_replacement_seed_corpus_and_generated_inputs() {
    let seeds = corpus("file_replacement");
    assert!(!seeds.is_empty(), "the seed corpus is checked in");
    let mut generator = Bytes(0x5EED_BEAD_5709_E001);
    let mut inputs = Vec::new();
    for (_, data) in &seeds {
        if let Ok(input) = file_replacement::Input::arbitrary(&mut Unstructured::new(data)) {
            inputs.push(input);
        }
    }
    // Generated sequences of full length, in every mode (watch / stat, with / without reader).
    for i in 0..24u32 {
        let bytes = generator.fill(512);
        let mut u = Unstructured::new(&bytes);
        let ops = (0..24)
            .filter_map(|_| file_replacement::Op::arbitrary(&mut u).ok())
            .collect();
        inputs.push(file_replacement::Input {
            watch: i % 2 == 1,
            concurrent_reader: i % 4 >= 2,
            ops,
        });
    }
    let mut ops = 0;
    for input in &inputs {
        ops += input.ops.len().min(24);
        file_replacement::run(input);
    }
    eprintln!(
        "file_replacement smoke: {} inputs, {ops} operations",
        inputs.len()
    );
    assert!(
        ops > 400,
        "the smoke run exercised too little: {ops} operations"
    );
}
