//! Fraud proofs a payee kept (`POST /api/v1/fraud-proofs`): a terminal that declined a
//! double spend offline holds the proof (two overlapping spends signed by one holder) and
//! reports it when online, so the FI revokes the culprit even if the other spend is never
//! deposited.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/fraud-proofs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudProofReport {
    /// The proof's canonical bytes (`ops_core::FraudProof`), base64.
    pub proof: String,
}

/// The answer: the case the proof opened (201) or had opened before (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudProofAnswer {
    /// Whether this report opened the case (false: it was known).
    pub case_opened: bool,
    /// The holder who signed both spends (certificate id, hex).
    pub culprit: String,
    /// The note spent twice (hex).
    pub note: String,
    /// Units the two spends share.
    pub overlap: u64,
}
