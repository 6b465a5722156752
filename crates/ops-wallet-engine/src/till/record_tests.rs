//! Every record the till stores round-trips through JSON and through postcard (what an
//! IndexedDB store packs records with: no field names, so a stored type may not skip
//! fields), and so do the commands and events the app exchanges with the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::saga::{TillCommand, TillEvent, TillSagaState};
use super::store::{DeclineStore, PaymentStore, QueueStore, TillSagaStore, TillTrustStore};
use super::testkit::*;
use crate::testkit::NOW;

fn both_ways<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(v: &T) {
    let json = serde_json::to_string(v).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), v, "{json}");
    let packed = postcard::to_allocvec(v).unwrap();
    assert_eq!(&postcard::from_bytes::<T>(&packed).unwrap(), v, "{json}");
}

#[test]
fn every_till_record_round_trips_through_json_and_postcard() {
    let mut w = world(2);
    let store = till(&w);
    let mut fi = FakeFi::default();
    // Completed with a receipt, approved without one yet, declined then open, cancelled,
    // expired, and uploads done and failed.
    let (a, ra) = sale(&store, 1, 300, NOW);
    let p = approve(&store, &a, &fresh_payment(&mut w, 0, 1, &ra, NOW), NOW);
    complete(&w, &store, &mut fi, p.commands, NOW);
    let (b, rb) = sale(&store, 2, 200, NOW);
    let iss = note(&w, 0, 1_000, 9);
    approve(
        &store,
        &b,
        &pay(&mut w, 0, &iss, (0, 200), &rb, NOW).to_bytes(),
        NOW,
    );
    let (c, rc) = sale(&store, 3, 200, NOW);
    decline(
        &store,
        &c,
        &pay(&mut w, 0, &iss, (100, 300), &rc, NOW).to_bytes(),
        NOW,
    );
    decline(&store, &c, b"junk", NOW);
    let (d, _) = sale(&store, 4, 50, NOW);
    block_on(engine(&store).cancel(&d, NOW)).unwrap();
    sale(&store, 5, 50, NOW);
    block_on(engine(&store).expire_due(NOW + 400)).unwrap();
    sale(&store, 6, 50, NOW + 400);
    let out = block_on(engine(&store).start_deposit(NOW))
        .unwrap()
        .unwrap();
    block_on(engine(&store).handle(
        &out.record.id,
        TillEvent::Http {
            status: 401,
            body: String::new(),
        },
        NOW,
    ))
    .unwrap();
    let out = block_on(engine(&store).start_deposit(NOW + 1))
        .unwrap()
        .unwrap();
    for c in &out.commands {
        both_ways(c);
    }
    deposit_all(&w, &store, &mut fi, NOW + 2);

    let sagas = block_on(store.sagas()).unwrap();
    let mut names: Vec<&str> = sagas.iter().map(|r| r.state.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        vec![
            "approved",
            "cancelled",
            "completed",
            "done",
            "expired",
            "failed",
            "open"
        ]
    );
    for r in &sagas {
        both_ways(r);
    }
    for p in block_on(store.payments_between(0, u64::MAX)).unwrap() {
        both_ways(&p);
    }
    for e in block_on(store.ledger()).unwrap() {
        both_ways(&e);
    }
    for q in block_on(store.queue()).unwrap() {
        both_ways(&q);
    }
    for d in block_on(store.declines_between(0, u64::MAX)).unwrap() {
        both_ways(&d);
    }
    for p in block_on(store.fraud_proofs()).unwrap() {
        both_ways(&p);
    }
    both_ways(&block_on(store.identity()).unwrap().unwrap());
    // The states a store never holds at rest here (deciding, posting) and the statuses
    // not reached above.
    let deciding = TillSagaState::Sale(super::saga::SaleState::Deciding {
        request: vec![1],
        payment: vec![2],
        received_at: 3,
    });
    both_ways(&deciding);
    for s in [
        super::DepositStatus::Pending,
        super::DepositStatus::Disputed { held_id: None },
        super::DepositStatus::Refused {
            code: "c".into(),
            message: "m".into(),
        },
    ] {
        both_ways(&s);
    }
    both_ways(&TillEvent::ReceiptSigned(sign_receipt(&w, b"body")));
    both_ways(&TillCommand::Notify {
        saga: a,
        message: "m".into(),
    });
}
