//! ECDSA P-256 / SHA-256 verification behind one trait, so the browser build uses the pure
//! Rust `p256` crate and the issuer service can use `ring` (feature `native-fast`).
//!
//! Both providers accept high-S and low-S signatures alike (authenticators emit both): the
//! signature is normalised to low-S before it reaches the backend.

use p256::ecdsa::Signature as P256Signature;
use p256::ecdsa::VerifyingKey;
use p256::ecdsa::signature::Verifier as _;
use thiserror::Error;

use crate::ids::PublicKey;

/// Why an ECDSA verification failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EcdsaError {
    /// The public key is not a valid P-256 point.
    #[error("public key is not a valid P-256 point")]
    InvalidKey,
    /// `r` or `s` is zero or not below the group order.
    #[error("signature scalars out of range")]
    ScalarOutOfRange,
    /// The signature does not verify.
    #[error("ECDSA signature does not verify")]
    BadSignature,
}

/// A verifier of ECDSA P-256 signatures over SHA-256 of a message.
pub trait CryptoProvider: Send + Sync {
    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;

    /// Verifies `sig` (`r || s`, either S form) over SHA-256(`message`) by `key`.
    fn verify_es256(
        &self,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), EcdsaError>;
}

/// Parses a SEC1 compressed key (prefix 02/03 only: SEC1 also defines other 33-byte forms).
fn parse_key(key: &PublicKey) -> Result<VerifyingKey, EcdsaError> {
    if !matches!(key.0[0], 2 | 3) {
        return Err(EcdsaError::InvalidKey);
    }
    VerifyingKey::from_sec1_bytes(key.as_bytes()).map_err(|_| EcdsaError::InvalidKey)
}

/// Parses `r || s` and normalises to low-S; rejects out-of-range scalars.
fn normalized(sig: &[u8; 64]) -> Result<P256Signature, EcdsaError> {
    let s = P256Signature::from_slice(sig).map_err(|_| EcdsaError::ScalarOutOfRange)?;
    Ok(s.normalize_s().unwrap_or(s))
}

/// The pure-Rust provider (`p256`), for wasm32 and native.
#[derive(Debug, Default, Clone, Copy)]
pub struct P256Provider;

impl CryptoProvider for P256Provider {
    fn name(&self) -> &'static str {
        "p256"
    }

    fn verify_es256(
        &self,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), EcdsaError> {
        let vk = parse_key(key)?;
        let sig = normalized(sig)?;
        vk.verify(message, &sig)
            .map_err(|_| EcdsaError::BadSignature)
    }
}

/// The fast native provider (`ring`), for the issuer service and the CLI.
#[cfg(feature = "native-fast")]
#[derive(Debug, Default, Clone, Copy)]
pub struct RingProvider;

#[cfg(feature = "native-fast")]
impl CryptoProvider for RingProvider {
    fn name(&self) -> &'static str {
        "ring"
    }

    fn verify_es256(
        &self,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), EcdsaError> {
        // ring takes uncompressed points only; decompress (and validate) with p256.
        let vk = parse_key(key)?;
        let point = vk.to_encoded_point(false);
        let sig = normalized(sig)?.to_bytes();
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point.as_bytes(),
        )
        .verify(message, &sig)
        .map_err(|_| EcdsaError::BadSignature)
    }
}

/// The provider this build prefers: `ring` with `native-fast`, else `p256`.
pub fn default_provider() -> &'static dyn CryptoProvider {
    #[cfg(feature = "native-fast")]
    {
        &RingProvider
    }
    #[cfg(not(feature = "native-fast"))]
    {
        &P256Provider
    }
}

/// Every provider compiled into this build (for tests and benchmarks).
pub fn all_providers() -> Vec<&'static dyn CryptoProvider> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static dyn CryptoProvider> = vec![&P256Provider];
    #[cfg(feature = "native-fast")]
    v.push(&RingProvider);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;

    fn key() -> (SigningKey, PublicKey) {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pk = sk.verifying_key().to_encoded_point(true);
        let mut a = [0u8; 33];
        a.copy_from_slice(pk.as_bytes());
        (sk, PublicKey(a))
    }

    fn high_s(sig: &P256Signature) -> [u8; 64] {
        // n - s
        let (r, s) = sig.split_scalars();
        let flipped = P256Signature::from_scalars(r, -*s).unwrap();
        let mut out = [0u8; 64];
        out.copy_from_slice(&flipped.to_bytes());
        out
    }

    /// Native test builds enable `native-fast` (see the crate's dev-dependencies), so every
    /// provider-parametrised test covers both backends.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn native_tests_run_both_providers() {
        let names: Vec<_> = all_providers().iter().map(|p| p.name()).collect();
        assert_eq!(names, ["p256", "ring"]);
    }

    #[test]
    fn accepts_low_and_high_s_and_rejects_tampering() {
        let (sk, pk) = key();
        let sig: P256Signature = sk.sign(b"hello");
        let mut low = [0u8; 64];
        low.copy_from_slice(&sig.to_bytes());
        let high = high_s(&sig);
        assert_ne!(low, high);
        for p in all_providers() {
            assert_eq!(p.verify_es256(&pk, b"hello", &low), Ok(()), "{}", p.name());
            assert_eq!(p.verify_es256(&pk, b"hello", &high), Ok(()), "{}", p.name());
            assert_eq!(
                p.verify_es256(&pk, b"hellO", &low),
                Err(EcdsaError::BadSignature),
                "{}",
                p.name()
            );
            assert_eq!(
                p.verify_es256(&pk, b"hello", &[0u8; 64]),
                Err(EcdsaError::ScalarOutOfRange)
            );
            let mut bad_key = pk;
            bad_key.0[0] = 5;
            assert_eq!(
                p.verify_es256(&bad_key, b"hello", &low),
                Err(EcdsaError::InvalidKey)
            );
        }
    }
}
