//! One customer's timeline for operators (`tollbooth customer`, the Node `customerTimeline`,
//! the example's admin page): who they are, the access decision and its reason, their
//! subscriptions, events, invoices, and the jobs those caused with every attempt. One engine
//! method so every face shows the same thing.

use serde::Serialize;

use super::Engine;
use crate::billing::{Access, CustomerRow, PurchaseRecord};
use crate::error::Result;
use crate::event::{EventFilter, EventRow, InvoiceRecord, SubscriptionRecord};
use crate::outbox::{Job, JobAttempt, JobFilter};

/// Most events and jobs a timeline lists.
pub const TIMELINE_LIMIT: u32 = 1000;

/// A job with its attempts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobHistory {
    /// The job.
    pub job: Job,
    /// Its attempts, oldest first.
    pub attempts: Vec<JobAttempt>,
}

/// One customer's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerTimeline {
    /// The customer (id only, when known just from subscriptions or events).
    pub customer: CustomerRow,
    /// The access decision at `now`, with its reason.
    pub access: Access,
    /// Subscriptions, by id.
    pub subscriptions: Vec<SubscriptionRecord>,
    /// Stored events concerning the customer, oldest first (at most [`TIMELINE_LIMIT`]).
    pub events: Vec<EventRow>,
    /// Invoices, newest first.
    pub invoices: Vec<InvoiceRecord>,
    /// One-time purchases (paid, pending and refunded), by id.
    pub purchases: Vec<PurchaseRecord>,
    /// Active Stripe Entitlements (feature lookup keys), sorted.
    pub features: Vec<String>,
    /// Jobs for the customer, newest first, with their attempts (at most [`TIMELINE_LIMIT`]).
    pub jobs: Vec<JobHistory>,
}

impl Engine {
    /// The timeline of the customer `query` names (Stripe customer id, email or app user id),
    /// or `None` when nothing is stored about it.
    pub fn customer_timeline(&self, query: &str, now: i64) -> Result<Option<CustomerTimeline>> {
        let customer = match self.find_customer(query)? {
            Some(c) => c,
            None if self.known_elsewhere(query)? => CustomerRow {
                id: query.to_owned(),
                email: None,
                name: None,
                user_id: None,
                deleted: false,
                has_payment_method: false,
            },
            None => return Ok(None),
        };
        let id = customer.id.clone();
        let mut events = self.events(&EventFilter {
            customer_id: Some(id.clone()),
            limit: Some(TIMELINE_LIMIT),
            ..EventFilter::default()
        })?;
        events.reverse();
        let jobs = self.jobs(&JobFilter {
            customer_id: Some(id.clone()),
            limit: Some(TIMELINE_LIMIT),
            ..JobFilter::default()
        })?;
        let jobs = jobs
            .into_iter()
            .map(|job| {
                Ok(JobHistory {
                    attempts: self.job_attempts(job.id)?,
                    job,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(CustomerTimeline {
            access: self.access(&id, now)?,
            subscriptions: self
                .subscriptions(&id)?
                .into_iter()
                .map(|s| s.record)
                .collect(),
            events,
            invoices: self.invoices(&id)?,
            purchases: self.purchases(&id)?,
            features: self.features(&id)?,
            jobs,
            customer,
        }))
    }

    /// A customer id seen only in subscriptions or events (no customer.* event yet).
    fn known_elsewhere(&self, id: &str) -> Result<bool> {
        if !self.subscriptions(id)?.is_empty() {
            return Ok(true);
        }
        let events = self.events(&EventFilter {
            customer_id: Some(id.to_owned()),
            limit: Some(1),
            ..EventFilter::default()
        })?;
        Ok(!events.is_empty())
    }
}
