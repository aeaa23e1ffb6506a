//! Issue ids as beads makes them: `prefix-<base36 hash>` whose length grows with the number of
//! issues (collision odds at most 25%), and hierarchical children `parent.N` numbered through
//! `child_counters` (GH#728).

use sha2::{Digest, Sha256};

use crate::error::{Error, NotFoundKind, Result};
use crate::model::Timestamp;
use crate::store::{ReadTxn, WriteTxn};
use crate::value::first_i64;
use beadstore_macros::store_ops;

/// The deepest a hierarchical id may nest (dots in the parent id).
pub const MAX_HIERARCHY_DEPTH: usize = 3;
const LONGEST_HASH: usize = 8;
const NONCES_PER_LENGTH: u32 = 10;

/// One candidate id: SHA-256 of `title|description|creator|unix-nanos|nonce`, the first bytes
/// as a base-36 number of `length` digits.
pub fn hash_id(
    prefix: &str,
    title: &str,
    description: &str,
    creator: &str,
    created_at: &Timestamp,
    length: usize,
    nonce: u32,
) -> String {
    let nanos = created_at.timestamp_nanos_opt().unwrap_or_default();
    let content = format!("{title}|{description}|{creator}|{nanos}|{nonce}");
    let digest = Sha256::digest(content.as_bytes());
    let bytes = match length {
        3 => 2,
        4 => 3,
        5 | 6 => 4,
        7 | 8 => 5,
        _ => 3,
    };
    let mut value: u64 = 0;
    for b in &digest[..bytes] {
        value = (value << 8) | u64::from(*b);
    }
    let mut digits = base36(value);
    if digits.len() < length {
        digits = format!("{}{digits}", "0".repeat(length - digits.len()));
    } else if digits.len() > length {
        digits = digits[digits.len() - length..].to_owned();
    }
    format!("{prefix}-{digits}")
}

fn base36(mut n: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(ALPHABET[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `(true, parent)` when `id` ends in `.<digits>`.
pub fn parent_of(id: &str) -> Option<&str> {
    let (parent, suffix) = id.rsplit_once('.')?;
    (!suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit())).then_some(parent)
}

/// The child number of a hierarchical id.
pub(crate) fn child_number(id: &str) -> Option<i64> {
    let (_, suffix) = id.rsplit_once('.')?;
    parent_of(id).and_then(|_| suffix.parse().ok())
}

/// The hash length for the next id under `prefix`: the shortest whose birthday-collision odds,
/// given how many top-level ids exist, stay within the configured bound.
fn adaptive_length(tx: &ReadTxn<'_>, prefix: &str) -> Result<usize> {
    let count = first_i64(&tx.query(
        "SELECT count(*) FROM issues WHERE id LIKE ? || '-%' AND instr(substr(id, length(?) + 2), '.') = 0",
        &[prefix.into(), prefix.into()],
    )?)
    .unwrap_or(0);
    let setting = |key: &str| -> Result<String> { Ok(tx.get_config(key)?.unwrap_or_default()) };
    let max_probability: f64 = setting("max_collision_prob")?
        .trim()
        .parse()
        .unwrap_or(0.25);
    let min: usize = setting("min_hash_length")?.trim().parse().unwrap_or(3);
    let max: usize = setting("max_hash_length")?
        .trim()
        .parse()
        .unwrap_or(LONGEST_HASH);
    let n = count as f64;
    for length in min..=max {
        let space = 36f64.powi(length as i32);
        if 1.0 - (-(n * n) / (2.0 * space)).exp() <= max_probability {
            return Ok(length);
        }
    }
    Ok(max)
}

/// The hash length to start from for a batch under `prefix` (computed once per batch, as Go).
pub(crate) fn base_length(tx: &ReadTxn<'_>, prefix: &str) -> Result<usize> {
    Ok(adaptive_length(tx, prefix)?.clamp(1, LONGEST_HASH))
}

/// A fresh id under `prefix`, starting at `base` hash characters, that no issue (tombstones
/// included) and nothing in `taken` has.
#[allow(clippy::too_many_arguments)]
pub(crate) fn generate(
    tx: &ReadTxn<'_>,
    prefix: &str,
    base: usize,
    title: &str,
    description: &str,
    creator: &str,
    created_at: &Timestamp,
    taken: &std::collections::HashSet<String>,
) -> Result<String> {
    for length in base..=LONGEST_HASH {
        for nonce in 0..NONCES_PER_LENGTH {
            let candidate = hash_id(
                prefix,
                title,
                description,
                creator,
                created_at,
                length,
                nonce,
            );
            if taken.contains(&candidate) {
                continue;
            }
            let exists = first_i64(&tx.query(
                "SELECT count(*) FROM issues WHERE id = ?",
                &[candidate.as_str().into()],
            )?)
            .unwrap_or(0);
            if exists == 0 {
                return Ok(candidate);
            }
        }
    }
    Err(Error::Constraint {
        op: "generate issue id",
        message: format!(
            "failed to generate unique ID after trying lengths {base}-{LONGEST_HASH} with {NONCES_PER_LENGTH} nonces each"
        ),
    })
}

/// Raises `parent`'s child counter to at least `child` (an explicit hierarchical id was used).
pub(crate) fn note_child(tx: &WriteTxn<'_>, parent: &str, child: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO child_counters (parent_id, last_child) VALUES (?, ?) ON CONFLICT (parent_id) DO UPDATE SET last_child = MAX(last_child, excluded.last_child)",
        &[parent.into(), child.into()],
    )?;
    Ok(())
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// The next hierarchical child id of `parent_id` (`parent.N`), counting atomically. A
    /// deleted parent comes back from `issues.jsonl` when it is there; the parent may be at
    /// most `hierarchy.max-depth - 1` levels deep (default `MAX_HIERARCHY_DEPTH`).
    pub fn next_child_id(&self, parent_id: &str) -> Result<String> {
        let restored = |jsonl: std::path::PathBuf| {
            self.resurrect_parent_chain(&format!("{parent_id}.0"), &jsonl)
        };
        if !self.issue_exists(parent_id)?
            && !self
                .jsonl_history()
                .map(restored)
                .transpose()?
                .unwrap_or(false)
        {
            return Err(Error::not_found(NotFoundKind::Parent, parent_id));
        }
        let max_depth = self
            .project_config()?
            .hierarchy_max_depth
            .unwrap_or(MAX_HIERARCHY_DEPTH);
        let depth = parent_id.matches('.').count();
        if depth >= max_depth {
            return Err(Error::invalid(
                "parent_id",
                format!("maximum hierarchy depth ({max_depth}) exceeded for parent {parent_id}"),
            ));
        }
        let n = first_i64(&self.query(
            "INSERT INTO child_counters (parent_id, last_child) VALUES (?, 1) ON CONFLICT (parent_id) DO UPDATE SET last_child = last_child + 1 RETURNING last_child",
            &[parent_id.into()],
        )?)
        .ok_or_else(|| Error::Internal {
            op: "next child id",
            message: "the child counter returned no row".into(),
        })?;
        Ok(format!("{parent_id}.{n}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ids_match_the_go_test_vector() -> std::result::Result<(), chrono::ParseError> {
        let at = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05.006Z")?;
        let expected = [
            (3, "bd-vju"),
            (4, "bd-8d8e"),
            (5, "bd-bi3tk"),
            (6, "bd-8bi3tk"),
            (7, "bd-r5sr6bm"),
            (8, "bd-8r5sr6bm"),
        ];
        for (length, id) in expected {
            assert_eq!(
                hash_id("bd", "Fix login", "Details", "jira-import", &at, length, 0),
                id
            );
        }
        Ok(())
    }

    #[test]
    fn hierarchical_ids_are_recognised_even_with_dotted_prefixes() {
        assert_eq!(parent_of("bd-abc.1"), Some("bd-abc"));
        assert_eq!(parent_of("my.project-abc"), None);
        assert_eq!(parent_of("my.project-abc.12"), Some("my.project-abc"));
        assert_eq!(parent_of("bd-abc."), None);
        assert_eq!(child_number("bd-abc.1.07"), Some(7));
    }
}
