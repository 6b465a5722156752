//! `POST /api/v1/fund`.

use serde::{Deserialize, Serialize};

/// The header carrying a funding's idempotency key: 1 to 100 visible ASCII characters the
/// client keeps with its request and repeats on every retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 100;

/// Whether `key` is a valid idempotency key.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundRequest {
    /// The device's certificate id (hex).
    pub device: String,
    /// Amount in minor units.
    pub amount: u64,
}

/// The answer (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundResponse {
    /// The debited account.
    pub account_id: i64,
    /// Its balance after the funding.
    pub balance: i64,
    /// The issued notes (issuances, base64).
    pub notes: Vec<String>,
    /// Their note ids (hex).
    pub note_ids: Vec<String>,
    /// Whether this answers a retry of an earlier request with the same key (nothing was
    /// debited again).
    #[serde(default)]
    pub replayed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(valid_idempotency_key("load-1"));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("with space"));
        assert!(!valid_idempotency_key(&"k".repeat(101)));
        assert!(valid_idempotency_key(&"k".repeat(100)));
    }

    #[test]
    fn the_answer_of_the_documented_example_decodes() {
        let v = serde_json::json!({"account_id": 1, "balance": 95000, "notes": ["AAE="],
            "note_ids": ["00"], "replayed": false});
        let r: Result<FundResponse, _> = serde_json::from_value(v);
        assert_eq!(r.map(|r| r.balance).ok(), Some(95_000));
        let unknown = serde_json::json!({"device": "00", "amount": 1, "extra": 1});
        assert!(serde_json::from_value::<FundRequest>(unknown).is_err());
    }
}
