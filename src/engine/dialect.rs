//! The SQL dialect every engine database is opened with: SQLite's, with its built-in catalog
//! (the `pragma_*` table-valued functions, `json_each`, `json_tree`) built once per process.
//!
//! The engine installs that catalog into every schema it constructs: three for a read-write
//! open (two in the open, one when its first statement compiles), one for a read-only open,
//! and one more on every schema reload after another process changed the schema. Building it
//! means parsing a `CREATE TABLE` for each of some fifty catalog tables, which was a fifth of a
//! short `create` command's instructions. The catalog's tables describe functions, not data:
//! they are the same for every schema and every file, so the first schema's are kept and
//! shared by the later ones.

use std::sync::{Arc, OnceLock};

use turso_core::schema::{BTreeTable, Schema, Table};
use turso_core::{Connection, Dialect, Func, SqliteDialect, Value};
use turso_parser::ast;

/// The tables SQLite's dialect installs into a fresh schema, by lookup name.
type Catalog = Vec<(String, Arc<Table>)>;

/// SQLite's dialect with a process-wide cache of its built-in catalog.
pub(crate) struct CachedCatalogDialect {
    /// The catalog, built on first use, per value of `enable_custom_types`.
    catalogs: [OnceLock<Catalog>; 2],
}

impl CachedCatalogDialect {
    /// The one instance every database of this process shares.
    pub(crate) fn shared() -> Arc<dyn Dialect> {
        static SHARED: OnceLock<Arc<dyn Dialect>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                Arc::new(CachedCatalogDialect {
                    catalogs: [OnceLock::new(), OnceLock::new()],
                })
            })
            .clone()
    }

    /// Installs SQLite's catalog into `schema` and returns the entries it added or replaced.
    fn build_catalog(
        schema: &mut Schema,
        enable_custom_types: bool,
    ) -> turso_core::Result<Catalog> {
        let before = schema.tables.clone();
        SqliteDialect.register_catalog(schema, enable_custom_types)?;
        // What it added or replaced: the later schemas get exactly these entries.
        Ok(schema
            .tables
            .iter()
            .filter(|(name, table)| !before.get(*name).is_some_and(|old| Arc::ptr_eq(old, table)))
            .map(|(name, table)| (name.clone(), table.clone()))
            .collect())
    }
}

impl Dialect for CachedCatalogDialect {
    fn name(&self) -> &'static str {
        // The same language as SQLite's dialect, so the engine treats the two as one.
        SqliteDialect.name()
    }

    fn parse(&self, sql: &str) -> turso_core::Result<(Option<ast::Cmd>, usize)> {
        SqliteDialect.parse(sql)
    }

    fn parse_table_sql(&self, sql: &str, root_page: i64) -> turso_core::Result<BTreeTable> {
        SqliteDialect.parse_table_sql(sql, root_page)
    }

    fn parse_table_sql_ast(&self, sql: &str) -> turso_core::Result<ast::Stmt> {
        SqliteDialect.parse_table_sql_ast(sql)
    }

    fn table_sql_for_replay(&self, sql: &str) -> turso_core::Result<String> {
        SqliteDialect.table_sql_for_replay(sql)
    }

    fn format_table_sql(
        &self,
        input: &str,
        tbl_name: &ast::QualifiedName,
        body: &ast::CreateTableBody,
    ) -> turso_core::Result<String> {
        SqliteDialect.format_table_sql(input, tbl_name, body)
    }

    fn format_rewritten_table_sql(&self, stmt: &ast::Stmt) -> turso_core::Result<String> {
        SqliteDialect.format_rewritten_table_sql(stmt)
    }

    fn register_catalog(
        &self,
        schema: &mut Schema,
        enable_custom_types: bool,
    ) -> turso_core::Result<()> {
        let cache = &self.catalogs[usize::from(enable_custom_types)];
        if let Some(catalog) = cache.get() {
            for (name, table) in catalog {
                schema.tables.insert(name.clone(), table.clone());
            }
            return Ok(());
        }
        let catalog = Self::build_catalog(schema, enable_custom_types)?;
        // Another thread may have built it meanwhile; either copy describes the same tables.
        let _ = cache.set(catalog);
        Ok(())
    }

    fn resolve_function(&self, name: &str, arg_count: usize) -> turso_core::Result<Option<Func>> {
        SqliteDialect.resolve_function(name, arg_count)
    }

    fn exec_scalar_function(
        &self,
        conn: &Connection,
        name: &str,
        args: &[Value],
    ) -> turso_core::Result<Value> {
        SqliteDialect.exec_scalar_function(conn, name, args)
    }

    fn requires_custom_types(&self) -> bool {
        SqliteDialect.requires_custom_types()
    }
}
