//! Receiving a payment (this wallet as the payee).
//!
//! ```text
//! start ─► Shown ──Scanned──► Scanned ──Verify──► Received
//!            │  ▲                 │
//!          Abort └──── refused ───┘ (Notify: what was wrong; the request is shown again;
//!            ▼                            a double spend's fraud proof is kept for the FI)
//!          Closed
//! ```
//!
//! `Shown` freezes the request. `Scanned` freezes the payment bytes and the scan time
//! before anything is checked, so a crash during verification loses nothing: recovery
//! verifies the same bytes at the same time. `Received` is written in the same batch as
//! the notes and the ledger entries: after "received" the value is never lost, and
//! receiving the same payment again finds the request used.

use ops_core::ids::{Nonce, NoteId};
use ops_core::wallet::WalletNote;
use ops_core::{Payment, PaymentRequest};
use serde::{Deserialize, Serialize};

use super::{At, Command, Event, Line, Shown, Step, wrong};
use crate::error::SagaError;
use crate::snapshot::Snapshot;
use crate::store::{NoteWrite, TrustWrite, Write};
use crate::types::{HistoryKind, HistoryState, SagaId};

/// Where a receipt of a payment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveState {
    /// The request is shown to the payer.
    Shown {
        /// The request (canonical bytes).
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
    },
    /// A payment was scanned; not yet verified.
    Scanned {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The payment as scanned.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
        /// When it was scanned (the time it is verified at).
        scanned_at: u64,
    },
    /// Verified and stored.
    Received {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The payment.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
        /// Amount received.
        amount: u64,
        /// The notes it gave this wallet.
        notes: Vec<NoteId>,
    },
    /// Closed without a payment.
    Closed {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
    },
}

impl ReceiveState {
    /// Whether the flow is at an end.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Received { .. } | Self::Closed { .. })
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Shown { .. } => "shown",
            Self::Scanned { .. } => "scanned",
            Self::Received { .. } => "received",
            Self::Closed { .. } => "closed",
        }
    }
}

/// What a request to show asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// Random nonce (the app draws it).
    pub nonce: [u8; 16],
    /// Amount.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// Label shown to the payer.
    pub label: Option<String>,
    /// Seconds the request stays valid.
    pub lifetime: u64,
}

/// Builds and shows a request to this wallet's device.
pub fn start(at: &At<'_>, ask: &Ask, snap: &Snapshot) -> Result<Step<ReceiveState>, SagaError> {
    let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
    let request = PaymentRequest {
        payee: device.cert.id(),
        amount: ask.amount,
        currency: ask.currency.clone(),
        nonce: Nonce(ask.nonce),
        created: at.now,
        expires: at.now.saturating_add(ask.lifetime),
        label: ask.label.clone(),
        certs: vec![device.cert.clone(), device.fi.clone()],
        crls_held: snap.crls.held(),
    }
    .to_bytes();
    Ok(Step {
        commands: vec![show(at.id, &request)],
        state: ReceiveState::Shown { request },
        writes: Vec::new(),
    })
}

fn show(id: &SagaId, request: &[u8]) -> Command {
    Command::Show {
        saga: id.clone(),
        what: Shown::Request,
        bytes: request.to_vec(),
    }
}

fn refuse(at: &At<'_>, request: &[u8], why: String) -> Step<ReceiveState> {
    Step {
        state: ReceiveState::Shown {
            request: request.to_vec(),
        },
        writes: Vec::new(),
        commands: vec![
            Command::Notify {
                saga: at.id.clone(),
                message: format!("payment refused: {why}; nothing was received"),
            },
            show(at.id, request),
        ],
    }
}

fn verify(
    at: &At<'_>,
    request: &[u8],
    payment: &[u8],
    scanned_at: u64,
    snap: &Snapshot,
) -> Result<Step<ReceiveState>, SagaError> {
    let trust = snap.trust.as_ref().ok_or(SagaError::NotOnboarded)?;
    let req = PaymentRequest::from_bytes(request).map_err(|source| SagaError::Malformed {
        what: "stored request",
        source,
    })?;
    let pay = match Payment::from_bytes(payment) {
        Ok(p) => p,
        Err(e) => return Ok(refuse(at, request, format!("it does not decode ({e})"))),
    };
    let known = snap.known_certs();
    // Newer CRLs the payer carried are kept whatever the verdict (PROTOCOL.md §3.2).
    let (news, verdict) = snap.verifier(trust, &known).verify_payment_with_news(
        &req,
        false,
        &pay,
        &snap.ledger,
        scanned_at,
    );
    let keep_crls = news.into_iter().map(|c| {
        Write::Trust(TrustWrite::PutCrl {
            issuer: c.body.issuer,
            number: c.body.number,
            bytes: c.to_bytes(),
        })
    });
    // A payer on the bank's counterparty block list is refused like a bad payment
    // (docs/PROTOCOL.md §6.1); the bank would refuse the deposit anyway.
    let verdict = match (verdict, trust.blocked_payer(&pay)) {
        (Ok(_), Some(blocked)) => {
            let mut step = refuse(
                at,
                request,
                format!("the payer {blocked} is on your bank's counterparty block list"),
            );
            step.writes.extend(keep_crls);
            return Ok(step);
        }
        (v, _) => v,
    };
    let verified = match verdict {
        Ok(v) => v,
        Err(e) => {
            let mut step = refuse(at, request, e.to_string());
            step.writes.extend(keep_crls);
            if let Some(proof) = e.fraud_proof() {
                step.writes
                    .push(Write::Note(NoteWrite::KeepFraudProof(proof.to_bytes())));
            }
            return Ok(step);
        }
    };
    let mut writes: Vec<Write> = keep_crls.collect();
    let mut notes = Vec::new();
    for (chain, got) in pay.chains.iter().zip(&verified.received) {
        let note = WalletNote::from_chain(chain, got.hop_limit, &pay.certs)
            .ok_or_else(|| SagaError::Answer("a verified chain has no final spend".into()))?;
        notes.push(note.id);
        writes.push(Write::Note(NoteWrite::PutNote(note)));
    }
    writes.push(Write::Note(NoteWrite::RecordSpends(
        verified
            .spends
            .iter()
            .map(ops_core::Spend::to_bytes)
            .collect(),
    )));
    let hops = verified.received.iter().map(|r| r.hops).max();
    writes.push(
        at.history(Line {
            kind: HistoryKind::In,
            amount: verified.amount,
            currency: req.currency.clone(),
            counterparty: pay
                .chains
                .first()
                .and_then(|c| c.spends_with_signers().last().map(|(_, signer)| signer)),
            hops,
            state: HistoryState::Received,
            notes: None,
        }),
    );
    Ok(Step {
        state: ReceiveState::Received {
            request: request.to_vec(),
            payment: payment.to_vec(),
            amount: verified.amount,
            notes,
        },
        writes,
        commands: Vec::new(),
    })
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &ReceiveState,
    event: Event,
    snap: &Snapshot,
) -> Result<Step<ReceiveState>, SagaError> {
    match (state, event) {
        (ReceiveState::Shown { request }, Event::Scanned(payment)) => {
            Ok(Step::to(ReceiveState::Scanned {
                request: request.clone(),
                payment,
                scanned_at: at.now,
            }))
        }
        (ReceiveState::Shown { request }, Event::Abort) => Ok(Step::to(ReceiveState::Closed {
            request: request.clone(),
        })),
        (
            ReceiveState::Scanned {
                request,
                payment,
                scanned_at,
            },
            Event::Verify,
        ) => verify(at, request, payment, *scanned_at, snap),
        (s, e) => Err(wrong("receipt of a payment", s.name(), &e)),
    }
}

/// What the state wants done after a reload.
pub fn pending(id: &SagaId, state: &ReceiveState) -> Vec<Command> {
    match state {
        ReceiveState::Shown { request } => vec![show(id, request)],
        _ => Vec::new(),
    }
}
