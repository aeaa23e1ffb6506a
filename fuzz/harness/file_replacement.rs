//! The `file_replacement` fuzz harness, shared by the cargo-fuzz target and the smoke run in
//! `cargo test` (tests/fuzz_smoke/replacement.rs): a sequence of operations on a store, with the database
//! file replaced under it in every way git, cp and crashes do, checked against a model.
//!
//! It asserts: no panic, no hang (libFuzzer's -timeout), typed errors only, reads after a
//! replacement come from the new file (on the next call with stat checks, eventually with the
//! inotify watch), and every acknowledged write is in the file that was live when it was
//! acknowledged: the live file at the end, or the replaced file (kept through a hard link).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;

// Each fuzz target includes its harness alone; the smoke test binary includes both.
#[allow(clippy::duplicate_mod)]
#[path = "scratch.rs"]
mod scratch;
use beadstore::{params, Error, FreshnessMode, OpenOptions, Store, Value};
use scratch::scratch_dir;

/// One fuzz input.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// inotify watch (reads follow eventually) or stat (reads follow on the next call).
    pub watch: bool,
    /// A thread reading the whole time.
    pub concurrent_reader: bool,
    pub ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    CreateIssue,
    UpdateIssue(u8),
    ReadIssues,
    SetConfig(u8),
    ReadConfig(u8),
    Checkpoint,
    CloseAndReopen,
    Replace(How, What),
    Remove,
}

/// How the new file takes the path.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Written beside, renamed over (git).
    Rename,
    /// Deleted, then written anew.
    DeleteAndRecreate,
    /// Written into the same inode (cp).
    InPlace,
}

/// What the new file holds.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// A complete beads database, with `extra` more issues.
    Valid { extra: u8 },
    /// The first half of one.
    Truncated,
    /// Bytes that are not SQLite.
    Garbage,
    /// Nothing.
    Empty,
}

const MAX_OPS: usize = 24;

/// What a beads database holds, as far as the harness writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Content {
    issues: BTreeMap<String, String>,
    config: BTreeMap<String, String>,
}

/// What is at the path.
#[derive(Debug, Clone)]
enum AtPath {
    Valid(Content),
    Invalid,
    Missing,
}

struct Model {
    at_path: AtPath,
    /// True while the path names the file the store has open.
    path_is_store_file: bool,
    /// What the store's open file holds; `None` once an in-place overwrite left nothing usable.
    store_file: Option<Content>,
    /// Hard links to replaced files that were the store's, with what they must hold.
    retired: Vec<(PathBuf, Content)>,
    generation: u32,
}

struct Run {
    dir: tempfile::TempDir,
    path: PathBuf,
    mode: FreshnessMode,
    /// Follow each replacement at once (`refresh`): with a watch or a concurrent reader, when the
    /// store follows is not up to the harness otherwise.
    settle: bool,
    store: Arc<RwLock<Arc<Store>>>,
    model: Model,
}

/// Runs one input. Panics (the fuzzer's finding) when beadstore misbehaves.
pub fn run(input: &Input) {
    let dir = scratch_dir();
    let path = dir.path().join("beads.db");
    let mode = if input.watch {
        FreshnessMode::Watch
    } else {
        FreshnessMode::Stat
    };
    let initial = Content::seeded();
    build(&path, &initial);
    let store = Store::open_with(path_str(&path), OpenOptions::new().freshness(mode))
        .expect("open the initial file");
    let mut run = Run {
        path,
        mode,
        settle: input.watch || input.concurrent_reader,
        store: Arc::new(RwLock::new(Arc::new(store))),
        model: Model {
            at_path: AtPath::Valid(initial.clone()),
            path_is_store_file: true,
            store_file: Some(initial),
            retired: Vec::new(),
            generation: 0,
        },
        dir,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let reader = input.concurrent_reader.then(|| {
        let (store, stop) = (run.store.clone(), stop.clone());
        std::thread::spawn(move || concurrent_reads(&store, &stop))
    });
    for op in input.ops.iter().take(MAX_OPS) {
        run.apply(*op);
    }
    stop.store(true, Ordering::Release);
    if let Some(reader) = reader {
        reader.join().expect("the concurrent reader failed");
    }
    run.finish();
}

/// Reads the whole time; only typed, expected errors are allowed.
fn concurrent_reads(store: &RwLock<Arc<Store>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        let store = store.read().expect("store lock").clone();
        match store.get_config("stable") {
            Ok(v) => assert!(
                matches!(v.as_deref(), Some("yes") | None),
                "unexpected value {v:?}"
            ),
            Err(Error::Replaced { .. }) => {}
            Err(Error::Closed { .. }) if store.is_closed() => {}
            Err(e) => panic!("concurrent read failed: {e:?}"),
        }
    }
}

impl Content {
    fn seeded() -> Content {
        let mut c = Content::default();
        c.config.insert("stable".into(), "yes".into());
        c.issues.insert("fz-0".into(), "first".into());
        c
    }
}

impl Run {
    fn store(&self) -> Arc<Store> {
        self.store.read().expect("store lock").clone()
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::CreateIssue => {
                let id = format!("fz-c{}", self.next_generation());
                let title = format!("created {id}");
                let result = self.store().execute(
                    "INSERT INTO issues (id, title) VALUES (?, ?)",
                    &params![id.as_str(), title.as_str()],
                );
                self.expect_write(result.map(|_| ()), |c| {
                    c.issues.insert(id, title);
                });
            }
            Op::UpdateIssue(n) => {
                let Some(id) = self.some_issue(n) else {
                    return;
                };
                let title = format!("updated {}", self.next_generation());
                let result = self.store().execute(
                    "UPDATE issues SET title = ? WHERE id = ?",
                    &params![title.as_str(), id.as_str()],
                );
                self.expect_write(result.map(|_| ()), |c| {
                    c.issues.insert(id, title);
                });
            }
            Op::SetConfig(n) => {
                let (key, value) = (format!("k{}", n % 4), self.next_generation().to_string());
                let result = self.store().set_config(&key, &value);
                self.expect_write(result, |c| {
                    c.config.insert(key, value);
                });
            }
            Op::ReadIssues => self.expect_read(
                |store| read_content(store).map(|c| c.issues),
                |c| c.issues.clone(),
            ),
            Op::ReadConfig(n) => {
                let key = format!("k{}", n % 4);
                self.expect_read(
                    |store| store.get_config(&key),
                    |c| c.config.get(&key).cloned(),
                );
            }
            Op::Checkpoint => {
                let result = self.store().checkpoint().map(|_| ());
                self.expect_write(result, |_| {});
            }
            Op::CloseAndReopen => self.reopen(),
            Op::Replace(how, what) => {
                self.replace(how, what);
                self.settle();
            }
            Op::Remove => {
                if matches!(self.model.at_path, AtPath::Missing) {
                    return;
                }
                self.retire();
                std::fs::remove_file(&self.path).expect("remove");
                self.model.at_path = AtPath::Missing;
                self.model.path_is_store_file = false;
                self.settle();
            }
        }
    }

    fn next_generation(&mut self) -> u32 {
        self.model.generation += 1;
        self.model.generation
    }

    fn some_issue(&self, n: u8) -> Option<String> {
        let c = self.visible()?;
        let ids: Vec<&String> = c.issues.keys().collect();
        (!ids.is_empty()).then(|| ids[usize::from(n) % ids.len()].clone())
    }

    /// The content a correct store serves after following the path.
    fn visible(&self) -> Option<&Content> {
        match &self.model.at_path {
            AtPath::Valid(c) => Some(c),
            AtPath::Invalid | AtPath::Missing if self.model.path_is_store_file => None,
            AtPath::Invalid | AtPath::Missing => self.model.store_file.as_ref(),
        }
    }

    /// A write succeeds exactly when a valid file is at the path; the model follows.
    fn expect_write(&mut self, result: beadstore::Result<()>, update: impl FnOnce(&mut Content)) {
        match (&mut self.model.at_path, result) {
            (AtPath::Valid(c), Ok(())) => {
                update(c);
                self.model.store_file = Some(c.clone());
                self.model.path_is_store_file = true;
            }
            (AtPath::Valid(_), Err(e)) => {
                panic!("write refused with a valid file at the path: {e:?}")
            }
            (_, Ok(())) => panic!("write acknowledged with no usable file at the path"),
            (_, Err(Error::Replaced { .. })) => {}
            (_, Err(e)) => panic!("untyped refusal: {e:?}"),
        }
    }

    /// A read returns what the model says (at once with stat checks, eventually with a watch).
    fn expect_read<T: PartialEq + std::fmt::Debug>(
        &mut self,
        read: impl Fn(&Store) -> beadstore::Result<T>,
        expected: impl Fn(&Content) -> T,
    ) {
        let want = self.visible().map(&expected);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = read(&self.store());
            let matches = match (&want, &got) {
                (Some(w), Ok(g)) => w == g,
                (None, Err(Error::Replaced { .. })) => true,
                (_, Err(e)) if !matches!(e, Error::Replaced { .. }) => {
                    panic!("read failed with an untyped error: {e:?}")
                }
                _ => false,
            };
            if matches {
                break;
            }
            assert!(
                self.mode == FreshnessMode::Watch && Instant::now() < deadline,
                "read {got:?}, expected {want:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        self.followed();
    }

    /// After a successful call with a valid file at the path, the store has that file open.
    fn followed(&mut self) {
        if let AtPath::Valid(c) = &self.model.at_path {
            self.model.store_file = Some(c.clone());
            self.model.path_is_store_file = true;
        }
    }

    /// Makes the store look at the file now, so the model knows what it has open.
    fn settle(&mut self) {
        if !self.settle {
            return;
        }
        match self.store().refresh() {
            Ok(_) => self.followed(),
            Err(Error::Replaced { .. }) => {}
            Err(e) => panic!("refresh failed with an untyped error: {e:?}"),
        }
    }

    fn reopen(&mut self) {
        let fresh = match &self.model.at_path {
            AtPath::Valid(c) => c.clone(),
            // A missing file is created anew; an empty one too (it is a new SQLite file).
            AtPath::Missing => Content::default(),
            AtPath::Invalid => return,
        };
        self.store().close().expect("close");
        let store = Store::open_with(
            path_str(&self.path),
            OpenOptions::new().freshness(self.mode),
        )
        .expect("reopen a valid or missing file");
        let mut content = fresh;
        if matches!(self.model.at_path, AtPath::Missing) {
            store
                .set_config("stable", "yes")
                .expect("seed the new file");
            content.config.insert("stable".into(), "yes".into());
        }
        *self.store.write().expect("store lock") = Arc::new(store);
        self.model.at_path = AtPath::Valid(content.clone());
        self.model.store_file = Some(content);
        self.model.path_is_store_file = true;
    }

    /// Keeps the store's file reachable through a hard link before it leaves the path, to check
    /// at the end that it holds every write acknowledged while it was live.
    fn retire(&mut self) {
        if !self.model.path_is_store_file || matches!(self.model.at_path, AtPath::Missing) {
            return;
        }
        if let AtPath::Valid(c) = &self.model.at_path {
            let link = self
                .dir
                .path()
                .join(format!("retired-{}.db", self.model.retired.len()));
            std::fs::hard_link(&self.path, &link).expect("hard link");
            self.model.retired.push((link, c.clone()));
        }
    }

    fn replace(&mut self, how: How, what: What) {
        let generation = self.next_generation();
        let staged = self.dir.path().join(format!("staged-{generation}.db"));
        let new_content = match what {
            What::Valid { extra } => {
                let mut c = self.visible().cloned().unwrap_or_else(Content::seeded);
                c.config.insert("stable".into(), "yes".into());
                for i in 0..=extra % 3 {
                    c.issues.insert(
                        format!("fz-r{generation}-{i}"),
                        format!("from replacement {generation}"),
                    );
                }
                build(&staged, &c);
                if how == How::InPlace && self.model.path_is_store_file {
                    // Documented limit: a same-sized, same-header copy over a store whose WAL
                    // holds frames is taken for a touch. Never produce that case here.
                    pad_to_differ(&staged, &self.path, &mut c);
                }
                Some(c)
            }
            What::Truncated => {
                let mut c = Content::seeded();
                c.config.insert("pad-t".into(), "x".repeat(6000));
                build(&staged, &c);
                let bytes = std::fs::read(&staged).expect("read staged");
                std::fs::write(&staged, &bytes[..bytes.len() / 2]).expect("truncate");
                None
            }
            What::Garbage => {
                std::fs::write(&staged, vec![0xA5; 8192]).expect("garbage");
                None
            }
            What::Empty => {
                std::fs::write(&staged, []).expect("empty");
                None
            }
        };
        match how {
            How::Rename => {
                self.retire();
                std::fs::rename(&staged, &self.path).expect("rename");
                self.model.path_is_store_file = false;
            }
            How::DeleteAndRecreate => {
                self.retire();
                if !matches!(self.model.at_path, AtPath::Missing) {
                    std::fs::remove_file(&self.path).expect("delete");
                }
                std::fs::copy(&staged, &self.path).expect("recreate");
                self.model.path_is_store_file = false;
            }
            How::InPlace => {
                if matches!(self.model.at_path, AtPath::Missing) {
                    self.model.path_is_store_file = false;
                }
                // Overwrites the inode: when it was the store's, its content is gone.
                std::fs::copy(&staged, &self.path).expect("copy in place");
                if self.model.path_is_store_file {
                    self.model.store_file = None;
                }
            }
        }
        self.model.at_path = match new_content {
            Some(c) => AtPath::Valid(c),
            None => AtPath::Invalid,
        };
    }

    fn finish(self) {
        let store = self.store();
        store.close().expect("close");
        drop(store);
        drop(self.store);
        if let AtPath::Valid(c) = &self.model.at_path {
            assert_eq!(&read_file(&self.path), c, "the live file");
        }
        for (link, content) in &self.model.retired {
            assert_eq!(
                &read_file(link),
                content,
                "replaced file {}",
                link.display()
            );
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Writes `content` as a complete beads database at `path`.
/// A closed beads database with the schema and the `fz` prefix, made once per process: every
/// staged file starts as a copy of these bytes instead of running the schema's DDL again.
fn template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = scratch_dir();
        let path = dir.path().join("template.db");
        let store = Store::open_with(
            path_str(&path),
            OpenOptions::new().freshness(FreshnessMode::Off),
        )
        .expect("build the template");
        store.set_config("issue_prefix", "fz").expect("prefix");
        store.close().expect("close the template");
        let wal = std::fs::metadata(dir.path().join("template.db-wal")).map_or(0, |m| m.len());
        assert_eq!(
            wal, 0,
            "close must leave the template whole in its main file"
        );
        std::fs::read(&path).expect("read the template")
    })
}

fn build(path: &Path, content: &Content) {
    std::fs::write(path, template()).expect("copy the template");
    let store = Store::open_with(
        path_str(path),
        OpenOptions::new().freshness(FreshnessMode::Off),
    )
    .expect("build a staged file");
    for (k, v) in &content.config {
        store.set_config(k, v).expect("config");
    }
    for (id, title) in &content.issues {
        store
            .execute(
                "INSERT INTO issues (id, title) VALUES (?, ?)",
                &params![id.as_str(), title.as_str()],
            )
            .expect("issue");
    }
    store.close().expect("close staged");
}

/// Grows the staged file until its size differs from the file at `live`.
fn pad_to_differ(staged: &Path, live: &Path, content: &mut Content) {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut n = 0;
    while len(staged) == len(live) {
        n += 1;
        content.config.insert(format!("pad-{n}"), "p".repeat(5000));
        std::fs::remove_file(staged).expect("rebuild");
        build(staged, content);
    }
}

fn read_content(store: &Store) -> beadstore::Result<Content> {
    let mut c = Content::default();
    for row in store.query("SELECT id, title FROM issues", &[])? {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        c.issues.insert(text(&row[0]), text(&row[1]));
    }
    for (k, v) in store.all_config()? {
        if k == "stable" || k.starts_with('k') || k.starts_with("pad-") {
            c.config.insert(k, v);
        }
    }
    Ok(c)
}

fn read_file(path: &Path) -> Content {
    let store = Store::open_with(
        path_str(path),
        OpenOptions::new()
            .read_only(true)
            .freshness(FreshnessMode::Off),
    )
    .expect("open for the final check");
    let c = read_content(&store).expect("read for the final check");
    store.close().expect("close");
    c
}
