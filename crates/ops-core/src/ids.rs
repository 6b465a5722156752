//! Fixed-size identifiers, keys and digests, shown as lowercase hex in JSON.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::cbor::{Decoder, Encoder};
use crate::error::DecodeError;

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Bytes from hex (either case, no separators). `None` if malformed.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Writes it as a CBOR byte string.
            pub fn encode(&self, e: &mut Encoder) {
                e.bytes(&self.0);
            }

            /// Reads it from a CBOR byte string of exactly the right length.
            pub fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(Self(d.bytes_fixed::<$len>($what)?))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), to_hex(&self.0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&to_hex(&self.0))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&to_hex(&self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let v = from_hex(&s).ok_or_else(|| serde::de::Error::custom("invalid hex"))?;
                let a: [u8; $len] = v
                    .try_into()
                    .map_err(|_| serde::de::Error::custom(concat!("expected ", $len, " bytes")))?;
                Ok(Self(a))
            }
        }
    };
}

fixed_bytes!(
    /// A certificate's identifier: the first 16 bytes of SHA-256 of its signed body.
    CertId, 16, "certificate id"
);
fixed_bytes!(
    /// A note's identifier: SHA-256 of the signed body (issuance or spend) that created it.
    NoteId, 32, "note id"
);
fixed_bytes!(
    /// A SHA-256 digest.
    Digest32, 32, "digest"
);
fixed_bytes!(
    /// A 16-byte random value (request nonce, issuance nonce).
    Nonce, 16, "nonce"
);
fixed_bytes!(
    /// A P-256 public key in SEC1 compressed form (33 bytes). The prefix is checked on
    /// decoding; the point itself is validated when a signature is verified.
    PublicKey, 33, "public key"
);

impl PublicKey {
    /// Decodes and checks the SEC1 compressed prefix (0x02 or 0x03).
    pub fn decode_checked(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let k = Self::decode(d)?;
        if k.0[0] != 2 && k.0[0] != 3 {
            return Err(DecodeError::InvalidValue {
                what: "public key",
                why: "not a SEC1 compressed point (prefix must be 02 or 03)",
            });
        }
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(to_hex(&b), "0001abff");
        assert_eq!(from_hex("0001ABff"), Some(b.to_vec()));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(
            to_hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn public_key_prefix_checked() {
        let mut e = Encoder::new();
        e.bytes(&[4u8; 33]);
        let b = e.into_bytes();
        assert!(PublicKey::decode_checked(&mut Decoder::new(&b)).is_err());
    }
}
