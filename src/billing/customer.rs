//! A customer as the store holds it: the profile and the app user it is linked to.

/// A customer row as stored: the fields a customer event carries ([`CustomerRecord`]), with
/// `user_id` the app user the store has linked (from the customer's metadata or a Checkout
/// Session) and `deleted` set once Stripe deleted the customer. One definition, so the
/// stored row and the event's record cannot drift.
///
/// [`CustomerRecord`]: crate::event::CustomerRecord
pub type CustomerRow = crate::event::CustomerRecord;
