//! The C SQLite side of `scripts/fleet`: one short process per call, as Go bd runs one, doing
//! the statements Go's store runs on a WAL database through rusqlite (bundled SQLite). Process
//! start, open and exit cost what a real CLI pays, so the fleet compares like with like.
//!
//! `fleet_sqlite DB ready-json | list | create TITLE | update ID | close ID | watch`
//!
//! - `ready-json`: Go's ready-work query (limit 10) and the labels of what it found, printed as
//!   JSON.
//! - `list`: open issues (closed left out, limit 50) with their labels, one line each.
//! - `create TITLE`: Go's `CreateIssue`; prints `Created ID: TITLE`.
//! - `update ID`: Go's `UpdateIssue` with status `in_progress` (old row read for the event, the
//!   blocked cache rebuilt as the status changed).
//! - `close ID`: Go's `CloseIssue` (event, dirty mark, blocked cache rebuilt, convoy check).
//! - `watch`: stays open like a daemon, checking `PRAGMA data_version` every 100 ms and counting
//!   the issues when it moved, until killed.
//!
//! Exit status 2 with the SQLite error on standard error when a call fails (busy included).

#[path = "../benches/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags};

/// Go's blocked-cache rebuild: issues blocked by an active `blocks` target, by a
/// `conditional-blocks` target that is active or closed without failing, or by a `waits-for`
/// gate with open children, and their `parent-child` descendants down to depth 50.
const REBUILD_BLOCKED: &str = "INSERT INTO blocked_issues_cache (issue_id)
WITH RECURSIVE
  direct(issue_id) AS (
    SELECT d.issue_id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
     WHERE d.type = 'blocks' AND b.status IN ('open', 'in_progress', 'blocked', 'deferred', 'hooked')
    UNION
    SELECT d.issue_id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
     WHERE d.type = 'conditional-blocks'
       AND (b.status IN ('open', 'in_progress', 'blocked', 'deferred', 'hooked')
            OR (b.status = 'closed' AND NOT (lower(coalesce(b.close_reason, '')) LIKE '%fail%'
                                             OR lower(coalesce(b.close_reason, '')) LIKE '%error%'
                                             OR lower(coalesce(b.close_reason, '')) LIKE '%abort%')))
    UNION
    SELECT d.issue_id FROM dependencies d
     WHERE d.type = 'waits-for'
       AND EXISTS (SELECT 1 FROM dependencies c JOIN issues child ON child.id = c.issue_id
                    WHERE c.type = 'parent-child' AND c.depends_on_id = d.depends_on_id
                      AND child.status NOT IN ('closed', 'tombstone'))
  ),
  transitive(issue_id, depth) AS (
    SELECT issue_id, 0 FROM direct
    UNION ALL
    SELECT d.issue_id, t.depth + 1 FROM transitive t JOIN dependencies d ON d.depends_on_id = t.issue_id
     WHERE d.type = 'parent-child' AND t.depth < 50
  )
SELECT DISTINCT issue_id FROM transitive";

const LABELS_OF: &str = "SELECT issue_id, label FROM labels WHERE issue_id IN (SELECT value FROM json_each(?)) ORDER BY issue_id, label";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match argv.as_slice() {
        [db, "ready-json"] => ready_json(Path::new(db)),
        [db, "list"] => list(Path::new(db)),
        [db, "create", title] => create(Path::new(db), title),
        [db, "update", id] => update(Path::new(db), id),
        [db, "close", id] => close(Path::new(db), id),
        [db, "watch"] => watch(Path::new(db)),
        _ => {
            eprintln!(
                "usage: fleet_sqlite DB ready-json|list|create TITLE|update ID|close ID|watch"
            );
            std::process::exit(1);
        }
    };
    if let Err(e) = result {
        eprintln!("fleet_sqlite: {e}");
        std::process::exit(2);
    }
}

/// Go's read-only open: the connection and its pragmas.
fn open_read_only(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;")?;
    Ok(conn)
}

fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", since.as_secs(), since.subsec_nanos())
}

fn to_json(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => b.len().into(),
    }
}

/// One row as a JSON object keyed by column name.
fn row_object(
    names: &[String],
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<serde_json::Map<String, serde_json::Value>> {
    let mut object = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        object.insert(name.clone(), to_json(row.get_ref(i)?));
    }
    Ok(object)
}

/// Every column of every row of `sql` as JSON objects, then each row's labels under "labels".
fn issues_with_labels(
    conn: &Connection,
    sql: &str,
) -> rusqlite::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt
        .column_names()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    let mut issues: Vec<serde_json::Map<String, serde_json::Value>> = stmt
        .query_map([], |row| row_object(&names, row))?
        .collect::<rusqlite::Result<_>>()?;
    let ids: Vec<&serde_json::Value> = issues.iter().map(|i| &i["id"]).collect();
    let list = serde_json::to_string(&ids).unwrap_or_default();
    let mut labels: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut stmt = conn.prepare(LABELS_OF)?;
    for pair in stmt.query_map([list], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (id, label) = pair?;
        labels.entry(id).or_default().push(label);
    }
    for issue in &mut issues {
        let id = issue["id"].as_str().unwrap_or_default().to_owned();
        let mine = labels.remove(&id).unwrap_or_default();
        issue.insert("labels".into(), mine.into());
    }
    Ok(issues)
}

fn ready_json(db: &Path) -> rusqlite::Result<()> {
    let conn = open_read_only(db)?;
    let issues = issues_with_labels(&conn, &format!("{} LIMIT 10", support::GO_READY_SQL))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&issues).unwrap_or_default()
    );
    Ok(())
}

fn list(db: &Path) -> rusqlite::Result<()> {
    let conn = open_read_only(db)?;
    let issues = issues_with_labels(
        &conn,
        "SELECT * FROM issues WHERE status != 'closed' ORDER BY priority ASC, created_at DESC LIMIT 50",
    )?;
    for issue in &issues {
        println!(
            "{} [P{}] [{}] {} - {}",
            issue["id"].as_str().unwrap_or_default(),
            issue["priority"],
            issue["issue_type"].as_str().unwrap_or_default(),
            issue["status"].as_str().unwrap_or_default(),
            issue["title"].as_str().unwrap_or_default(),
        );
    }
    Ok(())
}

fn create(db: &Path, title: &str) -> rusqlite::Result<()> {
    let mut conn = support::c_open_go(db);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let id = format!("fl-{:x}{:x}", std::process::id(), stamp & 0xffff_ffff);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    support::c_create_issue(&tx, &id, title, "fleet", &now());
    tx.commit()?;
    println!("Created {id}: {title}");
    Ok(())
}

/// Go reads the old row (for the event) outside the transaction.
fn old_row(conn: &Connection, id: &str) -> rusqlite::Result<serde_json::Value> {
    let mut stmt = conn.prepare("SELECT * FROM issues WHERE id = ?")?;
    let names: Vec<String> = stmt
        .column_names()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    stmt.query_row([id], |row| {
        row_object(&names, row).map(serde_json::Value::Object)
    })
}

fn update(db: &Path, id: &str) -> rusqlite::Result<()> {
    let mut conn = support::c_open_go(db);
    let old = old_row(&conn, id)?;
    let custom: Option<String> = conn
        .query_row(
            "SELECT value FROM config WHERE key = 'status.custom'",
            [],
            |r| r.get(0),
        )
        .ok();
    std::hint::black_box(custom);
    let stamp = now();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE issues SET updated_at = ?, status = ?, content_hash = ? WHERE id = ?",
        params![stamp, "in_progress", format!("h{stamp}"), id],
    )?;
    tx.execute(
        "INSERT INTO events (issue_id, event_type, actor, old_value, new_value) VALUES (?, 'status_changed', 'fleet', ?, ?)",
        params![id, old.to_string(), r#"{"status":"in_progress"}"#],
    )?;
    mark_dirty_and_rebuild(&tx, id, &stamp)?;
    tx.commit()?;
    println!("Updated {id}");
    Ok(())
}

fn close(db: &Path, id: &str) -> rusqlite::Result<()> {
    let mut conn = support::c_open_go(db);
    let stamp = now();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let changed = tx.execute(
        "UPDATE issues SET status = 'closed', closed_at = ?, updated_at = ?, close_reason = ?, closed_by_session = '' WHERE id = ?",
        params![stamp, stamp, "done", id],
    )?;
    if changed == 0 {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    tx.execute(
        "INSERT INTO events (issue_id, event_type, actor, comment) VALUES (?, 'closed', 'fleet', 'done')",
        [id],
    )?;
    mark_dirty_and_rebuild(&tx, id, &stamp)?;
    let convoys: Vec<String> = tx
        .prepare(
            "SELECT DISTINCT d.issue_id FROM dependencies d JOIN issues i ON d.issue_id = i.id
               JOIN labels l ON i.id = l.issue_id AND l.label = 'gt:convoy'
              WHERE d.depends_on_id = ? AND d.type = 'tracks' AND i.status != 'closed'",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    std::hint::black_box(convoys);
    tx.commit()?;
    println!("Closed {id}: done");
    Ok(())
}

fn mark_dirty_and_rebuild(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    stamp: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO dirty_issues (issue_id, marked_at) VALUES (?, ?) ON CONFLICT (issue_id) DO UPDATE SET marked_at = excluded.marked_at",
        params![id, stamp],
    )?;
    tx.execute("DELETE FROM blocked_issues_cache", [])?;
    tx.execute(REBUILD_BLOCKED, [])?;
    Ok(())
}

fn watch(db: &Path) -> rusqlite::Result<()> {
    let conn = support::c_open_go(db);
    let mut seen = -1i64;
    loop {
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if version != seen {
            seen = version;
            let count: i64 = conn.query_row("SELECT count(*) FROM issues", [], |r| r.get(0))?;
            std::hint::black_box(count);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
