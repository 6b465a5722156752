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

/// Upper bound on what the FI loses to one culprit device when payers and payees collude
/// (`docs/PROTOCOL.md` §8): the payer copies its ranges to payees acting with it, who
/// forge or backdate times so that the CRL floor windows
/// ([`crate::settlement::check_revocations`]) never refuse a copy. Without a further rule
/// every copy is credited and the loss grows with the number of copies until the notes
/// expire (`device_exposure(value, copies)`, with no bound on `copies`).
///
/// The FI's settlement rule for double-spent value (the issuer service's hold policy):
///
/// * (a) guaranteed settlement: a deposit is credited in full even when its range was
///   already claimed; the excess (value credited a second time) becomes a fraud case
///   against the culprit, who is revoked and debited what its account holds;
/// * (b) once the culprit is revoked (before the deposit, for any reason) or has an
///   earlier case with excess, a deposit that would credit more of its double-spent value
///   is **held** for an operator instead of credited;
/// * (c) a deposit is also held if the culprit's total excess would exceed
///   `max_excess_per_culprit` (the service's default is 50 000 minor units).
///
/// So at most one deposit ever credits a culprit's excess — the one that revealed it, and
/// only when its excess `revealing_excess ≤ max_excess_per_culprit` — and the FI recovers
/// up to `culprit_balance` from the culprit's account. The loss is at most
/// `min(max_excess_per_culprit, revealing_excess) − culprit_balance` (0 when the account
/// covers it), whatever the number of colluding payees. `revealing_excess` is itself at
/// most the value of that one deposit.
pub fn colluding_exposure(
    max_excess_per_culprit: u64,
    revealing_excess: u64,
    culprit_balance: u64,
) -> u64 {
    max_excess_per_culprit
        .min(revealing_excess)
        .saturating_sub(culprit_balance)
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
                crls: Vec::new(),
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

    /// The FI's settlement of deposits, modelled without storage: which deposits it
    /// credits, which it holds, what excess it credits and what it recovers.
    mod colluding {
        use std::collections::{BTreeMap, BTreeSet};

        use super::super::colluding_exposure;
        use crate::ids::{CertId, NoteId};
        use crate::msg::payment::Payment;
        use crate::settlement::check_revocations;
        use crate::verify::Policy;

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Outcome {
            /// Credited in full; `excess` of it was value credited before.
            Credited { excess: u64 },
            /// Waits for an operator (hold rule).
            Held,
            /// Refused by the revocation window (`settlement::check_revocations`).
            Refused,
        }

        pub struct Fi<'a> {
            pub policy: &'a Policy,
            /// `Some(cap)`: the hold rule (b)+(c); `None`: the naive rule (credit every
            /// deposit the floor windows allow).
            pub cap: Option<u64>,
            pub revoked: BTreeMap<CertId, u64>,
            /// Recorded ranges per note (every deposited spend, conflicting ones too).
            pub recorded: BTreeMap<NoteId, Vec<(u64, u64)>>,
            /// Excess of the fraud cases opened, per culprit.
            pub cases: BTreeMap<CertId, u64>,
            /// The first excess seen per culprit (the revealing deposit's).
            pub revealing: BTreeMap<CertId, u64>,
            pub balances: BTreeMap<CertId, u64>,
            pub recovered: BTreeMap<CertId, u64>,
            pub credited_excess: BTreeMap<CertId, u64>,
            pub held: usize,
        }

        /// Length of `[from, to)` covered by `ranges`.
        fn overlap(ranges: &[(u64, u64)], from: u64, to: u64) -> u64 {
            let mut cut: Vec<(u64, u64)> = ranges
                .iter()
                .map(|&(a, b)| (a.max(from), b.min(to)))
                .filter(|(a, b)| a < b)
                .collect();
            cut.sort_unstable();
            let (mut total, mut end) = (0, from);
            for (a, b) in cut {
                let a = a.max(end);
                if b > a {
                    total += b - a;
                    end = b;
                }
            }
            total
        }

        impl<'a> Fi<'a> {
            pub fn new(policy: &'a Policy, cap: Option<u64>) -> Self {
                Self {
                    policy,
                    cap,
                    revoked: BTreeMap::new(),
                    recorded: BTreeMap::new(),
                    cases: BTreeMap::new(),
                    revealing: BTreeMap::new(),
                    balances: BTreeMap::new(),
                    recovered: BTreeMap::new(),
                    credited_excess: BTreeMap::new(),
                    held: 0,
                }
            }

            pub fn deposit(&mut self, p: &Payment, now: u64) -> Outcome {
                let revoked = &self.revoked;
                if check_revocations(self.policy, p, &|c| revoked.get(c).copied()).is_err() {
                    return Outcome::Refused;
                }
                // Excess per culprit: the final spends' value already recorded, charged
                // to the signer of the spend (the owner of its input note).
                let mut excess: BTreeMap<CertId, u64> = BTreeMap::new();
                for chain in &p.chains {
                    let Some((last, signer)) = chain.spends_with_signers().last() else {
                        continue;
                    };
                    let b = &last.body;
                    let seen = self
                        .recorded
                        .get(&b.input)
                        .map_or(0, |r| overlap(r, b.from, b.to));
                    if seen > 0 {
                        *excess.entry(signer).or_default() += seen;
                    }
                }
                if let Some(cap) = self.cap {
                    for (culprit, e) in &excess {
                        let earlier = self.cases.get(culprit).copied().unwrap_or(0);
                        if self.revoked.contains_key(culprit) || earlier > 0 || earlier + e > cap {
                            self.revealing.entry(*culprit).or_insert(*e);
                            self.held += 1;
                            return Outcome::Held;
                        }
                    }
                }
                for chain in &p.chains {
                    if let Some(last) = chain.last() {
                        let b = &last.body;
                        self.recorded
                            .entry(b.input)
                            .or_default()
                            .push((b.from, b.to));
                    }
                }
                let mut total = 0;
                let culprits: BTreeSet<CertId> = excess.keys().copied().collect();
                for c in culprits {
                    let e = excess[&c];
                    total += e;
                    self.revealing.entry(c).or_insert(e);
                    *self.cases.entry(c).or_default() += e;
                    *self.credited_excess.entry(c).or_default() += e;
                    self.revoked.entry(c).or_insert(now);
                    // Debit what the culprit's account holds, up to what is still owed.
                    let owed = self.cases[&c] - self.recovered.get(&c).copied().unwrap_or(0);
                    let bal = self.balances.entry(c).or_default();
                    let take = owed.min(*bal);
                    *bal -= take;
                    *self.recovered.entry(c).or_default() += take;
                }
                Outcome::Credited { excess: total }
            }

            /// Net loss to `c`: excess credited minus what was recovered.
            pub fn loss(&self, c: &CertId) -> u64 {
                self.credited_excess.get(c).copied().unwrap_or(0)
                    - self.recovered.get(c).copied().unwrap_or(0)
            }

            pub fn bound(&self, c: &CertId, cap: u64, balance: u64) -> u64 {
                colluding_exposure(cap, self.revealing.get(c).copied().unwrap_or(0), balance)
            }
        }
    }

    /// Issue 10 item 3: a payer and `k` payees acting together. The payer (wallet 0, with
    /// `balance` in its FI account) holds a 100 000 note and copies one range of `x` to `k`
    /// colluding payees, every copy backdated to an hour before the revocation so that no
    /// floor window refuses it. Case "revealed": nobody has revoked the payer before the
    /// copies are deposited (the FI learns of it from the second copy). Case "revoked
    /// first": the payer was revoked (reported stolen) before the deposits. A second run
    /// copies two ranges, interleaved. Under the hold rule the credited excess never
    /// exceeds `min(cap, revealing excess)` and the loss never exceeds
    /// `colluding_exposure`, whatever `k`; under the naive rule both grow as `(k − 1) · x`.
    #[test]
    fn colluding_payees_are_bounded_by_the_hold_rule() {
        use colluding::{Fi, Outcome};

        const CAP: u64 = 50_000;
        let mut w = World::new(1);
        let culprit = w.wallets[0].cert.clone();
        let c = culprit.id();
        let iss = w.issue(0, c, 100_000, 9);
        let revoked_at = T0 + 20 * DAY;
        let backdated = revoked_at - 3600;
        let deposit_time = revoked_at + 30 * DAY;
        let balance = 2_000;
        // k copies of each range in `ranges` to k different payees: one payment per range
        // (interleaved), or one payment with a chain per range (`together`).
        let mut copies = |ranges: &[(u64, u64)], together: bool, k: usize| -> Vec<Payment> {
            let mut out: Vec<Payment> = Vec::new();
            for i in 0..k {
                for (j, &(from, to)) in ranges.iter().enumerate() {
                    let mut payee = [0u8; 16];
                    payee[0] = 0xc0;
                    payee[1] = i as u8;
                    payee[2] = j as u8;
                    let spend = World::spend_by(
                        &mut w.wallets[0],
                        SpendBody {
                            input: iss.note_id(),
                            from,
                            to,
                            payee: crate::CertId(payee),
                            request: crate::Digest32([i as u8; 32]),
                            time: backdated,
                        },
                    );
                    let chain = Chain {
                        issuance: iss.clone(),
                        spends: vec![spend],
                    };
                    match out.last_mut() {
                        Some(p) if together && j > 0 => p.chains.push(chain),
                        _ => out.push(Payment {
                            certs: vec![],
                            chains: vec![chain],
                            crls: Vec::new(),
                        }),
                    }
                }
            }
            out
        };
        println!(
            "colluding payer + k payees: x copied k times, backdated (2×1: two ranges, one payment each; \
             1×2: one payment of two chains); cap {CAP}, culprit balance {balance}; e1 = revealing excess"
        );
        println!(
            "{:<12} {:>7} {:>4} | {:>14} {:>10} | {:>9} {:>6} {:>16} {:>8} {:>8}",
            "case",
            "x",
            "k",
            "naive excess",
            "naive loss",
            "excess",
            "held",
            "min(cap,e1)",
            "loss",
            "bound"
        );
        let mut naive_by_k: Vec<u64> = Vec::new();
        for revoked_first in [false, true] {
            for (ranges, together) in [
                (vec![(0, 1_500)], false),
                (vec![(0, 10_000)], false),
                (vec![(0, 60_000)], false),
                (vec![(0, 10_000), (20_000, 45_000)], false),
                (vec![(0, 10_000), (20_000, 45_000)], true),
            ] {
                let x: u64 = ranges.iter().map(|(a, b)| b - a).sum();
                for k in [1usize, 2, 3, 5, 10, 50] {
                    let payments = copies(&ranges, together, k);
                    let mut naive = Fi::new(&w.policy, None);
                    let mut held = Fi::new(&w.policy, Some(CAP));
                    for fi in [&mut naive, &mut held] {
                        fi.balances.insert(c, balance);
                        if revoked_first {
                            fi.revoked.insert(c, revoked_at);
                        }
                    }
                    let mut credited_with_excess = 0;
                    for (n, p) in payments.iter().enumerate() {
                        let t = deposit_time + n as u64;
                        assert!(matches!(naive.deposit(p, t), Outcome::Credited { .. }));
                        if let Outcome::Credited { excess } = held.deposit(p, t)
                            && excess > 0
                        {
                            credited_with_excess += 1;
                        }
                    }
                    let naive_excess = naive.credited_excess.get(&c).copied().unwrap_or(0);
                    let excess = held.credited_excess.get(&c).copied().unwrap_or(0);
                    // Naive: every copy after the first is credited again.
                    assert_eq!(naive_excess, device_exposure(x, k as u64));
                    // Hold rule: at most one deposit credits excess, within the cap and the
                    // revealing deposit's excess; the loss within colluding_exposure.
                    assert!(credited_with_excess <= 1);
                    let revealing = held.revealing.get(&c).copied().unwrap_or(0);
                    assert!(
                        excess <= CAP.min(revealing),
                        "{excess} > min({CAP}, {revealing})"
                    );
                    let bound = held.bound(&c, CAP, balance);
                    assert!(held.loss(&c) <= bound);
                    if revoked_first {
                        assert_eq!(excess, 0, "a culprit revoked before: every copy waits");
                    }
                    if k >= 3 {
                        assert!(held.held >= 1);
                    }
                    if !revoked_first && ranges.len() == 1 && x == 10_000 {
                        naive_by_k.push(naive.loss(&c));
                    }
                    println!(
                        "{:<12} {:>7} {:>4} | {:>14} {:>10} | {:>9} {:>6} {:>16} {:>8} {:>8}",
                        if revoked_first {
                            "revoked 1st"
                        } else {
                            "revealed"
                        },
                        match (ranges.len(), together) {
                            (1, _) => format!("{x}"),
                            (_, false) => format!("2×1:{x}"),
                            (_, true) => format!("1×2:{x}"),
                        },
                        k,
                        naive_excess,
                        naive.loss(&c),
                        excess,
                        held.held,
                        format!("min({CAP},{revealing})"),
                        held.loss(&c),
                        bound
                    );
                }
            }
        }
        // The naive loss grows with k; the bounded one does not.
        assert!(naive_by_k.windows(2).all(|p| p[0] <= p[1]));
        assert_eq!(naive_by_k.last(), Some(&(49 * 10_000 - balance)));
        assert_eq!(colluding_exposure(CAP, 10_000, balance), 8_000);
        assert_eq!(colluding_exposure(CAP, 80_000, balance), 48_000);
        assert_eq!(colluding_exposure(CAP, 1_000, balance), 0);
    }
}
