//! SQL values passed to and read from the database, independent of the engine's own types.

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

/// One result row: the column values in select order.
pub type Row = Vec<Value>;

/// Builds a parameter list from heterogeneous values: `params![id, 3, None::<String>]`.
#[macro_export]
macro_rules! params {
    () => { ::std::vec::Vec::<$crate::Value>::new() };
    ($($v:expr),+ $(,)?) => { ::std::vec![$($crate::Value::from($v)),+] };
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
