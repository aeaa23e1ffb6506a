//! The `open_corrupt` fuzz harness, shared by the cargo-fuzz target and the smoke run in
//! `cargo test` (tests/fuzz_smoke/corrupt.rs): damaged database files (and WAL files) opened
//! read-only and read-write, then probed and read the way a beads tool does.
//!
//! An input picks a base file (none, empty, a valid beads database built by beadstore at start,
//! one with an older schema, or raw bytes), an optional WAL (raw bytes or one captured from a
//! real beadstore session), and a list of mutations (byte flips, writes, truncation, growth,
//! header fields, b-tree page header fields, zeroed or copied pages, WAL header and frame
//! fields, optionally with the WAL checksums recomputed so damaged frames are believed).
//!
//! It asserts: no panic escapes beadstore (engine panics are contained at the engine boundary
//! and come back as `Error::Engine`; a panic raised by beadstore's own code is a finding even
//! when contained), no hang (libFuzzer's -timeout; every file is capped in size), only the
//! error variants a damaged file can explain, and, for undamaged inputs, that every call
//! succeeds and returns exactly what the file holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;

// Each fuzz target includes its harness alone; the smoke test binary includes both.
#[allow(clippy::duplicate_mod)]
#[path = "scratch.rs"]
mod scratch;
use beadstore::jsonl::ExportOptions;
use beadstore::model::{Dependency, DependencyType, Issue, Status};
use beadstore::ops::{Attribution, IssueFilter, WorkFilter};
use beadstore::{params, Error, FreshnessMode, OpenOptions, Store};
use scratch::scratch_dir;

/// One fuzz input.
#[derive(Arbitrary, Debug, Clone)]
pub struct Input {
    pub base: Base,
    pub wal: Option<Wal>,
    pub mutations: Vec<Mutation>,
    /// Recompute the WAL's header and frame checksums (and frame salts) after the mutations,
    /// so that damaged frames pass the engine's validation and their pages are used.
    pub reseal_wal: bool,
    /// Open read-only once more after the read-write session (what the writer left behind).
    pub reopen_read_only: bool,
}

/// The database file before mutation.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// No file at all.
    Missing,
    /// A file of zero bytes.
    Empty,
    /// A beads database created by beadstore, with no issues.
    Fresh,
    /// A beads database with issues, labels, dependencies, comments and config, some long
    /// enough to need overflow pages.
    Populated,
    /// A populated beads database with a table and a column dropped (an older or damaged
    /// schema: migrations on read-write opens, `SchemaIncompatible` on read-only ones).
    OldSchema,
    /// Arbitrary bytes.
    Raw(Vec<u8>),
}

/// The `-wal` file beside the database.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Wal {
    /// Arbitrary bytes.
    Raw(Vec<u8>),
    /// The WAL of a beadstore session on the populated database (more issues, an update, a
    /// dependency, a label, a comment, a closed issue), copied while the session was open.
    Captured,
    /// The captured WAL over the database it belongs to, cut after `frames` frames.
    CapturedPrefix { frames: u8 },
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Db,
    Wal,
}

/// A number written into a field: biased towards the values that break parsers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Num {
    Zero,
    One,
    Max,
    /// `u32::MAX - n`.
    NearMax(u8),
    /// `1 << (n % 32)`.
    Pow2(u8),
    Small(u8),
    Raw(u32),
}

impl Num {
    fn get(self) -> u32 {
        match self {
            Num::Zero => 0,
            Num::One => 1,
            Num::Max => u32::MAX,
            Num::NearMax(n) => u32::MAX - u32::from(n),
            Num::Pow2(n) => 1 << (n % 32),
            Num::Small(n) => u32::from(n),
            Num::Raw(n) => n,
        }
    }
}

/// A field of the 100-byte database header: (offset, width).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum HeaderField {
    Magic,
    PageSize,
    WriteVersion,
    ReadVersion,
    ReservedBytes,
    MaxPayloadFraction,
    MinPayloadFraction,
    LeafPayloadFraction,
    ChangeCounter,
    PageCount,
    FreelistTrunk,
    FreelistCount,
    SchemaCookie,
    SchemaFormat,
    DefaultCacheSize,
    AutovacuumTop,
    TextEncoding,
    UserVersion,
    IncrementalVacuum,
    ApplicationId,
    VersionValidFor,
    SqliteVersion,
}

impl HeaderField {
    fn place(self) -> (usize, usize) {
        match self {
            HeaderField::Magic => (0, 4),
            HeaderField::PageSize => (16, 2),
            HeaderField::WriteVersion => (18, 1),
            HeaderField::ReadVersion => (19, 1),
            HeaderField::ReservedBytes => (20, 1),
            HeaderField::MaxPayloadFraction => (21, 1),
            HeaderField::MinPayloadFraction => (22, 1),
            HeaderField::LeafPayloadFraction => (23, 1),
            HeaderField::ChangeCounter => (24, 4),
            HeaderField::PageCount => (28, 4),
            HeaderField::FreelistTrunk => (32, 4),
            HeaderField::FreelistCount => (36, 4),
            HeaderField::SchemaCookie => (40, 4),
            HeaderField::SchemaFormat => (44, 4),
            HeaderField::DefaultCacheSize => (48, 4),
            HeaderField::AutovacuumTop => (52, 4),
            HeaderField::TextEncoding => (56, 4),
            HeaderField::UserVersion => (60, 4),
            HeaderField::IncrementalVacuum => (64, 4),
            HeaderField::ApplicationId => (68, 4),
            HeaderField::VersionValidFor => (92, 4),
            HeaderField::SqliteVersion => (96, 4),
        }
    }
}

/// A field of a b-tree page header (after the 100-byte file header on page 1).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PageField {
    PageType,
    FirstFreeblock,
    CellCount,
    CellContentStart,
    FragmentedBytes,
    RightChild,
    /// The n-th cell pointer (of a leaf page's pointer array).
    CellPointer(u8),
    /// The first four bytes of the n-th cell (a child page number on interior pages, a payload
    /// size varint on leaves).
    CellStart(u8),
}

/// Where a page is: in the database file, or as the data of a WAL frame.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PageAt {
    Db(u16),
    WalFrame(u16),
}

/// A field of the 32-byte WAL header.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum WalHeaderField {
    Magic,
    Version,
    PageSize,
    CheckpointSequence,
    Salt1,
    Salt2,
    Checksum1,
    Checksum2,
}

/// A field of a 24-byte WAL frame header.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FrameField {
    PageNumber,
    /// Nonzero marks a commit frame.
    DbSizeAfterCommit,
    Salt1,
    Salt2,
    Checksum1,
    Checksum2,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Mutation {
    /// XOR one byte (offset modulo the length).
    Flip { file: File, offset: u32, xor: u8 },
    /// Overwrite up to 16 bytes.
    Write {
        file: File,
        offset: u32,
        bytes: Vec<u8>,
    },
    /// Cut the file to `len` modulo its length plus one.
    Truncate { file: File, len: u32 },
    /// Cut the file at a page (or WAL frame) boundary, or in the middle of one.
    TruncatePages { file: File, pages: u16, half: bool },
    /// Append up to 64 KiB of one byte value.
    Extend { file: File, len: u16, fill: u8 },
    /// Set a database header field (big-endian, as SQLite stores it).
    Header { field: HeaderField, value: Num },
    /// Set a b-tree page header field.
    PageHeader {
        at: PageAt,
        field: PageField,
        value: Num,
    },
    /// Zero a whole page.
    ZeroPage { at: PageAt },
    /// Copy one database page over another (shared children, cycles).
    CopyPage { from: u16, to: u16 },
    /// Set a WAL header field.
    WalHeader { field: WalHeaderField, value: Num },
    /// Set a WAL frame header field.
    WalFrame {
        frame: u16,
        field: FrameField,
        value: Num,
    },
}

/// At most this many mutations are applied.
pub const MAX_MUTATIONS: usize = 32;
/// Neither file grows beyond this (bounded work per input).
pub const MAX_FILE: usize = 2 << 20;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// What an input did, for the smoke run's statistics.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// ("open read-only" / "open" / "probe" / ..., "ok" or the error variant) -> count.
    pub results: BTreeMap<(String, &'static str), u64>,
    /// The first error message seen for each (operation, variant).
    pub samples: BTreeMap<(String, &'static str), String>,
    /// Engine panics contained during this input.
    pub contained_panics: u64,
    pub elapsed: Duration,
}

/// The bytes of the cached bases, built once per process.
struct Bases {
    fresh: Vec<u8>,
    populated: Vec<u8>,
    old_schema: Vec<u8>,
    /// The database file as it was while the WAL session was open (the captured WAL's base).
    wal_base: Vec<u8>,
    wal: Vec<u8>,
    /// (search ids, export ids) of the populated database, and with the WAL applied.
    expected_populated: Expected,
    expected_with_wal: Expected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    searched: Vec<String>,
    exported: Vec<String>,
    ready: Vec<String>,
    total_issues: i64,
}

/// Runs one input. Panics (the fuzzer's finding) when beadstore misbehaves.
pub fn run(input: &Input) -> Outcome {
    install_panic_hook();
    let bases = bases();
    let started = Instant::now();
    let (db, wal) = files(input, bases);
    let dir = scratch_dir();
    let beads = dir.path().join(".beads");
    std::fs::create_dir(&beads).expect(".beads");
    let path = beads.join("beads.db");
    if let Some(db) = &db {
        std::fs::write(&path, db).expect("write the database file");
    }
    if let Some(wal) = &wal {
        std::fs::write(wal_path(&path), wal).expect("write the WAL file");
    }
    let pristine = pristine(input, bases);

    let mut outcome = Outcome::default();
    let panics_before = contained_panics();
    let _guard = InHarness::enter();
    // The engine opens a file whose header says auto-vacuum (or incremental vacuum) read-only
    // even when asked for read-write (docs/fuzzing.md, open_corrupt findings): a read-write store of such a file
    // refuses writes (a migration at open) with `ReadOnly`.
    let autovacuum = db.as_deref().is_some_and(auto_vacuum)
        || wal
            .as_deref()
            .is_some_and(|wal| wal_pages_1(wal).any(auto_vacuum));
    session(&path, true, autovacuum, &mut outcome, pristine);
    session(&path, false, autovacuum, &mut outcome, pristine);
    if input.reopen_read_only {
        session(&path, true, autovacuum, &mut outcome, pristine);
    }
    drop(_guard);
    let ours = std::mem::take(&mut *lock(&OUR_PANICS));
    assert!(
        ours.is_empty(),
        "beadstore code panicked (the panic was contained, but it is a bug): {ours:?}"
    );
    outcome.contained_panics = contained_panics() - panics_before;
    outcome.elapsed = started.elapsed();
    outcome
}

/// What undamaged inputs must read back, when the input is undamaged.
fn pristine<'a>(input: &Input, bases: &'a Bases) -> Option<&'a Expected> {
    if !input.mutations.is_empty() {
        return None;
    }
    match (&input.base, &input.wal) {
        (Base::Populated, None) => Some(&bases.expected_populated),
        (Base::Populated, Some(Wal::Captured)) => Some(&bases.expected_with_wal),
        _ => None,
    }
}

/// Opens the file (read-only or read-write) and runs what a beads tool runs first.
fn session(
    path: &Path,
    read_only: bool,
    autovacuum: bool,
    outcome: &mut Outcome,
    pristine: Option<&Expected>,
) {
    let mode = Mode {
        read_only,
        refuses_writes: read_only || autovacuum,
    };
    let label = |op: &str| {
        if read_only {
            format!("{op} (read-only)")
        } else {
            op.to_owned()
        }
    };
    let path = path.to_str().expect("utf-8 temp path");
    let opened = if read_only {
        Store::open_read_only(path)
    } else {
        Store::open(path)
    };
    let Some(store) = check(&label("open"), opened, mode, outcome, pristine) else {
        return;
    };
    let mut got = Expected {
        searched: Vec::new(),
        exported: Vec::new(),
        ready: Vec::new(),
        total_issues: -1,
    };
    if let Some(report) = check(&label("probe"), store.probe(), mode, outcome, pristine) {
        if pristine.is_some() {
            assert!(report.is_compatible(), "pristine file probed {report:?}");
        }
    }
    let ready = store.get_ready_work(&WorkFilter::default());
    if let Some(issues) = check(&label("ready"), ready, mode, outcome, pristine) {
        got.ready = issues.into_iter().map(|i| i.id).collect();
    }
    let searched = store.search_issues("", &IssueFilter::default());
    if let Some(issues) = check(&label("search"), searched, mode, outcome, pristine) {
        got.searched = issues.into_iter().map(|i| i.id).collect();
    }
    let stats = store.get_statistics();
    if let Some(stats) = check(&label("statistics"), stats, mode, outcome, pristine) {
        got.total_issues = stats.total_issues;
    }
    let rendered = store.render_jsonl(&ExportOptions::default());
    if let Some(rendered) = check(&label("export"), rendered, mode, outcome, pristine) {
        got.exported = rendered.ids;
    }
    let first = got
        .searched
        .first()
        .cloned()
        .unwrap_or_else(|| "fz-0".into());
    check(
        &label("get issue"),
        store.get_issue(&first),
        mode,
        outcome,
        pristine,
    );
    check(
        &label("get config"),
        store.get_config("issue_prefix"),
        mode,
        outcome,
        pristine,
    );
    check(&label("close"), store.close(), mode, outcome, pristine);
    if let Some(want) = pristine {
        let mut got = got;
        got.ready.sort();
        got.searched.sort();
        assert_eq!(&got, want, "an undamaged file read back differently");
    }
}

/// Passes an `Ok` value on; checks that an error is one a damaged file can explain.
/// What kind of store a call ran on.
#[derive(Clone, Copy)]
struct Mode {
    read_only: bool,
    /// Read-only, or a file the engine opens read-only whatever was asked.
    refuses_writes: bool,
}

fn check<T>(
    op: &str,
    result: beadstore::Result<T>,
    mode: Mode,
    outcome: &mut Outcome,
    pristine: Option<&Expected>,
) -> Option<T> {
    let e = match result {
        Ok(v) => {
            *outcome.results.entry((op.to_owned(), "ok")).or_default() += 1;
            return Some(v);
        }
        Err(e) => e,
    };
    assert!(
        pristine.is_none(),
        "{op} failed on an undamaged file: {e:?}"
    );
    let variant = match &e {
        Error::NotFound { .. } => "NotFound",
        Error::SchemaIncompatible { .. } => "SchemaIncompatible",
        Error::MigrationFailed { .. } => "MigrationFailed",
        Error::InvariantViolated { .. } => "InvariantViolated",
        Error::Corrupt { .. } => "Corrupt",
        Error::Engine { .. } => "Engine",
        Error::Io { .. } => "Io",
        // A migration of damaged rows can trip a constraint.
        Error::Constraint { .. } if !mode.read_only => "Constraint",
        // A read-only store refuses what would need a write (a migration, a cache rebuild).
        Error::ReadOnly { .. } if mode.refuses_writes => "ReadOnly",
        // Nothing else holds, replaces or closes the file, and every argument is valid.
        _ => panic!("{op}: an error a damaged file does not explain: {e:?}"),
    };
    *outcome.results.entry((op.to_owned(), variant)).or_default() += 1;
    outcome
        .samples
        .entry((op.to_owned(), variant))
        .or_insert_with(|| e.to_string());
    None
}

/// True when a page 1 (file header) has auto-vacuum or incremental vacuum on.
fn auto_vacuum(page: &[u8]) -> bool {
    be32(page, 52) != 0 || be32(page, 64) != 0
}

/// The data of every whole WAL frame that holds page 1.
fn wal_pages_1(wal: &[u8]) -> impl Iterator<Item = &[u8]> {
    let size = frame_size(wal).unwrap_or(usize::MAX);
    wal.get(WAL_HEADER..)
        .unwrap_or_default()
        .chunks_exact(size.min(wal.len().max(1)))
        .filter(move |f| f.len() == size && be32(f, 0) == 1)
        .map(|f| &f[FRAME_HEADER..])
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The database and WAL bytes of an input, mutated and capped.
fn files(input: &Input, bases: &Bases) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let captured = matches!(input.wal, Some(Wal::Captured | Wal::CapturedPrefix { .. }));
    let mut db = match &input.base {
        Base::Missing => None,
        Base::Empty => Some(Vec::new()),
        Base::Fresh => Some(bases.fresh.clone()),
        // The captured WAL belongs to the file as it was during its session.
        Base::Populated if captured => Some(bases.wal_base.clone()),
        Base::Populated => Some(bases.populated.clone()),
        Base::OldSchema => Some(bases.old_schema.clone()),
        Base::Raw(bytes) => Some(bytes.clone()),
    };
    let mut wal = match &input.wal {
        None => None,
        Some(Wal::Raw(bytes)) => Some(bytes.clone()),
        Some(Wal::Captured) => Some(bases.wal.clone()),
        Some(Wal::CapturedPrefix { frames }) => {
            let size = frame_size(&bases.wal).unwrap_or(4096 + FRAME_HEADER);
            let len = WAL_HEADER + usize::from(*frames) * size;
            Some(bases.wal[..len.min(bases.wal.len())].to_vec())
        }
    };
    for m in input.mutations.iter().take(MAX_MUTATIONS) {
        mutate(m, &mut db, &mut wal);
    }
    if input.reseal_wal {
        if let Some(wal) = &mut wal {
            reseal(wal);
        }
    }
    for bytes in [&mut db, &mut wal].into_iter().flatten() {
        bytes.truncate(MAX_FILE);
    }
    (db, wal)
}

fn mutate(m: &Mutation, db: &mut Option<Vec<u8>>, wal: &mut Option<Vec<u8>>) {
    match *m {
        Mutation::Flip { file, offset, xor } => {
            if let Some(bytes) = choose(file, db, wal) {
                if !bytes.is_empty() {
                    let i = offset as usize % bytes.len();
                    bytes[i] ^= if xor == 0 { 0xFF } else { xor };
                }
            }
        }
        Mutation::Write {
            file,
            offset,
            ref bytes,
        } => {
            if let Some(target) = choose(file, db, wal) {
                let at = offset as usize % (target.len() + 1);
                put(target, at, &bytes[..bytes.len().min(16)]);
            }
        }
        Mutation::Truncate { file, len } => {
            if let Some(bytes) = choose(file, db, wal) {
                let len = len as usize % (bytes.len() + 1);
                bytes.truncate(len);
            }
        }
        Mutation::TruncatePages { file, pages, half } => {
            if let Some(bytes) = choose(file, db, wal) {
                let (start, size) = match file {
                    File::Db => (0, page_size(bytes)),
                    File::Wal => (WAL_HEADER, frame_size(bytes).unwrap_or(4096 + FRAME_HEADER)),
                };
                let len = start + usize::from(pages) * size + if half { size / 2 } else { 0 };
                bytes.truncate(len);
            }
        }
        Mutation::Extend { file, len, fill } => {
            if let Some(bytes) = choose(file, db, wal) {
                let len = usize::from(len).min(MAX_FILE.saturating_sub(bytes.len()));
                bytes.extend(std::iter::repeat_n(fill, len));
            }
        }
        Mutation::Header { field, value } => {
            if let Some(bytes) = db {
                let (offset, width) = field.place();
                put_be(bytes, offset, width, value.get());
            }
        }
        Mutation::PageHeader { at, field, value } => {
            if let Some((bytes, start, size, page_no)) = page(at, db, wal) {
                let header = start + if page_no == 1 { 100 } else { 0 };
                let interior = bytes.get(header).is_some_and(|t| *t == 0x02 || *t == 0x05);
                let pointers = header + if interior { 12 } else { 8 };
                let (offset, width) = match field {
                    PageField::PageType => (header, 1),
                    PageField::FirstFreeblock => (header + 1, 2),
                    PageField::CellCount => (header + 3, 2),
                    PageField::CellContentStart => (header + 5, 2),
                    PageField::FragmentedBytes => (header + 7, 1),
                    PageField::RightChild => (header + 8, 4),
                    PageField::CellPointer(n) => (pointers + 2 * usize::from(n), 2),
                    PageField::CellStart(n) => {
                        let p = pointers + 2 * usize::from(n);
                        let cell = bytes
                            .get(p..p + 2)
                            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                            .unwrap_or(0);
                        (start + cell, 4)
                    }
                };
                if offset + width <= (start + size).min(bytes.len()) {
                    put_be(bytes, offset, width, value.get());
                }
            }
        }
        Mutation::ZeroPage { at } => {
            if let Some((bytes, start, size, _)) = page(at, db, wal) {
                let end = (start + size).min(bytes.len());
                bytes[start..end].fill(0);
            }
        }
        Mutation::CopyPage { from, to } => {
            if let Some(bytes) = db {
                let size = page_size(bytes);
                let pages = bytes.len() / size;
                if pages > 0 {
                    let from = usize::from(from) % pages;
                    let to = usize::from(to) % pages;
                    // Page 1 keeps its file header; any other page becomes a copy.
                    let skip = if from == 0 || to == 0 { 100 } else { 0 };
                    let src = bytes[from * size + skip..(from + 1) * size].to_vec();
                    bytes[to * size + skip..(to + 1) * size].copy_from_slice(&src);
                }
            }
        }
        Mutation::WalHeader { field, value } => {
            if let Some(bytes) = wal {
                let offset = match field {
                    WalHeaderField::Magic => 0,
                    WalHeaderField::Version => 4,
                    WalHeaderField::PageSize => 8,
                    WalHeaderField::CheckpointSequence => 12,
                    WalHeaderField::Salt1 => 16,
                    WalHeaderField::Salt2 => 20,
                    WalHeaderField::Checksum1 => 24,
                    WalHeaderField::Checksum2 => 28,
                };
                put_be(bytes, offset, 4, value.get());
            }
        }
        Mutation::WalFrame {
            frame,
            field,
            value,
        } => {
            if let Some(bytes) = wal {
                if let Some(size) = frame_size(bytes) {
                    let frames = bytes.len().saturating_sub(WAL_HEADER) / size;
                    if frames > 0 {
                        let start = WAL_HEADER + usize::from(frame) % frames * size;
                        let offset = match field {
                            FrameField::PageNumber => 0,
                            FrameField::DbSizeAfterCommit => 4,
                            FrameField::Salt1 => 8,
                            FrameField::Salt2 => 12,
                            FrameField::Checksum1 => 16,
                            FrameField::Checksum2 => 20,
                        };
                        put_be(bytes, start + offset, 4, value.get());
                    }
                }
            }
        }
    }
}

fn choose<'a>(
    file: File,
    db: &'a mut Option<Vec<u8>>,
    wal: &'a mut Option<Vec<u8>>,
) -> Option<&'a mut Vec<u8>> {
    match file {
        File::Db => db.as_mut(),
        File::Wal => wal.as_mut(),
    }
}

/// A page's bytes: (the file, where the page starts, its size, its page number).
fn page<'a>(
    at: PageAt,
    db: &'a mut Option<Vec<u8>>,
    wal: &'a mut Option<Vec<u8>>,
) -> Option<(&'a mut Vec<u8>, usize, usize, u32)> {
    match at {
        PageAt::Db(n) => {
            let bytes = db.as_mut()?;
            let size = page_size(bytes);
            let pages = bytes.len().div_ceil(size);
            if pages == 0 {
                return None;
            }
            let index = usize::from(n) % pages;
            Some((bytes, index * size, size, index as u32 + 1))
        }
        PageAt::WalFrame(n) => {
            let bytes = wal.as_mut()?;
            let size = frame_size(bytes)?;
            let frames = bytes.len().saturating_sub(WAL_HEADER) / size;
            if frames == 0 {
                return None;
            }
            let start = WAL_HEADER + usize::from(n) % frames * size;
            let page_no = be32(bytes, start);
            Some((bytes, start + FRAME_HEADER, size - FRAME_HEADER, page_no))
        }
    }
}

/// The database's page size from its header, 4096 when the header does not give a valid one.
fn page_size(db: &[u8]) -> usize {
    let raw = db
        .get(16..18)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .unwrap_or(0);
    match raw {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => usize::from(n),
        _ => 4096,
    }
}

/// The size of one WAL frame (header and page) from the WAL header, if it gives a valid page size.
fn frame_size(wal: &[u8]) -> Option<usize> {
    if wal.len() < WAL_HEADER {
        return None;
    }
    let page = be32(wal, 8) as usize;
    (512..=65536)
        .contains(&page)
        .then_some(page)
        .filter(|p| p.is_power_of_two())
        .map(|p| p + FRAME_HEADER)
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

fn put(bytes: &mut Vec<u8>, at: usize, data: &[u8]) {
    if bytes.len() < at + data.len() {
        bytes.resize(at + data.len(), 0);
    }
    bytes[at..at + data.len()].copy_from_slice(data);
}

/// Writes the low `width` bytes of `value` big-endian at `at`, within the file only.
fn put_be(bytes: &mut [u8], at: usize, width: usize, value: u32) {
    let be = value.to_be_bytes();
    if at + width <= bytes.len() {
        bytes[at..at + width].copy_from_slice(&be[4 - width..]);
    }
}

/// Makes every frame of a WAL valid again as far as checksums and salts go (SQLite's
/// algorithm: cumulative over the header, then each frame's first 8 header bytes and page).
fn reseal(wal: &mut [u8]) {
    let magic = be32(wal, 0);
    if magic & !1 != 0x377f_0682 {
        return;
    }
    let Some(size) = frame_size(wal) else {
        return;
    };
    let big_endian = magic & 1 == 1;
    let (mut s0, mut s1) = checksum(big_endian, &wal[..24], 0, 0);
    put_be(wal, 24, 4, s0);
    put_be(wal, 28, 4, s1);
    let salts: [u8; 8] = wal[16..24].try_into().expect("8 bytes");
    let mut start = WAL_HEADER;
    while start + size <= wal.len() {
        wal[start + 8..start + 16].copy_from_slice(&salts);
        (s0, s1) = checksum(big_endian, &wal[start..start + 8], s0, s1);
        (s0, s1) = checksum(big_endian, &wal[start + FRAME_HEADER..start + size], s0, s1);
        put_be(wal, start + 16, 4, s0);
        put_be(wal, start + 20, 4, s1);
        start += size;
    }
}

fn checksum(big_endian: bool, data: &[u8], mut s0: u32, mut s1: u32) -> (u32, u32) {
    for pair in data.chunks_exact(8) {
        let word = |b: &[u8]| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

// ---------------------------------------------------------------------------------------------
// The cached bases: real beadstore files, built once per process.

fn bases() -> &'static Bases {
    static BASES: OnceLock<Bases> = OnceLock::new();
    BASES.get_or_init(build_bases)
}

fn quiet(path: &Path) -> Store {
    Store::open_with(
        path.to_str().expect("utf-8 temp path"),
        OpenOptions::new().freshness(FreshnessMode::Off),
    )
    .expect("open a base")
}

fn build_bases() -> Bases {
    let dir = scratch_dir();
    let read = |p: &Path| std::fs::read(p).expect("read a base");

    let fresh = dir.path().join("fresh.db");
    let store = quiet(&fresh);
    store.set_config("issue_prefix", "fz").expect("prefix");
    store.close().expect("close");

    let populated = dir.path().join("populated.db");
    let store = quiet(&populated);
    populate(&store);
    store.close().expect("close");
    let expected_populated = expect(&populated);

    let old = dir.path().join("old.db");
    std::fs::copy(&populated, &old).expect("copy");
    let store = quiet(&old);
    store
        .execute_batch("DROP TABLE export_hashes; DROP INDEX idx_issues_pinned; ALTER TABLE issues DROP COLUMN pinned;")
        .expect("age the schema");
    store.close().expect("close");

    // The WAL session: writes on top of the populated file, copied while still open.
    let session = dir.path().join("session.db");
    std::fs::copy(&populated, &session).expect("copy");
    let store = quiet(&session);
    let added = more_work(&store);
    let expected_with_wal = expected_of(&store);
    let wal_base = read(&session);
    let wal = read(&wal_path(&session));
    store.close().expect("close");
    assert!(
        frame_size(&wal).is_some() && added > 0,
        "the session left a WAL"
    );
    let mut resealed = wal.clone();
    reseal(&mut resealed);
    assert!(resealed == wal, "resealing a valid WAL changes nothing");

    Bases {
        fresh: read(&fresh),
        populated: read(&populated),
        old_schema: read(&old),
        wal_base,
        wal,
        expected_populated,
        expected_with_wal,
    }
}

fn populate(store: &Store) {
    store.set_config("issue_prefix", "fz").expect("prefix");
    store.set_config("stable", "yes").expect("config");
    let mut ids = Vec::new();
    for i in 0..12 {
        let mut issue = Issue::new(format!("issue {i}"));
        issue.description = if i % 4 == 0 {
            // Long enough for overflow pages.
            format!("long description {i} ").repeat(400)
        } else {
            format!("description {i}")
        };
        issue.priority = i64::from(i % 5);
        issue.assignee = if i % 3 == 0 {
            "ann".into()
        } else {
            String::new()
        };
        let created = store.create_issue(issue, "fuzz").expect("create");
        ids.push(created.id);
    }
    for (i, id) in ids.iter().enumerate() {
        store
            .add_label(id, &format!("l{}", i % 3), "fuzz")
            .expect("label");
        if i % 2 == 1 {
            store
                .add_issue_comment(id, "fuzz", &format!("comment on {id}"))
                .expect("comment");
        }
    }
    for i in 1..6 {
        let dep = Dependency::new(ids[i].clone(), ids[i - 1].clone(), DependencyType::Blocks);
        store.add_dependency(&dep, "fuzz").expect("blocks");
    }
    let child = Dependency::new(ids[7].clone(), ids[6].clone(), DependencyType::ParentChild);
    store.add_dependency(&child, "fuzz").expect("parent-child");
    store
        .close_issue(&ids[0], &Attribution::new("fuzz").reason("done"))
        .expect("close an issue");
}

/// More writes, left in the WAL; returns how many issues it added.
fn more_work(store: &Store) -> usize {
    let existing: Vec<String> = store
        .search_issues("", &IssueFilter::default())
        .expect("search")
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut added = Vec::new();
    for i in 0..5 {
        let mut issue = Issue::new(format!("wal issue {i}"));
        issue.status = if i == 4 {
            Status::InProgress
        } else {
            Status::Open
        };
        added.push(store.create_issue(issue, "fuzz").expect("create").id);
    }
    store
        .execute(
            "UPDATE issues SET title = ? WHERE id = ?",
            &params!["retitled", existing[3].as_str()],
        )
        .expect("update");
    store.add_label(&added[0], "wal", "fuzz").expect("label");
    store
        .add_issue_comment(&added[1], "fuzz", "comment in the WAL")
        .expect("comment");
    let dep = Dependency::new(added[2].clone(), added[1].clone(), DependencyType::Blocks);
    store.add_dependency(&dep, "fuzz").expect("dependency");
    store
        .close_issue(&existing[5], &Attribution::new("fuzz").reason("in the WAL"))
        .expect("close an issue");
    store.set_config("wal", "yes").expect("config");
    added.len()
}

fn expect(path: &Path) -> Expected {
    let store = quiet(path);
    let expected = expected_of(&store);
    store.close().expect("close");
    expected
}

fn expected_of(store: &Store) -> Expected {
    let ids = |issues: Vec<Issue>| {
        let mut ids: Vec<String> = issues.into_iter().map(|i| i.id).collect();
        ids.sort();
        ids
    };
    Expected {
        searched: ids(store
            .search_issues("", &IssueFilter::default())
            .expect("search")),
        exported: store
            .render_jsonl(&ExportOptions::default())
            .expect("export")
            .ids,
        ready: ids(store.get_ready_work(&WorkFilter::default()).expect("ready")),
        total_issues: store.get_statistics().expect("statistics").total_issues,
    }
}

// ---------------------------------------------------------------------------------------------
// Panics: the engine's are contained by beadstore (counted here); any other is a finding.

/// Distinct contained engine panics: "file:line: message" -> count.
static ENGINE_PANICS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
/// Panics raised by beadstore's own code (or the harness) while an input ran.
static OUR_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    static IN_HARNESS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct InHarness;

impl InHarness {
    fn enter() -> InHarness {
        IN_HARNESS.with(|h| h.set(true));
        InHarness
    }
}

impl Drop for InHarness {
    fn drop(&mut self) {
        IN_HARNESS.with(|h| h.set(false));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every contained engine panic so far: "file:line: message" -> count.
#[allow(dead_code)] // the smoke run prints them; the fuzz target does not
pub fn engine_panics() -> BTreeMap<String, u64> {
    lock(&ENGINE_PANICS).clone()
}

fn contained_panics() -> u64 {
    lock(&ENGINE_PANICS).values().sum()
}

/// Installs (once) a panic hook in front of the current one: a panic raised inside a dependency
/// (the engine) on the harness thread is recorded and left to beadstore's containment, with one
/// line printed the first time each site panics. Any other panic goes to the previous hook (in
/// the fuzzer, libfuzzer-sys's, which aborts: a finding), and is also recorded so that a panic
/// beadstore contains in its own code still fails the input.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_else(|| "unknown".into());
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let in_dependency =
                location.contains("/.cargo/registry/") || location.contains("/rustc/");
            if IN_HARNESS.with(std::cell::Cell::get) && in_dependency {
                let first: String = message.chars().take(160).collect();
                let key = format!("{location}: {first}");
                let mut seen = lock(&ENGINE_PANICS);
                let count = seen.entry(key.clone()).or_default();
                if *count == 0 {
                    eprintln!("open_corrupt: contained engine panic at {key}");
                }
                *count += 1;
                return;
            }
            if IN_HARNESS.with(std::cell::Cell::get) {
                lock(&OUR_PANICS).push(format!("{location}: {message}"));
            }
            previous(info);
        }));
    });
}
