//! CRLs carried in payments (PROTOCOL.md §3.2, rule V25): a revocation the payee has not
//! fetched reaches it with an honest payer's payment, and nothing a payer carries can make
//! the payee trust less or accept more than a CRL its issuer signed.

use super::*;
use crate::ids::CertId;
use crate::ledger::NoHistory;
use crate::msg::crl::CrlBody;
use crate::msg::request::CrlHeld;
use crate::testing::{DAY, T0, World, sign_body};

const NOW: u64 = T0 + DAY;
/// The CRLs the payee holds were issued an hour ago (number = issue time).
const HELD: u64 = NOW - 3600;

fn world() -> World {
    let mut w = World::new(4);
    w.publish_crls(HELD, &[], &crate::P256Provider);
    w
}

/// A CRL of FI 0 issued at `issued` (number = `issued`) revoking `serials`.
fn fi_crl(w: &World, issued: u64, serials: Vec<u64>) -> Crl {
    sign_body(
        CrlBody {
            issuer: w.fis[0].id(),
            number: issued,
            issued,
            revoked: serials,
        },
        &w.fi_keys[0],
    )
}

/// The root's (empty) CRL of a minute ago.
fn root_crl(w: &World) -> Crl {
    sign_body(
        CrlBody {
            issuer: w.root.id(),
            number: NOW - 60,
            issued: NOW - 60,
            revoked: vec![],
        },
        &w.root_key,
    )
}

fn verify(w: &World, req: &PaymentRequest, pay: &Payment) -> Result<VerifiedPayment, VerifyError> {
    let known = w.pos_known();
    // Through the bytes, as a payee receives it.
    let pay = Payment::from_bytes(&pay.to_bytes()).expect("canonical payment decodes");
    w.verifier(&known, &crate::P256Provider)
        .verify_payment(req, false, &pay, &NoHistory, NOW)
}

fn carried(w: &World, pay: &Payment) -> Result<Vec<Crl>, VerifyError> {
    let known = w.pos_known();
    w.verifier(&known, &crate::P256Provider)
        .carried_crls(pay, NOW)
}

#[test]
fn a_carried_crl_revoking_the_payer_declines_the_payment() {
    let mut w = world();
    let payer = w.wallets[0].cert.body.serial;
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    assert!(verify(&w, &req, &pay).is_ok(), "accepted without the news");
    pay.crls = vec![fi_crl(&w, NOW - 60, vec![payer])];
    let e = verify(&w, &req, &pay).unwrap_err();
    assert!(
        matches!(e, VerifyError::Revoked { serial, .. } if serial == payer),
        "{e}"
    );
    // The payee learns it: the CRL is returned to be stored.
    let newer = carried(&w, &pay).unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0].body.number, NOW - 60);
}

#[test]
fn a_carried_fresh_crl_satisfies_the_floor_limit() {
    let mut w = World::new(2);
    w.publish_crls(NOW - 8 * DAY, &[], &crate::P256Provider);
    // 3,000 needs a CRL at most 7 days old: the payee's is 8 days old.
    let (req, mut pay) = w.payment(1, 5_000, 3_000, NOW);
    assert_eq!(verify(&w, &req, &pay).unwrap_err().rule(), 17);
    // The payer carries the FI's CRL of a minute ago, and the root's.
    let root = root_crl(&w);
    pay.crls = vec![fi_crl(&w, NOW - 60, vec![]), root];
    let v = verify(&w, &req, &pay).expect("fresh news from a payer count");
    assert_eq!(v.amount, 3_000);
}

#[test]
fn a_carried_crl_that_is_not_its_issuers_is_refused_v25() {
    let mut w = world();
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let mut tampered = fi_crl(&w, NOW - 60, vec![]);
    tampered.body.revoked = vec![999_999]; // changed after signing
    let unknown_issuer = sign_body(
        CrlBody {
            issuer: CertId([7; 16]),
            number: NOW - 60,
            issued: NOW - 60,
            revoked: vec![],
        },
        &w.fi_keys[0],
    );
    let from_the_future = fi_crl(&w, NOW + 3_600, vec![]);
    let signed_by_another_fi = sign_body(
        CrlBody {
            issuer: w.fis[0].id(),
            number: NOW - 60,
            issued: NOW - 60,
            revoked: vec![],
        },
        &w.fi_keys[1],
    );
    for (what, crl) in [
        ("tampered", tampered),
        ("unknown issuer", unknown_issuer),
        ("dated in the future", from_the_future),
        ("signed by another FI", signed_by_another_fi),
    ] {
        let mut p = pay.clone();
        p.crls = vec![crl];
        let e = verify(&w, &req, &p).unwrap_err();
        assert_eq!(e.rule(), 25, "{what}: {e}");
        assert!(matches!(e, VerifyError::CarriedCrl { .. }), "{what}");
        assert!(carried(&w, &p).is_err(), "{what}: nothing to keep");
    }
}

#[test]
fn an_older_or_equal_carried_crl_changes_nothing() {
    let mut w = world();
    let payer = w.wallets[0].cert.body.serial;
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    // An old list (lower number) that revoked the payer is not news: the payee's newer one
    // does not list it (an issuer can un-revoke only by a newer number; the newest wins).
    pay.crls = vec![fi_crl(&w, HELD - 10, vec![payer])];
    assert!(verify(&w, &req, &pay).is_ok());
    assert!(carried(&w, &pay).unwrap().is_empty());
    pay.crls = vec![fi_crl(&w, HELD, vec![])];
    assert!(carried(&w, &pay).unwrap().is_empty());
}

#[test]
fn carried_crls_do_not_change_what_was_paid() {
    let mut w = world();
    let (_, mut pay) = w.payment(1, 1_000, 250, NOW);
    let bare = pay.clone();
    pay.crls = vec![fi_crl(&w, NOW - 60, vec![])];
    assert_eq!(pay.hash(), bare.hash(), "a receipt names the same payment");
    assert_ne!(pay.to_bytes(), bare.to_bytes());
    let back = Payment::from_bytes(&pay.to_bytes()).unwrap();
    assert_eq!(back, pay);
}

#[test]
fn one_encoding_for_the_carried_crls() {
    let mut w = world();
    let (_, mut pay) = w.payment(1, 1_000, 250, NOW);
    let root = root_crl(&w);
    let older = fi_crl(&w, NOW - 120, vec![]);
    let newer = fi_crl(&w, NOW - 60, vec![]);
    // In memory: any order, two of one issuer. Encoded: by issuer, the newest of each.
    pay.crls = vec![older.clone(), root.clone(), newer.clone()];
    let decoded = Payment::from_bytes(&pay.to_bytes()).unwrap();
    let mut want = vec![root.clone(), newer.clone()];
    want.sort_by_key(|c| c.body.issuer);
    assert_eq!(decoded.crls, want);
    assert_eq!(pay.clone().canonical(), decoded);
    // Bytes with a list out of order, or two CRLs of one issuer, are refused.
    for list in [
        {
            let mut l = want.clone();
            l.reverse();
            l
        },
        vec![older, newer],
    ] {
        let mut p = pay.clone();
        p.crls = list;
        let bytes = p.encode_certs_as_given();
        let e = Payment::from_bytes(&bytes).unwrap_err();
        assert!(e.to_string().contains("payment CRLs"), "{e}");
    }
}

#[test]
fn a_request_names_the_crls_its_payee_holds() {
    let w = world();
    let mut req = w.request(250, 1, NOW);
    req.crls_held = w.crls.held();
    assert_eq!(
        req.crls_held.len(),
        1 + w.fis.len(),
        "the root's and each FI's"
    );
    let back = PaymentRequest::from_bytes(&req.to_bytes()).unwrap();
    let mut sorted = req.crls_held.clone();
    sorted.sort();
    assert_eq!(back.crls_held, sorted);
    assert_eq!(back.crl_held(&w.fis[0].id()), Some(HELD));
    // The payer's newer list of FI 0 (and nothing for issuers the request does not name).
    let mut payer = w.crls.clone();
    let news = fi_crl(&w, NOW - 60, vec![]);
    payer
        .insert(news.clone(), &w.fis[0].clone(), &crate::P256Provider)
        .unwrap();
    assert_eq!(payer.newer_than(&back.crls_held), vec![news.clone()]);
    let only_root = [CrlHeld {
        issuer: w.root.id(),
        number: 0,
    }];
    assert_eq!(
        payer.newer_than(&only_root).len(),
        1,
        "the root's, not FI 0's"
    );
    assert_eq!(payer.newer_than(&only_root)[0].body.issuer, w.root.id());
}

#[test]
fn a_request_with_unsorted_or_repeated_crls_is_refused() {
    let w = world();
    let req = w.request(250, 1, NOW);
    let a = CrlHeld {
        issuer: CertId([1; 16]),
        number: 5,
    };
    let b = CrlHeld {
        issuer: CertId([2; 16]),
        number: 5,
    };
    for list in [vec![b, a], vec![a, a]] {
        // Written by hand: the encoder would sort and merge them. The request's map has
        // fewer than 23 entries, so its header is one byte: one more entry, then key 10.
        let mut base = req.to_bytes();
        base[0] += 1;
        let mut e = crate::cbor::Encoder::new();
        e.raw(&base);
        e.uint(10).array(list.len());
        for h in &list {
            e.array(2);
            h.issuer.encode(&mut e);
            e.uint(h.number);
        }
        let err = PaymentRequest::from_bytes(&e.into_bytes()).unwrap_err();
        assert!(err.to_string().contains("CRLs held"), "{err}");
    }
}
