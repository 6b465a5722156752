//! Clearing between FIs through the central bank (docs/API.md, "Clearing"): an FI whose
//! merchants deposited notes another FI issued forwards them as claims to the central
//! bank (`POST /cb/v1/claims`), which verifies them and forwards each to the note's issuing
//! FI (`POST /api/v1/clearing/claims`), so every spend of a note reaches the one ledger of
//! its issuer. Both requests are signed: the body, under [`signed_message`], by the
//! sender's certified key (an FI's key towards the central bank, the root key towards an
//! FI), named in [`SIGNER_HEADER`] and [`SIGNATURE_HEADER`].

use serde::{Deserialize, Serialize};

/// Most claims in one request.
pub const MAX_CLAIMS: usize = 64;

/// The header naming the signing certificate (its id, hex).
pub const SIGNER_HEADER: &str = "ops-signer";

/// The header carrying the ES256 signature (64 bytes r‖s, standard base64).
pub const SIGNATURE_HEADER: &str = "ops-signature";

/// What a clearing request's signature covers: a domain tag, the path, and the body, so a
/// signature for one endpoint is never accepted by another.
pub fn signed_message(path: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + path.len() + body.len());
    m.extend_from_slice(b"ops-clearing-v1\0");
    m.extend_from_slice(path.as_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}

/// One deposited payment claimed from the FI that issued (some of) its notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The issuing FI whose notes are claimed (certificate id, hex).
    pub issuer: String,
    /// The payment's canonical bytes, standard base64.
    pub payment: String,
    /// The merchant device that deposited it (certificate id, hex): the payments' payee.
    pub depositor: String,
    /// When the forwarding FI credited its merchant (Unix seconds): the time the payment
    /// is verified at.
    pub deposited_at: u64,
}

/// A batch of claims: from an FI to the central bank, and from the central bank to an
/// issuing FI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBatch {
    /// The FI whose merchants deposited the payments and that is owed their value
    /// (certificate id, hex).
    pub from_fi: String,
    /// 1 to [`MAX_CLAIMS`] claims.
    pub claims: Vec<Claim>,
}

/// What became of a claim at the issuing FI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Recorded in the issuer's ledger; `credited` is owed to the forwarding FI.
    Credited,
    /// It duplicates value of a revoked culprit (or above the cap): held for the issuer's
    /// operator; asked again at the next clearing run.
    Held,
    /// The issuer's operator rejected it: nothing is owed.
    Rejected,
    /// Refused (does not verify, not the issuer's notes): nothing is owed; `reason` says why.
    Refused,
    /// Not answered yet (the issuer could not be reached); asked again at the next run.
    Pending,
}

impl ClaimStatus {
    /// Whether the answer is final (no point asking again).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ClaimStatus::Credited | ClaimStatus::Rejected | ClaimStatus::Refused
        )
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Credited => "credited",
            ClaimStatus::Held => "held",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Refused => "refused",
            ClaimStatus::Pending => "pending",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "credited" => ClaimStatus::Credited,
            "held" => ClaimStatus::Held,
            "rejected" => ClaimStatus::Rejected,
            "refused" => ClaimStatus::Refused,
            "pending" => ClaimStatus::Pending,
            _ => return None,
        })
    }
}

/// The answer for one claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAnswer {
    /// The payment's hash (hex).
    pub payment_hash: String,
    /// The issuing FI asked.
    pub issuer: String,
    /// What became of it.
    pub status: ClaimStatus,
    /// The value of the issuer's notes this claim consumed for the forwarding FI, in
    /// total (the same on every retry): what the issuer owes.
    pub credited: i64,
    /// Fraud cases the claim opened at the issuer.
    pub fraud_cases: i64,
    /// Why it was refused, or held.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The answers to a [`ClaimBatch`], in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAnswers {
    /// One per claim.
    pub answers: Vec<ClaimAnswer>,
}

/// An FI's position in one clearing cycle: what its merchants were credited for other
/// FIs' notes, less what other FIs' merchants were credited for its notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The FI (certificate id, hex).
    pub fi: String,
    /// Net amount its reserve account received (negative: paid).
    pub net: i64,
}

/// A closed clearing cycle (`POST /cb/v1/cycles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleStatement {
    /// The cycle's number (0 when nothing was left to net and no cycle was opened).
    pub cycle: i64,
    /// Claims netted in it.
    pub claims: i64,
    /// Their total value.
    pub gross: i64,
    /// Each FI's net position (they sum to zero).
    pub positions: Vec<Position>,
}

/// The central bank's reserve accounts (`GET /cb/v1/reserves`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserves {
    /// Each FI's reserve balance: the sum of its net positions (they sum to zero).
    pub balances: Vec<Position>,
}

/// The revocation lists the central bank publishes (`GET /cb/v1/crls`): the root CRL
/// first, then each member FI's latest, signed by their issuers, base64 each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlBundle {
    /// The signed lists.
    pub crls: Vec<String>,
    /// The member FIs the root has not revoked, with their services' addresses: each FI
    /// offers them to its users as the banks they can choose (`GET /api/v1/banks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<crate::banks::Member>,
}

/// Fraud proofs an FI's ledger found against another FI's device (`POST
/// /cb/v1/fraud-proofs`, signed like claims): the central bank hands each to the culprit's
/// FI, which revokes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBatch {
    /// The sending FI (hex).
    pub from_fi: String,
    /// 1 to [`MAX_CLAIMS`] fraud proofs, base64 each.
    pub proofs: Vec<String>,
}

/// What became of each forwarded proof, in order: `true` when the culprit's FI has it
/// (or it cannot ever be delivered: refused as not a proof), `false` to send it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofAnswers {
    /// One per proof.
    pub done: Vec<bool>,
    /// Why, per proof (empty when delivered).
    pub reasons: Vec<String>,
}

/// An FI's clearing state (`GET /api/v1/clearing`, admin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingSummary {
    /// Claims not answered yet.
    pub pending: i64,
    /// Claims held at their issuer.
    pub held: i64,
    /// Claims credited by their issuer.
    pub credited: i64,
    /// Claims refused or rejected by their issuer.
    pub refused: i64,
    /// Value credited by issuers (owed to this FI).
    pub credited_value: i64,
    /// What each peer FI's merchants were credited for this FI's notes (owed by this FI).
    pub owed_to_peers: Vec<Position>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_message_names_the_path() {
        let a = signed_message("/cb/v1/claims", b"{}");
        let b = signed_message("/api/v1/clearing/claims", b"{}");
        assert_ne!(a, b);
        assert!(a.starts_with(b"ops-clearing-v1\0/cb/v1/claims\0"));
    }

    #[test]
    fn statuses_round_trip_and_only_answers_are_final() {
        for s in [
            ClaimStatus::Credited,
            ClaimStatus::Held,
            ClaimStatus::Rejected,
            ClaimStatus::Refused,
            ClaimStatus::Pending,
        ] {
            assert_eq!(ClaimStatus::parse(s.as_str()), Some(s));
        }
        assert!(!ClaimStatus::Held.is_final() && !ClaimStatus::Pending.is_final());
        assert_eq!(ClaimStatus::parse("Credited"), None);
    }

    #[test]
    fn a_claim_batch_refuses_unknown_fields() {
        let v = serde_json::json!({"from_fi": "ab", "claims": [], "extra": 1});
        assert!(serde_json::from_value::<ClaimBatch>(v).is_err());
    }
}
