//! The confirmation screen's checks: what the payer is told, and that reviewing reserves
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;

use crate::error::{EngineError, SagaError};
use crate::review::EXPIRES_SOON;
use crate::store::{NoteStore, SagaStore};
use crate::testkit::*;

fn funded(amount: u64) -> (ops_core::testing::World, crate::store::MemoryStore) {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    let out = block_on(engine(&store).start_fund(&[9; 16], amount, NOW)).unwrap();
    complete(&mut w, 0, &store, out.commands, NOW);
    (w, store)
}

#[test]
fn a_good_request_is_described_with_the_certified_names_and_nothing_is_reserved() {
    let (w, store) = funded(1_000);
    let req = pos_request(&w, 250, 1, NOW);
    let r = block_on(engine(&store).review(&req.to_bytes(), NOW)).unwrap();
    assert_eq!(
        (r.amount, r.currency.as_str()),
        (250, req.currency.as_str())
    );
    assert_eq!(r.payee, w.pos.cert.body.name);
    assert_eq!(r.fi, w.fis[0].body.name);
    assert!(r.who().contains("certified by"), "{}", r.who());
    assert_eq!(r.seconds_left, req.expires - NOW);
    let sagas_before = block_on(store.sagas()).unwrap().len();
    assert!(block_on(store.claims()).unwrap().is_empty());
    assert_eq!(block_on(store.sagas()).unwrap().len(), sagas_before);
}

#[test]
fn a_request_about_to_expire_warns_and_an_expired_one_is_refused() {
    let (w, store) = funded(1_000);
    let req = pos_request(&w, 100, 2, NOW);
    let late = req.expires - (EXPIRES_SOON - 10);
    let r = block_on(engine(&store).review(&req.to_bytes(), late)).unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("expires in")), "{r:?}");
    let err = block_on(engine(&store).review(&req.to_bytes(), req.expires + 1)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Request(_))),
        "{err}"
    );
}

#[test]
fn a_label_that_differs_from_the_certified_name_is_pointed_out() {
    let (w, store) = funded(1_000);
    let mut req = pos_request(&w, 100, 3, NOW);
    req.label = Some("Someone Else Entirely".into());
    let r = block_on(engine(&store).review(&req.to_bytes(), NOW)).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("certified the payee as")),
        "{r:?}"
    );
}

#[test]
fn unaffordable_uncertified_and_garbage_requests_are_refused_before_approval() {
    let (w, store) = funded(1_000);
    let e = engine(&store);
    let too_much = pos_request(&w, 1_001, 4, NOW);
    assert!(matches!(
        block_on(e.review(&too_much.to_bytes(), NOW)).unwrap_err(),
        EngineError::Saga(SagaError::Select(_))
    ));
    let uncertified = w.request(100, 5, NOW);
    assert!(matches!(
        block_on(e.review(&uncertified.to_bytes(), NOW)).unwrap_err(),
        EngineError::Saga(SagaError::Request(_))
    ));
    assert!(matches!(
        block_on(e.review(b"\x00garbage", NOW)).unwrap_err(),
        EngineError::Saga(SagaError::Malformed { .. })
    ));
    assert!(block_on(store.claims()).unwrap().is_empty());
}
