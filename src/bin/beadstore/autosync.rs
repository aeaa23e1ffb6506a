//! The git sync loop around a command, as bd runs it, wherever a JSONL (`issues.jsonl`) sits
//! beside the database in a single-repo project: before the command, import the file when a
//! `git pull` changed it; after a command that wrote, flush the dirty issues into it.
//!
//! A read command stays read-only unless an import is due: then it imports under the write
//! lock first (what `bd` does too), so an agent's `ready` after a pull sees the pulled work.
//! With `--read-only`, or when the database cannot be written, it says the import is due
//! and answers from the database as it is. `--no-auto-import` / `--no-auto-flush`, the
//! `no-auto-import` / `no-auto-flush` keys of `config.yaml` and `BD_NO_AUTO_IMPORT` /
//! `BD_NO_AUTO_FLUSH` turn either half off.

use std::path::{Path, PathBuf};

use beadstore::jsonl::{find_jsonl_in_dir, AutoImport, ImportOptions};
use beadstore::Store;

use crate::cli::{Cli, Command};
use crate::Failure;

/// Which halves of the loop a command takes part in.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Import a changed JSONL before the command.
    pub import_first: bool,
    /// Flush dirty issues after the command.
    pub flush_after: bool,
}

impl Policy {
    /// The loop for the command line's command, before configuration is consulted. Like
    /// bd: `import` and `delete` never import first (a deletion must not be undone by the
    /// file it is not in yet); the administrative commands take no part; `sync` and
    /// `export` do their own.
    pub fn for_command(cli: &Cli) -> Policy {
        let (import_first, flush_after) = match &cli.command {
            Command::Init { .. }
            | Command::Migrate { .. }
            | Command::Checkpoint
            | Command::Doctor
            | Command::Info
            | Command::Watch { .. }
            | Command::Demo { .. }
            | Command::Completions { .. }
            | Command::Sync(_) => (false, false),
            Command::Import(_) | Command::Delete { .. } => (false, true),
            Command::Export(_) => (true, false),
            _ => (true, true),
        };
        Policy {
            import_first: import_first && !cli.no_auto_import,
            flush_after: flush_after && !cli.no_auto_flush,
        }
    }
}

/// The project JSONL the loop keeps in step with `store`, when there is one: a JSONL beside
/// the database, a single-repo project (multi-repo hydration has its own), and the half
/// not turned off by configuration (`key` is `no-auto-import` or `no-auto-flush`).
fn project_jsonl(store: &Store, key: &str) -> Option<PathBuf> {
    let jsonl = find_jsonl_in_dir(store.file()?.parent()?);
    if !jsonl.is_file() {
        return None;
    }
    let config = store.project_config().ok()?;
    if config.is_multi_repo() || config.get_bool(key) == Some(true) {
        return None;
    }
    Some(jsonl)
}

/// Imports the project JSONL into a read-write store when it changed. A file that cannot be
/// imported (a conflict marker, a bad line) fails the command: flushing over it would lose
/// what it holds.
pub fn import_before_write(store: &Store, actor: &str) -> Result<(), Failure> {
    let Some(jsonl) = project_jsonl(store, "no-auto-import") else {
        return Ok(());
    };
    match store.import_jsonl_if_changed(&jsonl, &options(actor)) {
        Ok(AutoImport::Due) => due(&jsonl),
        Ok(_) => {}
        Err(e) => {
            return Err(Failure::User(format!(
                "{} changed and cannot be imported: {e} (fix it, or pass --no-auto-import)",
                jsonl.display()
            )))
        }
    }
    Ok(())
}

/// For a read-only store: the project JSONL when it changed and may be imported before the
/// read (the caller closes the store, since a read-write open waits for this process's
/// read-only stores, and calls [`import_for_read`]). With `read_only_wanted`, or a file that
/// cannot be imported, a note on standard error instead, and the read goes on with the
/// database as it is.
pub fn due_for_read(store: &Store, read_only_wanted: bool) -> Option<PathBuf> {
    let jsonl = project_jsonl(store, "no-auto-import")?;
    match store.import_jsonl_if_changed(&jsonl, &options("")) {
        Ok(AutoImport::Due) if !read_only_wanted => Some(jsonl),
        Ok(AutoImport::Due) => {
            due(&jsonl);
            None
        }
        Ok(_) => None,
        Err(e) => {
            eprintln!(
                "warning: not importing {}: {e}; answering from the database as it is",
                jsonl.display()
            );
            None
        }
    }
}

/// Imports the changed JSONL through a read-write store of its own, for a read command; a
/// failure (the file not writable, a conflict marker) is a warning and the read goes on.
pub fn import_for_read(db: &str, jsonl: &Path, actor: &str) {
    let imported = crate::cmd::open_db(db, crate::cmd::one_shot()).and_then(|writer| {
        let outcome = writer.import_jsonl_if_changed(jsonl, &options(actor));
        writer.close()?;
        outcome
    });
    if let Err(e) = imported {
        eprintln!(
            "warning: {} changed since the last import and cannot be imported ({e}); answering from the database as it is",
            jsonl.display()
        );
    }
}

/// Flushes the dirty issues of a read-write store into the project JSONL. The command's
/// write has committed by now, so a failure is a warning (the issues stay dirty and the next
/// write or `beadstore sync` flushes them), not a failed command to retry.
pub fn flush_after_write(store: &Store) {
    let Some(jsonl) = project_jsonl(store, "no-auto-flush") else {
        return;
    };
    if let Err(e) = store.flush_dirty_to_jsonl(&jsonl) {
        eprintln!(
            "warning: the change is saved but {} was not updated: {e} (run `beadstore sync`)",
            jsonl.display()
        );
    }
}

fn options(actor: &str) -> ImportOptions {
    ImportOptions::default().actor(actor.to_owned())
}

fn due(jsonl: &Path) {
    eprintln!(
        "note: {} changed since the last import; answering from the database as it is (run `beadstore sync` to import it)",
        jsonl.display()
    );
}
