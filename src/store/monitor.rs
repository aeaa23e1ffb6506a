//! A background thread that follows file replacements as they happen, instead of on the next
//! call, and hands the events to a daemon: as a channel, or (feature `tokio`) an async stream.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::freshness::FreshnessEvent;

use super::Store;

/// Where the monitor delivers events; `false` from `send` means nobody listens any more.
enum Sink {
    Channel(mpsc::Sender<FreshnessEvent>),
    #[cfg(feature = "tokio")]
    Async(tokio::sync::mpsc::UnboundedSender<FreshnessEvent>),
}

impl Sink {
    fn send(&self, event: FreshnessEvent) -> bool {
        match self {
            Sink::Channel(tx) => tx.send(event).is_ok(),
            #[cfg(feature = "tokio")]
            Sink::Async(tx) => tx.send(event).is_ok(),
        }
    }
}

/// A running monitor; dropping it stops the thread (within one poll interval).
#[derive(Debug)]
pub struct Monitor {
    events: mpsc::Receiver<FreshnessEvent>,
    stop: Arc<AtomicBool>,
}

impl Monitor {
    /// Replacement and reconnect events, in order.
    pub fn events(&self) -> &mpsc::Receiver<FreshnessEvent> {
        &self.events
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Store {
    /// Starts a thread that checks the file whenever the watch reports activity (or every `poll`
    /// without inotify) and reconnects at once, so a daemon's store is already on the new file
    /// when its next request comes. The thread holds the store only while it checks; it ends
    /// when the monitor is dropped or the store is closed or dropped.
    pub fn monitor(self: &Arc<Self>, poll: Duration) -> Monitor {
        let (tx, events) = mpsc::channel();
        let stop = spawn(self, poll, Sink::Channel(tx));
        Monitor { events, stop }
    }

    /// The monitor's events as an async stream, for daemons on tokio. Dropping the stream stops
    /// the monitor thread.
    #[cfg(feature = "tokio")]
    pub fn replacement_events(self: &Arc<Self>, poll: Duration) -> ReplacementEvents {
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let stop = spawn(self, poll, Sink::Async(tx));
        ReplacementEvents { events, stop }
    }
}

/// An async stream of replacement and reconnect events (feature `tokio`).
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct ReplacementEvents {
    events: tokio::sync::mpsc::UnboundedReceiver<FreshnessEvent>,
    stop: Arc<AtomicBool>,
}

#[cfg(feature = "tokio")]
impl futures_core::Stream for ReplacementEvents {
    type Item = FreshnessEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<FreshnessEvent>> {
        self.events.poll_recv(cx)
    }
}

#[cfg(feature = "tokio")]
impl Drop for ReplacementEvents {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn spawn(store: &Arc<Store>, poll: Duration, sink: Sink) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let subscription = store.subscribe_freshness();
    let weak = Arc::downgrade(store);
    let thread_stop = stop.clone();
    let run = move || loop {
        if thread_stop.load(Ordering::Acquire) {
            return;
        }
        let Some(store) = weak.upgrade() else {
            return;
        };
        if store.is_closed() {
            return;
        }
        // Errors reach the caller through the events (ReconnectFailed) and its own calls.
        let _ = store.refresh();
        for event in subscription.try_iter() {
            if !sink.send(event) {
                return;
            }
        }
        store.wait_for_file_activity(poll);
    };
    if let Err(e) = std::thread::Builder::new()
        .name("beadstore-monitor".into())
        .spawn(run)
    {
        tracing::warn!(target: "beadstore::freshness", error = %e, "could not start the monitor thread; replacements are followed on the next call instead");
    }
    stop
}
