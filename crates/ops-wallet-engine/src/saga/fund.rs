//! Loading value from the account.
//!
//! ```text
//! start ─► Requested ──Http 2xx──► Funded
//!            │  ▲ Unreachable / 5xx / 429 (same request posted again, same key)
//!            └──┘
//!            └──Http 4xx──► Failed
//! ```
//!
//! `Requested` freezes the request body and its idempotency key; every retry and every
//! recovery posts exactly them. (The FI must honour the key for a lost answer never to
//! fund twice: see `docs/ENGINE.md`.) Notes are stored with `Funded` in one batch;
//! storing a note twice adds nothing.

use ops_core::Issuance;
use ops_core::ids::{CertId, NoteId};
use ops_core::sig::verify_signature;
use ops_core::wallet::WalletNote;
use serde::{Deserialize, Serialize};

use super::fi::{Answer, classify, unb64};
use super::{At, Command, Event, Line, Step, wrong};
use crate::error::SagaError;
use crate::snapshot::Snapshot;
use crate::store::{NoteWrite, Write};
use crate::types::{HistoryKind, HistoryState, SagaId};

/// Where a load stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundState {
    /// Posted (or about to be); waiting for the FI.
    Requested {
        /// Idempotency key.
        key: String,
        /// The device funded.
        device: CertId,
        /// Amount.
        amount: u64,
        /// Currency.
        currency: String,
    },
    /// Notes stored.
    Funded {
        /// Amount.
        amount: u64,
        /// The notes.
        notes: Vec<NoteId>,
    },
    /// The FI refused.
    Failed {
        /// Amount asked.
        amount: u64,
        /// The FI's reason.
        reason: String,
    },
}

impl FundState {
    /// Whether the flow is at an end.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Self::Requested { .. })
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Requested { .. } => "requested",
            Self::Funded { .. } => "funded",
            Self::Failed { .. } => "failed",
        }
    }
}

fn post(id: &SagaId, key: &str, device: &CertId, amount: u64) -> Command {
    Command::Post {
        saga: id.clone(),
        path: ops_api::paths::FUND.into(),
        body: serde_json::to_string(&ops_api::FundRequest {
            device: device.to_string(),
            amount,
        })
        .unwrap_or_default(),
        idempotency_key: key.to_string(),
    }
}

fn line(amount: u64, currency: &str, state: HistoryState) -> Line {
    Line {
        kind: HistoryKind::Fund,
        amount,
        currency: currency.to_string(),
        counterparty: None,
        hops: None,
        state,
        notes: None,
    }
}

/// Starts a load of `amount`. `key` is the idempotency key (random, from the app).
pub fn start(
    at: &At<'_>,
    key: &str,
    amount: u64,
    snap: &Snapshot,
) -> Result<Step<FundState>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    if amount == 0 {
        return Err(SagaError::Nothing("enter an amount above zero"));
    }
    let currency = device.fi.body.limits.currency.clone().unwrap_or_default();
    let id = device.cert.id();
    Ok(Step {
        commands: vec![post(at.id, key, &id, amount)],
        writes: vec![at.history(line(amount, &currency, HistoryState::Pending))],
        state: FundState::Requested {
            key: key.to_string(),
            device: id,
            amount,
            currency,
        },
    })
}

fn notes(body: &str, amount: u64, snap: &Snapshot) -> Result<Vec<WalletNote>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    let bad = |why: &str| SagaError::Answer(why.to_string());
    let answer: ops_api::FundResponse =
        serde_json::from_str(body).map_err(|e| SagaError::Answer(e.to_string()))?;
    let fi = &device.fi;
    let hop_limit = fi
        .body
        .limits
        .hop_limit
        .ok_or_else(|| bad("the bank's certificate sets no hop limit"))?;
    let mut out = Vec::new();
    for n in &answer.notes {
        let bytes = unb64(n).ok_or_else(|| bad("a note is not base64"))?;
        let iss = Issuance::from_bytes(&bytes).map_err(|e| SagaError::Answer(e.to_string()))?;
        if iss.body.owner != device.cert.id() || iss.body.issuer != fi.id() {
            return Err(bad("a note is not for this device from this bank"));
        }
        verify_signature(
            &ops_core::P256Provider,
            &fi.body.subject,
            None,
            &iss.body_bytes(),
            &iss.signature,
        )?;
        out.push(WalletNote::from_issuance(&iss, hop_limit));
    }
    let total: u64 = out.iter().map(|n| n.value).sum();
    if total != amount {
        return Err(SagaError::Answer(format!(
            "notes worth {total}, {amount} asked"
        )));
    }
    Ok(out)
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &FundState,
    event: Event,
    snap: &Snapshot,
) -> Result<Step<FundState>, SagaError> {
    let FundState::Requested {
        amount, currency, ..
    } = state
    else {
        return Err(wrong("load", state.name(), &event));
    };
    let answer = match event {
        Event::Http { status, body } => classify(status, &body),
        Event::Unreachable => Answer::Retry("the bank cannot be reached".into()),
        e => return Err(wrong("load", state.name(), &e)),
    };
    match answer {
        Answer::Ok(body) => {
            let notes = notes(&body, *amount, snap)?;
            let ids = notes.iter().map(|n| n.id).collect();
            let mut writes: Vec<Write> = notes
                .into_iter()
                .map(|n| Write::Note(NoteWrite::PutNote(n)))
                .collect();
            writes.push(at.history(line(*amount, currency, HistoryState::Confirmed)));
            Ok(Step {
                state: FundState::Funded {
                    amount: *amount,
                    notes: ids,
                },
                writes,
                commands: Vec::new(),
            })
        }
        Answer::Refused(reason) => Ok(Step {
            commands: vec![Command::Notify {
                saga: at.id.clone(),
                message: format!("the bank refused to load: {reason}"),
            }],
            writes: vec![at.history(line(*amount, currency, HistoryState::Failed))],
            state: FundState::Failed {
                amount: *amount,
                reason,
            },
        }),
        Answer::Retry(reason) => Ok(Step {
            state: state.clone(),
            writes: Vec::new(),
            commands: vec![Command::Notify {
                saga: at.id.clone(),
                message: format!("{reason}; the load will be retried, it cannot happen twice"),
            }],
        }),
    }
}

/// What the state wants done after a reload: post the same request again.
pub fn pending(id: &SagaId, state: &FundState) -> Vec<Command> {
    match state {
        FundState::Requested {
            key,
            device,
            amount,
            ..
        } => vec![post(id, key, device, *amount)],
        _ => Vec::new(),
    }
}
