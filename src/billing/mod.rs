//! Pure billing decisions: which write wins, what a subscription means for access, what a
//! checkout session means for the success page. No I/O; the engine applies the decisions.
//!
//! Stripe delivers at least once and out of order, so every billing row carries a
//! [`Watermark`]: the `created` second and id of the event (or the fetch time of the API
//! snapshot) that last wrote it. [`decide`] compares an incoming write against it.

pub mod access;
mod actions;
pub mod checkout;
mod customer;
pub mod money;
pub mod purchase;

pub use access::{Access, AccessPolicy, AccessState, SubscriptionView};
pub use actions::PaymentAction;
pub use checkout::{CheckoutRow, CheckoutState, checkout_state};
pub use customer::CustomerRow;
pub use purchase::{PurchaseGrant, PurchaseRecord};

use crate::event::{CustomerRecord, EntitlementsRecord, InvoiceRecord, SubscriptionRecord};

/// What last wrote a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// `event.created` (or the snapshot's fetch time), unix seconds.
    pub created: i64,
    /// The event id (or `snapshot`).
    pub event_id: String,
    /// `true` when the write came from `apply_snapshot`: an authoritative read of the object
    /// at `created`, so any event created at or before that second is already reflected.
    pub snapshot: bool,
}

impl Watermark {
    /// The watermark of a Stripe event: its `created` second and id.
    pub fn event(created: i64, event_id: &str) -> Watermark {
        Watermark {
            created,
            event_id: event_id.to_owned(),
            snapshot: false,
        }
    }

    /// The watermark of an API snapshot fetched at `fetched_at`.
    pub fn snapshot(fetched_at: i64) -> Watermark {
        Watermark {
            created: fetched_at,
            event_id: "snapshot".to_owned(),
            snapshot: true,
        }
    }

    /// Older than any event: a row known only provisionally (e.g. a customer first seen on a
    /// checkout session), which the first real event replaces.
    pub fn provisional() -> Watermark {
        Watermark {
            created: -1,
            event_id: String::new(),
            snapshot: false,
        }
    }
}

/// The verdict for one incoming write against a row's watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write it: no row yet, or the incoming write is newer.
    Apply,
    /// Same content under a newer watermark: rewrite the row so the watermark moves forward
    /// (else an event between the two could later overwrite what the newer one confirmed),
    /// but nothing changed for side effects.
    Advance,
    /// The row already holds exactly this information at this watermark; nothing to write.
    Unchanged,
    /// Older than what the row holds: keep the row.
    Stale,
    /// A terminal row (canceled subscription) that Stripe can never revive: keep the row.
    Terminal,
    /// Same second, different content. `apply` says whether the deterministic choice is the
    /// incoming record; either way the object needs a `stripe.reconcile`.
    Conflict {
        /// Whether the incoming record wins the tie.
        apply: bool,
    },
}

/// A record that can be written under a watermark.
pub trait Versioned: PartialEq {
    /// Rank used to break a same-second tie: the higher rank wins, so the choice does not
    /// depend on arrival order. Ranks follow the object's lifecycle (later stages rank higher),
    /// which is the likelier truth when Stripe emits two events in one second.
    fn tie_rank(&self) -> (u8, i64);
    /// Whether the row can never change again (Stripe cannot reactivate it).
    fn is_terminal(&self) -> bool {
        false
    }
}

/// Decides whether `incoming` (written under `wm`) replaces `current` (written under `cur_wm`).
///
/// Rules, in order: a snapshot row absorbs every event created at or before it; an older event
/// is stale; a terminal row stays; a same-second event with different content is a conflict
/// resolved by [`Versioned::tie_rank`] and then the greater event id.
pub fn decide<R: Versioned>(
    current: Option<(&R, &Watermark)>,
    incoming: &R,
    wm: &Watermark,
) -> Decision {
    let Some((cur, cur_wm)) = current else {
        return Decision::Apply;
    };
    let same = cur == incoming;
    if wm.snapshot {
        // An authoritative fetch replaces the row unless the row is provably newer.
        return match (wm.created >= cur_wm.created, same) {
            (false, _) => Decision::Stale,
            (true, false) => Decision::Apply,
            (true, true) => Decision::Advance,
        };
    }
    if wm.created < cur_wm.created || cur_wm.snapshot && wm.created == cur_wm.created {
        return Decision::Stale;
    }
    if same {
        return if wm.created > cur_wm.created {
            Decision::Advance
        } else {
            Decision::Unchanged
        };
    }
    if cur.is_terminal() {
        return Decision::Terminal;
    }
    if wm.created > cur_wm.created {
        return Decision::Apply;
    }
    let incoming_key = (incoming.tie_rank(), wm.event_id.as_str());
    let current_key = (cur.tie_rank(), cur_wm.event_id.as_str());
    Decision::Conflict {
        apply: incoming_key > current_key,
    }
}

/// Lifecycle rank of a subscription status (unknown statuses rank lowest).
pub fn subscription_status_rank(status: &str) -> u8 {
    match status {
        "incomplete" => 1,
        "trialing" => 2,
        "active" => 3,
        "past_due" => 4,
        "paused" => 5,
        "unpaid" => 6,
        "canceled" | "incomplete_expired" => 7,
        _ => 0,
    }
}

impl Versioned for SubscriptionRecord {
    fn tie_rank(&self) -> (u8, i64) {
        (
            subscription_status_rank(&self.status),
            self.current_period_end.unwrap_or(0),
        )
    }
    fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "canceled" | "incomplete_expired")
    }
}

impl Versioned for InvoiceRecord {
    fn tie_rank(&self) -> (u8, i64) {
        let rank = match self.status.as_deref() {
            Some("draft") => 1,
            Some("open") => 2,
            Some("uncollectible") => 3,
            Some("paid") | Some("void") => 4,
            _ => 0,
        };
        (rank, self.attempt_count)
    }
}

impl Versioned for CustomerRecord {
    fn tie_rank(&self) -> (u8, i64) {
        (u8::from(self.deleted), 0)
    }
    fn is_terminal(&self) -> bool {
        self.deleted
    }
}

impl Versioned for EntitlementsRecord {
    fn tie_rank(&self) -> (u8, i64) {
        (0, i64::try_from(self.features.len()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(status: &str) -> SubscriptionRecord {
        SubscriptionRecord {
            id: "sub_1".into(),
            customer_id: "cus_1".into(),
            status: status.into(),
            ..Default::default()
        }
    }
    fn wm(created: i64, id: &str) -> Watermark {
        Watermark {
            created,
            event_id: id.into(),
            snapshot: false,
        }
    }

    #[test]
    fn newer_applies_older_is_stale() {
        let (a, b) = (sub("active"), sub("past_due"));
        assert_eq!(
            decide(Some((&a, &wm(10, "e1"))), &b, &wm(11, "e2")),
            Decision::Apply
        );
        assert_eq!(
            decide(Some((&a, &wm(10, "e1"))), &b, &wm(9, "e2")),
            Decision::Stale
        );
        assert_eq!(decide(None, &b, &wm(9, "e2")), Decision::Apply);
        // Same content: a newer event still moves the watermark; an older one is stale.
        let at = |t: i64| decide(Some((&a, &wm(10, "e1"))), &a, &wm(t, "e2"));
        assert_eq!(at(12), Decision::Advance);
        assert_eq!(at(10), Decision::Unchanged);
        assert_eq!(at(9), Decision::Stale);
    }

    #[test]
    fn canceled_never_comes_back() {
        let (dead, alive) = (sub("canceled"), sub("active"));
        assert_eq!(
            decide(Some((&dead, &wm(10, "e1"))), &alive, &wm(20, "e2")),
            Decision::Terminal
        );
        let expired = sub("incomplete_expired");
        assert_eq!(
            decide(Some((&expired, &wm(10, "e1"))), &alive, &wm(20, "e2")),
            Decision::Terminal
        );
    }

    #[test]
    fn same_second_tie_is_order_independent() {
        let (inc, act) = (sub("incomplete"), sub("active"));
        let first = decide(Some((&inc, &wm(10, "evt_a"))), &act, &wm(10, "evt_b"));
        let second = decide(Some((&act, &wm(10, "evt_b"))), &inc, &wm(10, "evt_a"));
        assert_eq!(first, Decision::Conflict { apply: true });
        assert_eq!(second, Decision::Conflict { apply: false });
        // Equal rank: the greater event id wins, whichever arrives first.
        let (x, y) = (
            SubscriptionRecord {
                price_id: Some("p1".into()),
                ..sub("active")
            },
            SubscriptionRecord {
                price_id: Some("p2".into()),
                ..sub("active")
            },
        );
        assert_eq!(
            decide(Some((&x, &wm(10, "evt_a"))), &y, &wm(10, "evt_b")),
            Decision::Conflict { apply: true }
        );
        assert_eq!(
            decide(Some((&y, &wm(10, "evt_b"))), &x, &wm(10, "evt_a")),
            Decision::Conflict { apply: false }
        );
    }

    #[test]
    fn snapshot_absorbs_events_up_to_its_fetch_time() {
        let (a, b) = (sub("active"), sub("past_due"));
        let snap = Watermark {
            created: 100,
            event_id: "snapshot".into(),
            snapshot: true,
        };
        assert_eq!(
            decide(Some((&a, &snap)), &b, &wm(100, "e")),
            Decision::Stale
        );
        assert_eq!(
            decide(Some((&a, &snap)), &b, &wm(101, "e")),
            Decision::Apply
        );
        assert_eq!(
            decide(Some((&a, &wm(100, "e"))), &b, &snap),
            Decision::Apply
        );
        assert_eq!(
            decide(Some((&a, &wm(101, "e"))), &b, &snap),
            Decision::Stale
        );
    }
}
