//! Work and the graph: ready, blocked, stale, stats, and dependencies.

use beadstore::model::{Dependency, Status};
use beadstore::ops::graph::StaleFilter;
use beadstore::ops::{SortPolicy, WorkFilter};
use serde::Serialize;

use super::issues::not_found_as_user;
use super::{no_issue, Ctx};
use crate::cli::{DepCommand, Sort, WorkArgs};
use crate::{text, Failure};

pub fn ready(ctx: &Ctx<'_>, args: &WorkArgs) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let mut filter = WorkFilter::default()
        .limit(args.limit)
        .unassigned(args.unassigned)
        .labels(args.labels.iter().cloned())
        .sort(match args.sort {
            Sort::Hybrid => SortPolicy::Hybrid,
            Sort::Priority => SortPolicy::Priority,
            Sort::Oldest => SortPolicy::Oldest,
        });
    filter.priority = args.priority;
    filter.assignee = args.assignee.clone();
    let issues = store.get_ready_work(&filter)?;
    ctx.finish(store)?;
    ctx.print(&issues, || {
        if issues.is_empty() {
            println!("No ready work.");
            return;
        }
        println!("Ready work ({}):", issues.len());
        for (n, issue) in issues.iter().enumerate() {
            println!("{:>3}. {}", n + 1, text::line(issue));
        }
    });
    Ok(())
}

pub fn blocked(ctx: &Ctx<'_>) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let blocked = store.get_blocked_issues(&WorkFilter::default())?;
    ctx.finish(store)?;
    ctx.print(&blocked, || {
        if blocked.is_empty() {
            println!("Nothing is blocked.");
            return;
        }
        println!("Blocked ({}):", blocked.len());
        for b in &blocked {
            let by = if b.blocked_by.is_empty() {
                format!("status {}", b.issue.status.as_str())
            } else {
                b.blocked_by.join(", ")
            };
            println!("  {}  <- {by}", text::line(&b.issue));
        }
    });
    Ok(())
}

pub fn stale(ctx: &Ctx<'_>, days: u32, status: Option<&str>, limit: usize) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let mut filter = StaleFilter::default().days(days).limit(limit);
    filter.status = status.map(Status::parse);
    let issues = store.get_stale_issues(&filter)?;
    ctx.finish(store)?;
    ctx.print(&issues, || {
        if issues.is_empty() {
            println!("Nothing untouched for {days} days.");
        }
        for issue in &issues {
            println!(
                "{}  (updated {})",
                text::line(issue),
                issue.updated_at.format("%Y-%m-%d")
            );
        }
    });
    Ok(())
}

pub fn stats(ctx: &Ctx<'_>) -> Result<(), Failure> {
    let store = ctx.reader()?;
    let stats = store.get_statistics()?;
    ctx.finish(store)?;
    ctx.print(&stats, || {
        println!("Total:        {}", stats.total_issues);
        println!("Open:         {}", stats.open_issues);
        println!("In progress:  {}", stats.in_progress_issues);
        println!("Blocked:      {}", stats.blocked_issues);
        println!("Deferred:     {}", stats.deferred_issues);
        println!("Closed:       {}", stats.closed_issues);
        println!("Ready:        {}", stats.ready_issues);
        println!("Tombstones:   {}", stats.tombstone_issues);
        if stats.average_lead_time_hours > 0.0 {
            println!(
                "Lead time:    {:.1} h on average",
                stats.average_lead_time_hours
            );
        }
    });
    Ok(())
}

#[derive(Serialize)]
struct DepChange<'a> {
    issue_id: &'a str,
    depends_on_id: &'a str,
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    dep_type: &'a str,
    status: &'a str,
}

pub fn dep(ctx: &Ctx<'_>, command: &DepCommand) -> Result<(), Failure> {
    match command {
        DepCommand::Add {
            issue,
            depends_on,
            dep_type,
        } => {
            let store = ctx.writer()?;
            store
                .add_dependency(&Dependency::new(issue, depends_on, dep_type), &ctx.actor())
                .map_err(|e| not_found_as_user(e, issue))?;
            ctx.finish(store)?;
            let change = DepChange {
                issue_id: issue,
                depends_on_id: depends_on,
                dep_type,
                status: "added",
            };
            ctx.print(&change, || {
                println!("Added: {issue} depends on {depends_on} ({dep_type})");
            });
        }
        DepCommand::Remove { issue, depends_on } => {
            let store = ctx.writer()?;
            store
                .remove_dependency(issue, depends_on, &ctx.actor())
                .map_err(|e| not_found_as_user(e, issue))?;
            ctx.finish(store)?;
            let change = DepChange {
                issue_id: issue,
                depends_on_id: depends_on,
                dep_type: "",
                status: "removed",
            };
            ctx.print(&change, || {
                println!("Removed: {issue} no longer depends on {depends_on}");
            });
        }
        DepCommand::Tree {
            id,
            max_depth,
            reverse,
            all_paths,
        } => {
            let store = ctx.reader()?;
            let tree = store.get_dependency_tree(id, *max_depth, *all_paths, *reverse)?;
            ctx.finish(store)?;
            if tree.is_empty() {
                return Err(no_issue(id));
            }
            ctx.print(&tree, || {
                for node in &tree {
                    let mark = if node.truncated { " ..." } else { "" };
                    println!(
                        "{}{}{mark}",
                        "  ".repeat(node.depth),
                        text::line(&node.issue)
                    );
                }
            });
        }
        DepCommand::Cycles => {
            let store = ctx.reader()?;
            let cycles = store.detect_cycles()?;
            ctx.finish(store)?;
            let ids: Vec<Vec<String>> = cycles
                .iter()
                .map(|c| c.iter().map(|i| i.id.clone()).collect())
                .collect();
            ctx.print(&ids, || {
                if ids.is_empty() {
                    println!("No dependency cycles.");
                }
                for cycle in &ids {
                    println!("{} -> {}", cycle.join(" -> "), cycle[0]);
                }
            });
        }
    }
    Ok(())
}
