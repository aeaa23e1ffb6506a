//! What both smoke runs draw their inputs from: the checked-in seed corpus of a target, and a
//! small deterministic generator, so the run is the same every time.

use std::path::{Path, PathBuf};

/// A small deterministic generator (xorshift64*).
pub struct Bytes(pub u64);

impl Bytes {
    pub fn fill(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    pub fn byte(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    }

    pub fn below(&mut self, n: usize) -> usize {
        let x = u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]);
        x as usize % n
    }
}

/// `fuzz/corpus/TARGET`, the checked-in seeds.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Every seed of `target` with its file name, in name order.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(p).expect("corpus file"))
        })
        .collect()
}
