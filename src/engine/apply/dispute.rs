//! A dispute: opens its ticket (whichever of its events comes first), `updated` adds a note,
//! `closed` closes it with the outcome; the customer is found through the charge or
//! PaymentIntent ([`super::tickets`]).

use super::{Plan, tickets};
use crate::billing::Watermark;
use crate::error::Result;
use crate::event::{DisputeRecord, EventKind};
use crate::store::StoreTx;

/// Disputes have no row of their own; every dispute event keeps its ticket in step.
pub(super) fn plan(
    tx: &mut dyn StoreTx,
    rec: &DisputeRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    tickets::dispute(tx, rec, kind, wm)
}
