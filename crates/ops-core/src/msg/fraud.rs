//! Fraud proof: two signed spends of one note whose ranges overlap, with the signer's
//! certificate chain. Verifiable on its own against the pinned root.

use serde::Serialize;
use thiserror::Error;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, NoteId};
use crate::msg::cert::{Certificate, Role};
use crate::msg::spend::Spend;
use crate::msg::{Body, Signed, decode_unsigned, encode_unsigned, types};
use crate::provider::CryptoProvider;
use crate::sig::{SignatureError, verify_signature};

/// Two conflicting spends and who signed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FraudProof {
    /// The spend with the smaller id.
    pub first: Spend,
    /// The spend with the larger id.
    pub second: Spend,
    /// The certificate of the note's owner, who signed both.
    pub signer: Certificate,
    /// The FI certificate that certified the signer.
    pub signer_issuer: Certificate,
}

/// Why a fraud proof does not prove fraud.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FraudError {
    /// The two spends are of different notes.
    #[error("the spends are of different notes")]
    DifferentNotes,
    /// The ranges do not overlap.
    #[error("the ranges do not overlap")]
    NoOverlap,
    /// Both are the same spend (a retry is not a double spend).
    #[error("both spends have the same body: a retry, not a double spend")]
    SameSpend,
    /// The spends are not in canonical order (first id < second id).
    #[error("spends not in canonical order")]
    Order,
    /// The signer's certificate does not chain to the root.
    #[error("the signer's certificate does not chain to the root: {0}")]
    Chain(&'static str),
    /// A signature does not verify.
    #[error("spend signature does not verify: {0}")]
    Signature(SignatureError),
}

/// What a valid fraud proof establishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FraudVerdict {
    /// The certificate that signed both spends.
    pub culprit: CertId,
    /// Its serial (for the FI's CRL).
    pub culprit_serial: u64,
    /// The note spent twice.
    pub note: NoteId,
    /// Value spent more than once: the size of the overlap.
    pub overlap: u64,
}

impl FraudProof {
    /// Builds a proof, ordering the spends canonically.
    pub fn new(a: Spend, b: Spend, signer: Certificate, signer_issuer: Certificate) -> Self {
        let (first, second) = if a.id() <= b.id() { (a, b) } else { (b, a) };
        Self {
            first,
            second,
            signer,
            signer_issuer,
        }
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_unsigned(self)
    }

    /// Strict decoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_unsigned(bytes)
    }

    /// Checks the proof against the pinned `root`: same note, overlapping ranges, distinct
    /// bodies, both signed by `signer`, `signer` certified by an FI certified by `root`.
    /// Validity periods and CRLs are deliberately not checked: signing two overlapping
    /// spends is misbehaviour whenever it happened.
    pub fn verify(
        &self,
        root: &Certificate,
        provider: &dyn CryptoProvider,
    ) -> Result<FraudVerdict, FraudError> {
        let (a, b) = (&self.first.body, &self.second.body);
        if a.input != b.input {
            return Err(FraudError::DifferentNotes);
        }
        let (ia, ib) = (self.first.id(), self.second.id());
        if ia == ib {
            return Err(FraudError::SameSpend);
        }
        if ia > ib {
            return Err(FraudError::Order);
        }
        if !a.overlaps(b) {
            return Err(FraudError::NoOverlap);
        }
        let fi = &self.signer_issuer;
        if fi.body.role != Role::Fi || fi.body.issuer != Some(root.id()) {
            return Err(FraudError::Chain(
                "issuer is not an FI certified by the root",
            ));
        }
        verify_signature(
            provider,
            &root.body.subject,
            None,
            &fi.body_bytes(),
            &fi.signature,
        )
        .map_err(|_| FraudError::Chain("FI certificate signature"))?;
        let dev = &self.signer;
        if dev.body.role != Role::Device || dev.body.issuer != Some(fi.id()) {
            return Err(FraudError::Chain(
                "signer is not a device certified by the FI",
            ));
        }
        verify_signature(
            provider,
            &fi.body.subject,
            None,
            &dev.body_bytes(),
            &dev.signature,
        )
        .map_err(|_| FraudError::Chain("device certificate signature"))?;
        for s in [&self.first, &self.second] {
            verify_signature(
                provider,
                &dev.body.subject,
                dev.body.webauthn.as_ref(),
                &s.body_bytes(),
                &s.signature,
            )
            .map_err(FraudError::Signature)?;
        }
        Ok(FraudVerdict {
            culprit: dev.id(),
            culprit_serial: dev.body.serial,
            note: a.input,
            overlap: a.to.min(b.to).saturating_sub(a.from.max(b.from)),
        })
    }
}

impl Body for FraudProof {
    const TYPE: u64 = types::FRAUD;
    const NAME: &'static str = "fraud proof";
    const MAX_LEN: usize = 8192;

    fn field_count(&self) -> usize {
        4
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.first.encode_into(e);
        e.uint(3);
        self.second.encode_into(e);
        e.uint(4);
        self.signer.encode_into(e);
        e.uint(5);
        self.signer_issuer.encode_into(e);
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        Ok(Self {
            first: Signed::decode_from(m.required(2)?)?,
            second: Signed::decode_from(m.required(3)?)?,
            signer: Signed::decode_from(m.required(4)?)?,
            signer_issuer: Signed::decode_from(m.required(5)?)?,
        })
    }
}
