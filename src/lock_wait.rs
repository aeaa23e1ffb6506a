//! Waiting for a file another holder has locked: retry with back-off until the busy timeout.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Calls `attempt` until it returns `Some` (got it) or an error, backing off from 1 ms to 50 ms
/// while it returns `None` (held by someone else); past `timeout`, `Error::Locked` names `path`.
pub(crate) fn wait_for_lock<T>(
    op: &'static str,
    path: &str,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = attempt()? {
            return Ok(v);
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(Error::Locked {
                op,
                path: path.into(),
                waited_ms: waited.as_millis() as u64,
            });
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Calls `attempt` again while it fails with `Error::Busy` (a checkpoint waiting for readers to
/// leave the frames it must copy), backing off from 100 µs to 20 ms, for at most `timeout`;
/// then the last `Busy` is returned.
pub(crate) fn retry_while_busy<T>(
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        match attempt() {
            Err(Error::Busy { .. }) if start.elapsed() < timeout => {
                std::thread::sleep(pause.min(timeout.saturating_sub(start.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
