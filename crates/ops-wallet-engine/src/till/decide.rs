//! Deciding a payment: the core's offline verification with the terminal's trust bundle,
//! CRLs and range ledger, turned into what to store (approve) or what to log and tell the
//! cashier (decline). Pure.

use ops_core::msg::crl::Crl;
use ops_core::{Payment, PaymentRequest, ReceiptBody, Spend};

use super::error::TillSagaError;
use super::reason::DeclineReason;
use super::saga::Approval;
use super::snapshot::TillSnapshot;
use super::types::{AcceptedPayment, Decline, KeptProof, LedgerEntry, PaymentId, short_id};
use crate::types::SagaId;

/// What to do with a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every rule passed: store the payment and its ledger entries, then approve.
    Approve(Box<Accepted>),
    /// A rule failed, or the bytes are not a payment.
    Decline(Box<Declined>),
}

/// A declined payment and what its decline writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined {
    /// The log entry (reason, rule, detail).
    pub decline: Decline,
    /// The fraud proof to keep, for a double spend.
    pub proof: Option<KeptProof>,
    /// Newer CRLs the payment carried (PROTOCOL.md §3.2): kept even when the payment is
    /// declined, so the terminal declines the revoked from now on and passes them on.
    pub crls: Vec<Crl>,
}

/// An approved payment and everything its approval writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The payment record.
    pub payment: AcceptedPayment,
    /// Its spends for the range ledger.
    pub ledger: Vec<LedgerEntry>,
    /// What the cashier sees.
    pub approval: Approval,
    /// Newer CRLs the payment carried, to keep with it.
    pub crls: Vec<Crl>,
}

/// The sale a payment is decided for.
#[derive(Debug, Clone, Copy)]
pub struct SaleRef<'a> {
    /// The sale's id.
    pub id: &'a SagaId,
    /// Its request.
    pub request: &'a PaymentRequest,
}

/// A declined attempt for `sale` (or none) of `bytes` at `at`.
pub fn decline(
    sale: Option<SaleRef<'_>>,
    bytes: &[u8],
    at: u64,
    reason: DeclineReason,
    rule: Option<u8>,
    detail: String,
    payment: Option<PaymentId>,
) -> Decline {
    Decline {
        id: Decline::key(sale.map(|s| s.id), bytes, at),
        sale: sale.map(|s| s.id.clone()),
        at,
        reason,
        rule,
        detail,
        amount: sale.map(|s| s.request.amount),
        currency: sale.map(|s| s.request.currency.clone()),
        payment,
    }
}

/// Verifies `bytes` as the payment of `sale` at `at` against the terminal's trust, CRLs
/// and the loaded part of its range ledger (every rule of `ops_core::verify`).
pub fn decide(
    sale: SaleRef<'_>,
    bytes: &[u8],
    at: u64,
    snap: &TillSnapshot,
) -> Result<Verdict, TillSagaError> {
    let trust = snap.trust.as_ref().ok_or(TillSagaError::NotSetUp)?;
    if snap.terminal.is_none() {
        return Err(TillSagaError::NotSetUp);
    }
    let payment = match Payment::from_bytes(bytes) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Verdict::Decline(Box::new(Declined {
                decline: decline(
                    Some(sale),
                    bytes,
                    at,
                    DeclineReason::Unreadable,
                    None,
                    e.to_string(),
                    None,
                ),
                proof: None,
                crls: Vec::new(),
            })));
        }
    };
    let id = payment.hash();
    let known = snap.known_certs();
    // Newer CRLs the payment carried (V25) are kept whatever the verdict.
    let (crls, verdict) = snap.verifier(trust, &known).verify_payment_with_news(
        sale.request,
        false,
        &payment,
        &snap.ledger,
        at,
    );
    let verdict = match (verdict, trust.blocked_payer(&payment)) {
        (Ok(_), Some(blocked)) => {
            return Ok(Verdict::Decline(Box::new(Declined {
                decline: decline(
                    Some(sale),
                    bytes,
                    at,
                    DeclineReason::BlockedCounterparty,
                    None,
                    format!("{blocked} is on the bank's counterparty block list"),
                    Some(id),
                ),
                proof: None,
                crls,
            })));
        }
        (v, _) => v,
    };
    let verified = match verdict {
        Ok(v) => v,
        Err(e) => {
            let proof = e
                .fraud_proof()
                .map(|p| KeptProof::new(p.to_bytes(), Some(sale.id.clone()), at));
            return Ok(Verdict::Decline(Box::new(Declined {
                decline: decline(
                    Some(sale),
                    bytes,
                    at,
                    DeclineReason::from_verify(&e),
                    Some(e.rule()),
                    e.to_string(),
                    Some(id),
                ),
                proof,
                crls,
            })));
        }
    };
    let ledger = verified
        .spends
        .iter()
        .map(|s| entry(s, id))
        .collect::<Vec<_>>();
    let payer = payment
        .chains
        .first()
        .and_then(|c| c.spends_with_signers().last().map(|(_, signer)| signer));
    let request = sale.request;
    Ok(Verdict::Approve(Box::new(Accepted {
        payment: AcceptedPayment {
            id,
            sale: sale.id.clone(),
            amount: verified.amount,
            currency: request.currency.clone(),
            reference: request.label.clone(),
            accepted_at: at,
            payer,
            bytes: bytes.to_vec(),
        },
        ledger,
        approval: Approval {
            sale: sale.id.clone(),
            payment: id,
            short_id: short_id(&id),
            amount: verified.amount,
            currency: request.currency.clone(),
            at,
        },
        crls,
    })))
}

fn entry(s: &Spend, payment: PaymentId) -> LedgerEntry {
    LedgerEntry {
        note: s.body.input,
        from: s.body.from,
        to: s.body.to,
        spend: s.id(),
        payment,
        bytes: s.to_bytes(),
    }
}

/// The receipt body of an approval: the payment, the request it answered, the terminal
/// (the request's payee), the amount and the approval time. Rebuilt from the sale's frozen
/// state, so it is the same body after every reload.
pub fn receipt_body(
    request: &PaymentRequest,
    payment: PaymentId,
    amount: u64,
    at: u64,
) -> ReceiptBody {
    ReceiptBody {
        payment,
        request: request.hash(),
        payee: request.payee,
        amount,
        time: at,
    }
}
