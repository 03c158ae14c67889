//! A customer's active entitlements summary: the whole feature set, replaced by each newer
//! summary (the watermark decides, as for every billing row).

use super::{Plan, Write};
use crate::billing::{Watermark, decide};
use crate::error::Result;
use crate::event::EntitlementsRecord;
use crate::store::StoreTx;

/// Written when newer than the stored summary.
pub(super) fn plan(tx: &mut dyn StoreTx, rec: &EntitlementsRecord, wm: &Watermark) -> Result<Plan> {
    let current = tx.entitlements(&rec.customer_id)?;
    let d = decide(current.as_ref().map(|(r, w)| (r, w)), rec, wm);
    let mut plan = Plan::default();
    plan.row(
        d,
        Write::Entitlements(rec.clone()),
        "entitlements.active_entitlement_summary",
        &rec.customer_id,
        Some(&rec.customer_id),
    );
    Ok(plan)
}
