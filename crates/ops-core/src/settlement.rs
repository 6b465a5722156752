//! FI-side settlement rule for revoked certificates (guaranteed settlement).
//!
//! A payee offline cannot know of a revocation its CRL predates, and the floor limits
//! (V17) bound how stale that CRL may be for the amount. So the FI credits a payment that
//! relies on a certificate it revoked at `R` only if the payee could have accepted it
//! honestly: the final spend's time `T` (which the payee pinned to its own request
//! window, V15) satisfies `T ≤ R + A(amount) + s`, where `A` is the amount's floor tier
//! CRL age and `s` the clock skew. An honest payee accepting at `t` held a CRL issued
//! before `R` and at most `A` old, so `t < R + A`, and `T ≤ t + s` (V15): it is never
//! refused. A payment accepted later (the payee had, or should have had, a CRL naming
//! the certificate) is refused. Amounts whose tier needs no CRL are bounded only by the
//! note's expiry; amounts above every tier (not acceptable offline, V18) get no window.

use crate::ids::CertId;
use crate::msg::payment::{Chain, Payment};
use crate::verify::Policy;

/// A chain relies on a certificate revoked before the payee could have accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "chain {chain} relies on certificate {cert}, revoked at {revoked_at}; its final spend is \
     dated {spend_time}, after {window_end}, the last time a payee with a CRL fresh enough \
     for this amount could have accepted it"
)]
pub struct AcceptedAfterRevocation {
    /// Index of the chain in the payment.
    pub chain: usize,
    /// The revoked certificate.
    pub cert: CertId,
    /// When the FI revoked it.
    pub revoked_at: u64,
    /// The final spend's time.
    pub spend_time: u64,
    /// `revoked_at + A(amount) + skew`.
    pub window_end: u64,
}

/// Every certificate a chain relies on: the issuing FI, the note's owner and each hop's
/// signer (the owner of its input), in chain order, without repeats.
pub fn relied_on(chain: &Chain) -> Vec<CertId> {
    let mut out = vec![chain.issuance.body.issuer];
    for (_, signer) in chain.spends_with_signers() {
        if !out.contains(&signer) {
            out.push(signer);
        }
    }
    out
}

/// The payment's value: the sum of its final spends.
pub fn payment_amount(payment: &Payment) -> u64 {
    payment
        .chains
        .iter()
        .filter_map(Chain::last)
        .map(|s| s.body.to.saturating_sub(s.body.from))
        .fold(0u64, u64::saturating_add)
}

/// Checks every chain of `payment` against the FI's revocations (`revoked_at(cert)` is
/// the time the FI revoked `cert`, if it did): see the module documentation.
pub fn check_revocations(
    policy: &Policy,
    payment: &Payment,
    revoked_at: &dyn Fn(&CertId) -> Option<u64>,
) -> Result<(), AcceptedAfterRevocation> {
    let window = match policy.max_crl_age(payment_amount(payment)) {
        Some(u64::MAX) => return Ok(()),
        Some(age) => age,
        None => 0,
    };
    for (i, chain) in payment.chains.iter().enumerate() {
        let Some(last) = chain.last() else { continue };
        for cert in relied_on(chain) {
            let Some(r) = revoked_at(&cert) else { continue };
            let window_end = r.saturating_add(window).saturating_add(policy.clock_skew);
            if last.body.time > window_end {
                return Err(AcceptedAfterRevocation {
                    chain: i,
                    cert,
                    revoked_at: r,
                    spend_time: last.body.time,
                    window_end,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::cert::FloorTier;
    use crate::testing::{T0, World};

    fn policy() -> Policy {
        Policy {
            clock_skew: 300,
            floor_limits: vec![
                FloorTier {
                    up_to: 100,
                    max_crl_age: 7 * 86_400,
                },
                FloorTier {
                    up_to: 10_000,
                    max_crl_age: 86_400,
                },
            ],
        }
    }

    /// A payment of `amount` over `hops` hops (wallet 0 → … → POS), its final spend
    /// dated `time`; returns it with the first payer's and the FI's certificate ids and
    /// the intermediate wallet's (for two hops).
    fn payment_hops(hops: usize, amount: u64, time: u64) -> (Payment, CertId, CertId, CertId) {
        let mut w = World::new(3);
        let now = time + 5 - (hops as u64 - 1);
        let (_, p) = w.payment(hops, 20_000, amount, now);
        assert_eq!(p.chains[0].last().unwrap().body.time, time);
        (p, w.wallets[0].id(), w.fis[0].id(), w.wallets[1].id())
    }

    fn payment(amount: u64, time: u64) -> (Payment, CertId, CertId) {
        let (p, payer, fi, _) = payment_hops(1, amount, time);
        (p, payer, fi)
    }

    #[test]
    fn honest_acceptance_inside_the_window_is_credited() {
        let revoked = T0 + 1_000;
        // 10 000 units: one-day tier. Dated exactly at the window's end (plus skew).
        let (p, payer, _) = payment(10_000, revoked + 86_400 + 300);
        assert_eq!(
            check_revocations(&policy(), &p, &|c| (*c == payer).then_some(revoked)),
            Ok(())
        );
    }

    #[test]
    fn acceptance_after_the_window_is_refused_naming_the_certificate() {
        let revoked = T0 + 1_000;
        let time = revoked + 86_400 + 301;
        let (p, payer, _) = payment(10_000, time);
        let e =
            check_revocations(&policy(), &p, &|c| (*c == payer).then_some(revoked)).unwrap_err();
        assert_eq!(e.cert, payer);
        assert_eq!(e.spend_time, time);
        assert_eq!(e.window_end, revoked + 86_400 + 300);
        // A small amount has the 7-day tier: the same date is still inside.
        let (small, payer, _) = payment(100, time);
        assert!(
            check_revocations(&policy(), &small, &|c| (*c == payer).then_some(revoked)).is_ok()
        );
    }

    #[test]
    fn an_intermediate_signer_counts_and_the_final_payee_does_not() {
        let revoked = T0;
        let (p, _, _, middle) = payment_hops(2, 100, T0 + 30 * 86_400);
        assert_eq!(relied_on(&p.chains[0]).len(), 3);
        let e =
            check_revocations(&policy(), &p, &|c| (*c == middle).then_some(revoked)).unwrap_err();
        assert_eq!(e.cert, middle);
        let payee = p.chains[0].last().unwrap().body.payee;
        assert!(check_revocations(&policy(), &p, &|c| (*c == payee).then_some(revoked)).is_ok());
    }

    #[test]
    fn each_spend_is_signed_by_the_owner_of_its_input() {
        let (p, first, _, middle) = payment_hops(2, 100, T0);
        let signers: Vec<CertId> = p.chains[0].spends_with_signers().map(|(_, c)| c).collect();
        assert_eq!(signers, [first, middle]);
    }

    #[test]
    fn a_revoked_fi_counts_and_unrevoked_certificates_do_not() {
        let revoked = T0;
        let (p, _, fi) = payment(50, T0 + 30 * 86_400);
        assert!(check_revocations(&policy(), &p, &|_| None).is_ok());
        let e = check_revocations(&policy(), &p, &|c| (*c == fi).then_some(revoked)).unwrap_err();
        assert_eq!(e.cert, fi);
    }

    #[test]
    fn above_every_tier_there_is_no_window_and_without_tiers_no_limit() {
        let revoked = T0;
        let (p, payer, _) = payment(20_000, revoked + 301);
        assert!(check_revocations(&policy(), &p, &|c| (*c == payer).then_some(revoked)).is_err());
        let (p, payer, _) = payment(20_000, revoked + 300);
        assert!(check_revocations(&policy(), &p, &|c| (*c == payer).then_some(revoked)).is_ok());
        let no_tiers = Policy {
            clock_skew: 300,
            floor_limits: vec![],
        };
        let (p, payer, _) = payment(20_000, revoked + 365 * 86_400);
        assert!(check_revocations(&no_tiers, &p, &|c| (*c == payer).then_some(revoked)).is_ok());
    }
}
