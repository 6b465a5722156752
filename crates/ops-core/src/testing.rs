//! Test helpers (feature `test-util`): a software WebAuthn authenticator producing genuine
//! assertions from a p256 key, and a deterministic world of certificates and notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;

use crate::der::raw_to_der;
use crate::ids::{PublicKey, sha256};
use crate::webauthn::{RawAssertion, flags};

/// A key from a seed, reproducibly.
pub fn secret_from_seed(label: &str, seed: u64) -> [u8; 32] {
    let mut m = label.as_bytes().to_vec();
    m.extend_from_slice(&seed.to_be_bytes());
    sha256(&m)
}

/// An assertion as the browser returns it (owned).
#[derive(Debug, Clone)]
pub struct OwnedAssertion {
    pub authenticator_data: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub signature_der: Vec<u8>,
}

impl OwnedAssertion {
    pub fn as_raw(&self) -> RawAssertion<'_> {
        RawAssertion {
            authenticator_data: &self.authenticator_data,
            client_data_json: &self.client_data_json,
            signature_der: &self.signature_der,
        }
    }
}

/// A software authenticator with a platform-like behaviour (UP|UV, counter, Chromium-style
/// `clientDataJSON`). Knobs let tests produce the variants real browsers emit.
#[derive(Debug, Clone)]
pub struct SoftAuthenticator {
    key: SigningKey,
    pub rp_id: String,
    pub origin: String,
    pub flags: u8,
    pub counter: u32,
    /// Emit the high-S form of each signature.
    pub high_s: bool,
    /// Add Chromium's `other_keys_can_be_added_here` member.
    pub extra_client_data: bool,
}

impl SoftAuthenticator {
    pub fn new(seed: u64, rp_id: &str, origin: &str) -> Self {
        let key = SigningKey::from_slice(&secret_from_seed("ops soft authenticator", seed)).unwrap();
        Self {
            key,
            rp_id: rp_id.into(),
            origin: origin.into(),
            flags: flags::UP | flags::UV,
            counter: 0,
            high_s: false,
            extra_client_data: false,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        let p = self.key.verifying_key().to_encoded_point(true);
        let mut a = [0u8; 33];
        a.copy_from_slice(p.as_bytes());
        PublicKey(a)
    }

    /// `navigator.credentials.get` with this challenge.
    pub fn assert(&mut self, challenge: &[u8]) -> OwnedAssertion {
        self.counter += 1;
        let c = URL_SAFE_NO_PAD.encode(challenge);
        let extra = if self.extra_client_data {
            ",\"other_keys_can_be_added_here\":\"do not compare clientDataJSON against a template. See https://goo.gl/yabPex\""
        } else {
            ""
        };
        let json = format!(
            "{{\"type\":\"webauthn.get\",\"challenge\":\"{c}\",\"origin\":\"{}\",\"crossOrigin\":false{extra}}}",
            self.origin
        );
        self.sign_parts(json.as_bytes())
    }

    /// Signs arbitrary `clientDataJSON` with the current flags and counter.
    pub fn sign_parts(&self, client_data_json: &[u8]) -> OwnedAssertion {
        let mut ad = sha256(self.rp_id.as_bytes()).to_vec();
        ad.push(self.flags);
        ad.extend_from_slice(&self.counter.to_be_bytes());
        let mut msg = ad.clone();
        msg.extend_from_slice(&sha256(client_data_json));
        let sig: p256::ecdsa::Signature = self.key.sign(&msg);
        let sig = if self.high_s {
            let (r, s) = sig.split_scalars();
            p256::ecdsa::Signature::from_scalars(r, -*s).unwrap()
        } else {
            sig
        };
        let mut raw = [0u8; 64];
        raw.copy_from_slice(&sig.to_bytes());
        OwnedAssertion {
            authenticator_data: ad,
            client_data_json: client_data_json.to_vec(),
            signature_der: raw_to_der(&raw),
        }
    }
}
