//! Noticing that the database file was replaced under a running store (git checkout, merge,
//! rebase, a copy over it), cheaply enough to ask on every call.
//!
//! The per-call check is an atomic load when the directory is watched with inotify, a `stat`
//! otherwise. A change is compared with the stamp of the file the store has open (inode, size,
//! times, header bytes) so that the store's own writes and checkpoints never count.

pub(crate) mod candidate;
mod events;
mod watcher;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;

use crate::registry::{self, FileId, Pin};
use crate::stamp::Header;
pub(crate) use crate::stamp::{FileStamp, Snapshot};

pub(crate) use events::Events;
pub use events::{FreshnessEvent, FreshnessStats};

/// How a store notices that its file was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FreshnessMode {
    /// Watch the directory with inotify (a check is an atomic load); `stat` on every call where
    /// inotify is unavailable, exhausted or its watch was lost. Writes always `stat` first.
    #[default]
    Watch,
    /// `stat` the file on every call (what the Go store does).
    Stat,
    /// Never check: the store keeps using the file it opened (until `enable_freshness_checking`).
    Off,
}

/// What happened to the file at the database path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplacementKind {
    /// The path names another file now: renamed over (what git does) or deleted and recreated.
    NewFile,
    /// The same file was rewritten in place (`cp` over it, a restore).
    InPlace,
    /// Nothing is at the path (deleted, or the middle of a replacement).
    Missing,
}

impl std::fmt::Display for ReplacementKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplacementKind::NewFile => "replaced by a new file",
            ReplacementKind::InPlace => "overwritten in place",
            ReplacementKind::Missing => "removed",
        })
    }
}

impl Snapshot {
    /// The file at `path` now, or `None` when nothing is there. The header is read (through
    /// `pin`, never a new descriptor) only when the path still names the pinned file.
    pub(crate) fn take(path: &Path, pin: Option<&Pin>) -> std::io::Result<Option<Snapshot>> {
        let Some(stamp) = FileStamp::of(path)? else {
            return Ok(None);
        };
        let header = pin.filter(|p| p.id() == stamp.id()).and_then(read_header);
        Ok(Some(Snapshot { stamp, header }))
    }

    /// True when the header was read and describes a whole SQLite file of this size: not
    /// empty, not foreign, not a copy still in progress.
    pub(crate) fn is_whole(&self) -> bool {
        self.header
            .is_some_and(|h| candidate::is_whole(&h, self.stamp.size))
    }
}

fn read_header(pin: &Pin) -> Option<Header> {
    let mut header = [0u8; 100];
    pin.read_at(&mut header, 0).ok()?.then_some(header)
}

/// The file a store opened: its snapshot and a pin to read its header later.
pub(crate) struct Opened {
    snapshot: Snapshot,
    pin: Option<Pin>,
    whole: bool,
}

impl Opened {
    /// The file at `path`, when it is still the file `id` the engine opened. Without a pin
    /// (out of descriptors) the header is not compared, only the stamp.
    pub(crate) fn capture(path: &Path, id: FileId) -> Option<Opened> {
        let pin = registry::pin(path).ok().flatten().filter(|p| p.id() == id);
        let snapshot = Snapshot::take(path, pin.as_ref()).ok()??;
        (snapshot.stamp.id() == id).then_some(Opened {
            snapshot,
            pin,
            whole: true,
        })
    }

    /// For a file that passed `candidate::check` just before the engine opened it: when it is
    /// no longer a whole SQLite file now (its header unreadable, or counting more pages than it
    /// has), a copy over it began meanwhile, and it must not count as unchanged.
    pub(crate) fn checked_before_open(mut self) -> Opened {
        // Without a pin there is no header to judge by.
        self.whole = self.pin.is_none() || self.snapshot.is_whole();
        self
    }
}

/// What the store has open, as checks compare against.
struct Baseline {
    snapshot: Option<Snapshot>,
    pin: Option<Pin>,
    /// False when a reconnect caught the file in the middle of a copy over it just after the
    /// engine opened it: it never counts as unchanged, so the next check reopens it.
    whole: bool,
}

impl Baseline {
    fn from(opened: Option<Opened>) -> Self {
        match opened {
            Some(o) => Baseline {
                snapshot: Some(o.snapshot),
                pin: o.pin,
                whole: o.whole,
            },
            None => Baseline {
                snapshot: None,
                pin: None,
                whole: true,
            },
        }
    }

    /// The file at `path` now. An unchanged stamp means an unchanged file as far as checks go,
    /// so its header is only read again when the stamp moved.
    fn take_now(&self, path: &Path) -> std::io::Result<Option<Snapshot>> {
        let Some(stamp) = FileStamp::of(path)? else {
            return Ok(None);
        };
        if let Some(known) = self.snapshot.filter(|s| s.stamp == stamp) {
            return Ok(Some(known));
        }
        let header = self
            .pin
            .as_ref()
            .filter(|p| p.id() == stamp.id())
            .and_then(read_header);
        Ok(Some(Snapshot { stamp, header }))
    }
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The path still names the file the store has open.
    Fresh,
    /// It does not; `now` is what is there (None when missing).
    Changed {
        kind: ReplacementKind,
        now: Option<Snapshot>,
    },
}

/// The per-store freshness state.
pub(crate) struct Tracker {
    file: PathBuf,
    enabled: AtomicBool,
    /// Watcher generation already accounted for; `u64::MAX` forces a stat on the next check.
    seen: AtomicU64,
    /// The generation read just before the latest `stat`.
    last_looked: AtomicU64,
    /// Set on the first check: the watch, or `None` when checks use `stat`.
    subscription: OnceLock<Option<watcher::Subscription>>,
    /// False for `FreshnessMode::Stat`: never try to watch.
    watch_wanted: bool,
    /// The file the store has open.
    baseline: Mutex<Baseline>,
    pub(crate) events: Events,
}

const UNSEEN: u64 = u64::MAX;

impl Tracker {
    /// Tracks `file`, which the store opened as `opened` (taken before the engine opened it).
    pub(crate) fn new(file: PathBuf, mode: FreshnessMode, opened: Option<Opened>) -> Self {
        Tracker {
            file,
            enabled: AtomicBool::new(mode != FreshnessMode::Off),
            seen: AtomicU64::new(UNSEEN),
            last_looked: AtomicU64::new(UNSEEN),
            subscription: OnceLock::new(),
            watch_wanted: mode == FreshnessMode::Watch,
            baseline: Mutex::new(Baseline::from(opened)),
            events: Events::default(),
        }
    }

    /// The database file being tracked.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// Turns checking on (re-reading the file's state, as Go's `Enable`) or off.
    pub(crate) fn set_enabled(&self, on: bool) {
        if on {
            self.seen.store(UNSEEN, Ordering::Release);
        }
        self.enabled.store(on, Ordering::Release);
    }

    /// True while checks run.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// True when checks are served by the inotify watch (false: `stat` on every call).
    pub(crate) fn is_watching(&self) -> bool {
        self.watch().is_some_and(|s| !s.signal().is_degraded())
    }

    /// The watch, subscribed on first use; `None` when checks use `stat`.
    fn watch(&self) -> Option<&watcher::Subscription> {
        if !self.watch_wanted {
            return None;
        }
        self.subscription
            .get_or_init(|| {
                let sub = watcher::subscribe(&self.file);
                if sub.is_none() {
                    tracing::debug!(target: "beadstore::freshness", file = %self.file.display(), "inotify unavailable: checking with stat");
                }
                sub
            })
            .as_ref()
    }

    /// Has the file at the path changed since the store opened it? `strict` always looks at the
    /// file (writes use it so that none lands in a file that was already replaced); otherwise
    /// an unchanged watch answers without a system call.
    pub(crate) fn check(&self, strict: bool) -> Verdict {
        if !self.is_enabled() {
            return Verdict::Fresh;
        }
        let generation = self.generation();
        if !strict {
            if let Some(g) = generation {
                if g == self.seen.load(Ordering::Acquire) {
                    return Verdict::Fresh;
                }
            }
        }
        self.look(generation)
    }

    /// The watch's generation; `None` when not watching (or the watch was lost).
    fn generation(&self) -> Option<u64> {
        let signal = self.watch()?.signal();
        if signal.is_degraded() {
            return None;
        }
        Some(signal.generation())
    }

    /// Stats the file and compares it with the baseline.
    fn look(&self, generation: Option<u64>) -> Verdict {
        self.events.count_stat();
        self.last_looked
            .store(generation.unwrap_or(UNSEEN), Ordering::Release);
        let mut baseline = self.baseline.lock();
        // An unreadable path is not evidence of a replacement; look again next time.
        let Ok(now) = baseline.take_now(&self.file) else {
            return Verdict::Fresh;
        };
        let verdict = self.judge(&baseline, now.as_ref());
        if verdict == Verdict::Fresh {
            if now.is_some() {
                // A touch or a chmod: same file, same content. Follow it so it is not re-examined.
                baseline.snapshot = now;
            }
            if let Some(g) = generation {
                self.seen.store(g, Ordering::Release);
            }
        }
        verdict
    }

    /// How the path differs from the file the store has open, checking even when freshness
    /// checking is off (close uses it so that it never checkpoints into someone else's file).
    pub(crate) fn change_now(&self) -> Option<ReplacementKind> {
        let baseline = self.baseline.lock();
        let now = baseline.take_now(&self.file).ok()?;
        match self.judge(&baseline, now.as_ref()) {
            Verdict::Fresh => None,
            Verdict::Changed { kind, .. } => Some(kind),
        }
    }

    /// `compare`, where a change another store of this process made with its own write (the
    /// engine's database is shared per file) is not an overwrite either.
    fn judge(&self, baseline: &Baseline, now: Option<&Snapshot>) -> Verdict {
        if let (false, Some(b), Some(n)) = (baseline.whole, &baseline.snapshot, now) {
            if b.stamp.same_file(&n.stamp) {
                return Verdict::Changed {
                    kind: ReplacementKind::InPlace,
                    now: Some(*n),
                };
            }
        }
        let verdict = compare(baseline.snapshot.as_ref(), now, || {
            wal_holds_frames(&self.file)
        });
        match (verdict, now) {
            (
                Verdict::Changed {
                    kind: ReplacementKind::InPlace,
                    ..
                },
                Some(n),
            ) if registry::last_own_write(n.stamp.id()).is_some_and(|own| own == *n) => {
                Verdict::Fresh
            }
            _ => verdict,
        }
    }

    /// Lets the watch answer reads again without a `stat` until the file changes once more: the
    /// change just examined is being dealt with (a refused replacement). Writes still `stat`.
    pub(crate) fn defer(&self) {
        self.seen
            .store(self.last_looked.load(Ordering::Acquire), Ordering::Release);
    }

    /// The file lock found the file rewritten by another program (a copy over it) that this
    /// check may not see, or may take for a touch: the next check reports it overwritten in
    /// place, so that the store reopens it (discarding a `-wal` of the old content).
    pub(crate) fn distrust_baseline(&self) {
        self.baseline.lock().whole = false;
        self.seen.store(UNSEEN, Ordering::Release);
    }

    /// Records that the store now has `now` open (after a reconnect or its own write).
    pub(crate) fn rebase(&self, opened: Option<Opened>) {
        *self.baseline.lock() = Baseline::from(opened);
        self.seen.store(UNSEEN, Ordering::Release);
    }

    /// After the store's own write: follows the file's new size and times, so that its own
    /// checkpoints never look like a replacement. Returns the verdict for the file as it was
    /// when the write finished: `Changed` when the path names another file (the write landed
    /// in the file that was replaced).
    /// The baseline follows even while checking is off, so that `close` can still tell an own
    /// checkpoint from an overwrite.
    pub(crate) fn after_own_write(&self) -> Verdict {
        let enabled = self.is_enabled();
        let generation = if enabled { self.generation() } else { None };
        self.events.count_stat();
        let mut baseline = self.baseline.lock();
        let Ok(now) = baseline.take_now(&self.file) else {
            return Verdict::Fresh;
        };
        let same_file = match (baseline.snapshot.as_ref(), now.as_ref()) {
            (Some(b), Some(n)) => b.stamp.same_file(&n.stamp),
            (None, _) => true,
            (Some(_), None) => false,
        };
        if !same_file {
            return if enabled {
                compare(baseline.snapshot.as_ref(), now.as_ref(), || true)
            } else {
                Verdict::Fresh
            };
        }
        if let Some(n) = now {
            registry::record_own_write(n.stamp.id(), n);
        }
        baseline.snapshot = now;
        if let Some(g) = generation {
            self.seen.store(g, Ordering::Release);
        }
        Verdict::Fresh
    }

    /// After the store's own write to the file it has open while the path names another (the
    /// checkpoint that releases a replaced file's WAL): follows that file's new size, times and
    /// header through the pin, so that reads still served by it do not take the write for a
    /// copy over it.
    pub(crate) fn after_own_write_to_open_file(&self) {
        let mut baseline = self.baseline.lock();
        let Some(pin) = &baseline.pin else {
            return;
        };
        let Ok(stamp) = pin.stamp() else {
            return;
        };
        let now = Snapshot {
            stamp,
            header: read_header(pin),
        };
        registry::record_own_write(stamp.id(), now);
        baseline.snapshot = Some(now);
    }

    /// Blocks until the watch reports activity on the file or `timeout` passes (a monitor's
    /// idle wait); with no watch, just sleeps `timeout`.
    pub(crate) fn wait_for_activity(&self, timeout: Duration) {
        let signal = self.watch().map(|s| s.signal().clone());
        match signal {
            Some(signal) if !signal.is_degraded() => {
                signal.wait_past(self.seen.load(Ordering::Acquire), timeout);
            }
            _ => std::thread::sleep(timeout),
        }
    }
}

/// Compares the open file's snapshot with what is at the path now.
///
/// Same inode: a different size or header is an overwrite. New times with the same size and
/// header are ambiguous (a `touch`, or a copy of a same-sized database): when the store's WAL
/// holds nothing, reopening costs nothing and is the safe answer; when it holds frames, they
/// would be discarded by a reopen, so it is taken as a touch (see docs/design.md).
fn compare(
    baseline: Option<&Snapshot>,
    now: Option<&Snapshot>,
    wal_holds_frames: impl FnOnce() -> bool,
) -> Verdict {
    let changed = |kind, now: Option<&Snapshot>| Verdict::Changed {
        kind,
        now: now.copied(),
    };
    match (baseline, now) {
        (_, None) => changed(ReplacementKind::Missing, None),
        (None, Some(n)) => changed(ReplacementKind::NewFile, Some(n)),
        (Some(b), Some(n)) if !b.stamp.same_file(&n.stamp) => {
            changed(ReplacementKind::NewFile, Some(n))
        }
        (Some(b), Some(n)) if b.stamp.size != n.stamp.size || b.header != n.header => {
            changed(ReplacementKind::InPlace, Some(n))
        }
        (Some(b), Some(n)) if b.stamp.mtime_ns != n.stamp.mtime_ns && !wal_holds_frames() => {
            changed(ReplacementKind::InPlace, Some(n))
        }
        (Some(_), Some(_)) => Verdict::Fresh,
    }
}

/// True when the `-wal` beside `file` holds frames (more than its 32-byte header).
fn wal_holds_frames(file: &Path) -> bool {
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(ino: u64, size: u64, mtime_ns: i128, first: u8) -> Snapshot {
        let mut header = [0u8; 100];
        header[0] = first;
        Snapshot {
            stamp: FileStamp {
                dev: 1,
                ino,
                size,
                mtime_ns,
                ctime_ns: mtime_ns,
            },
            header: Some(header),
        }
    }

    #[test]
    fn a_touch_is_not_a_replacement() {
        let open = snapshot(7, 4096, 1, b'S');
        let touched = snapshot(7, 4096, 99, b'S');
        assert_eq!(
            compare(Some(&open), Some(&touched), || true),
            Verdict::Fresh
        );
        // With nothing in the WAL a reopen loses nothing: same-sized copies are caught.
        assert!(matches!(
            compare(Some(&open), Some(&touched), || false),
            Verdict::Changed {
                kind: ReplacementKind::InPlace,
                ..
            }
        ));
        assert_eq!(compare(Some(&open), Some(&open), || false), Verdict::Fresh);
    }

    #[test]
    fn new_inode_in_place_rewrite_and_removal_are_told_apart() {
        let open = snapshot(7, 4096, 1, b'S');
        let renamed = snapshot(8, 4096, 1, b'S');
        let rewritten = snapshot(7, 8192, 2, b'S');
        let new_header = snapshot(7, 4096, 2, b'T');
        let kind = |v| match v {
            Verdict::Changed { kind, .. } => Some(kind),
            Verdict::Fresh => None,
        };
        assert_eq!(
            kind(compare(Some(&open), Some(&renamed), || true)),
            Some(ReplacementKind::NewFile)
        );
        assert_eq!(
            kind(compare(Some(&open), Some(&rewritten), || true)),
            Some(ReplacementKind::InPlace)
        );
        assert_eq!(
            kind(compare(Some(&open), Some(&new_header), || true)),
            Some(ReplacementKind::InPlace)
        );
        assert_eq!(
            kind(compare(Some(&open), None, || true)),
            Some(ReplacementKind::Missing)
        );
    }
}
