//! Payments that wait for the customer: an invoice whose payment needs 3-D Secure / SCA
//! (`invoice.payment_action_required`). Stripe cannot finish it alone, so the portal says
//! "confirm your payment" and links to the hosted invoice page, which runs the authentication.

use serde::Serialize;

/// One invoice whose payment needs the customer, as the portal reads it: pending while the
/// stored invoice is still open (a later `invoice.paid` or `voided` ends it, in any order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentAction {
    /// The invoice.
    pub invoice_id: String,
    /// Its subscription, when it bills one.
    pub subscription_id: Option<String>,
    /// Where the customer confirms the payment (Stripe's hosted invoice page).
    pub hosted_invoice_url: Option<String>,
    /// Amount due, minor units.
    pub amount_due: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// When Stripe asked for the action (the event's `created`).
    pub since: i64,
}
