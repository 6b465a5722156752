//! The compact WebAuthn assertion decoder, and expansion against a fixed policy; the
//! signature decoder (ES256, assertion, batch share), whose output re-encodes to the input,
//! and the batch challenge rebuilt from a share for a fixed body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops_core::cbor::{Decoder, Encoder};
use ops_core::sig::Signature;
use ops_core::webauthn::{AssertionWire, WebAuthnPolicy};

fuzz_target!(|data: &[u8]| {
    let policy = WebAuthnPolicy {
        rp_id: "wallet.example".into(),
        origins: vec!["https://wallet.example".into()],
        user_verification: true,
        synced: false,
    };
    let mut d = Decoder::new(data);
    if let Ok(a) = AssertionWire::decode(&mut d) {
        if d.finish().is_ok() {
            let mut e = Encoder::new();
            a.encode(&mut e);
            assert_eq!(e.into_bytes(), data);
        }
        let _ = a.expand(&policy, &[0u8; 32]);
    }
    let mut d = Decoder::new(data);
    if let Ok(s) = Signature::decode(&mut d) {
        if d.finish().is_ok() {
            let mut e = Encoder::new();
            s.encode(&mut e);
            assert_eq!(e.into_bytes(), data);
        }
        if let Signature::WebAuthnBatch(b) = &s {
            let c = b.challenge_for(&[7u8; 32]).expect("decoded shares have a valid shape");
            let _ = b.assertion.expand(&policy, &c);
        }
    }
});
