//! The commands: each parses nothing and prints little, it opens the store the way the
//! command needs (read-only when it only reads) and calls the library.

pub mod admin;
pub mod issues;
pub mod records;
pub mod sync;
pub mod work;

use std::path::PathBuf;

use beadstore::{Error, FreshnessMode, OpenOptions, Store};
use serde::Serialize;

use crate::cli::Cli;
use crate::Failure;

/// What every command gets: the parsed command line.
pub struct Ctx<'a> {
    pub cli: &'a Cli,
}

impl Ctx<'_> {
    /// The store for a command that only reads: read-only, so the file is never touched
    /// (GH#804).
    pub fn reader(&self) -> Result<Store, Failure> {
        Ok(Store::open_with(
            self.locate()?,
            one_shot().read_only(true),
        )?)
    }

    /// The store for a command that writes (read-only with `--read-only`, so writes fail).
    pub fn writer(&self) -> Result<Store, Failure> {
        Ok(Store::open_with(
            self.locate()?,
            one_shot().read_only(self.cli.read_only),
        )?)
    }

    /// Who changes are recorded as.
    pub fn actor(&self) -> String {
        self.cli
            .actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "beadstore".into())
    }

    /// The database a command works on: `--db`, or the nearest `.beads/*.db` upward.
    pub fn locate(&self) -> Result<String, Failure> {
        if let Some(db) = &self.cli.db {
            return Ok(db.clone());
        }
        let cwd: PathBuf = std::env::current_dir()
            .map_err(|e| Failure::User(format!("cannot read the current directory: {e}")))?;
        match crate::discover::find_database(&cwd) {
            Some(p) => Ok(p.display().to_string()),
            None => Err(Failure::User(format!(
                "no beads database found in {} or above (run `beadstore init` or pass --db)",
                cwd.display()
            ))),
        }
    }

    /// Prints `value` as JSON with `--json`, else runs `text`.
    pub fn print<T: Serialize>(&self, value: &T, text: impl FnOnce()) {
        if self.cli.json {
            print_json(value);
        } else {
            text();
        }
    }
}

/// Options for a command that opens, does one thing and closes: nothing can replace the file
/// meanwhile that a check would catch, so no watch is set up.
pub fn one_shot() -> OpenOptions {
    OpenOptions::new().freshness(FreshnessMode::Off)
}

/// Pretty JSON on standard output.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// A missing issue as the user error it is.
pub fn no_issue(id: &str) -> Failure {
    Failure::User(format!("no issue {id}"))
}

/// Closes the store, reporting a failure to close as the storage problem it is.
pub fn finish(store: Store) -> Result<(), Failure> {
    store.close().map_err(Failure::from)
}

/// A typed error from a command's input, for the error paths that need wording of their own.
pub fn invalid(message: impl Into<String>) -> Failure {
    Failure::from(Error::InvalidInput(message.into()))
}
