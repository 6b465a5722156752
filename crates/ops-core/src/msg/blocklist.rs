//! Counterparty block list (issue 14 item 5, docs/PROTOCOL.md §6.1): an FI (or the
//! central bank) names certificates its devices must neither pay nor accept payment from
//! (a sanctioned or closed counterparty). Signed and versioned like a CRL, one per issuer,
//! and distributed like it; the payer's wallet, the payee's verifier and the FI at
//! settlement enforce it.

use serde::Serialize;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::CertId;
use crate::msg::payment::Payment;
use crate::msg::{Body, Signed, types};

/// Largest number of blocked certificates in one list.
pub const MAX_BLOCKED: usize = 10_000;

/// The signed fields of a block list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockListBody {
    /// The issuer's certificate id (root or FI): its devices are bound by it (the root's:
    /// every device).
    pub issuer: CertId,
    /// Version of this issuer's list; a newer list has a higher number.
    pub number: u64,
    /// When the issuer produced it (Unix seconds).
    pub issued: u64,
    /// Blocked certificate ids, strictly ascending.
    pub blocked: Vec<CertId>,
}

/// An issuer-signed block list.
pub type BlockList = Signed<BlockListBody>;

impl Body for BlockListBody {
    const TYPE: u64 = types::BLOCK_LIST;
    const NAME: &'static str = "block list";
    const MAX_LEN: usize = 1024 + 18 * MAX_BLOCKED;

    fn field_count(&self) -> usize {
        4
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.issuer.encode(e);
        e.uint(3).uint(self.number);
        e.uint(4).uint(self.issued);
        e.uint(5).array(self.blocked.len());
        for id in &self.blocked {
            id.encode(e);
        }
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let issuer = CertId::decode(m.required(2)?)?;
        let number = m.required(3)?.uint()?;
        let issued = m.required(4)?.uint()?;
        let d = m.required(5)?;
        let n = d.array(MAX_BLOCKED, "blocked certificates")?;
        let mut blocked: Vec<CertId> = Vec::with_capacity(n);
        for _ in 0..n {
            let id = CertId::decode(d)?;
            if blocked.last().is_some_and(|p| p.0 >= id.0) {
                return Err(DecodeError::InvalidValue {
                    what: "blocked certificates",
                    why: "must ascend strictly",
                });
            }
            blocked.push(id);
        }
        Ok(Self {
            issuer,
            number,
            issued,
            blocked,
        })
    }
}

impl BlockListBody {
    /// Whether `id` is blocked (binary search).
    pub fn is_blocked(&self, id: &CertId) -> bool {
        self.blocked.binary_search_by(|b| b.0.cmp(&id.0)).is_ok()
    }
}

impl BlockListBody {
    /// Decodes a signed block list and checks its signature by `issuer` (whose id it
    /// must name); `None` if it does not decode or verify.
    pub fn verified(
        bytes: &[u8],
        issuer: &crate::Certificate,
        provider: &dyn crate::provider::CryptoProvider,
    ) -> Option<Self> {
        let list = BlockList::from_bytes(bytes).ok()?;
        if list.body.issuer != issuer.id() {
            return None;
        }
        crate::sig::verify_signature(
            provider,
            &issuer.body.subject,
            None,
            &list.body_bytes(),
            &list.signature,
        )
        .ok()?;
        Some(list.body)
    }
}

/// The first certificate that signed a spend of `payment` (a payer on any hop) and that
/// one of `lists` blocks.
pub fn blocked_payer(payment: &Payment, lists: &[&BlockListBody]) -> Option<CertId> {
    if lists.is_empty() {
        return None;
    }
    first_signer_in(payment, &|s| lists.iter().any(|l| l.is_blocked(s)))
}

/// The first certificate that signed a spend of `payment` (a payer on any hop) for which
/// `blocked` holds.
pub fn first_signer_in(payment: &Payment, blocked: &dyn Fn(&CertId) -> bool) -> Option<CertId> {
    payment
        .chains
        .iter()
        .flat_map(|c| c.spends_with_signers())
        .map(|(_, signer)| signer)
        .find(|s| blocked(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::World;

    fn list(issuer: CertId, blocked: Vec<CertId>) -> BlockListBody {
        BlockListBody {
            issuer,
            number: 3,
            issued: 1_800_000_000,
            blocked,
        }
    }

    #[test]
    fn round_trips_and_finds_blocked_ids() {
        let w = World::new(0);
        let mut ids = vec![CertId([9; 16]), CertId([1; 16]), CertId([5; 16])];
        ids.sort_by_key(|a| a.0);
        let signed = crate::testing::sign_body(list(w.fis[0].id(), ids.clone()), &w.fi_keys[0]);
        let bytes = signed.to_bytes();
        let back = BlockList::from_bytes(&bytes).unwrap();
        assert_eq!(back, signed);
        assert_eq!(back.to_bytes(), bytes, "one encoding");
        assert!(back.body.is_blocked(&CertId([5; 16])));
        assert!(!back.body.is_blocked(&CertId([6; 16])));
        let p = crate::P256Provider;
        assert_eq!(
            BlockListBody::verified(&bytes, &w.fis[0], &p),
            Some(signed.body.clone())
        );
        assert_eq!(
            BlockListBody::verified(&bytes, &w.fis[1], &p),
            None,
            "another issuer"
        );
        let forged = crate::testing::sign_body(signed.body.clone(), &w.fi_keys[1]);
        assert_eq!(
            BlockListBody::verified(&forged.to_bytes(), &w.fis[0], &p),
            None
        );
    }

    #[test]
    fn unsorted_or_repeated_ids_are_refused() {
        let w = World::new(0);
        for ids in [
            vec![CertId([2; 16]), CertId([1; 16])],
            vec![CertId([2; 16]), CertId([2; 16])],
        ] {
            let signed = crate::testing::sign_body(list(w.fis[0].id(), ids), &w.fi_keys[0]);
            assert!(BlockList::from_bytes(&signed.to_bytes()).is_err());
        }
    }

    #[test]
    fn more_than_the_bound_is_refused_before_reading_the_ids() {
        let w = World::new(0);
        let mut ids: Vec<CertId> = (0..=MAX_BLOCKED as u32)
            .map(|i| {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&i.to_be_bytes());
                CertId(b)
            })
            .collect();
        ids.sort_by_key(|a| a.0);
        let signed = crate::testing::sign_body(list(w.fis[0].id(), ids), &w.fi_keys[0]);
        assert!(BlockList::from_bytes(&signed.to_bytes()).is_err());
    }
}
