//! Spend: the owner of a note hands the range `[from, to)` of it to a payee.

use serde::Serialize;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Digest32, NoteId, sha256};
use crate::msg::{Body, Signed, types};

/// The signed fields of a spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendBody {
    /// The note being spent.
    pub input: NoteId,
    /// Start of the range (inclusive).
    pub from: u64,
    /// End of the range (exclusive); `from < to`.
    pub to: u64,
    /// The payee's certificate id.
    pub payee: CertId,
    /// SHA-256 of the payment request this spend answers.
    pub request: Digest32,
    /// Signing time (Unix seconds, signer's clock).
    pub time: u64,
}

/// A spend signed by the input note's owner. It is itself a note of value `to - from`,
/// owned by the payee, whose id is SHA-256 of the body.
pub type Spend = Signed<SpendBody>;

impl Body for SpendBody {
    const TYPE: u64 = types::SPEND;
    const NAME: &'static str = "spend";
    const MAX_LEN: usize = 2048;

    fn field_count(&self) -> usize {
        6
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.input.encode(e);
        e.uint(3).uint(self.from);
        e.uint(4).uint(self.to);
        e.uint(5);
        self.payee.encode(e);
        e.uint(6);
        self.request.encode(e);
        e.uint(7).uint(self.time);
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let b = Self {
            input: NoteId::decode(m.required(2)?)?,
            from: m.required(3)?.uint()?,
            to: m.required(4)?.uint()?,
            payee: CertId::decode(m.required(5)?)?,
            request: Digest32::decode(m.required(6)?)?,
            time: m.required(7)?.uint()?,
        };
        if b.from >= b.to {
            return Err(DecodeError::InvalidValue {
                what: "range",
                why: "from must be below to",
            });
        }
        Ok(b)
    }
}

impl SpendBody {
    /// Value moved: `to - from`.
    pub fn value(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }

    /// Whether the ranges of two spends of the same note overlap.
    pub fn overlaps(&self, other: &SpendBody) -> bool {
        self.input == other.input && self.from < other.to && other.from < self.to
    }
}

impl Spend {
    /// The spend's identity and the id of the note it creates: SHA-256 of the body.
    /// The same body signed twice is the same spend.
    pub fn id(&self) -> NoteId {
        NoteId(sha256(&self.body_bytes()))
    }
}
