//! Result rows and typed reads of their columns: `row.get::<i64>(0)?`, `query_row`, and
//! `.optional()` for a query that may find nothing.

use crate::error::{Error, Result};
use crate::value::Value;

/// One result row: the column values in select order. Indexes like a slice (`row[0]`) and
/// reads typed values with [`Row::get`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(Vec<Value>);

impl Row {
    /// The column at `index` as `T`: `Error::ColumnIndex` past the last column,
    /// `Error::ColumnType` when the value is not a `T` (NULL is one only for `Option`).
    pub fn get<T: FromSql>(&self, index: usize) -> Result<T> {
        let value = self.0.get(index).ok_or(Error::ColumnIndex {
            index,
            columns: self.0.len(),
        })?;
        T::from_sql(value).ok_or_else(|| Error::ColumnType {
            index,
            wanted: T::SQL_TYPE,
            found: value.type_name(),
        })
    }

    /// The value of the column at `index`, untyped; `None` past the last column.
    pub fn value(&self, index: usize) -> Option<&Value> {
        self.0.get(index)
    }

    /// The column values, taken out of the row.
    pub fn into_values(self) -> Vec<Value> {
        self.0
    }
}

impl From<Vec<Value>> for Row {
    fn from(values: Vec<Value>) -> Self {
        Row(values)
    }
}

impl std::ops::Deref for Row {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

impl IntoIterator for Row {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Row {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq<Vec<Value>> for Row {
    fn eq(&self, other: &Vec<Value>) -> bool {
        &self.0 == other
    }
}

/// A Rust type a column value can be read as (see [`Row::get`]).
pub trait FromSql: Sized {
    /// The SQL type named in `Error::ColumnType` when a value is not one.
    const SQL_TYPE: &'static str;
    /// The value as `Self`, or `None` when it is not one.
    fn from_sql(value: &Value) -> Option<Self>;
}

impl FromSql for i64 {
    const SQL_TYPE: &'static str = "INTEGER";
    fn from_sql(value: &Value) -> Option<Self> {
        value.as_i64()
    }
}

impl FromSql for i32 {
    const SQL_TYPE: &'static str = "INTEGER (32-bit)";
    fn from_sql(value: &Value) -> Option<Self> {
        value.as_i64().and_then(|i| i32::try_from(i).ok())
    }
}

impl FromSql for u64 {
    const SQL_TYPE: &'static str = "INTEGER (not negative)";
    fn from_sql(value: &Value) -> Option<Self> {
        value.as_i64().and_then(|i| u64::try_from(i).ok())
    }
}

impl FromSql for usize {
    const SQL_TYPE: &'static str = "INTEGER (not negative)";
    fn from_sql(value: &Value) -> Option<Self> {
        value.as_i64().and_then(|i| usize::try_from(i).ok())
    }
}

impl FromSql for bool {
    const SQL_TYPE: &'static str = "INTEGER (0 or 1)";
    fn from_sql(value: &Value) -> Option<Self> {
        match value.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        }
    }
}

impl FromSql for f64 {
    const SQL_TYPE: &'static str = "REAL";
    fn from_sql(value: &Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FromSql for String {
    const SQL_TYPE: &'static str = "TEXT";
    fn from_sql(value: &Value) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl FromSql for Vec<u8> {
    const SQL_TYPE: &'static str = "BLOB";
    fn from_sql(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl FromSql for Value {
    const SQL_TYPE: &'static str = "any value";
    fn from_sql(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: FromSql> FromSql for Option<T> {
    const SQL_TYPE: &'static str = T::SQL_TYPE;
    fn from_sql(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

/// `.optional()` on the result of [`query_row`](crate::ReadTxn::query_row): no row becomes
/// `Ok(None)` instead of `Error::NoRows`.
pub trait OptionalExtension<T> {
    /// `Ok(Some(value))` for a row, `Ok(None)` for none, any other error as it was.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_reads_say_what_was_wanted_and_found() {
        let row = Row::from(vec![
            Value::Integer(7),
            Value::Null,
            Value::Text("bd-1".into()),
        ]);
        assert_eq!(row.get::<i64>(0).ok(), Some(7));
        assert_eq!(row.get::<Option<String>>(1).ok(), Some(None));
        assert_eq!(row.get::<String>(2).ok().as_deref(), Some("bd-1"));
        assert!(matches!(
            row.get::<String>(0),
            Err(Error::ColumnType {
                index: 0,
                wanted: "TEXT",
                found: "INTEGER"
            })
        ));
        assert!(matches!(
            row.get::<i64>(1),
            Err(Error::ColumnType { found: "NULL", .. })
        ));
        assert!(matches!(
            row.get::<i64>(3),
            Err(Error::ColumnIndex {
                index: 3,
                columns: 3
            })
        ));
        assert_eq!(row[2], Value::Text("bd-1".into()));
    }

    #[test]
    fn optional_turns_only_no_rows_into_none() {
        assert_eq!(Err::<i64, _>(Error::NoRows).optional().ok(), Some(None));
        assert_eq!(Ok::<_, Error>(3).optional().ok(), Some(Some(3)));
        assert!(Err::<i64, _>(Error::Closed { op: "x" }).optional().is_err());
    }
}
