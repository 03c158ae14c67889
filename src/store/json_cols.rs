//! The few columns both backends keep as JSON text (subscription and purchase items, a
//! customer's feature keys), encoded and decoded in one place. A value that does not decode
//! is `STORE_CORRUPT`, never a silent empty list.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorCode, Result};

/// The column text for `value`.
pub(crate) fn encode<T: Serialize>(value: &T) -> String {
    // Plain structs of strings and integers always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// The value stored in `column` of `table`.
pub(crate) fn decode<T: DeserializeOwned>(text: &str, table: &str, column: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::new(
            ErrorCode::StoreCorrupt,
            format!("{table}.{column} is not the JSON tollbooth wrote: {e}"),
        )
    })
}
