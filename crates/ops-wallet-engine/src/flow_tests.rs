//! Flow tests: bad input reserves and signs nothing, FI answers (refusal, retry, a wrong
//! answer), refused payments, deposits of re-spent value, the home summary after real
//! flows, onboarding checks, and the stored form of every saga.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::P256Provider;
use ops_core::testing::DAY;

use crate::error::{EngineError, SagaError};
use crate::saga::{Command, Event, FundState, ReceiveState, SagaRecord, SagaState, Shown};
use crate::store::{MemoryStore, NoteStore, SagaStore};
use crate::testkit::*;

fn fund(w: &mut ops_core::testing::World, store: &MemoryStore, key: u8, amount: u64) {
    let out = block_on(engine(store).start_fund(&[key; 16], amount, NOW)).unwrap();
    complete(w, 0, store, out.commands, NOW);
}

fn nothing_moved(store: &MemoryStore) {
    assert!(block_on(store.claims()).unwrap().is_empty());
    assert!(
        block_on(store.sagas())
            .unwrap()
            .iter()
            .all(|r| !matches!(r.state, SagaState::Pay(_)))
    );
}

#[test]
fn bad_requests_reserve_nothing() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    let e = engine(&store);
    let err = block_on(e.start_pay(b"not a request", NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Malformed { .. })),
        "{err}"
    );
    let expired = pos_request(&w, 100, 1, NOW - 10_000);
    let err = block_on(e.start_pay(&expired.to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Request(_))),
        "{err}"
    );
    let uncertified = w.request(100, 2, NOW);
    let err = block_on(e.start_pay(&uncertified.to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Request(_))),
        "{err}"
    );
    let too_much = pos_request(&w, 1_001, 3, NOW);
    let err = block_on(e.start_pay(&too_much.to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Select(_))),
        "{err}"
    );
    let mut dollars = pos_request(&w, 10, 4, NOW);
    dollars.currency = "USD".into();
    let err = block_on(e.start_pay(&dollars.to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Select(_))),
        "{err}"
    );
    nothing_moved(&store);
}

#[test]
fn a_payment_above_the_banks_offline_limit_is_refused_before_anything_is_reserved() {
    let mut w = world(1);
    let mut body = w.wallets[0].cert.body.clone();
    body.limits.max_payment = Some(500);
    w.wallets[0].cert = ops_core::testing::sign_body(body, &w.fi_keys[0]);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    let e = engine(&store);
    let err = block_on(e.start_pay(&pos_request(&w, 501, 1, NOW).to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Saga(SagaError::Request(
                ops_core::verify::VerifyError::AbovePayerLimit {
                    paid: 501,
                    max: 500,
                    ..
                }
            ))
        ),
        "{err}"
    );
    assert!(err.to_string().contains("pay less, or online"), "{err}");
    nothing_moved(&store);
    assert!(block_on(e.start_pay(&pos_request(&w, 500, 2, NOW).to_bytes(), NOW)).is_ok());
}

#[test]
fn a_payee_on_the_banks_block_list_is_refused_before_anything_is_reserved() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    let e = engine(&store);
    let pos = w.pos.cert.id().as_bytes().to_vec();
    assert!(block_on(e.start_pay(&pos_request(&w, 100, 1, NOW).to_bytes(), NOW)).is_ok());
    block_on(e.store_blocklist(2, vec![pos.clone()])).unwrap();
    let err = block_on(e.start_pay(&pos_request(&w, 100, 2, NOW).to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::BlockedPayee(id)) if id == w.pos.cert.id()),
        "{err}"
    );
    assert!(err.to_string().contains("pay another way"), "{err}");
    // An older list does not replace a newer one; a newer one unblocks.
    block_on(e.store_blocklist(1, Vec::new())).unwrap();
    assert!(block_on(e.start_pay(&pos_request(&w, 100, 3, NOW).to_bytes(), NOW)).is_err());
    block_on(e.store_blocklist(3, Vec::new())).unwrap();
    assert!(block_on(e.start_pay(&pos_request(&w, 100, 4, NOW).to_bytes(), NOW)).is_ok());
}

#[test]
fn a_revoked_payee_is_refused_before_anything_is_reserved() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    w.publish_crls(NOW - 30, &[w.pos.cert.body.serial], &P256Provider);
    let e = engine(&store);
    for crl in w.crls.iter() {
        assert!(block_on(e.store_crl(&crl.to_bytes())).unwrap(), "newer");
    }
    let req = pos_request(&w, 100, 1, NOW);
    let err = block_on(e.start_pay(&req.to_bytes(), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Request(_))),
        "{err}"
    );
    nothing_moved(&store);
}

#[test]
fn wrong_or_foreign_signatures_sign_nothing() {
    let mut w = world(2);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    let e = engine(&store);
    let req = pos_request(&w, 100, 1, NOW);
    let out = block_on(e.start_pay(&req.to_bytes(), NOW)).unwrap();
    let Some(Command::Sign { saga, items }) = out.commands.first().cloned() else {
        panic!()
    };
    assert_eq!(items[0].rp_id, "wallet.example");
    assert_eq!(items[0].credential_id, vec![0; 8]);
    let err = block_on(e.step(&saga, Event::Signed(Vec::new()), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Assertion(_))),
        "{err}"
    );
    // Another wallet's authenticator signs the right challenge.
    let foreign = sign(&mut w, 1, &items);
    let err = block_on(e.step(&saga, Event::Signed(foreign), NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Signature(_))),
        "{err}"
    );
    assert_eq!(
        check(&store).reserved,
        100,
        "still reserved, nothing signed"
    );
    // A stale button: handing over before signing.
    let err = block_on(e.step(&saga, Event::HandedOver, NOW)).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::WrongState { .. })),
        "{err}"
    );
    // A receipt signed by someone else than the payee is refused.
    let good = sign(&mut w, 0, &items);
    let out = block_on(e.step(&saga, Event::Signed(good), NOW)).unwrap();
    let Some(Command::Show { bytes, .. }) = out.commands.first() else {
        panic!()
    };
    let mut forged = receipt(&mut w, &req, bytes, NOW);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let err = block_on(e.step(&saga, Event::Receipt(forged), NOW)).unwrap_err();
    assert!(matches!(
        err,
        EngineError::Saga(SagaError::Receipt | SagaError::Malformed { .. })
    ));
    assert_eq!(check(&store).handed_over, 100);
}

#[test]
fn fund_refusals_retries_and_wrong_answers() {
    let w = world(2);
    let store = onboarded(&w, 0);
    let e = engine(&store);
    // Refused: the flow ends, nothing stored, the user is told why.
    let out = block_on(e.start_fund(&[1; 16], 500, NOW)).unwrap();
    let saga = out.record.id.clone();
    let refusal = r#"{"error":{"code":"insufficient_funds","message":"the account holds 10"}}"#;
    let out = block_on(e.step(
        &saga,
        Event::Http {
            status: 409,
            body: refusal.into(),
        },
        NOW,
    ))
    .unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Fund(FundState::Failed { .. })
    ));
    assert!(
        matches!(&out.commands[0], Command::Notify { message, .. } if message.contains("holds 10"))
    );
    // Unreachable, then a server fault: the same post, same key, is asked again.
    let out = block_on(e.start_fund(&[2; 16], 500, NOW)).unwrap();
    let first = out.commands.clone();
    let saga = out.record.id.clone();
    block_on(e.step(&saga, Event::Unreachable, NOW)).unwrap();
    block_on(e.step(
        &saga,
        Event::Http {
            status: 503,
            body: String::new(),
        },
        NOW,
    ))
    .unwrap();
    assert_eq!(block_on(e.resume(&saga)).unwrap(), first);
    // An answer with notes for another device is refused; nothing is stored.
    let (_, wrong) = fi_answer(&w, 1, "/api/v1/fund", r#"{"amount":500}"#, "02", NOW);
    let err = block_on(e.step(
        &saga,
        Event::Http {
            status: 201,
            body: wrong,
        },
        NOW,
    ))
    .unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Answer(_))),
        "{err}"
    );
    // A short answer (notes worth less than asked) too.
    let (_, short) = fi_answer(&w, 0, "/api/v1/fund", r#"{"amount":400}"#, "02", NOW);
    assert!(
        block_on(e.step(
            &saga,
            Event::Http {
                status: 201,
                body: short
            },
            NOW
        ))
        .is_err()
    );
    assert!(block_on(store.notes()).unwrap().is_empty());
    // The right answer, delivered twice (a retry): one set of notes.
    let (status, body) = fi_answer(&w, 0, "/api/v1/fund", r#"{"amount":500}"#, "02", NOW);
    block_on(e.step(
        &saga,
        Event::Http {
            status,
            body: body.clone(),
        },
        NOW,
    ))
    .unwrap();
    assert!(block_on(e.step(&saga, Event::Http { status, body }, NOW)).is_err());
    assert_eq!(check(&store).notes, 500);
    assert!(matches!(
        block_on(e.start_fund(&[3; 16], 0, NOW)).unwrap_err(),
        EngineError::Saga(SagaError::Nothing(_))
    ));
}

#[test]
fn a_refused_payment_is_not_stored_and_the_request_is_shown_again() {
    let mut w = world(2);
    let payer = onboarded(&w, 0);
    let payee = onboarded(&w, 1);
    fund(&mut w, &payer, 1, 1_000);
    let pe = engine(&payee);
    let (r, request) = show_request(&payee, 7, 300);
    let payment = pay_request(&mut w, &payer, &request);
    // Tampered: the spend's time changed after signing.
    let mut tampered = ops_core::Payment::from_bytes(&payment).unwrap();
    tampered.chains[0].spends[0].body.time += 1;
    let out = block_on(pe.handle(&r, Event::Scanned(tampered.to_bytes()), NOW)).unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Receive(ReceiveState::Shown { .. })
    ));
    assert!(
        matches!(&out.commands[0], Command::Notify { message, .. } if message.contains("refused"))
    );
    assert!(
        matches!(&out.commands[1], Command::Show { what: Shown::Request, bytes, .. } if *bytes == request)
    );
    assert_eq!(check(&payee).notes, 0);
    // Garbage.
    let out = block_on(pe.handle(&r, Event::Scanned(vec![1, 2, 3]), NOW)).unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Receive(ReceiveState::Shown { .. })
    ));
    // The genuine bytes are then accepted.
    let out = block_on(pe.handle(&r, Event::Scanned(payment), NOW)).unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Receive(ReceiveState::Received { amount: 300, .. })
    ));
    let h = block_on(crate::store::HistoryStore::history(&payee)).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].counterparty, Some(w.wallets[0].id()));
    assert_eq!(h[0].hops, Some(1));
}

#[test]
fn a_payment_partly_spent_onward_is_not_deposited() {
    let mut w = world(2);
    let payer = onboarded(&w, 0);
    let payee = onboarded(&w, 1);
    fund(&mut w, &payer, 1, 1_000);
    let pe = engine(&payee);
    let (r, request) = show_request(&payee, 7, 300);
    let payment = pay_request(&mut w, &payer, &request);
    block_on(pe.handle(&r, Event::Scanned(payment), NOW)).unwrap();
    let req = pos_request(&w, 100, 9, NOW);
    block_on(pe.start_pay(&req.to_bytes(), NOW)).unwrap();
    assert!(block_on(pe.start_deposits(NOW)).unwrap().is_empty());
    assert_eq!(block_on(pe.deposits_pending()).unwrap(), 0);
}

#[test]
fn home_summary_after_real_flows() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    fund(&mut w, &store, 2, 2_000);
    let e = engine(&store);
    let r1 = pos_request(&w, 300, 1, NOW);
    let out = block_on(e.start_pay(&r1.to_bytes(), NOW)).unwrap();
    let Some(Command::Sign { saga, items }) = out.commands.first().cloned() else {
        panic!()
    };
    let a = sign(&mut w, 0, &items);
    block_on(e.step(&saga, Event::Signed(a), NOW)).unwrap();
    let r2 = pos_request(&w, 50, 2, NOW);
    block_on(e.start_pay(&r2.to_bytes(), NOW)).unwrap();
    block_on(e.record_sync(NOW - 100)).unwrap();
    let s = block_on(e.summary(NOW)).unwrap();
    assert_eq!(s.amounts.len(), 1);
    let a = &s.amounts[0];
    assert_eq!((a.spendable, a.reserved, a.handed_over), (2_650, 50, 300));
    assert_eq!(s.last_sync, Some(NOW - 100));
    assert_eq!(s.unfinished, 2);
    assert!(s.expiring.is_empty());
    assert_eq!(
        s.certificate_expires,
        Some(w.wallets[0].cert.body.not_after)
    );
    assert_eq!(s.earliest_expiry, Some(NOW + 90 * DAY));
    assert_eq!(s.notes, 2, "two free gaps: the rest of each note");
    assert!(!s.refresh_suggested);
    // Near the notes' expiry (90 days after issuance) both warn and nothing is spendable
    // within the minimum life.
    let late = ops_core::testing::T0 + 89 * DAY;
    let s = block_on(e.summary(late)).unwrap();
    assert_eq!(s.expiring.len(), 2);
    assert!(!s.certificate_expiring);
}

#[test]
fn onboarding_checks_the_chain() {
    let w = world(2);
    let store = MemoryStore::new();
    let mut id = identity(&w, 0);
    id.fi_cert = w.fis[1].to_bytes();
    let err = block_on(engine(&store).onboard(id, bundle(&w))).unwrap_err();
    assert!(
        matches!(err, EngineError::Saga(SagaError::Answer(_))),
        "{err}"
    );
    let err = block_on(engine(&store).start_fund(&[1; 16], 1, NOW)).unwrap_err();
    assert!(matches!(err, EngineError::Saga(SagaError::NotOnboarded)));
}

#[test]
fn every_saga_record_round_trips_through_json_and_postcard() {
    let mut w = world(2);
    let store = onboarded(&w, 0);
    fund(&mut w, &store, 1, 1_000);
    let e = engine(&store);
    let req = pos_request(&w, 100, 1, NOW);
    let out = block_on(e.start_pay(&req.to_bytes(), NOW)).unwrap();
    complete(&mut w, 0, &store, out.commands, NOW);
    block_on(e.start_defund(&[5; 16], 100, "EUR", NOW)).unwrap();
    block_on(e.start_receive(&e.ask([1; 16], 5, "EUR", None), NOW)).unwrap();
    let renew_all = crate::Config {
        refresh: crate::RefreshPolicy {
            expiring_within: 100 * DAY,
            ..crate::RefreshPolicy::default()
        },
        ..crate::Config::default()
    };
    let out = block_on(crate::Engine::new(&store, renew_all).start_refresh(NOW)).unwrap();
    assert!(matches!(
        out.map(|o| o.record.state),
        Some(SagaState::Refresh(_))
    ));
    let records = block_on(store.sagas()).unwrap();
    assert!(records.len() >= 5);
    for r in records {
        let json = serde_json::to_string(&r).unwrap();
        let back: SagaRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r, "{json}");
        // What the IndexedDB store writes: postcard has no field names, so a field that
        // is sometimes skipped would shift every later one; this catches it natively.
        let packed = postcard::to_allocvec(&r).unwrap();
        let back: SagaRecord = postcard::from_bytes(&packed).unwrap();
        assert_eq!(back, r, "{json}");
    }
    let history = block_on(crate::store::HistoryStore::history(&store)).unwrap();
    assert!(!history.is_empty());
    for h in history {
        let packed = postcard::to_allocvec(&h).unwrap();
        assert_eq!(
            postcard::from_bytes::<crate::types::HistoryEntry>(&packed).unwrap(),
            h
        );
    }
}

#[test]
fn a_range_received_before_is_refused_from_the_stored_ledger() {
    let mut w = world(2);
    let payer = onboarded(&w, 0);
    let payee = onboarded(&w, 1);
    fund(&mut w, &payer, 1, 1_000);
    let pe = engine(&payee);
    let (r1, req1) = show_request(&payee, 1, 300);
    let payment = pay_request(&mut w, &payer, &req1);
    block_on(pe.handle(&r1, Event::Scanned(payment.clone()), NOW)).unwrap();
    // The payer copies the same range into a payment for a second request of this payee
    // (a double spend a modified wallet could make).
    let (r2, req2) = show_request(&payee, 2, 300);
    let req2 = ops_core::PaymentRequest::from_bytes(&req2).unwrap();
    let mut copy = ops_core::Payment::from_bytes(&payment).unwrap();
    let mut body = copy.chains[0].spends[0].body.clone();
    body.request = req2.hash();
    copy.chains[0].spends[0] = ops_core::testing::World::spend_by(&mut w.wallets[0], body);
    let out = block_on(pe.handle(&r2, Event::Scanned(copy.to_bytes()), NOW + 1)).unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Receive(ReceiveState::Shown { .. })
    ));
    assert!(
        matches!(&out.commands[0], Command::Notify { message, .. } if message.contains("V23 "))
    );
    assert_eq!(check(&payee).came_in, 300, "counted once");
    // The two signed spends are kept as a fraud proof for the FI.
    let proofs = block_on(payee.fraud_proofs()).unwrap();
    assert_eq!(proofs.len(), 1);
    let proof = ops_core::FraudProof::from_bytes(&proofs[0]).unwrap();
    assert_eq!(
        proof.verify(&w.root, &P256Provider).unwrap().culprit,
        w.wallets[0].id()
    );
}

#[test]
fn a_payer_on_the_banks_block_list_is_refused_by_a_receiving_wallet() {
    let mut w = world(2);
    let payer = onboarded(&w, 0);
    let payee = onboarded(&w, 1);
    fund(&mut w, &payer, 1, 1_000);
    let pe = engine(&payee);
    let blocked = w.wallets[0].id().as_bytes().to_vec();
    block_on(pe.store_blocklist(1, vec![blocked])).unwrap();
    let (r1, req1) = show_request(&payee, 1, 300);
    let payment = pay_request(&mut w, &payer, &req1);
    let out = block_on(pe.handle(&r1, Event::Scanned(payment.clone()), NOW)).unwrap();
    assert!(
        matches!(&out.commands[0], Command::Notify { message, .. } if message.contains("counterparty block list")),
        "{:?}",
        out.commands
    );
    assert_eq!(
        check(&payee).came_in,
        0,
        "nothing received from a blocked payer"
    );
    // Unblocked by a newer list: the same payment is received.
    block_on(pe.store_blocklist(2, Vec::new())).unwrap();
    block_on(pe.handle(&r1, Event::Scanned(payment), NOW + 1)).unwrap();
    assert_eq!(check(&payee).came_in, 300);
}

#[test]
fn a_payment_drawing_on_three_notes_is_approved_once() {
    let mut w = world(1);
    let store = onboarded(&w, 0);
    for key in 1..=3 {
        fund(&mut w, &store, key, 100);
    }
    let request = pos_request(&w, 250, 9, NOW);
    let out = block_on(engine(&store).start_pay(&request.to_bytes(), NOW)).unwrap();
    let items: Vec<usize> = out
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Sign { items, .. } => Some(items.len()),
            _ => None,
        })
        .collect();
    assert_eq!(
        items,
        vec![1],
        "one authenticator prompt for the whole payment"
    );
    complete(&mut w, 0, &store, out.commands, NOW);
    let record = block_on(store.saga(&out.record.id)).unwrap().unwrap();
    let SagaState::Pay(crate::saga::PayState::Confirmed { payment, .. }) = record.state else {
        panic!("the payment completes: {:?}", record.state)
    };
    let payment = ops_core::Payment::from_bytes(&payment).unwrap();
    assert_eq!(payment.chains.len(), 3);
    for chain in &payment.chains {
        assert!(matches!(
            chain.spends[0].signature,
            ops_core::Signature::WebAuthnBatch(_)
        ));
    }
    // The POS accepts it: every spend verifies on its own under the one approval.
    // A POS holds its trust bundle's FI certificates.
    let mut known = w.pos_known();
    known.extend(w.fis.iter().cloned());
    let verified = w.verifier(&known, &P256Provider).verify_payment(
        &request,
        false,
        &payment,
        &ops_core::ledger::NoHistory,
        NOW,
    );
    assert!(verified.is_ok(), "{verified:?}");
}

#[test]
fn a_deposit_the_fi_holds_for_review_is_disputed_in_the_history() {
    let mut w = world(2);
    let payer = onboarded(&w, 0);
    let payee = onboarded(&w, 1);
    fund(&mut w, &payer, 1, 1_000);
    let pe = engine(&payee);
    let (r, request) = show_request(&payee, 8, 300);
    let payment = pay_request(&mut w, &payer, &request);
    block_on(pe.handle(&r, Event::Scanned(payment.clone()), NOW)).unwrap();
    let deposits = block_on(pe.start_deposits(NOW)).unwrap();
    assert_eq!(deposits.len(), 1);
    let d = deposits[0].record.id.clone();
    let held = ops_api::DepositOutcome {
        payment_hash: ops_core::Payment::from_bytes(&payment)
            .unwrap()
            .hash()
            .to_string(),
        account_id: 2,
        status: ops_api::DepositStatus::Held,
        amount: 300,
        credited: 0,
        spends_recorded: 1,
        fraud_cases: 0,
        held_id: Some(1),
    };
    let body = serde_json::to_string(&held).unwrap();
    let out = block_on(pe.handle(&d, Event::Http { status: 202, body }, NOW)).unwrap();
    assert!(
        out.commands
            .iter()
            .any(|c| matches!(c, Command::Notify { message, .. } if message.contains("reviewing"))),
        "{:?}",
        out.commands
    );
    let h = block_on(crate::store::HistoryStore::history(&payee)).unwrap();
    assert!(
        h.iter()
            .any(|e| e.saga == d && e.state == crate::types::HistoryState::Disputed),
        "{h:?}"
    );
}
