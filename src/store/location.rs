//! Where a store's database lives: a plain path, `:memory:`, or a `file:` URI with parameters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// The literal name of a private in-memory database.
pub const MEMORY: &str = ":memory:";

/// A parsed database location and the settings its URI carried.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Location {
    /// The file, made absolute; `None` for an in-memory database.
    pub file: Option<PathBuf>,
    /// `mode=ro` was given.
    pub read_only: bool,
    /// `_pragma=busy_timeout(N)` was given.
    pub busy_timeout: Option<Duration>,
}

impl Location {
    /// What `Store::path()` reports: the absolute file path, or `:memory:`.
    pub fn display(&self) -> String {
        match &self.file {
            Some(p) => p.display().to_string(),
            None => MEMORY.to_owned(),
        }
    }
}

/// What a caller passed to `Store::open`: a file path (made absolute against `cwd`), or
/// `:memory:`. Nothing in it is read as a URI: `file:x` is a file named `file:x`.
pub(crate) fn from_path(path: &Path, cwd: &Path) -> Result<Location> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid("path", "database path is empty"));
    }
    if path.as_os_str() == MEMORY {
        return Ok(Location {
            file: None,
            read_only: false,
            busy_timeout: None,
        });
    }
    // The engine opens its files by a UTF-8 name: a lossy conversion could open another file.
    if path.to_str().is_none() {
        return Err(Error::invalid(
            "path",
            format!(
            "database path {} is not valid UTF-8, which the engine needs to open a file by name",
            path.display()
        ),
        ));
    }
    Ok(Location {
        file: Some(absolute(path, cwd)),
        read_only: false,
        busy_timeout: None,
    })
}

/// What a caller passed to `Store::open_uri`: `:memory:` or a `file:` URI, whose parameters
/// are read and never become part of the file name.
pub(crate) fn parse_uri(input: &str, cwd: &Path) -> Result<Location> {
    if input == MEMORY {
        return from_path(Path::new(input), cwd);
    }
    let Some(rest) = input.strip_prefix("file:") else {
        return Err(Error::invalid(
            "uri",
            format!(
            "database URI {input:?} does not start with file: (open a plain path with Store::open)"
        ),
        ));
    };
    let (raw_path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    let raw_path = strip_authority(raw_path)?;
    let path = percent_decode(raw_path)?;

    let mut memory = path == MEMORY;
    let mut read_only = false;
    let mut busy_timeout = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value)?;
        match key {
            "mode" => match value.as_str() {
                "ro" => read_only = true,
                "rw" | "rwc" => {}
                "memory" => memory = true,
                other => {
                    return Err(Error::invalid(
                        "uri",
                        format!(
                            "unknown mode={other} in database URI (expected ro, rw, rwc or memory)"
                        ),
                    ))
                }
            },
            "_pragma" => apply_pragma(&value, &mut busy_timeout)?,
            // Accepted for compatibility with Go beads connection strings; nothing to do here.
            "cache" | "_time_format" | "_timefmt" | "_txlock" | "vfs" | "immutable" | "nolock" => {}
            other => {
                return Err(Error::invalid(
                    "uri",
                    format!("unknown parameter {other:?} in database URI {input:?}"),
                ))
            }
        }
    }
    if memory {
        if read_only {
            return Err(Error::invalid(
                "uri",
                "an in-memory database cannot be opened read-only",
            ));
        }
        return Ok(Location {
            file: None,
            read_only: false,
            busy_timeout,
        });
    }
    if path.is_empty() {
        return Err(Error::invalid(
            "uri",
            format!("database URI {input:?} names no file"),
        ));
    }
    Ok(Location {
        file: Some(absolute(Path::new(&path), cwd)),
        read_only,
        busy_timeout,
    })
}

/// Applies one `_pragma=name(value)` parameter.
fn apply_pragma(spec: &str, busy_timeout: &mut Option<Duration>) -> Result<()> {
    let bad = || Error::invalid("uri", format!("malformed _pragma={spec} in database URI"));
    let (name, arg) = spec.split_once('(').ok_or_else(bad)?;
    let arg = arg.strip_suffix(')').ok_or_else(bad)?.trim();
    match name.trim().to_ascii_lowercase().as_str() {
        "busy_timeout" => {
            let ms: u64 = arg.parse().map_err(|_| {
                Error::invalid(
                    "uri",
                    format!("busy_timeout({arg}) is not a number of milliseconds"),
                )
            })?;
            *busy_timeout = Some(Duration::from_millis(ms));
            Ok(())
        }
        "foreign_keys" => match arg.to_ascii_lowercase().as_str() {
            "on" | "1" | "true" | "yes" => Ok(()),
            _ => Err(Error::invalid(
                "uri",
                format!("foreign_keys({arg}): beadstore always enforces foreign keys"),
            )),
        },
        // The engine only has a WAL; other journal modes are accepted and WAL is kept.
        "journal_mode" => Ok(()),
        other => Err(Error::invalid(
            "uri",
            format!("unsupported _pragma={other}(...) in database URI"),
        )),
    }
}

/// Removes `//` and an empty or `localhost` authority from a URI path.
fn strip_authority(path: &str) -> Result<&str> {
    let Some(after) = path.strip_prefix("//") else {
        return Ok(path);
    };
    let (authority, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    if authority.is_empty() || authority.eq_ignore_ascii_case("localhost") {
        Ok(rest)
    } else {
        Err(Error::invalid(
            "uri",
            format!("database URI names a remote host {authority:?}"),
        ))
    }
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid("uri", format!("bad percent escape in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid("uri", format!("percent escapes in {s:?} are not UTF-8")))
}

/// Makes a path absolute against `cwd` and removes `.` and `..` components lexically.
fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_at(input: &str) -> Result<Location> {
        parse_uri(input, Path::new("/work/here"))
    }

    fn path_at(input: impl AsRef<Path>) -> Result<Location> {
        from_path(input.as_ref(), Path::new("/work/here"))
    }

    #[test]
    fn plain_paths_become_absolute() -> Result<()> {
        let loc = path_at("db/beads.db")?;
        assert_eq!(loc.file, Some(PathBuf::from("/work/here/db/beads.db")));
        let loc = path_at("../x/./beads.db")?;
        assert_eq!(loc.file, Some(PathBuf::from("/work/x/beads.db")));
        Ok(())
    }

    #[test]
    fn a_path_is_never_read_as_a_uri_and_a_uri_must_be_one() -> Result<()> {
        let loc = path_at("file:x.db?mode=ro")?;
        assert_eq!(
            loc.file,
            Some(PathBuf::from("/work/here/file:x.db?mode=ro"))
        );
        assert!(!loc.read_only);
        assert!(matches!(
            parse_at("plain/beads.db"),
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(path_at(""), Err(Error::InvalidInput { .. })));
        Ok(())
    }

    #[test]
    fn a_path_that_is_not_utf8_is_refused_not_opened_lossily() {
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"/tmp/be\xffads.db");
        assert!(matches!(path_at(odd), Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn memory_forms() -> Result<()> {
        assert!(path_at(":memory:")?.file.is_none());
        assert!(parse_at(":memory:")?.file.is_none());
        assert!(parse_at("file:memdb?mode=memory&cache=shared")?
            .file
            .is_none());
        assert!(parse_at("file::memory:")?.file.is_none());
        assert!(parse_at("file:x?mode=memory&mode=ro").is_err());
        Ok(())
    }

    #[test]
    fn uri_parameters_are_read_not_kept_in_the_name() -> Result<()> {
        let loc = parse_at(
            "file:/tmp/a%20b.db?mode=ro&_pragma=busy_timeout(250)&_pragma=foreign_keys(ON)&_time_format=sqlite",
        )?;
        assert_eq!(loc.file, Some(PathBuf::from("/tmp/a b.db")));
        assert!(loc.read_only);
        assert_eq!(loc.busy_timeout, Some(Duration::from_millis(250)));
        let loc = parse_at("file:///tmp/x.db")?;
        assert_eq!(loc.file, Some(PathBuf::from("/tmp/x.db")));
        let loc = parse_at("file:rel.db?_pragma=busy_timeout(0)")?;
        assert_eq!(loc.file, Some(PathBuf::from("/work/here/rel.db")));
        assert_eq!(loc.busy_timeout, Some(Duration::ZERO));
        Ok(())
    }

    #[test]
    fn bad_uris_are_typed_errors() {
        for bad in [
            "",
            "file:",
            "file:x.db?mode=bogus",
            "file:x.db?_pragma=foreign_keys(OFF)",
            "file:x.db?_pragma=busy_timeout(soon)",
            "file:x.db?_pragma=busy_timeout",
            "file:x.db?typo=1",
            "file://remote.host/x.db",
            "file:x%zz.db",
        ] {
            assert!(
                matches!(parse_at(bad), Err(Error::InvalidInput { .. })),
                "{bad:?} should be rejected"
            );
        }
    }
}
