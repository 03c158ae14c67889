//! [`Store`] for [`PgStore`]: the trait the engine holds, delegating to the inherent methods
//! (which tests also call directly).

use super::PgStore;
use crate::billing::{CheckoutRow, CustomerRow, PurchaseRecord, SubscriptionView};
use crate::deliveries::{Delivery, DeliveryCounts};
use crate::error::Result;
use crate::event::{EventFilter, EventRow, InvoiceRecord};
use crate::outbox::{
    ClaimRequest, ClaimedJob, FailOutcome, FailedAttempt, Job, JobAttempt, JobFilter, JobThrottle,
    KindStats,
};
use crate::retention::{Cutoffs, Pruned};
use crate::store::{Store, StoreTx};
use crate::sync_state::{CatalogEntry, SyncCursor, SyncPage};

impl Store for PgStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        PgStore::write(self, |tx| f(tx))
    }
    fn event_exists(&self, id: &str) -> Result<bool> {
        PgStore::event_exists(self, id)
    }
    fn log_delivery_now(&self, d: &Delivery) -> Result<()> {
        PgStore::log_delivery_now(self, d)
    }
    fn buffer_delivery(&self, d: Delivery, now: i64) -> usize {
        PgStore::buffer_delivery(self, d, now)
    }
    fn try_write(&self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        PgStore::try_write(self, |tx| f(tx))
    }
    fn flush_deliveries(&self) -> Result<()> {
        PgStore::flush_deliveries(self)
    }
    fn try_flush_deliveries(&self) -> Result<()> {
        PgStore::try_flush_deliveries(self)
    }
    fn delivery_rows_folded(&self) -> u64 {
        self.pending().folded()
    }
    fn customer(&self, id: &str) -> Result<Option<CustomerRow>> {
        PgStore::customer(self, id)
    }
    fn customer_for_user(&self, user_id: &str) -> Result<Option<CustomerRow>> {
        PgStore::customer_for_user(self, user_id)
    }
    fn customer_for_email(&self, email: &str) -> Result<Option<CustomerRow>> {
        PgStore::customer_for_email(self, email)
    }
    fn customer_for_user_in(&self, account: &str, user_id: &str) -> Result<Option<CustomerRow>> {
        PgStore::customer_for_user_in(self, account, user_id)
    }
    fn subscriptions(&self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        PgStore::subscriptions(self, customer_id)
    }
    fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>> {
        PgStore::invoices(self, customer_id)
    }
    fn checkout(&self, id: &str) -> Result<Option<CheckoutRow>> {
        PgStore::checkout(self, id)
    }
    fn purchases(
        &self,
        customer_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<PurchaseRecord>> {
        PgStore::purchases(self, customer_id, user_id)
    }
    fn features(&self, customer_id: &str) -> Result<Vec<String>> {
        PgStore::features(self, customer_id)
    }
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        PgStore::events(self, filter)
    }
    fn event_body(&self, id: &str) -> Result<Option<Vec<u8>>> {
        PgStore::event_body(self, id)
    }
    fn quarantined_count(&self) -> Result<u64> {
        PgStore::quarantined_count(self)
    }
    fn payment_actions(&self, customer_id: &str) -> Result<Vec<crate::billing::PaymentAction>> {
        PgStore::payment_actions(self, customer_id)
    }
    fn prune(&self, cutoffs: &Cutoffs, batch: u32) -> Result<Pruned> {
        PgStore::prune(self, cutoffs, batch)
    }
    fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        PgStore::jobs(self, filter)
    }
    fn job(&self, id: i64) -> Result<Job> {
        PgStore::job(self, id)
    }
    fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
        PgStore::job_attempts(self, id)
    }
    fn claim(&self, request: &ClaimRequest<'_>, now: i64) -> Result<Vec<ClaimedJob>> {
        PgStore::claim(self, request, now)
    }
    fn complete(&self, id: i64, lease_token: i64, now: i64) -> Result<()> {
        PgStore::complete(self, id, lease_token, now)
    }
    fn fail(&self, attempt: &FailedAttempt<'_>, now: i64) -> Result<FailOutcome> {
        PgStore::fail(self, attempt, now)
    }
    fn set_job_throttle(&self, kind: &str, throttle: &JobThrottle) -> Result<()> {
        PgStore::set_job_throttle(self, kind, throttle)
    }
    fn remove_job_throttle(&self, kind: &str) -> Result<bool> {
        PgStore::remove_job_throttle(self, kind)
    }
    fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>> {
        PgStore::job_throttles(self)
    }
    fn sync_cursor(&self, stream: &str) -> Result<Option<SyncCursor>> {
        PgStore::sync_cursor(self, stream)
    }
    fn sync_cursors(&self) -> Result<Vec<SyncCursor>> {
        PgStore::sync_cursors(self)
    }
    fn start_sync_cursor(&self, stream: &str, scope: &str, now: i64) -> Result<()> {
        PgStore::start_sync_cursor(self, stream, scope, now)
    }
    fn advance_sync_cursor(&self, stream: &str, page: &SyncPage<'_>, now: i64) -> Result<()> {
        PgStore::advance_sync_cursor(self, stream, page, now)
    }
    fn complete_sync_cursor(&self, stream: &str, now: i64) -> Result<()> {
        PgStore::complete_sync_cursor(self, stream, now)
    }
    fn put_catalog_entry(&self, entry: &CatalogEntry) -> Result<bool> {
        PgStore::put_catalog_entry(self, entry)
    }
    fn catalog(&self, object: Option<&str>) -> Result<Vec<CatalogEntry>> {
        PgStore::catalog(self, object)
    }
    fn last_event_created(&self) -> Result<Option<i64>> {
        PgStore::last_event_created(self)
    }
    fn replay(&self, id: i64, now: i64) -> Result<i64> {
        PgStore::replay(self, id, now)
    }
    fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
        PgStore::delivery_counts(self, since)
    }
    fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        PgStore::recent_deliveries(self, limit)
    }
    fn queue_stats(&self, now: i64, since: i64) -> Result<Vec<KindStats>> {
        PgStore::queue_stats(self, now, since)
    }
    fn copy_out(
        &self,
        table: &crate::store::copy::Table,
        after: Option<&[crate::store::copy::Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<crate::store::copy::Cell>>> {
        PgStore::copy_out(self, table, after, limit)
    }
    fn copy_in(
        &self,
        table: &crate::store::copy::Table,
        rows: &[Vec<crate::store::copy::Cell>],
    ) -> Result<u64> {
        PgStore::copy_in(self, table, rows)
    }
    fn schema_version(&self) -> Result<i64> {
        PgStore::schema_version(self)
    }
    fn livemode_counts(&self, limit: u32) -> Result<Option<crate::event::LivemodeCounts>> {
        PgStore::livemode_counts(self, limit).map(Some)
    }
    fn round_trips(&self) -> u64 {
        PgStore::round_trips(self)
    }
    fn close(&self) -> Result<()> {
        PgStore::close(self)
    }
    #[cfg(feature = "testing")]
    fn testing(&self) -> &dyn crate::store::testing::StoreHooks {
        self
    }
}

/// SQLite's hooks have no PostgreSQL meaning: they refuse instead of pretending.
#[cfg(feature = "testing")]
impl crate::store::testing::StoreHooks for PgStore {
    fn set_pragma(&self, pragma: &str, _value: i64) -> Result<()> {
        Err(crate::error::Error::new(
            crate::error::ErrorCode::InvalidArgument,
            format!("PRAGMA {pragma}: a SQLite setting; this store is PostgreSQL"),
        ))
    }
    fn trace_statements(&self, _f: Option<fn(rusqlite::trace::TraceEvent<'_>)>) {}
}
