//! One-time and lifetime purchases: what is known of each one-time payment, merged from the
//! Checkout Session, PaymentIntent and charge events in whatever order they come, and which
//! of them grant access under the deployment's [`PurchaseGrant`]s.
//!
//! Order-free by construction: [`PurchaseRecord::merge`] is a join (commutative, associative,
//! idempotent) — facts only accumulate (paid, refunded, what was bought) — so no watermark is
//! needed and a late or repeated event can never undo a refund.

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::event::SubscriptionItem;

/// What tollbooth knows of one payment, keyed by its PaymentIntent (`pi_…`), or by the
/// Checkout Session (`cs_…`) of a payment that needed none, or the charge (`ch_…`) of a
/// legacy charge without an intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PurchaseRecord {
    /// `pi_…` / `cs_…` / `ch_…`.
    pub id: String,
    /// The customer, when the payment has one (guest checkouts may not).
    pub customer_id: Option<String>,
    /// The app user (`client_reference_id` or `metadata.user_id`), when known.
    pub user_id: Option<String>,
    /// The Checkout Session that sold it.
    pub checkout_session_id: Option<String>,
    /// What was bought (prices, products and quantities), sorted.
    pub items: Vec<SubscriptionItem>,
    /// Amount paid, minor units.
    pub amount: i64,
    /// Lowercase ISO currency (empty when unknown).
    pub currency: String,
    /// Known to be a one-time purchase (a payment-mode Checkout Session, or a PaymentIntent
    /// the host stamped with `metadata.price_id`/`product_id`), not an invoice's payment.
    pub purchase: bool,
    /// When the payment succeeded (`created` of the first event that said so).
    pub paid_at: Option<i64>,
    /// When it was refunded in full (`created` of the first event that said so).
    pub refunded_at: Option<i64>,
    /// Amount refunded so far, minor units.
    pub amount_refunded: i64,
}

/// The smaller of two known values, so a disagreement resolves the same in any order.
fn join<T: Ord + Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y).clone()),
        (x, y) => x.clone().or_else(|| y.clone()),
    }
}

impl PurchaseRecord {
    /// The join of two views of the same payment: every fact either side knows. The result
    /// does not depend on the order of the views (property-tested below and in
    /// tests/permutations.rs).
    pub fn merge(&self, other: &PurchaseRecord) -> PurchaseRecord {
        let mut items = self.items.clone();
        for item in &other.items {
            match items
                .iter_mut()
                .find(|i| (&i.price_id, &i.product_id) == (&item.price_id, &item.product_id))
            {
                Some(i) => {
                    i.quantity = i.quantity.max(item.quantity);
                    i.id = i.id.clone().max(item.id.clone());
                }
                None => items.push(item.clone()),
            }
        }
        items.sort_by(|a, b| (&a.price_id, &a.product_id).cmp(&(&b.price_id, &b.product_id)));
        PurchaseRecord {
            id: self.id.clone(),
            customer_id: join(&self.customer_id, &other.customer_id),
            user_id: join(&self.user_id, &other.user_id),
            checkout_session_id: join(&self.checkout_session_id, &other.checkout_session_id),
            items,
            amount: self.amount.max(other.amount),
            currency: self.currency.clone().max(other.currency.clone()),
            purchase: self.purchase || other.purchase,
            paid_at: join(&self.paid_at, &other.paid_at),
            refunded_at: join(&self.refunded_at, &other.refunded_at),
            amount_refunded: self.amount_refunded.max(other.amount_refunded),
        }
    }

    /// Whether `grant` covers one of the bought prices or products.
    fn covered_by(&self, grant: &PurchaseGrant) -> bool {
        grant.id == "*"
            || self.items.iter().any(|i| {
                i.price_id.as_deref() == Some(grant.id.as_str())
                    || i.product_id.as_deref() == Some(grant.id.as_str())
            })
    }

    /// The grant that applies: the longest of those covering the purchase (forever first).
    pub fn grant<'g>(&self, grants: &'g [PurchaseGrant]) -> Option<&'g PurchaseGrant> {
        grants
            .iter()
            .filter(|g| self.covered_by(g))
            .max_by_key(|g| g.duration_secs.map_or(i64::MAX, |d| d))
    }
}

/// "This price or product, once paid, grants access": forever, or for a duration from the
/// payment. Configured per deployment (`Config::purchase_grants`); evaluated when access is
/// asked, so a changed configuration applies to past purchases too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseGrant {
    /// `price_…`, `prod_…`, or `*` for any one-time purchase.
    pub id: String,
    /// Seconds of access from the payment; `None` is lifetime access.
    pub duration_secs: Option<i64>,
}

impl PurchaseGrant {
    /// Parses `ID` (lifetime) or `ID=SECONDS`, the form the CLI, environment and C setter
    /// take. Bad input: `CONFIG_INVALID`.
    pub fn parse(text: &str) -> Result<PurchaseGrant> {
        let bad = |m: String| Error::new(ErrorCode::ConfigInvalid, m);
        let (id, secs) = match text.trim().split_once('=') {
            Some((id, secs)) => (id.trim(), Some(secs.trim())),
            None => (text.trim(), None),
        };
        if id.is_empty() || id.len() > 255 || id.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(bad(
                "a purchase grant needs a price id, product id or * before any =SECONDS".into(),
            ));
        }
        let duration_secs = match secs {
            None => None,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(bad(format!(
                        "purchase grant for {id}: the duration must be a positive number of seconds"
                    )));
                }
            },
        };
        Ok(PurchaseGrant {
            id: id.to_owned(),
            duration_secs,
        })
    }

    /// A comma-separated list of [`PurchaseGrant::parse`] forms (empty text: none).
    pub fn parse_list(text: &str) -> Result<Vec<PurchaseGrant>> {
        text.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(PurchaseGrant::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(price: &str, product: &str) -> SubscriptionItem {
        SubscriptionItem {
            id: String::new(),
            price_id: Some(price.into()),
            product_id: Some(product.into()),
            quantity: 1,
        }
    }

    fn views() -> Vec<PurchaseRecord> {
        let base = PurchaseRecord {
            id: "pi_1".into(),
            ..Default::default()
        };
        vec![
            PurchaseRecord {
                checkout_session_id: Some("cs_1".into()),
                user_id: Some("user_1".into()),
                items: vec![item("price_life", "prod_life")],
                purchase: true,
                paid_at: Some(20),
                amount: 9900,
                currency: "usd".into(),
                ..base.clone()
            },
            PurchaseRecord {
                customer_id: Some("cus_1".into()),
                paid_at: Some(10),
                amount: 9900,
                currency: "usd".into(),
                ..base.clone()
            },
            PurchaseRecord {
                refunded_at: Some(30),
                amount_refunded: 9900,
                ..base.clone()
            },
            PurchaseRecord {
                items: vec![SubscriptionItem {
                    product_id: None,
                    ..item("price_life", "")
                }],
                ..base
            },
        ]
    }

    #[test]
    fn merge_is_order_free() {
        let v = views();
        let fold = |order: &[usize]| {
            order
                .iter()
                .fold(v[order[0]].clone(), |acc, &i| acc.merge(&v[i]))
        };
        let want = fold(&[0, 1, 2, 3]);
        for order in [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1], [0, 0, 2, 1]] {
            let mut o = order.to_vec();
            o.push(3);
            assert_eq!(fold(&o), want, "{order:?}");
        }
        assert!(want.purchase);
        assert_eq!(want.paid_at, Some(10));
        assert_eq!(want.refunded_at, Some(30));
        assert_eq!(want.customer_id.as_deref(), Some("cus_1"));
        assert_eq!(want.merge(&want), want);
    }

    #[test]
    fn grants_parse_and_match_price_product_or_any() {
        let g = PurchaseGrant::parse_list("price_life, prod_pass=2592000,*=60").unwrap();
        assert_eq!(g[0].duration_secs, None);
        assert_eq!(g[1].duration_secs, Some(2_592_000));
        let p = PurchaseRecord {
            items: vec![item("price_life", "prod_pass")],
            ..Default::default()
        };
        // Both price and product match: the longest (lifetime) wins.
        assert_eq!(p.grant(&g).unwrap().id, "price_life");
        let other = PurchaseRecord {
            items: vec![item("price_x", "prod_x")],
            ..Default::default()
        };
        assert_eq!(other.grant(&g).unwrap().id, "*");
        assert!(other.grant(&g[..2]).is_none());
        for bad in ["=60", "price_1=0", "price_1=-5", "price_1=abc", "a b"] {
            let e = PurchaseGrant::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{bad}");
        }
        assert!(PurchaseGrant::parse_list("").unwrap().is_empty());
    }
}
