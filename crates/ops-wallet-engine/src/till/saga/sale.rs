//! A sale: the request shown, the payment decided, the receipt signed.
//!
//! ```text
//! start ─► Open ──Presented──► Deciding ──Decide──► Approved ──ReceiptSigned──► Completed
//!           │ ▲ ▲                  │                    └──────NoReceipt───────────┘
//!           │ │ └─ unreadable ─┘   └─ declined ─┐ (decline logged, request shown again;
//!           │ └─────────────────────────────────┘  a double spend keeps its fraud proof)
//!        Cancel / Expire        declined as expired ──► Expired
//!           ▼
//!      Cancelled / Expired
//! ```
//!
//! `Open` freezes the request bytes. `Deciding` freezes the payment bytes and the time they
//! arrived before anything is checked, so a crash while deciding loses nothing and
//! recovery decides the same bytes at the same time: the payment is decided exactly once.
//! `Approved` is committed in the same batch as the payment, its ledger entries and its
//! place in the deposit queue (rule V24: stored before "approved" is shown). The receipt
//! body is rebuilt from the frozen state, and the signed receipt is frozen in `Completed`,
//! so a reload shows the same receipt bytes.

use ops_core::ids::{Nonce, sha256};
use ops_core::msg::MAX_LABEL_LEN;
use ops_core::webauthn::{AssertionWire, RawAssertion};
use ops_core::{P256Provider, PaymentRequest, Receipt, Signature};
use serde::{Deserialize, Serialize};

use super::{
    Approval, Decision, ReceiptSigner, TerminalSignature, TillCommand, TillEvent, TillStep, wrong,
};
use crate::saga::{At, SignItem};
use crate::till::decide::{self, SaleRef, Verdict};
use crate::till::error::TillSagaError;
use crate::till::reason::DeclineReason;
use crate::till::snapshot::TillSnapshot;
use crate::till::store::{DeclineWrite, PaymentWrite, QueueWrite, TillWrite, TrustWrite};
use crate::till::types::{DepositStatus, PaymentId, QueueEntry, short_id};
use crate::types::SagaId;

/// Where a sale stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleState {
    /// The request is shown, waiting for a payment.
    Open {
        /// The request (canonical bytes).
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
    },
    /// A payment arrived and is being decided.
    Deciding {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The payment as it arrived.
        #[serde(with = "crate::hexser::bytes")]
        payment: Vec<u8>,
        /// When it arrived (the time it is verified at).
        received_at: u64,
    },
    /// Approved and stored; the receipt is being signed.
    Approved {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The accepted payment.
        payment: PaymentId,
        /// Amount.
        amount: u64,
        /// Currency.
        currency: String,
        /// When it was approved.
        approved_at: u64,
    },
    /// Approved, with its receipt (or without, if the merchant went on without one).
    Completed {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
        /// The accepted payment.
        payment: PaymentId,
        /// Amount.
        amount: u64,
        /// Currency.
        currency: String,
        /// When it was approved.
        approved_at: u64,
        /// The signed receipt (canonical bytes).
        #[serde(with = "crate::hexser::option", default)]
        receipt: Option<Vec<u8>>,
    },
    /// Cancelled by the cashier before a payment was accepted.
    Cancelled {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
    },
    /// The request expired unpaid.
    Expired {
        /// The request.
        #[serde(with = "crate::hexser::bytes")]
        request: Vec<u8>,
    },
}

impl SaleState {
    /// Whether the sale is at an end.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed { .. } | Self::Cancelled { .. } | Self::Expired { .. }
        )
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Open { .. } => "open",
            Self::Deciding { .. } => "deciding",
            Self::Approved { .. } => "approved",
            Self::Completed { .. } => "completed",
            Self::Cancelled { .. } => "cancelled",
            Self::Expired { .. } => "expired",
        }
    }

    /// The request's bytes.
    pub fn request(&self) -> &[u8] {
        match self {
            Self::Open { request }
            | Self::Deciding { request, .. }
            | Self::Approved { request, .. }
            | Self::Completed { request, .. }
            | Self::Cancelled { request }
            | Self::Expired { request } => request,
        }
    }

    /// The approval, once approved.
    pub fn approval(&self, sale: &SagaId) -> Option<Approval> {
        match self {
            Self::Approved {
                payment,
                amount,
                currency,
                approved_at,
                ..
            }
            | Self::Completed {
                payment,
                amount,
                currency,
                approved_at,
                ..
            } => Some(Approval {
                sale: sale.clone(),
                payment: *payment,
                short_id: short_id(payment),
                amount: *amount,
                currency: currency.clone(),
                at: *approved_at,
            }),
            _ => None,
        }
    }
}

/// What the cashier asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSale {
    /// Random nonce (the app draws it); also the sale's id, so starting twice with the
    /// same nonce finds the first sale.
    pub nonce: [u8; 16],
    /// Amount in minor units.
    pub amount: u64,
    /// Currency code (1–8 uppercase letters).
    pub currency: String,
    /// Optional reference (an order number), shown to the payer with the request.
    pub reference: Option<String>,
    /// Seconds the request stays valid.
    pub lifetime: u64,
}

/// The id of the sale started with `nonce`.
pub fn id_for(nonce: &[u8; 16]) -> SagaId {
    SagaId::new("sale", nonce)
}

/// Longest request lifetime accepted (a day): a request is meant for a customer at the
/// counter.
pub const MAX_LIFETIME: u64 = 86_400;

/// Decodes a stored request.
pub fn request_of(bytes: &[u8]) -> Result<PaymentRequest, TillSagaError> {
    PaymentRequest::from_bytes(bytes).map_err(|source| TillSagaError::Malformed {
        what: "stored payment request",
        source,
    })
}

/// Builds the request to show for `ask`.
pub fn start(
    at: &At<'_>,
    ask: &NewSale,
    snap: &TillSnapshot,
) -> Result<TillStep<SaleState>, TillSagaError> {
    let terminal = snap.terminal.as_ref().ok_or(TillSagaError::NotSetUp)?;
    if ask.amount == 0 {
        return Err(TillSagaError::BadSale(
            "the amount must be above zero".into(),
        ));
    }
    if ask.lifetime == 0 || ask.lifetime > MAX_LIFETIME {
        return Err(TillSagaError::BadSale(format!(
            "a request must stay valid between 1 second and {MAX_LIFETIME} seconds"
        )));
    }
    let reference = ask
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(r) = reference
        && (r.len() > MAX_LABEL_LEN || r.chars().any(char::is_control))
    {
        return Err(TillSagaError::BadSale(format!(
            "the reference must be at most {MAX_LABEL_LEN} bytes of text without line breaks"
        )));
    }
    let request = PaymentRequest {
        payee: terminal.cert.id(),
        amount: ask.amount,
        currency: ask.currency.clone(),
        nonce: Nonce(ask.nonce),
        created: at.now,
        expires: at.now.saturating_add(ask.lifetime),
        label: reference.map(str::to_owned),
        certs: vec![terminal.cert.clone(), terminal.fi.clone()],
        crls_held: snap.crls.held(),
    }
    .to_bytes();
    // The encoder writes whatever it is given; the decoder is what payers run.
    PaymentRequest::from_bytes(&request).map_err(|e| TillSagaError::BadSale(e.to_string()))?;
    Ok(TillStep {
        commands: vec![show(at.id, &request)],
        state: SaleState::Open { request },
        writes: Vec::new(),
    })
}

fn show(id: &SagaId, request: &[u8]) -> TillCommand {
    TillCommand::ShowRequest {
        sale: id.clone(),
        bytes: request.to_vec(),
    }
}

/// How this terminal's key signs a receipt.
pub fn receipt_signer(snap: &TillSnapshot) -> Option<ReceiptSigner> {
    let t = snap.terminal.as_ref()?;
    Some(match &t.cert.body.webauthn {
        Some(policy) => ReceiptSigner::WebAuthn(SignItem {
            challenge: [0; 32],
            rp_id: policy.rp_id.clone(),
            credential_id: t.identity.credential_id.clone().unwrap_or_default(),
            user_verification: policy.user_verification,
        }),
        None => ReceiptSigner::Software,
    })
}

fn sign_receipt(
    id: &SagaId,
    request: &[u8],
    payment: PaymentId,
    amount: u64,
    at: u64,
    snap: &TillSnapshot,
) -> Vec<TillCommand> {
    let (Ok(req), Some(signer)) = (request_of(request), receipt_signer(snap)) else {
        return Vec::new();
    };
    let body =
        ops_core::msg::Signed::body_bytes_of(&decide::receipt_body(&req, payment, amount, at));
    let signer = match signer {
        ReceiptSigner::WebAuthn(mut item) => {
            item.challenge = sha256(&body);
            ReceiptSigner::WebAuthn(item)
        }
        ReceiptSigner::Software => ReceiptSigner::Software,
    };
    vec![TillCommand::SignReceipt {
        sale: id.clone(),
        body,
        signer,
    }]
}

fn decide_step(
    at: &At<'_>,
    request: &[u8],
    payment: &[u8],
    received_at: u64,
    snap: &TillSnapshot,
) -> Result<TillStep<SaleState>, TillSagaError> {
    let req = request_of(request)?;
    let sale = SaleRef {
        id: at.id,
        request: &req,
    };
    match decide::decide(sale, payment, received_at, snap)? {
        Verdict::Approve(acc) => {
            let a = &acc.approval;
            let mut commands = vec![TillCommand::Decided(Decision::Approved(a.clone()))];
            commands.extend(sign_receipt(
                at.id, request, a.payment, a.amount, a.at, snap,
            ));
            let queued = QueueEntry {
                payment: a.payment,
                amount: a.amount,
                currency: a.currency.clone(),
                accepted_at: a.at,
                status: DepositStatus::Pending,
                updated: a.at,
            };
            let state = SaleState::Approved {
                request: request.to_vec(),
                payment: a.payment,
                amount: a.amount,
                currency: a.currency.clone(),
                approved_at: a.at,
            };
            let acc = *acc;
            let mut writes = vec![
                TillWrite::Payment(PaymentWrite::Accept {
                    payment: acc.payment,
                    ledger: acc.ledger,
                }),
                TillWrite::Queue(QueueWrite::Enqueue(queued)),
            ];
            writes.extend(keep_crls(&acc.crls));
            Ok(TillStep {
                state,
                writes,
                commands,
            })
        }
        Verdict::Decline(d) => {
            let decide::Declined {
                decline,
                proof,
                crls,
            } = *d;
            let expired = decline.reason == DeclineReason::RequestExpired;
            let mut writes = vec![TillWrite::Decline(DeclineWrite::Log(decline.clone()))];
            if let Some(p) = proof {
                writes.push(TillWrite::Decline(DeclineWrite::KeepProof(p)));
            }
            writes.extend(keep_crls(&crls));
            let mut commands = vec![TillCommand::Decided(Decision::Declined(decline))];
            let state = if expired {
                SaleState::Expired {
                    request: request.to_vec(),
                }
            } else {
                commands.push(show(at.id, request));
                SaleState::Open {
                    request: request.to_vec(),
                }
            };
            Ok(TillStep {
                state,
                writes,
                commands,
            })
        }
    }
}

/// The writes that keep `crls` (verified by the core, newer than the held ones).
fn keep_crls(crls: &[ops_core::msg::crl::Crl]) -> impl Iterator<Item = TillWrite> + '_ {
    crls.iter().map(|c| {
        TillWrite::Trust(TrustWrite::PutCrl {
            issuer: c.body.issuer,
            number: c.body.number,
            bytes: c.to_bytes(),
        })
    })
}

/// Turns the key's answer into the terminal's signature over `body` and checks it against
/// the terminal's certificate.
fn receipt(
    request: &[u8],
    payment: PaymentId,
    amount: u64,
    approved_at: u64,
    sig: TerminalSignature,
    snap: &TillSnapshot,
) -> Result<Vec<u8>, TillSagaError> {
    let terminal = snap.terminal.as_ref().ok_or(TillSagaError::NotSetUp)?;
    let req = request_of(request)?;
    let body = decide::receipt_body(&req, payment, amount, approved_at);
    let signature = match sig {
        TerminalSignature::Es256(raw) => {
            let raw: [u8; 64] = raw.try_into().map_err(|_| {
                TillSagaError::Signature("an ES256 signature is 64 bytes (r || s)".into())
            })?;
            Signature::Es256(raw)
        }
        TerminalSignature::WebAuthn(a) => {
            let policy = terminal.cert.body.webauthn.as_ref().ok_or_else(|| {
                TillSagaError::Signature("this terminal's key signs without WebAuthn".into())
            })?;
            let challenge = sha256(&ops_core::msg::Signed::body_bytes_of(&body));
            let raw = RawAssertion {
                authenticator_data: &a.authenticator_data,
                client_data_json: &a.client_data_json,
                signature_der: &a.signature_der,
            };
            Signature::WebAuthn(Box::new(
                AssertionWire::from_raw(&raw, policy, &challenge)
                    .map_err(|e| TillSagaError::Signature(e.to_string()))?,
            ))
        }
    };
    let signed = Receipt { body, signature };
    signed
        .verify(&terminal.cert, &P256Provider)
        .map_err(|e| TillSagaError::Signature(e.to_string()))?;
    Ok(signed.to_bytes())
}

/// The pure transition.
pub fn advance(
    at: &At<'_>,
    state: &SaleState,
    event: TillEvent,
    snap: &TillSnapshot,
) -> Result<TillStep<SaleState>, TillSagaError> {
    match (state, event) {
        (SaleState::Open { request }, TillEvent::Presented(payment)) => {
            Ok(TillStep::to(SaleState::Deciding {
                request: request.clone(),
                payment,
                received_at: at.now,
            }))
        }
        (SaleState::Open { request }, TillEvent::Cancel) => {
            Ok(TillStep::to(SaleState::Cancelled {
                request: request.clone(),
            }))
        }
        (SaleState::Open { request }, TillEvent::Expire) => {
            if at.now <= request_of(request)?.expires {
                return Err(TillSagaError::Nothing("the request has not expired yet"));
            }
            Ok(TillStep::to(SaleState::Expired {
                request: request.clone(),
            }))
        }
        (
            SaleState::Deciding {
                request,
                payment,
                received_at,
            },
            TillEvent::Decide,
        ) => decide_step(at, request, payment, *received_at, snap),
        (
            SaleState::Approved {
                request,
                payment,
                amount,
                currency,
                approved_at,
            },
            e @ (TillEvent::ReceiptSigned(_) | TillEvent::NoReceipt),
        ) => {
            let receipt = match e {
                TillEvent::ReceiptSigned(sig) => Some(receipt(
                    request,
                    *payment,
                    *amount,
                    *approved_at,
                    sig,
                    snap,
                )?),
                _ => None,
            };
            let commands = receipt
                .iter()
                .map(|r| TillCommand::ShowReceipt {
                    sale: at.id.clone(),
                    bytes: r.clone(),
                })
                .collect();
            Ok(TillStep {
                state: SaleState::Completed {
                    request: request.clone(),
                    payment: *payment,
                    amount: *amount,
                    currency: currency.clone(),
                    approved_at: *approved_at,
                    receipt,
                },
                writes: Vec::new(),
                commands,
            })
        }
        (s, e) => Err(wrong("sale", s.name(), &e)),
    }
}

/// What the state wants done after a reload (the engine decides a `Deciding` sale and
/// expires an `Open` one first).
pub fn pending(id: &SagaId, state: &SaleState, snap: &TillSnapshot) -> Vec<TillCommand> {
    match state {
        SaleState::Open { request } => vec![show(id, request)],
        SaleState::Approved {
            request,
            payment,
            amount,
            approved_at,
            ..
        } => {
            let mut v: Vec<TillCommand> = state
                .approval(id)
                .map(|a| TillCommand::Decided(Decision::Approved(a)))
                .into_iter()
                .collect();
            v.extend(sign_receipt(
                id,
                request,
                *payment,
                *amount,
                *approved_at,
                snap,
            ));
            v
        }
        SaleState::Completed {
            receipt: Some(r), ..
        } => vec![TillCommand::ShowReceipt {
            sale: id.clone(),
            bytes: r.clone(),
        }],
        _ => Vec::new(),
    }
}
