//! WebAuthn registration with a fuzzed `attestationObject` (CBOR map, authenticator data,
//! attested credential and COSE key, `none` / `packed` / `fido-u2f` statements with their
//! x509 certificates) next to the valid `clientDataJSON` of the W3C `packed.ES256` vector;
//! and the COSE key decoder alone. Neither panics on any input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ops_core::P256Provider;
use ops_core::registration::{
    RegistrationPolicy, public_key_from_cose, verify_registration,
};
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
        &valid.client_data_json,
        data,
    );
    let _ = public_key_from_cose(data);
});
