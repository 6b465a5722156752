//! Revocation news carried by payments (PROTOCOL.md §3.2): a terminal that never syncs
//! learns from an honest payer that a wallet was revoked, keeps the list in the commit of
//! its decision (approved or not), names it in its next requests, and declines the
//! revoked wallet with a reason a cashier understands.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::crl_store::CrlStore;
use ops_core::msg::crl::{Crl, CrlBody};
use ops_core::testing::{World, sign_body};
use ops_core::{P256Provider, Payment};

use super::reason::DeclineReason;
use super::store::TillTrustStore;
use super::testkit::*;
use crate::testkit::{NOW, world};

/// FI 1's list of `issued` (number = `issued`) revoking wallet 1 (a wallet of FI 1).
fn revoking_wallet_1(w: &World, issued: u64) -> Crl {
    sign_body(
        CrlBody {
            issuer: w.fis[1].id(),
            number: issued,
            issued,
            revoked: vec![w.wallets[1].cert.body.serial],
        },
        &w.fi_keys[1],
    )
}

/// What an honest wallet that synced after the revocation holds.
fn synced_payer(w: &World, news: &Crl) -> CrlStore {
    let mut held = w.crls.clone();
    held.insert(news.clone(), &w.fis[1].clone(), &P256Provider)
        .unwrap();
    held
}

fn held_number(store: &super::store::TillMemoryStore, w: &World) -> u64 {
    block_on(store.crls())
        .unwrap()
        .iter()
        .map(|b| Crl::from_bytes(b).unwrap())
        .filter(|c| c.body.issuer == w.fis[1].id())
        .map(|c| c.body.number)
        .max()
        .unwrap()
}

#[test]
fn an_honest_payer_brings_the_news_and_the_revoked_wallet_is_then_declined() {
    let mut w = world(3);
    let store = till(&w);
    let news = revoking_wallet_1(&w, NOW + 10);
    let payer = synced_payer(&w, &news);

    // The till's request names the lists it holds.
    let (id, req) = sale(&store, 1, 300, NOW + 20);
    let mut held = w.crls.held();
    held.sort();
    assert_eq!(req.crls_held, held);

    // The revoked wallet pays first, carrying nothing: the till does not know yet, and
    // accepts within its floor limits (the bound the protocol accepts offline).
    let (id0, req0) = sale(&store, 9, 100, NOW + 20);
    approve(
        &store,
        &id0,
        &fresh_payment(&mut w, 1, 9, &req0, NOW + 20),
        NOW + 21,
    );

    // Wallet 0, honest and synced, pays with the news.
    let iss = note(&w, 0, 1_000, 1);
    let mut pay: Payment = pay(&mut w, 0, &iss, (0, 300), &req, NOW + 20);
    pay.crls = payer.newer_than(&req.crls_held);
    assert_eq!(pay.crls, vec![news.clone()]);
    approve(&store, &id, &pay.to_bytes(), NOW + 22);
    assert_eq!(held_number(&store, &w), NOW + 10, "kept with the approval");

    // The next request says so (a payer holding the same list carries nothing).
    let (id2, req2) = sale(&store, 2, 250, NOW + 30);
    assert!(
        req2.crls_held
            .iter()
            .any(|h| h.issuer == w.fis[1].id() && h.number == NOW + 10)
    );
    assert!(payer.newer_than(&req2.crls_held).is_empty());

    // The revoked wallet now gets a decline the cashier can read.
    let d = decline(
        &store,
        &id2,
        &fresh_payment(&mut w, 1, 2, &req2, NOW + 30),
        NOW + 31,
    );
    assert_eq!(
        (d.reason, d.rule),
        (DeclineReason::CertificateRevoked, Some(16))
    );
}

#[test]
fn the_news_is_kept_even_when_the_payment_that_brings_it_is_declined() {
    let mut w = world(3);
    let store = till(&w);
    let news = revoking_wallet_1(&w, NOW + 10);
    let (id, req) = sale(&store, 1, 300, NOW + 20);
    // Wallet 0 pays the wrong amount but carries the news.
    let iss = note(&w, 0, 1_000, 1);
    let mut pay = pay(&mut w, 0, &iss, (0, 299), &req, NOW + 20);
    pay.crls = synced_payer(&w, &news).newer_than(&req.crls_held);
    let d = decline(&store, &id, &pay.to_bytes(), NOW + 21);
    assert_eq!(d.reason, DeclineReason::WrongAmount);
    assert_eq!(held_number(&store, &w), NOW + 10);
    // And the revoked wallet's payment for the same sale is declined as revoked.
    let d = decline(
        &store,
        &id,
        &fresh_payment(&mut w, 1, 3, &req, NOW + 22),
        NOW + 23,
    );
    assert_eq!(d.reason, DeclineReason::CertificateRevoked);
}

#[test]
fn a_forged_list_is_refused_and_nothing_is_kept() {
    let mut w = world(3);
    let store = till(&w);
    let before = held_number(&store, &w);
    let (id, req) = sale(&store, 1, 300, NOW + 20);
    // A list in FI 1's name revoking wallet 0, signed by FI 0: a payer trying to make the
    // till refuse an honest wallet.
    let forged = sign_body(
        CrlBody {
            issuer: w.fis[1].id(),
            number: NOW + 10,
            issued: NOW + 10,
            revoked: vec![w.wallets[0].cert.body.serial],
        },
        &w.fi_keys[0],
    );
    let iss = note(&w, 2, 1_000, 1);
    let mut pay = pay(&mut w, 2, &iss, (0, 300), &req, NOW + 20);
    pay.crls = vec![forged];
    let d = decline(&store, &id, &pay.to_bytes(), NOW + 21);
    assert_eq!((d.reason, d.rule), (DeclineReason::Tampered, Some(25)));
    assert_eq!(held_number(&store, &w), before, "nothing kept");
    // Wallet 0 still pays.
    approve(
        &store,
        &id,
        &fresh_payment(&mut w, 0, 4, &req, NOW + 22),
        NOW + 23,
    );
}

#[test]
fn the_wallet_engines_carry_the_news_from_wallet_to_wallet_to_the_till() {
    use crate::store::TrustStore;
    let mut w = world(3);
    let news = revoking_wallet_1(&w, NOW + 10);
    // Wallet 0 synced after the revocation; wallet 2 and the till did not.
    let wallet0 = crate::testkit::onboarded(&w, 0);
    block_on(crate::testkit::engine(&wallet0).store_crl(&news.to_bytes())).unwrap();
    let out = block_on(crate::testkit::engine(&wallet0).start_fund(&[1; 16], 1_000, NOW)).unwrap();
    crate::testkit::complete(&mut w, 0, &wallet0, out.commands, NOW);
    let wallet2 = crate::testkit::onboarded(&w, 2);
    let store = till(&w);

    // Wallet 0 pays the till: the payment carries FI 1's newer list, the till keeps it.
    let (id, req) = sale(&store, 1, 250, NOW + 20);
    let bytes = crate::testkit::pay_request(&mut w, &wallet0, &req.to_bytes());
    assert_eq!(
        Payment::from_bytes(&bytes).unwrap().crls,
        vec![news.clone()]
    );
    approve(&store, &id, &bytes, NOW + 21);
    assert_eq!(held_number(&store, &w), NOW + 10);

    // Wallet 0 pays wallet 2 (whose request names the older list): wallet 2 keeps it.
    let (receive, request) = crate::testkit::show_request(&wallet2, 5, 100);
    let bytes = crate::testkit::pay_request(&mut w, &wallet0, &request);
    assert_eq!(
        Payment::from_bytes(&bytes).unwrap().crls,
        vec![news.clone()]
    );
    let e2 = crate::testkit::engine(&wallet2);
    block_on(e2.handle(&receive, crate::saga::Event::Scanned(bytes), NOW)).unwrap();
    let kept = block_on(wallet2.crls()).unwrap();
    assert!(
        kept.iter().any(|b| *b == news.to_bytes()),
        "wallet 2 holds the news to pass on"
    );
    // A payment from a wallet that already holds the same list carries nothing more.
    let (_, request) = crate::testkit::show_request(&wallet2, 6, 100);
    let again = crate::testkit::pay_request(&mut w, &wallet0, &request);
    assert!(Payment::from_bytes(&again).unwrap().crls.is_empty());
}
