//! The command line's grammar: every command, flag and help text.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Pure-Rust storage engine for beads issue databases: a bd-compatible command line over
/// `.beads/beads.db`. Commands that only read open the database read-only and never touch it.
#[derive(Parser, Debug)]
#[command(name = "beadstore", version, about, long_about = None)]
pub struct Cli {
    /// Database path or file: URI (default: $BEADS_DB, else the nearest .beads/*.db at or
    /// above the current directory).
    #[arg(long, global = true, env = "BEADS_DB", value_name = "PATH")]
    pub db: Option<String>,
    /// Print stable JSON instead of text (see docs/cli.md for the shapes).
    #[arg(long, global = true)]
    pub json: bool,
    /// Who the change is recorded as (default: $BD_ACTOR, else $USER).
    #[arg(long, global = true, env = "BD_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,
    /// Open read-only even for a command that could write (it then fails with exit code 2).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Do not import .beads/issues.jsonl first when a `git pull` changed it (also the
    /// `no-auto-import` config key and $BD_NO_AUTO_IMPORT).
    #[arg(long, global = true)]
    pub no_auto_import: bool,
    /// Do not write changed issues into .beads/issues.jsonl after a command (also the
    /// `no-auto-flush` config key and $BD_NO_AUTO_FLUSH).
    #[arg(long, global = true)]
    pub no_auto_flush: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create .beads/beads.db here (or at --db) with the beads schema and an issue prefix.
    Init {
        /// Issue id prefix (default: the current directory's name).
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Create an issue.
    Create(CreateArgs),
    /// Show issues in full: fields, labels, dependencies, dependents and comments.
    Show {
        /// Issue ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// List issues (highest priority first, then newest), narrowed by filters.
    List(ListArgs),
    /// Issues whose title, description or id contains QUERY, narrowed by the filters of `list`.
    Search {
        /// The text to look for (SQL LIKE, case-insensitive for ASCII).
        query: String,
        #[command(flatten)]
        filter: ListArgs,
    },
    /// Change fields of an issue.
    Update(UpdateArgs),
    /// Close issues.
    Close {
        /// Issue ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Why (recorded on the issue and its `closed` event).
        #[arg(long, short = 'r', default_value = "Closed")]
        reason: String,
    },
    /// Reopen closed issues.
    Reopen {
        /// Issue ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete issues as tombstones (kept so the deletion travels through git).
    Delete {
        /// Issue ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Also delete everything that depends on them, recursively.
        #[arg(long)]
        cascade: bool,
        /// Delete even when other issues depend on them (their dependencies are removed).
        #[arg(long)]
        force: bool,
        /// Only report what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Dependencies between issues.
    #[command(subcommand)]
    Dep(DepCommand),
    /// Labels of issues.
    #[command(subcommand)]
    Label(LabelCommand),
    /// Comments on issues.
    #[command(subcommand)]
    Comment(CommentCommand),
    /// Work that can start now: open, not blocked, not deferred.
    Ready(WorkArgs),
    /// Open work that something blocks, with its blockers.
    Blocked,
    /// Open work nobody touched for a while.
    Stale {
        /// Untouched for at least this many days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (0 = all).
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: usize,
    },
    /// Counts by status, ready and blocked work, lead time.
    Stats,
    /// Project configuration stored in the database.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write every issue as JSONL (bd's issues.jsonl format), to standard output or a file.
    Export(ExportArgs),
    /// Read issues from a JSONL file: new ones created, changed ones updated, all or nothing.
    Import(ImportArgs),
    /// Bring the database and the JSONL beside it in step now: import the file when it
    /// changed, then write the changed issues into it (created when missing). No git.
    Sync(SyncArgs),
    /// Migrate the schema when the file needs it (an up-to-date file is left untouched).
    Migrate {
        /// List the migrations instead of running them.
        #[arg(long)]
        list: bool,
        /// Run every migration even on an up-to-date file.
        #[arg(long)]
        force: bool,
    },
    /// Copy the WAL into the database file and truncate the WAL.
    Checkpoint,
    /// Check the schema and the file's integrity (read-only); exits 2 on a problem.
    Doctor,
    /// Show the database's path, journal mode, size, WAL size and schema status (read-only).
    Info,
    /// Print file replacement and reconnect events as they happen, until interrupted.
    Watch {
        /// How often to look when inotify is not available, in milliseconds.
        #[arg(long, default_value_t = 100)]
        poll_ms: u64,
        /// Stop after this many events (0 = never).
        #[arg(long, default_value_t = 0)]
        count: usize,
    },
    /// A guided tour on a throw-away database: a generated project, ready and blocked work,
    /// a git-style file replacement noticed and followed, a checkpoint, and the timings.
    Demo {
        /// How many issues the generated project has.
        #[arg(long, default_value_t = 400)]
        issues: usize,
        /// The generator's seed (the same seed, the same project).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Keep the database here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        keep: Option<std::path::PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// One-line title (at most 500 characters).
    pub title: String,
    /// Priority, 0 (highest) to 4.
    #[arg(long, short = 'p', default_value_t = 2, value_parser = clap::value_parser!(i64).range(0..=4))]
    pub priority: i64,
    /// Type: bug, feature, task, epic, chore (or one declared in types.custom).
    #[arg(long = "type", short = 't', default_value = "task")]
    pub issue_type: String,
    /// Description.
    #[arg(long, short = 'd', default_value = "")]
    pub description: String,
    /// Who works on it.
    #[arg(long, short = 'a')]
    pub assignee: Option<String>,
    /// A label (repeatable).
    #[arg(long = "label", short = 'l')]
    pub labels: Vec<String>,
    /// Make it a child of this issue: a hierarchical id (parent.N) and a parent-child link.
    #[arg(long)]
    pub parent: Option<String>,
    /// Reference in another tracker (unique).
    #[arg(long)]
    pub external_ref: Option<String>,
    /// Dependencies, `TYPE:ID` or `ID` (blocks), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub deps: Vec<String>,
    /// An explicit id instead of a generated one.
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this status (open, in_progress, blocked, deferred, closed, ...).
    #[arg(long, short = 's')]
    pub status: Option<String>,
    /// Only this priority.
    #[arg(long, short = 'p', value_parser = clap::value_parser!(i64).range(0..=4))]
    pub priority: Option<i64>,
    /// Only this type.
    #[arg(long = "type", short = 't')]
    pub issue_type: Option<String>,
    /// Only issues assigned to this person.
    #[arg(long, short = 'a')]
    pub assignee: Option<String>,
    /// Only issues with every one of these labels (repeatable).
    #[arg(long = "label", short = 'l')]
    pub labels: Vec<String>,
    /// At most this many (0 = all).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
    /// Include closed issues when no status is given.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// The issue.
    pub id: String,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    /// New status.
    #[arg(long, short = 's')]
    pub status: Option<String>,
    /// New priority.
    #[arg(long, short = 'p', value_parser = clap::value_parser!(i64).range(0..=4))]
    pub priority: Option<i64>,
    /// New type.
    #[arg(long = "type", short = 't')]
    pub issue_type: Option<String>,
    /// New description.
    #[arg(long, short = 'd')]
    pub description: Option<String>,
    /// New assignee (empty to unassign).
    #[arg(long, short = 'a')]
    pub assignee: Option<String>,
    /// New notes.
    #[arg(long)]
    pub notes: Option<String>,
    /// New design notes.
    #[arg(long)]
    pub design: Option<String>,
    /// New acceptance criteria.
    #[arg(long)]
    pub acceptance: Option<String>,
    /// New external reference (empty to clear).
    #[arg(long)]
    pub external_ref: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum DepCommand {
    /// Make ISSUE depend on DEPENDS_ON.
    Add {
        /// The issue that waits.
        issue: String,
        /// What it waits for (an issue id or external:project:capability).
        depends_on: String,
        /// blocks, parent-child, related, discovered-from, waits-for, ...
        #[arg(long = "type", short = 't', default_value = "blocks")]
        dep_type: String,
    },
    /// Remove the dependency of ISSUE on DEPENDS_ON.
    Remove {
        /// The issue that waits.
        issue: String,
        /// What it waits for.
        depends_on: String,
    },
    /// The tree of what an issue depends on (or, --reverse, what depends on it).
    Tree {
        /// The root issue.
        id: String,
        /// How deep to go.
        #[arg(long, default_value_t = 50)]
        max_depth: usize,
        /// Show what depends on it instead.
        #[arg(long)]
        reverse: bool,
        /// Show an issue again on every path that reaches it.
        #[arg(long)]
        all_paths: bool,
    },
    /// Dependency cycles in the whole database.
    Cycles,
}

#[derive(Subcommand, Debug)]
pub enum LabelCommand {
    /// Add a label to issues.
    Add {
        /// The label.
        label: String,
        /// Issue ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Remove a label from issues.
    Remove {
        /// The label.
        label: String,
        /// Issue ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// An issue's labels.
    List {
        /// The issue.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CommentCommand {
    /// Add a comment to an issue.
    Add {
        /// The issue.
        id: String,
        /// The text.
        text: String,
    },
    /// An issue's comments, oldest first.
    List {
        /// The issue.
        id: String,
    },
}

#[derive(Args, Debug)]
pub struct WorkArgs {
    /// At most this many (0 = all).
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,
    /// Only this priority.
    #[arg(long, short = 'p', value_parser = clap::value_parser!(i64).range(0..=4))]
    pub priority: Option<i64>,
    /// Only work assigned to this person.
    #[arg(long, short = 'a')]
    pub assignee: Option<String>,
    /// Only unassigned work.
    #[arg(long)]
    pub unassigned: bool,
    /// Only work with every one of these labels (repeatable).
    #[arg(long = "label", short = 'l')]
    pub labels: Vec<String>,
    /// Order: hybrid (recent by priority, then oldest), priority, oldest.
    #[arg(long, value_enum, default_value_t = Sort::Hybrid)]
    pub sort: Sort,
}

/// Ready-work orderings.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Sort {
    /// Recent work by priority, then older work oldest first.
    Hybrid,
    /// By priority.
    Priority,
    /// Oldest first.
    Oldest,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// A value (empty when not set).
    Get {
        /// The key.
        key: String,
    },
    /// Set a value.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Every key and value.
    List,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to this file atomically instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Also export wisps (ephemeral issues).
    #[arg(long)]
    pub include_ephemeral: bool,
    /// Leave `<`, `>` and `&` unescaped (the form of bd's sync_base.jsonl).
    #[arg(long)]
    pub no_html_escape: bool,
    /// After writing the file, clear the exported issues' dirty marks and record the file's
    /// hash, as bd's flush does (opens the database read-write).
    #[arg(long, requires = "output")]
    pub mark_clean: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The JSONL file.
    pub file: std::path::PathBuf,
    /// Hierarchical ids whose parent is missing: allow, skip, strict, resurrect (default: the
    /// database's import.orphan_handling, else allow).
    #[arg(long, value_name = "MODE")]
    pub orphan_handling: Option<String>,
    /// Fail on a dependency whose issue or target is missing instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The JSONL file (default: the one beside the database, .beads/issues.jsonl).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,
    /// Only import (when the file changed); write nothing to it.
    #[arg(long, conflicts_with = "flush_only")]
    pub import_only: bool,
    /// Only write the changed issues into the file; do not import it.
    #[arg(long)]
    pub flush_only: bool,
}
