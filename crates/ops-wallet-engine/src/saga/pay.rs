//! Paying a request.
//!
//! ```text
//! start ─► Reserved ──Signed──► Signed ──HandedOver──► HandedOver
//!             │                   │  └──Receipt/Confirmed──┐  │
//!           Abort               Abort                      ▼  ▼ Receipt/Confirmed
//!             ▼                   ▼                       Confirmed
//!          Released           Abandoned (ranges stay held: the spends may be out)
//! ```
//!
//! `Reserved` freezes the request, the ranges and the signing time, so the spend bodies
//! are the same after any reload. `Signed` freezes the payment bytes: every reload shows
//! exactly them.

use ops_core::verify::PayeeInfo;
use ops_core::wallet::{OutgoingPayment, Piece};
use ops_core::{Payment, PaymentRequest, Receipt};
use serde::{Deserialize, Serialize};

use super::spending::{self, Decision};
use super::{At, Command, Event, Line, Shown, Step, wrong};
use crate::error::SagaError;
use crate::snapshot::Snapshot;
use crate::store::{NoteWrite, Write};
use crate::types::{ClaimStatus, HistoryKind, HistoryState, SagaId};

/// Where a payment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayState {
    /// Ranges claimed; waiting for the authenticator.
    Reserved {
        /// The request (canonical bytes).
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The ranges paying it.
        pieces: Vec<Piece>,
        /// The time written into every spend body.
        sign_time: u64,
    },
    /// Signed; the payment is being shown.
    Signed {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The ranges.
        pieces: Vec<Piece>,
        /// The payment's canonical bytes.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
    },
    /// The payment left the device; waiting for a receipt or the user's confirmation.
    HandedOver {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The ranges.
        pieces: Vec<Piece>,
        /// The payment.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
    },
    /// The payee accepted it.
    Confirmed {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The ranges.
        pieces: Vec<Piece>,
        /// The payment.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
        /// The payee's receipt, if it gave one.
        #[serde(with = "crate::hexser::bytes")]
        receipt: Vec<u8>,
    },
    /// Cancelled before signing: the ranges went back.
    Released {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
    },
    /// Given up after signing: the ranges stay held (the payee may deposit the payment).
    Abandoned {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The ranges.
        pieces: Vec<Piece>,
        /// The payment.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
    },
}

impl PayState {
    /// Whether the payment is at an end.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Confirmed { .. } | Self::Released { .. } | Self::Abandoned { .. }
        )
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reserved { .. } => "reserved",
            Self::Signed { .. } => "signed",
            Self::HandedOver { .. } => "handed over",
            Self::Confirmed { .. } => "confirmed",
            Self::Released { .. } => "cancelled",
            Self::Abandoned { .. } => "abandoned",
        }
    }

    /// The request's bytes.
    pub fn request(&self) -> &[u8] {
        match self {
            Self::Reserved { request, .. }
            | Self::Signed { request, .. }
            | Self::HandedOver { request, .. }
            | Self::Confirmed { request, .. }
            | Self::Released { request }
            | Self::Abandoned { request, .. } => request,
        }
    }
}

fn decode_request(bytes: &[u8]) -> Result<PaymentRequest, SagaError> {
    PaymentRequest::from_bytes(bytes).map_err(|source| SagaError::Malformed {
        what: "payment request",
        source,
    })
}

fn decision<'a>(req: &PaymentRequest, pieces: &'a [Piece], time: u64) -> Decision<'a> {
    Decision {
        pieces,
        payee: req.payee,
        request: req.hash(),
        payee_known: req.certs.iter().map(ops_core::Certificate::id).collect(),
        payee_crls: req.crls_held.clone(),
        time,
    }
}

fn line(req: &PaymentRequest, pieces: &[Piece], snap: &Snapshot, state: HistoryState) -> Line {
    Line {
        kind: HistoryKind::Out,
        amount: req.amount,
        currency: req.currency.clone(),
        counterparty: Some(req.payee),
        hops: spending::hops(pieces, snap),
        state,
        notes: None,
    }
}

/// A request that may be paid now, and the ranges that would pay it.
pub struct Checked {
    /// The decoded request.
    pub request: PaymentRequest,
    /// Who asks, as the certificates say.
    pub payee: PayeeInfo,
    /// The ranges selected from the free ones (nothing is claimed).
    pub out: OutgoingPayment,
}

/// Every check a payment of `request` meets at `now` before anything is reserved: the
/// wallet is set up; the request decodes, is certified, unexpired and from an unrevoked
/// payee; free notes living at least `min_life` more seconds cover it. Pure: used by
/// [`start`] and by the confirmation screen's review.
pub fn check(
    request: &[u8],
    snap: &Snapshot,
    now: u64,
    min_life: u64,
) -> Result<Checked, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    let trust = snap.trust.as_ref().ok_or(SagaError::NotOnboarded)?;
    let req = decode_request(request)?;
    // The bank's limit on one offline payment (rule V26): every payee would decline more,
    // so nothing is reserved or signed.
    if let Some(max) = device.cert.body.limits.max_payment
        && req.amount > max
    {
        return Err(SagaError::Request(
            ops_core::verify::VerifyError::AbovePayerLimit {
                signer: device.cert.id(),
                paid: req.amount,
                max,
            },
        ));
    }
    if trust
        .blocklist
        .as_ref()
        .is_some_and(|l| l.is_blocked(&req.payee))
    {
        return Err(SagaError::BlockedPayee(req.payee));
    }
    let known = snap.known_certs();
    let payee = snap
        .verifier(trust, &known)
        .check_request(&req, now)
        .map_err(SagaError::Request)?;
    let mut book = snap.free_book();
    let out = OutgoingPayment::reserve(&mut book, &req, now, min_life)?;
    Ok(Checked {
        request: req,
        payee,
        out,
    })
}

/// Starts paying `request`: checks it (certified, unexpired, unrevoked payee), selects
/// and claims ranges, and asks for the signatures. `min_life`: notes expiring sooner are
/// not used.
pub fn start(
    at: &At<'_>,
    request: &[u8],
    snap: &Snapshot,
    min_life: u64,
) -> Result<Step<PayState>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    let Checked {
        request: req, out, ..
    } = check(request, snap, at.now, min_life)?;
    let d = decision(&req, &out.pieces, at.now);
    let commands = vec![Command::Sign {
        saga: at.id.clone(),
        items: d.sign_items(device),
    }];
    let writes = vec![
        Write::Note(NoteWrite::Claim(spending::claims(at.id, &out.pieces))),
        at.history(line(&req, &out.pieces, snap, HistoryState::Reserved)),
    ];
    Ok(Step {
        state: PayState::Reserved {
            request: request.to_vec(),
            pieces: out.pieces,
            sign_time: at.now,
        },
        writes,
        commands,
    })
}

fn show(id: &SagaId, payment: &[u8]) -> Command {
    Command::Show {
        saga: id.clone(),
        what: Shown::Payment,
        bytes: payment.to_vec(),
    }
}

fn confirm(
    at: &At<'_>,
    req: &PaymentRequest,
    request: &[u8],
    pieces: &[Piece],
    payment: &[u8],
    receipt: Option<Vec<u8>>,
    snap: &Snapshot,
) -> Result<Step<PayState>, SagaError> {
    if let Some(r) = &receipt {
        let receipt = Receipt::from_bytes(r).map_err(|source| SagaError::Malformed {
            what: "receipt",
            source,
        })?;
        let payee = req
            .certs
            .iter()
            .find(|c| c.id() == req.payee)
            .ok_or(SagaError::Receipt)?;
        let hash = Payment::from_bytes(payment)
            .map_err(|source| SagaError::Malformed {
                what: "stored payment",
                source,
            })?
            .hash();
        receipt
            .verify(payee, &ops_core::P256Provider)
            .map_err(|_| SagaError::Receipt)?;
        if receipt.body.payment != hash || receipt.body.request != req.hash() {
            return Err(SagaError::Receipt);
        }
    }
    Ok(Step {
        state: PayState::Confirmed {
            request: request.to_vec(),
            pieces: pieces.to_vec(),
            payment: payment.to_vec(),
            receipt: receipt.unwrap_or_default(),
        },
        writes: vec![
            Write::Note(NoteWrite::SetClaimStatus {
                saga: at.id.clone(),
                status: ClaimStatus::Spent,
            }),
            at.history(line(req, pieces, snap, HistoryState::Confirmed)),
        ],
        commands: Vec::new(),
    })
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &PayState,
    event: Event,
    snap: &Snapshot,
) -> Result<Step<PayState>, SagaError> {
    let req = decode_request(state.request())?;
    let request = state.request();
    match (state, event) {
        (
            PayState::Reserved {
                pieces, sign_time, ..
            },
            Event::Signed(assertions),
        ) => {
            let payment = decision(&req, pieces, *sign_time).assemble(&assertions, snap)?;
            Ok(Step {
                commands: vec![show(at.id, &payment)],
                state: PayState::Signed {
                    request: request.to_vec(),
                    pieces: pieces.clone(),
                    payment,
                },
                writes: vec![
                    Write::Note(NoteWrite::SetClaimStatus {
                        saga: at.id.clone(),
                        status: ClaimStatus::Signed,
                    }),
                    at.history(line(&req, pieces, snap, HistoryState::Signed)),
                ],
            })
        }
        (PayState::Reserved { pieces, .. }, Event::Abort) => Ok(Step {
            state: PayState::Released {
                request: request.to_vec(),
            },
            writes: vec![
                Write::Note(NoteWrite::Release {
                    saga: at.id.clone(),
                }),
                at.history(line(&req, pieces, snap, HistoryState::Cancelled)),
            ],
            commands: Vec::new(),
        }),
        (
            PayState::Signed {
                pieces, payment, ..
            },
            Event::HandedOver,
        ) => Ok(Step {
            state: PayState::HandedOver {
                request: request.to_vec(),
                pieces: pieces.clone(),
                payment: payment.clone(),
            },
            writes: vec![at.history(line(&req, pieces, snap, HistoryState::HandedOver))],
            commands: vec![show(at.id, payment)],
        }),
        (
            PayState::Signed {
                pieces, payment, ..
            }
            | PayState::HandedOver {
                pieces, payment, ..
            },
            Event::Receipt(r),
        ) => confirm(at, &req, request, pieces, payment, Some(r), snap),
        (
            PayState::Signed {
                pieces, payment, ..
            }
            | PayState::HandedOver {
                pieces, payment, ..
            },
            Event::Confirmed,
        ) => confirm(at, &req, request, pieces, payment, None, snap),
        (
            PayState::Signed {
                pieces, payment, ..
            }
            | PayState::HandedOver {
                pieces, payment, ..
            },
            Event::Abort,
        ) => Ok(Step {
            state: PayState::Abandoned {
                request: request.to_vec(),
                pieces: pieces.clone(),
                payment: payment.clone(),
            },
            writes: vec![at.history(line(&req, pieces, snap, HistoryState::Abandoned))],
            commands: Vec::new(),
        }),
        (s, e) => Err(wrong("payment", s.name(), &e)),
    }
}

/// What the state wants done after a reload.
pub fn pending(id: &SagaId, state: &PayState, snap: &Snapshot) -> Vec<Command> {
    match state {
        PayState::Reserved {
            request,
            pieces,
            sign_time,
        } => match (decode_request(request), &snap.device) {
            (Ok(req), Some(device)) => vec![Command::Sign {
                saga: id.clone(),
                items: decision(&req, pieces, *sign_time).sign_items(device),
            }],
            _ => Vec::new(),
        },
        PayState::Signed { payment, .. } | PayState::HandedOver { payment, .. } => {
            vec![show(id, payment)]
        }
        _ => Vec::new(),
    }
}
