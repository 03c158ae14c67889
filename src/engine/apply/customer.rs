//! A customer: its profile row and the host user it names.

use super::{Plan, Write};
use crate::billing::{Watermark, decide};
use crate::error::Result;
use crate::event::CustomerRecord;
use crate::store::StoreTx;

/// The profile (without the user link, which lives in its own table) is written when newer.
pub(super) fn plan(tx: &mut dyn StoreTx, rec: &CustomerRecord, wm: &Watermark) -> Result<Plan> {
    let profile = CustomerRecord {
        user_id: None,
        ..rec.clone()
    };
    let current = tx.customer(&rec.id)?;
    let d = decide(current.as_ref().map(|(r, w)| (r, w)), &profile, wm);
    let mut plan = Plan {
        crm: true,
        link: rec.user_id.clone().map(|uid| (rec.id.clone(), uid)),
        ..Plan::default()
    };
    plan.row(
        d,
        Write::Customer(profile),
        "customer",
        &rec.id,
        Some(&rec.id),
    );
    Ok(plan)
}
