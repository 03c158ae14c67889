//! tollbooth's own Stripe API client (cargo feature `stripe-api`, on by default): read-only
//! GETs for the three jobs that webhooks alone cannot do.
//!
//! - **sync** ([`sync()`]): a founder adopting tollbooth already has customers; page through
//!   their objects and apply each as an authoritative snapshot.
//! - **catch-up** ([`catch_up()`]): after an outage longer than Stripe's three days of retries,
//!   page `/v1/events` (Stripe keeps 30 days) through the normal ingest path.
//! - **reconcile** ([`work_reconcile_jobs()`]): work off `stripe.reconcile` jobs by fetching the object.
//! - **fetch** ([`work_stripe_jobs()`]): work off reconcile jobs and the `stripe.fetch_event`
//!   jobs thin events enqueue, fetching the full event and ingesting it.
//!
//! The client sends `Authorization: Bearer` with a secret or restricted key ([`ApiKey`], which
//! never prints), pins [`STRIPE_VERSION`], pages with `limit=100` and `starting_after`, and
//! retries the way Stripe documents ([`RetryPolicy`]).

pub mod catchup;
mod client;
pub mod fetch_event;
mod key;
pub mod reconcile;
mod retry;
pub mod sync;
mod worker;

pub use catchup::{CatchUpOptions, CatchUpReport, catch_up};
pub use client::{
    ClientOptions, Clock, DEFAULT_BASE_URL, ListItem, ListPage, PAGE_LIMIT, STRIPE_VERSION,
    StripeClient, SystemClock,
};
pub use fetch_event::{Fetched, fetch_event_job};
pub use key::ApiKey;
pub use reconcile::{ReconcileReport, reconcile_job, work_reconcile_jobs};
pub use retry::RetryPolicy;
pub use sync::{SyncObject, SyncOptions, SyncProgress, SyncReport, SyncTypeReport, sync};
pub use worker::{STRIPE_JOB_KINDS, work_stripe_jobs};
