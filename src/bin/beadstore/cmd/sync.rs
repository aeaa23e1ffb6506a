//! JSONL in and out: export, import and sync.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use beadstore::jsonl::{
    find_jsonl_in_dir, AutoImport, ExportOptions, HtmlEscaping, ImportOptions, ImportProgress,
};
use beadstore::ops::OrphanHandling;
use serde::Serialize;

use super::{invalid, Ctx};
use crate::cli::{ExportArgs, ImportArgs, SyncArgs};
use crate::Failure;

/// Imports at least this big get a progress bar (on a terminal).
const PROGRESS_FROM: u64 = 256 * 1024;

#[derive(Serialize)]
struct Exported {
    issues: usize,
    bytes: usize,
    sha256: String,
    path: String,
}

pub fn export(ctx: &Ctx<'_>, args: &ExportArgs) -> Result<(), Failure> {
    let options = ExportOptions::default()
        .html(if args.no_html_escape {
            HtmlEscaping::Off
        } else {
            HtmlEscaping::On
        })
        .include_ephemeral(args.include_ephemeral)
        .mark_clean(args.mark_clean);
    let store = if args.mark_clean {
        ctx.writer()?
    } else {
        ctx.reader()?
    };
    let Some(path) = &args.output else {
        let rendered = store.render_jsonl(&options)?;
        ctx.finish(store)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&rendered.text)
            .and_then(|()| out.flush())
            .map_err(|e| Failure::User(format!("cannot write to standard output: {e}")))?;
        return Ok(());
    };
    let summary = store.export_jsonl(path, &options)?;
    ctx.finish(store)?;
    let report = Exported {
        issues: summary.issues,
        bytes: summary.bytes,
        sha256: summary.sha256,
        path: path.display().to_string(),
    };
    ctx.print(&report, || {
        println!(
            "Exported {} issues to {} ({} bytes)",
            report.issues, report.path, report.bytes
        );
    });
    Ok(())
}

/// A one-line progress bar redrawn in place on standard error.
fn progress_bar() -> Arc<dyn Fn(ImportProgress) + Send + Sync> {
    Arc::new(|p: ImportProgress| {
        const WIDTH: usize = 30;
        let filled = (p.done * WIDTH)
            .checked_div(p.total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        eprint!(
            "\rimporting [{}{}] {}/{}",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            p.done,
            p.total
        );
        if p.done >= p.total {
            eprintln!();
        }
    })
}

pub fn import(ctx: &Ctx<'_>, args: &ImportArgs) -> Result<(), Failure> {
    let orphans = args
        .orphan_handling
        .as_deref()
        .map(str::parse::<OrphanHandling>)
        .transpose()?;
    let size = std::fs::metadata(&args.file)
        .map_err(|e| Failure::User(format!("cannot read {}: {e}", args.file.display())))?
        .len();
    let show_progress = size >= PROGRESS_FROM && std::io::stderr().is_terminal() && !ctx.cli.json;
    let mut options = ImportOptions::default()
        .actor(ctx.actor())
        .strict_dependencies(args.strict);
    options.orphans = orphans;
    options.progress = show_progress.then(progress_bar);
    let store = ctx.writer()?;
    let summary = store.import_jsonl(&args.file, &options)?;
    ctx.finish(store)?;
    let skipped_deps: Vec<String> = summary
        .dependencies_skipped
        .iter()
        .map(|(d, why)| {
            format!(
                "{} -> {} ({}): {why}",
                d.issue_id, d.depends_on_id, d.dep_type
            )
        })
        .collect();
    let report = serde_json::json!({
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "kept_local": summary.kept_local,
        "skipped": summary.skipped,
        "dependencies_added": summary.dependencies_added,
        "dependencies_skipped": skipped_deps,
        "dangling_targets": summary.dangling_targets,
        "labels_added": summary.labels_added,
        "comments_added": summary.comments_added,
    });
    ctx.print(&report, || {
        println!(
            "Import complete: {} created, {} updated, {} unchanged, {} skipped",
            summary.created, summary.updated, summary.unchanged, summary.skipped
        );
        if summary.kept_local > 0 {
            println!(
                "Kept {} issues whose copy here is newer than the file's",
                summary.kept_local
            );
        }
        if summary.dangling_targets > 0 {
            println!(
                "Kept {} dependencies on issues in neither the file nor the database",
                summary.dangling_targets
            );
        }
        if !skipped_deps.is_empty() {
            println!("Dependencies skipped ({}):", skipped_deps.len());
            for line in &skipped_deps {
                println!("  {line}");
            }
        }
    });
    Ok(())
}

/// `sync`: the JSONL beside the database (or `--file`) and the database brought in step now.
pub fn sync(ctx: &Ctx<'_>, args: &SyncArgs) -> Result<(), Failure> {
    let store = ctx.writer()?;
    let path = match &args.file {
        Some(file) => file.clone(),
        None => match store.file().and_then(std::path::Path::parent) {
            Some(dir) => find_jsonl_in_dir(dir),
            None => {
                return Err(invalid(
                    "an in-memory database has no JSONL beside it: pass --file",
                ))
            }
        },
    };
    let options = ImportOptions::default().actor(ctx.actor());
    let import = if args.flush_only {
        None
    } else {
        Some(store.import_jsonl_if_changed(&path, &options)?)
    };
    let flush = if args.import_only {
        None
    } else {
        Some(store.flush_dirty_to_jsonl(&path)?)
    };
    ctx.finish(store)?;
    let shown = path.display().to_string();
    let import_json = import.as_ref().map(|outcome| match outcome {
        AutoImport::NoFile => serde_json::json!({ "status": "no_file" }),
        AutoImport::InStep => serde_json::json!({ "status": "in_step" }),
        AutoImport::Due => serde_json::json!({ "status": "due" }),
        AutoImport::Imported { summary, rewrote } => serde_json::json!({
            "status": "imported",
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "kept_local": summary.kept_local,
            "skipped": summary.skipped,
            "rewrote": rewrote,
        }),
        other => serde_json::json!({ "status": format!("{other:?}") }),
    });
    let flush_json = flush.as_ref().map(|f| {
        serde_json::json!({
            "written": f.written,
            "removed": f.removed,
            "wrote_file": f.wrote_file,
            "import_still_due": f.import_still_due,
        })
    });
    let report = serde_json::json!({ "path": shown, "import": import_json, "flush": flush_json });
    ctx.print(&report, || {
        match &import {
            None => {}
            Some(AutoImport::NoFile) => println!("No {shown} yet: nothing to import"),
            Some(AutoImport::InStep) => println!("{shown} holds what the database last imported or wrote"),
            Some(AutoImport::Due) => println!("{shown} changed; a read-only store cannot import it"),
            Some(AutoImport::Imported { summary, rewrote }) => {
                println!(
                    "Imported {shown}: {} created, {} updated, {} unchanged, {} kept (newer here)",
                    summary.created, summary.updated, summary.unchanged, summary.kept_local
                );
                if *rewrote {
                    println!("Wrote back into {shown} what only the database had");
                }
            }
            Some(other) => println!("{shown}: {other:?}"),
        }
        match &flush {
            None => {}
            Some(f) if f.wrote_file => println!(
                "Wrote {} changed issue(s) to {shown}, took out {}",
                f.written, f.removed
            ),
            Some(_) => println!("Nothing changed to write to {shown}"),
        }
        if flush.as_ref().is_some_and(|f| f.import_still_due) {
            println!("{shown} still has changes the database has not imported: run `beadstore sync` without --flush-only");
        }
    });
    Ok(())
}
