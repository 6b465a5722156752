//! Payment request: shown by the payee, answered by a payment. Single use.

use serde::Serialize;

use crate::cbor::{Decoder, Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Digest32, Nonce, sha256};
use crate::msg::cert::Certificate;
use crate::msg::{
    Body, MAX_LABEL_LEN, currency, decode_signed_list, decode_unsigned, encode_signed_list,
    encode_unsigned, text, types,
};

/// Largest number of certificates a request may carry (payee and its FI).
pub const MAX_REQUEST_CERTS: usize = 2;
/// Largest number of CRLs a request may name (the root's and the FIs' the payee holds).
pub const MAX_REQUEST_CRLS: usize = 8;

/// A CRL the payee holds, as its request names it: the payer carries that issuer's CRL in
/// its payment when it holds a newer one (PROTOCOL.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CrlHeld {
    /// The CRL's issuer (root or FI certificate id).
    pub issuer: CertId,
    /// The number of the newest CRL of that issuer the payee holds.
    pub number: u64,
}

/// A payment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRequest {
    /// The payee's certificate id.
    pub payee: CertId,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency code.
    pub currency: String,
    /// Fresh random nonce: makes every request (and its hash) unique.
    pub nonce: Nonce,
    /// Creation time (payee's clock, Unix seconds).
    pub created: u64,
    /// Expiry (Unix seconds, inclusive).
    pub expires: u64,
    /// Merchant label shown to the payer (the certified name is in the payee certificate).
    pub label: Option<String>,
    /// The payee's certificate and its FI's, so the payer can show the certified name.
    pub certs: Vec<Certificate>,
    /// The CRLs the payee holds, strictly ascending by issuer: a payer holding a newer
    /// CRL of one of these issuers carries it in the payment. Empty: the payee asks for none.
    pub crls_held: Vec<CrlHeld>,
}

impl Body for PaymentRequest {
    const TYPE: u64 = types::REQUEST;
    const NAME: &'static str = "payment request";
    const MAX_LEN: usize = 4096;

    fn field_count(&self) -> usize {
        6 + usize::from(self.label.is_some())
            + usize::from(!self.certs.is_empty())
            + usize::from(!self.crls_held.is_empty())
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.payee.encode(e);
        e.uint(3).uint(self.amount);
        e.uint(4).text(&self.currency);
        e.uint(5);
        self.nonce.encode(e);
        e.uint(6).uint(self.created);
        e.uint(7).uint(self.expires);
        if let Some(l) = &self.label {
            e.uint(8).text(l);
        }
        if !self.certs.is_empty() {
            e.uint(9);
            encode_signed_list(e, &self.certs);
        }
        if !self.crls_held.is_empty() {
            let held = self.canonical_crls_held();
            e.uint(10).array(held.len());
            for h in held {
                e.array(2);
                h.issuer.encode(e);
                e.uint(h.number);
            }
        }
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let payee = CertId::decode(m.required(2)?)?;
        let amount = m.required(3)?.uint()?;
        let currency = currency(m.required(4)?)?;
        let nonce = Nonce::decode(m.required(5)?)?;
        let created = m.required(6)?.uint()?;
        let expires = m.required(7)?.uint()?;
        let label = if m.optional(8)? {
            Some(text(m.value(), MAX_LABEL_LEN, "label")?)
        } else {
            None
        };
        let certs = if m.optional(9)? {
            let c = decode_signed_list(m.value(), MAX_REQUEST_CERTS, "request certificates")?;
            if c.is_empty() {
                return Err(DecodeError::InvalidValue {
                    what: "request certificates",
                    why: "empty list must be omitted",
                });
            }
            c
        } else {
            Vec::new()
        };
        let crls_held = if m.optional(10)? {
            decode_crls_held(m.value())?
        } else {
            Vec::new()
        };
        if amount == 0 {
            return Err(DecodeError::InvalidValue {
                what: "amount",
                why: "must be positive",
            });
        }
        if expires < created {
            return Err(DecodeError::InvalidValue {
                what: "expires",
                why: "before creation",
            });
        }
        Ok(Self {
            payee,
            amount,
            currency,
            nonce,
            created,
            expires,
            label,
            certs,
            crls_held,
        })
    }
}

/// Key 10: `[1*8 [issuer, number]]`, strictly ascending by issuer.
fn decode_crls_held(d: &mut Decoder<'_>) -> Result<Vec<CrlHeld>, DecodeError> {
    let n = d.array(MAX_REQUEST_CRLS, "CRLs held")?;
    if n == 0 {
        return Err(DecodeError::InvalidValue {
            what: "CRLs held",
            why: "empty list must be omitted",
        });
    }
    let mut held: Vec<CrlHeld> = Vec::with_capacity(n);
    for _ in 0..n {
        if d.array(2, "CRL held")? != 2 {
            return Err(DecodeError::InvalidValue {
                what: "CRL held",
                why: "must be [issuer, number]",
            });
        }
        let issuer = CertId::decode(d)?;
        let number = d.uint()?;
        if held.last().is_some_and(|p| p.issuer >= issuer) {
            return Err(DecodeError::InvalidValue {
                what: "CRLs held",
                why: "must ascend strictly by issuer",
            });
        }
        held.push(CrlHeld { issuer, number });
    }
    Ok(held)
}

impl PaymentRequest {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_unsigned(self)
    }

    /// Strict decoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_unsigned(bytes)
    }

    /// The CRLs held as the encoder writes them: sorted by issuer, the highest number of
    /// each issuer once, at most [`MAX_REQUEST_CRLS`] (the lowest issuer ids kept).
    fn canonical_crls_held(&self) -> Vec<CrlHeld> {
        let mut held = self.crls_held.clone();
        // Highest number first within an issuer, so dedup keeps it.
        crate::order::sort_stable_by(&mut held, |a, b| {
            a.issuer.cmp(&b.issuer).then(b.number.cmp(&a.number))
        });
        held.dedup_by_key(|h| h.issuer);
        held.truncate(MAX_REQUEST_CRLS);
        held
    }

    /// The number of `issuer`'s CRL the payee holds, when the request names it.
    pub fn crl_held(&self, issuer: &CertId) -> Option<u64> {
        self.crls_held
            .iter()
            .filter(|h| &h.issuer == issuer)
            .map(|h| h.number)
            .max()
    }

    /// SHA-256 of the canonical bytes: what spends name.
    pub fn hash(&self) -> Digest32 {
        Digest32(sha256(&self.to_bytes()))
    }
}
