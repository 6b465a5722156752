//! What paying and unloading share: turning frozen pieces into spend bodies, asking the
//! authenticator for their signatures, and assembling the payment with
//! `ops_core::wallet::OutgoingPayment` (reused, not duplicated: the engine keeps its own
//! claims instead of `OutgoingPayment`'s `spent` offsets and state, so that releasing one
//! saga's ranges never depends on another's).

use ops_core::ids::{CertId, Digest32, sha256};
use ops_core::msg::Signed;
use ops_core::msg::request::CrlHeld;
use ops_core::sig::verify_signature;
use ops_core::wallet::{OutgoingPayment, OutgoingState, Piece};
use ops_core::webauthn::{AssertionWire, RawAssertion};
use ops_core::{P256Provider, Spend};

use crate::error::SagaError;
use crate::saga::SignItem;
use crate::snapshot::{Device, Snapshot};
use crate::types::{Assertion, Claim, ClaimStatus, SagaId};

/// The frozen decision of a spending flow: which ranges go to whom for which request,
/// signed at which time. The same decision always yields the same spend bodies, hence the
/// same spend ids (a re-signature after a crash is the same spend, not a double spend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// The ranges.
    pub pieces: &'a [Piece],
    /// The payee.
    pub payee: CertId,
    /// The request answered.
    pub request: Digest32,
    /// Certificates the payee already holds.
    pub payee_known: Vec<CertId>,
    /// The CRLs the payee's request says it holds: the wallet's newer ones travel with the
    /// payment (PROTOCOL.md §3.2).
    pub payee_crls: Vec<CrlHeld>,
    /// Signing time written into every body.
    pub time: u64,
}

impl Decision<'_> {
    fn outgoing(&self) -> OutgoingPayment {
        OutgoingPayment {
            request: self.request,
            payee: self.payee,
            amount: self.pieces.iter().map(|p| p.to - p.from).sum(),
            pieces: self.pieces.to_vec(),
            state: OutgoingState::Reserved,
            payee_known: self.payee_known.clone(),
            payment: Vec::new(),
        }
    }

    /// The signatures to ask for, one per spend body.
    pub fn sign_items(&self, device: &Device) -> Vec<SignItem> {
        let policy = device.cert.body.webauthn.as_ref();
        let bodies = self.outgoing().spend_bodies(self.time);
        // One approval per payment: a single assertion over every spend (PROTOCOL.md §4,
        // batch signatures), or the plain challenge when there is one spend.
        let Some(challenge) = approval_challenge(&bodies) else {
            return Vec::new();
        };
        vec![SignItem {
            challenge,
            rp_id: policy.map(|p| p.rp_id.clone()).unwrap_or_default(),
            credential_id: device.identity.credential_id.clone(),
            user_verification: policy.is_some_and(|p| p.user_verification),
        }]
    }

    /// Builds the signed spends from the assertions, checks each against the device's key,
    /// and assembles the payment's canonical bytes.
    pub fn assemble(
        &self,
        assertions: &[Assertion],
        snap: &Snapshot,
    ) -> Result<Vec<u8>, SagaError> {
        let device = snap.device.as_ref().ok_or(SagaError::NotOnboarded)?;
        let policy = device.cert.body.webauthn.as_ref().ok_or_else(|| {
            SagaError::Assertion("this device's certificate is not for a security key".into())
        })?;
        let mut op = self.outgoing();
        let bodies = op.spend_bodies(self.time);
        let [a] = assertions else {
            return Err(SagaError::Assertion(format!(
                "{} signatures for one approval; the payment needs exactly one",
                assertions.len()
            )));
        };
        let challenge = approval_challenge(&bodies)
            .ok_or_else(|| SagaError::Assertion("nothing to sign".into()))?;
        let raw = RawAssertion {
            authenticator_data: &a.authenticator_data,
            client_data_json: &a.client_data_json,
            signature_der: &a.signature_der,
        };
        let wire = AssertionWire::from_raw(&raw, policy, &challenge)?;
        let digests: Vec<[u8; 32]> = bodies
            .iter()
            .map(|b| sha256(&Spend::body_bytes_of(b)))
            .collect();
        let signatures = ops_core::sig::batch_signatures(wire, &digests).ok_or_else(|| {
            SagaError::Assertion("the approval does not cover these spends".into())
        })?;
        let mut spends = Vec::with_capacity(bodies.len());
        for (body, signature) in bodies.into_iter().zip(signatures) {
            verify_signature(
                &P256Provider,
                &device.cert.body.subject,
                Some(policy),
                &Spend::body_bytes_of(&body),
                &signature,
            )?;
            spends.push(Signed { body, signature });
        }
        let mut payment = op.sign(
            &snap.full_book(),
            spends,
            vec![device.cert.clone(), device.fi.clone()],
        )?;
        payment.crls = snap.crls.newer_than(&self.payee_crls);
        Ok(payment.to_bytes())
    }
}

/// The claims of `saga` over `pieces`, reserved.
pub fn claims(saga: &SagaId, pieces: &[Piece]) -> Vec<Claim> {
    pieces
        .iter()
        .map(|p| Claim {
            saga: saga.clone(),
            note: p.note,
            from: p.from,
            to: p.to,
            status: ClaimStatus::Reserved,
        })
        .collect()
}

/// The total of `pieces`.
pub fn total(pieces: &[Piece]) -> u64 {
    pieces.iter().map(|p| p.to.saturating_sub(p.from)).sum()
}

/// The greatest hop count among the notes `pieces` draw on, after this spend.
pub fn hops(pieces: &[Piece], snap: &Snapshot) -> Option<usize> {
    pieces
        .iter()
        .filter_map(|p| snap.notes.iter().find(|n| n.id == p.note))
        .map(|n| n.hops + 1)
        .max()
}

/// The challenge the user approves for `bodies`: SHA-256 of the one spend's body, or the
/// batch challenge over all of them (one authenticator prompt per payment).
fn approval_challenge(bodies: &[ops_core::SpendBody]) -> Option<[u8; 32]> {
    match bodies {
        [] => None,
        [one] => Some(sha256(&Spend::body_bytes_of(one))),
        _ => ops_core::wallet::OutgoingPayment::batch_challenge(bodies),
    }
}
