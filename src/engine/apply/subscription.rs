//! A subscription: its row (with how long it has held its status) and the revocation job
//! its deletion causes.

use super::{Plan, Write};
use crate::billing::{SubscriptionView, Watermark, decide};
use crate::error::Result;
use crate::event::{EventKind, SubscriptionRecord};
use crate::outbox::NewJob;
use crate::store::StoreTx;

/// `status_since` carries over while the status stays the same, so "past due for 3 days"
/// survives unrelated updates.
pub(super) fn plan(
    tx: &mut dyn StoreTx,
    rec: &SubscriptionRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    let current = tx.subscription(&rec.id)?;
    let status_since = match &current {
        Some((v, _)) if v.record.status == rec.status => v.status_since,
        _ => wm.created,
    };
    let view = SubscriptionView {
        record: SubscriptionRecord {
            user_id: None,
            ..rec.clone()
        },
        status_since,
    };
    let d = decide(
        current.as_ref().map(|(v, w)| (&v.record, w)),
        &view.record,
        wm,
    );
    let mut plan = Plan {
        crm: true,
        link: rec
            .user_id
            .clone()
            .map(|uid| (rec.customer_id.clone(), uid)),
        ..Plan::default()
    };
    let revoked = (kind == Some(&EventKind::SubscriptionDeleted))
        .then(|| NewJob::access_revoked(&rec.customer_id, &view.record, &rec.id));
    let trial_ends = (kind == Some(&EventKind::SubscriptionTrialWillEnd))
        .then(|| NewJob::trial_will_end(&view.record));
    plan.row(
        d,
        Write::Subscription(view),
        "subscription",
        &rec.id,
        Some(&rec.customer_id),
    );
    plan.jobs.extend(trial_ends);
    plan.jobs.extend(revoked);
    Ok(plan)
}
