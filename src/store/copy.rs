//! `copy`: move a whole store to another backend (SQLite to PostgreSQL when a founder outgrows
//! one machine, and back), with every event and raw body, watermark, user link, job (state and
//! attempts) and delivery-log row intact.
//!
//! The tables are described once here, by column and logical [`Kind`]; each backend reads a
//! page of rows in key order ([`Store::copy_out`]) and upserts a page ([`Store::copy_in`]) in
//! that neutral form, so neither backend knows the other. Copying is idempotent: rows are keyed,
//! the source wins, and running it again (say, after the app wrote more to the source) brings
//! the destination up to date. [`copy`] then compares a digest of every table on both sides.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Store;
use crate::error::{Error, ErrorCode, Result};

/// A column's logical type: how a value travels between backends (SQLite stores a boolean as
/// an integer, PostgreSQL as `BOOLEAN`; both read it back as [`Cell::Int`] 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 64-bit integer.
    Int,
    /// A flag.
    Bool,
    /// UTF-8 text.
    Text,
    /// Raw bytes (event bodies).
    Bytes,
}

/// One value in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer, or a flag as 0 / 1.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A table as copy sees it.
#[derive(Debug)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Columns, key columns first.
    pub columns: &'static [(&'static str, Kind)],
    /// How many leading columns form the primary key (the page order).
    pub key_len: usize,
}

impl Table {
    /// The key columns.
    pub fn key(&self) -> &'static [(&'static str, Kind)] {
        &self.columns[..self.key_len]
    }
}

use Kind::{Bool, Bytes, Int, Text};

/// Every table, parents before children (`job_attempts` after `jobs`).
pub const TABLES: &[Table] = &[
    Table {
        name: "events",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("type", Text),
            ("created", Int),
            ("livemode", Bool),
            ("api_version", Text),
            ("account", Text),
            ("object_id", Text),
            ("customer_id", Text),
            ("outcome", Text),
            ("received_at", Int),
            ("body", Bytes),
            ("error_code", Text),
        ],
    },
    Table {
        name: "customers",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("email", Text),
            ("name", Text),
            ("deleted", Bool),
            ("wm_event", Text),
            ("wm_created", Int),
            ("wm_snapshot", Bool),
            ("user_id", Text),
            ("user_created", Int),
            ("account", Text),
            ("has_payment_method", Bool),
        ],
    },
    Table {
        name: "subscriptions",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("customer_id", Text),
            ("status", Text),
            ("status_since", Int),
            ("price_id", Text),
            ("product_id", Text),
            ("current_period_end", Int),
            ("cancel_at_period_end", Bool),
            ("cancel_at", Int),
            ("canceled_at", Int),
            ("ended_at", Int),
            ("trial_end", Int),
            ("wm_event", Text),
            ("wm_created", Int),
            ("wm_snapshot", Bool),
            ("items", Text),
            ("trial_missing_payment_method", Text),
            ("has_payment_method", Bool),
        ],
    },
    Table {
        name: "purchases",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("customer_id", Text),
            ("user_id", Text),
            ("checkout_session_id", Text),
            ("items", Text),
            ("amount", Int),
            ("currency", Text),
            ("purchase", Bool),
            ("paid_at", Int),
            ("refunded_at", Int),
            ("amount_refunded", Int),
        ],
    },
    Table {
        name: "customer_features",
        key_len: 1,
        columns: &[
            ("customer_id", Text),
            ("features", Text),
            ("wm_event", Text),
            ("wm_created", Int),
            ("wm_snapshot", Bool),
        ],
    },
    Table {
        name: "invoices",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("customer_id", Text),
            ("subscription_id", Text),
            ("number", Text),
            ("status", Text),
            ("amount_due", Int),
            ("amount_paid", Int),
            ("amount_remaining", Int),
            ("currency", Text),
            ("hosted_invoice_url", Text),
            ("invoice_pdf", Text),
            ("attempt_count", Int),
            ("next_payment_attempt", Int),
            ("created", Int),
            ("billing_reason", Text),
            ("wm_event", Text),
            ("wm_created", Int),
            ("wm_snapshot", Bool),
        ],
    },
    Table {
        name: "checkout_sessions",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("customer_id", Text),
            ("user_id", Text),
            ("mode", Text),
            ("status", Text),
            ("payment_status", Text),
            ("state", Text),
            ("subscription_id", Text),
            ("wm_event", Text),
            ("wm_created", Int),
            ("wm_snapshot", Bool),
        ],
    },
    Table {
        name: "jobs",
        key_len: 1,
        columns: &[
            ("id", Int),
            ("kind", Text),
            ("key", Text),
            ("customer_id", Text),
            ("coalesce", Bool),
            ("state", Text),
            ("payload", Text),
            ("attempts", Int),
            ("run_at", Int),
            ("lease_until", Int),
            ("lease_token", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("last_error", Text),
            ("event_id", Text),
            ("queue", Text),
        ],
    },
    Table {
        name: "job_attempts",
        key_len: 2,
        columns: &[
            ("job_id", Int),
            ("attempt", Int),
            ("started_at", Int),
            ("finished_at", Int),
            ("outcome", Text),
            ("error", Text),
        ],
    },
    Table {
        name: "deliveries",
        key_len: 1,
        columns: &[
            ("id", Int),
            ("at", Int),
            ("outcome", Text),
            ("reason", Text),
            ("event_id", Text),
            ("event_type", Text),
            ("body_bytes", Int),
            ("latency_us", Int),
            ("lag_s", Int),
            ("secret_index", Int),
        ],
    },
    Table {
        name: "stripe_sync_cursors",
        key_len: 1,
        columns: &[
            ("stream", Text),
            ("scope", Text),
            ("starting_after", Text),
            ("applied", Int),
            ("started_at", Int),
            ("updated_at", Int),
            ("completed_at", Int),
        ],
    },
    Table {
        name: "stripe_catalog",
        key_len: 1,
        columns: &[
            ("id", Text),
            ("object", Text),
            ("active", Bool),
            ("name", Text),
            ("product_id", Text),
            ("unit_amount", Int),
            ("currency", Text),
            ("recurring_interval", Text),
            ("fetched_at", Int),
        ],
    },
    Table {
        name: "payment_refs",
        key_len: 1,
        columns: &[("id", Text), ("customer_id", Text), ("created", Int)],
    },
    Table {
        name: "orphan_jobs",
        key_len: 2,
        columns: &[("ref_id", Text), ("job_id", Int)],
    },
    Table {
        name: "payment_actions",
        key_len: 1,
        columns: &[
            ("invoice_id", Text),
            ("customer_id", Text),
            ("created", Int),
        ],
    },
    // The throttles themselves; their claim log is a sliding window that refills on its own.
    Table {
        name: "job_throttles",
        key_len: 1,
        columns: &[
            ("kind", Text),
            ("max_claims", Int),
            ("period_secs", Int),
            ("burst", Int),
        ],
    },
];

/// Rows per page: bounded memory whatever the store's size (event bodies are a few KB).
pub const PAGE_ROWS: u32 = 500;

/// What [`copy`] did to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCopied {
    /// Table name.
    pub table: &'static str,
    /// Rows read from the source and written to the destination.
    pub rows: u64,
    /// Whether both sides now hold exactly the same rows (compared by digest).
    pub verified: bool,
}

/// Copies every table of `from` into `to`, page by page, then verifies each table by digest.
/// `progress` is called after each page with the table and the rows copied so far.
pub fn copy(
    from: &dyn Store,
    to: &dyn Store,
    mut progress: impl FnMut(&'static str, u64),
) -> Result<Vec<TableCopied>> {
    from.flush_deliveries()?;
    let mut out = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut rows = 0u64;
        let mut after: Option<Vec<Cell>> = None;
        loop {
            let page = from.copy_out(table, after.as_deref(), PAGE_ROWS)?;
            let Some(last) = page.last() else { break };
            after = Some(last[..table.key_len].to_vec());
            to.copy_in(table, &page)?;
            rows += page.len() as u64;
            progress(table.name, rows);
            if page.len() < PAGE_ROWS as usize {
                break;
            }
        }
        let verified = digest(from, table)? == digest(to, table)?;
        out.push(TableCopied {
            table: table.name,
            rows,
            verified,
        });
    }
    Ok(out)
}

/// A table's row count and a SHA-256 over its rows in key order, the same for the same rows
/// whatever the backend.
pub fn digest(store: &dyn Store, table: &Table) -> Result<(u64, [u8; 32])> {
    let mut h = Sha256::new();
    let mut n = 0u64;
    let mut after: Option<Vec<Cell>> = None;
    loop {
        let page = store.copy_out(table, after.as_deref(), PAGE_ROWS)?;
        let Some(last) = page.last() else { break };
        after = Some(last[..table.key_len].to_vec());
        for row in &page {
            n += 1;
            for cell in row {
                match cell {
                    Cell::Null => h.update([0u8]),
                    Cell::Int(i) => {
                        h.update([1u8]);
                        h.update(i.to_le_bytes());
                    }
                    Cell::Text(s) => {
                        h.update([2u8]);
                        h.update((s.len() as u64).to_le_bytes());
                        h.update(s.as_bytes());
                    }
                    Cell::Bytes(b) => {
                        h.update([3u8]);
                        h.update((b.len() as u64).to_le_bytes());
                        h.update(b);
                    }
                }
            }
        }
        if page.len() < PAGE_ROWS as usize {
            break;
        }
    }
    Ok((n, h.finalize().into()))
}

/// Checks that a row has one cell per column (a backend bug otherwise).
pub fn check_row(table: &Table, row: &[Cell]) -> Result<()> {
    if row.len() == table.columns.len() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "a {} row has {} values, not {}",
                table.name,
                row.len(),
                table.columns.len()
            ),
        ))
    }
}
