//! Decoding a message of any type (for inspection tools).

use serde::Serialize;

use crate::cbor::Decoder;
use crate::error::DecodeError;
use crate::msg::cert::Certificate;
use crate::msg::crl::Crl;
use crate::msg::fraud::FraudProof;
use crate::msg::issuance::Issuance;
use crate::msg::payment::Payment;
use crate::msg::receipt::Receipt;
use crate::msg::request::PaymentRequest;
use crate::msg::spend::Spend;
use crate::msg::types;

/// Any protocol message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "message", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // short-lived, one per inspected message
pub enum AnyMessage {
    /// A certificate.
    Certificate(Certificate),
    /// An issuance.
    Issuance(Issuance),
    /// A spend.
    Spend(Spend),
    /// A payment request.
    PaymentRequest(PaymentRequest),
    /// A payment.
    Payment(Payment),
    /// A receipt.
    Receipt(Receipt),
    /// A CRL.
    Crl(Crl),
    /// A fraud proof.
    FraudProof(FraudProof),
    /// A counterparty block list.
    BlockList(crate::BlockList),
}

/// Reads the type code (key 0) of a message without decoding the rest.
pub fn peek_type(bytes: &[u8]) -> Result<u64, DecodeError> {
    let mut d = Decoder::new(bytes);
    let mut m = d.map(24)?;
    m.required(0)?.uint()
}

/// Decodes any message strictly, dispatching on its type code.
pub fn inspect(bytes: &[u8]) -> Result<AnyMessage, DecodeError> {
    Ok(match peek_type(bytes)? {
        types::CERT => AnyMessage::Certificate(Certificate::from_bytes(bytes)?),
        types::ISSUANCE => AnyMessage::Issuance(Issuance::from_bytes(bytes)?),
        types::SPEND => AnyMessage::Spend(Spend::from_bytes(bytes)?),
        types::REQUEST => AnyMessage::PaymentRequest(PaymentRequest::from_bytes(bytes)?),
        types::PAYMENT => AnyMessage::Payment(Payment::from_bytes(bytes)?),
        types::RECEIPT => AnyMessage::Receipt(Receipt::from_bytes(bytes)?),
        types::CRL => AnyMessage::Crl(Crl::from_bytes(bytes)?),
        types::FRAUD => AnyMessage::FraudProof(FraudProof::from_bytes(bytes)?),
        types::BLOCK_LIST => AnyMessage::BlockList(crate::BlockList::from_bytes(bytes)?),
        other => return Err(DecodeError::UnknownMessageType(other)),
    })
}

impl AnyMessage {
    /// Canonical bytes of the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            AnyMessage::Certificate(m) => m.to_bytes(),
            AnyMessage::Issuance(m) => m.to_bytes(),
            AnyMessage::Spend(m) => m.to_bytes(),
            AnyMessage::PaymentRequest(m) => m.to_bytes(),
            AnyMessage::Payment(m) => m.to_bytes(),
            AnyMessage::Receipt(m) => m.to_bytes(),
            AnyMessage::Crl(m) => m.to_bytes(),
            AnyMessage::FraudProof(m) => m.to_bytes(),
            AnyMessage::BlockList(m) => m.to_bytes(),
        }
    }
}
