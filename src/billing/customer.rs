//! A customer as the store holds it: the profile and the app user it is linked to.

use serde::Serialize;

/// A customer row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerRow {
    /// Stripe customer id.
    pub id: String,
    /// Email.
    pub email: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Linked app user.
    pub user_id: Option<String>,
    /// Deleted in Stripe.
    pub deleted: bool,
    /// A default payment method is set (`invoice_settings.default_payment_method`).
    pub has_payment_method: bool,
}
