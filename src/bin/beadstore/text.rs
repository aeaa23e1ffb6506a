//! Issues as people read them in a terminal: one-line summaries and full views.

use beadstore::model::{Comment, Issue, Status};
use beadstore::ops::LinkedIssue;
use beadstore::time::format_rfc3339_nano;

/// `bd-a1b2 [P2] [task] open - Title @alice`
pub fn line(issue: &Issue) -> String {
    let mut out = format!(
        "{} [P{}] [{}] {} - {}",
        issue.id,
        issue.priority,
        issue.issue_type.as_str(),
        issue.status.as_str(),
        issue.title
    );
    if !issue.assignee.is_empty() {
        out.push_str(&format!(" @{}", issue.assignee));
    }
    out
}

fn when(t: &beadstore::model::Timestamp) -> String {
    format_rfc3339_nano(t)
}

/// Every field that is set, then labels, dependencies, dependents and comments.
pub fn full(issue: &Issue, dependents: &[LinkedIssue], depends_on: &[LinkedIssue]) -> String {
    let mut out = format!("{}: {}\n", issue.id, issue.title);
    out.push_str(&format!(
        "Status: {}  Priority: P{}  Type: {}\n",
        issue.status.as_str(),
        issue.priority,
        issue.issue_type.as_str()
    ));
    let mut field = |name: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!("{name}: {value}\n"));
        }
    };
    field("Assignee", &issue.assignee);
    field("Owner", &issue.owner);
    field("Created by", &issue.created_by);
    field("Created", &when(&issue.created_at));
    field("Updated", &when(&issue.updated_at));
    if let Some(closed) = &issue.closed_at {
        field("Closed", &when(closed));
    }
    field("Close reason", &issue.close_reason);
    if issue.status == Status::Tombstone {
        field("Deleted by", &issue.deleted_by);
        field("Delete reason", &issue.delete_reason);
    }
    field("External ref", issue.external_ref.as_deref().unwrap_or(""));
    field("Labels", &issue.labels.join(", "));
    for (name, text) in [
        ("Description", &issue.description),
        ("Design", &issue.design),
        ("Acceptance criteria", &issue.acceptance_criteria),
        ("Notes", &issue.notes),
    ] {
        if !text.is_empty() {
            out.push_str(&format!("\n{name}:\n"));
            for l in text.lines() {
                out.push_str(&format!("  {l}\n"));
            }
        }
    }
    let external: Vec<_> = issue
        .dependencies
        .iter()
        .filter(|d| !depends_on.iter().any(|i| i.id == d.depends_on_id))
        .collect();
    if !depends_on.is_empty() || !external.is_empty() {
        out.push_str("\nDepends on:\n");
        for dep in depends_on {
            out.push_str(&format!("  -> {}\n", link_line(dep)));
        }
        for d in external {
            out.push_str(&format!("  -> {} [{}]\n", d.depends_on_id, d.dep_type));
        }
    }
    if !dependents.is_empty() {
        out.push_str("\nDependents:\n");
        for dep in dependents {
            out.push_str(&format!("  <- {}\n", link_line(dep)));
        }
    }
    if !issue.comments.is_empty() {
        out.push_str("\nComments:\n");
        for c in &issue.comments {
            out.push_str(&comment(c));
        }
    }
    out
}

/// `id: title [link type] (status)` of an issue at the other end of a dependency.
fn link_line(dep: &LinkedIssue) -> String {
    format!(
        "{}: {} [{}] ({})",
        dep.id,
        dep.title,
        dep.dep_type.as_str(),
        dep.status.as_str()
    )
}

/// `[time] author: text`, indented.
pub fn comment(c: &Comment) -> String {
    let mut out = format!("  [{}] {}:", when(&c.created_at), c.author);
    let mut lines = c.text.lines();
    if let Some(first) = lines.next() {
        out.push_str(&format!(" {first}"));
    }
    out.push('\n');
    for l in lines {
        out.push_str(&format!("      {l}\n"));
    }
    out
}
