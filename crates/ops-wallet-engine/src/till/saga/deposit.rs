//! Uploading accepted payments to the FI: one saga per batch posted to
//! `POST /api/v1/deposits/batch`.
//!
//! ```text
//! start ─► Posting ──Http 200──► Done     (each payment: credited, disputed, refused,
//!            │ ▲                            or pending again when the FI asks to retry)
//!            │ └┘ Unreachable / 5xx / 408 / 429: the same body posted again
//!            └──Http 4xx──► Failed         (the upload refused as a whole: every payment
//!                                           pending again, nothing was settled)
//! ```
//!
//! The start commits, in one batch, the saga with its frozen body and every payment's
//! move to `posting` in this batch (the store refuses a payment already in another
//! upload, or credited). The answer commits every payment's status and the saga's end in
//! one batch. A crash after the post and before the answer was stored leaves the saga in
//! `Posting`: recovery posts the same body again, and the FI, idempotent per note
//! (`docs/API.md`, `/deposits`: "idempotency by note, not by bytes"), answers `credited:
//! 0` for what it settled the first time. So nothing is deposited twice and nothing is
//! dropped, and the till relies on exactly that property of the FI.

use ops_api::{BatchItem, DepositBatchRequest, DepositBatchResponse, DepositStatus as FiStatus};
use ops_core::ids::{CertId, sha256};
use serde::{Deserialize, Serialize};

use super::{TillCommand, TillEvent, TillStep, parse_payment_id, wrong};
use crate::saga::At;
use crate::saga::fi::{Answer, b64, classify};
use crate::till::error::TillSagaError;
use crate::till::snapshot::TillSnapshot;
use crate::till::store::{QueueWrite, TillWrite, TrustWrite};
use crate::till::types::{DepositStatus, PaymentId};
use crate::types::SagaId;

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositState {
    /// Being posted (the same body on every retry).
    Posting {
        /// The terminal's certificate id.
        depositor: CertId,
        /// The payments, in the body's order.
        payments: Vec<PaymentId>,
        /// The JSON body, frozen.
        body: String,
    },
    /// The FI answered for every payment.
    Done {
        /// Credited (now or by an earlier upload).
        credited: usize,
        /// Held for review.
        disputed: usize,
        /// Refused for good.
        refused: usize,
        /// Pending again (the FI asked to retry them).
        retry: usize,
        /// Value this answer credited (0 for payments credited by an earlier upload).
        credited_now: u64,
    },
    /// The FI refused the upload as a whole; its payments are pending again.
    Failed {
        /// How many payments it held.
        payments: usize,
        /// The FI's reason.
        reason: String,
    },
}

impl DepositState {
    /// Whether the upload is at an end.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Self::Posting { .. })
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Posting { .. } => "posting",
            Self::Done { .. } => "done",
            Self::Failed { .. } => "failed",
        }
    }
}

/// The id of an upload of `payments` started at `now`.
pub fn id_for(payments: &[PaymentId], now: u64) -> SagaId {
    let mut m = now.to_be_bytes().to_vec();
    for p in payments {
        m.extend_from_slice(&p.0);
    }
    SagaId::new("deposit", &sha256(&m)[..16])
}

/// The JSON body of an upload (standard base64 of each payment's bytes).
pub fn body_of(depositor: &CertId, payments: &[&[u8]]) -> Result<String, TillSagaError> {
    serde_json::to_string(&DepositBatchRequest {
        depositor: depositor.to_string(),
        payments: payments.iter().map(|b| b64(b)).collect(),
    })
    .map_err(|e| TillSagaError::Answer(e.to_string()))
}

fn post(id: &SagaId, body: &str) -> TillCommand {
    TillCommand::Post {
        saga: id.clone(),
        path: ops_api::paths::DEPOSITS_BATCH.into(),
        body: body.to_string(),
        idempotency_key: id.0.clone(),
    }
}

/// Starts an upload of `payments` (id and canonical bytes, already chosen by the engine).
pub fn start(
    at: &At<'_>,
    payments: &[(PaymentId, Vec<u8>)],
    snap: &TillSnapshot,
) -> Result<TillStep<DepositState>, TillSagaError> {
    let terminal = snap.terminal.as_ref().ok_or(TillSagaError::NotSetUp)?;
    if payments.is_empty() {
        return Err(TillSagaError::Nothing("no payment waits for deposit"));
    }
    let depositor = terminal.cert.id();
    let bytes: Vec<&[u8]> = payments.iter().map(|(_, b)| b.as_slice()).collect();
    let body = body_of(&depositor, &bytes)?;
    let ids: Vec<PaymentId> = payments.iter().map(|(id, _)| *id).collect();
    Ok(TillStep {
        commands: vec![post(at.id, &body)],
        writes: vec![TillWrite::Queue(QueueWrite::Assign {
            payments: ids.clone(),
            batch: at.id.clone(),
            at: at.now,
        })],
        state: DepositState::Posting {
            depositor,
            payments: ids,
            body,
        },
    })
}

/// One payment's status from its batch item.
fn status_of(id: &PaymentId, item: BatchItem) -> Result<DepositStatus, TillSagaError> {
    Ok(match item {
        BatchItem::Ok { ok } => {
            if parse_payment_id(&ok.payment_hash) != Some(*id) {
                return Err(TillSagaError::Answer(format!(
                    "an answer for payment {} where {id} was posted",
                    ok.payment_hash
                )));
            }
            match ok.status {
                FiStatus::Credited => DepositStatus::Credited {
                    credited_now: u64::try_from(ok.credited).unwrap_or(0),
                },
                FiStatus::Held => DepositStatus::Disputed {
                    held_id: ok.held_id,
                },
                FiStatus::Rejected => DepositStatus::Refused {
                    code: "deposit_rejected".into(),
                    message: format!(
                        "held for review{} and rejected by an operator: it relies on value its payer had already spent",
                        ok.held_id
                            .map(|h| format!(" (hold {h})"))
                            .unwrap_or_default()
                    ),
                },
            }
        }
        BatchItem::Refused { status, error } => {
            if status >= 500 || status == 408 || status == 429 {
                DepositStatus::Pending
            } else {
                DepositStatus::Refused {
                    code: error.code,
                    message: error.message,
                }
            }
        }
    })
}

fn settled(
    at: &At<'_>,
    payments: &[PaymentId],
    body: &str,
) -> Result<TillStep<DepositState>, TillSagaError> {
    let answer: DepositBatchResponse =
        serde_json::from_str(body).map_err(|e| TillSagaError::Answer(e.to_string()))?;
    if answer.results.len() != payments.len() {
        return Err(TillSagaError::Answer(format!(
            "{} answers for {} payments",
            answer.results.len(),
            payments.len()
        )));
    }
    let mut writes = Vec::with_capacity(payments.len() + 1);
    let (mut credited, mut disputed, mut refused, mut retry, mut credited_now) = (0, 0, 0, 0, 0u64);
    for (id, item) in payments.iter().zip(answer.results) {
        let status = status_of(id, item)?;
        match &status {
            DepositStatus::Credited { credited_now: c } => {
                credited += 1;
                credited_now = credited_now.saturating_add(*c);
            }
            DepositStatus::Disputed { .. } => disputed += 1,
            DepositStatus::Refused { .. } => refused += 1,
            DepositStatus::Pending | DepositStatus::Posting { .. } => retry += 1,
        }
        writes.push(TillWrite::Queue(QueueWrite::Settle {
            payment: *id,
            batch: at.id.clone(),
            status,
            at: at.now,
        }));
    }
    writes.push(TillWrite::Trust(TrustWrite::SetLastOnline(at.now)));
    let mut commands = Vec::new();
    if refused + disputed + retry > 0 {
        commands.push(TillCommand::Notify {
            saga: at.id.clone(),
            message: format!(
                "deposit: {credited} credited, {disputed} held for review by the bank, {refused} refused, {retry} to send again; open the deposit list for each payment"
            ),
        });
    }
    Ok(TillStep {
        state: DepositState::Done {
            credited,
            disputed,
            refused,
            retry,
            credited_now,
        },
        writes,
        commands,
    })
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &DepositState,
    event: TillEvent,
    _snap: &TillSnapshot,
) -> Result<TillStep<DepositState>, TillSagaError> {
    let DepositState::Posting { payments, .. } = state else {
        return Err(wrong("deposit upload", state.name(), &event));
    };
    let answer = match event {
        TillEvent::Http { status, body } => classify(status, &body),
        TillEvent::Unreachable => Answer::Retry("the bank cannot be reached".into()),
        e => return Err(wrong("deposit upload", state.name(), &e)),
    };
    match answer {
        Answer::Ok(body) => settled(at, payments, &body),
        Answer::Refused(reason) => Ok(TillStep {
            commands: vec![TillCommand::Notify {
                saga: at.id.clone(),
                message: format!(
                    "the bank refused the deposit upload: {reason}; the payments wait for the next one"
                ),
            }],
            writes: vec![
                TillWrite::Queue(QueueWrite::Release {
                    batch: at.id.clone(),
                    at: at.now,
                }),
                TillWrite::Trust(TrustWrite::SetLastOnline(at.now)),
            ],
            state: DepositState::Failed {
                payments: payments.len(),
                reason,
            },
        }),
        Answer::Retry(reason) => Ok(TillStep {
            state: state.clone(),
            writes: Vec::new(),
            commands: vec![TillCommand::Notify {
                saga: at.id.clone(),
                message: format!("{reason}; the deposit will be sent again"),
            }],
        }),
    }
}

/// What the state wants done after a reload.
pub fn pending(id: &SagaId, state: &DepositState) -> Vec<TillCommand> {
    match state {
        DepositState::Posting { body, .. } => vec![post(id, body)],
        _ => Vec::new(),
    }
}
