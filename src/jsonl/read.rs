//! Reading issue lines: one JSON object per line, empty lines and `#` comments skipped, lines
//! up to 10 MiB (Go's scanner limit), a bad line reported with its number.

use std::io::BufRead;

use crate::error::{Error, Result};
use crate::model::Issue;

/// The longest line accepted, as bd's scanner allows.
pub const MAX_LINE_BYTES: usize = 10 * 1024 * 1024;

/// One issue read from a file, with the line it came from.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// The issue with its embedded labels, dependencies and comments.
    pub issue: Issue,
}

/// Reads every issue from `input`; `path` names the source in errors. Keys the model does not
/// know are ignored. Fails on the first bad line, reading no further.
pub fn read_issues(input: impl BufRead, path: &str) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    let mut lines = BoundedLines::new(input);
    let mut number = 0;
    while let Some(line) = lines.next_line() {
        number += 1;
        let bad = |message: String| Error::Jsonl {
            path: path.into(),
            line: number,
            message,
        };
        let bytes = line.map_err(|e| bad(e.to_string()))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| bad(format!("not UTF-8: {e}")))?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let issue: Issue = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if issue.id.is_empty() {
            return Err(bad("the issue has no id".into()));
        }
        out.push(Line { number, issue });
    }
    Ok(out)
}

/// Lines of at most `MAX_LINE_BYTES` without ever buffering more than that of one line.
struct BoundedLines<R> {
    input: R,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    fn new(input: R) -> Self {
        BoundedLines { input, done: false }
    }

    fn next_line(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if chunk.is_empty() {
                self.done = true;
                return (!line.is_empty()).then_some(Ok(line));
            }
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if line.len() + take > MAX_LINE_BYTES + 1 {
                self.done = true;
                return Some(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("line longer than {MAX_LINE_BYTES} bytes"),
                )));
            }
            line.extend_from_slice(&chunk[..take]);
            self.input.consume(take);
            if end {
                line.pop();
                return Some(Ok(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_comment_lines_are_skipped_and_unknown_keys_ignored() {
        let text = "\n# exported by bd\n{\"id\":\"bd-1\",\"title\":\"a\",\"future_key\":{\"x\":1}}\r\n  \n{\"id\":\"bd-2\",\"title\":\"b\"}";
        let lines = read_issues(text.as_bytes(), "x.jsonl").unwrap();
        let got: Vec<(usize, &str)> = lines
            .iter()
            .map(|l| (l.number, l.issue.id.as_str()))
            .collect();
        assert_eq!(got, [(3, "bd-1"), (5, "bd-2")]);
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let text = "{\"id\":\"bd-1\",\"title\":\"a\"}\n{\"id\":\"bd-2\",\"title\":\"b\",\"priority\":\"high\"}\n";
        let err = read_issues(text.as_bytes(), "x.jsonl").unwrap_err();
        assert!(
            matches!(err, Error::Jsonl { line: 2, ref path, .. } if path == "x.jsonl"),
            "{err:?}"
        );
        let err = read_issues("{\"title\":\"no id\"}".as_bytes(), "x").unwrap_err();
        assert!(matches!(err, Error::Jsonl { line: 1, .. }), "{err:?}");
        let err = read_issues("{\"id\":".as_bytes(), "x").unwrap_err();
        assert!(matches!(err, Error::Jsonl { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn lines_up_to_ten_mebibytes_are_read_and_longer_ones_refused() {
        let padding = "x".repeat(MAX_LINE_BYTES - 40);
        let fits = format!("{{\"id\":\"bd-1\",\"title\":\"{padding}\"}}\n");
        assert!(fits.len() <= MAX_LINE_BYTES + 1);
        let lines = read_issues(std::io::BufReader::new(fits.as_bytes()), "x").unwrap();
        assert_eq!(lines[0].issue.title.len(), padding.len());

        let too_long = format!("{{\"id\":\"bd-1\",\"title\":\"{padding}{padding}\"}}\n");
        let err = read_issues(std::io::BufReader::new(too_long.as_bytes()), "x").unwrap_err();
        assert!(
            matches!(err, Error::Jsonl { line: 1, ref message, .. } if message.contains("longer")),
            "{err:?}"
        );
    }
}
