//! Versioned migrations (`migrations/NNNN_name.sql`), applied at open.
//!
//! Safe when many processes cold-start at once: the migrating transaction first takes a
//! transaction-scoped advisory lock for the schema (pooler-safe, released by COMMIT), then
//! reads the version, so exactly one process applies each migration and the others wait for
//! it and find nothing left to do. A process that finds the schema current skips the lock
//! (one read). A schema newer than this build is refused with `STORE_SCHEMA_TOO_NEW`.

use super::tx::{INT8, TEXT};
use super::{MIGRATE_LOCK, PG_SCHEMA_VERSION, PgStore, errors};
use crate::error::{Error, ErrorCode, Result};

/// `(name, sql)` in order; the version of a migration is its position, from 1.
pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    (
        "0002_quarantine",
        include_str!("migrations/0002_quarantine.sql"),
    ),
    (
        "0003_delivery_stats",
        include_str!("migrations/0003_delivery_stats.sql"),
    ),
    (
        "0004_stripe_api",
        include_str!("migrations/0004_stripe_api.sql"),
    ),
    (
        "0005_billing_model",
        include_str!("migrations/0005_billing_model.sql"),
    ),
    (
        "0006_events_received",
        include_str!("migrations/0006_events_received.sql"),
    ),
    (
        "0007_payments",
        include_str!("migrations/0007_payments.sql"),
    ),
    (
        "0008_trial_end_behavior",
        include_str!("migrations/0008_trial_end_behavior.sql"),
    ),
    (
        "0009_lz4_bodies",
        include_str!("migrations/0009_lz4_bodies.sql"),
    ),
];

/// Migrations may rewrite large tables: their transaction gets a longer statement timeout
/// (and so do the processes waiting for the migration lock).
const MIGRATION_TIMEOUT_MS: u64 = 600_000;

fn too_new(version: i64) -> Error {
    Error::new(
        ErrorCode::StoreSchemaTooNew,
        format!(
            "PostgreSQL schema v{version} is newer than this build's v{PG_SCHEMA_VERSION}; upgrade tollbooth"
        ),
    )
}

/// Brings the schema up to date; returns how many migrations this call applied.
pub(super) fn run(store: &PgStore) -> Result<usize> {
    let schema = store.schema().to_owned();
    // Fast path: the schema exists and is current (the usual cold start). One read.
    match current_version(store, &schema)? {
        Some(v) if v > PG_SCHEMA_VERSION => return Err(too_new(v)),
        Some(v) if v == PG_SCHEMA_VERSION => return Ok(0),
        _ => {}
    }

    let mut conn = store.pool.get()?;
    let client = conn.client();
    let begin = format!(
        "BEGIN; SET LOCAL statement_timeout = {MIGRATION_TIMEOUT_MS}; \
         SELECT pg_advisory_xact_lock({MIGRATE_LOCK}, hashtext('{schema}')); \
         CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path = {schema}; \
         CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)"
    );
    match apply_pending(client, &begin) {
        Ok(r) => r,
        Err(e) => {
            if errors::kind(&e) == errors::Kind::Broken
                || conn.client().batch_execute("ROLLBACK").is_err()
            {
                conn.mark_broken();
            }
            let err = errors::map(&e);
            Err(Error::new(
                match err.code() {
                    ErrorCode::StoreUnavailable | ErrorCode::StoreTimeout => err.code(),
                    _ => ErrorCode::StoreOpenFailed,
                },
                format!("migrating schema {schema}: {}", err.message()),
            ))
        }
    }
}

/// The schema's version, or `None` when it has no migrations table yet: one read.
fn current_version(store: &PgStore, schema: &str) -> Result<Option<i64>> {
    store.read(|tx| {
        let row = tx.row(
            "SELECT to_regclass($1)::text",
            &[(&format!("{schema}.schema_migrations"), TEXT)],
        )?;
        let exists: Option<String> = match row {
            Some(r) => tx.get(&r, 0)?,
            None => None,
        };
        if exists.is_none() {
            return Ok(None);
        }
        tx.schema_version().map(Some)
    })
}

/// Under the migration lock (`begin`), applies the migrations the schema lacks and commits;
/// a schema newer than this build is rolled back and refused. The outer error is the
/// connection's (the caller rolls back or drops it), the inner one the answer.
fn apply_pending(
    client: &mut postgres::Client,
    begin: &str,
) -> std::result::Result<Result<usize>, postgres::Error> {
    client.batch_execute(begin)?;
    let version: i64 = client
        .query_typed(
            "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations",
            &[],
        )?
        .first()
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    if version > PG_SCHEMA_VERSION {
        client.batch_execute("ROLLBACK")?;
        return Ok(Err(too_new(version)));
    }
    let mut applied = 0;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        client.batch_execute(sql)?;
        let v = (i + 1) as i64;
        client.execute_typed(
            "INSERT INTO schema_migrations (version, name, applied_at) \
             VALUES ($1, $2, extract(epoch FROM now())::int8)",
            &[(&v, INT8), (name, TEXT)],
        )?;
        applied += 1;
    }
    client.batch_execute("COMMIT")?;
    Ok(Ok(applied))
}
