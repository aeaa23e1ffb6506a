//! JSON text the way Go's `encoding/json` writes it, so exported lines match bd's byte for
//! byte: compact, struct key order, and Go's string escaping. Go always escapes U+2028 and
//! U+2029 (`\u2028`, `\u2029`); `json.Marshal` also escapes `<`, `>` and `&` (`\u003c`...),
//! while an `Encoder` with `SetEscapeHTML(false)` leaves them as they are.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// Which of Go's two string escapings to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HtmlEscaping {
    /// `<`, `>` and `&` written as they are (`json.Encoder` with `SetEscapeHTML(false)`).
    #[default]
    Off,
    /// `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026` (`json.Marshal`, Go's default).
    On,
}

/// The compact form (the trait's defaults) with Go's string escaping.
struct GoFormatter {
    html: HtmlEscaping,
}

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, ch) in fragment.char_indices() {
            let escape = match ch {
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                '<' if self.html == HtmlEscaping::On => "\\u003c",
                '>' if self.html == HtmlEscaping::On => "\\u003e",
                '&' if self.html == HtmlEscaping::On => "\\u0026",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..at])?;
            writer.write_all(escape.as_bytes())?;
            start = at + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Appends `value` as one line of Go-compatible JSON (with the trailing newline) to `out`.
pub fn write_line<T: Serialize>(
    out: &mut Vec<u8>,
    value: &T,
    html: HtmlEscaping,
) -> serde_json::Result<()> {
    let mut serializer = Serializer::with_formatter(&mut *out, GoFormatter { html });
    value.serialize(&mut serializer)?;
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(value: &serde_json::Value, html: HtmlEscaping) -> String {
        let mut out = Vec::new();
        write_line(&mut out, value, html).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_as_go_does() {
        let value = serde_json::json!({"t": "a<b>&c\u{2028}d\u{2029}\"\\\n\t\u{1}\u{7f}é"});
        // What Go's json.Marshal gives for the same string.
        assert_eq!(
            line(&value, HtmlEscaping::On),
            "{\"t\":\"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029\\\"\\\\\\n\\t\\u0001\u{7f}é\"}\n"
        );
        // And an Encoder with SetEscapeHTML(false).
        assert_eq!(
            line(&value, HtmlEscaping::Off),
            "{\"t\":\"a<b>&c\\u2028d\\u2029\\\"\\\\\\n\\t\\u0001\u{7f}é\"}\n"
        );
        assert_eq!(
            line(
                &serde_json::json!({"a": [1, 2], "b": {}}),
                HtmlEscaping::Off
            ),
            "{\"a\":[1,2],\"b\":{}}\n"
        );
    }
}
