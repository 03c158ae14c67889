//! The Stripe API key, held so that it cannot leak by accident: `Debug` and `Display` print
//! `[redacted]`, errors about it never quote it, and the only way to read it back is
//! [`ApiKey::bearer`], which the client calls once per request to build the header.

use std::fmt;

use crate::error::{Error, ErrorCode, Result};

/// A Stripe secret (`sk_…`) or restricted (`rk_…`) API key. Restricted keys with read access
/// to the objects tollbooth syncs are enough (see the README).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks the shape of a key without ever putting it in the error: it must start with
    /// `sk_` or `rk_` and hold only ASCII letters, digits and underscores (so it cannot smuggle
    /// a header break or a space into the request).
    pub fn new(key: impl Into<String>) -> Result<ApiKey> {
        let key = key.into();
        let shape_ok = (key.starts_with("sk_") || key.starts_with("rk_"))
            && key.len() > 3
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !shape_ok {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                "the Stripe API key must start with sk_ or rk_ and hold only letters, digits and underscores",
            ));
        }
        Ok(ApiKey(key))
    }

    /// `true` for a live-mode key (`sk_live_…`, `rk_live_…`).
    pub fn is_live(&self) -> bool {
        self.0[3..].starts_with("live_")
    }

    /// Whether `text` is this key (for redacting it from messages).
    pub(crate) fn is(&self, text: &str) -> bool {
        self.0 == text
    }

    /// The `Authorization` header value. Crate-private: only the client sends it.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked_and_never_echoed() {
        for bad in [
            "",
            "sk_",
            "pk_test_abc",
            "sk_test_a b",
            "sk_test_x\r\nX-Evil: 1",
            "whsec_1",
        ] {
            let e = ApiKey::new(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigInvalid);
            if !bad.is_empty() && bad != "sk_" {
                assert!(!e.to_string().contains(bad), "{e}");
            }
        }
        let k = ApiKey::new("sk_test_51SecretValue").unwrap();
        assert!(!k.is_live());
        assert!(ApiKey::new("rk_live_9").unwrap().is_live());
        assert_eq!(format!("{k:?}"), "ApiKey([redacted])");
        assert_eq!(k.to_string(), "[redacted]");
        assert_eq!(k.bearer(), "Bearer sk_test_51SecretValue");
    }
}
