//! The UI-free engine of both OPS apps. For the wallet: every flow that moves value (pay,
//! receive, fund, defund, deposit, refresh) as a persisted saga, start-up recovery,
//! storage traits with an in-memory store, and the home screen's figures. For the POS
//! terminal: the [`till`] module tree (sales decided offline, receipts, the deposit queue,
//! reports) on the same building blocks, with its own store traits and sagas.
//!
//! No I/O and no clock: time comes in as `now` (Unix seconds), randomness as keys and
//! nonces chosen by the app, and every effect goes out as a [`saga::Command`] that the app
//! performs and answers with a [`saga::Event`]. Builds for `wasm32-unknown-unknown`.
//!
//! The loop, for every step of every flow: load a [`snapshot::Snapshot`] → decide with a
//! pure transition ([`saga::advance`]) → commit one atomic [`store::Batch`] (the saga
//! record, with its version checked, and the writes it implies) → return the commands.
//! See `docs/ENGINE.md`.

pub mod engine;
pub mod error;
pub mod hexser;
pub mod paid_out;
pub mod recovery;
pub mod refresh;
pub mod review;
pub mod saga;
pub mod snapshot;
pub mod store;
pub mod summary;
pub mod till;
pub mod types;

#[cfg(test)]
mod testkit;

#[cfg(test)]
mod crash_tests;

#[cfg(test)]
mod flow_tests;

#[cfg(test)]
mod review_tests;

pub use engine::{Config, Engine, Output, Prepared};
pub use error::{EngineError, SagaError};
pub use recovery::{Action, RecoveryReport};
pub use refresh::{RefreshPlan, RefreshPolicy};
pub use saga::{Command, Event, SagaRecord, SagaState};
pub use store::{Batch, MemoryStore, StoreError, WalletStore};
pub use summary::HomeSummary;
pub use types::{Assertion, Claim, ClaimStatus, SagaId};
