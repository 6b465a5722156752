//! The offline risk model at scale, natively (issue 13): N wallets, M terminals and the FI
//! over simulated days, on the real protocol core (`ops_core::verify`, fraud proofs, CRLs)
//! and the real till engine (one `TillEngine` over a memory store per terminal: its range
//! ledger, its decline reasons, its receipts). A fraction of wallets cheat:
//!
//! - **rollback / cloned storage**: they pay a range they already paid, at another terminal
//!   (the same terminal declines it: its ledger holds the first spend);
//! - **collusion**: they hand a copy of a spent range to a colluding wallet, which pays a
//!   terminal with it (a 2-hop chain: the copy travels through an accomplice);
//! - **replays**: they show an old approved payment to another sale (declined: it answers
//!   another request);
//! - **tampering**: they change a byte of a payment (declined).
//!
//! Every evening each terminal is online: it takes the day's CRLs and deposits its day's
//! approvals at the FI, which verifies each deposit against its own range ledger of every
//! spend it has seen, credits the terminal (guaranteed settlement), and for an overlap
//! opens a case from the fraud proof, revokes the culprit (the CRL reaches the terminals
//! the next evening) and recovers the duplicated value from the culprit's account.
//!
//! The ground truth is kept beside: every copy a cheater made, whom it paid, when. The
//! outcome compares it with what the tills and the FI found.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures_executor::block_on;
use ops_core::crl_store::CrlStore;
use ops_core::ids::{CertId, Digest32, NoteId};
use ops_core::ledger::RangeLedger;
use ops_core::sig::SoftwareKey;
use ops_core::testing::{Device, T0, World, secret_from_seed};
use ops_core::verify::{Policy, Verifier, VerifyError};
use ops_core::{
    Certificate, Chain, Issuance, P256Provider, Payment, PaymentRequest, Signature, Spend,
    SpendBody,
};
use ops_wallet_engine::till::{
    Decision, ReceiptSigner, TerminalSignature, TillCommand, TillConfig, TillEngine, TillEvent,
    TillIdentity, TillMemoryStore,
};
use ops_wallet_engine::types::TrustBundle;

/// Why a run stopped: a step the honest protocol must allow failed (a bug to report).
#[derive(Debug, thiserror::Error)]
#[error("the simulation failed to {what}: {detail}")]
pub struct SimError {
    what: &'static str,
    detail: String,
}

fn fail<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> SimError {
    move |e| SimError {
        what,
        detail: e.to_string(),
    }
}

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Wallets (each funded with five notes of 200.00).
    pub wallets: usize,
    /// Terminals.
    pub terminals: usize,
    /// Payment attempts in all.
    pub payments: usize,
    /// Simulated days (deposits and CRLs every evening).
    pub days: u64,
    /// Share of wallets that cheat (`0.0..=1.0`).
    pub cheaters: f64,
    /// Share of wallets that collude with a cheater (receive its copies, pay with them).
    pub colluders: f64,
    /// Seed of the run (the same seed gives the same run).
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            wallets: 40,
            terminals: 8,
            payments: 1_000,
            days: 5,
            cheaters: 0.1,
            colluders: 0.05,
            seed: 1,
        }
    }
}

/// What a run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Payment attempts presented to terminals.
    pub attempts: u64,
    /// Approved by a terminal.
    pub approved: u64,
    /// Declined, by reason code.
    pub declined: BTreeMap<&'static str, u64>,
    /// Copies of spent ranges the cheaters presented (directly or through a colluder).
    pub copies: u64,
    /// Of those, declined at the terminal (its ledger held the first spend).
    pub copies_declined: u64,
    /// Declined because the cheater was already revoked when it reached the terminal.
    pub copies_revoked: u64,
    /// Approved offline (the terminal could not know): the FI must find them.
    pub copies_approved: u64,
    /// Approved copies for which the FI opened a case.
    pub copies_detected: u64,
    /// Cases naming the cheater who made the copy.
    pub copies_attributed: u64,
    /// Hours from the copy's spend to the deposit that exposed it: mean and worst.
    pub detection_hours: (f64, f64),
    /// Value the FI credited twice (honest payees paid in full), per cheater: worst.
    pub worst_excess: u64,
    /// Of it, what the FI could not recover from the culprit's account: worst.
    pub worst_unrecovered: u64,
    /// The bound of docs/PROTOCOL.md §8 for the worst cheater: min(V_dev, Σ notes) × (P − 1).
    pub worst_bound: u64,
    /// Replays and tampered payments presented (all must be declined).
    pub replays_and_tampering: u64,
    /// Of those, approved (must be 0).
    pub replays_and_tampering_approved: u64,
    /// Total value credited to terminals by the FI.
    pub credited: u64,
    /// Value the FI recovered from culprits.
    pub recovered: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl Outcome {
    /// Payment attempts per wall-clock second (terminal verification, storage, receipts,
    /// and the FI's settlement of each).
    pub fn payments_per_second(&self) -> f64 {
        self.attempts as f64 / self.seconds.max(1e-9)
    }

    /// Share of approved copies the FI detected, in percent (100 when none got through).
    pub fn detected_percent(&self) -> f64 {
        percent(self.copies_detected, self.copies_approved)
    }

    /// Share of detected copies attributed to their cheater, in percent.
    pub fn attributed_percent(&self) -> f64 {
        percent(self.copies_attributed, self.copies_detected)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// A small deterministic generator (xorshift64*): no dependency, the same run per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// What a wallet holds: its notes and the ranges it has paid.
struct Purse {
    notes: Vec<(Issuance, u64)>,
    spent: Vec<(usize, u64, u64)>,
}

/// A copy a cheater made and a terminal approved: the copy's spend, and when.
struct Copy {
    cheater: usize,
    spend_time: u64,
    copy_spend: NoteId,
}

struct Terminal {
    key: SoftwareKey,
    cert: Certificate,
    store: TillMemoryStore,
    /// Payments approved and not yet deposited.
    undeposited: Vec<Vec<u8>>,
}

const NOTE: u64 = 20_000;
const NOTES: usize = 5;
/// Each wallet's account balance at the FI beyond its notes (what a culprit can be debited).
const ACCOUNT: u64 = 10_000;

fn engine(store: &TillMemoryStore) -> TillEngine<'_, TillMemoryStore> {
    TillEngine::new(store, TillConfig::default())
}

fn sign_receipt(key: &SoftwareKey, body: &[u8]) -> TillEvent {
    match key.sign(body) {
        Signature::Es256(raw) => TillEvent::ReceiptSigned(TerminalSignature::Es256(raw.to_vec())),
        _ => TillEvent::NoReceipt,
    }
}

/// The simulation's state.
struct Sim {
    w: World,
    rng: Rng,
    terminals: Vec<Terminal>,
    purses: Vec<Purse>,
    cheaters: BTreeSet<usize>,
    colluder_of: BTreeMap<usize, usize>,
    fi_ledger: RangeLedger<Spend>,
    revoked: BTreeSet<u64>,
    balances: BTreeMap<CertId, u64>,
    cases: BTreeMap<(NoteId, NoteId), (CertId, u64)>,
    excess: BTreeMap<CertId, u64>,
    unrecovered: BTreeMap<CertId, u64>,
    copies: Vec<Copy>,
    payees_per_range: BTreeMap<(NoteId, u64, u64), BTreeSet<usize>>,
    out: Outcome,
    sale_nonce: u64,
}

/// Runs the simulation.
pub fn run(p: &Params) -> Result<Outcome, SimError> {
    let started = Instant::now();
    let mut sim = Sim::new(p)?;
    let day = 86_400;
    let per_day = (p.payments as u64).div_ceil(p.days.max(1));
    let mut done = 0u64;
    for d in 0..p.days.max(1) {
        let morning = T0 + d * day + 8 * 3_600;
        for i in 0..per_day {
            if done >= p.payments as u64 {
                break;
            }
            // Spread over twelve hours.
            let now = morning + i * 12 * 3_600 / per_day.max(1);
            sim.one_payment(now)?;
            done += 1;
        }
        sim.evening(T0 + d * day + 21 * 3_600);
    }
    Ok(sim.finish(started.elapsed().as_secs_f64()))
}

impl Sim {
    fn new(p: &Params) -> Result<Self, SimError> {
        let mut w = World::new(p.wallets.max(2));
        w.publish_crls(T0, &[], &P256Provider);
        let mut rng = Rng(p.seed.max(1) ^ 0x9E37_79B9_7F4A_7C15);
        let bundle = TrustBundle {
            root: w.root.to_bytes(),
            fis: w.fis.iter().map(Certificate::to_bytes).collect(),
            blocklist: None,
        };
        let terminals = (0..p.terminals.max(1))
            .map(|i| {
                let key = SoftwareKey::from_secret(&secret_from_seed("sim terminal", i as u64))
                    .map_err(fail("a terminal key"))?;
                let cert = w.certify_device(0, key.public_key(), None, Some(format!("Shop {i}")));
                let store = TillMemoryStore::new();
                let e = engine(&store);
                block_on(e.onboard(
                    TillIdentity {
                        terminal_cert: cert.to_bytes(),
                        fi_cert: w.fis[0].to_bytes(),
                        credential_id: None,
                        account_id: 1_000 + i as u64,
                    },
                    bundle.clone(),
                ))
                .map_err(fail("onboard a terminal"))?;
                for crl in w.crls.iter() {
                    block_on(e.store_crl(&crl.to_bytes(), T0)).map_err(fail("a CRL"))?;
                }
                Ok(Terminal {
                    key,
                    cert,
                    store,
                    undeposited: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, SimError>>()?;
        let n = w.wallets.len();
        let purses = (0..n)
            .map(|i| Purse {
                notes: (0..NOTES)
                    .map(|k| (w.issue(i % 2, w.wallets[i].id(), NOTE, k as u8 + 1), 0))
                    .collect(),
                spent: Vec::new(),
            })
            .collect();
        let cheaters: BTreeSet<usize> = (0..n).filter(|_| rng.chance(p.cheaters)).collect();
        let mut colluder_of = BTreeMap::new();
        for i in 0..n {
            if !cheaters.contains(&i) && !cheaters.is_empty() && rng.chance(p.colluders) {
                let c: Vec<_> = cheaters.iter().copied().collect();
                colluder_of.insert(c[rng.below(c.len())], i);
            }
        }
        let balances = w.wallets.iter().map(|d| (d.id(), ACCOUNT)).collect();
        Ok(Self {
            w,
            rng,
            terminals,
            purses,
            cheaters,
            colluder_of,
            fi_ledger: RangeLedger::new(),
            revoked: BTreeSet::new(),
            balances,
            cases: BTreeMap::new(),
            excess: BTreeMap::new(),
            unrecovered: BTreeMap::new(),
            copies: Vec::new(),
            payees_per_range: BTreeMap::new(),
            out: Outcome::default(),
            sale_nonce: 0,
        })
    }

    /// A new sale at terminal `t` for `amount`: its id and request.
    fn sale(
        &mut self,
        t: usize,
        amount: u64,
        now: u64,
    ) -> Result<(ops_wallet_engine::SagaId, PaymentRequest), SimError> {
        self.sale_nonce += 1;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&self.sale_nonce.to_be_bytes());
        let e = engine(&self.terminals[t].store);
        let out = block_on(e.new_sale(&e.ask(nonce, amount, "EUR", None), now))
            .map_err(fail("a sale"))?;
        let request = out
            .commands
            .iter()
            .find_map(|c| match c {
                TillCommand::ShowRequest { bytes, .. } => PaymentRequest::from_bytes(bytes).ok(),
                _ => None,
            })
            .ok_or_else(|| SimError {
                what: "start a sale",
                detail: "the till showed no request".into(),
            })?;
        Ok((out.record.id, request))
    }

    /// Presents `bytes`; on approval signs the receipt and keeps the payment to deposit.
    fn present(
        &mut self,
        t: usize,
        sale: &ops_wallet_engine::SagaId,
        bytes: &[u8],
        now: u64,
    ) -> Result<Option<&'static str>, SimError> {
        self.out.attempts += 1;
        let term = &self.terminals[t];
        let e = engine(&term.store);
        let presented = block_on(e.present(sale, bytes, now)).map_err(fail("the till decides"))?;
        match presented.decision {
            Decision::Approved(_) => {
                for c in presented.commands {
                    if let TillCommand::SignReceipt {
                        sale,
                        body,
                        signer: ReceiptSigner::Software,
                    } = c
                    {
                        let _ = block_on(e.handle(&sale, sign_receipt(&term.key, &body), now));
                    }
                }
                self.terminals[t].undeposited.push(bytes.to_vec());
                self.out.approved += 1;
                Ok(None)
            }
            Decision::Declined(d) => {
                let _ = block_on(e.cancel(sale, now));
                *self.out.declined.entry(d.reason.code()).or_default() += 1;
                Ok(Some(d.reason.code()))
            }
        }
    }

    fn certs_for(&self, wallets: &[usize]) -> Vec<Certificate> {
        let mut v: Vec<Certificate> = wallets
            .iter()
            .map(|i| self.w.wallets[*i].cert.clone())
            .collect();
        v.extend(self.w.fis.iter().cloned());
        v
    }

    fn spend(
        device: &mut Device,
        input: NoteId,
        from: u64,
        to: u64,
        payee: CertId,
        request: Digest32,
        time: u64,
    ) -> Spend {
        World::spend_by(
            device,
            SpendBody {
                input,
                from,
                to,
                payee,
                request,
                time,
            },
        )
    }

    fn one_payment(&mut self, now: u64) -> Result<(), SimError> {
        let n = self.purses.len();
        let payer = self.rng.below(n);
        let t = self.rng.below(self.terminals.len());
        let cheating = self.cheaters.contains(&payer);
        if cheating && !self.purses[payer].spent.is_empty() && self.rng.chance(0.4) {
            return self.copy(payer, t, now);
        }
        if cheating && self.rng.chance(0.1) {
            return self.replay_or_tamper(payer, t, now);
        }
        let amount = 100 + self.rng.below(1_900) as u64;
        let Some(k) = self.purses[payer]
            .notes
            .iter()
            .position(|(_, used)| used + amount <= NOTE)
        else {
            return Ok(());
        };
        let (sale, request) = self.sale(t, amount, now)?;
        let (issuance, used) = self.purses[payer].notes[k].clone();
        let (from, to) = (used, used + amount);
        let s = Self::spend(
            &mut self.w.wallets[payer],
            issuance.note_id(),
            from,
            to,
            request.payee,
            request.hash(),
            now,
        );
        let payment = Payment {
            certs: self.certs_for(&[payer]),
            chains: vec![Chain {
                issuance: issuance.clone(),
                spends: vec![s],
            }],
            crls: Vec::new(),
        }
        .canonical();
        if self.present(t, &sale, &payment.to_bytes(), now)?.is_none() {
            self.purses[payer].notes[k].1 = to;
            self.purses[payer].spent.push((k, from, to));
            self.payees_per_range
                .entry((issuance.note_id(), from, to))
                .or_default()
                .insert(t);
        }
        Ok(())
    }

    /// A cheater pays a range it already paid (rollback or a cloned wallet), itself or
    /// through its colluder.
    fn copy(&mut self, cheater: usize, t: usize, now: u64) -> Result<(), SimError> {
        let spent = &self.purses[cheater].spent;
        let (k, from, to) = spent[self.rng.below(spent.len())];
        let issuance = self.purses[cheater].notes[k].0.clone();
        let amount = to - from;
        let (sale, request) = self.sale(t, amount, now)?;
        let (payment, copy_spend) = match self.colluder_of.get(&cheater).copied() {
            Some(y) => {
                let to_y = self.w.wallets[y].id();
                let x = Self::spend(
                    &mut self.w.wallets[cheater],
                    issuance.note_id(),
                    from,
                    to,
                    to_y,
                    Digest32([7; 32]),
                    now - 60,
                );
                let s = Self::spend(
                    &mut self.w.wallets[y],
                    x.id(),
                    0,
                    amount,
                    request.payee,
                    request.hash(),
                    now,
                );
                let id = x.id();
                (
                    Payment {
                        certs: self.certs_for(&[cheater, y]),
                        chains: vec![Chain {
                            issuance: issuance.clone(),
                            spends: vec![x, s],
                        }],
                        crls: Vec::new(),
                    },
                    id,
                )
            }
            None => {
                let s = Self::spend(
                    &mut self.w.wallets[cheater],
                    issuance.note_id(),
                    from,
                    to,
                    request.payee,
                    request.hash(),
                    now,
                );
                let id = s.id();
                (
                    Payment {
                        certs: self.certs_for(&[cheater]),
                        chains: vec![Chain {
                            issuance: issuance.clone(),
                            spends: vec![s],
                        }],
                        crls: Vec::new(),
                    },
                    id,
                )
            }
        };
        self.out.copies += 1;
        match self.present(t, &sale, &payment.canonical().to_bytes(), now)? {
            None => {
                self.out.copies_approved += 1;
                self.payees_per_range
                    .entry((issuance.note_id(), from, to))
                    .or_default()
                    .insert(t);
                self.copies.push(Copy {
                    cheater,
                    spend_time: now,
                    copy_spend,
                });
            }
            Some("certificate_revoked") => self.out.copies_revoked += 1,
            Some(_) => self.out.copies_declined += 1,
        }
        Ok(())
    }

    /// A replayed payment (answers another request) or a tampered one: never approved.
    fn replay_or_tamper(&mut self, payer: usize, t: usize, now: u64) -> Result<(), SimError> {
        let Some(&(k, from, to)) = self.purses[payer].spent.first() else {
            return Ok(());
        };
        let issuance = self.purses[payer].notes[k].0.clone();
        let (old_sale, old_request) = self.sale((t + 1) % self.terminals.len(), to - from, now)?;
        let _ = old_sale;
        let s = Self::spend(
            &mut self.w.wallets[payer],
            issuance.note_id(),
            from,
            to,
            old_request.payee,
            old_request.hash(),
            now,
        );
        let mut bytes = Payment {
            certs: self.certs_for(&[payer]),
            chains: vec![Chain {
                issuance,
                spends: vec![s],
            }],
            crls: Vec::new(),
        }
        .canonical()
        .to_bytes();
        let (sale, _) = self.sale(t, to - from, now)?;
        if self.rng.chance(0.5) {
            let i = self.rng.below(bytes.len());
            bytes[i] ^= 0x10;
        }
        self.out.replays_and_tampering += 1;
        if self.present(t, &sale, &bytes, now)?.is_none() {
            self.out.replays_and_tampering_approved += 1;
        }
        Ok(())
    }

    /// The evening: every terminal deposits its day's approvals; cases revoke culprits;
    /// the new CRLs reach every terminal.
    fn evening(&mut self, now: u64) {
        let root = self.w.root.clone();
        let known = self.w.fis.clone();
        let crls = CrlStore::new();
        let policy = Policy::from_root(&root);
        let verifier = Verifier {
            root: &root,
            known_certs: &known,
            crls: &crls,
            policy: &policy,
            provider: &P256Provider,
        };
        for t in 0..self.terminals.len() {
            let depositor = self.terminals[t].cert.id();
            for bytes in std::mem::take(&mut self.terminals[t].undeposited) {
                let Ok(payment) = Payment::from_bytes(&bytes) else {
                    continue;
                };
                let amount: u64 = payment
                    .chains
                    .iter()
                    .filter_map(Chain::last)
                    .map(|s| s.body.value())
                    .sum();
                match verifier.verify_deposit(&depositor, &payment, &self.fi_ledger, now) {
                    Ok(_) => {
                        for c in &payment.chains {
                            for s in &c.spends {
                                let _ = self.fi_ledger.insert(
                                    s.body.input,
                                    s.body.from,
                                    s.body.to,
                                    s.id(),
                                    s.clone(),
                                );
                            }
                        }
                        self.out.credited += amount;
                    }
                    Err(VerifyError::DoubleSpend(proof)) => {
                        // Guaranteed settlement: the honest payee is paid; the culprit owes.
                        self.out.credited += amount;
                        let Ok(v) = proof.verify(&root, &P256Provider) else {
                            continue;
                        };
                        let pair = (proof.first.id(), proof.second.id());
                        if self.cases.contains_key(&pair) {
                            continue;
                        }
                        self.cases.insert(pair, (v.culprit, now));
                        self.revoked.insert(v.culprit_serial);
                        *self.excess.entry(v.culprit).or_default() += v.overlap;
                        let balance = self.balances.entry(v.culprit).or_default();
                        let debit = (*balance).min(v.overlap);
                        *balance -= debit;
                        self.out.recovered += debit;
                        *self.unrecovered.entry(v.culprit).or_default() += v.overlap - debit;
                    }
                    Err(_) => {}
                }
            }
        }
        // The revocations reach every terminal tonight (it is online).
        let revoked: Vec<u64> = self.revoked.iter().copied().collect();
        self.w.publish_crls(now, &revoked, &P256Provider);
        let crls: Vec<Vec<u8>> = self.w.crls.iter().map(|c| c.to_bytes()).collect();
        for term in &self.terminals {
            for c in &crls {
                let _ = block_on(engine(&term.store).store_crl(c, now));
            }
        }
    }

    fn finish(mut self, seconds: f64) -> Outcome {
        let mut hours = Vec::new();
        for c in &self.copies {
            // Every approved copy overlaps a spend of the same range the FI saw: the case
            // for that overlap names the copy's spend (as the newcomer, or as the spend
            // recorded first that a later deposit collided with).
            let case = self
                .cases
                .iter()
                .find(|((a, b), _)| *a == c.copy_spend || *b == c.copy_spend);
            if let Some((_, (culprit, at))) = case {
                self.out.copies_detected += 1;
                if *culprit == self.w.wallets[c.cheater].id() {
                    self.out.copies_attributed += 1;
                }
                hours.push(at.saturating_sub(c.spend_time) as f64 / 3_600.0);
            }
        }
        if !hours.is_empty() {
            let mean = hours.iter().sum::<f64>() / hours.len() as f64;
            let worst = hours.iter().copied().fold(0.0, f64::max);
            self.out.detection_hours = (mean, worst);
        }
        // Per cheater: what was credited twice, what stayed unrecovered, and the bound.
        let v_dev = NOTE * NOTES as u64;
        for (culprit, excess) in &self.excess {
            self.out.worst_excess = self.out.worst_excess.max(*excess);
            self.out.worst_unrecovered = self
                .out
                .worst_unrecovered
                .max(self.unrecovered.get(culprit).copied().unwrap_or(0));
        }
        for &cheater in &self.cheaters {
            // P: the most distinct payees that accepted one range of this cheater's notes.
            let notes: BTreeSet<NoteId> = self.purses[cheater]
                .notes
                .iter()
                .map(|(i, _)| i.note_id())
                .collect();
            let p = self
                .payees_per_range
                .iter()
                .filter(|((note, _, _), _)| notes.contains(note))
                .map(|(_, payees)| payees.len() as u64)
                .max()
                .unwrap_or(1);
            self.out.worst_bound = self.out.worst_bound.max(v_dev * p.saturating_sub(1));
        }
        self.out.seconds = seconds;
        self.out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn honest_wallets_are_all_approved_and_nothing_is_lost() {
        let out = run(&Params {
            wallets: 6,
            terminals: 3,
            payments: 60,
            days: 2,
            cheaters: 0.0,
            colluders: 0.0,
            seed: 3,
        })
        .unwrap();
        assert_eq!(out.copies, 0);
        assert_eq!(out.declined.values().sum::<u64>(), 0, "{:?}", out.declined);
        assert_eq!(out.approved, out.attempts);
        assert_eq!(out.worst_excess, 0);
    }

    #[test]
    fn every_copy_that_gets_through_is_detected_and_attributed() {
        let out = run(&Params {
            wallets: 8,
            terminals: 4,
            payments: 160,
            days: 3,
            cheaters: 0.5,
            colluders: 0.25,
            seed: 7,
        })
        .unwrap();
        assert!(out.copies > 0, "{out:?}");
        assert!(
            out.copies_approved > 0,
            "some copies get through offline: {out:?}"
        );
        assert_eq!(out.copies_detected, out.copies_approved, "{out:?}");
        assert_eq!(out.copies_attributed, out.copies_detected, "{out:?}");
        assert_eq!(out.replays_and_tampering_approved, 0, "{out:?}");
        assert!(out.worst_unrecovered <= out.worst_bound, "{out:?}");
    }
}
