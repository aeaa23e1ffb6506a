//! What the commands print: readable text, or stable JSON with `--json`.

use serde::Serialize;

use beadstore::schema::MigrationPlan;
use beadstore::{CheckpointStats, MigrationReport, MigrationState, Result, Store, Value};

/// A migration state as text: `up to date (schema 51)` or `needs migration (schema 52, ...)`.
fn describe_state(state: &MigrationState) -> (bool, String) {
    match state {
        MigrationState::UpToDate { schema_version } => {
            (true, format!("up to date (schema version {schema_version})"))
        }
        MigrationState::Needed {
            schema_version,
            recorded,
        } => (
            false,
            match recorded {
                Some(r) => format!(
                    "needs migration (schema version {schema_version}; beadstore last migrated at {r})"
                ),
                None => format!(
                    "needs migration (schema version {schema_version}; never migrated by beadstore)"
                ),
            },
        ),
        other => (false, format!("{other:?}")),
    }
}

/// `info`: where the database is and what state it is in.
#[derive(Serialize)]
pub struct Info {
    path: String,
    journal_mode: String,
    page_size: i64,
    page_count: i64,
    file_bytes: u64,
    wal_bytes: u64,
    schema_compatible: bool,
    missing_tables: Vec<String>,
    missing_columns: Vec<String>,
    migrations_up_to_date: bool,
    migration_state: String,
    issue_prefix: String,
    issue_count: i64,
    /// The `config.yaml` the project's settings come from (none: defaults and `BD_*`).
    config_file: Option<String>,
    /// The JSONL beside the database, when there is one.
    jsonl: Option<String>,
    /// Whether that JSONL holds what the database last imported or wrote (Go's
    /// `jsonl_content_hash` check); false when a `git pull` changed it.
    jsonl_in_step: Option<bool>,
}

impl Info {
    pub fn gather(store: &Store) -> Result<Info> {
        let probe = store.probe()?;
        let (file_bytes, wal_bytes) = match store.file() {
            Some(f) => {
                let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                let mut wal = f.as_os_str().to_owned();
                wal.push("-wal");
                (size(f), size(std::path::Path::new(&wal)))
            }
            None => (0, 0),
        };
        let issue_count = if probe.missing_tables.iter().any(|t| t == "issues") {
            0
        } else {
            scalar(store, "SELECT count(*) FROM issues")?
        };
        let issue_prefix = if probe.missing_tables.iter().any(|t| t == "config") {
            String::new()
        } else {
            store.get_config("issue_prefix")?.unwrap_or_default()
        };
        let (migrations_up_to_date, migration_state) = describe_state(&store.migration_state()?);
        let config_file = store
            .project_config()
            .ok()
            .and_then(|c| c.source.as_ref().map(|p| p.display().to_string()));
        let jsonl = store
            .file()
            .and_then(std::path::Path::parent)
            .map(beadstore::jsonl::find_jsonl_in_dir)
            .filter(|p| p.is_file());
        let jsonl_in_step = match (&jsonl, probe.missing_tables.iter().any(|t| t == "metadata")) {
            (Some(path), false) => store.jsonl_staleness(path)?.map(|s| !s.content_changed),
            _ => None,
        };
        Ok(Info {
            config_file,
            jsonl: jsonl.map(|p| p.display().to_string()),
            jsonl_in_step,
            migrations_up_to_date,
            migration_state,
            path: store.path().to_owned(),
            journal_mode: store.journal_mode()?,
            page_size: scalar(store, "PRAGMA page_size")?,
            page_count: scalar(store, "PRAGMA page_count")?,
            file_bytes,
            wal_bytes,
            schema_compatible: probe.is_compatible(),
            missing_tables: probe.missing_tables,
            missing_columns: qualified(probe.missing_columns),
            issue_prefix,
            issue_count,
        })
    }

    pub fn print(&self, json: bool) {
        if json {
            print_json(self);
            return;
        }
        println!("path:          {}", self.path);
        println!("journal mode:  {}", self.journal_mode);
        println!(
            "size:          {} pages x {} bytes ({} bytes on disk)",
            self.page_count, self.page_size, self.file_bytes
        );
        println!("wal:           {} bytes", self.wal_bytes);
        if self.schema_compatible {
            println!("schema:        ok");
        } else {
            println!(
                "schema:        INCOMPATIBLE (missing tables: [{}]; missing columns: [{}])",
                self.missing_tables.join(", "),
                self.missing_columns.join(", ")
            );
        }
        println!("migrations:    {}", self.migration_state);
        let prefix = if self.issue_prefix.is_empty() {
            "(not set)"
        } else {
            &self.issue_prefix
        };
        println!("issue prefix:  {prefix}");
        println!("issues:        {}", self.issue_count);
        println!(
            "config:        {}",
            self.config_file
                .as_deref()
                .unwrap_or("(none: defaults and BD_* variables)")
        );
        match (&self.jsonl, self.jsonl_in_step) {
            (Some(path), Some(true)) => println!("jsonl:         {path} (in step)"),
            (Some(path), Some(false)) => {
                println!("jsonl:         {path} (changed since the last import or export)");
            }
            (Some(path), None) => println!("jsonl:         {path}"),
            (None, _) => println!("jsonl:         (none beside the database)"),
        }
    }
}

/// `doctor`: schema probe and integrity check.
#[derive(Serialize)]
pub struct Doctor {
    path: String,
    schema_compatible: bool,
    missing_tables: Vec<String>,
    missing_columns: Vec<String>,
    migrations_up_to_date: bool,
    migration_state: String,
    /// What `beadstore migrate` would change, one line each (empty when up to date).
    migrating_would: Vec<String>,
    invariant_failures: Vec<String>,
    integrity: Vec<String>,
}

/// The plan as lines a user reads.
fn plan_lines(plan: &MigrationPlan, bd_version: &str) -> Vec<String> {
    if !plan.needed {
        return Vec::new();
    }
    let mut lines = Vec::new();
    if !plan.tables_to_create.is_empty() {
        lines.push(format!(
            "create tables {}",
            plan.tables_to_create.join(", ")
        ));
    }
    if !plan.columns_to_add.is_empty() {
        lines.push(format!(
            "add columns {}",
            qualified(plan.columns_to_add.clone()).join(", ")
        ));
    }
    if plan.orphaned_dependencies + plan.orphaned_labels > 0 {
        lines.push(format!(
            "delete {} dependencies and {} labels whose issue is gone",
            plan.orphaned_dependencies, plan.orphaned_labels
        ));
    }
    lines.push(format!(
        "run the {} migrations, recreate the views and indexes, record the schema version",
        beadstore::schema::migrations::list().len()
    ));
    if bd_version != beadstore::GO_BD_VERSION {
        lines.push(format!(
            "set bd_version to {} (now {})",
            beadstore::GO_BD_VERSION,
            if bd_version.is_empty() {
                "unset"
            } else {
                bd_version
            }
        ));
    }
    lines
}

impl Doctor {
    pub fn gather(store: &Store) -> Result<Doctor> {
        let probe = store.probe()?;
        let compatible = probe.is_compatible();
        Ok(Doctor {
            path: store.path().to_owned(),
            schema_compatible: compatible,
            missing_tables: probe.missing_tables,
            missing_columns: qualified(probe.missing_columns),
            integrity: store.integrity_check()?,
            ..Self::migration_facts(store, compatible)?
        })
    }

    fn migration_facts(store: &Store, compatible: bool) -> Result<Doctor> {
        let (migrations_up_to_date, migration_state) = describe_state(&store.migration_state()?);
        let plan = store.migration_plan()?;
        // An older file may have no metadata table to read it from.
        let bd_version = store
            .get_metadata("bd_version")
            .ok()
            .flatten()
            .unwrap_or_default();
        let migrating_would = plan_lines(&plan, &bd_version);
        let invariant_failures = if compatible {
            store
                .check_invariants()?
                .into_iter()
                .map(|(name, what)| format!("{name}: {what}"))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Doctor {
            path: String::new(),
            schema_compatible: compatible,
            missing_tables: Vec::new(),
            missing_columns: Vec::new(),
            migrations_up_to_date,
            migration_state,
            migrating_would,
            invariant_failures,
            integrity: Vec::new(),
        })
    }

    /// Healthy: compatible schema, invariants hold, integrity ok. A file that only needs a
    /// migration is healthy (the next read-write open migrates it) and says so.
    pub fn healthy(&self) -> bool {
        self.schema_compatible && self.invariant_failures.is_empty() && self.integrity == ["ok"]
    }

    pub fn print(&self, json: bool) {
        if json {
            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                doctor: &'a Doctor,
                healthy: bool,
            }
            print_json(&Out {
                doctor: self,
                healthy: self.healthy(),
            });
            return;
        }
        println!("database:  {}", self.path);
        if self.schema_compatible {
            println!("schema:    ok");
        } else {
            println!("schema:    PROBLEM");
            if !self.missing_tables.is_empty() {
                println!("  missing tables: {}", self.missing_tables.join(", "));
            }
            if !self.missing_columns.is_empty() {
                println!("  missing columns: {}", self.missing_columns.join(", "));
            }
        }
        println!("migration: {}", self.migration_state);
        if !self.migrating_would.is_empty() {
            println!("  `beadstore migrate` would:");
            for line in &self.migrating_would {
                println!("    - {line}");
            }
        }
        if !self.schema_compatible && !self.migrations_up_to_date {
            println!("  run `beadstore migrate` (or any read-write command) to upgrade it");
        }
        if self.invariant_failures.is_empty() {
            if self.schema_compatible {
                println!("invariants: ok");
            }
        } else {
            println!("invariants: PROBLEM");
            for line in &self.invariant_failures {
                println!("  {line}");
            }
        }
        if self.integrity == ["ok"] {
            println!("integrity: ok");
        } else {
            println!("integrity: PROBLEM");
            for line in &self.integrity {
                println!("  {line}");
            }
        }
        println!(
            "{}",
            if self.healthy() {
                "healthy"
            } else {
                "problems found"
            }
        );
    }
}

pub fn init(json: bool, path: &str, prefix: &str, previous_prefix: &str) {
    if json {
        print_json(&serde_json::json!({
            "path": path,
            "issue_prefix": prefix,
            "previous_prefix": previous_prefix,
        }));
    } else if previous_prefix.is_empty() {
        println!("initialized {path} with prefix {prefix}");
    } else if previous_prefix == prefix {
        println!("{path} already initialized with prefix {prefix}");
    } else {
        println!("{path}: issue prefix changed from {previous_prefix} to {prefix}");
    }
}

pub fn migration_list(json: bool) {
    let list = beadstore::schema::migrations::list();
    if json {
        let items: Vec<_> = list
            .iter()
            .map(|m| serde_json::json!({ "name": m.name, "description": m.description }))
            .collect();
        print_json(&items);
    } else {
        for (i, m) in list.iter().enumerate() {
            println!("{:03} {:<28} {}", i + 1, m.name, m.description);
        }
    }
}

/// `migrate` on a file that needs nothing: said, and nothing written.
pub fn up_to_date(json: bool, path: &str, schema_version: i64) {
    if json {
        print_json(&serde_json::json!({
            "path": path,
            "up_to_date": true,
            "schema_version": schema_version,
        }));
    } else {
        println!("{path} is up to date (schema version {schema_version})");
    }
}

/// `migrate` on a file without tables: it got the whole schema.
pub fn created(json: bool, path: &str) {
    if json {
        print_json(&serde_json::json!({ "path": path, "created": true }));
    } else {
        println!("created the beads schema in {path}");
    }
}

/// A schema action this build does not know by name.
pub fn schema_action(json: bool, path: &str, action: &beadstore::SchemaAction) {
    if json {
        print_json(&serde_json::json!({ "path": path, "action": format!("{action:?}") }));
    } else {
        println!("{path}: {action:?}");
    }
}

pub fn migrated(json: bool, path: &str, report: &MigrationReport) {
    if json {
        print_json(&serde_json::json!({
            "path": path,
            "up_to_date": false,
            "schema_version": report.schema_version,
            "issues": report.before.issue_count,
            "dependencies": report.before.dependency_count,
            "labels": report.before.label_count,
            "orphaned_dependencies_removed": report.orphaned_dependencies_removed,
            "orphaned_labels_removed": report.orphaned_labels_removed,
        }));
    } else {
        println!(
            "migrated {path}: {} issues, {} dependencies, {} labels kept; {} orphaned dependencies and {} orphaned labels removed; schema version {}",
            report.before.issue_count,
            report.before.dependency_count,
            report.before.label_count,
            report.orphaned_dependencies_removed,
            report.orphaned_labels_removed,
            report.schema_version
        );
    }
}

pub fn checkpoint(json: bool, path: &str, stats: CheckpointStats) {
    if json {
        print_json(&serde_json::json!({
            "path": path,
            "wal_frames": stats.wal_frames,
            "checkpointed_frames": stats.checkpointed_frames,
        }));
    } else {
        println!(
            "checkpointed {path}: {} of {} WAL frames in the database file; WAL truncated on close",
            stats.checkpointed_frames, stats.wal_frames
        );
    }
}

/// `table.column` names for a list of (table, column) pairs.
fn qualified(columns: Vec<(String, String)>) -> Vec<String> {
    columns
        .into_iter()
        .map(|(t, c)| format!("{t}.{c}"))
        .collect()
}

fn scalar(store: &Store, sql: &str) -> Result<i64> {
    let rows = store.query(sql, &[])?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_i64)
        .unwrap_or(0))
}

fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot encode JSON: {e}"),
    }
}
