//! A cheap look at a file that replaced the database, before the engine is pointed at it: an
//! empty, half-copied or foreign file is refused without opening it.

use std::path::Path;

use crate::registry::{self, Pin};

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const HEADER_LEN: usize = 100;

/// Why a candidate file cannot be used (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// Nothing at the path.
    Missing,
    /// Zero bytes: typically the first moment of a copy.
    Empty,
    /// Not a SQLite database.
    NotSqlite,
    /// Shorter than its header says: a copy still in progress or cut short.
    Truncated { size: u64, expected: u64 },
    /// The file could not be read.
    Unreadable(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Missing => f.write_str("no file at the path"),
            Unusable::Empty => f.write_str("the file is empty"),
            Unusable::NotSqlite => f.write_str("the file is not a SQLite database"),
            Unusable::Truncated { size, expected } => write!(
                f,
                "the file is truncated ({size} bytes, its header needs {expected}): a copy in progress?"
            ),
            Unusable::Unreadable(e) => write!(f, "the file cannot be read: {e}"),
        }
    }
}

/// Checks the SQLite header of `path`: magic, page size, and a length that holds every page the
/// header counts. The file stays pinned while the caller holds the returned `Pin`.
pub(crate) fn check(path: &Path) -> Result<Pin, Unusable> {
    let unreadable = |e: std::io::Error| Unusable::Unreadable(e.to_string());
    let pin = registry::pin(path)
        .map_err(unreadable)?
        .ok_or(Unusable::Missing)?;
    let size = pin.len().map_err(unreadable)?;
    if size == 0 {
        return Err(Unusable::Empty);
    }
    let mut header = [0u8; HEADER_LEN];
    if !pin.read_at(&mut header, 0).map_err(unreadable)? {
        return Err(Unusable::Truncated {
            size,
            expected: HEADER_LEN as u64,
        });
    }
    check_header(&header, size)?;
    Ok(pin)
}

/// True when `header` and `size` describe a whole SQLite file: not empty, not foreign, not a
/// copy still in progress.
pub(crate) fn is_whole(header: &[u8; HEADER_LEN], size: u64) -> bool {
    check_header(header, size).is_ok()
}

fn check_header(header: &[u8; HEADER_LEN], size: u64) -> Result<(), Unusable> {
    if &header[..16] != MAGIC {
        return Err(Unusable::NotSqlite);
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return Err(Unusable::NotSqlite),
    };
    let page_count = u64::from(be32(header, 28));
    let change_counter = be32(header, 24);
    let valid_for = be32(header, 92);
    // The header's page count is only meaningful when written by a version that maintains it.
    let counted = if page_count > 0 && change_counter == valid_for {
        page_count * page_size
    } else {
        page_size
    };
    if size < counted || size % page_size != 0 {
        return Err(Unusable::Truncated {
            size,
            expected: counted.max(size.next_multiple_of(page_size)),
        });
    }
    Ok(())
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(page_size: u16, pages: u32) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..16].copy_from_slice(MAGIC);
        h[16..18].copy_from_slice(&page_size.to_be_bytes());
        h[24..28].copy_from_slice(&7u32.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&7u32.to_be_bytes());
        h
    }

    #[test]
    fn a_complete_file_passes() {
        assert_eq!(check_header(&header(4096, 3), 3 * 4096), Ok(()));
        assert_eq!(check_header(&header(1, 2), 2 * 65_536), Ok(()));
    }

    #[test]
    fn a_file_shorter_than_its_page_count_is_truncated() {
        let err = check_header(&header(4096, 3), 2 * 4096).unwrap_err();
        assert!(matches!(err, Unusable::Truncated { expected, .. } if expected == 3 * 4096));
        assert!(matches!(
            check_header(&header(4096, 1), 4096 + 100),
            Err(Unusable::Truncated { .. })
        ));
    }

    #[test]
    fn foreign_bytes_are_not_sqlite() {
        let mut h = header(4096, 1);
        h[0] = b'X';
        assert_eq!(check_header(&h, 4096), Err(Unusable::NotSqlite));
        assert_eq!(
            check_header(&header(1000, 1), 4096),
            Err(Unusable::NotSqlite)
        );
    }
}
