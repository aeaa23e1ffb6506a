//! JSONL in and out: export and import.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use beadstore::jsonl::{ExportOptions, HtmlEscaping, ImportOptions, ImportProgress};
use beadstore::ops::OrphanHandling;
use serde::Serialize;

use super::{finish, invalid, Ctx};
use crate::cli::{ExportArgs, ImportArgs};
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
    let options = ExportOptions {
        html: if args.no_html_escape {
            HtmlEscaping::Off
        } else {
            HtmlEscaping::On
        },
        include_ephemeral: args.include_ephemeral,
        mark_clean: args.mark_clean,
        ..ExportOptions::default()
    };
    let store = if args.mark_clean {
        ctx.writer()?
    } else {
        ctx.reader()?
    };
    let Some(path) = &args.output else {
        let rendered = store.render_jsonl(&options)?;
        finish(store)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&rendered.text)
            .and_then(|()| out.flush())
            .map_err(|e| Failure::User(format!("cannot write to standard output: {e}")))?;
        return Ok(());
    };
    let summary = store.export_jsonl(path, &options)?;
    finish(store)?;
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
        )
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
    let orphans = match args.orphan_handling.as_deref() {
        None => None,
        Some(mode @ ("allow" | "skip" | "strict" | "resurrect")) => {
            Some(OrphanHandling::parse(mode))
        }
        Some(other) => {
            return Err(invalid(format!(
                "unknown orphan handling {other:?}: use allow, skip, strict or resurrect"
            )))
        }
    };
    let size = std::fs::metadata(&args.file)
        .map_err(|e| Failure::User(format!("cannot read {}: {e}", args.file.display())))?
        .len();
    let show_progress = size >= PROGRESS_FROM && std::io::stderr().is_terminal() && !ctx.cli.json;
    let options = ImportOptions {
        orphans,
        actor: ctx.actor(),
        strict_dependencies: args.strict,
        progress: show_progress.then(progress_bar),
        ..ImportOptions::default()
    };
    let store = ctx.writer()?;
    let summary = store.import_jsonl(&args.file, &options)?;
    finish(store)?;
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
