//! The hex test vectors in `docs/vectors/`: regenerated deterministically (fixed keys,
//! RFC 6979 signatures, a deterministic software authenticator), compared byte for byte
//! with the files, decoded, re-encoded and verified.
//!
//! To rewrite the files after an intended format change: `OPS_WRITE_VECTORS=1 cargo test
//! -p ops-core --test vectors`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ops_core::ledger::{NoHistory, RangeLedger};
use ops_core::msg::crl::CrlBody;
use ops_core::msg::inspect;
use ops_core::provider::all_providers;
use ops_core::sig::verify_signature;
use ops_core::testing::{DAY, T0, World, sign_body};
use ops_core::verify::record;
use ops_core::{
    Certificate, Crl, FraudProof, Issuance, Payment, PaymentRequest, Receipt, ReceiptBody, Spend,
    SpendBody,
};

const NOW: u64 = T0 + DAY;

struct Vectors {
    world: World,
    files: Vec<(&'static str, Vec<u8>)>,
    req1: PaymentRequest,
    pay1: Payment,
    req3: PaymentRequest,
    pay3: Payment,
    req_batch: PaymentRequest,
    pay_batch: Payment,
    req_crl: PaymentRequest,
    pay_crl: Payment,
}

fn generate() -> Vectors {
    let mut w = World::new(3);
    w.publish_crls(NOW - 3600, &[999], &ops_core::P256Provider);
    let (req1, pay1) = w.payment(1, 1_000, 250, NOW);
    let (req3, pay3) = w.payment(3, 1_000, 250, NOW);
    let receipt = sign_body(
        ReceiptBody {
            payment: pay1.hash(),
            request: req1.hash(),
            payee: w.pos.id(),
            amount: 250,
            time: NOW,
        },
        match &w.pos.signer {
            ops_core::testing::DeviceSigner::Software(k) => k,
            ops_core::testing::DeviceSigner::WebAuthn(_) => unreachable!(),
        },
    );
    // A double spend: wallet 0 spends [100, 350) of the same note to the POS again.
    let first = pay1.chains[0].spends[0].clone();
    let again = World::spend_by(
        &mut w.wallets[0],
        SpendBody {
            from: 100,
            to: 350,
            time: NOW + 60,
            ..first.body.clone()
        },
    );
    let fraud = FraudProof::new(
        first.clone(),
        again,
        w.wallets[0].cert.clone(),
        w.fis[0].clone(),
    );
    let fi_crl = w.crls.get(&w.fis[0].id()).unwrap().clone();
    // The same wallet on a browser that adds an extra clientDataJSON member and emits a
    // high-S signature: the assertion travels in raw form.
    let mut quirky = w.wallets[0].clone();
    if let ops_core::testing::DeviceSigner::WebAuthn(a) = &mut quirky.signer {
        a.extra_client_data = true;
        a.high_s = true;
    }
    let raw_spend = World::spend_by(
        &mut quirky,
        SpendBody {
            time: NOW + 1,
            ..first.body.clone()
        },
    );
    // One approval for a payment drawing on three notes: one assertion over the three
    // spends (batch form, PROTOCOL §4). Made last, so the earlier vectors keep their
    // authenticator counters.
    let (req_batch, pay_batch) = w.multi_note_payment(3, 1_000, 900, true, NOW);
    // Revocation news travelling with a payment (PROTOCOL §3.2): the request names the
    // CRLs the POS holds; the payer holds FI 0's newer list and carries it. Made after the
    // batch, so the earlier vectors keep their authenticator counters.
    let mut req_crl = w.request(250, 200, NOW - 10);
    req_crl.crls_held = w.crls.held();
    let (req_crl, mut pay_crl) = w.payment_answering(req_crl, 1, 1_000, NOW);
    let news = sign_body(
        CrlBody {
            issuer: w.fis[0].id(),
            number: NOW - 60,
            issued: NOW - 60,
            revoked: vec![998, 999],
        },
        &w.fi_keys[0],
    );
    let mut payer_crls = w.crls.clone();
    payer_crls
        .insert(news, &w.fis[0].clone(), &ops_core::P256Provider)
        .unwrap();
    pay_crl.crls = payer_crls.newer_than(&req_crl.crls_held);
    assert_eq!(pay_crl.crls.len(), 1);
    let files = vec![
        ("root-certificate", w.root.to_bytes()),
        ("fi-certificate", w.fis[0].to_bytes()),
        ("device-certificate-webauthn", w.wallets[0].cert.to_bytes()),
        ("device-certificate-pos", w.pos.cert.to_bytes()),
        ("issuance", pay1.chains[0].issuance.to_bytes()),
        ("payment-request", req1.to_bytes()),
        ("spend-webauthn", first.to_bytes()),
        ("spend-webauthn-raw", raw_spend.to_bytes()),
        ("payment-1hop", pay1.to_bytes()),
        ("payment-request-3hop", req3.to_bytes()),
        ("payment-3hop", pay3.to_bytes()),
        ("receipt", receipt.to_bytes()),
        ("crl", fi_crl.to_bytes()),
        ("fraud-proof", fraud.to_bytes()),
        (
            "spend-webauthn-batch",
            pay_batch.chains[0].spends[0].to_bytes(),
        ),
        ("payment-request-batch", req_batch.to_bytes()),
        ("payment-batch", pay_batch.to_bytes()),
        ("payment-request-crls", req_crl.to_bytes()),
        ("payment-1hop-crl", pay_crl.to_bytes()),
        (
            "block-list",
            sign_body(
                ops_core::BlockListBody {
                    issuer: w.fis[0].id(),
                    number: 2,
                    issued: NOW - 3_600,
                    blocked: {
                        let mut ids = vec![w.pos.cert.id(), w.wallets[0].cert.id()];
                        ids.sort_by_key(|a| a.0);
                        ids
                    },
                },
                &w.fi_keys[0],
            )
            .to_bytes(),
        ),
    ];
    Vectors {
        world: w,
        files,
        req1,
        pay1,
        req3,
        pay3,
        req_batch,
        pay_batch,
        req_crl,
        pay_crl,
    }
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors")
}

#[test]
fn vectors_match_files_and_verify() {
    let v = generate();
    if std::env::var_os("OPS_WRITE_VECTORS").is_some_and(|v| !v.is_empty()) {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, bytes) in &v.files {
            let hex = ops_core::ids::to_hex(bytes);
            std::fs::write(dir().join(format!("{name}.hex")), format!("{hex}\n")).unwrap();
        }
    }
    for (name, bytes) in &v.files {
        let path = dir().join(format!("{name}.hex"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with OPS_WRITE_VECTORS=1", path.display()));
        let from_file = ops_core::ids::from_hex(text.trim()).expect("hex");
        assert_eq!(
            &from_file, bytes,
            "{name}.hex differs from the generated vector"
        );
        let decoded = inspect(&from_file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            decoded.to_bytes(),
            from_file,
            "{name} does not re-encode identically"
        );
    }
    let w = &v.world;
    let get = |n: &str| -> Vec<u8> { v.files.iter().find(|(k, _)| *k == n).unwrap().1.clone() };
    for p in all_providers() {
        // Certificates.
        let root = Certificate::from_bytes(&get("root-certificate")).unwrap();
        let fi = Certificate::from_bytes(&get("fi-certificate")).unwrap();
        verify_signature(
            p,
            &root.body.subject,
            None,
            &root.body_bytes(),
            &root.signature,
        )
        .unwrap();
        verify_signature(p, &root.body.subject, None, &fi.body_bytes(), &fi.signature).unwrap();
        let dev = Certificate::from_bytes(&get("device-certificate-webauthn")).unwrap();
        verify_signature(p, &fi.body.subject, None, &dev.body_bytes(), &dev.signature).unwrap();
        let iss = Issuance::from_bytes(&get("issuance")).unwrap();
        verify_signature(p, &fi.body.subject, None, &iss.body_bytes(), &iss.signature).unwrap();
        let spend = Spend::from_bytes(&get("spend-webauthn")).unwrap();
        verify_signature(
            p,
            &dev.body.subject,
            dev.body.webauthn.as_ref(),
            &spend.body_bytes(),
            &spend.signature,
        )
        .unwrap();
        let raw = Spend::from_bytes(&get("spend-webauthn-raw")).unwrap();
        verify_signature(
            p,
            &dev.body.subject,
            dev.body.webauthn.as_ref(),
            &raw.body_bytes(),
            &raw.signature,
        )
        .unwrap();
        let ops_core::Signature::WebAuthn(a) = &raw.signature else {
            panic!("WebAuthn expected")
        };
        assert!(matches!(
            a.client_data,
            ops_core::webauthn::ClientDataWire::Raw(_)
        ));
        let pos = Certificate::from_bytes(&get("device-certificate-pos")).unwrap();
        let receipt = Receipt::from_bytes(&get("receipt")).unwrap();
        verify_signature(
            p,
            &pos.body.subject,
            None,
            &receipt.body_bytes(),
            &receipt.signature,
        )
        .unwrap();
        let crl = Crl::from_bytes(&get("crl")).unwrap();
        verify_signature(p, &fi.body.subject, None, &crl.body_bytes(), &crl.signature).unwrap();
        // Payments.
        let known = w.pos_known();
        let verifier = w.verifier(&known, p);
        let req1 = PaymentRequest::from_bytes(&get("payment-request")).unwrap();
        let pay1 = Payment::from_bytes(&get("payment-1hop")).unwrap();
        assert_eq!((&req1, &pay1), (&v.req1, &v.pay1));
        let ok = verifier
            .verify_payment(&req1, false, &pay1, &NoHistory, NOW)
            .unwrap();
        let req3 = PaymentRequest::from_bytes(&get("payment-request-3hop")).unwrap();
        let pay3 = Payment::from_bytes(&get("payment-3hop")).unwrap();
        assert_eq!((&req3, &pay3), (&v.req3, &v.pay3));
        verifier
            .verify_payment(&req3, false, &pay3, &NoHistory, NOW)
            .unwrap();
        // The batch-signed payment: three spends, one assertion; each spend verifies alone.
        let req_b = PaymentRequest::from_bytes(&get("payment-request-batch")).unwrap();
        let pay_b = Payment::from_bytes(&get("payment-batch")).unwrap();
        assert_eq!((&req_b, &pay_b), (&v.req_batch, &v.pay_batch));
        let okb = verifier
            .verify_payment(&req_b, false, &pay_b, &NoHistory, NOW)
            .unwrap();
        assert_eq!((okb.amount, okb.spends.len()), (900, 3));
        let share = Spend::from_bytes(&get("spend-webauthn-batch")).unwrap();
        assert_eq!(share, pay_b.chains[0].spends[0]);
        let mut assertions = Vec::new();
        for (i, c) in pay_b.chains.iter().enumerate() {
            let s = &c.spends[0];
            let ops_core::Signature::WebAuthnBatch(b) = &s.signature else {
                panic!("batch share expected")
            };
            assert_eq!((b.size, usize::from(b.index)), (3, i));
            assertions.push(b.assertion.clone());
            verify_signature(
                p,
                &dev.body.subject,
                dev.body.webauthn.as_ref(),
                &s.body_bytes(),
                &s.signature,
            )
            .unwrap();
        }
        assert!(
            assertions.iter().all(|a| *a == assertions[0]),
            "one assertion"
        );
        // The payment carrying FI 0's newer CRL: the list is news to the POS, and the
        // payment verifies with it applied.
        let req_c = PaymentRequest::from_bytes(&get("payment-request-crls")).unwrap();
        let pay_c = Payment::from_bytes(&get("payment-1hop-crl")).unwrap();
        assert_eq!((&req_c, &pay_c), (&v.req_crl, &v.pay_crl));
        assert_eq!(req_c.crls_held.len(), 1 + w.fis.len());
        let news = verifier.carried_crls(&pay_c, NOW).unwrap();
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].body.revoked, vec![998, 999]);
        verifier
            .verify_payment(&req_c, false, &pay_c, &NoHistory, NOW)
            .unwrap();
        // The fraud proof verifies standalone and names wallet 0.
        let fraud = FraudProof::from_bytes(&get("fraud-proof")).unwrap();
        let verdict = fraud.verify(&root, p).unwrap();
        assert_eq!(verdict.culprit, dev.id());
        assert_eq!(verdict.overlap, 150);
        let mut ledger = RangeLedger::new();
        record(&mut ledger, &ok);
        assert_eq!(ledger.len(), 1);
    }
    println!(
        "sizes: payment-1hop {} bytes, payment-3hop {} bytes, payment-batch {} bytes, spend-webauthn-batch {} bytes, payment-request-crls {} bytes, payment-1hop-crl {} bytes",
        get("payment-1hop").len(),
        get("payment-3hop").len(),
        get("payment-batch").len(),
        get("spend-webauthn-batch").len(),
        get("payment-request-crls").len(),
        get("payment-1hop-crl").len()
    );
}
