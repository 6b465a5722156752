//! Crash tests. For every step of every saga: run the flow up to that step, drop the
//! engine ("the tab died"), recover from the store alone, check the invariants, let a
//! cooperative app finish whatever recovery asks, and check again (value conserved, no
//! range held twice, claims matching their sagas, the same payment bytes after a reload,
//! nothing funded twice). Then random crash points from a seeded generator, and two
//! windows racing for one note.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use futures_executor::block_on;
use ops_core::ledger::NoHistory;
use ops_core::testing::World;
use ops_core::{P256Provider, Payment, PaymentRequest};

use crate::engine::Output;
use crate::error::{EngineError, SagaError};
use crate::recovery::Action;
use crate::saga::{self, Command, Event, PayState, ReceiveState, SagaState, Shown};
use crate::store::{MemoryStore, SagaStore, StoreError, WalletStore};
use crate::testkit::*;
use crate::types::SagaId;

/// One lab: a world, one store per wallet, the sagas the steps started, and every payment
/// the app was told to show before the crash.
struct Lab {
    w: World,
    stores: Vec<MemoryStore>,
    ids: BTreeMap<&'static str, SagaId>,
    shown: BTreeMap<SagaId, Vec<u8>>,
    last: BTreeMap<&'static str, Output>,
    now: u64,
}

impl Lab {
    fn new(wallets: usize) -> Self {
        let w = world(wallets.max(1));
        let stores = (0..wallets).map(|i| onboarded(&w, i)).collect();
        Self {
            w,
            stores,
            ids: BTreeMap::new(),
            shown: BTreeMap::new(),
            last: BTreeMap::new(),
            now: NOW,
        }
    }

    fn tick(&mut self) -> u64 {
        self.now += 1;
        self.now
    }

    fn keep(&mut self, name: &'static str, out: Output) {
        for c in &out.commands {
            if let Command::Show {
                saga,
                what: Shown::Payment,
                bytes,
            } = c
                && let Some(before) = self.shown.insert(saga.clone(), bytes.clone())
            {
                assert_eq!(
                    &before, bytes,
                    "a payment is always shown with the same bytes"
                );
            }
        }
        self.ids.insert(name, out.record.id.clone());
        self.last.insert(name, out);
    }

    /// Wallet `i` funds `amount` to completion.
    fn fund(&mut self, i: usize, key: u8, amount: u64) {
        let now = self.tick();
        let out = block_on(engine(&self.stores[i]).start_fund(&[key; 16], amount, now)).unwrap();
        complete(&mut self.w, i, &self.stores[i], out.commands, now);
    }

    fn start_fund(&mut self, i: usize, name: &'static str, key: u8, amount: u64) {
        let now = self.tick();
        let out = block_on(engine(&self.stores[i]).start_fund(&[key; 16], amount, now)).unwrap();
        self.keep(name, out);
    }

    fn answer(&mut self, i: usize, name: &'static str) {
        let now = self.tick();
        let Some(Command::Post {
            saga,
            path,
            body,
            idempotency_key,
        }) = self.last[name].commands.first().cloned()
        else {
            panic!("{name} has no post");
        };
        let (status, body) = fi_answer(&self.w, i, &path, &body, &idempotency_key, now);
        let out = block_on(engine(&self.stores[i]).step(&saga, Event::Http { status, body }, now))
            .unwrap();
        self.keep(name, out);
    }

    fn pay(&mut self, i: usize, name: &'static str, request: &[u8]) {
        let now = self.tick();
        let out = block_on(engine(&self.stores[i]).start_pay(request, now)).unwrap();
        self.keep(name, out);
    }

    fn pay_pos(&mut self, i: usize, name: &'static str, amount: u64, seed: u8) {
        let req = pos_request(&self.w, amount, seed, self.now);
        self.pay(i, name, &req.to_bytes());
    }

    fn sign(&mut self, i: usize, name: &'static str) {
        let now = self.tick();
        let Some(Command::Sign { saga, items }) = self.last[name].commands.first().cloned() else {
            panic!("{name} has nothing to sign");
        };
        let a = sign(&mut self.w, i, &items);
        let out = block_on(engine(&self.stores[i]).step(&saga, Event::Signed(a), now)).unwrap();
        self.keep(name, out);
    }

    fn event(&mut self, i: usize, name: &'static str, event: Event) {
        let now = self.tick();
        let id = self.ids[name].clone();
        let out = block_on(engine(&self.stores[i]).step(&id, event, now)).unwrap();
        self.keep(name, out);
    }

    fn receipt(&mut self, i: usize, name: &'static str) {
        let id = self.ids[name].clone();
        let SagaState::Pay(p) = saga_state(&self.stores[i], &id) else {
            panic!()
        };
        let req = PaymentRequest::from_bytes(p.request()).unwrap();
        let payment = self.shown[&id].clone();
        let r = receipt(&mut self.w, &req, &payment, self.now);
        self.event(i, name, Event::Receipt(r));
    }

    fn receive(&mut self, i: usize, name: &'static str, nonce: u8, amount: u64) {
        let now = self.tick();
        let e = engine(&self.stores[i]);
        let ask = e.ask([nonce; 16], amount, "EUR", Some("Alice".into()));
        let out = block_on(e.start_receive(&ask, now)).unwrap();
        self.keep(name, out);
    }

    fn request_of(&self, name: &'static str) -> Vec<u8> {
        match self.last[name].commands.first() {
            Some(Command::Show {
                what: Shown::Request,
                bytes,
                ..
            }) => bytes.clone(),
            _ => panic!("{name} shows no request"),
        }
    }

    /// Payee wallet `i` scans the payment `payer` shows (one step: only stored).
    fn scan(&mut self, i: usize, name: &'static str, payer: &'static str) {
        let payment = self.shown[&self.ids[payer]].clone();
        self.event(i, name, Event::Scanned(payment));
    }

    fn deposits(&mut self, i: usize, name: &'static str) {
        let now = self.tick();
        let mut outs = block_on(engine(&self.stores[i]).start_deposits(now)).unwrap();
        assert_eq!(outs.len(), 1);
        self.keep(name, outs.remove(0));
    }

    fn defund(&mut self, i: usize, name: &'static str, key: u8, amount: u64) {
        let now = self.tick();
        let out =
            block_on(engine(&self.stores[i]).start_defund(&[key; 16], amount, "EUR", now)).unwrap();
        self.keep(name, out);
    }

    /// Wallet `i` starts renewing its notes.
    fn refresh(&mut self, i: usize, name: &'static str) {
        let now = self.tick();
        let out = block_on(engine(&self.stores[i]).start_refresh(now))
            .unwrap()
            .expect("something to renew");
        self.keep(name, out);
    }

    /// The FI gets `name`'s post and acts on it, but its answer never reaches the wallet.
    fn post_lost(&mut self, i: usize, name: &'static str) {
        let Some(Command::Post {
            path,
            body,
            idempotency_key,
            ..
        }) = self.last[name].commands.first().cloned()
        else {
            panic!("{name} has no post");
        };
        let (status, _) = fi_answer(&self.w, i, &path, &body, &idempotency_key, self.now);
        assert!((200..300).contains(&status));
    }

    /// The tab dies: recover every wallet from its store, check, finish, check.
    fn crash_and_recover(&mut self) -> Vec<Books> {
        let mut books = Vec::new();
        for i in 0..self.stores.len() {
            check(&self.stores[i]);
            let now = self.now + 5;
            let report = block_on(engine(&self.stores[i]).recover(now)).unwrap();
            check(&self.stores[i]);
            for c in report.commands() {
                if let Command::Show {
                    saga,
                    what: Shown::Payment,
                    bytes,
                } = c
                {
                    let stored = match saga_state(&self.stores[i], saga) {
                        SagaState::Pay(
                            PayState::Signed { payment, .. } | PayState::HandedOver { payment, .. },
                        ) => payment,
                        s => panic!("showing a payment in {}", s.name()),
                    };
                    assert_eq!(bytes, &stored);
                    if let Some(before) = self.shown.get(saga) {
                        assert_eq!(bytes, before, "the same bytes after a reload");
                    }
                }
            }
            let cmds: Vec<Command> = report.commands().cloned().collect();
            complete(&mut self.w, i, &self.stores[i], cmds, now + 1);
            let b = check(&self.stores[i]);
            let unfinished = block_on(self.stores[i].sagas())
                .unwrap()
                .iter()
                .filter(|r| !r.state.is_finished())
                .count();
            assert_eq!(unfinished, 0, "recovery and the app finish every flow");
            books.push(b);
        }
        books
    }
}

type StepFn = fn(&mut Lab);

/// Runs `steps` up to every prefix, crashes, recovers and checks; `done(k, books)` checks
/// what a finished wallet must hold after a crash following step `k`.
fn crash_at_every_step(
    wallets: usize,
    setup: StepFn,
    steps: &[(&str, StepFn)],
    done: impl Fn(usize, &[Books]),
) {
    for k in 0..=steps.len() {
        let mut lab = Lab::new(wallets);
        setup(&mut lab);
        for (_, s) in &steps[..k] {
            s(&mut lab);
            for st in &lab.stores {
                check(st);
            }
        }
        let after = steps.get(k.wrapping_sub(1)).map_or("start", |s| s.0);
        let books = lab.crash_and_recover();
        println!("crash after {after}: {books:?}");
        done(k, &books);
    }
}

fn funded(lab: &mut Lab) {
    lab.fund(0, 1, 5_000);
}

#[test]
fn fund_crash_at_every_step_never_funds_twice() {
    crash_at_every_step(
        1,
        |_| {},
        &[
            ("start", |l| l.start_fund(0, "f", 7, 5_000)),
            ("answer", |l| l.answer(0, "f")),
        ],
        |k, b| {
            let want = if k == 0 { 0 } else { 5_000 };
            assert_eq!(b[0].notes, want, "one load, one set of notes");
            assert_eq!(b[0].free, want);
        },
    );
}

#[test]
fn pay_with_receipt_crash_at_every_step() {
    crash_at_every_step(
        1,
        funded,
        &[
            ("reserve", |l| l.pay_pos(0, "p", 1_200, 3)),
            ("sign", |l| l.sign(0, "p")),
            ("hand over", |l| l.event(0, "p", Event::HandedOver)),
            ("receipt", |l| l.receipt(0, "p")),
        ],
        |k, b| {
            assert_eq!(b[0].notes, 5_000);
            assert_eq!((b[0].reserved, b[0].handed_over), (0, 0));
            assert_eq!(b[0].spent, if k == 0 { 0 } else { 1_200 });
        },
    );
}

#[test]
fn pay_cancelled_before_signing_crash_at_every_step() {
    crash_at_every_step(
        1,
        funded,
        &[
            ("reserve", |l| l.pay_pos(0, "p", 1_200, 3)),
            ("abort", |l| l.event(0, "p", Event::Abort)),
        ],
        |k, b| {
            assert_eq!(b[0].free, if k == 1 { 3_800 } else { 5_000 });
            assert_eq!(b[0].reserved, 0);
        },
    );
}

#[test]
fn pay_abandoned_after_signing_keeps_the_ranges_held() {
    crash_at_every_step(
        1,
        funded,
        &[
            ("reserve", |l| l.pay_pos(0, "p", 1_200, 3)),
            ("sign", |l| l.sign(0, "p")),
            ("abort", |l| l.event(0, "p", Event::Abort)),
        ],
        |k, b| {
            if k == 3 {
                assert_eq!((b[0].handed_over, b[0].free), (1_200, 3_800));
            } else if k > 0 {
                assert_eq!(b[0].spent, 1_200);
            }
        },
    );
}

#[test]
fn interleaved_payments_release_exactly_their_own_ranges() {
    crash_at_every_step(
        1,
        funded,
        &[
            ("reserve 1", |l| l.pay_pos(0, "p1", 1_000, 1)),
            ("reserve 2", |l| l.pay_pos(0, "p2", 1_000, 2)),
            ("abort 1", |l| l.event(0, "p1", Event::Abort)),
            ("sign 2", |l| l.sign(0, "p2")),
            ("reserve 3", |l| l.pay_pos(0, "p3", 500, 3)),
            ("sign 3", |l| l.sign(0, "p3")),
        ],
        |_, b| {
            assert_eq!(b[0].notes, 5_000);
            assert_eq!(b[0].free + b[0].spent, 5_000);
        },
    );
}

#[test]
fn wallet_to_wallet_then_deposit_crash_at_every_step() {
    crash_at_every_step(
        2,
        funded,
        &[
            ("request", |l| l.receive(1, "r", 9, 700)),
            ("reserve", |l| {
                let req = l.request_of("r");
                l.pay(0, "p", &req);
            }),
            ("sign", |l| l.sign(0, "p")),
            ("scan", |l| l.scan(1, "r", "p")),
            ("verify", |l| l.event(1, "r", Event::Verify)),
            ("confirm", |l| l.event(0, "p", Event::Confirmed)),
            ("deposit", |l| l.deposits(1, "d")),
            ("answer", |l| l.answer(1, "d")),
        ],
        |k, b| {
            assert_eq!(b[0].notes, 5_000);
            // Once scanned, the payee always ends up with the payment, and deposits it only
            // when the steps got that far.
            let received = if k >= 4 { 700 } else { 0 };
            assert_eq!(b[1].came_in, received);
            if k >= 3 {
                assert_eq!(b[0].spent, 700);
            }
            if k >= 7 {
                assert_eq!(b[1].spent, 700, "deposited");
            }
        },
    );
}

#[test]
fn received_value_is_spent_onward_after_a_crash() {
    crash_at_every_step(
        2,
        funded,
        &[
            ("request", |l| l.receive(1, "r", 9, 700)),
            ("pay", |l| {
                let req = l.request_of("r");
                l.pay(0, "p", &req);
                l.sign(0, "p");
                l.scan(1, "r", "p");
                l.event(1, "r", Event::Verify);
            }),
            ("respend", |l| l.pay_pos(1, "q", 300, 5)),
            ("sign", |l| l.sign(1, "q")),
        ],
        |k, b| {
            if k >= 2 {
                assert_eq!(b[1].came_in, 700);
            }
            if k >= 3 {
                assert_eq!((b[1].spent, b[1].free), (300, 400));
            }
        },
    );
}

#[test]
fn defund_crash_at_every_step() {
    crash_at_every_step(
        1,
        funded,
        &[
            ("reserve", |l| l.defund(0, "d", 4, 2_000)),
            ("sign", |l| l.sign(0, "d")),
            ("answer", |l| l.answer(0, "d")),
        ],
        |k, b| {
            assert_eq!(b[0].spent, if k == 0 { 0 } else { 2_000 });
            assert_eq!(b[0].free, if k == 0 { 5_000 } else { 3_000 });
        },
    );
}

/// Six small loads: 100, 200, …, 600 on six notes (2,100 in all).
fn six_small_notes(lab: &mut Lab) {
    for k in 1..=6u8 {
        lab.fund(0, k, u64::from(k) * 100);
    }
}

#[test]
fn refresh_crash_at_every_step_conserves_value_and_loads_once() {
    crash_at_every_step(
        1,
        six_small_notes,
        &[
            ("plan and reserve", |l| l.refresh(0, "r")),
            ("sign the return", |l| l.sign(0, "r")),
            ("return posted, answer lost", |l| l.post_lost(0, "r")),
            ("return credited", |l| l.answer(0, "r")),
            ("load posted, answer lost", |l| l.post_lost(0, "r")),
            ("loaded", |l| l.answer(0, "r")),
        ],
        |k, b| {
            let (balance, loads) = bank(|bank| (bank.balance[&0], bank.loads.len()));
            // Wallet and account together hold what the account gave: nothing created,
            // nothing lost, whatever step the tab died after.
            assert_eq!(b[0].free as i64 + balance, 0, "value conserved");
            assert_eq!((b[0].free, b[0].reserved, b[0].handed_over), (2_100, 0, 0));
            // Reserved but never approved: recovery cancels it. Signed: recovery finishes it,
            // loading exactly once.
            let renewed = k >= 2;
            assert_eq!(loads, 6 + usize::from(renewed), "at most one load");
            assert_eq!(b[0].free_notes, if renewed { 2 } else { 6 });
            assert_eq!(b[0].spent, if renewed { 1_500 } else { 0 });
        },
    );
}

#[test]
fn a_refresh_and_a_payment_racing_for_one_note_never_share_it() {
    let mut lab = Lab::new(1);
    six_small_notes(&mut lab);
    let store = &lab.stores[0];
    let (sync, pay) = (engine(store), engine(store));
    // The sync plans on a snapshot; meanwhile the payment takes the 100 note it chose.
    let snap = block_on(sync.snapshot()).unwrap();
    let plan = crate::refresh::plan_refresh(
        &snap,
        &std::collections::BTreeSet::new(),
        lab.now,
        &sync.config().refresh,
    )
    .unwrap();
    let id = crate::refresh::refresh_id(&plan, lab.now);
    let at = saga::At {
        id: &id,
        created: lab.now,
        now: lab.now,
    };
    let step = saga::refresh::start(&at, &plan, &snap).unwrap();
    let t = saga::Transition::create(id, step.map(SagaState::Refresh), lab.now);
    let req = pos_request(&lab.w, 100, 1, lab.now).to_bytes();
    block_on(pay.start_pay(&req, lab.now)).unwrap();
    let e = block_on(sync.commit(t)).unwrap_err();
    assert!(
        matches!(e, EngineError::Store(StoreError::RangeTaken { .. })),
        "{e}"
    );
    // start_refresh plans again from what is left: the four smallest free notes.
    let out = block_on(sync.start_refresh(lab.now)).unwrap().unwrap();
    let SagaState::Refresh(saga::RefreshState::Reserved { pieces, .. }) = &out.record.state else {
        panic!()
    };
    assert_eq!(saga::spending::total(pieces), 200 + 300 + 400 + 500);
    let b = check(store);
    assert_eq!((b.reserved, b.free), (100 + 1_400, 600));
    // Asked again, it returns the unfinished renewal, not a second one.
    let again = block_on(sync.start_refresh(lab.now + 1)).unwrap().unwrap();
    assert_eq!(again.record.id, out.record.id);
    assert_eq!(again.commands, out.commands);
}

#[test]
fn payment_shown_after_reload_is_accepted_by_the_payee() {
    let mut lab = Lab::new(1);
    lab.fund(0, 1, 5_000);
    let req = pos_request(&lab.w, 1_200, 3, lab.now);
    lab.pay(0, "p", &req.to_bytes());
    lab.sign(0, "p");
    // Reload: the recovered command shows the same bytes, and the POS accepts them.
    let report = block_on(engine(&lab.stores[0]).recover(lab.now + 1)).unwrap();
    assert_eq!(report.count(Action::Reshow), 1);
    let Some(Command::Show { bytes, .. }) = report.commands().next() else {
        panic!()
    };
    assert_eq!(bytes, &lab.shown[&lab.ids["p"]]);
    let payment = Payment::from_bytes(bytes).unwrap();
    let known = vec![lab.w.pos.cert.clone(), lab.w.fis[0].clone()];
    let v = lab
        .w
        .verifier(&known, &P256Provider)
        .verify_payment(&req, false, &payment, &NoHistory, lab.now + 2)
        .unwrap();
    assert_eq!(v.amount, 1_200);
}

#[test]
fn recovery_releases_an_unsigned_payment_whose_request_expired() {
    let mut lab = Lab::new(1);
    lab.fund(0, 1, 5_000);
    lab.pay_pos(0, "p", 1_200, 3);
    let report = block_on(engine(&lab.stores[0]).recover(lab.now + 10_000)).unwrap();
    assert_eq!(report.count(Action::Released), 1);
    assert_eq!(check(&lab.stores[0]).free, 5_000);
    // A fresh request: the signature is asked again over the same frozen bodies.
    lab.pay_pos(0, "q", 100, 4);
    let before = lab.last["q"].commands.clone();
    let report = block_on(engine(&lab.stores[0]).recover(lab.now + 1)).unwrap();
    assert_eq!(report.count(Action::Resign), 1);
    assert_eq!(report.commands().cloned().collect::<Vec<_>>(), before);
}

#[test]
fn recovery_verifies_a_scanned_payment_at_its_scan_time() {
    let mut lab = Lab::new(2);
    lab.fund(0, 1, 5_000);
    lab.receive(1, "r", 9, 700);
    let req = lab.request_of("r");
    lab.pay(0, "p", &req);
    lab.sign(0, "p");
    lab.scan(1, "r", "p");
    // Long after the request expired, recovery still verifies the frozen scan.
    let report = block_on(engine(&lab.stores[1]).recover(lab.now + 100_000)).unwrap();
    assert_eq!(report.count(Action::Verified), 1);
    let s = saga_state(&lab.stores[1], &lab.ids["r"]);
    assert!(matches!(
        s,
        SagaState::Receive(ReceiveState::Received { amount: 700, .. })
    ));
    // Scanning the same payment again changes nothing.
    let e = block_on(engine(&lab.stores[1]).handle(
        &lab.ids["r"],
        Event::Scanned(lab.shown[&lab.ids["p"]].clone()),
        lab.now,
    ))
    .unwrap_err();
    assert!(matches!(e, EngineError::Saga(SagaError::WrongState { .. })));
    assert_eq!(check(&lab.stores[1]).came_in, 700);
}

/// A deterministic generator (SplitMix64): random crash points without a new dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[test]
fn random_crash_points_conserve_value() {
    let (mut moved, mut committed) = (0, 0);
    for seed in 0..24u64 {
        let mut rng = Rng(seed);
        let mut lab = Lab::new(1);
        lab.fund(0, 1, 5_000);
        lab.fund(0, 2, 800);
        let mut open: Vec<(SagaId, Vec<Command>)> = Vec::new();
        for op in 0..14u8 {
            let now = lab.tick();
            let store = &lab.stores[0];
            // Sometimes the commit itself dies: the step must leave no trace.
            if rng.below(5) == 0 {
                store.fail_next_apply();
            }
            let e = engine(store);
            let res = match rng.below(6) {
                0 | 1 => {
                    let amount = 1 + rng.below(1_500);
                    let req = pos_request(&lab.w, amount, 100 + op, now);
                    e.start_pay_blocking(&req.to_bytes(), now)
                }
                2 | 3 if !open.is_empty() => {
                    let k = rng.below(open.len() as u64) as usize;
                    let (id, cmds) = open.remove(k);
                    let event = match cmds.first() {
                        Some(Command::Sign { items, .. }) => {
                            Event::Signed(sign(&mut lab.w, 0, items))
                        }
                        Some(Command::Show { .. }) => {
                            if rng.below(2) == 0 {
                                Event::HandedOver
                            } else {
                                Event::Confirmed
                            }
                        }
                        _ => Event::Abort,
                    };
                    block_on(e.step(&id, event, now))
                }
                4 if !open.is_empty() => {
                    let k = rng.below(open.len() as u64) as usize;
                    let (id, _) = open.remove(k);
                    block_on(e.step(&id, Event::Abort, now))
                }
                _ => {
                    // Crash: forget everything in memory, recover from the store.
                    open.clear();
                    // The failure may hit recovery itself: nothing of it may stay either.
                    let report = match block_on(e.recover(now + rng.below(1_000))) {
                        Ok(r) => r,
                        Err(EngineError::Store(StoreError::Backend(_))) => {
                            check(store);
                            continue;
                        }
                        Err(e) => panic!("seed {seed} op {op}: {e}"),
                    };
                    for r in &report.entries {
                        if !r.commands.is_empty() {
                            open.push((r.saga.clone(), r.commands.clone()));
                        }
                    }
                    check(store);
                    continue;
                }
            };
            match res {
                Ok(out) if !out.record.state.is_finished() => {
                    open.retain(|(id, _)| *id != out.record.id);
                    open.push((out.record.id.clone(), out.commands));
                }
                Ok(_) => {}
                Err(EngineError::Store(StoreError::Backend(_))) => {}
                Err(EngineError::Saga(_)) => {}
                Err(e) => panic!("seed {seed} op {op}: {e}"),
            }
            check(store);
        }
        // Consume a failure injected for a step that never came.
        let _ = block_on(lab.stores[0].apply(crate::store::Batch::new()));
        let books = lab.crash_and_recover();
        assert_eq!(books[0].notes, 5_800, "seed {seed}");
        moved += books[0].spent + books[0].handed_over;
        committed += lab.stores[0].applied();
        assert_eq!(books[0].free + books[0].spent + books[0].handed_over, 5_800);
    }
    println!("value moved over all seeds: {moved}, batches committed: {committed}");
    assert!(moved > 10_000, "the random runs pay something");
}

impl Engine<'_, MemoryStore> {
    fn start_pay_blocking(&self, request: &[u8], now: u64) -> Result<Output, EngineError> {
        block_on(self.start_pay(request, now))
    }
}

use crate::Engine;

fn start_of(p: crate::engine::Prepared) -> saga::Transition {
    match p {
        crate::engine::Prepared::Start(t) => t,
        crate::engine::Prepared::Existing(o) => panic!("already started: {o:?}"),
    }
}

#[test]
fn two_windows_race_for_one_note() {
    let w = world(1);
    let store = onboarded(&w, 0);
    let mut lab = Lab {
        w,
        stores: vec![store],
        ids: BTreeMap::new(),
        shown: BTreeMap::new(),
        last: BTreeMap::new(),
        now: NOW,
    };
    lab.fund(0, 1, 1_000);
    let store = &lab.stores[0];
    let (tab1, tab2) = (engine(store), engine(store));
    let r1 = pos_request(&lab.w, 600, 1, NOW).to_bytes();
    let r2 = pos_request(&lab.w, 600, 2, NOW).to_bytes();
    // Both windows decide on the same snapshot: both pick [0, 600) of the one note.
    let t1 = start_of(block_on(tab1.prepare_pay(&r1, NOW)).unwrap());
    let t2 = start_of(block_on(tab2.prepare_pay(&r2, NOW)).unwrap());
    block_on(tab1.commit(t1)).unwrap();
    let e = block_on(tab2.commit(t2)).unwrap_err();
    assert!(
        matches!(e, EngineError::Store(StoreError::RangeTaken { .. })),
        "{e}"
    );
    // Window 2 tries again: only 400 is left, so it is refused with the real reason.
    let e = block_on(tab2.start_pay(&r2, NOW)).unwrap_err();
    assert!(matches!(e, EngineError::Saga(SagaError::Select(_))), "{e}");
    assert_eq!(check(store).reserved, 600);
}

#[test]
fn losing_window_picks_another_note() {
    let mut lab = Lab::new(1);
    lab.fund(0, 1, 1_000);
    lab.fund(0, 2, 1_000);
    let store = &lab.stores[0];
    let (tab1, tab2) = (engine(store), engine(store));
    let r1 = pos_request(&lab.w, 600, 1, lab.now).to_bytes();
    let r2 = pos_request(&lab.w, 600, 2, lab.now).to_bytes();
    let t1 = start_of(block_on(tab1.prepare_pay(&r1, lab.now)).unwrap());
    let t2 = start_of(block_on(tab2.prepare_pay(&r2, lab.now)).unwrap());
    let pieces = |t: &saga::Transition| match &t.record.state {
        SagaState::Pay(PayState::Reserved { pieces, .. }) => pieces.clone(),
        _ => panic!(),
    };
    assert_eq!(pieces(&t1), pieces(&t2), "both chose the same range");
    block_on(tab1.commit(t1.clone())).unwrap();
    assert!(block_on(tab2.commit(t2)).is_err());
    // start_pay selects again after losing the race, and gets the other note.
    let out = block_on(tab2.start_pay(&r2, lab.now)).unwrap();
    let SagaState::Pay(PayState::Reserved { pieces: p2, .. }) = &out.record.state else {
        panic!()
    };
    assert_ne!(p2[0].note, pieces(&t1)[0].note);
    let b = check(store);
    assert_eq!((b.reserved, b.free), (1_200, 800));
}

#[test]
fn two_windows_moving_one_saga_conflict_on_its_version() {
    let mut lab = Lab::new(1);
    lab.fund(0, 1, 5_000);
    lab.pay_pos(0, "p", 1_000, 1);
    let store = &lab.stores[0];
    let id = lab.ids["p"].clone();
    let Some(Command::Sign { items, .. }) = lab.last["p"].commands.first().cloned() else {
        panic!()
    };
    let record = block_on(store.saga(&id)).unwrap().unwrap();
    let snap = block_on(engine(store).snapshot()).unwrap();
    // Window 1 cancels while window 2 signs, both from version 0.
    let cancel = saga::advance(&record, Event::Abort, &snap, lab.now).unwrap();
    let signed = saga::advance(
        &record,
        Event::Signed(sign(&mut lab.w, 0, &items)),
        &snap,
        lab.now,
    )
    .unwrap();
    block_on(engine(store).commit(cancel)).unwrap();
    let e = block_on(engine(store).commit(signed)).unwrap_err();
    assert!(
        matches!(e, EngineError::Store(StoreError::VersionConflict { .. })),
        "{e}"
    );
    // The cancel released the range once, and no payment exists to show.
    assert_eq!(check(store).free, 5_000);
    assert!(block_on(engine(store).resume(&id)).unwrap().is_empty());
}

#[test]
fn starting_a_payment_twice_resumes_the_first() {
    let mut lab = Lab::new(1);
    lab.fund(0, 1, 5_000);
    let req = pos_request(&lab.w, 1_000, 1, lab.now).to_bytes();
    lab.pay(0, "p", &req);
    lab.sign(0, "p");
    // Scanning the same request again shows the same payment, reserves nothing new.
    let again = block_on(engine(&lab.stores[0]).start_pay(&req, lab.now)).unwrap();
    assert_eq!(again.commands, lab.last["p"].commands);
    assert_eq!(check(&lab.stores[0]).handed_over, 1_000);
    // Cancelled before signing: paying it again is a new reservation.
    let req2 = pos_request(&lab.w, 500, 2, lab.now).to_bytes();
    lab.pay(0, "q", &req2);
    lab.event(0, "q", Event::Abort);
    let out = block_on(engine(&lab.stores[0]).start_pay(&req2, lab.now)).unwrap();
    assert_eq!(out.record.version, 2);
    assert_eq!(check(&lab.stores[0]).reserved, 500);
}
