//! The commands: each parses nothing and prints little, it opens the store the way the
//! command needs (read-only when it only reads) and calls the library.

pub mod admin;
pub mod issues;
pub mod records;
pub mod sync;
pub mod work;

use std::path::PathBuf;

use beadstore::{FreshnessMode, OpenOptions, Store};
use serde::Serialize;

use crate::autosync::{self, Policy};
use crate::cli::Cli;
use crate::Failure;

/// What every command gets: the parsed command line.
pub struct Ctx<'a> {
    pub cli: &'a Cli,
}

impl Ctx<'_> {
    /// The store for a command that only reads: read-only, so the file is never touched
    /// (GH#804), except by the import of a JSONL a `git pull` changed (see `autosync`).
    pub fn reader(&self) -> Result<Store, Failure> {
        let path = self.locate()?;
        let store = open_db(&path, one_shot().read_only(true))?;
        if !Policy::for_command(self.cli).import_first {
            return Ok(store);
        }
        let Some(jsonl) = autosync::due_for_read(&store, self.cli.read_only) else {
            return Ok(store);
        };
        let db = store.path().to_owned();
        store.close()?;
        autosync::import_for_read(&db, &jsonl, &self.actor());
        Ok(open_db(&db, one_shot().read_only(true))?)
    }

    /// The store for a command that writes (read-only with `--read-only`, so writes fail),
    /// with a JSONL a `git pull` changed imported first.
    pub fn writer(&self) -> Result<Store, Failure> {
        let store = open_db(self.locate()?, one_shot().read_only(self.cli.read_only))?;
        if Policy::for_command(self.cli).import_first {
            if store.is_read_only() {
                autosync::due_for_read(&store, true);
            } else {
                autosync::import_before_write(&store, &self.actor())?;
            }
        }
        Ok(store)
    }

    /// Ends a command's use of its store: flushes what it made dirty into the project JSONL
    /// (see `autosync`), then closes it, reporting a failure to close as the storage problem
    /// it is.
    pub fn finish(&self, store: Store) -> Result<(), Failure> {
        if !store.is_read_only() && Policy::for_command(self.cli).flush_after {
            autosync::flush_after_write(&store);
        }
        store.close().map_err(Failure::from)
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

    /// Whether the answer is printed as JSON (`--json`).
    pub fn json(&self) -> bool {
        self.cli.json
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

/// Opens what `--db` (or `BEADS_DB`, or discovery) named: a `file:` URI through the URI entry
/// point, anything else as a path (`:memory:` included).
pub fn open_db(db: impl AsRef<str>, options: OpenOptions) -> beadstore::Result<Store> {
    let db = db.as_ref();
    if db.starts_with("file:") {
        options.open_uri(db)
    } else {
        options.open(db)
    }
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

/// A bad argument on the command line, for the error paths that need wording of their own.
pub fn invalid(message: impl Into<String>) -> Failure {
    Failure::User(message.into())
}
