//! Orders of issue rows, applied here rather than by the engine's ORDER BY.
//!
//! The engine has no top-N sort: `ORDER BY ... LIMIT 10` over the 5,800 open issues of a large
//! project sorts all of them, with records copied into its sorter. Reading each row's sort keys
//! beside its id and ordering them here, the way SQLite orders values, gives the same issues in
//! the same order for a fraction of the work (docs/performance.md, "Fourth pass").

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::row::Row;
use crate::value::{Param, Value};

use super::like::value_like;

/// One key of an order: an SQL expression over `issues i`, ascending or descending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SortKey {
    pub(crate) expr: &'static str,
    pub(crate) descending: bool,
}

impl SortKey {
    pub(crate) const fn asc(expr: &'static str) -> SortKey {
        SortKey {
            expr,
            descending: false,
        }
    }

    pub(crate) const fn desc(expr: &'static str) -> SortKey {
        SortKey {
            expr,
            descending: true,
        }
    }
}

/// An order of issues: its keys, then the id (so that no two issues tie), and the parameters
/// the keys' expressions bind.
#[derive(Debug, Clone)]
pub(crate) struct IssueOrder<'p> {
    pub(crate) keys: &'static [SortKey],
    pub(crate) params: Vec<Param<'p>>,
}

impl IssueOrder<'_> {
    /// An order whose keys bind nothing.
    pub(crate) const fn of(keys: &'static [SortKey]) -> IssueOrder<'static> {
        IssueOrder {
            keys,
            params: Vec::new(),
        }
    }

    /// The keys' expressions, for a select list.
    pub(crate) fn select_list(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.expr)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Sorts rows whose first column is the id and whose keys are their columns from
    /// `first_key` on, and keeps the first `limit` (every row when 0).
    pub(crate) fn sort(&self, rows: &mut Vec<Row>, first_key: usize, limit: usize) {
        let keys = self.keys;
        let compare = |a: &Row, b: &Row| {
            compare_keys(keys, key_columns(a, first_key), key_columns(b, first_key))
                .then_with(|| compare_values(id_column(a), id_column(b)))
        };
        if limit > 0 && rows.len() > limit {
            rows.select_nth_unstable_by(limit - 1, compare);
            rows.truncate(limit);
        }
        rows.sort_unstable_by(compare);
    }
}

/// What `issues_in_order` leaves out beyond the caller's conditions. With a limit it is
/// applied in Rust to narrow rows (the id first, the columns `columns` names last); with none,
/// by the engine (`sql`), so that only the rows kept are read whole.
#[derive(Debug, Default)]
pub(crate) struct RowFilter<'a> {
    /// Leave out the issues in the blocked cache.
    pub(crate) not_blocked: bool,
    /// Keep only rows whose title, description or id is `LIKE` this pattern.
    pub(crate) text_like: Option<&'a str>,
}

impl<'a> RowFilter<'a> {
    /// The columns the filter reads at the end of each narrow row, as a select list's tail.
    pub(crate) fn columns(&self) -> &'static str {
        if self.text_like.is_some() {
            ", i.title, i.description"
        } else {
            ""
        }
    }

    /// The filter as SQL over `issues i` (a tail of a WHERE clause) and its parameters.
    pub(crate) fn sql(&self) -> (String, Vec<Param<'a>>) {
        let mut sql = String::new();
        let mut params = Vec::new();
        if self.not_blocked {
            sql.push_str(
                " AND NOT EXISTS (SELECT 1 FROM blocked_issues_cache c WHERE c.issue_id = i.id)",
            );
        }
        if let Some(pattern) = self.text_like {
            sql.push_str(" AND (i.title LIKE ? OR i.description LIKE ? OR i.id LIKE ?)");
            params.extend([pattern.into(), pattern.into(), pattern.into()]);
        }
        (sql, params)
    }

    /// Whether a narrow `row` stays, `blocked` holding the blocked cache's ids when
    /// `not_blocked` is set.
    pub(crate) fn keeps(&self, row: &Row, blocked: &HashSet<String>) -> bool {
        let id = id_column(row);
        if let Value::Text(id) = id {
            if self.not_blocked && blocked.contains(id) {
                return false;
            }
        }
        match self.text_like {
            None => true,
            Some(pattern) => {
                let last = row.len();
                let column = |i: usize| row.value(i).unwrap_or(&Value::Null);
                last >= 2
                    && (value_like(pattern, column(last - 2))
                        || value_like(pattern, column(last - 1))
                        || value_like(pattern, id))
            }
        }
    }
}

/// A row's first column, its id.
fn id_column(row: &Row) -> &Value {
    row.value(0).unwrap_or(&Value::Null)
}

/// A row's columns from `first` on.
fn key_columns(row: &Row, first: usize) -> &[Value] {
    let columns: &[Value] = row;
    columns.get(first..).unwrap_or_default()
}

/// Compares two rows' keys as SQLite's ORDER BY does.
fn compare_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let x = a.get(i).unwrap_or(&Value::Null);
        let y = b.get(i).unwrap_or(&Value::Null);
        let order = compare_values(x, y);
        let order = if key.descending {
            order.reverse()
        } else {
            order
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// SQLite's order of values under the BINARY collation: NULL, then numbers by value (integers
/// and reals compared exactly), then text by its bytes, then blobs by their bytes.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Real(x), Value::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Integer(x), Value::Real(y)) => compare_integer_real(*x, *y),
        (Value::Real(x), Value::Integer(y)) => compare_integer_real(*y, *x).reverse(),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => storage_class(a).cmp(&storage_class(b)),
    }
}

/// The rank of a value's kind in SQLite's order.
fn storage_class(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Integer(_) | Value::Real(_) => 1,
        Value::Text(_) => 2,
        Value::Blob(_) => 3,
    }
}

/// An integer against a real without the rounding of converting the integer to a float.
fn compare_integer_real(integer: i64, real: f64) -> Ordering {
    // 2^63: every i64 is below it, and -2^63 is the least i64.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if real.is_nan() {
        return Ordering::Equal;
    }
    if real >= TWO_POW_63 {
        return Ordering::Less;
    }
    if real < -TWO_POW_63 {
        return Ordering::Greater;
    }
    // In range: the real's integer part is exact as an i64.
    let whole = real.trunc();
    match integer.cmp(&(whole as i64)) {
        Ordering::Equal if real > whole => Ordering::Less,
        Ordering::Equal if real < whole => Ordering::Greater,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::compare_values;
    use crate::value::Value;

    fn to_sqlite(value: &Value) -> rusqlite::types::Value {
        match value {
            Value::Null => rusqlite::types::Value::Null,
            Value::Integer(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(f) => rusqlite::types::Value::Real(*f),
            Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
        }
    }

    /// Every kind of value, and integers and reals that a float conversion would confuse,
    /// sort as real SQLite's ORDER BY sorts them (ties kept in insertion order on both sides).
    #[test]
    fn values_sort_as_sqlite_sorts_them() {
        let values: Vec<Value> = vec![
            Value::Text("b".into()),
            Value::Integer(3),
            Value::Null,
            Value::Real(3.0),
            Value::Blob(vec![1, 2]),
            Value::Integer(9_007_199_254_740_993),
            Value::Real(9_007_199_254_740_992.0),
            Value::Integer(i64::MAX),
            Value::Real(9.3e18),
            Value::Real(1e19),
            Value::Integer(i64::MIN),
            Value::Real(-1e19),
            Value::Real(-9_223_372_036_854_775_808.0),
            Value::Real(-0.5),
            Value::Integer(-1),
            Value::Integer(0),
            Value::Real(2.5),
            Value::Text(String::new()),
            Value::Text("B".into()),
            Value::Text("é".into()),
            Value::Text("ab".into()),
            Value::Blob(Vec::new()),
            Value::Blob(vec![0]),
            Value::Null,
            Value::Text("3".into()),
        ];
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER, v)").unwrap();
        for (n, value) in values.iter().enumerate() {
            conn.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                rusqlite::params![n as i64, to_sqlite(value)],
            )
            .unwrap();
        }
        let expected: Vec<i64> = conn
            .prepare("SELECT n FROM t ORDER BY v, n")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut ours: Vec<(i64, &Value)> = (0..).zip(values.iter()).collect();
        ours.sort_by(|a, b| compare_values(a.1, b.1));
        let ours: Vec<i64> = ours.into_iter().map(|(n, _)| n).collect();
        assert_eq!(ours, expected);
    }
}
