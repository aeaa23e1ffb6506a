//! One inotify instance per process watching the directories of open databases, so that the
//! per-call freshness check is an atomic load instead of a `stat`.
//!
//! A background thread reads events and bumps the [`Signal`] of every subscriber whose file name
//! the event names. A subscriber whose directory watch went away (the directory was deleted or
//! moved, or the event queue overflowed) is marked `degraded` and falls back to `stat`.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use parking_lot::{Condvar, Mutex};

/// Bumped by the watcher thread each time something may have happened to the watched file.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    generation: AtomicU64,
    degraded: AtomicBool,
    wake_lock: Mutex<()>,
    wake: Condvar,
}

impl Signal {
    /// How many events naming the file (or overflows) the watcher has seen.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// True when the watch can no longer be trusted; callers must `stat` on every check.
    pub(crate) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// Waits until the generation moves past `seen` or `timeout` passes.
    pub(crate) fn wait_past(&self, seen: u64, timeout: Duration) {
        let mut guard = self.wake_lock.lock();
        if self.generation() == seen && !self.is_degraded() {
            let _ = self.wake.wait_for(&mut guard, timeout);
        }
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let _guard = self.wake_lock.lock();
        self.wake.notify_all();
    }

    fn degrade(&self) {
        self.degraded.store(true, Ordering::Release);
        self.bump();
    }
}

/// A live subscription; dropping it stops the watch when it was the directory's last.
#[derive(Debug)]
pub(crate) struct Subscription {
    signal: Arc<Signal>,
    wd: WatchDescriptor,
}

impl Subscription {
    /// The signal to read on every check.
    pub(crate) fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(watcher) = WATCHER.get().and_then(|w| w.as_ref().ok()) else {
            return;
        };
        let mut state = watcher.state.lock();
        let Some(dir) = state.dirs.get_mut(&self.wd) else {
            return;
        };
        dir.subscribers.retain(|(_, weak)| {
            weak.upgrade()
                .is_some_and(|s| !Arc::ptr_eq(&s, &self.signal))
        });
        if dir.subscribers.is_empty() {
            state.dirs.remove(&self.wd);
            state.by_path.retain(|_, wd| *wd != self.wd);
            let _ = watcher.watches.lock().remove(self.wd.clone());
        }
    }
}

/// Watches `file`'s directory for events naming `file`. `None` when inotify cannot be used here
/// (not available, out of instances or watches): the caller falls back to `stat`.
pub(crate) fn subscribe(file: &Path) -> Option<Subscription> {
    let watcher = WATCHER.get_or_init(Watcher::start).as_ref().ok()?;
    let name = file.file_name()?.to_os_string();
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut state = watcher.state.lock();
    // Checked under the state lock: the thread marks itself dead before degrading everyone.
    if !watcher.alive.load(Ordering::Acquire) {
        return None;
    }
    let wd = match state.by_path.get(&dir) {
        Some(wd) => wd.clone(),
        None => {
            let wd = watcher.watches.lock().add(&dir, dir_mask()).ok()?;
            state.by_path.insert(dir.clone(), wd.clone());
            wd
        }
    };
    let signal = Arc::new(Signal::default());
    state
        .dirs
        .entry(wd.clone())
        .or_default()
        .subscribers
        .push((name, Arc::downgrade(&signal)));
    Some(Subscription { signal, wd })
}

fn dir_mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::MOVED_TO
        | WatchMask::MOVED_FROM
        | WatchMask::DELETE
        | WatchMask::MODIFY
        | WatchMask::ATTRIB
        | WatchMask::CLOSE_WRITE
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
}

static WATCHER: OnceLock<io::Result<Watcher>> = OnceLock::new();

struct Watcher {
    watches: Mutex<Watches>,
    state: Arc<Mutex<State>>,
    /// False once the reading thread stopped: new subscribers must use `stat`.
    alive: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    by_path: HashMap<PathBuf, WatchDescriptor>,
    dirs: HashMap<WatchDescriptor, Dir>,
}

#[derive(Default)]
struct Dir {
    subscribers: Vec<(OsString, Weak<Signal>)>,
}

impl Watcher {
    fn start() -> io::Result<Watcher> {
        let inotify = Inotify::init()?;
        let watches = inotify.watches();
        let state: Arc<Mutex<State>> = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let (thread_state, thread_alive) = (state.clone(), alive.clone());
        std::thread::Builder::new()
            .name("beadstore-freshness".into())
            .spawn(move || {
                read_loop(inotify, &thread_state);
                thread_alive.store(false, Ordering::Release);
                degrade_all(&thread_state);
            })?;
        Ok(Watcher {
            watches: Mutex::new(watches),
            state,
            alive,
        })
    }
}

fn read_loop(mut inotify: Inotify, state: &Mutex<State>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let events = match inotify.read_events_blocking(&mut buffer) {
            Ok(events) => events,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(target: "beadstore::freshness", error = %e, "inotify read failed; every store falls back to stat");
                return;
            }
        };
        let mut state = state.lock();
        for event in events {
            if event.mask.contains(EventMask::Q_OVERFLOW) {
                // Events were lost: nobody can trust what they have seen.
                for dir in state.dirs.values() {
                    for_each_signal(dir, Signal::bump);
                }
                continue;
            }
            let gone = EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED;
            if event.mask.intersects(gone) {
                // The directory moved or went away: its subscribers fall back to stat, and a
                // later store on that path gets a watch of its own.
                if let Some(dir) = state.dirs.remove(&event.wd) {
                    for_each_signal(&dir, Signal::degrade);
                }
                state.by_path.retain(|_, wd| *wd != event.wd);
                continue;
            }
            let Some(dir) = state.dirs.get(&event.wd) else {
                continue;
            };
            if let Some(name) = event.name {
                notify_named(dir, name);
            }
        }
    }
}

fn notify_named(dir: &Dir, name: &OsStr) {
    for (watched, weak) in &dir.subscribers {
        if watched == name {
            if let Some(signal) = weak.upgrade() {
                signal.bump();
            }
        }
    }
}

fn for_each_signal(dir: &Dir, f: impl Fn(&Signal)) {
    for (_, weak) in &dir.subscribers {
        if let Some(signal) = weak.upgrade() {
            f(&signal);
        }
    }
}

fn degrade_all(state: &Mutex<State>) {
    for dir in state.lock().dirs.values() {
        for_each_signal(dir, Signal::degrade);
    }
}
