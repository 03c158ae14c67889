//! Column values from either kind of row the server sends: a typed row (extended protocol,
//! binary values) or a text row (simple protocol, PostgreSQL's text output).
//!
//! Why both: a batch's read-ahead (`prefetch.rs`) reads its rows in the same simple-protocol
//! round trip as its `BEGIN`, the writer lock and the dedupe, so they arrive as text; every
//! other read is typed. The row decoders (`PgTx::invoice_row` and the rest) are written once
//! over [`Cols`], so a column means the same thing whichever way it came.

use postgres::Row;
use postgres::types::FromSql;

/// A type a decoder reads from a column.
pub(super) trait Col: Sized + for<'a> FromSql<'a> {
    /// The value from its text output (`None`: SQL `NULL`); `None` when it does not parse.
    fn from_text(v: Option<&str>) -> Option<Self>;
}

impl Col for String {
    fn from_text(v: Option<&str>) -> Option<Self> {
        v.map(str::to_owned)
    }
}

impl Col for i64 {
    fn from_text(v: Option<&str>) -> Option<Self> {
        v?.parse().ok()
    }
}

impl Col for bool {
    fn from_text(v: Option<&str>) -> Option<Self> {
        match v? {
            "t" => Some(true),
            "f" => Some(false),
            _ => None,
        }
    }
}

impl<T: Col> Col for Option<T> {
    fn from_text(v: Option<&str>) -> Option<Self> {
        match v {
            None => Some(None),
            Some(_) => T::from_text(v).map(Some),
        }
    }
}

/// Why a column could not be read.
pub(super) enum ColError {
    /// The typed row refused (a type mismatch or a missing column): the driver's error.
    Typed(postgres::Error),
    /// The text row has no such column, or its text does not parse as the type.
    Text(usize),
}

/// A row the decoders read.
pub(super) trait Cols {
    /// Column `i` as `T`.
    fn col<T: Col>(&self, i: usize) -> Result<T, ColError>;
}

impl Cols for Row {
    fn col<T: Col>(&self, i: usize) -> Result<T, ColError> {
        self.try_get(i).map_err(ColError::Typed)
    }
}

/// A row of a simple-protocol result: each column's text, `None` for `NULL`.
pub(super) struct TextRow(pub(super) Vec<Option<String>>);

impl Cols for TextRow {
    fn col<T: Col>(&self, i: usize) -> Result<T, ColError> {
        let v = self.0.get(i).ok_or(ColError::Text(i))?;
        T::from_text(v.as_deref()).ok_or(ColError::Text(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cols: &[Option<&str>]) -> TextRow {
        TextRow(cols.iter().map(|c| c.map(str::to_owned)).collect())
    }

    fn ok<T: Col + PartialEq + std::fmt::Debug>(r: &TextRow, i: usize, want: T) {
        match r.col::<T>(i) {
            Ok(v) => assert_eq!(v, want),
            Err(_) => panic!("column {i} did not read"),
        }
    }

    #[test]
    fn text_columns_read_as_postgresql_writes_them() {
        let r = row(&[Some("in_1"), None, Some("-42"), Some("t"), Some("f"), None]);
        ok(&r, 0, "in_1".to_owned());
        ok::<Option<String>>(&r, 1, None);
        ok(&r, 2, -42i64);
        ok(&r, 2, Some(-42i64));
        ok(&r, 3, true);
        ok(&r, 4, false);
        ok::<Option<bool>>(&r, 5, None);
    }

    #[test]
    fn a_null_where_a_value_must_be_or_text_that_does_not_parse_is_an_error() {
        let r = row(&[None, Some("x"), Some("true")]);
        assert!(r.col::<String>(0).is_err());
        assert!(r.col::<i64>(1).is_err());
        assert!(r.col::<Option<i64>>(1).is_err());
        assert!(r.col::<bool>(2).is_err(), "PostgreSQL writes t or f");
        assert!(r.col::<String>(3).is_err(), "no such column");
    }
}
