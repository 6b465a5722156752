//! The plain records the engine stores: saga ids, range claims, history entries, the
//! device identity, the trust bundle, settings, and the assertion an authenticator returns.

use ops_core::ids::{CertId, NoteId, to_hex};
use serde::{Deserialize, Serialize};

use crate::hexser;

/// A saga's id: its kind and a key that makes it unique and idempotent (a payment
/// request's hash, or a random key chosen by the app when the flow starts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SagaId(pub String);

impl SagaId {
    /// `kind:hex(key)`.
    pub fn new(kind: &str, key: &[u8]) -> Self {
        Self(format!("{kind}:{}", to_hex(key)))
    }
}

impl core::fmt::Display for SagaId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a claimed range is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Reserved for a flow, nothing signed: can be released.
    Reserved,
    /// Signed: the spend may be out (shown, handed over, posted). Never released.
    Signed,
    /// Confirmed gone (receipt, the payer's confirmation, or the FI's answer).
    Spent,
}

/// A range of one note held by one saga. Claims of all sagas never overlap (the store
/// refuses a batch that would make them); a note's free value is its value minus its
/// claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The saga holding it.
    pub saga: SagaId,
    /// The note.
    pub note: NoteId,
    /// Start (inclusive).
    pub from: u64,
    /// End (exclusive).
    pub to: u64,
    /// What it is doing.
    pub status: ClaimStatus,
}

impl Claim {
    /// Value held.
    pub fn value(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }

    /// Whether it overlaps `[from, to)` of `note`.
    pub fn overlaps(&self, note: &NoteId, from: u64, to: u64) -> bool {
        self.note == *note && self.from < to && from < self.to
    }
}

/// Which flow a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// A payment made.
    Out,
    /// A payment received.
    In,
    /// Value loaded from the account.
    Fund,
    /// Value returned to the account.
    Defund,
    /// Received payments deposited.
    Deposit,
    /// Notes renewed: returned to the account and loaded again as fewer or fresher notes.
    Refresh,
}

/// Where a history entry stands (what the history screen shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryState {
    /// Ranges reserved, waiting for the user's approval.
    Reserved,
    /// Signed; shown or posted, not yet confirmed.
    Signed,
    /// Handed over to the payee, not yet confirmed.
    HandedOver,
    /// Confirmed (receipt, user, or FI).
    Confirmed,
    /// Received and stored.
    Received,
    /// Deposited at the FI.
    Deposited,
    /// Given up before anything left the wallet.
    Cancelled,
    /// Given up after signing: the value stays held, the payee may still deposit it.
    Abandoned,
    /// Refused (by the FI, or the flow could not complete).
    Failed,
    /// Waiting for the FI's answer.
    Pending,
    /// Held by the FI for review (the payment overlaps a double spend): credited or
    /// refused by an operator later.
    Disputed,
}

/// One line of history, keyed by its saga (rewritten as the saga moves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The saga.
    pub saga: SagaId,
    /// Flow.
    pub kind: HistoryKind,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// The other party's certificate, when there is one.
    pub counterparty: Option<CertId>,
    /// Hops of the notes involved (the greatest), when known.
    pub hops: Option<usize>,
    /// State.
    pub state: HistoryState,
    /// When the flow started (Unix seconds).
    pub created: u64,
    /// When it last changed.
    pub updated: u64,
    /// For a renewal of notes: how many notes went back and how many came (or will come)
    /// in their place ("5 notes into 1"). (No `skip_serializing_if`: the IndexedDB
    /// store packs records with postcard, which has no field names to skip by.)
    #[serde(default)]
    pub notes: Option<NotesRenewed>,
}

/// How many notes a renewal returned and how many it loaded in their place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotesRenewed {
    /// Notes (free ranges) returned to the account.
    pub returned: usize,
    /// Notes loaded in their place: the FI's answer once loaded, the expected count before.
    pub issued: usize,
}

/// This device's identity at its FI, stored at onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The device certificate's canonical bytes.
    #[serde(with = "hexser::bytes")]
    pub device_cert: Vec<u8>,
    /// Its FI's certificate's canonical bytes.
    #[serde(with = "hexser::bytes")]
    pub fi_cert: Vec<u8>,
    /// The WebAuthn credential id the device signs with.
    #[serde(with = "hexser::bytes")]
    pub credential_id: Vec<u8>,
    /// The FI account the device belongs to.
    pub account_id: u64,
}

/// The pinned trust: the central bank's root and the FIs' certificates (canonical bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustBundle {
    /// The root certificate.
    #[serde(with = "hexser::bytes")]
    pub root: Vec<u8>,
    /// FI certificates.
    #[serde(with = "hexser::list")]
    pub fis: Vec<Vec<u8>>,
    /// The device's FI's counterparty block list, signed (docs/PROTOCOL.md §6.1): checked
    /// when the bundle is stored; `None` until the FI sent one.
    #[serde(default, with = "hexser::option")]
    pub blocklist: Option<Vec<u8>>,
}

/// User settings the engine keeps for the app (the app decides what they mean).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// QR speed/density preset name.
    pub qr_preset: Option<String>,
    /// Preferred camera id.
    pub camera: Option<String>,
    /// Last successful sync with the FI (Unix seconds).
    pub last_sync: Option<u64>,
}

/// An assertion as the authenticator returned it (the fields of
/// `ops_browser::webauthn::SignedAssertion` the protocol needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    /// Authenticator data.
    #[serde(with = "hexser::bytes")]
    pub authenticator_data: Vec<u8>,
    /// `clientDataJSON`.
    #[serde(with = "hexser::bytes")]
    pub client_data_json: Vec<u8>,
    /// DER ECDSA signature.
    #[serde(with = "hexser::bytes")]
    pub signature_der: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_overlap_only_on_the_same_note() {
        let c = Claim {
            saga: SagaId::new("pay", &[1]),
            note: NoteId([1; 32]),
            from: 10,
            to: 20,
            status: ClaimStatus::Reserved,
        };
        assert!(c.overlaps(&NoteId([1; 32]), 19, 30));
        assert!(!c.overlaps(&NoteId([1; 32]), 20, 30), "adjacent is free");
        assert!(!c.overlaps(&NoteId([2; 32]), 10, 20));
        assert_eq!(c.value(), 10);
        assert_eq!(SagaId::new("fund", &[0xab]).0, "fund:ab");
    }
}
