//! Persisted sagas: each flow is a record `{id, version, state}` whose `state` is a serde
//! enum carrying exactly the data of its step. Transitions are pure functions
//! `(state, event, snapshot, now) -> (state, writes, commands)`; the engine commits the
//! writes and the new record in one batch, then hands the commands to the app, which
//! performs them and feeds the results back as events.

pub mod defund;
pub mod deposit;
pub mod fi;
pub mod fund;
pub mod pay;
pub mod receive;
pub mod refresh;
pub mod spending;

use serde::{Deserialize, Serialize};

use crate::error::SagaError;
use crate::snapshot::Snapshot;
use ops_core::ids::CertId;

use crate::store::{Batch, HistoryWrite, SagaWrite, Write};
use crate::types::{Assertion, HistoryEntry, HistoryKind, HistoryState, NotesRenewed, SagaId};

pub use defund::DefundState;
pub use deposit::DepositState;
pub use fund::FundState;
pub use pay::PayState;
pub use receive::ReceiveState;
pub use refresh::RefreshState;

/// A flow's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaState {
    /// Paying a request.
    Pay(PayState),
    /// Receiving a payment for a request this wallet shows.
    Receive(ReceiveState),
    /// Loading value from the account.
    Fund(FundState),
    /// Returning value to the account.
    Defund(DefundState),
    /// Depositing a received payment.
    Deposit(DepositState),
    /// Renewing notes: returning ranges to the account and loading the amount again.
    Refresh(RefreshState),
}

/// Which flow a saga is (for words shown to the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Paying a request.
    Pay,
    /// Receiving a payment.
    Receive,
    /// Loading value from the account.
    Fund,
    /// Returning value to the account.
    Defund,
    /// Depositing a received payment.
    Deposit,
    /// Renewing notes.
    Refresh,
}

impl SagaState {
    /// Whether the flow has reached an end (recovery skips it).
    pub fn is_finished(&self) -> bool {
        match self {
            Self::Pay(s) => s.is_finished(),
            Self::Receive(s) => s.is_finished(),
            Self::Fund(s) => s.is_finished(),
            Self::Defund(s) => s.is_finished(),
            Self::Deposit(s) => s.is_finished(),
            Self::Refresh(s) => s.is_finished(),
        }
    }

    /// The flow's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pay(_) => "payment",
            Self::Receive(_) => "receipt of a payment",
            Self::Fund(_) => "load",
            Self::Defund(_) => "unload",
            Self::Deposit(_) => "deposit",
            Self::Refresh(_) => "note renewal",
        }
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pay(s) => s.name(),
            Self::Receive(s) => s.name(),
            Self::Fund(s) => s.name(),
            Self::Defund(s) => s.name(),
            Self::Deposit(s) => s.name(),
            Self::Refresh(s) => s.name(),
        }
    }

    /// The flow.
    pub fn flow(&self) -> Flow {
        match self {
            Self::Pay(_) => Flow::Pay,
            Self::Receive(_) => Flow::Receive,
            Self::Fund(_) => Flow::Fund,
            Self::Defund(_) => Flow::Defund,
            Self::Deposit(_) => Flow::Deposit,
            Self::Refresh(_) => Flow::Refresh,
        }
    }

    /// The amount the flow moves and its currency, where the state knows them.
    pub fn amount(&self) -> Option<(u64, String)> {
        let request = |bytes: &[u8]| {
            ops_core::PaymentRequest::from_bytes(bytes)
                .ok()
                .map(|r| (r.amount, r.currency))
        };
        match self {
            Self::Pay(s) => request(s.request()),
            Self::Receive(s) => match s {
                ReceiveState::Shown { request: r }
                | ReceiveState::Scanned { request: r, .. }
                | ReceiveState::Received { request: r, .. }
                | ReceiveState::Closed { request: r } => request(r),
            },
            Self::Fund(FundState::Requested {
                amount, currency, ..
            }) => Some((*amount, currency.clone())),
            Self::Fund(_) => None,
            Self::Defund(
                DefundState::Reserved {
                    pieces, currency, ..
                }
                | DefundState::Signed {
                    pieces, currency, ..
                },
            ) => Some((spending::total(pieces), currency.clone())),
            Self::Defund(_) => None,
            Self::Deposit(DepositState::Posting {
                amount, currency, ..
            }) => Some((*amount, currency.clone())),
            Self::Deposit(_) => None,
            Self::Refresh(s) => {
                let (amount, currency) = s.amount();
                Some((amount, currency.to_string()))
            }
        }
    }
}

/// A saga as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaRecord {
    /// Id (kind and key).
    pub id: SagaId,
    /// Incremented by every write; writes name the version they were decided on.
    pub version: u64,
    /// When the flow started.
    pub created: u64,
    /// When it last moved.
    pub updated: u64,
    /// Where it stands.
    pub state: SagaState,
}

/// What the app shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// A payment (animated QR, NFC, text or file) for the payee.
    Payment,
    /// A payment request for the payer.
    Request,
}

/// One signature the authenticator must make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignItem {
    /// The challenge: SHA-256 of the spend body's canonical bytes.
    pub challenge: [u8; 32],
    /// The RP ID the credential is bound to.
    pub rp_id: String,
    /// The credential that must sign.
    #[serde(with = "crate::hexser::bytes")]
    pub credential_id: Vec<u8>,
    /// Whether user verification is required.
    pub user_verification: bool,
}

/// Something the app must do for a saga, then answer with an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Ask the authenticator for one assertion per item, in order, within the single user
    /// gesture of the confirmation (protocol v1 signs each spend; see `docs/ENGINE.md`),
    /// then send [`Event::Signed`] with all of them.
    Sign {
        /// The saga.
        saga: SagaId,
        /// The signatures to make.
        items: Vec<SignItem>,
    },
    /// Show these exact bytes (the same after every reload).
    Show {
        /// The saga.
        saga: SagaId,
        /// What they are.
        what: Shown,
        /// Canonical bytes.
        #[serde(with = "crate::hexser::bytes")]
        bytes: Vec<u8>,
    },
    /// POST this JSON body to the FI (same body, same key, on every retry), then send
    /// [`Event::Http`] with the answer or [`Event::Unreachable`].
    Post {
        /// The saga.
        saga: SagaId,
        /// Path under the FI's origin.
        path: String,
        /// JSON body.
        body: String,
        /// Idempotency key for the request (sent as the `Idempotency-Key` header).
        idempotency_key: String,
    },
    /// Tell the user something about the flow (a refused payment, a refused load).
    Notify {
        /// The saga.
        saga: SagaId,
        /// Plain words: what happened and what to do.
        message: String,
    },
}

/// What happened, fed back to a saga.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The authenticator's assertions, one per [`SignItem`], in order.
    Signed(Vec<Assertion>),
    /// The payment left the device (the animation was shown, NFC written, file shared).
    HandedOver,
    /// The payee's receipt (canonical bytes).
    Receipt(#[serde(with = "crate::hexser::bytes")] Vec<u8>),
    /// The user says the payee accepted (no receipt).
    Confirmed,
    /// The user gives up.
    Abort,
    /// A payment was scanned for a request this wallet shows.
    Scanned(#[serde(with = "crate::hexser::bytes")] Vec<u8>),
    /// Engine-internal: verify and store the scanned payment.
    Verify,
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

impl Event {
    /// The event's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Signed(_) => "signing",
            Self::HandedOver => "handing over",
            Self::Receipt(_) => "a receipt",
            Self::Confirmed => "confirming",
            Self::Abort => "cancelling",
            Self::Scanned(_) => "scanning a payment",
            Self::Verify => "verifying",
            Self::Http { .. } => "the bank's answer",
            Self::Unreachable => "a network failure",
        }
    }
}

/// What a pure transition decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<S> {
    /// The new state.
    pub state: S,
    /// Writes to commit with it.
    pub writes: Vec<Write>,
    /// Commands for the app, once committed.
    pub commands: Vec<Command>,
}

impl<S> Step<S> {
    /// A step with no writes.
    pub fn to(state: S) -> Self {
        Self {
            state,
            writes: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// The same step with its state wrapped by `f`.
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Step<T> {
        Step {
            state: f(self.state),
            writes: self.writes,
            commands: self.commands,
        }
    }
}

/// A decided transition of one record: the batch to commit and the commands to run after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The record as it will be stored.
    pub record: SagaRecord,
    /// Everything to commit, the record's own write included.
    pub batch: Batch,
    /// Commands for the app.
    pub commands: Vec<Command>,
}

impl Transition {
    /// A new saga's first transition.
    pub fn create(id: SagaId, step: Step<SagaState>, now: u64) -> Self {
        let record = SagaRecord {
            id,
            version: 0,
            created: now,
            updated: now,
            state: step.state,
        };
        Self::finish(record, None, step.writes, step.commands)
    }

    /// A new record replacing a finished one under the same id (e.g. paying a request
    /// again after cancelling it before signing).
    pub fn recreate(old: &SagaRecord, step: Step<SagaState>, now: u64) -> Self {
        let record = SagaRecord {
            id: old.id.clone(),
            version: old.version.saturating_add(1),
            created: now,
            updated: now,
            state: step.state,
        };
        Self::finish(record, Some(old.version), step.writes, step.commands)
    }

    fn finish(
        record: SagaRecord,
        expected: Option<u64>,
        writes: Vec<Write>,
        commands: Vec<Command>,
    ) -> Self {
        let mut batch = Batch { writes };
        batch.push(Write::Saga(SagaWrite::Put {
            record: record.clone(),
            expected,
        }));
        Self {
            record,
            batch,
            commands,
        }
    }
}

/// Where and when a transition happens.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The saga.
    pub id: &'a SagaId,
    /// When it started.
    pub created: u64,
    /// Now.
    pub now: u64,
}

impl At<'_> {
    /// A history entry of this saga, as of now.
    pub fn history(&self, line: Line) -> Write {
        Write::History(HistoryWrite::Put(HistoryEntry {
            saga: self.id.clone(),
            kind: line.kind,
            amount: line.amount,
            currency: line.currency,
            counterparty: line.counterparty,
            hops: line.hops,
            state: line.state,
            created: self.created,
            updated: self.now,
            notes: line.notes,
        }))
    }
}

/// The content of a history line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Flow.
    pub kind: HistoryKind,
    /// Amount.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// Other party.
    pub counterparty: Option<CertId>,
    /// Hops.
    pub hops: Option<usize>,
    /// State.
    pub state: HistoryState,
    /// For a renewal: notes returned and loaded in their place.
    pub notes: Option<NotesRenewed>,
}

/// Applies `event` to `record`: the pure transition of its flow.
pub fn advance(
    record: &SagaRecord,
    event: Event,
    snap: &Snapshot,
    now: u64,
) -> Result<Transition, SagaError> {
    let at = At {
        id: &record.id,
        created: record.created,
        now,
    };
    let step = match &record.state {
        SagaState::Pay(s) => pay::advance(&at, s, event, snap)?.map(SagaState::Pay),
        SagaState::Receive(s) => receive::advance(&at, s, event, snap)?.map(SagaState::Receive),
        SagaState::Fund(s) => fund::advance(&at, s, event, snap)?.map(SagaState::Fund),
        SagaState::Defund(s) => defund::advance(&at, s, event, snap)?.map(SagaState::Defund),
        SagaState::Deposit(s) => deposit::advance(&at, s, event, snap)?.map(SagaState::Deposit),
        SagaState::Refresh(s) => refresh::advance(&at, s, event, snap)?.map(SagaState::Refresh),
    };
    let next = SagaRecord {
        id: record.id.clone(),
        version: record.version.saturating_add(1),
        created: record.created,
        updated: now,
        state: step.state,
    };
    Ok(Transition::finish(
        next,
        Some(record.version),
        step.writes,
        step.commands,
    ))
}

/// The commands a state wants performed (again): what the app runs when it opens or
/// reloads the flow. Pure; nothing is written.
pub fn pending_commands(record: &SagaRecord, snap: &Snapshot) -> Vec<Command> {
    let id = &record.id;
    match &record.state {
        SagaState::Pay(s) => pay::pending(id, s, snap),
        SagaState::Receive(s) => receive::pending(id, s),
        SagaState::Fund(s) => fund::pending(id, s),
        SagaState::Defund(s) => defund::pending(id, s, snap),
        SagaState::Deposit(s) => deposit::pending(id, s),
        SagaState::Refresh(s) => refresh::pending(id, s, snap),
    }
}

/// The error for an event a state does not take.
pub(crate) fn wrong(kind: &'static str, state: &'static str, event: &Event) -> SagaError {
    SagaError::WrongState {
        kind,
        state,
        event: event.name(),
    }
}
