//! The plain records the till stores: the terminal's identity, accepted payments and their
//! range-ledger entries, the deposit queue, the declines log and the kept fraud proofs.

use ops_core::ids::{CertId, Digest32, NoteId, sha256, to_hex};
use serde::{Deserialize, Serialize};

use super::reason::DeclineReason;
use crate::hexser;
use crate::types::SagaId;

/// A payment's identity at the till: [`ops_core::Payment::hash`], which covers the
/// issuances and spend bodies but neither the certificate list nor any signature. The same
/// payment re-encoded (certificates added or dropped, a signature in its other form) has
/// the same id, and the FI answers deposits under the same hash.
pub type PaymentId = Digest32;

/// The short payment id a cashier reads aloud and a receipt shows: the first eight hex
/// digits of the id, uppercase, in two groups (`AB12-CD34`).
pub fn short_id(id: &PaymentId) -> String {
    let hex = to_hex(&id.0[..4]).to_uppercase();
    let (a, b) = hex.split_at(4);
    format!("{a}-{b}")
}

/// The terminal's identity at its FI, stored at set-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillIdentity {
    /// The terminal's certificate (canonical bytes), with the merchant's certified name.
    #[serde(with = "hexser::bytes")]
    pub terminal_cert: Vec<u8>,
    /// Its FI's certificate (canonical bytes).
    #[serde(with = "hexser::bytes")]
    pub fi_cert: Vec<u8>,
    /// The WebAuthn credential the terminal signs with, when its certificate demands
    /// assertions; `None` for a non-extractable WebCrypto P-256 key.
    #[serde(with = "hexser::option", default)]
    pub credential_id: Option<Vec<u8>>,
    /// The merchant's account at the FI (credited by the deposits).
    pub account_id: u64,
}

/// A payment the till verified and stored: what was approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedPayment {
    /// Its id.
    pub id: PaymentId,
    /// The sale it paid.
    pub sale: SagaId,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// The sale's reference (the request's label), if any.
    pub reference: Option<String>,
    /// When it was approved (the time it was received and verified at).
    pub accepted_at: u64,
    /// The device that signed the final spend of its first chain.
    pub payer: Option<CertId>,
    /// The payment's canonical bytes, as deposited.
    #[serde(with = "hexser::bytes")]
    pub bytes: Vec<u8>,
}

/// One range of the till's range ledger: a spend it recorded (final or provenance) with
/// the payment that brought it. Ranges of one note never overlap unless they are the same
/// spend (the store refuses the batch otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The note the spend consumes.
    pub note: NoteId,
    /// Start (inclusive).
    pub from: u64,
    /// End (exclusive).
    pub to: u64,
    /// The spend's id.
    pub spend: NoteId,
    /// The first payment that brought it.
    pub payment: PaymentId,
    /// The signed spend's canonical bytes (for fraud proofs).
    #[serde(with = "hexser::bytes")]
    pub bytes: Vec<u8>,
}

impl LedgerEntry {
    /// Whether it overlaps `[from, to)` of `note`.
    pub fn overlaps(&self, note: &NoteId, from: u64, to: u64) -> bool {
        self.note == *note && self.from < to && from < self.to
    }

    /// Whether it is the same spend as `other` over the same range (a shared provenance
    /// hop or a retry, not a double spend).
    pub fn same_spend(&self, other: &LedgerEntry) -> bool {
        self.spend == other.spend
            && self.note == other.note
            && self.from == other.from
            && self.to == other.to
    }
}

/// Where an accepted payment stands on its way to the merchant's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    /// Waiting for the next upload.
    Pending,
    /// In the upload `batch`, whose answer has not been stored yet.
    Posting {
        /// The deposit saga posting it.
        batch: SagaId,
    },
    /// The FI consumed its notes and credited the account (by this upload or an earlier
    /// one).
    Credited {
        /// What the answer that settled it credited (0 when an earlier upload had).
        credited_now: u64,
    },
    /// The FI refused it for good.
    Refused {
        /// The FI's error code.
        code: String,
        /// The FI's words.
        message: String,
    },
    /// The FI holds it for review (it relies on value its payer spent twice): an
    /// operator will credit or reject it; each upload asks again.
    Disputed {
        /// The FI's hold id.
        held_id: Option<i64>,
    },
}

impl DepositStatus {
    /// Whether the payment still waits for the FI's final word (pending, being posted or
    /// disputed).
    pub fn awaits(&self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Posting { .. } | Self::Disputed { .. }
        )
    }

    /// Whether the next upload may take it (pending, or disputed to ask again).
    pub fn uploadable(&self) -> bool {
        matches!(self, Self::Pending | Self::Disputed { .. })
    }

    /// A stable name for reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Posting { .. } => "posting",
            Self::Credited { .. } => "credited",
            Self::Refused { .. } => "refused",
            Self::Disputed { .. } => "disputed",
        }
    }
}

/// One accepted payment in the deposit queue (it stays, with its final status, for the
/// reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The payment.
    pub payment: PaymentId,
    /// Its amount.
    pub amount: u64,
    /// Its currency.
    pub currency: String,
    /// When it was accepted.
    pub accepted_at: u64,
    /// Where it stands.
    pub status: DepositStatus,
    /// When the status last changed.
    pub updated: u64,
}

/// A declined attempt, for the reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    /// Its key: the first 16 bytes of SHA-256 over the sale, the bytes and the time, in
    /// hex ([`Decline::key`]); the same attempt decided twice is logged once.
    pub id: String,
    /// The sale it was presented to.
    pub sale: Option<SagaId>,
    /// When.
    pub at: u64,
    /// Why, in the till's categories.
    pub reason: DeclineReason,
    /// The verification rule that failed (`1..=23`), when one did.
    pub rule: Option<u8>,
    /// The technical detail (the core's message).
    pub detail: String,
    /// The sale's amount.
    pub amount: Option<u64>,
    /// The sale's currency.
    pub currency: Option<String>,
    /// The payment's id, when the bytes decoded.
    pub payment: Option<PaymentId>,
}

impl Decline {
    /// The key of a declined attempt of `bytes` for `sale` at `at`.
    pub fn key(sale: Option<&SagaId>, bytes: &[u8], at: u64) -> String {
        let mut m = sale.map_or_else(Vec::new, |s| s.0.as_bytes().to_vec());
        m.push(0);
        m.extend_from_slice(&sha256(bytes));
        m.extend_from_slice(&at.to_be_bytes());
        to_hex(&sha256(&m)[..16])
    }
}

/// A fraud proof kept from a declined double spend, for the FI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptProof {
    /// SHA-256 of its bytes (the same proof is kept once).
    pub id: Digest32,
    /// When it was kept.
    pub at: u64,
    /// The sale the double spend was presented to.
    pub sale: Option<SagaId>,
    /// The proof's canonical bytes.
    #[serde(with = "hexser::bytes")]
    pub bytes: Vec<u8>,
}

impl KeptProof {
    /// A proof kept at `at`.
    pub fn new(bytes: Vec<u8>, sale: Option<SagaId>, at: u64) -> Self {
        Self {
            id: Digest32(sha256(&bytes)),
            at,
            sale,
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_and_statuses() {
        let id = Digest32([0xab; 32]);
        assert_eq!(short_id(&id), "ABAB-ABAB");
        assert!(DepositStatus::Pending.uploadable());
        assert!(DepositStatus::Disputed { held_id: None }.uploadable());
        let posting = DepositStatus::Posting {
            batch: SagaId("b".into()),
        };
        assert!(posting.awaits() && !posting.uploadable());
        assert!(!DepositStatus::Credited { credited_now: 0 }.awaits());
        assert_ne!(
            Decline::key(None, b"x", 1),
            Decline::key(None, b"x", 2),
            "another time is another attempt"
        );
    }
}
