//! A dispute: its creation opens a ticket.

use super::Plan;
use crate::event::{DisputeRecord, EventKind};
use crate::outbox::NewJob;

/// Only `charge.dispute.created` causes anything; disputes have no row of their own.
pub(super) fn plan(rec: &DisputeRecord, kind: Option<&EventKind>) -> Plan {
    match kind {
        Some(EventKind::ChargeDisputeCreated) => {
            Plan::job(NewJob::money_ticket("dispute", &rec.id, None, rec))
        }
        _ => Plan::ignored(),
    }
}
