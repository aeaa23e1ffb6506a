//! SQL values passed to and read from the database, independent of the engine's own types.

use std::borrow::Cow;

use crate::row::Row;

/// One SQL value: what a parameter binds and what a result column holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A floating point number (NaN is stored as NULL, as SQLite does).
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// The integer, if this value is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, if this value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The number as a float, if this value is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Real(f) => Some(*f),
            _ => None,
        }
    }

    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The SQL type of the value: `NULL`, `INTEGER`, `REAL`, `TEXT` or `BLOB`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "INTEGER",
            Value::Real(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A SQL parameter: a value to bind, borrowing what it can (a `&str`, a `&String`, a `&[u8]`,
/// a `&Value`) and owning what it is given (a `String`, a `Vec<u8>`), so building a parameter
/// list copies no text. The copy the engine needs is made once, when it is bound.
#[derive(Debug, Clone, PartialEq)]
pub enum Param<'a> {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A floating point number (NaN binds as NULL, as SQLite does).
    Real(f64),
    /// UTF-8 text.
    Text(Cow<'a, str>),
    /// Raw bytes.
    Blob(Cow<'a, [u8]>),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Integer(v)
    }
}
impl From<i32> for Param<'_> {
    fn from(v: i32) -> Self {
        Param::Integer(v.into())
    }
}
impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Param::Integer(v.into())
    }
}
impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Integer(v.into())
    }
}
impl From<f64> for Param<'_> {
    fn from(v: f64) -> Self {
        Param::Real(v)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Param<'_> {
    fn from(v: String) -> Self {
        Param::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Blob(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Param<'_> {
    fn from(v: Vec<u8>) -> Self {
        Param::Blob(Cow::Owned(v))
    }
}
impl<'a> From<&'a Value> for Param<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => Param::Null,
            Value::Integer(i) => Param::Integer(*i),
            Value::Real(f) => Param::Real(*f),
            Value::Text(s) => Param::Text(Cow::Borrowed(s)),
            Value::Blob(b) => Param::Blob(Cow::Borrowed(b)),
        }
    }
}
impl From<Value> for Param<'_> {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Param::Null,
            Value::Integer(i) => Param::Integer(i),
            Value::Real(f) => Param::Real(f),
            Value::Text(s) => Param::Text(Cow::Owned(s)),
            Value::Blob(b) => Param::Blob(Cow::Owned(b)),
        }
    }
}
impl<'a, T: Into<Param<'a>>> From<Option<T>> for Param<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// Builds a parameter list from heterogeneous values, borrowing where it can:
/// `&params![id, 3, None::<String>]`. It is an array: pass it by reference.
#[macro_export]
macro_rules! params {
    () => {{
        let none: [$crate::Param<'static>; 0] = [];
        none
    }};
    ($($v:expr),+ $(,)?) => { [$($crate::Param::from($v)),+] };
}

/// The integer in the first column of the first row (what `SELECT count(*)` returns).
pub(crate) fn first_i64(rows: &[Row]) -> Option<i64> {
    rows.first().and_then(|r| r.first()).and_then(Value::as_i64)
}

/// The text in the first column of the first row.
pub(crate) fn first_text(rows: Vec<Row>) -> Option<String> {
    column_texts(rows, 0).into_iter().next()
}

/// The texts in the first two columns of every row, as pairs (an edge, an issue and its
/// label); rows where either is not text are skipped.
pub(crate) fn text_pairs(rows: Vec<Row>) -> impl Iterator<Item = (String, String)> {
    rows.into_iter().filter_map(|row| {
        let mut columns = row.into_iter();
        match (columns.next(), columns.next()) {
            (Some(Value::Text(a)), Some(Value::Text(b))) => Some((a, b)),
            _ => None,
        }
    })
}

/// The text in column `index` of every row; rows where it is not text are skipped.
pub(crate) fn column_texts(rows: Vec<Row>, index: usize) -> Vec<String> {
    rows.into_iter()
        .filter_map(|r| match r.into_iter().nth(index) {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        })
        .collect()
}
