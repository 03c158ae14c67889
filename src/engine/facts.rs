//! What `tollbooth doctor --db` judges, read through the engine: the metrics report (with the
//! delivery history), the firing alerts, the schema version and which mode the stored events
//! are in. Bounded reads only, like the metrics.

use serde::Serialize;

use super::{Alert, Engine, MetricsReport, alerts};
use crate::error::Result;
use crate::event::LivemodeCounts;

/// Newest stored events looked at for the livemode mix.
pub const LIVEMODE_SAMPLE: u32 = 1000;

/// The store's facts at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreFacts {
    /// When they were read.
    pub now: i64,
    /// The database's schema version.
    pub schema_version: i64,
    /// The schema version this build writes.
    pub schema_version_expected: i64,
    /// The metrics report (failure rate, queue, dead jobs, delivery activity).
    pub report: MetricsReport,
    /// Alerts firing under the engine's thresholds.
    pub alerts: Vec<Alert>,
    /// Live and test events among the newest [`LIVEMODE_SAMPLE`] stored events (`None`: the
    /// backend does not count them).
    pub livemode: Option<LivemodeCounts>,
    /// The deployment's livemode setting (`None`: both accepted).
    pub livemode_config: Option<bool>,
}

/// The schema version this build writes for the backend `database` names.
fn expected_schema_version(database: &str) -> i64 {
    #[cfg(feature = "postgres")]
    if crate::store::is_postgres_url(database) {
        return crate::store::postgres::PG_SCHEMA_VERSION;
    }
    let _ = database;
    crate::store::sqlite::SCHEMA_VERSION
}

impl Engine {
    /// Live and test events among the newest [`LIVEMODE_SAMPLE`] stored events (`None`: the
    /// backend does not count them): the store's mode, for doctor and the import guard.
    pub(crate) fn livemode_sample(&self) -> Result<Option<LivemodeCounts>> {
        self.with_store(|s| s.livemode_counts(LIVEMODE_SAMPLE))
    }

    /// Reads the facts `tollbooth doctor` judges the store by.
    pub fn store_facts(&self, now: i64) -> Result<StoreFacts> {
        let report = self.metrics(now)?;
        let schema_version = self.with_store(|s| s.schema_version())?;
        let livemode = self.livemode_sample()?;
        Ok(StoreFacts {
            now,
            schema_version,
            schema_version_expected: expected_schema_version(&self.config.database),
            alerts: alerts(&report, &self.config.alerts),
            report,
            livemode,
            livemode_config: self.config.livemode,
        })
    }
}
