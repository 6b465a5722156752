//! Sale tests: an approval is stored before it is shown and receipted, each decline
//! reason provoked once (with the rule behind it, the till and its ledger unchanged), bad
//! sale input, the same nonce, cancel and expiry, receipt signatures (software and
//! WebAuthn keys), set-up checks, and a wallet engine paying the till natively.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::testing::{DAY, T0, sign_body};
use ops_core::{Chain, FraudProof, IssuanceBody, P256Provider, Payment, PaymentRequest, Receipt};

use super::error::{TillError, TillSagaError};
use super::reason::DeclineReason;
use super::saga::{Decision, ReceiptSigner, SaleState, TillCommand, TillEvent};
use super::store::{
    DeclineStore, PaymentStore, QueueStore, TillMemoryStore, TillSagaStore, TillTrustStore,
};
use super::testkit::*;
use super::types::DepositStatus;
use crate::testkit::{NOW, bundle};

#[test]
fn an_approval_is_stored_before_it_is_shown_then_receipted() {
    let mut w = world(1);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 300, NOW);
    let bytes = fresh_payment(&mut w, 0, 1, &req, NOW);
    let applied = store.applied();
    let p = approve(&store, &id, &bytes, NOW + 2);
    assert_eq!(
        store.applied(),
        applied + 2,
        "frozen, then decided: two commits"
    );
    let Decision::Approved(a) = &p.decision else {
        unreachable!()
    };
    let pay = Payment::from_bytes(&bytes).unwrap();
    assert_eq!((a.amount, a.currency.as_str(), a.at), (300, "EUR", NOW + 2));
    assert_eq!(a.payment, pay.hash());
    assert_eq!(a.short_id.len(), 9);
    // Everything the approval relies on is in the store.
    let stored = block_on(store.payment(&a.payment)).unwrap().unwrap();
    assert_eq!((stored.amount, &stored.bytes), (300, &bytes));
    assert_eq!(stored.payer, Some(w.wallets[0].id()));
    let ledger = block_on(store.ledger()).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].spend, pay.chains[0].spends[0].id());
    let q = block_on(store.queue_entry(&a.payment)).unwrap().unwrap();
    assert_eq!((q.status, q.amount), (DepositStatus::Pending, 300));
    // The app shows the decision, then signs the receipt with the terminal's key.
    assert!(matches!(
        p.commands[0],
        TillCommand::Decided(Decision::Approved(_))
    ));
    let Some(TillCommand::SignReceipt { sale, body, signer }) = p.commands.get(1).cloned() else {
        panic!("{:?}", p.commands)
    };
    assert_eq!(signer, ReceiptSigner::Software);
    let out = block_on(engine(&store).handle(
        &sale,
        TillEvent::ReceiptSigned(sign_receipt(&w, &body)),
        NOW + 3,
    ))
    .unwrap();
    let Some(TillCommand::ShowReceipt { bytes: receipt, .. }) = out.commands.first().cloned()
    else {
        panic!("{:?}", out.commands)
    };
    // What the customer's wallet checks: the terminal's signature over this payment.
    let r = Receipt::from_bytes(&receipt).unwrap();
    r.verify(&w.pos.cert, &P256Provider).unwrap();
    assert_eq!((r.body.payment, r.body.request), (pay.hash(), req.hash()));
    assert_eq!((r.body.amount, r.body.time), (300, NOW + 2));
    // A reload shows the same receipt bytes.
    let again = block_on(engine(&store).resume(&id)).unwrap();
    assert_eq!(
        again,
        vec![TillCommand::ShowReceipt {
            sale: id.clone(),
            bytes: receipt
        }]
    );
    let books = check(&store);
    assert_eq!((books.approved, books.ledger, books.pending), (300, 1, 1));
}

#[test]
fn the_same_payment_twice_is_one_approval() {
    let mut w = world(1);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 300, NOW);
    let bytes = fresh_payment(&mut w, 0, 1, &req, NOW);
    let first = approve(&store, &id, &bytes, NOW + 1);
    let applied = store.applied();
    let second = approve(&store, &id, &bytes, NOW + 9);
    assert_eq!(
        first.decision, second.decision,
        "the same approval, same time"
    );
    assert_eq!(store.applied(), applied, "nothing written");
    let books = check(&store);
    assert_eq!(
        (books.approved_count, books.ledger, books.declines),
        (1, 1, 0)
    );
}

/// One decline case: the sale, the bytes, and what the till must say.
/// A payment of `request`'s amount from a note of wallet 0 under a certificate with
/// `(max_payment, max_without_uv)` (and no UV demanded by its WebAuthn policy), signed with
/// the UV flag set or not.
fn limited_payment(
    w: &mut ops_core::testing::World,
    seed: u8,
    request: &PaymentRequest,
    limits: (Option<u64>, Option<u64>),
    uv: bool,
) -> Vec<u8> {
    let cert = recertify(w, 0, |c| {
        c.limits.max_payment = limits.0;
        c.limits.max_without_uv = limits.1;
        if let Some(p) = c.webauthn.as_mut() {
            p.user_verification = false;
        }
    });
    let iss = sign_body(
        IssuanceBody {
            owner: cert.id(),
            ..note(w, 0, 1_000, seed).body
        },
        &w.fi_keys[0],
    );
    let mut holder = w.wallets[0].clone();
    if let ops_core::testing::DeviceSigner::WebAuthn(a) = &mut holder.signer
        && !uv
    {
        a.flags &= !ops_core::webauthn::flags::UV;
    }
    let s = ops_core::testing::World::spend_by(
        &mut holder,
        ops_core::SpendBody {
            input: iss.note_id(),
            from: 0,
            to: request.amount,
            payee: request.payee,
            request: request.hash(),
            time: NOW,
        },
    );
    Payment {
        certs: vec![cert, w.fis[0].clone()],
        chains: vec![Chain {
            issuance: iss,
            spends: vec![s],
        }],
        crls: Vec::new(),
    }
    .canonical()
    .to_bytes()
}

fn declined(
    store: &TillMemoryStore,
    id: &crate::SagaId,
    bytes: &[u8],
    now: u64,
    reason: DeclineReason,
    rule: Option<u8>,
) -> super::types::Decline {
    let before = check(store);
    let d = decline(store, id, bytes, now);
    assert_eq!((d.reason, d.rule), (reason, rule), "{}", d.detail);
    assert_eq!(d.sale.as_ref(), Some(id));
    let after = check(store);
    assert_eq!(
        (after.ledger, after.approved, after.pending),
        (before.ledger, before.approved, before.pending),
        "{reason:?}: the ledger and the queue are unchanged"
    );
    assert_eq!(after.declines, before.declines + 1, "logged once");
    d
}

#[test]
fn every_decline_reason_is_provoked_once() {
    let mut w = world(3);
    let store = till(&w);
    let mut seen = Vec::new();
    let mut note_seed = 10;
    let mut next = || {
        note_seed += 1;
        note_seed
    };

    // Expired request: the sale closes.
    let (id, req) = sale(&store, 1, 300, NOW);
    let b = fresh_payment(&mut w, 0, next(), &req, NOW + 301);
    seen.push(
        declined(
            &store,
            &id,
            &b,
            NOW + 301,
            DeclineReason::RequestExpired,
            Some(2),
        )
        .reason,
    );
    assert!(matches!(sale_state(&store, &id), SaleState::Expired { .. }));

    // Cancelled sale.
    let (id, req) = sale(&store, 2, 300, NOW);
    block_on(engine(&store).cancel(&id, NOW)).unwrap();
    let b = fresh_payment(&mut w, 0, next(), &req, NOW);
    seen.push(declined(&store, &id, &b, NOW, DeclineReason::SaleCancelled, None).reason);

    // A second payment for a paid sale.
    let (id, req) = sale(&store, 3, 300, NOW);
    let b = fresh_payment(&mut w, 0, next(), &req, NOW);
    approve(&store, &id, &b, NOW);
    let other = fresh_payment(&mut w, 1, next(), &req, NOW);
    seen.push(
        declined(
            &store,
            &id,
            &other,
            NOW,
            DeclineReason::SaleAlreadyPaid,
            None,
        )
        .reason,
    );
    assert!(matches!(
        sale_state(&store, &id),
        SaleState::Approved { .. }
    ));

    // Wrong amount; the sale stays open and is shown again.
    let (id, req) = sale(&store, 4, 300, NOW);
    let iss = note(&w, 0, 1_000, next());
    let b = pay(&mut w, 0, &iss, (0, 299), &req, NOW).to_bytes();
    seen.push(declined(&store, &id, &b, NOW, DeclineReason::WrongAmount, Some(5)).reason);
    assert!(matches!(sale_state(&store, &id), SaleState::Open { .. }));

    // Wrong currency.
    let iss = note_with(&w, 0, 1_000, next(), |b| b.currency = "USD".into());
    let b = pay(&mut w, 0, &iss, (0, 300), &req, NOW).to_bytes();
    seen.push(declined(&store, &id, &b, NOW, DeclineReason::WrongCurrency, Some(6)).reason);

    // For another terminal's request (V3), and naming this request but paying someone
    // else (V4).
    let mut foreign = req.clone();
    foreign.payee = w.wallets[2].id();
    foreign.nonce = ops_core::Nonce([99; 16]);
    let iss = note(&w, 0, 1_000, next());
    let b = pay(&mut w, 0, &iss, (0, 300), &foreign, NOW).to_bytes();
    seen.push(declined(&store, &id, &b, NOW, DeclineReason::NotForThisSale, Some(3)).reason);
    let other_payee = w.wallets[2].id();
    let s = spend(
        &mut w,
        0,
        iss.note_id(),
        (0, 300),
        other_payee,
        req.hash(),
        NOW,
    );
    let b = Payment {
        certs: certs(&w, &[0]),
        chains: vec![Chain {
            issuance: iss.clone(),
            spends: vec![s],
        }],
        crls: Vec::new(),
    }
    .canonical()
    .to_bytes();
    declined(&store, &id, &b, NOW, DeclineReason::NotForThisSale, Some(4));

    // A certificate not valid when it was used (expired the day before).
    let old = recertify(&w, 0, |c| c.not_after = T0);
    let iss = sign_body(
        IssuanceBody {
            owner: old.id(),
            ..note(&w, 0, 1_000, next()).body
        },
        &w.fi_keys[0],
    );
    let s = spend(
        &mut w,
        0,
        iss.note_id(),
        (0, 300),
        req.payee,
        req.hash(),
        NOW,
    );
    let b = Payment {
        certs: vec![old, w.fis[0].clone()],
        chains: vec![Chain {
            issuance: iss,
            spends: vec![s],
        }],
        crls: Vec::new(),
    }
    .canonical()
    .to_bytes();
    seen.push(
        declined(
            &store,
            &id,
            &b,
            NOW,
            DeclineReason::CertificateExpired,
            Some(13),
        )
        .reason,
    );

    // Expired money.
    let iss = note_with(&w, 0, 1_000, next(), |b| b.expires = NOW - 1_000);
    let b = pay(&mut w, 0, &iss, (0, 300), &req, NOW).to_bytes();
    seen.push(declined(&store, &id, &b, NOW, DeclineReason::MoneyExpired, Some(14)).reason);

    // A spend dated in the terminal's future (the phone's clock is 20 minutes ahead).
    let iss = note(&w, 0, 1_000, next());
    let b = pay(&mut w, 0, &iss, (0, 300), &req, NOW + 1_200).to_bytes();
    seen.push(declined(&store, &id, &b, NOW, DeclineReason::ClockMismatch, Some(15)).reason);

    // Tampered: a spend's time changed after signing (V20), an issuance signed by the
    // wrong FI (V19).
    let iss = note(&w, 0, 1_000, next());
    let mut p = pay(&mut w, 0, &iss, (0, 300), &req, NOW);
    p.chains[0].spends[0].body.time += 1;
    seen.push(
        declined(
            &store,
            &id,
            &p.to_bytes(),
            NOW,
            DeclineReason::Tampered,
            Some(20),
        )
        .reason,
    );
    let forged = sign_body(note(&w, 0, 1_000, next()).body, &w.fi_keys[1]);
    let b = pay(&mut w, 0, &forged, (0, 300), &req, NOW).to_bytes();
    declined(&store, &id, &b, NOW, DeclineReason::Tampered, Some(19));

    // Unreadable: garbage, and a payment cut short.
    seen.push(
        declined(
            &store,
            &id,
            b"not a payment",
            NOW,
            DeclineReason::Unreadable,
            None,
        )
        .reason,
    );
    let good = fresh_payment(&mut w, 0, next(), &req, NOW);
    declined(
        &store,
        &id,
        &good[..good.len() - 7],
        NOW,
        DeclineReason::Unreadable,
        None,
    );

    // Value already spent: the fraud proof is kept, and it proves the payer's fault.
    let iss = note(&w, 0, 1_000, next());
    let b = pay(&mut w, 0, &iss, (0, 300), &req, NOW).to_bytes();
    approve(&store, &id, &b, NOW);
    let (id2, req2) = sale(&store, 5, 300, NOW);
    let b2 = pay(&mut w, 0, &iss, (100, 400), &req2, NOW).to_bytes();
    seen.push(
        declined(
            &store,
            &id2,
            &b2,
            NOW,
            DeclineReason::AlreadySpent,
            Some(23),
        )
        .reason,
    );
    let proofs = block_on(store.fraud_proofs()).unwrap();
    assert_eq!(proofs.len(), 1);
    let verdict = FraudProof::from_bytes(&proofs[0].bytes)
        .unwrap()
        .verify(&w.root, &P256Provider)
        .unwrap();
    assert_eq!((verdict.culprit, verdict.overlap), (w.wallets[0].id(), 200));

    // Revoked payer: the CRL that revokes wallet 1 reaches the terminal.
    w.publish_crls(NOW, &[w.wallets[1].cert.body.serial], &P256Provider);
    for crl in w.crls.iter() {
        block_on(engine(&store).store_crl(&crl.to_bytes(), NOW)).unwrap();
    }
    let b = fresh_payment(&mut w, 1, next(), &req2, NOW);
    seen.push(
        declined(
            &store,
            &id2,
            &b,
            NOW,
            DeclineReason::CertificateRevoked,
            Some(16),
        )
        .reason,
    );

    // Over the FI's hop limit (4): five spends, wallet 0 → 1 → 2 → 0 → 1 → the till.
    let iss = note(&w, 0, 1_000, next());
    let mut input = iss.note_id();
    let mut spends = Vec::new();
    let order = [0usize, 1, 2, 0, 2];
    for (h, &i) in order.iter().enumerate() {
        let last = h + 1 == order.len();
        let (payee, request) = if last {
            (req2.payee, req2.hash())
        } else {
            (
                w.wallets[order[h + 1]].id(),
                ops_core::Digest32([h as u8; 32]),
            )
        };
        let s = spend(
            &mut w,
            i,
            input,
            (0, 300),
            payee,
            request,
            NOW - 10 + h as u64,
        );
        input = s.id();
        spends.push(s);
    }
    let p = Payment {
        certs: certs(&w, &[0, 1, 2]),
        chains: vec![Chain {
            issuance: iss,
            spends,
        }],
        crls: Vec::new(),
    }
    .canonical();
    seen.push(
        declined(
            &store,
            &id2,
            &p.to_bytes(),
            NOW,
            DeclineReason::TooManyHops,
            Some(9),
        )
        .reason,
    );

    // Above the offline limit (the root's highest floor tier is 500 000).
    let (id3, req3) = sale(&store, 6, 600_000, NOW);
    let b = fresh_payment(&mut w, 0, next(), &req3, NOW);
    seen.push(
        declined(
            &store,
            &id3,
            &b,
            NOW,
            DeclineReason::AboveOfflineLimit,
            Some(18),
        )
        .reason,
    );
    assert_eq!(
        block_on(engine(&store).offline_limit()).unwrap(),
        Some(500_000)
    );

    // A revocation list too old for the amount: 8 days old, and 5 000 needs one of at most
    // 7 days (small amounts need none).
    let mut stale = ops_core::testing::World::new(1);
    stale.publish_crls(NOW - 8 * DAY, &[], &P256Provider);
    let old_till = TillMemoryStore::new();
    let e = engine(&old_till);
    block_on(e.onboard(till_identity(&stale), bundle(&stale))).unwrap();
    for crl in stale.crls.iter() {
        block_on(e.store_crl(&crl.to_bytes(), NOW - 8 * DAY)).unwrap();
    }
    let (id4, req4) = sale(&old_till, 7, 5_000, NOW);
    let b = fresh_payment(&mut stale, 0, 90, &req4, NOW);
    seen.push(declined(&old_till, &id4, &b, NOW, DeclineReason::CrlTooOld, Some(17)).reason);
    let (id5, req5) = sale(&old_till, 8, 2_000, NOW);
    let b = fresh_payment(&mut stale, 0, 91, &req5, NOW);
    approve(&old_till, &id5, &b, NOW);

    // The wallet's bank limits one offline payment (V26), and what it pays without the
    // holder's PIN or biometrics (V27).
    let (id6, req6) = sale(&store, 9, 300, NOW);
    let b = limited_payment(&mut w, next(), &req6, (Some(299), None), true);
    seen.push(
        declined(
            &store,
            &id6,
            &b,
            NOW,
            DeclineReason::AboveWalletLimit,
            Some(26),
        )
        .reason,
    );
    let b = limited_payment(&mut w, next(), &req6, (None, Some(299)), false);
    let d = declined(
        &store,
        &id6,
        &b,
        NOW,
        DeclineReason::NeedsUserVerification,
        Some(27),
    );
    seen.push(d.reason);
    // Within both limits, and above the one without UV when verified: approved.
    let b = limited_payment(&mut w, next(), &req6, (Some(300), Some(100)), true);
    approve(&store, &id6, &b, NOW);

    // A payer on the bank's counterparty block list (PROTOCOL.md §6.1), which reaches the
    // terminal with the trust bundle at a sync.
    let (id7, req7) = sale(&store, 10, 300, NOW);
    let b = fresh_payment(&mut w, 2, next(), &req7, NOW);
    let payer = Payment::from_bytes(&b).unwrap().chains[0]
        .spends_with_signers()
        .last()
        .unwrap()
        .1;
    let list = sign_body(
        ops_core::BlockListBody {
            issuer: w.fis[0].id(),
            number: 1,
            issued: NOW,
            blocked: vec![payer],
        },
        &w.fi_keys[0],
    );
    let mut listed = bundle(&w);
    listed.blocklist = Some(list.to_bytes());
    block_on(engine(&store).refresh_trust(listed.clone(), NOW)).unwrap();
    let d = declined(
        &store,
        &id7,
        &b,
        NOW,
        DeclineReason::BlockedCounterparty,
        None,
    );
    seen.push(d.reason);
    // A list signed by another FI than the one it names is not trusted: ignored.
    let forged = sign_body(list.body.clone(), &w.fi_keys[1]);
    listed.blocklist = Some(forged.to_bytes());
    block_on(engine(&store).refresh_trust(listed, NOW)).unwrap();
    approve(&store, &id7, &b, NOW);

    seen.sort();
    seen.dedup();
    let mut all = DeclineReason::ALL.to_vec();
    all.sort();
    assert_eq!(seen, all, "every reason provoked");
    // The words the cashier sees come with the decision.
    let d = block_on(store.declines_between(0, u64::MAX)).unwrap();
    assert!(d.iter().all(|d| !d.reason.customer().is_empty()));
}

#[test]
fn sale_input_is_checked() {
    let w = world(1);
    let store = till(&w);
    let e = engine(&store);
    let bad = |ask: super::NewSale| {
        let err = block_on(e.new_sale(&ask, NOW)).unwrap_err();
        assert!(
            matches!(err, TillError::Saga(TillSagaError::BadSale(_))),
            "{err}"
        );
    };
    bad(e.ask([1; 16], 0, "EUR", None));
    bad(e.ask([1; 16], 10, "eur", None));
    bad(e.ask([1; 16], 10, "", None));
    bad(e.ask([1; 16], 10, "EUR", Some("x".repeat(65))));
    bad(e.ask([1; 16], 10, "EUR", Some("line\nbreak".into())));
    let mut long = e.ask([1; 16], 10, "EUR", None);
    long.lifetime = 2 * DAY;
    bad(long);
    assert!(block_on(store.sagas()).unwrap().is_empty());
    // A blank reference is none; a reference travels in the request's label.
    let out = block_on(e.new_sale(&e.ask([2; 16], 10, "EUR", Some("  ".into())), NOW)).unwrap();
    let SaleState::Open { request } = sale_state(&store, &out.record.id) else {
        panic!()
    };
    assert_eq!(PaymentRequest::from_bytes(&request).unwrap().label, None);
    let out =
        block_on(e.new_sale(&e.ask([3; 16], 10, "EUR", Some(" Order 42 ".into())), NOW)).unwrap();
    let req = PaymentRequest::from_bytes(sale_state(&store, &out.record.id).request()).unwrap();
    assert_eq!(req.label.as_deref(), Some("Order 42"));
    assert_eq!(req.certs, vec![w.pos.cert.clone(), w.fis[0].clone()]);
    assert_eq!(req.expires, NOW + 300);
    // A terminal that is not set up cannot sell.
    let empty = TillMemoryStore::new();
    let err = block_on(engine(&empty).new_sale(&e.ask([4; 16], 10, "EUR", None), NOW)).unwrap_err();
    assert_eq!(err, TillError::Saga(TillSagaError::NotSetUp));
}

#[test]
fn the_same_nonce_shows_the_same_request_and_closed_sales_stay_closed() {
    let w = world(1);
    let store = till(&w);
    let e = engine(&store);
    let ask = e.ask([1; 16], 300, "EUR", None);
    let first = block_on(e.new_sale(&ask, NOW)).unwrap();
    let again = block_on(e.new_sale(&ask, NOW + 50)).unwrap();
    assert_eq!(first.commands, again.commands, "the same request bytes");
    assert_eq!(again.record.version, 0, "nothing written");
    block_on(e.cancel(&first.record.id, NOW + 60)).unwrap();
    assert!(block_on(e.new_sale(&ask, NOW + 70)).is_err());
    // Cancelling twice is refused as a stale button.
    let err = block_on(e.cancel(&first.record.id, NOW + 80)).unwrap_err();
    assert!(matches!(
        err,
        TillError::Saga(TillSagaError::WrongState { .. })
    ));
}

#[test]
fn open_sales_expire_when_due() {
    let w = world(1);
    let store = till(&w);
    let (a, _) = sale(&store, 1, 100, NOW);
    let (b, _) = sale(&store, 2, 100, NOW + 200);
    let e = engine(&store);
    let err = block_on(e.step(&a, TillEvent::Expire, NOW + 300)).unwrap_err();
    assert!(
        matches!(err, TillError::Saga(TillSagaError::Nothing(_))),
        "not yet"
    );
    let out = block_on(e.expire_due(NOW + 301)).unwrap();
    assert_eq!(out.len(), 1);
    assert!(matches!(sale_state(&store, &a), SaleState::Expired { .. }));
    assert!(matches!(sale_state(&store, &b), SaleState::Open { .. }));
    assert_eq!(block_on(e.expire_due(NOW + 501)).unwrap().len(), 1);
    assert!(block_on(e.expire_due(NOW + 999)).unwrap().is_empty());
}

#[test]
fn receipt_signatures_are_checked() {
    let mut w = world(2);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 300, NOW);
    let p = approve(&store, &id, &fresh_payment(&mut w, 0, 1, &req, NOW), NOW);
    let Some(TillCommand::SignReceipt { body, .. }) = p.commands.get(1).cloned() else {
        panic!()
    };
    let e = engine(&store);
    // Another key's signature, and a signature of the wrong size.
    let foreign = {
        let other = ops_core::sig::SoftwareKey::from_secret(&[7; 32]).unwrap();
        let ops_core::Signature::Es256(raw) = other.sign(&body) else {
            panic!()
        };
        super::TerminalSignature::Es256(raw.to_vec())
    };
    for sig in [foreign, super::TerminalSignature::Es256(vec![1; 63])] {
        let err = block_on(e.handle(&id, TillEvent::ReceiptSigned(sig), NOW)).unwrap_err();
        assert!(
            matches!(err, TillError::Saga(TillSagaError::Signature(_))),
            "{err}"
        );
    }
    assert!(matches!(
        sale_state(&store, &id),
        SaleState::Approved { .. }
    ));
    // Going on without a receipt.
    let out = block_on(e.handle(&id, TillEvent::NoReceipt, NOW)).unwrap();
    assert!(out.commands.is_empty());
    assert!(matches!(
        sale_state(&store, &id),
        SaleState::Completed { receipt: None, .. }
    ));
}

#[test]
fn a_terminal_with_a_passkey_signs_receipts_with_webauthn() {
    let mut w = world(2);
    // Wallet 1's WebAuthn certificate plays a terminal registered with a passkey.
    let identity = super::TillIdentity {
        terminal_cert: w.wallets[1].cert.to_bytes(),
        fi_cert: w.fis[1].to_bytes(),
        credential_id: Some(vec![5; 16]),
        account_id: 5,
    };
    let store = TillMemoryStore::new();
    let e = engine(&store);
    let mut without = identity.clone();
    without.credential_id = None;
    assert!(
        block_on(e.onboard(without, bundle(&w))).is_err(),
        "a passkey needs its id"
    );
    block_on(e.onboard(identity, bundle(&w))).unwrap();
    for crl in w.crls.iter() {
        block_on(e.store_crl(&crl.to_bytes(), NOW)).unwrap();
    }
    let (id, req) = sale(&store, 1, 300, NOW);
    assert_eq!(req.payee, w.wallets[1].id());
    let p = approve(&store, &id, &fresh_payment(&mut w, 0, 1, &req, NOW), NOW);
    let Some(TillCommand::SignReceipt { body, signer, .. }) = p.commands.get(1).cloned() else {
        panic!()
    };
    let ReceiptSigner::WebAuthn(item) = signer else {
        panic!("{signer:?}")
    };
    assert_eq!(item.challenge, ops_core::ids::sha256(&body));
    assert_eq!(
        (
            item.rp_id.as_str(),
            item.credential_id.clone(),
            item.user_verification
        ),
        ("wallet.example", vec![5; 16], true)
    );
    let sig = assert_with(&mut w, 1, &item.challenge);
    let out = block_on(e.handle(&id, TillEvent::ReceiptSigned(sig), NOW)).unwrap();
    let Some(TillCommand::ShowReceipt { bytes, .. }) = out.commands.first() else {
        panic!()
    };
    Receipt::from_bytes(bytes)
        .unwrap()
        .verify(&w.wallets[1].cert, &P256Provider)
        .unwrap();
}

#[test]
fn set_up_checks_the_chain_and_keeps_the_pinned_root() {
    let w = world(1);
    let other = {
        let mut o = ops_core::testing::World::new(1);
        o.root = sign_body(
            ops_core::CertBody {
                name: Some("Another bank".into()),
                ..o.root.body.clone()
            },
            &o.root_key,
        );
        o
    };
    let store = TillMemoryStore::new();
    let e = engine(&store);
    // The terminal's certificate from the wrong FI, a bundle with another root.
    let mut wrong_fi = till_identity(&w);
    wrong_fi.fi_cert = w.fis[1].to_bytes();
    assert!(block_on(e.onboard(wrong_fi, bundle(&w))).is_err());
    let mut foreign = bundle(&w);
    foreign.root = other.root.to_bytes();
    assert!(block_on(e.onboard(till_identity(&w), foreign.clone())).is_err());
    assert_eq!(block_on(store.identity()).unwrap(), None);
    block_on(e.onboard(till_identity(&w), bundle(&w))).unwrap();
    // A refresh may change the FIs, never the root.
    let err = block_on(e.refresh_trust(foreign, NOW)).unwrap_err();
    assert!(
        matches!(err, TillError::Saga(TillSagaError::Untrusted(_))),
        "{err}"
    );
    let mut fewer = bundle(&w);
    fewer.fis.truncate(1);
    block_on(e.refresh_trust(fewer.clone(), NOW + 5)).unwrap();
    assert_eq!(block_on(store.trust_bundle()).unwrap(), Some(fewer));
    assert_eq!(block_on(store.last_online()).unwrap(), Some(NOW + 5));
    // A CRL from an issuer no longer in the bundle, or forged, is refused.
    for crl in w.crls.iter() {
        let kept = block_on(e.store_crl(&crl.to_bytes(), NOW));
        assert_eq!(kept.is_ok(), crl.body.issuer != w.fis[1].id(), "{kept:?}");
    }
    let mut forged = w.crls.iter().next().unwrap().clone();
    forged.body.number += 1;
    assert!(block_on(e.store_crl(&forged.to_bytes(), NOW)).is_err());
    assert!(block_on(e.store_crl(b"junk", NOW)).is_err());
    // The API's base64 bundle converts to the stored one.
    let api = ops_api::TrustBundle {
        root: crate::saga::fi::b64(&w.root.to_bytes()),
        root_id: w.root.id().to_string(),
        fis: w
            .fis
            .iter()
            .map(|f| crate::saga::fi::b64(&f.to_bytes()))
            .collect(),
        fi_id: w.fis[0].id().to_string(),
        blocklist: None,
    };
    assert_eq!(super::bundle_from_api(&api).unwrap(), bundle(&w));
}

#[test]
fn a_wallet_engine_pays_the_till_and_accepts_its_receipt() {
    use crate::saga::{Command, Event, PayState, SagaState};
    let mut w = world(1);
    let wallet = crate::testkit::onboarded(&w, 0);
    let out = block_on(crate::testkit::engine(&wallet).start_fund(&[1; 16], 1_000, NOW)).unwrap();
    crate::testkit::complete(&mut w, 0, &wallet, out.commands, NOW);
    let store = till(&w);
    let (id, req) = sale(&store, 1, 250, NOW);
    let bytes = crate::testkit::pay_request(&mut w, &wallet, &req.to_bytes());
    let p = approve(&store, &id, &bytes, NOW);
    let mut fi = FakeFi::default();
    let shown = complete(&w, &store, &mut fi, p.commands, NOW);
    let (_, receipt) = shown.receipts.first().cloned().unwrap();
    // The wallet takes the receipt: its payment is confirmed.
    let pay_saga = crate::Engine::<crate::MemoryStore>::pay_id(&req.to_bytes()).unwrap();
    let we = crate::testkit::engine(&wallet);
    block_on(we.handle(&pay_saga, Event::HandedOver, NOW)).unwrap();
    let out = block_on(we.handle(&pay_saga, Event::Receipt(receipt), NOW)).unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Pay(PayState::Confirmed { .. })
    ));
    assert!(
        out.commands
            .iter()
            .all(|c| !matches!(c, Command::Notify { .. }))
    );
    // The till deposits; the fake FI credits once.
    deposit_all(&w, &store, &mut fi, NOW + 10);
    assert_eq!(fi.total(), 250);
    assert_eq!(check(&store).credited, 1);
}
