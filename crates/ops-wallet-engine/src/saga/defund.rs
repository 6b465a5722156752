//! Returning value to the account: a payment whose spends pay the FI itself.
//!
//! ```text
//! start ─► Reserved ──Signed──► Signed ──Http 2xx──► Done
//!             │                   │ ▲ Unreachable / 5xx (same bytes posted again)
//!           Abort                 │ └┘
//!             ▼                   └──Http 4xx──► Refused (ranges stay held)
//!          Released
//! ```
//!
//! The FI settles a defund idempotently by note, so re-posting the frozen payment bytes
//! after a crash or a lost answer credits the account once.

use ops_core::ids::{CertId, Digest32, sha256};
use ops_core::wallet::Piece;
use serde::{Deserialize, Serialize};

use super::fi::{Answer, b64, classify};
use super::spending::{self, Decision};
use super::{At, Command, Event, Line, Step, wrong};
use crate::error::SagaError;
use crate::snapshot::Snapshot;
use crate::store::{NoteWrite, Write};
use crate::types::{ClaimStatus, HistoryKind, HistoryState, SagaId};

/// Where an unload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefundState {
    /// Ranges claimed; waiting for the authenticator.
    Reserved {
        /// Idempotency key (also names the request the spends answer).
        key: String,
        /// The FI paid.
        fi: CertId,
        /// Currency.
        currency: String,
        /// The ranges.
        pieces: Vec<Piece>,
        /// The time written into every spend body.
        sign_time: u64,
    },
    /// Signed; being posted.
    Signed {
        /// Idempotency key.
        key: String,
        /// Currency.
        currency: String,
        /// The ranges.
        pieces: Vec<Piece>,
        /// The payment's canonical bytes.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
    },
    /// The FI credited the account.
    Done {
        /// Amount returned.
        amount: u64,
        /// Amount this answer says was credited (0 on a retry the FI recognised).
        credited: u64,
    },
    /// The FI refused the signed payment: the ranges stay held.
    Refused {
        /// The ranges.
        pieces: Vec<Piece>,
        /// The FI's reason.
        reason: String,
    },
    /// Cancelled before signing: the ranges went back.
    Released {
        /// Amount that was to be returned.
        amount: u64,
    },
}

impl DefundState {
    /// Whether the flow is at an end.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Self::Reserved { .. } | Self::Signed { .. })
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reserved { .. } => "reserved",
            Self::Signed { .. } => "signed",
            Self::Done { .. } => "done",
            Self::Refused { .. } => "refused",
            Self::Released { .. } => "cancelled",
        }
    }
}

/// The request hash a defund's spends name: there is no payee request, so it is derived
/// from the idempotency key (the FI applies no request rules to a defund).
pub fn request_of(key: &str) -> Digest32 {
    let mut m = b"ops defund ".to_vec();
    m.extend_from_slice(key.as_bytes());
    Digest32(sha256(&m))
}

fn decision<'a>(key: &str, fi: CertId, pieces: &'a [Piece], time: u64) -> Decision<'a> {
    Decision {
        pieces,
        payee: fi,
        request: request_of(key),
        payee_known: vec![fi],
        payee_crls: Vec::new(),
        time,
    }
}

fn post(id: &SagaId, key: &str, payment: &[u8]) -> Command {
    Command::Post {
        saga: id.clone(),
        path: ops_api::paths::DEFUND.into(),
        body: serde_json::to_string(&ops_api::DefundRequest {
            payment: b64(payment),
        })
        .unwrap_or_default(),
        idempotency_key: key.to_string(),
    }
}

fn line(pieces: &[Piece], currency: &str, fi: Option<CertId>, state: HistoryState) -> Line {
    Line {
        kind: HistoryKind::Defund,
        amount: spending::total(pieces),
        currency: currency.to_string(),
        counterparty: fi,
        hops: None,
        state,
        notes: None,
    }
}

/// Starts returning `amount` of `currency` to the account.
pub fn start(
    at: &At<'_>,
    key: &str,
    amount: u64,
    currency: &str,
    snap: &Snapshot,
) -> Result<Step<DefundState>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    let fi = device.fi.id();
    let pieces = snap.free_book().select(amount, currency, at.now, 0)?;
    let items = decision(key, fi, &pieces, at.now).sign_items(device);
    Ok(Step {
        commands: vec![Command::Sign {
            saga: at.id.clone(),
            items,
        }],
        writes: vec![
            Write::Note(NoteWrite::Claim(spending::claims(at.id, &pieces))),
            at.history(line(&pieces, currency, Some(fi), HistoryState::Reserved)),
        ],
        state: DefundState::Reserved {
            key: key.to_string(),
            fi,
            currency: currency.to_string(),
            pieces,
            sign_time: at.now,
        },
    })
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &DefundState,
    event: Event,
    snap: &Snapshot,
) -> Result<Step<DefundState>, SagaError> {
    match (state, event) {
        (
            DefundState::Reserved {
                key,
                fi,
                currency,
                pieces,
                sign_time,
            },
            Event::Signed(assertions),
        ) => {
            let payment = decision(key, *fi, pieces, *sign_time).assemble(&assertions, snap)?;
            Ok(Step {
                commands: vec![post(at.id, key, &payment)],
                writes: vec![
                    Write::Note(NoteWrite::SetClaimStatus {
                        saga: at.id.clone(),
                        status: ClaimStatus::Signed,
                    }),
                    at.history(line(pieces, currency, Some(*fi), HistoryState::Signed)),
                ],
                state: DefundState::Signed {
                    key: key.clone(),
                    currency: currency.clone(),
                    pieces: pieces.clone(),
                    payment,
                },
            })
        }
        (
            DefundState::Reserved {
                pieces,
                currency,
                fi,
                ..
            },
            Event::Abort,
        ) => Ok(Step {
            state: DefundState::Released {
                amount: spending::total(pieces),
            },
            writes: vec![
                Write::Note(NoteWrite::Release {
                    saga: at.id.clone(),
                }),
                at.history(line(pieces, currency, Some(*fi), HistoryState::Cancelled)),
            ],
            commands: Vec::new(),
        }),
        (
            DefundState::Signed {
                pieces, currency, ..
            },
            e @ (Event::Http { .. } | Event::Unreachable),
        ) => {
            let answer = match e {
                Event::Http { status, body } => classify(status, &body),
                _ => Answer::Retry("the bank cannot be reached".into()),
            };
            match answer {
                Answer::Ok(body) => {
                    let credited = serde_json::from_str::<ops_api::DepositOutcome>(&body)
                        .map(|o| u64::try_from(o.credited).unwrap_or(0))
                        .unwrap_or(0);
                    Ok(Step {
                        state: DefundState::Done {
                            amount: spending::total(pieces),
                            credited,
                        },
                        writes: vec![
                            Write::Note(NoteWrite::SetClaimStatus {
                                saga: at.id.clone(),
                                status: ClaimStatus::Spent,
                            }),
                            at.history(line(pieces, currency, None, HistoryState::Confirmed)),
                        ],
                        commands: Vec::new(),
                    })
                }
                Answer::Refused(reason) => Ok(Step {
                    commands: vec![Command::Notify {
                        saga: at.id.clone(),
                        message: format!(
                            "the bank refused the unload: {reason}; the value stays set aside, contact your bank"
                        ),
                    }],
                    writes: vec![at.history(line(pieces, currency, None, HistoryState::Failed))],
                    state: DefundState::Refused {
                        pieces: pieces.clone(),
                        reason,
                    },
                }),
                Answer::Retry(reason) => Ok(Step {
                    state: state.clone(),
                    writes: Vec::new(),
                    commands: vec![Command::Notify {
                        saga: at.id.clone(),
                        message: format!("{reason}; the unload will be sent again"),
                    }],
                }),
            }
        }
        (s, e) => Err(wrong("unload", s.name(), &e)),
    }
}

/// What the state wants done after a reload.
pub fn pending(id: &SagaId, state: &DefundState, snap: &Snapshot) -> Vec<Command> {
    match state {
        DefundState::Reserved {
            key,
            fi,
            pieces,
            sign_time,
            ..
        } => match &snap.device {
            Some(device) => vec![Command::Sign {
                saga: id.clone(),
                items: decision(key, *fi, pieces, *sign_time).sign_items(device),
            }],
            None => Vec::new(),
        },
        DefundState::Signed { key, payment, .. } => vec![post(id, key, payment)],
        _ => Vec::new(),
    }
}
