//! Renewals end to end against the fake FI: a note near expiry replaced by a later one,
//! many small notes consolidated, the FI's answers (refused, held, a load refused, a session
//! ended, a wrong answer), cancelling, received notes left to their deposit, the home
//! summary's figures and the recovery report's words.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::testing::{DAY, World};

use crate::error::{EngineError, SagaError};
use crate::recovery::Action;
use crate::saga::{Command, Event, RefreshState, SagaState};
use crate::store::{HistoryStore, MemoryStore, NoteStore};
use crate::testkit::*;
use crate::types::{HistoryKind, HistoryState, NotesRenewed};
use crate::{Config, Engine, Output, RefreshPolicy};

fn fund(w: &mut World, i: usize, store: &MemoryStore, key: u8, amount: u64, now: u64) {
    let out = block_on(engine(store).start_fund(&[key; 16], amount, now)).unwrap();
    complete(w, i, store, out.commands, now);
}

fn refresh_state(out: &Output) -> &RefreshState {
    match &out.record.state {
        SagaState::Refresh(s) => s,
        s => panic!("not a renewal: {}", s.name()),
    }
}

/// Starts a renewal at `now` and signs its return; returns the output asking to post it.
fn start_and_sign(w: &mut World, store: &MemoryStore, now: u64) -> Output {
    let out = block_on(engine(store).start_refresh(now)).unwrap().unwrap();
    let Some(Command::Sign { saga, items }) = out.commands.first().cloned() else {
        panic!("a renewal asks for one approval first")
    };
    assert_eq!(items.len(), 1, "one approval for the whole return");
    let a = sign(w, 0, &items);
    block_on(engine(store).step(&saga, Event::Signed(a), now)).unwrap()
}

fn money(minor: u64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, minor % 100)
}

#[test]
fn a_note_near_expiry_is_replaced_by_one_that_expires_later() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    fund(&mut w, 0, &store, 1, 1_000, NOW);
    fund(&mut w, 0, &store, 2, 500, NOW + 30 * DAY);
    let e = engine(&store);
    // Fresh notes: nothing to do.
    assert!(block_on(e.start_refresh(NOW + DAY)).unwrap().is_none());
    // 80 days later the first note expires within 14 days; the second does not.
    let later = NOW + 80 * DAY;
    let s = block_on(e.summary(later)).unwrap();
    assert!(s.refresh_suggested);
    assert_eq!(s.earliest_expiry, Some(NOW + 90 * DAY));
    assert_eq!(s.notes, 2);
    let before = bank(|b| b.balance[&0]);
    let out = block_on(e.start_refresh(later)).unwrap().unwrap();
    let RefreshState::Reserved { pieces, .. } = refresh_state(&out) else {
        panic!()
    };
    assert_eq!(spending_total(pieces), 1_000, "only the expiring note");
    complete(&mut w, 0, &store, out.commands.clone(), later);
    let SagaState::Refresh(RefreshState::Done { amount, notes, .. }) =
        saga_state(&store, &out.record.id)
    else {
        panic!()
    };
    assert_eq!(amount, 1_000);
    let held = block_on(store.notes()).unwrap();
    let new = held.iter().find(|n| n.id == notes[0]).unwrap();
    assert_eq!(
        new.expires,
        later + 90 * DAY,
        "issued now, for the FI's lifetime"
    );
    let s = block_on(e.summary(later)).unwrap();
    assert_eq!(s.amounts[0].spendable, 1_500);
    assert_eq!(s.earliest_expiry, Some(NOW + 120 * DAY));
    assert!(!s.refresh_suggested);
    assert_eq!(
        bank(|b| b.balance[&0]),
        before,
        "the account is where it was"
    );
    // One history line for the whole renewal.
    let h = block_on(store.history()).unwrap();
    let line = h.iter().find(|l| l.kind == HistoryKind::Refresh).unwrap();
    assert_eq!((line.amount, line.state), (1_000, HistoryState::Confirmed));
    assert_eq!(
        line.notes,
        Some(NotesRenewed {
            returned: 1,
            issued: 1
        })
    );
    assert_eq!(
        h.iter().filter(|l| l.kind == HistoryKind::Defund).count(),
        0
    );
    assert_eq!(check(&store).free, 1_500);
}

fn spending_total(pieces: &[ops_core::wallet::Piece]) -> u64 {
    crate::saga::spending::total(pieces)
}

#[test]
fn many_small_notes_become_few() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    for k in 1..=6u8 {
        fund(&mut w, 0, &store, k, u64::from(k) * 100, NOW);
    }
    let e = engine(&store);
    let s = block_on(e.summary(NOW)).unwrap();
    assert_eq!((s.notes, s.refresh_suggested), (6, true));
    let out = block_on(e.start_refresh(NOW)).unwrap().unwrap();
    // Unfinished: not suggested again, and starting again returns the same renewal.
    assert!(!block_on(e.summary(NOW)).unwrap().refresh_suggested);
    let again = block_on(e.start_refresh(NOW + 1)).unwrap().unwrap();
    assert_eq!(again.record.id, out.record.id);
    complete(&mut w, 0, &store, out.commands, NOW);
    let s = block_on(e.summary(NOW)).unwrap();
    assert_eq!((s.notes, s.amounts[0].spendable), (2, 2_100));
    assert!(!s.refresh_suggested);
    let h = block_on(store.history()).unwrap();
    let line = h.iter().find(|l| l.kind == HistoryKind::Refresh).unwrap();
    assert_eq!(line.amount, 1_500);
    assert_eq!(
        line.notes,
        Some(NotesRenewed {
            returned: 5,
            issued: 1
        })
    );
    // A payment of everything now needs two spends instead of six.
    let req = pos_request(&w, 2_100, 1, NOW);
    let out = block_on(e.start_pay(&req.to_bytes(), NOW)).unwrap();
    let SagaState::Pay(crate::saga::PayState::Reserved { pieces, .. }) = &out.record.state else {
        panic!()
    };
    assert_eq!(pieces.len(), 2);
}

#[test]
fn the_fis_answers_to_a_renewal() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    for k in 1..=5u8 {
        fund(&mut w, 0, &store, k, 100, NOW);
    }
    let e = engine(&store);
    // Cancelled before approval: the ranges come back.
    let out = block_on(e.start_refresh(NOW)).unwrap().unwrap();
    let out = block_on(e.step(&out.record.id, Event::Abort, NOW)).unwrap();
    assert!(matches!(
        refresh_state(&out),
        RefreshState::Cancelled { amount: 400, .. }
    ));
    assert_eq!(check(&store).free, 500);
    // Unreachable: the same return is posted again.
    let out = start_and_sign(&mut w, &store, NOW + 1);
    let id = out.record.id.clone();
    let post = out.commands.clone();
    let out = block_on(e.step(&id, Event::Unreachable, NOW + 1)).unwrap();
    assert!(matches!(
        refresh_state(&out),
        RefreshState::Returning { .. }
    ));
    assert_eq!(block_on(e.resume(&id)).unwrap(), post);
    // A 2xx that does not settle what was returned is refused; nothing is written.
    let wrong = r#"{"payment_hash":"00","account_id":1,"status":"credited","amount":7,"credited":7,"spends_recorded":1,"fraud_cases":0}"#;
    let err = block_on(e.step(
        &id,
        Event::Http {
            status: 200,
            body: wrong.into(),
        },
        NOW + 1,
    ))
    .unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Answer(_))),
        "{err}"
    );
    // The FI refuses the return: the ranges stay held (the spends are out).
    let refusal = r#"{"error":{"code":"payment_invalid","message":"the payment does not verify"}}"#;
    let out = block_on(e.step(
        &id,
        Event::Http {
            status: 422,
            body: refusal.into(),
        },
        NOW + 1,
    ))
    .unwrap();
    assert!(matches!(refresh_state(&out), RefreshState::Refused { .. }));
    assert!(
        matches!(&out.commands[0], Command::Notify { message, .. } if message.contains("does not verify"))
    );
    let b = check(&store);
    assert_eq!((b.handed_over, b.free), (400, 100));
}

#[test]
fn a_held_return_loads_nothing_and_a_refused_load_leaves_the_value_in_the_account() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    for k in 1..=5u8 {
        fund(&mut w, 0, &store, k, 100, NOW);
    }
    let e = engine(&store);
    let out = start_and_sign(&mut w, &store, NOW);
    let held = r#"{"payment_hash":"00","account_id":1,"status":"held","amount":400,"credited":0,"spends_recorded":0,"fraud_cases":0,"held_id":3}"#;
    let out = block_on(e.step(
        &out.record.id,
        Event::Http {
            status: 202,
            body: held.into(),
        },
        NOW,
    ))
    .unwrap();
    assert!(matches!(
        refresh_state(&out),
        RefreshState::Held { amount: 400, .. }
    ));
    assert!(
        out.commands
            .iter()
            .all(|c| !matches!(c, Command::Post { .. }))
    );
    assert_eq!(check(&store).handed_over, 400);

    let mut w = world(1);
    let store = onboarded(&w, 0);
    for k in 1..=5u8 {
        fund(&mut w, 0, &store, k, 100, NOW);
    }
    let out = start_and_sign(&mut w, &store, NOW);
    let id = out.record.id.clone();
    let Some(Command::Post {
        path,
        body,
        idempotency_key,
        ..
    }) = out.commands.first().cloned()
    else {
        panic!()
    };
    let (status, body) = fi_answer(&w, 0, &path, &body, &idempotency_key, NOW);
    let out = block_on(engine(&store).step(&id, Event::Http { status, body }, NOW)).unwrap();
    assert!(matches!(
        refresh_state(&out),
        RefreshState::Reissuing { .. }
    ));
    // The session ended: the load waits for a new login, nothing fails.
    let out = block_on(engine(&store).step(
        &id,
        Event::Http {
            status: 401,
            body: String::new(),
        },
        NOW,
    ))
    .unwrap();
    assert!(matches!(
        refresh_state(&out),
        RefreshState::Reissuing { .. }
    ));
    assert!(
        matches!(&out.commands[0], Command::Notify { message, .. } if message.contains("log in"))
    );
    // A definitive refusal: the renewal ends, the value is in the account.
    let refusal = r#"{"error":{"code":"device_revoked","message":"the device is revoked"}}"#;
    let out = block_on(engine(&store).step(
        &id,
        Event::Http {
            status: 403,
            body: refusal.into(),
        },
        NOW,
    ))
    .unwrap();
    assert!(matches!(
        refresh_state(&out),
        RefreshState::Failed { amount: 400, .. }
    ));
    let b = check(&store);
    assert_eq!((b.free, b.spent), (100, 400));
    assert_eq!(bank(|b| b.balance[&0]), -100, "400 back in the account");
    let h = block_on(store.history()).unwrap();
    let line = h.iter().find(|l| l.kind == HistoryKind::Refresh).unwrap();
    assert_eq!(line.state, HistoryState::Failed);
}

#[test]
fn received_notes_are_left_to_their_deposit() {
    let mut w = world(2);
    let payer = onboarded(&w, 0);
    let payee = onboarded(&w, 1);
    fund(&mut w, 0, &payer, 9, 5_000, NOW);
    for k in 1..=5u8 {
        fund(&mut w, 1, &payee, k, u64::from(k) * 10, NOW);
    }
    let pe = engine(&payee);
    let (r, request) = show_request(&payee, 7, 300);
    let payment = pay_request(&mut w, &payer, &request);
    block_on(pe.handle(&r, Event::Scanned(payment), NOW)).unwrap();
    // Six notes, but the received one awaits its deposit: five counted, four returned.
    let out = block_on(pe.start_refresh(NOW)).unwrap().unwrap();
    let RefreshState::Reserved { pieces, .. } = refresh_state(&out) else {
        panic!()
    };
    assert_eq!(pieces.len(), 4);
    assert_eq!(spending_total(pieces), 10 + 20 + 30 + 40);
    complete(&mut w, 1, &payee, out.commands, NOW);
    // The deposit still takes the whole received payment.
    let deposits = block_on(pe.start_deposits(NOW)).unwrap();
    assert_eq!(deposits.len(), 1);
    complete(&mut w, 1, &payee, deposits[0].commands.clone(), NOW);
    let b = check(&payee);
    assert_eq!(b.free, 150);
    assert_eq!(bank(|b| b.balance[&1]), -150 + 300);
}

#[test]
fn recovery_cancels_an_unapproved_renewal_and_finishes_a_signed_one() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    for k in 1..=5u8 {
        fund(&mut w, 0, &store, k, 100, NOW);
    }
    let e = engine(&store);
    block_on(e.start_refresh(NOW)).unwrap().unwrap();
    let report = block_on(e.recover(NOW + 10)).unwrap();
    assert_eq!(report.count(Action::Released), 1);
    assert_eq!(
        report.sentences(&money),
        vec![
            "Renewing 4.00 EUR of notes was interrupted before you approved it and was cancelled; nothing moved, the next sync renews them."
        ]
    );
    assert_eq!(check(&store).free, 500);
    let out = start_and_sign(&mut w, &store, NOW + 20);
    let report = block_on(e.recover(NOW + 30)).unwrap();
    assert_eq!(report.count(Action::Repost), 1);
    assert_eq!(report.commands().cloned().collect::<Vec<_>>(), out.commands);
    assert!(report.sentences(&money)[0].starts_with("Renewing 4.00 EUR of notes continues"));
    complete(&mut w, 0, &store, out.commands, NOW + 30);
    assert_eq!(check(&store).free_notes, 2);
}

#[test]
fn a_stricter_policy_renews_every_note() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    fund(&mut w, 0, &store, 1, 700, NOW);
    let config = Config {
        refresh: RefreshPolicy {
            expiring_within: 100 * DAY,
            ..RefreshPolicy::default()
        },
        ..Config::default()
    };
    let e = Engine::new(&store, config);
    let plan = block_on(e.refresh_plan(NOW)).unwrap().unwrap();
    assert_eq!((plan.amount, plan.expiring, plan.issued), (700, 1, 1));
    assert!(
        block_on(engine(&store).refresh_plan(NOW))
            .unwrap()
            .is_none()
    );
}
