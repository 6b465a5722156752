//! The engine's errors: what a transition refuses ([`SagaError`]) and what the engine
//! reports around it ([`EngineError`]). Every message says what went wrong and what to do.

use ops_core::DecodeError;
use ops_core::sig::SignatureError;
use ops_core::verify::VerifyError;
use ops_core::wallet::{SelectError, SignError};
use ops_core::webauthn::WebAuthnError;
use thiserror::Error;

use crate::store::StoreError;
use crate::types::SagaId;

/// Why a transition was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SagaError {
    /// The wallet has no device certificate or trust bundle yet.
    #[error("this wallet is not set up yet: sign in to your bank first")]
    NotOnboarded,
    /// Bytes that do not decode (a damaged or foreign QR code, file or answer).
    #[error("this is not a valid {what}: {source}; scan or load it again")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// The decoder's reason.
        source: DecodeError,
    },
    /// The payment request is expired, not certified, or its payee is revoked.
    #[error("this payment request cannot be paid: {0}")]
    Request(VerifyError),
    /// Coin selection failed.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// The event does not apply to the saga's state (a stale button, a duplicate answer).
    #[error("{event} does not apply to a {kind} that is {state}")]
    WrongState {
        /// Saga kind.
        kind: &'static str,
        /// State name.
        state: &'static str,
        /// Event name.
        event: &'static str,
    },
    /// The assertions do not fit the spends to sign (count, credential, RP ID).
    #[error("the security key's answer does not match this payment: {0}; try again")]
    Assertion(String),
    /// A WebAuthn assertion does not encode.
    #[error("the security key's answer is unusable: {0}; try again")]
    WebAuthn(#[from] WebAuthnError),
    /// A signature does not verify against this device's certificate.
    #[error("the security key that signed is not this wallet's key: {0}")]
    Signature(#[from] SignatureError),
    /// Assembling the payment failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A receipt that is not the payee's or not for this payment.
    #[error("this receipt is not for this payment; ask the payee to show it again")]
    Receipt,
    /// An FI answer that does not fit the request (wrong owner, issuer, amount).
    #[error("the bank's answer does not match the request: {0}")]
    Answer(String),
    /// The request is already paid or being paid.
    #[error("this request is already {0}; open it from the history")]
    AlreadyStarted(&'static str),
    /// Nothing to do.
    #[error("{0}")]
    Nothing(&'static str),
    /// The payee is on the bank's counterparty block list (PROTOCOL.md §6.1).
    #[error("your bank does not allow payments to this payee ({0}); pay another way")]
    BlockedPayee(ops_core::CertId),
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// A transition refused the event.
    #[error(transparent)]
    Saga(#[from] SagaError),
    /// The store refused or failed (a version conflict means another window moved first).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No saga with this id.
    #[error("no flow {0} in this wallet")]
    UnknownSaga(SagaId),
    /// A stored record does not decode.
    #[error("stored data is damaged ({0}); export your history and contact support")]
    Corrupt(String),
}
