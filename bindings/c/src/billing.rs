//! Reads for the portal: access, checkout status, invoices.

use tollbooth::event::InvoiceRecord;
use tollbooth::{Access, AccessState, CheckoutState, CheckoutStatus};

use crate::boundary::{Owned, free_view, into_raw_view};
use crate::engine::{array_ptr, resolve_now, tb_engine};
use crate::results::tb_result;
use crate::strings::tb_str;

/// The deciding subscription's state (`tb_access.state`, a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_access_state {
    /// Paying and current.
    Active = 0,
    /// In a free trial.
    Trialing = 1,
    /// The latest renewal failed; Stripe is retrying.
    PastDue = 2,
    /// Retries are exhausted; the invoice stays open.
    Unpaid = 3,
    /// Waiting for the first payment (or it expired).
    Incomplete = 4,
    /// Paused by Stripe.
    Paused = 5,
    /// Ended.
    Canceled = 6,
    /// No subscription known (unknown customer included).
    None = 7,
    /// The payment needs the customer to authenticate it (3-D Secure / SCA); see
    /// `tb_access.payment_action_url`.
    ActionRequired = 8,
}

from_same_variants!(AccessState => tb_access_state {
    Active, Trialing, PastDue, Unpaid, Incomplete, Paused, Canceled, None, ActionRequired,
});

/// May this customer use the portal, and what should the UI say?
///
/// Owned by the caller; release with `tb_access_free`. Every `tb_str` borrows from it and is
/// valid until then; absent values are `{NULL, 0}`. Read-only; fields are only ever appended.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_access {
    /// Whether the portal should let the customer in.
    pub has_access: bool,
    /// A `tb_access_state` value.
    pub state: u32,
    /// A sentence the UI can show.
    pub reason: tb_str,
    /// The Stripe customer, when known.
    pub customer_id: tb_str,
    /// The app user linked to the customer, when known.
    pub user_id: tb_str,
    /// The deciding subscription.
    pub subscription_id: tb_str,
    /// Its price.
    pub price_id: tb_str,
    /// Its product.
    pub product_id: tb_str,
    /// Whether `current_period_end` is set.
    pub has_current_period_end: bool,
    /// End of the current billing period (unix seconds).
    pub current_period_end: i64,
    /// Whether the subscription cancels at the end of the period.
    pub cancel_at_period_end: bool,
    /// Whether `access_ends_at` is set.
    pub has_access_ends_at: bool,
    /// When access ends (or ended), unix seconds.
    pub access_ends_at: i64,
    /// Whether `trial_end` is set.
    pub has_trial_end: bool,
    /// The deciding subscription's trial end, unix seconds.
    pub trial_end: i64,
    /// For `TB_ACCESS_STATE_ACTION_REQUIRED`: the hosted invoice page where the customer
    /// confirms the payment; `{NULL, 0}` otherwise.
    pub payment_action_url: tb_str,
    /// The one-time purchase that decides, when a purchase decides (then `subscription_id`
    /// is absent and `price_id`/`product_id` are what was bought).
    pub purchase_id: tb_str,
}

fn new_access(a: Access) -> *mut tb_access {
    let view = tb_access {
        has_access: a.has_access,
        state: tb_access_state::from(a.state) as u32,
        reason: tb_str::of(&a.reason),
        customer_id: tb_str::opt(a.customer_id.as_ref()),
        user_id: tb_str::opt(a.user_id.as_ref()),
        subscription_id: tb_str::opt(a.subscription_id.as_ref()),
        price_id: tb_str::opt(a.price_id.as_ref()),
        product_id: tb_str::opt(a.product_id.as_ref()),
        has_current_period_end: a.current_period_end.is_some(),
        current_period_end: a.current_period_end.unwrap_or(0),
        cancel_at_period_end: a.cancel_at_period_end,
        has_access_ends_at: a.access_ends_at.is_some(),
        access_ends_at: a.access_ends_at.unwrap_or(0),
        has_trial_end: a.trial_end.is_some(),
        trial_end: a.trial_end.unwrap_or(0),
        payment_action_url: tb_str::opt(a.payment_action_url.as_ref()),
        purchase_id: tb_str::opt(a.purchase_id.as_ref()),
    };
    into_raw_view(Owned { view, _keep: a })
}

/// Frees a `tb_access`. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tb_access_free(access: *mut tb_access) {
    ffi_boundary! {
        // SAFETY: the header requires NULL or a `tb_access` from tollbooth, freed once; all
        // are made by `new_access`.
        unsafe { free_view::<tb_access, Access>(access) }
    }
}

/// Access for the Stripe customer `customer_id` (UTF-8) at `now` (unix seconds, or `TB_NOW`).
/// An unknown customer is `TB_ACCESS_STATE_NONE` without access, not an error.
///
/// On `TB_RESULT_OK` `*access_out` receives a new `tb_access` that the caller owns and must
/// release with `tb_access_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_access(
    engine: *const tb_engine,
    customer_id: *const u8,
    customer_id_len: usize,
    now: i64,
    access_out: *mut *mut tb_access,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(access_out);
        let customer = try_str!(customer_id, customer_id_len);
        let now = resolve_now(now);
        engine.run(|e| e.access(customer, now), |a| *out = new_access(a))
    }
}

/// Access for the app user `user_id` (UTF-8; linked through checkout or customer metadata)
/// at `now` (unix seconds, or `TB_NOW`). An unlinked user has no access, not an error.
///
/// On `TB_RESULT_OK` `*access_out` receives a new `tb_access` that the caller owns and must
/// release with `tb_access_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_access_for_user(
    engine: *const tb_engine,
    user_id: *const u8,
    user_id_len: usize,
    now: i64,
    access_out: *mut *mut tb_access,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(access_out);
        let user = try_str!(user_id, user_id_len);
        let now = resolve_now(now);
        engine.run(|e| e.access_for_user(user, now), |a| *out = new_access(a))
    }
}

/// Connect: access for the app user `user_id` of connected account `account` (`acct_...`;
/// both UTF-8) at `now` (unix seconds, or `TB_NOW`), through that account's customer linked to
/// the user. `tb_engine_access_for_user` answers for the platform's own users only.
///
/// On `TB_RESULT_OK` `*access_out` receives a new `tb_access` that the caller owns and must
/// release with `tb_access_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_access_for_user_in(
    engine: *const tb_engine,
    account: *const u8,
    account_len: usize,
    user_id: *const u8,
    user_id_len: usize,
    now: i64,
    access_out: *mut *mut tb_access,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(access_out);
        let account = try_str!(account, account_len);
        let user = try_str!(user_id, user_id_len);
        let now = resolve_now(now);
        engine.run(
            |e| e.access_for_user_in(account, user, now),
            |a| *out = new_access(a),
        )
    }
}

/// What the checkout success page may say (`tb_checkout.state`, a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_checkout_state {
    /// No webhook for this session has been processed yet.
    Pending = 0,
    /// Completed and paid (or no payment was required).
    Complete = 1,
    /// Completed; an asynchronous payment has not settled yet.
    PaymentPending = 2,
    /// The asynchronous payment failed.
    PaymentFailed = 3,
    /// The session expired without completing.
    Expired = 4,
}

from_same_variants!(CheckoutState => tb_checkout_state {
    Pending, Complete, PaymentPending, PaymentFailed, Expired,
});

/// A checkout session's status for the success page.
///
/// Owned by the caller; release with `tb_checkout_free`. Every `tb_str` borrows from it and is
/// valid until then; absent values are `{NULL, 0}`. Read-only; fields are only ever appended.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_checkout {
    /// A `tb_checkout_state` value.
    pub state: u32,
    /// The session id (`cs_...`).
    pub session_id: tb_str,
    /// The customer, once known.
    pub customer_id: tb_str,
    /// The app user, once known.
    pub user_id: tb_str,
    /// The subscription the session created, once known.
    pub subscription_id: tb_str,
}

/// Frees a `tb_checkout`. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tb_checkout_free(checkout: *mut tb_checkout) {
    ffi_boundary! {
        // SAFETY: the header requires NULL or a `tb_checkout` from
        // `tb_engine_checkout_status`, freed once.
        unsafe { free_view::<tb_checkout, CheckoutStatus>(checkout) }
    }
}

/// The status of checkout session `session_id` (UTF-8). Only a processed webhook confirms
/// payment; an unknown session is `TB_CHECKOUT_STATE_PENDING`, not an error.
///
/// On `TB_RESULT_OK` `*checkout_out` receives a new `tb_checkout` that the caller owns and
/// must release with `tb_checkout_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_checkout_status(
    engine: *const tb_engine,
    session_id: *const u8,
    session_id_len: usize,
    checkout_out: *mut *mut tb_checkout,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(checkout_out);
        let session = try_str!(session_id, session_id_len);
        engine.run(
            |e| e.checkout_status(session),
            |c| {
                let view = tb_checkout {
                    state: tb_checkout_state::from(c.state) as u32,
                    session_id: tb_str::of(&c.session_id),
                    customer_id: tb_str::opt(c.customer_id.as_ref()),
                    user_id: tb_str::opt(c.user_id.as_ref()),
                    subscription_id: tb_str::opt(c.subscription_id.as_ref()),
                };
                *out = into_raw_view(Owned { view, _keep: c });
            },
        )
    }
}

/// One invoice (an element of `tb_invoice_list.items`). Strings borrow from the list.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_invoice {
    /// `in_...`.
    pub id: tb_str,
    /// The customer.
    pub customer_id: tb_str,
    /// The subscription, when the invoice belongs to one.
    pub subscription_id: tb_str,
    /// Invoice number.
    pub number: tb_str,
    /// Stripe status (`draft`, `open`, `paid`, `void`, `uncollectible`).
    pub status: tb_str,
    /// Lowercase ISO currency (empty when unknown).
    pub currency: tb_str,
    /// Amount due, minor units.
    pub amount_due: i64,
    /// Amount paid, minor units.
    pub amount_paid: i64,
    /// Amount remaining, minor units.
    pub amount_remaining: i64,
    /// Hosted invoice page.
    pub hosted_invoice_url: tb_str,
    /// PDF link.
    pub invoice_pdf: tb_str,
    /// Payment attempts so far.
    pub attempt_count: i64,
    /// Whether `next_payment_attempt` is set.
    pub has_next_payment_attempt: bool,
    /// Next automatic retry, unix seconds.
    pub next_payment_attempt: i64,
    /// Creation time, unix seconds.
    pub created: i64,
    /// Why the invoice exists (`subscription_cycle`, ...).
    pub billing_reason: tb_str,
}

/// A customer's invoices, newest first.
///
/// Owned by the caller; release with `tb_invoice_list_free`. `items` and every `tb_str` in it
/// borrow from the list and are valid until then. Read-only.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_invoice_list {
    /// `len` invoices; NULL when `len` is 0.
    pub items: *const tb_invoice,
    /// Number of invoices.
    pub len: usize,
}

type InvoiceKeep = (Vec<InvoiceRecord>, Vec<tb_invoice>);

fn invoice_view(i: &InvoiceRecord) -> tb_invoice {
    tb_invoice {
        id: tb_str::of(&i.id),
        customer_id: tb_str::of(&i.customer_id),
        subscription_id: tb_str::opt(i.subscription_id.as_ref()),
        number: tb_str::opt(i.number.as_ref()),
        status: tb_str::opt(i.status.as_ref()),
        currency: tb_str::of(&i.currency),
        amount_due: i.amount_due,
        amount_paid: i.amount_paid,
        amount_remaining: i.amount_remaining,
        hosted_invoice_url: tb_str::opt(i.hosted_invoice_url.as_ref()),
        invoice_pdf: tb_str::opt(i.invoice_pdf.as_ref()),
        attempt_count: i.attempt_count,
        has_next_payment_attempt: i.next_payment_attempt.is_some(),
        next_payment_attempt: i.next_payment_attempt.unwrap_or(0),
        created: i.created,
        billing_reason: tb_str::opt(i.billing_reason.as_ref()),
    }
}

/// Frees a `tb_invoice_list`. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tb_invoice_list_free(list: *mut tb_invoice_list) {
    ffi_boundary! {
        // SAFETY: the header requires NULL or a list from `tb_engine_invoices`, freed once.
        unsafe { free_view::<tb_invoice_list, InvoiceKeep>(list) }
    }
}

/// The invoices of customer `customer_id` (UTF-8), newest first ("where is my invoice?").
///
/// On `TB_RESULT_OK` `*list_out` receives a new `tb_invoice_list` (possibly empty) that the
/// caller owns and must release with `tb_invoice_list_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_invoices(
    engine: *const tb_engine,
    customer_id: *const u8,
    customer_id_len: usize,
    list_out: *mut *mut tb_invoice_list,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(list_out);
        let customer = try_str!(customer_id, customer_id_len);
        engine.run(
            |e| e.invoices(customer),
            |records| {
                let items: Vec<tb_invoice> = records.iter().map(invoice_view).collect();
                let view = tb_invoice_list {
                    items: array_ptr(&items),
                    len: items.len(),
                };
                *out = into_raw_view(Owned {
                    view,
                    _keep: (records, items),
                });
            },
        )
    }
}

/// A customer's active Stripe Entitlements: feature lookup keys, sorted.
///
/// Owned by the caller; release with `tb_feature_list_free`. `items` and every `tb_str` in it
/// borrow from the list and are valid until then. Read-only.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_feature_list {
    /// `len` lookup keys; NULL when `len` is 0.
    pub items: *const tb_str,
    /// Number of features.
    pub len: usize,
}

type FeatureKeep = (Vec<String>, Vec<tb_str>);

/// Frees a `tb_feature_list`. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tb_feature_list_free(list: *mut tb_feature_list) {
    ffi_boundary! {
        // SAFETY: the header requires NULL or a list from `tb_engine_features`, freed once.
        unsafe { free_view::<tb_feature_list, FeatureKeep>(list) }
    }
}

/// The active Stripe Entitlements of `user_or_customer` (UTF-8): a Stripe customer id, or an
/// app user id whose linked customer is used. Unknown: an empty list, not an error.
///
/// On `TB_RESULT_OK` `*list_out` receives a new `tb_feature_list` that the caller owns and
/// must release with `tb_feature_list_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_features(
    engine: *const tb_engine,
    user_or_customer: *const u8,
    user_or_customer_len: usize,
    list_out: *mut *mut tb_feature_list,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(list_out);
        let who = try_str!(user_or_customer, user_or_customer_len);
        engine.run(
            |e| e.features(who),
            |features| {
                let items: Vec<tb_str> = features.iter().map(String::as_str).map(tb_str::of).collect();
                let view = tb_feature_list {
                    items: array_ptr(&items),
                    len: items.len(),
                };
                *out = into_raw_view(Owned {
                    view,
                    _keep: (features, items),
                });
            },
        )
    }
}

/// Whether `user_or_customer` (as in `tb_engine_features`) has the active entitlement
/// `lookup_key` (UTF-8). On `TB_RESULT_OK` `*has_out` is set.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_has_feature(
    engine: *const tb_engine,
    user_or_customer: *const u8,
    user_or_customer_len: usize,
    lookup_key: *const u8,
    lookup_key_len: usize,
    has_out: *mut bool,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(has_out);
        let who = try_str!(user_or_customer, user_or_customer_len);
        let key = try_str!(lookup_key, lookup_key_len);
        engine.run(|e| e.has_feature(who, key), |has| *out = has)
    }
}
