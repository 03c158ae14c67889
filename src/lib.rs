//! tollbooth: the event-driven core of a Stripe-billed client portal.
//!
//! Every Stripe webhook delivery goes through one call, [`Engine::handle_webhook`]:
//! verify the signature over the raw bytes, parse and normalize the event, dedupe it by id,
//! persist the raw event, move billing state (Stripe is the source of truth), and enqueue the
//! CRM and support side effects, all in one store transaction (SQLite by default; the store
//! is a seam, [`store::Store`]).
//!
//! ```
//! use tollbooth::{Config, Engine, Outcome, verify::sign_for_test};
//!
//! let engine = Engine::open(Config::new(":memory:", &["whsec_test"])?)?;
//! let body = br#"{"id":"evt_1","object":"event","type":"customer.subscription.created",
//!   "created":1700000000,"livemode":false,"data":{"object":{"id":"sub_1","object":"subscription",
//!   "customer":"cus_1","status":"active","cancel_at_period_end":false,
//!   "items":{"data":[{"price":{"id":"price_pro","product":"prod_pro"},"current_period_end":1702592000}]}}}}"#;
//! let now = 1_700_000_005;
//! let header = sign_for_test(body, "whsec_test", now);
//!
//! let first = engine.handle_webhook_at(body, &header, now)?;
//! assert_eq!(first.outcome, Outcome::Processed);
//! assert_eq!(first.jobs[0].kind, "crm.sync_customer");
//! // Stripe delivers at least once: the second delivery changes nothing.
//! assert_eq!(engine.handle_webhook_at(body, &header, now)?.outcome, Outcome::Duplicate);
//!
//! let access = engine.access("cus_1", now)?;
//! assert!(access.has_access);
//! assert_eq!(access.price_id.as_deref(), Some("price_pro"));
//! # Ok::<(), tollbooth::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod billing;
pub mod deliveries;
pub mod engine;
pub mod error;
pub mod event;
pub mod import;
pub mod metrics;
pub mod outbox;
pub mod probe;
pub mod retention;
pub mod store;
#[cfg(feature = "stripe-api")]
pub mod stripe_api;
pub mod sync_state;
pub mod verify;

pub use billing::{Access, AccessState, CheckoutState, PurchaseGrant, PurchaseRecord};
pub use engine::{CheckoutStatus, Config, Engine, Handled, Outcome, SnapshotApplied, unix_now};
pub use error::{Error, ErrorCode, Result};
pub use outbox::{ClaimedJob, EnqueuedJob, FailOutcome, Job, JobFilter, JobState, JobThrottle};
pub use store::{Durability, SqliteOptions};
pub use sync_state::{CatalogEntry, SyncCursor};

/// The README's Rust example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
