//! The backends a store-level suite runs on: SQLite always; PostgreSQL (a fresh schema per
//! database) when `.ci/postgres.sh` exported `TOLLBOOTH_TEST_POSTGRES` (required under CI),
//! and the same server through PgBouncer in transaction mode for [`with_pooler`].
//!
//! A suite loops `for b in backends() { let e = b.engine(); ... }`: the same assertions on
//! every store, never a forked copy.
#![allow(dead_code)]

use std::sync::Mutex;

use tollbooth::{Config, Engine};

use super::SECRET;

/// One backend of a test run; keeps every database it made alive until it is dropped.
pub struct Backend {
    /// `sqlite`, `postgres` or `pgbouncer` (for messages).
    pub name: &'static str,
    /// `(url, admin url)` for PostgreSQL.
    pg: Option<(String, String)>,
    keep: Mutex<Vec<Box<dyn Send>>>,
}

impl Backend {
    fn sqlite() -> Backend {
        Backend {
            name: "sqlite",
            pg: None,
            keep: Mutex::new(Vec::new()),
        }
    }

    /// Whether this is a PostgreSQL backend.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// A new, empty database string: a SQLite file in its own temp dir, or a fresh
    /// PostgreSQL schema (dropped when the backend is).
    pub fn fresh_db(&self) -> String {
        match &self.pg {
            None => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("t.db").to_str().unwrap().to_owned();
                self.keep.lock().unwrap().push(Box::new(dir));
                path
            }
            #[cfg(feature = "postgres")]
            Some((url, admin)) => {
                let s = super::pg::Schema::new(url, admin, self.name);
                let db = s.url.clone();
                self.keep.lock().unwrap().push(Box::new(s));
                db
            }
            #[cfg(not(feature = "postgres"))]
            Some(_) => unreachable!("PostgreSQL backends exist only with the postgres feature"),
        }
    }

    /// A config on a new database (SQLite: in memory, as the single-backend tests had it).
    pub fn config(&self) -> Config {
        let db = if self.is_postgres() {
            self.fresh_db()
        } else {
            ":memory:".to_owned()
        };
        Config::new(db, &[SECRET]).unwrap()
    }

    /// Runs a `SELECT <one bigint>` directly on a database this backend made (for checks the
    /// engine API does not expose, e.g. "no half transaction survived").
    pub fn count(&self, db: &str, sql: &str) -> i64 {
        match &self.pg {
            None => rusqlite::Connection::open(db)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            #[cfg(feature = "postgres")]
            Some((_, admin)) => pg_admin(admin, db).query_one(sql, &[]).unwrap().get(0),
            #[cfg(not(feature = "postgres"))]
            Some(_) => unreachable!(),
        }
    }

    /// Runs statements directly on a database this backend made (a test's own trigger).
    pub fn execute(&self, db: &str, sql: &str) {
        match &self.pg {
            None => rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            #[cfg(feature = "postgres")]
            Some((_, admin)) => pg_admin(admin, db).batch_execute(sql).unwrap(),
            #[cfg(not(feature = "postgres"))]
            Some(_) => unreachable!(),
        }
    }

    /// An engine on a new database.
    pub fn engine(&self) -> Engine {
        Engine::open(self.config()).unwrap()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // Databases go after every engine that used them (engines live inside the loop body).
        self.keep.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// An admin connection to the schema of `db` (a URL this backend made).
#[cfg(feature = "postgres")]
fn pg_admin(admin: &str, db: &str) -> postgres::Client {
    let schema = db.rsplit_once("schema=").unwrap().1;
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("SET search_path TO {schema}"))
        .unwrap();
    c
}

fn postgres(var: &str, name: &'static str) -> Option<Backend> {
    #[cfg(feature = "postgres")]
    {
        let url = super::pg::env(var)?;
        let admin = super::pg::env("TOLLBOOTH_TEST_POSTGRES")?;
        Some(Backend {
            name,
            pg: Some((url, admin)),
            keep: Mutex::new(Vec::new()),
        })
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (var, name);
        None
    }
}

/// SQLite, and PostgreSQL when the harness provides it.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::sqlite()];
    v.extend(postgres("TOLLBOOTH_TEST_POSTGRES", "postgres"));
    v
}

/// [`backends`] plus PostgreSQL through PgBouncer in transaction mode.
pub fn with_pooler() -> Vec<Backend> {
    let mut v = backends();
    if v.len() > 1 {
        v.extend(postgres("TOLLBOOTH_TEST_PGBOUNCER", "pgbouncer"));
    }
    v
}
