//! Deposit upload tests: batches by count and size, the FI's answer per payment
//! (credited, held, refused, retry), an upload refused as a whole, retries with the same
//! body, wrong answers refused, a payment accepted during an upload, a crash after the
//! post whose answer was lost, and the status line (offline time, awaiting deposit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::testing::World;

use super::engine::{TillConfig, TillEngine};
use super::error::{TillError, TillSagaError};
use super::saga::{DepositState, TillCommand, TillEvent, TillSagaState};
use super::store::{QueueStore, TillMemoryStore, TillSagaStore, TillTrustStore};
use super::testkit::*;
use super::types::{DepositStatus, PaymentId};
use crate::testkit::NOW;

/// `n` approved sales of 100, 200, … (sale seeds from `first`).
fn approved(w: &mut World, store: &TillMemoryStore, first: u8, n: u8) -> Vec<PaymentId> {
    (first..first + n)
        .map(|i| {
            let (id, req) = sale(store, i, 100 * u64::from(i - first + 1), NOW);
            let p = approve(store, &id, &fresh_payment(w, 0, i, &req, NOW), NOW);
            match p.decision {
                super::saga::Decision::Approved(a) => a.payment,
                super::saga::Decision::Declined(d) => panic!("{d:?}"),
            }
        })
        .collect()
}

fn status(store: &TillMemoryStore, id: &PaymentId) -> DepositStatus {
    block_on(store.queue_entry(id)).unwrap().unwrap().status
}

fn post_of(cmds: &[TillCommand]) -> (crate::SagaId, String) {
    cmds.iter()
        .find_map(|c| match c {
            TillCommand::Post {
                saga, body, path, ..
            } => {
                assert_eq!(path, ops_api::paths::DEPOSITS_BATCH);
                Some((saga.clone(), body.clone()))
            }
            _ => None,
        })
        .expect("an upload posts")
}

#[test]
fn payments_are_deposited_in_batches_and_credited_once() {
    let mut w = world(1);
    let store = till(&w);
    let ids = approved(&mut w, &store, 1, 5);
    let e = TillEngine::new(
        &store,
        TillConfig {
            batch_max_payments: 2,
            ..TillConfig::default()
        },
    );
    let mut fi = FakeFi::default();
    let mut uploads = 0;
    while let Some(out) = block_on(e.start_deposit(NOW + 100)).unwrap() {
        uploads += 1;
        let (_, body) = post_of(&out.commands);
        let req: ops_api::DepositBatchRequest = serde_json::from_str(&body).unwrap();
        assert!(req.payments.len() <= 2);
        complete(&w, &store, &mut fi, out.commands, NOW + 100);
    }
    assert_eq!(uploads, 3);
    assert_eq!(fi.total(), 1_500);
    for (k, id) in ids.iter().enumerate() {
        assert_eq!(fi.credited[id], 100 * (k as u64 + 1), "credited once");
        assert!(matches!(status(&store, id), DepositStatus::Credited { .. }));
    }
    let s = block_on(e.status(NOW + 130)).unwrap();
    assert!(s.awaiting.is_empty());
    assert_eq!((s.last_online, s.offline_for), (Some(NOW + 100), Some(30)));
    assert!(!s.upload_in_flight);
    assert_eq!(check(&store).credited, 5);
}

#[test]
fn uploads_respect_the_byte_budget() {
    let mut w = world(1);
    let store = till(&w);
    approved(&mut w, &store, 1, 3);
    let one = block_on(store.queue()).unwrap()[0].payment;
    let size = block_on(super::store::PaymentStore::payment(&store, &one))
        .unwrap()
        .unwrap()
        .bytes
        .len();
    // Room for one payment and a half: one per upload, and never none.
    let e = TillEngine::new(
        &store,
        TillConfig {
            batch_max_bytes: size * 2,
            ..TillConfig::default()
        },
    );
    let out = block_on(e.start_deposit(NOW)).unwrap().unwrap();
    let TillSagaState::Deposit(DepositState::Posting { payments, .. }) = &out.record.state else {
        panic!()
    };
    assert_eq!(payments.len(), 1);
    let tiny = TillEngine::new(
        &store,
        TillConfig {
            batch_max_bytes: 10,
            ..TillConfig::default()
        },
    );
    let mut fi = FakeFi::default();
    complete(&w, &store, &mut fi, out.commands, NOW);
    let out = block_on(tiny.start_deposit(NOW)).unwrap().unwrap();
    let TillSagaState::Deposit(DepositState::Posting { payments, .. }) = &out.record.state else {
        panic!()
    };
    assert_eq!(
        payments.len(),
        1,
        "a payment larger than the budget goes alone"
    );
}

#[test]
fn the_fi_answers_each_payment() {
    let mut w = world(1);
    let store = till(&w);
    let ids = approved(&mut w, &store, 1, 4);
    let mut fi = FakeFi::default();
    fi.hold.insert(ids[1]);
    fi.refuse.insert(ids[2]);
    fi.retry.insert(ids[3]);
    let e = engine(&store);
    let out = block_on(e.start_deposit(NOW)).unwrap().unwrap();
    let (saga, body) = post_of(&out.commands);
    let (status_code, answer) = fi.answer(w.pos.id(), &body);
    let out = block_on(e.handle(
        &saga,
        TillEvent::Http {
            status: status_code,
            body: answer,
        },
        NOW + 1,
    ))
    .unwrap();
    assert_eq!(
        out.record.state,
        TillSagaState::Deposit(DepositState::Done {
            credited: 1,
            disputed: 1,
            refused: 1,
            retry: 1,
            credited_now: 100
        })
    );
    assert!(matches!(out.commands[0], TillCommand::Notify { .. }));
    assert_eq!(
        status(&store, &ids[0]),
        DepositStatus::Credited { credited_now: 100 }
    );
    assert_eq!(
        status(&store, &ids[1]),
        DepositStatus::Disputed { held_id: Some(7) }
    );
    assert!(matches!(
        status(&store, &ids[2]),
        DepositStatus::Refused { code, .. } if code == "payment_invalid"
    ));
    assert_eq!(status(&store, &ids[3]), DepositStatus::Pending);
    let s = block_on(e.status(NOW + 1)).unwrap();
    assert_eq!(s.disputed, 1);
    assert_eq!(
        s.awaiting[0].amount,
        200 + 400,
        "disputed and pending await"
    );
    // The next upload asks again about the disputed payment and sends the retried one;
    // the refused payment is never sent again.
    fi.retry.clear();
    fi.hold.clear();
    let out = block_on(e.start_deposit(NOW + 2)).unwrap().unwrap();
    let TillSagaState::Deposit(DepositState::Posting { payments, .. }) = &out.record.state else {
        panic!()
    };
    assert_eq!(
        payments,
        &vec![ids[3], ids[1]],
        "pending first, then disputed"
    );
    complete(&w, &store, &mut fi, out.commands, NOW + 2);
    assert!(block_on(e.start_deposit(NOW + 3)).unwrap().is_none());
    assert_eq!(fi.total(), 100 + 200 + 400);
    assert!(!fi.credited.contains_key(&ids[2]));
}

#[test]
fn an_upload_refused_as_a_whole_releases_its_payments_and_retries_post_the_same_body() {
    let mut w = world(1);
    let store = till(&w);
    let ids = approved(&mut w, &store, 1, 2);
    let e = engine(&store);
    let out = block_on(e.start_deposit(NOW)).unwrap().unwrap();
    let (saga, body) = post_of(&out.commands);
    // Unreachable, then a 503: the same body again, nothing else changes.
    for event in [
        TillEvent::Unreachable,
        TillEvent::Http {
            status: 503,
            body: String::new(),
        },
    ] {
        let out = block_on(e.handle(&saga, event, NOW + 1)).unwrap();
        assert!(matches!(out.commands[0], TillCommand::Notify { .. }));
        let again = block_on(e.start_deposit(NOW + 2)).unwrap().unwrap();
        assert_eq!(
            again.record.id, saga,
            "the unfinished upload, not a new one"
        );
        assert_eq!(post_of(&again.commands).1, body, "the same body");
    }
    assert!(block_on(e.upload_in_flight()).unwrap());
    assert_eq!(
        block_on(store.last_online()).unwrap(),
        Some(NOW),
        "the CRL fetch at set-up"
    );
    // The session expired: the FI refuses the upload; every payment waits again.
    let out = block_on(e.handle(
        &saga,
        TillEvent::Http {
            status: 401,
            body: r#"{"error":{"code":"auth_required","message":"sign in"}}"#.into(),
        },
        NOW + 3,
    ))
    .unwrap();
    assert!(matches!(
        &out.record.state,
        TillSagaState::Deposit(DepositState::Failed { payments: 2, reason }) if reason.contains("auth_required")
    ));
    for id in &ids {
        assert_eq!(status(&store, id), DepositStatus::Pending);
    }
    // A late answer to the failed upload is refused as a stale one.
    let err = block_on(e.handle(&saga, TillEvent::Unreachable, NOW + 4)).unwrap_err();
    assert!(matches!(
        err,
        TillError::Saga(TillSagaError::WrongState { .. })
    ));
    let mut fi = FakeFi::default();
    deposit_all(&w, &store, &mut fi, NOW + 5);
    assert_eq!(fi.total(), 300);
}

#[test]
fn a_wrong_answer_changes_nothing() {
    let mut w = world(1);
    let store = till(&w);
    let ids = approved(&mut w, &store, 1, 2);
    let e = engine(&store);
    let out = block_on(e.start_deposit(NOW)).unwrap().unwrap();
    let (saga, body) = post_of(&out.commands);
    let mut fi = FakeFi::default();
    let (_, good) = fi.answer(w.pos.id(), &body);
    let mut answer: ops_api::DepositBatchResponse = serde_json::from_str(&good).unwrap();
    let one_short = {
        let mut a = answer.clone();
        a.results.pop();
        serde_json::to_string(&a).unwrap()
    };
    answer.results.swap(0, 1);
    let swapped = serde_json::to_string(&answer).unwrap();
    let applied = store.applied();
    for body in [one_short, swapped, "not json".to_string()] {
        let err =
            block_on(e.handle(&saga, TillEvent::Http { status: 200, body }, NOW)).unwrap_err();
        assert!(
            matches!(err, TillError::Saga(TillSagaError::Answer(_))),
            "{err}"
        );
    }
    assert_eq!(store.applied(), applied, "nothing written");
    for id in &ids {
        assert!(matches!(status(&store, id), DepositStatus::Posting { .. }));
    }
    // The right answer still settles it; the FI had credited at the first post already.
    block_on(e.handle(
        &saga,
        TillEvent::Http {
            status: 200,
            body: good,
        },
        NOW,
    ))
    .unwrap();
    assert_eq!(check(&store).credited, 2);
    assert_eq!(fi.total(), 300);
}

#[test]
fn a_payment_accepted_during_an_upload_waits_for_the_next() {
    let mut w = world(1);
    let store = till(&w);
    approved(&mut w, &store, 1, 2);
    let e = engine(&store);
    let out = block_on(e.start_deposit(NOW)).unwrap().unwrap();
    let late = approved(&mut w, &store, 10, 1)[0];
    assert_eq!(status(&store, &late), DepositStatus::Pending);
    let mut fi = FakeFi::default();
    complete(&w, &store, &mut fi, out.commands, NOW);
    assert_eq!(status(&store, &late), DepositStatus::Pending);
    let s = block_on(e.status(NOW)).unwrap();
    assert_eq!((s.awaiting[0].count, s.awaiting[0].amount), (1, 100));
    deposit_all(&w, &store, &mut fi, NOW);
    assert_eq!(fi.total(), 400);
}

/// The FI settled the upload but its answer never reached the till (the tab died, the
/// network dropped): after recovery the same body is posted, the FI answers `credited: 0`
/// for each payment, and nothing is credited twice.
#[test]
fn a_crash_after_the_post_before_the_answer_was_stored_credits_nothing_twice() {
    let mut w = world(1);
    let store = till(&w);
    let ids = approved(&mut w, &store, 1, 3);
    let mut fi = FakeFi::default();
    let out = block_on(engine(&store).start_deposit(NOW))
        .unwrap()
        .unwrap();
    let (_, body) = post_of(&out.commands);
    let _lost = fi.answer(w.pos.id(), &body);
    assert_eq!(fi.total(), 600, "the FI credited at the first post");
    // The tab dies here. A new engine recovers from the store alone.
    let report = block_on(engine(&store).recover(NOW + 60)).unwrap();
    let reposts = report
        .entries
        .iter()
        .filter(|e| e.action == super::TillAction::Repost)
        .count();
    assert_eq!(
        reposts, 1,
        "the upload; the three sales ask for their receipts again"
    );
    let (_, again) = post_of(&report.commands());
    assert_eq!(again, body, "the same body");
    complete(&w, &store, &mut fi, report.commands(), NOW + 60);
    assert_eq!(fi.posts, 2);
    assert_eq!(fi.total(), 600, "nothing more");
    for (k, id) in ids.iter().enumerate() {
        assert_eq!(fi.credited[id], 100 * (k as u64 + 1));
        assert_eq!(
            status(&store, id),
            DepositStatus::Credited { credited_now: 0 }
        );
    }
    assert!(
        block_on(engine(&store).start_deposit(NOW + 61))
            .unwrap()
            .is_none()
    );
    let sagas = block_on(store.sagas()).unwrap();
    assert_eq!(
        sagas
            .iter()
            .filter(|r| matches!(r.state, TillSagaState::Deposit(_)))
            .count(),
        1
    );
}

#[test]
fn status_says_how_long_offline_and_how_much_awaits() {
    let mut w = world(1);
    let store = TillMemoryStore::new();
    let e = engine(&store);
    block_on(e.onboard(till_identity(&w), crate::testkit::bundle(&w))).unwrap();
    let s = block_on(e.status(NOW)).unwrap();
    assert_eq!(
        (s.last_online, s.offline_for),
        (None, None),
        "never online yet"
    );
    for crl in w.crls.iter() {
        block_on(e.store_crl(&crl.to_bytes(), NOW - 3_600)).unwrap();
    }
    approved(&mut w, &store, 1, 2);
    let s = block_on(e.status(NOW + 3_600)).unwrap();
    assert_eq!(s.offline_for, Some(7_200));
    assert_eq!(s.awaiting.len(), 1);
    assert_eq!(
        (
            s.awaiting[0].currency.as_str(),
            s.awaiting[0].count,
            s.awaiting[0].amount
        ),
        ("EUR", 2, 300)
    );
    assert_eq!(s.oldest_awaiting, Some(NOW));
    assert_eq!(s.fraud_proofs, 0);
}
