//! A [`CryptoProvider`] wrapper that remembers which signatures it has verified, so a
//! verifier that sees the same certificates and note issuances over and over (the FI's
//! settlement: every deposit carries the root, its FI certificate, the payer's device
//! certificate and the note's issuance) checks each of them once.
//!
//! Soundness: ECDSA verification is a pure function of (public key, message, signature),
//! and the cache key is SHA-256 over all three (with a domain tag; the key and signature
//! have fixed lengths, so the encoding is unambiguous). Only successes are remembered: a
//! hit means "this exact triple verified before", which is exactly what a fresh
//! verification would answer. Failures are always recomputed (an attacker cannot fill the
//! cache with them). The cache is bounded; the oldest entries are evicted first.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::ids::PublicKey;
use crate::provider::{CryptoProvider, EcdsaError};

/// Domain separation for the cache key.
const KEY_TAG: &[u8] = b"ops-core verified-signature cache v1";

/// Entries kept by [`CachingProvider::new`]: 65 536 × 32-byte digests (about 5 MiB with
/// the set and the eviction queue).
pub const DEFAULT_CAPACITY: usize = 1 << 16;

/// Hit and miss counters of a [`CachingProvider`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Verifications answered from the cache.
    pub hits: u64,
    /// Verifications computed by the inner provider (successful or not).
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
}

#[derive(Debug, Default)]
struct Entries {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

/// Wraps a provider and answers repeated successful verifications from a bounded cache.
#[derive(Debug)]
pub struct CachingProvider<P> {
    inner: P,
    capacity: usize,
    entries: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<P: CryptoProvider> CachingProvider<P> {
    /// A cache of [`DEFAULT_CAPACITY`] entries in front of `inner`.
    pub fn new(inner: P) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    /// A cache of at most `capacity` entries (0 disables caching) in front of `inner`.
    pub fn with_capacity(inner: P, capacity: usize) -> Self {
        Self {
            inner,
            capacity,
            entries: Mutex::new(Entries::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Hits, misses and size so far.
    pub fn stats(&self) -> CacheStats {
        let entries = self.lock().set.len();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The critical sections cannot leave the entries inconsistent (set and queue are
        // updated together without calls that could panic in between), so a poisoned lock
        // is still usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, digest: [u8; 32]) {
        if self.capacity == 0 {
            return;
        }
        let mut e = self.lock();
        if !e.set.insert(digest) {
            return;
        }
        e.order.push_back(digest);
        while e.order.len() > self.capacity {
            if let Some(old) = e.order.pop_front() {
                e.set.remove(&old);
            }
        }
    }
}

fn cache_key(key: &PublicKey, message: &[u8], sig: &[u8; 64]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(KEY_TAG);
    h.update(key.as_bytes());
    h.update(sig);
    h.update(message);
    h.finalize().into()
}

impl<P: CryptoProvider> CryptoProvider for CachingProvider<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn verify_es256(
        &self,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), EcdsaError> {
        let digest = cache_key(key, message, sig);
        if self.capacity > 0 && self.lock().set.contains(&digest) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.inner.verify_es256(key, message, sig)?;
        self.remember(digest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::P256Provider;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature, SigningKey};

    fn signed(label: u8, message: &[u8]) -> (PublicKey, [u8; 64]) {
        let sk = SigningKey::from_slice(&[label; 32]).unwrap();
        let point = sk.verifying_key().to_encoded_point(true);
        let mut key = [0u8; 33];
        key.copy_from_slice(point.as_bytes());
        let sig: Signature = sk.sign(message);
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        (PublicKey(key), out)
    }

    #[test]
    fn a_repeated_success_is_answered_from_the_cache() {
        let p = CachingProvider::new(P256Provider);
        let (key, sig) = signed(3, b"body");
        assert_eq!(p.verify_es256(&key, b"body", &sig), Ok(()));
        assert_eq!(p.verify_es256(&key, b"body", &sig), Ok(()));
        let s = p.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 1, 1));
    }

    #[test]
    fn failures_are_never_cached_and_any_changed_input_misses() {
        let p = CachingProvider::new(P256Provider);
        let (key, sig) = signed(3, b"body");
        let (other_key, _) = signed(4, b"body");
        p.verify_es256(&key, b"body", &sig).unwrap();
        // Each of key, message and signature changed: recomputed, refused.
        assert_eq!(
            p.verify_es256(&other_key, b"body", &sig),
            Err(EcdsaError::BadSignature)
        );
        assert_eq!(
            p.verify_es256(&key, b"bodY", &sig),
            Err(EcdsaError::BadSignature)
        );
        let mut bad = sig;
        bad[40] ^= 1;
        assert!(p.verify_es256(&key, b"body", &bad).is_err());
        assert!(p.verify_es256(&key, b"body", &bad).is_err());
        let s = p.stats();
        assert_eq!((s.hits, s.misses, s.entries), (0, 5, 1));
    }

    #[test]
    fn message_boundary_cannot_be_shifted_into_the_signature() {
        // Key and signature are fixed-length and come first, so no two distinct triples
        // hash the same input.
        let (key, sig) = signed(5, b"m");
        let a = cache_key(&key, b"m", &sig);
        let mut longer = sig.to_vec();
        longer.push(b'm');
        let mut shifted = [0u8; 64];
        shifted.copy_from_slice(&longer[1..]);
        let b = cache_key(&key, &[sig[0]], &shifted);
        assert_ne!(a, b);
    }

    #[test]
    fn the_oldest_entries_are_evicted_at_capacity() {
        let p = CachingProvider::with_capacity(P256Provider, 2);
        let signed_all: Vec<_> = (0..3u8).map(|i| signed(10 + i, &[i])).collect();
        for (i, (k, s)) in signed_all.iter().enumerate() {
            p.verify_es256(k, &[i as u8], s).unwrap();
        }
        assert_eq!(p.stats().entries, 2);
        // The first was evicted: a miss; the last is still there: a hit.
        let (k0, s0) = &signed_all[0];
        p.verify_es256(k0, &[0], s0).unwrap();
        let (k2, s2) = &signed_all[2];
        p.verify_es256(k2, &[2], s2).unwrap();
        let s = p.stats();
        assert_eq!((s.hits, s.misses), (1, 4));
    }

    #[test]
    fn capacity_zero_never_caches() {
        let p = CachingProvider::with_capacity(P256Provider, 0);
        let (key, sig) = signed(3, b"body");
        p.verify_es256(&key, b"body", &sig).unwrap();
        p.verify_es256(&key, b"body", &sig).unwrap();
        assert_eq!(p.stats().misses, 2);
        assert_eq!(p.stats().entries, 0);
    }

    /// Through the whole verifier: a deposit verified a second time costs no signature
    /// verification; a certificate with the same body (same id) but another
    /// signature is not mistaken for the cached one.
    #[test]
    fn a_cached_verifier_still_refuses_a_forged_certificate_with_a_known_id() {
        use crate::ledger::NoHistory;
        use crate::sig::Signature as Sig;
        use crate::testing::{T0, World};
        let mut w = World::new(2);
        let (_, payment) = w.payment(1, 1_000, 100, T0);
        let cache = CachingProvider::new(P256Provider);
        let known = w.pos_known();
        let v = w.verifier(&known, &cache);
        let pos = w.pos.id();
        v.verify_deposit(&pos, &payment, &NoHistory, T0).unwrap();
        let first = cache.stats();
        // Root, FI certificate, wallet certificate, issuance, spend.
        assert_eq!((first.hits, first.misses), (0, 5));
        v.verify_deposit(&pos, &payment, &NoHistory, T0).unwrap();
        assert_eq!(
            cache.stats().misses,
            5,
            "everything answered from the cache"
        );
        let mut forged = payment.clone();
        let wallet = forged
            .certs
            .iter_mut()
            .find(|c| c.id() == w.wallets[0].id())
            .unwrap();
        let Sig::Es256(mut raw) = wallet.signature.clone() else {
            panic!("FI-signed certificates are plain ES256")
        };
        raw[10] ^= 1;
        wallet.signature = Sig::Es256(raw);
        assert_eq!(wallet.id(), w.wallets[0].id(), "same body, same id");
        assert!(v.verify_deposit(&pos, &forged, &NoHistory, T0).is_err());
    }
}
