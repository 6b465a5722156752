//! Crash tests of the till. For every step of the sale and deposit sagas: run the flow up
//! to that step, drop the engine ("the tab died"; the store is the disk), recover from the
//! store alone, let a cooperative app finish what recovery asks, and check per sale and per
//! payment: approved once, stored once, queued once, ledger entries exactly the payment's
//! spends, the same request and receipt bytes after the reload, credited exactly once by
//! the FI. Every step is also run once with its commit failing (an aborted transaction):
//! nothing of it is written and the step can be taken again. Then random crash points from
//! a seeded generator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use futures_executor::block_on;
use ops_core::testing::World;
use ops_core::{Payment, PaymentRequest};

use super::error::TillError;
use super::saga::{Decision, SaleState, TillCommand, TillEvent};
use super::store::{DeclineStore, QueueStore, TillMemoryStore, TillStoreError};
use super::testkit::*;
use super::types::{DepositStatus, PaymentId};
use crate::testkit::NOW;
use crate::types::SagaId;

/// A terminal, its FI, and everything the app was shown.
struct Lab {
    w: World,
    store: TillMemoryStore,
    fi: FakeFi,
    now: u64,
    sales: Vec<(SagaId, PaymentRequest, Vec<u8>)>,
    pending: Vec<TillCommand>,
    requests: BTreeMap<SagaId, Vec<u8>>,
    receipts: BTreeMap<SagaId, Vec<u8>>,
}

impl Lab {
    fn new() -> Self {
        let w = world(2);
        let store = till(&w);
        Self {
            w,
            store,
            fi: FakeFi::default(),
            now: NOW,
            sales: Vec::new(),
            pending: Vec::new(),
            requests: BTreeMap::new(),
            receipts: BTreeMap::new(),
        }
    }

    fn tick(&mut self) -> u64 {
        self.now += 1;
        self.now
    }

    /// Remembers what the app shows; the same sale always shows the same bytes.
    fn keep(&mut self, commands: Vec<TillCommand>) {
        for c in &commands {
            match c {
                TillCommand::ShowRequest { sale, bytes } => {
                    if let Some(b) = self.requests.insert(sale.clone(), bytes.clone()) {
                        assert_eq!(&b, bytes, "a sale shows the same request after a reload");
                    }
                }
                TillCommand::ShowReceipt { sale, bytes } => {
                    if let Some(b) = self.receipts.insert(sale.clone(), bytes.clone()) {
                        assert_eq!(&b, bytes, "a receipt is shown again identically");
                    }
                }
                _ => {}
            }
        }
        self.pending = commands;
    }

    /// A new sale of `amount` with a fresh payment ready for it.
    fn start(&mut self, amount: u64) -> usize {
        let seed = self.sales.len() as u8 + 1;
        let now = self.tick();
        let e = engine(&self.store);
        let out = block_on(e.new_sale(&e.ask([seed; 16], amount, "EUR", None), now)).unwrap();
        let req = PaymentRequest::from_bytes(self.shown_request(&out.commands)).unwrap();
        let bytes = fresh_payment(&mut self.w, usize::from(seed % 2), seed, &req, now);
        self.sales.push((out.record.id.clone(), req, bytes));
        self.keep(out.commands);
        self.sales.len() - 1
    }

    fn shown_request<'c>(&self, commands: &'c [TillCommand]) -> &'c [u8] {
        commands
            .iter()
            .find_map(|c| match c {
                TillCommand::ShowRequest { bytes, .. } => Some(bytes.as_slice()),
                _ => None,
            })
            .unwrap()
    }

    /// Freezes sale `i`'s payment (one commit, not decided).
    fn freeze(&mut self, i: usize) -> Result<(), TillError> {
        let now = self.tick();
        let (id, _, bytes) = self.sales[i].clone();
        let out = block_on(engine(&self.store).step(&id, TillEvent::Presented(bytes), now))?;
        self.keep(out.commands);
        Ok(())
    }

    /// Decides sale `i`'s frozen payment.
    fn decide(&mut self, i: usize) -> Result<(), TillError> {
        let now = self.tick();
        let id = self.sales[i].0.clone();
        let p = block_on(engine(&self.store).decide(&id, now))?;
        self.keep(p.commands);
        Ok(())
    }

    /// The terminal's key signs the receipt the last step asked for.
    fn sign(&mut self) -> Result<(), TillError> {
        let now = self.tick();
        let Some(TillCommand::SignReceipt { sale, body, .. }) = self
            .pending
            .iter()
            .find(|c| matches!(c, TillCommand::SignReceipt { .. }))
            .cloned()
        else {
            panic!("nothing to sign: {:?}", self.pending)
        };
        let sig = sign_receipt(&self.w, &body);
        let out = block_on(engine(&self.store).handle(&sale, TillEvent::ReceiptSigned(sig), now))?;
        self.keep(out.commands);
        Ok(())
    }

    fn start_deposit(&mut self) -> Result<(), TillError> {
        let now = self.tick();
        let out = block_on(engine(&self.store).start_deposit(now))?.unwrap();
        self.keep(out.commands);
        Ok(())
    }

    /// The FI receives the pending post and settles it; its answer is kept back.
    fn deliver(&mut self) -> (SagaId, u16, String) {
        let Some(TillCommand::Post { saga, body, .. }) = self
            .pending
            .iter()
            .find(|c| matches!(c, TillCommand::Post { .. }))
            .cloned()
        else {
            panic!("nothing posted: {:?}", self.pending)
        };
        let (status, body) = self.fi.answer(self.w.pos.id(), &body);
        (saga, status, body)
    }

    fn store_answer(
        &mut self,
        (saga, status, body): (SagaId, u16, String),
    ) -> Result<(), TillError> {
        let now = self.tick();
        let out =
            block_on(engine(&self.store).handle(&saga, TillEvent::Http { status, body }, now))?;
        self.keep(out.commands);
        Ok(())
    }

    /// The tab dies: pending commands are lost; a new engine recovers from the store and
    /// a cooperative app runs what it asks.
    fn crash_and_recover(&mut self) {
        self.pending.clear();
        let now = self.tick();
        let report = block_on(engine(&self.store).recover(now)).unwrap();
        self.keep(report.commands());
        self.drain();
    }

    /// Runs pending commands like the app: receipts signed, posts answered by the FI.
    fn drain(&mut self) {
        let commands = std::mem::take(&mut self.pending);
        let now = self.tick();
        let shown = complete(&self.w, &self.store, &mut self.fi, commands, now);
        for (sale, bytes) in shown.requests {
            self.keep(vec![TillCommand::ShowRequest { sale, bytes }]);
        }
        for (sale, bytes) in shown.receipts {
            self.keep(vec![TillCommand::ShowReceipt { sale, bytes }]);
        }
        self.pending.clear();
    }

    /// The customer still shows the payment: the cashier presents it again to any open
    /// sale, and the app finishes what it asks.
    fn finish_sales(&mut self) {
        for (id, _, bytes) in self.sales.clone() {
            if matches!(sale_state(&self.store, &id), SaleState::Open { .. }) {
                let now = self.tick();
                let p = present(&self.store, &id, &bytes, now);
                assert!(
                    matches!(p.decision, Decision::Approved(_)),
                    "{:?}",
                    p.decision
                );
                self.keep(p.commands);
                self.drain();
            }
        }
    }

    /// Per sale and per payment: approved once, receipted, stored once, queued once.
    fn check_sales(&self) {
        let books = check(&self.store);
        let total: u64 = self.sales.iter().map(|(_, r, _)| r.amount).sum();
        assert_eq!(books.approved, total);
        assert_eq!(books.approved_count, self.sales.len());
        assert_eq!(books.declines, 0, "nothing was declined");
        for (id, req, bytes) in &self.sales {
            let SaleState::Completed {
                payment,
                receipt: Some(r),
                ..
            } = sale_state(&self.store, id)
            else {
                panic!("{id} completed with a receipt")
            };
            assert_eq!(payment, Payment::from_bytes(bytes).unwrap().hash());
            assert_eq!(
                self.receipts.get(id),
                Some(&r),
                "the receipt shown is the one stored"
            );
            assert_eq!(self.requests.get(id), Some(&req.to_bytes()));
        }
    }

    /// Per payment: credited exactly once at the FI and in the till.
    fn check_credited(&self) {
        let queue = block_on(self.store.queue()).unwrap();
        assert_eq!(queue.len(), self.sales.len());
        for (_, req, bytes) in &self.sales {
            let id: PaymentId = Payment::from_bytes(bytes).unwrap().hash();
            assert_eq!(
                self.fi.credited.get(&id),
                Some(&req.amount),
                "{id} credited once"
            );
            let e = queue.iter().find(|e| e.payment == id).unwrap();
            assert!(
                matches!(e.status, DepositStatus::Credited { .. }),
                "{:?}",
                e.status
            );
        }
        assert_eq!(
            self.fi.total(),
            self.sales.iter().map(|(_, r, _)| r.amount).sum::<u64>()
        );
    }
}

type Step = fn(&mut Lab) -> Result<(), TillError>;

/// The sale saga's steps.
const SALE: [Step; 4] = [
    |l| {
        l.start(300);
        Ok(())
    },
    |l| l.freeze(0),
    |l| l.decide(0),
    |l| l.sign(),
];

#[test]
fn a_crash_at_every_step_of_a_sale_approves_it_once() {
    for crash_after in 0..=SALE.len() {
        let mut lab = Lab::new();
        for step in &SALE[..crash_after] {
            step(&mut lab).unwrap();
        }
        lab.crash_and_recover();
        if crash_after == 0 {
            lab.start(300);
        }
        lab.finish_sales();
        lab.check_sales();
        let books = check(&lab.store);
        assert_eq!(
            (books.ledger, books.pending),
            (1, 1),
            "crash after {crash_after}"
        );
        // And the recovered till deposits it exactly once.
        deposit_all(&lab.w, &lab.store, &mut lab.fi, lab.now + 5);
        lab.check_credited();
    }
}

#[test]
fn a_failed_commit_at_every_step_of_a_sale_writes_nothing() {
    for fail_at in 1..SALE.len() {
        let mut lab = Lab::new();
        for step in &SALE[..fail_at] {
            step(&mut lab).unwrap();
        }
        let before = (check(&lab.store), lab.store.applied());
        lab.store.fail_next_apply();
        let err = SALE[fail_at](&mut lab).unwrap_err();
        assert!(
            matches!(err, TillError::Store(TillStoreError::Backend(_))),
            "{err}"
        );
        assert_eq!(
            (check(&lab.store), lab.store.applied()),
            before,
            "step {fail_at}"
        );
        // The app retries the same step, or the tab reloads and recovery takes it.
        if fail_at == 3 {
            lab.crash_and_recover();
        } else {
            SALE[fail_at](&mut lab).unwrap();
            lab.crash_and_recover();
        }
        lab.finish_sales();
        lab.check_sales();
    }
}

#[test]
fn a_payment_frozen_before_a_crash_is_decided_at_its_arrival_time() {
    let mut lab = Lab::new();
    lab.start(300);
    lab.freeze(0).unwrap();
    // The terminal comes back long after the request expired: the payment arrived in
    // time, so it is decided as of then, and approved.
    lab.now += 3_600;
    let report = block_on(engine(&lab.store).recover(lab.now)).unwrap();
    let [entry] = report.entries.as_slice() else {
        panic!("{report:?}")
    };
    let super::TillAction::Decided(Decision::Approved(a)) = &entry.action else {
        panic!("{entry:?}")
    };
    assert_eq!(a.at, NOW + 2, "approved as of its arrival");
    let words = report.sentences(|a, c| format!("{a} {c}"));
    assert!(
        words[0].contains("approved") && words[0].contains(&a.short_id),
        "{words:?}"
    );
    lab.keep(report.commands());
    lab.drain();
    lab.check_sales();
}

#[test]
fn recovery_expires_open_sales_and_shows_valid_ones_again() {
    let mut lab = Lab::new();
    lab.start(100);
    lab.now += 200;
    lab.start(200);
    lab.now += 150; // the first expired (300 s), the second did not
    let report = block_on(engine(&lab.store).recover(lab.now)).unwrap();
    let actions: Vec<_> = report.entries.iter().map(|e| e.action.clone()).collect();
    assert!(actions.contains(&super::TillAction::Expired));
    assert!(actions.contains(&super::TillAction::Reshown));
    lab.keep(report.commands());
    assert!(matches!(
        sale_state(&lab.store, &lab.sales[0].0),
        SaleState::Expired { .. }
    ));
    assert!(matches!(
        sale_state(&lab.store, &lab.sales[1].0),
        SaleState::Open { .. }
    ));
    let words = report.sentences(|a, c| format!("{a} {c}"));
    assert!(
        words.iter().any(|w| w.contains("expired unpaid")),
        "{words:?}"
    );
}

/// The deposit saga's steps over three receipted sales: start the upload, the FI settles
/// the post (answer kept back), the answer is stored.
#[test]
fn a_crash_at_every_step_of_a_deposit_credits_each_payment_once() {
    for crash_after in 0..=3 {
        let mut lab = Lab::new();
        for amount in [100, 200, 300] {
            let i = lab.start(amount);
            let (id, _, bytes) = lab.sales[i].clone();
            let now = lab.tick();
            let p = present(&lab.store, &id, &bytes, now);
            lab.keep(p.commands);
            lab.drain();
        }
        let mut answer = None;
        if crash_after >= 1 {
            lab.start_deposit().unwrap();
        }
        if crash_after >= 2 {
            answer = Some(lab.deliver());
        }
        if crash_after >= 3 {
            lab.store_answer(answer.take().unwrap()).unwrap();
        }
        lab.crash_and_recover();
        deposit_all(&lab.w, &lab.store, &mut lab.fi, lab.now + 5);
        lab.check_sales();
        lab.check_credited();
        assert!(
            lab.fi.posts <= 2,
            "crash after {crash_after}: {} posts",
            lab.fi.posts
        );
        let books = check(&lab.store);
        assert_eq!((books.credited, books.pending, books.posting), (3, 0, 0));
    }
}

#[test]
fn a_failed_commit_of_a_deposit_answer_is_answered_again() {
    let mut lab = Lab::new();
    let i = lab.start(100);
    let (id, _, bytes) = lab.sales[i].clone();
    let p = present(&lab.store, &id, &bytes, lab.now);
    lab.keep(p.commands);
    lab.drain();
    lab.start_deposit().unwrap();
    let answer = lab.deliver();
    lab.store.fail_next_apply();
    assert!(lab.store_answer(answer).is_err());
    lab.crash_and_recover();
    lab.check_credited();
    assert_eq!(lab.fi.posts, 2);
}

/// SplitMix64, for reproducible random runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random interleavings of sales, payments (good, replayed, copied ranges, garbage),
/// receipts, uploads, lost answers, crashes and failed commits; at the end, recovery and
/// a full deposit. Whatever happened: every approved sale has one payment, stored and
/// queued once, its ranges recorded once, credited once by the FI; no copied range was
/// approved twice.
#[test]
fn random_crash_points_lose_and_duplicate_nothing() {
    let (mut approved, mut copies_declined, mut posts, mut lost) = (0, 0, 0, 0);
    for seed in 0..24u64 {
        let mut rng = Rng(seed);
        let mut lab = Lab::new();
        let shared = note(&lab.w, 0, 100_000, 200);
        let mut copied_from = 0u64;
        let mut answer: Option<(SagaId, u16, String)> = None;
        for _ in 0..40 {
            if rng.below(8) == 0 {
                lab.store.fail_next_apply();
            }
            let now = lab.tick();
            match rng.below(10) {
                0 | 1 => {
                    // A sale, paid either with fresh value or with a range of one shared
                    // note that a later sale may copy.
                    let seed = lab.sales.len() as u8 + 1;
                    let e = engine(&lab.store);
                    let Ok(out) = block_on(e.new_sale(&e.ask([seed; 16], 50, "EUR", None), now))
                    else {
                        continue;
                    };
                    let req = PaymentRequest::from_bytes(lab.shown_request(&out.commands)).unwrap();
                    let bytes = if rng.below(2) == 0 {
                        // Copy: the same range as a sale before (or a new one).
                        let from = if copied_from > 0 && rng.below(2) == 0 {
                            copied_from - 50
                        } else {
                            copied_from += 50;
                            copied_from - 50
                        };
                        pay(&mut lab.w, 0, &shared, (from, from + 50), &req, now).to_bytes()
                    } else {
                        fresh_payment(&mut lab.w, 1, seed, &req, now)
                    };
                    lab.sales.push((out.record.id.clone(), req, bytes));
                    lab.keep(out.commands);
                }
                2..=4 if !lab.sales.is_empty() => {
                    let i = rng.below(lab.sales.len() as u64) as usize;
                    let (id, _, bytes) = lab.sales[i].clone();
                    let bytes = if rng.below(6) == 0 {
                        b"garbage".to_vec()
                    } else {
                        bytes
                    };
                    if let Ok(p) = block_on(engine(&lab.store).present(&id, &bytes, now)) {
                        lab.keep(p.commands);
                    }
                }
                5 => {
                    let commands = std::mem::take(&mut lab.pending);
                    if let Some(TillCommand::SignReceipt { sale, body, .. }) = commands
                        .iter()
                        .find(|c| matches!(c, TillCommand::SignReceipt { .. }))
                        .cloned()
                    {
                        let sig = sign_receipt(&lab.w, &body);
                        if let Ok(out) = block_on(engine(&lab.store).handle(
                            &sale,
                            TillEvent::ReceiptSigned(sig),
                            now,
                        )) {
                            lab.keep(out.commands);
                        }
                    }
                }
                6 => {
                    if let Ok(Some(out)) = block_on(engine(&lab.store).start_deposit(now)) {
                        lab.keep(out.commands);
                    }
                }
                7 if lab
                    .pending
                    .iter()
                    .any(|c| matches!(c, TillCommand::Post { .. })) =>
                {
                    answer = Some(lab.deliver());
                }
                8 => {
                    if let Some(a) = answer.take() {
                        let _ = lab.store_answer(a);
                    }
                }
                _ => {
                    if answer.take().is_some() {
                        lost += 1;
                    }
                    lab.pending.clear();
                    if let Ok(report) = block_on(engine(&lab.store).recover(now)) {
                        lab.keep(report.commands());
                    }
                }
            }
            check(&lab.store);
        }
        // The end of the day: a recovery whose commit may fail, a clean one, then
        // everything deposited.
        lab.store.fail_next_apply();
        let _ = block_on(engine(&lab.store).recover(lab.now));
        lab.store.disarm_failure();
        lab.crash_and_recover();
        deposit_all(&lab.w, &lab.store, &mut lab.fi, lab.now + 5);
        let books = check(&lab.store);
        assert_eq!(books.pending + books.posting, 0, "seed {seed}");
        let queue = block_on(lab.store.queue()).unwrap();
        for e in &queue {
            assert_eq!(
                lab.fi.credited.get(&e.payment),
                Some(&e.amount),
                "seed {seed}"
            );
        }
        assert_eq!(
            lab.fi.total(),
            books.approved,
            "seed {seed}: credited = approved"
        );
        // No range of the shared note was approved twice.
        let ledger = block_on(super::store::PaymentStore::ledger(&lab.store)).unwrap();
        let shared_ranges: Vec<_> = ledger
            .iter()
            .filter(|e| e.note == shared.note_id())
            .collect();
        for (k, a) in shared_ranges.iter().enumerate() {
            for b in &shared_ranges[k + 1..] {
                assert!(!a.overlaps(&b.note, b.from, b.to), "seed {seed}");
            }
        }
        let declines = block_on(lab.store.declines_between(0, u64::MAX)).unwrap();
        let copies = declines
            .iter()
            .filter(|d| d.reason == super::DeclineReason::AlreadySpent)
            .count();
        let proofs = block_on(lab.store.fraud_proofs()).unwrap().len();
        assert!(
            proofs <= copies,
            "seed {seed}: a proof per declined copy at most"
        );
        approved += books.approved_count;
        copies_declined += copies;
        posts += lab.fi.posts;
    }
    eprintln!(
        "24 runs: {approved} approvals, {copies_declined} copies declined, {posts} uploads, {lost} answers lost in a crash"
    );
    assert!(
        approved > 48 && copies_declined > 5 && lost > 0,
        "the runs exercise the flows"
    );
}
