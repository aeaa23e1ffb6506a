//! `beadstore`: a bd-like command line over beads databases. Thin: parse, call the library, print.

mod discover;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use beadstore::{Error, FreshnessMode, OpenOptions, Store};

/// Pure-Rust storage engine for beads issue databases.
#[derive(Parser, Debug)]
#[command(name = "beadstore", version, about)]
struct Cli {
    /// Database path or file: URI (default: the nearest .beads/*.db above the current directory).
    #[arg(long, global = true, env = "BEADS_DB")]
    db: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create .beads/beads.db here (or at --db) with the beads schema and an issue prefix.
    Init {
        /// Issue id prefix (default: the current directory's name).
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Show the database's path, journal mode, size, WAL size and schema status (read-only).
    Info,
    /// Check the schema and the file's integrity (read-only); exits 2 on a problem.
    Doctor,
    /// Copy the WAL into the database file and truncate the WAL.
    Checkpoint,
    /// Run every schema migration now (opening read-write migrates when needed anyway).
    Migrate {
        /// List the migrations instead of running them.
        #[arg(long)]
        list: bool,
    },
}

/// Why a command failed, mapped to the exit code.
enum Failure {
    /// The user asked for something wrong (exit 1).
    User(String),
    /// The storage layer failed (exit 2).
    Storage(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput(msg) => Failure::User(msg),
            other => Failure::Storage(other),
        }
    }
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    init_logging();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(Failure::User(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Storage(e)) => {
            eprintln!("error: {e}");
            eprintln!("hint: {}", hint(&e));
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, Failure> {
    match &cli.command {
        Command::Init { prefix } => {
            let path = match &cli.db {
                Some(p) => p.clone(),
                None => discover::default_init_path()
                    .map_err(|e| Failure::User(e.to_string()))?
                    .display()
                    .to_string(),
            };
            let prefix = match prefix {
                Some(p) => p.clone(),
                None => discover::default_prefix().map_err(Failure::User)?,
            };
            validate_prefix(&prefix)?;
            let store = Store::open_with(&path, one_shot())?;
            let existing = store.get_config("issue_prefix")?;
            if existing.is_empty() || existing != prefix {
                store.set_config("issue_prefix", &prefix)?;
            }
            let db_path = store.path().to_owned();
            store.close()?;
            report::init(cli.json, &db_path, &prefix, &existing);
            Ok(ExitCode::SUCCESS)
        }
        Command::Info => {
            let store = Store::open_with(locate(cli)?, one_shot().read_only(true))?;
            let info = report::Info::gather(&store)?;
            store.close()?;
            info.print(cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => {
            let store = Store::open_with(locate(cli)?, one_shot().read_only(true))?;
            let doctor = report::Doctor::gather(&store)?;
            store.close()?;
            doctor.print(cli.json);
            Ok(if doctor.healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Migrate { list: true } => {
            report::migration_list(cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { list: false } => {
            let store = Store::open_with(locate(cli)?, one_shot())?;
            let outcome = store.migrate()?;
            let path = store.path().to_owned();
            store.close()?;
            report::migrated(cli.json, &path, &outcome);
            Ok(ExitCode::SUCCESS)
        }
        Command::Checkpoint => {
            let store = Store::open_with(locate(cli)?, one_shot())?;
            let stats = store.checkpoint()?;
            let path = store.path().to_owned();
            store.close()?;
            report::checkpoint(cli.json, &path, stats);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Options for a command that opens, does one thing and closes: nothing can replace the file
/// meanwhile that a check would catch, so no watch is set up.
fn one_shot() -> OpenOptions {
    OpenOptions::new().freshness(FreshnessMode::Off)
}

/// The database a command works on: `--db`, or the nearest `.beads/*.db` upward.
fn locate(cli: &Cli) -> Result<String, Failure> {
    if let Some(db) = &cli.db {
        return Ok(db.clone());
    }
    let cwd: PathBuf = std::env::current_dir()
        .map_err(|e| Failure::User(format!("cannot read the current directory: {e}")))?;
    match discover::find_database(&cwd) {
        Some(p) => Ok(p.display().to_string()),
        None => Err(Failure::User(format!(
            "no beads database found in {} or above (run `beadstore init` or pass --db)",
            cwd.display()
        ))),
    }
}

fn validate_prefix(prefix: &str) -> Result<(), Failure> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Failure::User(format!(
            "invalid prefix {prefix:?}: use 1-64 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn hint(e: &Error) -> &'static str {
    match e {
        Error::Locked { .. } | Error::Busy { .. } => {
            "another process holds the database; retry, or stop the process that has it open"
        }
        Error::Corrupt { .. } => {
            "the file is damaged: restore it from git (`git checkout .beads/`) or re-import the JSONL"
        }
        Error::SchemaIncompatible { .. } => {
            "the file was written by an incompatible beads version; run `beadstore doctor`"
        }
        Error::NotFound { .. } => "check the path, or run `beadstore init` to create a database",
        Error::ReadOnly { .. } => "open the database read-write (without --read-only)",
        Error::Replaced { .. } => {
            "the database file was replaced while in use; run the command again"
        }
        _ => "run `beadstore doctor` for details",
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`beadstore migrate --list | head`)
/// would panic; like other command-line tools, end quietly instead.
fn restore_default_sigpipe() {
    // SAFETY: setting a signal disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `BEADSTORE_LOG` takes a level (`debug`) or per-target levels (`beadstore=debug,warn`);
/// `BEADSTORE_DEBUG_FRESHNESS` (any value) adds what file-replacement checks see.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let spec = std::env::var("BEADSTORE_LOG").ok();
    let freshness = std::env::var_os("BEADSTORE_DEBUG_FRESHNESS").is_some();
    if spec.is_none() && !freshness {
        return;
    }
    let mut filter: Targets = match spec.as_deref().unwrap_or("warn").parse() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("warning: ignoring BEADSTORE_LOG={spec:?}: {e}");
            Targets::new().with_default(tracing::Level::WARN)
        }
    };
    if freshness {
        filter = filter.with_target("beadstore::freshness", tracing::Level::DEBUG);
    }
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .try_init();
}
