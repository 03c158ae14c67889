//! Keeping a store bounded and safe: prune, backup, and replaying quarantined events.

use tollbooth::retention::Retention;

use crate::engine::{resolve_now, tb_engine};
use crate::results::tb_result;

/// What `tb_engine_prune` removed (see `tollbooth::retention::Pruned`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct tb_pruned {
    /// Event bodies emptied (their ids stay, so redeliveries are still duplicates).
    pub bodies: u64,
    /// Event rows deleted.
    pub events: u64,
    /// Delivery-log rows deleted.
    pub deliveries: u64,
    /// Per-minute delivery-count rows deleted.
    pub delivery_stats: u64,
    /// Finished jobs deleted.
    pub jobs: u64,
    /// Their attempt rows deleted.
    pub job_attempts: u64,
}

/// Drops history older than the given ages in days (0 for a field means its default: bodies
/// 30, event ids 90, delivery log 30, finished jobs 30), in short batches; never billing state,
/// an unfinished job or a quarantined event. `now`: unix seconds or `TB_NOW`.
/// `TB_RESULT_CONFIG_INVALID` for ages that would break dedupe (event ids under 30 days, bodies
/// kept longer than ids). On `TB_RESULT_OK` `*pruned_out` receives the counts.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_prune(
    engine: *const tb_engine,
    body_days: u32,
    event_days: u32,
    delivery_days: u32,
    job_days: u32,
    now: i64,
    pruned_out: *mut tb_pruned,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(pruned_out);
        let d = Retention::default();
        let or = |v: u32, default: u32| if v == 0 { default } else { v };
        let policy = Retention {
            body_days: or(body_days, d.body_days),
            event_days: or(event_days, d.event_days),
            delivery_days: or(delivery_days, d.delivery_days),
            job_days: or(job_days, d.job_days),
        };
        let now = resolve_now(now);
        engine.run(
            |e| e.prune(&policy, now),
            |p| {
                *out = tb_pruned {
                    bodies: p.bodies,
                    events: p.events,
                    deliveries: p.deliveries,
                    delivery_stats: p.delivery_stats,
                    jobs: p.jobs,
                    job_attempts: p.job_attempts,
                }
            },
        )
    }
}

/// Writes a consistent copy of the whole store to the file `path` (UTF-8, `path_len` bytes)
/// while the engine stays in use (SQLite's online backup API).
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_backup(
    engine: *const tb_engine,
    path: *const u8,
    path_len: usize,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let path = try_str!(path, path_len);
        engine.run(|e| e.backup(std::path::Path::new(path)), |()| ())
    }
}

/// Reprocesses every quarantined event (after an upgrade that reads them, or a livemode
/// setting fixed). On `TB_RESULT_OK` `*applied_out` receives how many were applied and
/// `*still_quarantined_out` how many still cannot be read.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_reprocess_quarantined(
    engine: *const tb_engine,
    now: i64,
    applied_out: *mut u64,
    still_quarantined_out: *mut u64,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let applied = try_mut!(applied_out);
        let still = try_mut!(still_quarantined_out);
        let now = resolve_now(now);
        engine.run(
            |e| e.reprocess_quarantined(now),
            |r| {
                *applied = r.applied;
                *still = r.still_quarantined;
            },
        )
    }
}
