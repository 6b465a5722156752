//! Payment request: shown by the payee, answered by a payment. Single use.

use serde::Serialize;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Digest32, Nonce, sha256};
use crate::msg::cert::Certificate;
use crate::msg::{
    Body, MAX_LABEL_LEN, currency, decode_signed_list, decode_unsigned, encode_signed_list,
    encode_unsigned, text, types,
};

/// Largest number of certificates a request may carry (payee and its FI).
pub const MAX_REQUEST_CERTS: usize = 2;

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
}

impl Body for PaymentRequest {
    const TYPE: u64 = types::REQUEST;
    const NAME: &'static str = "payment request";
    const MAX_LEN: usize = 4096;

    fn field_count(&self) -> usize {
        6 + usize::from(self.label.is_some()) + usize::from(!self.certs.is_empty())
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
        })
    }
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

    /// SHA-256 of the canonical bytes: what spends name.
    pub fn hash(&self) -> Digest32 {
        Digest32(sha256(&self.to_bytes()))
    }
}
