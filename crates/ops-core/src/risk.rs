//! The loss bound of `docs/PROTOCOL.md` §8 as functions of the protocol parameters, and a
//! simulation (in the tests) that reproduces it with real certificates, CRLs, payments and
//! ledgers.

use crate::verify::Policy;

/// Upper bound on the value a cheating device can extract beyond what it legitimately
/// spent: every range it holds (`≤ max_outstanding`) paid to each of `accepting_payees`
/// payees, of which one is legitimate: `max_outstanding × (accepting_payees − 1)`.
pub fn device_exposure(max_outstanding: u64, accepting_payees: u64) -> u64 {
    max_outstanding.saturating_mul(accepting_payees.saturating_sub(1))
}

/// Whether a payee holding the device's FI CRL issued at `crl_issued` (if any) can still
/// accept a payment of `amount` at `now` from a device revoked at `revoked_at`:
/// a CRL issued at or after the revocation lists it (V16); otherwise the CRL's age must be
/// within the floor tier of the amount (V17), and the amount within the top tier (V18).
pub fn accepts_after_revocation(
    policy: &Policy,
    amount: u64,
    crl_issued: Option<u64>,
    revoked_at: u64,
    now: u64,
) -> bool {
    let Some(max_age) = policy.max_crl_age(amount) else {
        return false;
    };
    match crl_issued {
        Some(t) if t >= revoked_at => false,
        Some(t) => max_age == u64::MAX || now.saturating_sub(t) <= max_age,
        None => max_age == u64::MAX,
    }
}

/// The latest time a copy of `amount` can be accepted offline after a revocation at
/// `revoked_at` (by a payee whose newest CRL predates it): `revoked_at + A(amount)`, or
/// `None` when the amount's tier needs no CRL (bounded only by note expiry) or is above the
/// offline ceiling (never accepted).
pub fn acceptance_window_end(policy: &Policy, amount: u64, revoked_at: u64) -> Option<u64> {
    match policy.max_crl_age(amount) {
        Some(a) if a != u64::MAX => Some(revoked_at.saturating_add(a)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::P256Provider;
    use crate::crl_store::CrlStore;
    use crate::ledger::{Insert, RangeLedger};
    use crate::msg::crl::CrlBody;
    use crate::msg::payment::{Chain, Payment};
    use crate::msg::spend::SpendBody;
    use crate::payee::Till;
    use crate::testing::{DAY, T0, World, sign_body};
    use crate::verify::Verifier;

    /// A device copies the same 10 000-unit range to six payees two hours after its
    /// revocation. Each payee holds a different CRL. The simulation's accepted copies must
    /// equal the prediction of `accepts_after_revocation`, the loss must stay within
    /// `device_exposure`, and the FI's settlement ledger must attribute every extra copy.
    #[test]
    fn simulated_cloning_attack_matches_the_bound() {
        let mut w = World::new(1);
        let revoked_at = T0 + 20 * DAY;
        let now = revoked_at + 2 * 3600;
        let value = 10_000;
        let culprit = w.wallets[0].cert.clone();
        let iss = w.issue(0, culprit.id(), value, 7);
        // CRL issue times held by the six payees (None: no CRL at all).
        let held: [Option<u64>; 6] = [
            Some(revoked_at + 3600),
            Some(revoked_at - DAY),
            Some(revoked_at - 3 * DAY),
            Some(revoked_at - 8 * DAY),
            None,
            Some(revoked_at - DAY / 2),
        ];
        let mut accepted_spends = Vec::new();
        let mut predicted = 0;
        for (i, crl_time) in held.iter().enumerate() {
            let mut crls = CrlStore::new();
            for (k, fi) in w.fis.iter().enumerate() {
                let t = crl_time.unwrap_or(T0);
                let revoked = if crl_time.is_some_and(|t| t >= revoked_at) {
                    vec![culprit.body.serial]
                } else {
                    vec![]
                };
                if crl_time.is_some() {
                    let body = CrlBody {
                        issuer: fi.id(),
                        number: t,
                        issued: t,
                        revoked,
                    };
                    crls.insert(sign_body(body, &w.fi_keys[k]), fi, &P256Provider)
                        .unwrap();
                }
            }
            let root_crl = CrlBody {
                issuer: w.root.id(),
                number: now,
                issued: now - 60,
                revoked: vec![],
            };
            crls.insert(sign_body(root_crl, &w.root_key), &w.root, &P256Provider)
                .unwrap();
            let req = w.request(value, 100 + i as u8, now - 30);
            let spend = World::spend_by(
                &mut w.wallets[0],
                SpendBody {
                    input: iss.note_id(),
                    from: 0,
                    to: value,
                    payee: w.pos.id(),
                    request: req.hash(),
                    time: now - 20,
                },
            );
            let pay = Payment {
                certs: vec![w.fis[0].clone(), culprit.clone()],
                chains: vec![Chain {
                    issuance: iss.clone(),
                    spends: vec![spend.clone()],
                }],
            };
            let known = w.pos_known();
            let v = Verifier {
                root: &w.root,
                known_certs: &known,
                crls: &crls,
                policy: &w.policy,
                provider: &P256Provider,
            };
            let mut till = Till::new();
            till.open(req);
            let ok = till.accept(&v, &pay, now).is_ok();
            if accepts_after_revocation(&w.policy, value, *crl_time, revoked_at, now) {
                predicted += 1;
            }
            if ok {
                accepted_spends.push(spend);
            }
        }
        assert_eq!(
            accepted_spends.len(),
            predicted,
            "simulation disagrees with the formula"
        );
        assert_eq!(
            predicted, 3,
            "fresh-enough pre-revocation CRLs: 1 day, 3 days, 12 hours"
        );
        let loss = value * (accepted_spends.len() as u64 - 1);
        let max_out = culprit.body.limits.max_outstanding.unwrap();
        assert!(loss <= device_exposure(max_out, held.len() as u64));
        assert!(loss <= device_exposure(value, accepted_spends.len() as u64));
        assert_eq!(
            acceptance_window_end(&w.policy, value, revoked_at),
            Some(revoked_at + 7 * DAY)
        );
        // Settlement: the FI records every deposited spend; each extra copy is attributed.
        let mut fi_ledger: RangeLedger<crate::Spend> = RangeLedger::new();
        let mut proofs = 0;
        for s in &accepted_spends {
            let b = &s.body;
            if let Insert::Conflict(r) = fi_ledger.insert(b.input, b.from, b.to, s.id(), s.clone())
            {
                let p = crate::FraudProof::new(
                    r.value.clone(),
                    s.clone(),
                    culprit.clone(),
                    w.fis[0].clone(),
                );
                assert_eq!(
                    p.verify(&w.root, &P256Provider).unwrap().culprit,
                    culprit.id()
                );
                proofs += 1;
            }
        }
        assert_eq!(proofs, accepted_spends.len() - 1);
    }

    #[test]
    fn small_amounts_ignore_crl_age_and_large_ones_never_go_offline() {
        let w = World::new(0);
        assert!(accepts_after_revocation(
            &w.policy,
            1_000,
            None,
            T0,
            T0 + 30 * DAY
        ));
        assert!(!accepts_after_revocation(
            &w.policy,
            1_000,
            Some(T0),
            T0,
            T0 + 1
        ));
        assert!(!accepts_after_revocation(
            &w.policy,
            600_000,
            Some(T0 - 1),
            T0,
            T0
        ));
        assert_eq!(acceptance_window_end(&w.policy, 1_000, T0), None);
        assert_eq!(device_exposure(100, 1), 0);
        assert_eq!(device_exposure(100, 4), 300);
    }
}
