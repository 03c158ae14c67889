//! Amounts in each currency's own minor units, as Stripe sends them.
//!
//! Stripe amounts are integers in the currency's smallest unit: cents for USD, yen for JPY (a
//! zero-decimal currency), fils for KWD (three decimals). The exponent comes from ISO 4217 (the
//! `iso_currency` crate's table) with Stripe's documented exceptions on top: ISK is zero-decimal
//! in ISO but Stripe keeps two decimals for backward compatibility (always `00`), and Stripe
//! treats MGA as zero-decimal.

use iso_currency::Currency;

/// Stripe's departures from ISO 4217, as `(code, exponent)`.
const STRIPE_EXPONENTS: &[(&str, u32)] = &[("ISK", 2), ("MGA", 0)];

/// How many decimal places `currency`'s Stripe amounts carry (2 for an unknown code).
pub fn exponent(currency: &str) -> u32 {
    let code = currency.to_ascii_uppercase();
    if let Some((_, e)) = STRIPE_EXPONENTS.iter().find(|(c, _)| *c == code) {
        return *e;
    }
    Currency::from_code(&code)
        .and_then(|c| c.exponent())
        .map_or(2, u32::from)
}

/// `minor` units of `currency` as text: `15.00 USD`, `1500 JPY`, `1.250 KWD`.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let e = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    let code = currency.to_ascii_uppercase();
    if e == 0 {
        return format!("{sign}{m} {code}");
    }
    let scale = 10u64.pow(e);
    format!(
        "{sign}{}.{:0width$} {code}",
        m / scale,
        m % scale,
        width = e as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_currency_in_its_own_minor_units() {
        assert_eq!(format_amount(1500, "usd"), "15.00 USD");
        assert_eq!(format_amount(1500, "jpy"), "1500 JPY");
        assert_eq!(format_amount(1250, "kwd"), "1.250 KWD");
        assert_eq!(format_amount(1250, "bhd"), "1.250 BHD");
        assert_eq!(format_amount(50000, "krw"), "50000 KRW");
        assert_eq!(format_amount(-2900, "eur"), "-29.00 EUR");
        assert_eq!(format_amount(i64::MIN, "usd"), "-92233720368547758.08 USD");
    }

    #[test]
    fn stripe_exceptions_win_over_iso() {
        assert_eq!(exponent("isk"), 2, "Stripe keeps two decimals for ISK");
        assert_eq!(exponent("mga"), 0, "Stripe treats MGA as zero-decimal");
        assert_eq!(exponent("ugx"), 0);
        assert_eq!(
            exponent("xyz"),
            2,
            "unknown codes fall back to two decimals"
        );
    }
}
