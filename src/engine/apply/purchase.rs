//! The purchase row every one-time payment event adds facts to (see
//! [`crate::billing::purchase`]): merged, written when it learned something, and revoked once
//! when a known purchase is refunded in full.

use super::{Plan, Write};
use crate::billing::{Decision, PurchaseRecord};
use crate::error::Result;
use crate::outbox::NewJob;
use crate::store::StoreTx;

/// Merges `seen` into the stored row of the same payment.
pub(super) fn merge(tx: &mut dyn StoreTx, plan: &mut Plan, seen: &PurchaseRecord) -> Result<()> {
    let current = tx.purchase(&seen.id)?;
    let base = current.clone().unwrap_or_else(|| PurchaseRecord {
        id: seen.id.clone(),
        ..PurchaseRecord::default()
    });
    let merged = base.merge(seen);
    if current.as_ref() == Some(&merged) {
        plan.rows.push(Decision::Unchanged);
        return Ok(());
    }
    let revoked = |p: &PurchaseRecord| p.purchase && p.refunded_at.is_some();
    if revoked(&merged) && !current.as_ref().is_some_and(revoked) {
        plan.jobs.push(NewJob::purchase_access_revoked(
            merged.customer_id.as_deref(),
            &merged,
            &merged.id,
        ));
    }
    plan.rows.push(Decision::Apply);
    plan.writes.push(Write::Purchase(merged));
    Ok(())
}
