//! The verification rules' error variants, one per rule of `docs/PROTOCOL.md` §6.

use thiserror::Error;

use crate::ids::CertId;
use crate::msg::fraud::FraudProof;
use crate::sig::SignatureError;

/// A failed verification rule. The number in each message is the rule's number in
/// `docs/PROTOCOL.md` §6.
///
/// Deliberately not `#[non_exhaustive]`: the apps map every rule to what a cashier or a
/// payer is told (`ops_wallet_engine::till::DeclineReason::from_verify`) with an
/// exhaustive match, so a new rule cannot compile until it has words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// V1.
    #[error("V1 request already used: a request is single-use; show a new one")]
    RequestUsed,
    /// V2.
    #[error("V2 request not valid now ({now}): valid {created}..={expires}; show a new request")]
    RequestExpired {
        /// Verification time.
        now: u64,
        /// Request creation.
        created: u64,
        /// Request expiry.
        expires: u64,
    },
    /// V3.
    #[error("V3 chain {chain}: the spend answers another request (request hash mismatch)")]
    RequestMismatch {
        /// Chain index.
        chain: usize,
    },
    /// V4.
    #[error("V4 chain {chain}: the spend pays {found}, not this payee")]
    WrongPayee {
        /// Chain index.
        chain: usize,
        /// Payee named by the spend.
        found: CertId,
    },
    /// V5.
    #[error("V5 amount paid {paid} does not equal the amount requested {requested}")]
    AmountMismatch {
        /// Sum of the final spends (saturating).
        paid: u64,
        /// Requested amount.
        requested: u64,
    },
    /// V6.
    #[error("V6 chain {chain}: note currency {found} differs from the requested {requested}")]
    CurrencyMismatch {
        /// Chain index.
        chain: usize,
        /// Note currency.
        found: String,
        /// Requested currency.
        requested: String,
    },
    /// V7.
    #[error("V7 chain {chain} hop {hop}: the spend's input is not the previous note of the chain")]
    BrokenChain {
        /// Chain index.
        chain: usize,
        /// Hop (1-based).
        hop: usize,
    },
    /// V8.
    #[error("V8 chain {chain} hop {hop}: range ends at {to}, beyond the note's value {value}")]
    RangeOutsideNote {
        /// Chain index.
        chain: usize,
        /// Hop (1-based).
        hop: usize,
        /// Range end.
        to: u64,
        /// Note value.
        value: u64,
    },
    /// V9.
    #[error("V9 chain {chain}: {hops} hops exceed the issuing FI's limit of {limit}")]
    HopLimitExceeded {
        /// Chain index.
        chain: usize,
        /// Hops in the chain.
        hops: usize,
        /// The FI's limit.
        limit: u8,
    },
    /// V10.
    #[error("V10 certificate {0} is needed but neither in the payment nor known to the payee")]
    UnknownCertificate(CertId),
    /// V11.
    #[error("V11 certificate {id} does not chain to the pinned root: {reason}")]
    CertificateChain {
        /// Certificate.
        id: CertId,
        /// What is wrong.
        reason: &'static str,
    },
    /// V12.
    #[error("V12 chain {chain}: the FI may not issue this note: {reason}")]
    IssuanceNotAllowed {
        /// Chain index.
        chain: usize,
        /// What limit is broken.
        reason: &'static str,
    },
    /// V13.
    #[error(
        "V13 certificate {id} was not valid at {at} (valid {not_before}..={not_after}, skew allowed)"
    )]
    CertificateNotValid {
        /// Certificate.
        id: CertId,
        /// Time of use.
        at: u64,
        /// Validity start.
        not_before: u64,
        /// Validity end.
        not_after: u64,
    },
    /// V14.
    #[error("V14 chain {chain}: the note expired at {expires} (used at {at})")]
    NoteExpired {
        /// Chain index.
        chain: usize,
        /// Note expiry.
        expires: u64,
        /// Time of use.
        at: u64,
    },
    /// V15.
    #[error("V15 chain {chain} hop {hop}: spend time {time} is out of order ({why})")]
    TimeOrder {
        /// Chain index.
        chain: usize,
        /// Hop (1-based).
        hop: usize,
        /// Spend time.
        time: u64,
        /// Which bound.
        why: &'static str,
    },
    /// V16.
    #[error("V16 certificate {id} (serial {serial}) is revoked")]
    Revoked {
        /// Certificate.
        id: CertId,
        /// Serial.
        serial: u64,
    },
    /// V17.
    #[error("V17 CRL of issuer {issuer} is {} but this amount needs one at most {max_age}s old: sync to fetch a newer CRL", age.map_or("missing".to_string(), |a| format!("{a}s old")))]
    CrlTooOld {
        /// Issuer whose CRL is needed.
        issuer: CertId,
        /// Age of the held CRL, `None` if none is held.
        age: Option<u64>,
        /// Largest allowed age.
        max_age: u64,
    },
    /// V18.
    #[error("V18 amount {amount} is above the offline floor limit {max}: needs an online payment")]
    AboveFloorLimit {
        /// Amount.
        amount: u64,
        /// Highest tier.
        max: u64,
    },
    /// V19.
    #[error("V19 chain {chain}: issuance signature: {error}")]
    IssuanceSignature {
        /// Chain index.
        chain: usize,
        /// Why.
        error: SignatureError,
    },
    /// V20.
    #[error("V20 chain {chain} hop {hop}: spend signature: {error}")]
    SpendSignature {
        /// Chain index.
        chain: usize,
        /// Hop (1-based).
        hop: usize,
        /// Why (plain ES256 or a WebAuthn rule).
        error: SignatureError,
    },
    /// V21.
    #[error("V21 the same final spend appears in chains {first} and {second}")]
    DuplicateInput {
        /// First chain.
        first: usize,
        /// Second chain.
        second: usize,
    },
    /// V22.
    #[error("V22 two spends in this payment overlap on one note: double spend (fraud proof kept)")]
    DoubleSpendInPayment(Box<FraudProof>),
    /// V23.
    #[error(
        "V23 a spend overlaps one this payee already recorded: double spend (fraud proof kept)"
    )]
    DoubleSpend(Box<FraudProof>),
    /// V26.
    #[error(
        "V26 this payment takes {paid} from the wallet {signer}, above the {max} its bank allows in one payment offline: pay less, or online"
    )]
    AbovePayerLimit {
        /// The paying device.
        signer: CertId,
        /// What this payment takes from it (its spends answering one request).
        paid: u64,
        /// Its certificate's maximum.
        max: u64,
    },
    /// V27.
    #[error(
        "V27 this payment takes {paid} from the wallet {signer} without user verification, above the {max} its bank allows so: approve it with the PIN or biometrics"
    )]
    UserVerificationRequired {
        /// The paying device.
        signer: CertId,
        /// What this payment takes from it without user verification.
        paid: u64,
        /// Its certificate's maximum without user verification.
        max: u64,
    },
    /// V25.
    #[error(
        "V25 a revocation list the payment carries (issuer {issuer}) is not valid: {reason}; the payment was altered or the payer's wallet is faulty"
    )]
    CarriedCrl {
        /// The CRL's issuer.
        issuer: CertId,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl VerifyError {
    /// The rule number (`V1`..`V23`, `V25`..`V27`) in `docs/PROTOCOL.md`.
    pub fn rule(&self) -> u8 {
        match self {
            VerifyError::RequestUsed => 1,
            VerifyError::RequestExpired { .. } => 2,
            VerifyError::RequestMismatch { .. } => 3,
            VerifyError::WrongPayee { .. } => 4,
            VerifyError::AmountMismatch { .. } => 5,
            VerifyError::CurrencyMismatch { .. } => 6,
            VerifyError::BrokenChain { .. } => 7,
            VerifyError::RangeOutsideNote { .. } => 8,
            VerifyError::HopLimitExceeded { .. } => 9,
            VerifyError::UnknownCertificate(_) => 10,
            VerifyError::CertificateChain { .. } => 11,
            VerifyError::IssuanceNotAllowed { .. } => 12,
            VerifyError::CertificateNotValid { .. } => 13,
            VerifyError::NoteExpired { .. } => 14,
            VerifyError::TimeOrder { .. } => 15,
            VerifyError::Revoked { .. } => 16,
            VerifyError::CrlTooOld { .. } => 17,
            VerifyError::AboveFloorLimit { .. } => 18,
            VerifyError::IssuanceSignature { .. } => 19,
            VerifyError::SpendSignature { .. } => 20,
            VerifyError::DuplicateInput { .. } => 21,
            VerifyError::DoubleSpendInPayment(_) => 22,
            VerifyError::DoubleSpend(_) => 23,
            VerifyError::CarriedCrl { .. } => 25,
            VerifyError::AbovePayerLimit { .. } => 26,
            VerifyError::UserVerificationRequired { .. } => 27,
        }
    }

    /// The fraud proof, for V22 and V23: keep it and hand it to the FI at the next sync.
    pub fn fraud_proof(&self) -> Option<&FraudProof> {
        match self {
            VerifyError::DoubleSpendInPayment(p) | VerifyError::DoubleSpend(p) => Some(p),
            _ => None,
        }
    }
}
