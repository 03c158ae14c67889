//! A refund (`refund.created`, `refund.updated`, `charge.refund.updated`): one ticket per
//! refund id, a note when it fails; the customer is found through the charge or
//! PaymentIntent ([`super::tickets`]).

use super::{Plan, tickets};
use crate::error::Result;
use crate::event::RefundRecord;
use crate::store::StoreTx;

/// Refunds have no row of their own.
pub(super) fn plan(tx: &mut dyn StoreTx, rec: &RefundRecord) -> Result<Plan> {
    tickets::refund(tx, rec)
}
