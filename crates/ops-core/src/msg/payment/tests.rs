//! One encoding per payment: the canonical certificate list (decoder refuses every other
//! list, encoder writes it from any list) and the payment's identity.

use super::*;
use crate::testing::{DAY, T0, World, encode_payment_certs_as_given};

const NOW: u64 = T0 + DAY;

/// A 2-hop payment (wallet 0 → wallet 1 → POS): referenced are FI 0 (issuer, and wallet 0's
/// FI), wallet 0 and wallet 1 (signers) and FI 1 (wallet 1's FI).
fn two_hop() -> (World, Payment) {
    let mut w = World::new(3);
    let (_, p) = w.payment(2, 1_000, 250, NOW);
    (w, p)
}

fn ids(p: &Payment) -> Vec<CertId> {
    p.certs.iter().map(Certificate::id).collect()
}

fn decode_as_given(p: &Payment) -> Result<Payment, DecodeError> {
    Payment::from_bytes(&encode_payment_certs_as_given(p))
}

#[test]
fn canonical_list_is_sorted_and_complete() {
    let (w, p) = two_hop();
    let mut expected = vec![
        w.fis[0].id(),
        w.fis[1].id(),
        w.wallets[0].id(),
        w.wallets[1].id(),
    ];
    expected.sort();
    assert_eq!(ids(&p), expected);
    let b = p.to_bytes();
    assert_eq!(encode_payment_certs_as_given(&p), b, "already canonical");
    assert_eq!(Payment::from_bytes(&b).unwrap(), p);
}

#[test]
fn unsorted_list_refused() {
    let (_, mut p) = two_hop();
    p.certs.swap(1, 2);
    assert_eq!(
        decode_as_given(&p),
        Err(DecodeError::PaymentCertsUnsorted { index: 2 })
    );
    p.certs.reverse();
    assert_eq!(
        decode_as_given(&p),
        Err(DecodeError::PaymentCertsUnsorted { index: 1 })
    );
}

#[test]
fn duplicate_refused() {
    let (_, mut p) = two_hop();
    let dup = p.certs[1].clone();
    p.certs.insert(2, dup.clone());
    let e = decode_as_given(&p).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PaymentCertDuplicate {
            index: 2,
            id: dup.id()
        }
    );
    assert!(e.to_string().contains("repeats"), "{e}");
}

#[test]
fn root_refused() {
    let (w, mut p) = two_hop();
    p.certs.push(w.root.clone());
    p.certs.sort_by_key(Certificate::id);
    let index = ids(&p).iter().position(|i| *i == w.root.id()).unwrap();
    let e = decode_as_given(&p).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PaymentCertRoot {
            index,
            id: w.root.id()
        }
    );
    assert!(e.to_string().contains("root"), "{e}");
}

#[test]
fn unreferenced_device_refused() {
    // The POS is the final payee: it signs nothing, so its certificate does not belong.
    let (w, mut p) = two_hop();
    p.certs.push(w.pos.cert.clone());
    p.certs.sort_by_key(Certificate::id);
    let index = ids(&p).iter().position(|i| *i == w.pos.id()).unwrap();
    let e = decode_as_given(&p).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PaymentCertUnusedDevice {
            index,
            id: w.pos.id()
        }
    );
    assert!(e.to_string().contains("signs no spend"), "{e}");
    // Wallet 2 is on no chain at all.
    let (w, mut p) = two_hop();
    p.certs.push(w.wallets[2].cert.clone());
    p.certs.sort_by_key(Certificate::id);
    assert!(matches!(
        decode_as_given(&p),
        Err(DecodeError::PaymentCertUnusedDevice { id, .. }) if id == w.wallets[2].id()
    ));
}

#[test]
fn unreferenced_fi_refused() {
    // 1 hop: FI 0 issued the note and certified wallet 0; FI 1 has nothing to do with it.
    let mut w = World::new(3);
    let (_, mut p) = w.payment(1, 1_000, 250, NOW);
    p.certs.push(w.fis[1].clone());
    p.certs.sort_by_key(Certificate::id);
    let index = ids(&p).iter().position(|i| *i == w.fis[1].id()).unwrap();
    let e = decode_as_given(&p).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PaymentCertUnusedFi {
            index,
            id: w.fis[1].id()
        }
    );
    assert!(e.to_string().contains("FI certificate"), "{e}");
    // 2 hops without wallet 1's certificate (the payee holds it): FI 1, which only
    // certified wallet 1, is then referenced by nothing in the list.
    let (w, mut p) = two_hop();
    p.certs.retain(|c| c.id() != w.wallets[1].id());
    assert!(matches!(
        decode_as_given(&p),
        Err(DecodeError::PaymentCertUnusedFi { id, .. }) if id == w.fis[1].id()
    ));
}

#[test]
fn partial_lists_decode() {
    // The payee holds the rest: any referenced subset in order is canonical.
    let (w, p) = two_hop();
    for mask in 0u32..16 {
        let mut q = p.clone();
        let mut i = 0;
        q.certs.retain(|_| {
            i += 1;
            mask & (1 << (i - 1)) != 0
        });
        // FI 1 is referenced only through wallet 1's certificate.
        let dangling = q.certs.iter().any(|c| c.id() == w.fis[1].id())
            && !q.certs.iter().any(|c| c.id() == w.wallets[1].id());
        let r = decode_as_given(&q);
        if dangling {
            assert!(r.is_err(), "mask {mask:#06b}");
        } else {
            assert_eq!(r.as_ref(), Ok(&q), "mask {mask:#06b}");
            assert_eq!(q.to_bytes(), encode_payment_certs_as_given(&q));
        }
    }
    // No list at all (key 2 omitted).
    let mut bare = p.clone();
    bare.certs.clear();
    assert_eq!(Payment::from_bytes(&bare.to_bytes()).unwrap(), bare);
}

#[test]
fn encoder_canonicalises_any_list() {
    let (w, p) = two_hop();
    let canonical = p.to_bytes();
    let mut messy = p.clone();
    messy.certs.reverse();
    messy.certs.push(w.root.clone());
    messy.certs.push(w.pos.cert.clone());
    messy.certs.push(w.wallets[2].cert.clone());
    messy.certs.insert(0, p.certs[2].clone());
    messy.certs.push(p.certs[0].clone());
    assert!(decode_as_given(&messy).is_err());
    assert_eq!(messy.to_bytes(), canonical);
    assert_eq!(messy.clone().canonical(), p);
    assert_eq!(Payment::from_bytes(&messy.to_bytes()).unwrap(), p);
    // Only unreferenced certificates: the list is omitted altogether.
    let mut junk = p.clone();
    junk.certs = vec![w.root.clone(), w.pos.cert.clone()];
    let mut bare = p.clone();
    bare.certs.clear();
    assert_eq!(junk.to_bytes(), bare.to_bytes());
}

#[test]
fn hash_ignores_certificates_and_signatures() {
    let (w, p) = two_hop();
    let h = p.hash();
    let mut none = p.clone();
    none.certs.clear();
    assert_eq!(none.hash(), h);
    let mut messy = p.clone();
    messy.certs.reverse();
    messy.certs.push(w.root.clone());
    assert_eq!(messy.hash(), h);
    assert_ne!(
        none.to_bytes(),
        p.to_bytes(),
        "the bytes differ, the identity does not"
    );
    // The id bytes are the payment without certificates and without signatures.
    let idb = p.id_bytes();
    assert_eq!(h, Digest32(sha256(&idb)));
    for c in &p.chains {
        assert!(
            idb.windows(c.issuance.body_bytes().len())
                .any(|x| x == c.issuance.body_bytes())
        );
        for s in &c.spends {
            let sig = s.to_bytes();
            let body = s.body_bytes();
            assert!(idb.windows(body.len()).any(|x| x == body));
            assert!(!idb.windows(sig.len()).any(|x| x == sig));
        }
    }
    // Another signature over the same spend body (a retry, or the other S form) is the
    // same payment; another spend is not.
    let mut resigned = p.clone();
    let body = resigned.chains[0].spends[1].body.clone();
    let mut w2 = w;
    resigned.chains[0].spends[1] = World::spend_by(&mut w2.wallets[1], body.clone());
    assert_ne!(resigned.to_bytes(), p.to_bytes());
    assert_eq!(resigned.hash(), h);
    let mut other = p.clone();
    let mut b = body;
    b.to -= 1;
    other.chains[0].spends[1] = World::spend_by(&mut w2.wallets[1], b);
    assert_ne!(other.hash(), h);
}
