use super::*;
use crate::ledger::NoHistory;
use crate::msg::cert::Certificate;
use crate::msg::payment::Chain;
use crate::msg::spend::SpendBody;
use crate::msg::{Signed, cert::CertBody};
use crate::provider::all_providers;
use crate::sig::{Signature, SignatureError};
use crate::testing::{DAY, T0, World, sign_body};
use crate::webauthn::{WebAuthnError, flags};

const NOW: u64 = T0 + DAY;

fn world() -> World {
    let mut w = World::new(6);
    w.publish_crls(NOW - 3600, &[], &crate::P256Provider);
    w
}

/// Runs verification with every provider; they must agree.
fn run(
    w: &World,
    req: &PaymentRequest,
    pay: &Payment,
    used: bool,
    history: &dyn SpendHistory,
    now: u64,
) -> Result<VerifiedPayment, VerifyError> {
    let known = w.pos_known();
    let mut out = None;
    for p in all_providers() {
        let r = w
            .verifier(&known, p)
            .verify_payment(req, used, pay, history, now);
        if let Some(prev) = &out {
            let prev: &Result<VerifiedPayment, VerifyError> = prev;
            assert_eq!(prev.as_ref().err(), r.as_ref().err(), "providers disagree");
        }
        out = Some(r);
    }
    out.unwrap()
}

fn rule(r: Result<VerifiedPayment, VerifyError>) -> u8 {
    match r {
        Ok(_) => 0,
        Err(e) => e.rule(),
    }
}

/// A 1-hop payment whose spend body is edited before signing.
fn one_hop_edit(
    w: &mut World,
    amount: u64,
    edit: impl FnOnce(&mut SpendBody),
) -> (PaymentRequest, Payment) {
    let (req, mut pay) = w.payment(1, 1_000, amount, NOW);
    let mut body = pay.chains[0].spends[0].body.clone();
    edit(&mut body);
    pay.chains[0].spends[0] = World::spend_by(&mut w.wallets[0], body);
    (req, pay)
}

#[test]
fn one_and_three_hop_payments_verify_and_fit_size_goals() {
    let mut w = world();
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let v = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap();
    assert_eq!(v.amount, 250);
    assert_eq!(v.spends.len(), 1);
    assert_eq!(v.received[0].hops, 1);
    let one = pay.to_bytes().len();
    assert_eq!(Payment::from_bytes(&pay.to_bytes()).unwrap(), pay);

    let (req3, pay3) = w.payment(3, 1_000, 250, NOW);
    let v3 = run(&w, &req3, &pay3, false, &NoHistory, NOW).unwrap();
    assert_eq!(v3.spends.len(), 3);
    assert_eq!(v3.received[0].hops, 3);
    let three = pay3.to_bytes().len();
    println!("payment sizes: 1-hop {one} bytes, 3-hop {three} bytes");
    assert!(one <= 700, "1-hop payment is {one} bytes");
    assert!(three <= 1_600, "3-hop payment is {three} bytes");
}

#[test]
fn v1_request_used() {
    let mut w = world();
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    assert_eq!(rule(run(&w, &req, &pay, true, &NoHistory, NOW)), 1);
}

#[test]
fn v2_request_expired_or_not_yet_valid() {
    let mut w = world();
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    assert_eq!(
        rule(run(&w, &req, &pay, false, &NoHistory, req.expires + 1)),
        2
    );
    assert_eq!(
        rule(run(&w, &req, &pay, false, &NoHistory, req.created - 1_000)),
        2
    );
}

#[test]
fn v3_request_mismatch() {
    let mut w = world();
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let mut other = req.clone();
    other.nonce.0[0] ^= 1;
    assert_eq!(rule(run(&w, &other, &pay, false, &NoHistory, NOW)), 3);
}

#[test]
fn v4_wrong_payee() {
    let mut w = world();
    let other = w.wallets[1].id();
    let (req, pay) = one_hop_edit(&mut w, 250, |b| b.payee = other);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 4);
}

#[test]
fn v5_amount_mismatch() {
    let mut w = world();
    let (req, pay) = one_hop_edit(&mut w, 250, |b| b.to = 249);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 5);
}

#[test]
fn v6_currency_mismatch() {
    let mut w = world();
    let (mut req, pay) = w.payment(1, 1_000, 250, NOW);
    req.currency = "USD".into();
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 6);
}

#[test]
fn v7_broken_chain() {
    let mut w = world();
    let (req, pay) = one_hop_edit(&mut w, 250, |b| b.input = World::note(9));
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 7);
}

#[test]
fn v8_range_outside_note() {
    let mut w = world();
    let (req, pay) = one_hop_edit(&mut w, 250, |b| {
        b.from = 900;
        b.to = 1_150;
    });
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 8);
}

#[test]
fn v9_hop_limit() {
    let mut w = world();
    let (req, pay) = w.payment(4, 1_000, 250, NOW);
    assert_eq!(
        rule(run(&w, &req, &pay, false, &NoHistory, NOW)),
        0,
        "4 hops allowed"
    );
    let (req, pay) = w.payment(5, 1_000, 250, NOW);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 9);
}

#[test]
fn v10_unknown_certificate() {
    let mut w = world();
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    pay.certs.retain(|c| c.body.role != Role::Device);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 10);
}

#[test]
fn v11_certificate_chain() {
    let mut w = world();
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    // The owner's certificate re-signed by a key that is not its FI's.
    let dev = pay
        .certs
        .iter()
        .position(|c| c.body.role == Role::Device)
        .unwrap();
    let forged_body: CertBody = pay.certs[dev].body.clone();
    pay.certs[dev] = sign_body(forged_body, &w.root_key);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 11);
    // An "FI" whose certificate was not issued by the pinned root.
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    let fi = pay
        .certs
        .iter()
        .position(|c| c.body.role == Role::Fi)
        .unwrap();
    pay.certs[fi] = sign_body(pay.certs[fi].body.clone(), &w.fi_keys[1]);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 11);
}

#[test]
fn v12_issuance_not_allowed() {
    let mut w = world();
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    let owner = w.wallets[0].id();
    let big = w.issue(0, owner, 150_000, 1);
    let note = big.note_id();
    pay.chains[0].issuance = big;
    let mut body = pay.chains[0].spends[0].body.clone();
    body.input = note;
    pay.chains[0].spends[0] = World::spend_by(&mut w.wallets[0], body);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 12);
}

#[test]
fn v13_certificate_not_valid_at_use() {
    let mut w = world();
    // Wallet 0's certificate ends before the spend.
    let mut body = w.wallets[0].cert.body.clone();
    body.not_after = NOW - 2 * 3600;
    w.wallets[0].cert = sign_body(body, &w.fi_keys[0]);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert_eq!(e.rule(), 13, "{e}");
}

#[test]
fn v14_note_expired() {
    let mut w = world();
    let late = T0 + 91 * DAY;
    w.publish_crls(late - 60, &[], &crate::P256Provider);
    let (req, pay) = w.payment(1, 1_000, 250, late);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, late)), 14);
}

#[test]
fn v15_time_order() {
    let mut w = world();
    let (req, pay) = one_hop_edit(&mut w, 250, |b| b.time = NOW + 3_600);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 15);
    let (req, pay) = one_hop_edit(&mut w, 250, |b| b.time = T0 - DAY);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 15);
}

#[test]
fn v16_revoked() {
    let mut w = world();
    let serial = w.wallets[0].cert.body.serial;
    w.publish_crls(NOW - 60, &[serial], &crate::P256Provider);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 16);
    // A revoked FI (listed on the root's CRL).
    w.publish_crls(NOW - 50, &[10], &crate::P256Provider);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 16);
}

#[test]
fn v17_crl_too_old_for_amount() {
    let mut w = World::new(2);
    w.publish_crls(NOW - 8 * DAY, &[], &crate::P256Provider);
    // 1,000 is under the no-CRL tier: accepted with a stale CRL.
    let (req, pay) = w.payment(1, 5_000, 1_000, NOW);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 0);
    // 3,000 needs a CRL at most 7 days old.
    let (req, pay) = w.payment(1, 5_000, 3_000, NOW);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 17);
    // No CRL at all.
    let mut w2 = World::new(2);
    let (req, pay) = w2.payment(1, 5_000, 3_000, NOW);
    let e = run(&w2, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert!(matches!(e, VerifyError::CrlTooOld { age: None, .. }), "{e}");
}

#[test]
fn v18_above_floor_limit() {
    let mut w = world();
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let mut big = req.clone();
    big.amount = 600_000;
    assert_eq!(rule(run(&w, &big, &pay, false, &NoHistory, NOW)), 18);
}

#[test]
fn v19_issuance_signature() {
    let mut w = world();
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    if let Signature::Es256(s) = &mut pay.chains[0].issuance.signature {
        s[10] ^= 1;
    }
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 19);
}

#[test]
fn v20_spend_signature_plain_and_webauthn() {
    let mut w = world();
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    if let Signature::WebAuthn(a) = &mut pay.chains[0].spends[0].signature {
        a.signature[5] ^= 1;
    }
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 20);
    // A plain signature where the certificate demands WebAuthn.
    let (req, mut pay) = w.payment(1, 1_000, 250, NOW);
    pay.chains[0].spends[0].signature = Signature::Es256([1; 64]);
    let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::SpendSignature {
                error: SignatureError::WebAuthnRequired,
                ..
            }
        ),
        "{e}"
    );
    // An assertion without user verification.
    if let crate::testing::DeviceSigner::WebAuthn(a) = &mut w.wallets[0].signer {
        a.flags = flags::UP;
    }
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::SpendSignature {
                error: SignatureError::WebAuthn(WebAuthnError::UserNotVerified),
                ..
            }
        ),
        "{e}"
    );
}

/// V20 and synced passkeys: a signer whose assertions carry BE (a synced passkey) is
/// refused under a device-bound certificate and accepted under one that says `synced`,
/// at the payee and at the FI's deposit; BE clear is accepted under either.
#[test]
fn v20_backup_eligible_signer_needs_a_synced_certificate() {
    use crate::testing::{DeviceSigner, wallet_policy};
    use crate::webauthn::WebAuthnPolicy;
    let set_flags = |w: &mut World, f: u8| {
        if let DeviceSigner::WebAuthn(a) = &mut w.wallets[0].signer {
            a.flags = f;
        }
    };
    let mut w = world();
    set_flags(&mut w, flags::UP | flags::UV | flags::BE | flags::BS);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::SpendSignature {
                error: SignatureError::WebAuthn(WebAuthnError::BackupEligible),
                ..
            }
        ),
        "{e}"
    );
    // The same key certified as a synced passkey.
    let key = w.wallets[0].cert.body.subject;
    let synced = WebAuthnPolicy {
        synced: true,
        ..wallet_policy()
    };
    w.wallets[0].cert = w.certify_device(0, key, Some(synced), None);
    for f in [
        flags::UP | flags::UV | flags::BE | flags::BS,
        flags::UP | flags::UV | flags::BE,
        flags::UP | flags::UV,
    ] {
        set_flags(&mut w, f);
        let (req, pay) = w.payment(1, 1_000, 250, NOW);
        run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_or_else(|e| panic!("flags {f:#x}: {e}"));
        let known: Vec<Certificate> = Vec::new();
        let crls = crate::crl_store::CrlStore::new();
        let v = Verifier {
            root: &w.root,
            known_certs: &known,
            crls: &crls,
            policy: &w.policy,
            provider: &crate::P256Provider,
        };
        v.verify_deposit(&w.pos.id(), &pay, &NoHistory, NOW + DAY)
            .unwrap_or_else(|e| panic!("deposit, flags {f:#x}: {e}"));
    }
    // BS without BE stays malformed under a synced certificate.
    set_flags(&mut w, flags::UP | flags::UV | flags::BS);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::SpendSignature {
                error: SignatureError::WebAuthn(WebAuthnError::BackupStateWithoutEligibility),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn v21_duplicate_input() {
    let mut w = world();
    let (mut req, mut pay) = w.payment(1, 1_000, 250, NOW);
    req.amount = 500;
    let rh = req.hash();
    let mut body = pay.chains[0].spends[0].body.clone();
    body.request = rh;
    pay.chains[0].spends[0] = World::spend_by(&mut w.wallets[0], body);
    let c = pay.chains[0].clone();
    pay.chains.push(c);
    assert_eq!(rule(run(&w, &req, &pay, false, &NoHistory, NOW)), 21);
}

#[test]
fn v22_double_spend_inside_payment() {
    let mut w = world();
    let (mut req, mut pay) = w.payment(1, 1_000, 250, NOW);
    req.amount = 500;
    let rh = req.hash();
    let mut b1 = pay.chains[0].spends[0].body.clone();
    b1.request = rh;
    let mut b2 = b1.clone();
    b2.from = 100;
    b2.to = 350;
    let s1 = World::spend_by(&mut w.wallets[0], b1);
    let s2 = World::spend_by(&mut w.wallets[0], b2);
    let iss = pay.chains[0].issuance.clone();
    pay.chains = vec![
        Chain {
            issuance: iss.clone(),
            spends: vec![s1],
        },
        Chain {
            issuance: iss,
            spends: vec![s2],
        },
    ];
    let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
    assert_eq!(e.rule(), 22);
    let v = e
        .fraud_proof()
        .unwrap()
        .verify(&w.root, &crate::P256Provider)
        .unwrap();
    assert_eq!(v.culprit, w.wallets[0].id());
    assert_eq!(v.overlap, 150);
}

#[test]
fn v23_double_spend_against_history_and_retry_is_idempotent() {
    let mut w = world();
    let (req, pay) = w.payment(2, 1_000, 250, NOW);
    let v = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap();
    let mut ledger = RangeLedger::new();
    assert_eq!(record(&mut ledger, &v), 2);
    assert_eq!(record(&mut ledger, &v), 0, "recording twice is idempotent");

    // Wallet 1 spends the rest of the note it received: shares the identical hop-1 spend.
    let mut req2 = w.request(0, 77, NOW);
    let first = pay.chains[0].spends[0].clone();
    let b = SpendBody {
        input: first.id(),
        from: 0,
        to: 250,
        payee: w.pos.id(),
        request: req2.hash(),
        time: NOW,
    };
    req2.amount = 250;
    let b = SpendBody {
        request: req2.hash(),
        ..b
    };
    let mut pay2 = pay.clone();
    pay2.chains[0].spends[1] = World::spend_by(&mut w.wallets[1], b.clone());
    // Same range of the same note as the recorded hop 2: a double spend by wallet 1.
    let e = run(&w, &req2, &pay2, false, &ledger, NOW).unwrap_err();
    assert_eq!(e.rule(), 23, "{e}");
    let verdict = e
        .fraud_proof()
        .unwrap()
        .verify(&w.root, &crate::P256Provider)
        .unwrap();
    assert_eq!(verdict.culprit, w.wallets[1].id());

    // Wallet 0 double-spends the first hop's range directly to the POS.
    let mut req3 = w.request(250, 78, NOW);
    req3.amount = 250;
    let b3 = SpendBody {
        input: pay.chains[0].issuance.note_id(),
        from: 100,
        to: 350,
        payee: w.pos.id(),
        request: req3.hash(),
        time: NOW,
    };
    let mut pay3 = pay.clone();
    pay3.chains[0].spends = vec![World::spend_by(&mut w.wallets[0], b3)];
    let e = run(&w, &req3, &pay3, false, &ledger, NOW).unwrap_err();
    assert_eq!(e.rule(), 23);
    assert_eq!(
        e.fraud_proof()
            .unwrap()
            .verify(&w.root, &crate::P256Provider)
            .unwrap()
            .culprit,
        w.wallets[0].id()
    );
}

#[test]
fn fraud_proof_rejects_non_fraud() {
    let mut w = world();
    let (_, pay) = w.payment(1, 1_000, 250, NOW);
    let s = pay.chains[0].spends[0].clone();
    let mut b = s.body.clone();
    b.from = 250;
    b.to = 500;
    let adjacent = World::spend_by(&mut w.wallets[0], b);
    let p = crate::FraudProof::new(
        s.clone(),
        adjacent,
        w.wallets[0].cert.clone(),
        w.fis[0].clone(),
    );
    assert_eq!(
        p.verify(&w.root, &crate::P256Provider),
        Err(crate::msg::fraud::FraudError::NoOverlap)
    );
    let p = crate::FraudProof::new(
        s.clone(),
        s.clone(),
        w.wallets[0].cert.clone(),
        w.fis[0].clone(),
    );
    assert_eq!(
        p.verify(&w.root, &crate::P256Provider),
        Err(crate::msg::fraud::FraudError::SameSpend)
    );
    // Round trip of a fraud proof.
    let mut b = s.body.clone();
    b.from = 10;
    let other = World::spend_by(&mut w.wallets[0], b);
    let p = crate::FraudProof::new(s, other, w.wallets[0].cert.clone(), w.fis[0].clone());
    assert_eq!(crate::FraudProof::from_bytes(&p.to_bytes()).unwrap(), p);
    // Forged by someone else: signed with the wrong key.
    let mut forged = p.clone();
    forged.signer = w.wallets[1].cert.clone();
    assert!(forged.verify(&w.root, &crate::P256Provider).is_err());
    let _ = Signed::<SpendBody>::body_bytes_of(&forged.first.body);
}

/// Every rule number the code returns has a row in `docs/PROTOCOL.md` §6 naming the same
/// error variant, and the table has no row the code lacks.
#[test]
fn protocol_doc_rule_table_matches_the_code() {
    let doc = include_str!("../../../../docs/PROTOCOL.md");
    let variants = [
        (1, "RequestUsed"),
        (2, "RequestExpired"),
        (3, "RequestMismatch"),
        (4, "WrongPayee"),
        (5, "AmountMismatch"),
        (6, "CurrencyMismatch"),
        (7, "BrokenChain"),
        (8, "RangeOutsideNote"),
        (9, "HopLimitExceeded"),
        (10, "UnknownCertificate"),
        (11, "CertificateChain"),
        (12, "IssuanceNotAllowed"),
        (13, "CertificateNotValid"),
        (14, "NoteExpired"),
        (15, "TimeOrder"),
        (16, "Revoked"),
        (17, "CrlTooOld"),
        (18, "AboveFloorLimit"),
        (19, "IssuanceSignature"),
        (20, "SpendSignature"),
        (21, "DuplicateInput"),
        (22, "DoubleSpendInPayment"),
        (23, "DoubleSpend"),
        (25, "CarriedCrl"),
        (26, "AbovePayerLimit"),
        (27, "UserVerificationRequired"),
    ];
    for (n, name) in variants {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| V{n} |")))
            .unwrap_or_else(|| panic!("no row for V{n}"));
        assert!(
            row.ends_with(&format!("| `{name}` |")),
            "V{n} row does not name {name}: {row}"
        );
    }
    let rows = doc.lines().filter(|l| l.starts_with("| V")).count();
    assert_eq!(
        rows,
        variants.len() + 1,
        "V24 is the only rule without an error variant"
    );
    // And the code's numbering agrees (spot-check through real errors).
    assert_eq!(VerifyError::RequestUsed.rule(), 1);
    assert_eq!(
        VerifyError::DuplicateInput {
            first: 0,
            second: 1
        }
        .rule(),
        21
    );
}

mod tamper {
    use super::*;
    use proptest::prelude::*;

    struct Fixture {
        world: World,
        req: PaymentRequest,
        bytes: Vec<u8>,
    }

    fn fixture() -> &'static Fixture {
        static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        F.get_or_init(|| {
            let mut world = world();
            let (req, pay) = world.payment(2, 1_000, 250, NOW);
            Fixture {
                bytes: pay.to_bytes(),
                world,
                req,
            }
        })
    }

    fn batch_fixture() -> &'static Fixture {
        static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        F.get_or_init(|| {
            let mut world = world();
            let (req, pay) = world.multi_note_payment(3, 1_000, 900, true, NOW);
            Fixture {
                bytes: pay.to_bytes(),
                world,
                req,
            }
        })
    }

    fn tampered_is_refused(
        f: &Fixture,
        idx: prop::sample::Index,
        val: u8,
    ) -> Result<(), TestCaseError> {
        let known = f.world.pos_known();
        let provider = *all_providers().last().unwrap();
        let v = f.world.verifier(&known, provider);
        let original = Payment::from_bytes(&f.bytes).unwrap();
        prop_assert!(
            v.verify_payment(&f.req, false, &original, &NoHistory, NOW)
                .is_ok()
        );
        let mut b = f.bytes.clone();
        let i = idx.index(b.len());
        prop_assume!(b[i] != val);
        b[i] = val;
        if let Ok(p) = Payment::from_bytes(&b) {
            prop_assert!(p != original);
            prop_assert!(
                v.verify_payment(&f.req, false, &p, &NoHistory, NOW)
                    .is_err(),
                "byte {} -> {:#x} accepted",
                i,
                val
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The same over a 3-note payment signed with one batch assertion: a changed size,
        /// index, path byte, leaf or assertion byte is refused.
        #[test]
        fn tampered_batch_payment_never_verifies(idx in any::<prop::sample::Index>(), val in any::<u8>()) {
            tampered_is_refused(batch_fixture(), idx, val)?;
        }

        /// Any single-byte change to a valid payment is refused: by the decoder, or by a
        /// verification rule. (Canonical encoding means a changed byte is a changed value.)
        #[test]
        fn tampered_payment_never_verifies(idx in any::<prop::sample::Index>(), val in any::<u8>()) {
            let f = fixture();
            let known = f.world.pos_known();
            let provider = *all_providers().last().unwrap();
            let v = f.world.verifier(&known, provider);
            let original = Payment::from_bytes(&f.bytes).unwrap();
            prop_assert!(v.verify_payment(&f.req, false, &original, &NoHistory, NOW).is_ok());
            let mut b = f.bytes.clone();
            let i = idx.index(b.len());
            prop_assume!(b[i] != val);
            b[i] = val;
            if let Ok(p) = Payment::from_bytes(&b) {
                prop_assert!(p != original);
                prop_assert!(v.verify_payment(&f.req, false, &p, &NoHistory, NOW).is_err(), "byte {} -> {:#x} accepted", i, val);
            }
        }
    }
}

#[test]
fn deposit_verification_at_the_fi() {
    let mut w = world();
    let (_, pay) = w.payment(2, 1_000, 250, NOW);
    let known: Vec<Certificate> = Vec::new();
    let crls = crate::crl_store::CrlStore::new();
    let v = Verifier {
        root: &w.root,
        known_certs: &known,
        crls: &crls,
        policy: &w.policy,
        provider: &crate::P256Provider,
    };
    // The FI settles a week later: no request, no CRL freshness requirement.
    let later = NOW + 7 * DAY;
    let mut fi_ledger = RangeLedger::new();
    let ok = v
        .verify_deposit(&w.pos.id(), &pay, &fi_ledger, later)
        .unwrap();
    assert_eq!((ok.request, ok.amount), (None, 250));
    assert_eq!(record(&mut fi_ledger, &ok), 2);
    // Depositing again is idempotent at the ledger (same spends).
    let again = v
        .verify_deposit(&w.pos.id(), &pay, &fi_ledger, later)
        .unwrap();
    assert_eq!(record(&mut fi_ledger, &again), 0);
    // Someone else cannot deposit it.
    let e = v
        .verify_deposit(&w.wallets[3].id(), &pay, &fi_ledger, later)
        .unwrap_err();
    assert_eq!(e.rule(), 4);
    // Wallet 1 paid the same received range to another payee: the FI proves it.
    let mut other = pay.clone();
    let mut b = other.chains[0].spends[1].body.clone();
    b.payee = w.wallets[2].id();
    other.chains[0].spends[1] = World::spend_by(&mut w.wallets[1], b);
    let e = v
        .verify_deposit(&w.wallets[2].id(), &other, &fi_ledger, later)
        .unwrap_err();
    assert_eq!(e.rule(), 23);
    let verdict = e
        .fraud_proof()
        .unwrap()
        .verify(&w.root, &crate::P256Provider)
        .unwrap();
    assert_eq!(verdict.culprit, w.wallets[1].id());
}

/// One approval per payment: one WebAuthn assertion over all the spends a wallet signs for
/// a payment (`Signature::WebAuthnBatch`, PROTOCOL §4 "Batch", V20).
mod batch {
    use super::*;
    use crate::msg::issuance::Issuance;
    use crate::sig::verify_signature;
    use crate::testing::DeviceSigner;
    use crate::webauthn::check_sign_count;

    fn counter(w: &World, i: usize) -> u32 {
        match &w.wallets[i].signer {
            DeviceSigner::WebAuthn(a) => a.counter,
            DeviceSigner::Software(_) => unreachable!(),
        }
    }

    fn share(s: &Spend) -> &crate::batch::BatchAssertion {
        match &s.signature {
            Signature::WebAuthnBatch(b) => b,
            other => panic!("batch share expected, found {other:?}"),
        }
    }

    fn verifies_alone(w: &World, signer: usize, s: &Spend) -> Result<(), SignatureError> {
        let c = &w.wallets[signer].cert.body;
        let mut last = None;
        for p in all_providers() {
            let r = verify_signature(
                p,
                &c.subject,
                c.webauthn.as_ref(),
                &s.body_bytes(),
                &s.signature,
            );
            if let Some(prev) = &last {
                assert_eq!(prev, &r, "providers disagree");
            }
            last = Some(r);
        }
        last.unwrap()
    }

    #[test]
    fn three_spends_one_assertion_verify_as_a_payment_and_alone() {
        let mut w = world();
        let before = counter(&w, 0);
        let (req, pay) = w.multi_note_payment(3, 1_000, 900, true, NOW);
        assert_eq!(
            counter(&w, 0),
            before + 1,
            "one authenticator use for three spends"
        );
        let spends: Vec<&Spend> = pay.chains.iter().map(|c| &c.spends[0]).collect();
        for (i, s) in spends.iter().enumerate() {
            let b = share(s);
            assert_eq!((b.size, usize::from(b.index)), (3, i));
            assert_eq!(
                b.assertion,
                share(spends[0]).assertion,
                "the same assertion"
            );
            verifies_alone(&w, 0, s).unwrap();
        }
        let bytes = pay.to_bytes();
        let decoded = Payment::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, pay);
        let v = run(&w, &req, &decoded, false, &NoHistory, NOW).unwrap();
        assert_eq!((v.amount, v.spends.len()), (900, 3));
        // A wallet with a software key signs each spend on its own (no prompt to save).
        let mut pos = w.pos.clone();
        let sigs = pos.sign_batch(&[b"a".to_vec(), b"b".to_vec()]);
        assert!(sigs.iter().all(|s| matches!(s, Signature::Es256(_))));
    }

    /// The batch spends pay wallet 1; wallet 1 spends each received note onward, alone,
    /// in its own payment: the batch-signed hop is provenance and still verifies.
    #[test]
    fn each_batch_spend_verifies_after_travelling_onward() {
        let mut w = world();
        let payee = w.wallets[1].id();
        let issuances: Vec<Issuance> = (0..3)
            .map(|i| w.issue(0, w.wallets[0].id(), 1_000, 60 + i))
            .collect();
        let bodies: Vec<SpendBody> = issuances
            .iter()
            .map(|iss| SpendBody {
                input: iss.note_id(),
                from: 0,
                to: 400,
                payee,
                request: Digest32([9; 32]),
                time: NOW - 100,
            })
            .collect();
        let bytes: Vec<Vec<u8>> = bodies.iter().map(Signed::body_bytes_of).collect();
        let sigs = w.wallets[0].sign_batch(&bytes);
        for (k, (iss, (body, signature))) in issuances
            .iter()
            .zip(bodies.into_iter().zip(sigs))
            .enumerate()
        {
            let first = Signed { body, signature };
            // Travel through the wire alone, as a wallet stores provenance.
            let first = Spend::from_bytes(&first.to_bytes()).unwrap();
            let req = w.request(150, 200 + k as u8, NOW - 10);
            let onward = World::spend_by(
                &mut w.wallets[1],
                SpendBody {
                    input: first.id(),
                    from: 0,
                    to: 150,
                    payee: w.pos.id(),
                    request: req.hash(),
                    time: NOW - 5,
                },
            );
            let pay = Payment {
                certs: vec![
                    w.fis[0].clone(),
                    w.fis[1].clone(),
                    w.wallets[0].cert.clone(),
                    w.wallets[1].cert.clone(),
                ],
                chains: vec![Chain {
                    issuance: iss.clone(),
                    spends: vec![first, onward],
                }],
                crls: Vec::new(),
            }
            .canonical();
            let pay = Payment::from_bytes(&pay.to_bytes()).unwrap();
            let v = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap();
            assert_eq!((v.received[0].hops, v.spends.len()), (2, 2), "note {k}");
        }
    }

    #[test]
    fn tampered_leaf_path_index_size_or_reused_assertion_is_refused() {
        let mut w = world();
        let (req, pay) = w.multi_note_payment(3, 1_000, 900, true, NOW);
        let spend_sig = |e: VerifyError| matches!(e, VerifyError::SpendSignature { .. });
        let refused = |p: &Payment| {
            let e = run(&w, &req, p, false, &NoHistory, NOW).unwrap_err();
            assert!(spend_sig(e.clone()), "{e}");
            e
        };
        let edit = |k: usize, f: &dyn Fn(&mut crate::batch::BatchAssertion)| {
            let mut p = pay.clone();
            if let Signature::WebAuthnBatch(b) = &mut p.chains[k].spends[0].signature {
                f(b);
            }
            p
        };
        // Leaf: another body under the same share (amounts kept: only the time changes).
        let mut p = pay.clone();
        p.chains[1].spends[0].body.time += 1;
        refused(&p);
        // Path: every byte of every element.
        for k in 0..3 {
            for j in 0..share(&pay.chains[k].spends[0]).path.len() {
                for byte in [0, 17, 31] {
                    refused(&edit(k, &|b| b.path[j].0[byte] ^= 0x40));
                }
            }
        }
        // Index: 0 and 1 have paths of the same length (2), so the swap is well-formed.
        refused(&edit(0, &|b| b.index = 1));
        refused(&edit(1, &|b| b.index = 0));
        // Size: 4 leaves give leaf 0 a path of 2 as well.
        refused(&edit(0, &|b| b.size = 4));
        // Shapes the decoder refuses are refused in memory too.
        let e = refused(&edit(2, &|b| b.index = 0));
        assert!(
            matches!(
                e,
                VerifyError::SpendSignature {
                    error: SignatureError::BatchShape(_),
                    ..
                }
            ),
            "{e}"
        );
        // The shares of spends 0 and 1 swapped.
        let mut p = pay.clone();
        let s0 = p.chains[0].spends[0].signature.clone();
        p.chains[0].spends[0].signature = p.chains[1].spends[0].signature.clone();
        p.chains[1].spends[0].signature = s0;
        refused(&p);
        // The assertion alone (plain form) over one spend of the batch.
        let mut p = pay.clone();
        let a = share(&p.chains[0].spends[0]).assertion.clone();
        p.chains[0].spends[0].signature = Signature::WebAuthn(Box::new(a));
        refused(&p);
        // The assertion and a share reused for a spend not in the batch: a fourth note.
        let (req4, mut pay4) = w.payment(1, 1_000, 250, NOW);
        pay4.chains[0].spends[0].signature = pay.chains[0].spends[0].signature.clone();
        let e = run(&w, &req4, &pay4, false, &NoHistory, NOW).unwrap_err();
        assert!(spend_sig(e.clone()), "{e}");
        // Batch shares under a certificate without a WebAuthn policy.
        let pos = &w.pos.cert.body;
        let s = &pay.chains[0].spends[0];
        assert_eq!(
            verify_signature(
                &crate::P256Provider,
                &pos.subject,
                None,
                &s.body_bytes(),
                &s.signature
            ),
            Err(SignatureError::PlainRequired)
        );
        // And the untouched payment still verifies.
        run(&w, &req, &pay, false, &NoHistory, NOW).unwrap();
    }

    #[test]
    fn fraud_proofs_over_batch_signed_spends_verify() {
        let mut w = world();
        let (_, pay) = w.multi_note_payment(3, 1_000, 900, true, NOW);
        let batch_spend = pay.chains[0].spends[0].clone();
        // The same range spent again, signed on its own.
        let again = World::spend_by(
            &mut w.wallets[0],
            SpendBody {
                from: 100,
                to: 350,
                ..batch_spend.body.clone()
            },
        );
        let proof = crate::FraudProof::new(
            batch_spend,
            again,
            w.wallets[0].cert.clone(),
            w.fis[0].clone(),
        );
        let proof = crate::FraudProof::from_bytes(&proof.to_bytes()).unwrap();
        for p in all_providers() {
            let v = proof.verify(&w.root, p).unwrap();
            assert_eq!((v.culprit, v.overlap), (w.wallets[0].id(), 200));
        }
        // Two overlapping spends of one note approved in ONE batch: both shares verify,
        // the payment is refused by V22 and its fraud proof holds two batch shares.
        let iss = w.issue(0, w.wallets[0].id(), 1_000, 77);
        let mut req = w.request(500, 78, NOW - 10);
        req.amount = 500;
        let bodies: Vec<SpendBody> = [(0, 250), (100, 350)]
            .iter()
            .map(|&(from, to)| SpendBody {
                input: iss.note_id(),
                from,
                to,
                payee: w.pos.id(),
                request: req.hash(),
                time: NOW - 5,
            })
            .collect();
        let bytes: Vec<Vec<u8>> = bodies.iter().map(Signed::body_bytes_of).collect();
        let sigs = w.wallets[0].sign_batch(&bytes);
        let chains = bodies
            .into_iter()
            .zip(sigs)
            .map(|(body, signature)| Chain {
                issuance: iss.clone(),
                spends: vec![Signed { body, signature }],
            })
            .collect();
        let pay = Payment {
            certs: vec![w.fis[0].clone(), w.wallets[0].cert.clone()],
            chains,
            crls: Vec::new(),
        };
        let e = run(&w, &req, &pay, false, &NoHistory, NOW).unwrap_err();
        assert_eq!(e.rule(), 22, "{e}");
        let proof = e.fraud_proof().unwrap();
        assert!(matches!(proof.first.signature, Signature::WebAuthnBatch(_)));
        assert!(matches!(
            proof.second.signature,
            Signature::WebAuthnBatch(_)
        ));
        assert_eq!(
            proof.verify(&w.root, &crate::P256Provider).unwrap().overlap,
            150
        );
    }

    /// Sign counts: the spends of one batch share one assertion, hence one count. Where a
    /// stored count exists (the FI), the rule applies once per distinct assertion
    /// (`Signature::assertion()`), never once per spend.
    #[test]
    fn one_sign_count_per_batch() {
        let mut w = world();
        let (_, p1) = w.multi_note_payment(3, 1_000, 900, true, NOW);
        let (_, p2) = w.multi_note_payment(2, 1_000, 600, true, NOW);
        let mut stored = 0;
        let mut seen: Vec<[u8; 64]> = Vec::new();
        for s in p1.chains.iter().chain(&p2.chains).map(|c| &c.spends[0]) {
            let a = s.signature.assertion().unwrap();
            let crate::webauthn::AuthDataWire::Compact { sign_count, .. } = a.auth_data else {
                panic!("compact expected")
            };
            if seen.contains(&a.signature) {
                assert_eq!(sign_count, stored, "same batch, same count");
                assert!(
                    check_sign_count(stored, sign_count).is_err(),
                    "per spend it would fail"
                );
                continue;
            }
            check_sign_count(stored, sign_count).unwrap();
            stored = sign_count;
            seen.push(a.signature);
        }
        assert_eq!(seen.len(), 2);
    }

    /// Sizes of a 1-hop payment drawing on 1, 2, 3 notes: one assertion per spend against
    /// one batch assertion. Every spend still carries the assertion (each must verify
    /// alone), so the batch form adds the index and path: it saves prompts, not bytes.
    #[test]
    fn payment_sizes_per_spend_and_batched() {
        let mut w = world();
        let mut rows = Vec::new();
        for n in 1..=3 {
            let (_, single) = w.multi_note_payment(n, 1_000, 900, false, NOW);
            let (req, batched) = w.multi_note_payment(n, 1_000, 900, true, NOW);
            run(&w, &req, &batched, false, &NoHistory, NOW).unwrap();
            let (a, b) = (single.to_bytes().len(), batched.to_bytes().len());
            println!(
                "payment from {n} note(s): one assertion per spend {a} bytes, one batch assertion {b} bytes ({:+})",
                b as i64 - a as i64
            );
            rows.push(b - a);
        }
        // n = 1 is the plain form; n = 2: 2 × (6 + 34); n = 3: 2 × (6 + 68) + (6 + 34).
        assert_eq!(rows, vec![0, 80, 188]);
    }
}
