//! Timestamps in the model: Go's RFC 3339 with nanoseconds and the offset kept, read back from
//! any of the three forms beads files hold.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serializer};

use crate::time::format_rfc3339_nano;

/// A point in time with the offset it was written with.
pub type Timestamp = DateTime<FixedOffset>;

/// The zero time (Unix epoch, UTC): a timestamp that was never set.
pub fn unset() -> Timestamp {
    chrono::DateTime::UNIX_EPOCH.fixed_offset()
}

/// Reads a timestamp as beads files store it: RFC 3339 (Go, beadstore), Go's SQLite driver form
/// (`2006-01-02 15:04:05.999999999-07:00`), or SQLite's `CURRENT_TIMESTAMP` (UTC, no offset).
pub fn parse_stored(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    // Go's driver may append a zone name after the offset: "... -0700 PDT" / "+0000 UTC".
    if let Some((head, _zone)) = text.rsplit_once(' ') {
        if let Ok(t) = DateTime::parse_from_str(head, "%Y-%m-%d %H:%M:%S%.f %z") {
            return Some(t);
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().fixed_offset());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().fixed_offset())
}

/// Formats a timestamp as beadstore writes it (Go's RFC3339Nano).
pub fn format(t: &Timestamp) -> String {
    format_rfc3339_nano(t)
}

/// serde for a required timestamp.
pub mod required {
    use super::*;

    /// Serializes as Go's RFC3339Nano text.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Accepts any stored form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        parse_stored(&text).ok_or_else(|| serde::de::Error::custom(format!("bad time {text:?}")))
    }
}

/// serde for an optional timestamp (absent or null = none).
pub mod optional {
    use super::*;

    /// Serializes as Go's RFC3339Nano text.
    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }

    /// Accepts any stored form, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) => parse_stored(&t)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("bad time {t:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_stored_forms_are_read() {
        let rfc = parse_stored("2025-11-02T21:58:07.295058-08:00").map(|t| format(&t));
        assert_eq!(rfc.as_deref(), Some("2025-11-02T21:58:07.295058-08:00"));
        let driver = parse_stored("2025-11-02 21:58:07.295058-08:00").map(|t| format(&t));
        assert_eq!(driver.as_deref(), Some("2025-11-02T21:58:07.295058-08:00"));
        let sqlite = parse_stored("2025-11-02 21:58:07").map(|t| format(&t));
        assert_eq!(sqlite.as_deref(), Some("2025-11-02T21:58:07Z"));
        let zone = parse_stored("2025-11-02 21:58:07.5 -0800 PST").map(|t| format(&t));
        assert_eq!(zone.as_deref(), Some("2025-11-02T21:58:07.5-08:00"));
        assert!(parse_stored("yesterday").is_none());
    }
}
