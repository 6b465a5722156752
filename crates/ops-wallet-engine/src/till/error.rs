//! The till engine's errors: what a transition refuses ([`TillSagaError`]) and what the
//! engine reports around it ([`TillError`]). A *declined payment* is not an error: it is a
//! [`super::saga::Decision`]. These are the cases where nothing could be decided or done.

use ops_core::DecodeError;
use thiserror::Error;

use super::store::TillStoreError;
use crate::types::SagaId;

/// Why a transition was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TillSagaError {
    /// The terminal has no certificate or trust bundle yet.
    #[error("this terminal is not set up yet: register it with the bank first")]
    NotSetUp,
    /// Stored or received bytes that do not decode.
    #[error("this is not a valid {what}: {source}")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// The decoder's reason.
        source: DecodeError,
    },
    /// The sale cannot be made as asked (amount, currency, reference).
    #[error("this sale cannot be started: {0}")]
    BadSale(String),
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
    /// The receipt signature does not verify against the terminal's certificate.
    #[error("the receipt signature is not this terminal's: {0}; sign it again")]
    Signature(String),
    /// An FI answer that does not fit what was posted.
    #[error("the bank's answer does not match the upload: {0}; it will be sent again")]
    Answer(String),
    /// The trust data offered does not chain to the pinned root.
    #[error("the bank's certificates do not chain to the pinned central bank: {0}")]
    Untrusted(String),
    /// Nothing to do.
    #[error("{0}")]
    Nothing(&'static str),
}

/// What the till engine reports.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TillError {
    /// A transition refused the event.
    #[error(transparent)]
    Saga(#[from] TillSagaError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] TillStoreError),
    /// No saga with this id.
    #[error("no sale or upload {0} in this terminal")]
    UnknownSaga(SagaId),
    /// A stored record does not decode.
    #[error("stored data is damaged ({0}); export the reports and contact support")]
    Corrupt(String),
    /// Other windows kept moving the same sale: nothing was decided here.
    #[error("another window of this terminal keeps changing {0}; use one window")]
    Busy(SagaId),
}
