//! Conversions between beadstore's values and errors and the engine's.

use std::any::Any;
use std::borrow::Cow;

use turso_core::{CompletionError, LimboError, NonNan, Numeric};

use crate::error::Error;
use crate::value::{Param, Value};

/// The engine's copy of a parameter (it keeps its own text and bytes: the one copy made).
pub(super) fn to_engine(v: &Param<'_>) -> turso_core::Result<turso_core::Value> {
    Ok(match v {
        Param::Null => turso_core::Value::Null,
        Param::Integer(i) => turso_core::Value::Numeric(Numeric::Integer(*i)),
        Param::Real(f) => match NonNan::new(*f) {
            Some(nn) => turso_core::Value::Numeric(Numeric::Float(nn)),
            None => turso_core::Value::Null,
        },
        Param::Text(s) => turso_core::Value::from_text(Cow::Owned(s.as_ref().to_owned())),
        Param::Blob(b) => turso_core::Value::from_slice(b).map_err(|_| LimboError::OutOfMemory)?,
    })
}

pub(super) fn from_engine(v: &turso_core::Value) -> Value {
    match v {
        turso_core::Value::Null => Value::Null,
        turso_core::Value::Numeric(Numeric::Integer(i)) => Value::Integer(*i),
        turso_core::Value::Numeric(Numeric::Float(f)) => Value::Real(f64::from(*f)),
        turso_core::Value::Text(t) => Value::Text(t.as_str().to_owned()),
        turso_core::Value::Blob(b) => Value::Blob(b.clone()),
    }
}

/// Maps an engine error onto beadstore's typed errors, naming the operation and the database.
pub(super) fn map_error(op: &'static str, label: &str, query_only: bool, e: LimboError) -> Error {
    let message = e.to_string();
    match e {
        LimboError::LockingError(_) => Error::Locked {
            op: "open",
            path: label.into(),
            waited_ms: 0,
        },
        LimboError::Busy | LimboError::BusySnapshot | LimboError::TableLocked => Error::Busy { op },
        LimboError::ReadOnly => Error::ReadOnly {
            op,
            path: label.into(),
        },
        LimboError::ParseError(_) if query_only && message.contains("query_only") => {
            Error::ReadOnly {
                op,
                path: label.into(),
            }
        }
        LimboError::Corrupt(_) | LimboError::NotADB | LimboError::Page1NotAlloc => Error::Corrupt {
            op,
            path: label.into(),
            message,
        },
        LimboError::CompletionError(_) if message.contains("short read") => Error::Corrupt {
            op,
            path: label.into(),
            message,
        },
        // The disk refused a write, sync or truncation (full, failing): the OS error, typed.
        LimboError::CompletionError(CompletionError::IOError(kind, io_op)) => Error::Io {
            op: io_op,
            path: label.into(),
            source: std::io::Error::new(kind, message),
        },
        LimboError::CompletionError(CompletionError::ShortWrite) => Error::Io {
            op: "write",
            path: label.into(),
            source: std::io::Error::new(std::io::ErrorKind::WriteZero, message),
        },
        LimboError::Constraint(_) | LimboError::ForeignKeyConstraint(_) => {
            Error::Constraint { op, message }
        }
        _ => Error::Engine {
            op,
            message: format!("{message} (database {label})"),
        },
    }
}

/// Turns a caught engine panic into an error that says what happened.
pub(super) fn panic_error(op: &'static str, label: &str, payload: &Box<dyn Any + Send>) -> Error {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    // The engine gives up (panics) when an fsync fails rather than trust the page cache: that
    // is a disk failure, reported as one.
    if detail.starts_with("fsync error") {
        return Error::Io {
            op: "fsync",
            path: label.into(),
            source: std::io::Error::other(detail),
        };
    }
    Error::Engine {
        op,
        message: format!("engine panicked: {detail}"),
    }
}
