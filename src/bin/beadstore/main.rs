//! `beadstore`: a bd-like command line over beads databases. Thin: parse, call the library,
//! print. Exit codes: 0 ok, 1 user error, 2 storage problem (with a one-line hint).

mod autosync;
mod cli;
mod cmd;
mod demo;
mod discover;
mod generator;
mod report;
mod text;

use std::process::ExitCode;

use clap::Parser;

use beadstore::Error;
use cli::{Cli, Command};
use cmd::Ctx;

/// Why a command failed, mapped to the exit code.
pub enum Failure {
    /// The user asked for something wrong (exit 1).
    User(String),
    /// The storage layer failed (exit 2).
    Storage(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput { message, .. } => Failure::User(message),
            e @ (Error::Cycle { .. }
            | Error::Jsonl { .. }
            | Error::Config { .. }
            | Error::NotFound { .. }) => Failure::User(e.to_string()),
            other => Failure::Storage(other),
        }
    }
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to standard output with 0; a bad flag or value is the user's
        // mistake (exit 1), named by clap's message.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match run(&cli).map_err(|f| explain(&cli, f)) {
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
    let ctx = Ctx { cli };
    match &cli.command {
        Command::Init { prefix } => cmd::admin::init(&ctx, prefix.as_deref())?,
        Command::Create(args) => cmd::issues::create(&ctx, args)?,
        Command::Show { ids } => cmd::issues::show(&ctx, ids)?,
        Command::List(args) => cmd::issues::list(&ctx, "", args)?,
        Command::Search { query, filter } => cmd::issues::list(&ctx, query, filter)?,
        Command::Update(args) => cmd::issues::update(&ctx, args)?,
        Command::Close { ids, reason } => cmd::issues::close(&ctx, ids, reason)?,
        Command::Reopen { ids } => cmd::issues::reopen(&ctx, ids)?,
        Command::Delete {
            ids,
            cascade,
            force,
            dry_run,
        } => cmd::issues::delete(&ctx, ids, *cascade, *force, *dry_run)?,
        Command::Dep(command) => cmd::work::dep(&ctx, command)?,
        Command::Label(command) => cmd::records::label(&ctx, command)?,
        Command::Comment(command) => cmd::records::comment(&ctx, command)?,
        Command::Ready(args) => cmd::work::ready(&ctx, args)?,
        Command::Blocked => cmd::work::blocked(&ctx)?,
        Command::Stale {
            days,
            status,
            limit,
        } => cmd::work::stale(&ctx, *days, status.as_deref(), *limit)?,
        Command::Stats => cmd::work::stats(&ctx)?,
        Command::Config(command) => cmd::records::config(&ctx, command)?,
        Command::Export(args) => cmd::sync::export(&ctx, args)?,
        Command::Import(args) => cmd::sync::import(&ctx, args)?,
        Command::Sync(args) => cmd::sync::sync(&ctx, args)?,
        Command::Migrate { list, force } => cmd::admin::migrate(&ctx, *list, *force)?,
        Command::Checkpoint => cmd::admin::checkpoint(&ctx)?,
        Command::Doctor => {
            if !cmd::admin::doctor(&ctx)? {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Info => cmd::admin::info(&ctx)?,
        Command::Watch { poll_ms, count } => cmd::admin::watch(&ctx, *poll_ms, *count)?,
        Command::Demo { issues, seed, keep } => {
            demo::run(*issues, *seed, keep.as_deref(), cli.json)?;
        }
        Command::Completions { shell } => cmd::admin::completions(*shell),
    }
    Ok(ExitCode::SUCCESS)
}

/// An engine error from a command is most often a database from an older or foreign beads
/// version; when the schema probe says so, that is the error to report.
fn explain(cli: &Cli, failure: Failure) -> Failure {
    let Failure::Storage(Error::Engine { .. }) = &failure else {
        return failure;
    };
    let probe = Ctx { cli }.locate().ok().and_then(|path| {
        let store = cmd::open_db(path, cmd::one_shot().read_only(true)).ok()?;
        let report = store.probe().ok();
        let _ = store.close();
        report
    });
    match probe {
        Some(report) if !report.is_compatible() => Failure::Storage(Error::SchemaIncompatible {
            missing_tables: report.missing_tables,
            missing_columns: report.missing_columns,
        }),
        _ => failure,
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
        Error::SchemaIncompatible { missing_tables, .. }
            if missing_tables.iter().any(|t| t == "issues") =>
        {
            "this is not a beads database (it has no issues table); check --db"
        }
        Error::SchemaIncompatible { .. } => {
            "the file has an older beads schema: run `beadstore migrate` to upgrade it (`beadstore doctor` lists what that would change)"
        }
        Error::ReadOnly { .. } => "open the database read-write (without --read-only)",
        Error::Replaced { .. } => {
            "the database file was replaced while in use; run the command again"
        }
        _ => "run `beadstore doctor` for details",
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`beadstore list | head`) would
/// panic; like other command-line tools, end quietly instead.
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
