//! A charge: a refund opens a ticket.

use super::Plan;
use crate::event::{ChargeRecord, EventKind};
use crate::outbox::NewJob;

/// Only `charge.refunded` causes anything; charges have no row of their own.
pub(super) fn plan(rec: &ChargeRecord, kind: Option<&EventKind>) -> Plan {
    match kind {
        Some(EventKind::ChargeRefunded) => Plan::job(NewJob::money_ticket(
            "refund",
            &rec.id,
            rec.customer_id.as_deref(),
            rec,
        )),
        _ => Plan::ignored(),
    }
}
