//! Payment: the spends answering a request, each with its provenance chain back to an
//! issuance, plus the certificates the payee may lack.
//!
//! One encoding per payment: the certificate list is canonical (strictly ascending by
//! certificate id, and only certificates the chains refer to, see [`Payment::is_referenced`]).
//! The decoder refuses any other list; the encoder writes the canonical list whatever the
//! in-memory `certs` holds. A payment's identity ([`Payment::hash`]) covers neither the
//! certificates nor any signature: only the issuance and spend bodies, in order.

use serde::Serialize;

use crate::cbor::{Decoder, Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Digest32, sha256};
use crate::msg::cert::{Certificate, Role};
use crate::msg::crl::Crl;
use crate::msg::issuance::Issuance;
use crate::msg::spend::Spend;
use crate::msg::{
    Body, Signed, VERSION, decode_signed_list, decode_unsigned, encode_head, encode_unsigned, types,
};

/// Largest number of input chains in one payment.
pub const MAX_CHAINS: usize = 8;
/// Largest number of spends in one chain (the hop limit can only be lower).
pub const MAX_CHAIN_SPENDS: usize = 16;
/// Largest number of certificates in one payment.
pub const MAX_PAYMENT_CERTS: usize = 32;
/// Largest number of CRLs one payment carries (one per issuer its request named).
pub const MAX_PAYMENT_CRLS: usize = 4;

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
///
/// `certs` may hold anything in memory (any order, duplicates, certificates the payment
/// does not need): [`Payment::to_bytes`] writes only the referenced ones, sorted by id,
/// without duplicates, so `Payment::from_bytes(&p.to_bytes())` is `p.canonical()`. Bytes
/// from [`Payment::from_bytes`] always hold the canonical list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Certificates the payee may lack: device certificates of the hops' signers, and FI
    /// certificates of the issuances' issuers and of those devices. Transport aids only:
    /// they are not part of the payment's identity.
    pub certs: Vec<Certificate>,
    /// One chain per input note.
    pub chains: Vec<Chain>,
    /// CRLs newer than those the payee's request says it holds, carried so revocations
    /// travel from device to device offline (PROTOCOL.md §3.2). Transport aids like the
    /// certificates: not part of the payment's identity. Encoded strictly ascending by
    /// issuer, one per issuer (the highest number).
    pub crls: Vec<Crl>,
}

impl Body for Payment {
    const TYPE: u64 = types::PAYMENT;
    const NAME: &'static str = "payment";
    const MAX_LEN: usize = 32 * 1024;

    fn field_count(&self) -> usize {
        1 + usize::from(!self.canonical_certs().is_empty()) + usize::from(!self.crls.is_empty())
    }

    fn encode_fields(&self, e: &mut Encoder) {
        let certs = self.canonical_certs();
        if !certs.is_empty() {
            e.uint(2).array(certs.len());
            for c in certs {
                c.encode_into(e);
            }
        }
        self.encode_chains(e);
        if !self.crls.is_empty() {
            let crls = self.canonical_crls();
            e.uint(4).array(crls.len());
            for c in crls {
                c.encode_into(e);
            }
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
        let crls = if m.optional(4)? {
            decode_crls(m.value())?
        } else {
            Vec::new()
        };
        let p = Self {
            certs,
            chains,
            crls,
        };
        p.check_certs()?;
        Ok(p)
    }
}

/// Key 4: `[1*4 crl]`, strictly ascending by issuer.
fn decode_crls(d: &mut Decoder<'_>) -> Result<Vec<Crl>, DecodeError> {
    let crls: Vec<Crl> = decode_signed_list(d, MAX_PAYMENT_CRLS, "payment CRLs")?;
    if crls.is_empty() {
        return Err(DecodeError::InvalidValue {
            what: "payment CRLs",
            why: "empty list must be omitted",
        });
    }
    if crls
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.body.issuer >= b.body.issuer))
    {
        return Err(DecodeError::InvalidValue {
            what: "payment CRLs",
            why: "must ascend strictly by issuer (one CRL per issuer)",
        });
    }
    Ok(crls)
}

/// Who a payment's chains refer to: the devices that sign a hop and the FIs that issued
/// a note.
struct References {
    signers: Vec<CertId>,
    issuers: Vec<CertId>,
}

impl References {
    fn of(chains: &[Chain]) -> Self {
        let mut signers = Vec::new();
        let mut issuers = Vec::new();
        for c in chains {
            issuers.push(c.issuance.body.issuer);
            signers.extend(c.spends_with_signers().map(|(_, signer)| signer));
        }
        Self { signers, issuers }
    }
}

impl Payment {
    /// Canonical bytes: the certificate list canonicalised (see [`Payment::canonical`]),
    /// whatever `certs` holds. Total: every payment value has exactly one encoding, and
    /// `from_bytes(&p.to_bytes()) == p.canonical()`.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_unsigned(self)
    }

    /// Strict decoding: besides the general rules (PROTOCOL §2), the certificate list must
    /// be canonical — strictly ascending by certificate id, no root, and only certificates
    /// the chains refer to ([`Payment::is_referenced`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_unsigned(bytes)
    }

    /// The payment's identity, what receipts name: SHA-256 of its *id bytes*, the
    /// canonical encoding without the certificate list (key 2) and with every issuance and
    /// spend written as its body bytes (without its signature, key 23). Certificates are
    /// transport aids the payer includes or omits depending on what the payee holds, and
    /// signatures are malleable (§4): neither changes what was paid, so neither changes the
    /// hash. Two payments have the same hash exactly when they carry the same issuances and
    /// spends in the same order.
    pub fn hash(&self) -> Digest32 {
        Digest32(sha256(&self.id_bytes()))
    }

    /// The bytes [`Payment::hash`] hashes: `{0: 5, 1: 1, 3: [[issuance body, spend
    /// body, ...], ...]}`.
    pub fn id_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.map(3);
        e.uint(0).uint(Self::TYPE);
        e.uint(1).uint(VERSION);
        e.uint(3).array(self.chains.len());
        for c in &self.chains {
            e.array(1 + c.spends.len());
            encode_head(&c.issuance.body, &mut e, 0);
            for s in &c.spends {
                encode_head(&s.body, &mut e, 0);
            }
        }
        e.into_bytes()
    }

    /// Whether `cert` belongs in this payment's certificate list: a device certificate
    /// that signs a hop (the owner of an issuance, or the payee of a spend that is not the
    /// last of its chain); an FI certificate that issued one of the chains' issuances or
    /// certified such a device certificate present in `certs`. Never the root, never any
    /// other certificate. (Whether the certificates are *valid* is verification's business,
    /// not the encoding's.)
    pub fn is_referenced(&self, cert: &Certificate) -> bool {
        self.referenced_by(&References::of(&self.chains), cert)
    }

    fn referenced_by(&self, refs: &References, cert: &Certificate) -> bool {
        let id = cert.id();
        match cert.body.role {
            Role::Root => false,
            Role::Device => refs.signers.contains(&id),
            Role::Fi => {
                refs.issuers.contains(&id)
                    || self.certs.iter().any(|d| {
                        d.body.role == Role::Device
                            && d.body.issuer == Some(id)
                            && refs.signers.contains(&d.id())
                    })
            }
        }
    }

    /// The certificate list as encoded: the referenced certificates, sorted by id, each
    /// once (the first of equal ids in `certs` is kept).
    fn canonical_certs(&self) -> Vec<&Certificate> {
        let refs = References::of(&self.chains);
        let mut v: Vec<(CertId, &Certificate)> = self
            .certs
            .iter()
            .filter(|c| self.referenced_by(&refs, c))
            .map(|c| (c.id(), c))
            .collect();
        crate::order::sort_stable_by_key(&mut v, |(id, _)| *id); // stable: the first copy of an id stays first
        v.dedup_by_key(|(id, _)| *id);
        v.into_iter().map(|(_, c)| c).collect()
    }

    /// The carried CRLs as encoded: sorted by issuer, each issuer's highest number once
    /// (the first copy of equal numbers), at most [`MAX_PAYMENT_CRLS`] (lowest issuer ids).
    fn canonical_crls(&self) -> Vec<&Crl> {
        let mut v: Vec<&Crl> = self.crls.iter().collect();
        crate::order::sort_stable_by(&mut v, |a, b| {
            a.body
                .issuer
                .cmp(&b.body.issuer)
                .then(b.body.number.cmp(&a.body.number))
        });
        v.dedup_by_key(|c| c.body.issuer);
        v.truncate(MAX_PAYMENT_CRLS);
        v
    }

    /// The same payment with its certificate and CRL lists as the encoder writes them (and
    /// the decoder returns them).
    pub fn canonical(mut self) -> Self {
        self.certs = self.canonical_certs().into_iter().cloned().collect();
        self.crls = self.canonical_crls().into_iter().cloned().collect();
        self
    }

    /// The decoder's check of a decoded certificate list: each problem has its own error.
    fn check_certs(&self) -> Result<(), DecodeError> {
        let refs = References::of(&self.chains);
        let mut prev: Option<CertId> = None;
        for (index, c) in self.certs.iter().enumerate() {
            let id = c.id();
            if let Some(p) = prev {
                if id == p {
                    return Err(DecodeError::PaymentCertDuplicate { index, id });
                }
                if id < p {
                    return Err(DecodeError::PaymentCertsUnsorted { index });
                }
            }
            prev = Some(id);
            if !self.referenced_by(&refs, c) {
                return Err(match c.body.role {
                    Role::Root => DecodeError::PaymentCertRoot { index, id },
                    Role::Device => DecodeError::PaymentCertUnusedDevice { index, id },
                    Role::Fi => DecodeError::PaymentCertUnusedFi { index, id },
                });
            }
        }
        Ok(())
    }

    fn encode_chains(&self, e: &mut Encoder) {
        e.uint(3).array(self.chains.len());
        for c in &self.chains {
            c.encode(e);
        }
    }

    /// Encodes `certs` exactly as given (any order, duplicates, unreferenced ones): bytes
    /// the decoder refuses unless the list happens to be canonical. For tests only (see
    /// `testing::encode_payment_certs_as_given`).
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn encode_certs_as_given(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.map(3 + usize::from(!self.certs.is_empty()) + usize::from(!self.crls.is_empty()));
        e.uint(0).uint(Self::TYPE);
        e.uint(1).uint(VERSION);
        if !self.certs.is_empty() {
            e.uint(2);
            crate::msg::encode_signed_list(&mut e, &self.certs);
        }
        self.encode_chains(&mut e);
        if !self.crls.is_empty() {
            e.uint(4);
            crate::msg::encode_signed_list(&mut e, &self.crls);
        }
        e.into_bytes()
    }
}

#[cfg(test)]
mod tests;
