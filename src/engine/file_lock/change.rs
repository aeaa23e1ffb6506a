//! What a change to the database file, found under this process's lock, was: another process's
//! work through the lock protocol (a commit, a checkpoint, or a checkpoint cut short by a kill
//! or a full disk), or a program writing the file without it (a copy over it).

use std::fs::File;

use super::{frame_size, read_up_to_at, FileState};

/// The verdict on a database file that is no longer as this process last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Another process's work through the protocol: the engine refreshes onto it, and the file
    /// as it is now counts as that process's, not as a copy over it.
    Peer,
    /// Only the time moved (a `touch`), or a whole file with an empty `-wal` under it: the
    /// engine refreshes onto it, which loses nothing, but no one vouches for it.
    Unexplained,
    /// Empty, or shorter than its header says: a copy still going on.
    BeingRewritten,
    /// Another whole file, under a `-wal` whose frames were written against the old content.
    OverwrittenBeneathLog,
}

/// Judges `now` against `before` (the file as this process last saw it). `db` reads the
/// database file; `wal` opens the `-wal` (asked only when the pages must be compared).
pub(super) fn classify(
    before: &FileState,
    now: &FileState,
    db: &File,
    wal: impl FnOnce() -> Option<File>,
) -> Change {
    let wal_moved = before.wal != now.wal;
    if before.same_content(now) {
        // A commit (the `-wal` moved) or a touch: either way the pages are the ones seen.
        return if wal_moved {
            Change::Peer
        } else {
            Change::Unexplained
        };
    }
    // A process that follows the protocol leaves a trace in the `-wal` whenever it rewrites
    // the database file: a checkpoint that finished empties or restarts it, and one cut short
    // (a kill, a full disk) leaves it with the time `FileGate::mark_log_for_rewrite` moved.
    // Its frames are committed writes then: replaying them over the file is the recovery,
    // and discarding them would lose them.
    if wal_moved {
        // A checkpoint cut short can leave page 1 ahead of the pages it counts; a copy still
        // going on does too, but its page 1 is not one of the log's.
        return if now.is_whole() || wal().is_some_and(|wal| page_one_is_from_log(now, db, &wal)) {
            Change::Peer
        } else {
            Change::BeingRewritten
        };
    }
    if !now.is_whole() {
        Change::BeingRewritten
    } else if log_has_frames(now) {
        Change::OverwrittenBeneathLog
    } else {
        Change::Unexplained
    }
}

fn log_has_frames(state: &FileState) -> bool {
    state
        .wal
        .as_ref()
        .is_some_and(|w| frame_size(&w.header).is_some_and(|frame| w.size >= 32 + frame))
}

/// True when page 1 of the database file is one of the `-wal`'s images of it (of the log's
/// current generation): a checkpoint, cut short or not, wrote it there.
fn page_one_is_from_log(now: &FileState, db: &File, wal: &File) -> bool {
    let Some(log) = now.wal.as_ref().filter(|_| log_has_frames(now)) else {
        return false;
    };
    let Some(frame) = frame_size(&log.header) else {
        return false;
    };
    let Ok(page) = usize::try_from(frame - 24) else {
        return false;
    };
    let mut first_page = vec![0u8; page];
    if !matches!(read_up_to_at(db, &mut first_page, 0), Ok(n) if n == page) {
        return false;
    }
    let salts = &log.header[16..24];
    let mut frame_header = [0u8; 24];
    let mut image = vec![0u8; page];
    let frames = (log.size - 32) / frame;
    for i in 0..frames {
        let at = 32 + i * frame;
        if !matches!(read_up_to_at(wal, &mut frame_header, at), Ok(24)) {
            return false;
        }
        // Frames of an earlier generation of the log (other salts) were never committed
        // into this one.
        if frame_header[8..16] != *salts || frame_header[0..4] != 1u32.to_be_bytes() {
            continue;
        }
        if matches!(read_up_to_at(wal, &mut image, at + 24), Ok(n) if n == page)
            && image == first_page
        {
            return true;
        }
    }
    false
}
