//! Attacks on the till, kept as regressions: the same payment twice and re-encoded, a
//! partial overlap with an earlier payment (both orders), two payments racing for one sale
//! (and two sales racing for one range from stale reads), a revoked payer, and a payer
//! colluding with another payee: what the till detects (a copied range reaching it through
//! any hop) and what it cannot (a copy that never reaches it, left to the FI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::testing::DeviceSigner;
use ops_core::{Chain, FraudProof, P256Provider, Payment};

use super::reason::DeclineReason;
use super::saga::{self, Decision, SaleState, TillEvent};
use super::snapshot::TillSnapshot;
use super::store::{DeclineStore, TillSagaStore, TillStore, TillStoreError};
use super::testkit::*;
use crate::testkit::NOW;

#[test]
fn the_same_payment_re_encoded_is_the_same_approval() {
    let mut w = world(2);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 300, NOW);
    let iss = note(&w, 0, 1_000, 1);
    let p = pay(&mut w, 0, &iss, (0, 300), &req, NOW);
    let first = approve(&store, &id, &p.to_bytes(), NOW).decision;
    let applied = store.applied();
    // Without the FI certificates the terminal holds anyway: other bytes, same payment.
    let lean = Payment {
        certs: vec![w.wallets[0].cert.clone()],
        chains: p.chains.clone(),
        crls: Vec::new(),
    };
    assert_ne!(lean.to_bytes(), p.to_bytes());
    assert_eq!(
        approve(&store, &id, &lean.to_bytes(), NOW + 5).decision,
        first
    );
    // The same spend body signed again (a new assertion, its signature in high-S form).
    let DeviceSigner::WebAuthn(a) = &mut w.wallets[0].signer else {
        panic!()
    };
    a.high_s = true;
    let mut resigned = p.clone();
    resigned.chains[0].spends[0] =
        ops_core::testing::World::spend_by(&mut w.wallets[0], p.chains[0].spends[0].body.clone());
    assert_ne!(resigned.to_bytes(), p.to_bytes());
    assert_eq!(resigned.hash(), p.hash());
    assert_eq!(
        approve(&store, &id, &resigned.to_bytes(), NOW + 6).decision,
        first
    );
    assert_eq!(store.applied(), applied, "nothing written for a replay");
    // The same payment shown to another sale answers that sale's request with the wrong
    // hash: declined, not a second approval.
    let (id2, _) = sale(&store, 2, 300, NOW);
    let d = decline(&store, &id2, &lean.to_bytes(), NOW + 7);
    assert_eq!((d.reason, d.rule), (DeclineReason::NotForThisSale, Some(3)));
    let b = check(&store);
    assert_eq!((b.approved_count, b.ledger, b.pending), (1, 1, 1));
}

#[test]
fn a_partial_overlap_with_an_earlier_payment_is_declined_in_either_order() {
    for (first, second) in [((0, 300), (200, 500)), ((200, 500), (0, 300))] {
        let mut w = world(1);
        let store = till(&w);
        let iss = note(&w, 0, 1_000, 1);
        let (s1, r1) = sale(&store, 1, 300, NOW);
        let (s2, r2) = sale(&store, 2, 300, NOW);
        approve(
            &store,
            &s1,
            &pay(&mut w, 0, &iss, first, &r1, NOW).to_bytes(),
            NOW,
        );
        let d = decline(
            &store,
            &s2,
            &pay(&mut w, 0, &iss, second, &r2, NOW).to_bytes(),
            NOW,
        );
        assert_eq!((d.reason, d.rule), (DeclineReason::AlreadySpent, Some(23)));
        let proofs = block_on(store.fraud_proofs()).unwrap();
        let v = FraudProof::from_bytes(&proofs[0].bytes)
            .unwrap()
            .verify(&w.root, &P256Provider)
            .unwrap();
        assert_eq!(
            (v.culprit, v.note, v.overlap),
            (w.wallets[0].id(), iss.note_id(), 100)
        );
        // The customer pays again with value not spent before: approved.
        assert!(matches!(sale_state(&store, &s2), SaleState::Open { .. }));
        approve(
            &store,
            &s2,
            &pay(&mut w, 0, &iss, (500, 800), &r2, NOW).to_bytes(),
            NOW,
        );
        let b = check(&store);
        assert_eq!((b.approved, b.ledger, b.declines), (600, 2, 1));
    }
}

#[test]
fn a_double_spend_inside_one_payment_is_declined() {
    let mut w = world(1);
    let store = till(&w);
    let iss = note(&w, 0, 1_000, 1);
    let (id, req) = sale(&store, 1, 400, NOW);
    let a = pay(&mut w, 0, &iss, (0, 200), &req, NOW);
    let b = pay(&mut w, 0, &iss, (100, 300), &req, NOW);
    let both = Payment {
        certs: a.certs.clone(),
        chains: vec![a.chains[0].clone(), b.chains[0].clone()],
        crls: Vec::new(),
    };
    let d = decline(&store, &id, &both.to_bytes(), NOW);
    assert_eq!((d.reason, d.rule), (DeclineReason::AlreadySpent, Some(22)));
    assert_eq!(block_on(store.fraud_proofs()).unwrap().len(), 1);
    assert_eq!(check(&store).ledger, 0);
}

#[test]
fn two_payments_racing_for_one_sale_pay_it_once() {
    let mut w = world(2);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 300, NOW);
    let pa = fresh_payment(&mut w, 0, 1, &req, NOW);
    let pb = fresh_payment(&mut w, 1, 2, &req, NOW);
    // Two windows read the open sale at the same version and both freeze a payment: the
    // store takes the first, refuses the second (version check inside the commit).
    let record = block_on(store.saga(&id)).unwrap().unwrap();
    let snap = block_on(TillSnapshot::load(&store)).unwrap();
    let ta = saga::advance(&record, TillEvent::Presented(pa.clone()), &snap, NOW).unwrap();
    let tb = saga::advance(&record, TillEvent::Presented(pb.clone()), &snap, NOW).unwrap();
    block_on(store.apply(ta.batch)).unwrap();
    let err = block_on(store.apply(tb.batch)).unwrap_err();
    assert!(
        matches!(err, TillStoreError::VersionConflict { .. }),
        "{err:?}"
    );
    // Window B's engine sees the sale taken: its payment is declined. Window A decides.
    let window_b = engine(&store);
    let d = match block_on(window_b.present(&id, &pb, NOW)).unwrap().decision {
        Decision::Declined(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.reason, DeclineReason::SaleAlreadyPaid);
    let a = block_on(engine(&store).decide(&id, NOW)).unwrap();
    assert!(matches!(a.decision, Decision::Approved(_)));
    // B presents again after the approval: still declined; A's payment again: same approval.
    assert_eq!(
        decline(&store, &id, &pb, NOW).reason,
        DeclineReason::SaleAlreadyPaid
    );
    assert_eq!(present(&store, &id, &pa, NOW).decision, a.decision);
    let books = check(&store);
    assert_eq!((books.approved, books.ledger, books.pending), (300, 1, 1));
}

#[test]
fn two_sales_racing_for_one_range_from_stale_reads_accept_it_once() {
    let mut w = world(1);
    let store = till(&w);
    let iss = note(&w, 0, 1_000, 1);
    let (s1, r1) = sale(&store, 1, 300, NOW);
    let (s2, r2) = sale(&store, 2, 300, NOW);
    let p1 = pay(&mut w, 0, &iss, (0, 300), &r1, NOW).to_bytes();
    let p2 = pay(&mut w, 0, &iss, (0, 300), &r2, NOW).to_bytes();
    let e = engine(&store);
    for (s, p) in [(&s1, &p1), (&s2, &p2)] {
        block_on(e.step(s, TillEvent::Presented(p.clone()), NOW)).unwrap();
    }
    // Both windows decide before either commits: each sees an empty ledger, each would
    // approve. The ledger guard inside the commit refuses the second.
    let decide = |s: &crate::SagaId, p: &[u8]| {
        let record = block_on(store.saga(s)).unwrap().unwrap();
        let mut snap = block_on(TillSnapshot::load(&store)).unwrap();
        block_on(snap.load_ledger_for(&store, &Payment::from_bytes(p).unwrap())).unwrap();
        saga::advance(&record, TillEvent::Decide, &snap, NOW).unwrap()
    };
    let (t1, t2) = (decide(&s1, &p1), decide(&s2, &p2));
    block_on(store.apply(t1.batch)).unwrap();
    let err = block_on(store.apply(t2.batch)).unwrap_err();
    assert!(
        matches!(err, TillStoreError::SpendRecorded { .. }),
        "{err:?}"
    );
    // Deciding again reads the ledger as it is now: a double spend, proof kept.
    let d = match block_on(e.decide(&s2, NOW)).unwrap().decision {
        Decision::Declined(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.reason, DeclineReason::AlreadySpent);
    assert_eq!(block_on(store.fraud_proofs()).unwrap().len(), 1);
    let books = check(&store);
    assert_eq!((books.approved, books.ledger), (300, 1));
}

#[test]
fn a_revoked_payer_is_declined_anywhere_on_the_chain() {
    let mut w = world(2);
    let store = till(&w);
    w.publish_crls(NOW, &[w.wallets[1].cert.body.serial], &P256Provider);
    for crl in w.crls.iter() {
        block_on(engine(&store).store_crl(&crl.to_bytes(), NOW)).unwrap();
    }
    let (id, req) = sale(&store, 1, 300, NOW);
    // Wallet 1 pays directly.
    let b = fresh_payment(&mut w, 1, 1, &req, NOW);
    assert_eq!(
        decline(&store, &id, &b, NOW).reason,
        DeclineReason::CertificateRevoked
    );
    // Wallet 1 passed the note on to wallet 0, who pays: the revoked signer is a hop.
    let iss = note(&w, 1, 1_000, 2);
    let w0 = w.wallets[0].id();
    let hop = spend(
        &mut w,
        1,
        iss.note_id(),
        (0, 300),
        w0,
        ops_core::Digest32([7; 32]),
        NOW - 60,
    );
    let last = spend(&mut w, 0, hop.id(), (0, 300), req.payee, req.hash(), NOW);
    let chained = Payment {
        certs: certs(&w, &[0, 1]),
        chains: vec![Chain {
            issuance: iss,
            spends: vec![hop, last],
        }],
        crls: Vec::new(),
    }
    .canonical();
    let d = decline(&store, &id, &chained.to_bytes(), NOW);
    assert_eq!(
        (d.reason, d.rule),
        (DeclineReason::CertificateRevoked, Some(16))
    );
    assert_eq!(check(&store).ledger, 0);
    // A terminal whose CRL predates the revocation cannot know: it approves a small
    // payment (floor limit: no CRL age required up to 2 000), and the FI settles it for
    // the payee within its revocation window (PROTOCOL.md §8).
    let stale = till(&ops_core::testing::World::new(2));
    let (id, req) = sale(&stale, 1, 300, NOW);
    approve(&stale, &id, &fresh_payment(&mut w, 1, 3, &req, NOW), NOW);
}

/// A payer copies a range to a colluding payee (wallet 1) and to this till.
#[test]
fn a_copy_that_reaches_the_till_through_a_colluder_is_caught_in_either_order() {
    for colluder_first in [false, true] {
        let mut w = world(2);
        let store = till(&w);
        let iss = note(&w, 0, 1_000, 1);
        let (direct_sale, r1) = sale(&store, 1, 300, NOW);
        let (relay_sale, r2) = sale(&store, 2, 300, NOW);
        let direct = pay(&mut w, 0, &iss, (0, 300), &r1, NOW);
        // Wallet 0 "pays" wallet 1 the same range; wallet 1 spends it on at the till.
        let w1 = w.wallets[1].id();
        let copy = spend(
            &mut w,
            0,
            iss.note_id(),
            (0, 300),
            w1,
            ops_core::Digest32([9; 32]),
            NOW - 30,
        );
        let relay_spend = spend(&mut w, 1, copy.id(), (0, 300), r2.payee, r2.hash(), NOW);
        let relay = Payment {
            certs: certs(&w, &[0, 1]),
            chains: vec![Chain {
                issuance: iss.clone(),
                spends: vec![copy.clone(), relay_spend],
            }],
            crls: Vec::new(),
        }
        .canonical();
        let (first, second) = if colluder_first {
            ((&relay_sale, &relay), (&direct_sale, &direct))
        } else {
            ((&direct_sale, &direct), (&relay_sale, &relay))
        };
        approve(&store, first.0, &first.1.to_bytes(), NOW);
        let d = decline(&store, second.0, &second.1.to_bytes(), NOW);
        assert_eq!((d.reason, d.rule), (DeclineReason::AlreadySpent, Some(23)));
        let proof =
            FraudProof::from_bytes(&block_on(store.fraud_proofs()).unwrap()[0].bytes).unwrap();
        let v = proof.verify(&w.root, &P256Provider).unwrap();
        assert_eq!(
            v.culprit,
            w.wallets[0].id(),
            "the payer who copied, not the relay"
        );
        // The till records provenance spends too: the relay's hop is in its ledger.
        let b = check(&store);
        assert_eq!(b.ledger, if colluder_first { 2 } else { 1 });
    }
}

#[test]
fn a_copy_that_never_reaches_the_till_is_left_to_the_fi() {
    let mut w = world(2);
    let store = till(&w);
    let iss = note(&w, 0, 1_000, 1);
    let w1 = w.wallets[1].id();
    // Wallet 0 gives [0, 300) to wallet 1 offline; wallet 1 keeps it away from this till.
    let elsewhere = spend(
        &mut w,
        0,
        iss.note_id(),
        (0, 300),
        w1,
        ops_core::Digest32([9; 32]),
        NOW - 30,
    );
    let (id, req) = sale(&store, 1, 300, NOW);
    let here = pay(&mut w, 0, &iss, (0, 300), &req, NOW);
    // The till has seen only one spend of the range: it approves. Nothing offline can
    // tell it otherwise.
    approve(&store, &id, &here.to_bytes(), NOW);
    // At settlement the FI sees both spends and proves the payer's fault; the till is paid
    // (guaranteed settlement), the culprit's account is debited.
    let proof = FraudProof::new(
        elsewhere,
        here.chains[0].spends[0].clone(),
        w.wallets[0].cert.clone(),
        w.fis[0].clone(),
    );
    let v = proof.verify(&w.root, &P256Provider).unwrap();
    assert_eq!((v.culprit, v.overlap), (w.wallets[0].id(), 300));
}

#[test]
fn bad_input_leaves_the_till_unchanged() {
    let mut w = world(2);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 300, NOW);
    let good = fresh_payment(&mut w, 0, 1, &req, NOW);
    let mut other_terminal = req.clone();
    other_terminal.payee = w.wallets[1].id();
    let foreign = fresh_payment(&mut w, 0, 2, &other_terminal, NOW);
    let huge = vec![0xa5; 40 * 1024];
    for (bytes, reason) in [
        (b"".to_vec(), DeclineReason::Unreadable),
        (b"\xff\x00garbage".to_vec(), DeclineReason::Unreadable),
        (good[..good.len() / 2].to_vec(), DeclineReason::Unreadable),
        (huge, DeclineReason::Unreadable),
        (foreign, DeclineReason::NotForThisSale),
    ] {
        let before = check(&store);
        assert_eq!(decline(&store, &id, &bytes, NOW).reason, reason);
        let after = check(&store);
        assert_eq!(
            (after.ledger, after.pending),
            (before.ledger, before.pending)
        );
        assert!(matches!(sale_state(&store, &id), SaleState::Open { .. }));
    }
    approve(&store, &id, &good, NOW);
}
