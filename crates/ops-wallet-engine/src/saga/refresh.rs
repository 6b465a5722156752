//! Renewing notes (part of sync): chosen free ranges go back to the account (a defund) and
//! the same amount is loaded again (a fund), as one saga whose steps are the defund's and
//! the fund's own transitions.
//!
//! ```text
//! start ─► Reserved ──Signed──► Returning ──2xx credited──► Reissuing ──2xx──► Done
//!             │                   │ ▲ Unreachable / 5xx        │ ▲ Unreachable / 5xx / 401
//!           Abort                 │ └┘ (same bytes)            │ └┘ (same body, same key)
//!             ▼                   ├──2xx held──► Held          └──4xx──► Failed
//!          Cancelled              └──4xx──► Refused                 (the value is in the account)
//!                                          (ranges stay held)
//! ```
//!
//! Both idempotency keys derive from the saga id ([`keys`]) and are frozen in `Reserved`:
//! the return is re-posted as the same payment bytes (the FI settles it once, by note), and
//! the load exists only from `Reissuing`, which is committed in the same batch that marks
//! the returned ranges spent, after the FI said it credited them. So a crash anywhere and
//! any replay never loads twice, and never loads before the return was credited.

use ops_core::ids::{CertId, NoteId, sha256, to_hex};
use ops_core::wallet::Piece;
use serde::{Deserialize, Serialize};

use super::fi::{Answer, classify};
use super::spending;
use super::{At, Command, DefundState, Event, FundState, Line, Step, defund, fund, wrong};
use crate::error::SagaError;
use crate::refresh::RefreshPlan;
use crate::snapshot::Snapshot;
use crate::store::{NoteWrite, Write};
use crate::types::{ClaimStatus, HistoryKind, HistoryState, NotesRenewed, SagaId};

/// Where a renewal stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshState {
    /// Ranges claimed; waiting for the user's approval of the return.
    Reserved {
        /// Idempotency key of the return (also names the request its spends answer).
        key: String,
        /// Idempotency key of the load.
        fund_key: String,
        /// The FI paid.
        fi: CertId,
        /// Currency.
        currency: String,
        /// The ranges returned.
        pieces: Vec<Piece>,
        /// The time written into every spend body.
        sign_time: u64,
        /// Notes the FI is expected to issue.
        issued: usize,
    },
    /// Signed; the return is being posted.
    Returning {
        /// Idempotency key of the return.
        key: String,
        /// Idempotency key of the load.
        fund_key: String,
        /// Currency.
        currency: String,
        /// The ranges returned.
        pieces: Vec<Piece>,
        /// The return's canonical bytes.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
        /// Notes the FI is expected to issue.
        issued: usize,
    },
    /// The FI credited the return; the same amount is being loaded.
    Reissuing {
        /// Idempotency key of the load.
        fund_key: String,
        /// The device loaded.
        device: CertId,
        /// Currency.
        currency: String,
        /// Amount returned and loaded.
        amount: u64,
        /// How many ranges were returned.
        returned: usize,
        /// Notes the FI is expected to issue.
        issued: usize,
    },
    /// Renewed: the new notes are stored.
    Done {
        /// Amount renewed.
        amount: u64,
        /// Currency.
        currency: String,
        /// How many ranges were returned.
        returned: usize,
        /// The new notes.
        notes: Vec<NoteId>,
    },
    /// Cancelled before signing: the ranges went back.
    Cancelled {
        /// Amount that was to be renewed.
        amount: u64,
        /// Currency.
        currency: String,
    },
    /// The FI holds the return for review: nothing is loaded; the ranges stay held.
    Held {
        /// Amount returned.
        amount: u64,
        /// Currency.
        currency: String,
    },
    /// The FI refused the return: the ranges stay held (the spends may be out).
    Refused {
        /// Amount returned.
        amount: u64,
        /// Currency.
        currency: String,
        /// The FI's reason.
        reason: String,
    },
    /// The FI credited the return but refused the load: the value is in the account.
    Failed {
        /// Amount credited to the account.
        amount: u64,
        /// Currency.
        currency: String,
        /// The FI's reason.
        reason: String,
    },
}

impl RefreshState {
    /// Whether the flow is at an end.
    pub fn is_finished(&self) -> bool {
        !matches!(
            self,
            Self::Reserved { .. } | Self::Returning { .. } | Self::Reissuing { .. }
        )
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reserved { .. } => "reserved",
            Self::Returning { .. } => "returning",
            Self::Reissuing { .. } => "reissuing",
            Self::Done { .. } => "done",
            Self::Cancelled { .. } => "cancelled",
            Self::Held { .. } => "held",
            Self::Refused { .. } => "refused",
            Self::Failed { .. } => "failed",
        }
    }

    /// Amount renewed and its currency.
    pub fn amount(&self) -> (u64, &str) {
        match self {
            Self::Reserved {
                pieces, currency, ..
            }
            | Self::Returning {
                pieces, currency, ..
            } => (spending::total(pieces), currency),
            Self::Reissuing {
                amount, currency, ..
            }
            | Self::Done {
                amount, currency, ..
            }
            | Self::Cancelled { amount, currency }
            | Self::Held { amount, currency }
            | Self::Refused {
                amount, currency, ..
            }
            | Self::Failed {
                amount, currency, ..
            } => (*amount, currency),
        }
    }
}

/// The idempotency keys of saga `id`: `(return, load)`, each the hex of the first 16 bytes
/// of SHA-256 over a label and the id. Deterministic, so a replay can never make new ones.
pub fn keys(id: &SagaId) -> (String, String) {
    let key = |label: &str| {
        let mut m = label.as_bytes().to_vec();
        m.extend_from_slice(id.0.as_bytes());
        to_hex(&sha256(&m)[..16])
    };
    (key("ops refresh return "), key("ops refresh load "))
}

fn line(amount: u64, currency: &str, state: HistoryState, notes: NotesRenewed) -> Line {
    Line {
        kind: HistoryKind::Refresh,
        amount,
        currency: currency.to_string(),
        counterparty: None,
        hops: None,
        state,
        notes: Some(notes),
    }
}

/// The writes of an inner defund or fund step, without its history line (a renewal is one
/// line of its own).
fn without_history(writes: Vec<Write>) -> Vec<Write> {
    writes
        .into_iter()
        .filter(|w| !matches!(w, Write::History(_)))
        .collect()
}

fn notify(at: &At<'_>, message: String) -> Command {
    Command::Notify {
        saga: at.id.clone(),
        message,
    }
}

/// Starts renewing `plan`: claims its ranges and asks for the approval of the return.
pub fn start(
    at: &At<'_>,
    plan: &RefreshPlan,
    snap: &Snapshot,
) -> Result<Step<RefreshState>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    if plan.pieces.is_empty() {
        return Err(SagaError::Nothing("no notes to renew"));
    }
    let (key, fund_key) = keys(at.id);
    let inner = DefundState::Reserved {
        key: key.clone(),
        fi: device.fi.id(),
        currency: plan.currency.clone(),
        pieces: plan.pieces.clone(),
        sign_time: at.now,
    };
    let renewed = NotesRenewed {
        returned: plan.pieces.len(),
        issued: plan.issued,
    };
    Ok(Step {
        commands: defund::pending(at.id, &inner, snap),
        writes: vec![
            Write::Note(NoteWrite::Claim(spending::claims(at.id, &plan.pieces))),
            at.history(line(
                plan.amount,
                &plan.currency,
                HistoryState::Reserved,
                renewed,
            )),
        ],
        state: RefreshState::Reserved {
            key,
            fund_key,
            fi: device.fi.id(),
            currency: plan.currency.clone(),
            pieces: plan.pieces.clone(),
            sign_time: at.now,
            issued: plan.issued,
        },
    })
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &RefreshState,
    event: Event,
    snap: &Snapshot,
) -> Result<Step<RefreshState>, SagaError> {
    match (state, event) {
        (
            RefreshState::Reserved {
                key,
                fund_key,
                fi,
                currency,
                pieces,
                sign_time,
                issued,
            },
            e @ (Event::Signed(_) | Event::Abort),
        ) => {
            let event = e.name();
            let inner = DefundState::Reserved {
                key: key.clone(),
                fi: *fi,
                currency: currency.clone(),
                pieces: pieces.clone(),
                sign_time: *sign_time,
            };
            let step = defund::advance(at, &inner, e, snap)?;
            let amount = spending::total(pieces);
            let renewed = NotesRenewed {
                returned: pieces.len(),
                issued: *issued,
            };
            let (next, shown) = match step.state {
                DefundState::Signed { payment, .. } => (
                    RefreshState::Returning {
                        key: key.clone(),
                        fund_key: fund_key.clone(),
                        currency: currency.clone(),
                        pieces: pieces.clone(),
                        payment,
                        issued: *issued,
                    },
                    HistoryState::Pending,
                ),
                DefundState::Released { .. } => (
                    RefreshState::Cancelled {
                        amount,
                        currency: currency.clone(),
                    },
                    HistoryState::Cancelled,
                ),
                _ => {
                    return Err(SagaError::WrongState {
                        kind: "note renewal",
                        state: state.name(),
                        event,
                    });
                }
            };
            let mut writes = without_history(step.writes);
            writes.push(at.history(line(amount, currency, shown, renewed)));
            Ok(Step {
                state: next,
                writes,
                commands: step.commands,
            })
        }
        (RefreshState::Returning { .. }, e @ (Event::Http { .. } | Event::Unreachable)) => {
            returned(at, state, e, snap)
        }
        (
            RefreshState::Reissuing {
                fund_key,
                device,
                currency,
                amount,
                returned,
                issued,
            },
            e @ (Event::Http { .. } | Event::Unreachable),
        ) => {
            let renewed = NotesRenewed {
                returned: *returned,
                issued: *issued,
            };
            if matches!(e, Event::Http { status: 401, .. }) {
                return Ok(Step {
                    state: state.clone(),
                    writes: Vec::new(),
                    commands: vec![notify(
                        at,
                        "your bank session has ended: log in again, and the renewal of your notes continues (the value is safe in your account meanwhile)".into(),
                    )],
                });
            }
            let inner = FundState::Requested {
                key: fund_key.clone(),
                device: *device,
                amount: *amount,
                currency: currency.clone(),
            };
            let step = fund::advance(at, &inner, e, snap)?;
            match step.state {
                FundState::Funded { notes, .. } => {
                    let mut writes = without_history(step.writes);
                    let got = NotesRenewed {
                        returned: *returned,
                        issued: notes.len(),
                    };
                    writes.push(at.history(line(*amount, currency, HistoryState::Confirmed, got)));
                    Ok(Step {
                        state: RefreshState::Done {
                            amount: *amount,
                            currency: currency.clone(),
                            returned: *returned,
                            notes,
                        },
                        writes,
                        commands: Vec::new(),
                    })
                }
                FundState::Failed { reason, .. } => Ok(Step {
                    commands: vec![notify(
                        at,
                        format!(
                            "the bank refused to load your renewed notes: {reason}; the value is in your bank account, add it to the wallet from there"
                        ),
                    )],
                    writes: vec![at.history(line(
                        *amount,
                        currency,
                        HistoryState::Failed,
                        renewed,
                    ))],
                    state: RefreshState::Failed {
                        amount: *amount,
                        currency: currency.clone(),
                        reason,
                    },
                }),
                FundState::Requested { .. } => Ok(Step {
                    state: state.clone(),
                    writes: Vec::new(),
                    commands: step.commands,
                }),
            }
        }
        (s, e) => Err(wrong("note renewal", s.name(), &e)),
    }
}

/// The FI's answer to the return (`state` is `Returning`).
fn returned(
    at: &At<'_>,
    state: &RefreshState,
    event: Event,
    snap: &Snapshot,
) -> Result<Step<RefreshState>, SagaError> {
    let RefreshState::Returning {
        fund_key,
        currency,
        pieces,
        issued,
        ..
    } = state
    else {
        return Err(wrong("note renewal", state.name(), &event));
    };
    let issued = *issued;
    let amount = spending::total(pieces);
    let renewed = NotesRenewed {
        returned: pieces.len(),
        issued,
    };
    let answer = match event {
        Event::Http { status, body } => classify(status, &body),
        _ => Answer::Retry("the bank cannot be reached".into()),
    };
    let currency = currency.clone();
    match answer {
        Answer::Ok(body) => {
            let o: ops_api::DepositOutcome =
                serde_json::from_str(&body).map_err(|e| SagaError::Answer(e.to_string()))?;
            if o.status == ops_api::DepositStatus::Held {
                return Ok(Step {
                    commands: vec![notify(
                        at,
                        "the bank is reviewing the returned notes; if it accepts them the value is credited to your account, and nothing is loaded until then".into(),
                    )],
                    writes: vec![at.history(line(amount, &currency, HistoryState::Pending, renewed))],
                    state: RefreshState::Held { amount, currency },
                });
            }
            if o.status != ops_api::DepositStatus::Credited
                || u64::try_from(o.amount).ok() != Some(amount)
            {
                return Err(SagaError::Answer(format!(
                    "the bank settled {} for {amount} returned",
                    o.amount
                )));
            }
            let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
            let inner = FundState::Requested {
                key: fund_key.clone(),
                device: device.cert.id(),
                amount,
                currency: currency.clone(),
            };
            Ok(Step {
                commands: fund::pending(at.id, &inner),
                writes: vec![
                    Write::Note(NoteWrite::SetClaimStatus {
                        saga: at.id.clone(),
                        status: ClaimStatus::Spent,
                    }),
                    at.history(line(amount, &currency, HistoryState::Pending, renewed)),
                ],
                state: RefreshState::Reissuing {
                    fund_key: fund_key.clone(),
                    device: device.cert.id(),
                    currency,
                    amount,
                    returned: pieces.len(),
                    issued,
                },
            })
        }
        Answer::Refused(reason) => Ok(Step {
            commands: vec![notify(
                at,
                format!(
                    "the bank refused the returned notes: {reason}; the value stays set aside, contact your bank"
                ),
            )],
            writes: vec![at.history(line(amount, &currency, HistoryState::Failed, renewed))],
            state: RefreshState::Refused {
                amount,
                currency,
                reason,
            },
        }),
        Answer::Retry(reason) => Ok(Step {
            state: state.clone(),
            writes: Vec::new(),
            commands: vec![notify(
                at,
                format!("{reason}; the renewal of your notes will be sent again"),
            )],
        }),
    }
}

/// What the state wants done after a reload: the same approval, the same return bytes, or
/// the same load with the same key.
pub fn pending(id: &SagaId, state: &RefreshState, snap: &Snapshot) -> Vec<Command> {
    match state {
        RefreshState::Reserved {
            key,
            fi,
            currency,
            pieces,
            sign_time,
            ..
        } => defund::pending(
            id,
            &DefundState::Reserved {
                key: key.clone(),
                fi: *fi,
                currency: currency.clone(),
                pieces: pieces.clone(),
                sign_time: *sign_time,
            },
            snap,
        ),
        RefreshState::Returning {
            key,
            currency,
            pieces,
            payment,
            ..
        } => defund::pending(
            id,
            &DefundState::Signed {
                key: key.clone(),
                currency: currency.clone(),
                pieces: pieces.clone(),
                payment: payment.clone(),
            },
            snap,
        ),
        RefreshState::Reissuing {
            fund_key,
            device,
            currency,
            amount,
            ..
        } => fund::pending(
            id,
            &FundState::Requested {
                key: fund_key.clone(),
                device: *device,
                amount: *amount,
                currency: currency.clone(),
            },
        ),
        _ => Vec::new(),
    }
}
