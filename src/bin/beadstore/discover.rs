//! Finding the database a command should use, like bd: the nearest `.beads/*.db` upward.

use std::path::{Path, PathBuf};

/// The nearest `.beads/*.db` at or above `start` (`beads.db` preferred, else the first by name).
pub fn find_database(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        let beads = dir.join(".beads");
        if !beads.is_dir() {
            continue;
        }
        let preferred = beads.join("beads.db");
        if preferred.is_file() {
            return Some(preferred);
        }
        let mut dbs: Vec<PathBuf> = std::fs::read_dir(&beads)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "db"))
            .collect();
        dbs.sort();
        if let Some(first) = dbs.into_iter().next() {
            return Some(first);
        }
    }
    None
}

/// Where `init` creates a database without `--db`: `.beads/beads.db` in the current directory.
pub fn default_init_path() -> std::io::Result<PathBuf> {
    Ok(std::env::current_dir()?.join(".beads").join("beads.db"))
}

/// The prefix `init` uses without `--prefix`: the current directory's name, as bd does.
pub fn default_prefix() -> Result<String, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let name = cwd
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("bd")
        .to_owned();
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.trim_matches('-').is_empty() {
        Ok("bd".to_owned())
    } else {
        Ok(cleaned)
    }
}
