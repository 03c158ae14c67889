//! What the checkout success page may say. Nothing is inferred from the browser landing on
//! the success URL: only a processed webhook (or an API snapshot) confirms payment.

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::event::{CheckoutRecord, EventKind};

/// The success page's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// No webhook for this session has been processed yet.
    Pending,
    /// Completed and paid (or no payment was required).
    Complete,
    /// Completed, but an asynchronous payment method (bank debit, ...) has not settled yet.
    PaymentPending,
    /// The asynchronous payment failed.
    PaymentFailed,
    /// The session expired without completing.
    Expired,
}

impl CheckoutState {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Pending => "pending",
            CheckoutState::Complete => "complete",
            CheckoutState::PaymentPending => "payment_pending",
            CheckoutState::PaymentFailed => "payment_failed",
            CheckoutState::Expired => "expired",
        }
    }

    /// Every state, in the order the C enum numbers them.
    pub const ALL: [CheckoutState; 5] = [
        CheckoutState::Pending,
        CheckoutState::Complete,
        CheckoutState::PaymentPending,
        CheckoutState::PaymentFailed,
        CheckoutState::Expired,
    ];

    /// Parses [`CheckoutState::as_str`] output (as stored); an unknown name is a corrupt row
    /// (`STORE_CORRUPT`), never silently `pending`.
    pub fn parse(s: &str) -> Result<CheckoutState> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::StoreCorrupt,
                    format!("unknown checkout state {s:?}"),
                )
            })
    }
}

/// A checkout session as stored: the record plus the derived state. The state is part of
/// the row's identity because two events can carry the same object yet mean different things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRow {
    /// The normalized session.
    pub record: CheckoutRecord,
    /// What it means for the success page.
    pub state: CheckoutState,
}

impl super::Versioned for CheckoutRow {
    fn tie_rank(&self) -> (u8, i64) {
        let rank = match self.state {
            CheckoutState::Pending => 0,
            CheckoutState::PaymentPending => 1,
            CheckoutState::PaymentFailed => 2,
            CheckoutState::Complete | CheckoutState::Expired => 3,
        };
        (rank, 0)
    }
    fn is_terminal(&self) -> bool {
        matches!(self.state, CheckoutState::Expired | CheckoutState::Complete)
    }
}

/// Derives the state from the session object and, when it came from an event, the event type
/// (`async_payment_failed` leaves `payment_status = unpaid`, so the type is what tells).
pub fn checkout_state(record: &CheckoutRecord, kind: Option<&EventKind>) -> CheckoutState {
    if matches!(kind, Some(EventKind::CheckoutSessionAsyncPaymentFailed)) {
        return CheckoutState::PaymentFailed;
    }
    match (record.status.as_deref(), record.payment_status.as_deref()) {
        (Some("expired"), _) => CheckoutState::Expired,
        (Some("complete"), Some("paid" | "no_payment_required")) => CheckoutState::Complete,
        (Some("complete"), _) => CheckoutState::PaymentPending,
        _ => CheckoutState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: &str, pay: &str) -> CheckoutRecord {
        CheckoutRecord {
            id: "cs_1".into(),
            status: Some(status.into()),
            payment_status: Some(pay.into()),
            ..Default::default()
        }
    }

    #[test]
    fn states() {
        assert_eq!(
            checkout_state(&rec("complete", "paid"), None),
            CheckoutState::Complete
        );
        assert_eq!(
            checkout_state(&rec("complete", "no_payment_required"), None),
            CheckoutState::Complete
        );
        assert_eq!(
            checkout_state(&rec("complete", "unpaid"), None),
            CheckoutState::PaymentPending
        );
        assert_eq!(
            checkout_state(
                &rec("complete", "unpaid"),
                Some(&EventKind::CheckoutSessionAsyncPaymentFailed)
            ),
            CheckoutState::PaymentFailed
        );
        assert_eq!(
            checkout_state(&rec("expired", "unpaid"), None),
            CheckoutState::Expired
        );
        assert_eq!(
            checkout_state(&rec("open", "unpaid"), None),
            CheckoutState::Pending
        );
        for s in [
            "pending",
            "complete",
            "payment_pending",
            "payment_failed",
            "expired",
        ] {
            assert_eq!(CheckoutState::parse(s).unwrap().as_str(), s);
        }
    }
}
