//! The database itself: init, info, doctor, migrate, checkpoint, watch, completions.

use std::sync::Arc;
use std::time::Duration;

use beadstore::{FreshnessEvent, MigrationState, OpenOptions, SchemaAction};
use clap::CommandFactory;

use super::{one_shot, Ctx};
use crate::{discover, report, Failure};

pub fn init(ctx: &Ctx<'_>, prefix: Option<&str>) -> Result<(), Failure> {
    let path = match &ctx.cli.db {
        Some(p) => p.clone(),
        None => discover::default_init_path()
            .map_err(|e| Failure::User(e.to_string()))?
            .display()
            .to_string(),
    };
    let prefix = match prefix {
        Some(p) => p.to_owned(),
        None => discover::default_prefix().map_err(Failure::User)?,
    };
    validate_prefix(&prefix)?;
    let store = crate::cmd::open_db(&path, one_shot())?;
    let existing = store.get_config("issue_prefix")?.unwrap_or_default();
    if existing != prefix {
        store.set_config("issue_prefix", &prefix)?;
    }
    if store.get_metadata("bd_version")?.as_deref() != Some(beadstore::GO_BD_VERSION) {
        store.set_metadata("bd_version", beadstore::GO_BD_VERSION)?;
    }
    let db_path = store.path().to_owned();
    ctx.finish(store)?;
    report::init(ctx.cli.json, &db_path, &prefix, &existing);
    Ok(())
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

pub fn info(ctx: &Ctx<'_>) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let info = report::Info::gather(&store)?;
    ctx.finish(store)?;
    info.print(ctx.cli.json);
    Ok(())
}

/// Returns whether the database is healthy.
pub fn doctor(ctx: &Ctx<'_>) -> Result<bool, Failure> {
    let store = ctx.reader()?;
    let doctor = report::Doctor::gather(&store)?;
    ctx.finish(store)?;
    doctor.print(ctx.cli.json);
    Ok(doctor.healthy())
}

pub fn migrate(ctx: &Ctx<'_>, list: bool, force: bool) -> Result<(), Failure> {
    if list {
        report::migration_list(ctx.cli.json);
        return Ok(());
    }
    if !force {
        // Asked read-only first, so an up-to-date file is not even opened for writing.
        let reader = ctx.reader()?;
        let state = reader.migration_state()?;
        let path = reader.path().to_owned();
        ctx.finish(reader)?;
        if let MigrationState::UpToDate { schema_version } = state {
            report::up_to_date(ctx.cli.json, &path, schema_version);
            return Ok(());
        }
    }
    let store = ctx.writer()?;
    let action = if force {
        SchemaAction::Migrated(store.migrate_all()?)
    } else {
        // The read-write open has migrated the file already; this reports what it did.
        match store.schema_action() {
            Some(action) => action,
            None => store.migrate()?,
        }
    };
    if !matches!(action, SchemaAction::UpToDate { .. }) {
        store.set_metadata("bd_version", beadstore::GO_BD_VERSION)?;
    }
    let path = store.path().to_owned();
    ctx.finish(store)?;
    match action {
        SchemaAction::Migrated(outcome) => report::migrated(ctx.cli.json, &path, &outcome),
        SchemaAction::UpToDate { schema_version } => {
            report::up_to_date(ctx.cli.json, &path, schema_version);
        }
        SchemaAction::Created => report::created(ctx.cli.json, &path),
        other => report::schema_action(ctx.cli.json, &path, &other),
    }
    Ok(())
}

pub fn checkpoint(ctx: &Ctx<'_>) -> Result<(), Failure> {
    let store = ctx.writer()?;
    let stats = store.checkpoint()?;
    let path = store.path().to_owned();
    ctx.finish(store)?;
    report::checkpoint(ctx.cli.json, &path, stats);
    Ok(())
}

/// One event as a line of text or of JSON.
pub fn describe(event: &FreshnessEvent, json: bool) -> String {
    let (kind, path, detail) = match event {
        FreshnessEvent::Replaced { path, kind } => ("replaced", path, format!("{kind}")),
        FreshnessEvent::Reconnected { path, kind, took } => (
            "reconnected",
            path,
            format!("{kind}, in {:.2} ms", took.as_secs_f64() * 1e3),
        ),
        FreshnessEvent::ReconnectFailed { path, kind, reason } => {
            ("reconnect-failed", path, format!("{kind}: {reason}"))
        }
        // An event kind this build does not know by name: shown as it debug-prints.
        other => return format!("{other:?}"),
    };
    if json {
        serde_json::json!({ "event": kind, "path": path, "detail": detail }).to_string()
    } else {
        format!("{kind}: {path} ({detail})")
    }
}

pub fn watch(ctx: &Ctx<'_>, poll_ms: u64, count: usize) -> Result<(), Failure> {
    let store = Arc::new(crate::cmd::open_db(
        ctx.locate()?,
        OpenOptions::new().read_only(true),
    )?);
    let monitor = store.monitor(Duration::from_millis(poll_ms.max(1)));
    if !ctx.cli.json {
        eprintln!("watching {} (Ctrl-C to stop)", store.path());
    }
    let mut seen = 0;
    while let Ok(event) = monitor.events().recv() {
        println!("{}", describe(&event, ctx.cli.json));
        seen += 1;
        if count > 0 && seen >= count {
            break;
        }
    }
    drop(monitor);
    if let Ok(store) = Arc::try_unwrap(store) {
        ctx.finish(store)?;
    }
    Ok(())
}

pub fn completions(shell: clap_complete::Shell) {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "beadstore", &mut std::io::stdout());
}
