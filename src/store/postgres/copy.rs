//! The PostgreSQL side of [`crate::store::copy`]: a page of rows in key order out, a page
//! upserted in (the source wins), each in the neutral [`Cell`] form.
//!
//! Copied rows keep their ids (jobs, delivery log), so the identity columns are written with
//! `OVERRIDING SYSTEM VALUE` and their sequences moved past the highest id afterwards: rows the
//! app writes after the copy never collide with copied ones.

use postgres::types::{ToSql, Type};

use super::PgStore;
use super::tx::PgTx;
use crate::error::Result;
use crate::store::copy::{Cell, Kind, Table, check_row};

/// Tables whose `id` is an identity column.
const IDENTITY: &[&str] = &["jobs", "deliveries"];

fn pg_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Bool => Type::BOOL,
        Kind::Text => Type::TEXT,
        Kind::Bytes => Type::BYTEA,
    }
}

/// A cell as a parameter of the column's type.
fn param(c: &Cell, kind: Kind) -> Box<dyn ToSql + Sync> {
    match (c, kind) {
        (Cell::Null, Kind::Int) => Box::new(None::<i64>),
        (Cell::Null, Kind::Bool) => Box::new(None::<bool>),
        (Cell::Null, Kind::Text) => Box::new(None::<String>),
        (Cell::Null, Kind::Bytes) => Box::new(None::<Vec<u8>>),
        (Cell::Int(i), Kind::Bool) => Box::new(*i != 0),
        (Cell::Int(i), Kind::Text) => Box::new(i.to_string()),
        (Cell::Int(i), _) => Box::new(*i),
        (Cell::Text(s), Kind::Bytes) => Box::new(s.as_bytes().to_vec()),
        (Cell::Text(s), Kind::Int | Kind::Bool) => Box::new(s.parse::<i64>().ok()),
        (Cell::Text(s), Kind::Text) => Box::new(s.clone()),
        (Cell::Bytes(b), Kind::Text) => Box::new(String::from_utf8_lossy(b).into_owned()),
        (Cell::Bytes(b), _) => Box::new(b.clone()),
    }
}

fn read_cell(tx: &mut PgTx<'_>, r: &postgres::Row, i: usize, kind: Kind) -> Result<Cell> {
    Ok(match kind {
        Kind::Int => tx.get::<Option<i64>>(r, i)?.map_or(Cell::Null, Cell::Int),
        Kind::Bool => tx
            .get::<Option<bool>>(r, i)?
            .map_or(Cell::Null, |b| Cell::Int(i64::from(b))),
        Kind::Text => tx
            .get::<Option<String>>(r, i)?
            .map_or(Cell::Null, Cell::Text),
        Kind::Bytes => tx
            .get::<Option<Vec<u8>>>(r, i)?
            .map_or(Cell::Null, Cell::Bytes),
    })
}

fn quoted(t: &Table, range: std::ops::Range<usize>) -> Vec<String> {
    t.columns[range]
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect()
}

impl PgStore {
    /// Up to `limit` rows of `t` in key order after `after`.
    pub fn copy_out(
        &self,
        t: &Table,
        after: Option<&[Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        let cols = quoted(t, 0..t.columns.len()).join(", ");
        let key = quoted(t, 0..t.key_len).join(", ");
        let mut params: Vec<(Box<dyn ToSql + Sync>, Type)> = Vec::new();
        let filter = match after {
            Some(k) => {
                for (c, (_, kind)) in k.iter().zip(t.key()) {
                    params.push((param(c, *kind), pg_type(*kind)));
                }
                let marks: Vec<String> = (1..=k.len()).map(|i| format!("${i}")).collect();
                format!("WHERE ({key}) > ({})", marks.join(", "))
            }
            None => String::new(),
        };
        params.push((Box::new(i64::from(limit)), Type::INT8));
        let sql = format!(
            "SELECT {cols} FROM {} {filter} ORDER BY {key} LIMIT ${}",
            t.name,
            params.len()
        );
        self.read(|tx| {
            let p: Vec<(&(dyn ToSql + Sync), Type)> = params
                .iter()
                .map(|(v, ty)| (v.as_ref(), ty.clone()))
                .collect();
            let rows = tx.rows(&sql, &p)?;
            rows.iter()
                .map(|r| {
                    t.columns
                        .iter()
                        .enumerate()
                        .map(|(i, (_, kind))| read_cell(tx, r, i, *kind))
                        .collect()
                })
                .collect()
        })
    }

    /// Upserts `rows` into `t` in one write transaction (the copied row wins).
    pub fn copy_in(&self, t: &Table, rows: &[Vec<Cell>]) -> Result<u64> {
        for row in rows {
            check_row(t, row)?;
        }
        let cols = quoted(t, 0..t.columns.len());
        let key = quoted(t, 0..t.key_len).join(", ");
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let set: Vec<String> = cols[t.key_len..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let identity = IDENTITY.contains(&t.name);
        let sql = format!(
            "INSERT INTO {} ({}) {} VALUES ({}) ON CONFLICT ({key}) DO UPDATE SET {}",
            t.name,
            cols.join(", "),
            if identity {
                "OVERRIDING SYSTEM VALUE"
            } else {
                ""
            },
            marks.join(", "),
            set.join(", ")
        );
        let values: Vec<Vec<(Box<dyn ToSql + Sync>, Type)>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(t.columns)
                    .map(|(c, (_, kind))| (param(c, *kind), pg_type(*kind)))
                    .collect()
            })
            .collect();
        self.write(|tx| {
            for row in &values {
                let p: Vec<(&(dyn ToSql + Sync), Type)> =
                    row.iter().map(|(v, ty)| (v.as_ref(), ty.clone())).collect();
                tx.exec(&sql, &p)?;
            }
            if identity {
                tx.row(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                         greatest((SELECT max(id) FROM {0}), 1))",
                        t.name
                    ),
                    &[],
                )?;
            }
            Ok(())
        })?;
        Ok(rows.len() as u64)
    }
}
