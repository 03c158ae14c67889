//! PostgreSQL test plumbing: the server comes from `.ci/postgres.sh` through environment
//! variables. Without them a test prints a notice and passes (a plain `cargo test` needs no
//! server); under CI (`CI=true`) a missing variable fails the test, so the PostgreSQL suite can
//! never silently not run there.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

/// The value of `var`, or `None` (with a notice) when unset outside CI. Panics under CI.
pub fn env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!(
                    "{var} is not set under CI: run the tests inside `bash .ci/postgres.sh run -- ...`"
                );
            }
            eprintln!(
                "note: {var} is not set; skipping (run under .ci/postgres.sh to test PostgreSQL)"
            );
            None
        }
    }
}

/// A schema name no other test (or run) uses.
pub fn fresh_schema(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "tb_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with one more query parameter.
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

/// A fresh schema on the server at `url`, dropped (with everything in it) at the end.
pub struct Schema {
    /// The plain URL (for the cleanup connection).
    admin: String,
    /// The schema name.
    pub name: String,
    /// `url` + `schema=<name>`: what a store opens.
    pub url: String,
}

impl Schema {
    pub fn new(url: &str, admin_url: &str, tag: &str) -> Schema {
        let name = fresh_schema(tag);
        Schema {
            admin: admin_url.to_owned(),
            url: with_param(url, "schema", &name),
            name,
        }
    }

    /// Runs SQL with a plain client (for setting up odd states).
    pub fn sql(&self, sql: &str) {
        let mut c = postgres::Client::connect(&self.admin, postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    }

    /// The plan PostgreSQL chooses for `sql` in this schema with sequential scans discouraged
    /// (tiny test tables would otherwise always be scanned): whether an index can serve it.
    /// The first column of the first row of `sql` (text), run in this schema; `Err` with the
    /// server's message when the statement fails.
    pub fn value(&self, sql: &str) -> Result<String, String> {
        let mut c = postgres::Client::connect(&self.admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {}", self.name))
            .unwrap();
        c.query_one(sql, &[])
            .map(|r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())
    }

    pub fn plan(&self, sql: &str) -> String {
        let mut c = postgres::Client::connect(&self.admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "SET search_path TO {}; SET enable_seqscan = off",
            self.name
        ))
        .unwrap();
        c.query(&format!("EXPLAIN {sql}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
