//! WebAuthn registration with a fuzzed `clientDataJSON` (JSON, type, challenge, origin,
//! cross-origin members) next to the valid `attestationObject` of the W3C `packed.ES256`
//! vector, so every input reaches the client-data checks: never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ops_core::P256Provider;
use ops_core::registration::{RegistrationPolicy, verify_registration};
use ops_core_fuzz::{Registration, w3c_policy, w3c_registration};

fn fixture() -> &'static (RegistrationPolicy, Registration) {
    static F: OnceLock<(RegistrationPolicy, Registration)> = OnceLock::new();
    F.get_or_init(|| (w3c_policy(), w3c_registration("packed.ES256")))
}

fuzz_target!(|data: &[u8]| {
    let (policy, valid) = fixture();
    let _ = verify_registration(
        &P256Provider,
        policy,
        &valid.challenge,
        data,
        &valid.attestation_object,
    );
});
