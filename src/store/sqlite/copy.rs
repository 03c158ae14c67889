//! The SQLite side of [`crate::store::copy`]: a page of rows in key order out, a page upserted
//! in (the source wins), each in the neutral [`Cell`] form.

use rusqlite::types::{Value, ValueRef};

use super::SqliteDb;
use crate::error::Result;
use crate::store::copy::{Cell, Kind, Table, check_row};

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        // No tollbooth column holds a float; keep the bits rather than fail a copy.
        ValueRef::Real(f) => Cell::Int(f as i64),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
    }
}

fn value(c: &Cell, kind: Kind) -> Value {
    match (c, kind) {
        (Cell::Null, _) => Value::Null,
        (Cell::Int(i), _) => Value::Integer(*i),
        (Cell::Text(s), Kind::Bytes) => Value::Blob(s.as_bytes().to_vec()),
        (Cell::Text(s), _) => Value::Text(s.clone()),
        (Cell::Bytes(b), _) => Value::Blob(b.clone()),
    }
}

impl SqliteDb {
    pub(crate) fn copy_out(
        &self,
        t: &Table,
        after: Option<&[Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
        let key: Vec<String> = t.key().iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let cols_sql = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params: Vec<Value> = Vec::new();
        let filter = match after {
            Some(k) => {
                params.extend(k.iter().zip(t.key()).map(|(c, (_, kind))| value(c, *kind)));
                let marks: Vec<String> = (1..=k.len()).map(|i| format!("?{i}")).collect();
                format!("WHERE ({}) > ({})", key.join(", "), marks.join(", "))
            }
            None => String::new(),
        };
        params.push(Value::Integer(i64::from(limit)));
        let sql = format!(
            "SELECT {cols_sql} FROM {} {filter} ORDER BY {} LIMIT ?{}",
            t.name,
            key.join(", "),
            params.len()
        );
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(params), |r| {
            (0..cols.len())
                .map(|i| r.get_ref(i).map(cell))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn copy_in(&mut self, t: &Table, rows: &[Vec<Cell>]) -> Result<u64> {
        for row in rows {
            check_row(t, row)?;
        }
        let cols: Vec<String> = t.columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let key: Vec<&String> = cols[..t.key_len].iter().collect();
        let set: Vec<String> = cols[t.key_len..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
            t.name,
            cols.join(", "),
            marks.join(", "),
            key.iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            set.join(", ")
        );
        let conn = self.conn_mut();
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(&sql)?;
            for row in rows {
                let values = row
                    .iter()
                    .zip(t.columns)
                    .map(|(c, (_, kind))| value(c, *kind));
                st.execute(rusqlite::params_from_iter(values))?;
            }
        }
        tx.commit()?;
        Ok(rows.len() as u64)
    }
}
