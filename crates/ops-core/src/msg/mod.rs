//! Protocol messages and their canonical encoding.
//!
//! Every message is a CBOR map with small integer keys: key 0 is the message type, key 1 the
//! version, keys 2.. the body fields, and for signed messages key 23 the signature. The
//! signing input ("body bytes") is the same map without key 23. See `docs/PROTOCOL.md`.

pub mod blocklist;
pub mod cert;
pub mod crl;
pub mod fraud;
pub mod issuance;
pub mod payment;
pub mod receipt;
pub mod request;
pub mod spend;

mod any;

pub use any::{AnyMessage, inspect};

use serde::Serialize;

use crate::cbor::{Decoder, Encoder, MapReader};
use crate::error::DecodeError;
use crate::sig::Signature;

/// The protocol version every message of this build carries.
pub const VERSION: u64 = 1;
/// The map key of the signature in signed messages.
pub const SIG_KEY: u64 = 23;

/// Message type codes (map key 0).
pub mod types {
    /// Certificate.
    pub const CERT: u64 = 1;
    /// Issuance (a note issued by an FI).
    pub const ISSUANCE: u64 = 2;
    /// Spend.
    pub const SPEND: u64 = 3;
    /// Payment request.
    pub const REQUEST: u64 = 4;
    /// Payment.
    pub const PAYMENT: u64 = 5;
    /// Receipt.
    pub const RECEIPT: u64 = 6;
    /// Revocation list.
    pub const CRL: u64 = 7;
    /// Fraud proof.
    pub const FRAUD: u64 = 8;
    /// Counterparty block list.
    pub const BLOCK_LIST: u64 = 9;
}

/// The fields of a message (everything but type, version and signature).
pub trait Body: Sized {
    /// Type code (key 0).
    const TYPE: u64;
    /// Human name for errors.
    const NAME: &'static str;
    /// Largest encoded size of the whole message, checked before decoding.
    const MAX_LEN: usize;
    /// Number of body fields this value writes.
    fn field_count(&self) -> usize;
    /// Writes the body fields (keys >= 2) in ascending key order.
    fn encode_fields(&self, e: &mut Encoder);
    /// Reads the body fields.
    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError>;
}

fn encode_head<B: Body>(b: &B, e: &mut Encoder, extra: usize) {
    e.map(2 + b.field_count() + extra);
    e.uint(0).uint(B::TYPE);
    e.uint(1).uint(VERSION);
    b.encode_fields(e);
}

fn decode_head<B: Body>(m: &mut MapReader<'_, '_>) -> Result<(), DecodeError> {
    let ty = m.required(0)?.uint()?;
    if ty != B::TYPE {
        return Err(DecodeError::WrongMessageType {
            expected: B::TYPE,
            name: B::NAME,
            found: ty,
        });
    }
    let v = m.required(1)?.uint()?;
    if v != VERSION {
        return Err(DecodeError::UnknownVersion {
            name: B::NAME,
            found: v,
            supported: VERSION,
        });
    }
    Ok(())
}

fn check_len<B: Body>(bytes: &[u8]) -> Result<(), DecodeError> {
    if bytes.len() > B::MAX_LEN {
        return Err(DecodeError::TooLong {
            what: B::NAME,
            len: bytes.len() as u64,
            max: B::MAX_LEN as u64,
        });
    }
    Ok(())
}

/// Encodes an unsigned message.
pub fn encode_unsigned<B: Body>(b: &B) -> Vec<u8> {
    let mut e = Encoder::new();
    encode_head(b, &mut e, 0);
    e.into_bytes()
}

/// Decodes an unsigned message embedded in a larger item.
pub fn decode_unsigned_from<B: Body>(d: &mut Decoder<'_>) -> Result<B, DecodeError> {
    let mut m = d.map(24)?;
    decode_head::<B>(&mut m)?;
    let b = B::decode_fields(&mut m)?;
    m.finish()?;
    Ok(b)
}

/// Decodes a complete unsigned message (size limit, no trailing bytes).
pub fn decode_unsigned<B: Body>(bytes: &[u8]) -> Result<B, DecodeError> {
    check_len::<B>(bytes)?;
    let mut d = Decoder::new(bytes);
    let b = decode_unsigned_from(&mut d)?;
    d.finish()?;
    Ok(b)
}

/// A body with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<B> {
    /// The signed fields.
    pub body: B,
    /// The signature over [`Signed::body_bytes`].
    pub signature: Signature,
}

impl<B: Body> Signed<B> {
    /// The canonical signing input of `body`.
    pub fn body_bytes_of(body: &B) -> Vec<u8> {
        encode_unsigned(body)
    }

    /// The canonical signing input: the message map without the signature.
    pub fn body_bytes(&self) -> Vec<u8> {
        encode_unsigned(&self.body)
    }

    /// Writes the whole signed message.
    pub fn encode_into(&self, e: &mut Encoder) {
        encode_head(&self.body, e, 1);
        e.uint(SIG_KEY);
        self.signature.encode(e);
    }

    /// The whole signed message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.encode_into(&mut e);
        e.into_bytes()
    }

    /// Reads a signed message embedded in a larger item.
    pub fn decode_from(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut m = d.map(24)?;
        decode_head::<B>(&mut m)?;
        let body = B::decode_fields(&mut m)?;
        let signature = Signature::decode(m.required(SIG_KEY)?)?;
        m.finish()?;
        Ok(Self { body, signature })
    }

    /// Reads a complete signed message (size limit, no trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        check_len::<B>(bytes)?;
        let mut d = Decoder::new(bytes);
        let s = Self::decode_from(&mut d)?;
        d.finish()?;
        Ok(s)
    }
}

impl<B: Serialize> Serialize for Signed<B> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("body", &self.body)?;
        m.serialize_entry("signature", &self.signature.to_json())?;
        m.end()
    }
}

/// Encodes an array of signed messages.
pub(crate) fn encode_signed_list<B: Body>(e: &mut Encoder, items: &[Signed<B>]) {
    e.array(items.len());
    for i in items {
        i.encode_into(e);
    }
}

/// Decodes an array of at most `max` signed messages.
pub(crate) fn decode_signed_list<B: Body>(
    d: &mut Decoder<'_>,
    max: usize,
    what: &'static str,
) -> Result<Vec<Signed<B>>, DecodeError> {
    let n = d.array(max, what)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(Signed::decode_from(d)?);
    }
    Ok(v)
}

/// Reads a bounded text field.
pub(crate) fn text(
    d: &mut Decoder<'_>,
    max: usize,
    what: &'static str,
) -> Result<String, DecodeError> {
    Ok(d.text(max, what)?.to_owned())
}

/// Maximum length of a currency code.
pub const MAX_CURRENCY_LEN: usize = 8;
/// Maximum length of a display name or merchant label.
pub const MAX_LABEL_LEN: usize = 64;

/// Reads a currency code: 1-8 uppercase ASCII letters.
pub(crate) fn currency(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    let c = d.text(MAX_CURRENCY_LEN, "currency")?;
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(DecodeError::InvalidValue {
            what: "currency",
            why: "must be 1-8 uppercase ASCII letters",
        });
    }
    Ok(c.to_owned())
}

#[cfg(test)]
mod tests;
