//! Shared fixtures of the fuzz targets (`fuzz_targets/`): the W3C WebAuthn registration
//! vectors of `docs/vectors/webauthn/w3c-es256.json`, decoded once.

use std::sync::OnceLock;

use ops_core::registration::RegistrationPolicy;
use ops_core::webauthn::SyncedKeys;

/// The vector file, built in.
const W3C_VECTORS: &str = include_str!("../../docs/vectors/webauthn/w3c-es256.json");

/// One W3C registration ceremony: what the FI issued and what the browser returned.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The challenge the relying party issued.
    pub challenge: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`.
    pub attestation_object: Vec<u8>,
}

/// The relying party of the W3C vectors (`example.org`), lenient on UV and backup
/// eligibility so that the spec's vectors pass and the fuzzer reaches every check.
pub fn w3c_policy() -> RegistrationPolicy {
    let mut policy = RegistrationPolicy::strict("example.org");
    policy.require_user_verification = false;
    policy.synced_keys = SyncedKeys::Accepted;
    policy
}

/// The registrations of the W3C vectors, by name (`packed.ES256`, `none.ES256`, …).
pub fn w3c_registrations() -> &'static [(String, Registration)] {
    static ALL: OnceLock<Vec<(String, Registration)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let json: serde_json::Value = serde_json::from_str(W3C_VECTORS).unwrap_or_default();
        let field = |v: &serde_json::Value, name: &str| {
            v["registration"][name]
                .as_str()
                .and_then(from_hex)
                .unwrap_or_default()
        };
        json["vectors"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|v| {
                let name = v["name"].as_str().unwrap_or_default().to_owned();
                let registration = Registration {
                    challenge: field(v, "challenge"),
                    client_data_json: field(v, "client_data_json"),
                    attestation_object: field(v, "attestation_object"),
                };
                (name, registration)
            })
            .collect()
    })
}

/// The W3C registration named `name`; an empty one when the file lacks it (the targets
/// then still run, on inputs that fail early).
pub fn w3c_registration(name: &str) -> Registration {
    w3c_registrations()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, r)| r.clone())
        .unwrap_or(Registration {
            challenge: Vec::new(),
            client_data_json: Vec::new(),
            attestation_object: Vec::new(),
        })
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}
