//! `POST /api/v1/deposits`, `/deposits/batch` and `/defund`.

use serde::{Deserialize, Serialize};

use crate::error::ErrorDetail;

/// A deposit's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    /// The payment's canonical bytes, base64.
    pub payment: String,
    /// The depositor's (the final payee's) certificate id, hex.
    pub depositor: String,
}

/// A batch upload's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositBatchRequest {
    /// The depositor's certificate id, hex.
    pub depositor: String,
    /// The payments, base64 each (1 to 256).
    pub payments: Vec<String>,
}

/// A defund's body: a payment whose final spends pay the FI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefundRequest {
    /// The payment's canonical bytes, base64.
    pub payment: String,
}

/// Whether a deposit was credited or waits for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepositStatus {
    /// The final notes are consumed and the account credited (now or before).
    Credited,
    /// Held for review (`202`): nothing recorded, nothing credited yet.
    Held,
    /// An operator rejected the held deposit.
    Rejected,
}

/// What a deposit or defund did (`200`, or `202` when held).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositOutcome {
    /// The payment's hash (hex): its spends, not its bytes.
    pub payment_hash: String,
    /// The credited account.
    pub account_id: i64,
    /// Credited, held or rejected.
    pub status: DepositStatus,
    /// The value of the payment's final notes.
    pub amount: i64,
    /// Credited by this request (0 on a retry, whatever its bytes).
    pub credited: i64,
    /// Spends newly recorded by this request.
    pub spends_recorded: i64,
    /// Fraud cases opened by this request.
    pub fraud_cases: i64,
    /// The hold, when held or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_id: Option<i64>,
}

/// One payment's answer in a batch: its outcome, or its error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchItem {
    /// Settled (credited now or before, or held).
    Ok {
        /// The outcome.
        ok: DepositOutcome,
    },
    /// Refused.
    Refused {
        /// The HTTP status a single deposit would have had.
        status: u16,
        /// Why, and what to do.
        error: ErrorDetail,
    },
}

/// A batch upload's answer: one item per payment, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositBatchResponse {
    /// How many were settled.
    pub settled: usize,
    /// How many were refused.
    pub refused: usize,
    /// Each payment's answer.
    pub results: Vec<BatchItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_batch_items_have_the_documented_shape() {
        let held = serde_json::json!({"payment_hash": "ab", "account_id": 2, "status": "held",
            "amount": 1200, "credited": 0, "spends_recorded": 0, "fraud_cases": 0, "held_id": 7});
        let o: Result<DepositOutcome, _> = serde_json::from_value(held.clone());
        let o = o.ok();
        assert_eq!(o.as_ref().map(|o| o.status), Some(DepositStatus::Held));
        assert_eq!(o.as_ref().and_then(|o| o.held_id), Some(7));
        let item: Result<BatchItem, _> = serde_json::from_value(serde_json::json!({"ok": held}));
        assert!(matches!(item, Ok(BatchItem::Ok { .. })));
        let refused = serde_json::json!({"status": 400,
            "error": {"code": "malformed_base64", "message": "…"}});
        let item: Result<BatchItem, _> = serde_json::from_value(refused);
        assert!(matches!(item, Ok(BatchItem::Refused { status: 400, .. })));
    }
}
