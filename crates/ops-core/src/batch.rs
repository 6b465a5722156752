//! Batch signing: one WebAuthn assertion over several message bodies (the spends of one
//! payment), each signed body still verifiable alone, forever (PROTOCOL §4, "Batch").
//!
//! The bodies' digests `d_i = SHA-256(body_i)` (for spends: the spend ids) are the leaves
//! of a Merkle tree with the shape of RFC 9162 §2.1.1 and domain-separated hashing:
//!
//! ```text
//! leaf(d)        = SHA-256(0x00 || d)
//! node(l, r)     = SHA-256(0x01 || l || r)
//! MTH(D[0..1])   = leaf(d_0)
//! MTH(D[0..n])   = node(MTH(D[0..k]), MTH(D[k..n]))   k = largest power of two < n
//! challenge      = SHA-256("OPS spend batch v1" || n as one byte || MTH(D[0..n]))
//! ```
//!
//! The authenticator is asked once with `challenge`. Each body's signature carries the
//! assertion, `n`, its index `i` and its audit path (the sibling hashes from the leaf up,
//! RFC 9162 §2.1.3); the verifier rebuilds the root from `d_i`, `i`, `n` and the path, then
//! runs the ordinary assertion check against the rebuilt challenge. With `n ≤ 8` a path
//! has 1 to 3 hashes, and its length is a function of `(i, n)`, so the decoder accepts
//! exactly one shape (one encoding per value). A batch of one is not a batch: one body
//! is signed with the plain WebAuthn form (challenge `SHA-256(body)`), and the decoder
//! refuses `n < 2`.
//!
//! Leaf and node hashes start with different bytes, and the challenge with an ASCII tag
//! (a message body starts with a CBOR map header), so no hash of one kind can be passed
//! off as another: an assertion over a batch authenticates exactly the bodies in it.

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{Digest32, sha256, to_hex};
use crate::webauthn::AssertionWire;

/// Most bodies one batch assertion covers: a payment's maximum number of chains.
pub const MAX_BATCH: usize = crate::msg::payment::MAX_CHAINS;
/// Longest audit path (a tree of [`MAX_BATCH`] = 8 leaves has depth 3).
pub const MAX_BATCH_PATH: usize = 3;
/// The tag the challenge starts with.
pub const BATCH_TAG: &[u8] = b"OPS spend batch v1";

/// `SHA-256(0x00 || digest)`.
pub fn leaf_hash(digest: &[u8; 32]) -> [u8; 32] {
    let mut m = [0u8; 33];
    m[1..].copy_from_slice(digest);
    sha256(&m)
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut m = [0u8; 65];
    m[0] = 1;
    m[1..33].copy_from_slice(left);
    m[33..].copy_from_slice(right);
    sha256(&m)
}

/// The largest power of two below `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The length of the audit path of leaf `index` in a tree of `n` leaves (`index < n`).
pub fn path_len(index: usize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let k = split(n);
    if index < k {
        1 + path_len(index, k)
    } else {
        1 + path_len(index - k, n - k)
    }
}

/// The tree head over leaf hashes (non-empty).
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => [0; 32],
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn path_into(leaves: &[[u8; 32]], index: usize, out: &mut Vec<Digest32>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if index < k {
        path_into(&leaves[..k], index, out);
        out.push(Digest32(mth(&leaves[k..])));
    } else {
        path_into(&leaves[k..], index - k, out);
        out.push(Digest32(mth(&leaves[..k])));
    }
}

/// The challenge of a batch whose tree head is `root` over `n` bodies.
pub fn challenge_of_root(n: usize, root: &[u8; 32]) -> [u8; 32] {
    let mut m = Vec::with_capacity(BATCH_TAG.len() + 33);
    m.extend_from_slice(BATCH_TAG);
    m.push(n as u8);
    m.extend_from_slice(root);
    sha256(&m)
}

/// The challenge to ask the authenticator with for the bodies whose SHA-256 digests are
/// `digests`, in order: for one body its digest itself (the plain WebAuthn form), for 2 to
/// [`MAX_BATCH`] bodies the batch challenge. `None` for no body or more than
/// [`MAX_BATCH`].
pub fn challenge(digests: &[[u8; 32]]) -> Option<[u8; 32]> {
    match digests.len() {
        0 => None,
        1 => Some(digests[0]),
        n if n <= MAX_BATCH => {
            let leaves: Vec<[u8; 32]> = digests.iter().map(leaf_hash).collect();
            Some(challenge_of_root(n, &mth(&leaves)))
        }
        _ => None,
    }
}

/// The audit path of body `index` among `digests` (bottom-up). Empty for a single body.
pub fn audit_path(digests: &[[u8; 32]], index: usize) -> Vec<Digest32> {
    let leaves: Vec<[u8; 32]> = digests.iter().map(leaf_hash).collect();
    let mut out = Vec::with_capacity(MAX_BATCH_PATH);
    if index < leaves.len() {
        path_into(&leaves, index, &mut out);
    }
    out
}

/// Why a batch position is not well-formed.
pub fn check_shape(n: usize, index: usize, path_len_found: usize) -> Result<(), &'static str> {
    if !(2..=MAX_BATCH).contains(&n) {
        return Err("a batch covers 2 to 8 bodies (one body uses the plain form)");
    }
    if index >= n {
        return Err("index outside the batch");
    }
    if path_len_found != path_len(index, n) {
        return Err("audit path length does not match the index and batch size");
    }
    Ok(())
}

/// Rebuilds the challenge from body digest `digest` at `index` of a batch of `n`, with its
/// audit path. `Err` when the shape is wrong ([`check_shape`]).
pub fn challenge_from_path(
    digest: &[u8; 32],
    index: usize,
    n: usize,
    path: &[Digest32],
) -> Result<[u8; 32], &'static str> {
    check_shape(n, index, path.len())?;
    // Walk down to find, level by level, which side the running hash is on.
    let mut sides = Vec::with_capacity(MAX_BATCH_PATH); // true: running hash is the left child
    let (mut i, mut size) = (index, n);
    while size > 1 {
        let k = split(size);
        if i < k {
            sides.push(true);
            size = k;
        } else {
            sides.push(false);
            i -= k;
            size -= k;
        }
    }
    // `sides` is top-down; the path is bottom-up.
    let mut h = leaf_hash(digest);
    for (sibling, left) in path.iter().zip(sides.iter().rev()) {
        h = if *left {
            node_hash(&h, &sibling.0)
        } else {
            node_hash(&sibling.0, &h)
        };
    }
    Ok(challenge_of_root(n, &h))
}

/// One body's share of a batch assertion: the assertion (over the batch challenge), the
/// batch size, this body's index and its audit path.
///
/// Wire form (PROTOCOL §3 `webauthn-batch`): the assertion's map entries (keys 1..=7)
/// followed by `8 => n`, `9 => index`, `10 => [path]`, in one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAssertion {
    /// The assertion, whose challenge is the batch challenge.
    pub assertion: AssertionWire,
    /// Number of bodies signed together, 2..=8.
    pub size: u8,
    /// This body's position in the batch, `< size`.
    pub index: u8,
    /// Audit path, bottom-up; its length is `path_len(index, size)` (1..=3).
    pub path: Vec<Digest32>,
}

impl BatchAssertion {
    /// The challenge this share proves for a body whose SHA-256 is `digest`.
    pub fn challenge_for(&self, digest: &[u8; 32]) -> Result<[u8; 32], &'static str> {
        challenge_from_path(
            digest,
            usize::from(self.index),
            usize::from(self.size),
            &self.path,
        )
    }

    /// Every body's share of one assertion over `digests` (2..=8 bodies), in order.
    pub fn shares(assertion: &AssertionWire, digests: &[[u8; 32]]) -> Option<Vec<Self>> {
        let n = digests.len();
        if !(2..=MAX_BATCH).contains(&n) {
            return None;
        }
        Some(
            (0..n)
                .map(|i| Self {
                    assertion: assertion.clone(),
                    size: n as u8,
                    index: i as u8,
                    path: audit_path(digests, i),
                })
                .collect(),
        )
    }

    /// Writes the map.
    pub fn encode(&self, e: &mut Encoder) {
        e.map(self.assertion.field_count() + 3);
        self.assertion.encode_fields(e);
        e.uint(8).uint(u64::from(self.size));
        e.uint(9).uint(u64::from(self.index));
        e.uint(10).array(self.path.len());
        for p in &self.path {
            p.encode(e);
        }
    }

    /// Reads the value of key 8 (already consumed by the caller's `optional(8)`), then keys
    /// 9 and 10, after the assertion's entries; the caller finishes the map.
    /// Refuses any shape [`check_shape`] refuses: `n` outside 2..=8 (a single body uses
    /// the plain form), an index outside the batch, a path longer than 3 or of another
    /// length than `(index, n)` gives.
    pub fn decode_after_size(
        assertion: AssertionWire,
        m: &mut MapReader<'_, '_>,
    ) -> Result<Self, DecodeError> {
        let size = m.value().u8("batch size")?;
        let index = m.required(9)?.u8("batch index")?;
        let d = m.required(10)?;
        let len = d.array(MAX_BATCH_PATH, "batch audit path")?;
        let mut path = Vec::with_capacity(len);
        for _ in 0..len {
            path.push(Digest32::decode(d)?);
        }
        check_shape(usize::from(size), usize::from(index), path.len()).map_err(|why| {
            DecodeError::InvalidValue {
                what: "batch signature",
                why,
            }
        })?;
        Ok(Self {
            assertion,
            size,
            index,
            path,
        })
    }

    /// A JSON view for inspection tools.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = self.assertion.to_json();
        v["batch"] = serde_json::json!({
            "size": self.size,
            "index": self.index,
            "path": self.path.iter().map(|p| to_hex(&p.0)).collect::<Vec<_>>(),
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::Decoder;
    use crate::sig::Signature;

    fn digests(n: usize) -> Vec<[u8; 32]> {
        (0..n).map(|i| sha256(&[i as u8])).collect()
    }

    #[test]
    fn every_path_rebuilds_the_challenge() {
        for n in 2..=MAX_BATCH {
            let d = digests(n);
            let c = challenge(&d).unwrap();
            for i in 0..n {
                let p = audit_path(&d, i);
                assert_eq!(p.len(), path_len(i, n));
                assert!((1..=MAX_BATCH_PATH).contains(&p.len()));
                assert_eq!(challenge_from_path(&d[i], i, n, &p).unwrap(), c, "{i}/{n}");
                // Another leaf, index or size gives another challenge.
                let other = sha256(b"not in the batch");
                assert_ne!(challenge_from_path(&other, i, n, &p).unwrap(), c);
                for j in (0..n).filter(|j| *j != i && path_len(*j, n) == p.len()) {
                    assert_ne!(challenge_from_path(&d[i], j, n, &p).unwrap(), c);
                }
            }
        }
    }

    #[test]
    fn rfc9162_shape() {
        // n = 3: leaves 0 and 1 under one node, leaf 2 promoted.
        let d = digests(3);
        let l: Vec<[u8; 32]> = d.iter().map(leaf_hash).collect();
        let root = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        assert_eq!(challenge(&d).unwrap(), challenge_of_root(3, &root));
        assert_eq!(audit_path(&d, 2), vec![Digest32(node_hash(&l[0], &l[1]))]);
        assert_eq!(audit_path(&d, 0), vec![Digest32(l[1]), Digest32(l[2])]);
        assert_eq!(
            (1..=8)
                .map(|n| (0..n).map(|i| path_len(i, n)).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            vec![
                vec![0],
                vec![1, 1],
                vec![2, 2, 1],
                vec![2, 2, 2, 2],
                vec![3, 3, 3, 3, 1],
                vec![3, 3, 3, 3, 2, 2],
                vec![3, 3, 3, 3, 3, 3, 2],
                vec![3; 8],
            ]
        );
    }

    #[test]
    fn shapes_outside_the_rules_are_refused() {
        let d = digests(3);
        assert_eq!(
            challenge(&d[..1]),
            Some(d[0]),
            "one body: the plain challenge"
        );
        assert_eq!(challenge(&[]), None);
        assert_eq!(challenge(&digests(9)), None);
        let p = audit_path(&d, 0);
        assert!(challenge_from_path(&d[0], 0, 1, &[]).is_err());
        assert!(challenge_from_path(&d[0], 0, 9, &p).is_err());
        assert!(challenge_from_path(&d[0], 3, 3, &p).is_err());
        assert!(
            challenge_from_path(&d[2], 2, 3, &p).is_err(),
            "path too long"
        );
        assert!(challenge_from_path(&d[0], 0, 3, &p[..1]).is_err());
    }

    fn assertion() -> AssertionWire {
        AssertionWire {
            auth_data: crate::webauthn::AuthDataWire::Compact {
                flags: 5,
                sign_count: 1,
            },
            client_data: crate::webauthn::ClientDataWire::Template {
                origin_index: 0,
                variant: crate::webauthn::TemplateVariant::CrossOriginFalse,
            },
            signature: [3; 64],
        }
    }

    fn decode(b: &[u8]) -> Result<Signature, DecodeError> {
        let mut d = Decoder::new(b);
        let s = Signature::decode(&mut d)?;
        d.finish()?;
        Ok(s)
    }

    fn encode(b: BatchAssertion) -> Vec<u8> {
        let mut e = Encoder::new();
        Signature::WebAuthnBatch(Box::new(b)).encode(&mut e);
        e.into_bytes()
    }

    #[test]
    fn wire_form_round_trips_and_is_bounded() {
        let d = digests(5);
        let shares = BatchAssertion::shares(&assertion(), &d).unwrap();
        for sh in &shares {
            let b = encode(sh.clone());
            assert_eq!(
                decode(&b).unwrap(),
                Signature::WebAuthnBatch(Box::new(sh.clone()))
            );
        }
        // 2 + 2 + 2 header bytes, 34 per path hash, on top of the 74-byte assertion.
        assert_eq!(encode(shares[4].clone()).len(), 74 + 6 + 34);
        assert_eq!(encode(shares[0].clone()).len(), 74 + 6 + 3 * 34);
        let with = |f: &dyn Fn(&mut BatchAssertion)| {
            let mut b = shares[0].clone();
            f(&mut b);
            decode(&encode(b))
        };
        // A batch of one (any path), a batch of nine, an index outside, path lengths
        // other than (index, n) gives, a path of four hashes: all refused.
        assert!(
            with(&|b| {
                b.size = 1;
                b.path.clear();
            })
            .is_err()
        );
        assert!(with(&|b| b.size = 1).is_err());
        assert!(with(&|b| b.size = 0).is_err());
        assert!(with(&|b| b.size = 9).is_err());
        assert!(with(&|b| b.index = 5).is_err());
        assert!(
            with(&|b| {
                b.index = 4;
            })
            .is_err()
        );
        assert!(
            with(&|b| {
                b.path.pop();
            })
            .is_err()
        );
        assert!(
            with(&|b| b.path.push(Digest32([0; 32]))).is_err(),
            "four hashes"
        );
        assert!(with(&|b| b.path.clear()).is_err());
        // Keys 9 and 10 without 8, or 8 without the others, are not a signature.
        let mut e = Encoder::new();
        e.map(assertion().field_count() + 2);
        assertion().encode_fields(&mut e);
        e.uint(9).uint(0);
        e.uint(10).array(0);
        assert!(decode(&e.into_bytes()).is_err());
        let mut e = Encoder::new();
        e.map(assertion().field_count() + 1);
        assertion().encode_fields(&mut e);
        e.uint(8).uint(2);
        assert!(decode(&e.into_bytes()).is_err());
        // The plain assertion still decodes as before.
        let mut e = Encoder::new();
        assertion().encode(&mut e);
        assert_eq!(
            decode(&e.into_bytes()).unwrap(),
            Signature::WebAuthn(Box::new(assertion()))
        );
    }

    #[test]
    fn tags_separate_leaves_nodes_and_challenges() {
        let d = [7u8; 32];
        assert_ne!(leaf_hash(&d), sha256(&d));
        assert_ne!(node_hash(&d, &d), leaf_hash(&d));
        assert_ne!(challenge_of_root(2, &d), challenge_of_root(3, &d));
    }
}
