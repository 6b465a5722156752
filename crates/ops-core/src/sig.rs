//! The two signature kinds behind one interface: plain ES256 (root, FI and software keys)
//! and WebAuthn ES256 assertions (device keys in authenticators). Which kind a signer must
//! use is fixed by its certificate: a certificate with a WebAuthn policy demands assertions,
//! any other demands plain ES256.

use thiserror::Error;

use crate::batch::BatchAssertion;
use crate::cbor::{Decoder, Encoder};
use crate::error::DecodeError;
use crate::ids::{PublicKey, sha256, to_hex};
use crate::provider::{CryptoProvider, EcdsaError};
use crate::webauthn::{
    AssertionParts, AssertionWire, Expected, WebAuthnError, WebAuthnPolicy, verify_assertion,
};

/// A signature over a message's canonical body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// ECDSA P-256 over SHA-256(body), `r || s`.
    Es256([u8; 64]),
    /// A WebAuthn assertion whose challenge is SHA-256(body).
    WebAuthn(Box<AssertionWire>),
    /// One body's share of a WebAuthn assertion over a batch of 2..=8 bodies: the
    /// assertion's challenge is the batch challenge, rebuilt from SHA-256(body), the
    /// index and the audit path ([`crate::batch`]).
    WebAuthnBatch(Box<BatchAssertion>),
}

impl Signature {
    /// Whether the signer's user was verified (PIN, biometrics): the UV flag of a WebAuthn
    /// assertion. A plain ES256 signature says nothing of its user: `false`. Not a
    /// verification: check the signature first.
    pub fn user_verified(&self) -> bool {
        let assertion = match self {
            Signature::Es256(_) => return false,
            Signature::WebAuthn(a) => &**a,
            Signature::WebAuthnBatch(b) => &b.assertion,
        };
        let flags = match &assertion.auth_data {
            crate::webauthn::AuthDataWire::Compact { flags, .. } => *flags,
            crate::webauthn::AuthDataWire::Raw(raw) => raw.get(32).copied().unwrap_or(0),
        };
        flags & crate::webauthn::flags::UV != 0
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The signer's certificate demands a WebAuthn assertion.
    #[error("the signer's certificate requires a WebAuthn assertion, found a plain signature")]
    WebAuthnRequired,
    /// The signer's certificate demands a plain ES256 signature.
    #[error(
        "the signer's certificate requires a plain ES256 signature, found a WebAuthn assertion"
    )]
    PlainRequired,
    /// Plain ECDSA failure.
    #[error("ES256: {0}")]
    Ecdsa(#[from] EcdsaError),
    /// WebAuthn check failure.
    #[error("WebAuthn: {0}")]
    WebAuthn(#[from] WebAuthnError),
    /// A batch share whose size, index and path do not fit together (the decoder refuses
    /// these; only a value built in memory can have them).
    #[error("batch signature: {0}")]
    BatchShape(&'static str),
}

impl Signature {
    /// Writes a byte string (ES256) or a map (WebAuthn).
    pub fn encode(&self, e: &mut Encoder) {
        match self {
            Signature::Es256(s) => {
                e.bytes(s);
            }
            Signature::WebAuthn(a) => a.encode(e),
            Signature::WebAuthnBatch(b) => b.encode(e),
        }
    }

    /// The WebAuthn assertion, if this is one (alone or a batch share). Spends of one
    /// batch carry the same assertion: one authenticator use, one sign count.
    pub fn assertion(&self) -> Option<&AssertionWire> {
        match self {
            Signature::Es256(_) => None,
            Signature::WebAuthn(a) => Some(a),
            Signature::WebAuthnBatch(b) => Some(&b.assertion),
        }
    }

    /// Reads any form: a byte string is ES256; a map is a WebAuthn assertion, a batch
    /// share when it has keys 8..=10 after the assertion's.
    pub fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if d.next_is_bytes() {
            Ok(Signature::Es256(d.bytes_fixed::<64>("signature")?))
        } else if d.next_is_map() {
            let mut m = d.map(8)?;
            let a = AssertionWire::decode_fields(&mut m)?;
            let sig = if m.optional(8)? {
                Signature::WebAuthnBatch(Box::new(BatchAssertion::decode_after_size(a, &mut m)?))
            } else {
                Signature::WebAuthn(Box::new(a))
            };
            m.finish()?;
            Ok(sig)
        } else {
            Err(DecodeError::InvalidValue {
                what: "signature",
                why: "neither a 64-byte ES256 signature nor a WebAuthn assertion map",
            })
        }
    }

    /// A JSON view for inspection tools.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Signature::Es256(s) => serde_json::json!({ "es256": to_hex(s) }),
            Signature::WebAuthn(a) => a.to_json(),
            Signature::WebAuthnBatch(b) => b.to_json(),
        }
    }
}

/// Each body's signature from ONE assertion made with `crate::batch::challenge(digests)`
/// (`digests[i] = SHA-256(body_i)`): the plain WebAuthn form for a single body, a
/// [`Signature::WebAuthnBatch`] share for 2..=8 bodies. `None` for no body or more than 8.
pub fn batch_signatures(assertion: AssertionWire, digests: &[[u8; 32]]) -> Option<Vec<Signature>> {
    match digests.len() {
        1 => Some(vec![Signature::WebAuthn(Box::new(assertion))]),
        _ => Some(
            BatchAssertion::shares(&assertion, digests)?
                .into_iter()
                .map(|b| Signature::WebAuthnBatch(Box::new(b)))
                .collect(),
        ),
    }
}

/// Verifies `sig` over `body` by `key`; `webauthn` is the signer certificate's policy.
pub fn verify_signature(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    webauthn: Option<&WebAuthnPolicy>,
    body: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    // One call of the assertion check whatever the form: the challenge is SHA-256 of the
    // body, or the batch challenge rebuilt from the body's share.
    let (policy, challenge, assertion) = match (webauthn, sig) {
        (None, Signature::Es256(s)) => return Ok(provider.verify_es256(key, body, s)?),
        (Some(policy), Signature::WebAuthn(a)) => (policy, sha256(body), &**a),
        (Some(policy), Signature::WebAuthnBatch(b)) => {
            let challenge = b
                .challenge_for(&sha256(body))
                .map_err(SignatureError::BatchShape)?;
            (policy, challenge, &b.assertion)
        }
        (Some(_), Signature::Es256(_)) => return Err(SignatureError::WebAuthnRequired),
        (None, Signature::WebAuthn(_) | Signature::WebAuthnBatch(_)) => {
            return Err(SignatureError::PlainRequired);
        }
    };
    verify_wire(provider, key, policy, &challenge, assertion)
}

/// Expands a compact assertion to the bytes that were signed and runs the one assertion
/// check on them (no stored sign count: offline payees keep none).
fn verify_wire(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &WebAuthnPolicy,
    challenge: &[u8],
    assertion: &AssertionWire,
) -> Result<(), SignatureError> {
    let (authenticator_data, client_data_json) = assertion.expand(policy, challenge)?;
    let parts = AssertionParts::new(&authenticator_data, &client_data_json, assertion.signature);
    verify_assertion(provider, key, &Expected::new(policy, challenge), &parts)?;
    Ok(())
}

/// A software ES256 signing key (root, FI, or a POS software key). Signing is deterministic
/// (RFC 6979), so the same body always yields the same signature.
#[derive(Clone)]
pub struct SoftwareKey(p256::ecdsa::SigningKey);

impl core::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SoftwareKey({})", self.public_key())
    }
}

impl SoftwareKey {
    /// A key from 32 secret bytes (from a CSPRNG, or a fixed seed in tests).
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, EcdsaError> {
        p256::ecdsa::SigningKey::from_slice(secret)
            .map(Self)
            .map_err(|_| EcdsaError::InvalidKey)
    }

    /// The compressed public key.
    pub fn public_key(&self) -> PublicKey {
        let p = self.0.verifying_key().to_encoded_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(p.as_bytes());
        PublicKey(out)
    }

    /// Signs SHA-256(`body`).
    pub fn sign(&self, body: &[u8]) -> Signature {
        use p256::ecdsa::signature::Signer as _;
        let s: p256::ecdsa::Signature = self.0.sign(body);
        let mut out = [0u8; 64];
        out.copy_from_slice(&s.to_bytes());
        Signature::Es256(out)
    }
}
