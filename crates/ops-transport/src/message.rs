//! What the transports carry: a typed message, independent of QR or NFC.

/// The type of a message; every frame and NDEF record names it, so a receiver waiting
/// for a payment never mistakes a request for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// A payee's payment request (POS → wallet).
    PaymentRequest,
    /// A payment (wallet → POS).
    Payment,
    /// A payee's receipt (POS → wallet).
    Receipt,
}

impl MessageKind {
    /// Every kind, in code order.
    pub const ALL: [MessageKind; 3] = [Self::PaymentRequest, Self::Payment, Self::Receipt];

    /// The one-byte code used in QR frames and NDEF chunk headers.
    pub const fn code(self) -> u8 {
        match self {
            Self::PaymentRequest => 1,
            Self::Payment => 2,
            Self::Receipt => 3,
        }
    }

    /// The kind with this code, if any.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::PaymentRequest),
            2 => Some(Self::Payment),
            3 => Some(Self::Receipt),
            _ => None,
        }
    }

    /// The registered-style (vendor tree) MIME type of its NDEF records.
    pub const fn mime_type(self) -> &'static str {
        match self {
            Self::PaymentRequest => "application/vnd.ops.request+cbor",
            Self::Payment => "application/vnd.ops.payment+cbor",
            Self::Receipt => "application/vnd.ops.receipt+cbor",
        }
    }

    /// The kind whose MIME type this is, if any.
    pub fn from_mime_type(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.mime_type() == mime)
    }

    /// A short human name, for messages to the user.
    pub const fn label(self) -> &'static str {
        match self {
            Self::PaymentRequest => "payment request",
            Self::Payment => "payment",
            Self::Receipt => "receipt",
        }
    }
}

/// A complete message: its kind and its canonical bytes (the protocol core's encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is.
    pub kind: MessageKind,
    /// Its bytes, exactly as the sender gave them.
    pub body: Vec<u8>,
}

impl Message {
    /// A message of `kind` carrying `body`.
    pub fn new(kind: MessageKind, body: impl Into<Vec<u8>>) -> Self {
        Self {
            kind,
            body: body.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_mime_types_round_trip() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_code(kind.code()), Some(kind));
            assert_eq!(MessageKind::from_mime_type(kind.mime_type()), Some(kind));
        }
        assert_eq!(MessageKind::from_code(0), None);
        assert_eq!(MessageKind::from_mime_type("text/plain"), None);
    }
}
