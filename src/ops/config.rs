//! Config and metadata: string key/value tables. A missing key reads as `None` (Go reads it as
//! an empty string; callers that want Go's reading use `unwrap_or_default`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::kinds::parse_custom_list;
use crate::ops::OrphanHandling;
use crate::store::{ReadTxn, WriteTxn};
use crate::value::{text_pairs, Param, Value};
use beadstore_macros::store_ops;

/// The two key/value tables of a beads database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Config,
    Metadata,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Config => "config",
            Table::Metadata => "metadata",
        }
    }
}

#[store_ops(read)]
impl ReadTxn<'_> {
    /// A config value; `None` when the key is not set.
    pub fn get_config(&self, key: &str) -> Result<Option<String>> {
        get_kv(|sql, p| self.query(sql, p), Table::Config, key)
    }

    /// Every config key and value, sorted by key.
    pub fn all_config(&self) -> Result<BTreeMap<String, String>> {
        Ok(text_pairs(self.query("SELECT key, value FROM config", &[])?).collect())
    }

    /// A metadata value; `None` when the key is not set.
    pub fn get_metadata(&self, key: &str) -> Result<Option<String>> {
        get_kv(|sql, p| self.query(sql, p), Table::Metadata, key)
    }

    /// Statuses the project declares beyond the built-in ones: the database's `status.custom`,
    /// else the project's `config.yaml` (or `BD_STATUS_CUSTOM`).
    pub fn custom_statuses(&self) -> Result<Vec<String>> {
        let declared = parse_custom_list(&self.get_config("status.custom")?.unwrap_or_default());
        if !declared.is_empty() {
            return Ok(declared);
        }
        Ok(self.project_config()?.custom_statuses.clone())
    }

    /// The import's orphan handling: the database's `import.orphan_handling`, else the
    /// project configuration's, else allow.
    pub fn orphan_handling(&self) -> Result<OrphanHandling> {
        let stored = self
            .get_config("import.orphan_handling")?
            .unwrap_or_default();
        if !stored.is_empty() {
            return Ok(OrphanHandling::from_config(&stored));
        }
        Ok(self
            .project_config()?
            .orphan_handling
            .as_deref()
            .map_or(OrphanHandling::Allow, OrphanHandling::from_config))
    }

    /// Issue types the project declares beyond the built-in ones: the database's
    /// `types.custom`, else the project's `config.yaml` (or `BD_TYPES_CUSTOM`), as in Go beads
    /// (GH#1225).
    pub fn custom_types(&self) -> Result<Vec<String>> {
        let declared = parse_custom_list(&self.get_config("types.custom")?.unwrap_or_default());
        if !declared.is_empty() {
            return Ok(declared);
        }
        Ok(self.project_config()?.custom_types.clone())
    }
}

#[store_ops(write)]
impl WriteTxn<'_> {
    /// Sets (inserts or replaces) a config value.
    pub fn set_config(&self, key: &str, value: &str) -> Result<()> {
        set_kv(|sql, p| self.execute(sql, p), Table::Config, key, value)
    }

    /// Removes a config key; removing a missing key is not an error.
    pub fn delete_config(&self, key: &str) -> Result<()> {
        self.execute("DELETE FROM config WHERE key = ?", &[Param::from(key)])
            .map(|_| ())
    }

    /// Sets (inserts or replaces) a metadata value.
    pub fn set_metadata(&self, key: &str, value: &str) -> Result<()> {
        set_kv(|sql, p| self.execute(sql, p), Table::Metadata, key, value)
    }
}

fn get_kv(
    query: impl FnOnce(&str, &[Param<'_>]) -> Result<Vec<crate::row::Row>>,
    table: Table,
    key: &str,
) -> Result<Option<String>> {
    let sql = format!("SELECT value FROM {} WHERE key = ?", table.name());
    let rows = query(&sql, &[Param::from(key)])?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .map(|v| match v {
            Value::Text(s) => s,
            Value::Integer(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            _ => String::new(),
        }))
}

fn set_kv(
    execute: impl FnOnce(&str, &[Param<'_>]) -> Result<u64>,
    table: Table,
    key: &str,
    value: &str,
) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(
            "key",
            format!("{} key is empty", table.name()),
        ));
    }
    let sql = format!(
        "INSERT INTO {} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        table.name()
    );
    execute(&sql, &[Param::from(key), Param::from(value)]).map(|_| ())
}
