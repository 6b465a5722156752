//! The till's persisted sagas: a sale (request → payment decided → receipt) and a deposit
//! upload (a batch of accepted payments posted to the FI). Each is a record `{id, version,
//! state}` whose `state` carries exactly the data of its step; transitions are pure
//! functions `(state, event, snapshot, now) -> (state, writes, commands)`, committed by the
//! engine as one batch before the commands go to the app.

pub mod deposit;
pub mod sale;

use ops_core::ids::Digest32;
use serde::{Deserialize, Serialize};

use super::error::TillSagaError;
use super::snapshot::TillSnapshot;
use super::store::{SagaWrite, TillBatch, TillWrite};
use super::types::{Decline, PaymentId};
use crate::saga::{At, SignItem};
use crate::types::{Assertion, SagaId};

pub use deposit::DepositState;
pub use sale::SaleState;

/// A till flow's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TillSagaState {
    /// A sale.
    Sale(SaleState),
    /// An upload of accepted payments to the FI.
    Deposit(DepositState),
}

impl TillSagaState {
    /// Whether the flow has reached an end (recovery skips it).
    pub fn is_finished(&self) -> bool {
        match self {
            Self::Sale(s) => s.is_finished(),
            Self::Deposit(s) => s.is_finished(),
        }
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sale(s) => s.name(),
            Self::Deposit(s) => s.name(),
        }
    }

    /// The flow's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sale(_) => "sale",
            Self::Deposit(_) => "deposit upload",
        }
    }
}

/// A till saga as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillSagaRecord {
    /// Id: `sale:<nonce>` or `deposit:<key>`.
    pub id: SagaId,
    /// Incremented by every write; writes name the version they were decided on.
    pub version: u64,
    /// When the flow started.
    pub created: u64,
    /// When it last moved.
    pub updated: u64,
    /// Where it stands.
    pub state: TillSagaState,
}

/// How the terminal's key signs a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptSigner {
    /// A WebAuthn credential: one assertion whose challenge is SHA-256 of the body.
    WebAuthn(SignItem),
    /// A non-extractable WebCrypto key: ECDSA P-256 with SHA-256 over the body bytes, the
    /// signature in WebCrypto's own `r || s` form (64 bytes).
    Software,
}

/// The terminal's signature over a receipt body, as its key returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalSignature {
    /// WebCrypto ECDSA P-256 / SHA-256, `r || s` (64 bytes).
    Es256(#[serde(with = "crate::hexser::bytes")] Vec<u8>),
    /// A WebAuthn assertion over SHA-256 of the body.
    WebAuthn(Assertion),
}

/// An approval, as the cashier sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The sale.
    pub sale: SagaId,
    /// The payment's id.
    pub payment: PaymentId,
    /// The short id read aloud and printed (`AB12-CD34`).
    pub short_id: String,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// When it was approved.
    pub at: u64,
}

/// What the till decided about a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Verified and stored: show a large "Approved".
    Approved(Approval),
    /// Not accepted: show a large "Declined" with the reason's words.
    Declined(Decline),
}

/// Something the app must do, then answer with a [`TillEvent`] where one is expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TillCommand {
    /// Show this payment request (QR, NFC tag, text): the same bytes after every reload.
    ShowRequest {
        /// The sale.
        sale: SagaId,
        /// The request's canonical bytes.
        #[serde(with = "crate::hexser::bytes")]
        bytes: Vec<u8>,
    },
    /// Show the decision, large.
    Decided(Decision),
    /// Sign this receipt body with the terminal's key, then send
    /// [`TillEvent::ReceiptSigned`] (or [`TillEvent::NoReceipt`] to go without).
    SignReceipt {
        /// The sale.
        sale: SagaId,
        /// The receipt body's canonical bytes (what a software key signs).
        #[serde(with = "crate::hexser::bytes")]
        body: Vec<u8>,
        /// How to sign.
        signer: ReceiptSigner,
    },
    /// Show this signed receipt (QR, NFC tag): the same bytes after every reload.
    ShowReceipt {
        /// The sale.
        sale: SagaId,
        /// The receipt's canonical bytes.
        #[serde(with = "crate::hexser::bytes")]
        bytes: Vec<u8>,
    },
    /// POST this JSON body to the FI with the merchant's credentials (same body, same key,
    /// on every retry), then send [`TillEvent::Http`] or [`TillEvent::Unreachable`].
    Post {
        /// The saga.
        saga: SagaId,
        /// Path under the FI's origin.
        path: String,
        /// JSON body.
        body: String,
        /// Idempotency key (the `Idempotency-Key` header).
        idempotency_key: String,
    },
    /// Tell the merchant something about a flow.
    Notify {
        /// The saga.
        saga: SagaId,
        /// Plain words: what happened and what to do.
        message: String,
    },
}

/// What happened, fed back to a saga.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TillEvent {
    /// Payment bytes arrived for the sale (scanned, read from a tag, pasted).
    Presented(#[serde(with = "crate::hexser::bytes")] Vec<u8>),
    /// Engine-internal: verify the frozen payment and store or decline it.
    Decide,
    /// The terminal's key signed the receipt.
    ReceiptSigned(TerminalSignature),
    /// Go on without a receipt (the key refused, or the merchant skips it).
    NoReceipt,
    /// The cashier cancels the sale.
    Cancel,
    /// The clock passed the request's expiry.
    Expire,
    /// The FI answered.
    Http {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// The FI could not be reached (retry later; nothing changes).
    Unreachable,
}

impl TillEvent {
    /// The event's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Presented(_) => "a payment",
            Self::Decide => "deciding",
            Self::ReceiptSigned(_) => "a receipt signature",
            Self::NoReceipt => "skipping the receipt",
            Self::Cancel => "cancelling",
            Self::Expire => "expiry",
            Self::Http { .. } => "the bank's answer",
            Self::Unreachable => "a network failure",
        }
    }
}

/// What a pure transition decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillStep<S> {
    /// The new state.
    pub state: S,
    /// Writes to commit with it.
    pub writes: Vec<TillWrite>,
    /// Commands for the app, once committed.
    pub commands: Vec<TillCommand>,
}

impl<S> TillStep<S> {
    /// A step with no writes and no commands.
    pub fn to(state: S) -> Self {
        Self {
            state,
            writes: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// The same step with its state wrapped by `f`.
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> TillStep<T> {
        TillStep {
            state: f(self.state),
            writes: self.writes,
            commands: self.commands,
        }
    }
}

/// A decided transition of one record: the batch to commit and the commands to run after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillTransition {
    /// The record as it will be stored.
    pub record: TillSagaRecord,
    /// Everything to commit, the record's own write included.
    pub batch: TillBatch,
    /// Commands for the app.
    pub commands: Vec<TillCommand>,
}

impl TillTransition {
    /// A new saga's first transition.
    pub fn create(id: SagaId, step: TillStep<TillSagaState>, now: u64) -> Self {
        let record = TillSagaRecord {
            id,
            version: 0,
            created: now,
            updated: now,
            state: step.state,
        };
        Self::finish(record, None, step.writes, step.commands)
    }

    fn finish(
        record: TillSagaRecord,
        expected: Option<u64>,
        mut writes: Vec<TillWrite>,
        commands: Vec<TillCommand>,
    ) -> Self {
        writes.push(TillWrite::Saga(SagaWrite::Put {
            record: record.clone(),
            expected,
        }));
        Self {
            record,
            batch: TillBatch { writes },
            commands,
        }
    }
}

/// Applies `event` to `record`: the pure transition of its flow.
pub fn advance(
    record: &TillSagaRecord,
    event: TillEvent,
    snap: &TillSnapshot,
    now: u64,
) -> Result<TillTransition, TillSagaError> {
    let at = At {
        id: &record.id,
        created: record.created,
        now,
    };
    let step = match &record.state {
        TillSagaState::Sale(s) => sale::advance(&at, s, event, snap)?.map(TillSagaState::Sale),
        TillSagaState::Deposit(s) => {
            deposit::advance(&at, s, event, snap)?.map(TillSagaState::Deposit)
        }
    };
    let next = TillSagaRecord {
        id: record.id.clone(),
        version: record.version.saturating_add(1),
        created: record.created,
        updated: now,
        state: step.state,
    };
    Ok(TillTransition::finish(
        next,
        Some(record.version),
        step.writes,
        step.commands,
    ))
}

/// The commands a state wants performed (again): what the app runs when it opens or
/// reloads the flow. Pure; nothing is written.
pub fn pending_commands(record: &TillSagaRecord, snap: &TillSnapshot) -> Vec<TillCommand> {
    match &record.state {
        TillSagaState::Sale(s) => sale::pending(&record.id, s, snap),
        TillSagaState::Deposit(s) => deposit::pending(&record.id, s),
    }
}

/// The error for an event a state does not take.
pub(crate) fn wrong(kind: &'static str, state: &'static str, event: &TillEvent) -> TillSagaError {
    TillSagaError::WrongState {
        kind,
        state,
        event: event.name(),
    }
}

/// A payment id from its hex form (as the FI writes it), if it is one.
pub(crate) fn parse_payment_id(hex: &str) -> Option<PaymentId> {
    let v = ops_core::ids::from_hex(hex)?;
    let a: [u8; 32] = v.try_into().ok()?;
    Some(Digest32(a))
}
