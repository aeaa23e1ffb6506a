//! Short deterministic runs of the fuzz harnesses (the code cargo-fuzz drives; see
//! docs/fuzzing.md) on the checked-in seeds and on generated inputs.

mod corrupt;
mod replacement;
mod seeds;
