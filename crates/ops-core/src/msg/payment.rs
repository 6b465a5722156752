//! Payment: the spends answering a request, each with its provenance chain back to an
//! issuance, plus the certificates the payee may lack.

use serde::Serialize;

use crate::cbor::{Decoder, Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Digest32, sha256};
use crate::msg::cert::Certificate;
use crate::msg::issuance::Issuance;
use crate::msg::spend::Spend;
use crate::msg::{
    Body, Signed, decode_signed_list, decode_unsigned, encode_signed_list, encode_unsigned, types,
};

/// Largest number of input chains in one payment.
pub const MAX_CHAINS: usize = 8;
/// Largest number of spends in one chain (the hop limit can only be lower).
pub const MAX_CHAIN_SPENDS: usize = 16;
/// Largest number of certificates in one payment.
pub const MAX_PAYMENT_CERTS: usize = 32;

/// One input: an issuance and the spends from it to this payment, in order. The last spend
/// pays the payee; each earlier spend created the note the next one spends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    /// The FI issuance at the root of the chain.
    pub issuance: Issuance,
    /// Hops 1..=n; never empty.
    pub spends: Vec<Spend>,
}

impl Chain {
    /// The spend that pays the payee.
    pub fn last(&self) -> Option<&Spend> {
        self.spends.last()
    }

    /// Each spend with the certificate id of the device that signed it: the owner of its
    /// input note (the issuance's owner for the first hop, the previous hop's payee after
    /// that). Signatures are not checked here.
    pub fn spends_with_signers(&self) -> impl Iterator<Item = (&Spend, CertId)> {
        let owners = std::iter::once(self.issuance.body.owner)
            .chain(self.spends.iter().map(|s| s.body.payee));
        self.spends.iter().zip(owners)
    }

    fn encode(&self, e: &mut Encoder) {
        e.array(1 + self.spends.len());
        self.issuance.encode_into(e);
        for s in &self.spends {
            s.encode_into(e);
        }
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let n = d.array(1 + MAX_CHAIN_SPENDS, "chain")?;
        if n < 2 {
            return Err(DecodeError::InvalidValue {
                what: "chain",
                why: "needs an issuance and at least one spend",
            });
        }
        let issuance = Signed::decode_from(d)?;
        let mut spends = Vec::with_capacity(n - 1);
        for _ in 1..n {
            spends.push(Signed::decode_from(d)?);
        }
        Ok(Self { issuance, spends })
    }
}

/// A payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Certificates the payee may lack (devices on the chains, FIs).
    pub certs: Vec<Certificate>,
    /// One chain per input note.
    pub chains: Vec<Chain>,
}

impl Body for Payment {
    const TYPE: u64 = types::PAYMENT;
    const NAME: &'static str = "payment";
    const MAX_LEN: usize = 32 * 1024;

    fn field_count(&self) -> usize {
        1 + usize::from(!self.certs.is_empty())
    }

    fn encode_fields(&self, e: &mut Encoder) {
        if !self.certs.is_empty() {
            e.uint(2);
            encode_signed_list(e, &self.certs);
        }
        e.uint(3).array(self.chains.len());
        for c in &self.chains {
            c.encode(e);
        }
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let certs = if m.optional(2)? {
            let c = decode_signed_list(m.value(), MAX_PAYMENT_CERTS, "payment certificates")?;
            if c.is_empty() {
                return Err(DecodeError::InvalidValue {
                    what: "payment certificates",
                    why: "empty list must be omitted",
                });
            }
            c
        } else {
            Vec::new()
        };
        let d = m.required(3)?;
        let n = d.array(MAX_CHAINS, "chains")?;
        if n == 0 {
            return Err(DecodeError::InvalidValue {
                what: "chains",
                why: "a payment needs at least one input",
            });
        }
        let mut chains = Vec::with_capacity(n);
        for _ in 0..n {
            chains.push(Chain::decode(d)?);
        }
        Ok(Self { certs, chains })
    }
}

impl Payment {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_unsigned(self)
    }

    /// Strict decoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_unsigned(bytes)
    }

    /// SHA-256 of the canonical bytes (what receipts name).
    pub fn hash(&self) -> Digest32 {
        Digest32(sha256(&self.to_bytes()))
    }
}
