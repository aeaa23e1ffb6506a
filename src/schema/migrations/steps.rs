//! The 40 beads migrations, in Go's order and with Go's names. Each checks for itself whether it
//! has work to do, so running one twice changes nothing.

use crate::error::Result;
use crate::model::ContentHashFields;
use crate::value::{column_texts, Param, Value};

use super::context::Ctx;
use super::Migration;

/// Every migration, in the order they run.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration::new(
        "dirty_issues_table",
        "dirty_issues table for export tracking, with content_hash",
        dirty_issues_table,
    ),
    Migration::new(
        "external_ref_column",
        "issues.external_ref and its index",
        external_ref_column,
    ),
    Migration::new(
        "composite_indexes",
        "index on dependencies(depends_on_id, type)",
        composite_indexes,
    ),
    Migration::new(
        "closed_at_constraint",
        "closed issues have closed_at, open ones do not",
        closed_at_constraint,
    ),
    Migration::new(
        "compaction_columns",
        "compaction_level, compacted_at, original_size",
        compaction_columns,
    ),
    Migration::new(
        "snapshots_table",
        "issue_snapshots table for compaction history",
        snapshots_table,
    ),
    Migration::new(
        "compaction_config",
        "default compaction config keys",
        compaction_config,
    ),
    Migration::new(
        "compacted_at_commit_column",
        "issues.compacted_at_commit",
        compacted_at_commit_column,
    ),
    Migration::new(
        "export_hashes_table",
        "export_hashes table",
        export_hashes_table,
    ),
    Migration::new(
        "content_hash_column",
        "issues.content_hash, filled for existing issues",
        content_hash_column,
    ),
    Migration::new(
        "external_ref_unique",
        "unique index on non-null external_ref",
        external_ref_unique,
    ),
    Migration::new(
        "source_repo_column",
        "issues.source_repo for multi-repo work",
        source_repo_column,
    ),
    Migration::new(
        "repo_mtimes_table",
        "repo_mtimes table for hydration caching",
        repo_mtimes_table,
    ),
    Migration::new(
        "child_counters_table",
        "child_counters table for hierarchical ids",
        child_counters_table,
    ),
    Migration::new(
        "blocked_issues_cache",
        "blocked_issues_cache table, filled from the graph",
        blocked_issues_cache,
    ),
    Migration::new(
        "orphan_detection",
        "warn about hierarchical issues whose parent is gone",
        orphan_detection,
    ),
    Migration::new(
        "close_reason_column",
        "issues.close_reason",
        close_reason_column,
    ),
    Migration::new(
        "tombstone_columns",
        "deleted_at, deleted_by, delete_reason, original_type",
        tombstone_columns,
    ),
    Migration::new(
        "messaging_fields",
        "issues.sender and issues.ephemeral",
        messaging_fields,
    ),
    Migration::new(
        "edge_consolidation",
        "dependencies.metadata and dependencies.thread_id",
        edge_consolidation,
    ),
    Migration::new(
        "migrate_edge_fields",
        "replies_to / relates_to / duplicate_of / superseded_by become edges",
        migrate_edge_fields,
    ),
    Migration::new(
        "drop_edge_columns",
        "drop the four edge columns from issues",
        drop_edge_columns,
    ),
    Migration::new("pinned_column", "issues.pinned", pinned_column),
    Migration::new(
        "is_template_column",
        "issues.is_template",
        is_template_column,
    ),
    Migration::new(
        "remove_depends_on_fk",
        "dependencies without a foreign key on depends_on_id",
        remove_depends_on_fk,
    ),
    Migration::new(
        "additional_indexes",
        "indexes for common queries",
        additional_indexes,
    ),
    Migration::new(
        "gate_columns",
        "await_type, await_id, timeout_ns, waiters",
        gate_columns,
    ),
    Migration::new(
        "tombstone_closed_at",
        "tombstones may keep closed_at",
        tombstone_closed_at,
    ),
    Migration::new("created_by_column", "issues.created_by", created_by_column),
    Migration::new(
        "agent_fields",
        "hook_bead, role_bead, agent_state, last_activity, role_type, rig",
        agent_fields,
    ),
    Migration::new("mol_type_column", "issues.mol_type", mol_type_column),
    Migration::new(
        "hooked_status_migration",
        "pinned work items become hooked",
        hooked_status_migration,
    ),
    Migration::new(
        "event_fields",
        "event_kind, actor, target, payload",
        event_fields,
    ),
    Migration::new(
        "closed_by_session_column",
        "issues.closed_by_session",
        closed_by_session_column,
    ),
    Migration::new(
        "due_defer_columns",
        "issues.due_at and issues.defer_until",
        due_defer_columns,
    ),
    Migration::new("owner_column", "issues.owner", owner_column),
    Migration::new(
        "crystallizes_column",
        "issues.crystallizes",
        crystallizes_column,
    ),
    Migration::new("work_type_column", "issues.work_type", work_type_column),
    Migration::new(
        "source_system_column",
        "issues.source_system",
        source_system_column,
    ),
    Migration::new(
        "quality_score_column",
        "issues.quality_score",
        quality_score_column,
    ),
];

fn dirty_issues_table(m: &Ctx<'_>) -> Result<()> {
    if !m.has_table("dirty_issues")? {
        m.batch(
            "CREATE TABLE dirty_issues (
                 issue_id TEXT PRIMARY KEY,
                 marked_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
                 FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
             );
             CREATE INDEX idx_dirty_issues_marked_at ON dirty_issues(marked_at);",
        )?;
    }
    m.add_columns("dirty_issues", &[("content_hash", "TEXT")])
}

fn external_ref_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("external_ref", "TEXT")])?;
    m.batch("CREATE INDEX IF NOT EXISTS idx_issues_external_ref ON issues(external_ref)")
}

fn composite_indexes(m: &Ctx<'_>) -> Result<()> {
    m.batch("CREATE INDEX IF NOT EXISTS idx_dependencies_depends_on_type ON dependencies(depends_on_id, type)")
}

/// Go clears closed_at on every non-closed row, tombstones included, which undoes what
/// `tombstone_closed_at` allows. beadstore leaves tombstones alone (see docs/design.md).
fn closed_at_constraint(m: &Ctx<'_>) -> Result<()> {
    m.exec(
        "UPDATE issues SET closed_at = NULL
         WHERE status NOT IN ('closed', 'tombstone') AND closed_at IS NOT NULL",
        &[],
    )?;
    m.exec(
        "UPDATE issues SET closed_at = COALESCE(updated_at, CURRENT_TIMESTAMP)
         WHERE status = 'closed' AND closed_at IS NULL",
        &[],
    )?;
    Ok(())
}

fn compaction_columns(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[
            ("compaction_level", "INTEGER DEFAULT 0"),
            ("compacted_at", "DATETIME"),
            ("original_size", "INTEGER"),
        ],
    )
}

fn snapshots_table(m: &Ctx<'_>) -> Result<()> {
    if m.has_table("issue_snapshots")? {
        return Ok(());
    }
    m.batch(
        "CREATE TABLE issue_snapshots (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             issue_id TEXT NOT NULL,
             snapshot_time DATETIME NOT NULL,
             compaction_level INTEGER NOT NULL,
             original_size INTEGER NOT NULL,
             compressed_size INTEGER NOT NULL,
             original_content TEXT NOT NULL,
             archived_events TEXT,
             FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
         );
         CREATE INDEX idx_snapshots_issue ON issue_snapshots(issue_id);
         CREATE INDEX idx_snapshots_level ON issue_snapshots(compaction_level);",
    )
}

fn compaction_config(m: &Ctx<'_>) -> Result<()> {
    for (key, value) in crate::schema::ddl::CONFIG_DEFAULTS {
        m.exec(
            "INSERT OR IGNORE INTO config (key, value) VALUES (?, ?)",
            &[Param::from(*key), Param::from(*value)],
        )?;
    }
    Ok(())
}

fn compacted_at_commit_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("compacted_at_commit", "TEXT")])
}

fn export_hashes_table(m: &Ctx<'_>) -> Result<()> {
    if m.has_table("export_hashes")? {
        return Ok(());
    }
    m.batch(
        "CREATE TABLE export_hashes (
             issue_id TEXT PRIMARY KEY,
             content_hash TEXT NOT NULL,
             exported_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
             FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
         )",
    )
}

/// Adds the column and hashes every existing issue from the fields old databases have (the other
/// hashed fields did not exist yet and hash as empty, as in Go).
fn content_hash_column(m: &Ctx<'_>) -> Result<()> {
    if m.has_column("issues", "content_hash")? {
        return Ok(());
    }
    m.batch(
        "ALTER TABLE issues ADD COLUMN content_hash TEXT;
         CREATE INDEX IF NOT EXISTS idx_issues_content_hash ON issues(content_hash);",
    )?;
    let rows = m.query(
        "SELECT id, title, description, design, acceptance_criteria, notes, status, priority,
                issue_type, assignee, external_ref
         FROM issues",
        &[],
    )?;
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        _ => String::new(),
    };
    for row in rows {
        let [id, title, description, design, acceptance, notes, status, priority, issue_type, assignee, external_ref] =
            <[Value; 11]>::try_from(row.into_values())
                .map_err(|_| m.error("unexpected issue row shape"))?;
        let fields = ContentHashFields {
            title: text(&title),
            description: text(&description),
            design: text(&design),
            acceptance_criteria: text(&acceptance),
            notes: text(&notes),
            status: text(&status),
            priority: priority.as_i64().unwrap_or(0),
            issue_type: text(&issue_type),
            assignee: text(&assignee),
            external_ref: match &external_ref {
                Value::Null => None,
                v => Some(text(v)),
            },
            ..Default::default()
        };
        m.exec(
            "UPDATE issues SET content_hash = ? WHERE id = ?",
            &[Param::from(fields.content_hash()), Param::from(id)],
        )?;
    }
    Ok(())
}

fn external_ref_unique(m: &Ctx<'_>) -> Result<()> {
    if m.has_index("idx_issues_external_ref_unique")? {
        return Ok(());
    }
    let duplicates = m.count(
        "SELECT COUNT(*) FROM (SELECT external_ref FROM issues WHERE external_ref IS NOT NULL
                               GROUP BY external_ref HAVING COUNT(*) > 1)",
    )?;
    if duplicates > 0 {
        return Err(m.error(format!(
            "cannot add UNIQUE constraint: found {duplicates} duplicate external_ref values (resolve them, then open again)"
        )));
    }
    m.batch("CREATE UNIQUE INDEX IF NOT EXISTS idx_issues_external_ref_unique ON issues(external_ref) WHERE external_ref IS NOT NULL")
}

fn source_repo_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("source_repo", "TEXT DEFAULT '.'")])?;
    m.batch("CREATE INDEX IF NOT EXISTS idx_issues_source_repo ON issues(source_repo)")
}

fn repo_mtimes_table(m: &Ctx<'_>) -> Result<()> {
    if m.has_table("repo_mtimes")? {
        return Ok(());
    }
    m.batch(
        "CREATE TABLE repo_mtimes (
             repo_path TEXT PRIMARY KEY,
             jsonl_path TEXT NOT NULL,
             mtime_ns INTEGER NOT NULL,
             last_checked DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
         );
         CREATE INDEX idx_repo_mtimes_checked ON repo_mtimes(last_checked);",
    )
}

fn child_counters_table(m: &Ctx<'_>) -> Result<()> {
    if m.has_table("child_counters")? {
        return Ok(());
    }
    m.batch(
        "CREATE TABLE child_counters (
             parent_id TEXT PRIMARY KEY,
             last_child INTEGER NOT NULL DEFAULT 0,
             FOREIGN KEY (parent_id) REFERENCES issues(id) ON DELETE CASCADE
         )",
    )
}

fn blocked_issues_cache(m: &Ctx<'_>) -> Result<()> {
    if m.has_table("blocked_issues_cache")? {
        return Ok(());
    }
    m.batch(
        "CREATE TABLE blocked_issues_cache (
             issue_id TEXT NOT NULL,
             PRIMARY KEY (issue_id),
             FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
         );
         INSERT INTO blocked_issues_cache (issue_id)
         WITH RECURSIVE
           blocked_directly AS (
             SELECT DISTINCT d.issue_id
             FROM dependencies d
             JOIN issues blocker ON d.depends_on_id = blocker.id
             WHERE d.type = 'blocks' AND blocker.status IN ('open', 'in_progress', 'blocked')
           ),
           blocked_transitively AS (
             SELECT issue_id, 0 AS depth FROM blocked_directly
             UNION ALL
             SELECT d.issue_id, bt.depth + 1
             FROM blocked_transitively bt
             JOIN dependencies d ON d.depends_on_id = bt.issue_id
             WHERE d.type = 'parent-child' AND bt.depth < 50
           )
         SELECT DISTINCT issue_id FROM blocked_transitively;",
    )
}

/// Reports (never changes) open hierarchical issues like `bd-a1.3` whose parent is missing.
fn orphan_detection(m: &Ctx<'_>) -> Result<()> {
    let rows = m.query(
        "SELECT id FROM issues
         WHERE (id GLOB '*.[0-9]' OR id GLOB '*.[0-9][0-9]' OR id GLOB '*.[0-9][0-9][0-9]'
                OR id GLOB '*.[0-9][0-9][0-9][0-9]')
           AND rtrim(rtrim(id, '0123456789'), '.') NOT IN (SELECT id FROM issues)
           AND status NOT IN ('tombstone', 'closed')
         ORDER BY id",
        &[],
    )?;
    let orphans = column_texts(rows, 0);
    if !orphans.is_empty() {
        tracing::warn!(
            count = orphans.len(),
            ids = ?orphans,
            "hierarchical issues whose parent no longer exists: delete them, re-parent them, or restore the parents"
        );
    }
    Ok(())
}

fn close_reason_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("close_reason", "TEXT DEFAULT ''")])
}

fn tombstone_columns(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[
            ("deleted_at", "DATETIME"),
            ("deleted_by", "TEXT DEFAULT ''"),
            ("delete_reason", "TEXT DEFAULT ''"),
            ("original_type", "TEXT DEFAULT ''"),
        ],
    )?;
    m.batch("CREATE INDEX IF NOT EXISTS idx_issues_deleted_at ON issues(deleted_at) WHERE deleted_at IS NOT NULL")
}

fn messaging_fields(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[
            ("sender", "TEXT DEFAULT ''"),
            ("ephemeral", "INTEGER DEFAULT 0"),
        ],
    )?;
    m.batch(
        "CREATE INDEX IF NOT EXISTS idx_issues_ephemeral ON issues(ephemeral) WHERE ephemeral = 1;
         CREATE INDEX IF NOT EXISTS idx_issues_sender ON issues(sender) WHERE sender != '';",
    )
}

/// Go also creates two partial thread_id indexes here, which `remove_depends_on_fk` drops again
/// in the same run on every open; no Go database keeps them, so beadstore does not create them.
fn edge_consolidation(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "dependencies",
        &[
            ("metadata", "TEXT DEFAULT '{}'"),
            ("thread_id", "TEXT DEFAULT ''"),
        ],
    )
}

const EDGE_COLUMNS: [&str; 4] = ["replies_to", "relates_to", "duplicate_of", "superseded_by"];

/// Go inserts the edges while `dependencies` still has its old (issue_id, depends_on_id) key, so
/// an edge between two issues that already share a dependency of another type (a `duplicates`
/// edge to the issue it also blocks on, say) is silently dropped. beadstore first gives the table
/// its final three-column key (what `remove_depends_on_fk` would do later) so every edge is kept.
fn migrate_edge_fields(m: &Ctx<'_>) -> Result<()> {
    let columns = m.columns("issues")?;
    if !EDGE_COLUMNS.iter().any(|c| columns.contains(*c)) {
        return Ok(());
    }
    remove_depends_on_fk(m)?;
    let now = crate::time::now_rfc3339();
    let insert = "INSERT OR IGNORE INTO dependencies
                      (issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id)
                  VALUES (?, ?, ?, ?, 'migration', '{}', ?)";
    let pairs = |column: &str, extra: &str| -> Result<Vec<(String, String)>> {
        let rows = m.query(
            &format!("SELECT id, {column} FROM issues WHERE {column} IS NOT NULL AND {column} != ''{extra}"),
            &[],
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut it = r.into_iter();
                match (it.next(), it.next()) {
                    (Some(Value::Text(a)), Some(Value::Text(b))) => Some((a, b)),
                    _ => None,
                }
            })
            .collect())
    };
    if columns.contains("replies_to") {
        for (id, target) in pairs("replies_to", "")? {
            m.exec(
                insert,
                &[
                    id.into(),
                    target.clone().into(),
                    "replies-to".into(),
                    now.clone().into(),
                    target.into(),
                ],
            )?;
        }
    }
    if columns.contains("relates_to") {
        for (id, list) in pairs("relates_to", " AND relates_to != '[]'")? {
            // A value that is not a JSON array of strings is skipped, as in Go.
            let Ok(targets) = serde_json::from_str::<Vec<String>>(&list) else {
                continue;
            };
            for target in targets.into_iter().filter(|t| !t.is_empty()) {
                m.exec(
                    insert,
                    &[
                        id.clone().into(),
                        target.into(),
                        "relates-to".into(),
                        now.clone().into(),
                        "".into(),
                    ],
                )?;
            }
        }
    }
    for (column, edge) in [
        ("duplicate_of", "duplicates"),
        ("superseded_by", "supersedes"),
    ] {
        if columns.contains(column) {
            for (id, target) in pairs(column, "")? {
                m.exec(
                    insert,
                    &[
                        id.into(),
                        target.into(),
                        edge.into(),
                        now.clone().into(),
                        "".into(),
                    ],
                )?;
            }
        }
    }
    Ok(())
}

/// The issues table as Go's `drop_edge_columns` rebuilds it (old closed_at CHECK; the next
/// migrations add the rest).
const ISSUES_WITHOUT_EDGE_COLUMNS: &str = "
CREATE TABLE issues_new (
    id TEXT PRIMARY KEY,
    content_hash TEXT,
    title TEXT NOT NULL CHECK(length(title) <= 500),
    description TEXT NOT NULL DEFAULT '',
    design TEXT NOT NULL DEFAULT '',
    acceptance_criteria TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    priority INTEGER NOT NULL DEFAULT 2 CHECK(priority >= 0 AND priority <= 4),
    issue_type TEXT NOT NULL DEFAULT 'task',
    assignee TEXT,
    estimated_minutes INTEGER,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    closed_at DATETIME,
    external_ref TEXT,
    source_repo TEXT DEFAULT '',
    compaction_level INTEGER DEFAULT 0,
    compacted_at DATETIME,
    compacted_at_commit TEXT,
    original_size INTEGER,
    deleted_at DATETIME,
    deleted_by TEXT DEFAULT '',
    delete_reason TEXT DEFAULT '',
    original_type TEXT DEFAULT '',
    sender TEXT DEFAULT '',
    ephemeral INTEGER DEFAULT 0,
    pinned INTEGER DEFAULT 0,
    is_template INTEGER DEFAULT 0,
    await_type TEXT,
    await_id TEXT,
    timeout_ns INTEGER,
    waiters TEXT,
    close_reason TEXT DEFAULT '',
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
)";

fn drop_edge_columns(m: &Ctx<'_>) -> Result<()> {
    let columns = m.columns("issues")?;
    if !EDGE_COLUMNS.iter().any(|c| columns.contains(*c)) {
        return Ok(());
    }
    let or = |column: &str, fallback: &str| -> String {
        if columns.contains(column) {
            column.to_owned()
        } else {
            fallback.to_owned()
        }
    };
    drop_views(m)?;
    m.batch(ISSUES_WITHOUT_EDGE_COLUMNS)?;
    m.batch(&format!(
        "INSERT INTO issues_new (
             id, content_hash, title, description, design, acceptance_criteria, notes, status,
             priority, issue_type, assignee, estimated_minutes, created_at, updated_at, closed_at,
             external_ref, source_repo, compaction_level, compacted_at, compacted_at_commit,
             original_size, deleted_at, deleted_by, delete_reason, original_type, sender,
             ephemeral, pinned, is_template, await_type, await_id, timeout_ns, waiters, close_reason)
         SELECT
             id, content_hash, title, description, design, acceptance_criteria, notes, status,
             priority, issue_type, assignee, estimated_minutes, created_at, updated_at, closed_at,
             external_ref, COALESCE(source_repo, ''), compaction_level, compacted_at,
             compacted_at_commit, original_size, deleted_at, deleted_by, delete_reason,
             original_type, sender, ephemeral, {pinned}, {is_template}, {await_type}, {await_id},
             {timeout_ns}, {waiters}, COALESCE(close_reason, '')
         FROM issues",
        pinned = or("pinned", "0"),
        is_template = or("is_template", "0"),
        await_type = or("await_type", "''"),
        await_id = or("await_id", "''"),
        timeout_ns = or("timeout_ns", "0"),
        waiters = or("waiters", "''"),
    ))?;
    m.batch(
        "DROP TABLE issues;
         ALTER TABLE issues_new RENAME TO issues;
         CREATE INDEX IF NOT EXISTS idx_issues_status ON issues(status);
         CREATE INDEX IF NOT EXISTS idx_issues_priority ON issues(priority);
         CREATE INDEX IF NOT EXISTS idx_issues_assignee ON issues(assignee);
         CREATE INDEX IF NOT EXISTS idx_issues_created_at ON issues(created_at);
         CREATE INDEX IF NOT EXISTS idx_issues_external_ref ON issues(external_ref) WHERE external_ref IS NOT NULL;",
    )
}

fn pinned_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("pinned", "INTEGER DEFAULT 0")])?;
    m.batch("CREATE INDEX IF NOT EXISTS idx_issues_pinned ON issues(pinned) WHERE pinned = 1")
}

fn is_template_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("is_template", "INTEGER DEFAULT 0")])?;
    m.batch("CREATE INDEX IF NOT EXISTS idx_issues_is_template ON issues(is_template) WHERE is_template = 1")
}

/// Go rebuilds `dependencies` on every open. beadstore rebuilds it only when it is not yet in
/// its final form: a foreign key on depends_on_id, or a primary key without `type`.
fn remove_depends_on_fk(m: &Ctx<'_>) -> Result<()> {
    // foreign_key_list rows: (id, seq, table, from, to, ...); table_info rows: (cid, name, type,
    // notnull, default, pk).
    let fk_on_target = m
        .query("PRAGMA foreign_key_list(dependencies)", &[])?
        .iter()
        .any(|r| r.value(3).and_then(Value::as_str) == Some("depends_on_id"));
    let pk_columns = m
        .query("PRAGMA table_info(dependencies)", &[])?
        .iter()
        .filter(|r| r.value(5).and_then(Value::as_i64).unwrap_or(0) > 0)
        .count();
    if !fk_on_target && pk_columns == 3 {
        return Ok(());
    }
    drop_views(m)?;
    m.batch(
        "CREATE TABLE dependencies_new (
             issue_id TEXT NOT NULL,
             depends_on_id TEXT NOT NULL,
             type TEXT NOT NULL DEFAULT 'blocks',
             created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
             created_by TEXT NOT NULL,
             metadata TEXT,
             thread_id TEXT,
             PRIMARY KEY (issue_id, depends_on_id, type),
             FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
         );
         INSERT INTO dependencies_new
             SELECT issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id
             FROM dependencies;
         DROP TABLE dependencies;
         ALTER TABLE dependencies_new RENAME TO dependencies;
         CREATE INDEX idx_dependencies_issue_id ON dependencies(issue_id);
         CREATE INDEX idx_dependencies_depends_on ON dependencies(depends_on_id);
         CREATE INDEX idx_dependencies_type ON dependencies(type);
         CREATE INDEX idx_dependencies_depends_on_type ON dependencies(depends_on_id, type);
         CREATE INDEX idx_dependencies_depends_on_type_issue ON dependencies(depends_on_id, type, issue_id);",
    )
}

fn additional_indexes(m: &Ctx<'_>) -> Result<()> {
    m.batch(
        "CREATE INDEX IF NOT EXISTS idx_issues_updated_at ON issues(updated_at);
         CREATE INDEX IF NOT EXISTS idx_issues_status_priority ON issues(status, priority);
         CREATE INDEX IF NOT EXISTS idx_labels_label_issue ON labels(label, issue_id);
         CREATE INDEX IF NOT EXISTS idx_dependencies_issue_type ON dependencies(issue_id, type);
         CREATE INDEX IF NOT EXISTS idx_events_issue_type ON events(issue_id, event_type);",
    )
}

fn gate_columns(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[
            ("await_type", "TEXT"),
            ("await_id", "TEXT"),
            ("timeout_ns", "INTEGER"),
            ("waiters", "TEXT"),
        ],
    )?;
    m.batch("CREATE INDEX IF NOT EXISTS idx_issues_gate ON issues(issue_type) WHERE issue_type = 'gate'")
}

fn tombstone_closed_at(m: &Ctx<'_>) -> Result<()> {
    let sql = m.schema_object_sql("table", "issues")?.unwrap_or_default();
    if sql.contains("status = 'tombstone'") || sql.contains("status = \"tombstone\"") {
        return Ok(());
    }
    let created_by = if m.has_column("issues", "created_by")? {
        "created_by"
    } else {
        "''"
    };
    drop_views(m)?;
    m.batch(
        "CREATE TABLE issues_new (
             id TEXT PRIMARY KEY,
             content_hash TEXT,
             title TEXT NOT NULL CHECK(length(title) <= 500),
             description TEXT NOT NULL DEFAULT '',
             design TEXT NOT NULL DEFAULT '',
             acceptance_criteria TEXT NOT NULL DEFAULT '',
             notes TEXT NOT NULL DEFAULT '',
             status TEXT NOT NULL DEFAULT 'open',
             priority INTEGER NOT NULL DEFAULT 2 CHECK(priority >= 0 AND priority <= 4),
             issue_type TEXT NOT NULL DEFAULT 'task',
             assignee TEXT,
             estimated_minutes INTEGER,
             created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
             created_by TEXT DEFAULT '',
             updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
             closed_at DATETIME,
             external_ref TEXT,
             source_repo TEXT DEFAULT '',
             compaction_level INTEGER DEFAULT 0,
             compacted_at DATETIME,
             compacted_at_commit TEXT,
             original_size INTEGER,
             deleted_at DATETIME,
             deleted_by TEXT DEFAULT '',
             delete_reason TEXT DEFAULT '',
             original_type TEXT DEFAULT '',
             sender TEXT DEFAULT '',
             ephemeral INTEGER DEFAULT 0,
             close_reason TEXT DEFAULT '',
             pinned INTEGER DEFAULT 0,
             is_template INTEGER DEFAULT 0,
             await_type TEXT,
             await_id TEXT,
             timeout_ns INTEGER,
             waiters TEXT,
             CHECK (
                 (status = 'closed' AND closed_at IS NOT NULL) OR
                 (status = 'tombstone') OR
                 (status NOT IN ('closed', 'tombstone') AND closed_at IS NULL)
             )
         )",
    )?;
    m.batch(&format!(
        "INSERT INTO issues_new (
             id, content_hash, title, description, design, acceptance_criteria, notes, status,
             priority, issue_type, assignee, estimated_minutes, created_at, created_by,
             updated_at, closed_at, external_ref, source_repo, compaction_level, compacted_at,
             compacted_at_commit, original_size, deleted_at, deleted_by, delete_reason,
             original_type, sender, ephemeral, close_reason, pinned, is_template, await_type,
             await_id, timeout_ns, waiters)
         SELECT
             id, content_hash, title, description, design, acceptance_criteria, notes, status,
             priority, issue_type, assignee, estimated_minutes, created_at, {created_by},
             updated_at, closed_at, external_ref, source_repo, compaction_level, compacted_at,
             compacted_at_commit, original_size, deleted_at, deleted_by, delete_reason,
             original_type, sender, ephemeral, close_reason, pinned, is_template, await_type,
             await_id, timeout_ns, waiters
         FROM issues"
    ))?;
    m.batch(
        "DROP TABLE issues;
         ALTER TABLE issues_new RENAME TO issues;
         CREATE INDEX IF NOT EXISTS idx_issues_status ON issues(status);
         CREATE INDEX IF NOT EXISTS idx_issues_priority ON issues(priority);
         CREATE INDEX IF NOT EXISTS idx_issues_assignee ON issues(assignee);
         CREATE INDEX IF NOT EXISTS idx_issues_created_at ON issues(created_at);
         CREATE INDEX IF NOT EXISTS idx_issues_external_ref ON issues(external_ref) WHERE external_ref IS NOT NULL;
         CREATE INDEX IF NOT EXISTS idx_issues_pinned ON issues(pinned) WHERE pinned = 1;
         CREATE INDEX IF NOT EXISTS idx_issues_is_template ON issues(is_template) WHERE is_template = 1;
         CREATE INDEX IF NOT EXISTS idx_issues_updated_at ON issues(updated_at);
         CREATE INDEX IF NOT EXISTS idx_issues_status_priority ON issues(status, priority);
         CREATE INDEX IF NOT EXISTS idx_issues_gate ON issues(issue_type) WHERE issue_type = 'gate';",
    )
}

fn created_by_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("created_by", "TEXT DEFAULT ''")])
}

fn agent_fields(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[
            ("hook_bead", "TEXT DEFAULT ''"),
            ("role_bead", "TEXT DEFAULT ''"),
            ("agent_state", "TEXT DEFAULT ''"),
            ("last_activity", "DATETIME"),
            ("role_type", "TEXT DEFAULT ''"),
            ("rig", "TEXT DEFAULT ''"),
        ],
    )
}

fn mol_type_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("mol_type", "TEXT DEFAULT ''")])
}

fn hooked_status_migration(m: &Ctx<'_>) -> Result<()> {
    let changed = m.exec(
        "UPDATE issues SET status = 'hooked' WHERE status = 'pinned' AND issue_type NOT IN ('agent', 'role')",
        &[],
    )?;
    if changed > 0 {
        // The audit trail, as Go writes it (for every hooked work item).
        m.exec(
            "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment)
             SELECT id, 'migration', 'system', 'pinned', 'hooked', 'bd-s00m: Semantic split of pinned vs hooked'
             FROM issues WHERE status = 'hooked' AND issue_type NOT IN ('agent', 'role')",
            &[],
        )?;
    }
    Ok(())
}

fn event_fields(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[
            ("event_kind", "TEXT DEFAULT ''"),
            ("actor", "TEXT DEFAULT ''"),
            ("target", "TEXT DEFAULT ''"),
            ("payload", "TEXT DEFAULT ''"),
        ],
    )
}

fn closed_by_session_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("closed_by_session", "TEXT DEFAULT ''")])
}

fn due_defer_columns(m: &Ctx<'_>) -> Result<()> {
    m.add_columns(
        "issues",
        &[("due_at", "DATETIME"), ("defer_until", "DATETIME")],
    )?;
    m.batch(
        "CREATE INDEX IF NOT EXISTS idx_issues_due_at ON issues(due_at);
         CREATE INDEX IF NOT EXISTS idx_issues_defer_until ON issues(defer_until);",
    )
}

fn owner_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("owner", "TEXT DEFAULT ''")])
}

fn crystallizes_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("crystallizes", "INTEGER DEFAULT 0")])
}

fn work_type_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("work_type", "TEXT DEFAULT 'mutex'")])
}

fn source_system_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("source_system", "TEXT DEFAULT ''")])
}

fn quality_score_column(m: &Ctx<'_>) -> Result<()> {
    m.add_columns("issues", &[("quality_score", "REAL")])
}

/// Views select `i.*`, so they must go before `issues` or `dependencies` is rebuilt; the run
/// recreates them at the end.
fn drop_views(m: &Ctx<'_>) -> Result<()> {
    m.batch("DROP VIEW IF EXISTS ready_issues; DROP VIEW IF EXISTS blocked_issues;")
}
