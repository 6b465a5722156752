//! The till: the POS terminal's UI-free engine, on the same building blocks as the
//! wallet's (persisted sagas, one atomic batch per step, storage traits with an in-memory
//! store and a conformance suite, start-up recovery).
//!
//! * [`saga::sale`]: a sale shows a payment request, freezes the payment bytes that arrive,
//!   decides them with every rule of `ops_core::verify` against the terminal's trust
//!   bundle, CRLs and range ledger ([`decide`]), stores an approval with the payment, its
//!   ledger entries and its deposit-queue entry in one batch, and signs a receipt through
//!   the terminal's key (WebAuthn or WebCrypto, [`saga::ReceiptSigner`]).
//! * [`reason::DeclineReason`]: why a payment was declined, one reason per verification
//!   rule, in a cashier's words and with what to tell the customer.
//! * [`saga::deposit`]: uploads of accepted payments to `POST /api/v1/deposits/batch`,
//!   each payment's answer (credited, disputed, refused) recorded; crash-safe because the
//!   FI settles each note once.
//! * [`report`]: totals per day or period, declines by reason, deposits, CSV and JSON.
//! * [`store`]: the traits ([`store::TillStore`]), [`store::TillMemoryStore`] and the
//!   conformance suite ([`till_store_conformance_tests!`](crate::till_store_conformance_tests)).
//!
//! See `docs/TILL.md`.

pub mod decide;
pub mod engine;
pub mod error;
pub mod reads;
pub mod reason;
pub mod recovery;
pub mod report;
pub mod saga;
pub mod setup;
pub mod snapshot;
pub mod store;
pub mod types;

pub use engine::{Presented, TillConfig, TillEngine, TillOutput};
pub use error::{TillError, TillSagaError};
pub use reason::DeclineReason;
pub use recovery::{TillAction, TillRecoveryReport};
pub use report::{Period, Report, TillStatus};
pub use saga::sale::NewSale;
pub use saga::{
    Approval, Decision, ReceiptSigner, TerminalSignature, TillCommand, TillEvent, TillSagaRecord,
    TillSagaState,
};
pub use setup::bundle_from_api;
pub use store::{TillBatch, TillMemoryStore, TillStore, TillStoreError};
pub use types::{
    AcceptedPayment, Decline, DepositStatus, KeptProof, LedgerEntry, PaymentId, QueueEntry,
    TillIdentity, short_id,
};

#[cfg(test)]
mod testkit;

#[cfg(test)]
mod sale_tests;

#[cfg(test)]
mod attack_tests;

#[cfg(test)]
mod deposit_tests;

#[cfg(test)]
mod crash_tests;

#[cfg(test)]
mod report_tests;

#[cfg(test)]
mod latency_tests;

#[cfg(test)]
mod record_tests;

#[cfg(test)]
mod crl_news_tests;
