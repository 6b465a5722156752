//! Issuance: a note of value created by an FI for a device.

use serde::Serialize;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Nonce, NoteId, sha256};
use crate::msg::{Body, Signed, currency, types};

/// The signed fields of an issuance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuanceBody {
    /// Random value making the note id unique.
    pub nonce: Nonce,
    /// The issuing FI's certificate id.
    pub issuer: CertId,
    /// The owning device's certificate id.
    pub owner: CertId,
    /// Value in minor units.
    pub amount: u64,
    /// Currency code.
    pub currency: String,
    /// Issue time (Unix seconds).
    pub issued: u64,
    /// Expiry (Unix seconds, inclusive): no spend of the note or its descendants after it.
    pub expires: u64,
}

/// An FI-signed note.
pub type Issuance = Signed<IssuanceBody>;

impl Body for IssuanceBody {
    const TYPE: u64 = types::ISSUANCE;
    const NAME: &'static str = "issuance";
    const MAX_LEN: usize = 512;

    fn field_count(&self) -> usize {
        7
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.nonce.encode(e);
        e.uint(3);
        self.issuer.encode(e);
        e.uint(4);
        self.owner.encode(e);
        e.uint(5).uint(self.amount);
        e.uint(6).text(&self.currency);
        e.uint(7).uint(self.issued);
        e.uint(8).uint(self.expires);
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let b = Self {
            nonce: Nonce::decode(m.required(2)?)?,
            issuer: CertId::decode(m.required(3)?)?,
            owner: CertId::decode(m.required(4)?)?,
            amount: m.required(5)?.uint()?,
            currency: currency(m.required(6)?)?,
            issued: m.required(7)?.uint()?,
            expires: m.required(8)?.uint()?,
        };
        if b.amount == 0 {
            return Err(DecodeError::InvalidValue {
                what: "amount",
                why: "must be positive",
            });
        }
        if b.expires < b.issued {
            return Err(DecodeError::InvalidValue {
                what: "expires",
                why: "before issue time",
            });
        }
        Ok(b)
    }
}

impl Issuance {
    /// The note id: SHA-256 of the signed body.
    pub fn note_id(&self) -> NoteId {
        NoteId(sha256(&self.body_bytes()))
    }
}
