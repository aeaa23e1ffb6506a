//! Timestamps as Go beads writes them: RFC 3339 with nanoseconds (trailing zeros trimmed) and the
//! local offset, e.g. `2025-11-02T21:58:07.295058-08:00`.

use chrono::{DateTime, FixedOffset, Local, Timelike};

/// Formats a time the way Go's `time.RFC3339Nano` does.
pub fn format_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let digits = format!("{nanos:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    let offset = t.offset().local_minus_utc();
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.unsigned_abs();
        out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
    }
    out
}

/// The current local time in Go's RFC 3339 nano form.
pub fn now_rfc3339() -> String {
    format_rfc3339_nano(&Local::now().fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_rfc3339_nano() -> Result<(), chrono::ParseError> {
        let t = DateTime::parse_from_rfc3339("2025-11-02T21:58:07.295058000-08:00")?;
        assert_eq!(format_rfc3339_nano(&t), "2025-11-02T21:58:07.295058-08:00");
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00+00:00")?;
        assert_eq!(format_rfc3339_nano(&t), "2026-01-01T00:00:00Z");
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.000000001+05:30")?;
        assert_eq!(
            format_rfc3339_nano(&t),
            "2026-01-01T00:00:00.000000001+05:30"
        );
        Ok(())
    }
}
