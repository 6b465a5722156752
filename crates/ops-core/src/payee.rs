//! Payee-side state: outstanding requests (single use), the range ledger, and the fraud
//! proofs kept for the FI. The app persists what [`Till::accept`] returns *before* it
//! shows "approved" (rule V24).

use std::collections::BTreeMap;

use crate::ids::Digest32;
use crate::ledger::RangeLedger;
use crate::msg::fraud::FraudProof;
use crate::msg::payment::Payment;
use crate::msg::request::PaymentRequest;
use crate::msg::spend::Spend;
use crate::verify::{VerifiedPayment, Verifier, VerifyError, record};

/// A request and whether it was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    /// The request shown.
    pub request: PaymentRequest,
    /// Set once a payment for it was accepted.
    pub used: bool,
}

/// The payee's offline memory.
#[derive(Debug, Default)]
pub struct Till {
    /// Requests by hash.
    pub requests: BTreeMap<Digest32, Outstanding>,
    /// Spent ranges seen (payments received and their provenance).
    pub ledger: RangeLedger<Spend>,
    /// Double spends detected, to upload at the next sync.
    pub fraud_proofs: Vec<FraudProof>,
}

/// Why a payment was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// The payment answers no request this till issued.
    #[error("the payment answers no request shown by this terminal")]
    UnknownRequest,
    /// A verification rule failed.
    #[error(transparent)]
    Rejected(#[from] VerifyError),
}

impl Till {
    /// An empty till.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a request shown to a payer; returns its hash.
    pub fn open(&mut self, request: PaymentRequest) -> Digest32 {
        let h = request.hash();
        self.requests.entry(h).or_insert(Outstanding {
            request,
            used: false,
        });
        h
    }

    /// Verifies `payment` against the request it names, records its spends, consumes the
    /// request and returns the verification result. A double spend keeps the fraud proof.
    pub fn accept(
        &mut self,
        verifier: &Verifier<'_>,
        payment: &Payment,
        now: u64,
    ) -> Result<VerifiedPayment, AcceptError> {
        let h = payment
            .chains
            .first()
            .and_then(|c| c.last())
            .map(|s| Digest32(s.body.request.0))
            .ok_or(AcceptError::UnknownRequest)?;
        let out = self.requests.get(&h).ok_or(AcceptError::UnknownRequest)?;
        match verifier.verify_payment(&out.request, out.used, payment, &self.ledger, now) {
            Ok(v) => {
                record(&mut self.ledger, &v);
                if let Some(o) = self.requests.get_mut(&h) {
                    o.used = true;
                }
                Ok(v)
            }
            Err(e) => {
                if let Some(p) = e.fraud_proof() {
                    self.fraud_proofs.push(p.clone());
                }
                Err(e.into())
            }
        }
    }

    /// Forgets expired requests (keeps used ones' hashes out of memory after expiry: an
    /// expired request fails V2 anyway).
    pub fn prune(&mut self, now: u64) {
        self.requests.retain(|_, o| o.request.expires >= now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::P256Provider;
    use crate::testing::{DAY, T0, World};

    #[test]
    fn accept_consumes_request_and_keeps_fraud_proofs() {
        let now = T0 + DAY;
        let mut w = World::new(2);
        w.publish_crls(now - 60, &[], &P256Provider);
        let known = w.pos_known();
        let (req, pay) = w.payment(1, 1_000, 250, now);
        let (_, other) = w.payment(2, 1_000, 250, now);
        // Payer wallet 0 double-spends the same range for a second request.
        let req2 = w.request(250, 50, now);
        let mut body = pay.chains[0].spends[0].body.clone();
        body.request = req2.hash();
        body.time = now + 1;
        let mut pay2 = pay.clone();
        pay2.chains[0].spends[0] = World::spend_by(&mut w.wallets[0], body);

        let mut till = Till::new();
        till.open(req.clone());
        let v = w.verifier(&known, &P256Provider);
        assert_eq!(till.accept(&v, &pay, now).unwrap().amount, 250);
        // Replaying the same payment: the request is used (V1).
        let e = till.accept(&v, &pay, now).unwrap_err();
        assert_eq!(e, AcceptError::Rejected(VerifyError::RequestUsed));
        // A payment for a request this till never showed.
        assert_eq!(
            till.accept(&v, &other, now).unwrap_err(),
            AcceptError::UnknownRequest
        );
        till.open(req2.clone());
        let e = till.accept(&v, &pay2, now + 2).unwrap_err();
        assert!(matches!(
            e,
            AcceptError::Rejected(VerifyError::DoubleSpend(_))
        ));
        assert_eq!(till.fraud_proofs.len(), 1);
        assert!(!till.requests[&req2.hash()].used);
        till.prune(now + DAY);
        assert!(till.requests.is_empty());
    }

    #[test]
    fn payer_checks_request_certificates() {
        let now = T0 + DAY;
        let w = World::new(1);
        let mut req = w.request(100, 1, now);
        req.certs = vec![w.pos.cert.clone(), w.fis[0].clone()];
        let v = w.verifier(&[], &P256Provider);
        let info = v.check_request(&req, now).unwrap();
        assert_eq!(info.name.as_deref(), Some("Corner Shop"));
        assert_eq!(info.fi_name.as_deref(), Some("Bank 0"));
        // Without the FI certificate the payee cannot be certified.
        req.certs.truncate(1);
        assert_eq!(v.check_request(&req, now).unwrap_err().rule(), 11);
        req.certs.clear();
        assert_eq!(v.check_request(&req, now).unwrap_err().rule(), 10);
    }
}
