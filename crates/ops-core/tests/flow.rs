//! The whole offline flow through the public API, as the apps drive it: funding, a
//! wallet-to-wallet payment, re-spending the received note at a POS, the receipt, and
//! settlement at the FI — with every message crossing the "air gap" as canonical bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ops_core::ledger::RangeLedger;
use ops_core::payee::Till;
use ops_core::provider::default_provider;
use ops_core::testing::{DAY, DeviceSigner, T0, World, sign_body};
use ops_core::verify::{Verifier, record};
use ops_core::wallet::{OutgoingPayment, OutgoingState, WalletBook, WalletNote};
use ops_core::{Certificate, Payment, PaymentRequest, Receipt, ReceiptBody};

#[test]
fn fund_pay_peer_respend_receipt_settle() {
    let provider = default_provider();
    let mut w = World::new(2);
    let now = T0 + DAY;
    w.publish_crls(now - 3600, &[], provider);
    let (alice, bob) = (0, 1);

    // Funding (online): FI 0 issues 1 000 to Alice.
    let iss = w.issue(0, w.wallets[alice].id(), 1_000, 1);
    let mut alice_book = WalletBook {
        notes: vec![WalletNote::from_issuance(&iss, 4)],
    };
    let alice_certs = vec![w.wallets[alice].cert.clone(), w.fis[0].clone()];

    // Bob (certified by FI 1) shows a request for 600 to Alice.
    let bob_req = PaymentRequest {
        certs: vec![w.wallets[bob].cert.clone(), w.fis[1].clone()],
        payee: w.wallets[bob].id(),
        ..w.request(600, 2, now)
    };
    let req_bytes = bob_req.to_bytes();
    // Alice's wallet reads it, checks who is asking, reserves, signs, shows the payment.
    let req = PaymentRequest::from_bytes(&req_bytes).unwrap();
    let alice_view = w.verifier(&[], provider);
    let info = alice_view.check_request(&req, now).unwrap();
    assert_eq!(info.fi_name.as_deref(), Some("Bank 1"));
    let mut out = OutgoingPayment::reserve(&mut alice_book, &req, now, DAY).unwrap();
    let spends = out
        .spend_bodies(now)
        .into_iter()
        .map(|b| World::spend_by(&mut w.wallets[alice], b))
        .collect();
    let payment = out.sign(&alice_book, spends, alice_certs.clone()).unwrap();
    assert_eq!(out.state, OutgoingState::Signed);
    let pay_bytes = out.payment.clone();
    assert_eq!(Payment::from_bytes(&pay_bytes).unwrap(), payment);

    // Bob's wallet, as payee, verifies and keeps the note with its provenance certs.
    let bob_known: Vec<Certificate> = vec![w.wallets[bob].cert.clone(), w.fis[1].clone()];
    let mut bob_till = Till::new();
    bob_till.open(req.clone());
    let received = Payment::from_bytes(&pay_bytes).unwrap();
    let v = bob_till
        .accept(&w.verifier(&bob_known, provider), &received, now)
        .unwrap();
    assert_eq!(v.amount, 600);
    out.mark_sent().unwrap();
    assert_eq!(alice_book.balance("EUR", now), 400);
    let note = WalletNote::from_chain(
        &received.chains[0],
        v.received[0].hop_limit,
        &received.certs,
    )
    .unwrap();
    let mut bob_book = WalletBook { notes: vec![note] };

    // Bob pays 250 of it at the POS, an hour later.
    let later = now + 3600;
    let pos_req = PaymentRequest {
        certs: vec![w.pos.cert.clone(), w.fis[0].clone()],
        ..w.request(250, 3, later)
    };
    let mut out2 = OutgoingPayment::reserve(&mut bob_book, &pos_req, later, DAY).unwrap();
    let spends = out2
        .spend_bodies(later)
        .into_iter()
        .map(|b| World::spend_by(&mut w.wallets[bob], b))
        .collect();
    let pay2 = out2.sign(&bob_book, spends, bob_known.clone()).unwrap();
    assert!(
        !pay2.certs.iter().any(|c| c.id() == w.fis[0].id()),
        "the POS showed FI 0's certificate, so it is left out"
    );
    let pay2_bytes = pay2.to_bytes();
    println!(
        "2-hop payment built by the wallet API: {} bytes",
        pay2_bytes.len()
    );

    // The POS verifies, records durably (here: in memory), then signs a receipt.
    let pos_known = vec![w.pos.cert.clone(), w.fis[0].clone()];
    let mut pos_till = Till::new();
    pos_till.open(pos_req.clone());
    let got = Payment::from_bytes(&pay2_bytes).unwrap();
    let v2 = pos_till
        .accept(&w.verifier(&pos_known, provider), &got, later)
        .unwrap();
    assert_eq!((v2.amount, v2.received[0].hops), (250, 2));
    let DeviceSigner::Software(pos_key) = &w.pos.signer else {
        panic!()
    };
    let receipt = sign_body(
        ReceiptBody {
            payment: got.hash(),
            request: pos_req.hash(),
            payee: w.pos.id(),
            amount: 250,
            time: later,
        },
        pos_key,
    );
    // Bob's wallet checks the receipt against the payee certificate it was shown.
    let receipt = Receipt::from_bytes(&receipt.to_bytes()).unwrap();
    receipt.verify(&pos_req.certs[0], provider).unwrap();
    assert_eq!(
        receipt.body.payment,
        Payment::from_bytes(&out2.payment).unwrap().hash()
    );
    out2.mark_sent().unwrap();

    // Settlement: the POS deposits; Bob also tries to spend the same 250 again elsewhere.
    // The FI knows every FI certificate (the payment left FI 0's out).
    let fi_known: Vec<Certificate> = w.fis.clone();
    let crls = w.crls.clone();
    let fi = Verifier {
        root: &w.root,
        known_certs: &fi_known,
        crls: &crls,
        policy: &w.policy,
        provider,
    };
    let mut fi_ledger = RangeLedger::new();
    let dep = fi
        .verify_deposit(&w.pos.id(), &got, &fi_ledger, later + DAY)
        .unwrap();
    assert_eq!(record(&mut fi_ledger, &dep), 2, "Alice's and Bob's spends");
    let mut copy = got.clone();
    let mut b = copy.chains[0].spends[1].body.clone();
    b.payee = w.wallets[alice].id();
    copy.chains[0].spends[1] = World::spend_by(&mut w.wallets[bob], b);
    let e = fi
        .verify_deposit(&w.wallets[alice].id(), &copy, &fi_ledger, later + DAY)
        .unwrap_err();
    let verdict = e.fraud_proof().unwrap().verify(&w.root, provider).unwrap();
    assert_eq!(verdict.culprit, w.wallets[bob].id());
    assert_eq!(verdict.overlap, 250);
}
