//! tollbooth's own Stripe API client (cargo feature `stripe-api`, on by default): read-only
//! GETs for the three jobs that webhooks alone cannot do.
//!
//! - **sync** ([`sync()`]): a founder adopting tollbooth already has customers; page through
//!   their objects and apply each as an authoritative snapshot.
//! - **catch-up** ([`catch_up()`]): after an outage longer than Stripe's three days of retries,
//!   page `/v1/events` (Stripe keeps 30 days) through the normal ingest path.
//! - **reconcile** ([`work_reconcile_jobs()`]): work off `stripe.reconcile` jobs by fetching the object.
//!
//! The client sends `Authorization: Bearer` with a secret or restricted key ([`ApiKey`], which
//! never prints), pins [`STRIPE_VERSION`], pages with `limit=100` and `starting_after`, and
//! retries the way Stripe documents ([`RetryPolicy`]).

pub mod catchup;
mod client;
mod key;
pub mod reconcile;
mod retry;
pub mod sync;

pub use catchup::{CatchUpOptions, CatchUpReport, catch_up};
pub use client::{
    ClientOptions, Clock, DEFAULT_BASE_URL, ListItem, ListPage, PAGE_LIMIT, STRIPE_VERSION,
    StripeClient, SystemClock,
};
pub use key::ApiKey;
pub use reconcile::{ReconcileReport, reconcile_job, work_reconcile_jobs};
pub use retry::RetryPolicy;
pub use sync::{SyncObject, SyncOptions, SyncProgress, SyncReport, SyncTypeReport, sync};
