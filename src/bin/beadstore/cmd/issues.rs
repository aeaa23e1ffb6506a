//! Issues: create, show, list, update, close, reopen, delete.

use beadstore::model::{Dependency, DependencyType, Issue, IssueType, Status};
use beadstore::ops::maintenance::DeleteOptions;
use beadstore::ops::{Attribution, IssueFilter, IssueUpdate};
use beadstore::Error;
use serde::Serialize;

use super::{invalid, no_issue, Ctx};
use crate::cli::{CreateArgs, ListArgs, UpdateArgs};
use crate::{text, Failure};

/// A dependency given on the command line: `TYPE:ID` or `ID` (blocks).
fn parse_dep(from: &str, spec: &str) -> Result<Dependency, Failure> {
    let spec = spec.trim();
    let (kind, target) = match spec.split_once(':') {
        Some((kind, target)) if kind != "external" => (DependencyType::parse(kind), target),
        _ => (DependencyType::Blocks, spec),
    };
    if target.is_empty() {
        return Err(invalid(format!("empty dependency target in {spec:?}")));
    }
    Ok(Dependency::new(from, target, kind))
}

pub fn create(ctx: &Ctx<'_>, args: &CreateArgs) -> Result<(), Failure> {
    let store = ctx.writer()?;
    let actor = ctx.actor();
    let mut issue = Issue::new(args.title.clone());
    issue.priority = args.priority;
    issue.issue_type = IssueType::parse(&args.issue_type).normalized();
    issue.description = args.description.clone();
    issue.assignee = args.assignee.clone().unwrap_or_default();
    issue.external_ref = args.external_ref.clone();
    issue.created_by = actor.clone();
    let mut labels = args.labels.clone();
    labels.sort();
    labels.dedup();
    let created = store.transaction(|tx| -> Result<Issue, Failure> {
        if let Some(parent) = &args.parent {
            issue.id = tx.next_child_id(parent)?;
        } else if let Some(id) = &args.id {
            issue.id = id.clone();
        }
        let created = tx.create_issue(issue.clone(), &actor)?;
        if let Some(parent) = &args.parent {
            tx.add_dependency(
                &Dependency::new(&created.id, parent, DependencyType::ParentChild),
                &actor,
            )?;
        }
        for label in &labels {
            tx.add_label(&created.id, label, &actor)?;
        }
        for spec in &args.deps {
            tx.add_dependency(&parse_dep(&created.id, spec)?, &actor)?;
        }
        // The JSON answer is the issue as stored (labels included); the text one needs only
        // the id and title, so the read back is spared there.
        if !ctx.json() {
            return Ok(created);
        }
        Ok(tx.get_issue(&created.id)?.unwrap_or(created))
    })?;
    ctx.finish(store)?;
    ctx.print(&created, || {
        println!("Created {}: {}", created.id, created.title);
    });
    Ok(())
}

/// An issue with what depends on it, as `show --json` prints it.
#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    issue: Issue,
    dependents: Vec<Related>,
}

#[derive(Serialize)]
struct Related {
    id: String,
    title: String,
    status: String,
    #[serde(rename = "type")]
    dep_type: String,
}

pub fn show(ctx: &Ctx<'_>, ids: &[String]) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let mut shown = Vec::new();
    let mut texts = Vec::new();
    for id in ids {
        let mut issue = store.get_issue(id)?.ok_or_else(|| no_issue(id))?;
        issue.dependencies = store.get_dependency_records(id)?;
        issue.comments = store.get_issue_comments(id)?;
        let dependents = store.get_dependent_links(id)?;
        let depends_on = store.get_dependency_links(id)?;
        texts.push(text::full(&issue, &dependents, &depends_on));
        shown.push(Shown {
            dependents: dependents
                .into_iter()
                .map(|link| Related {
                    id: link.id,
                    title: link.title,
                    status: link.status.as_str().to_owned(),
                    dep_type: link.dep_type.as_str().to_owned(),
                })
                .collect(),
            issue,
        });
    }
    ctx.finish(store)?;
    ctx.print(&shown, || println!("{}", texts.join("\n")));
    Ok(())
}

/// `list` (an empty `text`) and `search TEXT`.
pub fn list(ctx: &Ctx<'_>, text: &str, args: &ListArgs) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let mut filter = IssueFilter::default()
        .labels(args.labels.iter().cloned())
        .limit(args.limit);
    filter.priority = args.priority;
    filter.issue_type = args.issue_type.as_deref().map(IssueType::parse);
    filter.assignee = args.assignee.clone();
    match &args.status {
        Some(s) => filter.status = Some(Status::parse(s)),
        None if !args.all => filter.exclude_status = vec![Status::Closed],
        None => {}
    }
    let issues = store.search_issues(text, &filter)?;
    ctx.finish(store)?;
    ctx.print(&issues, || {
        for issue in &issues {
            println!("{}", text::line(issue));
        }
        if issues.is_empty() {
            println!("No issues.");
        }
    });
    Ok(())
}

pub fn update(ctx: &Ctx<'_>, args: &UpdateArgs) -> Result<(), Failure> {
    let mut update = IssueUpdate::default();
    update.title = args.title.clone();
    update.status = args.status.as_deref().map(Status::parse);
    update.priority = args.priority;
    update.issue_type = args
        .issue_type
        .as_deref()
        .map(|t| IssueType::parse(t).normalized());
    update.description = args.description.clone();
    update.assignee = args.assignee.clone();
    update.notes = args.notes.clone();
    update.design = args.design.clone();
    update.acceptance_criteria = args.acceptance.clone();
    update.external_ref = args
        .external_ref
        .as_ref()
        .map(|r| (!r.is_empty()).then(|| r.clone()));
    if update == IssueUpdate::default() {
        return Err(invalid("nothing to update: give at least one field flag"));
    }
    let store = ctx.writer()?;
    // Read back in the same transaction: the answer is exactly what was written, and the
    // issue's read statement, compiled by the update, is reused.
    // The closure keeps beadstore's error type, so a file replaced under the write is still
    // reported as such.
    let issue = store
        .transaction(|tx| {
            tx.update_issue(&args.id, &update, &ctx.actor())?;
            tx.get_issue(&args.id)
        })
        .map_err(|e| not_found_as_user(e, &args.id))?
        .ok_or_else(|| no_issue(&args.id))?;
    ctx.finish(store)?;
    ctx.print(&issue, || println!("Updated {}: {}", issue.id, issue.title));
    Ok(())
}

/// `NotFound` for an issue the user named is their mistake (exit 1), not the store's.
pub fn not_found_as_user(e: Error, id: &str) -> Failure {
    match e {
        Error::NotFound { .. } => no_issue(id),
        other => Failure::from(other),
    }
}

#[derive(Serialize)]
struct Closed {
    closed: Vec<String>,
    unblocked: Vec<Issue>,
}

pub fn close(ctx: &Ctx<'_>, ids: &[String], reason: &str) -> Result<(), Failure> {
    let store = ctx.writer()?;
    let actor = ctx.actor();
    let mut unblocked = Vec::new();
    for id in ids {
        let freed = store
            .transaction(|tx| {
                tx.close_issue(id, &Attribution::new(&actor).reason(reason))?;
                tx.get_newly_unblocked_by_close(id)
            })
            .map_err(|e| not_found_as_user(e, id))?;
        unblocked.extend(freed);
    }
    ctx.finish(store)?;
    let report = Closed {
        closed: ids.to_vec(),
        unblocked,
    };
    ctx.print(&report, || {
        for id in ids {
            println!("Closed {id}: {reason}");
        }
        for issue in &report.unblocked {
            println!("Now ready: {}", text::line(issue));
        }
    });
    Ok(())
}

pub fn reopen(ctx: &Ctx<'_>, ids: &[String]) -> Result<(), Failure> {
    let store = ctx.writer()?;
    let actor = ctx.actor();
    let update = IssueUpdate::default().status(Status::Open);
    let mut reopened = Vec::new();
    for id in ids {
        store
            .update_issue(id, &update, &actor)
            .map_err(|e| not_found_as_user(e, id))?;
        reopened.push(store.get_issue(id)?.ok_or_else(|| no_issue(id))?);
    }
    ctx.finish(store)?;
    ctx.print(&reopened, || {
        for issue in &reopened {
            println!("Reopened {}: {}", issue.id, issue.title);
        }
    });
    Ok(())
}

pub fn delete(
    ctx: &Ctx<'_>,
    ids: &[String],
    cascade: bool,
    force: bool,
    dry_run: bool,
) -> Result<(), Failure> {
    let store = if dry_run {
        ctx.reader()?
    } else {
        ctx.writer()?
    };
    for id in ids {
        if store.get_issue(id)?.is_none() {
            return Err(no_issue(id));
        }
    }
    let options = DeleteOptions::default().cascade(cascade).force(force);
    let report = if dry_run {
        store.plan_delete_issues(ids, &options)
    } else {
        store.delete_issues(ids, &options)
    };
    let report = report?;
    ctx.finish(store)?;
    ctx.print(&report, || {
        let verb = if dry_run { "Would delete" } else { "Deleted" };
        println!(
            "{verb} {} issue(s), {} dependency link(s), {} label(s)",
            report.deleted, report.dependencies, report.labels
        );
        if !report.orphaned.is_empty() {
            println!(
                "Left without their dependency: {}",
                report.orphaned.join(", ")
            );
        }
    });
    Ok(())
}
