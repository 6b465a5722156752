//! Project Wycheproof ECDSA P-256/SHA-256 vectors (DER and P1363 sets) through the project's
//! own signature path: strict DER parsing (`der_to_raw`), SEC1 compressed keys, and
//! `verify_signature` with every compiled provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ops_core::der::der_to_raw;
use ops_core::ids::PublicKey;
use ops_core::provider::all_providers;
use ops_core::sig::{Signature, verify_signature};
use wycheproof::TestResult;
use wycheproof::ecdsa::{TestName, TestSet};

fn compressed(uncompressed: &[u8]) -> Option<PublicKey> {
    let p = p256::PublicKey::from_sec1_bytes(uncompressed).ok()?;
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    let c = p.to_encoded_point(true);
    let mut a = [0u8; 33];
    a.copy_from_slice(c.as_bytes());
    Some(PublicKey(a))
}

fn run(name: TestName, der: bool) -> (usize, usize) {
    let set = TestSet::load(name).unwrap();
    let (mut valid, mut total) = (0, 0);
    for g in &set.test_groups {
        let key = compressed(&g.key.key).expect("wycheproof P-256 keys are valid points");
        for t in &g.tests {
            let raw: Option<[u8; 64]> = if der {
                der_to_raw(&t.sig).ok()
            } else {
                t.sig.as_ref().try_into().ok()
            };
            for p in all_providers() {
                let ok = raw.is_some_and(|r| {
                    verify_signature(p, &key, None, &t.msg, &Signature::Es256(r)).is_ok()
                });
                match t.result {
                    TestResult::Valid => assert!(
                        ok,
                        "{} tc {} ({}) must verify",
                        p.name(),
                        t.tc_id,
                        t.comment
                    ),
                    TestResult::Invalid => {
                        assert!(!ok, "{} tc {} ({}) must fail", p.name(), t.tc_id, t.comment)
                    }
                    TestResult::Acceptable => {}
                }
                total += 1;
                valid += usize::from(ok);
            }
        }
    }
    (valid, total)
}

#[test]
fn wycheproof_p256_sha256_der() {
    let (valid, total) = run(TestName::EcdsaSecp256r1Sha256, true);
    assert!(total > 400, "only {total} cases ran");
    assert!(valid > 50);
}

#[test]
fn wycheproof_p256_sha256_p1363() {
    let (valid, total) = run(TestName::EcdsaSecp256r1Sha256P1363, false);
    assert!(total > 200, "only {total} cases ran");
    assert!(valid > 50);
}
