//! Following the database file when it is replaced under a running store: every operation asks
//! the freshness tracker first; a replacement is validated, then swapped in, while operations
//! already in flight finish on the old connections. A file that cannot be used (yet) leaves the
//! store as it was, reported, and is tried again when it changes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::file_lock::{rewritten_by_another_program, FileGate, LockMode};
use crate::engine::Checkpoint;
use crate::error::{Error, Result};
use crate::freshness::{
    candidate, FreshnessEvent, FreshnessStats, Opened, ReplacementKind, Snapshot, Tracker, Verdict,
};

use super::handle::Handle;
use super::{baseline, open_file_handle, NewSchema, Store, EMPTIED_AT_RECONNECT};
use crate::registry;

/// What the store's operations run on.
pub(super) enum Slot {
    /// The connections to the file at the path (or, after a refused replacement, to the old
    /// file, which still reads correctly).
    Open(Arc<Handle>),
    /// `close()` ran.
    Closed,
    /// The file was overwritten in place by something that cannot be opened (yet): the old
    /// connections are gone and nothing can be read until the file is usable.
    Unusable {
        reason: String,
        /// The file (and engine-database epoch) the closed connections had open, while other
        /// stores of this process may still hold that engine database.
        stale: Option<(registry::FileId, u64)>,
    },
}

/// A replacement that could not be followed yet.
pub(super) struct Pending {
    kind: ReplacementKind,
    /// What was at the path when the attempt failed: no new attempt until it changes.
    seen: Option<Snapshot>,
    /// True when the failure may clear by itself (operations in flight, a lock): try again on
    /// the next operation even if the file did not change.
    transient: bool,
    reason: String,
    /// True when the old connections still read the old content correctly (the file was renamed
    /// away or deleted, not overwritten).
    reads_ok: bool,
}

/// Whether an operation only reads or may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

/// Why an attempt did not switch files.
struct Failure {
    reason: String,
    reads_ok: bool,
    transient: bool,
}

impl Failure {
    fn new(reason: impl Into<String>, reads_ok: bool) -> Self {
        Failure {
            reason: reason.into(),
            reads_ok,
            transient: false,
        }
    }

    fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// A reconnect whose open of the file failed with `e`: tried again on the next call when
    /// `retry` or when the file was emptied under it (a copy still going on).
    fn of_open(e: &Error, reads_ok: bool, retry: bool) -> Self {
        let failure = Failure::new(e.to_string(), reads_ok);
        if retry || emptied_at_reconnect(e) {
            failure.transient()
        } else {
            failure
        }
    }
}

/// Sets the draining flag: operations that start now wait, those in flight finish. Cleared
/// however the reconnect (or close) ends.
pub(super) struct Draining<'a>(&'a AtomicBool);

impl<'a> Draining<'a> {
    pub(super) fn start(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::SeqCst);
        Draining(flag)
    }
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// An operation in flight: counted from before its freshness check until it returns, so that a
/// reconnect or close never swaps connections from under it.
pub(crate) struct Claim<'a>(&'a AtomicUsize);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The connections an operation runs on, held until it returns.
pub(crate) struct Live<'a> {
    handle: Arc<Handle>,
    _claim: Claim<'a>,
}

impl std::ops::Deref for Live<'_> {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.handle
    }
}

impl Store {
    /// The connections for a read, after following any replacement of the file.
    pub(crate) fn handle(&self, op: &'static str) -> Result<Live<'_>> {
        self.live(op, Access::Read, false)
    }

    /// The connections for a write: the file is always `stat`ed first, so that no write begins
    /// in a file that was already replaced.
    pub(crate) fn write_handle(&self, op: &'static str) -> Result<Live<'_>> {
        self.live(op, Access::Write, true)
    }

    /// After a write: the file it went to must still be the one at the path; otherwise the
    /// write is not acknowledged (it is in the replaced file, not the new one).
    pub(crate) fn after_write(&self, op: &'static str) -> Result<()> {
        let Some(tracker) = &self.freshness else {
            return Ok(());
        };
        match tracker.after_own_write() {
            Verdict::Fresh => Ok(()),
            Verdict::Changed { kind, .. } => Err(self.replaced(
                op,
                kind,
                "the write went to the file that was replaced; it is not in the new file".into(),
            )),
        }
    }

    /// The connections after a strict check (for a retry after a failure).
    pub(crate) fn refreshed_handle(&self, op: &'static str) -> Result<Live<'_>> {
        self.live(op, Access::Read, true)
    }

    /// Checks a read's answer before it is returned, while the read still holds its lock:
    /// `Error::Replaced` when the file was overwritten in place under it (the freshness check
    /// before it covers only what happened before it began; see `overwritten_under_lock`).
    /// Not with freshness checking off.
    pub(crate) fn check_read_answer(&self, handle: &Handle, op: &'static str) -> Result<()> {
        let checking = self.freshness.as_ref().is_some_and(Tracker::is_enabled);
        // Unknown counts as overwritten: the read runs once more rather than trust it.
        if checking && handle.overwritten_under_lock().unwrap_or(true) {
            return Err(self.replaced(
                op,
                ReplacementKind::InPlace,
                "the file was overwritten in place during the read, whose answer could mix both files"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks, before a write is acknowledged and while it still holds its lock, that the file
    /// was not overwritten in place under it: such a write went to a `-wal` written against
    /// the content the copy replaced, which the store discards when it follows the copy. The
    /// write is then reported as `Error::Replaced`, and the next call reopens the file.
    pub(crate) fn check_write_target(&self, handle: &Handle, op: &'static str) -> Result<()> {
        let Some(tracker) = self.freshness.as_ref().filter(|t| t.is_enabled()) else {
            return Ok(());
        };
        // Unknown does not count: the write committed, and refusing it would hide nothing.
        if handle.overwritten_under_lock().unwrap_or(false) {
            // What the store recorded of the file may be the copy's: the next call reopens it.
            tracker.distrust_baseline();
            return Err(self.replaced(
                op,
                ReplacementKind::InPlace,
                "the file was overwritten in place during the write; the write is not in it".into(),
            ));
        }
        Ok(())
    }

    /// True when a read that failed with `e` is worth running once more on the file as it is
    /// now: the file changed under it, or its answer was refused by `check_read_answer`.
    pub(crate) fn worth_reading_again(&self, e: &Error) -> bool {
        matches!(
            e,
            Error::Replaced {
                kind: ReplacementKind::InPlace,
                ..
            }
        ) || self.changed_under(e)
    }

    /// True when `e` is the kind of failure a file changing under a call produces (short reads,
    /// a corrupt page, an I/O error) and the file at the path did change.
    pub(crate) fn changed_under(&self, e: &Error) -> bool {
        self.change_under(e).is_some()
    }

    /// How the file changed, when `e` is such a failure and it did.
    fn change_under(&self, e: &Error) -> Option<ReplacementKind> {
        if !matches!(
            e,
            Error::Corrupt { .. } | Error::Io { .. } | Error::Engine { .. }
        ) {
            return None;
        }
        let tracker = self.freshness.as_ref()?;
        if rewritten_by_another_program(e) {
            // The lock saw the copy; the freshness check may not have yet (or may take it for
            // a touch): the next call reopens the file.
            tracker.distrust_baseline();
            return Some(ReplacementKind::InPlace);
        }
        tracker.change_now()
    }

    /// `e`, or `Error::Replaced` when the file changed under the call that failed with it.
    pub(crate) fn explain_failure(&self, op: &'static str, e: Error) -> Error {
        match self.change_under(&e) {
            Some(kind) => self.replaced(op, kind, format!("the file changed during the call: {e}")),
            None => e,
        }
    }

    /// `explain_failure` for a write: when the disk refused it (`Error::Io`), whatever changed in
    /// the file is this store's own partial write, not a replacement, unless the path now names
    /// another file or none.
    pub(crate) fn explain_write_failure(&self, op: &'static str, e: Error) -> Error {
        if matches!(e, Error::Io { .. }) {
            return match self.after_write(op) {
                Ok(()) => e,
                Err(replaced) => replaced,
            };
        }
        self.explain_failure(op, e)
    }

    /// Looks at the file now (a `stat`, whatever the mode) and follows a replacement, as every
    /// operation does first; for health checks and monitors. `Ok(true)` when the store switched
    /// files; an error when the file at the path cannot be read (see `Error::Replaced`).
    pub fn refresh(&self) -> Result<bool> {
        let before = self.freshness_stats().reconnects;
        self.live("refresh", Access::Read, true)?;
        Ok(self.freshness_stats().reconnects > before)
    }

    /// The per-call check alone, without following: true when the path no longer names the
    /// file the store has open. With the watch this is an atomic load until an event arrives.
    pub fn file_changed(&self) -> bool {
        self.freshness
            .as_ref()
            .is_some_and(|t| matches!(t.check(false), Verdict::Changed { .. }))
    }

    /// Turns on noticing file replacements (on by default; see `OpenOptions::freshness`),
    /// taking the file as it is now as the one the store has open... unless it was already
    /// replaced, which the next operation then follows.
    pub fn enable_freshness_checking(&self) {
        if let Some(tracker) = &self.freshness {
            tracker.set_enabled(true);
        }
    }

    /// Stops noticing file replacements: the store keeps using the file it has open.
    pub fn disable_freshness_checking(&self) {
        if let Some(tracker) = &self.freshness {
            tracker.set_enabled(false);
        }
    }

    /// True while the store checks for file replacements (never for `:memory:`).
    pub fn is_freshness_checking(&self) -> bool {
        self.freshness.as_ref().is_some_and(Tracker::is_enabled)
    }

    /// True when checks are answered by an inotify watch rather than a `stat` per call.
    pub fn is_watching_file(&self) -> bool {
        self.freshness.as_ref().is_some_and(Tracker::is_watching)
    }

    /// A receiver of every later replacement and reconnect event of this store.
    pub fn subscribe_freshness(&self) -> std::sync::mpsc::Receiver<FreshnessEvent> {
        match &self.freshness {
            Some(tracker) => tracker.events.subscribe(),
            // In memory nothing can happen: a receiver whose sender is already gone.
            None => std::sync::mpsc::channel().1,
        }
    }

    /// Counters of freshness work since the store opened.
    pub fn freshness_stats(&self) -> FreshnessStats {
        self.freshness
            .as_ref()
            .map(|t| t.events.stats())
            .unwrap_or_default()
    }

    /// Waits until the file may have changed (an inotify event) or `timeout` passes; for a
    /// monitor loop that calls `refresh` (see `beadstore watch`).
    pub fn wait_for_file_activity(&self, timeout: Duration) {
        match &self.freshness {
            Some(tracker) => tracker.wait_for_activity(timeout),
            None => std::thread::sleep(timeout),
        }
    }

    fn live(&self, op: &'static str, access: Access, strict: bool) -> Result<Live<'_>> {
        let claim = self.claim();
        if let Some(tracker) = &self.freshness {
            if let Verdict::Changed { .. } = tracker.check(strict) {
                self.follow(tracker, op, access)?;
            }
        }
        let handle = match &*self.slot.read() {
            Slot::Open(handle) => handle.clone(),
            Slot::Closed => return Err(Error::Closed { op }),
            Slot::Unusable { reason, .. } => {
                return Err(self.replaced(op, ReplacementKind::InPlace, reason.clone()))
            }
        };
        Ok(Live {
            handle,
            _claim: claim,
        })
    }

    /// Counts an operation in, waiting while a reconnect or close drains.
    fn claim(&self) -> Claim<'_> {
        loop {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            if !self.draining.load(Ordering::SeqCst) {
                return Claim(&self.in_flight);
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            // The drainer holds `pending` until it is done.
            drop(self.pending.lock());
        }
    }

    /// Waits until at most `others` operations are in flight; false after `timeout`.
    pub(super) fn wait_for_claims(&self, others: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(20);
        while self.in_flight.load(Ordering::SeqCst) > others {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
        true
    }

    /// Follows a replacement the tracker reported: at most one thread at a time.
    fn follow(&self, tracker: &Tracker, op: &'static str, access: Access) -> Result<()> {
        // While waiting for another thread's reconnect this operation holds no connections, so
        // it must not count as in flight (that reconnect would wait for it).
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut pending = self.pending.lock();
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.is_closed() {
            return Ok(());
        }
        let Verdict::Changed { kind, now } = tracker.check(true) else {
            // Another thread followed it meanwhile.
            return Ok(());
        };
        if kind == ReplacementKind::InPlace && self.settled_by_lock(tracker, op) {
            *pending = None;
            return Ok(());
        }
        if let Some(p) = pending.as_ref() {
            if !p.transient && p.kind == kind && p.seen == now {
                tracker.defer();
                return self.pending_answer(p, op, access);
            }
        }
        let _draining = Draining::start(&self.draining);
        // This operation is one of the claims; every other one finishes first.
        let drain_timeout = self
            .busy_timeout
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        if !self.wait_for_claims(1, drain_timeout) {
            let failure = Failure::new(
                "operations still in flight",
                kind != ReplacementKind::InPlace,
            );
            return self.record_failure(
                &mut pending,
                tracker,
                kind,
                now,
                failure.transient(),
                op,
                access,
            );
        }
        // With nothing in flight, an own checkpoint that raced the check has been accounted for.
        let Verdict::Changed { kind, now } = tracker.check(true) else {
            *pending = None;
            return Ok(());
        };
        if kind == ReplacementKind::InPlace && self.settled_by_lock(tracker, op) {
            *pending = None;
            return Ok(());
        }
        let path = self.path.clone();
        tracker.events.publish(FreshnessEvent::Replaced {
            path: path.clone(),
            kind,
        });
        let started = Instant::now();
        let outcome = match kind {
            ReplacementKind::Missing => Err(Failure::new("no file at the path", true)),
            ReplacementKind::NewFile => self.switch_to_new_file(tracker),
            ReplacementKind::InPlace => self.reopen_in_place(tracker),
        };
        match outcome {
            Ok(()) => {
                *pending = None;
                tracker.events.publish(FreshnessEvent::Reconnected {
                    path,
                    kind,
                    took: started.elapsed(),
                });
                Ok(())
            }
            Err(failure) => {
                self.record_failure(&mut pending, tracker, kind, now, failure, op, access)
            }
        }
    }

    /// A database file changed in place may be another process's checkpoint rather than a
    /// copy over it. Takes the file lock once (which refreshes the engine state and vouches
    /// for a write that followed the lock protocol) and looks again under it: true when the
    /// change turned out to be such a write.
    fn settled_by_lock(&self, tracker: &Tracker, op: &'static str) -> bool {
        let handle = match &*self.slot.read() {
            Slot::Open(handle) => handle.clone(),
            _ => return false,
        };
        let Ok(_lock) = handle.lock_file(LockMode::Read, op) else {
            return false;
        };
        !matches!(tracker.check(true), Verdict::Changed { .. })
    }

    #[allow(clippy::too_many_arguments)]
    fn record_failure(
        &self,
        pending: &mut Option<Pending>,
        tracker: &Tracker,
        kind: ReplacementKind,
        now: Option<Snapshot>,
        failure: Failure,
        op: &'static str,
        access: Access,
    ) -> Result<()> {
        tracker.events.publish(FreshnessEvent::ReconnectFailed {
            path: self.path.clone(),
            kind,
            reason: failure.reason.clone(),
        });
        let p = pending.insert(Pending {
            kind,
            seen: now,
            transient: failure.transient,
            reason: failure.reason,
            reads_ok: failure.reads_ok,
        });
        if !p.transient {
            tracker.defer();
        }
        self.pending_answer(p, op, access)
    }

    /// What an operation gets while a replacement is pending.
    fn pending_answer(&self, p: &Pending, op: &'static str, access: Access) -> Result<()> {
        if access == Access::Read && p.reads_ok {
            return Ok(());
        }
        Err(self.replaced(op, p.kind, p.reason.clone()))
    }

    fn replaced(&self, op: &'static str, kind: ReplacementKind, reason: String) -> Error {
        Error::Replaced {
            op,
            path: self.path.clone().into(),
            kind,
            reason,
        }
    }

    /// The path names another file: keep the old connections (they still read the old file)
    /// until the new one is open, migrated and probed, then swap.
    fn switch_to_new_file(&self, tracker: &Tracker) -> Result<(), Failure> {
        let file = tracker.file();
        let _pinned = candidate::check(file).map_err(|why| Failure::new(why.to_string(), true))?;
        let old = match &*self.slot.read() {
            Slot::Open(handle) => Some(handle.clone()),
            Slot::Closed | Slot::Unusable { .. } => None,
        };
        if let Some(old) = &old {
            self.release_old_wal(old).map_err(|e| {
                Failure::new(format!("checkpointing the old file: {e}"), true).transient()
            })?;
        }
        let handle = open_file_handle(
            file,
            &self.path,
            self.read_only,
            self.busy_timeout,
            NewSchema::Refused,
        )
        .map_err(|e| Failure::of_open(&e, true, e.is_retryable()))?;
        let opened = baseline(file, handle.file_id()).map(Opened::checked_before_open);
        *self.slot.write() = Slot::Open(Arc::new(handle));
        tracker.rebase(opened);
        if let Some(old) = old {
            let _ = old.close_connections();
        }
        Ok(())
    }

    /// The file `old` has open left the path: everything it committed goes into it and the
    /// `-wal` at the path is left empty, so none of its frames is ever read as part of the new
    /// file; done once per file by the first store of the process (a later one would truncate a
    /// `-wal` the new file may already use). Then `old` never touches the WAL again.
    pub(super) fn release_old_wal(&self, old: &Handle) -> Result<()> {
        // The `-wal` at the path may hold the new file's frames already: never read into `old`.
        old.detach();
        if !self.read_only && !old.is_wal_frozen() {
            if let Some(id) = old.file_id() {
                registry::release_wal_once(id, || {
                    old.writer("release the replaced file's WAL")
                        .and_then(|w| {
                            let _exclusive = old.lock_file(
                                LockMode::Exclusive,
                                "release the replaced file's WAL",
                            )?;
                            self.checkpoint_patiently(&w, Checkpoint::Truncate)
                        })
                        .map(|_| ())
                })?;
                // Reads go on in the old file until the switch succeeds: its checkpoint is the
                // store's own write, not a copy over it.
                if let Some(tracker) = &self.freshness {
                    tracker.after_own_write_to_open_file();
                }
            }
        }
        old.freeze_wal();
        Ok(())
    }

    /// The same file was rewritten: the old connections' cache and WAL describe content that is
    /// gone. They are closed without checkpointing, the WAL is discarded, and the file opened
    /// afresh; until that succeeds nothing can be read.
    fn reopen_in_place(&self, tracker: &Tracker) -> Result<(), Failure> {
        let previous = std::mem::replace(
            &mut *self.slot.write(),
            Slot::Unusable {
                reason: "reopening the overwritten file".into(),
                stale: None,
            },
        );
        let stale = match previous {
            Slot::Open(old) => {
                old.freeze_wal();
                let registered = old.registered();
                let _ = old.close_connections();
                drop(old);
                registered
            }
            Slot::Unusable { stale, .. } => stale,
            Slot::Closed => None,
        };
        let result = self.open_overwritten(tracker, stale);
        if let Err(failure) = &result {
            *self.slot.write() = Slot::Unusable {
                reason: failure.reason.clone(),
                stale,
            };
        }
        result
    }

    fn open_overwritten(
        &self,
        tracker: &Tracker,
        stale: Option<(registry::FileId, u64)>,
    ) -> Result<(), Failure> {
        let file = tracker.file();
        if let Some((id, epoch)) = stale {
            if registry::stores_of_epoch(id, epoch) > 0 {
                // The engine would hand back the database object still describing the old
                // content; the sibling store lets go of it on its next call.
                return Err(Failure::new(
                    "another store of this process still has the overwritten file open",
                    false,
                )
                .transient());
            }
            discard_stale_wal(file, id, epoch, self.read_only, self.busy_timeout)
                .map_err(|e| Failure::new(e, false))?;
        }
        let _pinned = candidate::check(file).map_err(|why| Failure::new(why.to_string(), false))?;
        let handle = open_file_handle(
            file,
            &self.path,
            self.read_only,
            self.busy_timeout,
            NewSchema::Refused,
        )
        .map_err(|e| Failure::of_open(&e, false, false))?;
        let opened = baseline(file, handle.file_id()).map(Opened::checked_before_open);
        *self.slot.write() = Slot::Open(Arc::new(handle));
        tracker.rebase(opened);
        Ok(())
    }
}

/// True for the error of a reconnect that found the file emptied under it: a copy is still
/// going on, so the next call tries again.
fn emptied_at_reconnect(e: &Error) -> bool {
    matches!(e, Error::Corrupt { op, .. } if *op == EMPTIED_AT_RECONNECT)
}

/// After the last store of the process left the engine database of `epoch` on an overwritten
/// file: the next opener gets a fresh database, and the WAL written against the old content is
/// emptied, once (a later call would empty frames the fresh database wrote).
pub(super) fn discard_stale_wal(
    file: &std::path::Path,
    id: registry::FileId,
    epoch: u64,
    read_only: bool,
    busy_timeout: Duration,
) -> std::result::Result<(), String> {
    if registry::advance_epoch(id, epoch) && !read_only {
        discard_wal(file, busy_timeout)?;
    }
    Ok(())
}

/// Empties the `-wal` beside `file` when no database file is there any more.
pub(super) fn discard_wal_if_orphaned(file: &std::path::Path) -> std::result::Result<(), String> {
    if file.exists() {
        return Ok(());
    }
    discard_wal(file, Duration::ZERO)
}

/// Empties the `-wal` beside `file`: its frames were written against content that was
/// overwritten, and replaying them would mix two databases.
/// Under the write lock when a file is there: another process may be using the `-wal` of
/// the new content already.
fn discard_wal(file: &std::path::Path, busy_timeout: Duration) -> std::result::Result<(), String> {
    let gate = FileGate::open(file, false).ok();
    let _lock = match &gate {
        Some(gate) => Some(
            gate.lock(LockMode::Exclusive, busy_timeout, "discard stale WAL")
                .map_err(|e| format!("discarding the stale WAL: {e}"))?,
        ),
        None => None,
    };
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    match std::fs::OpenOptions::new().write(true).open(&wal) {
        Ok(f) => f
            .set_len(0)
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("discarding the stale WAL: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("discarding the stale WAL: {e}")),
    }
}
