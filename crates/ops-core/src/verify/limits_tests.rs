//! The offline limits a wallet's bank sets in its certificate (issue 14, BIS Project
//! Polaris): the most one payment may take from it (V26) and the most without user
//! verification (V27), checked by every payee and by the FI at deposit.

use super::*;
use crate::ledger::NoHistory;
use crate::testing::{DAY, DeviceSigner, T0, World, sign_body};
use crate::webauthn::flags;

const NOW: u64 = T0 + DAY;

/// A world whose wallet `i` is certified with `(max_payment, max_without_uv)` and no UV
/// demanded by its WebAuthn policy; `uv`: whether its authenticator verifies its user.
fn world(i: usize, limits: (Option<u64>, Option<u64>), uv: bool) -> World {
    let mut w = World::new(3);
    w.publish_crls(NOW - 60, &[], &crate::P256Provider);
    let mut body = w.wallets[i].cert.body.clone();
    body.limits.max_payment = limits.0;
    body.limits.max_without_uv = limits.1;
    if let Some(p) = body.webauthn.as_mut() {
        p.user_verification = false;
    }
    w.wallets[i].cert = sign_body(body, &w.fi_keys[i % 2]);
    if let DeviceSigner::WebAuthn(a) = &mut w.wallets[i].signer
        && !uv
    {
        a.flags &= !flags::UV;
    }
    w
}

fn verify(w: &World, req: &PaymentRequest, pay: &Payment) -> Result<VerifiedPayment, VerifyError> {
    let known = w.pos_known();
    let pay = Payment::from_bytes(&pay.to_bytes()).expect("decodes");
    w.verifier(&known, &crate::P256Provider)
        .verify_payment(req, false, &pay, &NoHistory, NOW)
}

#[test]
fn the_limits_travel_in_the_certificate() {
    let w = world(0, (Some(5_000), Some(2_000)), true);
    let cert = &w.wallets[0].cert;
    let back = crate::Certificate::from_bytes(&cert.to_bytes()).unwrap();
    assert_eq!(back.body.limits.max_payment, Some(5_000));
    assert_eq!(back.body.limits.max_without_uv, Some(2_000));
    // A certificate without them encodes as before (the vectors are unchanged).
    let plain = World::new(1);
    assert_eq!(plain.wallets[0].cert.body.limits.max_payment, None);
}

#[test]
fn v26_one_payment_takes_at_most_the_wallets_limit_summed_over_its_notes() {
    // 900 from three notes, one approval: 300 each, 900 in all.
    let mut w = world(0, (Some(900), None), true);
    let (req, pay) = w.multi_note_payment(3, 1_000, 900, true, NOW);
    assert!(verify(&w, &req, &pay).is_ok(), "900 is the limit");
    let mut w = world(0, (Some(899), None), true);
    let (req, pay) = w.multi_note_payment(3, 1_000, 900, true, NOW);
    let e = verify(&w, &req, &pay).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::AbovePayerLimit {
                paid: 900,
                max: 899,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.rule(), 26);
}

#[test]
fn v26_holds_for_every_hop_not_only_the_last() {
    // Wallet 0 paid wallet 1 250 in an earlier payment; wallet 1 passes it on to the POS.
    let mut w = world(0, (Some(200), None), true);
    let (req, pay) = w.payment(2, 1_000, 250, NOW);
    let e = verify(&w, &req, &pay).unwrap_err();
    assert!(
        matches!(e, VerifyError::AbovePayerLimit { signer, .. } if signer == w.wallets[0].id()),
        "{e}"
    );
    // Wallet 1's own limit applies to its hop.
    let mut w = world(1, (Some(200), None), true);
    let (req, pay) = w.payment(2, 1_000, 250, NOW);
    let e = verify(&w, &req, &pay).unwrap_err();
    assert!(
        matches!(e, VerifyError::AbovePayerLimit { signer, .. } if signer == w.wallets[1].id()),
        "{e}"
    );
}

#[test]
fn v27_small_payments_by_presence_the_rest_with_the_pin() {
    // Without user verification: up to the limit only.
    let mut w = world(0, (None, Some(250)), false);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    assert!(verify(&w, &req, &pay).is_ok(), "250 by presence alone");
    let mut w = world(0, (None, Some(249)), false);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    let e = verify(&w, &req, &pay).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::UserVerificationRequired {
                paid: 250,
                max: 249,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.rule(), 27);
    // With the PIN (UV set): the same amount passes.
    let mut w = world(0, (None, Some(249)), true);
    let (req, pay) = w.payment(1, 1_000, 250, NOW);
    assert!(verify(&w, &req, &pay).is_ok());
}

#[test]
fn the_fi_applies_the_same_limits_at_deposit() {
    let mut w = world(0, (Some(200), None), true);
    let (_, pay) = w.payment(1, 1_000, 250, NOW);
    let known = w.pos_known();
    let e = w
        .verifier(&known, &crate::P256Provider)
        .verify_deposit(&w.pos.id(), &pay, &NoHistory, NOW)
        .unwrap_err();
    assert_eq!(e.rule(), 26, "{e}");
}

#[test]
fn a_plain_signature_never_counts_as_user_verified() {
    let plain = crate::sig::Signature::Es256([1; 64]);
    assert!(!plain.user_verified());
}
