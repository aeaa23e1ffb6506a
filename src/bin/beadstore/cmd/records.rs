//! Labels, comments and configuration.

use serde::Serialize;

use super::issues::not_found_as_user;
use super::Ctx;
use crate::cli::{CommentCommand, ConfigCommand, LabelCommand};
use crate::{text, Failure};

#[derive(Serialize)]
struct LabelChange<'a> {
    label: &'a str,
    ids: &'a [String],
    status: &'a str,
}

pub fn label(ctx: &Ctx<'_>, command: &LabelCommand) -> Result<(), Failure> {
    match command {
        LabelCommand::Add { label, ids } | LabelCommand::Remove { label, ids } => {
            let adding = matches!(command, LabelCommand::Add { .. });
            let store = ctx.writer()?;
            let actor = ctx.actor();
            for id in ids {
                let changed = if adding {
                    store.add_label(id, label, &actor)
                } else {
                    store.remove_label(id, label, &actor)
                };
                changed.map_err(|e| not_found_as_user(e, id))?;
            }
            ctx.finish(store)?;
            let status = if adding { "added" } else { "removed" };
            ctx.print(&LabelChange { label, ids, status }, || {
                println!("Label {label:?} {status}: {}", ids.join(", "));
            });
        }
        LabelCommand::List { id } => {
            let store = ctx.reader()?;
            if store.get_issue(id)?.is_none() {
                return Err(super::no_issue(id));
            }
            let labels = store.get_labels(id)?;
            ctx.finish(store)?;
            ctx.print(&labels, || {
                for label in &labels {
                    println!("{label}");
                }
            });
        }
    }
    Ok(())
}

pub fn comment(ctx: &Ctx<'_>, command: &CommentCommand) -> Result<(), Failure> {
    match command {
        CommentCommand::Add { id, text: body } => {
            let store = ctx.writer()?;
            let comment = store
                .add_issue_comment(id, &ctx.actor(), body)
                .map_err(|e| not_found_as_user(e, id))?;
            ctx.finish(store)?;
            ctx.print(&comment, || {
                println!("Comment {} added to {id}", comment.id);
            });
        }
        CommentCommand::List { id } => {
            let store = ctx.reader()?;
            if store.get_issue(id)?.is_none() {
                return Err(super::no_issue(id));
            }
            let comments = store.get_issue_comments(id)?;
            ctx.finish(store)?;
            ctx.print(&comments, || {
                if comments.is_empty() {
                    println!("No comments on {id}.");
                }
                for c in &comments {
                    print!("{}", text::comment(c));
                }
            });
        }
    }
    Ok(())
}

pub fn config(ctx: &Ctx<'_>, command: &ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Get { key } => {
            let store = ctx.reader()?;
            let value = store.get_config(key)?.unwrap_or_default();
            ctx.finish(store)?;
            ctx.print(&serde_json::json!({ "key": key, "value": value }), || {
                println!("{value}");
            });
        }
        ConfigCommand::Set { key, value } => {
            if key.trim().is_empty() {
                return Err(super::invalid("the config key is empty"));
            }
            let store = ctx.writer()?;
            store.set_config(key, value)?;
            ctx.finish(store)?;
            ctx.print(&serde_json::json!({ "key": key, "value": value }), || {
                println!("{key} = {value}");
            });
        }
        ConfigCommand::List => {
            let store = ctx.reader()?;
            let all = store.all_config()?;
            ctx.finish(store)?;
            ctx.print(&all, || {
                for (key, value) in &all {
                    println!("{key} = {value}");
                }
            });
        }
    }
    Ok(())
}
