//! Certificate revocation list: signed and versioned, one per issuer.

use serde::Serialize;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::CertId;
use crate::msg::{Body, Signed, types};

/// Largest number of revoked serials in one CRL.
pub const MAX_CRL_ENTRIES: usize = 100_000;

/// The signed fields of a CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrlBody {
    /// The issuer's certificate id (root or FI).
    pub issuer: CertId,
    /// Version of this issuer's list; a newer list has a higher number.
    pub number: u64,
    /// When the issuer produced it (Unix seconds): its freshness.
    pub issued: u64,
    /// Revoked serial numbers, strictly ascending.
    pub revoked: Vec<u64>,
}

/// An issuer-signed CRL.
pub type Crl = Signed<CrlBody>;

impl Body for CrlBody {
    const TYPE: u64 = types::CRL;
    const NAME: &'static str = "revocation list";
    const MAX_LEN: usize = 1024 + 9 * MAX_CRL_ENTRIES;

    fn field_count(&self) -> usize {
        4
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.issuer.encode(e);
        e.uint(3).uint(self.number);
        e.uint(4).uint(self.issued);
        e.uint(5).array(self.revoked.len());
        for s in &self.revoked {
            e.uint(*s);
        }
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let issuer = CertId::decode(m.required(2)?)?;
        let number = m.required(3)?.uint()?;
        let issued = m.required(4)?.uint()?;
        let d = m.required(5)?;
        let n = d.array(MAX_CRL_ENTRIES, "revoked serials")?;
        let mut revoked: Vec<u64> = Vec::with_capacity(n);
        for _ in 0..n {
            let s = d.uint()?;
            if revoked.last().is_some_and(|&p| p >= s) {
                return Err(DecodeError::InvalidValue {
                    what: "revoked serials",
                    why: "must ascend strictly",
                });
            }
            revoked.push(s);
        }
        Ok(Self {
            issuer,
            number,
            issued,
            revoked,
        })
    }
}

impl CrlBody {
    /// Whether `serial` is revoked (binary search).
    pub fn is_revoked(&self, serial: u64) -> bool {
        self.revoked.binary_search(&serial).is_ok()
    }
}
