//! Reporting what freshness checking saw: events for subscribers (a daemon, `beadstore watch`),
//! counters for tests and benchmarks, and log lines under the `beadstore::freshness` target.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use parking_lot::Mutex;

use super::ReplacementKind;

/// Something that happened to the database file under a running store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FreshnessEvent {
    /// A check saw that the path no longer names the file the store has open.
    Replaced {
        /// The database path.
        path: String,
        /// How it changed.
        kind: ReplacementKind,
    },
    /// The store validated the new file and switched to it.
    Reconnected {
        /// The database path.
        path: String,
        /// How it had changed.
        kind: ReplacementKind,
        /// From noticing the change to serving from the new file.
        took: Duration,
    },
    /// The new file could not be used (yet); the store keeps what it had and tries again when
    /// the file changes.
    ReconnectFailed {
        /// The database path.
        path: String,
        /// How it had changed.
        kind: ReplacementKind,
        /// Why the new file was refused.
        reason: String,
    },
}

/// Counters of freshness work since the store opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FreshnessStats {
    /// Times the file was `stat`ed: checks the inotify watch could not answer, and writes.
    pub stats: u64,
    /// Replacements noticed.
    pub replacements: u64,
    /// Successful reconnects.
    pub reconnects: u64,
    /// Reconnects that refused the new file.
    pub failed_reconnects: u64,
}

/// Subscribers and counters of one store.
#[derive(Default)]
pub(crate) struct Events {
    subscribers: Mutex<Vec<mpsc::Sender<FreshnessEvent>>>,
    stats: AtomicU64,
    replacements: AtomicU64,
    reconnects: AtomicU64,
    failed_reconnects: AtomicU64,
}

impl Events {
    /// A new receiver of every later event.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<FreshnessEvent> {
        let (tx, rx) = mpsc::channel();
        self.subscribers.lock().push(tx);
        rx
    }

    pub(crate) fn count_stat(&self) {
        self.stats.fetch_add(1, Ordering::Relaxed);
    }

    /// Logs, counts and delivers `event` (dropping subscribers that went away).
    pub(crate) fn publish(&self, event: FreshnessEvent) {
        match &event {
            FreshnessEvent::Replaced { path, kind } => {
                self.replacements.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "beadstore::freshness", %path, %kind, "database file changed under the store");
            }
            FreshnessEvent::Reconnected { path, kind, took } => {
                self.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "beadstore::freshness", %path, %kind, took_us = took.as_micros() as u64, "reconnected to the new file");
            }
            FreshnessEvent::ReconnectFailed { path, kind, reason } => {
                self.failed_reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "beadstore::freshness", %path, %kind, %reason, "new file refused; keeping the old state");
            }
        }
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> FreshnessStats {
        FreshnessStats {
            stats: self.stats.load(Ordering::Relaxed),
            replacements: self.replacements.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            failed_reconnects: self.failed_reconnects.load(Ordering::Relaxed),
        }
    }
}
