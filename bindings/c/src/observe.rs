//! Observability: metrics JSON, Prometheus text, health JSON.

use crate::engine::{resolve_now, tb_engine};
use crate::results::tb_result;
use crate::strings::{new_string, tb_string};

/// Which report `observe` renders.
enum Report {
    MetricsJson,
    Prometheus,
    HealthJson,
}

/// The body of the three exported functions, which differ only in `report`.
fn observe(
    engine: *const tb_engine,
    report: Report,
    now: i64,
    out: *mut *mut tb_string,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(out);
        let now = resolve_now(now);
        engine.run(
            |e| match report {
                Report::MetricsJson => e.metrics_json(now),
                Report::Prometheus => e.prometheus(now),
                Report::HealthJson => e.health_json(now),
            },
            |text| *out = new_string(text),
        )
    }
}

/// The metrics report at `now` (unix seconds, or `TB_NOW`) as a JSON object: deliveries by
/// outcome, rejections by code, latency quantiles, failure rate over the window, queue depth
/// per job kind, dead jobs.
///
/// On `TB_RESULT_OK` `*json_out` receives a new `tb_string` that the caller owns and must
/// release with `tb_string_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_metrics_json(
    engine: *const tb_engine,
    now: i64,
    json_out: *mut *mut tb_string,
) -> tb_result {
    observe(engine, Report::MetricsJson, now, json_out)
}

/// The same report in the Prometheus text exposition format (0.0.4), for a metrics route
/// (`Content-Type: text/plain; version=0.0.4`).
///
/// On `TB_RESULT_OK` `*text_out` receives a new `tb_string` that the caller owns and must
/// release with `tb_string_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_prometheus(
    engine: *const tb_engine,
    now: i64,
    text_out: *mut *mut tb_string,
) -> tb_result {
    observe(engine, Report::Prometheus, now, text_out)
}

/// Health at `now` as a JSON object (`{"ok": bool, "alerts": [...], ...}`), for a health
/// check route.
///
/// On `TB_RESULT_OK` `*json_out` receives a new `tb_string` that the caller owns and must
/// release with `tb_string_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_health_json(
    engine: *const tb_engine,
    now: i64,
    json_out: *mut *mut tb_string,
) -> tb_result {
    observe(engine, Report::HealthJson, now, json_out)
}
