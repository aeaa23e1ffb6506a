//! What the commands print: readable text, or stable JSON with `--json`.

use serde::Serialize;

use beadstore::{CheckpointStats, Result, Store, Value};

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
    issue_prefix: String,
    issue_count: i64,
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
            store.get_config("issue_prefix")?
        };
        Ok(Info {
            path: store.path().to_owned(),
            journal_mode: store.journal_mode()?,
            page_size: scalar(store, "PRAGMA page_size")?,
            page_count: scalar(store, "PRAGMA page_count")?,
            file_bytes,
            wal_bytes,
            schema_compatible: probe.is_compatible(),
            missing_tables: probe.missing_tables,
            missing_columns: probe
                .missing_columns
                .into_iter()
                .map(|(t, c)| format!("{t}.{c}"))
                .collect(),
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
        let prefix = if self.issue_prefix.is_empty() {
            "(not set)"
        } else {
            &self.issue_prefix
        };
        println!("issue prefix:  {prefix}");
        println!("issues:        {}", self.issue_count);
    }
}

/// `doctor`: schema probe and integrity check.
#[derive(Serialize)]
pub struct Doctor {
    path: String,
    schema_compatible: bool,
    missing_tables: Vec<String>,
    missing_columns: Vec<String>,
    integrity: Vec<String>,
}

impl Doctor {
    pub fn gather(store: &Store) -> Result<Doctor> {
        let probe = store.probe()?;
        Ok(Doctor {
            path: store.path().to_owned(),
            schema_compatible: probe.is_compatible(),
            missing_tables: probe.missing_tables,
            missing_columns: probe
                .missing_columns
                .into_iter()
                .map(|(t, c)| format!("{t}.{c}"))
                .collect(),
            integrity: store.integrity_check()?,
        })
    }

    pub fn healthy(&self) -> bool {
        self.schema_compatible && self.integrity == ["ok"]
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
