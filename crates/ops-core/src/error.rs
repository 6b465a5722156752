//! Decoding errors. Every way an input can be refused has its own variant, with the byte
//! offset where that is known, so a tool can tell the user what to fix.

use thiserror::Error;

use crate::ids::CertId;

/// Why a byte string is not a valid canonical encoding of the expected message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside an item (truncated message).
    #[error("input ends early at byte {offset}: the message is truncated")]
    UnexpectedEnd {
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// Bytes follow the complete message.
    #[error("{count} unexpected byte(s) after the end of the message")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// An item of another CBOR type was found.
    #[error("at byte {offset}: expected {expected}, found {found}")]
    UnexpectedType {
        /// Byte offset of the item.
        offset: usize,
        /// What the schema asks for.
        expected: &'static str,
        /// What the input holds.
        found: &'static str,
    },
    /// An integer or length is not in its shortest encoding.
    #[error("at byte {offset}: integer not in shortest form (non-canonical)")]
    NonCanonicalInteger {
        /// Byte offset of the item.
        offset: usize,
    },
    /// Indefinite-length items are not canonical.
    #[error("at byte {offset}: indefinite length is not allowed")]
    IndefiniteLength {
        /// Byte offset of the item.
        offset: usize,
    },
    /// A reserved additional-information value.
    #[error("at byte {offset}: reserved CBOR encoding")]
    Reserved {
        /// Byte offset of the item.
        offset: usize,
    },
    /// A length above the documented limit.
    #[error("{what}: length {len} exceeds the limit of {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The documented maximum.
        max: u64,
    },
    /// A fixed-size field of the wrong length.
    #[error("at byte {offset}: {what} has {len} bytes, expected {expected}")]
    WrongLength {
        /// The field.
        what: &'static str,
        /// Byte offset of the item.
        offset: usize,
        /// The length found.
        len: usize,
        /// The length required.
        expected: usize,
    },
    /// Text that is not UTF-8.
    #[error("at byte {offset}: text is not valid UTF-8")]
    InvalidUtf8 {
        /// Byte offset of the item.
        offset: usize,
    },
    /// Map keys out of ascending order, or repeated.
    #[error("at byte {offset}: map key {key} out of canonical order or repeated")]
    KeyOrder {
        /// Byte offset of the key.
        offset: usize,
        /// The key.
        key: u64,
    },
    /// A required map entry is absent.
    #[error("at byte {offset}: required field {key} is missing")]
    MissingField {
        /// Byte offset where it was expected.
        offset: usize,
        /// The key.
        key: u64,
    },
    /// A map entry this version does not define.
    #[error("at byte {offset}: unknown field {key}")]
    UnknownField {
        /// Byte offset of the key.
        offset: usize,
        /// The key.
        key: u64,
    },
    /// A message of another type than expected.
    #[error("message type {found} where {expected} ({name}) was expected")]
    WrongMessageType {
        /// Type code required.
        expected: u64,
        /// Name of the required type.
        name: &'static str,
        /// Type code found.
        found: u64,
    },
    /// A message type code this implementation does not know.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A version this implementation does not speak.
    #[error("unsupported version {found} of {name} (this build speaks version {supported})")]
    UnknownVersion {
        /// The message.
        name: &'static str,
        /// The version found.
        found: u64,
        /// The version supported.
        supported: u64,
    },
    /// A payment's certificate list is not strictly ascending by certificate id.
    #[error(
        "payment certificates: certificate {index} sorts before certificate {prev} (the list must be strictly ascending by certificate id)",
        prev = .index.saturating_sub(1)
    )]
    PaymentCertsUnsorted {
        /// Position of the first certificate out of order (never 0).
        index: usize,
    },
    /// A payment carries the same certificate twice.
    #[error("payment certificates: certificate {index} ({id}) repeats the one before it")]
    PaymentCertDuplicate {
        /// Position of the second copy.
        index: usize,
        /// The repeated certificate's id.
        id: CertId,
    },
    /// A payment carries the root certificate (every verifier pins it).
    #[error(
        "payment certificates: certificate {index} ({id}) is the root certificate, which payments never carry"
    )]
    PaymentCertRoot {
        /// Position in the list.
        index: usize,
        /// The root certificate's id.
        id: CertId,
    },
    /// A payment carries a device certificate that signs none of its hops.
    #[error(
        "payment certificates: device certificate {index} ({id}) signs no spend of the payment (it owns no issuance and is the payee of no earlier hop)"
    )]
    PaymentCertUnusedDevice {
        /// Position in the list.
        index: usize,
        /// The certificate's id.
        id: CertId,
    },
    /// A payment carries an FI certificate that nothing in it refers to.
    #[error(
        "payment certificates: FI certificate {index} ({id}) issued no note of the payment and certified no device certificate it carries"
    )]
    PaymentCertUnusedFi {
        /// Position in the list.
        index: usize,
        /// The certificate's id.
        id: CertId,
    },
    /// A field whose value is out of its domain.
    #[error("{what}: {why}")]
    InvalidValue {
        /// The field.
        what: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}
