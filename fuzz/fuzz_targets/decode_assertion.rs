//! The compact WebAuthn assertion decoder, and expansion against a fixed policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops_core::cbor::{Decoder, Encoder};
use ops_core::webauthn::{AssertionWire, WebAuthnPolicy};

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new(data);
    if let Ok(a) = AssertionWire::decode(&mut d) {
        if d.finish().is_ok() {
            let mut e = Encoder::new();
            a.encode(&mut e);
            assert_eq!(e.into_bytes(), data);
        }
        let policy = WebAuthnPolicy {
            rp_id: "wallet.example".into(),
            origins: vec!["https://wallet.example".into()],
            user_verification: true,
        };
        let _ = a.expand(&policy, &[0u8; 32]);
    }
});
