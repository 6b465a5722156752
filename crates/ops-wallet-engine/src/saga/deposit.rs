//! Depositing a received payment at the FI (part of sync). One saga per received payment,
//! keyed by it, so starting a deposit twice finds the first.
//!
//! ```text
//! start ─► Posting ──Http 2xx──► Deposited   (or Held: the FI reviews it)
//!            │ ▲ Unreachable / 5xx (same bytes posted again)
//!            │ └┘
//!            └──Http 4xx──► Refused
//! ```
//!
//! The payment's notes are claimed whole at the start (a deposit consumes them at the FI,
//! so they must not be spent onward meanwhile); only a payment whose notes are wholly
//! unspent is deposited. The FI is idempotent by note, so re-posting is safe.

use ops_core::ids::{CertId, NoteId};
use serde::{Deserialize, Serialize};

use super::fi::{Answer, b64, classify};
use super::{At, Command, Event, Line, Step, wrong};
use crate::error::SagaError;
use crate::snapshot::Snapshot;
use crate::store::{NoteWrite, Write};
use crate::types::{Claim, ClaimStatus, HistoryKind, HistoryState, SagaId};

/// Where a deposit stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositState {
    /// Being posted.
    Posting {
        /// The depositing device.
        depositor: CertId,
        /// The payment (canonical bytes, as received).
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
        /// Its value.
        amount: u64,
        /// Currency.
        currency: String,
    },
    /// Credited (now or by an earlier attempt).
    Deposited {
        /// Value.
        amount: u64,
        /// What this answer credited.
        credited: u64,
    },
    /// Held for review by the FI.
    Held {
        /// Value.
        amount: u64,
    },
    /// Refused by the FI.
    Refused {
        /// Value.
        amount: u64,
        /// The FI's reason.
        reason: String,
    },
}

impl DepositState {
    /// Whether the flow is at an end.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Self::Posting { .. })
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Posting { .. } => "posting",
            Self::Deposited { .. } => "deposited",
            Self::Held { .. } => "held",
            Self::Refused { .. } => "refused",
        }
    }
}

/// The id of the deposit of the received payment whose receive saga is `receive` (one
/// deposit per received payment, so starting it twice finds the first).
pub fn id_for(receive: &SagaId) -> SagaId {
    SagaId(format!("deposit:{}", receive.0))
}

fn post(id: &SagaId, depositor: &CertId, payment: &[u8]) -> Command {
    Command::Post {
        saga: id.clone(),
        path: ops_api::paths::DEPOSITS.into(),
        body: serde_json::to_string(&ops_api::DepositRequest {
            payment: b64(payment),
            depositor: depositor.to_string(),
        })
        .unwrap_or_default(),
        idempotency_key: id.0.clone(),
    }
}

fn line(amount: u64, currency: &str, state: HistoryState) -> Line {
    Line {
        kind: HistoryKind::Deposit,
        amount,
        currency: currency.to_string(),
        counterparty: None,
        hops: None,
        state,
        notes: None,
    }
}

/// What a received payment brings to a deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<'a> {
    /// The payment.
    pub payment: &'a [u8],
    /// Its value.
    pub amount: u64,
    /// The notes it gave.
    pub notes: &'a [NoteId],
}

/// Starts depositing a received payment whose notes are all wholly unspent.
pub fn start(
    at: &At<'_>,
    received: &Received<'_>,
    snap: &Snapshot,
) -> Result<Step<DepositState>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    let mut claims = Vec::new();
    let mut currency = String::new();
    for id in received.notes {
        let note = snap
            .notes
            .iter()
            .find(|n| n.id == *id)
            .ok_or(SagaError::Nothing(
                "the received notes are not in this wallet",
            ))?;
        if snap.claims.iter().any(|c| c.note == *id) {
            return Err(SagaError::Nothing(
                "part of this payment was spent onward; it stays in the wallet",
            ));
        }
        currency.clone_from(&note.currency);
        claims.push(Claim {
            saga: at.id.clone(),
            note: *id,
            from: 0,
            to: note.value,
            status: ClaimStatus::Signed,
        });
    }
    let depositor = device.cert.id();
    Ok(Step {
        commands: vec![post(at.id, &depositor, received.payment)],
        writes: vec![
            Write::Note(NoteWrite::Claim(claims)),
            at.history(line(received.amount, &currency, HistoryState::Pending)),
        ],
        state: DepositState::Posting {
            depositor,
            payment: received.payment.to_vec(),
            amount: received.amount,
            currency,
        },
    })
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &DepositState,
    event: Event,
    _snap: &Snapshot,
) -> Result<Step<DepositState>, SagaError> {
    let DepositState::Posting {
        amount, currency, ..
    } = state
    else {
        return Err(wrong("deposit", state.name(), &event));
    };
    let answer = match event {
        Event::Http { status, body } => classify(status, &body),
        Event::Unreachable => Answer::Retry("the bank cannot be reached".into()),
        e => return Err(wrong("deposit", state.name(), &e)),
    };
    let amount = *amount;
    Ok(match answer {
        Answer::Ok(body) => {
            let o = serde_json::from_str::<ops_api::DepositOutcome>(&body)
                .map_err(|e| SagaError::Answer(e.to_string()))?;
            if o.status == ops_api::DepositStatus::Held {
                Step {
                    state: DepositState::Held { amount },
                    writes: vec![at.history(line(amount, currency, HistoryState::Disputed))],
                    commands: vec![Command::Notify {
                        saga: at.id.clone(),
                        message: "the bank is reviewing this deposit; it will be credited or refused by an operator".into(),
                    }],
                }
            } else {
                Step {
                    state: DepositState::Deposited {
                        amount,
                        credited: u64::try_from(o.credited).unwrap_or(0),
                    },
                    writes: vec![
                        Write::Note(NoteWrite::SetClaimStatus {
                            saga: at.id.clone(),
                            status: ClaimStatus::Spent,
                        }),
                        at.history(line(amount, currency, HistoryState::Deposited)),
                    ],
                    commands: Vec::new(),
                }
            }
        }
        Answer::Refused(reason) => Step {
            commands: vec![Command::Notify {
                saga: at.id.clone(),
                message: format!("the bank refused the deposit: {reason}"),
            }],
            writes: vec![at.history(line(amount, currency, HistoryState::Failed))],
            state: DepositState::Refused { amount, reason },
        },
        Answer::Retry(reason) => Step {
            state: state.clone(),
            writes: Vec::new(),
            commands: vec![Command::Notify {
                saga: at.id.clone(),
                message: format!("{reason}; the deposit will be sent again"),
            }],
        },
    })
}

/// What the state wants done after a reload.
pub fn pending(id: &SagaId, state: &DepositState) -> Vec<Command> {
    match state {
        DepositState::Posting {
            depositor, payment, ..
        } => vec![post(id, depositor, payment)],
        _ => Vec::new(),
    }
}
