//! Receipt: the payee's signed acknowledgement of a payment.

use serde::Serialize;

use crate::cbor::{Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, Digest32};
use crate::msg::{Body, Signed, types};

/// The signed fields of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptBody {
    /// SHA-256 of the payment's canonical bytes.
    pub payment: Digest32,
    /// SHA-256 of the request it answered.
    pub request: Digest32,
    /// The payee's certificate id (the signer).
    pub payee: CertId,
    /// Amount accepted.
    pub amount: u64,
    /// Acceptance time (payee's clock).
    pub time: u64,
}

/// A payee-signed receipt.
pub type Receipt = Signed<ReceiptBody>;

impl Body for ReceiptBody {
    const TYPE: u64 = types::RECEIPT;
    const NAME: &'static str = "receipt";
    const MAX_LEN: usize = 2048;

    fn field_count(&self) -> usize {
        5
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2);
        self.payment.encode(e);
        e.uint(3);
        self.request.encode(e);
        e.uint(4);
        self.payee.encode(e);
        e.uint(5).uint(self.amount);
        e.uint(6).uint(self.time);
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        Ok(Self {
            payment: Digest32::decode(m.required(2)?)?,
            request: Digest32::decode(m.required(3)?)?,
            payee: CertId::decode(m.required(4)?)?,
            amount: m.required(5)?.uint()?,
            time: m.required(6)?.uint()?,
        })
    }
}

impl Receipt {
    /// Checks the receipt is signed by `payee` (whose certificate the payer checked when it
    /// showed the request) and names it.
    pub fn verify(
        &self,
        payee: &crate::msg::cert::Certificate,
        provider: &dyn crate::provider::CryptoProvider,
    ) -> Result<(), crate::sig::SignatureError> {
        if payee.id() != self.body.payee {
            return Err(crate::sig::SignatureError::Ecdsa(
                crate::provider::EcdsaError::BadSignature,
            ));
        }
        crate::sig::verify_signature(
            provider,
            &payee.body.subject,
            payee.body.webauthn.as_ref(),
            &self.body_bytes(),
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::P256Provider;
    use crate::testing::{DeviceSigner, T0, World, sign_body};

    #[test]
    fn receipt_signed_by_payee_only() {
        let w = World::new(1);
        let DeviceSigner::Software(k) = &w.pos.signer else {
            panic!("POS has a software key")
        };
        let body = ReceiptBody {
            payment: Digest32([1; 32]),
            request: Digest32([2; 32]),
            payee: w.pos.id(),
            amount: 5,
            time: T0,
        };
        let r = sign_body(body.clone(), k);
        r.verify(&w.pos.cert, &P256Provider).unwrap();
        assert!(r.verify(&w.wallets[0].cert, &P256Provider).is_err());
        let forged = sign_body(body, &w.fi_keys[0]);
        assert!(forged.verify(&w.pos.cert, &P256Provider).is_err());
    }
}
