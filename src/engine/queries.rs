//! The portal's read side: access decisions, invoices, checkout status, lookups. Each is a
//! read on the store's WAL snapshot; the decisions are the pure rules in `billing`.

use super::{CheckoutStatus, Engine};
use crate::billing::{Access, AccessPolicy, CheckoutState, access};
use crate::billing::{CustomerRow, PurchaseRecord, SubscriptionView};
use crate::deliveries::{Delivery, DeliveryCounts};
use crate::error::Result;
use crate::event::InvoiceRecord;
use crate::event::{EventFilter, EventRow};
use crate::store::Store;

impl Engine {
    /// Access for a Stripe customer at `now` (an unknown customer is `none`).
    pub fn access(&self, customer_id: &str, now: i64) -> Result<Access> {
        self.with_store(|s| {
            let user_id = s.customer(customer_id)?.and_then(|c| c.user_id);
            self.decide_access(s, Some(customer_id), user_id, now)
        })
    }

    /// Access for an app user, through the customer linked to it, or through a one-time
    /// purchase the user made as a guest (`none` when neither).
    pub fn access_for_user(&self, user_id: &str, now: i64) -> Result<Access> {
        self.with_store(|s| {
            let customer = s.customer_for_user(user_id)?.map(|c| c.id);
            self.decide_access(s, customer.as_deref(), Some(user_id.to_owned()), now)
        })
    }

    /// Access for an app user of connected account `account` (Connect): through the customer
    /// of that account linked to the user. The platform's own user of the same id is another
    /// user ([`Engine::access_for_user`]).
    pub fn access_for_user_in(&self, account: &str, user_id: &str, now: i64) -> Result<Access> {
        self.with_store(|s| match s.customer_for_user_in(account, user_id)? {
            Some(c) => self.decide_access(s, Some(&c.id), Some(user_id.to_owned()), now),
            None => Ok(access::no_access(None, Some(user_id.to_owned()))),
        })
    }

    /// Subscriptions and covered one-time purchases together (see [`access::combine`]).
    fn decide_access(
        &self,
        s: &dyn Store,
        customer_id: Option<&str>,
        user_id: Option<String>,
        now: i64,
    ) -> Result<Access> {
        let mut subs = match customer_id {
            Some(c) => s.subscriptions(c)?,
            None => Vec::new(),
        };
        // A customer's default payment method (invoice_settings) is what Stripe charges when
        // a subscription names none: its trials convert rather than lapse.
        if let Some(c) = customer_id.filter(|_| !subs.is_empty())
            && s.customer(c)?.is_some_and(|c| c.has_payment_method)
        {
            for v in &mut subs {
                v.record.has_payment_method = true;
            }
        }
        let policy = AccessPolicy {
            past_due_grace_secs: self.config.past_due_grace_secs,
        };
        let by_subscription = access::evaluate(&policy, &subs, now);
        let by_purchase = if self.config.purchase_grants.is_empty() {
            None
        } else {
            let purchases = s.purchases(customer_id, user_id.as_deref())?;
            access::evaluate_purchases(&self.config.purchase_grants, &purchases, now)
        };
        Ok(match access::combine(by_subscription, by_purchase) {
            Some(mut a) => {
                a.customer_id = a.customer_id.or_else(|| customer_id.map(str::to_owned));
                a.user_id = user_id;
                let actions = match customer_id {
                    Some(c) => s.payment_actions(c)?,
                    None => Vec::new(),
                };
                access::with_payment_actions(a, &actions)
            }
            None => access::no_access(customer_id.map(str::to_owned), user_id),
        })
    }

    /// The one-time purchases of a Stripe customer (paid, pending and refunded), by id.
    pub fn purchases(&self, customer_id: &str) -> Result<Vec<PurchaseRecord>> {
        self.with_store(|s| {
            let user_id = s.customer(customer_id)?.and_then(|c| c.user_id);
            s.purchases(Some(customer_id), user_id.as_deref())
        })
    }

    /// The active Stripe Entitlements (feature lookup keys, sorted) of a customer, or of the
    /// customer linked to an app user: `needle` is tried as a customer id first, then as a
    /// user id. Unknown: empty.
    pub fn features(&self, needle: &str) -> Result<Vec<String>> {
        self.with_store(|s| {
            // A customer id wins; a summary can arrive before the customer's own events.
            let customer = match s.customer(needle)? {
                Some(c) => c.id,
                None => match s.customer_for_user(needle)? {
                    Some(c) => c.id,
                    None => needle.to_owned(),
                },
            };
            s.features(&customer)
        })
    }

    /// Whether the customer (or the user's customer) has the active entitlement
    /// `lookup_key` (Stripe Entitlements, kept from
    /// `entitlements.active_entitlement_summary.updated`).
    pub fn has_feature(&self, user_or_customer: &str, lookup_key: &str) -> Result<bool> {
        Ok(self
            .features(user_or_customer)?
            .iter()
            .any(|f| f == lookup_key))
    }

    /// A customer's invoices, newest first ("where is my invoice?").
    pub fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>> {
        self.with_store(|s| s.invoices(customer_id))
    }

    /// What the checkout success page may say about `session_id`.
    pub fn checkout_status(&self, session_id: &str) -> Result<CheckoutStatus> {
        self.with_store(|s| {
            let row = s.checkout(session_id)?;
            Ok(match row {
                Some(row) => {
                    let user_id = match (&row.record.user_id, &row.record.customer_id) {
                        (Some(u), _) => Some(u.clone()),
                        (None, Some(c)) => s.customer(c)?.and_then(|c| c.user_id),
                        _ => None,
                    };
                    CheckoutStatus {
                        session_id: session_id.to_owned(),
                        state: row.state,
                        customer_id: row.record.customer_id,
                        user_id,
                        subscription_id: row.record.subscription_id,
                    }
                }
                None => CheckoutStatus {
                    session_id: session_id.to_owned(),
                    state: CheckoutState::Pending,
                    customer_id: None,
                    user_id: None,
                    subscription_id: None,
                },
            })
        })
    }

    /// A customer by Stripe id, email or app user id (tried in that order).
    pub fn find_customer(&self, needle: &str) -> Result<Option<CustomerRow>> {
        self.with_store(|s| {
            if let Some(c) = s.customer(needle)? {
                return Ok(Some(c));
            }
            if let Some(c) = s.customer_for_email(needle)? {
                return Ok(Some(c));
            }
            s.customer_for_user(needle)
        })
    }

    /// Stored events (without bodies), newest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        self.with_store(|s| s.events(filter))
    }

    /// The exact bytes Stripe signed for a stored event.
    pub fn event_body(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.with_store(|s| s.event_body(id))
    }

    /// A customer's subscriptions as stored, by id.
    pub fn subscriptions(&self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        self.with_store(|s| s.subscriptions(customer_id))
    }

    /// The most recent delivery-log rows, newest first. Requests that were not authentic
    /// deliveries appear as one sample row per minute and code (the rest are counted).
    pub fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        self.flush_rejections(i64::MIN)?;
        self.with_store(|s| s.recent_deliveries(limit))
    }

    /// Delivery counts from the minute of `since` (unix seconds) on, from the durable stats.
    /// Flushes buffered rows and counts first so the counts are exact.
    pub fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
        self.flush_rejections(i64::MIN)?;
        self.with_store(|s| {
            s.flush_deliveries()?;
            s.delivery_counts(since)
        })
    }
}
